"""Run one SQL statement per call on a pooled PostgreSQL connection, safely bounded.

Each :meth:`Database.execute` is its own transaction: ``SET TRANSACTION READ ONLY`` (when read-only),
``SET LOCAL statement_timeout``, an optional ``SET LOCAL ROLE`` after a membership check, the statement,
then ROLLBACK (read-only) or COMMIT.

The statement is sent with libpq's extended query protocol (``PQsendQueryParams``), always, even without
parameters. psycopg's ``execute()`` sends parameterless text with the simple protocol, where
``SELECT 1; COMMIT; DELETE ...`` runs as three statements and the COMMIT ends the read-only transaction.
Under the extended protocol the server itself refuses a string holding more than one statement
(SQLSTATE 42601, "cannot insert multiple commands into a prepared statement"). Rows arrive in libpq's
chunked (or single-row) mode, so a large result is never held in memory: reading stops at the row or byte
cap, and a read-only statement that still has rows to send is cancelled.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import logging
import math
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal, Self

import psycopg
from psycopg import pq, sql
from psycopg._queries import PostgresQuery
from psycopg.abc import AdaptContext, Loader
from psycopg.adapt import Transformer
from psycopg.types.string import TextLoader
from psycopg_pool import AsyncConnectionPool, PoolTimeout
from pydantic import BaseModel, ConfigDict, JsonValue

from dokploy_mcp.errors import DokployMCPError, InputError
from dokploy_mcp.postgres.conninfo import ConnInfo, scrub
from dokploy_mcp.postgres.errors import (
    DatabaseConnectionError,
    DatabaseError,
    DatabaseQueryError,
    DatabaseTimeoutError,
    ReadOnlyViolationError,
    RoleNotPermittedError,
)

__all__ = ["Column", "Database", "QueryResult", "ServerInfo", "numbered", "to_json_value"]

logger = logging.getLogger(__name__)

_WRITE_VERBS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "COPY"})
_CHUNK_ROWS = 256
# Extra time the client waits beyond statement_timeout before it gives up on a silent server.
_CLIENT_GRACE_S = 15.0

AsyncConn = psycopg.AsyncConnection[tuple[Any, ...]]


class Column(BaseModel):
    """One result column: its name and its PostgreSQL type as ``format_type`` would show it."""

    model_config = ConfigDict(frozen=True)

    name: str
    type_name: str


class QueryResult(BaseModel):
    """The outcome of one statement, with JSON-safe rows.

    ``truncated_reason`` says which cap stopped the reading. ``status_message`` is the command tag
    (``"INSERT 0 1"``); it is None when a read-only statement was cut short at a cap. ``rows_affected`` is
    set for INSERT, UPDATE, DELETE, MERGE and COPY only.
    """

    model_config = ConfigDict(frozen=True)

    columns: list[Column]
    rows: list[list[JsonValue]]
    row_count: int
    truncated: bool
    truncated_reason: Literal["max_rows", "max_bytes"] | None
    status_message: str | None
    rows_affected: int | None
    duration_ms: float
    #: NOTICE / WARNING / INFO messages the statement raised (``SEVERITY: message``), at most 20.
    notices: list[str] = []


_MAX_NOTICES = 20


class ServerInfo(BaseModel):
    """Who and where we are connected."""

    model_config = ConfigDict(frozen=True)

    version: str
    server_version_num: int
    current_user: str
    is_superuser: bool
    database: str


def to_json_value(value: Any) -> JsonValue:
    """Convert a value loaded by psycopg into plain JSON (exact types become strings, never floats)."""
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        # JSON has no NaN or infinities; PostgreSQL's own spellings keep the meaning.
        if math.isfinite(value):
            return value
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, list | tuple):
        return [to_json_value(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_json_value(item) for key, item in value.items()}
    if isinstance(value, uuid.UUID | dt.timedelta | ipaddress.IPv4Address | ipaddress.IPv6Address):
        return str(value)
    # Ranges, network masks, geometric and extension types: their text form is the honest JSON.
    return str(value)


def numbered(statement: str, params: Sequence[Any] | Mapping[str, Any]) -> str:
    """The text :meth:`Database.execute` sends for ``statement`` with ``params``: psycopg's ``%s`` / ``%(name)s``
    placeholders turned into PostgreSQL's ``$n``, the values travelling apart. The SQL guard checks this text."""
    return _convert(statement, params, None).query.decode("utf-8")


