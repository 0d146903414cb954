"""The escape corpus on the direct route: each entry's effect is real, and read-only mode leaves no trace.

For every entry of :mod:`tests.postgres.escape_corpus`, in a fresh throwaway database each time:

1. positive control: run plainly (superuser or SET ROLE reader, simple protocol, autocommit), the effect is
   observed;
2. the direct read-only route (``require_read_only`` then ``Database.execute(read_only=True)`` on a superuser
   connection): nothing changes, and the guard's verdict is the one the corpus records;
3. ``Database.execute(read_only=True)`` alone, without the guard: leaves a trace exactly when the corpus says
   READ ONLY does not stop it, which is what makes the guard necessary.

Known gaps (the guard allows, READ ONLY does not stop) are asserted as they are: the effect happens on a
superuser connection, and the statement's role stops it only where the corpus says so.
Judged by the observed state, never by an error message.
"""

from __future__ import annotations

from collections import Counter

import pytest

from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres.client import Database
from dokploy_mcp.postgres.conninfo import parse_target
from dokploy_mcp.postgres.errors import DatabaseError, SqlRefused
from dokploy_mcp.postgres.sqlguard import require_read_only

from .escape_corpus import CORPUS, Escape, ObservationContext, Rows, observation, run_plain

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

IDS = [entry.name for entry in CORPUS]
NOISY_ATTEMPTS = 4
GAPS = [entry for entry in CORPUS if entry.gap is not None]
STOPPED = [entry for entry in CORPUS if entry.gap is None]


async def session_rows(db: Database, entry: Escape, role: str | None) -> Rows | str | None:
    if entry.session_probe is None:
        return None
    try:
        result = await db.execute(entry.session_probe, read_only=True, role=role)
    except DatabaseError as exc:
        return f"error {exc}"
    return [[str(value) for value in row] for row in result.rows]


async def run_direct(
    ctx: ObservationContext, entry: Escape, *, guard: bool, as_reader: bool
) -> tuple[bool, object, object]:
    """Run the entry on the direct read-only route; returns (refused by the guard, before, after)."""
    statement = ctx.prepare(entry)
    role = ctx.reader if as_reader else None
    async with Database(parse_target(ctx.db_url), name="escape", max_size=1, connect_timeout=5) as db:
        before = ctx.snapshot(entry, await session_rows(db, entry, role))
        refused = False
        if guard:
            try:
                require_read_only(statement)
            except SqlRefused:
                refused = True
        if not refused:
            try:
                result = await db.execute(statement, read_only=True, role=role, timeout_ms=20_000)
                ctx.output = repr(result.rows)
            except (DatabaseError, InputError) as exc:
                ctx.output = f"error: {exc}"
        # The pool resets a returned connection (DISCARD ALL) in a background task; with one connection, the
        # next statement waits for it, so the observation sees the route as a caller would after it.
        await db.execute("SELECT 1")
        ctx.settle(entry)
        after = ctx.snapshot(entry, await session_rows(db, entry, role))
    return refused, before, after


def test_corpus_size_and_categories() -> None:
    assert len(CORPUS) >= 60
    categories = Counter(entry.category for entry in CORPUS)
    for needed in (
        "dml",
        "ddl",
        "writable_cte",
        "procedural",
        "user_function",
        "copy",
        "transaction_control",
        "multi_statement",
        "comment_quoting",
        "settings",
        "role_escalation",
        "server_function",
        "large_object",
        "server_file",
        "sql_text_runner",
        "session_state",
        "maintenance",
        "locking",
        "known_gap",
    ):
        assert categories[needed] >= 1, needed
    for entry in CORPUS:
        if entry.gap is None:
            assert entry.guard_refuses or entry.read_only_blocks, f"{entry.name} would escape the direct route"
            assert entry.role_stops is None, entry.name
        else:
            assert not entry.guard_refuses and not entry.read_only_blocks and entry.role_stops is not None


@pytest.mark.parametrize("entry", CORPUS, ids=IDS)
def test_positive_control_has_the_effect(entry: Escape, pg_server_url: str) -> None:
    with observation(pg_server_url) as ctx:
        before, after = run_plain(ctx, entry)
        output = ctx.output
    assert before != after, f"run plainly, {entry.name} should have this effect: {entry.effect} (output: {output})"


@pytest.mark.parametrize("entry", STOPPED, ids=[entry.name for entry in STOPPED])
async def test_direct_read_only_route_leaves_no_trace(entry: Escape, pg_server_url: str) -> None:
    for _ in range(NOISY_ATTEMPTS if entry.noisy else 1):
        with observation(pg_server_url) as ctx:
            refused, before, after = await run_direct(ctx, entry, guard=True, as_reader=entry.as_role)
            output = ctx.output
        assert refused == entry.guard_refuses, (
            f"{entry.name}: guard refused={refused}, corpus says {entry.guard_refuses}"
        )
        if before == after:
            return
    pytest.fail(f"{entry.name} escaped the read-only route: {entry.effect} ({before!r} -> {after!r}; output: {output})")


@pytest.mark.parametrize("entry", CORPUS, ids=IDS)
async def test_read_only_transaction_alone(entry: Escape, pg_server_url: str) -> None:
    """Without the guard: no trace exactly when the corpus says READ ONLY (and the route) stops it."""
    attempts = NOISY_ATTEMPTS if entry.noisy and entry.read_only_blocks else 1
    for _ in range(attempts):
        with observation(pg_server_url) as ctx:
            _, before, after = await run_direct(ctx, entry, guard=False, as_reader=entry.as_role)
            output = ctx.output
        if (before == after) == entry.read_only_blocks:
            return
    state = "left no trace" if before == after else f"had its effect ({entry.effect})"
    pytest.fail(
        f"{entry.name}: Database.execute(read_only=True) alone {state}, but the corpus says "
        f"read_only_blocks={entry.read_only_blocks} (output: {output})"
    )


@pytest.mark.parametrize("entry", GAPS, ids=[entry.name for entry in GAPS])
async def test_known_gaps(entry: Escape, pg_server_url: str) -> None:
    """Documented escapes: if one of these starts failing, the gap closed; update the corpus entry."""
    with observation(pg_server_url) as ctx:
        refused, before, after = await run_direct(ctx, entry, guard=True, as_reader=False)
    assert not refused, f"{entry.name}: the guard now refuses it; move it out of the known gaps"
    assert before != after, f"{entry.name}: no longer escapes on a superuser connection ({entry.gap})"
    with observation(pg_server_url) as ctx:
        refused, before, after = await run_direct(ctx, entry, guard=True, as_reader=True)
    assert (before == after) == entry.role_stops, (
        f"{entry.name}: with a non-superuser statement role the effect "
        f"{'was' if before != after else 'was not'} seen; corpus says role_stops={entry.role_stops}"
    )
