"""Supabase's legacy API keys: HS256 JWTs signed with JWT_SECRET, and the secrets around them.

A self-hosted stack trusts two long-lived tokens: ANON_KEY (role ``anon``, public) and SERVICE_ROLE_KEY (role
``service_role``, bypasses Row Level Security). PostgREST, GoTrue, Storage, Realtime and the edge runtime accept a
token only when it is signed with JWT_SECRET using HS256, and act as the database role named by its ``role``
claim. So the keys are right when:

- JWT_SECRET exists, has at least 32 characters (GoTrue's and Supabase's documented minimum) and is not a value
  published in Supabase's examples;
- each key is a JWT with ``alg`` HS256 whose signature verifies with JWT_SECRET;
- ANON_KEY says ``role: anon`` and SERVICE_ROLE_KEY says ``role: service_role``, and the two differ;
- ``exp`` is in the future (the Dokploy template signs them to expire on 2030-01-01), ``iat`` is present and
  not in the future;
- ``iss`` is ``supabase`` (nothing checks it, and Dokploy's template helper defaults to ``dokploy``: a low
  finding only);
- neither key is one of the demo tokens everybody has: the ones in Supabase's ``docker/.env.example`` and the
  Supabase CLI's local development keys. Anyone can call the API as service_role with those.

Findings name the variable and never quote a secret value.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import re
import secrets
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from dokploy_mcp.errors import InputError

Severity = Literal["critical", "high", "medium", "low"]
Role = Literal["anon", "service_role"]

MIN_JWT_SECRET_LENGTH = 32
EXPECTED_ISSUER = "supabase"
EXPIRY_WARNING = timedelta(days=30)
# Tolerated clock difference between the host that signed a key and the one checking it.
CLOCK_SKEW = timedelta(minutes=5)
KEY_ROLES: dict[str, Role] = {"ANON_KEY": "anon", "SERVICE_ROLE_KEY": "service_role"}

# From supabase/supabase, docker/.env.example (the self-hosting example env; the values have not changed across
# its revisions). Every stack that was started from a copy of that file without editing it has these.
EXAMPLE_JWT_SECRET = "your-super-secret-jwt-token-with-at-least-32-characters-long"
EXAMPLE_ANON_KEY = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyAgCiAgICAicm9sZSI6ICJhbm9uIiwKICAgICJpc3MiOiAic3VwYWJhc2UtZGVtbyIsCiAgIC"
    "AiaWF0IjogMTY0MTc2OTIwMCwKICAgICJleHAiOiAxNzk5NTM1NjAwCn0.dc_X5iR_VP_qT0zsiyj_I_OZ2T9FtRU2BBNWN8Bu4GE"
)
EXAMPLE_SERVICE_ROLE_KEY = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyAgCiAgICAicm9sZSI6ICJzZXJ2aWNlX3JvbGUiLAogICAgImlzcyI6ICJzdXBhYmFzZS1kZW"
    "1vIiwKICAgICJpYXQiOiAxNjQxNzY5MjAwLAogICAgImV4cCI6IDE3OTk1MzU2MDAKfQ.DaYlNEoUrrEn2Ig7tqibS-PHK5vgusbcbo7X36XVt4Q"
)
# The Supabase CLI's local development stack (`supabase start`) prints this secret and these keys; they are pasted
# into self-hosted stacks too. Checked here: both keys verify with the secret.
CLI_JWT_SECRET = "super-secret-jwt-token-with-at-least-32-characters-long"
CLI_ANON_KEY = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6ImFub24iLCJleHAiOjE5ODM4MTI5OTZ9."
    "CRXP1A7WOeoJeXxjNni43kdQwgnWNReilDMblYTn_I0"
)
CLI_SERVICE_ROLE_KEY = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJpc3MiOiJzdXBhYmFzZS1kZW1vIiwicm9sZSI6InNlcnZpY2Vfcm9sZSIsImV4cCI6MTk4Mz"
    "gxMjk5Nn0.EGIM96RAZx35lJzdJsyH-qQwv8Hdp7fsn3W0YpN81IU"
)
DEMO_JWT_SECRETS = frozenset({EXAMPLE_JWT_SECRET, CLI_JWT_SECRET})
DEMO_KEYS = frozenset({EXAMPLE_ANON_KEY, EXAMPLE_SERVICE_ROLE_KEY, CLI_ANON_KEY, CLI_SERVICE_ROLE_KEY})

# The other secrets of the stack, from the same docker/.env.example (two revisions of it: VAULT_ENC_KEY's example
# changed from "your-encryption-key-32-chars-min" to "your-32-character-encryption-key").
EXAMPLE_SECRET_VALUES = frozenset(
    {
        "your-super-secret-and-long-postgres-password",
        "this_password_is_insecure_and_should_be_updated",
        "UpNVntn3cDxHJpq99YMc1T1AQgQpc8kfYTuRgBiYa15BLrx8etQoXz3gZv1/u2oq",
        "your-32-character-encryption-key",
        "your-encryption-key-32-chars-min",
        "your-super-secret-and-long-logflare-key-public",
        "your-super-secret-and-long-logflare-key-private",
        "your-super-secret-and-long-logflare-key",
        "625729a08b95bf1b7ff351a663f3a23c",
        "850181e4652dd023b7a98c58ae0d2d34bd487ee0cc3254aed6eda37307425907",
        EXAMPLE_JWT_SECRET,
        CLI_JWT_SECRET,
    }
)


@dataclass(frozen=True)
class SecretRule:
    """What a secret of the stack needs: a length, and whether missing it is critical."""

    min_length: int
    exact_length: int | None = None
    missing: Severity = "high"
    why: str = ""


#: Lengths: JWT_SECRET's 32 is documented; SECRET_KEY_BASE's 64 is Phoenix's minimum (Realtime and Supavisor
#: refuse shorter ones); VAULT_ENC_KEY is Supavisor's AES-256-GCM key, so exactly 32 bytes ("your-32-character-
#: encryption-key"); PG_META_CRYPTO_KEY's 32 is the example's "32-chars-min". The example env gives no number for
#: passwords and tokens ("super-secret-and-long"): 16 is our floor; Dokploy's template generates 32.
SECRET_RULES: dict[str, SecretRule] = {
    "POSTGRES_PASSWORD": SecretRule(16, missing="critical", why="every service logs in to the database with it"),
    "DASHBOARD_PASSWORD": SecretRule(16, missing="critical", why="it guards Studio, which can run any SQL"),
    "SECRET_KEY_BASE": SecretRule(64, why="Realtime and Supavisor sign their sessions with it"),
    "VAULT_ENC_KEY": SecretRule(32, exact_length=32, why="Supavisor encrypts tenant credentials with it (AES-256)"),
    "PG_META_CRYPTO_KEY": SecretRule(32, why="Studio encrypts database connection strings with it"),
    "LOGFLARE_PUBLIC_ACCESS_TOKEN": SecretRule(16, why="it lets anyone write to the stack's logs"),
    "LOGFLARE_PRIVATE_ACCESS_TOKEN": SecretRule(16, why="it lets anyone read and manage the stack's logs"),
}
#: Checked for published example values only: the S3 endpoint works without them until it is used.
EXAMPLE_ONLY = ("S3_PROTOCOL_ACCESS_KEY_ID", "S3_PROTOCOL_ACCESS_KEY_SECRET")

_B64URL = re.compile(r"[A-Za-z0-9_-]*\Z")
_SECRET_ALPHABET = string.ascii_letters + string.digits + "-_"
_HMAC_HASHES: dict[str, Callable[[], Any]] = {
    "HS256": hashlib.sha256,
    "HS384": hashlib.sha384,
    "HS512": hashlib.sha512,
}


@dataclass(frozen=True)
class KeyFinding:
    code: str
    severity: Severity
    variable: str
    message: str


@dataclass(frozen=True)
class DecodedKey:
    """What a key says about itself. ``is_jwt`` is False (and every claim None) for text that is not a JWT."""

    variable: str
    role: str | None
    iss: str | None
    iat: int | None
    exp: int | None
    signature_valid: bool
    alg: str | None
    is_jwt: bool = True


def _b64url_decode(segment: str) -> bytes | None:
    if not _B64URL.match(segment) or len(segment) % 4 == 1:
        return None
    try:
        return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))
    except (binascii.Error, ValueError):
        return None


def _json_object(segment: str) -> dict[str, Any] | None:
    data = _b64url_decode(segment)
    if data is None:
        return None
    try:
        value = json.loads(data)
    except (UnicodeDecodeError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _claim_text(claims: Mapping[str, Any], name: str) -> str | None:
    value = claims.get(name)
    if value is None:
        return None
    return value if isinstance(value, str) else json.dumps(value)


def _claim_time(claims: Mapping[str, Any], name: str) -> int | None:
    value = claims.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def decode_key(token: str, secret: str, variable: str) -> DecodedKey:
    """Read a key's header and claims and check its signature against ``secret``; never raises."""
    parts = token.strip().split(".") if isinstance(token, str) else []
    header = _json_object(parts[0]) if len(parts) == 3 else None
    claims = _json_object(parts[1]) if header is not None else None
    signature = _b64url_decode(parts[2]) if claims is not None else None
    if header is None or claims is None or signature is None:
        return DecodedKey(variable, None, None, None, None, signature_valid=False, alg=None, is_jwt=False)
    alg = _claim_text(header, "alg")
    # The HMAC is computed here rather than through PyJWT, which warns about (and may one day refuse) secrets
    # shorter than 32 bytes: exactly the ones this check must still be able to judge.
    valid = False
    digest = _HMAC_HASHES.get(alg or "")
    if digest is not None and secret:
        signing_input = f"{parts[0]}.{parts[1]}".encode("ascii")
        expected = hmac.new(secret.encode("utf-8"), signing_input, digest).digest()
        valid = hmac.compare_digest(expected, signature)
    return DecodedKey(
        variable=variable,
        role=_claim_text(claims, "role"),
        iss=_claim_text(claims, "iss"),
        iat=_claim_time(claims, "iat"),
        exp=_claim_time(claims, "exp"),
        signature_valid=valid,
        alg=alg,
    )


