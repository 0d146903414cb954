from __future__ import annotations

import json
from typing import Annotated, Literal

import pytest
from mcp import Client
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp.types import TextContent
from pydantic import BaseModel, Field

from dokploy_mcp import redact
from dokploy_mcp.config import load_dokploy_servers, load_settings
from dokploy_mcp.errors import ConfigurationError, InputError
from dokploy_mcp.registry import ToolSpec, build_tools, guard, input_schema, output_schema, select_tools
from dokploy_mcp.server import build_server

pytestmark = pytest.mark.anyio


class Echo(BaseModel):
    value: str


async def read_thing(value: str) -> Echo:
    """Read a thing."""
    return Echo(value=value)


async def write_thing(value: str) -> Echo:
    """Write a thing."""
    return Echo(value=value)


async def write_thing_read_only(value: str) -> Echo:
    """Read a thing, in read-only mode."""
    return Echo(value="ro:" + value)


async def misconfigured() -> Echo:
    """Always fails with a configuration error."""
    raise ConfigurationError("DOKPLOY_URL is not set", setting="DOKPLOY_URL")


async def bad_input() -> Echo:
    """Always fails with an input error."""
    raise InputError("must be a compose id or project/name", field="stack")


async def crashes() -> Echo:
    """Always crashes."""
    raise RuntimeError("internal detail with a secret-ish value")


READ = ToolSpec(name="read_thing", title="Read", toolset="core", handler=read_thing, read_only=True)
WRITE = ToolSpec(name="write_thing", title="Write", toolset="deploy", handler=write_thing, read_only=False)
DELETE = ToolSpec(
    name="delete_thing", title="Delete", toolset="deploy", handler=write_thing, read_only=False, destructive=True
)
DUAL = ToolSpec(
    name="dual",
    title="Dual",
    toolset="database",
    handler=write_thing,
    read_only=False,
    read_only_form=ToolSpec(
        name="dual", title="Dual", toolset="database", handler=write_thing_read_only, read_only=True
    ),
)
FAILING = [
    ToolSpec(name="misconfigured", title="M", toolset="core", handler=misconfigured, read_only=True),
    ToolSpec(name="bad_input", title="B", toolset="core", handler=bad_input, read_only=True),
    ToolSpec(name="crashes", title="C", toolset="core", handler=crashes, read_only=True),
]


def names(specs: list[ToolSpec]) -> list[str]:
    return [spec.name for spec in specs]


def test_all_toolsets_and_writes_are_selected_by_default() -> None:
    assert names(select_tools([READ, WRITE, DELETE, DUAL], load_settings())) == [
        "read_thing",
        "write_thing",
        "delete_thing",
        "dual",
    ]


def test_read_only_mode_drops_write_tools_and_swaps_in_read_only_forms() -> None:
    selected = select_tools([READ, WRITE, DELETE, DUAL], load_settings(read_only=True))
    assert names(selected) == ["read_thing", "dual"]
    assert selected[1].handler is write_thing_read_only
    assert all(spec.read_only for spec in selected)


def test_toolset_selection_keeps_only_the_chosen_toolsets() -> None:
    assert names(select_tools([READ, WRITE, DUAL], load_settings(toolsets="database"))) == ["dual"]


def test_annotations_follow_the_spec() -> None:
    assert READ.annotations.read_only_hint is True
    assert READ.annotations.destructive_hint is None
    assert DELETE.annotations.read_only_hint is False
    assert DELETE.annotations.destructive_hint is True
    assert WRITE.annotations.destructive_hint is False


@pytest.mark.parametrize(
    "kwargs",
    [
        {"toolset": "kubernetes"},
        {"read_only": True, "destructive": True},
        {"read_only_form": WRITE},
    ],
)
def test_inconsistent_specs_are_rejected(kwargs: dict[str, object]) -> None:
    base: dict[str, object] = {"name": "x", "title": "X", "toolset": "core", "handler": write_thing, "read_only": False}
    with pytest.raises(ValueError):
        ToolSpec(**{**base, **kwargs})  # type: ignore[arg-type]


