"""Property-based calls of every tool, generated from the tool's own input schema, through the real MCP protocol.

One server runs against the stateful Dokploy double, a Kong double that answers 502 for everything, and the test
PostgreSQL; an MCP client talks to it over the SDK's in-memory transport, in an event loop of its own thread, so that
hypothesis (synchronous) can drive it call by call. Shared by ``tests/protocol/test_fuzz.py`` (a bounded run in CI)
and ``benchmarks/fuzz.py`` (the long run).

Every byte stays on this machine: ``target`` is the test database, a stack of the double, or text that cannot be a
connection string; hosts and URLs are loopback names or text the tools refuse before any network; paths stay in a
temporary directory; waits and timeouts are capped so that a call is over well within the deadline. A written row
lands in the run's throwaway database.

What an answer must be (:func:`problems`): the server answers within :data:`CALL_DEADLINE_S`; an error names its
cause (no traceback, no bare "Error executing tool", no internal error, which marks a bug); a success carries
structured content that validates against the tool's output schema.
"""

from __future__ import annotations

import contextlib
import json
import string
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import jsonschema
from anyio.from_thread import BlockingPortal, start_blocking_portal
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_jsonschema import from_schema
from mcp import Client
from mcp.types import CallToolResult, TextContent, Tool
from pydantic import SecretStr

from dokploy_mcp.config import DokployServerConfig, load_settings
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.kong.gateway import KongGateway
from dokploy_mcp.server import build_server
from tests.fake_dokploy import SERVERS, FakeDokploy

CALL_DEADLINE_S = 45.0
#: Waits and timeouts the fuzz may ask for: a call must be over well within the deadline.
MAX_WAIT_S = 5
MAX_TIMEOUT_MS = 5_000

LOOPBACK_HOSTS = ["localhost", "127.0.0.1"]
# Text that a host check refuses before any network: empty, spaces, controls, a scheme, too long.
REFUSED_HOSTS = ["", " ", "a b", "http://localhost", "x" * 300, "\x00", "local\nhost"]
BARE_ERROR = "Error executing tool "


@dataclass
class Stand:
    """The server under fuzz, reachable from synchronous code through ``call``."""

    portal: BlockingPortal
    client: Client
    tools: list[Tool]
    database_url: str
    tmp: Path
    fake: FakeDokploy
    calls: int = 0
    failures: list[str] = field(default_factory=list)

    def call(self, name: str, arguments: dict[str, Any]) -> CallToolResult | None:
        """The answer, or None when none came within the deadline."""

        async def bounded() -> CallToolResult | None:
            with anyio.move_on_after(CALL_DEADLINE_S):
                return await self.client.call_tool(name, arguments)
            return None

        self.calls += 1
        return self.portal.call(bounded)

    def alive(self) -> bool:
        async def listed() -> bool:
            with anyio.move_on_after(CALL_DEADLINE_S):
                return bool((await self.client.list_tools()).tools)
            return False

        return self.portal.call(listed)


class LoopbackDokploy(FakeDokploy):
    """The double, with every generated domain on this machine (the recorded ones are ``*.sslip.io``, which the
    TLS check and the pg-meta route would look up and reach)."""

    def _generate_host(self, name: str) -> str:
        return "localhost"


def _gateway(url: str, anon: SecretStr, service: SecretStr) -> KongGateway:
    # Kong is down: every probe, pg-meta query and key check through it gets a 502, and nothing leaves the process.
    transport = httpx.MockTransport(lambda request: httpx.Response(502, json={"message": "An invalid response"}))
    return KongGateway(url, anon_key=anon, service_role_key=service, transport=transport)


@contextlib.contextmanager
def stand(database_url: str, tmp: Path) -> Iterator[Stand]:
    """A server on the doubles and ``database_url``, with a deployed stack ``shop/supabase`` and a plain compose."""
    fake = LoopbackDokploy(deploy_polls=0, lets_encrypt_email="ops@example.com")
    fake.add_supabase_stack("shop", "supabase", deployed=True)
    fake.add_compose("shop", "worker", "services:\n  worker:\n    image: busybox\n")
    assert {domain["host"] for domain in fake.domains.values()} == {"localhost"}

    def client_factory(config: DokployServerConfig, timeout: float) -> DokployClient:
        return fake.client(name=config.name, timeout=timeout)

    settings = load_settings(database_url=database_url, timeout=10)
    server = build_server(settings, servers=SERVERS, client_factory=client_factory, gateway_factory=_gateway)
    with start_blocking_portal() as portal:
        client = Client(server)
        with portal.wrap_async_context_manager(client):
            tools = portal.call(client.list_tools).tools
            yield Stand(portal=portal, client=client, tools=tools, database_url=database_url, tmp=tmp, fake=fake)


