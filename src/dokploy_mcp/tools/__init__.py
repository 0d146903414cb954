"""The tool layer: thin MCP functions over the domain layer, one module per toolset.

``all_specs()`` lists every tool in catalogue order; :mod:`dokploy_mcp.registry` decides which are registered.
"""

from __future__ import annotations

from dokploy_mcp.registry import ToolSpec


def all_specs() -> list[ToolSpec]:
    from dokploy_mcp.tools import (
        audit,
        backups,
        core,
        database,
        deploy,
        domains,
        jobs,
        keys,
        migrations,
        monitoring,
        transfer,
    )

    return [
        *core.SPECS,
        *audit.SPECS,
        *jobs.SPECS,
        *deploy.SPECS,
        *keys.SPECS,
        *domains.SPECS,
        *database.SPECS,
        *migrations.SPECS,
        *transfer.SPECS,
        *backups.SPECS,
        *monitoring.SPECS,
    ]