def test_duplicate_tool_names_are_rejected() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        build_tools([READ, READ], load_settings())


async def test_guard_refuses_a_write_tool_in_read_only_mode_even_if_called_directly() -> None:
    guarded = guard(WRITE, load_settings(read_only=True))
    with pytest.raises(ToolError, match="read-only"):
        await guarded(value="x")


async def test_guard_turns_domain_errors_into_tool_errors_naming_the_fix() -> None:
    guarded = guard(FAILING[0], load_settings())
    with pytest.raises(ToolError, match="DOKPLOY_URL is not set"):
        await guarded()


async def test_guard_names_an_unexpected_error_as_a_bug_without_its_detail(caplog: pytest.LogCaptureFixture) -> None:
    guarded = guard(FAILING[2], load_settings())
    with pytest.raises(ToolError) as caught:
        await guarded()
    message = str(caught.value)
    assert "crashes failed with an internal error (RuntimeError)" in message and "bug" in message
    assert "internal detail" not in message
    # The traceback is kept for the operator, in the log.
    assert any(record.exc_info and "crashes" in record.getMessage() for record in caplog.records)


async def test_guard_scrubs_known_secrets_from_domain_errors() -> None:
    secret = "sk-" + "q" * 30

    async def echoes() -> Echo:
        """Fails with a message that quotes a secret, as Dokploy's errors do."""
        raise InputError(f"Dokploy said: bad key {secret}; --s3-secret-access-key=localsecretkey", field="stack")

    redact.remember(secret)
    spec = ToolSpec(name="echoes", title="E", toolset="core", handler=echoes, read_only=True)
    with pytest.raises(ToolError) as caught:
        await guard(spec, load_settings())()
    assert secret not in str(caught.value) and "localsecretkey" not in str(caught.value)
    assert "Invalid stack: Dokploy said: bad key ****" in str(caught.value)


async def test_read_only_server_lists_only_read_only_tools_and_refuses_others() -> None:
    server = build_server(load_settings(read_only=True), specs=[READ, WRITE, DELETE, DUAL])
    async with Client(server, raise_exceptions=True) as client:
        listed = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert sorted(listed) == ["dual", "read_thing"]
        assert all(tool.annotations and tool.annotations.read_only_hint for tool in listed.values())
        assert listed["dual"].description == "Read a thing, in read-only mode."
        # Not registered, so unknown: refused as a protocol error (invalid params) or, by older SDK logic, as an
        # error result; either way it never runs.
        try:
            refused = await client.call_tool("write_thing", {"value": "x"})
        except MCPError as exc:
            assert "write_thing" in str(exc)
        else:
            assert refused.is_error
        result = await client.call_tool("dual", {"value": "x"})
        assert result.structured_content == {"value": "ro:x"}


async def test_domain_errors_reach_the_model_and_bugs_do_not() -> None:
    server = build_server(load_settings(), specs=FAILING)
    # raise_exceptions stays off: the point is what a real client sees for a crash.
    async with Client(server) as client:
        configured = await client.call_tool("misconfigured", {})
        invalid = await client.call_tool("bad_input", {})
        crashed = await client.call_tool("crashes", {})
    texts = []
    for result in (configured, invalid, crashed):
        assert result.is_error
        assert isinstance(result.content[0], TextContent)
        texts.append(result.content[0].text)
    assert "Configuration: DOKPLOY_URL is not set" in texts[0]
    assert "Invalid stack: must be a compose id or project/name" in texts[1]
    assert "internal detail" not in texts[2]
    assert "crashes failed with an internal error" in texts[2] and "Traceback" not in texts[2]


def test_input_schema_drops_generated_titles_but_keeps_properties_named_title() -> None:
    schema = {
        "title": "Model",
        "type": "object",
        "properties": {"title": {"title": "Title", "type": "string", "description": "kept"}},
        "required": ["title"],
    }
    assert input_schema(schema) == {
        "type": "object",
        "properties": {"title": {"type": "string", "description": "kept"}},
        "required": ["title"],
        "additionalProperties": False,
    }


