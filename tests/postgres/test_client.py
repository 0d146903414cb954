"""The Database client against a real PostgreSQL: typing, read-only safety, caps, roles, errors, pooling."""

from __future__ import annotations

import dataclasses
import json
import logging
import secrets
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any, TypedDict

import anyio
import psycopg
import pytest
from psycopg import sql

from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres.client import Database
from dokploy_mcp.postgres.conninfo import ConnInfo, parse_target
from dokploy_mcp.postgres.errors import (
    DatabaseConnectionError,
    DatabaseQueryError,
    DatabaseTimeoutError,
    ReadOnlyViolationError,
    RoleNotPermittedError,
)

from .conftest import Admin, Roles

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


def count(admin: Admin, table: str) -> int:
    return int(admin(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))[0][0])


def backends(admin: Admin, application_name: str) -> int:
    rows = admin("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s", [application_name])
    return int(rows[0][0])


# -- results -------------------------------------------------------------------------------------------------


async def test_select_returns_typed_columns_and_json_safe_rows(db: Database) -> None:
    result = await db.execute(
        "SELECT 12.50::numeric(6,2) AS price, '2024-05-01 12:30:00+00'::timestamptz AS at,"
        " '\\xdeadbeef'::bytea AS blob, '6f1c0f6e-8f0a-4c2e-9d43-2b1f6c1e9a11'::uuid AS id,"
        ' \'{"a": [1, 2.5], "b": null}\'::jsonb AS doc, ARRAY[1, 2, NULL]::int[] AS nums,'
        " ARRAY['x', 'y'] AS words, NULL::text AS nothing, true AS yes, 9007199254740993::int8 AS big,"
        " '1 day 02:00:00'::interval AS span, 'infinity'::timestamptz AS forever, 'NaN'::float8 AS nan,"
        " int4range(1, 5) AS span_range, '10.1.2.3/16'::inet AS addr, '2024-05-01'::date AS day"
    )
    assert [(c.name, c.type_name) for c in result.columns] == [
        ("price", "numeric(6,2)"),
        ("at", "timestamptz"),
        ("blob", "bytea"),
        ("id", "uuid"),
        ("doc", "jsonb"),
        ("nums", "int4[]"),
        ("words", "text[]"),
        ("nothing", "text"),
        ("yes", "bool"),
        ("big", "int8"),
        ("span", "interval"),
        ("forever", "timestamptz"),
        ("nan", "float8"),
        ("span_range", "int4range"),
        ("addr", "inet"),
        ("day", "date"),
    ]
    assert result.rows == [
        [
            "12.50",
            "2024-05-01T12:30:00+00:00",
            "\\xdeadbeef",
            "6f1c0f6e-8f0a-4c2e-9d43-2b1f6c1e9a11",
            {"a": [1, 2.5], "b": None},
            [1, 2, None],
            ["x", "y"],
            None,
            True,
            9007199254740993,
            "1 day 02:00:00",
            "infinity",
            "NaN",
            "[1, 5)",
            "10.1.2.3/16",
            "2024-05-01",
        ]
    ]
    assert (result.row_count, result.truncated, result.truncated_reason) == (1, False, None)
    assert result.status_message == "SELECT 1"
    assert result.rows_affected is None
    assert result.duration_ms >= 0
    json.dumps(result.model_dump(), allow_nan=False)


async def test_a_select_without_rows_still_describes_its_columns(db: Database) -> None:
    result = await db.execute("SELECT 1 AS one, 'a'::text AS letter WHERE false")
    assert [c.name for c in result.columns] == ["one", "letter"]
    assert (result.rows, result.status_message) == ([], "SELECT 0")


async def test_types_unknown_to_psycopg_are_named_by_the_server(db: Database, admin: Admin) -> None:
    mood = f"mood_{secrets.token_hex(3)}"
    admin(sql.SQL("CREATE TYPE {} AS ENUM ('happy', 'sad')").format(sql.Identifier(mood)))
    result = await db.execute(f"SELECT 'happy'::{mood} AS m, ARRAY['sad']::{mood}[] AS ms")
    assert [c.type_name for c in result.columns] == [mood, f"{mood}[]"]
    assert result.rows[0][0] == "happy"


