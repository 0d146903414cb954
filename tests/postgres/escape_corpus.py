"""The escape corpus: SQL that tries to change something through a read-only path, each with a way to SEE it.

Every :class:`Escape` is data, reused by the tests of every route (direct psycopg, pg-meta):

- ``sql`` and ``setup`` are templates. ``{tmp}`` (a directory the server's OS user can write), ``{marker}`` (a
  secret token), ``{victim_pid}`` (an idle superuser session), ``{busy_pid}`` (a session running a long
  query), ``{reader}`` (a NOLOGIN non-superuser role), ``{db_url}`` (libpq URL of the database), ``{db}`` and
  ``{uid}`` are filled by :meth:`ObservationContext.render`. Setup runs as the superuser, one statement at a
  time, autocommitted, in a fresh throwaway database.
- ``probe(ctx)`` takes a snapshot of what the statement would change, from OUTSIDE the statement: rows,
  catalog, files under ``{tmp}``, whether the victim is alive, locks, sequence values, server state, whether
  the secret leaked into the statement's output. ``session_probe`` is SQL run before and after on the
  statement's own session (settings, LISTEN, prepared statements, loaded libraries). The effect happened
  when the snapshot after differs from the snapshot before; never judge by an error message.
- ``guard_refuses``: :func:`dokploy_mcp.postgres.sqlguard.require_read_only` refuses it.
  ``read_only_blocks``: ``Database.execute(sql, read_only=True)`` on a superuser connection, without the
  guard, leaves no trace (READ ONLY transaction, extended protocol, rollback, the pool's session reset).
  Every entry must be stopped by at least one of them on the direct route, except the known ``gap`` entries.
- ``gap``: the guard allows it (it only reads a view or a foreign table; calls of user functions are refused)
  and READ ONLY does not stop what the hidden code does. ``role_stops`` says whether running it with ``{reader}`` as the
  statement's role (``SET LOCAL ROLE`` on the superuser session) stops it. These are the findings to fix
  outside the parse tree: use a non-superuser login for read-only SQL.

A route's test: ``with observation(server_url) as ctx: sql = ctx.prepare(entry); before =
ctx.snapshot(entry, session_rows); <run sql>; ctx.output = <what it returned>; ctx.settle(entry); after =
ctx.snapshot(entry, session_rows)``; see :func:`run_plain` (the positive control) for the pattern.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import psycopg
from psycopg import sql as psql

Probe = Callable[["ObservationContext"], object]
Rows = list[list[str]]

CONTROL_APP = "escape-control"
VICTIM_APP = "escape-victim"
BUSY_APP = "escape-busy"
CHANNEL = "escape_ch"


@dataclass(frozen=True)
class Escape:
    name: str
    category: str
    sql: str
    effect: str
    probe: Probe
    read_only_blocks: bool
    setup: tuple[str, ...] = ()
    teardown: tuple[str, ...] = ()  # run as superuser on the server's maintenance database; errors ignored
    session_probe: str | None = None
    as_role: bool = False  # run as {reader}: positive control after SET ROLE, routes with role=
    guard_refuses: bool = True
    gap: str | None = None
    role_stops: bool | None = None
    noisy: bool = False  # the probe sees server-wide state that other sessions may change: retry clean runs
    settle: float = 0.0  # seconds to wait before the snapshot after (asynchronous effects)


# -- the observation context ---------------------------------------------------------------------------------


@dataclass
class ObservationContext:
    """A throwaway database, a writable tmp directory, a reader role and lazily started helper sessions."""

    server_url: str
    db_url: str
    db: str
    uid: str
    tmp: str
    reader: str
    marker: str
    output: str = ""
    teardown: list[str] = field(default_factory=list)
    _victim: psycopg.Connection[Any] | None = None
    _busy: psycopg.Connection[Any] | None = None
    _busy_thread: threading.Thread | None = None
    _listener: psycopg.Connection[Any] | None = None
    _notified: int = 0

    # -- SQL as the superuser ---------------------------------------------------------------------------

    def admin(self, query: str, params: Any = None) -> Rows:
        """Run one query as the superuser in the throwaway database, autocommitted; rows as text."""
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            cursor = conn.execute(query.encode(), params) if params is None else conn.execute(query, params)
            return _text_rows(cursor.fetchall()) if cursor.description else []

    def rows(self, query: str) -> Rows | str:
        """Like :meth:`admin` for probes: an error (a dropped table...) is part of the observed state."""
        try:
            return self.admin(self.render(query))
        except psycopg.Error as exc:
            return f"error {exc.sqlstate}"

    def render(self, template: str) -> str:
        values = {
            "tmp": self.tmp,
            "marker": self.marker,
            "reader": self.reader,
            "db_url": self.db_url,
            "db": self.db,
            "uid": self.uid,
        }
        text = template
        for key, value in values.items():
            text = text.replace("{" + key + "}", value)
        if "{victim_pid}" in text:
            text = text.replace("{victim_pid}", str(self.victim_pid))
        if "{busy_pid}" in text:
            text = text.replace("{busy_pid}", str(self.busy_pid))
        return text

    def prepare(self, entry: Escape) -> str:
        """Run the entry's setup and return its rendered SQL (helper sessions it names are started)."""
        self.teardown.extend(self.render(statement) for statement in entry.teardown)
        for statement in entry.setup:
            self.admin(self.render(statement))
        return self.render(entry.sql)

    def snapshot(self, entry: Escape, session_rows: object = None) -> tuple[object, object]:
        return entry.probe(self), session_rows

    def settle(self, entry: Escape) -> None:
        if entry.settle:
            time.sleep(entry.settle)

    # -- helper sessions --------------------------------------------------------------------------------

    @property
    def victim_pid(self) -> int:
        if self._victim is None:
            self._victim = psycopg.connect(self.db_url, autocommit=True, application_name=VICTIM_APP)
        return int(self._victim.info.backend_pid)

    def victim_alive(self) -> bool:
        """Whether the victim session (started on first use) still has a server process."""
        return self.admin("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [self.victim_pid])[0][0] != "0"

    @property
    def busy_pid(self) -> int:
        if self._busy is None:
            conn = psycopg.connect(self.db_url, autocommit=True, application_name=BUSY_APP)
            self._busy = conn

            def sleep() -> None:
                with contextlib.suppress(psycopg.Error):
                    conn.execute("SELECT pg_sleep(60)")

            self._busy_thread = threading.Thread(target=sleep, daemon=True)
            self._busy_thread.start()
            deadline = time.monotonic() + 5
            while not self.busy_running() and time.monotonic() < deadline:
                time.sleep(0.02)
        return int(self._busy.info.backend_pid)

    def busy_running(self) -> bool:
        if self._busy is None:
            return False
        state = self.admin(
            "SELECT state FROM pg_stat_activity WHERE pid = %s AND query LIKE '%%pg_sleep%%'",
            [int(self._busy.info.backend_pid)],
        )
        return bool(state) and state[0][0] == "active"

    def notifications(self) -> int:
        """How many notifications on :data:`CHANNEL` a listening session has received so far."""
        if self._listener is None:
            self._listener = psycopg.connect(self.db_url, autocommit=True)
            self._listener.execute(f"LISTEN {CHANNEL}".encode())
        for _ in self._listener.notifies(timeout=0.3):
            self._notified += 1
        return self._notified

    def leaked(self) -> bool:
        return self.marker in self.output

    def files(self) -> list[str]:
        return sorted(os.listdir(self.tmp))

    def close(self) -> None:
        if self._busy is not None:
            with contextlib.suppress(psycopg.Error):
                self._busy.cancel_safe(timeout=5)
            if self._busy_thread is not None:
                self._busy_thread.join(timeout=10)
        for conn in (self._victim, self._busy, self._listener):
            if conn is not None:
                with contextlib.suppress(psycopg.Error):
                    conn.close()


@contextlib.contextmanager
def observation(server_url: str) -> Iterator[ObservationContext]:
    """A fresh :class:`ObservationContext`: database, tmp directory and role, all removed afterwards."""
    uid = secrets.token_hex(4)
    db = f"dokploy_mcp_escape_{uid}"
    reader = f"escape_reader_{uid}"
    tmp = f"/tmp/dokploy-mcp-escape-{uid}"
    os.mkdir(tmp)
    os.chmod(tmp, 0o777)  # the server runs as its own OS user
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(psql.SQL("CREATE DATABASE {}").format(psql.Identifier(db)))
        conn.execute(psql.SQL("CREATE ROLE {} NOLOGIN").format(psql.Identifier(reader)))
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    info["dbname"] = db
    db_url = psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})
    ctx = ObservationContext(
        server_url=server_url,
        db_url=db_url,
        db=db,
        uid=uid,
        tmp=tmp,
        reader=reader,
        marker=f"secret-{secrets.token_hex(8)}",
    )
    try:
        yield ctx
    finally:
        ctx.close()
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(psql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psql.Identifier(db)))
            for statement in ctx.teardown:
                with contextlib.suppress(psycopg.Error):
                    conn.execute(statement.encode())
            conn.execute(psql.SQL("DROP ROLE IF EXISTS {}").format(psql.Identifier(reader)))
        shutil.rmtree(tmp, ignore_errors=True)


