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

import anyio
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools import Tool
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import ValidationError

from dokploy_mcp.audit import AuditLog, audit_call, current_call
from dokploy_mcp.config import TOOLSETS, Settings
from dokploy_mcp.errors import ConfigurationError, DokployMCPError
from dokploy_mcp.explain import explain
from dokploy_mcp.redact import scrub

logger = logging.getLogger(__name__)

Handler = Callable[..., Awaitable[Any]]

#: A call may take this much past the call budget for its answer to be built and sent after a job's wait ends.
BUDGET_MARGIN_SECONDS = 1.0


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
    #: A tool about jobs (job_status): only writing flows start jobs, so read-only mode leaves it out.
    about_jobs: bool = False

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
        if settings.read_only and spec.about_jobs:
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
            # The backstop of the call budget: long work runs as a job and answers within the budget; anything
            # else that runs past it (a slow database or Dokploy answer in a read-only call) is cut off here.
            with anyio.move_on_after(settings.call_budget + BUDGET_MARGIN_SECONDS):
                return await _audited(spec, kwargs, lambda: handler(*args, **kwargs))
            raise ToolError(
                f"{spec.name} did not finish within this server's call budget of {settings.call_budget:g} s "
                "(DOKPLOY_MCP_CALL_BUDGET) and was stopped; nothing it was doing is left half done. Ask for less "
                "(a narrower target, fewer lines or rows), or check health_check"
            )
        except ToolError:
            raise  # already worded for the model (a job's failure, worded when it failed)
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


#: The arguments that name what a call changes, in the order they are looked for.
_TARGETS = ("stack", "target", "project", "job_id")


async def _audited(spec: ToolSpec, kwargs: dict[str, Any], call: Callable[[], Awaitable[Any]]) -> Any:
    """Run a tool that changes things between the audit trail's "started" and "finished" lines."""
    ctx = next((value for value in kwargs.values() if isinstance(value, Context)), None)
    # A dry run, or execute_sql without allow_write, changes nothing whatever the tool could do: not a change.
    if spec.read_only or ctx is None or kwargs.get("dry_run") is True or kwargs.get("allow_write") is False:
        return await call()
    audit: AuditLog = ctx.request_context.lifespan_context.audit
    target = next((str(kwargs[name]) for name in _TARGETS if kwargs.get(name) is not None), None)
    arguments = {k: v for k, v in kwargs.items() if not isinstance(v, Context) and k != "person"}
    async with audit_call(audit, spec.name, target, arguments) as handle:
        token = current_call.set(handle)
        try:
            result = await call()
        finally:
            current_call.reset(token)
        handle.outcome = _outcome(result)
        return result


def _outcome(result: Any) -> str:
    """What a result says happened: its status, and the job it runs on as, when it does."""
    status = getattr(result, "status", None)
    job = getattr(result, "job", None)
    if job is not None and getattr(job, "status", None) == "running":
        return f"running as {job.job_id}"
    return "ok" if status is None else f"ok: {status}"


#: Keywords that only annotate a schema. In an output schema they are dropped: the model reads the result itself,
#: and most clients do not show it the output schema at all, while every client pays for it in tools/list.
_OUTPUT_ANNOTATIONS = frozenset({"title", "description", "default", "examples"})
_SCHEMA_MAPS = frozenset({"properties", "$defs", "definitions", "patternProperties"})
_VALUES = frozenset({"default", "enum", "const", "examples"})


