"""The tool registry: what each tool is, which are registered, and the error boundary.

Each tool is a :class:`ToolSpec` value that carries its toolset and its true annotations. The server registers
only the tools of the selected toolsets and, in read-only mode, only the tools whose annotation says read-only
(or their read-only form, see ``read_only_form``), so the model never sees a tool it may not use.

This is also the one place where expected domain failures (:class:`~dokploy_mcp.errors.DokployMCPError`) become
:class:`ToolError` messages, the only error text the SDK lets through to the model, scrubbed of every secret the
process knows. Any other exception is a bug: its traceback goes to the log, and the model reads which tool failed
and that it is an internal error (never the traceback, never a bare "Error executing tool").
"""

from __future__ import annotations

import functools
import inspect
import json
import logging
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import ToolAnnotations
from pydantic import ValidationError

from dokploy_mcp.config import TOOLSETS, Settings
from dokploy_mcp.errors import ConfigurationError, DokployMCPError
from dokploy_mcp.explain import explain
from dokploy_mcp.redact import scrub

logger = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Any]]


@dataclass(frozen=True)
class ToolSpec:
    """One tool: its identity, its toolset, its true behaviour hints, and its handler.

    ``read_only_form`` is a second spec with the same name that replaces this one in read-only mode
    (``execute_sql`` without ``allow_write`` and ``confirm_token``); it must itself be read-only.
    """

    name: str
    title: str
    toolset: str
    handler: Handler
    read_only: bool
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = True
    read_only_form: ToolSpec | None = None

    def __post_init__(self) -> None:
        if self.toolset not in TOOLSETS:
            raise ValueError(f"tool {self.name!r}: unknown toolset {self.toolset!r}")
        if self.read_only and self.destructive:
            raise ValueError(f"tool {self.name!r}: a read-only tool cannot be destructive")
        form = self.read_only_form
        if form is not None and (not form.read_only or form.name != self.name or form.toolset != self.toolset):
            raise ValueError(f"tool {self.name!r}: read_only_form must be a read-only spec of the same tool")
        if not inspect.iscoroutinefunction(self.handler):
            raise ValueError(f"tool {self.name!r}: handlers are async")

    @property
    def annotations(self) -> ToolAnnotations:
        # destructive/idempotent hints mean something only for tools that write (MCP spec), so leave them unset.
        if self.read_only:
            return ToolAnnotations(title=self.title, read_only_hint=True, open_world_hint=self.open_world)
        return ToolAnnotations(
            title=self.title,
            read_only_hint=False,
            destructive_hint=self.destructive,
            idempotent_hint=self.idempotent,
            open_world_hint=self.open_world,
        )

    @property
    def description(self) -> str:
        return inspect.cleandoc(self.handler.__doc__ or "")


def select_tools(specs: Iterable[ToolSpec], settings: Settings) -> list[ToolSpec]:
    """The specs to register for these settings, in catalogue order."""
    enabled = set(settings.toolsets)
    selected: list[ToolSpec] = []
    for spec in specs:
        if spec.toolset not in enabled:
            continue
        if settings.read_only and not spec.read_only:
            if spec.read_only_form is None:
                continue
            spec = spec.read_only_form
        selected.append(spec)
    return selected


def built_toolsets(specs: Iterable[ToolSpec]) -> list[str]:
    """The toolsets that have at least one tool, in catalogue order."""
    present = {spec.toolset for spec in specs}
    return [name for name in TOOLSETS if name in present]


def check_toolsets(settings: Settings, specs: Iterable[ToolSpec]) -> None:
    """Refuse a selection that names a toolset without tools yet (all, the default, takes the built ones)."""
    if set(settings.toolsets) == set(TOOLSETS):
        return
    built = built_toolsets(specs)
    empty = [name for name in settings.toolsets if name not in built]
    if empty:
        raise ConfigurationError(
            f"invalid DOKPLOY_MCP_TOOLSETS (--toolsets): {', '.join(empty)} has no tools yet in this version; "
            f"choose from: all, {', '.join(built)}",
            setting="DOKPLOY_MCP_TOOLSETS",
        )


def guard(spec: ToolSpec, settings: Settings) -> Handler:
    """Wrap a handler: refuse writes in read-only mode and turn domain errors into ToolError."""
    handler = spec.handler

    @functools.wraps(handler)
    async def guarded(*args: Any, **kwargs: Any) -> Any:
        if settings.read_only and not spec.read_only:
            # Unreachable through the registry (such tools are not registered), kept as a second lock.
            raise ToolError(f"{spec.name} changes things and this server runs read-only (DOKPLOY_MCP_READ_ONLY)")
        try:
            return await handler(*args, **kwargs)
        except DokployMCPError as exc:
            # Scrubbed again here: a message may quote text from Dokploy or a database that holds a secret.
            message = scrub(explain(exc))
            logger.info("tool %s failed: %s", spec.name, message)
            raise ToolError(message) from exc
        except Exception as exc:
            # A bug. The SDK would answer a bare "Error executing tool": name what failed instead, keep the
            # traceback for the log (scrubbed by the log handler), and never show it to the model.
            logger.exception("tool %s failed unexpectedly", spec.name)
            raise ToolError(
                f"{spec.name} failed with an internal error ({type(exc).__name__}): this is a bug in dokploy-mcp, "
                "not in your request; the details are in the server's log. Retrying will most likely fail the same "
                "way: try another tool or report it"
            ) from exc

    return guarded


