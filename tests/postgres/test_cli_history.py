"""The Supabase CLI is the oracle of the shared history: what our tools apply, ``supabase migration list`` shows as
applied; what ``supabase db push`` applies, list_migrations shows (without a time: the CLI's table has none); and the
two take turns on one database, on PostgreSQL 15 and 18."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from mcp import Client

from dokploy_mcp.config import load_settings
from dokploy_mcp.server import build_server
from tests.supabase_cli import db_url_for_cli, run_cli
from tests.tools.test_database import call

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

OURS = "create table public.notes (id int primary key);\ncomment on table public.notes is 'ours';\n"
THEIRS = "-- added by the CLI\ncreate table public.tags (id int primary key);\ninsert into public.tags values (1);\n"


@pytest.fixture
async def client(any_pg_database_url: str) -> AsyncIterator[Client]:
    async with Client(build_server(load_settings(database_url=any_pg_database_url, confirm="token"))) as connected:
        yield connected


def project(tmp_path: Path) -> Path:
    (tmp_path / "supabase" / "migrations").mkdir(parents=True)
    return tmp_path


def remote_versions(cli: Path, url: str, cwd: Path) -> list[str]:
    """The Remote column of ``supabase migration list``."""
    done = run_cli(cli, "migration", "list", "--db-url", db_url_for_cli(url), cwd=cwd)
    assert done.returncode == 0, done.stderr + done.stdout
    versions = []
    for line in done.stdout.splitlines():
        cells = [cell.strip().strip("`") for cell in line.split("|")]
        if len(cells) >= 2 and re.fullmatch(r"[0-9]+", cells[1]):
            versions.append(cells[1])
    return versions


async def test_the_cli_sees_what_we_applied(
    client: Client, any_pg_database_url: str, supabase_cli: Path, tmp_path: Path
) -> None:
    await call(client, "apply_migration", name="notes", sql=OURS, version="20260101000000")
    assert remote_versions(supabase_cli, any_pg_database_url, project(tmp_path)) == ["20260101000000"]


async def test_we_see_what_the_cli_pushed_and_take_turns(
    client: Client, any_pg_database_url: str, supabase_cli: Path, tmp_path: Path
) -> None:
    url = any_pg_database_url
    root = project(tmp_path)
    folder = root / "supabase" / "migrations"
    # We apply first; the CLI's folder holds the same file, so it sees its history in step.
    await call(client, "apply_migration", name="notes", sql=OURS, version="20260101000000")
    (folder / "20260101000000_notes.sql").write_text(OURS)
    (folder / "20260101000001_tags.sql").write_text(THEIRS)
    pushed = run_cli(supabase_cli, "db", "push", "--db-url", db_url_for_cli(url), "--yes", cwd=root)
    assert pushed.returncode == 0, pushed.stderr + pushed.stdout
    assert "20260101000001_tags.sql" in pushed.stdout + pushed.stderr
    assert "20260101000000_notes.sql" not in pushed.stdout  # not applied twice

    listing = await call(client, "list_migrations", folder=str(folder))
    ours, theirs = listing["applied"]
    assert ours["version"] == "20260101000000" and ours["source"] == "dokploy-mcp" and ours["applied_at"]
    assert theirs["version"] == "20260101000001" and theirs["name"] == "tags"
    assert theirs["source"] == "supabase-cli" and theirs["applied_at"] is None and theirs["has_down"] is False
    # Same statements as our split of the file: no drift either way, nothing pending.
    assert listing["drift"] == [] and listing["pending"] == [] and listing["not_in_folder"] == []

    # Our turn again, after the CLI's: the CLI then lists all three as applied.
    await call(client, "apply_migration", name="more", sql="alter table public.tags add column label text;")
    versions = remote_versions(supabase_cli, url, root)
    assert versions[:2] == ["20260101000000", "20260101000001"] and len(versions) == 3


async def test_the_cli_stores_statements_exactly_as_we_do(
    client: Client, any_pg_database_url: str, supabase_cli: Path, tmp_path: Path
) -> None:
    """The same file pushed by the CLI into one database and applied by us into the other: same history rows."""
    import psycopg

    from tests.pg18 import throwaway_database

    sql = (
        "-- leading comment\ncreate table public.t (id int);\n"
        "create function public.f() returns int language sql as $$ select 1; $$;\n"
        "select 1 -- trailing\n;\n/* block ; */ insert into public.t values (1);\n-- the end\n"
    )
    root = project(tmp_path)
    (root / "supabase" / "migrations" / "20260101000000_same.sql").write_text(sql)
    server = psycopg.conninfo.make_conninfo(any_pg_database_url, dbname="postgres")
    with throwaway_database(server) as cli_db:
        pushed = run_cli(supabase_cli, "db", "push", "--db-url", db_url_for_cli(cli_db), "--yes", cwd=root)
        assert pushed.returncode == 0, pushed.stderr + pushed.stdout
        with psycopg.connect(cli_db) as conn:
            theirs = conn.execute("select version, name, statements from supabase_migrations.schema_migrations")
            cli_rows = theirs.fetchall()
    await call(client, "apply_migration", name="same", sql=sql, version="20260101000000")
    with psycopg.connect(any_pg_database_url) as conn:
        our_rows = conn.execute("select version, name, statements from supabase_migrations.schema_migrations")
        assert our_rows.fetchall() == cli_rows
