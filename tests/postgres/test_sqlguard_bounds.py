"""Bounded parsing: no SQL text can crash the process through the C parser under the guard.

libpg_query recurses once per level of the tree; about 15,000 levels overflow an 8 MB C stack and the process dies
with a segfault (``SELECT 1+1+...`` of 50 KB did, taking every client's session with it). The guard refuses, before
parsing, what could get near that depth. The shapes that recurse deepest per token are parsed at the limit in a
child process, so that a crash fails this test instead of ending the run.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from dokploy_mcp.postgres.errors import SqlRefused, SqlTooComplex
from dokploy_mcp.postgres.limits import MAX_NESTING_TOKENS, MAX_SQL_CHARS
from dokploy_mcp.postgres.sqlguard import check_bounds, classify, single_statement

N = MAX_NESTING_TOKENS

# Each builds a statement with about n tokens that add a level (left-deep chains and nested brackets).
SHAPES = {
    "plus_chain": lambda n: "SELECT " + "1+" * n + "1",
    "concat_chain": lambda n: "SELECT 'a'" + "||'a'" * n,
    "cast_chain": lambda n: "SELECT 1" + "::int" * (n // 2),
    "union_chain": lambda n: "SELECT 1" + " UNION SELECT 1" * (n // 2),
    "at_time_zone_chain": lambda n: "SELECT now()" + " AT TIME ZONE 'UTC'" * (n // 3),
    "join_chain": lambda n: "SELECT 1 FROM t" + " JOIN t ON true" * (n // 3),
    "parentheses": lambda n: "SELECT " + "(" * n + "1" + ")" * n,
    "subqueries": lambda n: "SELECT " + "(SELECT " * (n // 2) + "1" + ")" * (n // 2),
    "function_calls": lambda n: "SELECT " + "abs(" * n + "1" + ")" * n,
    "not_chain": lambda n: "SELECT " + "NOT " * n + "true",
    "case_nesting": lambda n: "SELECT " + "CASE WHEN true THEN " * (n // 3) + "1" + " END" * (n // 3),
}


def test_a_long_flat_expression_is_refused_before_parsing() -> None:
    text = "SELECT " + "+".join("1" * 1 for _ in range(25_000))  # about 50 KB: this crashed the server before
    assert 45_000 < len(text) < MAX_SQL_CHARS
    with pytest.raises(SqlTooComplex) as caught:
        classify(text)
    message = str(caught.value)
    assert "too large or too deeply nested" in message and "split it" in message
    assert caught.value.field == "sql"


def test_deep_nesting_is_refused_before_parsing() -> None:
    with pytest.raises(SqlTooComplex, match="too deeply nested"):
        single_statement("SELECT " + "(" * 5_000 + "1" + ")" * 5_000)


def test_a_text_longer_than_the_limit_is_refused_before_scanning() -> None:
    text = "SELECT '" + "x" * MAX_SQL_CHARS + "'"
    with pytest.raises(SqlTooComplex, match=f"{MAX_SQL_CHARS:,}"):
        check_bounds(text)


def test_long_but_flat_statements_pass() -> None:
    """Names, constants, commas, AND and OR never count: a wide IN list or a long AND chain is fine."""
    in_list = "SELECT * FROM t WHERE id IN (" + ", ".join(str(i) for i in range(10_000)) + ")"
    and_chain = "SELECT * FROM t WHERE " + " AND ".join(f"c{i} = {i}" for i in range(N - 10))
    assert classify(in_list).read_only
    assert classify(and_chain).read_only


def test_a_refusal_is_a_clear_input_error_not_a_parse_error() -> None:
    with pytest.raises(SqlRefused) as caught:
        classify(SHAPES["plus_chain"](N + 1))
    assert "does not parse" not in str(caught.value)


@pytest.mark.parametrize("shape", SHAPES)
def test_the_worst_shapes_just_over_the_limit_are_refused(shape: str) -> None:
    with pytest.raises(SqlTooComplex):
        check_bounds(SHAPES[shape](N + 20))


@pytest.mark.parametrize("shape", SHAPES)
def test_the_worst_shapes_at_the_limit_parse_without_crashing(shape: str) -> None:
    """In a child process: a segfault there fails this test, not the run. An error is fine, a crash is not."""
    script = textwrap.dedent(
        f"""
        from dokploy_mcp.postgres.sqlguard import SqlRefused, check_bounds, classify
        from tests.postgres.test_sqlguard_bounds import SHAPES, N
        text = SHAPES[{shape!r}](N)
        for n in range(N, 0, -1):  # the largest of this shape that the bounds let through
            text = SHAPES[{shape!r}](n)
            try:
                check_bounds(text)
                break
            except SqlRefused:
                continue
        try:
            classify(text)
        except SqlRefused as exc:
            print("refused:", str(exc)[:80])
        print("alive")
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert done.stdout.strip().endswith("alive")
