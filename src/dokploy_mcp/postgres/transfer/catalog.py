"""What a copy moves: the tables of each side (columns, primary key, foreign keys, size), the chosen ones in an
order that keeps foreign keys satisfied, and the sequences that go with them.

Binary COPY is exact and fast, but the binary form of a composite value, and of an array of a type created in the
database, carries the type's OID, which differs between two servers: a table holding such a column is copied in
text form instead (``Column.binary``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dokploy_mcp.errors import InputError

__all__ = ["Column", "Selection", "SequenceRef", "Table", "choose", "foreign_key_order", "parse_tables"]

#: One row of JSON: every ordinary and partitioned table (not the partitions: rows go in through the parent) of the
#: schemas given as the first parameter.
TABLES_QUERY = """
SELECT coalesce(json_agg(t ORDER BY t.schema, t.name), '[]'::json) AS tables FROM (
  SELECT n.nspname AS schema, c.relname AS name,
         pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS sql_name,
         greatest(c.reltuples, 0)::bigint AS est_rows,
         pg_catalog.pg_table_size(c.oid) AS bytes,
         c.relrowsecurity AND (c.relforcerowsecurity OR NOT pg_catalog.pg_has_role(c.relowner, 'MEMBER'))
           AND NOT (SELECT r.rolsuper OR r.rolbypassrls FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
           AS hidden_rows,
         (SELECT coalesce(json_agg(json_build_object(
                   'name', a.attname,
                   'type', pg_catalog.format_type(a.atttypid, a.atttypmod),
                   'generated', a.attgenerated <> '',
                   'identity', a.attidentity <> '',
                   'binary', NOT EXISTS (
                     WITH RECURSIVE chain(oid) AS (
                       SELECT a.atttypid
                       UNION
                       SELECT x.oid FROM chain JOIN pg_catalog.pg_type ty ON ty.oid = chain.oid,
                         LATERAL (VALUES (ty.typbasetype), (ty.typelem)) AS x(oid)
                       WHERE x.oid <> 0)
                     SELECT 1 FROM chain JOIN pg_catalog.pg_type ty ON ty.oid = chain.oid
                     WHERE ty.typtype = 'c' OR (ty.typcategory = 'A' AND ty.typelem >= 16384)))
                 ORDER BY a.attnum), '[]'::json)
            FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) AS columns,
         (SELECT coalesce(json_agg(a.attname ORDER BY k.ord), '[]'::json)
            FROM pg_catalog.pg_index i
            CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord)
            JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
           WHERE i.indrelid = c.oid AND i.indisprimary) AS key,
         (SELECT coalesce(json_agg(DISTINCT rn.nspname || '.' || rc.relname), '[]'::json)
            FROM pg_catalog.pg_constraint f
            JOIN pg_catalog.pg_class rc ON rc.oid = f.confrelid
            JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
           WHERE f.conrelid = c.oid AND f.contype = 'f') AS "references"
    FROM pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
   WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition AND n.nspname = ANY(%(schemas)s::text[])
) t
"""

#: The sequences that feed the given tables (qualified names, second form of ``Table.sql_name``): owned by one of
#: their columns (serial, identity) or named in a column default. The values are read separately.
SEQUENCES_QUERY = """
SELECT DISTINCT pg_catalog.quote_ident(sn.nspname) || '.' || pg_catalog.quote_ident(s.relname) AS sql_name,
       sn.nspname || '.' || s.relname AS name
  FROM pg_catalog.pg_depend d
  JOIN pg_catalog.pg_class s ON s.oid = d.objid AND s.relkind = 'S'
  JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
 WHERE d.classid = 'pg_catalog.pg_class'::regclass AND d.refclassid = 'pg_catalog.pg_class'::regclass
   AND d.deptype IN ('a', 'i') AND d.refobjid = ANY(%(tables)s::regclass[])
UNION
SELECT pg_catalog.quote_ident(sn.nspname) || '.' || pg_catalog.quote_ident(s.relname), sn.nspname || '.' || s.relname
  FROM pg_catalog.pg_attrdef ad
  JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_attrdef'::regclass AND d.objid = ad.oid
  JOIN pg_catalog.pg_class s ON s.oid = d.refobjid AND s.relkind = 'S'
  JOIN pg_catalog.pg_namespace sn ON sn.oid = s.relnamespace
 WHERE ad.adrelid = ANY(%(tables)s::regclass[])
 ORDER BY 2
"""


#: Materialized views of the given schemas that hold rows on this side (the copy fills their tables, so the target's
#: are refreshed after it, as pg_restore does); oldest first, so that one built on another comes after it.
MATVIEWS_QUERY = """
SELECT pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(c.relname) AS sql_name
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE c.relkind = 'm' AND c.relispopulated AND n.nspname = ANY(%(schemas)s::text[])
 ORDER BY c.oid
