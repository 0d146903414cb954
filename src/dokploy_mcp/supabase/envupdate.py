"""Plan a change of a Supabase stack's env: merge, dependency rules, generated secrets, a masked diff.

Rules (DESIGN §2, issue #5):
- ANON_KEY / SERVICE_ROLE_KEY may only be set to keys signed by the stack's JWT_SECRET with the right role claim,
  and JWT_SECRET is never changed here: both are the job of dokploy_regenerate_keys, which re-signs, redeploys and
  verifies as one step.
- POSTGRES_PASSWORD is not changed here: after the first start the database's internal roles keep the old one.
- The three URL variables (SUPABASE_HOST, API_EXTERNAL_URL, SUPABASE_PUBLIC_URL) move together: changing one sets
  the others to match, and the plan says so.
- Required variables cannot be unset. Unknown variables and comments are left untouched.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from dokploy_mcp.errors import InputError
from dokploy_mcp.supabase.env import EnvChange, EnvFile, diff
from dokploy_mcp.supabase.keys import decode_key, generate_secret
from dokploy_mcp.supabase.validate import REQUIRED

KEY_ROLES = {"ANON_KEY": "anon", "SERVICE_ROLE_KEY": "service_role"}
URL_TRIO = ("SUPABASE_HOST", "API_EXTERNAL_URL", "SUPABASE_PUBLIC_URL")
#: Variables dokploy_update_env may fill with a fresh random secret (``generate``), and the length each needs:
#: VAULT_ENC_KEY is used as an AES-256 key by Supavisor and must be exactly 32 bytes; the others follow the template.
GENERATABLE: dict[str, int] = {
    "DASHBOARD_PASSWORD": 32,
    "SECRET_KEY_BASE": 64,
    "VAULT_ENC_KEY": 32,
    "PG_META_CRYPTO_KEY": 32,
    "LOGFLARE_PUBLIC_ACCESS_TOKEN": 32,
    "LOGFLARE_PRIVATE_ACCESS_TOKEN": 32,
    "S3_PROTOCOL_ACCESS_KEY_ID": 24,
    "S3_PROTOCOL_ACCESS_KEY_SECRET": 48,
}


@dataclass
class EnvPlan:
    before: EnvFile
    after: EnvFile
    changes: list[EnvChange]
    notes: list[str] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return bool(self.changes)


def _url_trio_from(variable: str, value: str, current: Mapping[str, str]) -> dict[str, str]:
    if variable == "SUPABASE_HOST":
        scheme = urlsplit(current.get("API_EXTERNAL_URL") or current.get("SUPABASE_PUBLIC_URL") or "https://x").scheme
        url = f"{scheme or 'https'}://{value}"
        return {"SUPABASE_HOST": value, "API_EXTERNAL_URL": url, "SUPABASE_PUBLIC_URL": url}
    parts = urlsplit(value)
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise InputError(f"{variable} must be an http(s) URL such as https://api.example.com", field=variable)
    url = value.rstrip("/")
    return {"SUPABASE_HOST": parts.netloc, "API_EXTERNAL_URL": url, "SUPABASE_PUBLIC_URL": url}


def plan_env_update(
    env: EnvFile,
    *,
    set_values: Mapping[str, str] | None = None,
    unset: Sequence[str] = (),
    generate: Sequence[str] = (),
) -> EnvPlan:
    """The env after the change, or InputError naming the variable and the tool to use instead."""
    wanted = dict(set_values or {})
    current = env.as_dict()
    notes: list[str] = []
    for name in [*wanted, *unset, *generate]:
        if name == "JWT_SECRET":
            raise InputError(
                "JWT_SECRET is not changed by dokploy_update_env: every key is signed with it. Use "
                "dokploy_regenerate_keys with mode 'rotate' (new secret, new keys, redeploy, verification)",
                field="JWT_SECRET",
            )
        if name == "POSTGRES_PASSWORD":
            raise InputError(
                "POSTGRES_PASSWORD is not changed by dokploy_update_env: after the first start the database's roles "
                "keep the old password, so changing the variable alone breaks every service. Change it with ALTER "
                "USER inside the database for each role first (see the template's instructions)",
                field="POSTGRES_PASSWORD",
            )
    overlap = set(wanted) & set(unset)
    if overlap:
        raise InputError(f"{sorted(overlap)[0]} is both set and unset; keep one", field=sorted(overlap)[0])
    for name in unset:
        if name in REQUIRED or name in KEY_ROLES:
            raise InputError(f"{name} is required by the Supabase stack and cannot be unset", field=name)
    for name in generate:
        if name not in GENERATABLE:
            raise InputError(
                f"{name} cannot be generated; generate works for {', '.join(sorted(GENERATABLE))}", field=name
            )
        if name in wanted:
            raise InputError(f"{name} is both set and generated; keep one", field=name)
        wanted[name] = generate_secret(GENERATABLE[name])
        notes.append(f"{name} set to a new random value ({GENERATABLE[name]} characters)")
    secret = current.get("JWT_SECRET") or ""
    for name, role in KEY_ROLES.items():
        if name in wanted:
            decoded = decode_key(wanted[name], secret, name)
            if not decoded.signature_valid or decoded.role != role:
                raise InputError(
                    f"the new {name} is not a key signed by this stack's JWT_SECRET with role {role!r}; use "
                    "dokploy_regenerate_keys to make consistent keys",
                    field=name,
                )
    touched_urls = [name for name in URL_TRIO if name in wanted]
    if touched_urls:
        first = touched_urls[0]
        trio = _url_trio_from(first, wanted[first], current)
        for name in touched_urls[1:]:
            expected = trio[name]
            if wanted[name].rstrip("/") != expected:
                raise InputError(
                    f"{name} ({wanted[name]}) disagrees with {first} ({wanted[first]}); set one of them and the "
                    "others follow",
                    field=name,
                )
        for name, value in trio.items():
            if name not in wanted and current.get(name) != value:
                notes.append(f"{name} set to match {first}")
            wanted[name] = value
    after = env.apply(set=wanted, unset=unset)
    return EnvPlan(before=env, after=after, changes=diff(env, after), notes=notes)
