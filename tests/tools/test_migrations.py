"""The migrations toolset through an MCP client, on real PostgreSQL 15 and 18 (direct route).

The pg-meta route is in ``test_migrations_pgmeta.py``; the Supabase CLI as the oracle of the shared history in
``tests/postgres/test_cli_history.py``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from mcp import Client

from dokploy_mcp.config import load_settings
from dokploy_mcp.server import build_server
from tests.tools.test_database import call, error

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

CREATE = "create table public.notes (id bigint generated always as identity primary key, body text not null);"
DOWN = "drop table public.notes;"


@pytest.fixture
async def client(any_pg_database_url: str) -> AsyncIterator[Client]:
    async with Client(build_server(load_settings(database_url=any_pg_database_url, confirm="token"))) as connected:
        yield connected


def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def exists(url: str, name: str) -> bool:
    return rows(url, f"select to_regclass('{name}') is not null")[0][0] is True


async def test_apply_records_in_the_clis_table_and_lists(client: Client, any_pg_database_url: str) -> None:
    url = any_pg_database_url
    applied = await call(client, "apply_migration", name="notes", sql=CREATE, down_sql=DOWN, version="20260101000000")
    assert applied["status"] == "applied" and applied["statements"] == 1
    assert exists(url, "public.notes")
    history = rows(url, "select version, name, statements from supabase_migrations.schema_migrations")
    assert history == [("20260101000000", "notes", [CREATE.rstrip(";")])]
    side = rows(url, "select checksum, down_sql, applied_by, client from supabase_migrations.dokploy_mcp_history")
    assert side[0][1] == DOWN and side[0][2] == "postgres"
    assert side[0][3] == "mcp"  # the SDK client's name, from its initialize request

    listing = await call(client, "list_migrations")
    [migration] = listing["applied"]
    assert migration["version"] == "20260101000000" and migration["source"] == "dokploy-mcp"
    assert migration["has_down"] is True and migration["applied_at"] is not None
    # The checksum computed in SQL from the CLI's table equals the one we recorded from the text.
    assert migration["checksum"] == side[0][0]


async def test_the_clis_table_has_exactly_its_own_shape(client: Client, any_pg_database_url: str) -> None:
    await call(client, "apply_migration", name="notes", sql=CREATE)
    columns = rows(
        any_pg_database_url,
        "select column_name, data_type, is_nullable from information_schema.columns "
        "where table_schema = 'supabase_migrations' and table_name = 'schema_migrations' order by ordinal_position",
    )
    assert columns == [("version", "text", "NO"), ("statements", "ARRAY", "YES"), ("name", "text", "YES")]


async def test_a_failing_migration_leaves_nothing(client: Client, any_pg_database_url: str) -> None:
    url = any_pg_database_url
    sql = "create table public.half (id int);\ninsert into public.half values (1);\nselect 1/0;"
    message = await error(client, "apply_migration", name="half", sql=sql, version="20260101000001")
    assert "statement 3 of the migration" in message and "division by zero" in message
    assert "rolled back" in message
    assert not exists(url, "public.half")
    # Not even the history tables: they were created in the same transaction.
    assert not exists(url, "supabase_migrations.schema_migrations")


async def test_a_version_is_applied_once(client: Client) -> None:
    await call(client, "apply_migration", name="notes", sql=CREATE, version="20260101000000")
    again = await call(client, "apply_migration", name="notes", sql=CREATE, version="20260101000000")
    assert again["status"] == "already_applied"
    message = await error(
        client, "apply_migration", name="notes", sql="create table public.other (id int);", version="20260101000000"
    )
    assert "already applied with different SQL" in message and "version" in message


async def test_a_destructive_migration_needs_its_token(client: Client, any_pg_database_url: str) -> None:
    url = any_pg_database_url
    await call(client, "apply_migration", name="notes", sql=CREATE, version="20260101000000")
    drop = "alter table public.notes drop column body;"
    preview = await call(client, "apply_migration", name="drop_body", sql=drop, version="20260101000001")
    assert preview["status"] == "confirm" and preview["confirm_token"]
    assert any("DROP COLUMN" in reason for reason in preview["destructive"])
    assert rows(url, "select count(*) from information_schema.columns where column_name = 'body'")[0][0] == 1
    done = await call(
        client,
        "apply_migration",
        name="drop_body",
        sql=drop,
        version="20260101000001",
        confirm_token=preview["confirm_token"],
    )
    assert done["status"] == "applied"
    assert rows(url, "select count(*) from information_schema.columns where column_name = 'body'")[0][0] == 0
    # The token was used: the same call again is refused (also by the history: the version is taken).
    replay = await client.call_tool(
        "apply_migration",
        {"name": "drop_body", "sql": drop, "version": "20260101000001", "confirm_token": preview["confirm_token"]},
    )
    assert replay.is_error or (replay.structured_content or {}).get("status") == "already_applied"


async def test_a_token_for_other_sql_is_refused(client: Client) -> None:
    preview = await call(client, "apply_migration", name="wipe", sql="create table t (id int); drop table t;")
    message = await error(
        client,
        "apply_migration",
        name="wipe",
        sql="create table u (id int); drop table u;",
        confirm_token=preview["confirm_token"],
    )
    assert "confirm" in message.lower()


async def test_rollback_runs_the_down_sql_and_forgets_the_version(client: Client, any_pg_database_url: str) -> None:
    url = any_pg_database_url
    await call(client, "apply_migration", name="notes", sql=CREATE, down_sql=DOWN, version="20260101000000")
    preview = await call(client, "rollback_migration", version="20260101000000")
    assert preview["status"] == "confirm" and preview["down_sql"] == DOWN
    assert exists(url, "public.notes")
    done = await call(client, "rollback_migration", version="20260101000000", confirm_token=preview["confirm_token"])
    assert done["status"] == "rolled_back"
    assert not exists(url, "public.notes")
    assert rows(url, "select count(*) from supabase_migrations.schema_migrations")[0][0] == 0
    assert rows(url, "select count(*) from supabase_migrations.dokploy_mcp_history")[0][0] == 0


async def test_rollback_refuses_without_down_sql_and_says_what_to_do(client: Client) -> None:
    await call(client, "apply_migration", name="notes", sql=CREATE, version="20260101000000")
    message = await error(client, "rollback_migration", version="20260101000000")
    assert "no down SQL" in message and "generate_diff" in message and "forward migration" in message
    message = await error(client, "rollback_migration", version="20990101000000")
    assert "not applied" in message


async def test_rollback_goes_newest_first(client: Client) -> None:
    await call(client, "apply_migration", name="notes", sql=CREATE, down_sql=DOWN, version="20260101000000")
    await call(
        client,
        "apply_migration",
        name="tags",
        sql="create table public.tags (id int);",
        down_sql="drop table public.tags;",
        version="20260101000001",
    )
    message = await error(client, "rollback_migration", version="20260101000000")
    assert "20260101000001" in message and "roll those back first" in message


async def test_a_failing_down_sql_keeps_the_migration(client: Client, any_pg_database_url: str) -> None:
    url = any_pg_database_url
    await call(
        client,
        "apply_migration",
        name="notes",
        sql=CREATE,
        down_sql="drop table public.nope;",
        version="20260101000000",
    )
    preview = await call(client, "rollback_migration", version="20260101000000")
    message = await error(
        client, "rollback_migration", version="20260101000000", confirm_token=preview["confirm_token"]
    )
    assert "still applied" in message
    assert exists(url, "public.notes")
    assert rows(url, "select count(*) from supabase_migrations.schema_migrations")[0][0] == 1


async def test_statements_outside_a_transaction_are_refused_then_applied_when_asked(
    client: Client, any_pg_database_url: str
) -> None:
    url = any_pg_database_url
    await call(client, "apply_migration", name="notes", sql=CREATE, version="20260101000000")
    index = "create index concurrently notes_body on public.notes (body);"
    message = await error(client, "apply_migration", name="idx", sql=index, version="20260101000001")
    assert "CREATE INDEX CONCURRENTLY" in message and "transactional: false" in message
    done = await call(client, "apply_migration", name="idx", sql=index, version="20260101000001", transactional=False)
    assert done["status"] == "applied"
    assert exists(url, "public.notes_body")
    assert rows(url, "select version from supabase_migrations.schema_migrations order by 1")[-1][0] == "20260101000001"


async def test_a_non_transactional_failure_says_what_stays(client: Client, any_pg_database_url: str) -> None:
    url = any_pg_database_url
    sql = "create table public.kept (id int);\ncreate index concurrently on public.missing (id);"
    message = await error(client, "apply_migration", name="part", sql=sql, transactional=False)
    assert "statement 2 of 2 failed" in message and "1 statement(s) before it stay applied" in message
    assert exists(url, "public.kept")
    assert not exists(url, "supabase_migrations.schema_migrations")


async def test_transaction_control_and_bad_names_are_refused(client: Client) -> None:
    message = await error(client, "apply_migration", name="tx", sql="begin; create table t (id int); commit;")
    assert "BEGIN" in message and "one transaction" in message
    message = await error(client, "apply_migration", name="../../etc", sql=CREATE)
    assert "name" in message


async def test_list_shows_pending_files_and_drift(client: Client, tmp_path: Path) -> None:
    folder = tmp_path / "supabase" / "migrations"
    folder.mkdir(parents=True)
    (folder / "20260101000000_notes.sql").write_text(CREATE + "\n")
    (folder / "20260101000001_tags.sql").write_text("create table public.tags (id int);\n")
    (folder / "20260101000002_bad.sql").write_text("create tabel nope;\n")
    (folder / "README.md").write_text("not a migration")
    await call(client, "apply_migration", name="notes", sql=CREATE, version="20260101000000")
    listing = await call(client, "list_migrations", folder=str(folder))
    assert [m["version"] for m in listing["pending"]] == ["20260101000001", "20260101000002"]
    assert listing["drift"] == [] and listing["not_in_folder"] == []
    assert any("does not parse" in note for note in listing["notes"])
    (folder / "20260101000000_notes.sql").write_text(CREATE.replace("not null", "") + "\n")
    listing = await call(client, "list_migrations", folder=str(folder))
    assert listing["drift"] == ["20260101000000"]
    message = await error(client, "list_migrations", folder=str(tmp_path / "absent"))
    assert "folder" in message


async def test_dry_run_reports_objects_and_changes_nothing(client: Client, any_pg_database_url: str) -> None:
    url = any_pg_database_url
    await call(client, "apply_migration", name="notes", sql=CREATE, version="20260101000000")
    sql = (
        "create table public.tags (id int primary key);\n"
        "alter table public.notes add column tag int references public.tags (id);\n"
        "create view public.tagged as select id, tag from public.notes;"
    )
    result = await call(client, "apply_migration", name="tags", sql=sql, dry_run=True)
    assert result["status"] == "dry_run"
    objects = result["objects"]
    assert any("public.tags" in item for item in objects["created"])
    assert any("public.tagged" in item for item in objects["created"])
    assert any("public.notes" in item for item in objects["altered"] + objects["created"])
    assert objects["dropped"] == []
    assert not exists(url, "public.tags")
    assert rows(url, "select count(*) from supabase_migrations.schema_migrations")[0][0] == 1


async def test_generate_diff_between_two_schemas_round_trips(client: Client, any_pg_database_url: str) -> None:
    url = any_pg_database_url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create schema dev; create schema prod")
        conn.execute("create table dev.items (id int primary key, name text not null, price numeric default 0)")
        conn.execute("create table prod.items (id int primary key)")
    diff = await call(client, "generate_diff", source_schema="dev", target_schema="prod")
    assert diff["empty"] is False and "prod.items" in diff["script"]
    await call(client, "apply_migration", name="sync", sql=diff["script"])
    again = await call(client, "generate_diff", source_schema="dev", target_schema="prod")
    assert again["empty"] is True, again["script"]


async def test_versions_made_within_one_second_stay_distinct_and_ordered(client: Client) -> None:
    first = await call(client, "apply_migration", name="one", sql="create table public.one (id int);")
    second = await call(client, "apply_migration", name="two", sql="create table public.two (id int);")
    assert len(first["version"]) == 14 and int(second["version"]) > int(first["version"])


async def test_the_read_only_tools_change_nothing(client: Client, any_pg_database_url: str, tmp_path: Path) -> None:
    """list_migrations and generate_diff are annotated read-only: on a fresh database they create nothing (not even
    the history tables), and the database's catalog is the same afterwards."""
    url = any_pg_database_url
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("create table public.items (id int)")
    before = rows(url, "select count(*), max(oid::int) from pg_class")
    await call(client, "list_migrations", folder=str(tmp_path))
    await call(client, "generate_diff", source=url, target=url)
    assert rows(url, "select count(*), max(oid::int) from pg_class") == before
    assert rows(url, "select count(*) from pg_namespace where nspname = 'supabase_migrations'") == [(0,)]


