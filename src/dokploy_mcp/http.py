"""The HTTP transports: streamable HTTP (``/mcp``) and legacy SSE, behind a static bearer token.

DNS-rebinding protection is always passed explicitly: the SDK enables it by itself only for a loopback bind, and
a server bound elsewhere must keep it (DESIGN §3). The bearer check is our own small ASGI middleware; the SDK's
token-verifier route would advertise OAuth authorization-server metadata that this server does not have.
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send

from dokploy_mcp.config import Settings

logger = logging.getLogger(__name__)


class BearerAuthMiddleware:
    """Answer 401 to every HTTP request without ``Authorization: Bearer <token>``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token:
            raise ValueError("an empty bearer token would accept anyone")
        self.app = app
        self._expected = f"Bearer {token}".encode()

    def __repr__(self) -> str:
        return "BearerAuthMiddleware(token=****)"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            # Lifespan events carry no credentials and must reach the app so that it can start.
            await self.app(scope, receive, send)
            return
        supplied = b""
        for name, value in scope.get("headers", []):
            if name == b"authorization":
                supplied = value
                break
        if hmac.compare_digest(supplied, self._expected):
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


def transport_security(settings: Settings) -> TransportSecuritySettings:
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=list(settings.allowed_hosts),
        allowed_origins=list(settings.allowed_origins),
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
    return app


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
