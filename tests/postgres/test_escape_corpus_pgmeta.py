"""The escape corpus on the pg-meta route: each entry's effect is real through pg-meta, and read-only mode leaves none.

One real pg-meta (tools/pgmeta, 0.96.6) runs for this module, its own connection (``PG_META_DB_URL``) a superuser's
on a database name that each entry's fresh throwaway database takes in turn (:func:`observation_named`). Two
connection kinds reach that database through it:

* ``superuser``: pg-meta's own connection, no ``connect_as`` (what a stack's pg-meta does as ``supabase_admin``);
  entries marked ``as_role`` run with ``role=`` the corpus' reader (``SET LOCAL ROLE``), as on the direct route;
* ``login``: ``connect_as`` the corpus' reader, made a LOGIN role: a non-superuser session user, the stronger guard
  the tools use on stacks.

For every entry, in one fresh database (the read-only runs leave it as it was, so the control can follow them):

1. the guarded route on each connection kind: ``require_read_only`` then ``PgMetaRoute.execute(read_only=True)``,
   whichever refuses first; nothing changes, and the guard's verdict is the corpus';
2. the route alone (no guard) on the superuser connection, where the corpus says READ ONLY stops it: nothing
   changes, and a text of several statements is refused before anything reaches pg-meta;
3. the positive control, read-only off: the text posted to pg-meta as it is (its simple protocol, autocommit, the
   superuser connection, ``SET ROLE`` reader first for ``as_role`` entries) has the effect.

The entries READ ONLY does not stop have their own check that the route alone, without the guard, leaves a trace on
a superuser connection. The known gaps (the guard allows them, READ ONLY does not stop them) are asserted as they
are on each connection kind, so that a test fails when one closes. pg-meta's own ways are checked too: each request
is a new connection (no session state survives it: there is no DISCARD ALL, and none is needed); a server whose
standard_conforming_strings is off would split the parser's one statement into several: the route refuses it; a
client-only client_encoding (SJIS) would too, for a client that takes the server's encoding: pg-meta's driver does not.
Judged by the observed state (rows, catalog, files, other sessions), never by an error message.
"""

from __future__ import annotations

import contextlib
import json
import secrets
import threading
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Literal

import httpx
import psycopg
import pytest
from psycopg import sql as psql
from pydantic import SecretStr

from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres.errors import DatabaseError, SqlRefused
from dokploy_mcp.postgres.pgmeta import PgMetaClient
from dokploy_mcp.postgres.pgmeta_route import PgMetaRoute
from dokploy_mcp.postgres.sqlguard import require_read_only, single_statement
from tests.pgmeta_server import PgMetaServer, _url_from_conninfo, running_pgmeta

from .escape_corpus import (
    CORPUS,
    ROWS,
    TABLE,
    Escape,
    ObservationContext,
    observation,
    observation_named,
)
from .escape_corpus import run_plain as run_plain_direct

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

Kind = Literal["superuser", "login"]
KINDS: tuple[Kind, ...] = ("superuser", "login")
NOISY_ATTEMPTS = 4
HOLD_S = 1.0

