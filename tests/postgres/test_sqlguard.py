"""The SQL guard's API: one statement by a real parser, a deny-by-default read-only proof naming its refusals."""

from __future__ import annotations

import re

import pytest

from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres.errors import SqlRefused
from dokploy_mcp.postgres.sqlguard import Classified, classify, require_read_only, single_statement

from .escape_corpus import CORPUS, Escape

# -- single_statement ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SELECT 1", "SELECT 1"),
        ("  SELECT 1 ;  ", "SELECT 1"),
        ("SELECT 1;;;", "SELECT 1"),
        ("-- leading\n/* block */ SELECT 1 -- trailing", "SELECT 1"),
        ("SELECT 1 /* inner */ + 2 -- trailing\n;", "SELECT 1 /* inner */ + 2"),
        ("SELECT 1 -- inner\n + 2", "SELECT 1 -- inner\n + 2"),
        ("SELECT $$a;b$$ AS x; -- done", "SELECT $$a;b$$ AS x"),
        ("SELECT $t$ $$ ; $t$", "SELECT $t$ $$ ; $t$"),
        ("SELECT 'it''s; fine'", "SELECT 'it''s; fine'"),
        ("SELECT E'\\'; still the string'", "SELECT E'\\'; still the string'"),
        ("/* /* nested ; */ still comment; */ SELECT 'é€' AS \"naïve\"", "SELECT 'é€' AS \"naïve\""),
        ("\n\tDELETE FROM t WHERE id = 1;\n", "DELETE FROM t WHERE id = 1"),
        ('SELECT U&"\\0061" FROM t', 'SELECT U&"\\0061" FROM t'),
    ],
)
def test_single_statement_returns_the_statement_text(text: str, expected: str) -> None:
    assert single_statement(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "SELECT 1 -- trailing comment",
        "SELECT 1 /* trailing */ ;  -- and more",
        "SELECT 'a' -- x\n",
        "VALUES (1), (2) -- rows",
    ],
)
def test_single_statement_text_can_be_wrapped(text: str) -> None:
    """A trailing comment never swallows what a caller appends (pg-meta wraps the statement)."""
    wrapped = f"SELECT count(*) FROM ({single_statement(text)}) AS q"
    assert single_statement(wrapped) == wrapped
    assert classify(wrapped).read_only


@pytest.mark.parametrize(
    "text", ["", "   ", "\n\t", "-- only a comment", "/* block */", ";", " ; ; ", "/* a */ ; -- b"]
)
def test_no_statement_is_refused(text: str) -> None:
    with pytest.raises(SqlRefused, match="no statement") as caught:
        single_statement(text)
    assert caught.value.field == "sql"
    assert isinstance(caught.value, InputError)


@pytest.mark.parametrize(
    ("text", "count", "kinds"),
    [
        ("SELECT 1; SELECT 2", 2, "SELECT, SELECT"),
        ("SELECT 1; DELETE FROM t", 2, "SELECT, DELETE"),
        ("COMMIT; DELETE FROM t; SELECT 1", 3, "COMMIT, DELETE, SELECT"),
        ("SELECT 1 /* ; */; DROP TABLE t", 2, "SELECT, DROP TABLE"),
        ("SELECT 1 -- ;\n; SET ROLE postgres", 2, "SELECT, SET ROLE"),
        ("SELECT $$x$$; DROP TABLE t; SELECT $$ $$", 3, "SELECT, DROP TABLE, SELECT"),
        ("SELECT '\\'; DELETE FROM t; --'", 2, "SELECT, DELETE"),
    ],
)
def test_several_statements_are_refused(text: str, count: int, kinds: str) -> None:
    with pytest.raises(SqlRefused) as caught:
        single_statement(text)
    message = str(caught.value)
    assert f"holds {count} statements ({kinds})" in message
    assert "exactly one statement" in message


