"""Which backups a cleanup keeps: worked examples across day, ISO week, month and year boundaries, and properties
that must hold for any list of backups and any policy (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dokploy_mcp.backups.retention import MAX_AGE_DAYS, MAX_KEEP, CleanupPlan, RetentionPolicy, plan_cleanup
from dokploy_mcp.errors import InputError

NOW = datetime(2027, 1, 10, 12, 0, tzinfo=UTC)
RULES = ("keep_last", "max_age_days", "keep_daily", "keep_weekly", "keep_monthly")


def at(text: str) -> datetime:
    """An ISO time; UTC unless it says otherwise."""
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def kept(plan: CleanupPlan) -> dict[str, list[str]]:
    return {entry.id: entry.reasons for entry in plan.keep}


# -- the policy -------------------------------------------------------------------------------------------------------


def test_a_policy_without_any_rule_is_refused() -> None:
    with pytest.raises(InputError) as caught:
        RetentionPolicy()
    assert caught.value.field == "retention"
    for name in RULES:
        assert name in str(caught.value)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("keep_last", 0),
        ("keep_daily", -1),
        ("keep_weekly", MAX_KEEP + 1),
        ("keep_monthly", True),
        ("max_age_days", 0),
        ("max_age_days", MAX_AGE_DAYS + 1),
        ("keep_last", 2.5),
    ],
)
def test_rules_out_of_bounds_are_refused(field: str, value: Any) -> None:
    with pytest.raises(InputError, match=f"{field} must be a whole number from 1") as caught:
        RetentionPolicy(**{field: value})
    assert caught.value.field == field


def test_bad_input_data_is_a_programming_error() -> None:
    policy = RetentionPolicy(keep_last=1)
    with pytest.raises(ValueError, match="listed twice"):
        plan_cleanup([("a", NOW), ("a", NOW)], policy, now=NOW)
    with pytest.raises(ValueError, match="timezone-aware"):
        plan_cleanup([("a", datetime(2026, 1, 1))], policy, now=NOW)
    with pytest.raises(ValueError, match="now must be"):
        plan_cleanup([], policy, now=datetime(2026, 1, 1))


def test_no_backups_no_plan() -> None:
    assert plan_cleanup([], RetentionPolicy(keep_last=3), now=NOW) == CleanupPlan(keep=[], delete=[])


# -- worked examples --------------------------------------------------------------------------------------------------


def test_keep_last() -> None:
    backups = [(f"b{day}", at(f"2027-01-0{day}T03:00")) for day in range(1, 7)]
    plan = plan_cleanup(backups, RetentionPolicy(keep_last=3), now=NOW)
    assert kept(plan) == {"b6": ["newest", "last 3"], "b5": ["last 3"], "b4": ["last 3"]}
    assert plan.delete == ["b3", "b2", "b1"]


def test_daily_takes_the_newest_of_each_utc_day_and_skips_days_without_backups() -> None:
    backups = [
        ("sat-late", at("2026-12-05T23:59:59")),
        ("sat-early", at("2026-12-05T00:00")),
        # 00:30 in UTC+02:00 is still Friday in UTC.
        ("fri-by-utc", at("2026-12-05T00:30+02:00")),
        ("fri", at("2026-12-04T12:00")),
        # No backups on 12-02 and 12-03: the third day that has one is 12-01.
        ("tue", at("2026-12-01T08:00")),
        ("mon", at("2026-11-30T08:00")),
    ]
    plan = plan_cleanup(backups, RetentionPolicy(keep_daily=3), now=NOW)
    assert kept(plan) == {
        "sat-late": ["newest", "daily 2026-12-05"],
        "fri-by-utc": ["daily 2026-12-04"],
        "tue": ["daily 2026-12-01"],
    }
    assert plan.delete == ["sat-early", "fri", "mon"]


def test_weekly_uses_iso_weeks_across_the_year_end() -> None:
    backups = [
        ("mon-w1", at("2027-01-04T01:00")),  # 2027-W01 starts on Monday 4 January
        ("sun-w53", at("2027-01-03T23:00")),  # 2027-01-03 belongs to 2026-W53
        ("thu-w53", at("2026-12-31T10:00")),
        ("sun-w50", at("2026-12-13T10:00")),
        ("mon-w50", at("2026-12-07T00:00")),
        ("sun-w49", at("2026-12-06T23:59")),
    ]
    plan = plan_cleanup(backups, RetentionPolicy(keep_weekly=3), now=NOW)
    assert kept(plan) == {
        "mon-w1": ["newest", "weekly 2027-W01"],
        "sun-w53": ["weekly 2026-W53"],
        "sun-w50": ["weekly 2026-W50"],
    }
    assert plan.delete == ["thu-w53", "mon-w50", "sun-w49"]


def test_monthly_across_the_year_end() -> None:
    backups = [
        ("jan", at("2027-01-01T00:00")),
        ("dec-last", at("2026-12-31T23:59:59")),
        ("dec-first", at("2026-12-01T00:00")),
        ("nov", at("2026-11-15T00:00")),
        ("oct", at("2026-10-15T00:00")),
    ]
    plan = plan_cleanup(backups, RetentionPolicy(keep_monthly=3), now=NOW)
    assert kept(plan) == {
        "jan": ["newest", "monthly 2027-01"],
        "dec-last": ["monthly 2026-12"],
        "nov": ["monthly 2026-11"],
    }
    assert plan.delete == ["dec-first", "oct"]


def test_max_age_alone_deletes_what_is_older() -> None:
    backups = [
        ("fresh", NOW - timedelta(days=1)),
        ("almost", NOW - timedelta(days=30) + timedelta(seconds=1)),
        ("exactly-30-days", NOW - timedelta(days=30)),
        ("old", NOW - timedelta(days=90)),
    ]
    plan = plan_cleanup(backups, RetentionPolicy(max_age_days=30), now=NOW)
    assert kept(plan) == {"fresh": ["newest", "younger than 30 days"], "almost": ["younger than 30 days"]}
    assert plan.delete == ["exactly-30-days", "old"]


def test_the_newest_survives_any_policy() -> None:
    backups = [("last-year", NOW - timedelta(days=400)), ("older", NOW - timedelta(days=500))]
    plan = plan_cleanup(backups, RetentionPolicy(max_age_days=7), now=NOW)
    assert kept(plan) == {"last-year": ["newest"]}
    assert plan.delete == ["older"]


def test_rules_add_up_and_every_reason_is_given() -> None:
    backups = [
        ("d10", at("2027-01-10T02:00")),
        ("d09b", at("2027-01-09T20:00")),
        ("d09a", at("2027-01-09T02:00")),
        ("d01", at("2027-01-01T02:00")),
        ("n15", at("2026-11-15T02:00")),
    ]
    policy = RetentionPolicy(keep_last=2, keep_daily=2, keep_monthly=2, max_age_days=1)
    plan = plan_cleanup(backups, policy, now=NOW)
    assert kept(plan) == {
        "d10": ["newest", "last 2", "daily 2027-01-10", "monthly 2027-01", "younger than 1 day"],
        "d09b": ["last 2", "daily 2027-01-09", "younger than 1 day"],
        "n15": ["monthly 2026-11"],
    }
    assert plan.delete == ["d09a", "d01"]


def test_equal_times_are_ordered_by_id() -> None:
    moment = at("2026-12-05T10:00")
    plan = plan_cleanup([("a", moment), ("c", moment), ("b", moment)], RetentionPolicy(keep_last=1), now=NOW)
    assert kept(plan) == {"c": ["newest", "last 1"]}
    assert plan.delete == ["b", "a"]


# -- properties -------------------------------------------------------------------------------------------------------

ZONES = st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30)), timezone(timedelta(hours=-8))])
MOMENTS = st.datetimes(min_value=datetime(2025, 1, 1), max_value=datetime(2027, 1, 10), timezones=ZONES)
BACKUPS = st.lists(MOMENTS, max_size=60).map(lambda moments: [(f"b{i:02d}", m) for i, m in enumerate(moments)])
COUNTS = st.none() | st.integers(min_value=1, max_value=12)


@st.composite
def policies(draw: st.DrawFn) -> RetentionPolicy:
    values = {
        "keep_last": draw(COUNTS),
        "max_age_days": draw(st.none() | st.integers(min_value=1, max_value=400)),
        "keep_daily": draw(COUNTS),
        "keep_weekly": draw(COUNTS),
        "keep_monthly": draw(COUNTS),
    }
    if all(value is None for value in values.values()):
        values[draw(st.sampled_from(RULES))] = draw(st.integers(min_value=1, max_value=12))
    return RetentionPolicy(**values)


def newest_first(backups: list[tuple[str, datetime]]) -> list[str]:
    return [backup_id for backup_id, _ in sorted(backups, key=lambda b: (b[1], b[0]), reverse=True)]


@given(BACKUPS, policies())
def test_keep_and_delete_split_the_input_and_the_newest_is_kept(
    backups: list[tuple[str, datetime]], policy: RetentionPolicy
) -> None:
    plan = plan_cleanup(backups, policy, now=NOW)
    kept_ids = [entry.id for entry in plan.keep]
    assert sorted(kept_ids + plan.delete) == sorted(backup_id for backup_id, _ in backups)
    assert not set(kept_ids) & set(plan.delete)
    assert all(entry.reasons for entry in plan.keep)
    order = newest_first(backups)
    assert kept_ids == [i for i in order if i in set(kept_ids)]
    assert plan.delete == [i for i in order if i in set(plan.delete)]
    if backups:
        assert plan.keep[0].id == order[0]
        assert plan.keep[0].reasons[0] == "newest"


@given(BACKUPS, st.integers(min_value=1, max_value=70))
def test_keep_last_keeps_the_n_newest(backups: list[tuple[str, datetime]], count: int) -> None:
    plan = plan_cleanup(backups, RetentionPolicy(keep_last=count), now=NOW)
    assert len(plan.keep) == min(count, len(backups))
    assert [entry.id for entry in plan.keep] == newest_first(backups)[:count]


@given(BACKUPS, policies(), st.randoms(use_true_random=False))
def test_the_plan_does_not_depend_on_input_order(
    backups: list[tuple[str, datetime]], policy: RetentionPolicy, shuffler: Any
) -> None:
    shuffled = list(backups)
    shuffler.shuffle(shuffled)
    assert plan_cleanup(shuffled, policy, now=NOW) == plan_cleanup(backups, policy, now=NOW)


@given(BACKUPS, policies())
def test_a_second_cleanup_deletes_nothing_more(backups: list[tuple[str, datetime]], policy: RetentionPolicy) -> None:
    first = plan_cleanup(backups, policy, now=NOW)
    survivors = [backup for backup in backups if backup[0] in {entry.id for entry in first.keep}]
    second = plan_cleanup(survivors, policy, now=NOW)
    assert second.delete == []
    assert second.keep == first.keep


@given(BACKUPS, policies(), st.sampled_from(RULES), st.integers(min_value=1, max_value=12))
def test_a_wider_policy_never_deletes_more(
    backups: list[tuple[str, datetime]], policy: RetentionPolicy, rule: str, extra: int
) -> None:
    values = {name: getattr(policy, name) for name in RULES}
    values[rule] = (values[rule] or 0) + extra
    wider = RetentionPolicy(**values)
    assert set(plan_cleanup(backups, wider, now=NOW).delete) <= set(plan_cleanup(backups, policy, now=NOW).delete)


@given(BACKUPS, st.integers(min_value=1, max_value=12), st.sampled_from(["daily", "weekly", "monthly"]))
def test_a_period_rule_keeps_one_per_period_for_at_most_n_periods(
    backups: list[tuple[str, datetime]], count: int, rule: str
) -> None:
    plan = plan_cleanup(backups, RetentionPolicy(**{f"keep_{rule}": count}), now=NOW)
    periods = [reason.split(" ", 1)[1] for entry in plan.keep for reason in entry.reasons if reason.startswith(rule)]
    assert len(periods) == len(set(periods))
    assert len(periods) <= count
    label = {"daily": "%Y-%m-%d", "weekly": "%G-W%V", "monthly": "%Y-%m"}[rule]
    distinct = {moment.astimezone(UTC).strftime(label) for _, moment in backups}
    assert len(periods) == min(count, len(distinct))


@given(BACKUPS, st.integers(min_value=1, max_value=400))
def test_max_age_keeps_exactly_what_is_younger(backups: list[tuple[str, datetime]], days: int) -> None:
    plan = plan_cleanup(backups, RetentionPolicy(max_age_days=days), now=NOW)
    young = {backup_id for backup_id, moment in backups if NOW - moment < timedelta(days=days)}
    kept_ids = {entry.id for entry in plan.keep}
    assert young <= kept_ids
    assert kept_ids - young <= set(newest_first(backups)[:1])
