"""YAML from text: plain data, one-line errors, and the compose services every caller reads through it."""

from __future__ import annotations

import pytest

from dokploy_mcp.dokploy.models import Compose
from dokploy_mcp.yamltext import YamlSyntaxError, load


def test_plain_data_loads_and_tags_are_refused() -> None:
    assert load("a: [1, 2]\nb: {c: x}\n") == {"a": [1, 2], "b": {"c": "x"}}
    with pytest.raises(YamlSyntaxError):
        load("!!python/object/apply:os.system ['true']")


def test_a_syntax_error_is_one_line_with_its_position() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        load("services:\n  web: [unclosed\n")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("line ")


def compose(text: str | None) -> Compose:
    return Compose(compose_id="c1", name="x", app_name="x-1", compose_file=text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("services:\n  db: {image: postgres}\n  kong: {}\n", ["db", "kong"]),
        ("services:\n  1: {}\n", ["1"]),
        ("services: [a, b]\n", []),
        ("just text", []),
        ("services:\n  web: [unclosed\n", []),
        ("[" * 5000, []),
        (None, []),
    ],
)
def test_service_specs_are_what_the_file_declares_and_nothing_when_it_is_not_a_compose_file(
    text: str | None, expected: list[str]
) -> None:
    assert sorted(compose(text).service_specs()) == expected
