"""What a backup store holds and the interface every store offers, for :mod:`dokploy_mcp.backups.storage`.

Keys are relative, ``/``-separated paths (``2026/12/05/ab12.sealed``): no absolute paths, ``..``, backslashes, empty
segments, control characters, or segments starting with ``.`` (the local store keeps its temporary files under such
names). An object becomes visible under its key only when its writer commits; until then (and after an abort, or a
crash) readers and listings do not see it.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from dataclasses import dataclass
from datetime import datetime
from types import TracebackType
from typing import Literal, Protocol

from dokploy_mcp.backups.errors import BackupStorageError
from dokploy_mcp.errors import InputError

__all__ = [
    "MAX_KEY_BYTES",
    "MAX_SEGMENT_BYTES",
    "BackupStore",
    "ObjectInfo",
    "ObjectReader",
    "ObjectWriter",
    "check_key",
    "check_prefix",
    "is_valid_key",
    "too_large_error",
]

MAX_KEY_BYTES = 512
# Room for the local store's temporary name around a segment within the usual 255-byte file name limit.
MAX_SEGMENT_BYTES = 200
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class ObjectInfo:
    """One stored object: its key relative to the store's root, its size, and when it was last written (UTC)."""

    key: str
    size: int
    modified: datetime


class ObjectReader(ABC):
    """A streaming download: ``read(n)`` until it returns ``b""``, then ``close`` (or use it as a context manager)."""

    @abstractmethod
    def read(self, size: int = -1, /) -> bytes: ...

    @abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> ObjectReader:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


class ObjectWriter(ABC):
    """A streaming upload. Nothing is visible under the key before ``commit``; ``abort`` leaves nothing behind.

    As a context manager: an exception aborts, a normal exit commits. A failed ``write`` or ``commit`` aborts too.
    """

    def __init__(self) -> None:
        self._state: Literal["open", "committed", "aborted"] = "open"

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self._require_open("write to")
        try:
            self._write(data)
        except BaseException:
            self.abort()
            raise

    def commit(self) -> None:
        self._require_open("commit")
        try:
            self._commit()
        except BaseException:
            self.abort()
            raise
        self._state = "committed"

    def abort(self) -> None:
        """Throw away what was written. Does nothing once committed or aborted; never raises."""
        if self._state != "open":
            return
        self._state = "aborted"
        self._abort()

    def _require_open(self, action: str) -> None:
        if self._state != "open":
            raise RuntimeError(f"cannot {action} a backup writer that is already {self._state}")

    def __enter__(self) -> ObjectWriter:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        if exc is not None:
            self.abort()
        elif self._state == "open":
            self.commit()

    @abstractmethod
    def _write(self, data: bytes | bytearray | memoryview) -> None: ...

    @abstractmethod
    def _commit(self) -> None: ...

    @abstractmethod
    def _abort(self) -> None: ...


class BackupStore(Protocol):
    """Where backup files live. Every method is synchronous and may block; call it from a worker thread."""

    @property
    def kind(self) -> Literal["local", "s3"]: ...

    def describe(self) -> str:
        """Where the store is, for people: a directory or ``s3://bucket/prefix``; never a credential."""
        ...

    def writer(self, key: str) -> ObjectWriter: ...

    def reader(self, key: str) -> ObjectReader:
        """A streaming reader; BackupNotFoundError when there is no such object."""
        ...

    def put_bytes(self, key: str, data: bytes) -> None:
        """Write a small object (a manifest) all at once; it appears whole or not at all."""
        ...

    def get_bytes(self, key: str, *, limit: int) -> bytes:
        """Read a small object whole; BackupStorageError when it is larger than ``limit`` bytes."""
        ...

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        """Every object whose key starts with ``prefix``, at any depth, sorted by key."""
        ...

    def delete(self, key: str) -> None:
        """Remove an object; a missing one is not an error."""
        ...

    def exists(self, key: str) -> bool: ...


def check_key(key: str, *, field: str = "key") -> str:
    """``key`` if it is a safe relative object key, else InputError naming ``field``."""
    shown = key if len(key) <= 80 else key[:80] + "..."

    def refuse(why: str) -> InputError:
        return InputError(
            f"backup key {shown!r} {why}; keys are relative paths such as '2026/12/05/backup.sealed'", field=field
        )

    if not key:
        raise refuse("is empty")
    if len(key.encode("utf-8", "surrogatepass")) > MAX_KEY_BYTES:
        raise refuse(f"is longer than {MAX_KEY_BYTES} bytes")
    if "\\" in key:
        raise refuse("holds a backslash")
    if _CONTROL.search(key):
        raise refuse("holds a control character (NUL, newline...)")
    if key.startswith("/"):
        raise refuse("is absolute")
    for segment in key.split("/"):
        if not segment:
            raise refuse("has an empty segment ('//' or a trailing '/')")
        if segment in {".", ".."}:
            raise refuse(f"has a {segment!r} segment")
        if segment.startswith("."):
            raise refuse("has a segment starting with '.' (reserved for temporary files)")
        if len(segment.encode("utf-8", "surrogatepass")) > MAX_SEGMENT_BYTES:
            raise refuse(f"has a segment longer than {MAX_SEGMENT_BYTES} bytes")
    return key


def check_prefix(prefix: str) -> str:
    """``prefix`` if it may start a key (empty, or a valid key with maybe a trailing '/'), else InputError."""
    if prefix:
        check_key(prefix.removesuffix("/"), field="prefix")
    return prefix


def too_large_error(key: str, limit: int, store: str) -> BackupStorageError:
    """The refusal of ``get_bytes`` for an object above its limit."""
    return BackupStorageError(
        f"{key!r} is larger than the {limit} bytes allowed for it: not the small file expected under that key",
        store=store,
        cause="too large",
        location=key,
    )


def is_valid_key(key: str) -> bool:
    """Whether :func:`check_key` accepts ``key``."""
    try:
        check_key(key)
    except InputError:
        return False
    return True
