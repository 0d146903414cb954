"""What counts as secret and how values are shown: masked unless revealed, the anon key public by design."""

from __future__ import annotations

import pytest

from dokploy_mcp.redact import mask
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.secrets import is_secret, mask_env_text, shown
from tests.supabase.test_env import imported_env_text

SECRET_NAMES = [
    "SERVICE_ROLE_KEY",
    "JWT_SECRET",
    "POSTGRES_PASSWORD",
    "DASHBOARD_PASSWORD",
    "SECRET_KEY_BASE",
    "VAULT_ENC_KEY",
    "PG_META_CRYPTO_KEY",
    "LOGFLARE_PUBLIC_ACCESS_TOKEN",
    "LOGFLARE_PRIVATE_ACCESS_TOKEN",
    "S3_PROTOCOL_ACCESS_KEY_SECRET",
    "SMTP_PASS",
    "OPENAI_API_KEY",
    "SUPABASE_SECRET_KEY",
    "SERVICE_ROLE_KEY_ASYMMETRIC",
    "JWT_KEYS",
    "MINIO_ROOT_PASSWORD",
    "GITHUB_TOKEN",
    "STRIPE_API_KEY",
    "my_db_password",
]
PUBLIC_NAMES = [
    "ANON_KEY",
    "SUPABASE_PUBLISHABLE_KEY",
    "ANON_KEY_ASYMMETRIC",
    "SITE_URL",
    "API_EXTERNAL_URL",
    "DASHBOARD_USERNAME",
    "POSTGRES_USER",
    "SMTP_USER",
    "S3_PROTOCOL_ACCESS_KEY_ID",
    "POOLER_TENANT_ID",
    "JWT_EXPIRY",
    "KONG_HTTP_PORT",
]


@pytest.mark.parametrize("name", SECRET_NAMES)
def test_secret_variables_are_recognised(name: str) -> None:
    assert is_secret(name)


@pytest.mark.parametrize("name", PUBLIC_NAMES)
def test_public_variables_are_not_secret(name: str) -> None:
    assert not is_secret(name)


def test_shown_masks_secrets_unless_revealed_and_shows_the_anon_key() -> None:
    assert shown("JWT_SECRET", "s3cr3t-value-123456", reveal=False) == "•••• (19 chars)"
    assert shown("JWT_SECRET", "s3cr3t-value-123456", reveal=True) == "s3cr3t-value-123456"
    assert shown("ANON_KEY", "eyJhbGciOi.anon.key", reveal=False) == "eyJhbGciOi.anon.key"
    assert shown("SITE_URL", "https://app.example.com", reveal=False) == "https://app.example.com"
    assert shown("JWT_SECRET", None, reveal=False) is None


def test_shown_masks_a_password_inside_a_url() -> None:
    url = "postgresql://postgres:hunter2-long-password@db:5432/postgres"
    assert shown("DATABASE_URL", url, reveal=False) == "postgresql://postgres:••••@db:5432/postgres"
    assert shown("DATABASE_URL", url, reveal=True) == url


def test_mask_env_text_hides_every_secret_of_the_imported_env_and_keeps_the_layout() -> None:
    text = imported_env_text()
    env = EnvFile.parse(text)
    masked = mask_env_text(text)
    assert len(masked.split("\n")) == len(text.split("\n"))
    masked_env = EnvFile.parse(masked)
    assert masked_env.keys() == env.keys()
    for key, value in env.as_dict().items():
        if is_secret(key) and value:
            assert value not in masked
            assert masked_env.get(key) == mask(value)
        else:
            assert masked_env.get(key) == value
    assert masked_env.get("ANON_KEY") == env.get("ANON_KEY")
    assert mask_env_text(text, reveal=True) == text


def test_mask_env_text_covers_quotes_comments_copies_and_broken_lines() -> None:
    text = (
        "# JWT_SECRET=old-secret-from-last-year\n"
        "JWT_SECRET='quoted-secret-value'  # rotated\n"
        'export DASHBOARD_PASSWORD="dq-secret-value"\r\n'
        "DB_URL=postgres://postgres:copied-password@db/postgres\n"
        "NOTE=the password is copied-password\n"
        "POSTGRES_PASSWORD=copied-password\n"
        "SMTP_PASS='never closed secret\n"
        "JWT SECRET=broken-line-secret\n"
        "SITE_URL=https://app.example.com"
    )
    masked = mask_env_text(text)
    for value in (
        "old-secret-from-last-year",
        "quoted-secret-value",
        "dq-secret-value",
        "copied-password",
        "never closed secret",
        "broken-line-secret",
    ):
        assert value not in masked
    assert masked.split("\n")[1] == "JWT_SECRET='•••• (19 chars)'  # rotated"
    assert masked.split("\n")[2] == 'export DASHBOARD_PASSWORD="•••• (15 chars)"\r'
    assert masked.endswith("SITE_URL=https://app.example.com")
    assert masked.count("\n") == text.count("\n")
