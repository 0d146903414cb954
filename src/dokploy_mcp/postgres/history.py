"""Migration history shared with the Supabase CLI, and the side table that holds what only we record.

The CLI's table is ``supabase_migrations.schema_migrations (version text NOT NULL PRIMARY KEY, statements text[],
name text)``, created by exactly the statements below when any of its three columns is missing, in this order,
and written with ``INSERT ... (version, name, statements)``. Its shape is never changed here. What only we know
(checksum, down SQL, who applied it, when and how long it took) lives in ``supabase_migrations.dokploy_mcp_history``,
keyed by version without a foreign key: the CLI's ``migration repair`` truncates or deletes from its table, and a
foreign key would make that fail. A side row whose version is gone from the CLI's table is stale and ignored.

Every value of ours goes into the SQL as a dollar-quoted literal whose tag does not occur in the value, so the text
is safe whatever ``standard_conforming_strings`` says and can travel through pg-meta (no parameters there).
Versions are digits only, names a safe file-name part (the CLI writes ``<version>_<name>.sql`` files from them).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from dokploy_mcp.errors import DokployMCPError, InputError

__all__ = [
    "LOCK",
    "TABLES_QUERY",
    "AppliedMigration",
    "LocalMigration",
    "applied_query",
    "apply_steps",
    "check_name",
    "check_version",
    "down_sql_query",
    "later_versions_query",
    "literal",
    "new_version",
    "read_folder",
    "rollback_steps",
]

HISTORY = "supabase_migrations.schema_migrations"
SIDE = "supabase_migrations.dokploy_mcp_history"
#: Raised in the transaction when the version is already in the CLI's table (a concurrent apply got there first).
VERSION_TAKEN_SQLSTATE = "DMM01"
#: Raised when the version to roll back is no longer in the history.
VERSION_GONE_SQLSTATE = "DMM02"
#: One advisory lock for every migration of this database (ours; the CLI takes none), held to the transaction's end.
LOCK = "SELECT pg_catalog.pg_advisory_xact_lock(7237117863612940357)"
_VERSION = re.compile(r"[0-9]{1,32}")
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}")
#: The CLI's file name pattern (pkg/migration): digits, underscore, anything, ``.sql``.
_FILE = re.compile(r"([0-9]+)_(.*)\.sql")
MAX_FILES = 10_000
MAX_FILE_BYTES = 1_000_000

TABLES_QUERY = (
    "SELECT pg_catalog.to_regclass('supabase_migrations.schema_migrations') IS NOT NULL AS cli, "
    "pg_catalog.to_regclass('supabase_migrations.dokploy_mcp_history') IS NOT NULL AS ours, "
    "pg_catalog.current_setting('server_version_num')::int AS server_version_num"
)
#: migration_sql.checksum_of in SQL: sha256 of the statements joined with CHECKSUM_SEPARATOR (a test holds the two
#: equal on a real server).
_CHECKSUM_SQL = (
    "pg_catalog.encode(pg_catalog.sha256(pg_catalog.convert_to("
    "pg_catalog.array_to_string(m.statements, chr(10) || ';' || chr(10)), 'UTF8')), 'hex')"
)
#: The history with our side data where we have it (``{side}`` is filled in only when our table exists).
APPLIED_QUERY = (
    "SELECT m.version, m.name, pg_catalog.cardinality(m.statements) AS statement_count, "
    f"CASE WHEN m.statements IS NULL THEN NULL ELSE {_CHECKSUM_SQL} END AS checksum, {{side}} "
    "FROM supabase_migrations.schema_migrations m {join} ORDER BY m.version"
)
_SIDE_COLUMNS = (
    "h.applied_at::text AS applied_at, h.applied_by, h.client, h.duration_ms, h.down_sql IS NOT NULL AS has_down, "
    "h.checksum AS our_checksum"
)
_NO_SIDE_COLUMNS = (
    "NULL::text AS applied_at, NULL::text AS applied_by, NULL::text AS client, NULL::float8 AS duration_ms, "
    "false AS has_down, NULL::text AS our_checksum"
)

# The CLI's own statements (2.117.0), run only when one of its columns is missing: on a table that exists, ALTER
# TABLE would need its ownership even with IF NOT EXISTS.
_ENSURE = f"""DO $dokploy_mcp$
BEGIN
  IF (SELECT pg_catalog.count(*) FROM pg_catalog.pg_attribute a
      WHERE a.attrelid = pg_catalog.to_regclass('{HISTORY}') AND NOT a.attisdropped
        AND a.attname IN ('version', 'name', 'statements')) < 3 THEN
    CREATE SCHEMA IF NOT EXISTS supabase_migrations;
    CREATE TABLE IF NOT EXISTS {HISTORY} (version text NOT NULL PRIMARY KEY);
    ALTER TABLE {HISTORY} ADD COLUMN IF NOT EXISTS statements text[];
    ALTER TABLE {HISTORY} ADD COLUMN IF NOT EXISTS name text;
  END IF;
  IF pg_catalog.to_regclass('{SIDE}') IS NULL THEN
    CREATE TABLE {SIDE} (
      version text PRIMARY KEY,
      checksum text NOT NULL,
      down_sql text,
      applied_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
      applied_by text NOT NULL DEFAULT session_user,
      client text,
      duration_ms double precision
    );
    COMMENT ON TABLE {SIDE} IS
      'dokploy-mcp: checksum, down SQL and who applied each migration of supabase_migrations.schema_migrations';
  END IF;
