"""A person confirms destructive migrations and rollbacks through elicitation, in both protocol eras; a harmless
migration asks nobody."""

from __future__ import annotations

import psycopg
import pytest

from dokploy_mcp.config import load_settings
from dokploy_mcp.server import build_server
from tests.fake_dokploy import SERVERS
from tests.tools.test_deploy import call
from tests.tools.test_person_confirms import ERAS, Person, client

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

CREATE = "create table public.people (id int primary key, note text);"


def columns(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("select count(*) from information_schema.columns where table_name = 'people'").fetchone()
    assert row is not None
    return int(row[0])


@ERAS
@pytest.mark.parametrize(("action", "kept"), [("accept", 1), ("decline", 2), ("cancel", 2)])
async def test_a_person_confirms_a_destructive_migration(
    any_pg_database_url: str, era: str, action: str, kept: int
) -> None:
    person = Person(action)
    mcp_server = build_server(load_settings(database_url=any_pg_database_url), servers=SERVERS)
    async with client(mcp_server, era, person) as mcp:
        harmless = await call(mcp, "apply_migration", name="people", sql=CREATE, version="20260101000000")
        assert harmless["status"] == "applied" and person.questions == []
        result = await call(mcp, "apply_migration", name="drop_note", sql="alter table public.people drop column note;")
    assert columns(any_pg_database_url) == kept
    assert result["confirm_token"] is None
    [question] = person.questions
    assert "drop_note" in question and "DROP COLUMN" in question
    assert result["status"] == ("applied" if action == "accept" else "declined")


@ERAS
async def test_a_person_confirms_a_rollback_seeing_its_down_sql(any_pg_database_url: str, era: str) -> None:
    person = Person("accept")
    mcp_server = build_server(load_settings(database_url=any_pg_database_url), servers=SERVERS)
    async with client(mcp_server, era, person) as mcp:
        await call(
            mcp,
            "apply_migration",
            name="people",
            sql=CREATE,
            down_sql="drop table public.people;",
            version="20260101000000",
        )
        result = await call(mcp, "rollback_migration", version="20260101000000")
    assert result["status"] == "rolled_back"
    [question] = person.questions
    assert "drop table public.people" in question and "20260101000000" in question
    assert columns(any_pg_database_url) == 0


async def test_human_mode_refuses_a_destructive_migration_without_a_person(any_pg_database_url: str) -> None:
    mcp_server = build_server(load_settings(database_url=any_pg_database_url, confirm="human"), servers=SERVERS)
    async with client(mcp_server, "legacy", None) as mcp:
        await call(mcp, "apply_migration", name="people", sql=CREATE, version="20260101000000")
        refused = await mcp.call_tool(
            "apply_migration", {"name": "wipe", "sql": "truncate public.people;", "version": "20260101000001"}
        )
    assert refused.is_error
    assert columns(any_pg_database_url) == 2


async def test_the_question_never_shows_the_targets_password(any_pg_database_url: str) -> None:
    """The person sees where the migration goes, with the connection string's password masked."""
    import psycopg as pg

    info = pg.conninfo.conninfo_to_dict(any_pg_database_url)
    target = f"postgresql://postgres:Sup3r-Secret-pw@{info['host']}:{info['port']}/{info['dbname']}"
    person = Person("decline")
    async with client(build_server(load_settings(), servers=SERVERS), "legacy", person) as mcp:
        await call(mcp, "apply_migration", target=target, name="wipe", sql="drop table if exists public.nothing;")
    [question] = person.questions
    assert "Sup3r-Secret-pw" not in question and "DROP TABLE" in question