def compact_schema(schema: Any) -> Any:
    """The same schema in fewer bytes: without pydantic's generated ``title`` keywords, and with ``X | None`` as
    ``"type": [X, "null"]`` instead of an ``anyOf`` of two schemas.

    Every property and model gets a title derived from its name, which tells the model nothing the name does not
    and makes up a large part of tools/list; descriptions stay. Keys of a ``properties`` map are property names
    (a property may be called "title"), so those maps are walked without dropping keys.
    """
    if isinstance(schema, list):
        return [compact_schema(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    compact: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in {"properties", "$defs", "definitions", "patternProperties"} and isinstance(value, dict):
            compact[key] = {name: compact_schema(sub) for name, sub in value.items()}
        else:
            compact[key] = compact_schema(value)
    return _nullable_as_type_list(compact)


_NOT_FOLDABLE = frozenset({"$ref", "enum", "const", "not", "allOf", "anyOf", "oneOf", "if", "then", "else"})


def _nullable_as_type_list(schema: dict[str, Any]) -> dict[str, Any]:
    branches = schema.get("anyOf")
    if not isinstance(branches, list) or len(branches) != 2 or {"type": "null"} not in branches:
        return schema
    other = branches[0] if branches[1] == {"type": "null"} else branches[1]
    # Only a plain typed branch folds. Keywords such as minLength ignore a null value, but enum, const and the
    # combinators would reject it, and a $ref is not a type: those keep their anyOf.
    if not isinstance(other, dict) or not isinstance(other.get("type"), str) or _NOT_FOLDABLE & other.keys():
        return schema
    if any(key in schema for key in other if key != "type"):
        return schema
    folded = {key: value for key, value in schema.items() if key != "anyOf"}
    folded.update(other)
    folded["type"] = [other["type"], "null"]
    return folded


class CheckedTool(Tool):
    """A tool whose refused arguments are answered in one sentence per argument, naming it and its accepted range.

    The SDK answers pydantic's own report ("1 validation error for execute_sqlArguments ... Input should be less
    than or equal to 600000 [type=..., input_value=..., ...] For further information visit ..."): it names only the
    bound crossed, echoes the value (possibly a secret, possibly megabytes) and a link. This says what is accepted,
    taken from the schema the model sees, so the schema and the answer cannot disagree.
    """

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        try:
            self.fn_metadata.validate_arguments(arguments)
        except ValidationError as exc:
            raise ToolError(f"Error executing tool {self.name}: {refusal(exc, self.parameters)}") from exc
        return await super().run(arguments, context, convert_result=convert_result)


def refusal(exc: ValidationError, schema: dict[str, Any]) -> str:
    """One sentence per refused argument: its name, what was wrong, what is accepted."""
    properties: dict[str, Any] = schema.get("properties", {})
    sentences: list[str] = []
    for error in exc.errors(include_url=False, include_input=False):
        location = [str(part) for part in error.get("loc", ())]
        name = location[0] if location else "arguments"
        where = ".".join(location) or name
        accepted = accepted_values(properties.get(name, {}))
        why = str(error.get("msg", "is not valid")).rstrip(".")
        sentences.append(f"Invalid {where}: {why}" + (f"; accepted: {accepted}" if accepted else ""))
    return ". ".join(dict.fromkeys(sentences)) or "the arguments are not valid"


def accepted_values(schema: dict[str, Any]) -> str:
    """What a property's schema accepts, in words (bounds, lengths, choices, type)."""
    branches = schema.get("anyOf")
    if isinstance(branches, list):
        words = [accepted_values(branch) for branch in branches if isinstance(branch, dict)]
        return " or ".join(word for word in words if word)
    parts: list[str] = []
    kinds = schema.get("type")
    kind_list = kinds if isinstance(kinds, list) else [kinds] if kinds else []
    if "enum" in schema:
        parts.append("one of " + ", ".join(json.dumps(value) for value in schema["enum"]))
    low = schema.get("minimum", schema.get("exclusiveMinimum"))
    high = schema.get("maximum", schema.get("exclusiveMaximum"))
    if low is not None or high is not None:
        below = "more than" if "exclusiveMinimum" in schema else "from"
        parts.append(
            f"{below} {low} to {high}"
            if low is not None and high is not None
            else f"{below} {low}"
            if low is not None
            else f"at most {high}"
        )
    for key, unit in (("minLength", "characters"), ("minItems", "items"), ("minProperties", "entries")):
        maximum = schema.get(key.replace("min", "max"))
        if key in schema or maximum is not None:
            parts.append(
                f"{schema.get(key, 0)} to {maximum} {unit}" if maximum is not None else f"at least {schema[key]} {unit}"
            )
    named = [kind for kind in kind_list if kind]
    if named:
        parts.insert(0, " or ".join(named))
    return ", ".join(parts)


def build_tools(specs: Iterable[ToolSpec], settings: Settings) -> list[Tool]:
    """SDK tool objects for the selected specs, each behind :func:`guard`."""
    tools: list[Tool] = []
    seen: set[str] = set()
    for spec in select_tools(specs, settings):
        if spec.name in seen:
            raise ValueError(f"tool {spec.name!r} is declared twice")
        seen.add(spec.name)
        tool = CheckedTool.from_function(
            guard(spec, settings),
            name=spec.name,
            title=spec.title,
            description=spec.description,
            annotations=spec.annotations,
            structured_output=True,
        )
        # Only the advertised schemas change: arguments are still validated by the function's own model.
        tool.parameters = compact_schema(tool.parameters)
        if tool.fn_metadata.output_schema is not None:
            tool.fn_metadata.output_schema = compact_schema(tool.fn_metadata.output_schema)
        tools.append(tool)
    return tools
