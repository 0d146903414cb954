"""Checks of Supabase's legacy HS256 keys and the stack's other secrets, on the real imported env."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dokploy_mcp.errors import InputError
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.keys import (
    CLI_ANON_KEY,
    CLI_JWT_SECRET,
    CLI_SERVICE_ROLE_KEY,
    EXAMPLE_ANON_KEY,
    EXAMPLE_JWT_SECRET,
    EXAMPLE_SERVICE_ROLE_KEY,
    KeyFinding,
    check_keys,
    decode_key,
    generate_jwt_secret,
    generate_secret,
    sign_key,
    weak_secret_findings,
)
from dokploy_mcp.supabase.secrets import is_secret
from tests.supabase.test_env import imported_env_text

# A moment shortly after the recording (the keys were issued on 2026-11-22 and expire on 2030-01-01).
NOW = datetime(2026, 12, 1, tzinfo=UTC)
EXPIRY_2030 = int(datetime(2030, 1, 1, tzinfo=UTC).timestamp())
OTHER_SECRET = "q" * 40


def imported_env() -> dict[str, str]:
    return EnvFile.parse(imported_env_text()).as_dict()


def claims_of(token: str) -> dict[str, Any]:
    payload = token.split(".")[1]
    data: dict[str, Any] = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    return data


def hs_token(claims: dict[str, Any], secret: str, alg: str = "HS256") -> str:
    """A JWT signed by hand, independently of the code under test (and of PyJWT's key-length warning)."""

    def part(data: dict[str, Any]) -> str:
        raw = json.dumps(data, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    digest = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}[alg]
    signing_input = f"{part({'alg': alg, 'typ': 'JWT'})}.{part(claims)}"
    signature = hmac.new(secret.encode(), signing_input.encode(), digest).digest()
    return signing_input + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def resigned(
    env: dict[str, str], secret: str, only: tuple[str, ...] = ("ANON_KEY", "SERVICE_ROLE_KEY"), **changes: Any
) -> dict[str, str]:
    """``env`` with the keys re-signed with ``secret``; ``changes`` edit (or, with None, drop) claims."""
    out = dict(env)
    for variable in only:
        claims = claims_of(env[variable])
        for name, value in changes.items():
            if value is None:
                claims.pop(name, None)
            else:
                claims[name] = value
        out[variable] = hs_token(claims, secret)
    return out


def codes(findings: list[KeyFinding]) -> list[tuple[str, str]]:
    return [(f.variable, f.code) for f in findings]


def assert_no_value_in_messages(findings: list[KeyFinding], env: dict[str, str]) -> None:
    for finding in findings:
        for value in env.values():
            if len(value) >= 8:
                assert value not in finding.message, (finding.code, finding.variable)


# -- the real imported env ----------------------------------------------------------------------------------------


def test_the_imported_keys_are_signed_with_the_imported_jwt_secret() -> None:
    env = imported_env()
    for variable, role in (("ANON_KEY", "anon"), ("SERVICE_ROLE_KEY", "service_role")):
        decoded = decode_key(env[variable], env["JWT_SECRET"], variable)
        assert decoded.signature_valid
        assert decoded.is_jwt
        assert (decoded.variable, decoded.role, decoded.iss, decoded.alg) == (variable, role, "supabase", "HS256")
        assert decoded.exp == EXPIRY_2030
        assert decoded.iat is not None and decoded.iat < NOW.timestamp()


def test_the_imported_env_has_no_key_or_secret_findings() -> None:
    env = imported_env()
    assert check_keys(env, now=NOW) == []
    assert weak_secret_findings(env) == []


def test_keys_expiring_within_30_days_are_reported_high() -> None:
    env = imported_env()
    findings = check_keys(env, now=datetime(2029, 12, 15, tzinfo=UTC))
    assert codes(findings) == [("ANON_KEY", "key_expiring_soon"), ("SERVICE_ROLE_KEY", "key_expiring_soon")]
    assert {f.severity for f in findings} == {"high"}
    assert "2030-01-01" in findings[0].message
    assert check_keys(env, now=datetime(2029, 11, 1, tzinfo=UTC)) == []


def test_a_naive_now_is_taken_as_utc() -> None:
    assert check_keys(imported_env(), now=datetime(2031, 1, 1)) == check_keys(
        imported_env(), now=datetime(2031, 1, 1, tzinfo=UTC)
    )


# -- broken variants of the real env ------------------------------------------------------------------------------


def _swap(env: dict[str, str]) -> dict[str, str]:
    return {**env, "ANON_KEY": env["SERVICE_ROLE_KEY"], "SERVICE_ROLE_KEY": env["ANON_KEY"]}


def _short_secret(env: dict[str, str]) -> dict[str, str]:
    return {**resigned(env, "tooshort-secret"), "JWT_SECRET": "tooshort-secret"}


def _example_secret(env: dict[str, str]) -> dict[str, str]:
    return {**resigned(env, EXAMPLE_JWT_SECRET), "JWT_SECRET": EXAMPLE_JWT_SECRET}


def _hs512(env: dict[str, str]) -> dict[str, str]:
    return {**env, "ANON_KEY": hs_token(claims_of(env["ANON_KEY"]), env["JWT_SECRET"], alg="HS512")}


BOTH = ("ANON_KEY", "SERVICE_ROLE_KEY")
VARIANTS: dict[str, tuple[Callable[[dict[str, str]], dict[str, str]], list[tuple[str, str]]]] = {
    "swapped keys": (_swap, [(v, "key_role_wrong") for v in BOTH]),
    "identical keys": (
        lambda env: {**env, "SERVICE_ROLE_KEY": env["ANON_KEY"]},
        [("SERVICE_ROLE_KEY", "keys_identical")],
    ),
    "signed with another secret": (
        lambda env: resigned(env, OTHER_SECRET),
        [(v, "key_signature_invalid") for v in BOTH],
    ),
    # One key at a time: with the same claims otherwise, both keys would become the same token.
    "role claim dropped": (
        lambda env: resigned(env, env["JWT_SECRET"], only=("ANON_KEY",), role=None),
        [("ANON_KEY", "key_role_missing")],
    ),
    "role claim wrong": (
        lambda env: resigned(env, env["JWT_SECRET"], only=("SERVICE_ROLE_KEY",), role="authenticated"),
        [("SERVICE_ROLE_KEY", "key_role_wrong")],
    ),
    "old dokploy issuer": (
        lambda env: resigned(env, env["JWT_SECRET"], iss="dokploy"),
        [(v, "key_iss_unexpected") for v in BOTH],
    ),
    "issuer dropped": (lambda env: resigned(env, env["JWT_SECRET"], iss=None), [(v, "key_iss_missing") for v in BOTH]),
    "expired": (
        lambda env: resigned(env, env["JWT_SECRET"], exp=int(NOW.timestamp()) - 3600),
        [(v, "key_expired") for v in BOTH],
    ),
    "issued in the future": (
        lambda env: resigned(env, env["JWT_SECRET"], iat=int(NOW.timestamp()) + 86400),
        [(v, "key_iat_in_future") for v in BOTH],
    ),
    "iat dropped": (lambda env: resigned(env, env["JWT_SECRET"], iat=None), [(v, "key_iat_missing") for v in BOTH]),
    "docker example demo keys": (
        lambda env: {**env, "ANON_KEY": EXAMPLE_ANON_KEY, "SERVICE_ROLE_KEY": EXAMPLE_SERVICE_ROLE_KEY},
        [(v, "key_demo") for v in BOTH],
    ),
    "cli demo keys": (
        lambda env: {**env, "ANON_KEY": CLI_ANON_KEY, "SERVICE_ROLE_KEY": CLI_SERVICE_ROLE_KEY},
        [(v, "key_demo") for v in BOTH],
    ),
    "short secret": (_short_secret, [("JWT_SECRET", "jwt_secret_too_short")]),
    "example secret": (_example_secret, [("JWT_SECRET", "jwt_secret_example")]),
    "missing secret": (
        lambda env: {k: v for k, v in env.items() if k != "JWT_SECRET"},
        [("JWT_SECRET", "jwt_secret_missing")],
    ),
    "missing anon key": (lambda env: {**env, "ANON_KEY": ""}, [("ANON_KEY", "key_missing")]),
    "not a jwt": (lambda env: {**env, "SERVICE_ROLE_KEY": "not-a-jwt-at-all"}, [("SERVICE_ROLE_KEY", "key_not_jwt")]),
    "hs512": (_hs512, [("ANON_KEY", "key_alg_not_hs256")]),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
def test_each_broken_variant_gives_exactly_its_finding(variant: str) -> None:
    make, expected = VARIANTS[variant]
    env = make(imported_env())
    findings = check_keys(env, now=NOW)
    assert codes(findings) == expected
    assert_no_value_in_messages(findings, env)


@pytest.mark.parametrize(
    ("code", "severity"),
    [
        ("key_role_wrong", "critical"),
        ("key_iss_unexpected", "low"),
        ("key_iat_in_future", "medium"),
        ("key_expired", "critical"),
        ("key_demo", "critical"),
        ("jwt_secret_too_short", "critical"),
    ],
)
def test_findings_carry_their_severity(code: str, severity: str) -> None:
    for make, _ in VARIANTS.values():
        for finding in check_keys(make(imported_env()), now=NOW):
            if finding.code == code:
                assert finding.severity == severity


def test_the_dokploy_issuer_finding_explains_where_it_comes_from() -> None:
    env = resigned(imported_env(), imported_env()["JWT_SECRET"], iss="dokploy")
    message = check_keys(env, now=NOW)[0].message
    assert "ANON_KEY" in message and "Dokploy" in message


# -- decode / sign ------------------------------------------------------------------------------------------------


@given(st.text())
def test_decode_key_never_raises_on_any_text(token: str) -> None:
    decoded = decode_key(token, "x" * 32, "ANON_KEY")
    assert decoded.variable == "ANON_KEY"
    if not decoded.is_jwt:
        assert (decoded.role, decoded.iss, decoded.iat, decoded.exp, decoded.alg) == (None, None, None, None, None)
        assert not decoded.signature_valid


@pytest.mark.parametrize(
    "token",
    [
        "",
        "a.b",
        "a.b.c",
        "..",
        "eyJhbGciOiJIUzI1NiJ9.bm90IGpzb24.sig",
        "eyJ0eXAiOiJKV1QifQ.W10.sig",
        "a.b.c.d",
        "é.é.é",
    ],
)
def test_malformed_tokens_decode_to_no_claims(token: str) -> None:
    decoded = decode_key(token, "secret", "ANON_KEY")
    assert not decoded.is_jwt
    assert not decoded.signature_valid
    assert decoded.role is None


def test_sign_key_round_trips_through_decode_key() -> None:
    secret = generate_jwt_secret()
    issued = datetime(2026, 1, 1, tzinfo=UTC)
    for role in ("anon", "service_role"):
        token = sign_key(secret, role, issued_at=issued, lifetime=timedelta(days=10))
        decoded = decode_key(token, secret, "KEY")
        assert decoded.signature_valid
        assert (decoded.role, decoded.iss, decoded.alg) == (role, "supabase", "HS256")
        assert decoded.iat == int(issued.timestamp())
        assert decoded.exp == int((issued + timedelta(days=10)).timestamp())
        header = json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))
        assert header == {"alg": "HS256", "typ": "JWT"}
        assert not decode_key(token, OTHER_SECRET, "KEY").signature_valid


