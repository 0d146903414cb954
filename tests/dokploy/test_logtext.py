"""Cleaning of log text that Dokploy hands over (container and deployment logs): ANSI, control characters, masks."""

from __future__ import annotations

from dokploy_mcp.dokploy.logtext import clean_log_text, strip_ansi
from dokploy_mcp.redact import mask_in_text

JWT_SECRET = "a-jwt-secret-of-exactly-32-chars"
SERVICE_ROLE_KEY = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoic2VydmljZV9yb2xlIn0.c2VydmljZS1zaWduYXR1cmU"
ANON_KEY = "eyJhbGciOiJIUzI1NiJ9.eyJyb2xlIjoiYW5vbiJ9.YW5vbi1zaWduYXR1cmU"


def test_strip_ansi_removes_colours_cursor_moves_and_hyperlinks() -> None:
    coloured = "\x1b[31m\x1b[1mError\x1b[22m\x1b[39m: \x1b[2Kboom \x1b]8;;https://x.test\x07link\x1b]8;;\x07"
    assert strip_ansi(coloured) == "Error: boom link"
    assert strip_ansi("plain [31m text") == "plain [31m text"


def test_clean_log_text_keeps_the_last_redraw_and_drops_control_characters() -> None:
    raw = "progress 10%\rprogress 100%\r\nbell\x07 and nul\x00\tkept tab\nend\r"
    assert clean_log_text(raw, mask=lambda text: text) == "progress 100%\nbell and nul\tkept tab\nend"


def test_clean_log_text_masks_the_callers_secrets_url_passwords_and_any_jwt() -> None:
    assert len(JWT_SECRET) == 32
    raw = (
        f"JWT_SECRET={JWT_SECRET} key={SERVICE_ROLE_KEY}\n"
        "postgres://someone:not-in-the-env@db:5432/x\n"
        f"anon={ANON_KEY}\n"
    )
    cleaned = clean_log_text(raw, mask=lambda text: mask_in_text(text, [JWT_SECRET, SERVICE_ROLE_KEY]))
    for secret in (JWT_SECRET, SERVICE_ROLE_KEY, "not-in-the-env", ANON_KEY):
        assert secret not in cleaned
    assert "JWT_SECRET=•••• (32 chars)" in cleaned
    assert f"key=•••• ({len(SERVICE_ROLE_KEY)} chars)" in cleaned
    assert "postgres://someone:••••@db:5432/x" in cleaned
    assert "anon=•••• (JWT, " in cleaned
