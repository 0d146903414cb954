"""Several statements as one unit on the direct route (Database.run_script): what migrations stand on."""

from __future__ import annotations

from typing import Any

import pytest

from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres.client import Database
from dokploy_mcp.postgres.conninfo import parse_target
from dokploy_mcp.postgres.errors import DatabaseQueryError, DatabaseTimeoutError

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


@pytest.fixture
async def db(any_pg_database_url: str) -> Any:
    # One connection: whatever a script leaves on it, the next call meets.
    async with Database(parse_target(any_pg_database_url), max_size=1) as database:
        yield database


async def test_a_script_commits_as_one_and_answers_its_last_rows(db: Database) -> None:
    result = await db.run_script(
        ["create table s (id int)", "insert into s values (1), (2)", "select count(*) as n, now() as at from s"]
    )
    assert result.rows[0]["n"] == 2 and isinstance(result.rows[0]["at"], str)
    again = await db.run_script(["select count(*) as n from s"], commit=False)
    assert again.rows == [{"n": 2}]


async def test_a_failure_names_its_step_and_rolls_everything_back(db: Database) -> None:
    with pytest.raises(DatabaseQueryError) as caught:
        await db.run_script(["create table s (id int)", "insert into s values (1)", "select 1/0"])
    assert caught.value.step == 3 and caught.value.sqlstate == "22012"
    check = await db.run_script(["select to_regclass('s') is null as gone"])
    assert check.rows == [{"gone": True}]


async def test_a_dry_run_is_rolled_back(db: Database) -> None:
    result = await db.run_script(
        ["create table s (id int)", "select to_regclass('s') is not null as there"], commit=False
    )
    assert result.rows == [{"there": True}]
    assert (await db.run_script(["select to_regclass('s') is null as gone"])).rows == [{"gone": True}]


async def test_each_statement_has_the_timeout(db: Database) -> None:
    with pytest.raises(DatabaseTimeoutError):
        await db.run_script(["create table s (id int)", "select pg_sleep(2)"], timeout_ms=200)
    assert (await db.run_script(["select to_regclass('s') is null as gone"])).rows == [{"gone": True}]


async def test_without_a_transaction_earlier_steps_stay_and_the_session_is_clean(db: Database) -> None:
    with pytest.raises(DatabaseQueryError) as caught:
        await db.run_script(
            ["create table s (id int)", "create index concurrently on s (id)", "select 1/0"],
            transaction=False,
            timeout_ms=5_000,
        )
    assert caught.value.step == 3
    left = await db.run_script(
        ["select to_regclass('s') is not null as kept, current_setting('statement_timeout') as timeout"]
    )
    # The session-level timeout of the script does not stay on the pooled connection.
    assert left.rows[0]["kept"] is True and left.rows[0]["timeout"] != "5s"


async def test_notices_come_back_and_empty_scripts_are_refused(db: Database) -> None:
    result = await db.run_script(["do $$ begin raise notice 'hello %', 1; end $$"])
    assert any("hello 1" in notice for notice in result.notices)
    with pytest.raises(InputError):
        await db.run_script([])


async def test_a_result_past_the_byte_cap_is_refused(db: Database) -> None:
    with pytest.raises(DatabaseQueryError, match="larger than"):
        await db.run_script(["select repeat('x', 10000) as big"], max_bytes=1_000)
