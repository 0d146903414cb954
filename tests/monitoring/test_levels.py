"""Levels of the Supabase services' log lines, and the message of a JSON line."""

from __future__ import annotations

import pytest

from dokploy_mcp.errors import InputError
from dokploy_mcp.monitoring.levels import detect_level, is_at_least, message_of, parse_level
from tests.monitoring import samples
from tests.monitoring.logkit import parsed


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ("auth", ["info", "info", "warning", "info", "error", "info", "error"]),
        ("kong", ["warning", "warning", "info", "warning", "error", "error"]),
        ("rest", ["error", None, None, None, None, "warning"]),
        ("realtime", ["info", "error", "error", "error", "error", "error", "error", "info"]),
        ("storage", ["info", "error", "warning"]),
        ("functions", [None, None, "error", "error", "error", None]),
        ("analytics", ["error", "error", "info"]),
        ("studio", [None, "error"]),
        ("imgproxy", ["info"]),
        ("vector", ["info", "warning"]),
    ],
)
def test_levels_of_the_supabase_services(service: str, expected: list[str | None]) -> None:
    assert [line.level for line in parsed(service)] == expected


@pytest.mark.parametrize(
    ("message", "level"),
    [
        ('{"level":"debug","msg":"x"}', "debug"),
        ('{"level":"fatal","msg":"x"}', "error"),
        ('{"level":60,"msg":"x"}', "error"),
        ('{"level":20,"msg":"x"}', "debug"),
        ('{"severity":"WARNING","message":"x"}', "warning"),
        ('{"msg":"ERROR: relation does not exist"}', "error"),  # no level field: the message decides
        ("2026-11-22 15:00:00.000 UTC [7] WARNING:  there is no transaction in progress", "warning"),
        ("2026-11-22 15:00:00.000 UTC [7] DEBUG2:  x", "debug"),
        ("2026-11-22 15:00:00.000 UTC [7] PANIC:  could not write to file", "error"),
        ("2026-11-22 15:00:00.000 UTC [7] NOTICE:  extension exists, skipping", "info"),
        ('15:00:00.000 [warning] Replication slot "x" lagging', "warning"),
        ('15:00:00.000 [info] executing "ERROR:  x" in a query text', "info"),  # the earliest marker wins
        ("2026/11/22 15:00:00 [crit] 1#0: *1 SSL_do_handshake() failed", "error"),
        ('time="2026-11-22T15:00:00Z" level=warning msg="slow"', "warning"),
        ("panic: runtime error: invalid memory address", "error"),
        ("Uncaught (in promise) TypeError: x is not a function", "error"),
        ("worker boot error: failed to load module", "error"),
        ("Warning: something deprecated", "warning"),
        ("error: connect ECONNREFUSED 172.22.0.4:5432", "error"),
        ('127.0.0.1 - - [22/Nov/2026:15:00:00 +0000] "POST /token HTTP/1.1" 200 10 "-" "x"', "info"),
        ("listening on :8080", None),
        ("the errors counter is at 0", None),
    ],
)
def test_detect_level(message: str, level: str | None) -> None:
    assert detect_level(message) == level


def test_message_of_reads_json_msg_and_error() -> None:
    assert message_of('{"msg":"400: invalid JWT","error":"bad signature"}') == "400: invalid JWT: bad signature"
    assert message_of('{"msg":"x","error":{"message":"rls"}}') == "x: rls"
    assert message_of("[1, 2]") == "[1, 2]"
    assert message_of("{not json}") == "{not json}"


@pytest.mark.parametrize("line", samples.HOSTILE_LINES)
def test_hostile_lines_are_levelled_as_text(line: str) -> None:
    """A line a client or an attacker chose (a request path in kong's access log) is read as text, quickly."""
    assert detect_level(line) in (None, "error", "warning", "info", "debug")


def test_a_level_argument_takes_any_level_word() -> None:
    assert parse_level(None) is None
    assert parse_level(" WARN ") == "warning"
    assert parse_level("fatal") == "error"
    with pytest.raises(InputError) as raised:
        parse_level("loud")
    assert raised.value.field == "level"


def test_is_at_least_ranks_the_levels() -> None:
    assert is_at_least("error", "warning") and is_at_least("warning", "warning")
    assert not is_at_least("info", "warning") and not is_at_least(None, "debug")
    assert is_at_least(None, None)
