"""Functions, procedures, views and materialized views."""

from __future__ import annotations

from .changes import Action, Context, Phase
from .models import Function, View
from .quoting import ident, qualified

__all__ = ["diff_functions", "diff_views", "function_target", "view_target"]

Key = tuple[str, str]


def function_target(function: Function) -> str:
    """``FUNCTION s.f(args)`` as COMMENT ON, GRANT and DROP name it."""
    word = "PROCEDURE" if function.kind == "p" else "FUNCTION"
    return f"{word} {qualified(function.schema, function.name)}({function.identity})"


def _function_name(function: Function) -> str:
    return f"{qualified(function.schema, function.name)}({function.types})"


def _function_kind(function: Function) -> str:
    return "procedure" if function.kind == "p" else "function"


def diff_functions(ctx: Context) -> None:
    source = {(f.schema, f.name, f.types): f for f in ctx.source.functions}
    target = {(f.schema, f.name, f.types): f for f in ctx.target.functions}
    for key, function in sorted(source.items()):
        old = target.get(key)
        if old is not None and old.definition == function.definition:
            continue
        replaceable = old is not None and (old.kind, old.result, old.arguments) == (
            function.kind,
            function.result,
            function.arguments,
        )
        if old is not None and not replaceable:
            _drop_function(ctx, old)
        action: Action = "alter" if replaceable else "create"
        sql = function.definition.rstrip()
        ctx.plan.add(Phase.FUNCTION, action, _function_kind(function), _function_name(function), sql)
        if not replaceable:
            ctx.created.add(function_target(function))
    for key in sorted(target.keys() - source.keys()):
        _drop_function(ctx, target[key])


def _drop_function(ctx: Context, function: Function) -> None:
    kind = _function_kind(function)
    ctx.dropped_functions.add((function.schema, function.name, function.types))
    ctx.plan.add(Phase.DROP_FUNCTION, "drop", kind, _function_name(function), f"DROP {function_target(function)}")


def view_target(view: View) -> str:
    word = "MATERIALIZED VIEW" if view.kind == "m" else "VIEW"
    return f"{word} {qualified(view.schema, view.name)}"


def _levels(views: dict[Key, View]) -> dict[Key, int]:
    """Each view's depth among the views it reads (0: reads only tables)."""
    levels: dict[Key, int] = {}

    def level(key: Key, path: frozenset[Key]) -> int:
        if key not in levels:
            deps = [d for d in views[key].depends_on if d in views and d not in path]
            levels[key] = 1 + max((level(d, path | {key}) for d in deps), default=-1)
        return levels[key]

    for key in views:
        level(key, frozenset())
    return levels


def _to_drop(ctx: Context, source: dict[Key, View], target: dict[Key, View]) -> set[Key]:
    """Target views that go: removed, changed, reading what changes, and (transitively) views reading those."""
    unsettled = ctx.unsettled | ctx.gone
    drop = set()
    for key, old in target.items():
        new = source.get(key)
        changed = new is None or (old.kind, old.options) != (new.kind, new.options)
        changed = changed or not same_query(ctx, old.definition, new.definition if new else "")
        calls_dropped = any(f in ctx.dropped_functions for f in old.calls)
        if changed or calls_dropped or any(d in unsettled for d in old.depends_on):
            drop.add(key)
    grew = True
    while grew:
        grew = False
        for key, old in target.items():
            if key not in drop and any(d in drop for d in old.depends_on):
                drop.add(key)
                grew = True
    return drop


def same_query(ctx: Context, old: str, new: str) -> bool:
    """Whether two view definitions are the same query. PostgreSQL 16 stopped qualifying a column with its table
    where only one table is in scope (``people.team_id`` became ``team_id``), so between a server before 16 and one
    from 16 on, the two texts are compared as parse trees with column references unqualified: a real difference
    still shows (where a qualifier is needed to tell two tables apart, both versions print it)."""
    if old == new:
        return True
    low, high = sorted((ctx.source.version, ctx.target.version))
    if not low < 160000 <= high:
        return False
    return _unqualified(old) == _unqualified(new)


def _unqualified(query: str) -> str:
    import json

    from pglast.parser import ParseError, parse_sql_json

    try:
        tree = json.loads(parse_sql_json(query))
    except ParseError:
        return query
    return json.dumps(_strip(tree), sort_keys=True)


def _strip(node: object) -> object:
    """The JSON parse tree without locations, each column reference reduced to its last name."""
    if isinstance(node, list):
        return [_strip(item) for item in node]
    if not isinstance(node, dict):
        return node
    if "ColumnRef" in node and len(node) == 1:
        fields = node["ColumnRef"].get("fields", [])
        return {"ColumnRef": {"fields": _strip(fields[-1:])}}
    return {key: _strip(value) for key, value in node.items() if key not in ("location", "stmt_len", "stmt_location")}


def diff_views(ctx: Context) -> None:
    source = ctx.source.view_map
    target = ctx.target.view_map
    drop = _to_drop(ctx, source, target)
    target_levels = _levels(target)
    for key in drop:
        view = target[key]
        matview = view.kind == "m"
        ctx.plan.add(
            Phase.DROP_VIEW,
            "drop",
            "materialized view" if matview else "view",
            qualified(*key),
            f"DROP {view_target(view)}",
            order=-target_levels[key],
            destructive=matview,
            reason="drops the materialized view and its rows" if matview else None,
        )
        ctx.gone.add(key)
    source_levels = _levels(source)
    for key, view in source.items():
        if key in target and key not in drop:
            continue
        ctx.plan.add(
            Phase.VIEW,
            "create",
            "materialized view" if view.kind == "m" else "view",
            qualified(*key),
            create_view(view),
            order=source_levels[key],
        )
        ctx.gone.add(key)
        name = qualified(*key)
        ctx.created.update({view_target(view), f"TABLE {name}"})
        ctx.created.update(f"COLUMN {name}.{ident(c.name)}" for c in view.columns)


def create_view(view: View) -> str:
    word = "MATERIALIZED VIEW" if view.kind == "m" else "VIEW"
    sql = f"CREATE {word} {qualified(view.schema, view.name)}"
    if view.options:
        sql += " WITH (" + ", ".join(view.options) + ")"
    return f"{sql} AS\n{view.definition.strip().rstrip(';')}"
