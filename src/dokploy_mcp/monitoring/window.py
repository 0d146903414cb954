"""The time window of a log read: the ``since`` and ``until`` arguments, and times written as the tools show them.

Dokploy's ``compose.readLogs`` accepts ``since`` as ``all`` or ``<n>[smhd]`` (its input schema, in the recorded
OpenAPI document). Callers may write more (a duration such as "1h30m", an ISO time): :func:`parse_since` turns it
into what Dokploy accepts, plus the exact bound to cut at here when Dokploy's form can only round it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from dokploy_mcp.errors import InputError

__all__ = [
    "MAX_TIME_ARG_CHARS",
    "MAX_WINDOW_DAYS",
    "MAX_WINDOW_S",
    "Since",
    "iso_time",
    "parse_since",
    "parse_time",
    "parse_until",
    "validate_since",
]

#: How far back a duration (``since``, ``until``) may reach; an ISO time may be older (then everything is read).
MAX_WINDOW_DAYS = 365
MAX_WINDOW_S = MAX_WINDOW_DAYS * 86_400
#: Longest ``since`` / ``until`` text: the longest useful form ("2026-11-22T14:00:00.123456789+01:00") fits.
MAX_TIME_ARG_CHARS = 64

_DOKPLOY_SINCE = re.compile(r"^\d+[smhd]$")
_DURATION_PART = re.compile(
    r"(\d+(?:\.\d+)?)\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|wk|"
    r"week|weeks)(?![A-Za-z])",
    re.IGNORECASE,
)
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def iso_time(moment: datetime | None) -> str | None:
    """``moment`` in UTC to the millisecond, as the tools show times ("2026-11-22T14:50:02.276Z")."""
    if moment is None:
        return None
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_time(text: str | None) -> datetime | None:
    """An ISO time in UTC (no zone means UTC); None when ``text`` is empty or not one."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00").replace("z", "+00:00"))
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except (ValueError, OverflowError):  # year 1 or 9999 with an offset cannot be moved to UTC
        return None


def _duration_seconds(text: str) -> float | None:
    """Seconds of "15m", "1h30m", "90 seconds", "2 hours"; None when ``text`` is not a duration."""
    compact = text.strip()
    if not compact:
        return None
    position, total = 0, 0.0
    for match in _DURATION_PART.finditer(compact):
        if compact[position : match.start()].strip():
            return None
        unit = match.group(2).lower()
        key = "m" if unit.startswith("mi") or unit == "m" else unit[0]
        total += float(match.group(1)) * _UNIT_SECONDS[key]
        position = match.end()
    if position == 0 or compact[position:].strip():
        return None
    return total


def _now(now: datetime | None) -> datetime:
    return (now or datetime.now(UTC)).astimezone(UTC)


@dataclass(frozen=True)
class Since:
    """A start of the log window: ``server`` is what Dokploy accepts ("all" or ``<n>[smhd]``); ``cutoff`` is the
    exact bound applied here when Dokploy's form can only round it (an absolute time)."""

    server: str
    cutoff: datetime | None = None

    def opens(self, now: datetime | None = None) -> datetime | None:
        """When the window opens: the exact cutoff, else when Dokploy's ``<n>[smhd]`` counts back to from ``now``
        (None for "all")."""
        if self.cutoff is not None:
            return self.cutoff
        if not _DOKPLOY_SINCE.match(self.server):
            return None
        return _now(now) - timedelta(seconds=int(self.server[:-1]) * _UNIT_SECONDS[self.server[-1]])


def _bounded_seconds(text: str, field: str) -> float | None:
    """Seconds of a duration argument (Dokploy's ``<n>[smhd]`` or :func:`_duration_seconds`'s forms), None when
    ``text`` is not a duration.

    Raises:
        InputError: (``field``) a duration outside 1 second .. :data:`MAX_WINDOW_DAYS` days; unbounded, one would
            overflow the date arithmetic (``since: "99999999999d"``).
    """
    if _DOKPLOY_SINCE.match(text):
        # float, not int: int() refuses digit strings past 4,300 characters, float() only grows to inf.
        seconds: float | None = float(text[:-1]) * _UNIT_SECONDS[text[-1]]
    else:
        seconds = _duration_seconds(text)
    if seconds is not None and not 1 <= seconds <= MAX_WINDOW_S:
        raise InputError(
            f"{field} {_shown(text)} is out of range: a duration is from 1s to {MAX_WINDOW_DAYS}d (e.g. 30s, 15m, "
            "2h, 7d, 1h30m)",
            field=field,
        )
    return seconds


