"""Names in SQL text: table names as users write them, literals quoted."""

from __future__ import annotations

import pytest

from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres.identifiers import display_name, parse_table_name, quote_literal


@pytest.mark.parametrize(
    ("text", "parsed"),
    [
        ("profiles", ("public", "profiles", False, False)),
        ("auth.users", ("auth", "users", False, False)),
        (' "My Schema" . "A.b""c" ', ("My Schema", 'A.b"c', True, True)),
        ('public."MixedCase"', ("public", "MixedCase", False, True)),
    ],
)
def test_table_names_parse(text: str, parsed: tuple[str, str, bool, bool]) -> None:
    assert parse_table_name(text) == parsed


@pytest.mark.parametrize("text", ["", "a.b.c", '"open', "a.", 'a"b', "x" * 64, "a\x00b", '"a"b'])
def test_bad_table_names_are_refused(text: str) -> None:
    with pytest.raises(InputError):
        parse_table_name(text)


def test_literals_are_quoted_and_nul_is_refused() -> None:
    assert quote_literal("it's") == "'it''s'"
    with pytest.raises(InputError):
        quote_literal("a\x00b")


def test_names_are_shown_quoted_where_needed() -> None:
    assert display_name("public", "t_1") == "public.t_1"
    assert display_name("My Schema", 'a"b') == '"My Schema"."a""b"'
