"""Tables and their columns: create, drop, re-create, and the changes of an existing table."""

from __future__ import annotations

from .changes import Context, Phase
from .columns import alter_column, column_definition, late_default
from .models import Column, Table
from .quoting import ident, qualified

__all__ = ["diff_tables"]

Key = tuple[str, str]


def _depth(table: Table, tables: dict[Key, Table], seen: frozenset[Key] = frozenset()) -> int:
    """How many ancestors ``table`` has in ``tables``: parents are created before, and dropped after, children."""
    parents = [p for p in table.parents if p in tables and p not in seen]
    if not parents:
        return 0
    key = (table.schema, table.name)
    return 1 + max(_depth(tables[p], tables, seen | {key}) for p in parents)


def _needs_recreate(old: Table, new: Table) -> bool:
    # A table that gains a parent (INHERITS) would keep its own columns local and in its own order, which a table
    # created as a child does not: it is re-created.
    gains_parent = new.partition_bound is None and bool(set(new.parents) - set(old.parents))
    return old.kind != new.kind or old.partition_key != new.partition_key or gains_parent


def diff_tables(ctx: Context) -> None:
    source = ctx.source.table_map
    target = ctx.target.table_map
    for key, table in source.items():
        old = target.get(key)
        if old is not None and _needs_recreate(old, table):
            _drop_table(ctx, old, target, reason="the table's kind, partition key or parents change: it is re-created")
            old = None
        if old is None:
            _create_table(ctx, table, source)
        else:
            _alter_table(ctx, old, table)
    for key in target.keys() - source.keys():
        _drop_table(ctx, target[key], target, reason="drops the table and its rows")


def _drop_table(ctx: Context, table: Table, tables: dict[Key, Table], *, reason: str) -> None:
    name = qualified(table.schema, table.name)
    ctx.plan.add(
        Phase.DROP_TABLE,
        "drop",
        "table",
        name,
        f"DROP TABLE {name}",
        destructive=True,
        reason=reason,
        order=-_depth(table, tables),
    )
    ctx.gone.add((table.schema, table.name))


def _create_table(ctx: Context, table: Table, tables: dict[Key, Table]) -> None:
    name = qualified(table.schema, table.name)
    unlogged = "UNLOGGED " if table.persistence == "u" else ""
    late = [c for c in table.columns if c.local and late_default(c)]
    if table.partition_bound is not None and table.parents:
        sql = f"CREATE {unlogged}TABLE {name} PARTITION OF {qualified(*table.parents[0])} {table.partition_bound}"
    else:
        columns = ",\n    ".join(
            column_definition(c, with_default=not late_default(c)) for c in table.columns if c.local
        )
        sql = f"CREATE {unlogged}TABLE {name} (\n    {columns}\n)"
        if table.parents:
            sql += " INHERITS (" + ", ".join(qualified(*p) for p in table.parents) + ")"
    if table.partition_key is not None:
        sql += f" PARTITION BY {table.partition_key}"
    if table.options:
        sql += " WITH (" + ", ".join(table.options) + ")"
    ctx.plan.add(Phase.TABLE, "create", "table", name, sql, order=_depth(table, tables))
    for column in late:
        sql = f"ALTER TABLE {name} ALTER COLUMN {ident(column.name)} SET DEFAULT {column.default}"
        ctx.plan.add(Phase.DEFAULT_LATE, "alter", "column", f"{name}.{ident(column.name)}", sql)
    ctx.gone.add((table.schema, table.name))
    ctx.created.add(f"TABLE {name}")
    ctx.created.update(f"COLUMN {name}.{ident(c.name)}" for c in table.columns)
    _table_flags(ctx, name, Table(table.schema, table.name), table)


def _alter_table(ctx: Context, old: Table, new: Table) -> None:
    name = qualified(new.schema, new.name)
    _inheritance(ctx, name, old, new)
    _columns(ctx, name, old, new)
    if old.persistence != new.persistence:
        mode = "UNLOGGED" if new.persistence == "u" else "LOGGED"
        ctx.plan.add(Phase.COLUMN_ALTER, "alter", "table", name, f"ALTER TABLE {name} SET {mode}")
    _options(ctx, name, old.options or (), new.options or ())
    _table_flags(ctx, name, old, new)