def _convert(statement: str, params: Sequence[Any] | Mapping[str, Any], context: AdaptContext | None) -> PostgresQuery:
    # psycopg's own converter, the one cursor.execute() uses: placeholders become $n and each value is dumped to
    # travel as a bind parameter. (Its public mogrify() substitutes values into the text, which is the hole this
    # avoids: a value inside a quoted '%s' would become SQL.)
    query = PostgresQuery(Transformer.from_context(context))
    try:
        query.convert(statement, params)
    except (psycopg.ProgrammingError, psycopg.DataError, TypeError, KeyError, ValueError) as exc:
        raise InputError(f"cannot use the parameters: {exc}", field="params") from None
    return query


@dataclass(frozen=True)
class _Wire:
    """One statement as it goes on the wire: the text and, apart, its bound parameters."""

    query: bytes
    params: list[bytes | None] | None = None
    types: list[int] | None = None
    formats: list[pq.Format] | None = None


@dataclass
class _Outcome:
    """What the raw protocol loop collected for one statement."""

    columns: list[tuple[str, int, int]] = field(default_factory=list)  # name, type oid, type modifier
    rows: list[list[JsonValue]] = field(default_factory=list)
    truncated_reason: Literal["max_rows", "max_bytes"] | None = None
    status_message: str | None = None
    rows_affected: int | None = None
    error: pq.abc.PGresult | None = None
    copy_refused: bool = False
    empty: bool = False


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

    async def execute(
        self,
        statement: str,
        params: Sequence[Any] | Mapping[str, Any] | None = None,
        *,
        read_only: bool = True,
        timeout_ms: int = 30_000,
        max_rows: int = 1_000,
        max_bytes: int = 1_000_000,
        role: str | None = None,
        local_settings: Mapping[str, str] | None = None,
    ) -> QueryResult:
        """Run exactly one statement in its own transaction and return at most ``max_rows`` JSON-safe rows.

        ``params`` fill ``%s`` / ``%(name)s`` placeholders, bound server-side: the text sent is :func:`numbered`
        (placeholders as ``$n``) and the values travel apart, so no value is ever parsed as SQL; without params the
        text is sent verbatim. ``read_only`` runs it in a READ ONLY transaction that is rolled back; otherwise the
        transaction is committed. ``role`` switches to that role for the statement, if the connected user is
        a member of it. ``local_settings`` are set for the transaction only (``set_config(name, value, true)``),
        e.g. ``request.jwt.claims`` so that RLS policies see a signed-in user.
        """
        if not statement.strip():
            raise InputError("the statement is empty", field="statement")
        if timeout_ms < 1:
            raise InputError("timeout_ms must be at least 1", field="timeout_ms")
        if max_rows < 0:
            raise InputError("max_rows must not be negative", field="max_rows")
        if max_bytes < 1:
            raise InputError("max_bytes must be at least 1", field="max_bytes")
        logger.debug(
            "executing a statement of %d characters on %r (read_only=%s, role=%s, timeout_ms=%d)",
            len(statement),
            self.name,
            read_only,
            role,
            timeout_ms,
        )
        notices: list[str] = []

        def collect(diagnostic: psycopg.errors.Diagnostic) -> None:
            if len(notices) < _MAX_NOTICES:
                notices.append(f"{diagnostic.severity}: {self._scrub(diagnostic.message_primary or '')}")

        async with self._connection() as conn:
            conn.add_notice_handler(collect)
            try:
                try:
                    async with asyncio.timeout(timeout_ms / 1000 + _CLIENT_GRACE_S):
                        query = self._render(conn, statement, params)
                        await self._begin(
                            conn, read_only=read_only, timeout_ms=timeout_ms, role=role, local_settings=local_settings
                        )
                        started = time.perf_counter()
                        outcome = await _run_extended(
                            conn, query, read_only=read_only, max_rows=max_rows, max_bytes=max_bytes
                        )
                        duration_ms = (time.perf_counter() - started) * 1000
                        if outcome.error is not None or outcome.copy_refused or outcome.empty:
                            await _rollback_quietly(conn)
                            raise self._outcome_error(outcome, timeout_ms)
                        if not read_only:
                            await conn.commit()
                        elif not conn.closed:
                            await conn.rollback()
                        columns = await self._columns(conn, outcome.columns)
                except TimeoutError:
                    # The server stayed silent well past its own statement_timeout (a dead network, a hung host):
                    # the connection is in an unknown state, so it is dropped rather than returned to the pool.
                    await conn.close()
                    raise DatabaseTimeoutError(
                        f"no answer from {self.target} within {timeout_ms / 1000 + _CLIENT_GRACE_S:.0f}s; "
                        "the connection was dropped: check the network and the server's health",
                        target=self.target,
                        timeout_ms=timeout_ms,
                    ) from None
                except DatabaseError:
                    await _rollback_quietly(conn)
                    raise
                except psycopg.Error as exc:
                    await _rollback_quietly(conn)
                    raise self._map_error(exc, timeout_ms) from None
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

    async def server_info(self) -> ServerInfo:
        """Version, connected user and database, read in a rolled-back read-only transaction."""
        async with self._connection() as conn:
            try:
                await self._begin(conn, read_only=True, timeout_ms=10_000, role=None)
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
            raise DatabaseConnectionError(
                f"cannot connect to {self.target}: {self._scrub(str(exc).strip())}", target=self.target
            ) from None
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
            raise DatabaseConnectionError(
                f"lost the connection to {self.target}: {self._scrub(str(exc).strip())}", target=self.target
            ) from None
        try:
            yield conn
        finally:
            # The pool rolls back or discards a connection returned mid-transaction or broken.
            await pool.putconn(conn)

    # -- one transaction ---------------------------------------------------------------------------------

    def _render(self, conn: AsyncConn, statement: str, params: Sequence[Any] | Mapping[str, Any] | None) -> _Wire:
        if params is None:
            return _Wire(statement.encode(conn.info.encoding))
        query = _convert(statement, params, conn)
        params_ = [None if value is None else bytes(value) for value in query.params or ()]
        return _Wire(query.query, params_, list(query.types), list(query.formats or ()))

    async def _begin(
        self,
        conn: AsyncConn,
        *,
        read_only: bool,
        timeout_ms: int,
        role: str | None,
        local_settings: Mapping[str, str] | None = None,
    ) -> None:
        # psycopg sends BEGIN first; READ ONLY must come before any query of the transaction.
        timeout = sql.SQL("SET LOCAL statement_timeout = {}").format(sql.Literal(int(timeout_ms)))
        settings: list[sql.Composable] = [sql.SQL("SET TRANSACTION READ ONLY"), timeout] if read_only else [timeout]
        await conn.execute(sql.SQL("; ").join(settings))
        for name, value in (local_settings or {}).items():
            # Before the role switch: the target role may not be allowed to set these.
            await conn.execute("SELECT pg_catalog.set_config(%s, %s, true)", [name, value])
        if role is None:
            return
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
        return scrub(text, [self._info.password, self._info.params.get("sslpassword")])

    def _outcome_error(self, outcome: _Outcome, timeout_ms: int) -> DokployMCPError:
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
        if sqlstate == "57014":
            return DatabaseTimeoutError(
                f"{message} (statement_timeout {timeout_ms} ms): narrow the query or raise timeout_ms",
                target=self.target,
                timeout_ms=timeout_ms,
            )
        if sqlstate == "25006":
            return ReadOnlyViolationError(message, target=self.target, sqlstate=sqlstate, detail=detail, hint=hint)
        if sqlstate is not None and sqlstate.startswith(("08", "57P")):
            return DatabaseConnectionError(f"{message} (SQLSTATE {sqlstate})", target=self.target)
        return DatabaseQueryError(message, target=self.target, sqlstate=sqlstate, detail=detail, hint=hint)


