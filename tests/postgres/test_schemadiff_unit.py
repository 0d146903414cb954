"""The schema differ on hand-built catalogs: quoting, ordering, destructive flags, parsing. No database."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence as Steps
from dataclasses import replace
from typing import Any, Unpack

import pytest

from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres.errors import DatabaseQueryError
from dokploy_mcp.postgres.schemadiff import Catalog, catalog_query, diff, object_changes, parse_catalog, read_catalog
from dokploy_mcp.postgres.schemadiff.models import (
    Attribute,
    Column,
    Composite,
    Constraint,
    DefaultAcl,
    Domain,
    DomainCheck,
    Enum,
    Function,
    Grant,
    Index,
    Policy,
    Schema,
    Sequence,
    Table,
    Trigger,
    View,
)
from dokploy_mcp.postgres.schemadiff.privileges import builtin_acl
from dokploy_mcp.postgres.schemadiff.quoting import ident, literal, remap_schema
from dokploy_mcp.postgres.statement import Params, QueryResult, RunOptions, ScriptResult

WEIRD = 'weird "name"'
PUBLIC = Schema("public", "pg_database_owner", "standard public schema")


def owned(view: View) -> View:
    """``view`` owned by postgres with the privileges a new view gets, so that re-creating it changes no grant."""
    return replace(view, owner="postgres", acl=builtin_acl("r", "postgres", 150000))


def catalog(**parts: Any) -> Catalog:
    parts.setdefault("schemas", (PUBLIC,))
    return Catalog(version=150000, **parts)


def users(*columns: Column, **extra: Any) -> Table:
    return Table("public", "users", columns=columns or (Column("id", "integer", not_null=True),), **extra)


def sqls(source: Catalog, target: Catalog) -> list[str]:
    return [change.sql for change in diff(source, target).changes]


def position(statements: list[str], pattern: str) -> int:
    for i, statement in enumerate(statements):
        if re.search(pattern, statement):
            return i
    raise AssertionError(f"no statement matches {pattern!r} in:\n" + "\n".join(statements))


# -- quoting ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "quoted"),
    [
        ("users", "users"),
        ("Users", '"Users"'),
        ("select", '"select"'),
        ("user", '"user"'),
        ("a b", '"a b"'),
        ("1abc", '"1abc"'),
        ("a$b", '"a$b"'),
        (WEIRD, '"weird ""name"""'),
        ("ünïcode", '"ünïcode"'),
    ],
)
def test_identifiers_are_quoted_where_postgres_needs_it(name: str, quoted: str) -> None:
    assert ident(name) == quoted


def test_literals_survive_quotes_and_backslashes() -> None:
    assert literal("it's") == "'it''s'"
    assert literal("a\\b") == "E'a\\\\b'"
    with pytest.raises(InputError):
        literal("nul\x00")


def test_remapping_a_schema_touches_only_qualified_names() -> None:
    text = 'SELECT a.x, aa.y, "a".z FROM a.t JOIN data.a ON true'
    assert remap_schema(text, "a", "b") == 'SELECT b.x, aa.y, "a".z FROM b.t JOIN data.a ON true'
    assert remap_schema('"weird ""name""".t', WEIRD, "b") == "b.t"


def test_hostile_names_are_quoted_in_every_statement() -> None:
    column = Column(WEIRD, "text", comment="it's")
    table = Table(WEIRD, WEIRD, columns=(column,), rls=True, comment="x")
    source = catalog(
        schemas=(PUBLIC, Schema(WEIRD)),
        tables=(table,),
        policies=(Policy(WEIRD, WEIRD, WEIRD, roles=("Role With Space",), using="true"),),
        indexes=(Index(WEIRD, WEIRD, "i", 'CREATE INDEX i ON "weird ""name"""."weird ""name""" USING btree (x)'),),
    )
    statements = sqls(source, catalog())
    q = '"weird ""name"""'
    assert f"CREATE SCHEMA {q};" in statements
    assert statements[position(statements, "CREATE TABLE")].startswith(f"CREATE TABLE {q}.{q} (\n    {q} text\n)")
    assert f"ALTER TABLE {q}.{q} ENABLE ROW LEVEL SECURITY;" in statements
    assert f'CREATE POLICY {q} ON {q}.{q} AS PERMISSIVE FOR ALL TO "Role With Space" USING (true);' in statements
    assert f"COMMENT ON COLUMN {q}.{q}.{q} IS 'it''s';" in statements


