"""The backup flows of the direct route: create, restore (verified before and proven after), list, clean up.

- **create**: ``pg_dump -Fc`` from a snapshot this server exports, streamed through zstd and chunked AES-256-GCM into
  the store (a local directory or S3), the per-table counts and checksums of the same snapshot into the manifest,
  written last. Nothing unencrypted is written, and without a key nothing at all.
- **restore**: the manifest read, every chunk of the file authenticated and its sha256 compared, all before anything
  is written; then a new database (by default) is created and the archive restored into it in one transaction; then
  the restored database's own counts and checksums are compared with the manifest's, table by table. Restoring over
  an existing database is confirmed (by the person, or a token) and preceded by a backup of it.
- **list** and **cleanup**: from the manifests; a cleanup deletes only files a manifest names, dry run by default.
"""

from __future__ import annotations

import io
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from dokploy_mcp import __version__
from dokploy_mcp.backups.errors import BackupIntegrityError, BackupNotFoundError
from dokploy_mcp.backups.manifest import BACKUP_ID, MANIFEST_LIMIT, Manifest, TableEntry, new_backup_id, parse_manifest
from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres.targets import is_connection_string
from dokploy_mcp.progress import Progress, in_thread, shielded, stoppable_in_thread

if TYPE_CHECKING:
    from dokploy_mcp.backups.retention import CleanupPlan, RetentionPolicy
    from dokploy_mcp.backups.sealing import KeyMaterial
    from dokploy_mcp.backups.storage import BackupStore
    from dokploy_mcp.postgres.conninfo import ConnInfo
    from dokploy_mcp.runtime import Runtime

T = TypeVar("T")
SEALED_SUFFIX = ".dkbk"
DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
MANIFEST_SUFFIX = ".json"
TOOL_RESTORE = "restore_backup"
TOOL_CLEANUP = "cleanup_backups"
STACK_ROUTE = (
    "{name!r} is a stack address: its PostgreSQL is reachable only inside the stack's Docker network, and this "
    "server backs up a database it can connect to. Make it reachable (publish the db service on the host's loopback, "
    'ports: ["127.0.0.1:54322:5432"], deploy, then ssh -N -L 54322:127.0.0.1:54322 <user>@<dokploy host>) and pass '
    '"postgresql://postgres:<POSTGRES_PASSWORD>@127.0.0.1:54322/postgres" as target'
)


@dataclass
class TableCheck:
    table: str
    rows: int
    restored_rows: int | None = None
    verified: bool | None = None


@dataclass
class BackupOutcome:
    status: Literal["created", "restored", "mismatch", "confirm"]
    backup_id: str
    store: str
    source: str = ""
    database: str = ""
    tables: list[TableCheck] = field(default_factory=list)
    dump_bytes: int = 0
    sealed_bytes: int = 0
    sha256: str = ""
    dump_ms: int = 0
    verify_ms: int = 0
    restore_ms: int = 0
    safety_backup: str | None = None
    confirm_token: str | None = None
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class ListedBackup:
    backup_id: str
    created_at: datetime
    database: str
    source: str
    route: str
    covers: list[str]
    sealed_bytes: int
    tables: int
    rows: int
    verified_at: datetime | None


# -- the key and the store --------------------------------------------------------------------------------------------


def backup_key(rt: Runtime) -> KeyMaterial:
    from dokploy_mcp.backups.sealing import load_key

    settings = rt.settings
    return load_key(
        key=settings.backup_key.get_secret_value() if settings.backup_key else None,
        key_file=settings.backup_key_file,
        passphrase=settings.backup_passphrase.get_secret_value() if settings.backup_passphrase else None,
    )


def backup_store(rt: Runtime) -> BackupStore:
    from dokploy_mcp.backups.storage import open_store

    settings = rt.settings
    return open_store(
        directory=settings.backup_directory, s3_url=settings.backup_s3_url, s3_endpoint=settings.s3_endpoint
    )


def _db(info: ConnInfo, call: Callable[[], T]) -> T:
    from dokploy_mcp.postgres.dumps import database_errors

    return database_errors(info.masked(), call)


def _direct_target(target: str | None) -> None:
    if target is not None and not is_connection_string(target):
        raise InputError(STACK_ROUTE.format(name=target), field="target")


def _check_id(backup_id: str) -> None:
    if not BACKUP_ID.match(backup_id):
        raise InputError(
            f"{backup_id[:40]!r} is not a backup id (like 20261206T071500Z-3f9a1c): take one from list_backups",
            field="backup_id",
        )


