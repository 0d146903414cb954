"""A caller's catastrophic pattern cannot freeze a real ``dokploy-mcp`` process (issue #11, item 3).

The server runs as a subprocess against the stateful Dokploy double behind a real loopback listener, whose
``compose.readLogs`` answers one 100 KB line of ``a``. With a backtracking engine, ``(a+)+$`` over that line never
finishes and holds the event loop: no other request is answered, and under uvicorn SIGTERM is not handled either.

These are liveness tests, not timing assertions: the call takes well under a second here (the double and the
subprocess included), and :data:`ALLOWANCE_S` is many times that.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import anyio
import httpx2
import pytest
from anyio.abc import Process
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

import dokploy_mcp
from tests.dokploy.recordings import TEST_API_KEY
from tests.fake_dokploy import FakeDokploy
from tests.protocol.fake_dokploy_http import fake_dokploy_app
from tests.protocol.servers import free_port, serve_in_thread

pytestmark = pytest.mark.anyio

Mode = Literal["legacy", "auto"]
MODES = pytest.mark.parametrize(("mode", "expected_version"), [("legacy", "2025-11-25"), ("auto", "2026-07-28")])

#: Generous on purpose (see the module docstring); the SIGTERM allowance is the issue's 5 s.
ALLOWANCE_S = 20.0
SIGTERM_ALLOWANCE_S = 5.0
LONG_LINE = "2026-11-22T15:00:00.000000000Z " + "a" * 100_000 + "\n"
CATASTROPHIC = ["(a+)+$", "(a|aa)+b"]
# The source tree of the code under test, so that the subprocess runs it too (also from a copy of the checkout).
SOURCE = str(Path(dokploy_mcp.__file__).resolve().parents[1])


class Dokploy:
    """The double on loopback: its URL, and an event set once a log read has been answered."""

    def __init__(self, url: str, served: threading.Event) -> None:
        self.url = url
        self.served = served

    def env(self) -> dict[str, str]:
        return {"DOKPLOY_URL": self.url, "DOKPLOY_API_KEY": TEST_API_KEY, "PYTHONPATH": SOURCE}

    async def wait_served(self) -> None:
        assert await anyio.to_thread.run_sync(self.served.wait, ALLOWANCE_S), "the logs were never read"


@pytest.fixture
def dokploy() -> Iterator[Dokploy]:
    fake = FakeDokploy(deploy_polls=0)
    fake.add_supabase_stack("shop", "supabase", deployed=True)
    served = threading.Event()
    with serve_in_thread(fake_dokploy_app(fake, lambda _: LONG_LINE, served)) as url:
        yield Dokploy(url, served)


def aggregate_arguments(pattern: str) -> dict[str, Any]:
    return {"stack": "shop/supabase", "since": "all", "pattern": pattern}


@MODES
async def test_a_catastrophic_pattern_answers_while_tools_list_is_served(
    tmp_path: Path, dokploy: Dokploy, mode: Mode, expected_version: str
) -> None:
    server = StdioServerParameters(command=sys.executable, args=["-m", "dokploy_mcp"], env=dokploy.env(), cwd=tmp_path)
    async with Client(server, mode=mode) as client:
        assert client.protocol_version == expected_version
        for pattern in CATASTROPHIC:
            dokploy.served.clear()
            results: list[Any] = []
            answered = anyio.Event()

            async def run(pattern: str = pattern, results: list[Any] = results, answered: Any = answered) -> None:
                results.append(await client.call_tool("aggregate_logs", aggregate_arguments(pattern)))
                answered.set()

            async with anyio.create_task_group() as group:
                group.start_soon(run)
                await dokploy.wait_served()
                # Asked while the server works on the line: a frozen event loop would never answer it.
                with anyio.fail_after(ALLOWANCE_S):
                    tools = (await client.list_tools()).tools
                assert "aggregate_logs" in {tool.name for tool in tools}
                with anyio.fail_after(ALLOWANCE_S):
                    await answered.wait()
            [result] = results
            assert not result.is_error, result.content
            assert result.structured_content["lines"] == []  # the cut line ends with its marker: no match


# -- SIGTERM ----------------------------------------------------------------------------------------------------------


async def _stdio_call(process: Process, pattern: str) -> None:
    """Handshake (2025-11-25) and one tools/call, by hand: the test needs the process itself, to signal it."""
    assert process.stdin is not None
    messages = [
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {
                "protocolVersion": "2025-11-25",
                "capabilities": {},
                "clientInfo": {"name": "t", "version": "1"},
            },
        },
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "aggregate_logs", "arguments": aggregate_arguments(pattern)},
        },
    ]
    for message in messages:
        await process.stdin.send(json.dumps(message).encode() + b"\n")


async def _http_call(url: str, pattern: str) -> None:
    async with (
        httpx2.AsyncClient(timeout=ALLOWANCE_S * 3) as http,
        Client(streamable_http_client(f"{url}/mcp", http_client=http)) as client,
    ):
        await client.call_tool("aggregate_logs", aggregate_arguments(pattern))


async def _wait_until_listening(port: int) -> None:
    with anyio.fail_after(ALLOWANCE_S):
        while True:
            try:
                await (await anyio.connect_tcp("127.0.0.1", port)).aclose()
                return
            except OSError:
                await anyio.sleep(0.05)


async def _exits_after_sigterm(process: Process) -> bool:
    process.send_signal(signal.SIGTERM)
    with anyio.move_on_after(SIGTERM_ALLOWANCE_S):
        await process.wait()
        return True
    return False


@pytest.mark.parametrize("transport", ["stdio", "streamable-http"])
async def test_sigterm_ends_the_process_while_a_pattern_is_matched(
    tmp_path: Path, dokploy: Dokploy, transport: str
) -> None:
    port = free_port()
    args = [] if transport == "stdio" else ["--transport", "streamable-http", "--port", str(port)]
    command = [sys.executable, "-m", "dokploy_mcp", *args]
    process = await anyio.open_process(command, env=dokploy.env(), cwd=tmp_path, stderr=None)
    try:
        async with anyio.create_task_group() as group:
            if transport == "stdio":
                await _stdio_call(process, CATASTROPHIC[0])
            else:
                await _wait_until_listening(port)
                group.start_soon(_http_call, f"http://127.0.0.1:{port}", CATASTROPHIC[0])
            await dokploy.wait_served()
            # Let the answer reach the server and the match start.
            await anyio.sleep(0.3)
            exited = await _exits_after_sigterm(process)
            group.cancel_scope.cancel()
        assert exited, f"dokploy-mcp ({transport}) still runs {SIGTERM_ALLOWANCE_S:g} s after SIGTERM"
    finally:
        if process.returncode is None:
            process.kill()
        with anyio.CancelScope(shield=True):
            await process.wait()
            await process.aclose()
