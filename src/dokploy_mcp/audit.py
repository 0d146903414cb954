"""The audit trail: every change this server makes, as JSON lines (DESIGN §2, "Audit trail").

A change is two lines that share an id: ``started``, written *before* anything is done (tool, target, masked
arguments), and ``finished``, written when the call ends (outcome, how it was confirmed, what was restored). A call
cut short by a crash, or still running, has only its ``started`` line, and :meth:`AuditLog.recent` shows it so.

Where: ``DOKPLOY_MCP_AUDIT_LOG``, by default ``<DOKPLOY_MCP_STATE_DIR>/audit.jsonl``; ``-`` means stderr. The file
is created with mode 0600 and missing directories with 0700: the arguments are masked, but what changed where and
when is still for the operator's eyes only.

Why the writes are safe:

- **No secret reaches a line.** Values under secret-named keys (``password``, ``confirm_token``, ``JWT_SECRET``,
  ``SERVICE_ROLE_KEY``...) are masked whole; every text passes :func:`dokploy_mcp.redact.scrub` (secrets this
  process knows, ``name=value`` shapes, URL passwords), and env lines with a secret name and SQL
  ``PASSWORD '...'`` literals are masked too. Masking happens before any cut, so a cut never splits a secret
  that masking would have recognised whole.
- **Lines are whole.** Each line is one ``write(2)`` of at most :data:`MAX_LINE_BYTES` to a descriptor opened
  with ``O_APPEND``: the kernel moves to the end and writes in one step, so lines from many tasks and from several
  processes sharing the file never interleave (on a local file system; NFS does not keep ``O_APPEND`` atomic
  across machines). The bound is Linux's ``PIPE_BUF``: POSIX promises whole writes to a pipe only up to it, and
  ``-`` (stderr) is usually a pipe to the client.
- **A crash loses nothing that was written.** Once ``write(2)`` returned, the line is in the kernel: a killed or
  crashed server loses none of it. The ``started`` line is also fsync'ed, because it is the write-ahead promise
  that nothing changes unrecorded, even if the machine loses power; a change takes seconds of Dokploy or database
  work, so a millisecond of fsync does not show. The ``finished`` line is not: if a power loss takes it, the entry
  reads as started-only, which is the truth ("outcome unknown").
- **Writing never breaks a tool call.** An ``OSError`` (full disk, permissions, a missing mount) logs one scrubbed
  warning naming the line that was lost, and the call goes on: refusing the operator's change because the trail
  cannot be written would turn a logging problem into an outage.

The file is opened for each line, not held open: a log rotated away (``logrotate``) is followed without a signal,
and changes are few.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import secrets
import stat
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import anyio

from dokploy_mcp import redact
from dokploy_mcp.config import Settings
from dokploy_mcp.errors import JobStoppedError

__all__ = [
    "MAX_LINE_BYTES",
    "MAX_RECENT",
    "STDERR",
    "TAIL_BYTES",
    "AuditCall",
    "AuditLog",
    "Confirmed",
    "audit_call",
    "audit_path",
    "failure_outcome",
    "is_secret_name",
    "masked_arguments",
]

logger = logging.getLogger(__name__)

Confirmed = Literal["person", "token", "none"]

#: One line at most: Linux's PIPE_BUF (and one page), the size POSIX keeps whole on a pipe (see the docstring).
MAX_LINE_BYTES = 4096
#: :meth:`AuditLog.recent` reads at most this much of the end of the file, however large it grew.
TAIL_BYTES = 4 * 1024 * 1024
#: The most entries :meth:`AuditLog.recent` returns.
MAX_RECENT = 500
#: The value of ``DOKPLOY_MCP_AUDIT_LOG`` that means stderr.
STDERR = "-"
FILE_NAME = "audit.jsonl"

# A text is cut to this many characters before it is masked, so masking costs little whatever the argument's size.
# Far above any cut made afterwards (at most 1,024 characters): what is kept never comes from near this first cut,
# where a secret might have been split.
_PRE_CUT = 16_384
# Containers are cut too, and nesting is bounded, before masking.
_PRE_ITEMS = 500
_PRE_DEPTH = 12
# Tried in order until the line fits: (characters per text, items per list or object, depth).
_FITS = ((1024, 50, 6), (256, 20, 4), (64, 8, 3), (16, 3, 2))
# Only JSON-safe integers are written as numbers; a huge one is text (and int-to-text has a digit limit).
_MAX_INT = 2**63
# A line from elsewhere longer than this is not ours: it is skipped rather than parsed.
_MAX_READ_LINE = 64 * 1024

# Argument and variable names whose values are secret (supabase.secrets.is_secret's rule, which this layer may
# not import, plus the names an API uses: api_key, access_key, authorization, cookie).
_SECRET_WORDS = (
    "PASSWORD",
    "PASSWD",
    "PWD",
    "SECRET",
    "TOKEN",
    "PRIVATE",
    "CREDENTIAL",
    "APIKEY",
    "API_KEY",
    "ACCESS_KEY",
    "AUTHORIZATION",
    "COOKIE",
)
_SECRET_SUFFIXES = ("_KEY", "_PASS")
# Public by design (the anon and publishable keys: browsers receive them).
_PUBLIC_NAMES = frozenset({"ANON_KEY", "SUPABASE_ANON_KEY", "SUPABASE_PUBLISHABLE_KEY", "ANON_KEY_ASYMMETRIC"})
# NAME=value lines of an env text (``export`` allowed). Anchored at a line start and the name is bounded: linear.
_ENV_LINE = re.compile(
    r"(?m)^(?P<head>[ \t]*(?:export[ \t]+)?(?P<name>[A-Za-z_][A-Za-z0-9_.-]{0,127})[ \t]*=[ \t]*)(?P<value>[^\r\n]*)"
)
# SQL's PASSWORD 'literal' (CREATE/ALTER ROLE). An unterminated literal is masked to the end: no backtracking.
_SQL_PASSWORD = re.compile(r"(?i)(?P<head>\bpassword\s{1,20})(?:E?'(?:[^']|'')*'?)")


def audit_path(settings: Settings) -> Path | None:
    """The audit log's file for these settings, or None when it goes to stderr (``-``)."""
    value = (settings.audit_log or "").strip()
    if value == STDERR:
        return None
    if not value:
        return settings.state_dir / FILE_NAME
    return Path(value).expanduser()


