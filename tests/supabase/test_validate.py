"""dokploy_validate_config's checks on the real imported Supabase env and on broken variants of a clean one.

Every variant states the exact findings it must give (code, severity, variable) and nothing else. Over all variants:
no message quotes an env value, every fix call names the stack, validates against its tool's input schema, names
placeholders that exist, and, made as it stands (placeholders filled), really removes the finding it is for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from dokploy_mcp.dokploy.models import Compose, Domain, WebServerSettings
from dokploy_mcp.errors import NextStep
from dokploy_mcp.supabase import domains as dom
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.envupdate import plan_env_update
from dokploy_mcp.supabase.keys import (
    EXAMPLE_ANON_KEY,
    EXAMPLE_JWT_SECRET,
    EXAMPLE_SERVICE_ROLE_KEY,
    sign_key,
)
from dokploy_mcp.supabase.regenerate import new_keys
from dokploy_mcp.supabase.stack import StackRef, SupabaseStack, domain_url
from dokploy_mcp.supabase.validate import ValidationReport, referenced_variables, validate_env
from tests.dokploy.recordings import load

NOW = datetime(2026, 12, 1, tzinfo=UTC)
RECORDED = load("compose.one--supabase-imported").response_body
TEMPLATE_ENV: str = RECORDED["env"]
COMPOSE_FILE: str = RECORDED["composeFile"]
COMPOSE_ID: str = RECORDED["composeId"]
TEMPLATE_HOST: str = RECORDED["domains"][0]["host"]
ADDRESS = f"default:{COMPOSE_ID}"
SECRET = EnvFile.parse(TEMPLATE_ENV).get("JWT_SECRET") or ""
OTHER_SECRET = "Zq8" * 16
RECORDED_SETTINGS = WebServerSettings.model_validate(load("settings.getWebServerSettings").response_body)
GOOD_SETTINGS = RECORDED_SETTINGS.model_copy(
    update={"lets_encrypt_email": "ops@example.com", "server_ip": "203.0.113.7"}
)
SCHEMAS: dict[str, dict[str, Any]] = {
    tool["name"]: tool["inputSchema"]
    for tool in json.loads((Path(__file__).parents[1] / "snapshots" / "tool_surface.json").read_text())
}

Expected = set[tuple[str, str, str | None]]


def kong(host: str = "api.example.com", *, https: bool = True, certificate: str = "letsencrypt") -> Domain:
    return Domain.model_validate(
        {**RECORDED["domains"][0], "host": host, "https": https, "certificateType": certificate}
    )


def edit(env: str, **values: str | None) -> str:
    """``env`` with variables set (str) or removed (None), through the round-trip-safe editor."""
    parsed = EnvFile.parse(env)
    return parsed.apply(
        set={k: v for k, v in values.items() if v is not None}, unset=[k for k, v in values.items() if v is None]
    ).render()


def hs256(claims: dict[str, Any], secret: str) -> str:
    """A JWT signed by hand (independent of the code under test and of PyJWT's short-key warning)."""

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    head = part({"alg": "HS256", "typ": "JWT"}) + "." + part(claims)
    signature = hmac.new(secret.encode(), head.encode(), hashlib.sha256).digest()
    return head + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def claims(role: str | None = "anon", **extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {"iss": "supabase", "iat": int((NOW - timedelta(days=1)).timestamp())}
    base["exp"] = int(datetime(2030, 1, 1, tzinfo=UTC).timestamp())
    if role is not None:
        base["role"] = role
    base.update(extra)
    return base


CLEAN_ENV = edit(
    TEMPLATE_ENV,
    SUPABASE_HOST="api.example.com",
    API_EXTERNAL_URL="https://api.example.com",
    SUPABASE_PUBLIC_URL="https://api.example.com",
    SITE_URL="https://app.example.com",
    ADDITIONAL_REDIRECT_URLS="https://app.example.com/*",
    SMTP_HOST="smtp.mailgun.org",
    SMTP_PORT="587",
    SMTP_USER="postmaster@mg.example.com",
    SMTP_PASS="pX7fK2mQ9wL4zR8tN3vB6yH1",
)


@dataclass(frozen=True)
class Case:
    env: str = CLEAN_ENV
    domain: Domain | None = field(default_factory=kong)
    settings: WebServerSettings | None = field(default_factory=lambda: GOOD_SETTINGS)
    server_ip: str | None = "203.0.113.7"
    now: datetime = NOW
    address: str | None = ADDRESS
    compose_file: str | None = COMPOSE_FILE

    @property
    def public_url(self) -> str | None:
        return domain_url(self.domain) if self.domain is not None else None

    def run(self) -> ValidationReport:
        return validate_env(
            EnvFile.parse(self.env),
            address=self.address,
            compose_file=self.compose_file,
            domain=self.domain,
            public_url=self.public_url,
            settings=self.settings,
            server_ip=self.server_ip,
            now=self.now,
        )


TEMPLATE = Case(
    env=TEMPLATE_ENV,
    domain=kong(TEMPLATE_HOST, https=False, certificate="none"),
    settings=RECORDED_SETTINGS,
    server_ip=RECORDED_SETTINGS.server_ip or "",
)
ANON = EnvFile.parse(CLEAN_ENV).get("ANON_KEY") or ""
HTTP_DOMAIN = kong(https=False, certificate="none")
LOOPBACK = "supabase-1a2b3c-127-0-0-1.sslip.io"

#: name -> (case, the exact findings it gives)
VARIANTS: dict[str, tuple[Case, Expected]] = {
    "clean": (Case(), set()),
    "template as imported": (
        TEMPLATE,
        {
            ("url_mismatch", "high", "API_EXTERNAL_URL"),
            ("url_mismatch", "high", "SUPABASE_PUBLIC_URL"),
            ("smtp_placeholder", "high", "SMTP_HOST"),
            ("server_ip_loopback", "high", None),
            ("site_url_localhost", "medium", "SITE_URL"),
            ("redirect_urls_localhost", "low", "ADDITIONAL_REDIRECT_URLS"),
        },
    ),
    "identical keys": (
        Case(env=edit(CLEAN_ENV, SERVICE_ROLE_KEY=ANON)),
        {("keys_identical", "critical", "SERVICE_ROLE_KEY")},
    ),
    "keys signed with another secret": (
        Case(
            env=edit(
                CLEAN_ENV,
                ANON_KEY=sign_key(OTHER_SECRET, "anon", issued_at=NOW),
                SERVICE_ROLE_KEY=sign_key(OTHER_SECRET, "service_role", issued_at=NOW),
            )
        ),
        {("key_signature_invalid", "critical", "ANON_KEY"), ("key_signature_invalid", "critical", "SERVICE_ROLE_KEY")},
    ),
    "key without role": (
        Case(env=edit(CLEAN_ENV, ANON_KEY=hs256(claims(role=None), SECRET))),
        {("key_role_missing", "critical", "ANON_KEY")},
    ),
    "key with the wrong role": (
        Case(env=edit(CLEAN_ENV, ANON_KEY=hs256(claims("service_role"), SECRET))),
        {("key_role_wrong", "critical", "ANON_KEY")},
    ),
    "key issued by dokploy": (
        Case(env=edit(CLEAN_ENV, SERVICE_ROLE_KEY=hs256(claims("service_role", iss="dokploy"), SECRET))),
        {("key_iss_unexpected", "low", "SERVICE_ROLE_KEY")},
    ),
    "keys expiring on 2030-01-01": (
        Case(now=datetime(2029, 12, 15, tzinfo=UTC)),
        {("key_expiring_soon", "high", "ANON_KEY"), ("key_expiring_soon", "high", "SERVICE_ROLE_KEY")},
    ),
    "keys expired": (
        Case(now=datetime(2030, 1, 2, tzinfo=UTC)),
        {("key_expired", "critical", "ANON_KEY"), ("key_expired", "critical", "SERVICE_ROLE_KEY")},
    ),
    "demo keys": (
        Case(env=edit(CLEAN_ENV, ANON_KEY=EXAMPLE_ANON_KEY, SERVICE_ROLE_KEY=EXAMPLE_SERVICE_ROLE_KEY)),
        {("key_demo", "critical", "ANON_KEY"), ("key_demo", "critical", "SERVICE_ROLE_KEY")},
    ),
    "example secret and demo keys": (
        Case(
            env=edit(
                CLEAN_ENV,
                JWT_SECRET=EXAMPLE_JWT_SECRET,
                ANON_KEY=EXAMPLE_ANON_KEY,
                SERVICE_ROLE_KEY=EXAMPLE_SERVICE_ROLE_KEY,
            )
        ),
        {
            ("jwt_secret_example", "critical", "JWT_SECRET"),
            ("key_demo", "critical", "ANON_KEY"),
            ("key_demo", "critical", "SERVICE_ROLE_KEY"),
        },
    ),
    "short jwt secret": (
        Case(
            env=edit(
                CLEAN_ENV,
                JWT_SECRET="tooShortSecret123",
                ANON_KEY=hs256(claims("anon"), "tooShortSecret123"),
                SERVICE_ROLE_KEY=hs256(claims("service_role"), "tooShortSecret123"),
            )
        ),
        {("jwt_secret_too_short", "critical", "JWT_SECRET")},
    ),
    "jwt secret missing": (
        Case(env=edit(CLEAN_ENV, JWT_SECRET=None)),
        {("jwt_secret_missing", "critical", "JWT_SECRET")},
    ),
    "weak secrets": (
        Case(
            env=edit(
                CLEAN_ENV,
                DASHBOARD_PASSWORD="hunter2",
                VAULT_ENC_KEY="your-32-character-encryption-key",
                SECRET_KEY_BASE="ab" * 20,
                PG_META_CRYPTO_KEY="q" * 40,
                LOGFLARE_PRIVATE_ACCESS_TOKEN=EnvFile.parse(CLEAN_ENV).get("LOGFLARE_PUBLIC_ACCESS_TOKEN"),
            )
        ),
        {
            ("secret_too_short", "high", "DASHBOARD_PASSWORD"),
            ("secret_example", "critical", "VAULT_ENC_KEY"),
            ("secret_too_short", "high", "SECRET_KEY_BASE"),
            ("logflare_tokens_identical", "high", "LOGFLARE_PRIVATE_ACCESS_TOKEN"),
        },
    ),
    "vault key of the wrong length": (
        Case(env=edit(CLEAN_ENV, VAULT_ENC_KEY="k" * 40)),
        {("secret_wrong_length", "high", "VAULT_ENC_KEY")},
    ),
    "example postgres password": (
        Case(env=edit(CLEAN_ENV, POSTGRES_PASSWORD="your-super-secret-and-long-postgres-password")),
        {("secret_example", "critical", "POSTGRES_PASSWORD")},
    ),
    "dashboard password missing": (
        Case(env=edit(CLEAN_ENV, DASHBOARD_PASSWORD=None)),
        {("secret_missing", "critical", "DASHBOARD_PASSWORD")},
    ),
    "JWT_EXP instead of JWT_EXPIRY": (
        Case(env=CLEAN_ENV.replace("JWT_EXPIRY=3600", "JWT_EXP=3600")),
        {("jwt_expiry_name", "medium", "JWT_EXP")},
    ),
    "missing variables": (
        Case(env=edit(CLEAN_ENV, SITE_URL=None, DASHBOARD_USERNAME=None, POOLER_TENANT_ID=None)),
        {
            ("missing_variable", "high", "SITE_URL"),
            ("missing_variable", "high", "DASHBOARD_USERNAME"),
            ("missing_variable", "high", "POOLER_TENANT_ID"),
        },
    ),
    "required variable set to nothing": (
        Case(env=edit(CLEAN_ENV, DASHBOARD_USERNAME="")),
        {("missing_variable", "high", "DASHBOARD_USERNAME")},
    ),
    "public url missing": (
        Case(env=edit(CLEAN_ENV, SUPABASE_PUBLIC_URL=None)),
        {("missing_variable", "high", "SUPABASE_PUBLIC_URL")},
    ),
    "http urls while the domain serves https": (
        Case(
            env=edit(CLEAN_ENV, API_EXTERNAL_URL="http://api.example.com", SUPABASE_PUBLIC_URL="http://api.example.com")
        ),
        {("url_mismatch", "high", "API_EXTERNAL_URL"), ("url_mismatch", "high", "SUPABASE_PUBLIC_URL")},
    ),
    "https urls while the domain serves http": (
        Case(domain=HTTP_DOMAIN),
        {("url_mismatch", "high", "API_EXTERNAL_URL"), ("url_mismatch", "high", "SUPABASE_PUBLIC_URL")},
    ),
    "http urls on an http domain": (
        Case(
            env=edit(
                CLEAN_ENV, API_EXTERNAL_URL="http://api.example.com", SUPABASE_PUBLIC_URL="http://api.example.com"
            ),
            domain=HTTP_DOMAIN,
        ),
        {("public_url_http", "medium", "API_EXTERNAL_URL"), ("public_url_http", "medium", "SUPABASE_PUBLIC_URL")},
    ),
    "urls of another host": (
        Case(env=edit(CLEAN_ENV, API_EXTERNAL_URL="https://old.example.com/")),
        {("url_mismatch", "high", "API_EXTERNAL_URL")},
    ),
    "letsencrypt without an e-mail": (
        Case(settings=GOOD_SETTINGS.model_copy(update={"lets_encrypt_email": None})),
        {("letsencrypt_email_unset", "medium", None)},
    ),
    "letsencrypt with a blank e-mail": (
        Case(settings=GOOD_SETTINGS.model_copy(update={"lets_encrypt_email": "  "})),
        {("letsencrypt_email_unset", "medium", None)},
    ),
    "own certificate without an e-mail": (
        Case(domain=kong(certificate="custom"), settings=GOOD_SETTINGS.model_copy(update={"lets_encrypt_email": None})),
        set(),
    ),
    "letsencrypt, settings unknown": (Case(settings=None), set()),
    "loopback sslip.io domain": (
        Case(
            env=edit(
                CLEAN_ENV,
                SUPABASE_HOST=LOOPBACK,
                API_EXTERNAL_URL=f"http://{LOOPBACK}",
                SUPABASE_PUBLIC_URL=f"http://{LOOPBACK}",
            ),
            domain=kong(LOOPBACK, https=False, certificate="none"),
            server_ip="",
        ),
        {
            ("server_ip_loopback", "high", None),
            ("public_url_http", "medium", "API_EXTERNAL_URL"),
            ("public_url_http", "medium", "SUPABASE_PUBLIC_URL"),
        },
    ),
    "no domain, server ip unset": (
        Case(domain=None, server_ip=""),
        {("no_domain", "high", None), ("server_ip_unset", "medium", None)},
    ),
    "no domain, server ip loopback": (
        Case(domain=None, server_ip="127.0.0.1"),
        {("no_domain", "high", None), ("server_ip_unset", "medium", None)},
    ),
    "no domain, server ip set": (Case(domain=None), {("no_domain", "high", None)}),
    "site url on localhost": (
        Case(env=edit(CLEAN_ENV, SITE_URL="http://127.0.0.1:3000")),
        {("site_url_localhost", "medium", "SITE_URL")},
    ),
    "site url on http": (
        Case(env=edit(CLEAN_ENV, SITE_URL="http://app.example.com")),
        {("site_url_http", "low", "SITE_URL")},
    ),
    "only localhost redirects": (
        Case(env=edit(CLEAN_ENV, ADDITIONAL_REDIRECT_URLS="http://localhost:3000/*, http://localhost:5173")),
        {("redirect_urls_localhost", "low", "ADDITIONAL_REDIRECT_URLS")},
    ),
    "template smtp": (
        Case(env=edit(CLEAN_ENV, SMTP_HOST="supabase-mail", SMTP_USER="fake_mail_user")),
        {("smtp_placeholder", "high", "SMTP_HOST")},
    ),
    "template smtp user only": (
        Case(env=edit(CLEAN_ENV, SMTP_USER="fake_mail_user")),
        {("smtp_placeholder", "high", "SMTP_HOST")},
    ),
    "template smtp with autoconfirm": (
        Case(env=edit(CLEAN_ENV, SMTP_HOST="supabase-mail", ENABLE_EMAIL_AUTOCONFIRM="true")),
        set(),
    ),
    "template smtp without e-mail sign-up": (
        Case(env=edit(CLEAN_ENV, SMTP_HOST="supabase-mail", ENABLE_EMAIL_SIGNUP="false")),
        set(),
    ),
    "smtp relay without a user": (Case(env=edit(CLEAN_ENV, SMTP_USER="")), set()),
    "duplicated variable": (
        Case(env=CLEAN_ENV.replace("SITE_URL=", "SITE_URL=https://old.example.com\nSITE_URL=", 1)),
        {("env_duplicate_key", "low", "SITE_URL")},
    ),
    "duplicated secret": (
        Case(env=CLEAN_ENV.rstrip("\n") + "\nDASHBOARD_PASSWORD=an0ther-long-dashboard-passw0rd\n"),
        {("env_duplicate_key", "low", "DASHBOARD_PASSWORD")},
    ),
    "raw env text": (
        Case(env=TEMPLATE_ENV, domain=None, settings=None, server_ip=None, address=None, compose_file=None),
        {
            ("smtp_placeholder", "high", "SMTP_HOST"),
            ("site_url_localhost", "medium", "SITE_URL"),
            ("redirect_urls_localhost", "low", "ADDITIONAL_REDIRECT_URLS"),
        },
    ),
}


def found(report: ValidationReport) -> Expected:
    return {(f.code, f.severity, f.variable) for f in report.findings}


@pytest.mark.parametrize("name", list(VARIANTS))
def test_each_variant_gives_exactly_its_findings(name: str) -> None:
    case, expected = VARIANTS[name]
    report = case.run()
    assert found(report) == expected
    # One finding per (code, variable): nothing is reported twice.
    assert len(report.findings) == len(expected)


def test_the_template_findings_and_their_fixes() -> None:
    report = TEMPLATE.run()
    assert report.stack == ADDRESS
    assert report.ok is False
    assert report.counts == {"critical": 0, "high": 4, "medium": 1, "low": 1}
    fixes = {(f.code, f.variable): f.fix for f in report.findings}
    # The variables say https and the domain serves http: the fix serves the domain over https rather than
    # downgrade the variables.
    assert fixes["url_mismatch", "API_EXTERNAL_URL"] == NextStep(
        tool="manage_domain", arguments={"stack": ADDRESS, "action": "update", "https": True}
    )
    loopback = fixes["server_ip_loopback", None]
    assert loopback is not None and loopback.tool == "manage_domain" and loopback.placeholders == ["host"]
    site = fixes["site_url_localhost", "SITE_URL"]
    assert site is not None and site.placeholders == ["set.SITE_URL"]
    redirects = fixes["redirect_urls_localhost", "ADDITIONAL_REDIRECT_URLS"]
    assert redirects is not None
    assert redirects.arguments["set"] == {"ADDITIONAL_REDIRECT_URLS": f"https://{TEMPLATE_HOST}/*"}


def test_the_template_keys_expire_on_2030_01_01() -> None:
    report = replace(TEMPLATE, now=datetime(2029, 12, 31, tzinfo=UTC)).run()
    assert {("key_expiring_soon", "ANON_KEY"), ("key_expiring_soon", "SERVICE_ROLE_KEY")} <= {
        (f.code, f.variable) for f in report.findings
    }
    assert ("key_expiring_soon", "ANON_KEY") not in {
        (f.code, f.variable) for f in replace(TEMPLATE, now=datetime(2029, 11, 30, tzinfo=UTC)).run().findings
    }


def test_findings_come_most_severe_first_and_ok_means_nothing_critical_or_high() -> None:
    for name, (case, _) in VARIANTS.items():
        report = case.run()
        order = ["critical", "high", "medium", "low"]
        ranks = [order.index(f.severity) for f in report.findings]
        assert ranks == sorted(ranks), name
        assert report.counts == {s: sum(f.severity == s for f in report.findings) for s in order}, name
        assert report.ok is (report.counts["critical"] + report.counts["high"] == 0), name


def test_raw_env_text_findings_carry_no_fix_call() -> None:
    case, _ = VARIANTS["raw env text"]
    for variant in (case, replace(VARIANTS["weak secrets"][0], address=None, domain=None)):
        report = variant.run()
        assert report.stack is None
        assert report.findings
        assert all(f.fix is None for f in report.findings)


@pytest.mark.parametrize("name", list(VARIANTS))
def test_no_message_quotes_an_env_value(name: str) -> None:
    case, _ = VARIANTS[name]
    values = {v for v in EnvFile.parse(case.env).as_dict().values() if len(v) >= 8}
    for finding in case.run().findings:
        for value in values:
            assert value not in finding.message, (finding.code, value)


# -- fix calls --------------------------------------------------------------------------------------------------------


def all_fixes() -> list[tuple[str, str, str | None, NextStep]]:
    return [
        (name, finding.code, finding.variable, finding.fix)
        for name, (case, _) in VARIANTS.items()
        for finding in case.run().findings
        if finding.fix is not None
    ]


FIXES = all_fixes()


def resolve_placeholder(arguments: dict[str, Any], placeholder: str) -> tuple[dict[str, Any], str]:
    node: Any = arguments
    *parents, last = placeholder.split(".")
    for part in parents:
        node = node[part]
    assert isinstance(node, dict) and last in node, placeholder
    return node, last


def test_there_are_fix_calls_for_every_tool_they_name() -> None:
    assert {fix.tool for *_, fix in FIXES} == {"dokploy_update_env", "dokploy_regenerate_keys", "manage_domain"}


@pytest.mark.parametrize(("name", "code", "variable", "fix"), FIXES, ids=[f"{n}-{c}-{v}" for n, c, v, _ in FIXES])
def test_every_fix_call_names_the_stack_and_validates_against_its_tool_schema(
    name: str, code: str, variable: str | None, fix: NextStep
) -> None:
    assert fix.arguments["stack"] == ADDRESS
    schema = SCHEMAS[fix.tool]
    jsonschema.validate(fix.arguments, schema)
    assert set(fix.arguments) <= set(schema["properties"])
    for placeholder in fix.placeholders:
        resolve_placeholder(fix.arguments, placeholder)


# Values a user would put in place of the placeholders.
REAL_VALUES = {
    "SITE_URL": "https://shop.example.org",
    "SMTP_HOST": "smtp.postmarkapp.com",
    "SMTP_PORT": "2525",
    "SMTP_USER": "postmark-token-user",
    "SMTP_PASS": "Postmark-Server-Token-123456",
    "SMTP_ADMIN_EMAIL": "auth@shop.example.org",
    "host": "api.shop.example.org",
}


def filled(fix: NextStep) -> dict[str, Any]:
    arguments: dict[str, Any] = json.loads(json.dumps(fix.arguments))
    for placeholder in fix.placeholders:
        node, key = resolve_placeholder(arguments, placeholder)
        node[key] = REAL_VALUES.get(key, f"value-for-{key.lower()}")
    return arguments


def stack_of(case: Case) -> SupabaseStack:
    compose = Compose.model_validate(
        {
            **RECORDED,
            "env": case.env,
            "domains": [case.domain.model_dump(by_alias=True)] if case.domain is not None else [],
        }
    )
    return SupabaseStack.from_compose(StackRef("default", COMPOSE_ID, "shop", "production", "supabase"), compose)


def apply_update_env(case: Case, arguments: dict[str, Any]) -> Case:
    plan = plan_env_update(
        EnvFile.parse(case.env),
        set_values=arguments.get("set"),
        unset=arguments.get("unset", []),
        generate=arguments.get("generate", []),
    )
    assert plan.changed
    return replace(case, env=plan.after.render())


def apply_regenerate_keys(case: Case, arguments: dict[str, Any]) -> Case:
    env = EnvFile.parse(case.env)
    return replace(case, env=env.apply(set=new_keys(env, arguments.get("mode", "resign"))).render())


def apply_manage_domain(case: Case, arguments: dict[str, Any]) -> Case:
    stack = stack_of(case)
    if arguments["action"] == "add":
        change = dom.plan_add(stack, arguments["host"], arguments.get("https", True))
    else:
        assert arguments["action"] == "update"
        change = dom.plan_update(stack, arguments.get("domain_id"), arguments.get("host"), arguments.get("https"))
    assert change.host is not None and change.https is not None
    # What apply_domain makes of the change: https comes with a Let's Encrypt certificate.
    base = case.domain or kong()
    domain = base.model_copy(
        update={
            "host": change.host,
            "https": change.https,
            "certificate_type": "letsencrypt" if change.https else "none",
        }
    )
    env = change.env_plan.after.render() if change.env_plan is not None else case.env
    return replace(case, env=env, domain=domain)


APPLY: dict[str, Callable[[Case, dict[str, Any]], Case]] = {
    "dokploy_update_env": apply_update_env,
    "dokploy_regenerate_keys": apply_regenerate_keys,
    "manage_domain": apply_manage_domain,
}


@pytest.mark.parametrize(("name", "code", "variable", "fix"), FIXES, ids=[f"{n}-{c}-{v}" for n, c, v, _ in FIXES])
def test_every_fix_call_made_as_it_stands_removes_its_finding(
    name: str, code: str, variable: str | None, fix: NextStep
) -> None:
    case, _ = VARIANTS[name]
    after = APPLY[fix.tool](case, filled(fix))
    remaining = {(f.code, f.variable) for f in after.run().findings}
    assert (code, variable) not in remaining


def test_key_fixes_resign_unless_the_secret_itself_is_bad() -> None:
    def modes(name: str) -> set[str]:
        case, _ = VARIANTS[name]
        return {
            f.fix.arguments["mode"]
            for f in case.run().findings
            if f.fix is not None and f.fix.tool == "dokploy_regenerate_keys"
        }

    assert modes("keys signed with another secret") == {"resign"}
    assert modes("identical keys") == {"resign"}
    assert modes("demo keys") == {"resign"}
    assert modes("example secret and demo keys") == {"rotate"}
    assert modes("short jwt secret") == {"rotate"}
    assert modes("jwt secret missing") == {"rotate"}


def test_postgres_password_findings_explain_the_manual_steps_instead_of_a_fix() -> None:
    case, _ = VARIANTS["example postgres password"]
    [finding] = case.run().findings
    assert finding.fix is None
    assert "ALTER USER" in finding.message


def test_letsencrypt_email_has_no_fix_call_and_says_where_to_set_it() -> None:
    case, _ = VARIANTS["letsencrypt without an e-mail"]
    [finding] = case.run().findings
    assert finding.fix is None
    assert "Settings, Web Server" in finding.message


def test_a_duplicated_secret_gets_no_fix_call_carrying_its_value() -> None:
    case, _ = VARIANTS["duplicated secret"]
    [finding] = case.run().findings
    assert finding.fix is None


def test_weak_secret_fixes_generate_a_fresh_value_and_redeploy() -> None:
    case, _ = VARIANTS["weak secrets"]
    fixes = {f.variable: f.fix for f in case.run().findings}
    dashboard = fixes["DASHBOARD_PASSWORD"]
    assert dashboard is not None
    assert dashboard.arguments == {"stack": ADDRESS, "generate": ["DASHBOARD_PASSWORD"], "redeploy": True}


def test_a_missing_url_variable_is_fixed_with_the_domain_url_not_a_placeholder() -> None:
    case, _ = VARIANTS["public url missing"]
    [finding] = case.run().findings
    assert finding.fix is not None
    assert finding.fix.arguments["set"] == {"SUPABASE_PUBLIC_URL": "https://api.example.com"}
    assert finding.fix.placeholders == []


def test_referenced_variables_separates_required_from_defaulted() -> None:
    required, optional = referenced_variables("a: ${ONE}\nb: ${TWO:-x}\nc: ${THREE-}\nd: $${NOT_ME}\ne: ${FOUR:?err}\n")
    assert required == {"ONE", "FOUR"}
    assert optional == {"TWO", "THREE"}
    template_required, _ = referenced_variables(COMPOSE_FILE)
    assert {"JWT_SECRET", "SITE_URL", "JWT_EXPIRY", "POOLER_TENANT_ID"} <= template_required


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("compose-app-1a2b3c-127-0-0-1.sslip.io", True),
        ("127-0-0-1.sslip.io", True),
        ("api.127.0.0.1.sslip.io", True),
        ("APP-1A2B3C-127-0-0-1.SSLIP.IO", True),
        ("app-1a2b3c-203-0-113-7.sslip.io", False),
        ("app-1a2b3c-127-0-0-10.sslip.io", False),
        ("app-127-0-0-1.example.com", False),
    ],
)
def test_a_loopback_sslip_io_domain_is_recognised_in_every_spelling(host: str, loopback: bool) -> None:
    case = Case(domain=kong(host, https=False, certificate="none"))
    codes = {f.code for f in case.run().findings}
    assert ("server_ip_loopback" in codes) is loopback