# -- ordering --------------------------------------------------------------------------------------------------------


def test_drops_of_dependents_come_before_drops_of_what_they_hang_on() -> None:
    target = catalog(
        schemas=(PUBLIC, Schema("gone")),
        tables=(users(rls=True), Table("gone", "t", columns=(Column("id", "integer"),))),
        views=(View("gone", "v", " SELECT t.id FROM gone.t;", depends_on=(("gone", "t"),)),),
        policies=(Policy("public", "users", "p", using="true"),),
        triggers=(Trigger("public", "users", "tr", "CREATE TRIGGER tr ..."),),
        functions=(Function("gone", "f", "CREATE OR REPLACE FUNCTION gone.f() ...", identity=""),),
    )
    source = catalog(tables=(users(rls=True),))
    statements = sqls(source, target)
    order = [
        position(statements, "^DROP POLICY p"),
        position(statements, "^DROP TRIGGER tr"),
        position(statements, "^DROP VIEW gone.v"),
        position(statements, "^DROP TABLE gone.t"),
        position(statements, "^DROP FUNCTION gone.f"),
        position(statements, "^DROP SCHEMA gone"),
    ]
    assert order == sorted(order)


def test_creates_follow_dependencies() -> None:
    posts = Table("app", "posts", columns=(Column("id", "integer"), Column("user_id", "integer")))
    source = catalog(
        schemas=(PUBLIC, Schema("app")),
        enums=(Enum("app", "mood", ("a", "b")),),
        sequences=(Sequence(schema="app", name="s", owned_by=("app", "posts", "id")),),
        tables=(users(), posts),
        constraints=(
            Constraint("app", "posts", "posts_user_fk", "f", "FOREIGN KEY (user_id) REFERENCES public.users(id)"),
            Constraint("public", "users", "users_pkey", "p", "PRIMARY KEY (id)"),
        ),
        views=(
            View("app", "v2", " SELECT v1.id FROM app.v1;", depends_on=(("app", "v1"),)),
            View("app", "v1", " SELECT posts.id FROM app.posts;", depends_on=(("app", "posts"),)),
        ),
        functions=(Function("app", "f", "CREATE OR REPLACE FUNCTION app.f() ..."),),
        indexes=(Index("app", "posts", "posts_idx", "CREATE INDEX posts_idx ON app.posts USING btree (id)"),),
    )
    statements = sqls(source, catalog())
    order = [
        position(statements, "^CREATE SCHEMA app"),
        position(statements, "^CREATE TYPE app.mood"),
        position(statements, "^CREATE SEQUENCE app.s"),
        position(statements, "^CREATE TABLE app.posts"),
        position(statements, "^CREATE OR REPLACE FUNCTION app.f"),
        position(statements, "^ALTER SEQUENCE app.s OWNED BY app.posts.id"),
        position(statements, "^CREATE VIEW app.v1"),
        position(statements, "^CREATE VIEW app.v2"),
        position(statements, "ADD CONSTRAINT users_pkey PRIMARY KEY"),
        position(statements, "ADD CONSTRAINT posts_user_fk FOREIGN KEY"),
        position(statements, "^CREATE INDEX posts_idx"),
    ]
    assert order == sorted(order)
    assert position(statements, "^CREATE TABLE public.users") < position(statements, "posts_user_fk")


def test_a_changed_view_takes_the_views_reading_it_along() -> None:
    v1 = owned(View("public", "v1", " SELECT 1 AS x;"))
    v2 = owned(View("public", "v2", " SELECT v1.x FROM public.v1;", depends_on=(("public", "v1"),)))
    v3 = owned(View("public", "v3", " SELECT 3 AS z;"))
    target = catalog(views=(v1, v2, v3))
    source = catalog(views=(replace(v1, definition=" SELECT 2 AS x;"), v2, v3))
    statements = sqls(source, target)
    assert statements.index("DROP VIEW public.v2;") < statements.index("DROP VIEW public.v1;")
    assert position(statements, "^CREATE VIEW public.v1") < position(statements, "^CREATE VIEW public.v2")
    assert not any("v3" in s for s in statements)


