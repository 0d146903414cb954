"""Two dedicated connections and what runs on them: the source reads in one REPEATABLE READ snapshot, the target
takes the rows one committed chunk at a time, each chunk with its checkpoint row.

Blocking psycopg, run in a worker thread by the service: the bytes of a COPY go from one connection to the other
as they arrive (one CopyData message at a time, nothing held), which an event loop would slow by half. A chunk is a
range of the primary key, so that a resume starts after the last committed key; a table without a primary key is
one chunk. The checkpoint table (``dokploy_mcp.copy_checkpoints`` on the target) says, per source and table, how far
the copy got; a run that finishes and verifies deletes its rows.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo
from psycopg.rows import dict_row

from dokploy_mcp import redact
from dokploy_mcp.errors import JobStoppedError
from dokploy_mcp.postgres.conninfo import ConnInfo
from dokploy_mcp.postgres.errors import DatabaseConnectionError, DatabaseError, DatabaseQueryError
from dokploy_mcp.postgres.transfer.catalog import (
    MATVIEWS_QUERY,
    SEQUENCES_QUERY,
    TABLES_QUERY,
    SequenceRef,
    Table,
    parse_tables,
)

__all__ = ["Checkpoint", "ChunkResult", "Side", "copy_chunk", "next_bound"]

logger = logging.getLogger(__name__)

#: Both sides print values the same way, so that a row's text (and its checksum) is the same on both.
SAME_TEXT = (
    "SET TimeZone = 'UTC'",
    "SET DateStyle = 'ISO, YMD'",
    "SET IntervalStyle = 'postgres'",
    "SET extra_float_digits = 1",
    "SET bytea_output = 'hex'",
)
_KEEPALIVES = {"keepalives": "1", "keepalives_idle": "30", "keepalives_interval": "10", "keepalives_count": "3"}
#: How often (in CopyData messages) the pump asks whether it should stop.
_STOP_EVERY = 4096

CHECKPOINTS = "dokploy_mcp.copy_checkpoints"
_CHECKPOINT_DDL = f"""
DO $dokploy_mcp$
BEGIN
  IF pg_catalog.to_regclass('{CHECKPOINTS}') IS NULL THEN
    CREATE SCHEMA IF NOT EXISTS dokploy_mcp;
    CREATE TABLE IF NOT EXISTS {CHECKPOINTS} (
      source text NOT NULL,
      table_name text NOT NULL,
      status text NOT NULL CHECK (status IN ('copying', 'done')),
      last_key jsonb,
      rows bigint NOT NULL DEFAULT 0,
      bytes bigint NOT NULL DEFAULT 0,
      base_rows bigint NOT NULL DEFAULT 0,
      base_sum numeric NOT NULL DEFAULT 0,
      mode text NOT NULL,
      schema_pending boolean NOT NULL DEFAULT false,
      started_at timestamptz NOT NULL DEFAULT now(),
      updated_at timestamptz NOT NULL DEFAULT now(),
      PRIMARY KEY (source, table_name));
    COMMENT ON TABLE {CHECKPOINTS} IS
      'dokploy-mcp cross_instance_migrate: how far an unfinished copy got, per source and table (resume point)';
  END IF;