def _inheritance(ctx: Context, name: str, old: Table, new: Table) -> None:
    if (old.parents, old.partition_bound) == (new.parents, new.partition_bound):
        return
    if old.partition_bound is not None:
        sql = f"ALTER TABLE {qualified(*old.parents[0])} DETACH PARTITION {name}"
        ctx.plan.add(Phase.DROP_COLUMN, "alter", "table", name, sql, order=-1)
    else:
        for parent in old.parents:
            if parent not in new.parents:
                sql = f"ALTER TABLE {name} NO INHERIT {qualified(*parent)}"
                ctx.plan.add(Phase.DROP_COLUMN, "alter", "table", name, sql, order=-1)
    # A table that gains an inheritance parent is re-created instead (see _needs_recreate).
    if new.partition_bound is not None:
        sql = f"ALTER TABLE {qualified(*new.parents[0])} ATTACH PARTITION {name} {new.partition_bound}"
        ctx.plan.add(Phase.COLUMN_ALTER, "alter", "table", name, sql)


def _columns(ctx: Context, name: str, old: Table, new: Table) -> None:
    before = {c.name: c for c in old.columns}
    after = {c.name: c for c in new.columns}
    for column in new.columns:
        previous = before.get(column.name)
        if previous is None:
            if column.local:
                _add_column(ctx, name, column)
        elif column.local and not alter_column(ctx, name, previous, column):
            _drop_column(ctx, name, previous, reason="a generated column's expression changes: dropped and re-added")
            _add_column(ctx, name, column)
    # Columns inherited from a parent the table leaves become its own: those the source lacks are dropped.
    left = set(old.parents) - set(new.parents)
    for column in old.columns:
        if column.name not in after and (column.local or left):
            _drop_column(ctx, name, column, reason="drops the column and its values")
            ctx.unsettled.add((new.schema, new.name))
    if any(
        (c.type, c.collation) != (before[c.name].type, before[c.name].collation)
        or (c.type_schema, c.type_name) in ctx.retyped
        for c in new.columns
        if c.name in before
    ):
        ctx.unsettled.add((new.schema, new.name))


def _add_column(ctx: Context, table: str, column: Column) -> None:
    sql = f"ALTER TABLE {table} ADD COLUMN {column_definition(column, with_default=not late_default(column))}"
    full = f"{table}.{ident(column.name)}"
    ctx.plan.add(Phase.COLUMN_ADD, "create", "column", full, sql)
    if late_default(column):
        sql = f"ALTER TABLE {table} ALTER COLUMN {ident(column.name)} SET DEFAULT {column.default}"
        ctx.plan.add(Phase.DEFAULT_LATE, "alter", "column", full, sql)
    ctx.created.add(f"COLUMN {full}")


def _drop_column(ctx: Context, table: str, column: Column, *, reason: str) -> None:
    full = f"{table}.{ident(column.name)}"
    sql = f"ALTER TABLE {table} DROP COLUMN {ident(column.name)}"
    ctx.plan.add(Phase.DROP_COLUMN, "drop", "column", full, sql, destructive=True, reason=reason)


def _options(ctx: Context, name: str, old: tuple[str, ...], new: tuple[str, ...]) -> None:
    old_keys = {o.split("=", 1)[0] for o in old}
    new_keys = {o.split("=", 1)[0] for o in new}
    reset = sorted(old_keys - new_keys)
    if reset:
        ctx.plan.add(Phase.COLUMN_ALTER, "alter", "table", name, f"ALTER TABLE {name} RESET ({', '.join(reset)})")
    changed = [o for o in new if o not in old]
    if changed:
        ctx.plan.add(Phase.COLUMN_ALTER, "alter", "table", name, f"ALTER TABLE {name} SET ({', '.join(changed)})")


_REPLICA = {"d": "DEFAULT", "f": "FULL", "n": "NOTHING"}


def _table_flags(ctx: Context, name: str, old: Table, new: Table) -> None:
    if (old.replica_identity, old.replica_index) != (new.replica_identity, new.replica_index):
        identity = _REPLICA.get(new.replica_identity) or f"USING INDEX {ident(new.replica_index or '')}"
        ctx.plan.add(Phase.RLS, "alter", "table", name, f"ALTER TABLE {name} REPLICA IDENTITY {identity}")
    if old.rls != new.rls:
        mode = "ENABLE" if new.rls else "DISABLE"
        ctx.plan.add(Phase.RLS, "alter", "rls", name, f"ALTER TABLE {name} {mode} ROW LEVEL SECURITY")
    if old.force_rls != new.force_rls:
        mode = "FORCE" if new.force_rls else "NO FORCE"
        ctx.plan.add(Phase.RLS, "alter", "rls", name, f"ALTER TABLE {name} {mode} ROW LEVEL SECURITY")
