"""The configurations validation is tried on: the real imported Supabase env, a clean variant of it, and broken
variants, each with the exact findings (code, severity, variable) it must give and nothing else."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from dokploy_mcp.dokploy.models import Domain, WebServerSettings
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.keys import (
    EXAMPLE_ANON_KEY,
    EXAMPLE_JWT_SECRET,
    EXAMPLE_SERVICE_ROLE_KEY,
    sign_key,
)
from dokploy_mcp.supabase.stack import domain_url
from dokploy_mcp.supabase.validate import ValidationReport, validate_env
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
