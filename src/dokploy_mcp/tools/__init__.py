"""The tool layer: thin MCP functions over the domain layer, one module per toolset.

``all_specs()`` lists every tool in catalogue order; :mod:`dokploy_mcp.registry` decides which are registered.
"""

from __future__ import annotations

from dokploy_mcp.registry import ToolSpec


def all_specs() -> list[ToolSpec]:
    from dokploy_mcp.tools import core, database, deploy, jobs, monitoring

    return [*core.SPECS, *jobs.SPECS, *deploy.SPECS, *database.SPECS, *monitoring.SPECS]
