"""Shutdown while a job runs, on a real ``dokploy-mcp`` stdio process (issue 13, item 1).

SIGTERM, or stdin closed, mid-job: the job is asked to stop, undoes what it did (the env written is put back and
the previous one redeployed), and the process ends, logging what was left. A second SIGTERM exits at once.

The double runs behind a real loopback listener; its deployments never end on their own, so the job is in its
deploy wait when the signal comes. Liveness tests: the allowances are many times what the flow takes here.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest
from anyio.abc import Process

from tests.dokploy.recordings import TEST_API_KEY
from tests.fake_dokploy import FakeDokploy
from tests.protocol.fake_dokploy_http import fake_dokploy_app
from tests.protocol.servers import serve_in_thread
from tests.protocol.test_liveness import SOURCE

pytestmark = pytest.mark.anyio

#: The undo's redeploy polls every 2 s; shutdown allows 60 s in all.
ALLOWANCE_S = 90.0
SECOND_SIGNAL_ALLOWANCE_S = 5.0


class Stack:
    def __init__(self, fake: FakeDokploy, compose_id: str, url: str) -> None:
        self.fake, self.compose_id, self.url = fake, compose_id, url

    @property
    def env(self) -> str:
        return str(self.fake.composes[self.compose_id]["env"])

    def count(self, procedure: str) -> int:
        return sum(1 for _, name, _ in list(self.fake.requests) if name == procedure)


@pytest.fixture
def stack() -> Iterator[Stack]:
    fake = FakeDokploy(deploy_polls=100_000)
    compose = fake.add_supabase_stack("shop", "supabase", deployed=True)
    with serve_in_thread(fake_dokploy_app(fake, lambda _: "", threading.Event())) as url:
        yield Stack(fake, compose["composeId"], url)


async def _start(stack: Stack, tmp_path: Path) -> Process:
    env = {
        "DOKPLOY_URL": stack.url,
        "DOKPLOY_API_KEY": TEST_API_KEY,
        "PYTHONPATH": SOURCE,
        "DOKPLOY_MCP_CALL_BUDGET": "2",
    }
    process = await anyio.open_process([sys.executable, "-m", "dokploy_mcp"], env=env, cwd=tmp_path)
    assert process.stdin is not None
    arguments: dict[str, Any] = {
        "stack": "shop/supabase",
        "set": {"DISABLE_SIGNUP": "true"},
        "redeploy": True,
        "wait_s": 0,
    }
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
            "params": {"name": "dokploy_update_env", "arguments": arguments},
        },
    ]
    for message in messages:
        await process.stdin.send(json.dumps(message).encode() + b"\n")
    # In its deploy wait: the env is written, the redeploy queued, and the poller has read its status.
    with anyio.fail_after(ALLOWANCE_S):
        # The double runs in another thread: its request list is polled, there is no event to wait on.
        while stack.count("compose.redeploy") < 1 or stack.count("deployment.allByCompose") < 2:  # noqa: ASYNC110
            await anyio.sleep(0.05)
    assert "DISABLE_SIGNUP=true" in stack.env
    # From now on a deployment ends at its first poll, so the undo's redeploy of the previous env finishes.
    stack.fake.deploy_polls = 0
    return process


async def _stderr(process: Process) -> str:
    assert process.stderr is not None
    data = bytearray()
    with anyio.move_on_after(5):
        async for chunk in process.stderr:
            data += chunk
    return data.decode(errors="replace")


async def _exits_within(process: Process, seconds: float) -> bool:
    with anyio.move_on_after(seconds):
        await process.wait()
        return True
    return False


@pytest.mark.parametrize("how", ["SIGTERM", "stdin closed"])
async def test_shutdown_mid_job_undoes_the_job_and_ends_the_process(stack: Stack, tmp_path: Path, how: str) -> None:
    before = stack.env
    process = await _start(stack, tmp_path)
    try:
        if how == "SIGTERM":
            process.send_signal(signal.SIGTERM)
        else:
            assert process.stdin is not None
            await process.stdin.aclose()
        exited = await _exits_within(process, ALLOWANCE_S)
        log = await _stderr(process)
    finally:
        if process.returncode is None:
            process.kill()
        with anyio.CancelScope(shield=True):
            await process.wait()
    assert exited, f"dokploy-mcp still runs {ALLOWANCE_S:g} s after {how}"
    assert stack.env == before, "the env written by the job was not put back"
    assert "stopping 1 running job" in log
    assert "ended stopped" in log
    assert stack.count("compose.redeploy") == 2, "the previous env was not redeployed"


async def test_a_second_sigterm_exits_at_once_and_logs_what_was_left(stack: Stack, tmp_path: Path) -> None:
    stack.fake.deploy_polls = 100_000
    process = await _start(stack, tmp_path)
    # The undo's redeploy never ends either, so only the second signal can end the process quickly.
    stack.fake.deploy_polls = 100_000
    try:
        process.send_signal(signal.SIGTERM)
        with anyio.fail_after(ALLOWANCE_S):
            while stack.count("compose.redeploy") < 2:  # noqa: ASYNC110 - polled, as above
                await anyio.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        exited = await _exits_within(process, SECOND_SIGNAL_ALLOWANCE_S)
        log = await _stderr(process)
    finally:
        if process.returncode is None:
            process.kill()
        with anyio.CancelScope(shield=True):
            await process.wait()
    assert exited, f"dokploy-mcp still runs {SECOND_SIGNAL_ALLOWANCE_S:g} s after a second SIGTERM"
    assert "second SIGTERM: exiting now" in log
    assert "was left" in log
