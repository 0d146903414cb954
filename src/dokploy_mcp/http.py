"""The HTTP transports: streamable HTTP (``/mcp``) and legacy SSE, behind a static bearer token.

DNS-rebinding protection is always passed explicitly: the SDK enables it by itself only for a loopback bind, and
a server bound elsewhere must keep it (DESIGN §3). The bearer check is our own small ASGI middleware; the SDK's
token-verifier route would advertise OAuth authorization-server metadata that this server does not have.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from dokploy_mcp.config import Settings
from dokploy_mcp.runtime import SharedRuntime

logger = logging.getLogger(__name__)


def _bearer_token(headers: list[tuple[bytes, bytes]]) -> bytes | None:
    """The token of the one ``Authorization: Bearer <token>`` header, else None.

    The scheme is case-insensitive (RFC 7235 §2.1: ``bearer`` and ``BEARER`` are the same scheme), and one or more
    spaces separate it from the token. Several Authorization headers are ambiguous and refused.
    """
    values = [value for name, value in headers if name.lower() == b"authorization"]
    if len(values) != 1:
        return None
    scheme, _, token = values[0].strip().partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    return token.lstrip(b" ") or None


def _digest(token: bytes) -> bytes:
    return hashlib.sha256(token).digest()


class BearerAuthMiddleware:
    """Answer 401 to every HTTP request without ``Authorization: Bearer <token>``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("an empty bearer token would accept anyone")
        self.app = app
        # Digests of equal length are compared, so that neither the content nor the length of the token shows in
        # how long a refusal takes.
        self._expected = _digest(token.encode())

    def __repr__(self) -> str:
        return "BearerAuthMiddleware(token=****)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # Lifespan events carry no credentials and must reach the app so that it can start.
            await self.app(scope, receive, send)
            return
        supplied = _bearer_token(list(scope.get("headers", [])))
        if supplied is not None and hmac.compare_digest(_digest(supplied), self._expected):
            await self.app(scope, receive, send)
            return
        logger.warning("refused %s %s: missing or wrong bearer token", scope.get("method"), scope.get("path"))
        body = json.dumps(
            {"error": "unauthorized", "error_description": "send Authorization: Bearer <DOKPLOY_MCP_AUTH_TOKEN>"}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 401,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"www-authenticate", b'Bearer realm="dokploy-mcp"'),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _with_default_port(patterns: list[str]) -> list[str]:
    """Each ``name:*`` pattern also allows ``name`` alone: "any port" includes the scheme's default one.

    The SDK's ``name:*`` requires an explicit port, so ``Host: localhost`` (port 80 behind a proxy, or a client that
    omits it) was refused although loopback is allowed. Exact names only are added: DNS-rebinding protection keeps
    refusing every other host.
    """
    portless = [pattern.removesuffix(":*") for pattern in patterns if pattern.endswith(":*")]
    return list(dict.fromkeys([*patterns, *portless]))


def transport_security(settings: Settings) -> TransportSecuritySettings:
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=_with_default_port(list(settings.allowed_hosts)),
        allowed_origins=_with_default_port(list(settings.allowed_origins)),
    )


def http_app(server: MCPServer[Any], settings: Settings) -> ASGIApp:
    """The ASGI app for the configured HTTP transport, with the bearer check when a token is set."""
    security = transport_security(settings)
    app: ASGIApp
    if settings.transport == "sse":
        app = server.sse_app(transport_security=security, host=settings.host)
    elif settings.transport == "streamable-http":
        app = server.streamable_http_app(transport_security=security, host=settings.host)
    else:
        raise ValueError(f"{settings.transport!r} is not an HTTP transport")
    if settings.auth_token is not None:
        app = BearerAuthMiddleware(app, settings.auth_token.get_secret_value())
    shared: SharedRuntime | None = getattr(server, "shared_runtime", None)
    return ProcessRuntime(app, shared) if shared is not None else app


class ProcessRuntime:
    """Holds the process's runtime (and with it the jobs' task group) from the ASGI lifespan's start to its end.

    Over SSE the MCP lifespan runs once per connection: without this, a job would stop (and its clients close)
    when the connection that started it closes. At shutdown the jobs are stopped and undone first, before the
    transport's own shutdown, while their clients are still open.
    """

    def __init__(self, app: ASGIApp, shared: SharedRuntime) -> None:
        self.app = app
        self.shared = shared

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "lifespan":
            await self.app(scope, receive, send)
            return
        async with self.shared.hold() as runtime:

            async def receive_then_stop_jobs() -> Message:
                message = await receive()
                if message["type"] == "lifespan.shutdown":
                    await runtime.jobs.shutdown("the server is shutting down")
                return message

            await self.app(scope, receive_then_stop_jobs, send)


async def serve_http(server: MCPServer[Any], settings: Settings) -> None:
    import uvicorn

    config = uvicorn.Config(
        http_app(server, settings),
        host=settings.host,
        port=settings.port,
        # None: uvicorn's loggers propagate to ours, which write to stderr only.
        log_config=None,
        log_level=settings.log_level.lower(),
        access_log=settings.log_level == "DEBUG",
    )
    await uvicorn.Server(config).serve()
