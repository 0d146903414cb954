"""Facts about the Supabase template's env variables that validation and env updates both rely on.

Kept apart from :mod:`~dokploy_mcp.supabase.validate` and :mod:`~dokploy_mcp.supabase.envupdate` so that neither
has to import the other: validation proposes ``generate`` for a missing variable that an update can generate, and
an update refuses to unset a variable that validation calls required.
"""

from __future__ import annotations

#: Variables the Supabase stack cannot start or work without (template.toml's env, the ones compose interpolates).
REQUIRED = (
    "POSTGRES_PASSWORD",
    "JWT_SECRET",
    "ANON_KEY",
    "SERVICE_ROLE_KEY",
    "DASHBOARD_USERNAME",
    "DASHBOARD_PASSWORD",
    "API_EXTERNAL_URL",
    "SUPABASE_PUBLIC_URL",
    "SITE_URL",
)
#: Variables dokploy_update_env may fill with a fresh random secret (``generate``), and the length each needs (the
#: template's). VAULT_ENC_KEY is not among them: Supavisor encrypts its stored data with it, so a new one after the
#: first start makes that data unreadable.
GENERATABLE: dict[str, int] = {
    "DASHBOARD_PASSWORD": 32,
    "SECRET_KEY_BASE": 64,
    "PG_META_CRYPTO_KEY": 32,
    "LOGFLARE_PUBLIC_ACCESS_TOKEN": 32,
    "LOGFLARE_PRIVATE_ACCESS_TOKEN": 32,
    "S3_PROTOCOL_ACCESS_KEY_ID": 24,
    "S3_PROTOCOL_ACCESS_KEY_SECRET": 48,
}
