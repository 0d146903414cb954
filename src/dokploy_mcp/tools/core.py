"""Toolset ``core``: this server's own health."""

from __future__ import annotations

from dokploy_mcp.diagnostics import SelfCheckReport, run_diagnostics
from dokploy_mcp.registry import ToolSpec
from dokploy_mcp.tools.context import ToolContext, runtime


async def health_check(ctx: ToolContext) -> SelfCheckReport:
    """Check this MCP server itself: version, settings, each Dokploy server (reachable, API key accepted,
    version) and the default database. Call it first when other tools cannot connect."""
    return await run_diagnostics(runtime(ctx))


SPECS = [
    ToolSpec(
        name="health_check",
        title="Check this server's health",
        toolset="core",
        handler=health_check,
        read_only=True,
        idempotent=True,
        open_world=True,
    ),
]
