"""Columns: their definition in CREATE TABLE / ADD COLUMN, and the ALTER COLUMN steps between two versions."""

from __future__ import annotations

from .changes import Context, Phase
from .models import Column, SequenceParams
from .quoting import ident

__all__ = ["alter_column", "column_definition", "identity_clause"]

_GENERATED = {"s": "STORED", "v": "VIRTUAL"}
_IDENTITY = {"a": "ALWAYS", "d": "BY DEFAULT"}


def identity_options(params: SequenceParams) -> str:
    """The identity's sequence parameters (its type follows the column's)."""
    return (
        f"INCREMENT BY {params.increment} MINVALUE {params.min} MAXVALUE {params.max}"
        f" START WITH {params.start} CACHE {params.cache} {'' if params.cycle else 'NO '}CYCLE"
    )


def identity_clause(column: Column) -> str:
    clause = f"GENERATED {_IDENTITY[column.identity]} AS IDENTITY"
    seq = column.identity_sequence
    if seq is not None:
        clause += f" (SEQUENCE NAME {ident(seq.schema)}.{ident(seq.name)} {identity_options(seq)})"
    return clause


def column_definition(column: Column, *, with_default: bool = True) -> str:
    """``name type ...`` as CREATE TABLE and ADD COLUMN take it."""
    parts = [ident(column.name), column.type]
    if column.collation:
        parts.append(f"COLLATE {column.collation}")
    if column.generated is not None:
        parts.append(f"GENERATED ALWAYS AS ({column.generated}) {_GENERATED.get(column.generated_kind, 'STORED')}")
    elif column.identity:
        parts.append(identity_clause(column))
    elif column.default is not None and with_default:
        parts.append(f"DEFAULT {column.default}")
    if column.not_null:
        parts.append(f"CONSTRAINT {ident(column.not_null_name)} NOT NULL" if column.not_null_name else "NOT NULL")
    return " ".join(parts)


def late_default(column: Column) -> bool:
    """A default that calls a function of ours is set once the functions exist."""
    return column.default is not None and bool(column.default_calls)


class _Alter:
    """ALTER COLUMN steps for one column of one table, in the order PostgreSQL accepts them."""

    def __init__(self, ctx: Context, table: str, column: str) -> None:
        self.ctx, self.table, self.column = ctx, table, column
        self.name = f"{table}.{ident(column)}"

    def add(self, phase: int, clause: str, *, reason: str | None = None) -> None:
        self.table_clause(phase, f"ALTER COLUMN {ident(self.column)} {clause}", reason=reason)

    def table_clause(self, phase: int, clause: str, *, reason: str | None = None) -> None:
        sql = f"ALTER TABLE {self.table} {clause}"
        self.ctx.plan.add(phase, "alter", "column", self.name, sql, destructive=reason is not None, reason=reason)


def alter_column(ctx: Context, table: str, old: Column, new: Column) -> bool:
    """Emit the steps from ``old`` to ``new``; False when only a drop and re-add can do it (generated columns)."""
    step = _Alter(ctx, table, new.name)
    regenerated = (old.generated, old.generated_kind) != (new.generated, new.generated_kind)
    if regenerated and not _regenerate(ctx, step, old, new):
        return False
    old_default = old.default
    retyped = (new.type_schema, new.type_name) in ctx.retyped
    calls_dropped = any(f in ctx.dropped_functions for f in old.default_calls)
    changes_type = old.type != new.type or old.collation != new.collation or retyped
    if (changes_type or calls_dropped) and old_default is not None:
        step.add(Phase.DROP_DEFAULT, "DROP DEFAULT")
        old_default = None
    if changes_type:
        step.add(Phase.COLUMN_ALTER, _type_clause(old, new, retyped), reason="changes the column's type")
    _identity_and_nullability(step, old, new)
    if old_default != new.default and not new.identity:
        if new.default is None:
            step.add(Phase.DROP_DEFAULT, "DROP DEFAULT")
        else:
            step.add(Phase.DEFAULT_LATE if late_default(new) else Phase.COLUMN_ALTER, f"SET DEFAULT {new.default}")
    return True


def _regenerate(ctx: Context, step: _Alter, old: Column, new: Column) -> bool:
    if new.generated is None and old.generated_kind == "s":
        step.add(Phase.COLUMN_ALTER, "DROP EXPRESSION")
        return True
    same_kind = old.generated_kind == new.generated_kind == "s"
    if same_kind and new.generated is not None and ctx.target.version >= 170000:
        step.add(Phase.COLUMN_ALTER, f"SET EXPRESSION AS ({new.generated})")
        return True
    return False


def _type_clause(old: Column, new: Column, retyped: bool) -> str:
    clause = f"TYPE {new.type}"
    if new.collation or old.collation:
        clause += f" COLLATE {new.collation or 'pg_catalog.' + ident('default')}"
    if old.type != new.type or retyped:
        via = "::text[]" if new.type.endswith("]") else "::text"
        clause += f" USING {ident(new.name)}{via if retyped else ''}::{new.type}"
    return clause


def _identity_and_nullability(step: _Alter, old: Column, new: Column) -> None:
    if old.identity and not new.identity:
        step.add(Phase.COLUMN_ALTER, "DROP IDENTITY")
    if new.not_null and not old.not_null:
        if new.not_null_name and step.ctx.target.version >= 180000:
            step.table_clause(
                Phase.COLUMN_ALTER, f"ADD CONSTRAINT {ident(new.not_null_name)} NOT NULL {ident(new.name)}"
            )
        else:
            step.add(Phase.COLUMN_ALTER, "SET NOT NULL")
    elif new.not_null and old.not_null_name and new.not_null_name and old.not_null_name != new.not_null_name:
        clause = f"RENAME CONSTRAINT {ident(old.not_null_name)} TO {ident(new.not_null_name)}"
        step.table_clause(Phase.COLUMN_ALTER, clause)
    if new.identity and not old.identity:
        if old.default is not None:
            step.add(Phase.DROP_DEFAULT, "DROP DEFAULT")
        step.add(Phase.COLUMN_ALTER, "ADD " + identity_clause(new))
    elif new.identity and old.identity:
        if new.identity != old.identity:
            step.add(Phase.COLUMN_ALTER, f"SET GENERATED {_IDENTITY[new.identity]}")
        _identity_sequence(step, old, new)
    if old.not_null and not new.not_null:
        step.add(Phase.COLUMN_ALTER, "DROP NOT NULL")


def _identity_sequence(step: _Alter, old: Column, new: Column) -> None:
    before, after = old.identity_sequence, new.identity_sequence
    if before is None or after is None:
        return
    name = f"{ident(before.schema)}.{ident(before.name)}"
    if identity_options(before) != identity_options(after):
        sql = f"ALTER SEQUENCE {name} {identity_options(after)}"
        step.ctx.plan.add(Phase.COLUMN_ALTER, "alter", "sequence", name, sql)
    if before.name != after.name:
        sql = f"ALTER SEQUENCE {name} RENAME TO {ident(after.name)}"
        step.ctx.plan.add(Phase.COLUMN_ALTER, "alter", "sequence", name, sql)