# -- create -----------------------------------------------------------------------------------------------------------


async def create_backup(rt: Runtime, target: str | None, progress: Progress) -> BackupOutcome:
    """Back up the database ``target`` names (a connection string, or DATABASE_URL) into the store."""
    _direct_target(target)
    key = backup_key(rt)
    store = await in_thread(lambda: backup_store(rt))
    database = await rt.database(target)
    await progress(f"dumping {database.target} into {store.describe()}")
    info = database.conninfo
    manifest = await stoppable_in_thread(lambda stop: _db(info, lambda: _dump_into(store, key, info, stop)))
    return BackupOutcome(
        status="created",
        backup_id=manifest.id,
        store=store.describe(),
        source=manifest.source,
        database=manifest.database,
        tables=[TableCheck(entry.table, entry.rows) for entry in manifest.tables],
        dump_bytes=manifest.dump_bytes,
        sealed_bytes=manifest.sealed_bytes,
        sha256=manifest.sha256,
        dump_ms=manifest.dump_ms,
        notes=[
            f"encrypted with {manifest.encryption.get('algorithm', 'AES-256-GCM')}; keep the backup key apart from "
            "the backups: without it the file cannot be read"
        ],
    )


def _dump_into(store: BackupStore, key: KeyMaterial, info: ConnInfo, should_stop: Callable[[], bool]) -> Manifest:
    from dokploy_mcp.backups.sealing import Sealer
    from dokploy_mcp.postgres.dumps import dump_database

    backup_id = new_backup_id()
    name = backup_id + SEALED_SUFFIX
    started = time.monotonic()
    with store.writer(name) as writer:
        sealer = Sealer(key, writer.write)
        dumped = dump_database(info.to_dict(), sealer.write, should_stop=should_stop)
        sealed = sealer.close()
    manifest = Manifest(
        id=backup_id,
        created_at=datetime.now(UTC),
        tool_version=__version__,
        source=info.masked(),
        database=info.dbname or "",
        server_version=dumped.server_version,
        server_major=dumped.server_major,
        dump_tool_major=dumped.tool_major,
        file=name,
        dump_bytes=dumped.dump_bytes,
        sealed_bytes=sealed.sealed_bytes,
        sha256=sealed.sha256,
        encryption=dict(sealed.params),
        key_fingerprint=key.fingerprint,
        tables=[TableEntry(table=t.table, rows=t.rows, checksum=t.checksum) for t in dumped.tables],
        dump_ms=int((time.monotonic() - started) * 1000),
    )
    try:
        store.put_bytes(backup_id + MANIFEST_SUFFIX, manifest.model_dump_json(indent=1).encode())
    except BaseException:
        store.delete(name)  # a file without its manifest is never listed: do not leave it to fill the store
        raise
    return manifest


# -- restore ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RestoreRequest:
    backup_id: str
    target: str | None
    database: str | None = None
    over_existing: bool = False
    confirm_token: str | None = None
    person: bool = False

    def arguments(self) -> dict[str, Any]:
        return {
            "backup_id": self.backup_id,
            "target": self.target,
            "database": self.database,
            "over_existing": self.over_existing,
        }


def check_restore(request: RestoreRequest) -> None:
    _check_id(request.backup_id)
    _direct_target(request.target)
    if request.database is not None and not DATABASE_NAME.match(request.database):
        raise InputError(
            f"{request.database[:70]!r} is not a database name this tool creates: use letters, digits and _, "
            "starting with a letter or _, at most 63 characters",
            field="database",
        )


async def read_manifest(store: BackupStore, backup_id: str) -> Manifest:
    _check_id(backup_id)
    name = backup_id + MANIFEST_SUFFIX
    if not await in_thread(lambda: store.exists(name)):
        raise BackupNotFoundError(
            f"no backup {backup_id} in {store.describe()}: list_backups shows those there", location=name
        )
    data = await in_thread(lambda: store.get_bytes(name, limit=MANIFEST_LIMIT))
    return parse_manifest(data, location=name)


