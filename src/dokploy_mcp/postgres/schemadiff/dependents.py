"""What hangs on a table: constraints, indexes, triggers and policies."""

from __future__ import annotations

import re

from .changes import Context, Phase
from .models import Constraint, Policy, Trigger
from .quoting import ident, qualified

__all__ = ["diff_constraints", "diff_indexes", "diff_policies", "diff_triggers", "referenced_table"]

_NAME = r'(?:"(?:[^"]|"")+"|[^\s."(]+)'
_REFERENCES = re.compile(rf"REFERENCES ({_NAME})\.({_NAME})\(")
_COMMANDS = {"r": "SELECT", "a": "INSERT", "w": "UPDATE", "d": "DELETE", "*": "ALL"}
_ENABLED = {"D": "DISABLE TRIGGER", "R": "ENABLE REPLICA TRIGGER", "A": "ENABLE ALWAYS TRIGGER", "O": "ENABLE TRIGGER"}


def _unquote(part: str) -> str:
    return part[1:-1].replace('""', '"') if part.startswith('"') else part


def referenced_table(constraint: Constraint) -> tuple[str, str] | None:
    """The table a foreign key points at (the catalog writes it qualified)."""
    if constraint.type != "f":
        return None
    found = _REFERENCES.search(constraint.definition)
    return (_unquote(found.group(1)), _unquote(found.group(2))) if found else None


def _rekeyed(ctx: Context) -> set[tuple[str, str]]:
    """Tables whose keys are dropped or re-created: foreign keys pointing at them are re-created too."""
    source = {(c.schema, c.table, c.name): c for c in ctx.source.constraints}
    tables = set(ctx.gone)
    for c in ctx.target.constraints:
        new = source.get((c.schema, c.table, c.name))
        if c.type in "pux" and (new is None or new.definition != c.definition):
            tables.add((c.schema, c.table))
    return tables


def _same(old: Constraint, new: Constraint) -> bool:
    return (old.type, old.definition) == (new.type, new.definition)


def _kept(ctx: Context, old: Constraint, new: Constraint, rekeyed: set[tuple[str, str]]) -> bool:
    """The constraint stays as it is: same definition, nothing under it re-created."""
    return _same(old, new) and not _calls_dropped(ctx, old.calls) and referenced_table(old) not in rekeyed


def _calls_dropped(ctx: Context, calls: tuple[tuple[str, str, str], ...]) -> bool:
    """True when an expression calls a function this diff drops (PostgreSQL would refuse the drop)."""
    return any(f in ctx.dropped_functions for f in calls)


def diff_constraints(ctx: Context) -> None:
    source = {(c.schema, c.table, c.name): c for c in ctx.source.constraints}
    target = {(c.schema, c.table, c.name): c for c in ctx.target.constraints if (c.schema, c.table) not in ctx.gone}
    rekeyed = _rekeyed(ctx)
    for key in sorted(source.keys() | target.keys()):
        new, old = source.get(key), target.get(key)
        if old is not None and new is not None and _kept(ctx, old, new, rekeyed):
            continue
        table = qualified(key[0], key[1])
        if old is not None:
            phase = Phase.DROP_FK if old.type == "f" else Phase.DROP_CONSTRAINT
            sql = f"ALTER TABLE {table} DROP CONSTRAINT {ident(old.name)}"
            ctx.plan.add(phase, "drop", "constraint", f"{table}.{ident(old.name)}", sql)
        if new is not None:
            phase = Phase.FOREIGN_KEY if new.type == "f" else Phase.CONSTRAINT
            sql = f"ALTER TABLE {table} ADD CONSTRAINT {ident(new.name)} {new.definition}"
            ctx.plan.add(phase, "create", "constraint", f"{table}.{ident(new.name)}", sql)
            ctx.created.add(f"CONSTRAINT {ident(new.name)} ON {table}")
            if new.index is not None:
                ctx.created.add(f"INDEX {qualified(new.schema, new.index)}")


