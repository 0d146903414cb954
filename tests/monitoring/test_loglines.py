"""Parsing Dokploy's log text: docker timestamps, cleaning and masking, records of continuation lines, cuts."""

from __future__ import annotations

from datetime import UTC, datetime

from dokploy_mcp.monitoring.loglines import MAX_LINE_CHARS, parse_docker_logs
from tests.dokploy.recordings import load
from tests.monitoring import samples
from tests.monitoring.logkit import MASK, SECRETS, at, parsed


def test_recorded_busybox_logs_parse_with_their_nanosecond_timestamps() -> None:
    raw = load("compose.readLogs").response_body
    lines = parse_docker_logs(raw, "web", mask=MASK)
    assert [line.text for line in lines] == ["hello world"] * 3
    assert lines[0].timestamp == datetime(2026, 11, 22, 14, 50, 2, 276713, tzinfo=UTC)
    assert [line.level for line in lines] == [None] * 3
    assert lines[0].render() == "2026-11-22T14:50:02.276Z hello world"
    assert lines[0].render(with_service=True) == "2026-11-22T14:50:02.276Z web | hello world"


def test_lines_without_a_timestamp_inherit_the_previous_one() -> None:
    raw = (
        samples.DEAD_CONTAINER
        + "2026-11-22T15:00:00.5+02:00 first\n"
        + "no timestamp here\n"
        + "2026-11-22T13:00:01Z second\n"
    )
    lines = parse_docker_logs(raw, "db", mask=MASK)
    assert [(line.timestamp, line.text) for line in lines] == [
        (None, samples.DEAD_CONTAINER.strip()),
        (datetime(2026, 11, 22, 13, 0, 0, 500000, tzinfo=UTC), "first"),
        (datetime(2026, 11, 22, 13, 0, 0, 500000, tzinfo=UTC), "no timestamp here"),
        (datetime(2026, 11, 22, 13, 0, 1, tzinfo=UTC), "second"),
    ]
    assert lines[0].level == "error"
    assert not any(line.continuation for line in lines)


def test_docker_timestamps_at_the_ends_of_the_calendar_are_kept_as_text() -> None:
    [line] = parse_docker_logs("0001-01-01T00:00:00.000000000+01:00 first\n", "web", mask=MASK)
    assert line.timestamp is None and "first" in line.text


def test_a_javascript_stack_trace_is_one_record() -> None:
    lines = parsed("functions")
    trace = [line for line in lines if line.timestamp and line.timestamp >= at("2026-11-22T15:01:20.1Z")][:3]
    assert [line.continuation for line in trace] == [False, True, True]
    assert trace[0].text == "TypeError: Cannot read properties of undefined (reading 'id')"  # colours gone
    assert [line.level for line in trace] == ["error"] * 3
    assert trace[1].text.startswith("    at Object.handler")


def test_an_elixir_crash_report_is_one_record() -> None:
    lines = parsed("realtime")
    crash = [line for line in lines if "GenServer" in line.text or line.continuation]
    assert crash[0].text.endswith("GenServer #PID<0.3124.0> terminating") and not crash[0].continuation
    assert [line.continuation for line in crash[1:]] == [True] * 4
    assert crash[1].text.startswith("** (DBConnection.ConnectionError)")
    assert crash[-1].text == "Last message: {:continue, :db_connect}"
    assert {line.level for line in crash} == {"error"}


def test_postgres_detail_and_statement_lines_belong_to_their_error() -> None:
    lines = parsed("db")
    assert [(line.level, line.continuation) for line in lines] == [
        ("info", False),
        ("info", False),
        ("error", False),
        ("error", True),  # DETAIL
        ("error", False),
        ("error", True),  # DETAIL
        ("error", False),
        ("error", True),  # STATEMENT
        ("info", False),
    ]


def test_an_indented_line_long_after_the_previous_one_starts_a_new_record() -> None:
    raw = "2026-11-22T15:00:00Z Error: boom\n2026-11-22T15:00:00.1Z     at f (x.js:1:1)\n2026-11-22T15:05:00Z   idle\n"
    lines = parse_docker_logs(raw, "functions", mask=MASK)
    assert [line.continuation for line in lines] == [False, True, False]
    assert lines[2].level is None


def test_a_trace_at_the_top_of_the_tail_is_a_continuation_without_a_level() -> None:
    raw = "2026-11-22T15:00:00Z     at f (x.js:1:1)\n2026-11-22T15:00:01Z ok\n"
    first, _ = parse_docker_logs(raw, "functions", mask=MASK)
    assert first.continuation and first.level is None


def test_blank_lines_are_dropped() -> None:
    lines = parsed("analytics")
    assert len(lines) == 3
    assert all(line.text.strip() for line in lines)


def test_very_long_lines_are_cut_with_a_marker() -> None:
    long_line = next(line for line in parsed("storage") if "slow request" in line.text)
    assert len(long_line.text) < MAX_LINE_CHARS + 60
    whole = len(samples.STORAGE.splitlines()[2]) - len("2026-11-22T15:02:00.000000000Z ")
    assert long_line.text.endswith(f"… [line cut: {whole} characters]")
    assert long_line.level == "warning"  # detected on the whole line, before the cut
    short = parse_docker_logs("2026-11-22T15:00:00Z " + "y" * 50, "x", mask=MASK, max_line_chars=10)
    assert short[0].text == "yyyyyyyyyy … [line cut: 50 characters]"


def test_no_secret_of_the_stack_survives_in_any_sample_line() -> None:
    texts = [line.text for service in samples.LOGS for line in parsed(service)]
    joined = "\n".join(texts)
    for secret in SECRETS:
        assert secret in "".join(samples.LOGS.values())  # the samples really hold them
        assert secret not in joined
    assert "postgresql://supabase_admin:••••@db:5432/_supabase" not in joined  # masked by value first...
    assert "postgresql://supabase_admin:•••• (32 chars)@db:5432/_supabase" in joined
    assert "JWT_SECRET=•••• (32 chars)" in joined
    assert '"authorization":"Bearer •••• (' in joined