@pytest.mark.parametrize(
    ("text", "pieces"),
    [
        ("SELECT FROM WHERE", ['syntax error at or near "WHERE"', "character 13", "'WHERE'"]),
        ("SELECT 'é'\nFROM WHERE x", ['syntax error at or near "WHERE"', "character 17 (line 2)"]),
        ("SELECT (1", ["syntax error at end of input"]),
        ("SELECT $$ unterminated", ["unterminated dollar-quoted string"]),
        ("SELECT 'unterminated", ["unterminated quoted string"]),
        ("/* unterminated", ["unterminated /* comment"]),
        ("\\dt", ['syntax error at or near "\\"']),
    ],
)
def test_parse_errors_name_the_cause_and_position(text: str, pieces: list[str]) -> None:
    with pytest.raises(SqlRefused) as caught:
        single_statement(text)
    message = str(caught.value)
    assert message.startswith("the SQL does not parse: ")
    for piece in pieces:
        assert piece in message
    assert caught.value.reasons == []


def test_non_string_is_refused() -> None:
    with pytest.raises(SqlRefused, match="must be a string"):
        single_statement(b"SELECT 1")  # type: ignore[arg-type]


# -- read-only: allowed --------------------------------------------------------------------------------------

ALLOWED = [
    "SELECT 1",
    "select * from pg_stat_activity",
    "TABLE pg_namespace",
    "VALUES (1, 'a'), (2, 'b')",
    "SELECT 1 UNION ALL SELECT 2 EXCEPT SELECT 3",
    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5) SELECT * FROM n",
    "WITH a AS MATERIALIZED (SELECT 1 AS x), b AS (VALUES (2)) SELECT * FROM a, b",
    "SELECT c.relname, pg_size_pretty(pg_total_relation_size(c.oid)) FROM pg_class c ORDER BY 2 DESC LIMIT 5",
    "SELECT pg_get_viewdef('pg_tables'::regclass), pg_get_functiondef('now'::regproc), pg_typeof(1)",
    "SELECT pg_catalog.pg_table_is_visible(1), pg_has_role('postgres', 'MEMBER'), pg_backend_pid()",
    "SELECT pg_stat_get_numscans(1), pg_current_wal_lsn(), pg_is_in_recovery(), pg_postmaster_start_time()",
    "SELECT pg_sleep(0.01), pg_sleep_for('1 ms'), pg_sleep_until(now())",
    "SELECT current_setting('work_mem'), current_user, session_user, now(), clock_timestamp(), random()",
    "SELECT currval('s'), lastval(), gen_random_uuid(), txid_current_if_assigned(), pg_current_xact_id_if_assigned()",
    "SELECT auth.uid(), auth.role(), auth.jwt(), auth.email()",
    "SELECT pg_catalog.lower('A'), pg_catalog.now(), upper(x), database_to_xml(true, false, '') FROM t",
    "SELECT * FROM generate_series(1, 3) AS g, LATERAL (SELECT g * 2) AS d",
    "SELECT json_agg(t) FROM (SELECT 1 AS a) t",
    "SELECT count(*) FILTER (WHERE x > 1) OVER (PARTITION BY y) FROM t",
    "SELECT * FROM t WHERE id IN (SELECT id FROM u WHERE EXISTS (SELECT 1))",
    "SELECT COLLATION FOR ('x'), EXTRACT(year FROM now()), substring('abc' FROM 2), trim(both ' x ')",
    "SELECT t.nextval_count, t.pg_id FROM t",
    "SELECT xmlelement(name a, 'b'), to_tsvector('a b'), table_to_xml('pg_class', true, false, '')",
    "SELECT * FROM t TABLESAMPLE SYSTEM (10)",
    "EXPLAIN SELECT * FROM t",
    "EXPLAIN (COSTS OFF, FORMAT JSON) SELECT 1",
    "EXPLAIN ANALYZE SELECT * FROM t",
    "EXPLAIN (ANALYZE, BUFFERS) WITH x AS (SELECT 1) SELECT * FROM x",
    "EXPLAIN (ANALYZE off) SELECT 1",
    "SHOW work_mem",
    "SHOW ALL",
    "sElEcT 1 FrOm t",
    "SELECT 1 -- COMMIT; DELETE FROM t",
    "SELECT '; DROP TABLE t; --' AS text",
    "SELECT $$ ; SELECT set_config('role', 'postgres', true); $$",
    "/* ; DELETE FROM t; */ SELECT 1",
    "SELECT 'pg_terminate_backend'::regproc, 'set_config'::text",
]