def run_plain(ctx: ObservationContext, entry: Escape) -> tuple[object, object]:
    """The positive control: run the SQL plainly (simple protocol, autocommit, superuser or SET ROLE reader).

    Returns the snapshots before and after; they differ when the statement had its effect.
    """
    statement = ctx.prepare(entry)
    with psycopg.connect(ctx.db_url, autocommit=True, application_name=CONTROL_APP) as conn:
        if entry.as_role:
            conn.execute(psql.SQL("SET ROLE {}").format(psql.Identifier(ctx.reader)))
        before = ctx.snapshot(entry, session_rows(conn, entry))
        try:
            cursor = conn.execute(statement.encode())
            results: list[object] = []
            while True:
                if cursor.description:
                    results.append(cursor.fetchall())
                if not cursor.nextset():
                    break
            ctx.output = repr(results)
        except psycopg.Error as exc:
            ctx.output = f"error: {exc}"
        ctx.settle(entry)
        after = ctx.snapshot(entry, session_rows(conn, entry))
    return before, after


def session_rows(conn: psycopg.Connection[Any], entry: Escape) -> Rows | str | None:
    if entry.session_probe is None:
        return None
    try:
        return _text_rows(conn.execute(entry.session_probe.encode()).fetchall())
    except psycopg.Error as exc:
        return f"error {exc.sqlstate}"


def _text_rows(rows: list[Any]) -> Rows:
    return [[str(value) for value in row] for row in rows]


# -- probes --------------------------------------------------------------------------------------------------


def query(text: str) -> Probe:
    """Rows of a superuser query in the throwaway database (an error is a state too)."""
    return lambda ctx: ctx.rows(text)


def both(*probes: Probe) -> Probe:
    return lambda ctx: tuple(probe(ctx) for probe in probes)


def nothing(ctx: ObservationContext) -> object:
    return None


def files(ctx: ObservationContext) -> object:
    return ctx.files()


def data_file(name: str) -> Probe:
    """Whether a file in the server's data directory exists, and its size and modification time (ns)."""

    def probe(ctx: ObservationContext) -> object:
        directory = ctx.admin("SELECT current_setting('data_directory')")[0][0]
        try:
            stat = os.stat(os.path.join(directory, name))
        except OSError as exc:
            return f"absent ({exc.errno})"
        return (stat.st_size, stat.st_mtime_ns)

    return probe


def victim_alive(ctx: ObservationContext) -> object:
    return ctx.victim_alive()


def busy_running(ctx: ObservationContext) -> object:
    return ctx.busy_running()