async def verify_backup(store: BackupStore, key: KeyMaterial, manifest: Manifest) -> None:
    """Every chunk authenticated, the whole file's sha256 and size as the manifest says; nothing is written."""
    from dokploy_mcp.backups.sealing import verify_sealed

    if manifest.key_fingerprint and key.fingerprint and manifest.key_fingerprint != key.fingerprint:
        raise BackupIntegrityError(
            f"backup {manifest.id} was made with another key (fingerprint {manifest.key_fingerprint}, this server's "
            f"is {key.fingerprint}): set the backup key it was made with",
            reason="wrong-key",
            location=manifest.file,
        )

    def check() -> None:
        with store.reader(manifest.file) as reader:
            seen = verify_sealed(key, reader.read)
        if (
            seen.sha256 != manifest.sha256
            or seen.sealed_bytes != manifest.sealed_bytes
            or seen.header.file_id != manifest.encryption.get("file_id")
        ):
            raise BackupIntegrityError(
                f"the file's sha256 or size differs from its manifest's ({seen.sealed_bytes} bytes, "
                f"manifest {manifest.sealed_bytes})",
                reason="checksum",
                location=manifest.file,
            )

    await in_thread(check)


def _chunks(store: BackupStore, key: KeyMaterial, manifest: Manifest) -> Iterator[bytes]:
    """The archive, read a second time: the file must still be the one verified (its id is in every chunk's key), so
    a file swapped for another backup made with the same key between the two reads is refused."""
    from dokploy_mcp.backups.sealing import HEADER_SIZE, open_sealed, read_header

    with store.reader(manifest.file) as reader:
        head = bytearray()
        while len(head) < HEADER_SIZE and (piece := reader.read(HEADER_SIZE - len(head))):
            head += piece
        if read_header(io.BytesIO(bytes(head))).file_id != manifest.encryption.get("file_id"):
            raise BackupIntegrityError(
                "the file changed since it was verified", reason="changed", location=manifest.file
            )

        def read(size: int) -> bytes:
            if not head:
                return reader.read(size)
            piece = bytes(head[:size])
            del head[:size]
            return piece

        yield from open_sealed(key, read)


def restored_name(manifest: Manifest) -> str:
    base = (manifest.database or "db")[:40]
    return f"{base}_restored_{manifest.id[:8]}_{manifest.id[-6:]}"


async def restore_backup(rt: Runtime, request: RestoreRequest, progress: Progress) -> BackupOutcome:
    """Verify the backup, restore it (into a new database unless ``over_existing``), and compare every table."""
    check_restore(request)
    key = backup_key(rt)
    store = await in_thread(lambda: backup_store(rt))
    manifest = await read_manifest(store, request.backup_id)
    server = await rt.database(request.target)
    name = request.database or (server.conninfo.dbname if request.over_existing else restored_name(manifest))
    outcome = BackupOutcome(
        status="restored", backup_id=manifest.id, store=store.describe(), source=manifest.source, database=name or ""
    )
    if request.over_existing and not await _confirm_over(rt, request, outcome, (store, key, server.conninfo), progress):
        return outcome
    await progress(f"verifying every chunk of {manifest.file} before anything is written")
    started = time.monotonic()
    await verify_backup(store, key, manifest)
    outcome.verify_ms = int((time.monotonic() - started) * 1000)
    into = replace(server.conninfo, dbname=outcome.database)
    created = False
    if not request.over_existing:
        await in_thread(lambda: _db(server.conninfo, lambda: _create_database(server.conninfo, outcome.database)))
        created = True
    await progress(f"restoring into {outcome.database}")
    started = time.monotonic()
    try:
        await stoppable_in_thread(
            lambda stop: _db(into, lambda: _restore(store, key, manifest, into, request.over_existing, stop))
        )
    except BaseException:
        if created:
            await shielded(
                lambda: in_thread(
                    lambda: _db(server.conninfo, lambda: _drop_database(server.conninfo, outcome.database))
                ),
                what="dropping the half-restored database",
            )
        raise
    outcome.restore_ms = int((time.monotonic() - started) * 1000)
    await progress("comparing every table's rows and checksum with the manifest")
    outcome.tables = await in_thread(lambda: _db(into, lambda: _compare(into, manifest)))
    if all(check.verified for check in outcome.tables):
        manifest.verified_at = datetime.now(UTC)
        await in_thread(
            lambda: store.put_bytes(manifest.id + MANIFEST_SUFFIX, manifest.model_dump_json(indent=1).encode())
        )
    else:
        outcome.status = "mismatch"
        outcome.notes.append("some tables differ from the backup's manifest: see tables (verified false)")
    return outcome