END
$dokploy_mcp$"""


@dataclass
class Checkpoint:
    source: str
    table: str
    status: Literal["copying", "done"]
    #: The primary key of the last committed row, as text per key column; None before the first chunk.
    last_key: list[str] | None
    rows: int
    bytes: int
    #: Rows and checksum the target table held before this copy began (``append``): verification adds them.
    base_rows: int
    base_sum: int
    mode: str
    #: The copy left indexes and constraints for after its rows: whichever run finishes it builds them.
    schema_pending: bool = False


@dataclass(frozen=True)
class ChunkResult:
    rows: int
    bytes: int
    last_key: list[str] | None


class Side:
    """One dedicated connection to one side of the copy."""

    def __init__(self, info: ConnInfo, *, role: Literal["source", "target"], connect_timeout: float = 10.0) -> None:
        self.role = role
        self.display = info.masked()
        self._secrets = [info.password, info.params.get("sslpassword")]
        # A peer that vanishes without closing (a host gone, a cut network) would leave a read waiting forever:
        # TCP keepalives notice it within about a minute, unless the connection string sets its own.
        keepalives = {key: value for key, value in _KEEPALIVES.items() if key not in info.params}
        try:
            self.conn = psycopg.connect(
                make_conninfo(info.to_conninfo(), **keepalives),
                autocommit=False,
                prepare_threshold=None,
                connect_timeout=max(2, int(connect_timeout)),
                application_name=f"dokploy-mcp:copy-{role}",
            )
        except psycopg.Error as exc:
            raise self.error(exc, f"cannot connect to the {role}") from None

    def close(self) -> None:
        if not self.conn.closed:
            self.conn.close()

    # -- errors --------------------------------------------------------------------------------------------------

    def scrub(self, text: str) -> str:
        return redact.scrub(text, self._secrets)

    def error(self, exc: psycopg.Error, what: str) -> DatabaseError:
        """``exc`` as this package's error, its words scrubbed, with ``what`` was going on first."""
        diag = exc.diag if exc.sqlstate else None
        message = self.scrub((diag.message_primary if diag else None) or str(exc).strip())
        if exc.sqlstate is None or exc.sqlstate.startswith(("08", "57P")):
            return DatabaseConnectionError(f"{what}: {message}", target=self.display)
        return DatabaseQueryError(
            f"{what}: {message}",
            target=self.display,
            sqlstate=exc.sqlstate,
            detail=self.scrub(diag.message_detail) if diag and diag.message_detail else None,
            hint=self.scrub(diag.message_hint) if diag and diag.message_hint else None,
        )

    def run(
        self, what: str, query: str | sql.SQL | sql.Composed, params: dict[str, Any] | None = None
    ) -> list[dict[str, Any]]:
        try:
            cursor = self.conn.cursor(row_factory=dict_row)
            cursor.execute(query, params)
            return cursor.fetchall() if cursor.description is not None else []
        except psycopg.Error as exc:
            raise self.error(exc, what) from None

    # -- set-up --------------------------------------------------------------------------------------------------

    def begin_snapshot(self, timeout_ms: int) -> None:
        """The source's one transaction: every table, sequence and checksum is read as of this moment. It stays
        open (idle between chunks and during the target's checksums), so a server-wide idle timeout is lifted."""
        self.conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
        self.conn.read_only = True
        self.run("cannot start the source's snapshot", "SELECT 1")
        self.same_text()
        self.run("cannot set the source's timeouts", _timeout(timeout_ms))
        self.run("cannot set the source's timeouts", "SET idle_in_transaction_session_timeout = 0")

    def lock(self, source: str) -> bool:
        """This session's hold on copies from ``source`` into this database: False while another copy has it."""
        rows = self.run(
            "cannot take the copy's lock",
            "SELECT pg_catalog.pg_try_advisory_lock(pg_catalog.hashtext('dokploy_mcp.copy ' || %(source)s)) AS held",
            {"source": source},
        )
        self.conn.commit()
        return bool(rows[0]["held"])

    def same_text(self) -> None:
        for setting in SAME_TEXT:
            self.run("cannot set the output format", setting)

    def try_replica_role(self) -> bool:
        """Foreign keys and triggers off for this session (as ``pg_dump --disable-triggers``), where the login may;
        False (and nothing changed) where it may not."""
        try:
            self.conn.execute("SET session_replication_role = replica")
            self.conn.commit()
        except psycopg.Error:
            self.conn.rollback()
            return False
        return True

    def set_timeout(self, timeout_ms: int) -> None:
        self.run("cannot set statement_timeout", _timeout(timeout_ms))
        self.conn.commit()

    # -- the catalog ---------------------------------------------------------------------------------------------

    def tables(self, schemas: Sequence[str]) -> dict[str, Table]:
        rows = self.run(f"cannot read the {self.role}'s tables", TABLES_QUERY, {"schemas": list(schemas)})
        if self.role == "target":
            self.conn.rollback()
        return parse_tables(rows[0]["tables"])

    def sequences(self, tables: Sequence[Table]) -> list[tuple[SequenceRef, int, bool]]:
        """The sequences feeding ``tables`` and their values, as of the snapshot."""
        if not tables:
            return []
        rows = self.run(
            "cannot read the source's sequences", SEQUENCES_QUERY, {"tables": [table.sql_name for table in tables]}
        )
        values: list[tuple[SequenceRef, int, bool]] = []
        for row in rows:
            ref = SequenceRef(sql_name=row["sql_name"], name=row["name"])
            state = self.run(
                f"cannot read sequence {ref.name}",
                sql.SQL("SELECT last_value, is_called FROM {}").format(sql.SQL(ref.sql_name)),
            )
            values.append((ref, int(state[0]["last_value"]), bool(state[0]["is_called"])))
        return values

    def non_empty(self, tables: Sequence[Table]) -> set[str]:
        found = {
            table.display
            for table in tables
            if self.run(
                f"cannot read {table.display}",
                sql.SQL("SELECT EXISTS (SELECT 1 FROM {}) AS rows").format(sql.SQL(table.sql_name)),
            )[0]["rows"]
        }
        if self.role == "target":
            self.conn.rollback()
        return found

    # -- checkpoints (target) ------------------------------------------------------------------------------------

    def checkpoints(self, source: str) -> dict[str, Checkpoint]:
        exists = self.run(
            "cannot read the checkpoints", "SELECT pg_catalog.to_regclass(%(t)s) IS NOT NULL AS e", {"t": CHECKPOINTS}
        )[0]["e"]
        rows = (
            self.run(
                "cannot read the checkpoints",
                f"SELECT table_name, status, last_key, rows, bytes, base_rows, base_sum::text AS base_sum, mode, "
                f"schema_pending "
                f"FROM {CHECKPOINTS} WHERE source = %(source)s",
                {"source": source},
            )
            if exists
            else []
        )
        self.conn.rollback()
        return {
            row["table_name"]: Checkpoint(
                source=source,
                table=row["table_name"],
                status=row["status"],
                last_key=row["last_key"],
                rows=int(row["rows"]),
                bytes=int(row["bytes"]),
                base_rows=int(row["base_rows"]),
                base_sum=int(row["base_sum"]),
                mode=row["mode"],
                schema_pending=bool(row["schema_pending"]),
            )
            for row in rows
        }

    def start(
        self, source: str, tables: Sequence[Table], *, truncate: bool, mode: str, schema_pending: bool = False
    ) -> dict[str, Checkpoint]:
        """One transaction: the checkpoint table, the tables emptied (``truncate``, one TRUNCATE for all of them, so
        that foreign keys between them do not stand in the way), and a checkpoint row for each table, recording what
        it held before (``append``)."""
        started: dict[str, Checkpoint] = {}
        try:
            self.conn.execute(_CHECKPOINT_DDL)
            if truncate and tables:
                names = sql.SQL(", ").join(sql.SQL(table.sql_name) for table in tables)
                self.conn.execute(sql.SQL("TRUNCATE {}").format(names))
            # A restart replaces the checkpoints an earlier, unfinished copy left for these tables.
            self.conn.execute(
                f"DELETE FROM {CHECKPOINTS} WHERE source = %s AND table_name = ANY(%s)",
                [source, [table.display for table in tables]],
            )
            for table in tables:
                base_rows, base_sum = (0, 0) if truncate else self._checksum(table)
                self.conn.execute(
                    f"INSERT INTO {CHECKPOINTS} (source, table_name, status, base_rows, base_sum, mode) "
                    "VALUES (%s, %s, 'copying', %s, %s, %s)",
                    [source, table.display, base_rows, base_sum, mode],
                )
                started[table.display] = Checkpoint(
                    source, table.display, "copying", None, 0, 0, base_rows, base_sum, mode, schema_pending
                )
            if schema_pending:
                # On every row of this copy: a resume that copies nothing new still finds it.
                self.conn.execute(f"UPDATE {CHECKPOINTS} SET schema_pending = true WHERE source = %s", [source])
            self.conn.commit()
        except psycopg.Error as exc:
            self.conn.rollback()
            raise self.error(exc, "cannot prepare the target's tables") from None
        return started

    def forget(self, source: str) -> None:
        """Delete the checkpoints of ``source``: its copy is finished (``start`` made the table)."""
        try:
            self.conn.execute(f"DELETE FROM {CHECKPOINTS} WHERE source = %s", [source])
            self.conn.commit()
        except psycopg.Error as exc:
            self.conn.rollback()
            raise self.error(exc, "cannot delete the checkpoints") from None

    # -- sequences (target) --------------------------------------------------------------------------------------

    def set_sequences(self, values: Sequence[tuple[SequenceRef, int, bool]]) -> list[str]:
        """Each sequence the target has set to the source's value, in one transaction; the names it lacks."""
        missing: list[str] = []
        try:
            for ref, value, called in values:
                found = self.conn.execute("SELECT pg_catalog.to_regclass(%s) IS NOT NULL", [ref.sql_name]).fetchone()
                if found != (True,):
                    missing.append(ref.name)
                    continue
                self.conn.execute("SELECT pg_catalog.setval(%s::regclass, %s, %s)", [ref.sql_name, value, called])
            self.conn.commit()
        except psycopg.Error as exc:
            self.conn.rollback()
            raise self.error(exc, "cannot set the target's sequences") from None
        return missing

    # -- materialized views --------------------------------------------------------------------------------------

    def populated_matviews(self, schemas: Sequence[str]) -> list[str]:
        rows = self.run("cannot read the materialized views", MATVIEWS_QUERY, {"schemas": list(schemas)})
        return [row["sql_name"] for row in rows]

    def refresh(self, matviews: Sequence[str]) -> list[str]:
        """Each of ``matviews`` this side has refreshed, in one transaction; the names it lacks."""
        missing: list[str] = []
        try:
            for name in matviews:
                if self.conn.execute("SELECT pg_catalog.to_regclass(%s) IS NOT NULL", [name]).fetchone() != (True,):
                    missing.append(name)
                    continue
                self.conn.execute(sql.SQL("REFRESH MATERIALIZED VIEW {}").format(sql.SQL(name)))
            self.conn.commit()
        except psycopg.Error as exc:
            self.conn.rollback()
            raise self.error(exc, "cannot refresh the target's materialized views") from None
        return missing

    # -- checksums -----------------------------------------------------------------------------------------------

    def _checksum(self, table: Table) -> tuple[int, int]:
        row = self.conn.execute(checksum_query(table)).fetchone()
        assert row is not None
        return int(row[0]), int(row[1])

    def checksum(self, table: Table) -> tuple[int, int]:
        """Rows and the sum of a 64-bit hash of each row's text: the same whatever the order rows are stored in."""
        try:
            result = self._checksum(table)
        except psycopg.Error as exc:
            raise self.error(exc, f"cannot read the checksum of {table.display}") from None
        if self.role == "target":
            self.conn.rollback()
        return result