def notified(ctx: ObservationContext) -> object:
    return ctx.notifications()


def leaked(ctx: ObservationContext) -> object:
    return ctx.leaked()


ROWS = query("SELECT id, note FROM escape_t ORDER BY id")
CATALOG = query(
    """
    SELECT 'rel', c.relname, c.relkind::text, coalesce(obj_description(c.oid, 'pg_class'), ''),
           coalesce(c.relacl::text, ''),
           coalesce((SELECT string_agg(a.attname || ':' || format_type(a.atttypid, a.atttypmod), ',' ORDER BY a.attnum)
                     FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')
      FROM pg_class c WHERE c.relnamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'public')
    UNION ALL SELECT 'proc', p.proname, p.prokind::text, '', '', ''
      FROM pg_proc p WHERE p.pronamespace = (SELECT oid FROM pg_namespace WHERE nspname = 'public')
    UNION ALL SELECT 'schema', nspname, '', '', '', '' FROM pg_namespace
    UNION ALL SELECT 'extension', extname, '', '', '', '' FROM pg_extension
    ORDER BY 1, 2, 3
    """
)
FILENODES = query("SELECT relname, relfilenode FROM pg_class WHERE relname LIKE 'escape%' ORDER BY 1")
RELTUPLES = query("SELECT relname, reltuples FROM pg_class WHERE relname = 'escape_t'")
SEQUENCE = query("SELECT last_value, is_called FROM escape_seq")
LARGE_OBJECTS = query("SELECT count(*) FROM pg_largeobject_metadata")
ADVISORY = query(
    "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)
XID = query("SELECT pg_snapshot_xmax(pg_current_snapshot())")
CONF_LOAD = query("SELECT pg_conf_load_time()")
STATS_RESET = query("SELECT stats_reset FROM pg_stat_database WHERE datname = current_database()")
WAL_FILE = query("SELECT pg_walfile_name(pg_current_wal_insert_lsn() + 1)")
CHECKPOINT_REDO = query("SELECT redo_lsn FROM pg_control_checkpoint()")
ROW_LOCKER = query("SELECT xmax FROM escape_t WHERE id = 1")
TABLE_LOCKS = query(
    "SELECT count(*) FROM pg_locks WHERE mode = 'AccessExclusiveLock'"
    " AND relation = (SELECT oid FROM pg_class WHERE relname = 'escape_t')"
)
READER_SUPERUSER = query("SELECT rolsuper FROM pg_roles WHERE rolname = '{reader}'")
ROLE_EXISTS = query("SELECT count(*) FROM pg_roles WHERE rolname = 'escape_role_{uid}'")
DATABASE_EXISTS = query("SELECT count(*) FROM pg_database WHERE datname = 'escape_db_{uid}'")
AUTO_CONF = query(
    "SELECT name, setting FROM pg_file_settings WHERE name = 'vacuum_cost_page_miss'"
    " AND sourcefile LIKE '%postgresql.auto.conf'"
)
BRIN_PAGES = query(
    "SELECT md5(string_agg(md5(get_raw_page('escape_brin', p::int)), ',' ORDER BY p))"
    " FROM generate_series(0, pg_relation_size('escape_brin') / current_setting('block_size')::int - 1) p"
)

TABLE = (
    "CREATE TABLE escape_t (id int PRIMARY KEY, note text) WITH (autovacuum_enabled = off)",
    "INSERT INTO escape_t SELECT g, 'row ' || g FROM generate_series(1, 3) g",
    "GRANT SELECT ON escape_t TO {reader}",
)
SECRET = ("COPY (SELECT '{marker}') TO '{tmp}/secret.txt'",)
SEQ = ("CREATE SEQUENCE escape_seq",)
SECRET_READ = "pg_read_file('{tmp}/secret.txt')"

_BASE = Escape  # alias for brevity below


def _e(name: str, category: str, sql: str, effect: str, probe: Probe, *, blocks: bool, **kw: Any) -> Escape:
    return _BASE(name=name, category=category, sql=sql, effect=effect, probe=probe, read_only_blocks=blocks, **kw)


CORPUS: tuple[Escape, ...] = (
    # -- DML ---------------------------------------------------------------------------------------------
    _e("insert", "dml", "INSERT INTO escape_t VALUES (10, 'new')", "a row is added", ROWS, blocks=True, setup=TABLE),
    _e(
        "update_where",
        "dml",
        "UPDATE escape_t SET note = 'changed' WHERE id = 1",
        "a row changes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "update_all", "dml", "UPDATE escape_t SET note = 'changed'", "every row changes", ROWS, blocks=True, setup=TABLE
    ),
    _e("delete_where", "dml", "DELETE FROM escape_t WHERE id = 1", "a row goes", ROWS, blocks=True, setup=TABLE),
    _e("delete_all", "dml", "DELETE FROM escape_t", "every row goes", ROWS, blocks=True, setup=TABLE),
    _e(
        "insert_returning",
        "dml",
        "INSERT INTO escape_t VALUES (11, 'r') RETURNING *",
        "a row is added",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "upsert",
        "dml",
        "INSERT INTO escape_t VALUES (1, 'x') ON CONFLICT (id) DO UPDATE SET note = 'upserted'",
        "a row changes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "merge_delete",
        "dml",
        "MERGE INTO escape_t t USING (VALUES (1)) AS s(id) ON t.id = s.id WHEN MATCHED THEN DELETE",
        "a row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e("truncate", "dml", "TRUNCATE escape_t", "every row goes", ROWS, blocks=True, setup=TABLE),
    # -- DDL and catalog ---------------------------------------------------------------------------------
    _e("create_table", "ddl", "CREATE TABLE escape_new (x int)", "a table appears", CATALOG, blocks=True),
    _e("drop_table", "ddl", "DROP TABLE escape_t", "the table goes", CATALOG, blocks=True, setup=TABLE),
    _e(
        "drop_schema_cascade",
        "ddl",
        "DROP SCHEMA public CASCADE",
        "the schema and its tables go",
        CATALOG,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "alter_add_column",
        "ddl",
        "ALTER TABLE escape_t ADD COLUMN extra int",
        "a column appears",
        CATALOG,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "alter_drop_column",
        "ddl",
        "ALTER TABLE escape_t DROP COLUMN note",
        "a column goes",
        CATALOG,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "create_index",
        "ddl",
        "CREATE INDEX escape_idx ON escape_t (note)",
        "an index appears",
        CATALOG,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "create_function",
        "ddl",
        "CREATE FUNCTION escape_fn() RETURNS int LANGUAGE sql AS 'SELECT 1'",
        "a function appears",
        CATALOG,
        blocks=True,
    ),
    _e("create_view", "ddl", "CREATE VIEW escape_view AS SELECT 1 AS x", "a view appears", CATALOG, blocks=True),
    _e("create_schema", "ddl", "CREATE SCHEMA escape_schema", "a schema appears", CATALOG, blocks=True),
    _e("create_extension", "ddl", "CREATE EXTENSION pg_trgm", "an extension appears", CATALOG, blocks=True),
    _e(
        "comment_on",
        "ddl",
        "COMMENT ON TABLE escape_t IS 'hello'",
        "a comment appears",
        CATALOG,
        blocks=True,
        setup=TABLE,
    ),
    _e("grant", "ddl", "GRANT ALL ON escape_t TO PUBLIC", "privileges change", CATALOG, blocks=True, setup=TABLE),
    _e(
        "select_into",
        "ddl",
        "SELECT * INTO escape_copy FROM escape_t",
        "a table appears",
        CATALOG,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "create_table_as",
        "ddl",
        "CREATE TABLE escape_copy AS SELECT * FROM escape_t",
        "a table appears",
        CATALOG,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "create_temp_table",
        "ddl",
        "CREATE TEMP TABLE escape_tmp AS SELECT 1 AS x",
        "a temporary table appears",
        query("SELECT count(*) FROM pg_class WHERE relname = 'escape_tmp'"),
        blocks=True,
    ),
    _e(
        "create_role",
        "ddl",
        "CREATE ROLE escape_role_{uid}",
        "a cluster role appears",
        ROLE_EXISTS,
        blocks=True,
        teardown=("DROP ROLE IF EXISTS escape_role_{uid}",),
    ),
    _e(
        "alter_role_superuser",
        "role_escalation",
        "ALTER ROLE {reader} SUPERUSER",
        "the reader becomes superuser",
        READER_SUPERUSER,
        blocks=True,
    ),
    _e(
        "create_database",
        "ddl",
        "CREATE DATABASE escape_db_{uid}",
        "a database appears",
        DATABASE_EXISTS,
        blocks=True,
        teardown=("DROP DATABASE IF EXISTS escape_db_{uid} WITH (FORCE)",),
    ),
    _e(
        "alter_system",
        "server_file",
        "ALTER SYSTEM SET vacuum_cost_page_miss = 3",
        "postgresql.auto.conf is rewritten",
        AUTO_CONF,
        blocks=True,
        teardown=("ALTER SYSTEM RESET vacuum_cost_page_miss",),
    ),
    # -- writing WITH and EXPLAIN ANALYZE ----------------------------------------------------------------
    _e(
        "cte_delete",
        "writable_cte",
        "WITH d AS (DELETE FROM escape_t RETURNING *) SELECT count(*) FROM d",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "cte_insert",
        "writable_cte",
        "WITH i AS (INSERT INTO escape_t VALUES (20, 'cte') RETURNING id) SELECT * FROM i",
        "a row is added",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "cte_update_in_subquery",
        "writable_cte",
        "WITH u AS (UPDATE escape_t SET note = 'cte' WHERE id = 2 RETURNING 1) SELECT (SELECT count(*) FROM u) AS n",
        "a row changes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "explain_analyze_delete",
        "writable_cte",
        "EXPLAIN ANALYZE DELETE FROM escape_t",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "explain_analyze_cte_insert",
        "writable_cte",
        "EXPLAIN (ANALYZE, COSTS OFF) WITH i AS (INSERT INTO escape_t VALUES (21, 'x') RETURNING 1) SELECT * FROM i",
        "a row is added",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    # -- procedural code ---------------------------------------------------------------------------------
    _e(
        "do_block",
        "procedural",
        "DO $$BEGIN DELETE FROM escape_t; END$$",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "do_set_read_write",
        "procedural",
        "DO $$BEGIN SET TRANSACTION READ WRITE; DELETE FROM escape_t; END$$",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "do_commit",
        "procedural",
        "DO $$BEGIN DELETE FROM escape_t; COMMIT; END$$",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "call_procedure",
        "procedural",
        "CALL escape_proc()",
        "every row goes",
        ROWS,
        blocks=True,
        setup=(*TABLE, "CREATE PROCEDURE escape_proc() LANGUAGE sql AS $$DELETE FROM escape_t$$"),
    ),
    _e(
        "call_procedure_commit",
        "procedural",
        "CALL escape_proc_commit()",
        "every row goes",
        ROWS,
        blocks=True,
        setup=(
            *TABLE,
            "CREATE PROCEDURE escape_proc_commit() LANGUAGE plpgsql AS $$BEGIN DELETE FROM escape_t; COMMIT; END$$",
        ),
    ),
    # -- user functions: the guard allows them, READ ONLY stops their writes -----------------------------
    _e(
        "plpgsql_function_writes",
        "user_function",
        "SELECT escape_write()",
        "every row goes",
        ROWS,
        blocks=True,
        guard_refuses=True,
        setup=(
            *TABLE,
            "CREATE FUNCTION escape_write() RETURNS int LANGUAGE plpgsql"
            " AS $$BEGIN DELETE FROM escape_t; RETURN 1; END$$",
        ),
    ),
    _e(
        "sql_function_writes",
        "user_function",
        "SELECT escape_write_sql()",
        "every row goes",
        ROWS,
        blocks=True,
        guard_refuses=True,
        setup=(
            *TABLE,
            "CREATE FUNCTION escape_write_sql() RETURNS int LANGUAGE sql AS $$DELETE FROM escape_t; SELECT 1$$",
        ),
    ),
    _e(
        "function_in_from_writes",
        "user_function",
        "SELECT * FROM escape_write()",
        "every row goes",
        ROWS,
        blocks=True,
        guard_refuses=True,
        setup=(
            *TABLE,
            "CREATE FUNCTION escape_write() RETURNS int LANGUAGE plpgsql"
            " AS $$BEGIN DELETE FROM escape_t; RETURN 1; END$$",
        ),
    ),
    _e(
        "security_definer_writes",
        "user_function",
        "SELECT escape_definer()",
        "every row goes (the definer is a superuser)",
        ROWS,
        blocks=True,
        guard_refuses=True,
        as_role=True,
        setup=(
            *TABLE,
            "CREATE FUNCTION escape_definer() RETURNS int LANGUAGE plpgsql SECURITY DEFINER"
            " AS $$BEGIN DELETE FROM escape_t; RETURN 1; END$$",
        ),
    ),
    _e(
        "function_turns_read_write",
        "user_function",
        "SELECT escape_rw()",
        "every row goes",
        ROWS,
        blocks=True,
        guard_refuses=True,
        setup=(
            *TABLE,
            "CREATE FUNCTION escape_rw() RETURNS int LANGUAGE plpgsql AS $$BEGIN"
            " PERFORM set_config('transaction_read_only', 'off', true); DELETE FROM escape_t;"
            " RETURN 1; END$$",
        ),
    ),
    # -- COPY ----------------------------------------------------------------------------------------------
    _e(
        "copy_to_program",
        "copy",
        "COPY (SELECT 1) TO PROGRAM 'touch {tmp}/copy_program'",
        "a program runs on the server",
        files,
        blocks=False,
    ),
    _e(
        "copy_to_program_mixed_case",
        "copy",
        "cOpY (sElEcT 1) To PrOgRaM 'touch {tmp}/copy_case'",
        "a program runs on the server",
        files,
        blocks=False,
    ),
    _e(
        "copy_to_file",
        "copy",
        "COPY escape_t TO '{tmp}/copy_file.csv'",
        "a server file is written",
        files,
        blocks=False,
        setup=TABLE,
    ),
    _e(
        "copy_from_program",
        "copy",
        "COPY escape_t FROM PROGRAM 'touch {tmp}/copy_from; echo 30,piped' WITH (FORMAT csv)",
        "a program runs and a row is added",
        both(files, ROWS),
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "copy_from_file",
        "copy",
        "COPY escape_t FROM '{tmp}/in.csv' WITH (FORMAT csv)",
        "a row is added",
        ROWS,
        blocks=True,
        setup=(*TABLE, "COPY (SELECT 40, 'from file') TO '{tmp}/in.csv' WITH (FORMAT csv)"),
    ),
    # -- transaction control chains ------------------------------------------------------------------------
    _e(
        "commit_then_delete",
        "transaction_control",
        "COMMIT; DELETE FROM escape_t",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "rollback_then_delete",
        "transaction_control",
        "ROLLBACK; DELETE FROM escape_t",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "end_then_delete",
        "transaction_control",
        "END; DELETE FROM escape_t",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "abort_then_delete",
        "transaction_control",
        "ABORT; DELETE FROM escape_t",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "select_commit_delete",
        "transaction_control",
        "SELECT 1; COMMIT; DELETE FROM escape_t",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "commit_start_read_write",
        "transaction_control",
        "COMMIT; START TRANSACTION READ WRITE; DELETE FROM escape_t; COMMIT",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "set_transaction_read_write",
        "transaction_control",
        "SET TRANSACTION READ WRITE; DELETE FROM escape_t",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "set_session_characteristics",
        "transaction_control",
        "SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE; DELETE FROM escape_t",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "set_config_read_only_off",
        "transaction_control",
        "SELECT set_config('transaction_read_only', 'off', true); DELETE FROM escape_t",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    # -- several statements ----------------------------------------------------------------------------------
    _e(
        "select_then_delete",
        "multi_statement",
        "SELECT 1; DELETE FROM escape_t",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "delete_then_select",
        "multi_statement",
        "DELETE FROM escape_t; SELECT 1",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "no_spaces",
        "multi_statement",
        "SELECT 1;DELETE FROM escape_t;",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "newline_drop",
        "multi_statement",
        "SELECT 1\n;\nDROP TABLE escape_t",
        "the table goes",
        CATALOG,
        blocks=True,
        setup=TABLE,
    ),
    # -- comments and quoting ------------------------------------------------------------------------------
    _e(
        "block_comment_semicolon",
        "comment_quoting",
        "SELECT 1 /* ; */; DELETE FROM escape_t",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "line_comment_newline",
        "comment_quoting",
        "SELECT 1 -- harmless ;\n; DELETE FROM escape_t",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "nested_block_comment",
        "comment_quoting",
        "/* /* */ SELECT 1 */ DELETE FROM escape_t",
        "every row goes (nested comments hide the SELECT, not the DELETE)",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "dollar_quote_then_drop",
        "comment_quoting",
        "SELECT $$ harmless $$; DROP TABLE escape_t; SELECT $$ $$",
        "the table goes",
        CATALOG,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "tagged_dollar_quote",
        "comment_quoting",
        "SELECT $a$ $$; $a$; DELETE FROM escape_t",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "backslash_quote",
        "comment_quoting",
        "SELECT '\\'; DELETE FROM escape_t; --'",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "escape_string_backslash",
        "comment_quoting",
        "SELECT E'\\\\'; DELETE FROM escape_t; --'",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "unicode_escape_set_config",
        "comment_quoting",
        "SELECT U&\"\\0073et_config\"('work_mem', '1111kB', false)",
        "a session setting changes",
        nothing,
        blocks=True,
        session_probe="SHOW work_mem",
    ),
    _e(
        "mixed_case_set_config",
        "comment_quoting",
        "SeLeCt SeT_CoNfIg('work_mem', '2222kB', FaLsE)",
        "a session setting changes",
        nothing,
        blocks=True,
        session_probe="SHOW work_mem",
    ),
    _e(
        "quoted_catalog_set_config",
        "comment_quoting",
        "SELECT \"pg_catalog\".\"set_config\"('work_mem', '3333kB', false)",
        "a session setting changes",
        nothing,
        blocks=True,
        session_probe="SHOW work_mem",
    ),
    _e(
        "set_config_in_where",
        "comment_quoting",
        "SELECT 1 WHERE (SELECT pg_catalog.set_config('work_mem', '4444kB', false)) IS NOT NULL",
        "a session setting changes",
        nothing,
        blocks=True,
        session_probe="SHOW work_mem",
    ),
    # -- settings and roles ----------------------------------------------------------------------------
    _e(
        "set_work_mem",
        "settings",
        "SET work_mem = '5555kB'",
        "a session setting changes",
        nothing,
        blocks=True,
        session_probe="SHOW work_mem",
    ),
    _e(
        "set_role_single",
        "role_escalation",
        "SET ROLE postgres",
        "the session is superuser again",
        nothing,
        blocks=True,
        as_role=True,
        session_probe="SELECT current_user",
    ),
    _e(
        "set_config_role_read_file",
        "role_escalation",
        "SELECT set_config('role', 'postgres', true),"
        " query_to_xml('SELECT pg_read_file(''{tmp}/secret.txt'')', true, false, '')",
        "the reader becomes superuser and reads a server file",
        leaked,
        blocks=False,
        as_role=True,
        setup=SECRET,
    ),
    _e(
        "set_config_role_terminate",
        "role_escalation",
        "SELECT set_config('role', 'postgres', true), pg_terminate_backend({victim_pid}, 5000)",
        "the reader becomes superuser and ends a superuser's session",
        victim_alive,
        blocks=False,
        as_role=True,
    ),
    _e(
        "set_role_chain",
        "role_escalation",
        f"SET ROLE postgres; SELECT {SECRET_READ}",
        "the reader becomes superuser and reads a server file",
        leaked,
        blocks=True,
        as_role=True,
        setup=SECRET,
    ),
    _e(
        "reset_role_chain",
        "role_escalation",
        f"RESET ROLE; SELECT {SECRET_READ}",
        "the reader returns to the superuser and reads a server file",
        leaked,
        blocks=True,
        as_role=True,
        setup=SECRET,
    ),
    _e(
        "session_authorization_chain",
        "role_escalation",
        f"SET SESSION AUTHORIZATION postgres; SELECT {SECRET_READ}",
        "the reader becomes superuser and reads a server file",
        leaked,
        blocks=True,
        as_role=True,
        setup=SECRET,
    ),
    # -- server functions --------------------------------------------------------------------------------
    _e(
        "terminate_backend",
        "server_function",
        "SELECT pg_terminate_backend({victim_pid}, 5000)",
        "another session ends",
        victim_alive,
        blocks=False,
    ),
    _e(
        "terminate_by_query",
        "server_function",
        "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'escape-victim'"
        " AND pid = {victim_pid}",
        "another session ends",
        victim_alive,
        blocks=False,
        settle=1.0,
    ),
    _e(
        "cancel_backend",
        "server_function",
        "SELECT pg_cancel_backend({busy_pid})",
        "another session's query stops",
        busy_running,
        blocks=False,
        settle=1.0,
    ),
    _e(
        "reload_conf",
        "server_function",
        "SELECT pg_reload_conf()",
        "the server reloads its configuration",
        CONF_LOAD,
        blocks=False,
        noisy=True,
        settle=1.5,
    ),
    _e(
        "stat_reset",
        "server_function",
        "SELECT pg_stat_reset()",
        "the database's statistics reset",
        STATS_RESET,
        blocks=False,
    ),
    _e(
        "switch_wal",
        "server_function",
        "SELECT pg_switch_wal()",
        "the server switches to a new WAL file",
        WAL_FILE,
        blocks=False,
        noisy=True,
        setup=("CREATE TABLE escape_wal AS SELECT 1 AS x",),
    ),
    _e(
        "advisory_lock",
        "server_function",
        "SELECT pg_advisory_lock(424242)",
        "a session-level lock outlives the statement",
        ADVISORY,
        blocks=True,
    ),
    _e(
        "try_advisory_lock_shared",
        "server_function",
        "SELECT pg_try_advisory_lock_shared(424243)",
        "a session-level lock outlives the statement",
        ADVISORY,
        blocks=True,
    ),
    _e(
        "txid_current",
        "server_function",
        "SELECT txid_current()",
        "a transaction id is consumed",
        XID,
        blocks=False,
        noisy=True,
    ),
    _e(
        "current_xact_id",
        "server_function",
        "SELECT pg_current_xact_id()",
        "a transaction id is consumed",
        XID,
        blocks=False,
        noisy=True,
    ),
    _e(
        "nextval",
        "server_function",
        "SELECT nextval('escape_seq')",
        "the sequence advances",
        SEQUENCE,
        blocks=True,
        setup=SEQ,
    ),
    _e(
        "setval",
        "server_function",
        "SELECT setval('escape_seq', 100)",
        "the sequence moves",
        SEQUENCE,
        blocks=True,
        setup=SEQ,
    ),
    _e(
        "pg_notify",
        "server_function",
        f"SELECT pg_notify('{CHANNEL}', 'x')",
        "a listener is notified",
        notified,
        blocks=True,
    ),
    _e(
        "brin_summarize",
        "server_function",
        "SELECT brin_summarize_new_values('escape_brin')",
        "index pages are written outside the transaction",
        BRIN_PAGES,
        blocks=False,
        setup=(
            "CREATE EXTENSION pageinspect",
            "CREATE TABLE escape_brin_t (id int) WITH (autovacuum_enabled = off)",
            "CREATE INDEX escape_brin ON escape_brin_t USING brin (id) WITH (pages_per_range = 1)",
            "INSERT INTO escape_brin_t SELECT generate_series(1, 3000)",
        ),
    ),
    _e(
        "adminpack_file_write",
        "server_file",
        "SELECT pg_file_write('{tmp}/adminpack', 'x', false)",
        "a server file is written",
        files,
        blocks=False,
        setup=("CREATE EXTENSION adminpack",),
    ),
    # -- large objects and server files ----------------------------------------------------------------------
    _e("lo_create", "large_object", "SELECT lo_create(0)", "a large object appears", LARGE_OBJECTS, blocks=True),
    _e(
        "lo_import",
        "large_object",
        "SELECT lo_import('{tmp}/secret.txt')",
        "a large object appears",
        LARGE_OBJECTS,
        blocks=True,
        setup=SECRET,
    ),
    _e(
        "lo_import_read",
        "large_object",
        "SELECT convert_from(loread(lo_open(lo_import('{tmp}/secret.txt'), 393216), 100), 'UTF8')",
        "a server file's content is returned",
        leaked,
        blocks=False,
        setup=SECRET,
    ),
    _e(
        "lo_export",
        "large_object",
        "SELECT lo_export(424242, '{tmp}/lo_export')",
        "a server file is written",
        files,
        blocks=False,
        setup=("SELECT lo_from_bytea(424242, 'exported')",),
    ),
    _e(
        "read_file",
        "server_file",
        f"SELECT {SECRET_READ}",
        "a server file's content is returned",
        leaked,
        blocks=False,
        setup=SECRET,
    ),
    _e(
        "read_binary_file",
        "server_file",
        "SELECT convert_from(pg_read_binary_file('{tmp}/secret.txt'), 'UTF8')",
        "a server file's content is returned",
        leaked,
        blocks=False,
        setup=SECRET,
    ),
    _e(
        "ls_dir",
        "server_file",
        "SELECT pg_ls_dir('{tmp}')",
        "a server directory is listed",
        leaked,
        blocks=False,
        setup=("COPY (SELECT 1) TO '{tmp}/{marker}.lst'",),
    ),
    # -- functions that run SQL text -------------------------------------------------------------------
    _e(
        "query_to_xml_terminate",
        "sql_text_runner",
        "SELECT query_to_xml('SELECT pg_terminate_backend({victim_pid}, 5000)', true, false, '')",
        "another session ends",
        victim_alive,
        blocks=False,
    ),
    _e(
        "ts_stat_terminate",
        "sql_text_runner",
        "SELECT * FROM ts_stat('SELECT to_tsvector(pg_terminate_backend({victim_pid}, 5000)::text)')",
        "another session ends",
        victim_alive,
        blocks=False,
    ),
    _e(
        "dblink_exec_delete",
        "sql_text_runner",
        "SELECT dblink_exec('{db_url}', 'DELETE FROM escape_t')",
        "every row goes, committed by another connection",
        ROWS,
        blocks=False,
        setup=(*TABLE, "CREATE EXTENSION dblink"),
    ),
    _e(
        "dblink_query_delete",
        "sql_text_runner",
        "SELECT * FROM dblink('{db_url}', 'DELETE FROM escape_t RETURNING id') AS d(id int)",
        "every row goes, committed by another connection",
        ROWS,
        blocks=False,
        setup=(*TABLE, "CREATE EXTENSION dblink"),
    ),
    _e(
        "extension_function_writes_a_file",
        "extension_function",
        "SELECT autoprewarm_dump_now()",
        "pg_prewarm writes autoprewarm.blocks in the data directory",
        data_file("autoprewarm.blocks"),
        blocks=False,
        setup=("CREATE EXTENSION pg_prewarm",),
    ),
    # -- session state and maintenance -------------------------------------------------------------------
    _e(
        "listen",
        "session_state",
        f"LISTEN {CHANNEL}",
        "the session listens",
        nothing,
        blocks=True,
        session_probe="SELECT pg_listening_channels()",
    ),
    _e("notify", "session_state", f"NOTIFY {CHANNEL}, 'x'", "a listener is notified", notified, blocks=True),
    _e(
        "prepare_single",
        "session_state",
        "PREPARE escape_p AS SELECT 1",
        "a prepared statement stays",
        nothing,
        blocks=True,
        session_probe="SELECT name FROM pg_prepared_statements",
    ),
    _e(
        "prepare_execute",
        "session_state",
        "PREPARE escape_p AS DELETE FROM escape_t; EXECUTE escape_p",
        "every row goes",
        ROWS,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "declare_with_hold",
        "session_state",
        "DECLARE escape_c CURSOR WITH HOLD FOR SELECT 1",
        "a cursor stays open",
        nothing,
        blocks=True,
        session_probe="SELECT name FROM pg_cursors",
    ),
    _e(
        "load_library",
        "session_state",
        "LOAD 'auto_explain'",
        "a shared library is loaded into the process",
        nothing,
        blocks=False,
        session_probe="SELECT count(*) FROM pg_settings WHERE name LIKE 'auto_explain.%'",
    ),
    _e(
        "vacuum", "maintenance", "VACUUM escape_t", "the table's statistics change", RELTUPLES, blocks=True, setup=TABLE
    ),
    _e(
        "vacuum_full",
        "maintenance",
        "VACUUM FULL escape_t",
        "the table is rewritten",
        FILENODES,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "analyze",
        "maintenance",
        "ANALYZE escape_t",
        "the table's statistics change (in place, not undone)",
        RELTUPLES,
        blocks=False,
        setup=TABLE,
    ),
    _e(
        "cluster",
        "maintenance",
        "CLUSTER escape_t USING escape_t_pkey",
        "the table is rewritten",
        FILENODES,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "reindex",
        "maintenance",
        "REINDEX TABLE escape_t",
        "the indexes are rebuilt",
        FILENODES,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "checkpoint",
        "maintenance",
        "CHECKPOINT",
        "the server writes a checkpoint",
        CHECKPOINT_REDO,
        blocks=False,
        noisy=True,
        setup=("CREATE TABLE escape_wal AS SELECT 1 AS x",),
    ),
    # -- locks ------------------------------------------------------------------------------------------
    _e(
        "select_for_update",
        "locking",
        "SELECT * FROM escape_t WHERE id = 1 FOR UPDATE",
        "the row is marked locked on disk",
        ROW_LOCKER,
        blocks=True,
        setup=TABLE,
    ),
    _e(
        "lock_table_chain",
        "locking",
        "BEGIN; LOCK TABLE escape_t IN ACCESS EXCLUSIVE MODE",
        "the table stays locked",
        TABLE_LOCKS,
        blocks=True,
        setup=TABLE,
    ),
    # -- known gaps: the guard allows them and READ ONLY does not stop the hidden code ---------------------
    _e(
        "gap_view_terminates_backend",
        "known_gap",
        "SELECT * FROM escape_v",
        "another session ends",
        victim_alive,
        blocks=False,
        guard_refuses=False,
        role_stops=True,
        gap="a view hides pg_terminate_backend from the parse tree; a non-superuser role lacks the right to use it",
        setup=(
            "CREATE VIEW escape_v AS SELECT pg_terminate_backend(pid, 5000) AS ended FROM pg_stat_activity"
            f" WHERE application_name = '{VICTIM_APP}' AND datname = current_database()",
            "GRANT SELECT ON escape_v TO {reader}",
        ),
    ),
    _e(
        "function_copy_program",
        "user_function",
        "SELECT escape_copy()",
        "a program runs on the server",
        files,
        blocks=False,
        guard_refuses=True,
        setup=(
            "CREATE FUNCTION escape_copy() RETURNS int LANGUAGE plpgsql AS $$BEGIN"
            " EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch {tmp}/function'''; RETURN 1; END$$",
        ),
    ),
    _e(
        "security_definer_copy_program",
        "user_function",
        "SELECT escape_definer_copy()",
        "a program runs on the server",
        files,
        blocks=False,
        guard_refuses=True,
        setup=(
            "CREATE FUNCTION escape_definer_copy() RETURNS int LANGUAGE plpgsql SECURITY DEFINER AS $$BEGIN"
            " EXECUTE 'COPY (SELECT 1) TO PROGRAM ''touch {tmp}/definer'''; RETURN 1; END$$",
        ),
    ),
    _e(
        "function_role_switch_copy_program",
        "user_function",
        "SELECT escape_exec('SELECT set_config(''role'', ''postgres'', true)'),"
        " escape_exec('COPY (SELECT 1) TO PROGRAM ''touch {tmp}/exec''')",
        "a program runs on the server",
        files,
        blocks=False,
        guard_refuses=True,
        setup=(
            "CREATE FUNCTION escape_exec(q text) RETURNS int LANGUAGE plpgsql AS $$BEGIN EXECUTE q; RETURN 1; END$$",
        ),
    ),
    _e(
        "gap_foreign_table_program",
        "known_gap",
        "SELECT * FROM escape_ft",
        "a program runs on the server",
        files,
        blocks=False,
        guard_refuses=False,
        role_stops=False,
        gap="a file_fdw foreign table with a program option runs the program on every SELECT, as the server",
        setup=(
            "CREATE EXTENSION file_fdw",
            "CREATE SERVER escape_files FOREIGN DATA WRAPPER file_fdw",
            "CREATE FOREIGN TABLE escape_ft (x text) SERVER escape_files OPTIONS (program 'touch {tmp}/fdw; echo hi')",
            "GRANT SELECT ON escape_ft TO {reader}",
        ),
    ),
)

BY_NAME = {entry.name: entry for entry in CORPUS}
assert len(BY_NAME) == len(CORPUS), "corpus names must be unique"


@contextlib.contextmanager
def observation_named(server_url: str, db: str) -> Iterator[ObservationContext]:
    """:func:`observation` with a database name chosen by the caller, for a server that connects to one name.

    pg-meta's own connection (``PG_META_DB_URL``) names one database: each entry's fresh database takes that name in
    turn, so that the same pg-meta reaches it without ``connect_as``. The caller runs one observation at a time per
    name; the database, the tmp directory and the reader role are removed afterwards, as by :func:`observation`.
    """
    uid = secrets.token_hex(4)
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    info["dbname"] = db
    ctx = ObservationContext(
        server_url=server_url,
        db_url=psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None}),
        db=db,
        uid=uid,
        tmp=f"/tmp/dokploy-mcp-escape-{uid}",
        reader=f"escape_reader_{uid}",
        marker=f"secret-{secrets.token_hex(8)}",
    )
    try:
        os.mkdir(ctx.tmp)
        os.chmod(ctx.tmp, 0o777)  # the server runs as its own OS user
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(psql.SQL("CREATE DATABASE {}").format(psql.Identifier(db)))
            conn.execute(psql.SQL("CREATE ROLE {} NOLOGIN").format(psql.Identifier(ctx.reader)))
        yield ctx
    finally:
        ctx.close()
        with psycopg.connect(server_url, autocommit=True) as conn:
            conn.execute(psql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(psql.Identifier(db)))
            for statement in ctx.teardown:
                with contextlib.suppress(psycopg.Error):
                    conn.execute(statement.encode())
            conn.execute(psql.SQL("DROP ROLE IF EXISTS {}").format(psql.Identifier(ctx.reader)))
        shutil.rmtree(ctx.tmp, ignore_errors=True)