async def test_positional_and_named_parameters_are_bound(db: Database) -> None:
    positional = await db.execute("SELECT %s::int + %s::int AS total, %s AS raw", [2, 3, b"\x01"])
    named = await db.execute("SELECT %(word)s || '!' AS shout", {"word": "it's"})
    assert positional.rows == [[5, "\\x01"]]
    assert named.rows == [["it's!"]]


async def test_percent_signs_without_parameters_are_sent_verbatim(db: Database) -> None:
    assert (await db.execute("SELECT '100%' AS p, 'a%sb' AS q")).rows == [["100%", "a%sb"]]


async def test_unusable_parameters_are_an_input_error(db: Database) -> None:
    with pytest.raises(InputError) as caught:
        await db.execute("SELECT %s, %s", [1])
    assert caught.value.field == "params"


@pytest.mark.parametrize("statement", ["", "   ", ";", "-- only a comment"])
async def test_empty_statements_are_an_input_error(db: Database, statement: str) -> None:
    with pytest.raises(InputError) as caught:
        await db.execute(statement)
    assert caught.value.field == "statement"


async def test_server_errors_carry_sqlstate_detail_and_hint(db: Database, table: str) -> None:
    with pytest.raises(DatabaseQueryError) as missing:
        await db.execute("SELECT * FROM no_such_table_here")
    assert missing.value.sqlstate == "42P01"
    assert 'relation "no_such_table_here" does not exist' in missing.value.message

    await db.execute(f"INSERT INTO {table} VALUES (1, 'a')", read_only=False)
    with pytest.raises(DatabaseQueryError) as duplicate:
        await db.execute(f"INSERT INTO {table} VALUES (1, 'b')", read_only=False)
    assert duplicate.value.sqlstate == "23505"
    assert duplicate.value.detail == "Key (id)=(1) already exists."
    assert "DETAIL: Key (id)=(1) already exists." in str(duplicate.value)


async def test_copy_to_the_client_is_refused_and_the_pool_recovers(db_info: ConnInfo) -> None:
    async with Database(db_info, max_size=1) as db:
        with pytest.raises(DatabaseQueryError, match="COPY"):
            await db.execute("COPY (SELECT 1) TO STDOUT")
        assert (await db.execute("SELECT 2")).rows == [[2]]


# -- read-only safety ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "template",
    [
        "INSERT INTO {t} VALUES (1, 'x')",
        "UPDATE {t} SET note = 'y'",
        "DELETE FROM {t}",
        "CREATE TABLE {t}_other (id int)",
        "SELECT nextval('{t}_seq')",
        "SELECT setval('{t}_seq', 42)",
        "SELECT * FROM {t} FOR UPDATE",
        "WITH moved AS (DELETE FROM {t} RETURNING *) SELECT count(*) FROM moved",
    ],
)
async def test_read_only_refuses_writes(db: Database, table: str, admin: Admin, template: str) -> None:
    admin(sql.SQL("INSERT INTO {} VALUES (7, 'keep')").format(sql.Identifier(table)))
    with pytest.raises(ReadOnlyViolationError) as caught:
        await db.execute(template.format(t=table))
    assert caught.value.sqlstate == "25006"
    assert "read-only transaction" in caught.value.message
    assert admin(sql.SQL("SELECT id, note FROM {}").format(sql.Identifier(table))) == [(7, "keep")]


async def test_multiple_statements_are_refused_by_the_server(db: Database) -> None:
    for read_only in (True, False):
        with pytest.raises(DatabaseQueryError) as caught:
            await db.execute("SELECT 1; SELECT 2", read_only=read_only)
        assert caught.value.sqlstate == "42601"
        assert caught.value.message == "cannot insert multiple commands into a prepared statement"


async def test_psycopg_execute_alone_would_run_several_statements(pg_database_url: str) -> None:
    # Why the client drives the extended protocol itself: without parameters psycopg uses the simple one.
    async with await psycopg.AsyncConnection.connect(pg_database_url) as conn:
        cursor = await conn.execute("SELECT 1; SELECT 2")
        assert cursor.nextset()
        assert await cursor.fetchall() == [(2,)]


