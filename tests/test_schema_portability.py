"""Every input schema is written the one way every client reads alike (issue #13; MCP Inspector ``--strict``).

The Inspector warns on type arrays (``["string", "null"]``: a client that maps schemas onto a single-``type``
dialect, such as Gemini's, drops the constraint or the tool), on references it cannot resolve and on schemas that
accept anything. Beyond what it checks: arrays say what their items are, numbers say their range, whole seconds,
counts and limits are integers, and every object that lists its properties refuses others (which the registry
enforces, see ``tests/test_registry.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from dokploy_mcp.config import load_settings
from dokploy_mcp.registry import build_tools
from dokploy_mcp.tools import all_specs

#: Keywords that constrain a value (the Inspector's list, less the ones no tool uses): a schema with none of them
#: accepts anything.
CONSTRAINING = frozenset(
    {"type", "enum", "const", "anyOf", "oneOf", "allOf", "not", "$ref", "properties", "items", "pattern", "format"}
)
#: Argument names that hold a whole number of seconds, a count or a limit.
WHOLE_NUMBER = re.compile(r"(_s|_seconds|_ms|_count|_rows|_lines|_items)$|^(max_|min_)|^(tail|limit|count|port)$")


def _tools(read_only: bool) -> dict[str, dict[str, Any]]:
    return {tool.name: tool.parameters for tool in build_tools(all_specs(), load_settings(read_only=read_only))}


def _walk(path: str, schema: Any) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every subschema with its path (``tool.argument.nested[]``)."""
    if not isinstance(schema, dict):
        return
    yield path, schema
    for name, sub in (schema.get("properties") or {}).items():
        yield from _walk(f"{path}.{name}", sub)
    for key in ("anyOf", "oneOf", "allOf"):
        for index, branch in enumerate(schema.get(key) or []):
            yield from _walk(f"{path}|{key}[{index}]", branch)
    for key in ("items", "additionalProperties", "not"):
        if isinstance(schema.get(key), dict):
            yield from _walk(f"{path}[]" if key == "items" else f"{path}.<{key}>", schema[key])


def unportable(path: str, schema: dict[str, Any]) -> list[str]:
    """What in one subschema is not written the portable way."""
    found: list[str] = []
    kind = schema.get("type")
    if isinstance(kind, list):
        found.append(f"{path}: type array {kind} (write nullable as anyOf with a {{'type': 'null'}} branch)")
    if "$ref" in schema or "$defs" in schema or "definitions" in schema:
        found.append(f"{path}: a reference or definitions (inline them)")
    if not CONSTRAINING & schema.keys():
        found.append(f"{path}: accepts any value (no type)")
    if kind == "array" and not (isinstance(schema.get("items"), dict) and CONSTRAINING & schema["items"].keys()):
        found.append(f"{path}: array without typed items")
    bounded = {"minimum", "exclusiveMinimum"} & schema.keys() and {"maximum", "exclusiveMaximum"} & schema.keys()
    if kind in ("number", "integer") and not bounded:
        found.append(f"{path}: {kind} without both bounds")
    if kind == "object" and "properties" in schema and schema.get("additionalProperties") is not False:
        found.append(f"{path}: object without additionalProperties: false")
    return found


def not_whole(path: str, schema: dict[str, Any]) -> list[str]:
    """A seconds, count or limit argument that is not an integer."""
    name = re.split(r"[|\[]", path.rsplit(".", 1)[-1], maxsplit=1)[0]
    kinds = {schema.get("type")} | {
        branch.get("type") for branch in schema.get("anyOf", []) if isinstance(branch, dict)
    }
    if WHOLE_NUMBER.search(name) and "number" in kinds:
        return [f"{path}: seconds, counts and limits are integers"]
    return []


@pytest.mark.parametrize("read_only", [False, True])
def test_every_input_schema_is_portable(read_only: bool) -> None:
    problems = [
        problem
        for name, parameters in _tools(read_only).items()
        for path, schema in _walk(name, parameters)
        for problem in unportable(path, schema) + not_whole(path, schema)
    ]
    assert problems == []


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        ({"type": ["string", "null"], "maxLength": 3}, "type array"),
        ({"$ref": "#/$defs/Smtp"}, "reference"),
        ({"description": "anything"}, "accepts any value"),
        ({"type": "array", "items": {}, "maxItems": 3}, "array without typed items"),
        ({"type": "array", "maxItems": 3}, "array without typed items"),
        ({"type": "number", "minimum": 0}, "without both bounds"),
        ({"type": "object", "properties": {"a": {"type": "string"}}}, "additionalProperties"),
    ],
)
def test_the_check_catches_each_unportable_spelling(schema: dict[str, Any], expected: str) -> None:
    problems = [problem for path, sub in _walk("tool.argument", schema) for problem in unportable(path, sub)]
    assert any(expected in problem for problem in problems), problems


def test_the_check_catches_fractional_seconds_and_counts() -> None:
    number = {"type": "number", "minimum": 0, "maximum": 10}
    for name in ("wait_seconds", "long_running_s", "timeout_ms", "max_rows", "tail", "wait_s"):
        assert not_whole(f"tool.{name}", number), name
        assert not_whole(f"tool.{name}", {"anyOf": [number, {"type": "null"}]}), name
    assert not not_whole("tool.use_percent", number)
    assert not not_whole("tool.wait_seconds", {**number, "type": "integer"})


def test_the_portable_schemas_are_what_the_tools_validate_with() -> None:
    """An argument the schema advertises without null may still be sent as null (it means: leave it out)."""
    from pydantic import ValidationError

    tools = {tool.name: tool for tool in build_tools(all_specs(), load_settings())}
    sql = tools["execute_sql"]
    assert sql.parameters["properties"]["target"] == {
        "type": "string",
        "maxLength": sql.parameters["properties"]["target"]["maxLength"],
        "description": sql.parameters["properties"]["target"]["description"],
    }
    assert sql.fn_metadata.validate_arguments({"sql": "select 1", "target": None})["target"] is None
    params = sql.fn_metadata.validate_arguments({"sql": "select %s, %s, %s, %s", "params": [1, 1.5, "x", None]})
    assert params["params"] == [1, 1.5, "x", None] and isinstance(params["params"][0], int)
    with pytest.raises(ValidationError):
        sql.fn_metadata.validate_arguments({"sql": "select %s", "params": [[1, 2]]})
