"""cross_instance_migrate's flow: the schema through ``generate_diff``, then the rows, checkpointed, then proof.

1. Schema (``what`` schema or both): the diff source -> target over the chosen schemas, applied on the target in one
   transaction. A diff that would drop or rewrite something on the target is refused: that is a migration for a
   person to review (generate_diff, then apply_migration), not a side effect of a copy.
2. Rows (``what`` data or both), direct route on both sides: the source is read in one REPEATABLE READ snapshot;
   tables go in foreign-key order (or with foreign keys and triggers off, where the target login may set
   ``session_replication_role``); each table moves in chunks of its primary key, one committed target transaction
   per chunk with its checkpoint. A failure, a ``cancel_job`` or a restart leaves the target as the checkpoints say;
   the same call again resumes after the last committed chunk.
3. Sequences set to the source's values; then the checksum pass, a second read of both sides: per table, rows and
   the sum of a hash of each row. A copy that verifies deletes its checkpoints.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from typing import TYPE_CHECKING, Any, Literal, TypeVar

import anyio

from dokploy_mcp.errors import InputError, JobStoppedError
from dokploy_mcp.postgres.errors import CopyFailedError, DatabaseError, DatabaseQueryError
from dokploy_mcp.postgres.targets import is_connection_string
from dokploy_mcp.progress import Progress, in_thread, stoppable_in_thread
from dokploy_mcp.services.database import open_route
from dokploy_mcp.services.schema_diff import DiffRequest, generate_diff

if TYPE_CHECKING:
    from dokploy_mcp.postgres.schemadiff import Change
    from dokploy_mcp.postgres.transfer.catalog import Selection, Table
    from dokploy_mcp.postgres.transfer.copying import Checkpoint, Side
    from dokploy_mcp.postgres.transfer.plan import Plan
    from dokploy_mcp.runtime import Runtime

T = TypeVar("T")
U = TypeVar("U")
TOOL = "cross_instance_migrate"
_NOT_COPIED = frozenset({"information_schema", "dokploy_mcp"})
What = Literal["schema", "data", "both"]
Existing = Literal["refuse", "truncate", "append"]
EXPOSE_DB = (
    "{side} {name!r} is a stack address, reached only through pg-meta, and rows cannot stream through pg-meta (COPY "
    "needs a direct connection). Make the stack's PostgreSQL reachable, then pass a connection string: either "
    "publish its db service on the host's loopback only (in Dokploy, the compose's db service: ports: "
    '["127.0.0.1:54322:5432"], then deploy) and open an SSH tunnel from here (ssh -N -L 54322:127.0.0.1:54322 '
    "<user>@<dokploy host>), or use a port Dokploy publishes for it. Next call: cross_instance_migrate with "
    '{side}: "postgresql://postgres:<POSTGRES_PASSWORD of the stack\'s env>@127.0.0.1:54322/postgres" and the '
    'other arguments unchanged. The schema alone can be copied through pg-meta now: what: "schema"'
)


@dataclass(frozen=True)
class MigrateRequest:
    source: str | None
    target: str | None
    what: What = "both"
    schemas: tuple[str, ...] = ("public",)
    #: The caller gave ``schemas`` (not the default): with ``include``, their tables are copied too.
    schemas_given: bool = False
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    existing: Existing = "refuse"
    restart: bool = False
    dry_run: bool = False
    verify: bool = True
    chunk_rows: int | None = None
    timeout_ms: int = 3_600_000
    confirm_token: str | None = None
    person: bool = False

    def arguments(self) -> dict[str, Any]:
        """What a confirm token is bound to."""
        return {
            "source": self.source,
            "target": self.target,
            "what": self.what,
            "schemas": list(self.schemas),
            "include": list(self.include),
            "exclude": list(self.exclude),
            "existing": self.existing,
            "restart": self.restart,
        }


@dataclass
class SchemaStep:
    changes: int = 0
    applied: bool = False
    statements: list[str] = field(default_factory=list)
    #: Indexes and constraints left for after the rows, and how many statements built them then.
    deferred: int = 0
    built_after_rows: int = 0


@dataclass
class TableReport:
    name: str
    est_rows: int
    size_bytes: int
    #: On the target before this call: missing, empty, non_empty, resumed (a checkpoint of an earlier run), done.
    state: str
    chunked: bool
    format: Literal["binary", "text"]
    rows_copied: int = 0
    bytes_copied: int = 0
    #: Rows an earlier run of this copy had committed (a resume continues after them).
    resumed_after: int = 0
    source_rows: int | None = None
    target_rows: int | None = None
    verified: bool | None = None


@dataclass
class MigrateOutcome:
    status: Literal["copied", "dry_run", "confirm", "mismatch", "schema_copied"]
    source: str
    target: str
    schema: SchemaStep | None = None
    tables: list[TableReport] = field(default_factory=list)
    sequences_set: int = 0
    rows_copied: int = 0
    bytes_copied: int = 0
    copy_ms: float | None = None
    verify_ms: float | None = None
    confirm_token: str | None = None
    notes: list[str] = field(default_factory=list)


# -- the flow ---------------------------------------------------------------------------------------------------------


def check_request(request: MigrateRequest) -> None:
    """What is wrong with the arguments themselves, before anything is opened."""
    from dokploy_mcp.postgres.transfer.catalog import split_pattern

    for field_name, patterns in (("include", request.include), ("exclude", request.exclude)):
        for pattern in patterns:
            split_pattern(pattern, field_name)
    for schema in _selection(request).all_schemas():
        if schema in _NOT_COPIED or schema.startswith("pg_"):
            raise InputError(
                f"schema {schema} is not copied: it is PostgreSQL's own, or this server's (dokploy_mcp holds the "
                "copy's checkpoints on the target); choose the schemas of your tables",
                field="include" if schema not in request.schemas else "schemas",
            )
    if request.source == request.target:
        raise InputError("source and target are the same database: give two different ones", field="target")
    if request.what == "schema" and request.existing != "refuse":
        raise InputError("existing applies to rows: leave it out when what is schema", field="existing")
    if request.what != "schema":
        for side, name in (("source", request.source), ("target", request.target)):
            if name is not None and not is_connection_string(name):
                raise InputError(EXPOSE_DB.format(side=side, name=name), field=side)


async def migrate(rt: Runtime, request: MigrateRequest, progress: Progress) -> MigrateOutcome:
    check_request(request)
    outcome = MigrateOutcome(status="copied", source=request.source or "DATABASE_URL", target=request.target or "")
    if request.what == "schema":
        outcome.schema = await _schema(rt, request, outcome, progress)
        outcome.status = "dry_run" if request.dry_run else "schema_copied"
        return outcome
    await _rows(rt, request, outcome, progress)
    return outcome


async def _schema(
    rt: Runtime, request: MigrateRequest, outcome: MigrateOutcome, progress: Progress, *, defer: bool = False
) -> SchemaStep:
    """The diff source -> target applied in one transaction; with ``defer``, the indexes and the unique, exclusion
    and foreign-key constraints are left for :func:`_build_later`, after the rows, as pg_restore orders them: each
    row then goes into its table and primary key only (a load into every index costs twice the time)."""
    changes = await _diff(rt, request, outcome, progress, after_rows=False)
    step = SchemaStep(changes=len(changes), statements=[change.sql for change in changes])
    now = [change.sql for change in changes if not (defer and built_after_rows(change.action, change.kind, change.sql))]
    step.deferred = len(changes) - len(now)
    if now and not request.dry_run:
        await progress(f"applying {len(now)} schema change(s) on the target in one transaction")
        await _apply(rt, request, now)
        step.applied = True
    return step


async def _build_later(rt: Runtime, request: MigrateRequest, outcome: MigrateOutcome, progress: Progress) -> None:
    """What a schema step left for after the rows, found by diffing again: a resumed copy finds the same, also one
    resumed with what: "data". Only those kinds of change are built here; the rest of the schema is the schema
    step's."""
    changes = await _diff(rt, request, outcome, progress, after_rows=True)
    statements = [change.sql for change in changes if built_after_rows(change.action, change.kind, change.sql)]
    if outcome.schema is None:
        outcome.schema = SchemaStep()
    if statements:
        await progress(
            f"building {len(statements)} index(es) and constraint(s) on the target, now that the rows are in"
        )
        try:
            await _apply(rt, request, statements)
        except DatabaseQueryError as exc:
            failed = statements[exc.step - 1] if exc.step and exc.step <= len(statements) else "one of them"
            raise DatabaseQueryError(
                f"the rows are copied, but building the indexes and constraints failed at {failed[:200]!r}: "
                f"{exc.message}. None of them was built (one transaction); the checkpoints stay. Fix the rows (a "
                "foreign key's orphans, a duplicate for a unique index), then make the same call again",
                target=exc.target,
                sqlstate=exc.sqlstate,
                detail=exc.detail,
                hint=exc.hint,
            ) from None
    outcome.schema.built_after_rows = len(statements)


