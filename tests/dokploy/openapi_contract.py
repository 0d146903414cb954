"""Checks of an HTTP request against Dokploy's OpenAPI document (``tests/fixtures/dokploy/openapi.json``).

``request_problems(request)`` lists everything wrong with a request the client sent: an unknown path, the wrong
method, an undeclared or invalid query parameter, a missing required one, or a JSON body that does not validate
against the operation's request schema. Bodies are held to the declared field names: the document does not say
``additionalProperties: false``, but Dokploy strips unknown keys, so a misspelt field would be silently lost.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
from jsonschema import Draft202012Validator

from tests.dokploy.recordings import openapi_document

API_PREFIX = "/api"


def _resolve(node: Any, document: dict[str, Any]) -> Any:
    """Inline every local ``$ref`` (``#/components/...``) so each schema validates on its own."""
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            target: Any = document
            for part in ref[2:].split("/"):
                target = target[part]
            rest = {key: value for key, value in node.items() if key != "$ref"}
            return _resolve({**target, **rest}, document)
        return {key: _resolve(value, document) for key, value in node.items()}
    if isinstance(node, list):
        return [_resolve(item, document) for item in node]
    return node


def operation(method: str, api_path: str) -> dict[str, Any] | None:
    """The operation for ``GET /api/compose.one``-style requests, or None when the document lacks it."""
    document = openapi_document()
    item = document["paths"].get(api_path.removeprefix(API_PREFIX))
    if item is None:
        return None
    op = item.get(method.lower())
    return None if op is None else _resolve(op, document)


def _coerce(value: str, schema: dict[str, Any]) -> Any:
    """Turn a query string into the type its schema declares, the way Dokploy's zod ``coerce`` does."""
    types = [schema.get("type")] + [option.get("type") for option in schema.get("anyOf", [])]
    if "boolean" in types and value in {"true", "false"}:
        return value == "true"
    if "integer" in types:
        try:
            return int(value)
        except ValueError:
            return value
    if "number" in types:
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _schema_problems(instance: Any, schema: dict[str, Any], where: str) -> list[str]:
    validator = Draft202012Validator(schema)
    return [
        f"{where}{''.join(f'.{part}' for part in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(instance)
    ]


def query_problems(op: dict[str, Any], params: list[tuple[str, str]]) -> list[str]:
    """Problems of the query string of a GET."""
    declared = {p["name"]: p for p in op.get("parameters", []) if p.get("in") == "query"}
    problems = []
    sent: dict[str, list[str]] = {}
    for name, value in params:
        sent.setdefault(name, []).append(value)
    for name, values in sent.items():
        if name not in declared:
            problems.append(f"query parameter {name!r} is not declared")
            continue
        schema = declared[name].get("schema", {})
        if schema.get("type") == "array":
            instance: Any = [_coerce(v, schema.get("items", {})) for v in values]
        elif len(values) > 1:
            problems.append(f"query parameter {name!r} sent {len(values)} times")
            continue
        else:
            instance = _coerce(values[0], schema)
        problems.extend(_schema_problems(instance, schema, f"query.{name}"))
    problems.extend(
        f"required query parameter {name!r} is missing"
        for name, param in declared.items()
        if param.get("required") and name not in sent
    )
    return problems


def body_problems(op: dict[str, Any], body: Any) -> list[str]:
    """Problems of the JSON body of a POST."""
    content = op.get("requestBody", {}).get("content", {}).get("application/json")
    if content is None:
        return [] if body == {} else ["the operation takes no body, but one was sent"]
    schema = dict(content["schema"])
    if schema.get("type") == "object" and "properties" in schema:
        schema.setdefault("additionalProperties", False)
    return _schema_problems(body, schema, "body")


def request_problems(request: httpx.Request) -> list[str]:
    """Everything in ``request`` that Dokploy's OpenAPI document does not allow."""
    op = operation(request.method, request.url.path)
    if op is None:
        return [f"{request.method} {request.url.path} is not an operation of the OpenAPI document"]
    params = list(request.url.params.multi_items())
    if request.method == "GET":
        if request.content:
            return ["a GET must not carry a body"]
        return query_problems(op, params)
    problems = []
    if params:
        problems.append("a POST must carry its input in the body, not the query string")
    if request.headers.get("content-type") != "application/json":
        problems.append("a POST body must be sent as application/json")
    return problems + body_problems(op, json.loads(request.content))