#: pg-meta-only entries, run like the corpus': a server (here the database) with standard_conforming_strings off
#: reads ``'x\'`` as an escaped quote, so the parser's one SELECT is SELECT; COMMIT; DELETE; COMMIT to the server,
#: and the COMMIT ends the route's READ ONLY transaction. The guard allows it (one SELECT of two literals); the
#: route reads the setting through the same connection first and refuses.
SCS_SMUGGLED_COMMIT = Escape(
    name="scs_off_smuggled_commit",
    category="comment_quoting",
    sql="SELECT 'x\\' , '; COMMIT; DELETE FROM escape_t; COMMIT; --' AS v",
    effect="every row goes, after a COMMIT the server reads where the parser sees a string",
    probe=ROWS,
    read_only_blocks=True,  # on this route, by its standard_conforming_strings check (the wrapper alone does not)
    guard_refuses=False,
    setup=(*TABLE, "ALTER DATABASE {db} SET standard_conforming_strings = off"),
)
EXTRA = (SCS_SMUGGLED_COMMIT,)
#: Not an escape on pg-meta, checked apart: with a client-only encoding (SJIS) as the database's client_encoding, the
#: UTF-8 bytes of "Á" (C3 81) and the backslash after them (5C) are two characters to the server (C3, 815C): the
#: ``\'`` the parser sees is gone and E'...' ends early, before ``; COMMIT; DELETE ...``. A client that leaves the
#: encoding to the server splits the statement; pg-meta's driver sends client_encoding=UTF8 at startup, which wins.
ENCODING_SMUGGLED_COMMIT = Escape(
    name="client_encoding_smuggled_commit",
    category="comment_quoting",
    sql="SELECT E'\u00c1\\' ; COMMIT; DELETE FROM escape_t; COMMIT; --' AS v",
    effect="every row goes, after a COMMIT the server reads where the parser sees a string",
    probe=ROWS,
    read_only_blocks=True,
    guard_refuses=False,
    setup=(*TABLE, "GRANT DELETE ON escape_t TO {reader}", "ALTER DATABASE {db} SET client_encoding = 'SJIS'"),
)
#: Entries the route itself refuses after the guard let them through.
ROUTE_REFUSES = {SCS_SMUGGLED_COMMIT.name}

GAPS = [entry for entry in CORPUS if entry.gap is not None]
STOPPED = [*(entry for entry in CORPUS if entry.gap is None), *EXTRA]

#: Stopped by the route alone on pg-meta although the corpus says READ ONLY does not stop it on the direct route.
ROUTE_ALONE_BLOCKS = {
    "load_library": "pg-meta closes its connection after each request: the library goes with the server process, "
    "where the direct route's pool keeps the process (and the library) for the next statement",
}


def route_alone_blocks(entry: Escape) -> bool:
    return entry.read_only_blocks or entry.name in ROUTE_ALONE_BLOCKS


#: The guard's part: what READ ONLY and the route alone let through (the known gaps are checked on their own).
ALONE_ESCAPES = [entry for entry in STOPPED if not route_alone_blocks(entry)]

#: The known gaps on a ``connect_as`` login that is not a superuser: stopped (True) or not (False). This differs from
#: the corpus' ``role_stops`` (SET LOCAL ROLE on a superuser session) where the session user matters.
LOGIN_STOPS = {
    "gap_view_terminates_backend": True,  # the login may not signal a superuser's backend
    "gap_foreign_table_program": False,  # file_fdw runs the table's program for whoever may SELECT from it
}

#: pg-meta ends its connection with each request, so these effects live only while the request runs: the control
#: holds the connection open after the statement (committing first where the effect needs it) and looks meanwhile.
HELD = {
    "advisory_lock": f"\n;\nSELECT pg_sleep({HOLD_S})",
    "try_advisory_lock_shared": f"\n;\nSELECT pg_sleep({HOLD_S})",
    "lock_table_chain": f"\n;\nSELECT pg_sleep({HOLD_S})",
    "create_temp_table": f"\n;\nCOMMIT;\nSELECT pg_sleep({HOLD_S})",
}


# -- the pg-meta under test ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Stand:
    """One pg-meta whose own (superuser) connection names ``db``, and the PostgreSQL server it runs on."""

    pgmeta: PgMetaServer
    server_url: str
    db: str

    @contextlib.contextmanager
    def observation(self) -> Iterator[ObservationContext]:
        """A fresh database under pg-meta's name; its reader may log in, for ``connect_as``."""
        with observation_named(self.server_url, self.db) as ctx:
            ctx.admin(psql.SQL("ALTER ROLE {} LOGIN").format(psql.Identifier(ctx.reader)).as_string(None))
            yield ctx

    def post(self, text: str) -> tuple[int, object]:
        """``text`` posted to pg-meta's /query as it is, on its own connection: no wrapper, no guard."""
        response = httpx.post(f"{self.pgmeta.url}/query", json={"query": text}, timeout=60.0)
        return response.status_code, response.json()


