"""dokploy_validate_config's checks on the real imported Supabase env and on broken variants of a clean one.

Every variant states the exact findings it must give (code, severity, variable) and nothing else. Over all variants:
no message quotes an env value, every fix call names the stack, validates against its tool's input schema, names
placeholders that exist, and, made as it stands (placeholders filled), really removes the finding it is for.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from dokploy_mcp.dokploy.models import Compose
from dokploy_mcp.errors import NextStep
from dokploy_mcp.supabase import domains as dom
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.envupdate import plan_env_update
from dokploy_mcp.supabase.keys import new_keys
from dokploy_mcp.supabase.stack import StackRef, SupabaseStack
from dokploy_mcp.supabase.validate import ValidationReport, referenced_variables, validate_stack
from tests.supabase.validate_cases import (
    ADDRESS,
    COMPOSE_FILE,
    COMPOSE_ID,
    RECORDED,
    RECORDED_SETTINGS,
    TEMPLATE,
    TEMPLATE_HOST,
    VARIANTS,
    Case,
    Expected,
    kong,
)

SCHEMAS: dict[str, dict[str, Any]] = {
    tool["name"]: tool["inputSchema"]
    for tool in json.loads((Path(__file__).parents[1] / "snapshots" / "tool_surface.json").read_text())
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
    return replace(
        case, env=env.apply(set=new_keys(env.get("JWT_SECRET"), rotate=arguments.get("mode") == "rotate")).render()
    )


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


def test_a_stack_is_checked_with_its_compose_file_its_domain_and_the_server_settings() -> None:
    report = validate_stack(stack_of(TEMPLATE), RECORDED_SETTINGS)
    assert report.stack == ADDRESS
    assert found(report) == VARIANTS["template as imported"][1]