_LATER_CONSTRAINT = re.compile(r'ADD CONSTRAINT (?:"(?:[^"]|"")*"|[^\s"]+) (?:UNIQUE|FOREIGN KEY|EXCLUDE)\b')


def built_after_rows(action: str, kind: str, sql: str) -> bool:
    """Whether a schema change waits for the rows: a new index, unique, exclusion or foreign-key constraint, and
    what names one (its comment, a replica identity using it). The primary key stays: chunks are ranges of it."""
    if action == "create" and kind == "index":
        return True
    if action == "create" and kind == "constraint":
        return bool(_LATER_CONSTRAINT.search(sql))
    return sql.startswith(("COMMENT ON INDEX", "COMMENT ON CONSTRAINT")) or "REPLICA IDENTITY USING INDEX" in sql


async def _diff(
    rt: Runtime, request: MigrateRequest, outcome: MigrateOutcome, progress: Progress, *, after_rows: bool
) -> list[Change]:
    schemas = _selection(request).all_schemas()
    await progress(f"comparing the schemas {', '.join(schemas)} of source and target")
    diffed = await generate_diff(rt, DiffRequest(source=request.source, target=request.target, schemas=tuple(schemas)))
    outcome.source, outcome.target = diffed.source, diffed.target
    outcome.notes.extend(note for note in diffed.notes if note not in outcome.notes)
    if diffed.diff.destructive and not after_rows:
        shown = "; ".join(f"{c.action} {c.kind} {c.name}" for c in diffed.diff.destructive[:10])
        raise InputError(
            f"making the target's schema like the source's would drop or rewrite "
            f"{len(diffed.diff.destructive)} object(s) on the target ({shown}). A copy does not do that on its own: "
            "review generate_diff's script and apply it with apply_migration (it asks for confirmation), or copy "
            'with what: "data" into the schema the target has',
            field="what",
        )
    return list(diffed.diff.changes)


