"""Run one SQL statement per call on a pooled PostgreSQL connection, safely bounded.

Each :meth:`Database.execute` is its own transaction: ``SET TRANSACTION READ ONLY`` (when read-only),
``SET LOCAL statement_timeout``, the confirm token's use mark when there is one
(:class:`~dokploy_mcp.postgres.statement.UseMark`), an optional ``SET LOCAL ROLE`` after a membership check, the
statement, then ROLLBACK (read-only) or COMMIT.

The statement is sent with libpq's extended query protocol (``PQsendQueryParams``), always, even without
parameters. psycopg's ``execute()`` sends parameterless text with the simple protocol, where
``SELECT 1; COMMIT; DELETE ...`` runs as three statements and the COMMIT ends the read-only transaction.
Under the extended protocol the server itself refuses a string holding more than one statement
(SQLSTATE 42601, "cannot insert multiple commands into a prepared statement"). Rows arrive in libpq's
chunked (or single-row) mode, so a large result is never held in memory: reading stops at the row or byte
cap, and a read-only statement that still has rows to send is cancelled (:mod:`dokploy_mcp.postgres.wire`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any, Self, Unpack

import psycopg
from psycopg import pq, sql
from psycopg.rows import dict_row
from psycopg.types.string import TextLoader
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from pydantic import BaseModel, ConfigDict

from dokploy_mcp import redact
from dokploy_mcp.errors import DokployMCPError, InputError
from dokploy_mcp.postgres.conninfo import ConnInfo
from dokploy_mcp.postgres.errors import (
    DatabaseConnectionError,
    DatabaseError,
    DatabaseQueryError,
    DatabaseTimeoutError,
    RoleNotPermittedError,
    statement_error,
)
from dokploy_mcp.postgres.statement import (
    Column,
    Params,
    QueryResult,
    Run,
    RunOptions,
    ScriptResult,
    require_statement,
)
from dokploy_mcp.postgres.wire import AsyncConn, Outcome, encode, run_extended

__all__ = ["Database", "ServerInfo"]

logger = logging.getLogger(__name__)

# Extra time the client waits beyond statement_timeout before it gives up on a silent server.
_CLIENT_GRACE_S = 15.0
_MAX_NOTICES = 20


class ServerInfo(BaseModel):
    """Who and where we are connected."""

    model_config = ConfigDict(frozen=True)

    version: str
    server_version_num: int
    current_user: str
    is_superuser: bool
    database: str


class Database:
    """A lazily opened connection pool to one database, running one bounded statement per call.

    The pool opens on first use and closes with :meth:`aclose` (or ``async with``). Safe to share between
    concurrent tasks; at most ``max_size`` statements run at once, the others wait for a connection.
    """

    def __init__(
        self,
        target: ConnInfo,
        *,
        name: str = "default",
        max_size: int = 4,
        connect_timeout: float = 10.0,
    ) -> None:
        if max_size < 1:
            raise InputError("max_size must be at least 1", field="max_size")
        if connect_timeout <= 0:
            raise InputError("connect_timeout must be positive", field="connect_timeout")
        self._info = target
        self.name = name
        self.target = target.masked()
        self._max_size = max_size
        self._connect_timeout = connect_timeout
        self._pool: AsyncConnectionPool[AsyncConn] | None = None
        self._open_lock = asyncio.Lock()
        self._closed = False

    def __repr__(self) -> str:
        return f"Database(name={self.name!r}, target={self.target!r})"

    @property
    def conninfo(self) -> ConnInfo:
        """Where this pool connects (password included): for a flow that needs connections of its own (COPY)."""
        return self._info

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the pool and its connections. Safe to call more than once."""
        async with self._open_lock:
            self._closed = True
            pool, self._pool = self._pool, None
        if pool is not None:
            await pool.close()
            logger.debug("closed pool of database %r", self.name)

    async def execute(self, statement: str, params: Params | None = None, **options: Unpack[RunOptions]) -> QueryResult:
        """Run exactly one statement in its own transaction and return at most ``max_rows`` JSON-safe rows.

        ``params`` fill ``%s`` / ``%(name)s`` placeholders, bound server-side: the text sent is
        :func:`~dokploy_mcp.postgres.wire.numbered` (placeholders as ``$n``) and the values travel apart, so no value is
        ever parsed as SQL; without params the text is sent verbatim.

        ``options`` are :class:`~dokploy_mcp.postgres.statement.RunOptions`: ``read_only`` runs it in a READ ONLY
        transaction that is rolled back; otherwise the transaction is committed. ``role`` switches to that role for the
        statement, if the connected user is a member of it. ``local_settings`` are set for the transaction only
        (``set_config(name, value, true)``), e.g. ``request.jwt.claims`` so that RLS policies see a signed-in user.
        """
        run = Run.of(options)
        require_statement(statement)
        run.check_limits()
        logger.debug(
            "executing a statement of %d characters on %r (read_only=%s, role=%s, timeout_ms=%d)",
            len(statement),
            self.name,
            run.read_only,
            run.role,
            run.timeout_ms,
        )
        notices: list[str] = []

        def collect(diagnostic: psycopg.errors.Diagnostic) -> None:
            if len(notices) < _MAX_NOTICES:
                notices.append(f"{diagnostic.severity}: {self._scrub(diagnostic.message_primary or '')}")

        async with self._connection() as conn:
            conn.add_notice_handler(collect)
            try:
                outcome, columns, duration_ms = await self._bounded(conn, statement, params, run)
            finally:
                # Pooled connections outlive this call: its collector must not stay attached.
                conn.remove_notice_handler(collect)
        logger.debug(
            "statement on %r finished: %s, %d row(s), truncated=%s, %.1f ms",
            self.name,
            outcome.status_message,
            len(outcome.rows),
            outcome.truncated_reason,
            duration_ms,
        )
        return QueryResult(
            columns=columns,
            rows=outcome.rows,
            row_count=len(outcome.rows),
            truncated=outcome.truncated_reason is not None,
            truncated_reason=outcome.truncated_reason,
            status_message=outcome.status_message,
            rows_affected=outcome.rows_affected,
            duration_ms=round(duration_ms, 3),
            notices=notices,
        )

    async def run_script(
        self,
        steps: Sequence[str],
        *,
        transaction: bool = True,
        commit: bool = True,
        timeout_ms: int = 30_000,
        max_bytes: int = 16_000_000,
    ) -> ScriptResult:
        """Run ``steps`` in order as one unit (see :class:`~dokploy_mcp.postgres.statement.StatementRunner`).

        A failure names its statement (``error.step``, 1-based) and rolls the transaction back; without
        ``transaction``, the steps before it stay committed.
        """
        if not steps:
            raise InputError("a script needs at least one statement", field="steps")
        Run(timeout_ms=timeout_ms, max_bytes=max_bytes).check_limits()
        notices: list[str] = []

        def collect(diagnostic: psycopg.errors.Diagnostic) -> None:
            if len(notices) < _MAX_NOTICES:
                notices.append(f"{diagnostic.severity}: {self._scrub(diagnostic.message_primary or '')}")

        deadline = timeout_ms * len(steps) / 1000 + _CLIENT_GRACE_S
        async with self._connection() as conn:
            conn.add_notice_handler(collect)
            started = time.perf_counter()
            try:
                async with asyncio.timeout(deadline):
                    rows = await self._script(conn, steps, transaction, commit, timeout_ms)
            except TimeoutError:
                await conn.close()
                raise DatabaseTimeoutError(
                    f"no answer from {self.target} within {deadline:.0f}s; the connection was dropped, so the "
                    "transaction was rolled back",
                    target=self.target,
                    timeout_ms=timeout_ms,
                ) from None
            finally:
                conn.remove_notice_handler(collect)
                if not conn.closed and conn.autocommit:
                    await conn.set_autocommit(False)
        if len(json.dumps(rows, default=str)) > max_bytes:
            raise DatabaseQueryError(
                f"the script's result is larger than {max_bytes:,} bytes", target=self.target, sqlstate=None
            )
        return ScriptResult(rows=rows, duration_ms=round((time.perf_counter() - started) * 1000, 3), notices=notices)

    async def _script(
        self, conn: AsyncConn, steps: Sequence[str], transaction: bool, commit: bool, timeout_ms: int
    ) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        step = 0
        try:
            await conn.set_autocommit(not transaction)
            timeout = sql.SQL("SET {} statement_timeout = {}").format(
                sql.SQL("LOCAL" if transaction else "SESSION"), sql.Literal(int(timeout_ms))
            )
            await conn.execute(timeout)
            for index, text in enumerate(steps, start=1):
                step = index
                cursor = conn.cursor(row_factory=dict_row)
                await cursor.execute(text.encode("utf-8"), prepare=False)
                if cursor.description is not None:
                    rows = [_json_safe(row) for row in await cursor.fetchall()]
            if transaction and commit:
                await conn.commit()
            elif transaction:
                await conn.rollback()
        except psycopg.Error as exc:
            await _rollback_quietly(conn)
            error = self._map_error(exc, timeout_ms)
            error.step = step or None
            raise error from None
        finally:
            if not transaction and not conn.closed:
                # A session-level timeout must not outlive this script on a pooled connection.
                await conn.execute("RESET statement_timeout")
        return rows

    async def server_info(self) -> ServerInfo:
        """Version, connected user and database, read in a rolled-back read-only transaction."""
        async with self._connection() as conn:
            try:
                await self._begin(conn, Run(timeout_ms=10_000))
                cursor = await conn.execute(
                    "SELECT version(), current_setting('server_version_num')::int, current_user::text,"
                    " current_setting('is_superuser') = 'on', current_database()::text"
                )
                row = await cursor.fetchone()
                await conn.rollback()
            except psycopg.Error as exc:
                await _rollback_quietly(conn)
                raise self._map_error(exc, 10_000) from None
        assert row is not None
        version, version_num, user, superuser, database = row
        return ServerInfo(
            version=version,
            server_version_num=version_num,
            current_user=user,
            is_superuser=superuser,
            database=database,
        )

    # -- connections -------------------------------------------------------------------------------------

    def _connect_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "autocommit": False,
            # Named prepared statements would break behind transaction poolers (Supavisor, PgBouncer).
            "prepare_threshold": None,
            # libpq counts whole seconds and treats less than 2 as 2.
            "connect_timeout": max(2, math.ceil(self._connect_timeout)),
        }
        if "application_name" not in self._info.params:
            kwargs["application_name"] = f"dokploy-mcp:{self.name}"[:63]
        return kwargs

    async def _ensure_pool(self) -> AsyncConnectionPool[AsyncConn]:
        if self._pool is not None:
            return self._pool
        async with self._open_lock:
            if self._closed:
                raise RuntimeError(f"database {self.name!r} is closed")
            if self._pool is None:
                # The pool retries failed connections in the background and only reports a timeout; one
                # direct attempt first turns a wrong target into libpq's own message, at once.
                await self._probe()
                pool: AsyncConnectionPool[AsyncConn] = AsyncConnectionPool(
                    self._info.to_conninfo(),
                    min_size=0,
                    max_size=self._max_size,
                    open=False,
                    name=f"dokploy-mcp:{self.name}",
                    timeout=self._connect_timeout,
                    kwargs=self._connect_kwargs(),
                    configure=_configure_connection,
                    check=AsyncConnectionPool.check_connection,
                    reset=_reset_session,
                )
                await pool.open()
                self._pool = pool
                logger.debug("opened pool of database %r (%s), max_size=%d", self.name, self.target, self._max_size)
            return self._pool

    async def _probe(self) -> None:
        try:
            async with asyncio.timeout(self._connect_timeout):
                conn = await psycopg.AsyncConnection.connect(self._info.to_conninfo(), **self._connect_kwargs())
        except TimeoutError:
            raise DatabaseConnectionError(
                f"timed out after {self._connect_timeout:g}s connecting to {self.target}: check the host, the "
                "port and that a firewall lets the connection through",
                target=self.target,
            ) from None
        except psycopg.Error as exc:
            raise self._connection_error("cannot connect to", exc) from None
        await conn.close()

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[AsyncConn]:
        pool = await self._ensure_pool()
        try:
            conn = await pool.getconn(timeout=self._connect_timeout)
        except PoolTimeout:
            # Either the server went away or every connection is busy: one direct attempt tells which.
            await self._probe()
            raise DatabaseConnectionError(
                f"no free connection to {self.target} after {self._connect_timeout:g}s: all {self._max_size} "
                "connections of the pool are busy; retry later or raise the pool size",
                target=self.target,
            ) from None
        except psycopg.OperationalError as exc:
            raise self._connection_error("lost the connection to", exc) from None
        try:
            yield conn
        finally:
            # The pool rolls back or discards a connection returned mid-transaction or broken.
            await pool.putconn(conn)

    # -- one transaction ---------------------------------------------------------------------------------

    async def _bounded(
        self, conn: AsyncConn, statement: str, params: Params | None, run: Run
    ) -> tuple[Outcome, list[Column], float]:
        """:meth:`_transaction` within a deadline of the client's own; a failure leaves the connection rolled back
        (or dropped) and comes out as this package's error."""
        try:
            async with asyncio.timeout(run.timeout_ms / 1000 + _CLIENT_GRACE_S):
                return await self._transaction(conn, statement, params, run)
        except TimeoutError:
            # The server stayed silent well past its own statement_timeout (a dead network, a hung host):
            # the connection is in an unknown state, so it is dropped rather than returned to the pool.
            await conn.close()
            raise DatabaseTimeoutError(
                f"no answer from {self.target} within {run.timeout_ms / 1000 + _CLIENT_GRACE_S:.0f}s; "
                "the connection was dropped: check the network and the server's health",
                target=self.target,
                timeout_ms=run.timeout_ms,
            ) from None
        except DatabaseError:
            await _rollback_quietly(conn)
            raise
        except psycopg.Error as exc:
            await _rollback_quietly(conn)
            raise self._map_error(exc, run.timeout_ms) from None

    async def _transaction(
        self, conn: AsyncConn, statement: str, params: Params | None, run: Run
    ) -> tuple[Outcome, list[Column], float]:
        """The statement's transaction: what came back, its columns named, and how long the statement took (ms)."""
        query = encode(conn, statement, params)
        await self._begin(conn, run)
        started = time.perf_counter()
        outcome = await run_extended(
            conn, query, read_only=run.read_only, max_rows=run.max_rows, max_bytes=run.max_bytes
        )
        duration_ms = (time.perf_counter() - started) * 1000
        if outcome.error is not None or outcome.copy_refused or outcome.empty:
            await _rollback_quietly(conn)
            raise self._outcome_error(outcome, run.timeout_ms)
        if not run.read_only:
            await conn.commit()
        elif not conn.closed:
            await conn.rollback()
        return outcome, await self._columns(conn, outcome.columns), duration_ms

    async def _begin(self, conn: AsyncConn, run: Run) -> None:
        # psycopg sends BEGIN first; READ ONLY must come before any query of the transaction.
        timeout = sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(int(run.timeout_ms)))
        settings: list[sql.Composable] = [sql.SQL("SET TRANSACTION READ ONLY"), timeout] if run.read_only else [timeout]
        await conn.execute(sql.SQL("; ").join(settings))
        if run.mark is not None:
            # As the connected login, before the role switch: the mark's table is the login's, not the role's.
            await conn.execute(run.mark.sql())
        for name, value in (run.local_settings or {}).items():
            # Before the role switch: the target role may not be allowed to set these.
            await conn.execute("SELECT pg_catalog.set_config(%s, %s, true)", [name, value])
        if run.role is not None:
            await self._switch_role(conn, run.role)

    async def _switch_role(self, conn: AsyncConn, role: str) -> None:
        cursor = await conn.execute(
            "SELECT pg_catalog.pg_has_role(session_user, oid, 'MEMBER') FROM pg_catalog.pg_roles WHERE rolname = %s",
            [role],
        )
        row = await cursor.fetchone()
        if row is None:
            raise RoleNotPermittedError(f"role {role!r} does not exist", target=self.target, role=role)
        if not row[0]:
            raise RoleNotPermittedError(
                f"the connected user is not a member of role {role!r}: GRANT {role} TO the user first, or "
                "choose one of its roles",
                target=self.target,
                role=role,
            )
        try:
            await conn.execute(sql.SQL("SET LOCAL ROLE {}").format(sql.Identifier(role)))
        except psycopg.errors.InsufficientPrivilege as exc:
            # PostgreSQL 16+ also wants the SET option on the membership.
            raise RoleNotPermittedError(
                f"cannot switch to role {role!r}: {exc.diag.message_primary or exc}", target=self.target, role=role
            ) from None

    async def _columns(self, conn: AsyncConn, described: list[tuple[str, int, int]]) -> list[Column]:
        names: dict[tuple[int, int], str] = {}
        unknown: list[tuple[int, int]] = []
        for _, oid, fmod in described:
            info = conn.adapters.types.get(oid)
            if info is not None:
                names[oid, fmod] = info.get_type_display(oid=oid, fmod=fmod)
            else:
                unknown.append((oid, fmod))
        if unknown and not conn.closed:
            # Enums, composites and extension types (vector, geometry...) are known to the server only.
            cursor = await conn.execute(
                "SELECT o, m, pg_catalog.format_type(o, m) FROM unnest(%s::oid[], %s::int[]) AS u(o, m)",
                [[o for o, _ in unknown], [m for _, m in unknown]],
            )
            names.update({(o, m): t for o, m, t in await cursor.fetchall()})
            await conn.rollback()
        return [Column(name=name, type_name=names.get((oid, fmod), str(oid))) for name, oid, fmod in described]

    # -- errors ------------------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return redact.scrub(text, [self._info.password, self._info.params.get("sslpassword")])

    def _connection_error(self, what: str, exc: psycopg.Error) -> DatabaseConnectionError:
        """``what`` this target, with libpq's own words (scrubbed) after it."""
        return DatabaseConnectionError(f"{what} {self.target}: {self._scrub(str(exc).strip())}", target=self.target)

    def _outcome_error(self, outcome: Outcome, timeout_ms: int) -> DokployMCPError:
        if outcome.empty:
            return InputError("the statement holds no SQL command, only comments or semicolons", field="statement")
        if outcome.copy_refused:
            return DatabaseQueryError(
                "COPY to or from the client is not supported here: use COPY ... TO/FROM a server file, or "
                "SELECT the rows instead",
                target=self.target,
                sqlstate=None,
            )
        assert outcome.error is not None
        result = outcome.error

        def field(code: pq.DiagnosticField) -> str | None:
            raw = result.error_field(code)
            return self._scrub(raw.decode("utf-8", "replace")) if raw else None

        return self._query_error(
            sqlstate=field(pq.DiagnosticField.SQLSTATE),
            message=field(pq.DiagnosticField.MESSAGE_PRIMARY) or "the server refused the statement",
            detail=field(pq.DiagnosticField.MESSAGE_DETAIL),
            hint=field(pq.DiagnosticField.MESSAGE_HINT),
            timeout_ms=timeout_ms,
        )

    def _map_error(self, exc: psycopg.Error, timeout_ms: int) -> DatabaseError:
        if exc.sqlstate is None:
            if isinstance(exc, psycopg.OperationalError | psycopg.InterfaceError):
                return DatabaseConnectionError(
                    f"connection to {self.target} failed: {self._scrub(str(exc).strip())}", target=self.target
                )
            return DatabaseQueryError(self._scrub(str(exc).strip()), target=self.target, sqlstate=None)
        diag = exc.diag
        return self._query_error(
            sqlstate=exc.sqlstate,
            message=self._scrub(diag.message_primary or str(exc)),
            detail=self._scrub(diag.message_detail) if diag.message_detail else None,
            hint=self._scrub(diag.message_hint) if diag.message_hint else None,
            timeout_ms=timeout_ms,
        )

    def _query_error(
        self, *, sqlstate: str | None, message: str, detail: str | None, hint: str | None, timeout_ms: int
    ) -> DatabaseError:
        if sqlstate is not None and sqlstate.startswith(("08", "57P")):
            return DatabaseConnectionError(f"{message} (SQLSTATE {sqlstate})", target=self.target)
        return statement_error(
            message, target=self.target, sqlstate=sqlstate, detail=detail, hint=hint, timeout_ms=timeout_ms
        )


def _json_safe(row: dict[str, Any]) -> dict[str, Any]:
    """A script's rows for JSON: what json.dumps cannot write (timestamps, decimals, bytes) as text."""
    return {
        name: value if isinstance(value, str | int | float | bool | dict | list | None) else str(value)
        for name, value in row.items()
    }


async def _rollback_quietly(conn: AsyncConn) -> None:
    if conn.closed:
        return
    try:
        await conn.rollback()
    except psycopg.Error:
        # A connection that cannot even roll back is broken; closing it keeps it out of the pool.
        await conn.close()


async def _configure_connection(conn: AsyncConn) -> None:
    # Interval as PostgreSQL prints it ("1 day 02:00:00") instead of Python's timedelta rendering.
    conn.adapters.register_loader("interval", TextLoader)


async def _reset_session(conn: AsyncConn) -> None:
    # A rolled-back transaction still leaves session state behind: advisory locks, PREPAREd statements,
    # and (after a committed write) SET, LISTEN or temporary tables. The next caller must not inherit them.
    await conn.set_autocommit(True)
    try:
        await conn.execute("DISCARD ALL")
    finally:
        await conn.set_autocommit(False)
