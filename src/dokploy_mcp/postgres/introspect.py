"""Read a database's schema: a compact overview of everything, full detail for the tables asked for.

Every introspection is ONE read-only ``SELECT`` without bind parameters that returns one row with one JSON
column, so it runs unchanged over both routes to a database. The domain functions take an :data:`Executor`
(statement in, rows as dicts out); :func:`database_executor` makes one from either route:

* the direct route, :class:`~dokploy_mcp.postgres.client.Database` (extended protocol, one statement per call);
* the pg-meta route (``PgMetaRoute``: one query, rows as JSON objects, no parameters). A bare
  ``KongGateway.pg_query`` fits :data:`Executor` as it is, without the read-only wrapper.

Names to filter on are validated here and embedded as quoted literals (:class:`psycopg.sql.Literal`). Every list
a query builds is capped with ``LIMIT`` and aggregated with ``json_agg``, so the whole answer is one value; the
queries pass :func:`dokploy_mcp.postgres.sqlguard.require_read_only`.

The overview keeps a whole database in a small context: one short line per table, view and function, with the
objects that belong to extensions left out (they are the extension's, not the application's).

Locks: the size functions and the ``pg_get_*def`` / ``pg_get_expr`` deparsers take ACCESS SHARE on the table, so
behind an ACCESS EXCLUSIVE lock held *or queued* (a migration's ALTER TABLE waiting for a long transaction) they
would wait until the statement timeout. Both queries read ``pg_locks`` first and skip those calls for such a
table: its line says ``locked`` instead of a size, its detail lists ``locked_by`` and leaves the definitions null.

Needs PostgreSQL 12 or later (``pg_partition_tree``, ``prokind``).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, Protocol

from pydantic import BaseModel, Field

from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres.errors import DatabaseQueryError

if TYPE_CHECKING:
    from dokploy_mcp.postgres.client import QueryResult

__all__ = [
    "MAX_DETAIL_TABLES",
    "ColumnInfo",
    "ConstraintInfo",
    "Executor",
    "IndexInfo",
    "PolicyInfo",
    "PublicationSummary",
    "SchemaOverview",
    "SchemaSummary",
    "StatementRunner",
    "TableDetail",
    "TriggerInfo",
    "database_executor",
    "details_query",
    "fetch_one_json",
    "names_query",
    "overview",
    "overview_query",
    "parse_table_name",
    "quote_literal",
    "table_details",
]

Executor = Callable[[str], Awaitable[list[dict[str, Any]]]]
"""Runs one SQL statement (no parameters) and returns its rows as ``{column: value}`` dicts."""

MAX_DETAIL_TABLES = 20
"""At most this many tables per :func:`table_details` call."""

_MAX_SCHEMAS = 200
_MAX_EXTENSIONS = 200
_MAX_PUBLICATIONS = 50
_MAX_PUBLICATION_TABLES = 500
_MAX_REFERENCED_BY = 50
_MAX_VIEW_DEFINITION = 4000
_MAX_NAMES_FOR_SUGGESTIONS = 5000
_NAMEDATALEN = 63

# Schemas that are PostgreSQL's own: pg_catalog, pg_toast, pg_temp_N... (users cannot create pg_* schemas).
_USER_SCHEMA = "n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'"
# ACCESS EXCLUSIVE locks held or queued in this database (a migration's ALTER TABLE, a REINDEX, a LOCK TABLE).
# Size functions and the pg_get_*def deparsers take ACCESS SHARE on the table, so they would wait behind such a
# lock until the statement times out: for a locked table they are skipped and the answer says so.
_XLOCKS = """xl AS (
  SELECT l.relation, l.pid FROM pg_catalog.pg_locks l
  WHERE l.locktype = 'relation' AND l.mode = 'AccessExclusiveLock' AND l.database =
        (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
)"""


def _lockers(oid: str) -> str:
    """xl rows of the relation ``oid`` or of one of its indexes."""
    return (
        f"SELECT xl.pid FROM xl WHERE xl.relation = {oid}"
        f" OR xl.relation IN (SELECT i.indexrelid FROM pg_catalog.pg_index i WHERE i.indrelid = {oid})"
    )


def _locked(oid: str, kind: str) -> str:
    """True when ``oid`` (or for a partitioned table, any member of its tree) is under an ACCESS EXCLUSIVE lock."""
    return (
        f"CASE WHEN {kind} = 'p' THEN EXISTS (SELECT 1 FROM pg_catalog.pg_partition_tree({oid}) pt"
        f" WHERE EXISTS ({_lockers('pt.relid')})) ELSE EXISTS ({_lockers(oid)}) END"
    )


_NOT_EXTENSION_MEMBER = (
    "NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = {catalog}::regclass"
    " AND d.objid = {oid} AND d.deptype = 'e')"
)


# -- the executor ----------------------------------------------------------------------------------------------


class StatementRunner(Protocol):
    """What both routes offer: :class:`~dokploy_mcp.postgres.client.Database` and pg-meta's ``PgMetaRoute``."""

    target: str

    async def execute(
        self,
        statement: str,
        params: Sequence[Any] | Mapping[str, Any] | None = None,
        *,
        read_only: bool = True,
        timeout_ms: int = 30_000,
        max_rows: int = 1_000,
        max_bytes: int = 1_000_000,
        role: str | None = None,
        local_settings: Mapping[str, str] | None = None,
    ) -> QueryResult: ...


def database_executor(
    db: StatementRunner,
    *,
    timeout_ms: int = 15_000,
    max_bytes: int = 20_000_000,
    role: str | None = None,
) -> Executor:
    """Adapt a :class:`Database` (or a pg-meta route) to an :data:`Executor`: read-only statements, rows as dicts.

    A result cut at ``max_bytes`` raises instead of handing back half an answer.
    """

    async def execute(statement: str) -> list[dict[str, Any]]:
        result = await db.execute(
            statement, read_only=True, timeout_ms=timeout_ms, max_rows=10_000, max_bytes=max_bytes, role=role
        )
        if result.truncated:
            raise DatabaseQueryError(
                f"the introspection answer is larger than the cap ({result.truncated_reason}): narrow the request",
                target=db.target,
                sqlstate=None,
            )
        names = [column.name for column in result.columns]
        return [dict(zip(names, row, strict=True)) for row in result.rows]

    return execute


def quote_literal(value: str) -> str:
    """``value`` as a SQL string literal, safe whatever ``standard_conforming_strings`` says."""
    if "\x00" in value:
        raise InputError("a name cannot contain a NUL character", field="name")
    from psycopg import sql  # here: tool modules import this one at start-up, psycopg is not needed until a call

    return sql.Literal(value).as_string()


async def fetch_one_json(execute: Executor, statement: str, column: str) -> Any:
    """Run a statement that answers one row and return its JSON column, decoded if it came as text."""
    rows = await execute(statement)
    if len(rows) != 1 or column not in rows[0]:
        raise DatabaseQueryError(
            f"expected one row with a {column!r} column, got {len(rows)} row(s)", target="introspection", sqlstate=None
        )
    value = rows[0][column]
    # pg-meta and psycopg both decode json columns; a route that does not hands over the text.
    return json.loads(value) if isinstance(value, str) else value


# -- models ----------------------------------------------------------------------------------------------------


class SchemaSummary(BaseModel):
    name: str
    owner: str | None
    tables: int = Field(description="tables, partitioned and foreign tables (partitions counted with their parent)")
    views: int = Field(description="views and materialized views")
    functions: int = Field(description="functions and procedures, without those of extensions")


class PublicationSummary(BaseModel):
    name: str
    all_tables: bool = Field(description="FOR ALL TABLES: every table is published, `tables` stays empty")
    operations: list[str] = Field(description="published operations: insert, update, delete, truncate")
    tables: list[str]
    tables_total: int


class SchemaOverview(BaseModel):
    """The whole database, compactly. Lines use quoted identifiers where PostgreSQL would need them."""

    database: str
    server_version: str
    schemas: list[SchemaSummary]
    tables: list[str] = Field(
        description=(
            "one line per table: `schema.table ~rows size rls=on|off|forced [pol=N] cols=N [fk->schema.table,...]`; "
            "`~?` = never analyzed; `locked` instead of the size = an ACCESS EXCLUSIVE lock is held or queued; "
            "`[partitioned parts=N]` / `[foreign]` mark other kinds"
        )
    )
    views: list[str] = Field(description="`schema.view view|matview cols=N [invoker]`")
    functions: list[str] = Field(description="`schema.name(args) -> result language [secdef]`")
    extensions: list[str] = Field(description="`name version @schema`")
    publications: list[PublicationSummary] = Field(description="logical replication; supabase_realtime feeds Realtime")
    schemas_total: int
    tables_total: int
    views_total: int
    functions_total: int
    schemas_truncated: bool
    tables_truncated: bool
    views_truncated: bool
    functions_truncated: bool


TableKind = Literal["table", "partitioned table", "foreign table", "view", "materialized view"]
PolicyCommand = Literal["ALL", "SELECT", "INSERT", "UPDATE", "DELETE"]
Identity = Literal["always", "by default"]

ConstraintType = Literal[
    "primary key", "foreign key", "unique", "check", "exclusion", "constraint trigger", "not null", "other"
]


class ColumnInfo(BaseModel):
    name: str
    type: str
    nullable: bool
    default: str | None = None
    identity: Identity | None = None
    generated: str | None = Field(default=None, description="the expression of a generated column")
    comment: str | None = None


class ConstraintInfo(BaseModel):
    name: str
    type: ConstraintType
    definition: str | None = Field(description="pg_get_constraintdef; null while the table is locked")


class IndexInfo(BaseModel):
    name: str
    definition: str | None = Field(description="pg_get_indexdef; null while the table is locked")
    primary: bool
    unique: bool
    valid: bool
    size_bytes: int | None


class TriggerInfo(BaseModel):
    name: str
    definition: str | None = Field(description="pg_get_triggerdef; null while the table is locked")
    enabled: bool


class PolicyInfo(BaseModel):
    name: str
    command: PolicyCommand
    permissive: bool
    roles: list[str]
    using: str | None
    with_check: str | None


class TableDetail(BaseModel):
    name: str = Field(description="schema.table, quoted where needed")
    schema_name: str
    table: str
    kind: TableKind
    owner: str | None
    comment: str | None
    row_estimate: int | None = Field(description="pg_class.reltuples; null when never analyzed")
    size: str | None
    size_bytes: int | None = Field(
        description="table, indexes and TOAST (all partitions for a partitioned table); null while locked"
    )
    rls_enabled: bool
    rls_forced: bool
    columns: list[ColumnInfo]
    constraints: list[ConstraintInfo]
    indexes: list[IndexInfo]
    triggers: list[TriggerInfo] = Field(description="user triggers (not the internal ones of foreign keys)")
    policies: list[PolicyInfo]
    publications: list[str]
    referenced_by: list[str] = Field(description="`schema.table (constraint)` of foreign keys pointing here")
    view_definition: str | None = None
    locked_by: list[int] = Field(
        default_factory=list,
        description="pids holding or queued for an ACCESS EXCLUSIVE lock on the table (e.g. a migration)",
    )
    note: str | None = None


# -- names -----------------------------------------------------------------------------------------------------


def parse_table_name(text: str) -> tuple[str, str, bool, bool]:
    """Split ``schema.table`` (or ``table``, meaning ``public``) into its parts.

    Double-quoted parts are taken literally (``"My.Table"``), unquoted ones may match case-insensitively.
    Returns ``(schema, table, schema_quoted, table_quoted)``.
    """
    parts: list[tuple[str, bool]] = []
    i, s = 0, text.strip()
    if not s:
        raise InputError("a table name is empty", field="tables")
    while True:
        if i < len(s) and s[i] == '"':
            j, chars = i + 1, []
            while True:
                if j >= len(s):
                    raise InputError(f"unclosed quote in table name {text!r}", field="tables")
                if s[j] == '"':
                    if j + 1 < len(s) and s[j + 1] == '"':
                        chars.append('"')
                        j += 2
                        continue
                    break
                chars.append(s[j])
                j += 1
            parts.append(("".join(chars), True))
            i = j + 1
        else:
            j = s.find(".", i)
            end = len(s) if j < 0 else j
            part = s[i:end].strip()
            if '"' in part:
                raise InputError(f"misplaced quote in table name {text!r}", field="tables")
            parts.append((part, False))
            i = end
        while i < len(s) and s[i] == " ":
            i += 1
        if i >= len(s):
            break
        if s[i] != ".":
            raise InputError(f"cannot read table name {text!r}: expected schema.table", field="tables")
        i += 1
        while i < len(s) and s[i] == " ":
            i += 1
    if len(parts) > 2:
        raise InputError(f"table name {text!r} has more than two parts: use schema.table", field="tables")
    for part, _ in parts:
        if not part:
            raise InputError(f"table name {text!r} has an empty part", field="tables")
        if "\x00" in part:
            raise InputError("a table name cannot contain a NUL character", field="tables")
        if len(part.encode()) > _NAMEDATALEN:
            raise InputError(f"{part[:20]!r}... is longer than PostgreSQL's 63-byte names", field="tables")
    if len(parts) == 1:
        return "public", parts[0][0], False, parts[0][1]
    (schema, schema_quoted), (table, table_quoted) = parts
    return schema, table, schema_quoted, table_quoted


def _validate_schema_names(schemas: Iterable[str]) -> list[str]:
    names = []
    for name in schemas:
        if not name or "\x00" in name or len(name.encode()) > _NAMEDATALEN:
            raise InputError(f"{name[:70]!r} is not a schema name (1 to 63 bytes, no NUL)", field="schemas")
        names.append(name)
    return names


def _display_name(schema: str, table: str) -> str:
    return f"{_ident(schema)}.{_ident(table)}"


_SAFE_FIRST = frozenset("abcdefghijklmnopqrstuvwxyz_")
_SAFE_REST = _SAFE_FIRST | frozenset("0123456789")


def _ident(name: str) -> str:
    # Like PostgreSQL's quote_ident, minus its keyword check: enough to show a name unambiguously.
    if name and name[0] in _SAFE_FIRST and all(c in _SAFE_REST for c in name):
        return name
    return '"' + name.replace('"', '""') + '"'


# -- formatting ------------------------------------------------------------------------------------------------


def _human_size(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f}{unit}" if unit == "B" or value >= 10 else f"{value:.1f}{unit}".replace(".0", "")
        value /= 1024
    raise AssertionError("unreachable")


def _human_count(count: int | None) -> str:
    if count is None:
        return "?"
    value = float(count)
    for unit in ("", "k", "M", "G"):
        if value < 1000 or unit == "G":
            return f"{value:.0f}{unit}" if unit == "" or value >= 10 else f"{value:.1f}{unit}".replace(".0", "")
        value /= 1000
    raise AssertionError("unreachable")


def _table_line(row: dict[str, Any]) -> str:
    kind = row["kind"]
    line = [row["name"]]
    if kind == "p":
        line.append(f"[partitioned parts={row['parts']}]")
    elif kind == "f":
        line.append("[foreign]")
    line.append(f"~{_human_count(row['rows'])}")
    line.append("locked" if row["locked"] else _human_size(int(row["size"] or 0)))
    line.append("rls=" + ("forced" if row["rls"] and row["force"] else "on" if row["rls"] else "off"))
    if row["rls"] or row["pol"]:
        line.append(f"pol={row['pol']}")
    line.append(f"cols={row['cols']}")
    if row["fk"]:
        line.append("fk->" + ",".join(row["fk"]))
    return " ".join(line)


def _view_line(row: dict[str, Any]) -> str:
    line = [row["name"], "matview" if row["kind"] == "m" else "view"]
    if row["kind"] == "m":
        line += [f"~{_human_count(row['rows'])}", "locked" if row["locked"] else _human_size(int(row["size"] or 0))]
    line.append(f"cols={row['cols']}")
    options = {str(o).split("=", 1)[0]: str(o).split("=", 1)[-1].lower() for o in row["options"] or []}
    if options.get("security_invoker") in {"true", "on", "yes", "1"}:
        line.append("invoker")
    return " ".join(line)


def _function_line(row: dict[str, Any]) -> str:
    head = f"{row['name']}({row['args']})"
    result = "procedure" if row["kind"] == "p" else f"-> {row['result']}"
    return f"{head} {result} {row['lang']}" + (" secdef" if row["secdef"] else "")


# -- overview --------------------------------------------------------------------------------------------------


def overview_query(schemas: list[str] | None, *, max_tables: int, max_functions: int) -> str:
    """The single SELECT behind :func:`overview` (one row, one json column ``overview``)."""
    schema_filter = ""
    if schemas is not None:
        schema_filter = " AND n.nspname IN (" + ", ".join(quote_literal(s) for s in schemas) + ")"
    not_rel_ext = _NOT_EXTENSION_MEMBER.format(catalog="'pg_catalog.pg_class'", oid="c.oid")
    not_proc_ext = _NOT_EXTENSION_MEMBER.format(catalog="'pg_catalog.pg_proc'", oid="p.oid")
    return f"""
WITH {_XLOCKS}, ns AS (
  SELECT n.oid, n.nspname, pg_catalog.pg_get_userbyid(n.nspowner) AS owner
  FROM pg_catalog.pg_namespace n
  WHERE {_USER_SCHEMA}{schema_filter}
), rel AS (
  SELECT c.oid, ns.nspname, c.relname, c.relkind, c.reltuples, c.relrowsecurity, c.relforcerowsecurity,
         c.reloptions, pg_catalog.format('%I.%I', ns.nspname, c.relname) AS qname
  FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace
  WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND NOT c.relispartition AND {not_rel_ext}
), fn AS (
  SELECT p.oid, ns.nspname, p.proname, p.prokind, p.prosecdef, l.lanname
  FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace JOIN pg_catalog.pg_language l ON l.oid = p.prolang
  WHERE p.prokind IN ('f', 'p') AND {not_proc_ext}
), tbl AS (
  SELECT r.*, {_locked("r.oid", "r.relkind")} AS locked
  FROM (SELECT * FROM rel WHERE relkind IN ('r', 'p', 'f') ORDER BY nspname, relname LIMIT {int(max_tables)}) r
), vw AS (
  SELECT r.*, {_locked("r.oid", "r.relkind")} AS locked
  FROM (SELECT * FROM rel WHERE relkind IN ('v', 'm') ORDER BY nspname, relname LIMIT {int(max_tables)}) r
), fnl AS (
  SELECT * FROM fn ORDER BY nspname, proname, oid LIMIT {int(max_functions)}
)
SELECT pg_catalog.json_build_object(
  'database', pg_catalog.current_database(),
  'server_version', pg_catalog.current_setting('server_version'),
  'all_schemas', (SELECT pg_catalog.json_agg(n.nspname ORDER BY n.nspname)
                  FROM (SELECT n.nspname FROM pg_catalog.pg_namespace n WHERE {_USER_SCHEMA}
                        ORDER BY 1 LIMIT {_MAX_NAMES_FOR_SUGGESTIONS}) n),
  'schemas_total', (SELECT count(*) FROM ns),
  'schemas', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', s.nspname, 'owner', s.owner,
      'tables', (SELECT count(*) FROM rel WHERE rel.nspname = s.nspname AND rel.relkind IN ('r', 'p', 'f')),
      'views', (SELECT count(*) FROM rel WHERE rel.nspname = s.nspname AND rel.relkind IN ('v', 'm')),
      'functions', (SELECT count(*) FROM fn WHERE fn.nspname = s.nspname)) ORDER BY s.nspname)
    FROM (SELECT * FROM ns ORDER BY nspname LIMIT {_MAX_SCHEMAS}) s),
  'tables_total', (SELECT count(*) FROM rel WHERE relkind IN ('r', 'p', 'f')),
  'tables', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', t.qname, 'kind', t.relkind,
      'rows', CASE WHEN t.relkind = 'p' THEN
                (SELECT sum(pc.reltuples)::bigint FROM pg_catalog.pg_partition_tree(t.oid) pt
                 JOIN pg_catalog.pg_class pc ON pc.oid = pt.relid WHERE pt.isleaf AND pc.reltuples >= 0)
              WHEN t.reltuples < 0 THEN NULL ELSE t.reltuples::bigint END,
      'size', CASE WHEN t.locked THEN NULL WHEN t.relkind = 'f' THEN 0 WHEN t.relkind = 'p' THEN
                (SELECT sum(pg_catalog.pg_total_relation_size(pt.relid))::bigint
                 FROM pg_catalog.pg_partition_tree(t.oid) pt)
              ELSE pg_catalog.pg_total_relation_size(t.oid) END,
      'parts', CASE WHEN t.relkind = 'p' THEN
                 (SELECT count(*) FROM pg_catalog.pg_partition_tree(t.oid) pt WHERE pt.isleaf) END,
      'locked', t.locked, 'rls', t.relrowsecurity, 'force', t.relforcerowsecurity,
      'pol', (SELECT count(*) FROM pg_catalog.pg_policy po WHERE po.polrelid = t.oid),
      'cols', (SELECT count(*) FROM pg_catalog.pg_attribute a
               WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped),
      'fk', (SELECT pg_catalog.json_agg(DISTINCT pg_catalog.format('%I.%I', fn2.nspname, fc.relname))
             FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class fc ON fc.oid = k.confrelid
             JOIN pg_catalog.pg_namespace fn2 ON fn2.oid = fc.relnamespace
             WHERE k.conrelid = t.oid AND k.contype = 'f')
    ) ORDER BY t.nspname, t.relname) FROM tbl t),
  'views_total', (SELECT count(*) FROM rel WHERE relkind IN ('v', 'm')),
  'views', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', v.qname, 'kind', v.relkind, 'options', v.reloptions,
      'rows', CASE WHEN v.reltuples < 0 THEN NULL ELSE v.reltuples::bigint END,
      'locked', v.locked,
      'size', CASE WHEN v.relkind = 'm' AND NOT v.locked THEN pg_catalog.pg_total_relation_size(v.oid) END,
      'cols', (SELECT count(*) FROM pg_catalog.pg_attribute a
               WHERE a.attrelid = v.oid AND a.attnum > 0 AND NOT a.attisdropped)
    ) ORDER BY v.nspname, v.relname) FROM vw v),
  'functions_total', (SELECT count(*) FROM fn),
  'functions', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', pg_catalog.format('%I.%I', f.nspname, f.proname), 'kind', f.prokind,
      'args', pg_catalog.pg_get_function_identity_arguments(f.oid),
      'result', pg_catalog.pg_get_function_result(f.oid), 'lang', f.lanname, 'secdef', f.prosecdef
    ) ORDER BY f.nspname, f.proname, f.oid) FROM fnl f),
  'extensions', (SELECT pg_catalog.json_agg(e.line ORDER BY e.line)
    FROM (SELECT e.extname || ' ' || e.extversion || ' @' || en.nspname AS line
          FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace en ON en.oid = e.extnamespace
          ORDER BY e.extname LIMIT {_MAX_EXTENSIONS}) e),
  'publications', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', p.pubname, 'all_tables', p.puballtables,
      'operations', pg_catalog.json_build_array(
          CASE WHEN p.pubinsert THEN 'insert' END, CASE WHEN p.pubupdate THEN 'update' END,
          CASE WHEN p.pubdelete THEN 'delete' END, CASE WHEN p.pubtruncate THEN 'truncate' END),
      'tables', CASE WHEN p.puballtables THEN NULL ELSE
          (SELECT pg_catalog.json_agg(x.t ORDER BY x.t)
           FROM (SELECT pg_catalog.format('%I.%I', pt.schemaname, pt.tablename) AS t
                 FROM pg_catalog.pg_publication_tables pt WHERE pt.pubname = p.pubname
                 ORDER BY 1 LIMIT {_MAX_PUBLICATION_TABLES}) x) END,
      'tables_total', (SELECT count(*) FROM pg_catalog.pg_publication_tables pt WHERE pt.pubname = p.pubname)
    ) ORDER BY p.pubname)
    FROM (SELECT * FROM pg_catalog.pg_publication ORDER BY pubname LIMIT {_MAX_PUBLICATIONS}) p)
) AS overview
"""


async def overview(
    execute: Executor,
    *,
    schemas: list[str] | None = None,
    max_tables: int = 300,
    max_functions: int = 300,
) -> SchemaOverview:
    """The compact overview of ``schemas`` (default: every schema but PostgreSQL's own).

    ``max_tables`` caps the table lines and, separately, the view lines; ``max_functions`` the function lines.
    Objects that belong to an extension are left out. Raises :class:`InputError` for a schema that does not exist.
    """
    if max_tables < 1 or max_tables > 5000:
        raise InputError("max_tables must be between 1 and 5000", field="max_tables")
    if max_functions < 0 or max_functions > 5000:
        raise InputError("max_functions must be between 0 and 5000", field="max_functions")
    wanted = None if schemas is None else _validate_schema_names(dict.fromkeys(schemas))
    if wanted is not None and not wanted:
        raise InputError("schemas is empty: leave it out to see every schema", field="schemas")
    data = await fetch_one_json(
        execute, overview_query(wanted, max_tables=max_tables, max_functions=max_functions), "overview"
    )
    existing = data["all_schemas"] or []
    missing = [s for s in wanted or [] if s not in existing]
    if missing:
        raise InputError(
            "unknown schema(s): " + "; ".join(_with_suggestions(s, existing) for s in missing), field="schemas"
        )
    tables = data["tables"] or []
    views = data["views"] or []
    functions = data["functions"] or []
    schema_rows = data["schemas"] or []
    return SchemaOverview(
        database=data["database"],
        server_version=data["server_version"],
        schemas=[SchemaSummary.model_validate(row) for row in schema_rows],
        tables=[_table_line(row) for row in tables],
        views=[_view_line(row) for row in views],
        functions=[_function_line(row) for row in functions],
        extensions=data["extensions"] or [],
        publications=[
            PublicationSummary(
                name=row["name"],
                all_tables=row["all_tables"],
                operations=[op for op in row["operations"] if op],
                tables=row["tables"] or [],
                tables_total=row["tables_total"],
            )
            for row in data["publications"] or []
        ],
        schemas_total=data["schemas_total"],
        tables_total=data["tables_total"],
        views_total=data["views_total"],
        functions_total=data["functions_total"],
        schemas_truncated=len(schema_rows) < data["schemas_total"],
        tables_truncated=len(tables) < data["tables_total"],
        views_truncated=len(views) < data["views_total"],
        functions_truncated=len(functions) < data["functions_total"],
    )


def _with_suggestions(name: str, candidates: list[str]) -> str:
    lowered = {c.lower(): c for c in candidates}
    close = [lowered[m] for m in difflib.get_close_matches(name.lower(), list(lowered), n=5, cutoff=0.6)]
    return f"{name} (did you mean {', '.join(close)}?)" if close else name


# -- table details ---------------------------------------------------------------------------------------------

_KINDS: dict[str, TableKind] = {
    "r": "table",
    "p": "partitioned table",
    "f": "foreign table",
    "v": "view",
    "m": "materialized view",
}
_CONSTRAINT_TYPES: dict[str, ConstraintType] = {
    "p": "primary key",
    "f": "foreign key",
    "u": "unique",
    "c": "check",
    "x": "exclusion",
    "t": "constraint trigger",
    "n": "not null",
}
_IDENTITIES: dict[str, Identity] = {"a": "always", "d": "by default"}
_COMMANDS: dict[str, PolicyCommand] = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}