def _timeout(timeout_ms: int) -> sql.Composed:
    return sql.SQL("SET statement_timeout = {}").format(sql.Literal(timeout_ms))


def column_list(table: Table) -> sql.Composed:
    return sql.SQL(", ").join(sql.Identifier(column.name) for column in table.copied)


def checksum_query(table: Table) -> sql.Composed:
    """Rows and the sum of each row's hash, as text (a sum of 64-bit values needs numeric)."""
    return sql.SQL(
        "SELECT count(*), coalesce(sum(('x' || substr(md5(ROW({columns})::text), 1, 16))::bit(64)::bigint), 0)::text "
        "FROM {table}"
    ).format(columns=column_list(table), table=sql.SQL(table.sql_name))


def key_range(table: Table, lower: list[str] | None, upper: list[str] | None) -> sql.Composable:
    """``WHERE`` for the rows after key ``lower`` up to key ``upper`` (both optional); the key values are text
    literals cast to the key columns' types."""
    if not table.key or (lower is None and upper is None):
        return sql.SQL("")
    key = sql.SQL("({})").format(sql.SQL(", ").join(sql.Identifier(name) for name in table.key))
    conditions: list[sql.Composable] = []
    for values, operator in ((lower, ">"), (upper, "<=")):
        if values is not None:
            conditions.append(sql.SQL("{} {} ({})").format(key, sql.SQL(operator), _key_values(table, values)))
    return sql.SQL(" WHERE ") + sql.SQL(" AND ").join(conditions)


