"""The typed MCP context the tools receive, and the one accessor they use to reach the runtime."""

from __future__ import annotations

from mcp.server.mcpserver import Context

from dokploy_mcp.runtime import Runtime

ToolContext = Context[Runtime]


def runtime(ctx: ToolContext) -> Runtime:
    return ctx.request_context.lifespan_context