async def _apply(rt: Runtime, request: MigrateRequest, statements: list[str]) -> None:
    opened = await open_route(rt, request.target)
    try:
        await opened.runner.run_script(statements, timeout_ms=request.timeout_ms)
    finally:
        await opened.aclose()


async def _rows(rt: Runtime, request: MigrateRequest, outcome: MigrateOutcome, progress: Progress) -> None:
    from dokploy_mcp.postgres.transfer.copying import Side

    source_db = await rt.database(request.source)
    target_db = await rt.database(request.target)
    outcome.source, outcome.target = source_db.target, target_db.target
    if source_db.target == target_db.target:
        raise InputError("source and target are the same database: give two different ones", field="target")
    timeout = min(rt.settings.timeout, 30.0)
    source = await in_thread(lambda: Side(source_db.conninfo, role="source", connect_timeout=timeout))
    try:
        target = await in_thread(lambda: Side(target_db.conninfo, role="target", connect_timeout=timeout))
        try:
            await _copy(rt, request, outcome, source, target, progress)
        finally:
            await in_thread(target.close)
    finally:
        await in_thread(source.close)


async def _copy(
    rt: Runtime, request: MigrateRequest, outcome: MigrateOutcome, source: Side, target: Side, progress: Progress
) -> None:
    """Everything that can refuse runs before anything is written: the schema step included."""
    from dokploy_mcp.postgres.transfer.plan import read_plan

    await progress("reading the tables of source and target")

    selection = _selection(request)
    plan = await in_thread(
        lambda: read_plan(
            source, target, selection, timeout_ms=request.timeout_ms, restart=request.restart, dry_run=request.dry_run
        )
    )
    outcome.notes.extend(plan.notes())
    plan.refuse(request.existing)
    if not request.dry_run and not _confirm(rt, request, outcome, plan):
        outcome.tables = [_report(plan, table) for table in plan.order.tables]
        return
    if request.what == "both":
        outcome.schema = await _schema(rt, request, outcome, progress, defer=True)
        if outcome.schema.applied:
            plan.target_tables = await in_thread(lambda: target.tables(selection.all_schemas()))
    problems = plan.problems(schema_pending=request.dry_run and request.what == "both")
    outcome.tables = [_report(plan, table) for table in plan.order.tables]
    if request.dry_run:
        outcome.status = "dry_run"
        outcome.notes.extend(problems)
        rows, size = sum(t.est_rows for t in plan.order.tables), sum(t.bytes for t in plan.order.tables)
        outcome.notes.append(
            f"dry run: nothing was written to the target. The copy would move {len(plan.order.tables)} table(s), "
            f"about {rows:,} rows ({_mb(size)} on the source's disk; estimates from its statistics)"
        )
        return
    if problems:
        raise InputError(
            "the target's tables do not match the source's: " + "; ".join(problems[:20]) + ". Copy the schema "
            'too (what: "both"), or fix the target\'s schema first (generate_diff shows how)',
            field="what",
        )
    await _copy_rows(rt, request, outcome, plan, (source, target), progress)


