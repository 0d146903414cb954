"""The since and until arguments: Dokploy's form, durations, ISO times, and their bounds."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dokploy_mcp.errors import InputError
from dokploy_mcp.monitoring.window import parse_since, parse_until, validate_since
from tests.monitoring.logkit import NOW, at


@pytest.mark.parametrize(
    ("since", "server"),
    [
        ("all", "all"),
        ("", "all"),
        (None, "all"),
        ("5m", "5m"),
        ("2d", "2d"),
        ("30s", "30s"),
        ("15 min", "900s"),
        ("90 minutes", "5400s"),
        ("1h30m", "5400s"),
        ("1.5h", "5400s"),
        ("2w", "1209600s"),
        ("2 hours", "7200s"),
    ],
)
def test_since_durations_become_what_dokploy_accepts(since: str | None, server: str) -> None:
    window = parse_since(since, now=NOW)
    assert window.server == server and window.cutoff is None
    if since is not None:
        assert validate_since(since) == server


def test_since_as_a_time_becomes_seconds_plus_an_exact_cutoff() -> None:
    window = parse_since("2026-11-22T15:00:00Z", now=NOW)
    assert window.server == "601s" and window.cutoff == at("2026-11-22T15:00:00Z")
    naive = parse_since("2026-11-22T14:00:00", now=NOW)
    assert naive.cutoff == at("2026-11-22T14:00:00Z") and naive.server == "4201s"
    assert parse_since(datetime(2026, 11, 22, 15, 9, 30, tzinfo=UTC), now=NOW).server == "31s"


@pytest.mark.parametrize("since", ["yesterday", "5x", "0m", "0 minutes", "-5m", "2026-11-23T00:00:00Z", "m5"])
def test_bad_since_names_the_field(since: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_since(since, now=NOW)
    assert raised.value.field == "since"


@pytest.mark.parametrize(
    "since", ["99999999999d", "366d", "53w", "9" * 5000 + "d", "9" * 400 + " days", "1h" * 9000, "0s", "0.5s"]
)
def test_since_durations_out_of_range_name_the_field_and_the_range(since: str) -> None:
    # "99999999999d" overflowed the date arithmetic; 5,000 digits broke int(); 400 digits make an infinite float.
    with pytest.raises(InputError) as raised:
        parse_since(since, now=NOW)
    assert raised.value.field == "since"
    assert "1s to 365d" in str(raised.value)
    assert len(str(raised.value)) < 400  # the argument is quoted back cut short


def test_since_durations_up_to_a_year_are_accepted() -> None:
    assert parse_since("365d", now=NOW).server == "365d"
    assert parse_since("0000000365d", now=NOW).server == "365d"
    assert parse_since("52w", now=NOW).server == f"{52 * 7 * 86400}s"
    assert parse_since("1s", now=NOW).server == "1s"


def test_since_a_time_older_than_any_duration_reads_everything_and_cuts_exactly() -> None:
    window = parse_since("2020-01-01T00:00:00Z", now=NOW)
    assert window.server == "all" and window.cutoff == at("2020-01-01T00:00:00Z")
    ancient = parse_since("0001-01-01T00:00:00Z", now=NOW)
    assert ancient.server == "all" and ancient.cutoff == datetime.min.replace(tzinfo=UTC)


@pytest.mark.parametrize("field", ["since", "until"])
def test_times_at_the_ends_of_the_calendar_are_an_input_error(field: str) -> None:
    # Year 1 with a positive offset is before datetime.min in UTC: converting it overflowed.
    parse = parse_since if field == "since" else parse_until
    with pytest.raises(InputError) as raised:
        parse("0001-01-01T00:00:00+01:00", now=NOW)
    assert raised.value.field == field


@pytest.mark.parametrize("until", ["99999999999d", "366d", "9" * 5000 + "s"])
def test_until_durations_out_of_range_name_the_field_and_the_range(until: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_until(until, now=NOW)
    assert raised.value.field == "until"
    assert "1s to 365d" in str(raised.value)


def test_until_is_a_time_or_how_long_ago() -> None:
    assert parse_until(None, now=NOW) is None
    assert parse_until("now", now=NOW) is None
    assert parse_until("10m", now=NOW) == NOW - timedelta(minutes=10)
    assert parse_until("2026-11-22T15:01:00Z", now=NOW) == at("2026-11-22T15:01:00Z")
    with pytest.raises(InputError) as raised:
        parse_until("soonish", now=NOW)
    assert raised.value.field == "until"
