"""The monitoring toolset through an MCP client, on the stateful Dokploy double, the Kong double and realistic logs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jsonschema
import pytest
from mcp import Client
from pydantic import SecretStr

from dokploy_mcp.config import DokployServerConfig, load_settings
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.kong.gateway import KongGateway
from dokploy_mcp.server import build_server
from dokploy_mcp.supabase.env import EnvFile
from tests.fake_dokploy import SERVERS, FakeDokploy
from tests.monitoring.samples import LOGS
from tests.supabase.kong_double import KongDouble

pytestmark = pytest.mark.anyio


def with_logs(fake: FakeDokploy) -> httpx.MockTransport:
    """The fake Dokploy, answering compose.readLogs with realistic logs of the container's service."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/compose.readLogs":
            wanted = request.url.params["containerId"]
            for running in fake.running.values():
                for service, container in running["services"].items():
                    if container == wanted:
                        return httpx.Response(200, json=LOGS.get(service, ""))
            return httpx.Response(404, json={"message": "Container not found", "code": "NOT_FOUND"})
        return fake.transport.handle_request(request)

    return httpx.MockTransport(handle)


@pytest.fixture
async def setup() -> AsyncIterator[tuple[Client, FakeDokploy, dict[str, Any]]]:
    fake = FakeDokploy(deploy_polls=0, lets_encrypt_email="ops@example.com")
    stack = fake.add_supabase_stack("shop", "supabase", deployed=True)
    fake.add_compose("shop", "worker", "services:\n  worker:\n    image: busybox\n")
    env = EnvFile.parse(stack["env"])
    secret = env.get("JWT_SECRET") or ""
    anon, service = env.get("ANON_KEY") or "", env.get("SERVICE_ROLE_KEY") or ""

    def client_factory(config: DokployServerConfig, timeout: float) -> DokployClient:
        return fake.client(name=config.name, timeout=timeout, transport=with_logs(fake))

    def gateway(url: str, a: SecretStr, s: SecretStr) -> KongGateway:
        return KongGateway(url, anon_key=a, service_role_key=s, transport=KongDouble(secret, anon, service).transport())

    server = build_server(load_settings(), servers=SERVERS, client_factory=client_factory, gateway_factory=gateway)
    async with Client(server) as client:
        yield client, fake, stack


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def test_get_logs_reads_one_service_by_name_with_secrets_masked(
    setup: tuple[Client, FakeDokploy, dict[str, Any]],
) -> None:
    client, _, stack = setup
    result = await call(client, "dokploy_get_logs", stack="shop/supabase", service="auth")
    text = "\n".join(result["lines"])
    assert "GoTrue API started" in text
    service_key = EnvFile.parse(stack["env"]).get("SERVICE_ROLE_KEY") or ""
    assert service_key and service_key not in json.dumps(result)
    assert "untrusted" in result["untrusted"]


async def test_get_logs_of_an_unknown_service_names_the_services(
    setup: tuple[Client, FakeDokploy, dict[str, Any]],
) -> None:
    client, _, _ = setup
    result = await client.call_tool("dokploy_get_logs", {"stack": "shop/supabase", "service": "nope"})
    assert result.is_error
    message = json.dumps([c.model_dump() for c in result.content])
    assert "no service 'nope'" in message and "auth" in message


async def test_aggregate_logs_summarises_errors_per_service(setup: tuple[Client, FakeDokploy, dict[str, Any]]) -> None:
    client, _, _ = setup
    result = await call(client, "aggregate_logs", stack="shop/supabase", since="all")
    summary = result["summary"]
    assert summary["per_service"]["auth"]["errors"] >= 2
    # The two invalid-JWT errors differ only by ids and times: one normalised message.
    assert any(top["count"] >= 2 and "auth" in top["services"] for top in summary["top_errors"])
    times = [line.split(" ", 1)[0] for line in result["lines"]]
    assert times == sorted(times)


async def test_monitor_health_reports_services_probes_and_the_problems_with_next_steps(
    setup: tuple[Client, FakeDokploy, dict[str, Any]],
) -> None:
    client, _, stack = setup
    report = await call(client, "dokploy_monitor_health", stack="shop/supabase")
    [health] = report["stacks"]
    assert health["stack"] == f"default:{stack['composeId']}"
    assert health["rule"]
    assert {s["service"] for s in health["services"]} >= {"kong", "auth", "db"}
    assert health["last_deployment"]["status"] == "done"
    # Every container runs and every probe passes; the double's kong has no pg-meta behind it, and the template's
    # domain is plain http: exactly those two problems, and the database one makes it degraded.
    assert all(s["state"] == "running" for s in health["services"])
    assert all(s["probe"]["ok"] for s in health["services"] if s["probe"])
    assert {p["code"] for p in health["problems"]} == {"database_unreachable", "no_https"}
    # The database's failure is worded at the tool boundary (explain), as the connect tool words it.
    [database] = [p for p in health["problems"] if p["code"] == "database_unreachable"]
    assert database["message"].startswith("the database check failed: Cannot connect to the database")
    assert health["database"]["problem"] in database["message"]
    assert health["verdict"] == "degraded"
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    for problem in health["problems"]:
        step = problem["next_step"]
        if step:
            jsonschema.validate(step["arguments"], tools[step["tool"]].input_schema)


