"""E2E cases of the backups toolset (direct route) against a live Supabase stack on a real Dokploy.

Needs DOKPLOY_E2E_FULL=1 and DOKPLOY_E2E_DATABASE_URL: a direct connection string to the live stack's PostgreSQL (a
published port, as in test_database_tools). The backup is restored into a new database of the same server (the
stack's PostgreSQL 17, with Supabase's own roles), and every table is compared with the manifest.

Not here yet (see the README's Status): the route through Dokploy (backup.create / manualBackupCompose to a Dokploy
S3 destination, DOKPLOY_E2E_DB_IMAGE and DOKPLOY_E2E_S3_*), and Dokploy's own restore over /drawer-logs.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.deployments import deploy_and_wait
from dokploy_mcp.dokploy.models import Compose
from tests.e2e.conftest import full_only, mcp_server
from tests.e2e.test_migration_tools import call, finished

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(3600), full_only]

DIRECT_URL = os.environ.get("DOKPLOY_E2E_DATABASE_URL", "")


@pytest.fixture
async def live_stack(dokploy: DokployClient, supabase_stack: Compose) -> Compose:
    outcome = await deploy_and_wait(dokploy, supabase_stack.compose_id, wait_seconds=3000)
    assert outcome.succeeded, outcome.log_tail
    return await dokploy.compose_one(supabase_stack.compose_id)


@pytest.fixture
async def backups_mcp(tmp_path: Path) -> AsyncIterator[Client]:
    server = mcp_server(DOKPLOY_MCP_BACKUP_KEY=secrets.token_hex(32), DOKPLOY_MCP_BACKUP_DIR=str(tmp_path / "backups"))
    async with Client(server) as client:
        yield client


@pytest.mark.skipif(not DIRECT_URL, reason="DOKPLOY_E2E_DATABASE_URL (a direct connection string) is not set")
async def test_a_stacks_database_backs_up_and_restores_into_a_new_database(
    backups_mcp: Client, live_stack: Compose
) -> None:
    import psycopg
    from psycopg import sql

    table = f"e2e_backup_{secrets.token_hex(3)}"
    with psycopg.connect(DIRECT_URL, autocommit=True) as conn:
        conn.execute(sql.SQL("create table public.{} (id int primary key, body text)").format(sql.Identifier(table)))
        conn.execute(
            sql.SQL("insert into public.{} select g, md5(g::text) from generate_series(1, 3000) g").format(
                sql.Identifier(table)
            )
        )
    restored: dict[str, Any] = {}
    try:
        made = await finished(backups_mcp, await call(backups_mcp, "create_backup", target=DIRECT_URL))
        assert made["status"] == "created"
        rows = {entry["table"]: entry["rows"] for entry in made["tables"]}
        assert rows[f"public.{table}"] == 3000
        assert "auth.users" in rows  # Supabase's own schemas are in the dump too
        restored = await finished(
            backups_mcp, await call(backups_mcp, "restore_backup", backup_id=made["backup_id"], target=DIRECT_URL)
        )
        assert restored["status"] == "restored", restored["notes"]
        assert all(check["verified"] for check in restored["tables"])
    finally:
        with psycopg.connect(DIRECT_URL, autocommit=True) as conn:
            conn.execute(sql.SQL("drop table if exists public.{}").format(sql.Identifier(table)))
            if restored.get("database"):
                conn.execute(
                    sql.SQL("drop database if exists {} with (force)").format(sql.Identifier(restored["database"]))
                )