def is_secret_name(name: str) -> bool:
    """Whether an argument or variable called ``name`` holds a secret (case, ``-`` and ``_`` do not matter)."""
    upper = name.upper().replace("-", "_")
    if upper in _PUBLIC_NAMES:
        return False
    return upper in ("KEY", "PASS") or any(word in upper for word in _SECRET_WORDS) or upper.endswith(_SECRET_SUFFIXES)


def _mask_env_line(match: re.Match[str]) -> str:
    return match["head"] + redact.MASK if is_secret_name(match["name"]) and match["value"] else match.group(0)


def _mask_text(text: str) -> str:
    if len(text) > _PRE_CUT:
        text = text[:_PRE_CUT]
    text = redact.scrub(text)
    text = _ENV_LINE.sub(_mask_env_line, text)
    return _SQL_PASSWORD.sub(lambda m: f"{m['head']}'{redact.MASK}'", text)


def _masked(name: str, value: Any, depth: int) -> Any:
    if value is None or isinstance(value, bool):
        return value
    if is_secret_name(name):
        return redact.MASK
    if isinstance(value, int | float):
        return value if isinstance(value, float) or -_MAX_INT < value < _MAX_INT else "<a very large integer>"
    if isinstance(value, str):
        return _mask_text(value)
    if depth >= _PRE_DEPTH:
        return "…"
    if isinstance(value, Mapping):
        items = list(value.items())[:_PRE_ITEMS]
        return {_mask_text(str(key)): _masked(str(key), item, depth + 1) for key, item in items}
    if isinstance(value, list | tuple | set | frozenset):
        return [_masked(name, item, depth + 1) for item in list(value)[:_PRE_ITEMS]]
    return _mask_text(str(value))


def masked_arguments(arguments: Mapping[str, Any]) -> dict[str, Any]:
    """``arguments`` with every secret masked (values of secret-named keys whole; secrets inside texts)."""
    masked = _masked("arguments", dict(arguments), 0)
    return masked if isinstance(masked, dict) else {}


