"""A broken or hostile Dokploy cannot hang, exhaust or crash the client, nor make it leak a secret.

Each class of attack has its limit: one deadline per call (connect, send, every read and every retry together), a cap
on the bytes of one answer, a cap on the nesting depth of its JSON, and every text that comes from Dokploy scrubbed
before it reaches an error or a log line. The timing tests run against real sockets on 127.0.0.1 and assert liveness
with a generous allowance (5x the deadline), not exact durations.
"""

from __future__ import annotations

import gzip
import json
import logging
import secrets
import time
import tracemalloc
from typing import Any

import anyio
import anyio.abc
import httpx
import pytest
import respx
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import SecretStr

from dokploy_mcp import redact
from dokploy_mcp.config import load_settings
from dokploy_mcp.dokploy import answers, transport
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.errors import (
    DokployAPIError,
    DokployError,
    DokployProtocolError,
    DokployResponseError,
    DokployTimeoutError,
    DokployValidationError,
)
from dokploy_mcp.registry import ToolSpec, guard
from tests.dokploy.conftest import ClientFactory, SleepRecorder
from tests.dokploy.loopback import local_server
from tests.dokploy.recordings import replay

pytestmark = pytest.mark.anyio

# Stated here rather than imported, so that a changed limit is a visible decision.
SIZE_CAP = 16 * 1024 * 1024
DEPTH_CAP = 64
# Liveness, not timing: a call must end within this many times its deadline.
ALLOWANCE = 5
# The hang guard of each socket test: far above the allowance, so that a client that hangs fails instead of blocking.
HANG_GUARD = 30