def details_query(names: list[tuple[str, str]]) -> str:
    """The single SELECT behind :func:`table_details` (one row, one json column ``details``).

    It matches names case-insensitively; :func:`table_details` then keeps the exact matches where they exist.
    """
    values = ", ".join(f"({quote_literal(s)}, {quote_literal(t)})" for s, t in names)
    return f"""
WITH {_XLOCKS}, req(s, t) AS (VALUES {values}),
found AS (
  SELECT DISTINCT c.oid, n.nspname, c.relname, c.relkind
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN req ON lower(n.nspname) = lower(req.s) AND lower(c.relname) = lower(req.t)
  WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm')
  ORDER BY n.nspname, c.relname LIMIT {4 * MAX_DETAIL_TABLES}
), rel AS (
  SELECT f.*, {_locked("f.oid", "f.relkind")} AS locked FROM found f
)
SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
  'schema', rel.nspname, 'table', rel.relname, 'name', pg_catalog.format('%I.%I', rel.nspname, rel.relname),
  'kind', c.relkind, 'owner', pg_catalog.pg_get_userbyid(c.relowner),
  'comment', pg_catalog.obj_description(c.oid, 'pg_class'),
  'rows', CASE WHEN c.relkind = 'p' THEN
            (SELECT sum(pc.reltuples)::bigint FROM pg_catalog.pg_partition_tree(c.oid) pt
             JOIN pg_catalog.pg_class pc ON pc.oid = pt.relid WHERE pt.isleaf AND pc.reltuples >= 0)
          WHEN c.reltuples < 0 OR c.relkind IN ('v', 'f') THEN NULL ELSE c.reltuples::bigint END,
  'locked_by', CASE WHEN rel.locked THEN (SELECT pg_catalog.json_agg(DISTINCT x.pid) FROM (
      SELECT pid FROM ({_lockers("c.oid")}) l
      UNION ALL SELECT xl.pid FROM pg_catalog.pg_partition_tree(c.oid) pt JOIN xl ON xl.relation = pt.relid) x) END,
  'size', CASE WHEN rel.locked THEN NULL WHEN c.relkind IN ('v', 'f') THEN 0 WHEN c.relkind = 'p' THEN
            (SELECT sum(pg_catalog.pg_total_relation_size(pt.relid))::bigint
             FROM pg_catalog.pg_partition_tree(c.oid) pt)
          ELSE pg_catalog.pg_total_relation_size(c.oid) END,
  'rls', c.relrowsecurity, 'force', c.relforcerowsecurity,
  'columns', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', a.attname, 'type', pg_catalog.format_type(a.atttypid, a.atttypmod), 'notnull', a.attnotnull,
      'default', CASE WHEN NOT rel.locked THEN pg_catalog.pg_get_expr(d.adbin, d.adrelid) END,
      'identity', a.attidentity,
      'generated', a.attgenerated, 'comment', pg_catalog.col_description(c.oid, a.attnum)) ORDER BY a.attnum)
    FROM pg_catalog.pg_attribute a
    LEFT JOIN pg_catalog.pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),
  'constraints', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', k.conname, 'type', k.contype,
      'definition', CASE WHEN NOT rel.locked THEN pg_catalog.pg_get_constraintdef(k.oid) END)
      ORDER BY k.contype = 'p' DESC, k.conname)
    FROM pg_catalog.pg_constraint k WHERE k.conrelid = c.oid),
  'indexes', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', ic.relname, 'definition', CASE WHEN NOT rel.locked THEN pg_catalog.pg_get_indexdef(i.indexrelid) END,
      'primary', i.indisprimary, 'unique', i.indisunique, 'valid', i.indisvalid,
      'size_bytes', CASE WHEN NOT rel.locked THEN pg_catalog.pg_relation_size(i.indexrelid) END)
      ORDER BY i.indisprimary DESC, ic.relname)
    FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class ic ON ic.oid = i.indexrelid WHERE i.indrelid = c.oid),
  'triggers', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', tg.tgname, 'definition', CASE WHEN NOT rel.locked THEN pg_catalog.pg_get_triggerdef(tg.oid) END,
      'enabled', tg.tgenabled <> 'D')
      ORDER BY tg.tgname)
    FROM pg_catalog.pg_trigger tg WHERE tg.tgrelid = c.oid AND NOT tg.tgisinternal),
  'policies', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'name', po.polname, 'command', po.polcmd, 'permissive', po.polpermissive,
      'roles', (SELECT pg_catalog.json_agg(CASE WHEN r.oid = 0 THEN 'public'
                                             ELSE coalesce(ro.rolname::text, r.oid::text) END ORDER BY r.ord)
                FROM unnest(po.polroles) WITH ORDINALITY AS r(oid, ord)
                LEFT JOIN pg_catalog.pg_roles ro ON ro.oid = r.oid),
      'using', CASE WHEN NOT rel.locked THEN pg_catalog.pg_get_expr(po.polqual, po.polrelid) END,
      'with_check', CASE WHEN NOT rel.locked THEN pg_catalog.pg_get_expr(po.polwithcheck, po.polrelid) END)
      ORDER BY po.polname)
    FROM pg_catalog.pg_policy po WHERE po.polrelid = c.oid),
  'publications', (SELECT pg_catalog.json_agg(pt.pubname ORDER BY pt.pubname)
    FROM pg_catalog.pg_publication_tables pt WHERE pt.schemaname = rel.nspname AND pt.tablename = rel.relname),
  'referenced_by', (SELECT pg_catalog.json_agg(x.ref ORDER BY x.ref)
    FROM (SELECT pg_catalog.format('%I.%I', rn.nspname, rc.relname) || ' (' || k.conname || ')' AS ref
          FROM pg_catalog.pg_constraint k JOIN pg_catalog.pg_class rc ON rc.oid = k.conrelid
          JOIN pg_catalog.pg_namespace rn ON rn.oid = rc.relnamespace
          WHERE k.confrelid = c.oid AND k.contype = 'f'
          ORDER BY 1 LIMIT {_MAX_REFERENCED_BY}) x),
  'view_definition', CASE WHEN c.relkind IN ('v', 'm') AND NOT rel.locked
                     THEN left(pg_catalog.pg_get_viewdef(c.oid), {_MAX_VIEW_DEFINITION}) END
) ORDER BY rel.nspname, rel.relname) AS details
FROM rel JOIN pg_catalog.pg_class c ON c.oid = rel.oid
"""