# -- arguments --------------------------------------------------------------------------------------------------

_SAFE_TEXT = st.text(alphabet=string.ascii_letters + string.digits + "-_./ ", max_size=40)


def _overrides(stand: Stand) -> dict[str, st.SearchStrategy[Any]]:
    """Strategies for arguments that could reach beyond this machine, by argument name (every tool alike)."""
    hosts = st.sampled_from(LOOPBACK_HOSTS + REFUSED_HOSTS)
    urls = st.sampled_from(
        ["http://localhost", "https://localhost", "http://127.0.0.1:9", "", "ftp://x", "not a url", "http://"]
    )
    stacks = st.one_of(
        st.sampled_from(["shop/supabase", "shop/worker", "default:shop/supabase", "shop/missing", "nope:shop/x"]),
        _SAFE_TEXT,
    )
    # Never '=' or ':': a libpq key=value string or a URL would name a host to connect to.
    targets = st.one_of(
        st.sampled_from([None, stand.database_url, "shop/supabase", "shop/worker", "nope/nope"]),
        _SAFE_TEXT.filter(lambda text: "=" not in text and ":" not in text),
    )
    paths = st.sampled_from(
        [None, str(stand.tmp), str(stand.tmp / "missing"), str(stand.tmp / "a\x00b"), str(stand.tmp / "..x")]
    )
    # Half the time a value the tool can work with, so that calls get past validation into the real paths.
    sql_text = st.one_of(
        st.sampled_from(
            [
                "SELECT 1",
                "SELECT %s::text",
                "SELECT '%s' AS x",
                "SELECT * FROM pg_class LIMIT 5",
                "SELECT pg_terminate_backend(pg_backend_pid())",
                "CREATE TABLE IF NOT EXISTS fuzz_t (id int)",
                "INSERT INTO fuzz_t VALUES (1)",
                "DELETE FROM fuzz_t",
                "DROP TABLE IF EXISTS fuzz_t",
                "SELECT 1; SELECT 2",
                "SELECT " + "+".join(["1"] * 6_000),
                "SELECT " + "(" * 5_000 + "1" + ")" * 5_000,
                "COPY (SELECT 1) TO PROGRAM 'true'",
            ]
        ),
        st.text(max_size=200),
    )
    services = st.one_of(
        st.sampled_from(["auth", "rest", "db", "kong", "storage", "meta", "worker", "nope"]), _SAFE_TEXT
    )
    since = st.one_of(
        st.sampled_from(["all", "30s", "15m", "2h", "1d", "99999999999d", "2026-11-22T14:00:00Z"]), st.text()
    )
    patterns = st.one_of(st.sampled_from(["error", "(a+)+$", "(a|aa)+b", "(?i)warn", "(", "(?<=x)y", "\\1"]), st.text())
    return {
        "sql": sql_text,
        "service": services,
        "since": since,
        "pattern": patterns,
        "target": targets,
        "stack": stacks,
        "domain": hosts,
        "host": hosts,
        "site_url": urls,
        "template": st.one_of(st.sampled_from([None, "http://127.0.0.1:9/templates", "not a url", ""]), paths),
        "smtp": st.sampled_from([None, "smtp://u:p@127.0.0.1:9?from=a@b.example", "smtp://:bad", "not a url"]),
        "server": st.sampled_from([None, "default", "nope"]),
        "timeout_ms": st.integers(min_value=1, max_value=MAX_TIMEOUT_MS),
    }


def _capped(name: str, schema: dict[str, Any]) -> st.SearchStrategy[Any] | None:
    """Waits and timeouts in seconds: within the schema's own range, but short."""
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if not set(kinds) & {"integer", "number"}:
        return None
    if not (name.endswith("_s") or "wait" in name or "timeout" in name) or name.endswith("_ms"):
        return None
    low = int(schema.get("minimum", schema.get("exclusiveMinimum", 0))) + (1 if "exclusiveMinimum" in schema else 0)
    return st.integers(min_value=low, max_value=max(low, MAX_WAIT_S))


def inline_refs(schema: Any, defs: dict[str, Any]) -> Any:
    """The schema with every local ``$ref`` replaced by its definition."""
    if isinstance(schema, list):
        return [inline_refs(item, defs) for item in schema]
    if not isinstance(schema, dict):
        return schema
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        return inline_refs(defs[ref.removeprefix("#/$defs/")], defs)
    return {key: inline_refs(value, defs) for key, value in schema.items() if key != "$defs"}