def _restore(
    store: BackupStore,
    key: KeyMaterial,
    manifest: Manifest,
    into: ConnInfo,
    clean: bool,
    should_stop: Callable[[], bool],
) -> None:
    from dokploy_mcp.postgres.dumps import restore_database

    restore_database(
        into.to_dict(),
        _chunks(store, key, manifest),
        clean=clean,
        archive_major=manifest.dump_tool_major,
        should_stop=should_stop,
    )


def _compare(into: ConnInfo, manifest: Manifest) -> list[TableCheck]:
    import psycopg

    from dokploy_mcp.postgres.dumps import table_sums

    with psycopg.connect(into.to_conninfo()) as conn:
        found = {table.table: table for table in table_sums(conn)}
    checks: list[TableCheck] = []
    for entry in manifest.tables:
        now = found.get(entry.table)
        checks.append(
            TableCheck(
                entry.table,
                entry.rows,
                restored_rows=now.rows if now else None,
                verified=now is not None and now.rows == entry.rows and now.checksum == entry.checksum,
            )
        )
    return checks


def _admin(info: ConnInfo) -> Any:
    import psycopg

    return psycopg.connect(info.to_conninfo(), autocommit=True)


def _create_database(info: ConnInfo, name: str) -> None:
    from psycopg import sql

    with _admin(info) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
            raise InputError(
                f"a database {name!r} already exists on this server: pass another database name, or restore over it "
                "with over_existing: true (confirmed, after a backup of it)",
                field="database",
            )
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def _drop_database(info: ConnInfo, name: str) -> None:
    from psycopg import sql

    with _admin(info) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


async def _confirm_over(
    rt: Runtime,
    request: RestoreRequest,
    outcome: BackupOutcome,
    where: tuple[BackupStore, KeyMaterial, ConnInfo],
    progress: Progress,
) -> bool:
    """Restoring over a database replaces its objects: confirmed, then preceded by a backup of it (into the same
    store, with the same key, as the restore's own)."""
    store, key, info = where
    if request.database is not None and request.database != info.dbname:
        raise InputError(
            "over_existing restores into the database the target names: leave database out, or name that one",
            field="database",
        )
    state = {"target": info.masked(), "backup_id": request.backup_id}
    if not request.person:
        if request.confirm_token is None:
            outcome.status = "confirm"
            outcome.confirm_token = rt.confirmer.issue(TOOL_RESTORE, request.arguments(), state).token
            outcome.notes.append(
                f"restoring {request.backup_id} over {info.masked()} drops and recreates every object the backup "
                "holds there. Nothing was written: call again with this confirm_token (a backup of the database is "
                "made first)"
            )
            return False
        rt.confirmer.verify(request.confirm_token, TOOL_RESTORE, request.arguments(), state)
    await progress(f"backing up {info.masked()} before restoring over it")
    safety = await stoppable_in_thread(lambda stop: _db(info, lambda: _dump_into(store, key, info, stop)))
    outcome.safety_backup = safety.id
    outcome.notes.append(f"the database as it was is backup {safety.id} (restore_backup with it undoes this)")
    return True


async def restore_preview(rt: Runtime, request: RestoreRequest) -> str | None:
    """What the person is asked before a restore over an existing database; None when nothing is overwritten."""
    if not request.over_existing:
        return None
    database = await rt.database(request.target)
    return (
        f"Restore backup {request.backup_id} over the database {database.target}? Every object the backup holds is "
        "dropped and recreated there (a backup of the database is made first)."
    )


# -- list and cleanup -------------------------------------------------------------------------------------------------


async def _existing_store(rt: Runtime) -> BackupStore | None:
    """The store, or None while the local directory does not exist: listing does not create what a first backup
    would (a read-only tool changes nothing)."""
    if rt.settings.backup_s3_url is None and not await in_thread(rt.settings.backup_directory.exists):
        return None
    return await in_thread(lambda: backup_store(rt))


async def list_backups(rt: Runtime, limit: int = 200) -> tuple[str, list[ListedBackup], list[str]]:
    """Our backups, newest first, from their manifests; files without one are reported, not listed."""
    store = await _existing_store(rt)
    if store is None:
        return str(rt.settings.backup_directory), [], ["no backup has been made here yet"]
    listed, notes = await _read_listing(store, limit)
    return store.describe(), listed, notes


