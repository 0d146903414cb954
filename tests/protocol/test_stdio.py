"""A real ``dokploy-mcp`` process over stdio, in both protocol eras."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.dokploy.recordings import TEST_API_KEY, load
from tests.protocol.replay_dokploy import replay_app
from tests.protocol.servers import free_port, serve_in_thread

pytestmark = pytest.mark.anyio

Mode = Literal["legacy", "auto"]

MODES = pytest.mark.parametrize(("mode", "expected_version"), [("legacy", "2025-11-25"), ("auto", "2026-07-28")])


def params(tmp_path: Path, env: dict[str, str], *args: str) -> StdioServerParameters:
    # cwd is a fresh folder so that no developer's .env leaks into the process.
    return StdioServerParameters(command=sys.executable, args=["-m", "dokploy_mcp", *args], env=env, cwd=tmp_path)


@pytest.fixture
def replayed_dokploy() -> Iterator[str]:
    with serve_in_thread(replay_app(["health--fresh", "settings.getDokployVersion"])) as url:
        yield url


async def call_health(server: StdioServerParameters, mode: Mode, expected_version: str) -> dict[str, Any]:
    async with Client(server, mode=mode) as client:
        assert client.protocol_version == expected_version
        names = [tool.name for tool in (await client.list_tools()).tools]
        assert "health_check" in names
        result = await client.call_tool("health_check", {})
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


@MODES
async def test_stdio_without_dokploy_answers_not_configured(tmp_path: Path, mode: Mode, expected_version: str) -> None:
    report = await call_health(params(tmp_path, {}), mode, expected_version)
    assert report["ok"] is False
    assert "DOKPLOY_URL" in report["dokploy"][0]["problem"]


@MODES
async def test_stdio_with_a_reachable_dokploy_reports_its_version(
    tmp_path: Path, replayed_dokploy: str, mode: Mode, expected_version: str
) -> None:
    env = {"DOKPLOY_URL": replayed_dokploy, "DOKPLOY_API_KEY": TEST_API_KEY}
    report = await call_health(params(tmp_path, env), mode, expected_version)
    [server] = report["dokploy"]
    assert server["authenticated"] is True
    assert server["version"] == load("settings.getDokployVersion").response_body
    assert report["ok"] is True


async def test_stdio_with_a_wrong_key_reports_the_401(tmp_path: Path, replayed_dokploy: str) -> None:
    env = {"DOKPLOY_URL": replayed_dokploy, "DOKPLOY_API_KEY": "wrong-key"}
    report = await call_health(params(tmp_path, env), "auto", "2026-07-28")
    [server] = report["dokploy"]
    assert server["reachable"] is True
    assert server["authenticated"] is False
    assert "401" in server["problem"]


async def test_stdio_with_an_unreachable_dokploy_reports_it(tmp_path: Path) -> None:
    env = {"DOKPLOY_URL": f"http://127.0.0.1:{free_port()}", "DOKPLOY_API_KEY": "k", "DOKPLOY_MCP_TIMEOUT": "5"}
    report = await call_health(params(tmp_path, env), "auto", "2026-07-28")
    [server] = report["dokploy"]
    assert server["reachable"] is False
    assert "Cannot reach" in server["problem"]


async def test_stdio_read_only_flag_is_honoured(tmp_path: Path) -> None:
    async with Client(params(tmp_path, {}, "--read-only")) as client:
        tools = (await client.list_tools()).tools
    assert tools and all(tool.annotations and tool.annotations.read_only_hint for tool in tools)