@pytest.mark.parametrize(
    "template",
    [
        "SELECT 1; COMMIT; INSERT INTO {t} VALUES (1, 'escaped')",
        "COMMIT; INSERT INTO {t} VALUES (1, 'escaped')",
        "ROLLBACK; BEGIN READ WRITE; INSERT INTO {t} VALUES (1, 'escaped'); COMMIT",
        "SET TRANSACTION READ WRITE; INSERT INTO {t} VALUES (1, 'escaped')",
    ],
)
async def test_commit_inside_the_string_cannot_escape_read_only(
    db: Database, table: str, admin: Admin, template: str
) -> None:
    with pytest.raises(DatabaseQueryError) as caught:
        await db.execute(template.format(t=table))
    assert caught.value.sqlstate == "42601"
    assert count(admin, table) == 0


async def test_a_do_block_cannot_switch_the_transaction_to_read_write(db: Database, table: str, admin: Admin) -> None:
    with pytest.raises(DatabaseQueryError, match="read-write mode must be set before any query"):
        await db.execute(f"DO $$BEGIN SET TRANSACTION READ WRITE; INSERT INTO {table} VALUES (1, 'x'); END$$")
    assert count(admin, table) == 0


async def test_read_only_calls_leave_no_session_state_behind(db_info: ConnInfo, admin: Admin) -> None:
    # One connection, so every call reuses the session the previous one touched.
    async with Database(db_info, max_size=1) as db:
        default_work_mem = (await db.execute("SHOW work_mem")).rows[0][0]
        await db.execute("SELECT set_config('work_mem', '77MB', false)")
        await db.execute("SELECT pg_advisory_lock(424242)")
        await db.execute("PREPARE leftover AS SELECT 1")
        assert (await db.execute("SHOW work_mem")).rows == [[default_work_mem]]
        with pytest.raises(DatabaseQueryError, match="does not exist"):
            await db.execute("EXECUTE leftover")
        locks = admin("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = 424242")
        assert locks == [(0,)]


async def test_session_settings_of_a_committed_write_do_not_leak(db_info: ConnInfo) -> None:
    async with Database(db_info, max_size=1) as db:
        default_work_mem = (await db.execute("SHOW work_mem")).rows[0][0]
        await db.execute("SET work_mem = '77MB'", read_only=False)
        assert (await db.execute("SHOW work_mem")).rows == [[default_work_mem]]


async def test_read_only_alone_allows_superuser_side_effects_that_a_role_blocks(db: Database, roles: Roles) -> None:
    # READ ONLY is one guard, not the whole fence: a superuser may still call non-transactional functions.
    assert (await db.execute("SELECT pg_stat_reset()")).row_count == 1
    with pytest.raises(DatabaseQueryError) as caught:
        await db.execute("SELECT pg_stat_reset()", role=roles.group)
    assert caught.value.sqlstate == "42501"


# -- writes --------------------------------------------------------------------------------------------------


async def test_write_mode_commits(db: Database, table: str, admin: Admin) -> None:
    result = await db.execute(f"INSERT INTO {table} VALUES (%s, %s)", [1, "kept"], read_only=False)
    assert (result.status_message, result.rows_affected, result.columns, result.rows) == ("INSERT 0 1", 1, [], [])
    assert admin(sql.SQL("SELECT id, note FROM {}").format(sql.Identifier(table))) == [(1, "kept")]

    updated = await db.execute(f"UPDATE {table} SET note = 'changed' RETURNING id, note", read_only=False)
    assert (updated.rows, updated.status_message, updated.rows_affected) == ([[1, "changed"]], "UPDATE 1", 1)


async def test_a_failing_write_leaves_nothing_behind(db: Database, table: str, admin: Admin) -> None:
    with pytest.raises(DatabaseQueryError) as caught:
        await db.execute(
            f"INSERT INTO {table} SELECT g, (1 / (g - 3))::text FROM generate_series(1, 5) g", read_only=False
        )
    assert caught.value.sqlstate == "22012"
    assert count(admin, table) == 0


async def test_a_truncated_write_still_completes(db: Database, table: str, admin: Admin) -> None:
    result = await db.execute(
        f"INSERT INTO {table} SELECT g, 'n' FROM generate_series(1, 600) g RETURNING id",
        read_only=False,
        max_rows=5,
    )
    assert result.rows == [[1], [2], [3], [4], [5]]
    assert (result.truncated, result.truncated_reason) == (True, "max_rows")
    assert (result.status_message, result.rows_affected) == ("INSERT 0 600", 600)
    assert count(admin, table) == 600


