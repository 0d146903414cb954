"""Caller patterns (aggregate_logs ``pattern``) run on RE2: linear time, clear refusals, bounded length."""

from __future__ import annotations

import time

import pytest

from dokploy_mcp.errors import InputError
from dokploy_mcp.monitoring.patterns import MAX_PATTERN_CHARS, PATTERN_SYNTAX, compile_pattern

#: A line as the parser leaves a 100 KB one: cut to 4,000 characters, then the marker. Python's re needs about
#: 2**4000 steps to fail these patterns on it; RE2 a few milliseconds.
LONG_LINE = "a" * 4_000 + " … [line cut: 100000 characters]"
CATASTROPHIC = ["(a+)+$", "(a|aa)+b", "(a*)*z", "(a|a)+$", "^(a+)+!"]
#: Generous: RE2 takes milliseconds here; this only separates "answers" from "backtracks for ever".
ALLOWANCE_S = 5.0


def test_no_pattern_means_no_filter() -> None:
    assert compile_pattern(None) is None
    assert compile_pattern("   ") is None


def test_patterns_match_case_insensitively() -> None:
    test = compile_pattern(r"password\s+auth(entication)?")
    assert test is not None
    assert test('FATAL:  PASSWORD   Authentication failed for user "x"')
    assert not test("password reset requested")
    unicode = compile_pattern("ÉCHEC")
    assert unicode is not None and unicode("une échec")


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_patterns_answer_in_linear_time(pattern: str) -> None:
    test = compile_pattern(pattern)
    assert test is not None
    started = time.monotonic()
    assert test(LONG_LINE) is False
    assert test("a" * 100_000 + "?") is False
    assert time.monotonic() - started < ALLOWANCE_S


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        (r"(a)\1", "invalid escape sequence"),
        ("(?=a)b", "invalid perl operator"),
        ("(?<!a)b", "invalid perl operator"),
        ("(?P<x>a)(?P=x)", "invalid perl operator: (?P"),
        ("(unclosed", "missing )"),
        ("a{1001}", "invalid repetition size"),
    ],
)
def test_unsupported_or_invalid_patterns_name_the_field_and_the_accepted_syntax(pattern: str, reason: str) -> None:
    with pytest.raises(InputError) as raised:
        compile_pattern(pattern)
    assert raised.value.field == "pattern"
    message = str(raised.value)
    assert reason in message
    assert PATTERN_SYNTAX in message and "RE2" in message and "backreferences or lookaround" in message


def test_pattern_length_is_bounded() -> None:
    assert compile_pattern("a" * MAX_PATTERN_CHARS) is not None
    with pytest.raises(InputError) as raised:
        compile_pattern("a" * (MAX_PATTERN_CHARS + 1))
    assert raised.value.field == "pattern"
    assert str(MAX_PATTERN_CHARS) in str(raised.value)


def test_a_lone_surrogate_is_an_input_error_in_a_pattern_and_harmless_in_a_line() -> None:
    with pytest.raises(InputError) as raised:
        compile_pattern("a\ud800")
    assert raised.value.field == "pattern"
    test = compile_pattern("x")
    assert test is not None and test("\udc80x") is True


def test_refused_patterns_write_nothing_to_stderr(capfd: pytest.CaptureFixture[str]) -> None:
    # RE2 logs every pattern it refuses by default; stderr is the server's log stream.
    with pytest.raises(InputError):
        compile_pattern("(?=a)")
    assert capfd.readouterr().err == ""
