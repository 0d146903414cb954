"""Jobs over the HTTP transports: a job outlives the connection that started it, and another connection of the same
process reads it (issue 13). The server is real (uvicorn on loopback); Dokploy is the in-process double."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from dokploy_mcp.config import DokployServerConfig, load_settings
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.http import http_app
from dokploy_mcp.server import build_server
from tests.fake_dokploy import SERVERS, FakeDokploy
from tests.protocol.servers import serve_in_thread

pytestmark = pytest.mark.anyio

ALLOWANCE = 60.0


def _transport(kind: str, url: str) -> Any:
    return streamable_http_client(f"{url}/mcp") if kind == "streamable-http" else sse_client(f"{url}/sse")


async def _call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


@pytest.mark.parametrize("kind", ["streamable-http", "sse"])
async def test_a_job_started_on_one_connection_is_read_and_finished_on_another(kind: str) -> None:
    fake = FakeDokploy(lets_encrypt_email="ops@example.com", deploy_polls=1)
    compose = fake.add_supabase_stack("shop", "supabase", deployed=True)

    def client_factory(config: DokployServerConfig, timeout: float) -> DokployClient:
        return fake.client(name=config.name, timeout=timeout)

    settings = load_settings(transport=kind, call_budget=2)
    server = build_server(settings, servers=SERVERS, client_factory=client_factory)
    with serve_in_thread(http_app(server, settings)) as url:
        async with Client(_transport(kind, url)) as first:
            started = await _call(
                first,
                "dokploy_update_env",
                stack="shop/supabase",
                set={"DISABLE_SIGNUP": "true"},
                redeploy=True,
                wait_s=0,
            )
        assert started["status"] == "running", started
        job_id = started["job"]["job_id"]
        async with Client(_transport(kind, url)) as second:
            with anyio.fail_after(ALLOWANCE):
                while True:
                    report = await _call(second, "job_status", job_id=job_id)
                    if report["jobs"][0]["finished_at"] is not None:
                        break
    assert report["jobs"][0]["status"] == "done", report
    assert report["result"]["saved"] is True and report["result"]["redeploy"]["status"] == "done"
    assert "DISABLE_SIGNUP=true" in fake.composes[compose["composeId"]]["env"]