async def _read_listing(store: BackupStore, limit: int) -> tuple[list[ListedBackup], list[str]]:
    objects = await in_thread(store.list)
    notes: list[str] = []
    names = {info.key for info in objects}
    listed: list[ListedBackup] = []
    for info in sorted(objects, key=lambda item: item.key, reverse=True):
        if not info.key.endswith(MANIFEST_SUFFIX) or not BACKUP_ID.match(info.key.removesuffix(MANIFEST_SUFFIX)):
            continue
        if len(listed) >= limit:
            notes.append(f"only the newest {limit} are listed")
            break
        try:
            data = await in_thread(lambda key=info.key: store.get_bytes(key, limit=MANIFEST_LIMIT))  # type: ignore[misc]
            manifest = parse_manifest(data, location=info.key)
        except BackupIntegrityError as exc:
            notes.append(f"{info.key}: {exc}")
            continue
        if manifest.file not in names:
            notes.append(f"{manifest.id}: its file {manifest.file} is missing from the store")
            continue
        listed.append(_listed(manifest))
    return listed, notes


def _listed(manifest: Manifest) -> ListedBackup:
    return ListedBackup(
        backup_id=manifest.id,
        created_at=manifest.created_at,
        database=manifest.database,
        source=manifest.source,
        route=manifest.route,
        covers=list(manifest.covers),
        sealed_bytes=manifest.sealed_bytes,
        tables=len(manifest.tables),
        rows=sum(entry.rows for entry in manifest.tables),
        verified_at=manifest.verified_at,
    )


@dataclass
class CleanupOutcome:
    status: Literal["dry_run", "deleted", "confirm"]
    store: str
    keep: list[tuple[str, list[str]]]
    delete: list[str]
    confirm_token: str | None = None
    notes: list[str] = field(default_factory=list)


async def cleanup_backups(
    rt: Runtime,
    policy: RetentionPolicy,
    *,
    dry_run: bool,
    confirm_token: str | None,
    person: bool,
    arguments: dict[str, Any],
) -> CleanupOutcome:
    """Apply ``policy`` to our backups; only a backup's own file and manifest are ever deleted."""
    store, store_name, plan, notes = await _cleanup_plan(rt, policy)
    outcome = CleanupOutcome(
        status="dry_run", store=store_name, keep=[(k, list(r)) for k, r in plan.keep], delete=list(plan.delete)
    )
    outcome.notes.extend(notes)
    if dry_run or not plan.delete:
        outcome.notes.append("dry run: nothing was deleted" if dry_run else "nothing to delete")
        return outcome
    state = {"store": store_name, "delete": sorted(plan.delete)}
    if not person:
        if confirm_token is None:
            outcome.status = "confirm"
            outcome.confirm_token = rt.confirmer.issue(TOOL_CLEANUP, arguments, state).token
            outcome.notes.append("nothing was deleted: call again with this confirm_token to delete these backups")
            return outcome
        rt.confirmer.verify(confirm_token, TOOL_CLEANUP, arguments, state)
    assert store is not None  # backups to delete were listed from it
    for backup_id in plan.delete:
        # The manifest first: a backup without one is never listed or restored, so a cleanup cut short leaves no
        # half-backup that looks whole.
        await in_thread(lambda b=backup_id: store.delete(b + MANIFEST_SUFFIX))  # type: ignore[misc]
        await in_thread(lambda b=backup_id: store.delete(b + SEALED_SUFFIX))  # type: ignore[misc]
    outcome.status = "deleted"
    return outcome


async def _cleanup_plan(rt: Runtime, policy: RetentionPolicy) -> tuple[BackupStore | None, str, CleanupPlan, list[str]]:
    """The store (None when no backup was ever made), its name, what the policy keeps and deletes, and notes."""
    from dokploy_mcp.backups.retention import plan_cleanup

    store = await _existing_store(rt)
    listed, notes = await _read_listing(store, 100_000) if store is not None else ([], [])
    plan = plan_cleanup([(b.backup_id, b.created_at) for b in listed], policy, now=datetime.now(UTC))
    name = store.describe() if store is not None else str(rt.settings.backup_directory)
    return store, name, plan, notes


async def cleanup_preview(rt: Runtime, policy: RetentionPolicy) -> str | None:
    _, _, plan, _ = await _cleanup_plan(rt, policy)
    if not plan.delete:
        return None
    shown = ", ".join(plan.delete[:20]) + (f" and {len(plan.delete) - 20} more" if len(plan.delete) > 20 else "")
    return f"Delete {len(plan.delete)} backup(s) for good: {shown}? {len(plan.keep)} are kept."


def check_create(target: str | None) -> None:
    _direct_target(target)
