"""Reading a statement's rows off the wire: loaded PostgreSQL values turned into plain JSON."""

from __future__ import annotations

import datetime as dt
import ipaddress
import json
import uuid
from decimal import Decimal
from typing import Any

import pytest
from psycopg.types.range import Range

from dokploy_mcp.postgres.wire import to_json_value

UTC = dt.UTC


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        (True, True),
        (12345678901234567890, 12345678901234567890),
        (1.5, 1.5),
        (float("nan"), "NaN"),
        (float("inf"), "Infinity"),
        (float("-inf"), "-Infinity"),
        (Decimal("12.3400"), "12.3400"),
        (Decimal("NaN"), "NaN"),
        (dt.datetime(2024, 5, 1, 12, 30, tzinfo=UTC), "2024-05-01T12:30:00+00:00"),
        (dt.date(2024, 5, 1), "2024-05-01"),
        (dt.time(23, 59, 1), "23:59:01"),
        (b"\xde\xad", "\\xdead"),
        (memoryview(b"\x00\x01"), "\\x0001"),
        (uuid.UUID(int=1), "00000000-0000-0000-0000-000000000001"),
        (dt.timedelta(days=1, hours=2), "1 day, 2:00:00"),
        (ipaddress.ip_address("10.0.0.1"), "10.0.0.1"),
        (Range(1, 5), "[1, 5)"),
        ([Decimal("1"), None, [b"\x01"]], ["1", None, ["\\x01"]]),
        ({"a": [1, 2.5], "b": {"c": None}}, {"a": [1, 2.5], "b": {"c": None}}),
    ],
)
def test_values_become_json_safe(value: Any, expected: Any) -> None:
    converted = to_json_value(value)
    assert converted == expected
    json.dumps(converted, allow_nan=False)
