"""The client of a Supabase stack's Kong gateway (GoTrue, PostgREST, Storage, Realtime, pg-meta, functions behind it).

A client layer package: it knows HTTP and Kong's routes, nothing of Dokploy, stacks or MCP.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pydantic import SecretStr

    from dokploy_mcp.kong.gateway import KongGateway

#: Builds the gateway client of a stack from its public URL, anon key and service-role key. Tests pass doubles; the
#: real one is :func:`dokploy_mcp.kong.gateway.default_gateway` (imported where used: it brings httpx and ssl).
GatewayFactory = Callable[[str, "SecretStr", "SecretStr"], "KongGateway"]