@pytest.mark.parametrize("text", ALLOWED)
def test_read_only_statements_are_allowed(text: str) -> None:
    result = require_read_only(text)
    assert result.read_only
    assert result.reasons == []
    assert not result.destructive
    assert result.returns_rows is True


def test_classified_shape() -> None:
    assert classify("SELECT 1") == Classified(
        kind="SelectStmt", read_only=True, destructive=False, reasons=[], returns_rows=True
    )


# -- read-only: refused, with the reason named ---------------------------------------------------------------

REFUSED = [
    # statements
    ("INSERT INTO t VALUES (1)", "INSERT writes rows"),
    ("UPDATE t SET a = 1 WHERE id = 1", "UPDATE writes rows"),
    ("DELETE FROM t WHERE id = 1", "DELETE removes rows"),
    ("MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE", "MERGE writes rows"),
    ("TRUNCATE t", "TRUNCATE removes rows"),
    ("CREATE TABLE x (a int)", "CREATE TABLE changes the schema"),
    ("CREATE TABLE x AS SELECT 1", "CREATE TABLE AS changes the schema"),
    ("CREATE MATERIALIZED VIEW m AS SELECT 1", "CREATE TABLE AS changes the schema"),
    ("ALTER TABLE t ADD COLUMN b int", "ALTER TABLE changes the schema"),
    ("DROP TABLE t", "DROP TABLE removes objects"),
    ("COMMENT ON TABLE t IS 'x'", "COMMENT changes the catalog"),
    ("GRANT ALL ON t TO PUBLIC", "GRANT changes privileges"),
    ("REVOKE ALL ON t FROM PUBLIC", "REVOKE changes privileges"),
    ("ALTER SYSTEM SET work_mem = '1GB'", "ALTER SYSTEM"),
    ("ALTER ROLE x SUPERUSER", "ALTER ROLE"),
    ("COPY t TO PROGRAM 'touch /tmp/x'", "COPY TO PROGRAM runs a program on the server"),
    ("COPY (SELECT 1) TO '/tmp/x'", "COPY TO a file writes a file on the server"),
    ("COPY t FROM PROGRAM 'echo 1'", "COPY FROM PROGRAM writes rows and runs a program on the server"),
    ("COPY t FROM '/tmp/x'", "COPY FROM writes rows"),
    ("COPY t TO STDOUT", "COPY is not a query"),
    ("DO $$BEGIN END$$", "DO runs procedural code"),
    ("CALL p()", "CALL runs a procedure"),
    ("SET work_mem = '1MB'", "SET work_mem changes session settings"),
    ("RESET ALL", "RESET changes session settings"),
    ("SET ROLE postgres", "SET ROLE switches the role"),
    ("RESET ROLE", "RESET ROLE switches the role"),
    ("SET SESSION AUTHORIZATION postgres", "SET SESSION AUTHORIZATION switches the role"),
    ("SET TRANSACTION READ WRITE", "SET TRANSACTION changes the transaction's mode"),
    ("SET SESSION CHARACTERISTICS AS TRANSACTION READ WRITE", "SET TRANSACTION"),
    ("COMMIT", "COMMIT would end or change the read-only transaction"),
    ("ROLLBACK", "ROLLBACK would end"),
    ("END", "COMMIT would end"),
    ("BEGIN READ WRITE", "BEGIN would end"),
    ("SAVEPOINT s", "SAVEPOINT would end"),
    ("PREPARE TRANSACTION 'x'", "PREPARE TRANSACTION would end"),
    ("LISTEN ch", "LISTEN changes the session"),
    ("NOTIFY ch", "NOTIFY sends a notification"),
    ("UNLISTEN *", "UNLISTEN changes the session"),
    ("PREPARE p AS SELECT 1", "PREPARE leaves a prepared statement"),
    ("EXECUTE p", "EXECUTE runs a prepared statement"),
    ("DEALLOCATE ALL", "DEALLOCATE changes the session"),
    ("DECLARE c CURSOR WITH HOLD FOR SELECT 1", "DECLARE CURSOR opens a cursor"),
    ("FETCH 1 FROM c", "FETCH reads a cursor"),
    ("DISCARD ALL", "DISCARD changes the session"),
    ("LOCK TABLE t IN ACCESS EXCLUSIVE MODE", "LOCK locks tables"),
    ("LOAD 'auto_explain'", "LOAD loads a shared library"),
    ("VACUUM t", "VACUUM rewrites"),
    ("ANALYZE t", "ANALYZE rewrites"),
    ("CHECKPOINT", "CHECKPOINT forces a server checkpoint"),
    ("CLUSTER t", "CLUSTER rewrites a table"),
    ("REINDEX TABLE t", "REINDEX rebuilds indexes"),
    ("REFRESH MATERIALIZED VIEW m", "REFRESH MATERIALIZED VIEW rewrites"),
    ("CREATE DATABASE x", "CREATE DATABASE changes the schema"),
    ("CREATE EXTENSION dblink", "CREATE EXTENSION changes the schema"),
    # SELECT shapes
    ("SELECT 1 INTO x", "SELECT INTO creates a table"),
    ("SELECT * FROM t FOR UPDATE", "FOR UPDATE/SHARE locks rows"),
    ("SELECT * FROM t FOR KEY SHARE SKIP LOCKED", "FOR UPDATE/SHARE locks rows"),
    ("SELECT * FROM (SELECT * FROM t FOR NO KEY UPDATE) s", "FOR UPDATE/SHARE locks rows"),
    ("WITH x AS (SELECT * FROM t FOR SHARE) SELECT * FROM x", "FOR UPDATE/SHARE locks rows"),
    ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "WITH d AS (DELETE ...) removes rows"),
    ("WITH i AS (INSERT INTO t VALUES (1) RETURNING 1) SELECT 1", "WITH i AS (INSERT ...) writes rows"),
    ("WITH a AS (SELECT 1), u AS (UPDATE t SET x = 1 WHERE id = 1) SELECT 1", "WITH u AS (UPDATE ...) writes rows"),
    ("SELECT * FROM (WITH d AS (DELETE FROM t) SELECT 1) s", "WITH d AS (DELETE ...) removes rows"),
    ("EXPLAIN DELETE FROM t", "EXPLAIN of DELETE: only EXPLAIN of a SELECT is read-only"),
    ("EXPLAIN ANALYZE DELETE FROM t", "EXPLAIN ANALYZE of DELETE runs it"),
    ("EXPLAIN (ANALYZE true) INSERT INTO t VALUES (1)", "EXPLAIN ANALYZE of INSERT runs it"),
    ("EXPLAIN (ANALYZE 1) UPDATE t SET a = 1", "EXPLAIN ANALYZE of UPDATE runs it"),
    ("EXPLAIN (ANALYZE off, ANALYZE on) DELETE FROM t", "EXPLAIN ANALYZE of DELETE runs it"),
    ("EXPLAIN CREATE TABLE x AS SELECT 1", "EXPLAIN of CREATE TABLE AS"),
    ("EXPLAIN EXECUTE p", "EXPLAIN of EXECUTE"),
    ("EXPLAIN SELECT pg_terminate_backend(1)", "pg_terminate_backend() ends another session"),
    ("EXPLAIN ANALYZE SELECT nextval('s')", "nextval() advances a sequence"),
    # functions
    ("SELECT set_config('work_mem', '1MB', false)", "set_config() changes settings"),
    ("SELECT set_config('role', 'postgres', true)", "set_config() changes settings, including role"),
    ("SELECT set_config('transaction_read_only', 'off', true)", "set_config()"),
    ("SELECT pg_catalog.set_config('a', 'b', true)", "pg_catalog.set_config()"),
    ("SELECT \"pg_catalog\".\"set_config\"('a', 'b', true)", "pg_catalog.set_config()"),
    ("SELECT PG_CATALOG.SET_CONFIG('a', 'b', true)", "pg_catalog.set_config()"),
    ("SeLeCt SeT_CoNfIg('a', 'b', true)", "set_config()"),
    ("SELECT \"SET_CONFIG\"('a', 'b', true)", "SET_CONFIG()"),
    ("SELECT U&\"\\0073et_config\"('a', 'b', true)", "set_config()"),
    ("SELECT U&\"!0073et_config\" UESCAPE '!' ('a', 'b', true)", "set_config()"),
    ('SELECT U&"\\0070g_terminate_backend"(1)', "pg_terminate_backend() ends another session"),
    ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity", "pg_terminate_backend() ends another session"),
    ("SELECT pg_cancel_backend(1)", "pg_cancel_backend() cancels"),
    ("SELECT pg_reload_conf()", "pg_reload_conf() reloads"),
    ("SELECT pg_rotate_logfile()", "pg_rotate_logfile() rotates"),
    ("SELECT pg_stat_reset()", "pg_stat_reset() resets statistics"),
    ("SELECT pg_stat_reset_shared('bgwriter')", "pg_stat_reset_shared() resets statistics"),
    ("SELECT pg_stat_statements_reset()", "pg_stat_statements_reset() is a server function not known"),
    ("SELECT pg_switch_wal()", "pg_switch_wal() switches"),
    ("SELECT pg_create_restore_point('x')", "pg_create_restore_point() writes"),
    ("SELECT pg_promote()", "pg_promote() promotes"),
    ("SELECT pg_advisory_lock(1)", "pg_advisory_lock() takes or releases an advisory lock"),
    ("SELECT pg_try_advisory_xact_lock_shared(1)", "advisory lock"),
    ("SELECT pg_advisory_unlock_all()", "advisory lock"),
    ("SELECT txid_current()", "txid_current() assigns a transaction id"),
    ("SELECT pg_current_xact_id()", "pg_current_xact_id() assigns a transaction id"),
    ("SELECT nextval('s')", "nextval() advances a sequence"),
    ("SELECT setval('s', 1)", "setval() sets a sequence"),
    ("SELECT setseed(0.5)", "setseed() changes the session's random seed"),
    ("SELECT lo_create(0)", "lo_create() reads or writes large objects"),
    ("SELECT lo_import('/etc/passwd')", "lo_import()"),
    ("SELECT lo_export(1, '/tmp/x')", "lo_export()"),
    ("SELECT lo_get(1), lo_from_bytea(0, 'x')", "lo_get()"),
    ("SELECT loread(lo_open(1, 262144), 10)", "loread() reads a large object"),
    ("SELECT lowrite(0, 'x')", "lowrite() writes a large object"),
    ("SELECT pg_read_file('/etc/passwd')", "pg_read_file() reads server files"),
    ("SELECT pg_read_binary_file('/etc/passwd')", "pg_read_binary_file() reads server files"),
    ("SELECT pg_ls_dir('/')", "pg_ls_dir() lists server directories"),
    ("SELECT * FROM pg_ls_waldir()", "pg_ls_waldir() lists"),
    ("SELECT pg_stat_file('/etc/passwd')", "pg_stat_file() reads server file metadata"),
    ("SELECT pg_file_write('/tmp/x', 'y', false)", "pg_file_write() writes server files"),
    ("SELECT dblink_exec('dbname=x', 'DELETE FROM t')", "dblink_exec() runs SQL over a separate connection"),
    ("SELECT * FROM dblink('dbname=x', 'SELECT 1') AS t(a int)", "dblink() runs SQL over a separate"),
    ("SELECT extensions.dblink_connect('x')", "extensions.dblink_connect()"),
    # deny by default: only built-ins known to be read-only (and a reviewed list) may be called
    ("SELECT autoprewarm_dump_now()", "autoprewarm_dump_now() is not known to be read-only"),
    ("SELECT my_function(1)", "my_function() is not known to be read-only"),
    ("SELECT uuid_generate_v4()", "uuid_generate_v4() is not known to be read-only"),
    ("SELECT my_schema.my_function(1, 'x')", "my_schema.my_function() is not a built-in function"),
    ("SELECT public.lower('A')", "public.lower() is not a built-in function (public is not pg_catalog)"),
    ("SELECT extensions.uuid_generate_v4()", "extensions.uuid_generate_v4() is not a built-in function"),
    ('SELECT "LOWER"(x) FROM t', "LOWER() is not known to be read-only"),
    ("SELECT * FROM my_set_returning_function()", "my_set_returning_function() is not known to be read-only"),
    ("SELECT pg_current_xact_id()", "pg_current_xact_id() assigns a transaction id"),
    ("SELECT pg_notify('ch', 'x')", "pg_notify() sends a notification"),
    ("SELECT pg_import_system_collations('pg_catalog')", "not known to be read-only"),
    ("SELECT * FROM pg_logical_slot_get_changes('s', NULL, NULL)", "pg_logical_slot_get_changes() uses logical"),
    ("SELECT pg_replication_origin_create('x')", "pg_replication_origin_create() changes replication"),
    ("SELECT pg_create_logical_replication_slot('s', 'test_decoding')", "creates a replication slot"),
    ("SELECT pg_create_physical_replication_slot('s')", "creates a replication slot"),
    ("SELECT pg_drop_replication_slot('s')", "drops a replication slot"),
    ("SELECT pg_log_backend_memory_contexts(1)", "not known to be read-only"),
    ("SELECT pg_export_snapshot()", "not known to be read-only"),
    ("SELECT pg_backup_start('x')", "not known to be read-only"),
    ("SELECT pg_background_launch('DELETE FROM t')", "runs the SQL text"),
    ("SELECT query_to_xml('DELETE FROM t', true, false, '')", "query_to_xml() runs the SQL text"),
    ("SELECT query_to_xmlschema('SELECT 1', true, false, '')", "query_to_xmlschema() runs the SQL text"),
    ("SELECT query_to_xml_and_xmlschema('SELECT 1', true, false, '')", "runs the SQL text"),
    ("SELECT cursor_to_xml('c', 1, true, false, '')", "cursor_to_xml() reads a cursor"),
    ("SELECT * FROM ts_stat('SELECT to_tsvector(''a'')')", "ts_stat() runs the SQL text"),
    ("SELECT ts_rewrite('a'::tsquery, 'SELECT 1')", "ts_rewrite() runs the SQL text"),
    ("SELECT * FROM crosstab('SELECT 1, 2, 3') AS t(a int, b int)", "crosstab() runs the SQL text"),
    ("SELECT * FROM connectby('t', 'id', 'parent', '1', 0) AS t(a int)", "connectby() runs the SQL text"),
    ("SELECT * FROM pgr_dijkstra('SELECT 1', 1, 2)", "pgr_dijkstra() runs the SQL text"),
    ("SELECT lives_ok('SELECT 1')", "lives_ok() runs the SQL text"),
    ("SELECT extensions.results_eq('SELECT 1', 'SELECT 1')", "extensions.results_eq() runs the SQL text"),
    ("SELECT brin_summarize_new_values('i')", "writes an index outside the transaction"),
    ("SELECT gin_clean_pending_list('i')", "writes an index outside the transaction"),
    ("SELECT heap_force_kill('t', ARRAY['(0,1)']::tid[])", "writes table pages directly"),
    ("SELECT http_get('http://example.com')", "http_get() sends an HTTP request"),
    ("SELECT net.http_post('http://example.com')", "net.http_post() sends an HTTP request"),
    ("SELECT * FROM http(('GET', 'http://x', NULL, NULL, NULL))", "http() sends an HTTP request"),
    ("SELECT binary_upgrade_set_next_pg_type_oid(1)", "reserved for pg_upgrade"),
    ("SELECT pg_some_future_function()", "pg_some_future_function() is a server function not known"),
    # calls hidden in expressions
    ("SELECT 1 WHERE EXISTS (SELECT set_config('a', 'b', false))", "set_config()"),
    ("SELECT * FROM t ORDER BY nextval('s')", "nextval()"),
    ("SELECT count(*) FILTER (WHERE pg_cancel_backend(1)) FROM t", "pg_cancel_backend()"),
    ("SELECT CASE WHEN true THEN pg_terminate_backend(1) END", "pg_terminate_backend()"),
    ("SELECT * FROM ROWS FROM (pg_reload_conf())", "pg_reload_conf()"),
    ("SELECT * FROM t, LATERAL pg_ls_dir('.') AS f", "pg_ls_dir()"),
    ("SELECT ARRAY[lo_import('/x')]", "lo_import()"),
    ("SELECT (SELECT txid_current())::text", "txid_current()"),
    ("SELECT 1 FROM t GROUP BY pg_advisory_lock(1)", "pg_advisory_lock()"),
    ("VALUES (nextval('s'))", "nextval()"),
    ("SELECT (ROW(1)).nextval", "nextval may call the function nextval()"),
    ("SELECT t.set_config FROM t", "set_config may call the function set_config()"),
]


