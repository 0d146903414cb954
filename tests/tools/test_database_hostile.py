"""Parameters of execute_sql are bound server-side: what the guard checked is exactly what runs.

Before, read-only execute_sql classified the statement with its placeholders neutralised, then substituted the
values as text, also where a placeholder stood inside a string literal or a comment: ``SELECT '%s'`` with a
value of ``' || pg_terminate_backend(<pid>)::text || '`` ended another session "read-only". Each shape below
attacks a live victim session (and, with dblink, a table through a second connection): the victim must survive
and the table must keep its rows, on the direct route and on a stack's pg-meta route.
"""

from __future__ import annotations

import contextlib
import secrets
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Literal

import psycopg
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.types import TextContent

from tests.fake_dokploy import FakeDokploy
from tests.pgmeta_server import PgMetaServer, pgmeta_server  # noqa: F401 - session fixture
from tests.tools.test_database import (  # noqa: F401 - fixtures
    call,
    count,
    direct,
    error,
    stack_client,
    stack_login,
    supabase_db,
)

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

# Where a placeholder can hide from a parser that neutralises it, and a value that turns it into a call once the
# value is pasted into the text: out of a string literal, out of a block comment, past the end of a line comment.
SHAPES = {
    "literal": ("SELECT '%s' AS x", "' || {call}::text || '"),
    "block_comment": ("SELECT 1 /* %s */ AS x", "*/ , {call} /*"),
    "line_comment": ("SELECT 1 AS x -- %s", "\n, {call} --"),
}


@contextlib.contextmanager
def victim(database_url: str) -> Iterator[int]:
    """An idle session of another application; yields its pid."""
    application = f"dmcp-victim-{secrets.token_hex(4)}"
    with psycopg.connect(database_url, autocommit=True, application_name=application) as conn:
        row = conn.execute("SELECT pg_backend_pid()").fetchone()
        assert row is not None
        yield int(row[0])


