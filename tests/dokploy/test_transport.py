"""DokployClient on the wire (its transport): URLs, headers, encodings, retries, timeouts, concurrency, logging and
the key."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import anyio
import anyio.abc
import anyio.lowlevel
import httpx
import pytest
import respx
from pydantic import SecretStr

from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.errors import (
    DokployAPIError,
    DokployAuthError,
    DokployError,
    DokployNotFoundError,
    DokployRateLimitedError,
    DokployResponseError,
    DokployTimeoutError,
    DokployTransportError,
    DokployValidationError,
)
from dokploy_mcp.errors import ConfigurationError
from tests.dokploy.conftest import ClientFactory, SleepRecorder
from tests.dokploy.loopback import local_server
from tests.dokploy.recordings import BASE_URL, TEST_API_KEY, replay

pytestmark = pytest.mark.anyio

SECRET_KEY = "dokploy-key-that-must-never-leak-0123456789"


# -- construction ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    ["https://h.example:3000", "https://h.example:3000/", "https://h.example:3000/api", "https://h.example:3000/api/"],
)
def test_base_url_is_normalised_with_or_without_api(url: str) -> None:
    dokploy = DokployClient(base_url=url, api_key=None)

    assert dokploy.base_url == "https://h.example:3000"
    assert dokploy.api_url == "https://h.example:3000/api"


def test_base_url_keeps_a_path_prefix_in_front_of_api() -> None:
    dokploy = DokployClient(base_url="https://h.example/dokploy/api/", api_key=None)

    assert dokploy.api_url == "https://h.example/dokploy/api"


@pytest.mark.parametrize("url", ["h.example:3000", "ftp://h.example", "https://", ""])
def test_a_url_without_http_scheme_and_host_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError):
        DokployClient(base_url=url, api_key=None, name="prod")


def test_repr_shows_name_and_url_but_never_the_key() -> None:
    dokploy = DokployClient(base_url="https://h.example", api_key=SecretStr(SECRET_KEY), name="prod")

    assert repr(dokploy) == "DokployClient(name='prod', base_url='https://h.example')"
    assert SECRET_KEY not in repr(dokploy)
    assert SECRET_KEY not in str(vars(dokploy))


# -- requests -------------------------------------------------------------------------------------------------------


async def test_query_sends_booleans_explicitly_and_drops_none(router: respx.MockRouter, client: DokployClient) -> None:
    route = router.get("/api/x.list").respond(200, json=[])

    await client.query("x.list", {"flag": True, "off": False, "tail": 20, "gone": None, "ids": ["a", "b"]})

    params = route.calls.last.request.url.params
    assert params.multi_items() == [("flag", "true"), ("off", "false"), ("tail", "20"), ("ids", "a"), ("ids", "b")]


async def test_query_refuses_a_nested_object(client: DokployClient) -> None:
    with pytest.raises(TypeError, match="flat query"):
        await client.query("x.list", {"filter": {"a": 1}})


async def test_mutate_without_body_sends_an_empty_json_object(router: respx.MockRouter, client: DokployClient) -> None:
    route = router.post("/api/settings.cleanAll").respond(200, json=True)

    assert await client.mutate("settings.cleanAll") is True

    request = route.calls.last.request
    assert request.headers["content-type"] == "application/json"
    assert request.headers["x-api-key"] == TEST_API_KEY
    assert json.loads(request.content) == {}


async def test_an_empty_200_body_is_success_without_a_value(router: respx.MockRouter, client: DokployClient) -> None:
    # application.deploy returns void: 200, empty body, still labelled application/json.
    router.post("/api/application.deploy").respond(200, content=b"", headers={"content-type": "application/json"})

    assert await client.mutate("application.deploy", {"applicationId": "a"}) is None


async def test_no_key_header_is_sent_without_a_key(router: respx.MockRouter, make_client: ClientFactory) -> None:
    mounted = replay(router, "project.all--no-api-key")

    with pytest.raises(DokployAuthError):
        await make_client(api_key=None).project_all()

    assert "x-api-key" not in mounted.request.headers


@pytest.mark.parametrize("procedure", ["../etc/passwd", "/project.all", "project..all", "project.all?x=1", ""])
async def test_a_procedure_name_cannot_leave_the_api_path(procedure: str, client: DokployClient) -> None:
    with pytest.raises(ValueError, match="procedure"):
        await client.query(procedure)


async def test_health_sends_no_key(router: respx.MockRouter, client: DokployClient) -> None:
    mounted = replay(router, "health--fresh")

    assert await client.health() is True

    assert "x-api-key" not in mounted.request.headers


@pytest.mark.parametrize(
    ("status", "body"), [(200, {"ok": False}), (200, {"status": "ok"}), (500, {"message": "boom"}), (200, "nope")]
)
async def test_health_is_false_when_the_server_answers_anything_else(
    status: int, body: object, router: respx.MockRouter, client: DokployClient
) -> None:
    router.get("/api/health").respond(status, json=body)

    assert await client.health() is False


async def test_health_raises_when_the_server_cannot_be_reached(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    router.get("/api/health").mock(side_effect=httpx.ConnectError("Connection refused"))

    with pytest.raises(DokployTransportError) as caught:
        await make_client(max_retries=0).health()

    assert caught.value.url == BASE_URL
    assert "Connection refused" in str(caught.value)


# -- retries --------------------------------------------------------------------------------------------------------


async def test_get_is_retried_on_503_with_exponential_backoff(
    router: respx.MockRouter, client: DokployClient, sleeps: SleepRecorder
) -> None:
    route = router.get("/api/project.all").mock(
        side_effect=[httpx.Response(503), httpx.Response(503), httpx.Response(200, json=[])]
    )

    assert await client.project_all() == []

    assert route.call_count == 3
    assert len(sleeps.calls) == 2
    # 0.5 s, then 1 s, each plus up to 10 % jitter.
    assert 0.5 <= sleeps.calls[0] <= 0.55
    assert 1.0 <= sleeps.calls[1] <= 1.1


@pytest.mark.parametrize("status", [429, 502, 504])
async def test_get_is_retried_on_other_transient_statuses(
    status: int, router: respx.MockRouter, client: DokployClient
) -> None:
    route = router.get("/api/project.all").mock(side_effect=[httpx.Response(status), httpx.Response(200, json=[])])

    assert await client.project_all() == []
    assert route.call_count == 2


async def test_retry_after_is_honoured(router: respx.MockRouter, client: DokployClient, sleeps: SleepRecorder) -> None:
    router.get("/api/project.all").mock(
        side_effect=[httpx.Response(429, headers={"retry-after": "2"}), httpx.Response(200, json=[])]
    )

    await client.project_all()

    assert sleeps.calls == [2.0]


async def test_retry_after_is_capped(
    router: respx.MockRouter, make_client: ClientFactory, sleeps: SleepRecorder
) -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(hours=1), usegmt=True)
    router.get("/api/project.all").mock(
        side_effect=[
            httpx.Response(503, headers={"retry-after": "600"}),
            httpx.Response(429, headers={"retry-after": later}),
            httpx.Response(200, json=[]),
        ]
    )

    await make_client(max_retry_after=4.0).project_all()

    assert sleeps.calls == [4.0, 4.0]


async def test_get_is_retried_on_connection_failures(
    router: respx.MockRouter, client: DokployClient, sleeps: SleepRecorder
) -> None:
    route = router.get("/api/project.all").mock(
        side_effect=[
            httpx.ConnectError("Connection refused"),
            httpx.RemoteProtocolError("Server disconnected"),
            httpx.ConnectTimeout("connect timed out"),
            httpx.Response(200, json=[]),
        ]
    )

    assert await client.project_all() == []
    assert route.call_count == 4
    assert len(sleeps.calls) == 3


async def test_get_gives_up_after_max_retries_with_the_last_status(
    router: respx.MockRouter, client: DokployClient, sleeps: SleepRecorder
) -> None:
    route = router.get("/api/project.all").respond(503, json={"message": "Service Unavailable"})

    with pytest.raises(DokployAPIError) as caught:
        await client.project_all()

    assert type(caught.value) is DokployAPIError
    assert caught.value.status == 503
    assert route.call_count == 4
    assert len(sleeps.calls) == 3


async def test_get_gives_up_on_429_with_a_rate_limited_error(router: respx.MockRouter, client: DokployClient) -> None:
    router.get("/api/project.all").respond(429, headers={"retry-after": "1.5"}, text="Too Many Requests")

    with pytest.raises(DokployRateLimitedError) as caught:
        await client.project_all()

    assert caught.value.retry_after == 1.5
    assert caught.value.status == 429


async def test_get_gives_up_on_connection_failures_with_a_transport_error(
    router: respx.MockRouter, make_client: ClientFactory, sleeps: SleepRecorder
) -> None:
    route = router.get("/api/project.all").mock(side_effect=httpx.ConnectError("Name or service not known"))

    with pytest.raises(DokployTransportError) as caught:
        await make_client(max_retries=2, name="prod").project_all()

    assert type(caught.value) is DokployTransportError
    assert caught.value.server == "prod"
    assert "Name or service not known" in str(caught.value)
    assert route.call_count == 3
    assert len(sleeps.calls) == 2


async def test_a_tls_failure_is_not_retried() -> None:
    # A real handshake against a plain-HTTP port: the kind of failure a retry cannot fix.
    async def answer_in_plain_http(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            await stream.send(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")

    async with local_server(answer_in_plain_http) as server:
        dokploy = DokployClient(base_url=f"https://127.0.0.1:{server.port}", api_key=None, sleep=SleepRecorder())
        with anyio.fail_after(5), pytest.raises(DokployTransportError) as caught:
            await dokploy.project_all()
        await dokploy.aclose()

    assert type(caught.value) is DokployTransportError
    assert server.connections == 1


@pytest.mark.parametrize(
    "failure", [httpx.Response(503), httpx.Response(429, headers={"retry-after": "1"}), httpx.ConnectError("refused")]
)
async def test_post_is_never_retried(
    failure: httpx.Response | Exception, router: respx.MockRouter, client: DokployClient, sleeps: SleepRecorder
) -> None:
    route = router.post("/api/compose.deploy").mock(side_effect=[failure, httpx.Response(200, json={"success": True})])

    with pytest.raises(DokployError):
        await client.compose_deploy("c1")

    assert route.call_count == 1
    assert sleeps.calls == []


async def test_no_retry_when_max_retries_is_zero(router: respx.MockRouter, make_client: ClientFactory) -> None:
    route = router.get("/api/project.all").respond(503)

    with pytest.raises(DokployAPIError):
        await make_client(max_retries=0).project_all()

    assert route.call_count == 1


@pytest.mark.parametrize("status", [400, 401, 404, 500])
async def test_other_error_statuses_are_not_retried(
    status: int, router: respx.MockRouter, client: DokployClient
) -> None:
    route = router.get("/api/project.all").respond(status, json={"message": "no"})

    with pytest.raises(DokployAPIError):
        await client.project_all()

    assert route.call_count == 1


async def test_a_backoff_wait_does_not_hold_a_concurrency_slot(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    router.get("/api/project.all").mock(side_effect=[httpx.Response(503), httpx.Response(200, json=[])])
    router.get("/api/settings.getIp").respond(200, json="203.0.113.10")
    seen: list[str] = []

    async def sleep_and_call(seconds: float) -> None:
        # With the only slot held during the wait, this request would never start.
        seen.append(await dokploy.settings_get_ip())

    dokploy = make_client(max_concurrency=1, sleep=sleep_and_call)
    with anyio.fail_after(5):
        assert await dokploy.project_all() == []

    assert seen == ["203.0.113.10"]


# -- timeouts -------------------------------------------------------------------------------------------------------


async def test_a_read_timeout_is_a_timeout_error_and_is_not_retried(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    route = router.get("/api/compose.one").mock(side_effect=httpx.ReadTimeout("timed out"))

    with pytest.raises(DokployTimeoutError) as caught:
        await make_client(timeout=7.5).compose_one("c1")

    assert caught.value.timeout == 7.5
    assert caught.value.path == "/compose.one"
    assert route.call_count == 1


async def test_a_connect_timeout_ends_as_a_timeout_error_after_the_retries(
    router: respx.MockRouter, client: DokployClient
) -> None:
    route = router.get("/api/compose.one").mock(side_effect=httpx.ConnectTimeout("timed out"))

    with pytest.raises(DokployTimeoutError):
        await client.compose_one("c1")

    assert route.call_count == 4


async def test_a_server_that_never_answers_times_out() -> None:
    async def stay_silent(stream: anyio.abc.SocketStream) -> None:
        async with stream:
            await anyio.sleep_forever()

    async with local_server(stay_silent) as server:
        dokploy = DokployClient(base_url=f"http://127.0.0.1:{server.port}", api_key=None, timeout=0.2)
        with anyio.fail_after(5), pytest.raises(DokployTimeoutError) as caught:
            await dokploy.project_all()
        await dokploy.aclose()

    assert caught.value.timeout == 0.2
    # A read timeout is not retried: the server may be busy with the request.
    assert server.connections == 1


# -- concurrency ----------------------------------------------------------------------------------------------------


async def test_at_most_max_concurrency_requests_run_at_once(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    in_flight = 0
    most = 0
    gate = anyio.Event()

    async def slow(request: httpx.Request) -> httpx.Response:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        await gate.wait()
        in_flight -= 1
        return httpx.Response(200, json=[])

    router.get("/api/project.all").mock(side_effect=slow)
    dokploy = make_client(max_concurrency=2)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            for _ in range(6):
                tasks.start_soon(dokploy.project_all)
            while in_flight < 2:
                await anyio.lowlevel.checkpoint()
            for _ in range(50):
                await anyio.lowlevel.checkpoint()
            assert in_flight == 2
            gate.set()

    assert most == 2


# -- the key stays secret -------------------------------------------------------------------------------------------


async def _failures(router: respx.MockRouter, dokploy: DokployClient) -> list[DokployError]:
    router.get("/api/a.unauthorized").respond(401, json={"message": "Unauthorized"})
    router.get("/api/a.missing").respond(404, json={"message": f"no {SECRET_KEY}", "code": "NOT_FOUND"})
    router.post("/api/a.invalid").respond(
        400,
        json={
            "message": "Input validation failed",
            "data": {"zodError": {"formErrors": [SECRET_KEY], "fieldErrors": {"name": [f"bad {SECRET_KEY}"]}}},
        },
    )
    router.get("/api/a.down").respond(503)
    router.get("/api/a.refused").mock(side_effect=httpx.ConnectError(f"refused {SECRET_KEY}"))
    router.get("/api/a.slow").mock(side_effect=httpx.ReadTimeout("timed out"))
    router.get("/api/a.html").respond(200, text="<html>")
    router.get("/api/compose.one").respond(200, json={"composeId": SECRET_KEY})
    calls = [
        dokploy.query("a.unauthorized"),
        dokploy.query("a.missing"),
        dokploy.mutate("a.invalid", {"name": SECRET_KEY}),
        dokploy.query("a.down"),
        dokploy.query("a.refused"),
        dokploy.query("a.slow"),
        dokploy.query("a.html"),
        dokploy.compose_one("c1"),
    ]
    failures = []
    for call in calls:
        with pytest.raises(DokployError) as caught:
            await call
        failures.append(caught.value)
    return failures


async def test_the_key_never_appears_in_errors_or_logs(
    router: respx.MockRouter, make_client: ClientFactory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    dokploy = make_client(api_key=SECRET_KEY)

    failures = await _failures(router, dokploy)

    assert {type(f) for f in failures} >= {
        DokployAuthError,
        DokployNotFoundError,
        DokployValidationError,
        DokployAPIError,
        DokployTransportError,
        DokployTimeoutError,
        DokployResponseError,
    }
    for failure in failures:
        assert SECRET_KEY not in str(failure)
        assert SECRET_KEY not in repr(failure)
        assert SECRET_KEY not in repr(vars(failure))
    assert caplog.records
    for record in caplog.records:
        assert SECRET_KEY not in record.getMessage()


async def test_each_request_is_logged_at_debug_without_bodies(
    router: respx.MockRouter, client: DokployClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="dokploy_mcp.dokploy.transport")
    router.post("/api/compose.saveEnvironment").respond(200, json=True)

    await client.compose_save_environment("c1", "JWT_SECRET=super-secret-jwt")

    [record] = [r for r in caplog.records if r.name == "dokploy_mcp.dokploy.transport"]
    assert record.levelno == logging.DEBUG
    message = record.getMessage()
    assert "POST /compose.saveEnvironment -> 200" in message
    assert client.name in message
    assert "super-secret-jwt" not in message


async def test_retries_are_logged(
    router: respx.MockRouter, client: DokployClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="dokploy_mcp.dokploy.transport")
    router.get("/api/project.all").mock(side_effect=[httpx.Response(503), httpx.Response(200, json=[])])

    await client.project_all()

    assert any("HTTP 503" in r.getMessage() and "retry 1 of 3" in r.getMessage() for r in caplog.records)
