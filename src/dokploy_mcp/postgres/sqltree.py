"""Walk one statement's parse tree and say what it does: why it is not read-only, why it is destructive, whether it
returns rows, which SQL command it is.

The rules are :mod:`dokploy_mcp.postgres.sqlguard`'s contract (its docstring); the tables they use live in
:mod:`dokploy_mcp.postgres.sqlrules`. Nodes are pglast's: this module, :mod:`~dokploy_mcp.postgres.sqlguard` and
:mod:`~dokploy_mcp.postgres.pgmeta_route` import pglast at the top, and the service layer imports them when the first
statement is checked (``services.database``), so start-up does not pay for the parser.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

from pglast import ast, enums

from dokploy_mcp.postgres.sqlrules import COMMANDS, DML, WHY, WHY_BY_PREFIX, call_refusal, function_refusal

__all__ = ["command", "destructive_reasons", "read_only_reasons", "returns_rows", "walk"]


# -- read-only -----------------------------------------------------------------------------------------------


def returns_rows(stmt: Any) -> bool | None:
    """Whether the statement answers rows; None when that depends on what it runs (EXECUTE, CALL)."""
    kind = type(stmt).__name__
    if kind == "SelectStmt":
        return stmt.intoClause is None
    if kind in ("ExplainStmt", "VariableShowStmt"):
        return True
    if kind in DML:
        return _returning(stmt) is not None
    if kind == "FetchStmt":
        return not stmt.ismove
    if kind in ("ExecuteStmt", "CallStmt"):
        return None
    return False


def _returning(stmt: Any) -> Any:
    clause = getattr(stmt, "returningClause", None)
    if clause is not None:
        return clause
    return getattr(stmt, "returningList", None) or None


def read_only_reasons(stmt: Any) -> list[str]:
    """Why the statement is not read-only; empty when the tree proves it is."""
    kind = type(stmt).__name__
    if kind == "SelectStmt":
        return _tree_reasons(stmt)
    if kind == "VariableShowStmt":
        return []
    if kind == "ExplainStmt":
        inner = stmt.query
        if type(inner).__name__ != "SelectStmt":
            verb = "EXPLAIN ANALYZE" if _explain_analyzes(stmt) else "EXPLAIN"
            runs = " runs it:" if verb == "EXPLAIN ANALYZE" else ":"
            return [f"{verb} of {command(inner)}{runs} only EXPLAIN of a SELECT is read-only"]
        return _tree_reasons(inner)
    return [_statement_reason(stmt)]


def _statement_reason(stmt: Any) -> str:
    kind = type(stmt).__name__
    name = command(stmt)
    if kind == "CopyStmt":
        target = "PROGRAM " if stmt.is_program else ""
        if stmt.is_from:
            return f"COPY FROM {target}writes rows" + (" and runs a program on the server" if target else "")
        if stmt.is_program:
            return "COPY TO PROGRAM runs a program on the server"
        if stmt.filename:
            return "COPY TO a file writes a file on the server"
        return "COPY is not a query: use SELECT"
    if kind == "VariableSetStmt":
        setting = (stmt.name or "").lower()
        if setting in ("role", "session_authorization"):
            return f"{name} switches the role"
        if setting.startswith("transaction") or setting == "session characteristics":
            return f"{name} changes the transaction's mode"
        return f"{name} changes session settings"
    if kind == "VacuumStmt":
        return f"{name} {WHY[kind]}"
    why = WHY.get(kind)
    if why is None:
        why = next((text for prefix, text in WHY_BY_PREFIX if kind.startswith(prefix)), "is not a read-only query")
    return f"{name} {why}"


def _tree_reasons(root: Any) -> list[str]:
    """Reasons why a SELECT tree is not read-only: INTO, locking, writing WITH, refused calls."""
    reasons: list[str] = []
    # Queries of WITH clauses, judged as such (the WITH names them) rather than again as nested statements.
    cte_queries: set[int] = set()
    for node in walk(root):
        reasons.extend(_node_reasons(node, cte_queries))
    return list(dict.fromkeys(reasons))


def _node_reasons(node: Any, cte_queries: set[int]) -> list[str]:
    if isinstance(node, ast.SelectStmt):
        return _select_reasons(node)
    if isinstance(node, ast.CommonTableExpr):
        return _cte_reasons(node, cte_queries)
    if isinstance(node, ast.FuncCall):
        return _call_reasons(node)
    if isinstance(node, ast.ColumnRef):
        return _column_reasons(node)
    if isinstance(node, ast.A_Indirection):
        return _indirection_reasons(node)
    if type(node).__name__.endswith("Stmt") and id(node) not in cte_queries:
        return [f"{_statement_reason(node)} inside the query"]
    return []


def _select_reasons(node: Any) -> list[str]:
    reasons = []
    if node.intoClause is not None:
        reasons.append("SELECT INTO creates a table")
    if node.lockingClause:
        reasons.append("SELECT ... FOR UPDATE/SHARE locks rows")
    return reasons


def _cte_reasons(node: Any, cte_queries: set[int]) -> list[str]:
    query = node.ctequery
    if query is None or isinstance(query, ast.SelectStmt):
        return []
    cte_queries.add(id(query))
    why = _statement_reason(query).split(" ", 1)[-1]
    return [f"WITH {node.ctename} AS ({command(query)} ...) {why}"]


def _call_reasons(node: Any) -> list[str]:
    names = [str(part.sval or "") for part in node.funcname or () if isinstance(part, ast.String)]
    refusal = call_refusal(names) if names else None
    return [] if refusal is None else [f"{'.'.join(names)}() {refusal}"]


def _column_reasons(node: Any) -> list[str]:
    """A column ``t.f`` may be functional notation for ``f(t)``: refused when ``f`` is refused by name."""
    fields: tuple[Any, ...] = node.fields or ()
    if len(fields) >= 2 and isinstance(fields[-1], ast.String):
        name = str(fields[-1].sval or "")
        refusal = function_refusal(name)
        if refusal is not None:
            return [f"{name} may call the function {name}(), which {refusal}"]
    return []


def _indirection_reasons(node: Any) -> list[str]:
    """A field ``(row).f`` may be functional notation for ``f(row)``: refused when ``f`` is refused by name."""
    reasons = []
    for item in node.indirection or ():
        if isinstance(item, ast.String):
            name = str(item.sval or "")
            refusal = function_refusal(name)
            if refusal is not None:
                reasons.append(f"(...).{name} may call the function {name}(), which {refusal}")
    return reasons


def _explain_analyzes(stmt: Any) -> bool:
    """Whether EXPLAIN's options turn ANALYZE on (PostgreSQL's defGetBoolean; anything unclear counts as on)."""
    analyzes = False
    for option in stmt.options or ():
        if not isinstance(option, ast.DefElem) or (option.defname or "").lower() != "analyze":
            continue
        arg = option.arg
        if arg is None:
            value = True
        elif isinstance(arg, ast.Integer):
            value = arg.ival != 0
        elif isinstance(arg, ast.Boolean):
            value = bool(arg.boolval)
        elif isinstance(arg, ast.String):
            value = (arg.sval or "").lower() not in ("false", "off", "0", "no")
        else:
            value = True
        analyzes = analyzes or value
    return analyzes


# -- destructive ---------------------------------------------------------------------------------------------


def destructive_reasons(stmt: Any, *, under: str = "") -> list[str]:
    """Why the statement can lose data or objects at once (its own, then its WITH queries'), each after ``under``."""
    handler = _DESTRUCTIVE.get(type(stmt).__name__)
    reasons = handler(stmt) if handler is not None else []
    reasons.extend(_with_destructive_reasons(stmt))
    return [under + reason for reason in reasons]


def _with_destructive_reasons(stmt: Any) -> list[str]:
    kind = type(stmt).__name__
    with_clause = getattr(stmt, "withClause", None) if kind in (*DML, "SelectStmt") else None
    reasons: list[str] = []
    for cte in (with_clause.ctes or ()) if with_clause is not None else ():
        if isinstance(cte, ast.CommonTableExpr) and cte.ctequery is not None:
            reasons.extend(destructive_reasons(cte.ctequery, under=f"WITH {cte.ctename}: "))
    return reasons


def _cascades(stmt: Any) -> bool:
    return bool(stmt.behavior == enums.DropBehavior.DROP_CASCADE)


def _drop_reasons(stmt: Any) -> list[str]:
    what = _object_type(stmt.removeType)
    names = ", ".join(_object_name(obj) for obj in stmt.objects or ())
    reasons = [f"DROP {what} {names} cannot be undone".replace("  ", " ")]
    if _cascades(stmt):
        reasons.append(f"DROP {what} ... CASCADE also removes everything that depends on it")
    return reasons


def _removes_objects(stmt: Any) -> list[str]:
    return [f"{command(stmt)} removes objects"]


def _truncate_reasons(stmt: Any) -> list[str]:
    tables = ", ".join(_range_name(rel) for rel in stmt.relations or ())
    reasons = [f"TRUNCATE {tables} removes every row"]
    if _cascades(stmt):
        reasons.append("TRUNCATE ... CASCADE also empties the tables that reference it")
    return reasons


def _unbounded_reasons(stmt: Any) -> list[str]:
    if stmt.whereClause is not None:
        return []
    verb, effect = ("DELETE", "removes") if type(stmt).__name__ == "DeleteStmt" else ("UPDATE", "changes")
    return [f"{verb} without WHERE {effect} every row of {_range_name(stmt.relation)}"]


def _alter_table_reasons(stmt: Any) -> list[str]:
    table = _range_name(stmt.relation)
    types = enums.AlterTableType
    reasons: list[str] = []
    for cmd in stmt.cmds or ():
        if not isinstance(cmd, ast.AlterTableCmd):
            continue
        if cmd.subtype == types.AT_DropColumn:
            reasons.append(f"ALTER TABLE {table} DROP COLUMN {cmd.name} removes the column and its data")
        elif cmd.subtype == types.AT_DropConstraint:
            reasons.append(f"ALTER TABLE {table} DROP CONSTRAINT {cmd.name} removes the constraint")
        elif cmd.subtype == types.AT_AlterColumnType:
            reasons.append(f"ALTER TABLE {table} ALTER COLUMN {cmd.name} TYPE rewrites the column's values")
        else:
            continue
        if _cascades(cmd):
            reasons.append(f"ALTER TABLE {table} ... CASCADE also removes what depends on it")
    return reasons


def _alter_domain_reasons(stmt: Any) -> list[str]:
    if stmt.subtype != "X":
        return []
    return [f"ALTER DOMAIN ... DROP CONSTRAINT {stmt.name} removes the constraint"]


def _explain_destructive_reasons(stmt: Any) -> list[str]:
    if not _explain_analyzes(stmt) or stmt.query is None:
        return []
    return destructive_reasons(stmt.query, under="EXPLAIN ANALYZE runs it: ")


# What each kind of statement destroys, by the name of its node.
_DESTRUCTIVE: dict[str, Callable[[Any], list[str]]] = {
    "DropStmt": _drop_reasons,
    **dict.fromkeys(
        ("DropdbStmt", "DropRoleStmt", "DropOwnedStmt", "DropTableSpaceStmt", "DropSubscriptionStmt"), _removes_objects
    ),
    "DropUserMappingStmt": lambda _: ["DROP USER MAPPING removes a user mapping"],
    "TruncateStmt": _truncate_reasons,
    "DeleteStmt": _unbounded_reasons,
    "UpdateStmt": _unbounded_reasons,
    "AlterTableStmt": _alter_table_reasons,
    "AlterDomainStmt": _alter_domain_reasons,
    "DoStmt": lambda _: ["DO may change anything: its code is not inspected"],
    "ExplainStmt": _explain_destructive_reasons,
}


# -- nodes ---------------------------------------------------------------------------------------------------


def walk(root: Any) -> Iterator[Any]:
    """Every pglast node of the tree under ``root`` (itself included), in document order."""
    stack: list[Any] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Node):
            yield item
            slots = getattr(type(item), "__slots__", ())
            stack.extend(getattr(item, name, None) for name in reversed(list(slots)))
        elif isinstance(item, list | tuple):
            stack.extend(reversed(item))