def input_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The arguments' schema in the one shape every client reads alike (MCP Inspector ``--strict`` finds nothing).

    - no ``$ref``: nested models are inlined (a client that does not resolve references sees an untyped argument);
    - no ``title``: pydantic derives one from each name, which tells the model nothing and costs bytes;
    - an optional argument whose default is ``null`` is advertised as its plain type, not nullable: leaving it out
      and sending ``null`` mean the same (the handler cannot tell them apart), and a single ``type`` is the one
      spelling every dialect reads. ``null`` is still accepted at run time. Where ``null`` means something else,
      the ``anyOf`` with a ``{"type": "null"}`` branch stays, the only nullable spelling used here;
    - every object with declared properties says ``additionalProperties: false``, which :class:`CheckedTool`
      enforces before validation.
    """
    portable: dict[str, Any] = _portable(_inline_refs(schema, schema.get("$defs", {}), ()), output=False)
    return portable


#: An output schema larger than this (compact JSON) is cut to the deepest level that fits: see output_schema.
OUTPUT_SCHEMA_BUDGET = 768


def output_schema(schema: dict[str, Any], budget: int = OUTPUT_SCHEMA_BUDGET) -> dict[str, Any]:
    """The result's schema as the model needs it: types, enums and nullability (as ``anyOf``), without
    references or annotations, and no deeper than fits in ``budget`` bytes.

    Every client pays for output schemas in tools/list; few show them to the model, which reads the result itself.
    So a small schema stays whole, and a large one (a health report, a schema overview) keeps its top level and as
    many levels below it as fit, deeper objects written as ``{"type": "object"}``. It stays a true description of
    the result, only less detailed, so every result still validates against it.
    """
    lean = _portable(_inline_refs(schema, schema.get("$defs", {}), ()), output=True)
    depth = _depth(lean)
    while depth > 1 and len(json.dumps(_cut(lean, depth), separators=(",", ":"))) > budget:
        depth -= 1
    cut: dict[str, Any] = _cut(lean, depth)
    return cut


def _depth(schema: Any) -> int:
    """How many levels of objects the schema nests (1 for an object of scalars)."""
    if not isinstance(schema, dict):
        return 0
    below = [_depth(sub) for sub in _children(schema)]
    own = 1 if schema.get("type") == "object" else 0
    return own + max(below, default=0)


def _children(schema: dict[str, Any]) -> list[Any]:
    children = [*schema.get("anyOf", ()), *(schema.get("properties") or {}).values()]
    children.extend(schema[key] for key in ("items", "additionalProperties") if isinstance(schema.get(key), dict))
    return children


def _cut(schema: Any, depth: int) -> Any:
    """The schema with objects below ``depth`` levels written as their bare type (arrays take no level)."""
    if not isinstance(schema, dict):
        return schema
    cut = dict(schema)
    if schema.get("type") == "object":
        if depth == 0:
            return {"type": "object"}
        depth -= 1
    if "anyOf" in schema:
        cut["anyOf"] = [_cut(branch, depth) for branch in schema["anyOf"]]
    if isinstance(schema.get("properties"), dict):
        cut["properties"] = {name: _cut(sub, depth) for name, sub in schema["properties"].items()}
    for key in ("items", "additionalProperties"):
        if isinstance(schema.get(key), dict):
            cut[key] = _cut(schema[key], depth)
    return cut


def _inline_refs(schema: Any, defs: dict[str, Any], seen: tuple[str, ...]) -> Any:
    """The schema with every ``#/$defs/`` reference replaced by its definition, and no ``$defs`` left."""
    if isinstance(schema, list):
        return [_inline_refs(item, defs, seen) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        if name in seen or name not in defs:
            # A recursive model cannot be inlined; none is used by a tool, and this keeps it loud if one is.
            raise ValueError(f"schema reference {ref} cannot be inlined")
        siblings = {key: value for key, value in schema.items() if key != "$ref"}
        return {**_inline_refs(defs[name], defs, (*seen, name)), **_inline_refs(siblings, defs, seen)}
    return {key: _inline_refs(value, defs, seen) for key, value in schema.items() if key != "$defs"}


def _portable(schema: Any, *, output: bool) -> Any:
    if isinstance(schema, list):
        return [_portable(item, output=output) for item in schema]
    if not isinstance(schema, dict):
        return schema
    dropped = _OUTPUT_ANNOTATIONS if output else frozenset({"title"})
    required = set(schema.get("required", ()))
    portable: dict[str, Any] = {}
    for key, value in schema.items():
        if key in _SCHEMA_MAPS and isinstance(value, dict):
            # Keys of these maps are names (a property may be called "title"): every one is kept.
            portable[key] = {
                name: _portable(sub, output=True)
                if output
                else _argument(sub, optional=key == "properties" and name not in required)
                for name, sub in value.items()
            }
        elif key == "additionalProperties" and value is True:
            continue  # what JSON Schema assumes anyway (a free-form map such as jwt_claims)
        elif key in _VALUES:
            if key not in dropped:
                portable[key] = value  # data, not schema: a default may well hold a key called "title"
        elif key not in dropped:
            portable[key] = _portable(value, output=output)
    if not output and portable.get("type") == "object" and "properties" in portable:
        portable.setdefault("additionalProperties", False)
    return portable


def _argument(schema: Any, *, optional: bool) -> Any:
    """One input property: portable, and without its ``null`` branch when absent and ``null`` mean the same."""
    portable = _portable(schema, output=False)
    if not optional or not isinstance(portable, dict) or portable.get("default", None) is not None:
        return portable
    portable.pop("default", None)
    return _without_null(portable)


def _without_null(schema: dict[str, Any]) -> dict[str, Any]:
    branches = schema.get("anyOf")
    if not isinstance(branches, list) or {"type": "null"} not in branches:
        return schema
    rest = [branch for branch in branches if branch != {"type": "null"}]
    siblings = {key: value for key, value in schema.items() if key != "anyOf"}
    if len(rest) != 1 or not isinstance(rest[0], dict) or siblings.keys() & rest[0].keys():
        return {**siblings, "anyOf": rest}
    return {**rest[0], **siblings}


class CheckedTool(Tool):
    """A tool that refuses unknown arguments, answers refused ones in one sentence each, and returns compact text.

    The SDK ignores an argument it does not know (a misspelt ``confirm_tokn`` would run the preview again, silently),
    and answers a refused one with pydantic's report ("1 validation error for execute_sqlArguments ... Input should
    be less than or equal to 600000 [type=..., input_value=..., ...] For further information visit ..."): it names
    only the bound crossed, echoes the value (possibly a secret, possibly megabytes) and a link. This names what is
    accepted, taken from the schema the model sees, so the schema and the answer cannot disagree.
    """

    async def run(self, arguments: dict[str, Any], context: Any, convert_result: bool = False) -> Any:
        unknown = unknown_arguments(self.fn_metadata.pre_parse_json(arguments), self.parameters)
        if unknown:
            raise ToolError(f"Error executing tool {self.name}: {unknown}")
        try:
            self.fn_metadata.validate_arguments(arguments)
        except ValidationError as exc:
            raise ToolError(f"Error executing tool {self.name}: {refusal(exc, self.parameters)}") from exc
        result = await super().run(arguments, context, convert_result=convert_result)
        if isinstance(result, CallToolResult) and result.structured_content is not None and not result.is_error:
            # The SDK writes the result a second time as indented JSON; the same JSON without the indentation is
            # a quarter smaller, and it is what most clients put in front of the model.
            text = json.dumps(result.structured_content, ensure_ascii=False, separators=(",", ":"))
            result.content = [TextContent(type="text", text=text)]
        return result


def unknown_arguments(arguments: dict[str, Any], schema: dict[str, Any], where: str = "") -> str:
    """What is wrong with argument names the schema does not declare, in words ("" when every name is known).

    Nested objects with declared properties (the wizard's ``smtp``) are checked the same way; free-form maps
    (``jwt_claims``) declare no properties and take any key.
    """
    properties: dict[str, Any] = schema.get("properties", {})
    unknown = [name for name in arguments if name not in properties]
    if unknown and schema.get("additionalProperties") is False:
        names = ", ".join(where + name for name in unknown)
        accepted = ", ".join(properties) or "none"
        plural = "s" if len(unknown) > 1 else ""
        scope = f"{where.rstrip('.')} accepts" if where else "accepted arguments"
        return f"unknown argument{plural} {names}; {scope}: {accepted}"
    for name, value in arguments.items():
        nested = _object_schema(properties.get(name))
        if isinstance(value, dict) and nested is not None:
            found = unknown_arguments(value, nested, f"{where}{name}.")
            if found:
                return found
    return ""


def _object_schema(schema: Any) -> dict[str, Any] | None:
    if not isinstance(schema, dict):
        return None
    if "properties" in schema:
        return schema
    objects = [branch for branch in schema.get("anyOf", ()) if isinstance(branch, dict) and "properties" in branch]
    return objects[0] if len(objects) == 1 else None


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
        # Only the advertised schemas change: arguments are still validated by the function's own model (after
        # CheckedTool's refusal of unknown names), results by the return type's.
        tool.parameters = input_schema(tool.parameters)
        if tool.fn_metadata.output_schema is not None:
            tool.fn_metadata.output_schema = output_schema(tool.fn_metadata.output_schema)
        tools.append(tool)
    return tools