def _now(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(UTC)
    return now if now.tzinfo is not None else now.replace(tzinfo=UTC)


def _date(timestamp: int) -> str:
    try:
        return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d")
    except (OverflowError, OSError, ValueError):
        return f"timestamp {timestamp}"


def _jwt_secret_findings(secret: str | None) -> list[KeyFinding]:
    if not secret:
        return [
            KeyFinding(
                "jwt_secret_missing",
                "critical",
                "JWT_SECRET",
                "JWT_SECRET is not set: no service can check the API keys or sign user sessions",
            )
        ]
    if secret in DEMO_JWT_SECRETS:
        return [
            KeyFinding(
                "jwt_secret_example",
                "critical",
                "JWT_SECRET",
                "JWT_SECRET is the value published in Supabase's examples: anyone can sign a service_role key for "
                "this stack; rotate the secret and the keys",
            )
        ]
    if len(secret) < MIN_JWT_SECRET_LENGTH:
        return [
            KeyFinding(
                "jwt_secret_too_short",
                "critical",
                "JWT_SECRET",
                f"JWT_SECRET has {len(secret)} characters; it needs at least {MIN_JWT_SECRET_LENGTH} (GoTrue refuses "
                "shorter ones, and a short HMAC secret can be guessed); rotate the secret and the keys",
            )
        ]
    return []


def _key_findings(variable: str, token: str | None, secret: str | None, now: datetime) -> list[KeyFinding]:
    role = KEY_ROLES[variable]
    if not token:
        return [
            KeyFinding(
                "key_missing", "critical", variable, f"{variable} is not set: clients cannot call the API as {role}"
            )
        ]
    if token.strip() in DEMO_KEYS:
        # Nothing else about a demo key matters: it has to be replaced whatever its claims say.
        return [
            KeyFinding(
                "key_demo",
                "critical",
                variable,
                f"{variable} is a demo key published by Supabase (example env or CLI): anyone holding it can call "
                "the API; regenerate the keys",
            )
        ]
    decoded = decode_key(token, secret or "", variable)
    if not decoded.is_jwt:
        return [
            KeyFinding(
                "key_not_jwt", "critical", variable, f"{variable} is not a JWT (three base64url parts with JSON)"
            )
        ]
    return [
        *_signature_findings(decoded, secret),
        *_role_findings(decoded, role),
        *_issuer_findings(decoded),
        *_time_findings(decoded, now.timestamp()),
    ]


def _signature_findings(decoded: DecodedKey, secret: str | None) -> list[KeyFinding]:
    variable = decoded.variable
    if decoded.alg != "HS256":
        return [
            KeyFinding(
                "key_alg_not_hs256",
                "critical",
                variable,
                f"{variable} is signed with {decoded.alg or 'no algorithm'}; the services expect HS256 with JWT_SECRET",
            )
        ]
    if secret and not decoded.signature_valid:
        return [
            KeyFinding(
                "key_signature_invalid",
                "critical",
                variable,
                f"{variable} is not signed with this stack's JWT_SECRET: every service rejects it; re-sign the keys",
            )
        ]
    return []


def _role_findings(decoded: DecodedKey, role: Role) -> list[KeyFinding]:
    variable = decoded.variable
    if decoded.role is None:
        return [
            KeyFinding(
                "key_role_missing", "critical", variable, f"{variable} has no role claim; it must say role {role!r}"
            )
        ]
    if decoded.role != role:
        return [
            KeyFinding(
                "key_role_wrong",
                "critical",
                variable,
                f"{variable} claims role {decoded.role!r} but must claim {role!r}",
            )
        ]
    return []


def _issuer_findings(decoded: DecodedKey) -> list[KeyFinding]:
    variable = decoded.variable
    if decoded.iss is None:
        return [
            KeyFinding("key_iss_missing", "low", variable, f"{variable} has no iss claim; Supabase's keys carry one")
        ]
    if decoded.iss != EXPECTED_ISSUER:
        return [
            KeyFinding(
                "key_iss_unexpected",
                "low",
                variable,
                f"{variable} has issuer {decoded.iss!r} where Supabase's keys have the standard issuer (older "
                "Dokploy templates used 'dokploy'); nothing rejects it, re-signing aligns it",
            )
        ]
    return []


def _time_findings(decoded: DecodedKey, now_ts: float) -> list[KeyFinding]:
    """An expired or soon expiring key, and an issued-at claim that is missing or in the future."""
    variable = decoded.variable
    found: list[KeyFinding] = []
    if decoded.exp is not None and decoded.exp <= now_ts:
        found.append(
            KeyFinding(
                "key_expired",
                "critical",
                variable,
                f"{variable} expired on {_date(decoded.exp)}: every request with it is rejected; re-sign the keys",
            )
        )
    elif decoded.exp is not None and decoded.exp - now_ts <= EXPIRY_WARNING.total_seconds():
        found.append(
            KeyFinding(
                "key_expiring_soon",
                "high",
                variable,
                f"{variable} expires on {_date(decoded.exp)}, within {EXPIRY_WARNING.days} days; re-sign the keys "
                "before then",
            )
        )
    if decoded.iat is None:
        found.append(KeyFinding("key_iat_missing", "medium", variable, f"{variable} has no iat (issued-at) claim"))
    elif decoded.iat > now_ts + CLOCK_SKEW.total_seconds():
        found.append(
            KeyFinding(
                "key_iat_in_future",
                "medium",
                variable,
                f"{variable} claims to be issued on {_date(decoded.iat)}, in the future: a clock is wrong or the key "
                "was forged; services that check iat reject it",
            )
        )
    return found


def check_keys(env: Mapping[str, str], *, now: datetime | None = None) -> list[KeyFinding]:
    """Findings about JWT_SECRET, ANON_KEY and SERVICE_ROLE_KEY, most fundamental first."""
    moment = _now(now)
    secret = env.get("JWT_SECRET") or None
    findings = _jwt_secret_findings(secret)
    anon, service = env.get("ANON_KEY"), env.get("SERVICE_ROLE_KEY")
    identical = bool(anon and service and anon.strip() == service.strip())
    findings += _key_findings("ANON_KEY", anon, secret, moment)
    if identical:
        # One token cannot carry both roles; whatever else is wrong with it was reported under ANON_KEY.
        findings.append(
            KeyFinding(
                "keys_identical",
                "critical",
                "SERVICE_ROLE_KEY",
                "SERVICE_ROLE_KEY is the same token as ANON_KEY: one of them has the wrong role; regenerate the keys",
            )
        )
    else:
        findings += _key_findings("SERVICE_ROLE_KEY", service, secret, moment)
    return findings


def sign_key(
    secret: str,
    role: Role,
    *,
    issued_at: datetime | None = None,
    lifetime: timedelta = timedelta(days=3650),
) -> str:
    """A legacy Supabase API key: HS256, header typ JWT, claims role, iss "supabase", iat and exp."""
    if role not in KEY_ROLES.values():
        raise InputError("role must be 'anon' or 'service_role'", field="role")
    if not isinstance(secret, str) or len(secret) < MIN_JWT_SECRET_LENGTH:
        raise InputError(
            f"the JWT secret needs at least {MIN_JWT_SECRET_LENGTH} characters; generate one with "
            "generate_jwt_secret()",
            field="jwt_secret",
        )
    if lifetime <= timedelta(0):
        raise InputError("the key's lifetime must be positive", field="lifetime")
    issued = int(_now(issued_at).timestamp())
    claims = {"role": role, "iss": EXPECTED_ISSUER, "iat": issued, "exp": issued + int(lifetime.total_seconds())}
    import jwt  # here, not at the top: PyJWT costs start-up time and only signing needs it

    return jwt.encode(claims, secret, algorithm="HS256", headers={"typ": "JWT"})


def generate_secret(length: int = 64) -> str:
    """``length`` random characters from [A-Za-z0-9_-] (6 bits each): safe unquoted in any .env file, no '$'."""
    if length < 1:
        raise InputError("a secret needs at least one character", field="length")
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(length))