def _key_values(table: Table, values: list[str]) -> sql.Composed:
    parts = []
    for name, value in zip(table.key, values, strict=True):
        column = table.column(name)
        assert column is not None
        parts.append(sql.SQL("CAST({} AS {})").format(sql.Literal(value), sql.SQL(column.type)))
    return sql.SQL(", ").join(parts)


def next_bound(source: Side, table: Table, lower: list[str] | None, rows: int) -> list[str] | None:
    """The key of the ``rows``-th row after ``lower`` (the end of the next chunk); None when fewer rows are left."""
    key = sql.SQL(", ").join(sql.Identifier(name) for name in table.key)
    # Aliased: an output column named like a key column would be what ORDER BY sorts by (as text).
    as_text = sql.SQL(", ").join(
        sql.SQL("{}::text AS {}").format(sql.Identifier(name), sql.Identifier(f"key {index}"))
        for index, name in enumerate(table.key)
    )
    query = sql.SQL("SELECT {as_text} FROM {table}{where} ORDER BY {key} LIMIT 1 OFFSET {offset}").format(
        as_text=as_text,
        table=sql.SQL(table.sql_name),
        where=key_range(table, lower, None),
        key=key,
        offset=sql.Literal(rows - 1),
    )
    try:
        row = source.conn.execute(query).fetchone()
    except psycopg.Error as exc:
        raise source.error(exc, f"cannot find the next chunk of {table.display}") from None
    return None if row is None else [str(value) for value in row]


