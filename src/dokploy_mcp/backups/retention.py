"""Which backups a cleanup keeps: pure functions over ``(id, created)`` pairs, no I/O.

The rules work like ``restic forget`` / ``borg prune``; a backup is kept when ANY rule keeps it:

- ``keep_last=N``: the N newest backups.
- ``keep_daily=N``: the newest backup of each of the N most recent UTC days *that have backups* (days without a
  backup do not count, so a pause in backups does not eat into what is kept).
- ``keep_weekly=N``: the same for ISO weeks (Monday to Sunday, UTC; labelled ``2026-W49``).
- ``keep_monthly=N``: the same for calendar months (UTC; labelled ``2026-12``).
- ``max_age_days=N``: every backup younger than N days at ``now`` (created after ``now - N days``). On its own it
  is "delete what is older than N days"; next to the others it only adds to what they keep.

Whatever the policy, the newest backup is always kept (reason ``newest``): a cleanup never leaves nothing to restore.
A policy without any rule is refused rather than read as "keep only the newest". Ties on ``created`` are broken by
id, so a plan does not depend on the order of its input.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

from dokploy_mcp.errors import InputError

__all__ = ["MAX_AGE_DAYS", "MAX_KEEP", "CleanupPlan", "Kept", "RetentionPolicy", "plan_cleanup"]

#: Upper bounds of the rules: beyond them a rule means "keep everything", which leaving it out says better.
MAX_KEEP = 10_000
MAX_AGE_DAYS = 36_500


@dataclass(frozen=True)
class RetentionPolicy:
    """What a cleanup keeps; None leaves a rule out. At least one rule must be set, each to at least 1."""

    keep_last: int | None = None
    max_age_days: int | None = None
    keep_daily: int | None = None
    keep_weekly: int | None = None
    keep_monthly: int | None = None

    def __post_init__(self) -> None:
        names = [f.name for f in fields(self)]
        for name in names:
            _check_bound(name, getattr(self, name))
        if all(getattr(self, name) is None for name in names):
            raise InputError(
                f"a retention policy needs at least one rule ({', '.join(names)}); "
                "without one a cleanup would have nothing to go by",
                field="retention",
            )


def _check_bound(name: str, value: object) -> None:
    if value is None:
        return
    upper = MAX_AGE_DAYS if name == "max_age_days" else MAX_KEEP
    # bool is an int: True must not quietly mean 1.
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= upper:
        raise InputError(
            f"{name} must be a whole number from 1 to {upper} (or null to leave the rule out), not {value!r}",
            field=name,
        )


class Kept(NamedTuple):
    """A backup the plan keeps, and every rule that keeps it."""

    id: str
    reasons: list[str]


@dataclass(frozen=True)
class CleanupPlan:
    """What a cleanup keeps (with reasons) and deletes; both newest first, together exactly the input."""

    keep: list[Kept]
    delete: list[str]


def _day(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d")


def _week(moment: datetime) -> str:
    iso = moment.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


def _month(moment: datetime) -> str:
    return moment.strftime("%Y-%m")


def _require_aware(moment: datetime, what: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{what} must be a timezone-aware datetime, not naive {moment.isoformat()}")


def _newest_first(backups: Sequence[tuple[str, datetime]]) -> list[tuple[str, datetime]]:
    seen: set[str] = set()
    for backup_id, created in backups:
        if backup_id in seen:
            raise ValueError(f"backup id {backup_id!r} is listed twice")
        seen.add(backup_id)
        _require_aware(created, f"the creation time of backup {backup_id!r}")
    ordered = [(backup_id, created.astimezone(UTC)) for backup_id, created in backups]
    ordered.sort(key=lambda item: (item[1], item[0]), reverse=True)
    return ordered


def _keep_per_period(
    ordered: list[tuple[str, datetime]],
    count: int,
    rule: str,
    label: Callable[[datetime], str],
    reasons: dict[str, list[str]],
) -> None:
    """Keep the newest backup of each of the ``count`` most recent periods that have one."""
    periods: set[str] = set()
    for backup_id, created in ordered:
        period = label(created)
        if period in periods:
            continue
        if len(periods) == count:
            return
        periods.add(period)
        reasons[backup_id].append(f"{rule} {period}")


def plan_cleanup(backups: Sequence[tuple[str, datetime]], policy: RetentionPolicy, *, now: datetime) -> CleanupPlan:
    """Split ``backups`` (id, creation time; timezone-aware) into kept and deleted ones by ``policy`` at ``now``.

    Raises ValueError for a duplicated id or a naive datetime: the caller's data is wrong, not the user's policy.
    """
    _require_aware(now, "now")
    ordered = _newest_first(backups)
    reasons: dict[str, list[str]] = {backup_id: [] for backup_id, _ in ordered}
    if ordered:
        reasons[ordered[0][0]].append("newest")
    if policy.keep_last is not None:
        for backup_id, _ in ordered[: policy.keep_last]:
            reasons[backup_id].append(f"last {policy.keep_last}")
    periodic = (
        (policy.keep_daily, "daily", _day),
        (policy.keep_weekly, "weekly", _week),
        (policy.keep_monthly, "monthly", _month),
    )
    for count, rule, label in periodic:
        if count is not None:
            _keep_per_period(ordered, count, rule, label, reasons)
    if policy.max_age_days is not None:
        cutoff = now - timedelta(days=policy.max_age_days)
        reason = f"younger than {policy.max_age_days} day{'s' if policy.max_age_days > 1 else ''}"
        for backup_id, created in ordered:
            if created > cutoff:
                reasons[backup_id].append(reason)
    return CleanupPlan(
        keep=[Kept(backup_id, reasons[backup_id]) for backup_id, _ in ordered if reasons[backup_id]],
        delete=[backup_id for backup_id, _ in ordered if not reasons[backup_id]],
    )
