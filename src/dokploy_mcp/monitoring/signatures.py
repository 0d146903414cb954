"""Log lines reduced to their kind (a signature), so that occurrences of one error count together: the most
frequent errors of a summary.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Iterable

from pydantic import BaseModel, Field

from dokploy_mcp.monitoring.levels import POSTGREST_PREFIX, message_of
from dokploy_mcp.monitoring.loglines import EPOCH, LogLine, Record, cut_line
from dokploy_mcp.monitoring.window import iso_time
from dokploy_mcp.redact import SHOWN_MASK

__all__ = ["TopError", "normalize_message", "top_errors"]


def _quoted_value(match: re.Match[str]) -> str:
    # A JSON key (a quoted word followed by a colon) says what the value is: it stays.
    return match.group(0) if match.group(1) is not None else '"<v>"'


Replacement = str | Callable[[re.Match[str]], str]
_QUOTED = (
    (re.compile(r'"(?:[^"\\]|\\.)*"(\s*:)?'), _quoted_value),
    (re.compile(r"'(?:[^'\\]|\\.)*'"), "'<v>'"),
    (re.compile(r"`[^`]*`"), "`<v>`"),
)
_NORMALISERS: tuple[tuple[re.Pattern[str], Replacement], ...] = (
    (re.compile(re.escape(SHOWN_MASK) + r" \([^)]*\)"), "<secret>"),
    (
        re.compile(
            r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2})?(?:[.,]\d+)?(?:\s?(?:Z|UTC|GMT|[+-]\d{2}:?\d{2}))?",
        ),
        "<time>",
    ),
    (re.compile(r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2}(?: [+-]\d{4})?"), "<time>"),
    (re.compile(r"\d{4}/\d{2}/\d{2} \d{2}:\d{2}:\d{2}"), "<time>"),
    (re.compile(r"\b\d{1,2}:\d{2}:\d{2}(?:\.\d+)?\b"), "<time>"),
    (re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b"), "<uuid>"),
    # Each starts only where a run of its characters starts: started anywhere inside a run, it backtracks
    # quadratically on a long one ("ab-ab-ab-..." in a request path that a client chose).
    (re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b"), "<email>"),
    (re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b"), "<ip>"),
    (re.compile(r"\b(?:[0-9a-fA-F]{1,4}:){3,7}[0-9a-fA-F]{1,4}\b"), "<ip>"),
    *_QUOTED,
    (re.compile(r"\b(?:0x)?(?=[0-9a-fA-F]*\d)(?=[0-9a-fA-F]*[a-fA-F])[0-9a-fA-F]{8,}\b"), "<hex>"),
    (re.compile(r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{16,}\b"), "<id>"),
    # Numbers, with a short unit glued to them ("1.7ms", "30s"); SQLSTATEs such as 28P01 stay.
    (re.compile(r"(?<![A-Za-z0-9_])\d+(?:\.\d+)*(?:[a-zA-Z%]{1,3})?(?![A-Za-z0-9_])"), "<n>"),
    (re.compile(r"\s+"), " "),
)
_NORMALISED_CHARS = 1_000
_ACCESS_LINE = re.compile(r'"(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS|CONNECT|TRACE) (\S+)[^"]*" (\d{3}) ')


def normalize_message(text: str) -> str:
    """A line reduced to its kind, so that occurrences of one error count together: timestamps, UUIDs, e-mail and
    IP addresses, quoted values, hex and random-looking ids, numbers and masked secrets become placeholders."""
    # The kind shows in the first part of a message (the result is cut to 300 characters anyway); bounding the
    # input bounds the work of every pattern below on a line a client or an attacker wrote.
    normal = message_of(text)[:_NORMALISED_CHARS]
    access = _ACCESS_LINE.search(normal)
    if access is not None:
        # An access-log line is its request and its status: the client, the time and the sizes vary.
        method, path, status = access.groups()
        path = path.split("?", 1)[0]
        for pattern, replacement in _NORMALISERS:
            if (pattern, replacement) not in _QUOTED and replacement != "<n>":
                path = pattern.sub(replacement, path)
        path = re.sub(r"/\d+(?=/|$)", "/<n>", path)
        return f"{method} {path} {status}"[:300]
    normal = POSTGREST_PREFIX.sub("", normal, count=1)
    for pattern, replacement in _NORMALISERS:
        normal = pattern.sub(replacement, normal)
    return normal.strip()[:300]


class TopError(BaseModel):
    message: str = Field(description="the normalised message (ids, times, numbers and quoted values replaced)")
    count: int
    services: list[str]
    first_seen: str | None = None
    last_seen: str | None = None
    example: str = Field(description="one occurrence as it was logged (masked)")


def top_errors(records: Iterable[Record], limit: int) -> list[TopError]:
    """The ``limit`` most frequent error records by their normalised message, most frequent first (ties: the one
    seen first, then the message)."""
    groups: dict[str, list[LogLine]] = defaultdict(list)
    for record in records:
        head = record[0]
        if head.level == "error" and not head.continuation:
            groups[normalize_message(head.text)].append(head)
    ranked = sorted(
        groups.items(), key=lambda item: (-len(item[1]), min((h.timestamp or EPOCH) for h in item[1]), item[0])
    )
    top: list[TopError] = []
    for message, heads in ranked[:limit]:
        moments = [h.timestamp for h in heads if h.timestamp is not None]
        top.append(
            TopError(
                message=message,
                count=len(heads),
                services=sorted({h.service for h in heads}),
                first_seen=iso_time(min(moments)) if moments else None,
                last_seen=iso_time(max(moments)) if moments else None,
                example=cut_line(heads[0].text, 500),
            )
        )
    return top
