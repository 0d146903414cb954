"""The plan of a copy, read from both sides before anything is written: the tables and their order, what the target
holds (tables, rows, checkpoints of an earlier run), whether foreign keys can be turned off, and every reason to
refuse, each with its fix.

Blocking (the sides' connections): the service runs :func:`read_plan` in a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres.transfer.catalog import Order, Selection, Table, choose, column_problems, foreign_key_order

if TYPE_CHECKING:
    from dokploy_mcp.postgres.transfer.copying import Checkpoint, Side

__all__ = ["CHUNK_BYTES", "Plan", "chunk_rows", "read_plan"]

#: A chunk holds about this many bytes of the source table (its size on disk over its rows).
CHUNK_BYTES = 128 * 1024 * 1024
_MIN_CHUNK_ROWS = 1_000
_MAX_CHUNK_ROWS = 5_000_000


@dataclass
class Plan:
    order: Order
    target_tables: dict[str, Table]
    checkpoints: dict[str, Checkpoint]
    #: Target tables holding rows that no checkpoint of this copy accounts for.
    non_empty: set[str]
    #: Foreign keys and triggers are off for the target session (``session_replication_role = replica``).
    replica: bool
    #: Tables the target lacked when the plan was read (the schema step may create them).
    missing: set[str] = field(default_factory=set)

    def chunked(self, table: Table) -> bool:
        """In primary-key chunks; a table without a key, or one referencing itself while foreign keys are checked
        (a row may point to a later chunk), goes in one."""
        return bool(table.key) and (self.replica or table.display not in self.order.self_referencing)

    def notes(self) -> list[str]:
        if self.replica:
            return [
                "foreign keys and triggers are off for the copy's target session (session_replication_role = "
                "replica, as pg_dump --disable-triggers): rows arrive exactly as on the source"
            ]
        notes = [
            "tables go in foreign-key order; the target's triggers fire for each row (the login may not turn them off)"
        ]
        if self.order.self_referencing:
            notes.append(
                "tables with a foreign key to themselves are copied in one chunk each: "
                + ", ".join(self.order.self_referencing)
            )
        return notes

    def problems(self, *, schema_pending: bool) -> list[str]:
        """Why the target's tables cannot take the source's rows; with ``schema_pending`` (a dry run before the
        schema step), a table that step would create is not one."""
        problems: list[str] = []
        for table in self.order.tables:
            other = self.target_tables.get(table.display)
            if other is None:
                if not schema_pending:
                    problems.append(f"{table.display} does not exist on the target")
            else:
                problems.extend(f"{table.display}: {p}" for p in column_problems(table, other))
        return problems

    def refuse(self, existing: Literal["refuse", "truncate", "append"]) -> None:
        """Stop before anything is written when the target cannot take the rows as asked."""
        if self.non_empty and existing == "refuse":
            raise InputError(
                f"these target tables already hold rows: {', '.join(sorted(self.non_empty))}. Say what to do with "
                'them: existing: "truncate" (empties them first; destructive, confirmed) or "append" (adds the '
                "source's rows; a duplicate key stops the copy)",
                field="existing",
            )
        if self.order.cycles and not self.replica:
            raise InputError(
                "the foreign keys of " + ", ".join(self.order.cycles[0]) + " form a cycle, and the target login may "
                "not turn foreign keys off for the copy (session_replication_role): copy as a superuser (or a login "
                'granted SET on session_replication_role), or copy those tables with what: "schema" and their rows '
                "by hand",
                field="include",
            )


def read_plan(
    source: Side, target: Side, selection: Selection, *, timeout_ms: int, restart: bool, dry_run: bool
) -> Plan:
    """Take the copy's lock on the target, open the source's snapshot and read both sides."""
    schemas = selection.all_schemas()
    if not target.lock(source.display):
        raise InputError(
            "another copy from this source into this target is running (in this server or another): wait for it "
            "(job_status), or stop it with cancel_job",
            field="target",
        )
    source.begin_snapshot(timeout_ms)
    target.same_text()
    target.set_timeout(timeout_ms)
    chosen = copyable(choose(source.tables(schemas), selection), schemas, selection)
    target_tables = target.tables(schemas)
    # restart: the earlier checkpoints are replaced when the copy starts (not before: a refusal keeps them).
    checkpoints = {} if restart else target.checkpoints(source.display)
    present = [t for t in chosen if t.display in target_tables and t.display not in checkpoints]
    non_empty = target.non_empty([target_tables[t.display] for t in present])
    replica = target.try_replica_role()
    if dry_run and replica:
        target.conn.execute("RESET session_replication_role")
    missing = {t.display for t in chosen if t.display not in target_tables}
    return Plan(foreign_key_order(chosen), target_tables, checkpoints, non_empty, replica, missing)


def copyable(chosen: list[Table], schemas: list[str], selection: Selection) -> list[Table]:
    """The chosen tables, or why they cannot be copied as the source's login sees them."""
    if not chosen:
        raise InputError(
            f"no table of the source matches (schemas {', '.join(schemas)}): check schemas, include and exclude",
            field="include" if selection.include else "schemas",
        )
    hidden = [table.display for table in chosen if table.hidden_rows]
    if hidden:
        raise InputError(
            "row-level security applies to the source's login on " + ", ".join(hidden[:20]) + ": it would read "
            "only the rows its policies show, and the checksums would agree with that partial copy. Connect to the "
            "source as the tables' owner, a superuser or a role with BYPASSRLS (Supabase's postgres login has it), "
            "or exclude these tables",
            field="source",
        )
    empty = [table.display for table in chosen if not table.copied]
    if empty:
        raise InputError(
            "no column to copy (none, or only generated ones) in " + ", ".join(empty) + ": exclude these tables",
            field="exclude",
        )
    return chosen


def chunk_rows(table: Table, asked: int | None) -> int:
    """Rows per chunk: as ``asked``, else about :data:`CHUNK_BYTES` of the table as it lies on disk."""
    if asked is not None:
        return asked
    rows = table.est_rows if table.est_rows > 0 else max(table.bytes // 100, 1)
    width = max(table.bytes // rows, 1)
    return max(_MIN_CHUNK_ROWS, min(_MAX_CHUNK_ROWS, CHUNK_BYTES // width))
