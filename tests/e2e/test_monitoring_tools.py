"""E2E cases of the monitoring toolset on the small deployed compose (see tests/README.md)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp import Client

from dokploy_mcp.dokploy.models import Compose
from tests.e2e.conftest import LOG_MARKER

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(900)]


async def call(mcp: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await mcp.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def test_get_logs_finds_the_services_output(mcp: Client, deployed_busybox: Compose) -> None:
    lines: list[str] = []
    with anyio.fail_after(120):
        while not any(LOG_MARKER in line for line in lines):
            result = await call(mcp, "dokploy_get_logs", stack=deployed_busybox.compose_id, service="web", tail=50)
            lines = result["lines"]
            await anyio.sleep(2)
    assert result["containers"]


async def test_aggregate_logs_merges_the_output(mcp: Client, deployed_busybox: Compose) -> None:
    result: dict[str, Any] = {}
    with anyio.fail_after(120):
        while LOG_MARKER not in "\n".join(result.get("lines", [])):
            result = await call(mcp, "aggregate_logs", stack=deployed_busybox.compose_id, since="15m")
            await anyio.sleep(2)
    assert result["summary"]["per_service"]["web"]["lines"] >= 1


async def test_monitor_health_reports_the_containers_and_the_last_deployment(
    mcp: Client, deployed_busybox: Compose
) -> None:
    report = await call(mcp, "dokploy_monitor_health", stack=deployed_busybox.compose_id)
    [health] = report["stacks"]
    assert health["last_deployment"]["status"] == "done"
    [web] = [s for s in health["services"] if s["service"] == "web"]
    assert web["running"] >= 1
    assert "not a Supabase stack" in health["rule"]
