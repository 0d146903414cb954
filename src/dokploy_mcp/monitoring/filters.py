"""Which records of a log read are kept (time window, level, search or pattern), and how many lines an answer
carries (the caps: the most recent lines that fit, with a note saying what was left out).

Filters keep or drop whole records (a line and its continuation lines), judged by the record's head line for time
and level and by any of its lines for a search.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import NamedTuple

from dokploy_mcp.errors import InputError
from dokploy_mcp.monitoring.levels import Level, is_at_least
from dokploy_mcp.monitoring.loglines import Record

__all__ = [
    "DEFAULT_MAX_BYTES",
    "DEFAULT_MAX_LINES",
    "MAX_LINES",
    "Shown",
    "check_caps",
    "contains",
    "in_window",
    "select",
    "show",
]

DEFAULT_MAX_LINES = 2_000
#: The most lines one answer of the tools carries.
MAX_LINES = 2_000
DEFAULT_MAX_BYTES = 256 * 1024

LineTest = Callable[[str], bool]


def check_caps(max_lines: int, max_bytes: int) -> None:
    """Refuse caps an answer could not work with.

    Raises:
        InputError: (field ``max_lines`` or ``max_bytes``) a cap below 1 line or 1024 bytes.
    """
    if max_lines < 1:
        raise InputError(f"max_lines must be at least 1, not {max_lines}", field="max_lines")
    if max_bytes < 1024:
        raise InputError(f"max_bytes must be at least 1024, not {max_bytes}", field="max_bytes")


def in_window(record: Record, cutoff: datetime | None, until: datetime | None) -> bool:
    """Whether the record's head falls between ``cutoff`` and ``until`` (a record without a time always does)."""
    moment = record[0].timestamp
    if moment is None:
        return True
    if cutoff is not None and moment < cutoff:
        return False
    return not (until is not None and moment > until)


def contains(search: str | None) -> LineTest | None:
    """A literal, case-insensitive search for ``search`` (None when there is none)."""
    needle = (search or "").strip().casefold()
    if not needle:
        return None
    return lambda text: needle in text.casefold()


def select(records: Iterable[Record], minimum: Level | None, test: LineTest | None) -> list[Record]:
    """The records at ``minimum`` level or worse of which one line passes ``test`` (no filter where None)."""
    return [
        record
        for record in records
        if is_at_least(record[0].level, minimum) and (test is None or any(test(line.text) for line in record))
    ]


class Shown(NamedTuple):
    """What an answer shows of the records kept: the lines, how many there were, why some were left out."""

    lines: list[str]
    matched: int
    truncated_reason: str | None


def show(records: Iterable[Record], max_lines: int, max_bytes: int, *, with_service: bool = False) -> Shown:
    """The records' lines as the tools show them, capped by :func:`_cap`."""
    rendered = [line.render(with_service=with_service) for record in records for line in record]
    lines, reason = _cap(rendered, max_lines, max_bytes)
    return Shown(lines, len(rendered), reason)


def _cap(rendered: list[str], max_lines: int, max_bytes: int) -> tuple[list[str], str | None]:
    """The most recent lines that fit both caps, and why lines were left out (None when none were)."""
    kept: list[str] = []
    size = 0
    for line in reversed(rendered):
        cost = len(line.encode("utf-8")) + 1
        if len(kept) >= max_lines or size + cost > max_bytes:
            break
        kept.append(line)
        size += cost
    kept.reverse()
    if len(kept) == len(rendered):
        return kept, None
    limit = f"{max_lines} lines" if len(kept) >= max_lines else f"{max_bytes} bytes"
    return kept, (
        f"{len(rendered)} lines matched; only the last {len(kept)} are shown (limit: {limit}). Narrow the window "
        "(since/until), the level or the search, or raise the limit"
    )