def command(stmt: Any) -> str:
    """The SQL command a statement node stands for, e.g. ``DROP TABLE``, ``SET ROLE``, ``COMMIT``."""
    kind = type(stmt).__name__
    if isinstance(stmt, ast.DropStmt):
        return f"DROP {_object_type(stmt.removeType)}"
    if isinstance(stmt, ast.TransactionStmt):
        name = getattr(stmt.kind, "name", str(stmt.kind)).removeprefix("TRANS_STMT_").replace("_", " ")
        return {"PREPARE": "PREPARE TRANSACTION", "COMMIT PREPARED": "COMMIT PREPARED"}.get(name, name)
    if isinstance(stmt, ast.VariableSetStmt):
        name = (stmt.name or "").lower()
        verb = "RESET" if "RESET" in getattr(stmt.kind, "name", "") else "SET"
        if name == "role":
            return f"{verb} ROLE"
        if name == "session_authorization":
            return f"{verb} SESSION AUTHORIZATION"
        if name.startswith("transaction") or name == "session characteristics":
            return "SET TRANSACTION"
        return f"{verb} {name}".strip() if name else verb
    if isinstance(stmt, ast.VacuumStmt):
        return "VACUUM" if stmt.is_vacuumcmd else "ANALYZE"
    if isinstance(stmt, ast.GrantStmt | ast.GrantRoleStmt):
        return "GRANT" if stmt.is_grant else "REVOKE"
    if isinstance(stmt, ast.FetchStmt):
        return "MOVE" if stmt.ismove else "FETCH"
    if kind in COMMANDS:
        return COMMANDS[kind]
    words = re.findall(r"[A-Z][a-z]*", kind.removesuffix("Stmt"))
    return " ".join(words).upper() or kind


def _object_type(value: Any) -> str:
    name = getattr(value, "name", str(value))
    return name.removeprefix("OBJECT_").replace("_", " ")


def _object_name(obj: Any) -> str:
    if isinstance(obj, ast.String):
        return str(obj.sval)
    if isinstance(obj, list | tuple):
        return ".".join(_object_name(part) for part in obj)
    if isinstance(obj, ast.TypeName):
        return ".".join(str(part.sval) for part in obj.names or () if isinstance(part, ast.String))
    if isinstance(obj, ast.ObjectWithArgs):
        return ".".join(str(part.sval) for part in obj.objname or () if isinstance(part, ast.String)) + "()"
    return "..."


def _range_name(rel: Any) -> str:
    if rel is None:
        return "the table"
    parts = [getattr(rel, "schemaname", None), getattr(rel, "relname", None)]
    return ".".join(str(part) for part in parts if part) or "the table"