def test_a_column_type_change_recreates_views_and_policies_on_the_table() -> None:
    old = users(Column("id", "integer"), Column("n", "integer"))
    new = users(Column("id", "integer"), Column("n", "bigint"))
    view = owned(View("public", "v", " SELECT users.n FROM public.users;", depends_on=(("public", "users"),)))
    policy = Policy("public", "users", "p", using="(n > 0)")
    statements = sqls(
        catalog(tables=(new,), views=(view,), policies=(policy,)),
        catalog(tables=(old,), views=(view,), policies=(policy,)),
    )
    assert statements == [
        "DROP POLICY p ON public.users;",
        "DROP VIEW public.v;",
        "ALTER TABLE public.users ALTER COLUMN n TYPE bigint USING n::bigint;",
        "CREATE VIEW public.v AS\nSELECT users.n FROM public.users;",
        "CREATE POLICY p ON public.users AS PERMISSIVE FOR ALL TO PUBLIC USING ((n > 0));",
    ]


# -- columns ---------------------------------------------------------------------------------------------------------


def test_column_changes_use_alter_column_in_a_working_order() -> None:
    old = users(Column("id", "integer"), Column("n", "text", default="'x'::text"))
    new = users(
        Column("id", "integer", not_null=True, identity="a"),
        Column("n", "integer", default="0", not_null=True),
    )
    result = diff(catalog(tables=(new,)), catalog(tables=(old,)))
    assert [c.sql for c in result.changes] == [
        "ALTER TABLE public.users ALTER COLUMN n DROP DEFAULT;",
        "ALTER TABLE public.users ALTER COLUMN id SET NOT NULL;",
        "ALTER TABLE public.users ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY;",
        "ALTER TABLE public.users ALTER COLUMN n TYPE integer USING n::integer;",
        "ALTER TABLE public.users ALTER COLUMN n SET NOT NULL;",
        "ALTER TABLE public.users ALTER COLUMN n SET DEFAULT 0;",
    ]
    assert [c.name for c in result.destructive] == ["public.users.n"]


def test_dropping_a_default_or_not_null_is_not_destructive_but_dropping_a_column_is() -> None:
    old = users(Column("id", "integer", not_null=True, default="1"), Column("gone", "text"))
    new = users(Column("id", "integer"))
    result = diff(catalog(tables=(new,)), catalog(tables=(old,)))
    flagged = {c.sql: c.destructive for c in result.changes}
    assert flagged == {
        "ALTER TABLE public.users ALTER COLUMN id DROP DEFAULT;": False,
        "ALTER TABLE public.users DROP COLUMN gone;": True,
        "ALTER TABLE public.users ALTER COLUMN id DROP NOT NULL;": False,
    }
    assert all(c.reason for c in result.destructive)


def test_a_changed_generated_expression_drops_and_adds_the_column_before_postgresql_17() -> None:
    old = users(Column("id", "integer"), Column("g", "integer", generated="(id * 2)", generated_kind="s"))
    new = users(Column("id", "integer"), Column("g", "integer", generated="(id * 3)", generated_kind="s"))
    statements = sqls(catalog(tables=(new,)), catalog(tables=(old,)))
    assert statements == [
        "ALTER TABLE public.users DROP COLUMN g;",
        "ALTER TABLE public.users ADD COLUMN g integer GENERATED ALWAYS AS ((id * 3)) STORED;",
    ]
    on_17 = diff(replace(catalog(tables=(new,)), version=170000), replace(catalog(tables=(old,)), version=170000))
    assert [c.sql for c in on_17.changes] == ["ALTER TABLE public.users ALTER COLUMN g SET EXPRESSION AS ((id * 3));"]


# -- types -----------------------------------------------------------------------------------------------------------