def _shown(text: str) -> str:
    # An argument quoted back in an error: long enough to recognise, never a wall of text.
    return repr(text if len(text) <= 40 else text[:40] + "…")


def parse_since(since: str | datetime | None, *, now: datetime | None = None) -> Since:
    """Read a ``since`` argument: "all", Dokploy's ``<n>[smhd]``, a duration ("15 min", "1h30m", "2w") up to
    :data:`MAX_WINDOW_DAYS` days, or an ISO time ("2026-11-22T14:00:00Z"; no zone means UTC).

    Raises:
        InputError: (field ``since``) anything else, a duration out of range, or a time in the future.
    """
    if since is None:
        return Since("all")
    if isinstance(since, datetime):
        moment = since if since.tzinfo else since.replace(tzinfo=UTC)
    else:
        text = since.strip()
        if text.lower() in ("", "all"):
            return Since("all")
        seconds = _bounded_seconds(text, "since")
        if seconds is not None:
            # Dokploy's own form is sent as written (its digits normalised); other forms as whole seconds.
            dokploy = _DOKPLOY_SINCE.match(text) is not None
            return Since(f"{int(float(text[:-1]))}{text[-1]}" if dokploy else f"{math.ceil(seconds)}s")
        parsed = parse_time(text)
        if parsed is None:
            raise InputError(
                f"since {_shown(since)} is not understood: use all, a duration from 1s to {MAX_WINDOW_DAYS}d such as "
                "30s, 15m, 2h, 1d or 1h30m, or an ISO time such as 2026-11-22T14:00:00Z",
                field="since",
            )
        moment = parsed
    return _since_time(moment, now)


def _since_time(moment: datetime, now: datetime | None) -> Since:
    current = _now(now)
    moment = moment.astimezone(UTC)
    if moment > current:
        raise InputError(f"since {iso_time(moment)} is in the future (now is {iso_time(current)})", field="since")
    back = (current - moment).total_seconds()
    if back > MAX_WINDOW_S:
        # Further back than any duration may reach: read everything and cut exactly here.
        return Since("all", cutoff=moment)
    # Dokploy counts back from its own clock: ask for a little more and cut exactly here.
    return Since(f"{math.ceil(back) + 1}s", cutoff=moment)


def validate_since(since: str) -> str:
    """The ``since`` Dokploy accepts ("all" or ``<n>[smhd]``) for any form :func:`parse_since` reads.

    Raises:
        InputError: (field ``since``) see :func:`parse_since`.
    """
    return parse_since(since).server


def parse_until(until: str | datetime | None, *, now: datetime | None = None) -> datetime | None:
    """The end of the log window: an ISO time, or a duration meaning that long ago ("10m", at most
    :data:`MAX_WINDOW_DAYS` days). None: no end.

    Raises:
        InputError: (field ``until``) anything else, or a duration out of range.
    """
    if until is None:
        return None
    if isinstance(until, datetime):
        return until.replace(tzinfo=UTC) if until.tzinfo is None else until.astimezone(UTC)
    text = until.strip()
    if not text or text.lower() == "now":
        return None
    seconds = _bounded_seconds(text, "until")
    if seconds is not None:
        return _now(now) - timedelta(seconds=seconds)
    moment = parse_time(text)
    if moment is None:
        raise InputError(
            f"until {_shown(until)} is not understood: use an ISO time such as 2026-11-22T15:00:00Z or a duration "
            f"from 1s to {MAX_WINDOW_DAYS}d such as 10m (meaning 10 minutes ago)",
            field="until",
        )
    return moment