# -- the extended-protocol loop ----------------------------------------------------------------------------


async def _run_extended(conn: AsyncConn, query: _Wire, *, read_only: bool, max_rows: int, max_bytes: int) -> _Outcome:
    """Send one statement with PQsendQueryParams (its parameters bound apart) and collect its rows up to the caps."""
    pgconn = conn.pgconn
    encoding = conn.info.encoding
    outcome = _Outcome()
    loaders: list[Loader | None] = []
    size = 0
    # Always the extended protocol, parameters or not: the server parses exactly one statement, and values are
    # bound to it as data, never parsed as SQL.
    pgconn.send_query_params(query.query, query.params, query.types, query.formats)
    if psycopg.capabilities.has_stream_chunked():
        pgconn.set_chunked_rows_mode(min(max_rows + 1, _CHUNK_ROWS))
    else:
        pgconn.set_single_row_mode()
    await _flush(pgconn)
    while (result := await _next_result(pgconn)) is not None:
        status = result.status
        if status in (pq.ExecStatus.SINGLE_TUPLE, pq.ExecStatus.TUPLES_CHUNK, pq.ExecStatus.TUPLES_OK):
            if not outcome.columns and result.nfields:
                outcome.columns, loaders = _describe(conn, result, encoding)
            # In chunked mode libpq attaches the command tag to the last chunk, not the final empty result.
            _note_tag(outcome, result)
            if status == pq.ExecStatus.TUPLES_OK:
                continue
            if outcome.truncated_reason is not None:
                continue  # a write still running: drain so it completes, keep nothing
            for index in range(result.ntuples):
                if len(outcome.rows) >= max_rows:
                    outcome.truncated_reason = "max_rows"
                    break
                row = [_load(loaders[col], result.get_value(index, col), encoding) for col in range(result.nfields)]
                row_size = len(json.dumps(row))
                if size + row_size > max_bytes:
                    outcome.truncated_reason = "max_bytes"
                    break
                outcome.rows.append(row)
                size += row_size
            if outcome.truncated_reason is not None and read_only:
                # Nothing to keep from a read-only statement: stop the server producing rows we would drop.
                try:
                    await conn.cancel_safe(timeout=5.0)
                except psycopg.Error:
                    # Without a cancel the rest could be endless; a dropped connection ends it for sure.
                    await conn.close()
                    return outcome
                while await _next_result(pgconn) is not None:
                    pass
                return outcome
        elif status == pq.ExecStatus.COMMAND_OK:
            _note_tag(outcome, result)
        elif status == pq.ExecStatus.EMPTY_QUERY:
            outcome.empty = True
        elif status == pq.ExecStatus.FATAL_ERROR:
            outcome.error = result
        elif status in (pq.ExecStatus.COPY_OUT, pq.ExecStatus.COPY_IN, pq.ExecStatus.COPY_BOTH):
            # Mid-COPY the connection cannot go back to the pool; dropping it ends the COPY server-side.
            outcome.copy_refused = True
            await conn.close()
            return outcome
    return outcome


