"""The health report: the errors the checks raised are kept for the tool layer to put into words."""

from __future__ import annotations

import pytest

from dokploy_mcp.supabase.errors import StackNotFoundError
from tests.monitoring.health_setup import Connected, check, problem, setup

pytestmark = pytest.mark.anyio


async def test_a_database_error_is_kept_for_the_tool_layer_to_word() -> None:
    gone = StackNotFoundError("compose abc no longer exists")

    async def raising() -> Connected:
        raise gone

    async def failed() -> Connected:
        return Connected(ok=False, route="direct", latency_ms=None, problem=None, error=gone)

    async with setup() as s:
        reports = [await check(s, database_check=raising), await check(s, database_check=failed)]
    for health in reports:
        health.explain_errors(lambda exc: f"worded: {exc}")
        assert health.database is not None
        assert health.database.problem == "worded: compose abc no longer exists"
        expected = "the database check failed: worded: compose abc no longer exists"
        assert problem(health, "database_unreachable").message == expected
        assert "error" not in health.model_dump()["database"]
