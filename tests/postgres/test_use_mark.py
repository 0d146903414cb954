"""A confirm token's use mark on both routes, against the real PostgreSQL and the real pg-meta.

The mark records the token's id in ``dokploy_mcp.used_confirmations`` in the statement's own transaction: the
statement and the mark commit together or not at all, a second use fails on the table's key (SQLSTATE DMU01, from
any process: the database decides), and a login that may not write the table is told so (DMU02), the statement not
having run.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator
from typing import Any

import anyio
import psycopg
import pytest
from psycopg import sql
from pydantic import SecretStr

from dokploy_mcp.postgres.client import Database
from dokploy_mcp.postgres.conninfo import parse_target
from dokploy_mcp.postgres.errors import DatabaseQueryError
from dokploy_mcp.postgres.pgmeta import PgMetaClient
from dokploy_mcp.postgres.pgmeta_route import PgMetaRoute, _compose, _parse
from dokploy_mcp.postgres.statement import (
    MARK_REFUSED_SQLSTATE,
    TOKEN_USED_SQLSTATE,
    StatementRunner,
    UseMark,
)
from tests.pgmeta_server import PgMetaServer, pgmeta_server, pgmeta_url  # noqa: F401  (fixtures)

from .conftest import Admin, Roles

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


def mark() -> UseMark:
    return UseMark(secrets.token_hex(16), "execute_sql")


def marked(admin: Admin, use: UseMark) -> list[tuple[Any, ...]]:
    if admin("SELECT to_regclass('dokploy_mcp.used_confirmations')") == [(None,)]:
        return []
    return admin("SELECT tool FROM dokploy_mcp.used_confirmations WHERE token_id = %s", [use.token_id])


def rows(admin: Admin, table: str) -> list[tuple[Any, ...]]:
    return admin(sql.SQL("SELECT id, note FROM {} ORDER BY id").format(sql.Identifier(table)))


@pytest.fixture(params=["direct", "pg-meta"])
async def runner(
    request: pytest.FixtureRequest,
    db: Database,
    pgmeta_url: str,  # noqa: F811
) -> AsyncIterator[StatementRunner]:
    if request.param == "direct":
        yield db
    else:
        async with PgMetaRoute(PgMetaClient.direct(pgmeta_url)) as route:
            yield route


async def test_a_marked_statement_runs_once(runner: StatementRunner, table: str, admin: Admin) -> None:
    use = mark()
    await runner.execute(f"INSERT INTO {table} VALUES (1, 'once')", read_only=False, mark=use)
    assert marked(admin, use) == [("execute_sql",)]
    with pytest.raises(DatabaseQueryError) as caught:
        await runner.execute(f"INSERT INTO {table} VALUES (2, 'twice')", read_only=False, mark=use)
    assert caught.value.sqlstate == TOKEN_USED_SQLSTATE
    assert rows(admin, table) == [(1, "once")]


async def test_a_failing_statement_leaves_no_mark(runner: StatementRunner, table: str, admin: Admin) -> None:
    use = mark()
    with pytest.raises(DatabaseQueryError) as caught:
        await runner.execute(
            f"INSERT INTO {table} SELECT g, (1 / (g - 2))::text FROM generate_series(1, 3) g", read_only=False, mark=use
        )
    assert caught.value.sqlstate == "22012"
    assert marked(admin, use) == [] and rows(admin, table) == []
    await runner.execute(f"INSERT INTO {table} VALUES (5, 'later')", read_only=False, mark=use)
    assert marked(admin, use) == [("execute_sql",)] and rows(admin, table) == [(5, "later")]


async def test_the_mark_is_made_by_the_login_before_the_role_switch(
    runner: StatementRunner, roles: Roles, admin: Admin
) -> None:
    # The role has no right on the table: the mark must be the connected login's.
    use = mark()
    result = await runner.execute("SELECT current_user::text AS who", read_only=False, role=roles.group, mark=use)
    assert result.rows == [[roles.group]]
    assert marked(admin, use) == [("execute_sql",)]


async def test_unmarked_statements_leave_the_table_alone(runner: StatementRunner, table: str, admin: Admin) -> None:
    await runner.execute("SELECT 1", read_only=False, mark=mark())  # the table exists from here on
    before = admin("SELECT count(*) FROM dokploy_mcp.used_confirmations")
    await runner.execute(f"SELECT count(*) FROM {table}")
    await runner.execute(f"INSERT INTO {table} VALUES (9, 'unmarked')", read_only=False)
    assert admin("SELECT count(*) FROM dokploy_mcp.used_confirmations") == before


async def test_a_login_that_may_not_write_the_table_is_told_so(
    roles: Roles,
    pg_database_url: str,
    pgmeta_server: PgMetaServer,  # noqa: F811
    admin: Admin,
) -> None:
    info = parse_target(pg_database_url)
    member_url = psycopg.conninfo.make_conninfo(info.to_conninfo(), user=roles.member)
    routes: list[StatementRunner] = [
        Database(parse_target(member_url), name="member", connect_timeout=5),
        PgMetaRoute(
            PgMetaClient.direct(
                pgmeta_server.url,
                connect_as=pgmeta_server.database_url_as(roles.member),
                crypto_key=SecretStr(pgmeta_server.crypto_key),
            )
        ),
    ]
    channel = f"ch_{secrets.token_hex(4)}"
    for route in routes:
        try:
            with psycopg.connect(pg_database_url, autocommit=True) as listener:
                listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
                with pytest.raises(DatabaseQueryError) as caught:
                    await route.execute(f"SELECT pg_notify('{channel}', 'ran')", read_only=False, mark=mark())
                assert list(listener.notifies(timeout=0.5, stop_after=1)) == []  # the statement did not run
        finally:
            await route.aclose()  # type: ignore[attr-defined]
        assert caught.value.sqlstate == MARK_REFUSED_SQLSTATE
        assert "dokploy_mcp.used_confirmations" in str(caught.value) and "README" in str(caught.value)


async def test_a_concurrent_replay_waits_and_is_refused(db: Database, table: str, pg_database_url: str) -> None:
    use = mark()
    await db.execute("SELECT 1", read_only=False, mark=mark())  # the table exists
    with psycopg.connect(pg_database_url) as first:
        first.execute(use.sql())  # the first use, not committed yet
        outcome: list[BaseException] = []

        async def replay() -> None:
            try:
                await db.execute(f"INSERT INTO {table} VALUES (1, 'replayed')", read_only=False, mark=use)
            except DatabaseQueryError as exc:
                outcome.append(exc)

        async with anyio.create_task_group() as group:
            group.start_soon(replay)
            await anyio.sleep(0.3)
            first.commit()
    assert [getattr(exc, "sqlstate", None) for exc in outcome] == [TOKEN_USED_SQLSTATE]


async def test_marks_older_than_a_day_are_purged(db: Database, admin: Admin) -> None:
    await db.execute("SELECT 1", read_only=False, mark=mark())  # the table exists
    old, recent = mark(), mark()
    admin(
        "INSERT INTO dokploy_mcp.used_confirmations (token_id, tool, used_at) VALUES "
        "(%s, 'execute_sql', now() - interval '25 hours'), (%s, 'execute_sql', now() - interval '23 hours')",
        [old.token_id, recent.token_id],
    )
    await db.execute("SELECT 1", read_only=False, mark=mark())
    assert marked(admin, old) == [] and marked(admin, recent) == [("execute_sql",)]


def test_the_mark_counts_as_a_wrapper_in_pg_metas_text() -> None:
    use = mark()
    text, expected = _compose("DELETE FROM t", read_only=False, timeout_ms=1000, settings=[], role="r", mark=use.sql())
    statements = _parse(text)
    assert len(statements) == expected == 6
    assert text.index(use.token_id) < text.index("SET LOCAL ROLE") < text.index("DELETE FROM t")


@pytest.mark.parametrize("token_id, tool", [("x' OR true --", "execute_sql"), ("ab" * 16, "t'; DROP")])
def test_only_hex_ids_and_tool_names_go_into_the_mark(token_id: str, tool: str) -> None:
    with pytest.raises(ValueError):
        UseMark(token_id, tool)