async def test_concurrent_applies_of_one_version_apply_it_once(any_pg_database_url: str) -> None:
    """Two servers apply the same version at once. The migration lock is held elsewhere until both wait for it, so
    both passed their early check: the advisory lock serialises them and the second finds the version taken inside
    its own transaction, and changes nothing."""
    import anyio

    from dokploy_mcp.postgres.history import LOCK

    url = any_pg_database_url
    results: list[Any] = []

    async def one(table: str) -> None:
        async with Client(build_server(load_settings(database_url=url, confirm="token"))) as mcp:
            arguments = {"name": table, "sql": f"create table public.{table} (id int);", "version": "20260101000009"}
            results.append(await mcp.call_tool("apply_migration", arguments))

    with psycopg.connect(url) as holder:
        holder.execute(LOCK.encode())
        async with anyio.create_task_group() as group:
            group.start_soon(one, "first_one")
            group.start_soon(one, "second_one")
            for _ in range(200):
                waiting = rows(url, "select count(*) from pg_locks where locktype = 'advisory' and not granted")
                if waiting == [(2,)]:
                    break
                await anyio.sleep(0.05)
            assert waiting == [(2,)]
            holder.rollback()
    failed = [r for r in results if r.is_error]
    assert len(failed) == 1 and "applied by another call" in str(failed[0].content[0])
    created = rows(url, "select count(*) from pg_tables where tablename in ('first_one', 'second_one')")
    assert created == [(1,)]
    assert rows(url, "select count(*) from supabase_migrations.schema_migrations") == [(1,)]


async def test_a_new_enum_value_comes_with_a_note(client: Client) -> None:
    await call(client, "apply_migration", name="mood", sql="create type public.mood as enum ('sad', 'happy');")
    added = await call(client, "apply_migration", name="meh", sql="alter type public.mood add value 'meh';")
    assert added["status"] == "applied"
    assert any("cannot be used by a later statement" in note for note in added["notes"])


async def test_a_failing_confirmed_migration_names_its_own_statement(client: Client) -> None:
    # With a token, its use mark runs in the transaction too: the number is still the migration's own.
    sql = "create table public.gone (id int);\ndrop table public.gone;\nselect 1/0;"
    preview = await call(client, "apply_migration", name="fails", sql=sql)
    message = await error(client, "apply_migration", name="fails", sql=sql, confirm_token=preview["confirm_token"])
    assert "statement 3 of the migration" in message and "division by zero" in message
