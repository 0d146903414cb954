"""The schema differ against real servers (PostgreSQL 15 and 18): reading catalogs over the routes' ways of
running SQL, and end-to-end cases judged by pg_dump (``tests/schemadiff_oracle.py``). The broad corpus is
``test_schemadiff_corpus.py``; these are the cases that exercise this package's own corners."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any

import psycopg
import pytest

from dokploy_mcp.postgres.client import Database
from dokploy_mcp.postgres.conninfo import parse_target
from dokploy_mcp.postgres.schemadiff import Catalog, catalog_query, diff, object_changes, parse_catalog, read_catalog
from tests.schemadiff_oracle import assert_same_schema, fresh_databases, run_in_one_transaction, run_sql

pytestmark = pytest.mark.postgres


@pytest.fixture(params=["pg15", "pg18"])
def server(request: pytest.FixtureRequest) -> str:
    name = "pg18_server_url" if request.param == "pg18" else "pg_server_url"
    return str(request.getfixturevalue(name))


@pytest.fixture
def two(server: str) -> Iterator[tuple[str, str]]:
    with fresh_databases(server) as (a, b):
        yield a, b


def read(url: str, schemas: list[str] | None = None) -> Catalog:
    with psycopg.connect(url) as conn:
        row = conn.execute(catalog_query(schemas).encode()).fetchone()
    assert row is not None
    return parse_catalog(row[0])


def converge(target: str, source: str) -> str:
    """Apply diff(source, target) to ``target`` in one transaction; it must then dump like ``source``."""
    script = diff(read(source), read(target)).script()
    assert script, "no difference found"
    try:
        run_in_one_transaction(target, script)
    except psycopg.Error as exc:
        raise AssertionError(f"the script failed: {exc}\n{script}") from None
    assert_same_schema(target, source, context=script)
    again = diff(read(source), read(target))
    assert again.empty, again.script()
    return script


SCHEMA = """
CREATE SCHEMA app;
CREATE TYPE app.mood AS ENUM ('sad', 'ok');
CREATE TABLE app.t (id int PRIMARY KEY, m app.mood DEFAULT 'ok', note text);
CREATE VIEW app.v AS SELECT id, m FROM app.t;
COMMENT ON TABLE app.t IS 'it''s a \\ table';
"""


# -- reading ---------------------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_read_catalog_over_the_direct_route(two: tuple[str, str]) -> None:
    url, _ = two
    run_sql(url, SCHEMA)
    async with Database(parse_target(url), name=f"sdiff-{secrets.token_hex(3)}", connect_timeout=5) as db:
        catalog = await read_catalog(db, ["app"])
    assert catalog == read(url, ["app"])
    assert [t.name for t in catalog.tables] == ["t"] and catalog.tables[0].comment == "it's a \\ table"
    assert [v.name for v in catalog.views] == ["v"] and catalog.enums[0].labels == ("sad", "ok")
    # Read with an empty search_path: names outside pg_catalog come qualified.
    assert catalog.tables[0].columns[1].type == "app.mood"
    assert catalog.views[0].definition.strip().endswith("FROM app.t;")


def _wrapped_results(url: str, text: str) -> list[Any]:
    """Every result of a multi-statement text sent in one simple-protocol message, as pg-meta sends it."""
    answers = []
    with psycopg.connect(url, autocommit=True) as conn:
        cursor = conn.cursor()
        cursor.execute(text.encode())
        while True:
            if cursor.description is not None:
                answers.append(([c.name for c in cursor.description], cursor.fetchall()))
            if not cursor.nextset():
                break
        path = conn.execute("SHOW search_path").fetchone()
    assert path is not None and path[0] != ""  # the emptied search_path ended with the transaction
    return answers


def test_the_query_runs_the_way_pg_meta_wraps_it(two: tuple[str, str]) -> None:
    url, _ = two
    run_sql(url, SCHEMA)
    text = f"BEGIN READ ONLY; SET LOCAL statement_timeout = 30000; {catalog_query()}; ROLLBACK;"
    answers = [rows for names, rows in _wrapped_results(url, text) if names == ["catalog"]]
    assert len(answers) == 1 and len(answers[0]) == 1
    assert parse_catalog(answers[0][0][0]) == read(url)


def test_the_query_as_the_last_statement_of_a_transaction_sees_its_changes(two: tuple[str, str]) -> None:
    url, _ = two
    run_sql(url, SCHEMA)
    before = read(url)
    text = (
        "BEGIN; CREATE TABLE app.added (id int); ALTER TABLE app.t DROP COLUMN note; DROP VIEW app.v;"
        f" {catalog_query()}; ROLLBACK;"
    )
    answers = [rows for names, rows in _wrapped_results(url, text) if names == ["catalog"]]
    after = parse_catalog(answers[0][0][0])
    changes = object_changes(before, after)
    assert changes.created == ["table app.added"]
    assert changes.dropped == ["view app.v", "column app.t.note"]
    assert read(url) == before


def test_schema_filter_and_extension_members(two: tuple[str, str]) -> None:
    url, _ = two
    run_sql(
        url,
        SCHEMA + "CREATE SCHEMA other; CREATE TABLE other.x (id int); CREATE EXTENSION IF NOT EXISTS"
        " pg_trgm SCHEMA other;",
    )
    only_app = read(url, ["app"])
    assert {t.schema for t in only_app.tables} == {"app"} and not only_app.extensions
    everything = read(url)
    assert {t.schema for t in everything.tables} == {"app", "other"}
    assert "pg_trgm" in {e.name for e in everything.extensions}
    # The extension's own functions and types are not listed: the extension stands for them.
    assert not [f for f in everything.functions if f.schema == "other"]


# -- end to end ------------------------------------------------------------------------------------------------------

Q = '"weird ""name"""'
HOSTILE = (
    f'CREATE SCHEMA {Q}; CREATE TABLE {Q}."select" ("from" int PRIMARY KEY,'
    " \"Mixed Case\" text DEFAULT 'it''s' NOT NULL, \"a\\b\" text);"
    f' CREATE INDEX "idx ""q""" ON {Q}."select" (lower("Mixed Case"));'
    f' CREATE VIEW {Q}."user" AS SELECT "from" FROM {Q}."select";'
    f" COMMENT ON COLUMN {Q}.\"select\".\"a\\b\" IS 'back\\slash ''quote''';"
)