# -- caps and timeouts ---------------------------------------------------------------------------------------

# Every row is 2 kB and row 100000 divides by zero: a client that read on past the cap would pull ~200 MB (far
# more than the kernel's socket buffers, which grow to tens of MB) and then meet the error; one that stops and
# cancels never gets there.
POISONED = "SELECT g, repeat('x', 2000) AS pad FROM generate_series(1, 200000) g WHERE 1 / (g - 100000) IS NOT NULL"


async def test_the_poisoned_query_fails_when_read_to_the_end(db: Database) -> None:
    # A write is drained to completion even past the cap, so here the error must surface.
    with pytest.raises(DatabaseQueryError) as caught:
        await db.execute(POISONED, read_only=False, max_rows=10)
    assert caught.value.sqlstate == "22012"


async def test_row_cap_truncates_without_over_fetching(db: Database) -> None:
    started = time.monotonic()
    result = await db.execute(POISONED, max_rows=10)
    assert [row[0] for row in result.rows] == list(range(1, 11))
    assert (result.row_count, result.truncated, result.truncated_reason) == (10, True, "max_rows")
    assert result.status_message is None
    assert time.monotonic() - started < 10


async def test_byte_cap_truncates_without_over_fetching(db: Database) -> None:
    result = await db.execute(POISONED, max_bytes=10_000)
    assert (result.truncated, result.truncated_reason) == (True, "max_bytes")
    assert 0 < result.row_count < 10
    assert sum(len(json.dumps(row)) for row in result.rows) <= 10_000


async def test_a_result_exactly_at_the_cap_is_not_truncated(db: Database) -> None:
    result = await db.execute("SELECT g FROM generate_series(1, 10) g", max_rows=10)
    assert (result.row_count, result.truncated, result.status_message) == (10, False, "SELECT 10")


async def test_a_first_row_over_the_byte_cap_yields_no_rows(db: Database) -> None:
    result = await db.execute("SELECT repeat('x', 5000)", max_bytes=100)
    assert (result.rows, result.truncated_reason) == ([], "max_bytes")


async def test_statement_timeout_raises_a_timeout_error(db: Database) -> None:
    started = time.monotonic()
    with pytest.raises(DatabaseTimeoutError) as caught:
        await db.execute("SELECT pg_sleep(5)", timeout_ms=200)
    assert time.monotonic() - started < 3
    assert caught.value.timeout_ms == 200
    assert "statement timeout" in str(caught.value)
    assert (await db.execute("SELECT 1")).rows == [[1]]


class Limits(TypedDict, total=False):
    """The limits ``Database.execute`` takes by keyword: one of them, by name, per case below."""

    timeout_ms: int
    max_rows: int
    max_bytes: int


@pytest.mark.parametrize(
    "limits",
    [
        pytest.param(Limits(timeout_ms=0), id="timeout_ms-0"),
        pytest.param(Limits(max_rows=-1), id="max_rows--1"),
        pytest.param(Limits(max_bytes=0), id="max_bytes-0"),
    ],
)
async def test_nonsensical_limits_are_an_input_error(db: Database, limits: Limits) -> None:
    with pytest.raises(InputError) as caught:
        await db.execute("SELECT 1", **limits)
    (argument,) = limits
    assert caught.value.field == argument


# -- roles ---------------------------------------------------------------------------------------------------


@pytest.fixture
def as_user(db_info: ConnInfo) -> Callable[[str], Database]:
    made: list[Database] = []

    def connect(user: str) -> Database:
        database = Database(dataclasses.replace(db_info, user=user, password=None), connect_timeout=5)
        made.append(database)
        return database

    return connect


async def test_a_member_can_switch_to_its_role(as_user: Callable[[str], Database], roles: Roles) -> None:
    async with as_user(roles.member) as db:
        switched = await db.execute("SELECT current_user::text, session_user::text", role=roles.group)
        assert switched.rows == [[roles.group, roles.member]]
        # SET LOCAL: the next call is back to the login user.
        assert (await db.execute("SELECT current_user::text")).rows == [[roles.member]]
        info = await db.server_info()
        assert (info.current_user, info.is_superuser) == (roles.member, False)


