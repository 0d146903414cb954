"""Log lines reduced to their kind: occurrences of one error count together, different errors stay apart."""

from __future__ import annotations

import pytest

from dokploy_mcp.monitoring.signatures import normalize_message
from tests.monitoring import samples
from tests.monitoring.logkit import parsed


def test_errors_differing_only_by_ids_and_times_normalise_alike() -> None:
    auth = [line.text for line in parsed("auth") if line.level == "error"]
    assert len(auth) == 2 and auth[0] != auth[1]
    assert normalize_message(auth[0]) == normalize_message(auth[1])
    assert (
        normalize_message(auth[0]) == "<n>: invalid JWT: invalid JWT: unable to parse or verify signature, token "
        "signature is invalid"
    )
    analytics = [line.text for line in parsed("analytics") if line.level == "error"]
    assert normalize_message(analytics[0]) == normalize_message(analytics[1])
    db = [line.text for line in parsed("db") if line.level == "error" and not line.continuation]
    assert normalize_message(db[0]) == normalize_message(db[1]) != normalize_message(db[2])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            "request 0b5c1c9e-6a3e-4f1a-9a55-0c7b2ad0f3c1 failed at 2026-11-22T15:00:00.123Z",
            "request 8f3c2a1e-1b2c-4d5e-8f90-123456789abc failed at 2026-11-22T16:42:01Z",
        ),
        ("connect to 172.22.0.4:5432 refused after 3 tries", "connect to 10.0.0.12:6543 refused after 10 tries"),
        ("container 1757721eff9f exited", "container a91bc0de3344 exited"),
        ('user "alice" not found', 'user "bob" not found'),
        ("mail to a.b@example.com bounced", "mail to zed@example.org bounced"),
        ("token •••• (32 chars) rejected", "token •••• (JWT, 180 chars) rejected"),
        ("took 1.7ms (queue=96.8ms)", "took 12ms (queue=0.1ms)"),
        ("session Xy7kPq2LmN8vRt4WzA9b expired", "session Qw3eRt5yUi7oPa1sDf2g expired"),
    ],
)
def test_normalize_message_replaces_variable_parts(a: str, b: str) -> None:
    assert normalize_message(a) == normalize_message(b)


def test_normalize_message_keeps_what_tells_errors_apart() -> None:
    assert normalize_message('Failed. {"code":"PGRST002","hint":null}') == 'Failed. {"code":"<v>","hint":null}'
    assert normalize_message("FATAL 28P01 (invalid_password)") != normalize_message("FATAL 57P03 (cannot_connect_now)")
    assert normalize_message('"GET /rest/v1/todos?id=eq.5 HTTP/1.1" 502 ') == "GET /rest/v1/todos 502"
    assert normalize_message('"GET /rest/v1/items/17 HTTP/1.1" 503 ') == "GET /rest/v1/items/<n> 503"
    assert len(normalize_message("word " * 200)) == 300


@pytest.mark.parametrize("line", samples.HOSTILE_LINES)
def test_hostile_lines_are_normalised_as_text(line: str) -> None:
    """A line a client or an attacker chose (a request path in kong's access log) is read as text, quickly."""
    assert len(normalize_message(line)) <= 300