def test_fresh_keys_pass_every_check() -> None:
    secret = generate_jwt_secret()
    env = {
        "JWT_SECRET": secret,
        "ANON_KEY": sign_key(secret, "anon", issued_at=NOW),
        "SERVICE_ROLE_KEY": sign_key(secret, "service_role", issued_at=NOW),
    }
    assert check_keys(env, now=NOW + timedelta(minutes=1)) == []
    # Ten years by default.
    assert decode_key(env["ANON_KEY"], secret, "ANON_KEY").exp == int((NOW + timedelta(days=3650)).timestamp())


def test_sign_key_refuses_a_weak_secret_or_an_unknown_role() -> None:
    with pytest.raises(InputError) as short:
        sign_key("short", "anon")
    assert short.value.field == "jwt_secret"
    with pytest.raises(InputError) as role:
        sign_key("x" * 32, "authenticated")  # type: ignore[arg-type]
    assert role.value.field == "role"


def test_generated_jwt_secrets_are_long_random_and_safe_for_env_files() -> None:
    secrets = {generate_jwt_secret() for _ in range(50)}
    assert len(secrets) == 50
    allowed = set(string.ascii_letters + string.digits + "-_")
    for secret in secrets:
        assert len(secret) == 64
        assert set(secret) <= allowed