def _value(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Values for one argument's schema. Objects are built here: hypothesis-jsonschema's object strategy fails
    on current hypothesis (``'many' object has no attribute 'more'``), its other strategies work."""
    if "anyOf" in schema:
        return st.one_of([_value(branch) for branch in schema["anyOf"]])
    kinds = schema.get("type")
    kinds = kinds if isinstance(kinds, list) else [kinds]
    if "object" not in kinds:
        return from_schema(schema)
    if "properties" in schema:
        objects = _object(schema, {})
    else:
        extra = schema.get("additionalProperties")
        values = from_schema(extra) if isinstance(extra, dict) else st.just("x")
        objects = st.dictionaries(st.text(max_size=20), values, max_size=min(int(schema.get("maxProperties", 5)), 5))
    return st.one_of(st.none(), objects) if "null" in kinds else objects


def _object(schema: dict[str, Any], overrides: dict[str, st.SearchStrategy[Any]]) -> st.SearchStrategy[dict[str, Any]]:
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    strategies = {name: overrides[name] if name in overrides else _value(sub) for name, sub in properties.items()}
    return st.fixed_dictionaries(
        {name: strategy for name, strategy in strategies.items() if name in required},
        optional={name: strategy for name, strategy in strategies.items() if name not in required},
    )


def arguments(tool: Tool, stand: Stand) -> st.SearchStrategy[dict[str, Any]]:
    """Arguments valid for the tool's schema (mostly), or arbitrary JSON per argument (sometimes)."""
    schema = inline_refs(tool.input_schema, tool.input_schema.get("$defs", {}))
    properties: dict[str, Any] = schema.get("properties", {})
    required = set(schema.get("required", []))
    overrides = _overrides(stand)
    for name, sub in properties.items():
        capped = _capped(name, sub)
        if capped is not None:
            overrides[name] = capped

    relevant = {name: strategy for name, strategy in overrides.items() if name in properties}
    valid = _object(schema, relevant)
    # The required arguments and the ones with a usable value, nothing else: these calls reach the tools' real work.
    focused = _object(
        {
            "properties": {name: sub for name, sub in properties.items() if name in relevant or name in required},
            "required": sorted(required),
        },
        relevant,
    )
    junk_values = st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3),
        max_leaves=6,
    )
    # Arbitrary JSON for arguments that never reach the network: type confusion must be a named refusal.
    harmless = [name for name in properties if name not in overrides]
    junk = st.dictionaries(st.sampled_from(harmless), junk_values, max_size=len(harmless)) if harmless else st.just({})
    return st.one_of(focused, focused, valid, valid, junk)


# -- judging an answer --------------------------------------------------------------------------------------------


def problems(tool: Tool, arguments: dict[str, Any], result: CallToolResult | None) -> list[str]:
    """What is wrong with one answer (empty when it is a proper answer)."""
    call = f"{tool.name} {json.dumps(arguments, default=str)[:300]}"
    if result is None:
        return [f"{call}: no answer within {CALL_DEADLINE_S:g} s"]
    text = "\n".join(item.text for item in result.content if isinstance(item, TextContent))
    if result.is_error:
        found = []
        if "Traceback" in text:
            found.append("a traceback")
        if text.strip() == f"{BARE_ERROR}{tool.name}" or not text.strip():
            found.append("an unnamed error")
        if "internal error" in text:
            found.append("an internal error (a bug)")
        return [f"{call}: answered {' and '.join(found)}: {text[:300]}"] if found else []
    if result.structured_content is None:
        return [f"{call}: a success without structured content"]
    if tool.output_schema is not None:
        try:
            jsonschema.validate(result.structured_content, tool.output_schema)
        except jsonschema.ValidationError as exc:
            return [f"{call}: the result does not match the output schema: {exc.message[:200]}"]
    return []


# -- a run --------------------------------------------------------------------------------------------------------


@dataclass
class Run:
    """What one tool answered: counts by kind of answer, and every improper answer."""

    counts: Counter[str] = field(default_factory=Counter)
    problems: list[str] = field(default_factory=list)


def fuzz_tool(server: Stand, name: str, calls: int) -> Run:
    """``calls`` generated calls of one tool (hypothesis stops earlier when a tool has fewer distinct inputs)."""
    tool = next(tool for tool in server.tools if tool.name == name)
    run = Run()

    @settings(
        max_examples=calls,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    )
    @given(data=st.data())
    def call(data: st.DataObject) -> None:
        args = data.draw(arguments(tool, server), label="arguments")
        result = server.call(name, args)
        run.counts["no answer" if result is None else "error" if result.is_error else "result"] += 1
        run.problems.extend(problems(tool, args, result))

    call()
    return run