def _cut(text: str, chars: int) -> str:
    return text if len(text) <= chars else f"{text[:chars]}…[{len(text)} chars]"


def _bounded(value: Any, chars: int, items: int, depth: int) -> Any:
    """``value`` with texts cut to ``chars``, lists and objects to ``items`` and nesting to ``depth``."""
    if isinstance(value, str):
        return _cut(value, chars)
    if isinstance(value, dict):
        if depth <= 0:
            return "…"
        kept = {_cut(str(k), chars): _bounded(v, chars, items, depth - 1) for k, v in list(value.items())[:items]}
        if len(value) > items:
            kept["…"] = f"{len(value) - items} more"
        return kept
    if isinstance(value, list):
        if depth <= 0:
            return "…"
        listed = [_bounded(v, chars, items, depth - 1) for v in value[:items]]
        return [*listed, f"… {len(value) - items} more"] if len(value) > items else listed
    return value


def _encode(record: dict[str, Any]) -> bytes:
    # ASCII only: a lone surrogate from a client's JSON cannot fail the encoding, and every byte is one character.
    return (json.dumps(record, ensure_ascii=True, separators=(",", ":")) + "\n").encode("ascii")


def _line(record: dict[str, Any]) -> bytes:
    """``record`` as one JSON line of at most :data:`MAX_LINE_BYTES`, cutting texts and lists as far as needed."""
    for chars, items, depth in _FITS:
        line = _encode(_bounded(record, chars, items, depth + 1))
        if len(line) <= MAX_LINE_BYTES:
            return line
    chars, items, depth = _FITS[-1]
    smaller = {**record, "arguments": "…[too large for one line]"} if "arguments" in record else record
    line = _encode(_bounded(smaller, chars, items, depth + 1))
    if len(line) <= MAX_LINE_BYTES:
        return line
    return _encode({key: record[key] for key in ("time", "event", "id") if key in record})


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds").replace("+00:00", "Z")


def _ensure_directory(directory: Path) -> None:
    """Create ``directory`` and its missing parents with mode 0700 (``mkdir -p`` would leave parents 0777-umask)."""
    missing: list[Path] = []
    current = directory
    while not current.exists() and current != current.parent:
        missing.append(current)
        current = current.parent
    for path in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            path.mkdir(mode=0o700)


def _write_stderr(line: bytes) -> None:
    stream = sys.stderr
    if stream is None:  # no stderr at all (pythonw): nowhere to write
        return
    # The logging handler flushes after each record, so this line leaves in one write of at most PIPE_BUF bytes.
    stream.write(line.decode("ascii"))
    stream.flush()


def _append(path: Path, line: bytes, *, durable: bool) -> None:
    _ensure_directory(path.parent)
    # O_NONBLOCK: should the path be a FIFO without a reader, the open fails at once instead of hanging the call.
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags, 0o600)
    try:
        written = os.write(fd, line)
        if written != len(line):
            raise OSError(f"short write ({written} of {len(line)} bytes)")
        if durable and stat.S_ISREG(os.fstat(fd).st_mode):
            os.fsync(fd)
    finally:
        os.close(fd)


