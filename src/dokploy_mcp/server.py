"""The MCP server factory: ``build_server(settings)`` returns a ready :class:`MCPServer`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from mcp.server import MCPServer

from dokploy_mcp import __version__
from dokploy_mcp.config import DokployServers, Settings, load_dokploy_servers
from dokploy_mcp.confirm import Confirmer
from dokploy_mcp.kong import GatewayFactory
from dokploy_mcp.registry import ToolSpec, build_tools
from dokploy_mcp.runtime import ClientFactory, Runtime

INSTRUCTIONS = """\
Deploys, repairs and operates self-hosted Supabase stacks on Dokploy servers.
Start with health_check when something fails to connect. Destructive tools answer first with a preview and a
confirm_token; call again with that token to act. Secrets are masked unless a tool is called with reveal=true."""


def build_server(
    settings: Settings,
    *,
    servers: DokployServers | None = None,
    specs: Sequence[ToolSpec] | None = None,
    confirmer: Confirmer | None = None,
    client_factory: ClientFactory | None = None,
    gateway_factory: GatewayFactory | None = None,
) -> MCPServer[Runtime]:
    if specs is None:
        from dokploy_mcp.tools import all_specs

        specs = all_specs()
    # Resolve the servers now so that a bad instances file stops start-up instead of the first tool call.
    runtime_servers = servers if servers is not None else load_dokploy_servers(settings)
    process_confirmer = confirmer if confirmer is not None else Confirmer()

    @asynccontextmanager
    async def lifespan(_: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
        async with Runtime(
            settings,
            runtime_servers,
            process_confirmer,
            client_factory=client_factory,
            gateway_factory=gateway_factory,
        ) as runtime:
            yield runtime

    return MCPServer(
        "dokploy-mcp",
        title="Dokploy MCP",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        tools=build_tools(specs, settings),
        log_level=settings.log_level,
    )