def generate_jwt_secret() -> str:
    """64 random characters from [A-Za-z0-9_-] (384 bits). No '$', which docker compose would interpolate."""
    return secrets.token_urlsafe(48)


def new_keys(jwt_secret: str | None, *, rotate: bool) -> dict[str, str]:
    """New ANON_KEY and SERVICE_ROLE_KEY signed with ``jwt_secret`` (the stack's own); with ``rotate``, signed with a
    new JWT_SECRET instead, which comes with them. The variables to set, as one change."""
    secret = generate_jwt_secret() if rotate else (jwt_secret or "")
    values = {"ANON_KEY": sign_key(secret, "anon"), "SERVICE_ROLE_KEY": sign_key(secret, "service_role")}
    if rotate:
        values["JWT_SECRET"] = secret
    return values


def weak_secret_findings(env: Mapping[str, str]) -> list[KeyFinding]:
    """Missing, short or published example values among the stack's other secrets (JWT_SECRET: see check_keys)."""
    findings: list[KeyFinding] = []
    for variable, rule in SECRET_RULES.items():
        value = env.get(variable)
        if not value:
            findings.append(KeyFinding("secret_missing", rule.missing, variable, f"{variable} is not set; {rule.why}"))
        elif value in EXAMPLE_SECRET_VALUES:
            findings.append(
                KeyFinding(
                    "secret_example",
                    "critical",
                    variable,
                    f"{variable} is the value published in Supabase's example env; {rule.why}: replace it",
                )
            )
        elif len(value) < rule.min_length:
            findings.append(
                KeyFinding(
                    "secret_too_short",
                    "high",
                    variable,
                    f"{variable} has {len(value)} characters; it needs at least {rule.min_length} ({rule.why})",
                )
            )
        elif rule.exact_length is not None and len(value.encode("utf-8")) != rule.exact_length:
            findings.append(
                KeyFinding(
                    "secret_wrong_length",
                    "high",
                    variable,
                    f"{variable} has {len(value.encode('utf-8'))} bytes; it must have exactly {rule.exact_length} "
                    f"({rule.why})",
                )
            )
    findings.extend(
        KeyFinding(
            "secret_example",
            "critical",
            variable,
            f"{variable} is the value published in Supabase's example env: anyone can use the stack's S3 endpoint "
            "with it; replace it",
        )
        for variable in EXAMPLE_ONLY
        if env.get(variable) in EXAMPLE_SECRET_VALUES
    )
    public, private = env.get("LOGFLARE_PUBLIC_ACCESS_TOKEN"), env.get("LOGFLARE_PRIVATE_ACCESS_TOKEN")
    if public and public == private:
        findings.append(
            KeyFinding(
                "logflare_tokens_identical",
                "high",
                "LOGFLARE_PRIVATE_ACCESS_TOKEN",
                "LOGFLARE_PRIVATE_ACCESS_TOKEN equals LOGFLARE_PUBLIC_ACCESS_TOKEN: whoever may write logs may also "
                "read and manage them; the example env requires different values",
            )
        )
    return findings