async def test_monitor_health_of_a_plain_compose_checks_containers_only(
    setup: tuple[Client, FakeDokploy, dict[str, Any]],
) -> None:
    client, _, _ = setup
    report = await call(client, "dokploy_monitor_health", stack="shop/worker")
    [health] = report["stacks"]
    assert "not a Supabase stack" in health["rule"]
    assert not any(p["code"] == "probes_not_run" for p in health["problems"])


async def test_monitor_health_of_every_stack(setup: tuple[Client, FakeDokploy, dict[str, Any]]) -> None:
    client, _, _ = setup
    report = await call(client, "dokploy_monitor_health")
    assert len(report["stacks"]) == 1
    assert report["verdict"] == report["stacks"][0]["verdict"]


async def error_text(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    return " ".join(getattr(c, "text", "") for c in result.content)


@pytest.mark.parametrize(
    ("tool", "arguments", "field", "bound"),
    [
        ("dokploy_get_logs", {"service": "auth", "tail": 10_001}, "tail", "10000"),
        ("dokploy_get_logs", {"service": "auth", "tail": 0}, "tail", "1"),
        ("dokploy_get_logs", {"service": "auth", "max_lines": 2_001}, "max_lines", "2000"),
        ("aggregate_logs", {"max_lines": 0}, "max_lines", "1"),
        ("dokploy_get_logs", {"service": "auth", "since": "99999999999d"}, "since", "365d"),
        ("aggregate_logs", {"since": "99999999999d"}, "since", "365d"),
        ("aggregate_logs", {"since": "400d"}, "since", "365d"),
        ("aggregate_logs", {"until": "99999999999d"}, "until", "365d"),
        ("aggregate_logs", {"since": "1" * 65}, "since", "64"),
        ("aggregate_logs", {"pattern": "a" * 1_001}, "pattern", "1000"),
    ],
)
async def test_out_of_range_arguments_are_answered_with_the_field_and_its_bound(
    setup: tuple[Client, FakeDokploy, dict[str, Any]], tool: str, arguments: dict[str, Any], field: str, bound: str
) -> None:
    client, _, _ = setup
    message = await error_text(client, tool, stack="shop/supabase", **arguments)
    assert field in message and bound in message, message


@pytest.mark.parametrize("pattern", [r"(\w)\1", "(?=error)", "(?<!no )error", "(unclosed"])
async def test_aggregate_logs_refuses_what_re2_does_not_accept_and_says_what_it_accepts(
    setup: tuple[Client, FakeDokploy, dict[str, Any]], pattern: str
) -> None:
    client, _, _ = setup
    message = await error_text(client, "aggregate_logs", stack="shop/supabase", since="all", pattern=pattern)
    assert "Invalid pattern" in message
    assert "RE2 syntax" in message and "backreferences or lookaround" in message


async def test_aggregate_logs_filters_with_an_re2_pattern(setup: tuple[Client, FakeDokploy, dict[str, Any]]) -> None:
    client, _, _ = setup
    result = await call(client, "aggregate_logs", stack="shop/supabase", since="all", pattern=r"INVALID\s+jwt")
    assert result["lines"] and all("invalid JWT" in line for line in result["lines"])


async def test_the_schema_declares_the_bounds_the_tools_check(
    setup: tuple[Client, FakeDokploy, dict[str, Any]],
) -> None:
    from dokploy_mcp.monitoring.filters import MAX_LINES
    from dokploy_mcp.monitoring.patterns import MAX_PATTERN_CHARS
    from dokploy_mcp.monitoring.reading import MAX_TAIL
    from dokploy_mcp.monitoring.window import MAX_TIME_ARG_CHARS

    client, _, _ = setup
    tools = {tool.name: tool.input_schema["properties"] for tool in (await client.list_tools()).tools}
    pattern = tools["aggregate_logs"]["pattern"]
    assert pattern["maxLength"] == MAX_PATTERN_CHARS and "RE2" in pattern["description"]
    assert tools["dokploy_get_logs"]["tail"]["maximum"] == MAX_TAIL
    for name in ("dokploy_get_logs", "aggregate_logs"):
        assert tools[name]["max_lines"]["maximum"] == MAX_LINES
        assert tools[name]["since"]["maxLength"] == MAX_TIME_ARG_CHARS
        assert "365d" in tools[name]["since"]["description"]


async def test_monitor_health_words_a_server_it_could_not_list(
    setup: tuple[Client, FakeDokploy, dict[str, Any]],
) -> None:
    client, fake, _ = setup
    fake.fail("project.all", message="database is down", times=None)
    health = await call(client, "dokploy_monitor_health")
    assert health["stacks"] == [] and health["verdict"] == "healthy"
    [line] = health["skipped"]
    assert line.startswith("server default: Dokploy server 'default' failed on ")
    assert "database is down" in line