def copy_chunk(
    source: Side,
    target: Side,
    table: Table,
    checkpoint: Checkpoint,
    upper: list[str] | None,
    should_stop: Callable[[], bool],
) -> ChunkResult:
    """The rows of ``table`` after the checkpoint's key up to ``upper`` (all the rest when None), streamed from the
    source's snapshot into the target, and the checkpoint moved on, in one target transaction."""
    form = sql.SQL("binary" if table.binary else "text")
    columns = column_list(table)
    out = sql.SQL("COPY (SELECT {columns} FROM {table}{where}) TO STDOUT (FORMAT {form})").format(
        columns=columns, table=sql.SQL(table.sql_name), where=key_range(table, checkpoint.last_key, upper), form=form
    )
    into = sql.SQL("COPY {table} ({columns}) FROM STDIN (FORMAT {form})").format(
        table=sql.SQL(table.sql_name), columns=columns, form=form
    )
    sent = 0
    try:
        target_cursor = target.conn.cursor()
        with source.conn.cursor().copy(out) as rows_out, target_cursor.copy(into) as rows_in:
            for count, data in enumerate(rows_out):
                rows_in.write(data)
                sent += len(data)
                if count % _STOP_EVERY == 0 and should_stop():
                    raise JobStoppedError(f"the job was stopped while copying {table.display}")
        copied = max(target_cursor.rowcount, 0)
        last_key = upper if upper is not None else checkpoint.last_key
        target.conn.execute(
            f"UPDATE {CHECKPOINTS} SET rows = rows + %s, bytes = bytes + %s, last_key = %s, status = %s, "
            "updated_at = now() WHERE source = %s AND table_name = %s",
            [
                copied,
                sent,
                json.dumps(last_key) if last_key is not None else None,
                "copying" if upper is not None else "done",
                checkpoint.source,
                table.display,
            ],
        )
        target.conn.commit()
    except psycopg.Error as exc:
        _roll_back(target)
        side = source if getattr(exc, "pgconn", None) is source.conn.pgconn else target
        raise side.error(exc, f"copying {table.display}") from None
    except BaseException:
        _roll_back(target)
        raise
    return ChunkResult(rows=copied, bytes=sent, last_key=last_key)


def _roll_back(side: Side) -> None:
    """The chunk's target transaction undone, where the connection still can; a broken one is closed by its owner."""
    try:
        if not side.conn.closed:
            side.conn.rollback()
    except psycopg.Error:
        logger.debug("the %s's connection could not roll back: it is broken and will be closed", side.role)