async def _copy_rows(
    rt: Runtime,
    request: MigrateRequest,
    outcome: MigrateOutcome,
    plan: Plan,
    sides: tuple[Side, Side],
    progress: Progress,
) -> None:
    source, target = sides
    fresh = [t for t in plan.order.tables if t.display not in plan.checkpoints]
    mode = request.existing if request.existing != "refuse" else "empty"
    truncate = request.existing == "truncate"
    # Indexes and constraints this run's schema step left for later, or an earlier interrupted run's.
    pending = bool(outcome.schema and outcome.schema.deferred) or any(
        checkpoint.schema_pending for checkpoint in plan.checkpoints.values()
    )
    started = await in_thread(
        lambda: target.start(outcome.source, fresh, truncate=truncate, mode=mode, schema_pending=pending)
    )
    checkpoints = {**plan.checkpoints, **started}
    began = time.perf_counter()
    await _copy_tables(request, outcome, plan, checkpoints, source, target, progress)
    await progress("setting the target's sequences to the source's values")
    values = await in_thread(lambda: source.sequences(plan.order.tables))
    missing = await in_thread(lambda: target.set_sequences(values))
    outcome.sequences_set = len(values) - len(missing)
    if missing:
        outcome.notes.append("sequences missing on the target (not set): " + ", ".join(missing))
    if pending:
        await _build_later(rt, request, outcome, progress)
    await _refresh(outcome, request, source, target, progress)
    outcome.copy_ms = round((time.perf_counter() - began) * 1000, 1)
    if request.verify:
        await _verify(outcome, plan, checkpoints, source, target, progress)
    if outcome.status == "copied":
        await in_thread(lambda: target.forget(outcome.source))


async def _refresh(
    outcome: MigrateOutcome, request: MigrateRequest, source: Side, target: Side, progress: Progress
) -> None:
    """The target's materialized views that hold rows on the source, refreshed now that their tables are filled."""
    matviews = await in_thread(lambda: source.populated_matviews(_selection(request).all_schemas()))
    if not matviews:
        return
    await progress(f"refreshing {len(matviews)} materialized view(s) on the target")
    missing = await in_thread(lambda: target.refresh(matviews))
    outcome.notes.append(f"refreshed {len(matviews) - len(missing)} materialized view(s) on the target")
    if missing:
        outcome.notes.append("materialized views missing on the target (not refreshed): " + ", ".join(missing))


def _selection(request: MigrateRequest) -> Selection:
    from dokploy_mcp.postgres.transfer.catalog import Selection

    return Selection(request.schemas, request.include, request.exclude, request.schemas_given)