def alive(database_url: str, pid: int) -> bool:
    with psycopg.connect(database_url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
        return row is not None and row[0] == 1


def attack(shape: str, call: str) -> tuple[str, str]:
    """The statement and the parameter value of one shape, the value carrying ``call``."""
    statement, value = SHAPES[shape]
    return statement, value.format(call=call)


def terminate(pid: int) -> str:
    return f"pg_terminate_backend({pid})"


@pytest.mark.parametrize("shape", SHAPES)
def test_the_attack_is_real_when_the_value_is_pasted_into_the_text(supabase_db: str, shape: str) -> None:  # noqa: F811
    """Positive control: pasted as text (psycopg's client-side binding, what execute_sql did), each shape's value
    becomes a call that ends the victim."""
    with victim(supabase_db) as pid:
        statement, value = attack(shape, terminate(pid))
        with psycopg.connect(supabase_db, autocommit=True) as conn:
            pasted = psycopg.ClientCursor(conn).mogrify(statement, [value])
            conn.execute(pasted.encode())
        assert not alive(supabase_db, pid)


@pytest.mark.parametrize("shape", SHAPES)
async def test_a_placeholder_in_a_literal_or_comment_never_runs_its_value(
    direct: Client,  # noqa: F811 - fixture
    supabase_db: str,  # noqa: F811 - fixture
    shape: str,
) -> None:
    with victim(supabase_db) as pid:
        statement, value = attack(shape, terminate(pid))
        message = await error(direct, "execute_sql", sql=statement, params=[value])
        assert "params" in message and "string literal or a comment" in message
        assert alive(supabase_db, pid)


async def test_a_real_placeholder_binds_the_value_as_data(
    direct: Client,  # noqa: F811 - fixture
    supabase_db: str,  # noqa: F811 - fixture
) -> None:
    with victim(supabase_db) as pid:
        _, value = attack("literal", terminate(pid))
        result = await call(direct, "execute_sql", sql="SELECT %s::text AS x", params=[value])
        assert result["rows"] == [[value]]
        assert alive(supabase_db, pid)


@pytest.fixture
def dblink_table(supabase_db: str) -> Iterator[str]:  # noqa: F811 - fixture
    table = f"dmcp_dblink_{secrets.token_hex(4)}"
    with psycopg.connect(supabase_db, autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS dblink")
        conn.execute(f"CREATE TABLE public.{table} (id int)".encode())
    yield f"public.{table}"
    with psycopg.connect(supabase_db, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS public.{table}".encode())


@pytest.mark.parametrize("shape", SHAPES)
async def test_dblink_through_a_hidden_placeholder_commits_nothing(
    direct: Client,  # noqa: F811 - fixture
    supabase_db: str,  # noqa: F811 - fixture
    dblink_table: str,
    shape: str,
) -> None:
    # Dollar quotes: the value holds no single quote that binding or pasting would double.
    call_ = f"dblink_exec($u${supabase_db}$u$, $q$INSERT INTO {dblink_table} VALUES (1)$q$)"
    statement, value = attack(shape, call_)
    await error(direct, "execute_sql", sql=statement, params=[value])
    assert count(supabase_db, dblink_table) == 0


@pytest.fixture
async def stack(
    stack_client: tuple[Client, FakeDokploy, str],  # noqa: F811 - fixture
) -> AsyncIterator[Client]:
    yield stack_client[0]


@pytest.mark.parametrize("shape", SHAPES)
async def test_the_pg_meta_route_refuses_params_and_the_victim_survives(
    stack: Client,
    supabase_db: str,  # noqa: F811 - fixture
    shape: str,
) -> None:
    with victim(supabase_db) as pid:
        statement, value = attack(shape, terminate(pid))
        message = await error(stack, "execute_sql", target="shop/supabase", sql=statement, params=[value])
        assert "params" in message
        assert alive(supabase_db, pid)


# -- statements too large or deep to parse: an error, and the server answers the next call ------------------------

TOO_LARGE = {
    "flat_50kb_expression": "SELECT " + "+".join(["1"] * 25_000),
    "nesting_5000_deep": "SELECT " + "(" * 5_000 + "1" + ")" * 5_000,
}


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_too_large_statements_answer_an_error_and_the_server_lives_on(
    tmp_path: Path,
    supabase_db: str,  # noqa: F811 - fixture
    mode: Literal["legacy", "auto"],
) -> None:
    """Over stdio, in a real process: before, the first of these segfaulted the server (and every session)."""
    server = StdioServerParameters(
        command=sys.executable, args=["-m", "dokploy_mcp"], env={"DATABASE_URL": supabase_db}, cwd=tmp_path
    )
    async with Client(server, mode=mode) as client:
        for name, text in TOO_LARGE.items():
            result = await client.call_tool("execute_sql", {"sql": text})
            assert result.is_error, name
            assert isinstance(result.content[0], TextContent)
            assert "too large or too deeply nested" in result.content[0].text, name
            after = await client.call_tool("execute_sql", {"sql": "SELECT 1 AS one"})
            assert not after.is_error and after.structured_content is not None, name
            assert after.structured_content["rows"] == [[1]]


async def test_too_large_to_check_on_the_write_path_needs_confirmation(
    direct: Client,  # noqa: F811 - fixture
    supabase_db: str,  # noqa: F811 - fixture
) -> None:
    """allow_write can still run it on the direct route (the server accepts one statement), but only confirmed."""
    # Wide, not deep: too many brackets for the guard's bound, nothing PostgreSQL itself minds.
    text = "SELECT array_length(ARRAY[" + ", ".join(["(1)"] * 5_000) + "], 1) AS total"
    preview = await call(direct, "execute_sql", sql=text, allow_write=True)
    assert preview["confirm_token"] and "could not be inspected" in preview["preview"]
    assert preview["rows"] == []
    ran = await call(direct, "execute_sql", sql=text, allow_write=True, confirm_token=preview["confirm_token"])
    assert ran["rows"] == [[5_000]]


async def test_too_large_to_check_is_refused_on_a_stack_even_with_allow_write(stack: Client) -> None:
    text = "SELECT array_length(ARRAY[" + ", ".join(["(1)"] * 5_000) + "], 1) AS total"
    message = await error(stack, "execute_sql", target="shop/supabase", sql=text, allow_write=True)
    assert "split it" in message and "confirm_token" not in message


async def test_an_empty_params_list_runs_the_text_that_was_checked(direct: Client) -> None:  # noqa: F811 - fixture
    """'%%' is one operator token to the parser; psycopg's conversion would send '%': the checked text is the sent."""
    result = await call(direct, "execute_sql", sql="SELECT '100%%' AS x", params=[])
    assert result["rows"] == [["100%%"]]