CASES = {
    "hostile_identifiers": ("", HOSTILE),
    "enum_value_removed_under_a_default_an_array_and_a_view": (
        """CREATE TYPE mood AS ENUM ('sad', 'ok', 'happy');
        CREATE TABLE t (id int, m mood DEFAULT 'ok', ms mood[]); CREATE VIEW v AS SELECT id, m FROM t;""",
        """CREATE TYPE mood AS ENUM ('happy', 'sad');
        CREATE TABLE t (id int, m mood DEFAULT 'sad', ms mood[]); CREATE VIEW v AS SELECT id, m FROM t;""",
    ),
    "domain_dropped_while_its_column_changes_type": (
        "CREATE DOMAIN pos AS int CHECK (VALUE > 0); CREATE TABLE d (x pos);",
        "CREATE TABLE d (x bigint);",
    ),
    "view_over_a_function_whose_return_type_changes": (
        "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'; CREATE VIEW v AS SELECT f() AS x;",
        "CREATE FUNCTION f() RETURNS bigint LANGUAGE sql AS 'select 2'; CREATE VIEW v AS SELECT f() AS x;",
    ),
    "table_leaves_its_parent_and_a_partition_moves": (
        """CREATE TABLE base (a int); CREATE TABLE sub (b int) INHERITS (base);
        CREATE TABLE p (id int, at date) PARTITION BY RANGE (at);
        CREATE TABLE p1 PARTITION OF p FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');""",
        """CREATE TABLE base (a int); CREATE TABLE sub (b int);
        CREATE TABLE p (id int, at date) PARTITION BY RANGE (at);
        CREATE TABLE p1 PARTITION OF p FOR VALUES FROM ('2023-01-01') TO ('2025-01-01');""",
    ),
    "foreign_key_to_a_re_created_table": (
        """CREATE TABLE parent (id int PRIMARY KEY, kind text); CREATE TABLE child (id int REFERENCES parent(id));""",
        """CREATE TABLE parent (id int, kind text, PRIMARY KEY (id, kind)) PARTITION BY LIST (kind);
        CREATE TABLE child (id int, kind text, FOREIGN KEY (id, kind) REFERENCES parent(id, kind));""",
    ),
    "sequence_bounds_narrow_past_its_value": (
        "CREATE SEQUENCE s; SELECT nextval('s');",
        "CREATE SEQUENCE s MINVALUE 10 MAXVALUE 500 INCREMENT BY 5;",
    ),
    "column_type_change_under_a_policy_and_a_trigger": (
        """CREATE TABLE t (id int, n int); ALTER TABLE t ENABLE ROW LEVEL SECURITY;
        CREATE POLICY p ON t USING (n > 0);
        CREATE FUNCTION tf() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
        CREATE TRIGGER tr BEFORE UPDATE OF n ON t FOR EACH ROW EXECUTE FUNCTION tf();""",
        """CREATE TABLE t (id int, n bigint); ALTER TABLE t ENABLE ROW LEVEL SECURITY;
        CREATE POLICY p ON t USING (n > 0);
        CREATE FUNCTION tf() RETURNS trigger LANGUAGE plpgsql AS 'BEGIN RETURN NEW; END';
        CREATE TRIGGER tr BEFORE UPDATE OF n ON t FOR EACH ROW EXECUTE FUNCTION tf();""",
    ),
    "default_calling_a_new_function_and_identity_parameters": (
        "CREATE TABLE t (id int GENERATED BY DEFAULT AS IDENTITY, n int);",
        """CREATE FUNCTION seven() RETURNS int LANGUAGE sql AS 'select 7';
        CREATE TABLE t (id int GENERATED ALWAYS AS IDENTITY (START WITH 100 INCREMENT BY 2), n int DEFAULT seven());
        CREATE TABLE u (id int DEFAULT seven());""",
    ),
}


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("direction", ["forward", "reverse"])
def test_end_to_end(two: tuple[str, str], name: str, direction: str) -> None:
    a, b = two
    sql_a, sql_b = CASES[name]
    run_sql(a, sql_a)
    run_sql(b, sql_b)
    if direction == "forward":
        converge(a, b)
    else:
        converge(b, a)


def test_two_schema_mode_makes_one_schema_like_another(two: tuple[str, str]) -> None:
    url, _ = two
    run_sql(
        url,
        """CREATE SCHEMA a; CREATE SCHEMA b;
        CREATE TABLE a.t (id int PRIMARY KEY, n bigint DEFAULT 1, ref int);
        CREATE TABLE a.u (id int PRIMARY KEY); ALTER TABLE a.t ADD FOREIGN KEY (ref) REFERENCES a.u(id);
        CREATE VIEW a.v AS SELECT t.id FROM a.t JOIN a.u ON u.id = t.ref;
        CREATE TABLE b.t (id int PRIMARY KEY, n int, gone text);""",
    )
    mapping = {"a": "b"}
    script = diff(read(url), read(url), schema_map=mapping).script()
    assert " a." not in script and "b.u" in script
    run_in_one_transaction(url, script)
    assert diff(read(url), read(url), schema_map=mapping).empty
    # The schemas now differ only in their names.
    renamed = diff(read(url), read(url), schema_map={"b": "a"})
    assert renamed.empty, renamed.script()