def names_query() -> str:
    """Every table and view name outside PostgreSQL's schemas (bounded), for suggestions."""
    return f"""
SELECT pg_catalog.json_agg(x.name ORDER BY x.name) AS names
FROM (SELECT pg_catalog.format('%I.%I', n.nspname, c.relname) AS name
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
      WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND {_USER_SCHEMA}
      ORDER BY 1 LIMIT {_MAX_NAMES_FOR_SUGGESTIONS}) x
"""


async def table_details(execute: Executor, tables: list[str]) -> list[TableDetail]:
    """Full detail of each named table or view (``schema.table``, or ``table`` for ``public.table``).

    Unquoted names match case-insensitively when there is no exact match; ``"Quoted"`` parts match exactly.
    Raises :class:`InputError` for an unknown or ambiguous name, listing the close matches.
    """
    if not tables:
        raise InputError("name at least one table", field="tables")
    if len(tables) > MAX_DETAIL_TABLES:
        raise InputError(f"at most {MAX_DETAIL_TABLES} tables per call; got {len(tables)}", field="tables")
    requests = [parse_table_name(t) for t in tables]
    found = await fetch_one_json(execute, details_query([(s, t) for s, t, _, _ in requests]), "details") or []
    chosen: list[dict[str, Any]] = []
    problems: list[str] = []
    for (schema, table, schema_quoted, table_quoted), text in zip(requests, tables, strict=True):
        candidates = [
            d
            for d in found
            if _part_matches(d["schema"], schema, schema_quoted) and _part_matches(d["table"], table, table_quoted)
        ]
        exact = [d for d in candidates if d["schema"] == schema and d["table"] == table]
        if exact:
            candidates = exact
        if len(candidates) == 1:
            if candidates[0] not in chosen:
                chosen.append(candidates[0])
        elif candidates:
            names = ", ".join(d["name"] for d in candidates)
            problems.append(f"{text.strip()} is ambiguous ({names}): quote the exact name")
        else:
            problems.append(text.strip())
    if problems:
        known = await fetch_one_json(execute, names_query(), "names") or []
        raise InputError("unknown table(s): " + "; ".join(_suggest_table(p, known) for p in problems), field="tables")
    return [_detail(row) for row in chosen]