def diff_indexes(ctx: Context) -> None:
    source = {(i.schema, i.name): i for i in ctx.source.indexes}
    target = {(i.schema, i.name): i for i in ctx.target.indexes if (i.schema, i.table) not in ctx.gone}
    for key in sorted(source.keys() | target.keys()):
        new, old = source.get(key), target.get(key)
        same = old is not None and new is not None and old.definition == new.definition
        if same and old is not None and not _calls_dropped(ctx, old.calls):
            continue
        name = qualified(*key)
        if old is not None:
            ctx.plan.add(Phase.DROP_INDEX, "drop", "index", name, f"DROP INDEX {name}")
        if new is not None:
            # An index of a partitioned table is written ON ONLY; created plainly it reaches the partitions too.
            sql = new.definition.replace(" ON ONLY ", " ON ", 1)
            ctx.plan.add(Phase.INDEX, "create", "index", name, sql)
            ctx.created.add(f"INDEX {name}")


def diff_triggers(ctx: Context) -> None:
    source = {(t.schema, t.table, t.name): t for t in ctx.source.triggers}
    target = {(t.schema, t.table, t.name): t for t in ctx.target.triggers if (t.schema, t.table) not in ctx.gone}
    for key in sorted(source.keys() | target.keys()):
        new, old = source.get(key), target.get(key)
        table = qualified(key[0], key[1])
        name = f"{table}.{ident(key[2])}"
        if old is not None and new is not None and old.definition == new.definition and key[:2] not in ctx.unsettled:
            if old.enabled != new.enabled:
                _enable(ctx, table, name, new)
            continue
        if old is not None:
            ctx.plan.add(Phase.DROP_TRIGGER, "drop", "trigger", name, f"DROP TRIGGER {ident(old.name)} ON {table}")
        if new is not None:
            ctx.plan.add(Phase.TRIGGER, "create", "trigger", name, new.definition)
            ctx.created.add(f"TRIGGER {ident(new.name)} ON {table}")
            if new.enabled != "O":
                _enable(ctx, table, name, new)


def _enable(ctx: Context, table: str, name: str, trigger: Trigger) -> None:
    sql = f"ALTER TABLE {table} {_ENABLED.get(trigger.enabled, 'ENABLE TRIGGER')} {ident(trigger.name)}"
    ctx.plan.add(Phase.TRIGGER, "alter", "trigger", name, sql)


def create_policy(policy: Policy) -> str:
    roles = ", ".join("PUBLIC" if r == "PUBLIC" else ident(r) for r in policy.roles)
    sql = (
        f"CREATE POLICY {ident(policy.name)} ON {qualified(policy.schema, policy.table)}"
        f" AS {'PERMISSIVE' if policy.permissive else 'RESTRICTIVE'} FOR {_COMMANDS[policy.command]} TO {roles}"
    )
    if policy.using is not None:
        sql += f" USING ({policy.using})"
    if policy.check is not None:
        sql += f" WITH CHECK ({policy.check})"
    return sql


def diff_policies(ctx: Context) -> None:
    source = {(p.schema, p.table, p.name): p for p in ctx.source.policies}
    target = {(p.schema, p.table, p.name): p for p in ctx.target.policies if (p.schema, p.table) not in ctx.gone}
    for key in sorted(source.keys() | target.keys()):
        new, old = source.get(key), target.get(key)
        table = qualified(key[0], key[1])
        name = f"{table}.{ident(key[2])}"
        if old is not None and new is not None and _policy_kept(ctx, old, new):
            continue
        if old is not None:
            ctx.plan.add(Phase.DROP_POLICY, "drop", "policy", name, f"DROP POLICY {ident(old.name)} ON {table}")
        if new is not None:
            ctx.plan.add(Phase.POLICY, "create", "policy", name, create_policy(new))
            ctx.created.add(f"POLICY {ident(new.name)} ON {table}")


def _policy_kept(ctx: Context, old: Policy, new: Policy) -> bool:
    """The policy stays: same clauses, its table's columns unchanged, no function under it dropped."""
    settled = (old.schema, old.table) not in ctx.unsettled
    return _same_policy(old, new) and settled and not _calls_dropped(ctx, old.calls)


def _same_policy(old: Policy, new: Policy) -> bool:
    return (old.permissive, old.command, old.roles, old.using, old.check) == (
        new.permissive,
        new.command,
        new.roles,
        new.using,
        new.check,
    )
