"""cross_instance_migrate through an MCP client, between real PostgreSQL 15 and 18 servers.

Each test copies a small database that holds what a copy gets wrong: foreign keys (also to itself), identity and
serial columns, a generated column, an enum and an array of it, a composite type (both sent as text), jsonb, bytea,
TOAST-sized text, a table without a primary key. The oracle is independent of our checksum: every row of every
table read back from both sides, as text in primary-key order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import psycopg
import pytest
from mcp import Client

from dokploy_mcp.config import load_settings
from dokploy_mcp.server import build_server
from tests import pg18
from tests.tools.test_database import call

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

SCHEMA = """
create type public.mood as enum ('sad', 'ok', 'happy');
create type public.point3 as (x float8, y float8, z float8);
create table public.teams (id bigint generated always as identity primary key, name text not null unique);
create table public.people (
  id serial primary key,
  team_id bigint references public.teams (id),
  manager_id int references public.people (id),
  email text not null,
  mood public.mood,
  moods public.mood[],
  place public.point3,
  profile jsonb,
  avatar bytea,
  bio text,
  email_domain text generated always as (split_part(email, '@', 2)) stored
);
create table public.events (at timestamptz not null, payload text);
create materialized view public.team_sizes as select team_id, count(*) as people from public.people group by team_id;
"""

SEED = """
insert into public.teams (name) select 'team ' || g from generate_series(1, 7) g;
insert into public.people (team_id, manager_id, email, mood, moods, place, profile, avatar, bio)
select 1 + g % 7, nullif(g / 2, 0), 'user' || g || '@example' || g % 3 || '.org',
       (array['sad', 'ok', 'happy'])[1 + g % 3]::public.mood, array['ok', 'happy']::public.mood[],
       row(g, g / 3.0, -g)::public.point3, jsonb_build_object('n', g, 'tags', jsonb_build_array('a', g)),
       decode(md5(g::text), 'hex'), case when g % 50 = 0 then repeat(md5(g::text), 400) else 'bio ' || g end
  from generate_series(1, 2500) g;
insert into public.events select timestamptz '2026-01-01 00:00:00+02' + g * interval '1 minute', 'e' || g
  from generate_series(1, 1200) g;
insert into public.events values ('2026-01-01', 'e1');
refresh materialized view public.team_sizes;
"""

TABLES = ("public.teams", "public.people", "public.events")


def run(url: str, sql_text: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql_text)


def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


def dump(url: str, table: str) -> list[str]:
    """Every row as PostgreSQL prints it, sorted: the same on both sides exactly when the copy is right."""
    with psycopg.connect(url) as conn:
        conn.execute("set timezone = 'UTC'")
        return sorted(str(row[0]) for row in conn.execute(f"select t::text from {table} t"))


def same(source: str, target: str) -> None:
    for table in TABLES:
        assert dump(source, table) == dump(target, table), table


@pytest.fixture(
    params=[
        pytest.param(("15", "18"), id="15to18"),
        pytest.param(("18", "15"), id="18to15"),
        pytest.param(("15", "15"), id="15to15"),
    ]
)
def pair(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    """A seeded source and an empty target database, on the servers the parameter names."""
    servers = [request.getfixturevalue("pg18_server_url" if v == "18" else "pg_server_url") for v in request.param]
    with pg18.throwaway_database(servers[0]) as source, pg18.throwaway_database(servers[1]) as target:
        run(source, SCHEMA + SEED)
        yield source, target


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async with Client(build_server(load_settings(confirm="token"))) as connected:
        yield connected


async def migrate(client: Client, source: str, target: str, **arguments: Any) -> dict[str, Any]:
    return await call(client, "cross_instance_migrate", source=source, target=target, wait_s=300, **arguments)


async def test_copies_schema_and_rows_and_proves_them(client: Client, pair: tuple[str, str]) -> None:
    source, target = pair
    result = await migrate(client, source, target, chunk_rows=500)
    assert result["status"] == "copied", result["notes"]
    schema = result["schema_step"]
    assert schema["applied"] is True and schema["changes"] > 0
    # The unique and foreign-key constraints came after the rows; afterwards nothing is left to diff.
    assert schema["deferred"] >= 3 and schema["built_after_rows"] == schema["deferred"]
    assert (await call(client, "generate_diff", source=source, target=target))["empty"] is True
    by_name = {table["name"]: table for table in result["tables"]}
    assert set(by_name) == set(TABLES)
    assert {table["state"] for table in by_name.values()} == {"missing"}  # before the call; the schema step made them
    assert all(table["verified"] for table in by_name.values())
    assert by_name["public.people"]["rows_copied"] == 2500 and by_name["public.people"]["chunked"] is True
    assert by_name["public.people"]["format"] == "text"  # enum array and composite: OIDs differ between servers
    assert by_name["public.teams"]["format"] == "binary"
    assert by_name["public.events"]["chunked"] is False  # no primary key: one chunk
    assert result["rows_copied"] == 2500 + 7 + 1201 and result["checksum_ms"] is not None
    same(source, target)
    # Sequences follow: new rows on the target get the next numbers, not ones already taken.
    assert result["sequences_set"] == 2
    run(target, "insert into public.teams (name) values ('new'); insert into public.people (email) values ('n@x.org')")
    assert rows(target, "select max(id) from public.teams") == [(8,)]
    assert rows(target, "select max(id) from public.people") == [(2501,)]
    # The generated column was computed by the target.
    assert rows(target, "select email_domain from public.people where id = 4") == [("example1.org",)]
    # The materialized view was created empty by the schema step and refreshed once its table was filled.
    assert (
        dump(target, "public.team_sizes") == dump(source, "public.team_sizes")
        and len(dump(target, "public.team_sizes")) == 7
    )
    assert any("refreshed 1 materialized view" in note for note in result["notes"])
    # A copy that verified leaves no checkpoint behind.
    assert rows(target, "select count(*) from dokploy_mcp.copy_checkpoints") == [(0,)]
