"""Where backup files live: a local directory or an S3 bucket, behind one synchronous, streaming interface.

Called from worker threads. Memory stays flat whatever the size of a backup: a local writer goes straight to a file,
an S3 writer holds one multipart part at a time. The interface and the rules for keys are in
:mod:`dokploy_mcp.backups.objects` (its names are importable from here too); the S3 store is in
:mod:`dokploy_mcp.backups.s3store` (``S3Store`` here too), which imports boto3 only when one is built, so listing
tools never pays for it.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from dokploy_mcp.backups.errors import BackupNotFoundError, BackupStorageError
from dokploy_mcp.backups.objects import (
    BackupStore,
    ObjectInfo,
    ObjectReader,
    ObjectWriter,
    check_key,
    check_prefix,
    too_large_error,
)

if TYPE_CHECKING:
    from dokploy_mcp.backups.s3store import S3Store

__all__ = [
    "BackupStore",
    "LocalStore",
    "ObjectInfo",
    "ObjectReader",
    "ObjectWriter",
    "S3Store",
    "check_key",
    "open_store",
]

DIR_SETTING = "DOKPLOY_MCP_BACKUP_DIR"
_PARTIAL_SUFFIX = ".partial"


# -- local directory -------------------------------------------------------------------------------------------------


def _local_error(exc: OSError, action: str, where: Path, key: str | None = None) -> BackupStorageError:
    cause = exc.strerror or exc.__class__.__name__
    if exc.errno == errno.ENOSPC:
        fix = f"the disk is full: free some space, or point {DIR_SETTING} at a larger disk"
    elif exc.errno in {errno.EACCES, errno.EPERM, errno.EROFS}:
        fix = f"make it writable by the user this server runs as, or set {DIR_SETTING} to a directory that is"
    else:
        fix = f"check {DIR_SETTING} and the directory"
    return BackupStorageError(f"cannot {action} {where}: {cause}; {fix}", store="local", cause=cause, location=key)


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


class _LocalWriter(ObjectWriter):
    def __init__(self, path: Path, key: str) -> None:
        super().__init__()
        self._path = path
        self._key = key
        self._temp = path.parent / f".{path.name}.{secrets.token_hex(6)}{_PARTIAL_SUFFIX}"
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._fd: int | None = os.open(self._temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise _local_error(exc, "create a file in", path.parent, key) from None

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        assert self._fd is not None
        view = memoryview(data).cast("B")
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            raise _local_error(exc, "write", self._temp, self._key) from None

    def _commit(self) -> None:
        assert self._fd is not None
        try:
            os.fsync(self._fd)
            os.close(self._fd)
            self._fd = None
            os.replace(self._temp, self._path)
            _fsync_directory(self._path.parent)
        except OSError as exc:
            raise _local_error(exc, "save", self._path, self._key) from None

    def _abort(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._temp.unlink(missing_ok=True)


class _FileReader(ObjectReader):
    def __init__(self, path: Path, key: str) -> None:
        self._path = path
        self._key = key
        try:
            self._file = path.open("rb")
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise BackupNotFoundError(f"no backup file {key!r} in {path.parent}", location=key) from None
        except OSError as exc:
            raise _local_error(exc, "open", path, key) from None

    def read(self, size: int = -1, /) -> bytes:
        try:
            return self._file.read(size)
        except OSError as exc:
            raise _local_error(exc, "read", self._path, self._key) from None

    def close(self) -> None:
        self._file.close()


class LocalStore(BackupStore):
    """Backups as files under ``root`` (created mode 0700); files are written mode 0600, atomically."""

    kind: Literal["local"] = "local"

    def __init__(self, root: Path) -> None:
        self.root = root.expanduser().absolute()
        try:
            self.root.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise _local_error(exc, "create the backup directory", self.root) from None
        if not self.root.is_dir():
            raise BackupStorageError(
                f"the backup directory {self.root} is not a directory: set {DIR_SETTING} to a directory",
                store="local",
                cause="not a directory",
            )

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    def describe(self) -> str:
        return str(self.root)

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*check_key(key).split("/"))

    def writer(self, key: str) -> ObjectWriter:
        return _LocalWriter(self._path(key), key)

    def reader(self, key: str) -> ObjectReader:
        return _FileReader(self._path(key), key)

    def put_bytes(self, key: str, data: bytes) -> None:
        with self.writer(key) as writer:
            writer.write(data)

    def get_bytes(self, key: str, *, limit: int) -> bytes:
        with self.reader(key) as reader:
            data = reader.read(limit + 1)
        if len(data) > limit:
            raise too_large_error(key, limit, "local")
        return data

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        check_prefix(prefix)
        start = self.root.joinpath(*prefix.rpartition("/")[0].split("/")) if "/" in prefix else self.root
        found = [info for info in self._walk(start) if info.key.startswith(prefix)]
        return sorted(found, key=lambda info: info.key)

    def _walk(self, directory: Path) -> Iterator[ObjectInfo]:
        try:
            entries = list(os.scandir(directory))
        except (FileNotFoundError, NotADirectoryError):
            return
        except OSError as exc:
            raise _local_error(exc, "list", directory) from None
        for entry in entries:
            # Temporary files and anything hidden are not backups; links are not followed out of the directory.
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                yield from self._walk(Path(entry.path))
            elif entry.is_file(follow_symlinks=False):
                status = entry.stat(follow_symlinks=False)
                key = Path(entry.path).relative_to(self.root).as_posix()
                yield ObjectInfo(key, status.st_size, datetime.fromtimestamp(status.st_mtime, tz=UTC))

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise _local_error(exc, "delete", path, key) from None

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()


def open_store(*, directory: Path, s3_url: str | None, s3_endpoint: str | None) -> BackupStore:
    """The S3 store when ``s3_url`` is set, else the local directory."""
    if s3_url:
        from dokploy_mcp.backups.s3store import S3Store

        return S3Store(s3_url, endpoint=s3_endpoint)
    return LocalStore(directory)


def __getattr__(name: str) -> object:
    # S3Store is loaded on first use: its module is only worth importing when S3 is configured.
    if name == "S3Store":
        from dokploy_mcp.backups.s3store import S3Store

        return S3Store
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