def test_an_optional_argument_defaulting_to_null_is_advertised_as_its_plain_type() -> None:
    optional = {"anyOf": [{"type": "string", "minLength": 1}, {"type": "null"}], "default": None, "description": "d"}
    required_nullable = {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    meaningful_null = {"anyOf": [{"type": "boolean"}, {"type": "null"}], "default": True}
    schema = {
        "type": "object",
        "properties": {"a": optional, "b": required_nullable, "c": meaningful_null},
        "required": ["b"],
    }
    properties = input_schema(schema)["properties"]
    assert properties["a"] == {"type": "string", "minLength": 1, "description": "d"}
    # Where null is not the same as leaving the argument out, the one nullable spelling stays: anyOf.
    assert properties["b"] == required_nullable
    assert properties["c"] == meaningful_null


def test_input_schema_inlines_references_and_closes_nested_objects() -> None:
    schema = {
        "$defs": {"Smtp": {"title": "Smtp", "type": "object", "properties": {"host": {"type": "string"}}}},
        "type": "object",
        "properties": {"smtp": {"anyOf": [{"$ref": "#/$defs/Smtp"}, {"type": "null"}], "default": None}},
    }
    assert input_schema(schema) == {
        "type": "object",
        "properties": {
            "smtp": {"type": "object", "properties": {"host": {"type": "string"}}, "additionalProperties": False}
        },
        "additionalProperties": False,
    }


def test_a_recursive_reference_is_refused_rather_than_advertised_half_inlined() -> None:
    loop = {"$defs": {"N": {"type": "object", "properties": {"next": {"$ref": "#/$defs/N"}}}}, "$ref": "#/$defs/N"}
    with pytest.raises(ValueError, match="cannot be inlined"):
        input_schema(loop)


def test_output_schema_keeps_types_and_drops_annotations() -> None:
    import jsonschema

    schema = {
        "title": "Out",
        "type": "object",
        "properties": {
            "name": {"title": "Name", "type": "string", "description": "said once, in the result itself"},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None},
            "verdict": {"enum": ["up", "down"], "type": "string"},
        },
        "required": ["name"],
    }
    lean = output_schema(schema)
    assert lean == {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "note": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "verdict": {"enum": ["up", "down"], "type": "string"},
        },
        "required": ["name"],
    }
    jsonschema.validate({"name": "a", "note": None, "verdict": "up"}, lean)


def test_a_large_output_schema_keeps_its_top_level_and_still_validates_every_result() -> None:
    import jsonschema

    leaf = {"type": "object", "properties": {f"field_{i}": {"type": "string"} for i in range(20)}}
    schema = {
        "type": "object",
        "properties": {"items": {"type": "array", "items": leaf}, "count": {"type": "integer"}},
        "required": ["items", "count"],
    }
    assert output_schema(schema, budget=10_000) == schema
    lean = output_schema(schema, budget=200)
    assert lean["properties"] == {"items": {"type": "array", "items": {"type": "object"}}, "count": {"type": "integer"}}
    result = {"items": [{"field_0": "x"}], "count": 1}
    jsonschema.validate(result, lean)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"items": "not a list", "count": 1}, lean)


async def test_refused_arguments_name_the_argument_and_what_is_accepted() -> None:
    async def bounded(
        count: Annotated[int, Field(ge=1, le=10)],
        mode: Literal["a", "b"] | None = None,
        name: Annotated[str, Field(max_length=5)] = "x",
    ) -> Echo:
        """Takes bounded arguments."""
        return Echo(value=str(count))

    spec = ToolSpec(name="bounded", title="B", toolset="core", handler=bounded, read_only=True)
    secret = "hunter2-" + "x" * 50
    async with Client(build_server(load_settings(), specs=[spec])) as client:
        answers = [
            await client.call_tool("bounded", arguments)
            for arguments in ({"count": 11}, {"count": 1, "mode": "c"}, {"count": 1, "name": secret}, {})
        ]
    texts = [answer.content[0].text for answer in answers if isinstance(answer.content[0], TextContent)]
    assert all(answer.is_error for answer in answers) and len(texts) == 4
    assert "Invalid count: Input should be less than or equal to 10; accepted: integer, from 1 to 10" in texts[0]
    assert "Invalid mode: " in texts[1] and 'one of "a", "b"' in texts[1]
    assert "Invalid name: " in texts[2] and "0 to 5 characters" in texts[2] and "hunter2" not in texts[2]
    assert "Invalid count: Field required" in texts[3]
    assert all("errors.pydantic.dev" not in text and "input_value" not in text for text in texts)