def _note_tag(outcome: _Outcome, result: pq.abc.PGresult) -> None:
    if not result.command_status:
        return
    tag = result.command_status.decode("utf-8", "replace")
    outcome.status_message = tag
    if tag.split(" ", 1)[0] in _WRITE_VERBS:
        outcome.rows_affected = result.command_tuples


def _describe(
    conn: AsyncConn, result: pq.abc.PGresult, encoding: str
) -> tuple[list[tuple[str, int, int]], list[Loader | None]]:
    columns: list[tuple[str, int, int]] = []
    loaders: list[Loader | None] = []
    for col in range(result.nfields):
        raw_name = result.fname(col)
        name = raw_name.decode(encoding, "replace") if raw_name else f"column_{col + 1}"
        oid = result.ftype(col)
        columns.append((name, oid, result.fmod(col)))
        loader_cls = conn.adapters.get_loader(oid, pq.Format.TEXT)
        loaders.append(loader_cls(oid, conn) if loader_cls is not None else None)
    return columns, loaders


def _load(loader: Loader | None, data: bytes | None, encoding: str) -> JsonValue:
    if data is None:
        return None
    if loader is None:
        return data.decode(encoding, "replace")
    try:
        return to_json_value(loader.load(data))
    except (psycopg.Error, ValueError, OverflowError):
        # Values Python cannot hold ('infinity' dates, years before 1): PostgreSQL's text is still exact.
        return data.decode(encoding, "replace")


async def _flush(pgconn: pq.abc.PGconn) -> None:
    while pgconn.flush():
        await _wait_socket(pgconn.socket, write=True)
        pgconn.consume_input()


async def _next_result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult | None:
    while True:
        pgconn.consume_input()
        if not pgconn.is_busy():
            return pgconn.get_result()
        await _wait_socket(pgconn.socket, write=False)


async def _wait_socket(fd: int, *, write: bool) -> None:
    loop = asyncio.get_running_loop()
    ready: asyncio.Future[None] = loop.create_future()

    def wake() -> None:
        if not ready.done():
            ready.set_result(None)

    loop.add_reader(fd, wake)
    if write:
        loop.add_writer(fd, wake)
    try:
        await ready
    finally:
        loop.remove_reader(fd)
        if write:
            loop.remove_writer(fd)


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