@pytest.mark.parametrize(("text", "reason"), REFUSED)
def test_not_read_only_is_refused_naming_the_cause(text: str, reason: str) -> None:
    result = classify(text)
    assert not result.read_only
    assert any(reason in item for item in result.reasons), result.reasons
    with pytest.raises(SqlRefused) as caught:
        require_read_only(text)
    message = str(caught.value)
    assert message.startswith("the SQL is not read-only: ")
    assert reason in message
    assert "read_only=false" in message  # says what to do
    assert caught.value.field == "sql"
    assert caught.value.reasons == result.reasons


def test_every_reason_is_listed_once() -> None:
    result = classify("SELECT nextval('a'), nextval('b'), pg_sleep(1), set_config('x', 'y', true)")
    assert result.reasons == [
        "nextval() advances a sequence",
        "set_config() changes settings, including role and transaction_read_only",
    ]


def render_offline(entry: Escape) -> str:
    """The entry's SQL with placeholders filled by plausible values, for checks without a server."""
    values = {"victim_pid": "12345", "busy_pid": "12346", "tmp": "/tmp/x", "marker": "m", "reader": "r"}
    values |= {"db_url": "dbname=x", "db": "x", "uid": "u"}
    return re.sub(r"\{(\w+)\}", lambda match: values[match.group(1)], entry.sql)


@pytest.mark.parametrize("entry", CORPUS, ids=[entry.name for entry in CORPUS])
def test_guard_verdict_on_the_corpus(entry: Escape) -> None:
    text = render_offline(entry)
    if entry.guard_refuses:
        with pytest.raises(SqlRefused):
            require_read_only(text)
    else:
        assert require_read_only(text).read_only


def test_classify_refuses_several_statements_and_parse_errors() -> None:
    with pytest.raises(SqlRefused, match="2 statements"):
        classify("SELECT 1; SELECT 2")
    with pytest.raises(SqlRefused, match="does not parse"):
        require_read_only("SELEC 1")