async def test_a_non_member_cannot_switch(as_user: Callable[[str], Database], roles: Roles) -> None:
    async with as_user(roles.outsider) as db:
        with pytest.raises(RoleNotPermittedError, match="not a member") as caught:
            await db.execute("SELECT 1", role=roles.group)
        assert caught.value.role == roles.group


async def test_a_missing_role_is_refused(as_user: Callable[[str], Database], roles: Roles) -> None:
    async with as_user(roles.member) as db:
        with pytest.raises(RoleNotPermittedError, match="does not exist"):
            await db.execute("SELECT 1", role=f"{roles.group}_missing")


async def test_a_superuser_may_switch_to_any_role(db: Database, roles: Roles) -> None:
    assert (await db.execute("SELECT current_user::text", role=roles.outsider)).rows == [[roles.outsider]]


async def test_role_names_are_quoted_not_interpolated(db: Database) -> None:
    with pytest.raises(RoleNotPermittedError, match="does not exist"):
        await db.execute("SELECT 1", role='postgres"; RESET ROLE; --')


# -- connections and pooling ---------------------------------------------------------------------------------


@pytest.fixture
def unused_port() -> Iterator[int]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    yield port


async def test_an_unreachable_server_is_a_connection_error_without_the_password(
    unused_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    password = "N0tInAnyMessage"
    target = parse_target(f"postgresql://postgres:{password}@127.0.0.1:{unused_port}/postgres")
    async with Database(target, connect_timeout=3) as db:
        with pytest.raises(DatabaseConnectionError) as caught:
            await db.execute("SELECT 1")
    message = str(caught.value)
    assert "Connection refused" in message
    assert f"127.0.0.1:{unused_port}" in caught.value.target
    assert "****" in caught.value.target
    assert password not in message
    assert password not in caught.value.target
    assert password not in caplog.text


async def test_a_silent_server_times_out_as_a_connection_error() -> None:
    # The kernel completes the TCP handshake on a listening socket nobody accepts from; then nothing answers.
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()
        port = silent.getsockname()[1]
        target = parse_target(f"postgresql://postgres:pw@127.0.0.1:{port}/postgres")
        started = time.monotonic()
        async with Database(target, connect_timeout=0.5) as db:
            with pytest.raises(DatabaseConnectionError, match=r"timed out after 0\.5s"):
                await db.execute("SELECT 1")
        assert time.monotonic() - started < 3


async def test_the_pool_opens_lazily_and_closes_idempotently(db_info: ConnInfo, admin: Admin) -> None:
    name = f"lazy-{secrets.token_hex(3)}"
    application_name = f"dokploy-mcp:{name}"
    db = Database(db_info, name=name)
    assert backends(admin, application_name) == 0
    assert (await db.execute("SELECT current_setting('application_name')")).rows == [[application_name]]
    assert backends(admin, application_name) >= 1
    await db.aclose()
    await db.aclose()
    # Backends leave pg_stat_activity a moment after their client hangs up.
    for _ in range(100):
        if not backends(admin, application_name):
            break
        await anyio.sleep(0.05)
    assert backends(admin, application_name) == 0
    with pytest.raises(RuntimeError, match="closed"):
        await db.execute("SELECT 1")


async def test_concurrent_executes_share_the_pool(db_info: ConnInfo) -> None:
    results: dict[int, Any] = {}
    name = f"busy-{secrets.token_hex(3)}"

    async def one(i: int) -> None:
        results[i] = await db.execute(
            "SELECT %s::int AS i, (SELECT count(*) FROM pg_stat_activity"
            " WHERE application_name = current_setting('application_name')) AS sessions, pg_sleep(0.05)",
            [i],
        )

    async with Database(db_info, name=name, max_size=3) as db, anyio.create_task_group() as tg:
        for i in range(12):
            tg.start_soon(one, i)
    assert sorted(results) == list(range(12))
    assert all(result.rows[0][0] == i for i, result in results.items())
    assert max(result.rows[0][1] for result in results.values()) <= 3


async def test_server_info_reports_version_user_and_database(db: Database, db_info: ConnInfo) -> None:
    info = await db.server_info()
    assert info.version.startswith("PostgreSQL ")
    assert info.server_version_num >= 150000
    assert (info.current_user, info.is_superuser, info.database) == ("postgres", True, db_info.dbname)