def test_generated_secrets_have_the_asked_length_and_pass_the_secret_checks() -> None:
    env = imported_env()
    for variable, length in (("VAULT_ENC_KEY", 32), ("SECRET_KEY_BASE", 64), ("DASHBOARD_PASSWORD", 40)):
        value = generate_secret(length)
        assert len(value) == length
        assert set(value) <= set(string.ascii_letters + string.digits + "-_")
        env[variable] = value
    assert weak_secret_findings(env) == []
    with pytest.raises(InputError):
        generate_secret(0)


def test_the_demo_constants_are_the_published_pairs() -> None:
    # Each published key verifies with its published secret: the constants were copied right.
    for token, secret in (
        (EXAMPLE_ANON_KEY, EXAMPLE_JWT_SECRET),
        (EXAMPLE_SERVICE_ROLE_KEY, EXAMPLE_JWT_SECRET),
        (CLI_ANON_KEY, CLI_JWT_SECRET),
        (CLI_SERVICE_ROLE_KEY, CLI_JWT_SECRET),
    ):
        decoded = decode_key(token, secret, "KEY")
        assert decoded.signature_valid
        assert decoded.iss == "supabase-demo"


# -- other secrets ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"POSTGRES_PASSWORD": ""}, [("POSTGRES_PASSWORD", "secret_missing", "critical")]),
        (
            {"DASHBOARD_PASSWORD": "this_password_is_insecure_and_should_be_updated"},
            [("DASHBOARD_PASSWORD", "secret_example", "critical")],
        ),
        ({"DASHBOARD_PASSWORD": "short"}, [("DASHBOARD_PASSWORD", "secret_too_short", "high")]),
        ({"SECRET_KEY_BASE": "a" * 63}, [("SECRET_KEY_BASE", "secret_too_short", "high")]),
        (
            {"SECRET_KEY_BASE": "UpNVntn3cDxHJpq99YMc1T1AQgQpc8kfYTuRgBiYa15BLrx8etQoXz3gZv1/u2oq"},
            [("SECRET_KEY_BASE", "secret_example", "critical")],
        ),
        ({"VAULT_ENC_KEY": "your-32-character-encryption-key"}, [("VAULT_ENC_KEY", "secret_example", "critical")]),
        ({"VAULT_ENC_KEY": "v" * 20}, [("VAULT_ENC_KEY", "secret_too_short", "high")]),
        ({"VAULT_ENC_KEY": "v" * 64}, [("VAULT_ENC_KEY", "secret_wrong_length", "high")]),
        (
            {"PG_META_CRYPTO_KEY": "your-encryption-key-32-chars-min"},
            [("PG_META_CRYPTO_KEY", "secret_example", "critical")],
        ),
        ({"LOGFLARE_PUBLIC_ACCESS_TOKEN": ""}, [("LOGFLARE_PUBLIC_ACCESS_TOKEN", "secret_missing", "high")]),
        (
            {"LOGFLARE_PRIVATE_ACCESS_TOKEN": "your-super-secret-and-long-logflare-key-private"},
            [("LOGFLARE_PRIVATE_ACCESS_TOKEN", "secret_example", "critical")],
        ),
        (
            {"S3_PROTOCOL_ACCESS_KEY_SECRET": "850181e4652dd023b7a98c58ae0d2d34bd487ee0cc3254aed6eda37307425907"},
            [("S3_PROTOCOL_ACCESS_KEY_SECRET", "secret_example", "critical")],
        ),
        (
            {
                "LOGFLARE_PRIVATE_ACCESS_TOKEN": "same-token-for-both-0123456789",
                "LOGFLARE_PUBLIC_ACCESS_TOKEN": "same-token-for-both-0123456789",
            },
            [("LOGFLARE_PRIVATE_ACCESS_TOKEN", "logflare_tokens_identical", "high")],
        ),
    ],
)
def test_weak_secrets_give_exactly_their_finding(changes: dict[str, str], expected: list[tuple[str, str, str]]) -> None:
    env = {**imported_env(), **changes}
    findings = weak_secret_findings(env)
    assert [(f.variable, f.code, f.severity) for f in findings] == expected
    assert_no_value_in_messages(findings, env)


def test_findings_never_quote_a_secret_value() -> None:
    everything_wrong = {
        **resigned(imported_env(), OTHER_SECRET, iss="dokploy", exp=int(NOW.timestamp()) - 1),
        "DASHBOARD_PASSWORD": "tiny-pass",
        "VAULT_ENC_KEY": "x" * 40,
    }
    findings = check_keys(everything_wrong, now=NOW) + weak_secret_findings(everything_wrong)
    assert findings
    assert_no_value_in_messages(findings, everything_wrong)
    for finding in findings:
        assert is_secret(finding.variable) or finding.variable == "ANON_KEY"
