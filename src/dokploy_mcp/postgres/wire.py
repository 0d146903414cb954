"""One statement on the wire: libpq's extended query protocol, rows read up to the caps, values turned into JSON.

The statement is sent with ``PQsendQueryParams``, always, even without parameters (see
:mod:`dokploy_mcp.postgres.client` for why), its parameters bound apart as psycopg's own converter prepares them.
Rows arrive in libpq's chunked (or single-row) mode, so a large result is never held in memory: reading stops at the
row or byte cap, and a read-only statement that still has rows to send is cancelled. What came back is an
:class:`Outcome`; the transaction around it is the client's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import math
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Literal

import psycopg
from psycopg import pq
from psycopg._queries import PostgresQuery
from psycopg.abc import AdaptContext, Loader
from psycopg.adapt import Transformer
from pydantic import JsonValue

from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres.statement import Params

__all__ = ["AsyncConn", "Outcome", "Wire", "encode", "numbered", "run_extended", "to_json_value"]

AsyncConn = psycopg.AsyncConnection[tuple[Any, ...]]

_WRITE_VERBS = frozenset({"INSERT", "UPDATE", "DELETE", "MERGE", "COPY"})
_CHUNK_ROWS = 256
_ROW_STATUSES = (pq.ExecStatus.SINGLE_TUPLE, pq.ExecStatus.TUPLES_CHUNK, pq.ExecStatus.TUPLES_OK)
_COPY_STATUSES = (pq.ExecStatus.COPY_OUT, pq.ExecStatus.COPY_IN, pq.ExecStatus.COPY_BOTH)


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


# -- the statement as sent -----------------------------------------------------------------------------------------


def numbered(statement: str, params: Params) -> str:
    """The text :meth:`~dokploy_mcp.postgres.client.Database.execute` sends for ``statement`` with ``params``:
    psycopg's ``%s`` / ``%(name)s`` placeholders turned into PostgreSQL's ``$n``, the values travelling apart. The SQL
    guard checks this text."""
    return _convert(statement, params, None).query.decode("utf-8")


def _convert(statement: str, params: Params, context: AdaptContext | None) -> PostgresQuery:
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
class Wire:
    """One statement as it goes on the wire: the text and, apart, its bound parameters."""

    query: bytes
    params: list[bytes | None] | None = None
    types: list[int] | None = None
    formats: list[pq.Format] | None = None


def encode(conn: AsyncConn, statement: str, params: Params | None) -> Wire:
    """``statement`` ready to send on ``conn``: verbatim without params, else numbered with its values bound apart."""
    if params is None:
        return Wire(statement.encode(conn.info.encoding))
    query = _convert(statement, params, conn)
    params_ = [None if value is None else bytes(value) for value in query.params or ()]
    return Wire(query.query, params_, list(query.types), list(query.formats or ()))


# -- what comes back -----------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the raw protocol loop collected for one statement."""

    columns: list[tuple[str, int, int]] = field(default_factory=list)  # name, type oid, type modifier
    rows: list[list[JsonValue]] = field(default_factory=list)
    truncated_reason: Literal["max_rows", "max_bytes"] | None = None
    status_message: str | None = None
    rows_affected: int | None = None
    error: pq.abc.PGresult | None = None
    copy_refused: bool = False
    empty: bool = False


class _RowReader:
    """Keeps the rows of one statement's results into its :class:`Outcome`, until a cap is reached."""

    def __init__(self, conn: AsyncConn, outcome: Outcome, *, max_rows: int, max_bytes: int) -> None:
        self._conn = conn
        self._encoding = conn.info.encoding
        self._outcome = outcome
        self._loaders: list[Loader | None] = []
        self._max_rows = max_rows
        self._max_bytes = max_bytes
        self._size = 0

    def take(self, result: pq.abc.PGresult) -> bool:
        """Keep the rows of ``result``; True when this result reached a cap (the rows past it are dropped)."""
        outcome = self._outcome
        if not outcome.columns and result.nfields:
            outcome.columns, self._loaders = _describe(self._conn, result, self._encoding)
        # In chunked mode libpq attaches the command tag to the last chunk, not the final empty result.
        _note_tag(outcome, result)
        if result.status == pq.ExecStatus.TUPLES_OK or outcome.truncated_reason is not None:
            return False  # the final empty result, or a write still running: drain so it completes, keep nothing
        loaders, encoding = self._loaders, self._encoding
        for index in range(result.ntuples):
            if len(outcome.rows) >= self._max_rows:
                outcome.truncated_reason = "max_rows"
                break
            row = [_load(loaders[col], result.get_value(index, col), encoding) for col in range(result.nfields)]
            row_size = len(json.dumps(row))
            if self._size + row_size > self._max_bytes:
                outcome.truncated_reason = "max_bytes"
                break
            outcome.rows.append(row)
            self._size += row_size
        return outcome.truncated_reason is not None


async def run_extended(conn: AsyncConn, query: Wire, *, read_only: bool, max_rows: int, max_bytes: int) -> Outcome:
    """Send one statement with PQsendQueryParams (its parameters bound apart) and collect its rows up to the caps."""
    pgconn = conn.pgconn
    outcome = Outcome()
    reader = _RowReader(conn, outcome, max_rows=max_rows, max_bytes=max_bytes)
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
        if status in _ROW_STATUSES:
            if reader.take(result) and read_only:
                # Nothing to keep from a read-only statement: stop the server producing rows we would drop.
                await _cancel_the_rest(conn, pgconn)
                return outcome
        elif status in _COPY_STATUSES:
            # Mid-COPY the connection cannot go back to the pool; dropping it ends the COPY server-side.
            outcome.copy_refused = True
            await conn.close()
            return outcome
        else:
            _note_other(outcome, result)
    return outcome


def _note_other(outcome: Outcome, result: pq.abc.PGresult) -> None:
    status = result.status
    if status == pq.ExecStatus.COMMAND_OK:
        _note_tag(outcome, result)
    elif status == pq.ExecStatus.EMPTY_QUERY:
        outcome.empty = True
    elif status == pq.ExecStatus.FATAL_ERROR:
        outcome.error = result


async def _cancel_the_rest(conn: AsyncConn, pgconn: pq.abc.PGconn) -> None:
    try:
        await conn.cancel_safe(timeout=5.0)
    except psycopg.Error:
        # Without a cancel the rest could be endless; a dropped connection ends it for sure.
        await conn.close()
        return
    while await _next_result(pgconn) is not None:
        pass


def _note_tag(outcome: Outcome, result: pq.abc.PGresult) -> None:
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


# -- the socket ----------------------------------------------------------------------------------------------------


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
