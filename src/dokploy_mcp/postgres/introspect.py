"""Read a database's schema: a compact overview of everything, full detail for the tables asked for.

Every introspection is ONE read-only ``SELECT`` without bind parameters that returns one row with one JSON
column, so it runs unchanged over both routes to a database. The domain functions take an :data:`Executor`
(statement in, rows as dicts out); :func:`database_executor` makes one from either route:

* the direct route, :class:`~dokploy_mcp.postgres.client.Database` (extended protocol, one statement per call);
* the pg-meta route (``PgMetaRoute``: one query, rows as JSON objects, no parameters). A bare
  ``KongGateway.pg_query`` fits :data:`Executor` as it is, without the read-only wrapper.

Names to filter on are validated (:mod:`~dokploy_mcp.postgres.identifiers`) and embedded as quoted literals in the
queries (:mod:`~dokploy_mcp.postgres.schema_queries`): every list a query builds is capped with ``LIMIT`` and
aggregated with ``json_agg``, so the whole answer is one value; the queries pass
:func:`dokploy_mcp.postgres.sqlguard.require_read_only`. The answers are read into the models of
:mod:`~dokploy_mcp.postgres.schema_models`.

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
from collections.abc import Awaitable, Callable
from typing import Any

from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres.errors import DatabaseQueryError
from dokploy_mcp.postgres.identifiers import display_name, parse_table_name, validate_schema_names
from dokploy_mcp.postgres.schema_models import (
    ColumnInfo,
    ConstraintInfo,
    ConstraintType,
    Identity,
    IndexInfo,
    PolicyCommand,
    PolicyInfo,
    PublicationSummary,
    SchemaOverview,
    SchemaSummary,
    TableDetail,
    TableKind,
    TriggerInfo,
)
from dokploy_mcp.postgres.schema_queries import MAX_DETAIL_TABLES, details_query, names_query, overview_query
from dokploy_mcp.postgres.statement import StatementRunner

__all__ = ["Executor", "database_executor", "fetch_one_json", "overview", "table_details"]

Executor = Callable[[str], Awaitable[list[dict[str, Any]]]]
"""Runs one SQL statement (no parameters) and returns its rows as ``{column: value}`` dicts."""


# -- the executor ----------------------------------------------------------------------------------------------


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
    wanted = None if schemas is None else validate_schema_names(dict.fromkeys(schemas))
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
_POLICY_COMMANDS: dict[str, PolicyCommand] = {"*": "ALL", "r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE"}


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
    wanted = display_name(schema, table)
    lowered = {k.lower(): k for k in known}
    close = [lowered[m] for m in difflib.get_close_matches(wanted.lower(), list(lowered), n=5, cutoff=0.6)]
    # The same table name in another schema is the likeliest mistake of all.
    same_name = [k for k in known if parse_table_name(k)[1].lower() == table.lower()]
    suggestions = list(dict.fromkeys(same_name + close))[:5]
    return f"{wanted} (did you mean {', '.join(suggestions)}?)" if suggestions else f"{wanted} (no close match)"


def _detail(row: dict[str, Any]) -> TableDetail:
    size = None if row["size"] is None else int(row["size"])
    locked_by = sorted(row["locked_by"] or [])
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
        columns=[_column(col) for col in row["columns"] or []],
        constraints=[
            ConstraintInfo(name=k["name"], type=_CONSTRAINT_TYPES.get(k["type"], "other"), definition=k["definition"])
            for k in row["constraints"] or []
        ],
        indexes=[IndexInfo.model_validate(i) for i in row["indexes"] or []],
        triggers=[TriggerInfo.model_validate(t) for t in row["triggers"] or []],
        policies=[_policy(p) for p in row["policies"] or []],
        publications=row["publications"] or [],
        referenced_by=row["referenced_by"] or [],
        view_definition=row["view_definition"],
        locked_by=locked_by,
        note=None if row["locked_by"] is None else _locked_note(locked_by),
    )


def _locked_note(locked_by: list[int]) -> str:
    return (
        f"pid(s) {', '.join(map(str, locked_by))} hold or wait for an ACCESS EXCLUSIVE lock on this table (a "
        "migration, REINDEX or LOCK TABLE): size, defaults and the definitions of constraints, indexes, triggers, "
        "policies and views were not read, reading them would wait for the lock. Retry when it is released; "
        "monitor_connections shows what blocks what."
    )


def _column(col: dict[str, Any]) -> ColumnInfo:
    generated = col["generated"] or ""
    return ColumnInfo(
        name=col["name"],
        type=col["type"],
        nullable=not col["notnull"],
        default=None if generated else col["default"],
        identity=_IDENTITIES.get(col["identity"] or ""),
        generated=(col["default"] or "(not read: table locked)") if generated else None,
        comment=col["comment"],
    )


def _policy(policy: dict[str, Any]) -> PolicyInfo:
    return PolicyInfo(
        name=policy["name"],
        command=_POLICY_COMMANDS[policy["command"]],
        permissive=policy["permissive"],
        roles=policy["roles"] or [],
        using=policy["using"],
        with_check=policy["with_check"],
    )
