"""Expected failures of backups: keys, integrity, storage, and the PostgreSQL client programs.

Hierarchy::

    BackupError                         a backup or restore cannot go on (``location``: the file or object, if any)
    ├── BackupKeyError                  no backup key is set, or the key setting is unusable (``setting``)
    ├── BackupIntegrityError            a file is not what was written: checksum, authentication, truncation, chunk
    │                                   order, or a wrong key (``reason``, ``chunk``); found before anything is written
    ├── BackupNotFoundError             no backup with this id or key in the store
    └── BackupStorageError              the local directory or S3 refused or failed (``store``, ``cause``)

Messages never hold a key, a passphrase, a password or an S3 secret.
"""

from __future__ import annotations

from dokploy_mcp.errors import DokployMCPError

__all__ = [
    "BackupError",
    "BackupIntegrityError",
    "BackupKeyError",
    "BackupNotFoundError",
    "BackupStorageError",
]


class BackupError(DokployMCPError):
    """Base of the backup failures. ``location`` is the backup file or object concerned, when there is one."""

    what = "Backup"

    def __init__(self, message: str, *, location: str | None = None) -> None:
        super().__init__(message)
        self.location = location


class BackupKeyError(BackupError):
    """No backup key is configured (nothing is ever written unencrypted), or the one configured cannot be used.

    ``setting`` names the environment variable to set or fix.
    """

    what = "Backup key"

    def __init__(self, message: str, *, setting: str, location: str | None = None) -> None:
        super().__init__(message, location=location)
        self.setting = setting


class BackupIntegrityError(BackupError):
    """The backup is not what was written: its checksum differs, a chunk fails authentication (tampered, or the
    wrong key), chunks are missing at the end (truncated) or out of order. ``chunk`` is the chunk index where it
    was found (None for the file as a whole). Raised while verifying, before anything is restored."""

    what = "Backup integrity"

    def __init__(self, message: str, *, reason: str, chunk: int | None = None, location: str | None = None) -> None:
        super().__init__(message, location=location)
        self.reason = reason
        self.chunk = chunk


class BackupNotFoundError(BackupError):
    """No backup with this id or key in the store the call looked in."""

    what = "No such backup"


class BackupStorageError(BackupError):
    """The backup store (``local`` directory or ``s3``) refused or failed; ``cause`` is its own words, scrubbed."""

    what = "Backup storage"

    def __init__(self, message: str, *, store: str, cause: str, location: str | None = None) -> None:
        super().__init__(message, location=location)
        self.store = store
        self.cause = cause
