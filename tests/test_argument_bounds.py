"""Every argument of every tool has bounds, declared once and advertised in the schema the model sees.

Hostile input is normal input: a number without a maximum overflowed a duration, a token without a length limit
crashed its parser. The schema is built from the same annotated types the handlers validate with, so a bound
that shows here is the bound that is enforced.
"""

from __future__ import annotations

from typing import Any

import pytest

from dokploy_mcp.config import load_settings
from dokploy_mcp.registry import build_tools
from dokploy_mcp.tools import all_specs
from tests.protocol.fuzz_harness import inline_refs


def _tools(read_only: bool) -> dict[str, dict[str, Any]]:
    return {
        tool.name: inline_refs(tool.parameters, tool.parameters.get("$defs", {}))
        for tool in build_tools(all_specs(), load_settings(read_only=read_only))
    }


def _unbounded(path: str, schema: dict[str, Any]) -> list[str]:
    kinds = schema.get("type")
    kinds = set(kinds) if isinstance(kinds, list) else {kinds}
    found: list[str] = []
    if kinds & {"number", "integer"}:
        if "maximum" not in schema and "exclusiveMaximum" not in schema:
            found.append(f"{path}: no maximum")
        if "minimum" not in schema and "exclusiveMinimum" not in schema:
            found.append(f"{path}: no minimum")
    if "string" in kinds and "maxLength" not in schema and "enum" not in schema:
        found.append(f"{path}: no maxLength")
    if "array" in kinds:
        if "maxItems" not in schema:
            found.append(f"{path}: no maxItems")
        items = schema.get("items")
        if isinstance(items, dict):
            found.extend(_unbounded(f"{path}[]", items))
    if "object" in kinds:
        if "maxProperties" not in schema and "properties" not in schema:
            found.append(f"{path}: no maxProperties")
        for name, sub in (schema.get("properties") or {}).items():
            found.extend(_unbounded(f"{path}.{name}", sub))
    for branch in schema.get("anyOf", []):
        found.extend(_unbounded(path, branch))
    return found


@pytest.mark.parametrize("read_only", [False, True])
def test_every_argument_is_bounded(read_only: bool) -> None:
    problems = [
        problem
        for name, parameters in _tools(read_only).items()
        for argument, schema in parameters.get("properties", {}).items()
        for problem in _unbounded(f"{name}.{argument}", schema)
    ]
    assert problems == []