def test_enum_values_are_added_in_place() -> None:
    old = Enum("public", "mood", ("sad", "happy"))
    new = Enum("public", "mood", ("first", "sad", "ok", "happy", "last"))
    result = diff(catalog(enums=(new,)), catalog(enums=(old,)))
    assert [c.sql for c in result.changes] == [
        "ALTER TYPE public.mood ADD VALUE 'first' BEFORE 'sad';",
        "ALTER TYPE public.mood ADD VALUE 'ok' AFTER 'sad';",
        "ALTER TYPE public.mood ADD VALUE 'last' AFTER 'happy';",
    ]
    assert not result.destructive


def test_removing_an_enum_value_recreates_the_type_and_converts_its_columns() -> None:
    old = Enum("public", "mood", ("sad", "ok", "happy"))
    new = Enum("public", "mood", ("sad", "happy"))
    column = Column("m", "public.mood", type_schema="public", type_name="mood", default="'sad'::public.mood")
    tables = (users(Column("id", "integer"), column),)
    result = diff(catalog(enums=(new,), tables=tables), catalog(enums=(old,), tables=tables))
    assert [c.sql for c in result.changes] == [
        "ALTER TABLE public.users ALTER COLUMN m DROP DEFAULT;",
        "ALTER TYPE public.mood RENAME TO mood__schemadiff_old;",
        "CREATE TYPE public.mood AS ENUM ('sad', 'happy');",
        "ALTER TABLE public.users ALTER COLUMN m TYPE public.mood USING m::text::public.mood;",
        "ALTER TABLE public.users ALTER COLUMN m SET DEFAULT 'sad'::public.mood;",
        "DROP TYPE public.mood__schemadiff_old;",
    ]
    assert any(c.kind == "enum" and c.destructive for c in result.changes)


def test_domains_change_in_place() -> None:
    old = Domain("public", "pos", "integer", checks=(DomainCheck("pos_check", "CHECK ((VALUE > 0))"),))
    new = Domain(
        "public",
        "pos",
        "integer",
        default="1",
        not_null=True,
        checks=(DomainCheck("pos_check", "CHECK ((VALUE > 1))"),),
    )
    assert sqls(catalog(domains=(new,)), catalog(domains=(old,))) == [
        "ALTER DOMAIN public.pos SET DEFAULT 1;",
        "ALTER DOMAIN public.pos SET NOT NULL;",
        "ALTER DOMAIN public.pos DROP CONSTRAINT pos_check;",
        "ALTER DOMAIN public.pos ADD CONSTRAINT pos_check CHECK ((VALUE > 1));",
    ]


def test_sequences_are_created_with_every_parameter_and_dropped_as_destructive() -> None:
    new = Sequence(schema="public", name="s", type="integer", start="5", max="100", cycle=True)
    result = diff(catalog(sequences=(new,)), catalog(sequences=(Sequence(schema="public", name="old"),)))
    assert [(c.sql, c.destructive) for c in result.changes] == [
        (
            "CREATE SEQUENCE public.s AS integer INCREMENT BY 1 MINVALUE 1 MAXVALUE 100 START WITH 5 CACHE 1 CYCLE;",
            False,
        ),
        ("DROP SEQUENCE IF EXISTS public.old;", True),
    ]


# -- functions -------------------------------------------------------------------------------------------------------


def test_functions_are_replaced_when_they_can_be_and_dropped_first_when_not() -> None:
    old = Function(
        "public",
        "f",
        "CREATE OR REPLACE FUNCTION public.f(a integer) RETURNS integer AS 1",
        types="integer",
        identity="a integer",
        arguments="a integer",
        result="integer",
    )
    body = replace(old, definition=old.definition.replace("AS 1", "AS 2"))
    returns = replace(old, definition="CREATE OR REPLACE FUNCTION public.f(a integer) RETURNS bigint", result="bigint")
    assert sqls(catalog(functions=(body,)), catalog(functions=(old,))) == [body.definition + ";"]
    assert sqls(catalog(functions=(returns,)), catalog(functions=(old,))) == [
        "DROP FUNCTION public.f(a integer);",
        returns.definition + ";",
    ]


# -- privileges and comments -----------------------------------------------------------------------------------------