async def test_unknown_arguments_are_refused_by_name_with_the_accepted_ones() -> None:
    async def runs(value: str, limit: Annotated[int, Field(ge=1, le=5)] = 1) -> Echo:
        """Would run if called."""
        raise AssertionError("a call with an unknown argument must not run")

    spec = ToolSpec(name="runs", title="R", toolset="core", handler=runs, read_only=True)
    async with Client(build_server(load_settings(), specs=[spec])) as client:
        [tool] = (await client.list_tools()).tools
        assert tool.input_schema["additionalProperties"] is False
        one = await client.call_tool("runs", {"value": "x", "bogus": True})
        two = await client.call_tool("runs", {"value": "x", "bogus": 1, "limt": 2})
    texts = [answer.content[0].text for answer in (one, two) if isinstance(answer.content[0], TextContent)]
    assert one.is_error and two.is_error and len(texts) == 2
    assert "unknown argument bogus; accepted arguments: value, limit" in texts[0]
    assert "unknown arguments bogus, limt; accepted arguments: value, limit" in texts[1]


class Mail(BaseModel):
    host: str
    port: int = 587


async def test_unknown_keys_of_a_nested_object_are_refused_too() -> None:
    async def mails(mail: Mail | None = None, extra: dict[str, str] | None = None) -> Echo:
        """Takes a nested object and a free-form map."""
        return Echo(value=mail.host if mail else "none")

    spec = ToolSpec(name="mails", title="M", toolset="core", handler=mails, read_only=True)
    async with Client(build_server(load_settings(), specs=[spec])) as client:
        refused = await client.call_tool("mails", {"mail": {"host": "h", "prot": 25}})
        # A free-form map takes any key; a nested object sent as a JSON string (some clients do) is checked as well.
        accepted = await client.call_tool("mails", {"mail": {"host": "h"}, "extra": {"anything": "goes"}})
        as_text = await client.call_tool("mails", {"mail": '{"host": "h", "prot": 25}'})
    assert refused.is_error and isinstance(refused.content[0], TextContent)
    assert "unknown argument mail.prot; mail accepts: host, port" in refused.content[0].text
    assert not accepted.is_error and accepted.structured_content == {"value": "h"}
    assert as_text.is_error


async def test_text_content_is_the_structured_result_as_compact_json() -> None:
    async def nested(value: str) -> Echo:
        """Echoes."""
        return Echo(value=value)

    spec = ToolSpec(name="nested", title="N", toolset="core", handler=nested, read_only=True)
    async with Client(build_server(load_settings(), specs=[spec])) as client:
        result = await client.call_tool("nested", {"value": "é"})
    [content] = result.content
    assert isinstance(content, TextContent)
    assert content.text == '{"value":"é"}'
    assert json.loads(content.text) == result.structured_content


async def test_execute_sql_with_a_bogus_argument_is_refused_before_it_runs() -> None:
    """The issue's own probe: ``execute_sql {"bogus": true}`` ran. No database is configured here: the refusal
    has to come before the tool looks for one."""
    server = build_server(load_settings(), servers=load_dokploy_servers(load_settings(), environ={}))
    async with Client(server) as client:
        result = await client.call_tool("execute_sql", {"sql": "select 1", "bogus": True})
    assert result.is_error and isinstance(result.content[0], TextContent)
    text = result.content[0].text
    assert "unknown argument bogus; accepted arguments: sql, target, params" in text
    assert "DATABASE_URL" not in text
