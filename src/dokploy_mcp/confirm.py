"""Confirmation tokens for destructive actions (DESIGN §2, "Confirmation of destructive actions").

A destructive tool called without ``confirm_token`` changes nothing and returns a preview plus a token. The
token is an HMAC, under a per-process random key, over the tool name, the canonical JSON of the other
arguments, a digest of the state the action applies to (for example the current env text) and an expiry.
Calling again with the token and the same arguments acts, provided the state is unchanged; a retry after
success is refused because the state has changed. Nothing is stored, so it works over sessionless HTTP.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from dokploy_mcp.errors import DokployMCPError

DEFAULT_TTL_SECONDS = 600.0
_VERSION = "v1"
#: Longest token accepted (a token is about 60 characters); tool schemas use the same bound.
MAX_TOKEN_CHARS = 128
# An expiry is a Unix time: 12 digits last until the year 33658.
_MAX_EXPIRY_DIGITS = 12

Reason = Literal["malformed", "mismatch", "expired"]


class ConfirmationError(DokployMCPError):
    """The confirm_token is malformed, belongs to another call or state, or has expired."""

    what = "Not confirmed"

    def __init__(self, message: str, *, reason: Reason) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ConfirmationToken:
    token: str
    expires_at: float


def canonical_json(value: Any) -> str:
    """One spelling per value, so the same arguments always give the same MAC."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def state_digest(state: str | bytes | Mapping[str, Any] | None) -> str:
    if state is None:
        return ""
    if isinstance(state, Mapping):
        state = canonical_json(state)
    data = state.encode("utf-8") if isinstance(state, str) else state
    return hashlib.sha256(data).hexdigest()


class Confirmer:
    """Issues and checks confirmation tokens. One instance per server process."""

    def __init__(
        self,
        key: bytes | None = None,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)
        self._ttl = ttl_seconds
        self._clock = clock

    def __repr__(self) -> str:
        return f"Confirmer(ttl_seconds={self._ttl})"

    def _mac(self, tool: str, arguments: Mapping[str, Any], state: str, expires: int) -> str:
        message = canonical_json({"tool": tool, "args": dict(arguments), "state": state, "exp": expires})
        digest = hmac.new(self._key, message.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def issue(
        self, tool: str, arguments: Mapping[str, Any], state: str | bytes | Mapping[str, Any] | None = None
    ) -> ConfirmationToken:
        """A token for exactly this call on exactly this state, valid for the TTL."""
        expires = int(self._clock() + self._ttl)
        mac = self._mac(tool, _without_token(arguments), state_digest(state), expires)
        return ConfirmationToken(token=f"{_VERSION}.{expires}.{mac}", expires_at=float(expires))

    def verify(
        self,
        token: str,
        tool: str,
        arguments: Mapping[str, Any],
        state: str | bytes | Mapping[str, Any] | None = None,
    ) -> None:
        """Raise :class:`ConfirmationError` unless ``token`` was issued for this call and state and is current."""
        parts = token.strip().split(".") if len(token) <= MAX_TOKEN_CHARS else []
        if (
            len(parts) != 3
            or parts[0] != _VERSION
            or not (parts[1].isascii() and parts[1].isdigit())
            or len(parts[1]) > _MAX_EXPIRY_DIGITS
        ):
            raise ConfirmationError(
                "confirm_token is not a token this server issued; call the tool without confirm_token to get a "
                "preview and a fresh token",
                reason="malformed",
            )
        expires = int(parts[1])
        expected = self._mac(tool, _without_token(arguments), state_digest(state), expires)
        # The MAC is checked before the expiry so that a forged token never learns anything from the answer.
        if not hmac.compare_digest(expected, parts[2]):
            raise ConfirmationError(
                "confirm_token does not match this call: the arguments differ from the preview, the state changed "
                "since the preview (for example the action already ran), or the server restarted; call the tool "
                "without confirm_token to preview again",
                reason="mismatch",
            )
        if self._clock() > expires:
            raise ConfirmationError(
                "confirm_token has expired (tokens last 10 minutes); call the tool without confirm_token to preview "
                "again",
                reason="expired",
            )


def _without_token(arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in arguments.items() if k != "confirm_token"}
