"""What one log line says about itself: its level, and for a JSON line its message.

Level detection, first rule that applies (sources in the comments at each rule): JSON lines (GoTrue ``"level":
"warning"``, pino numeric levels of storage / postgres-meta), Postgres ``ERROR:  `` severities, bracketed levels
(``[error]`` of nginx in Kong and of the Elixir Logger in realtime, supavisor and logflare), logfmt ``level=``, a
leading level word (imgproxy, vector), HTTP access-log status codes (Kong, PostgREST), then error words for plain
text (PostgREST, edge-runtime, studio). Lines that match nothing have level None.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from dokploy_mcp.errors import InputError

__all__ = [
    "HEAD_CHARS",
    "POSTGREST_PREFIX",
    "Level",
    "detect_level",
    "is_at_least",
    "message_of",
    "parse_level",
]

Level = Literal["error", "warning", "info", "debug"]

_RANK: dict[str, int] = {"debug": 0, "info": 1, "warning": 2, "error": 3}
_WORD_LEVELS: dict[str, Level] = {
    "trace": "debug",
    "debug": "debug",
    "info": "info",
    "information": "info",
    "notice": "info",
    "log": "info",
    "warn": "warning",
    "warning": "warning",
    "error": "error",
    "err": "error",
    "erro": "error",
    "fatal": "error",
    "panic": "error",
    "crit": "error",
    "critical": "error",
    "alert": "error",
    "emerg": "error",
    "emergency": "error",
}
# Postgres: "<prefix> ERROR:  relation ... does not exist" — elog.c writes the severity, a colon and two spaces. The
# Supabase vector.yml (db_logs transform, in the Dokploy template's mounts) reads the same severities; sample lines
# in supabase/supabase#30235 ("... UTC [87] supabase_admin@_supabase FATAL:  password authentication failed").
_PG_SEVERITY = re.compile(r"\b(DEBUG[1-5]|LOG|INFO|NOTICE|WARNING|ERROR|FATAL|PANIC):  ")
_PG_LEVELS: dict[str, Level] = {"LOG": "info", "INFO": "info", "NOTICE": "info", "WARNING": "warning"}
# nginx error log "2023/01/20 08:12:35 [warn] 8#0: ..." (Kong; supabase/cli#778) and the Elixir Logger
# "07:42:05.747 [info] ..." / "01:56:20.978 project=x external_id=x [error] ..." (realtime, supavisor, logflare;
# supabase/realtime#748 and #372, and the realtime regex of the Supabase vector.yml).
_BRACKETED = re.compile(r"\[(debug|info|notice|warn|warning|error|crit|alert|emerg)\]", re.IGNORECASE)
# logfmt "level=error" / level="warn" (Go services: imgproxy structured format, logrus text format).
_LOGFMT = re.compile(r"\blevel=\"?([A-Za-z]+)\"?")
# A level word first, after an optional timestamp: imgproxy "INFO    [2024-03-26T02:00:48Z] Started /health"
# (supabase/supabase#20096), vector "2024-06-05T10:00:00.000Z  WARN vector::...", Elixir boot "ERROR! Config ...".
_LEADING_WORD = re.compile(
    r"^(?:[\d/:.,TZ+-]+\s+){0,2}\[?(TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|ERRO|FATAL|PANIC|CRITICAL)\b"
)
# Combined access log: Kong (vector.yml kong_logs parses it as nginx "combined") and PostgREST (Apache combined).
_ACCESS_STATUS = re.compile(r'"(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|CONNECT|TRACE) [^"]*" (\d{3}) ')
#: PostgREST prefixes its lines with "14/Nov/2024:10:00:00 +0000: " (vector.yml rest_logs regex).
POSTGREST_PREFIX = re.compile(r"^\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} [+-]\d{4}: ")
# Plain text without a level (PostgREST, edge-runtime, studio, shell output): exceptions and error words.
_PLAIN_ERROR = re.compile(
    r"^(?:Uncaught (?:\(in promise\) )?)?(?:[A-Z]\w*)?(?:Error|Exception)\b"  # JS/Deno/Python "TypeError: x"
    r"|^(?:error|fatal|panic)\b"  # Go "panic: ...", "error: ..."
    r"|^(?:Failed|Could not|Unable to|Cannot)\b"  # PostgREST "Failed to load the schema cache"
    r"|\b(?-i:FATAL|PANIC)\b"
    r"|(?:^|\s)(?:[A-Z]\w*)?(?:Error|Exception):"  # edge-runtime "event loop error: Error: ..."
    r"|\b(?:worker boot error|event loop error)\b"
    r"|^\s*⨯",  # Next.js (studio) error marker
    re.IGNORECASE,
)
_PLAIN_WARNING = re.compile(r"^(?:warn(?:ing)?)\b|^\s*⚠", re.IGNORECASE)
#: Only the start of a line is searched for a level marker: it sits in the prefix, and message text is free.
HEAD_CHARS = 240
_MESSAGE_KEYS = ("msg", "message", "event_message")
_ERROR_KEYS = ("error", "err", "error_description")


def _word_level(word: str) -> Level | None:
    word = word.lower()
    if word.startswith("debug"):
        return "debug"
    return _WORD_LEVELS.get(word)


def _json_level(document: dict[str, Any]) -> Level | None:
    level: Level | None = None
    for key in ("level", "severity", "lvl", "log.level"):
        value = document.get(key)
        if isinstance(value, bool):
            continue
        if isinstance(value, int | float):
            # pino (storage, postgres-meta): 10 trace, 20 debug, 30 info, 40 warn, 50 error, 60 fatal
            # (supabase/supabase#27312 shows "level":30 lines of storage).
            level = "error" if value >= 50 else "warning" if value >= 40 else "info" if value >= 30 else "debug"
            break
        if isinstance(value, str) and value.strip():
            # GoTrue (logrus JSON): "level":"info" / "warning" / "error" (supabase/cli#778).
            level = _word_level(value.strip())
            if level is not None:
                break
    response = document.get("res")
    status = response.get("statusCode") if isinstance(response, dict) else None
    if isinstance(status, int) and status >= 500:
        # storage logs a failed request at level 30 with res.statusCode 500 (supabase/supabase#21754).
        level = "error"
    return level


def _json_document(text: str) -> dict[str, Any] | None:
    stripped = text.strip()
    if not (stripped.startswith("{") and stripped.endswith("}")):
        return None
    try:
        document = json.loads(stripped)
    except (ValueError, RecursionError):
        # A line nested deeper than the decoder goes is not a log record a service wrote: read it as text.
        return None
    return document if isinstance(document, dict) else None


def detect_level(message: str) -> Level | None:
    """The severity of one log line (its text after docker's timestamp), or None when it shows none."""
    document = _json_document(message)
    if document is not None:
        level = _json_level(document)
        if level is not None:
            return level
        message = message_of(message)
    head = message[:HEAD_CHARS]
    # The marker nearest the start is the line's own: a Kong or realtime line may quote a Postgres "ERROR:  ".
    candidates: list[tuple[int, Level | None]] = []
    match = _LEADING_WORD.match(head)
    if match is not None:
        candidates.append((match.start(1), _word_level(match.group(1))))
    match = _PG_SEVERITY.search(head)
    if match is not None:
        severity = match.group(1)
        candidates.append(
            (match.start(), "debug" if severity.startswith("DEBUG") else _PG_LEVELS.get(severity, "error"))
        )
    match = _BRACKETED.search(head)
    if match is not None:
        candidates.append((match.start(), _word_level(match.group(1))))
    match = _LOGFMT.search(head)
    if match is not None and (level := _word_level(match.group(1))) is not None:
        candidates.append((match.start(), level))
    if candidates:
        return min(candidates, key=lambda item: item[0])[1]
    match = _ACCESS_STATUS.search(message)
    if match is not None:
        status = int(match.group(1))
        return "error" if status >= 500 else "warning" if status >= 400 else "info"
    plain = POSTGREST_PREFIX.sub("", head, count=1)
    if _PLAIN_ERROR.search(plain):
        return "error"
    if _PLAIN_WARNING.search(plain):
        return "warning"
    return None


def message_of(text: str) -> str:
    """The message of a line: for a JSON line its ``msg`` (and its ``error``), otherwise the line itself."""
    document = _json_document(text)
    if document is None:
        return text
    parts: list[str] = []
    for key in _MESSAGE_KEYS:
        value = document.get(key)
        if isinstance(value, str) and value.strip():
            parts.append(value.strip())
            break
    for key in _ERROR_KEYS:
        value = document.get(key)
        if isinstance(value, dict):
            value = value.get("message") or value.get("raw")
        if isinstance(value, str) and value.strip() and value.strip() not in parts:
            parts.append(value.strip())
            break
    return ": ".join(parts) if parts else text


def parse_level(level: str | None) -> Level | None:
    """The level a ``level`` argument names (any level word: "warn", "fatal"...); None when there is none.

    Raises:
        InputError: (field ``level``) a word that names no level.
    """
    if level is None:
        return None
    word = level.strip().lower()
    found = _WORD_LEVELS.get(word)
    if found is None:
        raise InputError(f"level must be one of error, warning, info, debug (not {level!r})", field="level")
    return found


def is_at_least(level: Level | None, minimum: Level | None) -> bool:
    """Whether ``level`` is ``minimum`` or worse (always, when there is no minimum; never, for no level)."""
    if minimum is None:
        return True
    return level is not None and _RANK[level] >= _RANK[minimum]
