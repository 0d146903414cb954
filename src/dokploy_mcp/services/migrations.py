"""Migrations over a database ``target``, on either route: list, apply, roll back, and diff two schemas.

History is the Supabase CLI's own table (``postgres.history``), so the CLI and this server can take turns on one
database. Applying is one transaction on one connection (direct) or one text (pg-meta): lock, history tables, the
version still free, the migration's statements, the history rows, and a confirm token's use mark where there is one;
any failure rolls all of it back. A dry run is the same transaction rolled back, with the catalog read at its end
and compared to the catalog before. Statements that destroy or rewrite data are confirmed first (by the person
where the client can ask, else by a token bound to the arguments).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from dokploy_mcp.confirm import USED_MESSAGE, ConfirmationError
from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres import history
from dokploy_mcp.postgres.errors import DatabaseQueryError, PartlyAppliedError, SqlRefused
from dokploy_mcp.postgres.history import AppliedMigration, LocalMigration
from dokploy_mcp.postgres.statement import TOKEN_USED_SQLSTATE, ScriptResult, UseMark
from dokploy_mcp.progress import Progress, safe_point
from dokploy_mcp.redact import scrub
from dokploy_mcp.services.database import OpenRoute, open_route

if TYPE_CHECKING:
    from dokploy_mcp.postgres.migration_sql import MigrationScript
    from dokploy_mcp.postgres.schemadiff import ObjectChanges
    from dokploy_mcp.runtime import Runtime

ApplyStatus = Literal["applied", "dry_run", "already_applied", "confirm"]
_NO_DOWN = (
    "migration {version} has no down SQL stored (it was applied without down_sql, or by the Supabase CLI), so it "
    "cannot be rolled back here. Instead: apply a new forward migration that undoes it, or compare with a backup "
    "using generate_diff (source: the backup's database, target: this one) and apply that diff as a migration"
)


# -- list -------------------------------------------------------------------------------------------------------------


@dataclass
class MigrationList:
    route: str
    target: str
    applied: list[AppliedMigration]
    #: Files in ``folder`` whose version is not applied, in order.
    pending: list[LocalMigration] = field(default_factory=list)
    #: Applied versions whose statements differ from the file of the same version.
    drift: list[str] = field(default_factory=list)
    #: Applied versions with no file in ``folder``.
    not_in_folder: list[str] = field(default_factory=list)
    #: Files that could not be read or parsed.
    unreadable: list[LocalMigration] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


async def list_migrations(rt: Runtime, target: str | None, folder: str | None) -> MigrationList:
    """The applied migrations (ours and the CLI's), and with ``folder`` what is pending or drifted."""
    local = history.read_folder(folder, _file_checksum) if folder is not None else None
    opened = await open_route(rt, target)
    try:
        applied = await _applied(opened)
    finally:
        await opened.aclose()
    listing = MigrationList(route=opened.route, target=opened.display, applied=applied, notes=list(opened.notes))
    if not applied:
        listing.notes.append("no migration history yet (supabase_migrations.schema_migrations is absent or empty)")
    if local is not None:
        _compare(listing, local)
    return listing


def _file_checksum(text: str) -> str:
    from dokploy_mcp.postgres.migration_sql import analyse

    return analyse(text).checksum


def _compare(listing: MigrationList, local: list[LocalMigration]) -> None:
    applied = {migration.version: migration for migration in listing.applied}
    files = {migration.version: migration for migration in local}
    for migration in local:
        if migration.problem is not None:
            listing.unreadable.append(migration)
        known = applied.get(migration.version)
        if known is None:
            listing.pending.append(migration)
        elif migration.checksum is not None and known.checksum is not None and migration.checksum != known.checksum:
            listing.drift.append(migration.version)
    listing.not_in_folder = [version for version in applied if version not in files]


async def _applied(opened: OpenRoute) -> list[AppliedMigration]:
    tables = await _tables(opened)
    if not tables["cli"]:
        return []
    result = await opened.runner.execute(
        history.applied_query(side_table=bool(tables["ours"])), read_only=True, max_rows=100_000, max_bytes=32_000_000
    )
    names = [column.name for column in result.columns]
    return [AppliedMigration.from_row(dict(zip(names, row, strict=True))) for row in result.rows]


async def _tables(opened: OpenRoute) -> dict[str, Any]:
    result = await opened.runner.execute(history.TABLES_QUERY, read_only=True, max_rows=1)
    names = [column.name for column in result.columns]
    return dict(zip(names, result.rows[0], strict=True))


# -- apply ------------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ApplyRequest:
    name: str
    sql: str
    target: str | None
    version: str | None = None
    down_sql: str | None = None
    dry_run: bool = False
    transactional: bool = True
    timeout_ms: int = 300_000
    confirm_token: str | None = None
    #: A person confirmed this call (elicitation): no token is needed.
    person: bool = False
    #: The MCP client's name, recorded with the migration.
    client: str | None = None


@dataclass
class ApplyOutcome:
    status: ApplyStatus
    version: str
    name: str
    route: str
    target: str
    statements: int
    destructive: list[str]
    objects: ObjectChanges | None = None
    duration_ms: float | None = None
    confirm_token: str | None = None
    notes: list[str] = field(default_factory=list)


def enum_value_note(up: MigrationScript) -> str | None:
    from dokploy_mcp.postgres.migration_sql import enum_value_note as note

    return note(up)


def read_migration(request: ApplyRequest) -> tuple[MigrationScript, MigrationScript | None]:
    """The up and down SQL, read and checked against the request's mode; nothing opened yet."""
    from dokploy_mcp.postgres.migration_sql import analyse

    history.check_name(request.name)
    if request.version is not None:
        history.check_version(request.version)
    up = analyse(request.sql)
    down = analyse(request.down_sql, field_name="down_sql") if request.down_sql is not None else None
    for script, name in ((up, "sql"), (down, "down_sql")):
        if script is not None and script.transaction_control:
            raise SqlRefused(
                f"{name} holds {', '.join(script.transaction_control)}: a migration runs in one transaction of its "
                "own, so it must not open or end one; remove those statements",
                field=name,
            )
    if down is not None and down.outside_transaction:
        raise SqlRefused(
            "down_sql holds statements that cannot run in a transaction (" + "; ".join(down.outside_transaction) + "); "
            "a rollback runs in one transaction: rewrite them (e.g. without CONCURRENTLY)",
            field="down_sql",
        )
    _check_mode(request, up)
    return up, down


def _check_mode(request: ApplyRequest, up: MigrationScript) -> None:
    if request.transactional and up.marked_no_transaction:
        raise SqlRefused(
            "the SQL starts with the CLI's '-- pg-delta: transaction=false' marker: apply it with transactional: "
            "false (each statement commits on its own and a failure cannot be rolled back)",
            field="transactional",
        )
    if request.transactional and up.outside_transaction:
        raise SqlRefused(
            "the migration holds statements that cannot run inside a transaction ("
            + "; ".join(up.outside_transaction)
            + "). Put them in a migration of their own and apply it with transactional: false: each statement then "
            "commits on its own, and if one fails the ones before it stay applied (nothing can be rolled back)",
            field="sql",
        )
    if not request.transactional and request.dry_run:
        raise InputError(
            "a dry run is a transaction that is rolled back, which a non-transactional migration cannot run in: "
            "review its statements instead",
            field="dry_run",
        )


def apply_preview(request: ApplyRequest) -> str | None:
    """What a destructive migration does, for the person asked to confirm; None when nothing in it destroys data."""
    if request.dry_run:
        return None
    up, _ = read_migration(request)
    if not up.destructive:
        return None
    where = scrub(request.target) if request.target else "DATABASE_URL"
    return (
        f"Apply migration {request.name} to {where}? It destroys or rewrites data: "
        + "; ".join(up.destructive[:10])
        + ("; ..." if len(up.destructive) > 10 else "")
        + (". It runs in one transaction." if request.transactional else ". It runs WITHOUT a transaction.")
    )


async def apply_migration(rt: Runtime, request: ApplyRequest, progress: Progress) -> ApplyOutcome:
    up, _ = read_migration(request)
    opened = await open_route(rt, request.target)
    try:
        applied = {m.version: m for m in await _applied(opened)}
        version = request.version or _next_version(applied)
        outcome = ApplyOutcome(
            status="applied",
            version=version,
            name=request.name,
            route=opened.route,
            target=opened.display,
            statements=len(up.runnable),
            destructive=up.destructive,
            notes=list(opened.notes),
        )
        known = applied.get(version)
        if known is not None:
            return _already(outcome, known, up)
        token_id = None
        if up.destructive and not request.dry_run and not request.person:
            token_id = _confirm(rt, request, opened, outcome)
            if token_id is None:
                return outcome
        if request.transactional and (note := enum_value_note(up)) is not None:
            outcome.notes.append(note)
        await safe_point()
        await progress(f"applying migration {version}_{request.name} ({len(up.runnable)} statements)")
        if request.dry_run:
            outcome.objects, outcome.duration_ms = await _dry_run(
                opened, _steps(request, up, version), request.timeout_ms
            )
            outcome.status = "dry_run"
            outcome.notes.append("dry run: the migration ran in a transaction that was rolled back; nothing changed")
        elif request.transactional:
            await _apply_in_transaction(rt, opened, request, up, version, token_id, outcome)
        else:
            await _apply_each(opened, request, up, version, outcome)
    finally:
        await opened.aclose()
    return outcome


def _next_version(applied: dict[str, AppliedMigration]) -> str:
    """Now, as the CLI makes versions; one second past the newest applied one when now is not past it (two
    migrations within one second, or a clock behind the last version), so that versions keep their order."""
    now = history.new_version()
    newest = max((int(v) for v in applied if v.isdigit() and len(v) == len(now)), default=0)
    return now if int(now) > newest else str(newest + 1)


def _already(outcome: ApplyOutcome, known: AppliedMigration, up: MigrationScript) -> ApplyOutcome:
    if known.checksum is not None and known.checksum != up.checksum:
        raise InputError(
            f"migration {known.version} ({known.name}) is already applied with different SQL (checksum "
            f"{known.checksum[:12]}..., this SQL {up.checksum[:12]}...): give a new version (or omit version) for a "
            "new migration; history is never rewritten",
            field="version",
        )
    outcome.status = "already_applied"
    outcome.notes.append(f"migration {known.version} is already applied with the same SQL: nothing was run")
    return outcome


def _arguments(request: ApplyRequest) -> dict[str, Any]:
    return {
        "name": request.name,
        "sql": request.sql,
        "target": request.target,
        "version": request.version,
        "down_sql": request.down_sql,
        "transactional": request.transactional,
    }


def _confirm(rt: Runtime, request: ApplyRequest, opened: OpenRoute, outcome: ApplyOutcome) -> str | None:
    arguments = _arguments(request)
    if request.confirm_token is None:
        outcome.status = "confirm"
        outcome.confirm_token = rt.confirmer.issue("apply_migration", arguments, opened.display).token
        outcome.notes.append(
            "destructive: " + "; ".join(outcome.destructive) + ". Nothing ran: call again with this confirm_token "
            "(or try dry_run first to see what it changes)"
        )
        return None
    return rt.confirmer.verify(request.confirm_token, "apply_migration", arguments, opened.display)


def _steps(request: ApplyRequest, up: MigrationScript, version: str) -> list[str]:
    return history.apply_steps(
        version=version,
        name=request.name,
        statements=up.history,
        runnable=up.runnable,
        checksum=up.checksum,
        down_sql=request.down_sql,
        client=request.client,
    )


async def _dry_run(opened: OpenRoute, steps: list[str], timeout_ms: int) -> tuple[ObjectChanges, float]:
    """``steps`` in a transaction that is rolled back, with the catalog read at its end: what they would create,
    alter and drop (against the catalog read before), and how long they took."""
    from dokploy_mcp.postgres.schemadiff import JIT_OFF, catalog_query, object_changes, parse_catalog, read_catalog

    before = await read_catalog(opened.runner)
    result = await opened.runner.run_script(
        [*steps, JIT_OFF, catalog_query()], commit=False, timeout_ms=timeout_ms, max_bytes=64_000_000
    )
    if not result.rows:
        raise DatabaseQueryError("the dry run's catalog read answered nothing", target=opened.display, sqlstate=None)
    return object_changes(before, parse_catalog(result.rows[-1]["catalog"])), result.duration_ms


async def _run_marked(
    rt: Runtime, opened: OpenRoute, steps: list[str], token_id: str | None, tool: str, timeout_ms: int
) -> ScriptResult:
    """``steps`` in one transaction, with the confirm token's use mark after the lock: a replay from any process
    fails there; a failure that changed nothing gives the token back."""
    if token_id is not None:
        steps = [steps[0], UseMark(token_id, tool).sql(), *steps[1:]]
    try:
        return await opened.runner.run_script(steps, timeout_ms=timeout_ms)
    except DatabaseQueryError as exc:
        if token_id is not None and exc.sqlstate == TOKEN_USED_SQLSTATE:
            raise ConfirmationError(USED_MESSAGE, reason="used") from None
        _give_back(rt, token_id)
        raise
    except BaseException:
        _give_back(rt, token_id)
        raise


async def _apply_in_transaction(
    rt: Runtime,
    opened: OpenRoute,
    request: ApplyRequest,
    up: MigrationScript,
    version: str,
    token_id: str | None,
    outcome: ApplyOutcome,
) -> None:
    steps = _steps(request, up, version)
    try:
        result = await _run_marked(rt, opened, steps, token_id, "apply_migration", request.timeout_ms)
    except DatabaseQueryError as exc:
        if exc.sqlstate == history.VERSION_TAKEN_SQLSTATE:
            raise InputError(
                f"migration {version} was applied by another call while this one waited for the migration lock: "
                "nothing of this one ran; list_migrations shows what is applied",
                field="version",
            ) from None
        # The use mark, when there is one, ran as step 2: the migration's statements come one step later.
        raise _located(exc, len(steps) + (token_id is not None), up) from None
    outcome.duration_ms = result.duration_ms
    outcome.notes.extend(result.notices)


def _located(exc: DatabaseQueryError, ran: int, up: MigrationScript) -> DatabaseQueryError:
    """The error with the migration's own statement number, where the route could tell which step (of the ``ran``
    it was sent) failed: the migration's statements are followed by the two history rows."""
    lead = ran - len(up.runnable) - 2
    step = exc.step
    where = ""
    if step is not None and lead < step <= lead + len(up.runnable):
        number = step - lead
        where = f"statement {number} of the migration ({up.runnable[number - 1][:120]!r}) failed: "
    error = DatabaseQueryError(
        f"{where}{exc.message}; the migration was rolled back: nothing of it is applied and no history row was written",
        target=exc.target,
        sqlstate=exc.sqlstate,
        detail=exc.detail,
        hint=exc.hint,
    )
    error.step = step
    return error


async def _apply_each(
    opened: OpenRoute, request: ApplyRequest, up: MigrationScript, version: str, outcome: ApplyOutcome
) -> None:
    """Each statement commits on its own; the history rows follow in a transaction once all of them ran."""
    try:
        result = await opened.runner.run_script(up.runnable, transaction=False, timeout_ms=request.timeout_ms)
    except DatabaseQueryError as exc:
        ran = (exc.step or 1) - 1
        raise PartlyAppliedError(
            f"statement {ran + 1} of {len(up.runnable)} failed: {exc.message}. This migration ran without a "
            f"transaction: the {ran} statement(s) before it stay applied, and no history row was written. Fix the "
            "cause, then apply the remaining statements as a new migration (or undo the applied ones by hand)",
            target=opened.display,
            applied=ran,
            total=len(up.runnable),
        ) from None
    record = history.apply_steps(
        version=version,
        name=request.name,
        statements=up.history,
        runnable=[],
        checksum=up.checksum,
        down_sql=request.down_sql,
        client=request.client,
    )
    await opened.runner.run_script(record, timeout_ms=request.timeout_ms)
    outcome.duration_ms = result.duration_ms
    outcome.notes.append("applied without a transaction: each statement committed on its own")


def _give_back(rt: Runtime, token_id: str | None) -> None:
    if token_id is not None:
        rt.confirmer.release(token_id)


# -- roll back --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RollbackRequest:
    version: str
    target: str | None
    dry_run: bool = False
    timeout_ms: int = 300_000
    confirm_token: str | None = None
    person: bool = False


@dataclass
class RollbackOutcome:
    status: Literal["rolled_back", "dry_run", "confirm"]
    version: str
    name: str
    route: str
    target: str
    down_sql: str
    objects: ObjectChanges | None = None
    duration_ms: float | None = None
    confirm_token: str | None = None
    notes: list[str] = field(default_factory=list)


async def rollback_preview(rt: Runtime, request: RollbackRequest) -> str | None:
    """The down SQL that would run, for the person asked to confirm (read from the database)."""
    if request.dry_run:
        return None
    history.check_version(request.version)
    opened = await open_route(rt, request.target)
    try:
        name, down = await _stored_down(opened, request.version)
    finally:
        await opened.aclose()
    excerpt = scrub(down if len(down) <= 600 else down[:600] + " ...")
    where = scrub(request.target) if request.target else "DATABASE_URL"
    return (
        f"Roll back migration {request.version} ({name}) on {where}? Its down SQL runs and its history row is "
        f"removed, in one transaction:\n{excerpt}"
    )


async def _stored_down(opened: OpenRoute, version: str) -> tuple[str, str]:
    tables = await _tables(opened)
    if not tables["cli"]:
        raise InputError(f"migration {version} is not applied: this database has no migration history", field="version")
    query = history.down_sql_query(version, side_table=bool(tables["ours"]))
    result = await opened.runner.execute(query, read_only=True, max_rows=1, max_bytes=8_000_000)
    if not result.rows:
        raise InputError(f"migration {version} is not applied here (list_migrations shows what is)", field="version")
    _, name, down = result.rows[0]
    if not isinstance(down, str):
        raise InputError(_NO_DOWN.format(version=version), field="version")
    return str(name or ""), down


async def rollback_migration(rt: Runtime, request: RollbackRequest, progress: Progress) -> RollbackOutcome:
    history.check_version(request.version)
    opened = await open_route(rt, request.target)
    try:
        name, down_sql = await _stored_down(opened, request.version)
        later = await opened.runner.execute(history.later_versions_query(request.version), read_only=True, max_rows=50)
        if later.rows:
            newer = ", ".join(str(row[0]) for row in later.rows)
            raise InputError(
                f"migrations applied after {request.version} are still in place ({newer}): roll those back first, "
                "newest first, so that each down SQL meets the schema it was written for",
                field="version",
            )
        from dokploy_mcp.postgres.migration_sql import analyse

        down = analyse(down_sql, field_name="down_sql")
        outcome = RollbackOutcome(
            status="rolled_back",
            version=request.version,
            name=name,
            route=opened.route,
            target=opened.display,
            down_sql=scrub(down_sql),
            notes=list(opened.notes),
        )
        token_id = None
        if not request.dry_run and not request.person:
            token_id = _confirm_rollback(rt, request, opened, outcome)
            if token_id is None:
                return outcome
        await safe_point()
        await progress(f"rolling back migration {request.version}_{name}")
        await _run_rollback(rt, opened, request, down, token_id, outcome)
    finally:
        await opened.aclose()
    return outcome


def _confirm_rollback(rt: Runtime, request: RollbackRequest, opened: OpenRoute, outcome: RollbackOutcome) -> str | None:
    arguments = {"version": request.version, "target": request.target}
    if request.confirm_token is None:
        outcome.status = "confirm"
        outcome.confirm_token = rt.confirmer.issue("rollback_migration", arguments, opened.display).token
        outcome.notes.append(
            "rolling back runs the down SQL below and removes the history row. Nothing ran: call again with this "
            "confirm_token (or dry_run first)"
        )
        return None
    return rt.confirmer.verify(request.confirm_token, "rollback_migration", arguments, opened.display)


async def _run_rollback(
    rt: Runtime,
    opened: OpenRoute,
    request: RollbackRequest,
    down: MigrationScript,
    token_id: str | None,
    outcome: RollbackOutcome,
) -> None:
    steps = history.rollback_steps(version=request.version, runnable=down.runnable)
    if request.dry_run:
        outcome.objects, outcome.duration_ms = await _dry_run(opened, steps, request.timeout_ms)
        outcome.status = "dry_run"
        outcome.notes.append("dry run: the down SQL ran in a transaction that was rolled back; nothing changed")
        return
    try:
        result = await _run_marked(rt, opened, steps, token_id, "rollback_migration", request.timeout_ms)
    except DatabaseQueryError as exc:
        raise DatabaseQueryError(
            f"the down SQL failed: {exc.message}; the rollback was rolled back: the migration is still applied",
            target=exc.target,
            sqlstate=exc.sqlstate,
            detail=exc.detail,
            hint=exc.hint,
        ) from None
    outcome.duration_ms = result.duration_ms