def test_grants_are_diffed_per_grantee_and_privilege() -> None:
    owner = [
        Grant("postgres", p) for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
    ]
    old = users(acl=(*owner, Grant("PUBLIC", "SELECT"), Grant("Reader Role", "UPDATE", grantable=True)))
    new_column = Column("id", "integer", not_null=True, acl=(Grant("Reader Role", "UPDATE"),))
    new = users(new_column, acl=(*owner, Grant("Reader Role", "SELECT"), Grant("Reader Role", "UPDATE")))
    assert sqls(catalog(tables=(new,)), catalog(tables=(old,))) == [
        'GRANT SELECT ON TABLE public.users TO "Reader Role";',
        'REVOKE GRANT OPTION FOR UPDATE ON TABLE public.users FROM "Reader Role";',
        "REVOKE SELECT ON TABLE public.users FROM PUBLIC;",
        'GRANT UPDATE (id) ON TABLE public.users TO "Reader Role";',
    ]


def test_a_new_table_starts_from_the_default_privileges() -> None:
    defaults = (DefaultAcl("postgres", "r", "public", (Grant("anon", "SELECT"),)),)
    table = users(
        owner="postgres",
        acl=tuple(
            Grant("postgres", p) for p in ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
        ),
    )
    statements = sqls(catalog(tables=(table,), default_acls=defaults), catalog(default_acls=defaults))
    assert "REVOKE SELECT ON TABLE public.users FROM anon;" in statements
    assert not any(s.startswith("GRANT") for s in statements)


def test_default_privileges_are_granted_and_revoked() -> None:
    target = catalog(default_acls=(DefaultAcl("owner", "r", "public", (Grant("anon", "SELECT"),)),))
    source = catalog(
        default_acls=(
            DefaultAcl("owner", "f", None, (Grant("owner", "EXECUTE"),)),
            DefaultAcl("owner", "S", "public", (Grant("anon", "USAGE", grantable=True),)),
        )
    )
    assert sorted(sqls(source, target)) == [
        "ALTER DEFAULT PRIVILEGES FOR ROLE owner IN SCHEMA public GRANT USAGE ON SEQUENCES TO anon WITH GRANT OPTION;",
        "ALTER DEFAULT PRIVILEGES FOR ROLE owner IN SCHEMA public REVOKE SELECT ON TABLES FROM anon;",
        "ALTER DEFAULT PRIVILEGES FOR ROLE owner REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;",
    ]


def test_comments_are_set_and_cleared_and_come_back_on_recreated_objects() -> None:
    view = owned(View("public", "v", " SELECT 1;", comment="a view"))
    old = users(comment="old")
    source = catalog(tables=(replace(old, comment=None),), views=(replace(view, definition=" SELECT 2;"),))
    statements = sqls(source, catalog(tables=(old,), views=(view,)))
    assert "COMMENT ON TABLE public.users IS NULL;" in statements
    assert statements[-1] == "COMMENT ON VIEW public.v IS 'a view';"


# -- output, two-schema mode, object changes -------------------------------------------------------------------------


def test_the_script_joins_statements_and_empty_diffs_say_so() -> None:
    same = catalog(tables=(users(),))
    assert diff(same, same).empty and diff(same, same).script() == ""
    result = diff(same, catalog())
    assert not result.empty
    assert result.script() == "CREATE TABLE public.users (\n    id integer NOT NULL\n);\n"
    assert all(c.sql.endswith(";") for c in result.changes)


def test_schema_map_compares_two_schemas_and_names_the_target() -> None:
    a = Table("a", "t", columns=(Column("id", "integer"), Column("ref", "a.kind")))
    view = View("a", "v", " SELECT t.id FROM a.t;", depends_on=(("a", "t"),))
    source = catalog(schemas=(PUBLIC, Schema("a")), tables=(a,), views=(view,))
    target = catalog(schemas=(PUBLIC, Schema("b")), tables=(Table("b", "t", columns=(Column("id", "integer"),)),))
    assert (
        sqls(
            source,
            target,
        )
        != []
    )
    statements = [c.sql for c in diff(source, target, schema_map={"a": "b"}).changes]
    assert statements == [
        "ALTER TABLE b.t ADD COLUMN ref b.kind;",
        "CREATE VIEW b.v AS\nSELECT t.id FROM b.t;",
    ]