def _read_tail(path: Path) -> list[str]:
    """The whole lines among the last :data:`TAIL_BYTES` of ``path``; none when it does not exist yet."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return []
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise OSError(f"{path} is not a regular file")
        start = max(0, info.st_size - TAIL_BYTES)
        os.lseek(fd, start, os.SEEK_SET)
        chunks: list[bytes] = []
        remaining = info.st_size - start
        while remaining > 0 and (chunk := os.read(fd, min(remaining, 1024 * 1024))):
            chunks.append(chunk)
            remaining -= len(chunk)
    finally:
        os.close(fd)
    text = b"".join(chunks).decode("utf-8", errors="replace")
    lines = text.split("\n")
    # Starting mid-file, the first line is a piece of one; the last is empty, or a line still being written.
    return lines[1 if start > 0 else 0 : -1]


def _parse(raw: str) -> dict[str, Any] | None:
    if not raw.strip() or len(raw) > _MAX_READ_LINE:
        return None
    try:
        record = json.loads(raw)
    except (ValueError, RecursionError):
        return None
    return record if isinstance(record, dict) and isinstance(record.get("id"), str) else None


def _plain(value: Any) -> str | None:
    return _cut(value, 1024) if isinstance(value, str) else None


def _started_entry(record: dict[str, Any]) -> dict[str, Any]:
    arguments = record.get("arguments")
    return {
        "id": record["id"],
        "time": _plain(record.get("time")) or "",
        "tool": _plain(record.get("tool")) or "",
        "target": _plain(record.get("target")),
        "arguments": arguments if isinstance(arguments, dict) else {},
        "confirmed": None,
        "outcome": None,
        "restored": [],
        "detail": None,
        "finished_time": None,
        "started_only": True,
    }


def _finish_entry(entry: dict[str, Any], record: dict[str, Any]) -> None:
    restored = record.get("restored")
    entry.update(
        confirmed=_plain(record.get("confirmed")),
        outcome=_plain(record.get("outcome")),
        restored=[_cut(item, 1024) for item in restored[:50] if isinstance(item, str)]
        if isinstance(restored, list)
        else [],
        detail=_plain(record.get("detail")),
        finished_time=_plain(record.get("time")),
        started_only=False,
    )


def _shown(entry: dict[str, Any]) -> dict[str, Any]:
    """``entry`` masked again for showing: a secret learnt since its lines were written is masked too, and a line
    written by something else than this module gets the same treatment as ours."""
    texts = ("time", "tool", "target", "confirmed", "outcome", "detail", "finished_time")
    shown = {key: _mask_text(entry[key]) if isinstance(entry[key], str) else entry[key] for key in texts}
    return {
        **entry,
        **shown,
        "arguments": _bounded(masked_arguments(entry["arguments"]), *_FITS[0]),
        "restored": [_mask_text(item) for item in entry["restored"]],
    }


def _entries(lines: list[str]) -> list[dict[str, Any]]:
    """Entries from log lines, ``started`` and ``finished`` paired by id, oldest first."""
    entries: dict[str, dict[str, Any]] = {}
    for raw in lines:
        record = _parse(raw)
        if record is None:
            continue
        event = record.get("event")
        if event == "started":
            entries[record["id"]] = _started_entry(record)
        elif event == "finished" and record["id"] in entries:
            # A finished line whose started line is beyond the tail read is left out: it says too little alone.
            _finish_entry(entries[record["id"]], record)
    return list(entries.values())


def _time_of(entry: dict[str, Any]) -> datetime | None:
    try:
        moment = datetime.fromisoformat(entry["time"])
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _matches(entry: dict[str, Any], tool: str | None, target: str | None, since: datetime | None) -> bool:
    if tool is not None and entry["tool"] != tool:
        return False
    if target is not None and target.lower() not in (entry["target"] or "").lower():
        return False
    if since is not None:
        moment = _time_of(entry)
        return moment is not None and moment >= since
    return True


class AuditLog:
    """The audit log of one server process (several processes may share one file: lines never interleave)."""

    def __init__(self, settings: Settings) -> None:
        # No file system access here: building the runtime must stay fast, and a bad path only warns, at a write.
        self.path: Path | None = audit_path(settings)

    @property
    def readable(self) -> bool:
        """Whether :meth:`recent` can read the log (not when it goes to stderr)."""
        return self.path is not None

    @property
    def where(self) -> str:
        return "stderr" if self.path is None else redact.scrub(str(self.path))

    def started(self, tool: str, target: str | None, arguments: Mapping[str, Any]) -> str:
        """Record that ``tool`` is about to change ``target``, before it acts. Returns the entry's id."""
        entry_id = secrets.token_hex(8)
        self._write(
            lambda: {
                "time": _now(),
                "event": "started",
                "id": entry_id,
                "tool": _mask_text(tool),
                "target": None if target is None else _mask_text(target),
                "arguments": masked_arguments(arguments),
            },
            what=f"the started line of {tool}",
            durable=True,
        )
        return entry_id

    def finished(
        self,
        entry_id: str,
        outcome: str,
        *,
        confirmed: Confirmed,
        restored: list[str] | None = None,
        detail: str | None = None,
    ) -> None:
        """Record how the call of entry ``entry_id`` ended ("ok", "error: ...", "cancelled"...)."""
        self._write(
            lambda: {
                "time": _now(),
                "event": "finished",
                "id": entry_id,
                "outcome": _mask_text(outcome),
                "confirmed": confirmed,
                "restored": [_mask_text(item) for item in (restored or [])[:_PRE_ITEMS]],
                "detail": None if detail is None else _mask_text(detail),
            },
            what=f"the finished line of entry {entry_id}",
            durable=False,
        )

    def _write(self, build: Callable[[], dict[str, Any]], *, what: str, durable: bool) -> None:
        try:
            line = _line(build())
            if self.path is None:
                _write_stderr(line)
            else:
                _append(self.path, line, durable=durable)
        except (OSError, ValueError) as exc:  # ValueError: a NUL in the path, or stderr closed
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
            logger.warning(redact.scrub(f"audit log {self.where}: could not write {what} ({reason}); the call goes on"))
        except Exception as exc:  # a bug in masking must not stop the operator's call either
            logger.warning(redact.scrub(f"audit log: could not build {what} ({type(exc).__name__}); the call goes on"))

    def recent(
        self,
        tool: str | None = None,
        target: str | None = None,
        since: datetime | None = None,
        limit: int = 50,
    ) -> list[dict[str, Any]]:
        """The newest entries first, from the last :data:`TAIL_BYTES` of the log, filtered: ``tool`` exactly,
        ``target`` as a part (any case), ``since`` by start time; at most ``limit`` (1 to :data:`MAX_RECENT`).

        Raises:
            OSError: the log cannot be read (permissions, not a regular file). A log not yet written is empty.
        """
        if self.path is None:
            return []
        limit = max(1, min(limit, MAX_RECENT))
        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=UTC)
        found: list[dict[str, Any]] = []
        for entry in reversed(_entries(_read_tail(self.path))):
            if _matches(entry, tool, target, since):
                found.append(_shown(entry))
                if len(found) >= limit:
                    break
        return found


