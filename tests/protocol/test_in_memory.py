"""The server through the SDK's in-memory client, in both protocol eras."""

from __future__ import annotations

import json
from typing import Any, Literal

import httpx
import pytest
import respx
from mcp import Client

from dokploy_mcp.config import load_dokploy_servers, load_settings
from dokploy_mcp.server import build_server
from tests.dokploy.recordings import TEST_API_KEY, load, replay

pytestmark = pytest.mark.anyio

Mode = Literal["legacy", "auto"]

DOKPLOY = "http://dokploy.test:3000"
MODES = pytest.mark.parametrize("mode", ["legacy", "auto"])


def server_for(**overrides: Any) -> Any:
    settings = load_settings(**overrides)
    return build_server(settings, servers=load_dokploy_servers(settings, environ={}))


async def health(server: Any, mode: Mode) -> dict[str, Any]:
    async with Client(server, mode=mode) as client:
        result = await client.call_tool("health_check", {})
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


@MODES
async def test_tools_list_has_titles_annotations_and_output_schemas(mode: Mode) -> None:
    async with Client(server_for(), mode=mode) as client:
        tools = (await client.list_tools()).tools
    names = [tool.name for tool in tools]
    assert names[0] == "health_check"
    tool = tools[0]
    assert tool.title
    assert tool.annotations is not None and tool.annotations.read_only_hint is True
    assert tool.output_schema is not None and "dokploy" in tool.output_schema["properties"]


@MODES
async def test_health_check_without_dokploy_configured_says_what_to_set(mode: Mode) -> None:
    report = await health(server_for(), mode)
    assert report["ok"] is False
    [server] = report["dokploy"]
    assert server["reachable"] is None
    assert "DOKPLOY_URL" in server["problem"]
    assert report["database"] == {
        "configured": False,
        "target": None,
        "reachable": None,
        "server_version": None,
        "user": None,
        "problem": None,
    }


@MODES
async def test_health_check_sees_an_authenticated_dokploy_and_its_version(mode: Mode) -> None:
    with respx.mock(assert_all_called=True) as router:
        replay(router, "health--fresh")
        replay(router, "settings.getDokployVersion")
        report = await health(server_for(dokploy_url=DOKPLOY, dokploy_api_key=TEST_API_KEY), mode)
        sent_keys = {call.request.headers.get("x-api-key") for call in router.calls}
    [server] = report["dokploy"]
    assert server["reachable"] is True
    assert server["authenticated"] is True
    assert server["version"] == load("settings.getDokployVersion").response_body
    assert server["version_supported"] is True
    assert report["ok"] is True
    # /api/health is unauthenticated: the key goes only where it is needed.
    assert sent_keys == {None, TEST_API_KEY}
    assert TEST_API_KEY not in json.dumps(report)


async def test_health_check_with_a_rejected_key_explains_the_rate_limit_trap() -> None:
    with respx.mock() as router:
        replay(router, "health--fresh")
        # Dokploy answers every call of an exhausted key like this recorded one.
        rejected = load("project.all--rate-limited-key")
        router.get(f"{DOKPLOY}/api/settings.getDokployVersion").mock(return_value=rejected.response())
        report = await health(server_for(dokploy_url=DOKPLOY, dokploy_api_key="k"), "auto")
    [server] = report["dokploy"]
    assert server["reachable"] is True
    assert server["authenticated"] is False
    assert "401" in server["problem"] and "rate limit" in server["problem"]
    assert report["ok"] is False


async def test_health_check_with_an_unreachable_dokploy_says_so() -> None:
    with respx.mock() as router:
        router.get(f"{DOKPLOY}/api/health").mock(side_effect=httpx.ConnectError("connection refused"))
        report = await health(server_for(dokploy_url=DOKPLOY, dokploy_api_key="k"), "auto")
    [server] = report["dokploy"]
    assert server["reachable"] is False
    assert "Cannot reach" in server["problem"]


@pytest.mark.postgres
async def test_health_check_reaches_the_default_database_without_showing_its_password(pg_database_url: str) -> None:
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(pg_database_url)
    url = f"postgresql://{info.get('user', 'postgres')}:hunter2-secret@{info['host']}:{info['port']}/{info['dbname']}"
    report = await health(server_for(database_url=url), "auto")
    database = report["database"]
    assert database["reachable"] is True, database
    assert database["server_version"]
    assert "hunter2-secret" not in json.dumps(report)
    assert "****" in database["target"]


async def test_health_check_with_an_unreachable_database_names_the_problem() -> None:
    report = await health(server_for(database_url="postgresql://u:pw-secret@127.0.0.1:1/db"), "auto")
    database = report["database"]
    assert database["reachable"] is False
    assert database["problem"]
    assert "pw-secret" not in json.dumps(report)
