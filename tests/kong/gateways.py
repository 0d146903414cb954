"""The stack as deployed, and gateways pointed at it: what the gateway and probe tests share."""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import SecretStr

from dokploy_mcp.kong.gateway import KongGateway
from tests.supabase.kong_double import KongDouble, make_key

__all__ = [
    "ANON_KEY",
    "BASE_URL",
    "JWT_SECRET",
    "OTHER_SECRET",
    "SERVICE_KEY",
    "USERS",
    "failing_transport",
    "gateway_for",
    "stack",
]

JWT_SECRET = "stack-jwt-secret-with-at-least-32-characters-0001"
OTHER_SECRET = "some-other-jwt-secret-with-at-least-32-chars-0002"
ANON_KEY = make_key(JWT_SECRET, "anon")
SERVICE_KEY = make_key(JWT_SECRET, "service_role")
BASE_URL = "https://api.example.com"

USERS = [{"id": f"00000000-0000-0000-0000-00000000000{n}", "email": f"user{n}@example.com"} for n in range(1, 6)]


def stack(**kwargs: Any) -> KongDouble:
    """The stack as deployed: Kong's consumers own ANON_KEY and SERVICE_KEY, GoTrue verifies with JWT_SECRET."""
    kwargs.setdefault("users", USERS)
    return KongDouble(
        JWT_SECRET, kwargs.pop("anon_key", ANON_KEY), kwargs.pop("service_role_key", SERVICE_KEY), **kwargs
    )


def gateway_for(
    double: KongDouble | httpx.AsyncBaseTransport,
    *,
    anon_key: str = ANON_KEY,
    service_role_key: str = SERVICE_KEY,
    base_url: str = BASE_URL,
) -> KongGateway:
    transport = double.transport() if isinstance(double, KongDouble) else double
    return KongGateway(
        base_url,
        anon_key=SecretStr(anon_key),
        service_role_key=SecretStr(service_role_key),
        transport=transport,
    )


def failing_transport(exc: Exception) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        raise exc

    return httpx.MockTransport(handler)