END
$dokploy_mcp$"""


@dataclass(frozen=True)
class AppliedMigration:
    version: str
    name: str
    #: None for a migration another tool applied (the CLI's table has no time).
    applied_at: str | None
    checksum: str | None
    statement_count: int | None
    has_down: bool
    applied_by: str | None
    client: str | None
    duration_ms: float | None
    #: "dokploy-mcp" when our side table knows it, else "supabase-cli" (or another tool using the CLI's table).
    source: str

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> AppliedMigration:
        ours = row.get("our_checksum") is not None
        duration = row.get("duration_ms")
        count = row.get("statement_count")
        return cls(
            version=str(row["version"]),
            name=str(row.get("name") or ""),
            applied_at=row.get("applied_at") if ours else None,
            checksum=row.get("checksum") if row.get("checksum") is not None else row.get("our_checksum"),
            statement_count=int(count) if count is not None else None,
            has_down=bool(row.get("has_down")) and ours,
            applied_by=row.get("applied_by") if ours else None,
            client=row.get("client") if ours else None,
            duration_ms=float(duration) if duration is not None and ours else None,
            source="dokploy-mcp" if ours else "supabase-cli",
        )


def applied_query(*, side_table: bool) -> str:
    if side_table:
        return APPLIED_QUERY.format(side=_SIDE_COLUMNS, join=f"LEFT JOIN {SIDE} h USING (version)")
    return APPLIED_QUERY.format(side=_NO_SIDE_COLUMNS, join="")


def literal(value: str) -> str:
    """``value`` as a dollar-quoted literal with a tag that does not occur in it."""
    if "\x00" in value:
        raise InputError("the SQL holds a NUL character, which PostgreSQL text cannot store", field="sql")
    while True:
        tag = f"$dmcp_{secrets.token_hex(6)}$"
        if tag not in value:
            return f"{tag}{value}{tag}"


def new_version(now: datetime | None = None) -> str:
    """A version as the CLI makes one: the UTC time as 14 digits (YYYYMMDDHHMMSS)."""
    return (now or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d%H%M%S")


def check_version(version: str) -> str:
    if not _VERSION.fullmatch(version):
        raise InputError(
            f"version {version[:40]!r} is not a migration version: digits only, as the CLI writes them "
            "(YYYYMMDDHHMMSS, e.g. 20261205143000); omit it to use the current time",
            field="version",
        )
    return version


def check_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise InputError(
            "name must be 1-100 characters of letters, digits, '_', '.' or '-', starting with a letter or digit "
            "(the Supabase CLI makes a file name <version>_<name>.sql of it), e.g. add_profiles_table",
            field="name",
        )
    return name


def apply_steps(
    *,
    version: str,
    name: str,
    statements: Sequence[str],
    runnable: Sequence[str],
    checksum: str,
    down_sql: str | None,
    client: str | None,
) -> list[str]:
    """The transaction of one migration: lock, history tables, the version still free, the migration, the rows."""
    check_version(version)
    taken = (
        f"DO $dokploy_mcp$ BEGIN IF EXISTS (SELECT 1 FROM {HISTORY} WHERE version = '{version}') THEN "
        f"RAISE EXCEPTION 'migration {version} is already applied' USING ERRCODE = '{VERSION_TAKEN_SQLSTATE}'; "
        "END IF; END $dokploy_mcp$"
    )
    array = "ARRAY[" + ", ".join(literal(s) for s in statements) + "]::text[]"
    record = f"INSERT INTO {HISTORY} (version, name, statements) VALUES ('{version}', {literal(name)}, {array})"
    side = (
        f"INSERT INTO {SIDE} (version, checksum, down_sql, client, duration_ms) VALUES ('{version}', "
        f"{literal(checksum)}, {literal(down_sql) if down_sql is not None else 'NULL'}, "
        f"{literal(client) if client else 'NULL'}, "
        "extract(epoch FROM pg_catalog.clock_timestamp() - pg_catalog.now()) * 1000) "
        "ON CONFLICT (version) DO UPDATE SET checksum = EXCLUDED.checksum, down_sql = EXCLUDED.down_sql, "
        "applied_at = EXCLUDED.applied_at, applied_by = EXCLUDED.applied_by, client = EXCLUDED.client, "
        "duration_ms = EXCLUDED.duration_ms"
    )
    return [LOCK, _ENSURE, taken, *runnable, record, side]


def rollback_steps(*, version: str, runnable: Sequence[str]) -> list[str]:
    """The transaction that undoes one migration: lock, the version still there, the down SQL, the rows gone."""
    check_version(version)
    still_there = (
        f"DO $dokploy_mcp$ BEGIN IF NOT EXISTS (SELECT 1 FROM {HISTORY} WHERE version = '{version}') THEN "
        f"RAISE EXCEPTION 'migration {version} is not applied (any more)' USING ERRCODE = '{VERSION_GONE_SQLSTATE}'; "
        "END IF; END $dokploy_mcp$"
    )
    return [
        LOCK,
        still_there,
        *runnable,
        f"DELETE FROM {HISTORY} WHERE version = '{version}'",
        f"DELETE FROM {SIDE} WHERE version = '{version}'",
    ]


def down_sql_query(version: str, *, side_table: bool) -> str:
    """The version's name and stored down SQL (NULL without our side table, or for a row the CLI wrote)."""
    check_version(version)
    down = f"(SELECT h.down_sql FROM {SIDE} h WHERE h.version = m.version)" if side_table else "NULL::text"
    return f"SELECT m.version, m.name, {down} AS down_sql FROM {HISTORY} m WHERE m.version = '{version}'"


