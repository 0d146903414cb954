"""The JSON manifest written beside every backup of ours: what it holds, how it was sealed, and how to prove it.

A backup ``<id>`` is the sealed stream ``<id>.dkbk`` and the manifest ``<id>.json`` in the same store. The manifest
is written last, so a backup without one is unfinished and never listed or restored; cleanups delete only files a
manifest names. The per-table row counts and checksums were read in the same snapshot as the dump: a restore is
proven by reading them again from the restored database.
"""

from __future__ import annotations

import re
import secrets
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from dokploy_mcp.backups.errors import BackupIntegrityError

__all__ = ["FORMAT_VERSION", "MANIFEST_LIMIT", "Manifest", "TableEntry", "new_backup_id", "parse_manifest"]

FORMAT_VERSION: Literal[1] = 1
#: A manifest of a database with tens of thousands of tables stays well under this.
MANIFEST_LIMIT = 32 * 1024 * 1024
#: ``20261206T071500Z-3f9a1c``: sorts by time, unique, and safe as a file name and an S3 key.
BACKUP_ID = re.compile(r"^\d{8}T\d{6}Z-[0-9a-f]{6}$")


def new_backup_id(now: datetime | None = None) -> str:
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{secrets.token_hex(3)}"


class TableEntry(BaseModel):
    model_config = ConfigDict(frozen=True)

    table: str
    rows: int = Field(ge=0)
    checksum: str


class Manifest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    format_version: Literal[1] = FORMAT_VERSION
    id: str = Field(pattern=BACKUP_ID.pattern)
    created_at: datetime
    tool_version: str
    route: Literal["direct"] = "direct"
    #: The database backed up, with the password masked.
    source: str
    database: str
    server_version: str
    server_major: int
    #: The pg_dump that made the archive: a restore needs a pg_restore at least this new.
    dump_tool_major: int
    #: What the file covers: "database" (and, later, "db-config volume" and "env" for a stack).
    covers: list[str] = Field(default_factory=lambda: ["database"])
    file: str
    dump_bytes: int = Field(ge=0)
    sealed_bytes: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    #: Algorithm, compression, chunk size and key derivation (never the key).
    encryption: dict[str, Any]
    key_fingerprint: str | None = None
    tables: list[TableEntry]
    dump_ms: int = Field(ge=0)
    #: Set by a restore that proved the backup (every table's count and checksum equal).
    verified_at: datetime | None = None


def parse_manifest(data: bytes, *, location: str) -> Manifest:
    """A manifest read back from a store; a damaged one is an integrity error, never half-trusted."""
    try:
        return Manifest.model_validate_json(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"]) or "document"
        raise BackupIntegrityError(
            f"the manifest is not one this server wrote ({where}: {first['msg']})",
            reason="manifest",
            location=location,
        ) from None