def _part_matches(actual: str, wanted: str, quoted: bool) -> bool:
    return actual == wanted or (not quoted and actual.lower() == wanted.lower())


def _suggest_table(text: str, known: list[str]) -> str:
    if " is ambiguous " in text:
        return text
    schema, table, _, _ = parse_table_name(text)
    wanted = _display_name(schema, table)
    lowered = {k.lower(): k for k in known}
    close = [lowered[m] for m in difflib.get_close_matches(wanted.lower(), list(lowered), n=5, cutoff=0.6)]
    # The same table name in another schema is the likeliest mistake of all.
    same_name = [k for k in known if parse_table_name(k)[1].lower() == table.lower()]
    suggestions = list(dict.fromkeys(same_name + close))[:5]
    return f"{wanted} (did you mean {', '.join(suggestions)}?)" if suggestions else f"{wanted} (no close match)"


def _detail(row: dict[str, Any]) -> TableDetail:
    size = None if row["size"] is None else int(row["size"])
    locked_by = sorted(row["locked_by"] or [])
    note = None
    if row["locked_by"] is not None:
        note = (
            f"pid(s) {', '.join(map(str, locked_by))} hold or wait for an ACCESS EXCLUSIVE lock on this table (a "
            "migration, REINDEX or LOCK TABLE): size, defaults and the definitions of constraints, indexes, triggers, "
            "policies and views were not read, reading them would wait for the lock. Retry when it is released; "
            "monitor_connections shows what blocks what."
        )
    columns = []
    for col in row["columns"] or []:
        generated = col["generated"] or ""
        columns.append(
            ColumnInfo(
                name=col["name"],
                type=col["type"],
                nullable=not col["notnull"],
                default=None if generated else col["default"],
                identity=_IDENTITIES.get(col["identity"] or ""),
                generated=(col["default"] or "(not read: table locked)") if generated else None,
                comment=col["comment"],
            )
        )
    return TableDetail(
        name=row["name"],
        schema_name=row["schema"],
        table=row["table"],
        kind=_KINDS[row["kind"]],
        owner=row["owner"],
        comment=row["comment"],
        row_estimate=row["rows"],
        size=None if size is None else _human_size(size),
        size_bytes=size,
        rls_enabled=row["rls"],
        rls_forced=row["force"],
        columns=columns,
        constraints=[
            ConstraintInfo(name=k["name"], type=_CONSTRAINT_TYPES.get(k["type"], "other"), definition=k["definition"])
            for k in row["constraints"] or []
        ],
        indexes=[IndexInfo.model_validate(i) for i in row["indexes"] or []],
        triggers=[TriggerInfo.model_validate(t) for t in row["triggers"] or []],
        policies=[
            PolicyInfo(
                name=p["name"],
                command=_COMMANDS[p["command"]],
                permissive=p["permissive"],
                roles=p["roles"] or [],
                using=p["using"],
                with_check=p["with_check"],
            )
            for p in row["policies"] or []
        ],
        publications=row["publications"] or [],
        referenced_by=row["referenced_by"] or [],
        view_definition=row["view_definition"],
        locked_by=locked_by,
        note=note,
    )