def _confirm(rt: Runtime, request: MigrateRequest, outcome: MigrateOutcome, plan: Plan) -> bool:
    """Whether the copy may go on: emptying tables that hold rows is confirmed by the person or by a token."""
    if request.existing != "truncate" or not plan.non_empty or request.person:
        return True
    if request.confirm_token is None:
        outcome.status = "confirm"
        outcome.confirm_token = rt.confirmer.issue(TOOL, request.arguments(), _state(outcome, plan)).token
        outcome.notes.append(
            f"existing: truncate empties {', '.join(sorted(plan.non_empty))} on the target before the copy. Nothing "
            "was written: call again with this confirm_token (or dry_run first)"
        )
        return False
    rt.confirmer.verify(request.confirm_token, TOOL, request.arguments(), _state(outcome, plan))
    return True


def _state(outcome: MigrateOutcome, plan: Plan) -> dict[str, Any]:
    # The token holds for these tables holding rows on this target: a table filled since asks again.
    return {"target": outcome.target, "non_empty": sorted(plan.non_empty)}


def _report(plan: Plan, table: Table) -> TableReport:
    checkpoint = plan.checkpoints.get(table.display)
    if checkpoint is not None:
        state = "done" if checkpoint.status == "done" else "resumed"
    elif table.display in plan.missing:
        state = "missing"
    else:
        state = "non_empty" if table.display in plan.non_empty else "empty"
    return TableReport(
        name=table.display,
        est_rows=table.est_rows,
        size_bytes=table.bytes,
        state=state,
        chunked=plan.chunked(table),
        format="binary" if table.binary else "text",
        resumed_after=checkpoint.rows if checkpoint is not None else 0,
    )


async def _copy_tables(
    request: MigrateRequest,
    outcome: MigrateOutcome,
    plan: Plan,
    checkpoints: dict[str, Checkpoint],
    source: Side,
    target: Side,
    progress: Progress,
) -> None:
    reports = {report.name: report for report in outcome.tables}
    count = len(plan.order.tables)
    for number, table in enumerate(plan.order.tables, start=1):
        checkpoint = checkpoints[table.display]

        async def say(
            message: str, table: Table = table, checkpoint: Checkpoint = checkpoint, number: int = number
        ) -> None:
            # Every progress step is a safe point: a stop there says what the target keeps.
            try:
                await progress(
                    f"{message} (table {number} of {count}; in all {outcome.rows_copied:,} rows, "
                    f"{_mb(outcome.bytes_copied)} streamed)"
                )
            except JobStoppedError as exc:
                raise JobStoppedError(f"{exc}: {_kept(table, checkpoint)}") from None

        if checkpoint.status != "done":
            await _copy_table(request, outcome, plan, checkpoint, table, (source, target), reports[table.display], say)
        await say(f"{table.display}: copied")


async def _copy_table(
    request: MigrateRequest,
    outcome: MigrateOutcome,
    plan: Plan,
    checkpoint: Checkpoint,
    table: Table,
    sides: tuple[Side, Side],
    report: TableReport,
    say: Progress,
) -> None:
    from dokploy_mcp.postgres.transfer.copying import copy_chunk, next_bound
    from dokploy_mcp.postgres.transfer.plan import chunk_rows

    source, target = sides
    rows = chunk_rows(table, request.chunk_rows)
    chunked = plan.chunked(table)
    while True:
        await say(f"{table.display}: {checkpoint.rows:,} rows so far, {_mb(checkpoint.bytes)} of ~{_mb(table.bytes)}")
        upper = await in_thread(partial(next_bound, source, table, checkpoint.last_key, rows)) if chunked else None
        try:
            result = await stoppable_in_thread(partial(copy_chunk, source, target, table, checkpoint, upper))
        except DatabaseError as exc:
            raise _copy_failed(exc, outcome, table, checkpoint, upper) from None
        except JobStoppedError:
            raise JobStoppedError(
                f"the job was stopped while copying {table.display}: {_kept(table, checkpoint)}"
            ) from None
        checkpoint.rows += result.rows
        checkpoint.bytes += result.bytes
        checkpoint.last_key = result.last_key
        report.rows_copied += result.rows
        report.bytes_copied += result.bytes
        outcome.rows_copied += result.rows
        outcome.bytes_copied += result.bytes
        if upper is None:
            checkpoint.status = "done"
            return


