"""Spelling a value in env text: the plainest spelling docker compose reads back exactly, and what no line can
carry."""

from __future__ import annotations

import pytest
from hypothesis import given

from dokploy_mcp.errors import InputError
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.envquote import quote_value
from tests.supabase.test_env import no_line_break


@pytest.mark.parametrize(
    ("value", "spelled"),
    [
        ("", ""),
        ("abc-123_XYZ.eyJ", "abc-123_XYZ.eyJ"),
        ("https://x.example.com/*,http://localhost:3000/*", "https://x.example.com/*,http://localhost:3000/*"),
        ("[]", "[]"),
        ("a b", "'a b'"),
        ("pa$$word", "'pa$$word'"),
        ("x#y", "'x#y'"),
        ('say "hi"', "'say \"hi\"'"),
        ("it's", '"it\'s"'),
        ("it's $5", '"it\'s $$5"'),
        ("ends\\", '"ends\\\\"'),
        ("é", "'é'"),
    ],
)
def test_quote_value_picks_the_plainest_exact_spelling(value: str, spelled: str) -> None:
    assert quote_value(value) == spelled
    assert EnvFile.parse(f"K={spelled}").get("K") == value


@given(no_line_break)
def test_quote_value_is_read_back_exactly(value: str) -> None:
    env = EnvFile.parse(f"K={quote_value(value)}")
    assert env.get("K") == value
    assert [p.code for p in env.problems()] == []


def test_quote_value_refuses_line_breaks() -> None:
    with pytest.raises(InputError):
        quote_value("a\nb")
