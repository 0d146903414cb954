"""E2E cases of the migrations toolset against a live Supabase stack on a real Dokploy (DOKPLOY_E2E_FULL=1).

The stack's PostgreSQL is reachable only inside its Docker network, so everything goes through pg-meta behind kong,
as the stack's ``postgres`` login (not pg-meta's superuser): what a Supabase user's own migrations run as.
"""

from __future__ import annotations

import os
import secrets
from typing import Any

import pytest
from mcp import Client

from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.deployments import deploy_and_wait
from dokploy_mcp.dokploy.models import Compose
from tests.e2e.conftest import full_only

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(3600), full_only]

#: A direct connection string to the live stack's database (a published port), as in test_database_tools.
DIRECT_URL = os.environ.get("DOKPLOY_E2E_DATABASE_URL", "")


async def call(mcp: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await mcp.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def finished(mcp: Client, result: dict[str, Any]) -> dict[str, Any]:
    """The job's own result when the call answered ``running`` (a slow stack can take longer than the budget)."""
    if result.get("status") != "running":
        return result
    job_id = result["job"]["job_id"]
    for _ in range(120):
        report = await call(mcp, "job_status", job_id=job_id, wait_s=30)
        if report.get("result") is not None:
            return dict(report["result"])
        assert report["jobs"][0]["status"] == "running", report
    raise AssertionError(f"job {job_id} still running after an hour")


@pytest.fixture
async def live_stack(dokploy: DokployClient, supabase_stack: Compose) -> Compose:
    outcome = await deploy_and_wait(dokploy, supabase_stack.compose_id, wait_seconds=3000)
    assert outcome.succeeded, outcome.log_tail
    return await dokploy.compose_one(supabase_stack.compose_id)


async def test_apply_list_and_roll_back_a_migration_through_pg_meta(mcp: Client, live_stack: Compose) -> None:
    stack = live_stack.compose_id
    table = f"e2e_notes_{secrets.token_hex(3)}"
    up = (
        f"create table public.{table} (id bigint generated always as identity primary key, body text);\n"
        f"alter table public.{table} enable row level security;\n"
        f"create policy own on public.{table} for select using (auth.uid() is not null);"
    )
    dry = await call(mcp, "apply_migration", target=stack, name=table, sql=up, dry_run=True)
    assert dry["status"] == "dry_run" and any(table in item for item in dry["objects"]["created"])

    applied = await finished(
        mcp,
        await call(mcp, "apply_migration", target=stack, name=table, sql=up, down_sql=f"drop table public.{table};"),
    )
    assert applied["status"] == "applied" and applied["route"] == "pg-meta via kong", applied
    version = applied["version"]
    listing = await call(mcp, "list_migrations", target=stack)
    assert any(m["version"] == version and m["has_down"] for m in listing["applied"])
    seen = await call(mcp, "execute_sql", target=stack, sql=f"SELECT to_regclass('public.{table}') IS NOT NULL AS x")
    assert seen["rows"] == [[True]]

    preview = await call(mcp, "rollback_migration", target=stack, version=version)
    token = preview.get("confirm_token")
    done = await finished(
        mcp,
        await call(
            mcp, "rollback_migration", target=stack, version=version, **({"confirm_token": token} if token else {})
        ),
    )
    assert done["status"] == "rolled_back", done
    gone = await call(mcp, "execute_sql", target=stack, sql=f"SELECT to_regclass('public.{table}') IS NULL AS x")
    assert gone["rows"] == [[True]]
    listing = await call(mcp, "list_migrations", target=stack)
    assert all(m["version"] != version for m in listing["applied"])


async def test_cross_instance_migrate_plans_a_stacks_schema_and_says_how_to_expose_its_rows(
    mcp: Client, live_stack: Compose, pg_server_url: str
) -> None:
    """The stack's PostgreSQL is inside its Docker network: its schema can be read through pg-meta, its rows cannot
    stream that way, and the refusal names the next call. The target is a throwaway database on the test server."""
    from tests import pg18

    stack = live_stack.compose_id
    table = f"e2e_copy_{secrets.token_hex(3)}"
    up = f"create table public.{table} (id bigint generated always as identity primary key, body text);"
    applied = await finished(mcp, await call(mcp, "apply_migration", target=stack, name=table, sql=up))
    assert applied["status"] == "applied", applied
    with pg18.throwaway_database(pg_server_url) as target:
        refused = await mcp.call_tool("cross_instance_migrate", {"source": stack, "target": target})
        assert refused.is_error
        text = str(refused.content[0])
        assert "is a stack address" in text and "POSTGRES_PASSWORD" in text and "ssh -N -L" in text
        plan = await call(
            mcp, "cross_instance_migrate", source=stack, target=target, what="schema", dry_run=True, wait_s=300
        )
        assert plan["status"] == "dry_run", plan
        shown = plan["schema_step"]["statements"]
        assert any(f"public.{table}" in statement for statement in shown) or plan["schema_step"]["changes"] > len(shown)
        assert plan["schema_step"]["applied"] is False


@pytest.mark.skipif(not DIRECT_URL, reason="DOKPLOY_E2E_DATABASE_URL (a direct connection string) is not set")
async def test_cross_instance_migrate_copies_rows_from_the_stack_over_the_direct_route(
    mcp: Client, live_stack: Compose, pg_server_url: str
) -> None:
    """Supabase's PostgreSQL (17) to the test server's (15), by binary COPY, in chunks, verified by checksums."""
    import psycopg

    from tests import pg18

    table = f"e2e_rows_{secrets.token_hex(3)}"
    create = (
        f"create table public.{table} (id bigint generated always as identity primary key, body text, "
        "at timestamptz default now(), doc jsonb)"
    )
    with psycopg.connect(DIRECT_URL, autocommit=True) as conn:
        conn.execute(create)
        conn.execute(
            f"insert into public.{table} (body, doc) select md5(g::text), jsonb_build_object('g', g) "
            "from generate_series(1, 5000) g"
        )
    try:
        with pg18.throwaway_database(pg_server_url) as target:
            with psycopg.connect(target, autocommit=True) as conn:
                conn.execute(create)
            started = await call(
                mcp,
                "cross_instance_migrate",
                source=DIRECT_URL,
                target=target,
                what="data",
                include=[f"public.{table}"],
                chunk_rows=1000,
                wait_s=300,
            )
            result = await finished(mcp, started)
            assert result["status"] == "copied", result
            [copied] = result["tables"]
            assert copied["rows_copied"] == 5000 and copied["verified"] is True and copied["format"] == "binary"
    finally:
        with psycopg.connect(DIRECT_URL, autocommit=True) as conn:
            conn.execute(f"drop table if exists public.{table}")