def _kept(table: Table, checkpoint: Checkpoint) -> str:
    return (
        f"the target keeps the first {checkpoint.rows:,} rows of {table.display} (its checkpoint) and the tables "
        "before it; the same call resumes from there"
    )


def _copy_failed(
    exc: DatabaseError, outcome: MigrateOutcome, table: Table, checkpoint: Checkpoint, upper: list[str] | None
) -> CopyFailedError:
    first = checkpoint.rows + 1
    after = f" after key ({', '.join(table.key)}) = ({', '.join(checkpoint.last_key)})" if checkpoint.last_key else ""
    until = f" up to ({', '.join(upper)})" if upper is not None else ""
    return CopyFailedError(
        f"copying {table.display} failed in its rows from row {first:,}{after}{until}: {exc}. That chunk was rolled "
        f"back: the target keeps the table's first {checkpoint.rows:,} rows, as its checkpoint says (and the tables "
        "before it in full). Fix the cause, then make the same call again: it resumes from the checkpoint",
        target=outcome.target,
        table=table.display,
        kept=checkpoint.rows,
        sqlstate=getattr(exc, "sqlstate", None),
    )


async def _verify(
    outcome: MigrateOutcome,
    plan: Plan,
    checkpoints: dict[str, Checkpoint],
    source: Side,
    target: Side,
    progress: Progress,
) -> None:
    began = time.perf_counter()
    reports = {report.name: report for report in outcome.tables}
    for table in plan.order.tables:
        await progress(f"checksum pass: {table.display}")
        (source_rows, source_sum), (target_rows, target_sum) = await _both(
            partial(source.checksum, table), partial(target.checksum, plan.target_tables[table.display])
        )
        base = checkpoints[table.display]
        report = reports[table.display]
        report.source_rows, report.target_rows = source_rows, target_rows - base.base_rows
        report.verified = target_rows == source_rows + base.base_rows and target_sum == source_sum + base.base_sum
    outcome.verify_ms = round((time.perf_counter() - began) * 1000, 1)
    bad = [report.name for report in outcome.tables if report.verified is False]
    if bad:
        outcome.status = "mismatch"
        outcome.notes.append(
            "the checksum pass found differences in: " + ", ".join(bad) + ". Usual causes: the target's triggers "
            "changed rows as they arrived, or the source changed between a failed run and its resume. The "
            'checkpoints are kept; copy again with existing: "truncate" and restart: true for a clean copy'
        )


async def _both(first: Callable[[], T], second: Callable[[], U]) -> tuple[T, U]:
    """Two blocking reads at once, one per side's connection: the checksum pass reads both sides in parallel."""
    results: dict[int, Any] = {}

    async def run(index: int, call: Callable[[], Any]) -> None:
        results[index] = await in_thread(call)

    async with anyio.create_task_group() as group:
        group.start_soon(run, 0, first)
        group.start_soon(run, 1, second)
    return results[0], results[1]


def _mb(size: int) -> str:
    return f"{size / 1_048_576:,.1f} MB"


async def truncate_preview(rt: Runtime, request: MigrateRequest) -> str | None:
    """For the person asked to confirm ``existing: truncate``: which target tables it empties (None: none holds
    rows, nothing to confirm)."""
    planned = MigrateOutcome(status="dry_run", source="", target="")
    await _rows(rt, replace(request, dry_run=True, what="data"), planned, _quiet)
    emptied = [report.name for report in planned.tables if report.state == "non_empty"]
    if not emptied:
        return None
    shown = ", ".join(emptied[:20]) + (", ..." if len(emptied) > 20 else "")
    return (
        f"Empty {len(emptied)} table(s) on {planned.target} ({shown}) and copy {planned.source}'s rows into them? "
        "Their current rows are deleted (TRUNCATE)."
    )


async def _quiet(_: str) -> None:
    return None