@pytest.fixture(scope="module")
def stand(pg_server_url: str) -> Iterator[Stand]:
    """Start pg-meta on a free loopback port, its PG_META_DB_URL on this module's database name; stop it at the end."""
    db = f"dokploy_mcp_escape_pgmeta_{secrets.token_hex(4)}"
    info = psycopg.conninfo.conninfo_to_dict(pg_server_url)
    info["dbname"] = db
    database_url = _url_from_conninfo(psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v}))
    try:
        with running_pgmeta(database_url, log_prefix="pgmeta-escape-") as pgmeta:
            yield Stand(pgmeta=pgmeta, server_url=pg_server_url, db=db)
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:  # only left by an interrupted observation
            conn.execute(psql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psql.Identifier(db)))


class Counting(httpx.AsyncBaseTransport):
    """A real transport that counts the requests sent: what reached pg-meta."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.sent = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.sent += 1
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


@contextlib.asynccontextmanager
async def open_route(stand: Stand, ctx: ObservationContext, kind: Kind) -> AsyncIterator[tuple[PgMetaRoute, Counting]]:
    counting = Counting()
    if kind == "superuser":
        route = PgMetaRoute(PgMetaClient.direct(stand.pgmeta.url, transport=counting))
    else:
        route = PgMetaRoute(
            PgMetaClient.direct(
                stand.pgmeta.url,
                connect_as=stand.pgmeta.database_url_as(ctx.reader),
                crypto_key=SecretStr(stand.pgmeta.crypto_key),
                transport=counting,
            )
        )
    async with route:
        yield route, counting


# -- running an entry ---------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    before: object
    after: object
    output: str
    refused_by: Literal["guard", "route"] | None = None
    sent: int = 0  # requests that reached pg-meta for the statement itself

    @property
    def trace(self) -> bool:
        return self.before != self.after

    def __str__(self) -> str:
        refused = f"refused by the {self.refused_by}, " if self.refused_by else ""
        return f"{refused}{self.before!r} -> {self.after!r}; output: {self.output[:500]}"


async def session_rows(route: PgMetaRoute, entry: Escape, role: str | None) -> object:
    """The entry's session probe through the route: a request of its own, so a connection of its own."""
    if entry.session_probe is None:
        return None
    try:
        result = await route.execute(entry.session_probe, read_only=True, role=role)
    except DatabaseError as exc:
        return f"error {exc}"
    return [[str(value) for value in row] for row in result.rows]


async def run_route(
    stand: Stand, ctx: ObservationContext, entry: Escape, statement: str, kind: Kind, *, guard: bool, as_reader: bool
) -> Outcome:
    """The read-only route on one connection kind: the guard (when asked), then ``PgMetaRoute.execute``."""
    role = ctx.reader if as_reader and kind == "superuser" else None
    ctx.output = ""
    async with open_route(stand, ctx, kind) as (route, counting):
        before = ctx.snapshot(entry, await session_rows(route, entry, role))
        refused_by: Literal["guard", "route"] | None = None
        if guard:
            try:
                require_read_only(statement)
            except SqlRefused:
                refused_by = "guard"
        sent = counting.sent
        if refused_by is None:
            try:
                result = await route.execute(statement, read_only=True, role=role, timeout_ms=20_000)
                ctx.output = repr(result.rows)
            except SqlRefused as exc:
                refused_by = "route"
                ctx.output = f"refused: {exc}"
            except (DatabaseError, InputError) as exc:
                ctx.output = f"error: {exc}"
        sent = counting.sent - sent
        if sent:  # asynchronous effects need time to show; a statement that was never sent has none
            ctx.settle(entry)
        after = ctx.snapshot(entry, await session_rows(route, entry, role))
    return Outcome(before, after, ctx.output, refused_by, sent)


