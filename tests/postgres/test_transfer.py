"""The copy's parts on their own: which tables and in which order (pure), and one chunk on real PostgreSQL (a stop
in the middle of a chunk leaves the target as it was; names that need quoting; composite and text keys)."""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from dokploy_mcp.errors import InputError, JobStoppedError
from dokploy_mcp.postgres.conninfo import parse_target
from dokploy_mcp.postgres.transfer.catalog import (
    Column,
    Selection,
    Table,
    choose,
    column_problems,
    foreign_key_order,
    split_pattern,
)
from dokploy_mcp.postgres.transfer.copying import Side, copy_chunk, next_bound
from dokploy_mcp.postgres.transfer.plan import chunk_rows
from tests import pg18


def table(name: str, *references: str, key: tuple[str, ...] = ("id",), est_rows: int = 0, size: int = 0) -> Table:
    schema, short = name.split(".")
    columns = (Column("id", "bigint", False, False, True), Column("v", "text", False, False, True))
    return Table(schema, short, name, est_rows, size, columns, key, references)


def test_patterns_read_names_as_postgresql_does() -> None:
    assert split_pattern("Public.Users", "include") == ("public", "users")
    assert split_pattern('"Odd Schema"."My.Table"', "include") == ("Odd Schema", "My.Table")
    assert split_pattern("auth.*", "include") == ("auth", None)
    assert split_pattern("users", "include") == ("public", "users")
    with pytest.raises(InputError) as caught:
        split_pattern("a.b.c", "exclude")
    assert caught.value.field == "exclude"


def test_choose_takes_schemas_includes_and_excludes() -> None:
    tables = {t.display: t for t in (table("public.a"), table("public.b"), table("auth.users"), table("auth.x"))}

    def names(chosen: list[Table]) -> list[str]:
        return [t.display for t in chosen]

    assert names(choose(tables, Selection())) == ["public.a", "public.b"]
    assert names(choose(tables, Selection(exclude=("public.b",)))) == ["public.a"]
    # include alone: only those; with schemas given, both.
    assert names(choose(tables, Selection(include=("auth.users",)))) == ["auth.users"]
    both = Selection(schemas=("public",), include=("auth.users",), schemas_given=True)
    assert names(choose(tables, both)) == ["auth.users", "public.a", "public.b"]
    assert names(choose(tables, Selection(include=("auth.*",), exclude=("auth.x",)))) == ["auth.users"]
    with pytest.raises(InputError, match="not a table of the source"):
        choose(tables, Selection(include=("public.missing",)))


def test_foreign_key_order_puts_referenced_tables_first_and_reports_cycles() -> None:
    order = foreign_key_order(
        [table("public.c", "public.b"), table("public.b", "public.a"), table("public.a"), table("public.s", "public.s")]
    )
    assert [t.display for t in order.tables] == ["public.a", "public.s", "public.b", "public.c"]
    assert order.cycles == [] and order.self_referencing == ["public.s"]
    cyclic = foreign_key_order([table("public.x", "public.y"), table("public.y", "public.x"), table("public.z")])
    assert [t.display for t in cyclic.tables] == ["public.z", "public.x", "public.y"]
    assert cyclic.cycles == [["public.x", "public.y"]]


def test_column_problems_name_each_column() -> None:
    source = table("public.t")
    other = Table("public", "t", "public.t", 0, 0, (Column("id", "integer", False, False, True),), ("id",), ())
    assert column_problems(source, other) == [
        "column id is bigint on the source but integer on the target",
        "column v (text) is missing on the target",
    ]


def test_chunk_rows_follow_the_table_width() -> None:
    assert chunk_rows(table("public.t", est_rows=1_000_000, size=100_000_000), None) == 1_342_177
    assert chunk_rows(table("public.t", est_rows=10, size=1_000_000_000), None) == 1_000  # huge rows: the floor
    assert chunk_rows(table("public.t", est_rows=0, size=0), None) == 5_000_000  # never analysed, empty
    assert chunk_rows(table("public.t"), 250) == 250


ODD_NAME = '"Odd ""Schema"""."My.Table"'
ODD_TABLE = (
    'create schema "Odd ""Schema""";'
    f'create table {ODD_NAME} ("Key Part" text, "n" int, "select" text, primary key ("Key Part", n))'
)
ODD_ROWS = (
    f"insert into {ODD_NAME} "
    "select 'k' || (g % 7) || ' ' || chr(233) || ' ''q''', g, 'v' || g from generate_series(1, 300) g"
)