def later_versions_query(version: str) -> str:
    check_version(version)
    return f"SELECT version FROM {HISTORY} WHERE version > '{version}' ORDER BY version"


@dataclass(frozen=True)
class LocalMigration:
    version: str
    name: str
    path: str
    #: None when the file could not be read or parsed (``problem`` says why).
    checksum: str | None
    problem: str | None = None


def read_folder(folder: str, checksum: Callable[[str], str]) -> list[LocalMigration]:
    """The migration files of a local ``supabase/migrations`` folder, as the CLI names them, in version order.

    ``checksum`` turns a file's text into its checksum (the caller's parser), or raises a DokployMCPError that is
    recorded as the file's problem.
    """
    root = Path(folder).expanduser()
    if not root.is_dir():
        raise InputError(
            f"folder {folder[:200]!r} is not a directory on this server's machine: give the path of a local "
            "supabase/migrations folder",
            field="folder",
        )
    found: list[LocalMigration] = []
    for path in sorted(root.iterdir()):
        match = _FILE.fullmatch(path.name)
        if match is None or not path.is_file():
            continue
        if len(found) >= MAX_FILES:
            raise InputError(f"folder holds more than {MAX_FILES:,} migration files", field="folder")
        found.append(_local(path, match.group(1), match.group(2), checksum))
    return sorted(found, key=lambda m: (int(m.version), m.version))


def _local(path: Path, version: str, name: str, checksum: Callable[[str], str]) -> LocalMigration:
    if path.stat().st_size > MAX_FILE_BYTES:
        return LocalMigration(version, name, str(path), None, f"larger than {MAX_FILE_BYTES:,} bytes: not read")
    try:
        text = path.read_text(encoding="utf-8")
        return LocalMigration(version, name, str(path), checksum(text))
    except UnicodeDecodeError:
        return LocalMigration(version, name, str(path), None, "not UTF-8 text")
    except DokployMCPError as exc:
        return LocalMigration(version, name, str(path), None, str(exc).split("\n", 1)[0][:300])