# -- one place to audit a call -----------------------------------------------------------------------------------------


@dataclass
class AuditCall:
    """What a call that is audited reports for its ``finished`` line; set the fields before the block ends.

    ``detached``: the call answered while its job runs on; the job writes the entry's last ``finished`` line.
    """

    entry_id: str
    confirmed: Confirmed = "none"
    restored: list[str] = field(default_factory=list)
    outcome: str = "ok"
    detail: str | None = None
    detached: bool = False


#: The audited call this task runs in (set by the registry), so that confirmation and jobs can report to it.
current_call: ContextVar[AuditCall | None] = ContextVar("dokploy_mcp_audit_call", default=None)


def failure_outcome(exc: BaseException) -> str:
    """The outcome recorded for a call that ended with ``exc``: "cancelled" or "error: <scrubbed message>"."""
    if isinstance(exc, BaseExceptionGroup):
        inner = exc.exceptions
        if len(inner) == 1 or all(isinstance(e, anyio.get_cancelled_exc_class()) for e in inner):
            return failure_outcome(inner[0])
    if isinstance(exc, anyio.get_cancelled_exc_class()):
        return "cancelled"
    message = " ".join(str(exc).split()) or type(exc).__name__
    if isinstance(exc, JobStoppedError):
        return f"cancelled: {redact.scrub(message)}"
    return f"error: {redact.scrub(message)}"


@asynccontextmanager
async def audit_call(
    audit: AuditLog, tool: str, target: str | None, arguments: Mapping[str, Any]
) -> AsyncIterator[AuditCall]:
    """Write the ``started`` line, run the block, then write the ``finished`` line from the handle.

    The block sets ``handle.confirmed``, ``handle.restored`` (and may set ``outcome``, default "ok", and
    ``detail``). When the block raises, the outcome is :func:`failure_outcome`'s and the exception goes on;
    neither line can raise (see :class:`AuditLog`).
    """
    handle = AuditCall(entry_id=audit.started(tool, target, arguments))
    try:
        yield handle
    except BaseException as exc:
        audit.finished(
            handle.entry_id,
            failure_outcome(exc),
            confirmed=handle.confirmed,
            restored=handle.restored,
            detail=handle.detail,
        )
        raise
    audit.finished(
        handle.entry_id, handle.outcome, confirmed=handle.confirmed, restored=handle.restored, detail=handle.detail
    )