@pytest.fixture
def sides(pg_server_url: str) -> Iterator[tuple[Side, Side, str]]:
    with pg18.throwaway_database(pg_server_url) as source_url, pg18.throwaway_database(pg_server_url) as target_url:
        for url in (source_url, target_url):
            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute(ODD_TABLE)
        with psycopg.connect(source_url, autocommit=True) as conn:
            conn.execute(ODD_ROWS)
        source = Side(parse_target(source_url), role="source")
        target = Side(parse_target(target_url), role="target")
        try:
            yield source, target, target_url
        finally:
            source.close()
            target.close()


def test_a_composite_text_key_with_odd_names_is_copied_in_chunks(sides: tuple[Side, Side, str]) -> None:
    source, target, target_url = sides
    source.begin_snapshot(60_000)
    target.same_text()
    [odd] = source.tables(['Odd "Schema"']).values()
    assert odd.display == 'Odd "Schema".My.Table' and odd.key == ("Key Part", "n")
    checkpoint = target.start("src", [odd], truncate=False, mode="empty")[odd.display]
    chunks = 0
    while True:
        upper = next_bound(source, odd, checkpoint.last_key, 64)
        result = copy_chunk(source, target, odd, checkpoint, upper, lambda: False)
        checkpoint.rows += result.rows
        checkpoint.last_key = result.last_key
        chunks += 1
        if upper is None:
            break
    assert chunks == 5 and checkpoint.rows == 300
    assert source.checksum(odd) == target.checksum(odd)
    with psycopg.connect(target_url) as conn:
        assert conn.execute(f'select count(distinct "Key Part") from {ODD_NAME}').fetchone() == (7,)


def test_a_stop_in_the_middle_of_a_chunk_rolls_the_chunk_back(sides: tuple[Side, Side, str]) -> None:
    source, target, target_url = sides
    source.begin_snapshot(60_000)
    [odd] = source.tables(['Odd "Schema"']).values()
    checkpoint = target.start("src", [odd], truncate=False, mode="empty")[odd.display]
    with pytest.raises(JobStoppedError, match=r"My\.Table"):
        copy_chunk(source, target, odd, checkpoint, None, lambda: True)
    # The target's connection was rolled back, not left in a failed transaction: it answers again.
    assert target.checkpoints("src")[odd.display].rows == 0
    with psycopg.connect(target_url) as conn:
        assert conn.execute(f"select count(*) from {ODD_NAME}").fetchone() == (0,)
        assert conn.execute("select status, rows from dokploy_mcp.copy_checkpoints").fetchall() == [("copying", 0)]


@pytest.mark.parametrize(
    ("action", "kind", "sql", "later"),
    [
        ("create", "index", "CREATE INDEX people_email ON public.people USING btree (email);", True),
        ("create", "constraint", "ALTER TABLE public.t ADD CONSTRAINT t_pkey PRIMARY KEY (id);", False),
        ("create", "constraint", "ALTER TABLE public.t ADD CONSTRAINT t_name_key UNIQUE (name);", True),
        (
            "create",
            "constraint",
            'ALTER TABLE public.t ADD CONSTRAINT "odd "" name" FOREIGN KEY (a) REFERENCES b(id);',
            True,
        ),
        (
            "create",
            "constraint",
            "ALTER TABLE public.t ADD CONSTRAINT no_overlap EXCLUDE USING gist (r WITH &&);",
            True,
        ),
        ("create", "constraint", "ALTER TABLE public.t ADD CONSTRAINT positive CHECK (n > 0);", False),
        ("alter", "comment", "COMMENT ON INDEX public.people_email IS 'x';", True),
        ("alter", "table", "ALTER TABLE public.t REPLICA IDENTITY USING INDEX t_name_key;", True),
        ("create", "table", "CREATE TABLE public.t (id bigint, name text);", False),
        ("alter", "comment", "COMMENT ON TABLE public.t IS 'an index of things';", False),
    ],
)
def test_what_the_schema_step_leaves_for_after_the_rows(action: str, kind: str, sql: str, later: bool) -> None:
    from dokploy_mcp.services.transfer import built_after_rows

    assert built_after_rows(action, kind, sql) is later