def one_row(probe: str) -> str:
    """A session probe as one row in one column: pg-meta answers the last result that has rows."""
    if probe.upper().startswith("SHOW "):
        return f"SELECT pg_catalog.current_setting('{probe[5:].strip()}') AS session"
    return f"SELECT coalesce(json_agg(p), '[]'::json) AS session FROM ({probe}) AS p"


def run_plain(stand: Stand, ctx: ObservationContext, entry: Escape, statement: str) -> Outcome:
    """The positive control through pg-meta, read-only off: the statement posted as it is, on pg-meta's connection.

    ``as_role`` entries run after ``SET ROLE`` reader in the same text. A session's state is looked at in the same
    request (pg-meta's connection ends with it), after a COMMIT; the effects in :data:`HELD` are looked at from outside
    while the request holds its connection open.
    """
    ctx.output = ""
    prefix = psql.SQL("SET ROLE {};\n").format(psql.Identifier(ctx.reader)).as_string(None) if entry.as_role else ""
    text = prefix + statement
    session_before: object = None
    if entry.session_probe is not None:
        probe = one_row(entry.session_probe)
        status, session_before = stand.post(prefix + probe)
        assert status == 200, f"the session probe fails: {session_before}"
        text += "\n;\nCOMMIT;\n" + probe
    text += HELD.get(entry.name, "")
    before = ctx.snapshot(entry, session_before)
    answer: list[tuple[int, object]] = []

    def send() -> None:
        try:
            answer.append(stand.post(text))
        except (httpx.HTTPError, ValueError) as exc:
            answer.append((0, f"{type(exc).__name__}: {exc}"))

    poster = threading.Thread(target=send, daemon=True)
    poster.start()
    after = before
    if entry.name in HELD:
        deadline = time.monotonic() + HOLD_S + 10
        while poster.is_alive() and time.monotonic() < deadline:
            after = ctx.snapshot(entry, session_before)
            if after != before:
                break
            time.sleep(0.05)
    poster.join(timeout=70)
    status, body = answer[0] if answer else (0, "no answer")
    ctx.output = json.dumps(body)
    if entry.name not in HELD:
        ctx.settle(entry)
        # A failed request shows no session state: the error is not an effect.
        after = ctx.snapshot(entry, body if status == 200 and entry.session_probe is not None else session_before)
    return Outcome(before, after, f"{status} {ctx.output}")


def several_statements(statement: str) -> bool:
    try:
        single_statement(statement)
    except SqlRefused:
        return True
    return False


async def check_stopped(stand: Stand, ctx: ObservationContext, entry: Escape) -> list[str]:
    """Every read-only run of ``entry`` in one database, then its positive control; what went wrong, if anything."""
    problems: list[str] = []
    statement = ctx.prepare(entry)
    expected_refusal = "guard" if entry.guard_refuses else ("route" if entry.name in ROUTE_REFUSES else None)
    for kind in KINDS:
        outcome = await run_route(stand, ctx, entry, statement, kind, guard=True, as_reader=entry.as_role)
        if outcome.refused_by != expected_refusal:
            problems.append(f"{kind}: expected a refusal by {expected_refusal}, got {outcome}")
        if outcome.trace:
            problems.append(f"{kind}: the guarded read-only route let it through: {entry.effect} ({outcome})")
    if route_alone_blocks(entry):
        outcome = await run_route(stand, ctx, entry, statement, "superuser", guard=False, as_reader=entry.as_role)
        if outcome.trace:
            problems.append(f"route alone: READ ONLY and the route did not stop it: {entry.effect} ({outcome})")
        if several_statements(statement) and (outcome.refused_by, outcome.sent) != ("route", 0):
            problems.append(f"route alone: several statements were not refused before sending ({outcome})")
    control = run_plain(stand, ctx, entry, statement)
    if not control.trace:
        problems.append(
            f"positive control: run plainly through pg-meta it should have this effect: {entry.effect} ({control})"
        )
    return problems


