"""cross_instance_migrate when things go wrong: every failure of the issue ends in an error naming the table and
the rows, leaves the target as its checkpoint says, and the same call again finishes with matching checksums.

The failures are real ones raised by the target server while rows arrive: a trigger (enabled ALWAYS, so that it
fires even with foreign keys and triggers off for the copy) terminates its own backend (a dropped connection) or
raises disk_full (a full disk) at a chosen row; a unique index the source lacks; an enum value the target lacks.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import psycopg
import pytest
from mcp import Client

from dokploy_mcp.config import load_settings
from dokploy_mcp.server import build_server
from tests import pg18
from tests.tools.test_database import call, error
from tests.tools.test_transfer import SCHEMA, SEED, TABLES, dump, rows, run, same

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

#: A trigger on the target's people table that does ``action`` when the row with id 1234 arrives.
TRIGGER = """
create function public.inject() returns trigger language plpgsql as $$
begin
  if new.id = 1234 then {action}; end if;
  return new;
end $$;
create trigger inject before insert on public.people for each row execute function public.inject();
alter table public.people enable always trigger inject;
"""
DROP_TRIGGER = "drop trigger inject on public.people; drop function public.inject();"


@pytest.fixture
def pair(pg_server_url: str, pg18_server_url: str) -> Iterator[tuple[str, str]]:
    """A seeded source on 15 and an empty target on 18."""
    with pg18.throwaway_database(pg_server_url) as source, pg18.throwaway_database(pg18_server_url) as target:
        run(source, SCHEMA + SEED)
        yield source, target


def new_client() -> Client:
    return Client(build_server(load_settings(confirm="token")))


@pytest.fixture
async def client() -> AsyncIterator[Client]:
    async with new_client() as connected:
        yield connected


async def migrate(client: Client, source: str, target: str, **arguments: Any) -> dict[str, Any]:
    return await call(client, "cross_instance_migrate", source=source, target=target, wait_s=300, **arguments)


async def fails(client: Client, source: str, target: str, **arguments: Any) -> str:
    return await error(client, "cross_instance_migrate", source=source, target=target, wait_s=300, **arguments)


def checkpoint(target: str, table: str) -> tuple[Any, ...]:
    [row] = rows(target, f"select status, rows from dokploy_mcp.copy_checkpoints where table_name = '{table}'")
    return row


async def schema_then_break(client: Client, source: str, target: str, breakage: str) -> None:
    """The schema copied first, then the target broken before the rows go."""
    copied = await migrate(client, source, target, what="schema")
    assert copied["status"] == "schema_copied"
    run(target, breakage)


def assert_rows_1001_to_1500(message: str) -> None:
    assert "public.people" in message
    assert "from row 1,001 after key (id) = (1000) up to (1500)" in message, message
    assert "keeps the table's first 1,000 rows" in message and "same call again" in message


async def resumes_to_a_verified_copy(source: str, target: str) -> None:
    """A new server process (a restart): the checkpoint is on the target, nothing is remembered in between."""
    async with new_client() as fresh:
        result = await migrate(fresh, source, target, what="data", chunk_rows=500)
    assert result["status"] == "copied", result["notes"]
    people = next(t for t in result["tables"] if t["name"] == "public.people")
    assert people["state"] == "resumed" and people["resumed_after"] == 1000
    assert people["rows_copied"] == 1500  # only what was missing travelled again
    done = [t for t in result["tables"] if t["state"] == "done"]
    assert {t["name"] for t in done} == {"public.events", "public.teams"}  # finished before: not copied again
    assert all(t["verified"] for t in result["tables"])
    same(source, target)
    assert rows(target, "select count(*) from dokploy_mcp.copy_checkpoints") == [(0,)]


async def test_a_dropped_connection_mid_table_resumes(client: Client, pair: tuple[str, str]) -> None:
    source, target = pair
    await schema_then_break(
        client, source, target, TRIGGER.format(action="perform pg_terminate_backend(pg_backend_pid())")
    )
    message = await fails(client, source, target, what="data", chunk_rows=500)
    assert_rows_1001_to_1500(message)
    assert "terminat" in message.lower()
    assert checkpoint(target, "public.people") == ("copying", 1000)
    assert rows(target, "select count(*), max(id) from public.people") == [(1000, 1000)]
    assert rows(target, "select count(*) from public.teams") == [(7,)]
    run(target, DROP_TRIGGER)
    await resumes_to_a_verified_copy(source, target)


async def test_a_full_disk_resumes(client: Client, pair: tuple[str, str]) -> None:
    source, target = pair
    raise_full = (
        "raise exception using errcode = 'disk_full', message = 'could not extend file: No space left on device'"
    )
    await schema_then_break(client, source, target, TRIGGER.format(action=raise_full))
    message = await fails(client, source, target, what="data", chunk_rows=500)
    assert_rows_1001_to_1500(message)
    assert "No space left on device" in message and "53100" in message
    assert checkpoint(target, "public.people") == ("copying", 1000)
    run(target, DROP_TRIGGER)
    await resumes_to_a_verified_copy(source, target)


async def test_a_unique_violation_resumes(client: Client, pair: tuple[str, str]) -> None:
    source, target = pair
    # The target is stricter than the source: one person per team among the later rows.
    await schema_then_break(
        client, source, target, "create unique index one_per_team on public.people (team_id) where id > 1100"
    )
    message = await fails(client, source, target, what="data", chunk_rows=500)
    assert_rows_1001_to_1500(message)
    assert "one_per_team" in message and "23505" in message
    run(target, "drop index public.one_per_team")
    await resumes_to_a_verified_copy(source, target)


async def test_an_enum_value_the_target_lacks_resumes(client: Client, pair: tuple[str, str]) -> None:
    source, target = pair
    await migrate(client, source, target, what="schema")
    run(source, "alter type public.mood add value 'ecstatic'")
    run(source, "update public.people set mood = 'ecstatic' where id = 1234")
    message = await fails(client, source, target, what="data", chunk_rows=500)
    assert_rows_1001_to_1500(message)
    assert "ecstatic" in message
    run(target, "alter type public.mood add value 'ecstatic'")
    await resumes_to_a_verified_copy(source, target)


async def test_a_source_changed_between_failure_and_resume_is_caught_by_the_checksums(
    client: Client, pair: tuple[str, str]
) -> None:
    source, target = pair
    await schema_then_break(client, source, target, TRIGGER.format(action="raise exception 'boom'"))
    await fails(client, source, target, what="data", chunk_rows=500)
    run(target, DROP_TRIGGER)
    # A row already copied changes on the source: the resume does not copy it again, the checksum pass sees it.
    run(source, "update public.people set bio = 'changed' where id = 10")
    result = await migrate(client, source, target, what="data", chunk_rows=500)
    assert result["status"] == "mismatch"
    verdicts = {t["name"]: t["verified"] for t in result["tables"]}
    assert verdicts == {"public.teams": True, "public.people": False, "public.events": True}
    assert any("restart: true" in note for note in result["notes"])
    # The checkpoints stay for a look; a restart with truncate makes a clean copy.
    assert checkpoint(target, "public.people") == ("done", 2500)
    again = await migrate(client, source, target, what="data", existing="truncate", restart=True)
    assert again["status"] == "confirm"
    clean = await migrate(
        client, source, target, what="data", existing="truncate", restart=True, confirm_token=again["confirm_token"]
    )
    assert clean["status"] == "copied" and all(t["verified"] for t in clean["tables"])
    same(source, target)


async def copying_big(target: str) -> None:
    """Until the copy of public.big has committed a chunk: a stop then lands in the middle of the table."""
    query = "select rows from dokploy_mcp.copy_checkpoints where table_name = 'public.big'"
    for _ in range(600):
        if rows(target, "select to_regclass('dokploy_mcp.copy_checkpoints') is not null")[0][0]:
            found = rows(target, query)
            if found and found[0][0] > 0:
                return
        await anyio.sleep(0.05)
    raise AssertionError("the copy of public.big did not start within 30 s")


async def test_cancel_job_stops_at_a_checkpoint_and_the_call_resumes(client: Client, pair: tuple[str, str]) -> None:
    source, target = pair
    run(source, "insert into public.events select now(), 'more ' || g from generate_series(1, 10) g")
    run(
        source,
        "create table public.big (id bigint primary key, v text); "
        "insert into public.big select g, md5(g::text) from generate_series(1, 400000) g",
    )
    started = await call(client, "cross_instance_migrate", source=source, target=target, chunk_rows=1000, wait_s=0)
    assert started["status"] == "running"
    await copying_big(target)
    stopped = await call(client, "cancel_job", job_id=started["job"]["job_id"], wait_s=60)
    [job] = stopped["jobs"]
    assert job["status"] == "stopped", stopped
    assert "resumes from there" in (job["error"] or ""), job
    kept = (
        rows(target, "select count(*) from public.big")[0][0]
        if rows(target, "select to_regclass('public.big') is not null")[0][0]
        else 0
    )
    assert kept < 400000 and kept % 1000 == 0  # whole chunks only
    if kept:
        assert rows(target, "select rows from dokploy_mcp.copy_checkpoints where table_name = 'public.big'") == [
            (kept,)
        ]
    # Resumed with what: "data": the indexes and constraints the stopped run left for after the rows come too.
    result = await migrate(client, source, target, what="data", chunk_rows=1000)
    assert result["status"] == "copied" and all(t["verified"] for t in result["tables"])
    assert result["schema_step"]["built_after_rows"] >= 3 and result["schema_step"]["applied"] is False
    assert dump(source, "public.big") == dump(target, "public.big")
    assert (await call(client, "generate_diff", source=source, target=target))["empty"] is True


async def test_a_target_with_rows_is_refused_then_truncated_when_confirmed_or_appended(
    client: Client, pair: tuple[str, str]
) -> None:
    source, target = pair
    await migrate(client, source, target, what="schema")
    run(target, "insert into public.events values ('2020-01-01', 'old')")
    message = await fails(client, source, target, what="data")
    assert "public.events" in message and "existing" in message and "truncate" in message
    assert not rows(target, "select to_regclass('dokploy_mcp.copy_checkpoints') is not null")[0][0]
    # append keeps the old row and adds the source's; the checksum pass counts the old row in.
    appended = await migrate(client, source, target, what="data", existing="append")
    assert appended["status"] == "copied", appended["notes"]
    events = next(t for t in appended["tables"] if t["name"] == "public.events")
    assert events["verified"] and events["target_rows"] == 1201
    assert rows(target, "select count(*) from public.events") == [(1202,)]
    # truncate: a token first, nothing emptied until it comes back.
    asked = await migrate(client, source, target, what="data", existing="truncate")
    assert asked["status"] == "confirm" and asked["confirm_token"]
    assert rows(target, "select count(*) from public.events") == [(1202,)]
    done = await migrate(client, source, target, what="data", existing="truncate", confirm_token=asked["confirm_token"])
    assert done["status"] == "copied"
    for table in TABLES:
        assert dump(source, table) == dump(target, table)


async def test_dry_run_plans_and_writes_nothing(client: Client, pair: tuple[str, str]) -> None:
    source, target = pair
    plan = await call(client, "cross_instance_migrate", source=source, target=target, dry_run=True)
    assert plan["status"] == "dry_run"
    assert plan["schema_step"]["changes"] > 0 and plan["schema_step"]["applied"] is False
    states = {t["name"]: t["state"] for t in plan["tables"]}
    assert states == dict.fromkeys(TABLES, "missing")
    people = next(t for t in plan["tables"] if t["name"] == "public.people")
    assert people["size_bytes"] > 0 and people["format"] == "text"
    assert any("would move 3 table(s)" in note for note in plan["notes"])
    assert rows(target, "select count(*) from pg_class where relnamespace = 'public'::regnamespace") == [(0,)]
    assert not rows(target, "select to_regnamespace('dokploy_mcp') is not null")[0][0]


async def test_a_login_that_cannot_turn_foreign_keys_off_copies_in_foreign_key_order(
    client: Client, pg_server_url: str
) -> None:
    role = f"copier_{secrets.token_hex(3)}"
    run(pg_server_url, f"create role {role} login")
    try:
        with pg18.throwaway_database(pg_server_url) as source, pg18.throwaway_database(pg_server_url) as target:
            run(source, SCHEMA + SEED)
            run(
                target,
                f"alter database {target.split('dbname=')[1].split()[0]} owner to {role}; "
                f"alter schema public owner to {role}",
            )
            as_role = target.replace("user=postgres", f"user={role}")
            run(as_role, SCHEMA)  # the target's schema, owned by the login (data only: it may not set owners)
            result = await migrate(client, source, as_role, what="data", chunk_rows=500)
            assert result["status"] == "copied", result["notes"]
            assert any("foreign-key order" in note for note in result["notes"])
            chunked = {t["name"]: t["chunked"] for t in result["tables"]}
            assert chunked["public.people"] is False  # references itself: one chunk keeps its keys satisfied
            assert [t["name"] for t in result["tables"]][:2] == ["public.events", "public.teams"]
            same(source, target)
    finally:
        run(pg_server_url, f"drop role if exists {role}")


async def test_a_stack_address_for_rows_is_refused_with_the_way_to_expose_its_database(client: Client) -> None:
    message = await fails(client, "prod/supabase", "postgresql://postgres@127.0.0.1:5432/postgres")
    assert "source 'prod/supabase' is a stack address" in message
    assert "127.0.0.1:54322:5432" in message and "ssh -N -L" in message
    assert 'source: "postgresql://postgres:<POSTGRES_PASSWORD' in message and 'what: "schema"' in message


async def test_nonsense_is_refused_before_anything_opens(client: Client, pg_database_url: str) -> None:
    same_db = await fails(client, pg_database_url, pg_database_url)
    assert "same database" in same_db
    wrong = await fails(
        client, pg_database_url, "postgresql://postgres@127.0.0.1:5432/x", what="schema", existing="append"
    )
    assert "existing applies to rows" in wrong
    bad_pattern = await fails(client, pg_database_url, "postgresql://postgres@127.0.0.1:5432/x", include=["a.b.c"])
    assert "include" in bad_pattern
    ours = await fails(
        client, pg_database_url, "postgresql://postgres@127.0.0.1:5432/x", include=["dokploy_mcp.copy_checkpoints"]
    )
    assert "schema dokploy_mcp is not copied" in ours
    catalog = await fails(client, pg_database_url, "postgresql://postgres@127.0.0.1:5432/x", schemas=["pg_catalog"])
    assert "schema pg_catalog is not copied" in catalog


async def test_a_source_login_that_row_level_security_filters_is_refused(client: Client, pg_server_url: str) -> None:
    role = f"reader_{secrets.token_hex(3)}"
    run(pg_server_url, f"create role {role} login")
    try:
        with pg18.throwaway_database(pg_server_url) as source, pg18.throwaway_database(pg_server_url) as target:
            run(source, SCHEMA + SEED)
            run(
                source,
                f"grant usage on schema public to {role}; grant select on all tables in schema public to {role}; "
                "alter table public.people enable row level security; "
                f"create policy few on public.people for select to {role} using (id < 10)",
            )
            as_role = source.replace("user=postgres", f"user={role}")
            message = await fails(client, as_role, target)
            assert "row-level security applies to the source's login on public.people" in message
            assert "BYPASSRLS" in message
            assert rows(target, "select count(*) from pg_class where relnamespace = 'public'::regnamespace") == [(0,)]
    finally:
        run(pg_server_url, f"drop owned by {role} cascade; drop role if exists {role}")


async def test_a_second_copy_into_the_same_target_waits_its_turn(client: Client, pair: tuple[str, str]) -> None:
    from dokploy_mcp.postgres.conninfo import parse_target

    source, target = pair
    lock = "select pg_advisory_lock(hashtext('dokploy_mcp.copy ' || %s))"
    with psycopg.connect(target, autocommit=True) as holder:
        holder.execute(lock, [parse_target(source).masked()])
        message = await fails(client, source, target, what="data")
    assert "another copy from this source into this target is running" in message
    result = await migrate(client, source, target)
    assert result["status"] == "copied"


async def test_foreign_keys_built_after_the_rows_name_the_orphans_and_the_call_resumes(
    client: Client, pair: tuple[str, str]
) -> None:
    """people without teams: the rows go in (foreign keys come after the rows), the foreign key cannot be built,
    and the error says so; copying teams too finishes the copy without copying people again."""
    source, target = pair
    message = await fails(client, source, target, include=["public.people"])
    assert "the rows are copied, but building the indexes and constraints failed" in message
    assert "people_team_id_fkey" in message and "23503" in message
    assert rows(target, "select count(*) from public.people") == [(2500,)]
    assert checkpoint(target, "public.people") == ("done", 2500)
    result = await migrate(client, source, target, include=["public.people", "public.teams"])
    assert result["status"] == "copied", result["notes"]
    states = {t["name"]: (t["state"], t["rows_copied"]) for t in result["tables"]}
    assert states == {"public.people": ("done", 0), "public.teams": ("empty", 7)}
    assert result["schema_step"]["built_after_rows"] > 0
    assert (await call(client, "generate_diff", source=source, target=target, schemas=["public"]))["empty"] is True