"""


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    generated: bool
    identity: bool
    binary: bool


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    #: Quoted for SQL: ``public."My Table"``.
    sql_name: str
    est_rows: int
    bytes: int
    columns: tuple[Column, ...]
    #: The primary key's columns, in key order; empty without one.
    key: tuple[str, ...]
    #: Tables this one's foreign keys point to, as ``schema.name``.
    references: tuple[str, ...]
    #: Row-level security applies to the connected login: it would read only the rows its policies let it see.
    hidden_rows: bool = False

    @property
    def display(self) -> str:
        return f"{self.schema}.{self.name}"

    @property
    def copied(self) -> tuple[Column, ...]:
        """The columns COPY moves: generated ones are computed again by the target."""
        return tuple(column for column in self.columns if not column.generated)

    @property
    def binary(self) -> bool:
        return all(column.binary for column in self.copied)

    def column(self, name: str) -> Column | None:
        return next((column for column in self.columns if column.name == name), None)


@dataclass(frozen=True)
class SequenceRef:
    sql_name: str
    name: str


def parse_tables(rows: Sequence[Mapping[str, Any]]) -> dict[str, Table]:
    """``TABLES_QUERY``'s JSON, keyed by ``schema.name``."""
    tables: dict[str, Table] = {}
    for row in rows:
        table = Table(
            schema=str(row["schema"]),
            name=str(row["name"]),
            sql_name=str(row["sql_name"]),
            est_rows=int(row["est_rows"]),
            bytes=int(row["bytes"]),
            columns=tuple(
                Column(
                    name=str(c["name"]),
                    type=str(c["type"]),
                    generated=bool(c["generated"]),
                    identity=bool(c["identity"]),
                    binary=bool(c["binary"]),
                )
                for c in row["columns"]
            ),
            key=tuple(str(name) for name in row["key"]),
            references=tuple(str(name) for name in row["references"]),
            hidden_rows=bool(row["hidden_rows"]),
        )
        tables[table.display] = table
    return tables


@dataclass(frozen=True)
class Selection:
    """Which tables: every table of ``schemas``, plus ``include`` (``schema.table`` or ``schema.*``), minus
    ``exclude``; with ``include`` only, just those."""

    schemas: tuple[str, ...] = ("public",)
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    #: ``schemas`` was given by the caller (not the default): its tables are chosen along with ``include``.
    schemas_given: bool = False

    def all_schemas(self) -> list[str]:
        names = list(self.schemas)
        for pattern in self.include:
            schema, _ = split_pattern(pattern, "include")
            if schema not in names:
                names.append(schema)
        return names


def split_pattern(text: str, field_name: str) -> tuple[str, str | None]:
    """``schema.table`` or ``schema.*`` (``None`` for every table) or ``table`` (in public), as PostgreSQL reads
    names: unquoted parts fold to lower case, double-quoted ones are taken as written."""
    from dokploy_mcp.postgres.identifiers import parse_table_name

    stripped = text.strip()
    if stripped.endswith(".*"):
        schema, _, _, _ = parse_table_name(stripped[:-2] + ".x")
        if not stripped[:-2].strip().endswith('"'):
            schema = schema.lower()
        return schema, None
    try:
        schema, table, schema_quoted, table_quoted = parse_table_name(stripped)
    except InputError as exc:
        raise InputError(f"{field_name}: {exc}", field=field_name) from None
    return (schema if schema_quoted else schema.lower()), (table if table_quoted else table.lower())


def _matches(table: Table, patterns: Iterable[tuple[str, str | None]]) -> bool:
    return any(schema == table.schema and name in (None, table.name) for schema, name in patterns)


def choose(tables: Mapping[str, Table], selection: Selection) -> list[Table]:
    """The tables ``selection`` names, in a stable order; an include that names nothing is an error (a typo)."""
    include = [split_pattern(text, "include") for text in selection.include]
    exclude = [split_pattern(text, "exclude") for text in selection.exclude]
    for pattern, (schema, name) in zip(selection.include, include, strict=True):
        if name is not None and f"{schema}.{name}" not in tables:
            raise InputError(f"include names {pattern!r}, which is not a table of the source", field="include")
    whole = set(selection.schemas) if (selection.schemas_given or not include) else set()
    chosen = [
        table
        for table in tables.values()
        if (table.schema in whole or _matches(table, include)) and not _matches(table, exclude)
    ]
    return sorted(chosen, key=lambda table: table.display)


@dataclass
class Order:
    tables: list[Table]
    #: Groups of tables whose foreign keys form a cycle (no order satisfies them).
    cycles: list[list[str]] = field(default_factory=list)
    #: Tables with a foreign key to themselves.
    self_referencing: list[str] = field(default_factory=list)


def foreign_key_order(tables: Sequence[Table]) -> Order:
    """Referenced tables before the tables that reference them (only among ``tables``); the members of a cycle go
    last, in name order, and are reported."""
    names = {table.display: table for table in tables}
    waiting = {
        table.display: {ref for ref in table.references if ref in names and ref != table.display} for table in tables
    }
    ordered: list[Table] = []
    while True:
        ready = sorted(name for name, refs in waiting.items() if not refs)
        if not ready:
            break
        for name in ready:
            ordered.append(names[name])
            del waiting[name]
        for refs in waiting.values():
            refs.difference_update(ready)
    order = Order(tables=ordered)
    if waiting:
        order.cycles = [sorted(waiting)]
        order.tables.extend(names[name] for name in sorted(waiting))
    order.self_referencing = [table.display for table in tables if table.display in table.references]
    return order


def column_problems(source: Table, target: Table) -> list[str]:
    """Why ``source``'s rows cannot go into ``target`` as they are: a column missing there, or of another type, or
    computed there."""
    problems: list[str] = []
    for column in source.copied:
        other = target.column(column.name)
        if other is None:
            problems.append(f"column {column.name} ({column.type}) is missing on the target")
        elif other.generated:
            problems.append(f"column {column.name} is generated on the target, not on the source")
        elif other.type != column.type:
            problems.append(f"column {column.name} is {column.type} on the source but {other.type} on the target")
    return problems
