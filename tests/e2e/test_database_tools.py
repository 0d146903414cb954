"""E2E cases of the database toolset against a live Supabase stack on a real Dokploy (DOKPLOY_E2E_FULL=1).

The stack's PostgreSQL is reachable only inside its Docker network, so the stack route goes through pg-meta behind
kong, which must be reachable from where the tests run (the stack's domain). The direct route needs a connection
string to the same database (for example a published pooler port): DOKPLOY_E2E_DATABASE_URL.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from mcp import Client

from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.deployments import deploy_and_wait
from dokploy_mcp.dokploy.models import Compose
from tests.e2e.conftest import full_only

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(3600), full_only]

DIRECT_URL = os.environ.get("DOKPLOY_E2E_DATABASE_URL", "")


async def call(mcp: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await mcp.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


@pytest.fixture
async def live_stack(dokploy: DokployClient, supabase_stack: Compose) -> Compose:
    outcome = await deploy_and_wait(dokploy, supabase_stack.compose_id, wait_seconds=3000)
    assert outcome.succeeded, outcome.log_tail
    return await dokploy.compose_one(supabase_stack.compose_id)


async def test_connect_and_read_through_pg_meta_as_a_non_superuser(mcp: Client, live_stack: Compose) -> None:
    report = await call(mcp, "connect", target=live_stack.compose_id)
    assert report["ok"] is True, report
    assert report["route"] == "pg-meta via kong"
    assert report["supabase"] is True
    assert report["superuser"] is False
    result = await call(mcp, "execute_sql", target=live_stack.compose_id, sql="SELECT count(*) FROM auth.users")
    assert result["row_count"] == 1


async def test_read_only_through_pg_meta_changes_nothing(mcp: Client, live_stack: Compose) -> None:
    before = await call(mcp, "execute_sql", target=live_stack.compose_id, sql="SELECT count(*) FROM auth.users")
    refused = await mcp.call_tool("execute_sql", {"target": live_stack.compose_id, "sql": "DELETE FROM auth.users"})
    assert refused.is_error
    after = await call(mcp, "execute_sql", target=live_stack.compose_id, sql="SELECT count(*) FROM auth.users")
    assert after["rows"] == before["rows"]


@pytest.mark.skipif(not DIRECT_URL, reason="DOKPLOY_E2E_DATABASE_URL (a direct connection string) is not set")
async def test_direct_route_reaches_the_same_database(mcp: Client, live_stack: Compose) -> None:
    report = await call(mcp, "connect", target=DIRECT_URL)
    assert report["ok"] is True and report["route"] == "direct"
    assert report["supabase"] is True