def test_object_changes_lists_kinds_and_names() -> None:
    before = catalog(tables=(users(Column("id", "integer"), Column("gone", "text")),))
    after = catalog(
        tables=(users(Column("id", "integer", not_null=True)),),
        indexes=(Index("public", "users", "users_idx", "CREATE INDEX users_idx ON public.users USING btree (id)"),),
    )
    changes = object_changes(before, after)
    assert changes.created == ["index public.users_idx"]
    assert changes.altered == ["column public.users.id"]
    assert changes.dropped == ["column public.users.gone"]


# -- the query, parsing, reading -------------------------------------------------------------------------------------


def test_the_query_is_one_statement_without_parameters_and_checks_schema_names() -> None:
    text = catalog_query(["public", "it's"])
    assert "'it''s'" in text and "%s" not in text and "$1" not in text
    assert ";" not in text.rstrip()[-1:]
    with pytest.raises(InputError):
        catalog_query(["x" * 64])
    with pytest.raises(InputError):
        catalog_query([""])


def test_parse_catalog_takes_a_dict_or_json_text_and_refuses_the_rest() -> None:
    value = {
        "version": 160000,
        "tables": [{"schema": "public", "name": "t", "columns": [{"name": "a", "type": "int"}]}],
        "future_field": [],
    }
    parsed = parse_catalog(value)
    assert parse_catalog(json.dumps(value)) == parsed
    assert parsed.tables[0].columns[0] == Column("a", "int")
    for bad in ("not json", "[1]", {"tables": [{"name": "no schema"}]}):
        with pytest.raises(InputError):
            parse_catalog(bad)


class FakeRunner:
    target = "fake"

    def __init__(self, result: QueryResult) -> None:
        self.result = result
        self.calls: list[tuple[str, dict[str, Any]]] = []

    async def execute(self, statement: str, params: Params | None = None, **options: Unpack[RunOptions]) -> QueryResult:
        self.calls.append((statement, dict(options)))
        return self.result

    async def run_script(
        self,
        steps: Steps[str],
        *,
        transaction: bool = True,
        commit: bool = True,
        timeout_ms: int = 30_000,
        max_bytes: int = 16_000_000,
    ) -> ScriptResult:
        raise AssertionError("read_catalog runs one statement")


def result(rows: list[list[Any]], truncated: str | None = None) -> QueryResult:
    return QueryResult(
        columns=[],
        rows=rows,
        row_count=len(rows),
        truncated=truncated is not None,
        truncated_reason=truncated,
        status_message=None,
        rows_affected=None,
        duration_ms=1.0,
    )


@pytest.mark.anyio
async def test_read_catalog_runs_read_only_and_refuses_a_cut_answer() -> None:
    runner = FakeRunner(result([[{"version": 150000}]]))
    assert await read_catalog(runner, ["public"], timeout_ms=5, max_bytes=10) == Catalog(version=150000)
    statement, options = runner.calls[0]
    assert statement == catalog_query(["public"])
    assert options == {
        "read_only": True,
        "timeout_ms": 5,
        "max_rows": 1,
        "max_bytes": 10,
        "local_settings": {"jit": "off"},
    }
    with pytest.raises(DatabaseQueryError, match="cut short"):
        await read_catalog(FakeRunner(result([], truncated="max_bytes")))


# -- later additions: function dependents, owners, composite types, replica identity, named NOT NULL -------------


def test_a_function_dropped_for_a_new_return_type_takes_its_callers_along() -> None:
    calls = (("public", "cap", ""),)
    old_f = Function("public", "cap", "CREATE OR REPLACE FUNCTION public.cap() RETURNS integer", result="integer")
    new_f = replace(old_f, definition="CREATE OR REPLACE FUNCTION public.cap() RETURNS bigint", result="bigint")
    policy = Policy("public", "users", "p", using="(id < public.cap())", calls=calls)
    check = Constraint("public", "users", "c", "c", "CHECK ((id < public.cap()))", calls=calls)
    column = Column("id", "integer", default="public.cap()", default_calls=calls)
    parts = {"tables": (users(column),), "policies": (policy,), "constraints": (check,)}
    statements = sqls(catalog(functions=(new_f,), **parts), catalog(functions=(old_f,), **parts))
    drop = position(statements, "^DROP FUNCTION public.cap")
    create = position(statements, "RETURNS bigint")
    assert position(statements, "^DROP POLICY p") < drop
    assert position(statements, "DROP CONSTRAINT c;") < drop
    assert position(statements, "ALTER COLUMN id DROP DEFAULT") < drop
    assert create < position(statements, "ALTER COLUMN id SET DEFAULT public.cap()")
    assert create < position(statements, "ADD CONSTRAINT c CHECK")
    assert create < position(statements, "^CREATE POLICY p")


