"""Reading the parse tree: destructive statements named, the kind of statement and whether it returns rows."""

from __future__ import annotations

import pytest

from dokploy_mcp.postgres.sqlguard import classify

# -- destructive -------------------------------------------------------------------------------------------

DESTRUCTIVE = [
    ("DROP TABLE t", "DROP TABLE t cannot be undone"),
    ("DROP TABLE IF EXISTS a, s.b CASCADE", "DROP TABLE ... CASCADE also removes everything that depends on it"),
    ("DROP SCHEMA public CASCADE", "DROP SCHEMA public"),
    ("DROP INDEX CONCURRENTLY i", "DROP INDEX i"),
    ("DROP FUNCTION f(int)", "DROP FUNCTION f()"),
    ("DROP TYPE ty", "DROP TYPE ty"),
    ("DROP EXTENSION pgcrypto", "DROP EXTENSION pgcrypto"),
    ("DROP DATABASE d", "DROP DATABASE removes objects"),
    ("DROP ROLE r", "DROP ROLE removes objects"),
    ("DROP OWNED BY r", "DROP OWNED removes objects"),
    ("DROP TABLESPACE ts", "DROP TABLESPACE removes objects"),
    ("DROP SUBSCRIPTION s", "DROP SUBSCRIPTION removes objects"),
    ("DROP USER MAPPING FOR r SERVER s", "DROP USER MAPPING removes a user mapping"),
    ("TRUNCATE a, b", "TRUNCATE a, b removes every row"),
    ("TRUNCATE a CASCADE", "TRUNCATE ... CASCADE also empties"),
    ("DELETE FROM t", "DELETE without WHERE removes every row of t"),
    ("DELETE FROM s.t USING u", "DELETE without WHERE removes every row of s.t"),
    ("UPDATE t SET a = 1", "UPDATE without WHERE changes every row of t"),
    ("UPDATE t SET a = u.a FROM u", "UPDATE without WHERE changes every row of t"),
    ("ALTER TABLE t DROP COLUMN c", "ALTER TABLE t DROP COLUMN c removes the column and its data"),
    ("ALTER TABLE t DROP COLUMN c CASCADE", "ALTER TABLE t ... CASCADE also removes what depends on it"),
    ("ALTER TABLE t DROP CONSTRAINT k", "ALTER TABLE t DROP CONSTRAINT k removes the constraint"),
    ("ALTER TABLE t ALTER COLUMN c TYPE int USING c::int", "ALTER TABLE t ALTER COLUMN c TYPE rewrites"),
    ("ALTER TABLE t ADD COLUMN d int, DROP COLUMN c", "DROP COLUMN c"),
    ("ALTER TYPE ty DROP ATTRIBUTE a", "DROP COLUMN a"),
    ("ALTER DOMAIN d DROP CONSTRAINT k", "ALTER DOMAIN ... DROP CONSTRAINT k removes the constraint"),
    ("DO $$BEGIN EXECUTE 'DROP TABLE t'; END$$", "DO may change anything: its code is not inspected"),
    ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "WITH d: DELETE without WHERE removes every row"),
    ("WITH u AS (UPDATE t SET a = 1 RETURNING *) INSERT INTO log SELECT * FROM u", "WITH u: UPDATE without"),
    ("EXPLAIN ANALYZE DELETE FROM t", "EXPLAIN ANALYZE runs it: DELETE without WHERE"),
    ("EXPLAIN (ANALYZE) WITH d AS (DELETE FROM t) SELECT 1", "EXPLAIN ANALYZE runs it: WITH d: DELETE without"),
]


@pytest.mark.parametrize(("text", "reason"), DESTRUCTIVE)
def test_destructive_statements_name_what_they_destroy(text: str, reason: str) -> None:
    result = classify(text)
    assert result.destructive
    assert not result.read_only
    assert any(reason in item for item in result.reasons), result.reasons


@pytest.mark.parametrize(
    "text",
    [
        "DELETE FROM t WHERE id = 1",
        "DELETE FROM t WHERE true",
        "DELETE FROM t WHERE CURRENT OF c",
        "UPDATE t SET a = 1 WHERE id = 1",
        "INSERT INTO t VALUES (1)",
        "MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE",
        "ALTER TABLE t ADD COLUMN c int",
        "ALTER TABLE t ALTER COLUMN c DROP NOT NULL",
        "ALTER TABLE t ALTER COLUMN c DROP DEFAULT",
        "ALTER TABLE t RENAME TO u",
        "ALTER TABLE t OWNER TO r",
        "ALTER TABLE p DETACH PARTITION c",
        "REASSIGN OWNED BY a TO b",
        "CREATE OR REPLACE VIEW v AS SELECT 1",
        "CALL p()",
        "EXECUTE p",
        "VACUUM FULL t",
        "EXPLAIN DELETE FROM t",
        "EXPLAIN (ANALYZE false) DELETE FROM t",
        "COPY t FROM '/tmp/x'",
        "SELECT 1",
        "WITH d AS (DELETE FROM t WHERE id = 1 RETURNING *) SELECT * FROM d",
    ],
)
def test_bounded_changes_are_not_destructive(text: str) -> None:
    assert not classify(text).destructive


# -- kinds and rows ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kind", "returns_rows"),
    [
        ("SELECT 1", "SelectStmt", True),
        ("VALUES (1)", "SelectStmt", True),
        ("TABLE t", "SelectStmt", True),
        ("SELECT 1 INTO x", "SelectStmt", False),
        ("EXPLAIN SELECT 1", "ExplainStmt", True),
        ("SHOW work_mem", "VariableShowStmt", True),
        ("INSERT INTO t VALUES (1)", "InsertStmt", False),
        ("INSERT INTO t VALUES (1) RETURNING id", "InsertStmt", True),
        ("UPDATE t SET a = 1 WHERE id = 1 RETURNING *", "UpdateStmt", True),
        ("DELETE FROM t WHERE id = 1", "DeleteStmt", False),
        ("DELETE FROM t WHERE id = 1 RETURNING *", "DeleteStmt", True),
        ("MERGE INTO t USING u ON t.id = u.id WHEN MATCHED THEN DELETE", "MergeStmt", False),
        ("FETCH 1 FROM c", "FetchStmt", True),
        ("MOVE 1 FROM c", "FetchStmt", False),
        ("EXECUTE p", "ExecuteStmt", None),
        ("CALL p()", "CallStmt", None),
        ("CREATE TABLE x (a int)", "CreateStmt", False),
        ("COPY t TO STDOUT", "CopyStmt", False),
        ("SET work_mem = '1MB'", "VariableSetStmt", False),
    ],
)
def test_kind_and_returns_rows(text: str, kind: str, returns_rows: bool | None) -> None:
    result = classify(text)
    assert result.kind == kind
    assert result.returns_rows is returns_rows