# -- the tests ----------------------------------------------------------------------------------------------------


def test_every_entry_is_covered() -> None:
    assert len(CORPUS) >= 60
    names = {entry.name for entry in [*STOPPED, *GAPS]}
    assert names >= {entry.name for entry in CORPUS}
    assert len(names) == len(CORPUS) + len(EXTRA)
    assert set(LOGIN_STOPS) == {entry.name for entry in GAPS}
    assert set(ROUTE_ALONE_BLOCKS) | set(HELD) <= names
    assert Counter(entry.category for entry in GAPS) == {"known_gap": len(GAPS)}


async def test_the_two_connection_kinds(stand: Stand) -> None:
    with stand.observation() as ctx:
        seen = {}
        for kind in KINDS:
            async with open_route(stand, ctx, kind) as (route, _):
                result = await route.execute(
                    "SELECT current_database() AS db, session_user AS login,"
                    " (SELECT rolsuper FROM pg_roles WHERE rolname = session_user) AS super"
                )
            seen[kind] = result.rows
    assert seen == {"superuser": [[stand.db, "postgres", True]], "login": [[stand.db, ctx.reader, False]]}


async def test_each_request_is_a_new_connection(stand: Stand) -> None:
    """No session state outlives a request (no DISCARD ALL is sent, none is needed): the session probes of the corpus
    therefore look at a new session each time, and effects held by a session end with the request."""

    with stand.observation() as ctx:

        def gone(pid: object) -> bool:
            deadline = time.monotonic() + 5
            while ctx.admin("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid]) != [["0"]]:
                if time.monotonic() > deadline:
                    return False
                time.sleep(0.02)
            return True

        for kind in KINDS:
            async with open_route(stand, ctx, kind) as (route, _):
                first = await route.execute(
                    "SELECT pg_backend_pid() AS pid, set_config('work_mem', '7777kB', false) AS set,"
                    " pg_advisory_lock(4711) AS locked",
                    read_only=False,
                )
                pid = first.rows[0][0]
                assert gone(pid), f"{kind}: pg-meta kept its connection after answering"
                second = await route.execute(
                    "SELECT pg_backend_pid() AS pid, current_setting('work_mem') AS work_mem,"
                    " (SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND database ="
                    " (SELECT oid FROM pg_database WHERE datname = current_database())) AS advisory"
                )
            next_pid, work_mem, advisory = second.rows[0]
            assert pid != next_pid, kind
            assert work_mem != "7777kB" and advisory == 0, kind
            assert gone(next_pid), f"{kind}: pg-meta kept its connection after answering"


@pytest.mark.parametrize("entry", STOPPED, ids=[entry.name for entry in STOPPED])
async def test_read_only_leaves_no_trace_on_either_connection(entry: Escape, stand: Stand) -> None:
    problems: list[str] = []
    for _ in range(NOISY_ATTEMPTS if entry.noisy else 1):
        with stand.observation() as ctx:
            problems = await check_stopped(stand, ctx, entry)
        if not problems:
            return
    pytest.fail(f"{entry.name}:\n" + "\n".join(problems))


@pytest.mark.parametrize("entry", ALONE_ESCAPES, ids=[entry.name for entry in ALONE_ESCAPES])
async def test_read_only_alone_is_not_enough_on_a_superuser_connection(entry: Escape, stand: Stand) -> None:
    """Without the guard, the route's READ ONLY transaction does not stop these: the guard is what does."""
    with stand.observation() as ctx:
        statement = ctx.prepare(entry)
        outcome = await run_route(stand, ctx, entry, statement, "superuser", guard=False, as_reader=entry.as_role)
    assert outcome.refused_by is None
    assert outcome.trace, f"{entry.name}: the route alone now stops it; add it to ROUTE_ALONE_BLOCKS ({outcome})"


@pytest.mark.parametrize("entry", GAPS, ids=[entry.name for entry in GAPS])
async def test_known_gaps(entry: Escape, stand: Stand) -> None:
    """Documented escapes: if one of these starts failing, the gap closed; update the corpus entry or LOGIN_STOPS."""
    runs: list[tuple[Kind, bool]] = [("superuser", False), ("superuser", True), ("login", False)]
    outcomes = []
    for kind, as_reader in runs:
        with stand.observation() as ctx:
            outcomes.append(
                await run_route(stand, ctx, entry, ctx.prepare(entry), kind, guard=True, as_reader=as_reader)
            )
    with stand.observation() as ctx:
        control = run_plain(stand, ctx, entry, ctx.prepare(entry))
    superuser, as_role, login = outcomes
    assert control.trace, f"{entry.name}: run plainly it should have this effect: {entry.effect} ({control})"
    assert all(outcome.refused_by is None for outcome in outcomes), f"{entry.name}: now refused; not a gap any more"
    assert superuser.trace, f"{entry.name}: no longer escapes on pg-meta's superuser connection ({superuser})"
    assert (not as_role.trace) == entry.role_stops, (
        f"{entry.name}: with SET LOCAL ROLE reader the effect {'was' if as_role.trace else 'was not'} seen; "
        f"corpus says role_stops={entry.role_stops} ({as_role})"
    )
    assert (not login.trace) == LOGIN_STOPS[entry.name], (
        f"{entry.name}: on the non-superuser login the effect {'was' if login.trace else 'was not'} seen; "
        f"LOGIN_STOPS says {LOGIN_STOPS[entry.name]} ({login})"
    )


async def test_without_the_standard_strings_check_the_smuggled_commit_escapes(stand: Stand) -> None:
    """What the route's standard_conforming_strings check stops: its READ ONLY wrapper alone does not."""
    entry = SCS_SMUGGLED_COMMIT
    with stand.observation() as ctx:
        statement = ctx.prepare(entry)
        require_read_only(statement)  # one SELECT to the parser
        before = entry.probe(ctx)
        status, body = stand.post(f"BEGIN READ ONLY;\nSET LOCAL statement_timeout = 20000;\n{statement}\n;\nROLLBACK;")
        after = entry.probe(ctx)
    assert before != after, f"the wrapper alone should let the smuggled COMMIT through ({status} {body})"


async def test_a_client_only_encoding_cannot_split_the_statement(stand: Stand, pg_server_url: str) -> None:
    """pg-meta's driver reads the text as UTF-8 whatever the database's client_encoding says, as the parser does."""
    entry = ENCODING_SMUGGLED_COMMIT
    with observation(pg_server_url) as ctx:
        before, after = run_plain_direct(ctx, entry)  # psycopg, plainly: the database's client encoding
    assert before != after, f"a client in the database's encoding should split it ({ctx.output})"
    with stand.observation() as ctx:
        statement = ctx.prepare(entry)
        assert ctx.admin("SHOW client_encoding") == [["SJIS"]]
        require_read_only(statement)  # one SELECT of one string to the parser
        for kind in KINDS:
            outcome = await run_route(stand, ctx, entry, statement, kind, guard=True, as_reader=False)
            assert (outcome.refused_by, outcome.trace) == (None, False), f"{kind}: {outcome}"
            async with open_route(stand, ctx, kind) as (route, _):
                assert (await route.execute("SHOW client_encoding")).rows == [["UTF8"]], kind
        # Even plainly, read-only off: pg-meta runs one SELECT.
        before = entry.probe(ctx)
        status, body = stand.post(statement)
        assert (status, entry.probe(ctx)) == (200, before), body