def _headers(status: str = "200 OK", *, length: int, close: bool = False) -> bytes:
    lines = [f"HTTP/1.1 {status}", "content-type: application/json", f"content-length: {length}"]
    if close:
        lines.append("connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _drip_forever(stream: anyio.abc.SocketStream) -> None:
    """Valid headers, then one byte of (JSON) whitespace every 0.2 s: each read succeeds, the answer never ends."""
    async with stream:
        await stream.receive()
        await stream.send(_headers(length=1_000_000))
        while True:
            await stream.send(b" ")
            await anyio.sleep(0.2)


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def _fresh_key() -> str:
    # A key no other test registered: only this test's client can have taught the scrubber about it.
    return f"hostile-key-{secrets.token_hex(12)}"


# -- one deadline per call --------------------------------------------------------------------------------------------


def test_the_documented_limits_are_the_tested_ones() -> None:
    assert transport.MAX_RESPONSE_BYTES == SIZE_CAP
    assert answers.MAX_JSON_DEPTH == DEPTH_CAP
    assert "16 MiB" in (transport.__doc__ or "")
    assert "deadline" in (transport.__doc__ or "")


async def _project_all_times_out(
    url: str, *, max_retries: int = 3, retry_backoff: float = 0.5
) -> tuple[float, DokployTimeoutError]:
    """``project.all`` with a deadline of 1 s, which must pass: how long it took, and the timeout it ended in."""
    dokploy = DokployClient(
        base_url=url, api_key=None, timeout=1.0, max_retries=max_retries, retry_backoff=retry_backoff
    )
    started = time.monotonic()
    with anyio.fail_after(HANG_GUARD), pytest.raises(DokployTimeoutError) as caught:
        await dokploy.project_all()
    elapsed = time.monotonic() - started
    await dokploy.aclose()
    return elapsed, caught.value


async def test_a_server_that_drips_its_answer_is_cut_off_at_the_timeout() -> None:
    async with local_server(_drip_forever) as server:
        elapsed, timeout = await _project_all_times_out(server.url)

    assert elapsed < ALLOWANCE * 1.0
    assert timeout.timeout == 1.0
    assert timeout.path == "/project.all"


async def test_a_retried_get_ends_within_the_one_deadline() -> None:
    # Each answer takes 0.6 s (no single read times out) and is a retryable 503: without one deadline for the whole
    # call, 6 attempts and their backoff would take about 6.7 s.
    async def slow_503(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            await stream.receive()
            await anyio.sleep(0.6)
            await stream.send(_headers("503 Service Unavailable", length=0, close=True))

    async with local_server(slow_503) as server:
        elapsed, timeout = await _project_all_times_out(server.url, max_retries=5, retry_backoff=0.1)

    assert elapsed < ALLOWANCE * 1.0
    assert timeout.timeout == 1.0
    assert server.connections >= 2  # it did retry while there was time


async def test_no_retry_is_attempted_when_its_wait_would_pass_the_deadline(
    router: respx.MockRouter, make_client: ClientFactory, sleeps: SleepRecorder
) -> None:
    route = router.get("/api/project.all").respond(503, headers={"retry-after": "5"}, json={"message": "busy"})

    with pytest.raises(DokployAPIError) as caught:
        await make_client(timeout=1.0).project_all()

    # The 503 itself is the answer: waiting 5 s would only end in a timeout, with less to say.
    assert caught.value.status == 503
    assert route.call_count == 1
    assert sleeps.calls == []


async def test_an_explicit_request_timeout_is_that_calls_deadline() -> None:
    async with local_server(_drip_forever) as server:
        dokploy = DokployClient(base_url=server.url, api_key=None, timeout=0.3)
        started = time.monotonic()
        with anyio.fail_after(HANG_GUARD), pytest.raises(DokployTimeoutError) as caught:
            await dokploy.auth_sign_up_email(
                email="a@example.com", password=SecretStr("long-password"), name="a", request_timeout=1.0
            )
        elapsed = time.monotonic() - started
        await dokploy.aclose()

    assert caught.value.timeout == 1.0
    # The long deadline replaced the client's 0.3 s, and still ended the call.
    assert 0.9 <= elapsed < ALLOWANCE * 1.0


# -- a cap on the size of an answer -----------------------------------------------------------------------------------


async def test_an_answer_larger_than_the_cap_is_refused_while_streaming() -> None:
    size = SIZE_CAP + 24 * 1024 * 1024
    content = b'"' + b"a" * (size - 2) + b'"'

    async def huge(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            await stream.receive()
            await stream.send(_headers(length=size))
            for start in range(0, size, 1 << 20):
                await stream.send(content[start : start + (1 << 20)])

    async with local_server(huge) as server:
        dokploy = DokployClient(base_url=server.url, api_key=None, timeout=20.0)
        tracemalloc.start()
        try:
            with anyio.fail_after(HANG_GUARD), pytest.raises(DokployProtocolError) as caught:
                await dokploy.settings_get_dokploy_version()
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        await dokploy.aclose()

    assert isinstance(caught.value, DokployResponseError)
    assert caught.value.path == "/settings.getDokployVersion"
    message = str(caught.value)
    assert "/settings.getDokployVersion" in message
    assert "16 MiB" in message
    # The cap bounds what was held, not only what was returned (the bytearray grows in steps, hence some slack).
    assert peak < 1.5 * SIZE_CAP


async def test_an_answer_of_exactly_the_cap_is_read(router: respx.MockRouter, client: DokployClient) -> None:
    router.get("/api/settings.getDokployVersion").respond(200, content=b'"' + b"v" * (SIZE_CAP - 2) + b'"')

    version = await client.settings_get_dokploy_version()

    assert len(version) == SIZE_CAP - 2


async def test_an_error_answer_larger_than_the_cap_is_refused_too(
    router: respx.MockRouter, client: DokployClient
) -> None:
    body = json.dumps({"message": "m" * SIZE_CAP}).encode()
    router.post("/api/compose.deploy").respond(500, content=body, headers={"content-type": "application/json"})

    with pytest.raises(DokployProtocolError, match="16 MiB"):
        await client.compose_deploy("c1")


async def test_a_compressed_answer_is_refused_and_none_is_asked_for(
    router: respx.MockRouter, client: DokployClient
) -> None:
    # Decompressing cannot be capped by what was read: a few KiB of gzip can inflate to gigabytes.
    route = router.get("/api/settings.getIp").respond(
        200, content=gzip.compress(b'"203.0.113.10"'), headers={"content-encoding": "gzip"}
    )

    with pytest.raises(DokployProtocolError, match="compressed"):
        await client.settings_get_ip()

    assert route.calls.last.request.headers["accept-encoding"] == "identity"


# -- JSON without recursion failures ----------------------------------------------------------------------------------


@pytest.mark.parametrize("status", [200, 500])
async def test_deeply_nested_json_is_a_protocol_error_not_a_recursion_error(
    status: int, router: respx.MockRouter, client: DokployClient
) -> None:
    router.get("/api/project.all").respond(status, content=_nested(100_000))

    with pytest.raises(DokployProtocolError) as caught:
        await client.project_all()

    assert str(caught.value) == (
        f"Dokploy's answer to /project.all (server 'default') is nested deeper than {DEPTH_CAP} levels, "
        "more than this client reads"
    )
    assert caught.value.path == "/project.all"
    assert caught.value.server == "default"


async def test_json_one_level_deeper_than_the_limit_is_refused(router: respx.MockRouter, client: DokployClient) -> None:
    router.get("/api/x.deep").respond(200, content=_nested(DEPTH_CAP + 1))
    router.get("/api/x.limit").respond(200, content=_nested(DEPTH_CAP))

    with pytest.raises(DokployProtocolError, match=f"deeper than {DEPTH_CAP} levels"):
        await client.query("x.deep")
    value: Any = await client.query("x.limit")

    for _ in range(DEPTH_CAP - 1):
        value = value[0]
    assert value == []


async def test_an_error_body_nested_too_deep_is_a_protocol_error(
    router: respx.MockRouter, client: DokployClient
) -> None:
    deep: Any = "bottom"
    for _ in range(DEPTH_CAP + 5):
        deep = {"zodError": deep}
    router.post("/api/project.create").respond(400, json={"message": "Input validation failed", "data": deep})

    with pytest.raises(DokployProtocolError, match="nested deeper"):
        await client.project_create("p")


async def test_health_is_false_for_a_hostile_answer(router: respx.MockRouter, client: DokployClient) -> None:
    router.get("/api/health").respond(200, content=_nested(100_000))

    assert await client.health() is False


# -- every text from Dokploy is scrubbed -------------------------------------------------------------------------------


def test_constructing_a_client_teaches_the_scrubber_its_key() -> None:
    key = _fresh_key()

    DokployClient(base_url="http://127.0.0.1:1", api_key=SecretStr(key))

    assert redact.scrub(f"echo {key}") == f"echo {redact.MASK}"


async def test_an_error_echoing_the_key_in_message_code_and_data_leaks_it_nowhere(
    router: respx.MockRouter, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = _fresh_key()
    dokploy = make_client(api_key=key)
    router.post("/api/project.create").respond(
        400,
        json={
            "message": f"bad key {key}",
            "code": f"BAD_{key}",
            "data": {"zodError": {"fieldErrors": {f"name{key}": [f"not {key}"]}, "formErrors": [f"form {key}"]}},
        },
    )
    router.get("/api/project.all").respond(500, json={"message": f"boom {key}", "code": key})

    async def failing_tool() -> None:
        """Fails the way a tool does when Dokploy answers an error."""
        await dokploy.project_all()

    with pytest.raises(DokployValidationError) as invalid:
        await dokploy.project_create("p")
    spec = ToolSpec(name="failing_tool", title="Failing", toolset="core", handler=failing_tool, read_only=True)
    with pytest.raises(ToolError) as tool_error:
        await guard(spec, load_settings())()

    failure = tool_error.value.__cause__
    assert isinstance(failure, DokployAPIError)
    for text in (
        str(invalid.value),
        repr(vars(invalid.value)),
        str(failure),
        repr(vars(failure)),
        str(tool_error.value),
    ):
        assert key not in text
    # What is left around the key is still there to read.
    assert "bad key" in str(invalid.value)
    assert "boom" in str(failure)
    logged = [record.getMessage() for record in caplog.records]
    assert any("failing_tool failed" in line for line in logged)
    for line in logged:
        assert key not in line


async def test_the_recorded_backup_failure_does_not_leak_the_s3_credentials(
    router: respx.MockRouter, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    # A real Dokploy v0.30.2 answer: the 400 message is the whole failed shell script, rclone's S3 keys in clear.
    caplog.set_level(logging.DEBUG)
    mounted = replay(router, "backup.manualBackupPostgres--missing-bucket")
    dokploy = make_client()

    async def backup_tool() -> None:
        """Runs the recorded failing backup."""
        await dokploy.mutate("backup.manualBackupPostgres", mounted.recording.body)

    with pytest.raises(DokployAPIError) as caught:
        await dokploy.mutate("backup.manualBackupPostgres", mounted.recording.body)
    spec = ToolSpec(name="backup_tool", title="Backup", toolset="core", handler=backup_tool, read_only=False)
    with pytest.raises(ToolError) as tool_error:
        await guard(spec, load_settings())()

    error = caught.value
    assert error.status == 400
    assert "Command execution failed" in error.message
    texts = [str(error), error.message, repr(vars(error)), str(tool_error.value)]
    texts += [record.getMessage() for record in caplog.records]
    for text in texts:
        assert "localsecretkey" not in text
        assert "localaccesskey" not in text


async def test_log_text_from_dokploy_is_scrubbed(router: respx.MockRouter, make_client: ClientFactory) -> None:
    key = _fresh_key()
    dokploy = make_client(api_key=key)
    leaky = f"rclone --s3-secret-access-key=s3cr3t-value-123 failed\nheader x-api-key: {key}\n"
    router.get("/api/deployment.readLogs").respond(200, json=leaky)
    router.get("/api/compose.readLogs").respond(200, json=leaky)

    texts = [
        await dokploy.deployment_read_logs("d1"),
        await dokploy.compose_read_logs("c1", "container-1"),
    ]

    for text in texts:
        assert "s3cr3t-value-123" not in text
        assert key not in text
        assert "rclone --s3-secret-access-key=" in text


async def test_no_dokploy_text_reaches_an_error_unscrubbed(router: respx.MockRouter, client: DokployClient) -> None:
    # The reason phrase and a redirect's location come from the server as much as the body does.
    router.get("/api/a.redirect").respond(302, headers={"location": "https://admin:hunter2-pass@elsewhere.example/"})
    router.get("/api/a.reason").mock(
        return_value=httpx.Response(418, extensions={"reason_phrase": b"password=hunter2-pass"})
    )

    failures: list[DokployError] = []
    for procedure in ("a.redirect", "a.reason"):
        with pytest.raises(DokployAPIError) as caught:
            await client.query(procedure)
        failures.append(caught.value)

    for failure in failures:
        assert "hunter2-pass" not in str(failure)
