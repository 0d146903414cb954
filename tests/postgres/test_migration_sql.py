"""A migration read before it runs: statements split as the Supabase CLI stores them, and what each one does."""

from __future__ import annotations

import pytest

from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres.errors import SqlRefused
from dokploy_mcp.postgres.history import check_name, check_version, literal, new_version
from dokploy_mcp.postgres.limits import MAX_MIGRATION_CHARS, MAX_NESTING_TOKENS
from dokploy_mcp.postgres.migration_sql import analyse, checksum_of

#: A file and what `supabase db push` (2.117.0) stored for it in schema_migrations.statements, read from a real run.
CLI_FILE = (
    "create table a (id int primary key);\n-- comment\n"
    "create function f() returns int language sql as $$ select 1; $$;\ninsert into a values (1);"
)
CLI_STORED = [
    "create table a (id int primary key)",
    "-- comment\ncreate function f() returns int language sql as $$ select 1; $$",
    "insert into a values (1)",
]


def test_statements_are_split_and_trimmed_as_the_cli_stores_them() -> None:
    script = analyse(CLI_FILE)
    assert script.history == CLI_STORED
    assert script.runnable == CLI_STORED


def test_a_trailing_comment_is_kept_in_history_but_does_not_run() -> None:
    script = analyse("select 1;\n\n-- the end\n")
    assert script.history == ["select 1", "-- the end"]
    assert script.runnable == ["select 1"]


def test_semicolons_inside_bodies_do_not_split() -> None:
    sql = (
        "create function g() returns int language sql begin atomic select 1; select 2; end;\n"
        "do $x$ begin perform 1; end $x$;\nselect ';' as s /* ; */;"
    )
    script = analyse(sql)
    assert len(script.runnable) == 3
    assert script.runnable[0].endswith("end")
    assert script.runnable[2] == "select ';' as s /* ; */"


def test_a_statement_ending_in_a_line_comment_keeps_it() -> None:
    # Whoever joins the pieces again must put the ';' on its own line (the pg-meta route does).
    assert analyse("select 1 -- why\n;").runnable == ["select 1 -- why"]


def test_checksum_ignores_whitespace_between_statements_only() -> None:
    one = analyse("create table t (id int);\nselect 1;")
    two = analyse("create table t (id int);   \n\n\nselect 1;\n")
    three = analyse("create table t (id bigint);\nselect 1;")
    assert one.checksum == two.checksum != three.checksum
    assert one.checksum == checksum_of(["create table t (id int)", "select 1"])


@pytest.mark.parametrize(
    ("sql", "reason"),
    [
        ("create index concurrently i on t (id)", "CREATE INDEX CONCURRENTLY"),
        ("drop index concurrently i", "DROP INDEX CONCURRENTLY"),
        ("reindex (concurrently) table t", "REINDEX CONCURRENTLY"),
        ("vacuum t", "VACUUM"),
        ("create database d", "CREATE DATABASE"),
        ("alter system set work_mem = '1MB'", "ALTER SYSTEM"),
    ],
)
def test_statements_that_cannot_run_in_a_transaction_are_found(sql: str, reason: str) -> None:
    found = analyse(f"select 1; {sql};").outside_transaction
    assert len(found) == 1 and reason in found[0]


def test_add_value_counts_as_outside_only_before_postgresql_12() -> None:
    sql = "alter type mood add value 'meh'"
    assert analyse(sql, server_version_num=110000).outside_transaction
    assert not analyse(sql, server_version_num=150000).outside_transaction
    assert not analyse("create index i on t (id); analyze t").outside_transaction


@pytest.mark.parametrize(
    ("sql", "words"),
    [
        ("drop table t", "DROP TABLE"),
        ("alter table t drop column c", "DROP COLUMN"),
        ("alter table t alter column c type bigint", "TYPE"),
        ("truncate t", "TRUNCATE"),
        ("delete from t where id > 3", "removes rows"),
        ("update t set c = 1 where id = 2", "rewrites rows"),
        ("delete from t", "DELETE"),
    ],
)
def test_destructive_statements_are_named(sql: str, words: str) -> None:
    reasons = analyse(f"create table x (id int); {sql};").destructive
    assert reasons and any(words in reason for reason in reasons), reasons


def test_harmless_statements_are_not_destructive() -> None:
    sql = "create table t (id int); alter table t add column c text; create index on t (c); insert into t values (1);"
    assert analyse(sql).destructive == []


def test_transaction_control_is_reported() -> None:
    assert analyse("begin; create table t (id int); commit;").transaction_control == ("BEGIN", "COMMIT")


def test_the_clis_no_transaction_marker_is_seen() -> None:
    assert analyse("-- pg-delta: transaction=false\ncreate index concurrently i on t (id);").marked_no_transaction
    assert not analyse("create table t (id int); -- pg-delta: transaction=false").marked_no_transaction


def test_bad_sql_is_refused_naming_the_field_and_line() -> None:
    with pytest.raises(SqlRefused) as caught:
        analyse("create table t (id int);\ncreate tabel u (id int);", field_name="down_sql")
    assert caught.value.field == "down_sql" and "line 2" in str(caught.value)
    with pytest.raises(SqlRefused, match="no statement"):
        analyse("-- nothing\n;;")


def test_bounds_are_checked_before_parsing() -> None:
    with pytest.raises(SqlRefused, match="characters long"):
        analyse("select 1;" * (MAX_MIGRATION_CHARS // 9 + 1))
    deep = "select " + "(" * (MAX_NESTING_TOKENS + 1) + "1" + ")" * (MAX_NESTING_TOKENS + 1)
    with pytest.raises(SqlRefused, match="too deeply nested"):
        analyse(deep)
    # Many ordinary statements are fine: the bound is per statement.
    assert len(analyse("create table t (id int, c text, d date);\n" * 3_000).runnable) == 3_000


def test_versions_and_names_are_checked() -> None:
    assert len(new_version()) == 14 and new_version().isdigit()
    assert check_version("20261205143000") == "20261205143000"
    for bad in ("2026-12-05", "1 or 1=1", "", "1" * 33):
        with pytest.raises(InputError) as caught:
            check_version(bad)
        assert caught.value.field == "version"
    assert check_name("add_profiles.v2-b") == "add_profiles.v2-b"
    for bad in ("../etc/passwd", "a b", "_x", "x" * 101, "name\n"):
        with pytest.raises(InputError) as caught:
            check_name(bad)
        assert caught.value.field == "name"


def test_literals_never_close_early() -> None:
    hostile = "$dmcp_$ ' '' \\ $$ $x$ end"
    quoted = literal(hostile)
    tag = quoted[: quoted.index("$", 1) + 1]
    assert quoted == f"{tag}{hostile}{tag}" and hostile.count(tag) == 0
    with pytest.raises(InputError):
        literal("nul \x00 byte")
