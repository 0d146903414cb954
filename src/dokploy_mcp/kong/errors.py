"""Failures of a call through a Supabase stack's Kong gateway.

Every class here is a :class:`~dokploy_mcp.errors.DokployMCPError`, so the tool layer turns it into a message for
the model; nothing here knows about MCP. ``str(err)`` never holds a key: the gateway scrubs the keys from anything a
service echoes back.

Hierarchy::

    GatewayError                    attrs url (no secrets), status, message, code
    ├── GatewayUnreachableError     no answer: connect refused, DNS, TLS, timeout, broken connection
    ├── GatewayAuthError            401/403 from Kong or the service; attr refused_by: "kong" | "service"
    └── GatewayResponseError        any other non-2xx, or a 2xx body of the wrong shape
"""

from __future__ import annotations

from typing import Literal

from dokploy_mcp.errors import DokployMCPError

__all__ = ["GatewayAuthError", "GatewayError", "GatewayResponseError", "GatewayUnreachableError"]


class GatewayError(DokployMCPError):
    """Base of every failure of a call through a stack's Kong gateway.

    ``url`` is the request URL (keys travel in headers only, so it holds none), ``status`` the HTTP status when an
    answer came back, ``message`` and ``code`` the answering service's own text and error code when it sent them.
    """

    def __init__(
        self,
        text: str,
        *,
        url: str,
        status: int | None = None,
        message: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(text)
        self.url = url
        self.status = status
        self.message = message
        self.code = code


class GatewayUnreachableError(GatewayError):
    """No usable answer: the connection was refused, the name did not resolve, TLS failed, the gateway did not answer
    within the timeout, or the connection broke. ``reason`` says which."""

    def __init__(self, reason: str, *, url: str) -> None:
        super().__init__(f"Cannot reach the Supabase gateway at {url}: {reason}", url=url)
        self.reason = reason


class GatewayAuthError(GatewayError):
    """401 or 403. ``refused_by`` is ``"kong"`` when Kong's key-auth or acl refused the key before any service saw
    it, ``"service"`` when the service behind Kong refused it (for GoTrue: ``bad_jwt``, ``not_admin``...)."""

    def __init__(
        self,
        text: str,
        *,
        url: str,
        status: int,
        message: str | None,
        code: str | None,
        refused_by: Literal["kong", "service"],
    ) -> None:
        super().__init__(text, url=url, status=status, message=message, code=code)
        self.refused_by = refused_by


class GatewayResponseError(GatewayError):
    """Any other non-2xx answer (``message`` is the service's own text, e.g. pg-meta's PostgreSQL error), or a 2xx
    answer whose body is not what the endpoint returns."""