def test_owners_follow_the_source() -> None:
    target = replace(catalog(tables=(users(owner="postgres"),)), user="postgres")
    source = catalog(
        schemas=(PUBLIC, Schema("app", owner="Reader Role")),
        tables=(users(owner="writer"),),
        sequences=(Sequence(schema="public", name="s", owner="writer", owned_by=("public", "users", "id")),),
    )
    statements = sqls(source, target)
    assert 'ALTER SCHEMA app OWNER TO "Reader Role";' in statements
    assert "ALTER TABLE public.users OWNER TO writer;" in statements
    assert not any("SEQUENCE public.s OWNER" in s for s in statements)  # an owned sequence follows its table


def test_composite_types_are_created_and_altered_by_attribute() -> None:
    old = Composite("public", "money", (Attribute("value", "numeric"), Attribute("gone", "text")))
    new = Composite("public", "money", (Attribute("value", "numeric(10,2)"), Attribute("currency", "character(3)")))
    assert sqls(catalog(composites=(new,)), catalog()) == [
        "CREATE TYPE public.money AS (value numeric(10,2), currency character(3));"
    ]
    assert sqls(catalog(composites=(new,)), catalog(composites=(old,))) == [
        "ALTER TYPE public.money DROP ATTRIBUTE gone;",
        "ALTER TYPE public.money ALTER ATTRIBUTE value TYPE numeric(10,2);",
        "ALTER TYPE public.money ADD ATTRIBUTE currency character(3);",
    ]


def test_replica_identity_and_named_not_null() -> None:
    old = users(Column("id", "integer"))
    new = users(Column("id", "integer", not_null=True, not_null_name="id required"), replica_identity="f")
    on_18 = [
        c.sql
        for c in diff(
            replace(catalog(tables=(new,)), version=180000), replace(catalog(tables=(old,)), version=180000)
        ).changes
    ]
    assert on_18 == [
        'ALTER TABLE public.users ADD CONSTRAINT "id required" NOT NULL id;',
        "ALTER TABLE public.users REPLICA IDENTITY FULL;",
    ]
    assert (
        sqls(catalog(tables=(new,)), catalog(tables=(old,)))[0]
        == "ALTER TABLE public.users ALTER COLUMN id SET NOT NULL;"
    )


def test_view_definitions_compare_across_the_postgresql_16_qualification_change() -> None:
    """16 stopped qualifying a column with its only table: between 15 and 18 that is the same query, a real change
    is not, and between two servers of one side of 16 the texts are compared as they are."""
    from types import SimpleNamespace

    from dokploy_mcp.postgres.schemadiff.routines import same_query

    def ctx(source: int, target: int) -> Any:
        return SimpleNamespace(source=SimpleNamespace(version=source), target=SimpleNamespace(version=target))

    v15 = " SELECT people.team_id,\n    count(*) AS people\n   FROM public.people\n  GROUP BY people.team_id;"
    v18 = " SELECT team_id,\n    count(*) AS people\n   FROM public.people\n  GROUP BY team_id;"
    other = " SELECT team_id,\n    count(*) AS people\n   FROM public.people\n  GROUP BY team_id HAVING count(*) > 1;"
    assert same_query(ctx(150000, 180000), v15, v18) and same_query(ctx(180000, 150000), v18, v15)
    assert not same_query(ctx(150000, 180000), v15, other)
    assert not same_query(ctx(150000, 150000), v15, v18)
    assert same_query(ctx(170000, 180000), v18, v18)
