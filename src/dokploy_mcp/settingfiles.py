"""Files named by settings (key files, secret files): read safely, or refused with the setting to fix.

A FIFO, a device or a directory is refused before it is opened (opening a FIFO blocks start-up forever); the size is
bounded and the text must be UTF-8.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from dokploy_mcp.errors import ConfigurationError

__all__ = ["file_kind", "read_setting_file"]


def file_kind(mode: int) -> str:
    kinds = (
        (stat.S_ISDIR, "a directory"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
    )
    return next((name for test, name in kinds if test(mode)), "a special file")


def _require_regular_file(path: Path, *, label: str, setting: str, hint: str) -> None:
    try:
        # stat() follows symlinks: a symlinked secret (Docker, Kubernetes) is a regular file here, as it should be.
        mode = path.stat().st_mode
    except OSError as exc:
        raise ConfigurationError(
            f"{label} names {str(path)!r}, which cannot be read ({exc.strerror or exc}); {hint}", setting=setting
        ) from None
    except ValueError:  # a NUL in the path
        raise ConfigurationError(
            f"{label} names {str(path)!r}, which is not a usable path; {hint}", setting=setting
        ) from None
    if not stat.S_ISREG(mode):
        raise ConfigurationError(
            f"{label} names {str(path)!r}, which is {file_kind(mode)}, not a regular file; {hint}", setting=setting
        )


def read_setting_file(path: Path, *, label: str, setting: str, limit: int, hint: str) -> str:
    """The UTF-8 text of a file named by a setting, as a :class:`ConfigurationError` when it cannot be that.

    Anything but a regular file is refused before it is opened: opening a FIFO blocks until a writer comes, and a
    device may never end or act on being opened. ``label`` names the setting in messages; ``hint`` says what to do.
    """
    _require_regular_file(path, label=label, setting=setting, hint=hint)
    try:
        # O_NONBLOCK: should the path be swapped for a FIFO after the check, the open returns instead of waiting,
        # and the fstat below refuses it.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
        with os.fdopen(fd, "rb") as handle:
            if not stat.S_ISREG(os.fstat(handle.fileno()).st_mode):
                raise ConfigurationError(
                    f"{label} names {str(path)!r}, which is not a regular file; {hint}", setting=setting
                )
            data = handle.read(limit + 1)
    except OSError as exc:
        raise ConfigurationError(
            f"{label} names {str(path)!r}, which cannot be read ({exc.strerror or exc}); {hint}", setting=setting
        ) from None
    if len(data) > limit:
        raise ConfigurationError(
            f"{label} names {str(path)!r}, which is larger than {limit // 1024} KiB; {hint}", setting=setting
        )
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ConfigurationError(
            f"{label} names {str(path)!r}, which is not UTF-8 text (bad byte at offset {exc.start}); save it as UTF-8",
            setting=setting,
        ) from None
