"""Reading through Dokploy: the part of a search Dokploy's ``search`` accepts."""

from __future__ import annotations

import pytest

from dokploy_mcp.monitoring.reading import safe_search


@pytest.mark.parametrize(
    ("search", "word"),
    [
        ("hello world", "hello world"),
        ("invalid JWT", "invalid JWT"),
        ('relation "public.todos" does not exist', "does not exist"),
        ("user@example.com", "example.com"),
        ("/rest/v1/todos?id=eq.5", "todos"),
        ("a/b", None),
        ("   ", None),
        ("???", None),
    ],
)
def test_safe_search_keeps_a_part_dokploy_accepts(search: str, word: str | None) -> None:
    assert safe_search(search) == word
    if word is not None:
        assert word.casefold() in search.casefold()
