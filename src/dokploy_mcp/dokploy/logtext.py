"""Make log text that Dokploy hands over safe to show: container logs (``compose.readLogs``) and deployment build
logs alike.

ANSI escape sequences and control characters are removed, the caller's secrets masked (its ``mask``, built from the
stack's env by whoever knows the stack), and URL passwords and JWT-shaped tokens masked whatever the caller knows.
It lives with the Dokploy client, below the domain packages, because both the Supabase operations (deploy logs)
and monitoring (container logs) clean text this way, and neither may import the other.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from dokploy_mcp.redact import SHOWN_MASK, mask_url_credentials

__all__ = ["Mask", "clean_log_text", "strip_ansi"]

#: Masks the secrets the caller knows of in a text.
Mask = Callable[[str], str]

# ECMA-48: CSI sequences (colours, cursor moves), OSC sequences (titles, hyperlinks), then the two-byte escapes.
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]|\x9b[0-?]*[ -/]*[@-~]")
# Control characters other than tab and newline (a stray \x1b left by a broken sequence included).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
# A JWT (header.payload.signature, header and payload base64url JSON objects): user sessions, service keys.
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]{5,}\.eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]+")


def strip_ansi(text: str) -> str:
    """``text`` without ANSI escape sequences (colours, cursor moves, terminal titles, hyperlinks)."""
    return _ANSI.sub("", text)


def _mask_jwts(text: str) -> str:
    return _JWT.sub(lambda m: f"{SHOWN_MASK} (JWT, {len(m.group(0))} chars)", text)


def clean_log_text(raw: str, *, mask: Mask) -> str:
    """Log text made safe to show: ANSI codes and control characters removed (newlines and tabs kept), the
    caller's secrets masked, URL passwords and JWT-shaped tokens masked."""
    text = strip_ansi(raw).replace("\r\n", "\n")
    # A bare carriage return redraws the terminal line (progress bars): keep what was drawn last.
    text = "\n".join(line.rstrip("\r").rsplit("\r", 1)[-1] for line in text.split("\n"))
    text = _CONTROL.sub("", text)
    return _mask_jwts(mask_url_credentials(mask(text)))
