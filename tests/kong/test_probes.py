"""What "up" means per service: KongGateway.probe against the double of the stack, and against answers of broken
services."""

from __future__ import annotations

import httpx
import pytest
import respx

from dokploy_mcp.errors import InputError
from dokploy_mcp.kong.probes import ProbeResult, ServiceName
from tests.kong.gateways import BASE_URL, JWT_SECRET, OTHER_SECRET, failing_transport, gateway_for, stack
from tests.supabase.kong_double import SERVICES, make_key

pytestmark = pytest.mark.anyio


@pytest.mark.parametrize("service", SERVICES)
async def test_probe_reports_a_healthy_service_as_up(service: ServiceName) -> None:
    async with gateway_for(stack()) as gateway:
        result = await gateway.probe(service)

    assert isinstance(result, ProbeResult)
    assert result.service == service
    assert result.ok, result.detail
    assert result.status == (400 if service == "functions" else 200)
    assert result.latency_ms >= 0


@pytest.mark.parametrize("service", SERVICES)
@pytest.mark.parametrize(
    ("status", "message"),
    [(503, "name resolution failed"), (502, "An invalid response was received from the upstream server")],
)
async def test_probe_reports_a_service_kong_cannot_reach_as_down(
    service: ServiceName, status: int, message: str
) -> None:
    double = stack(down_services={service: status})
    async with gateway_for(double) as gateway:
        result = await gateway.probe(service)
        others = [await gateway.probe(other) for other in SERVICES if other != service]

    assert not result.ok
    assert result.status == status
    assert message in result.detail
    assert "cannot reach the service's container" in result.detail
    assert result.latency_ms >= 0
    assert all(other.ok for other in others)


@pytest.mark.parametrize("service", SERVICES)
async def test_probe_without_an_answer_is_down_with_no_status(service: ServiceName) -> None:
    transport = failing_transport(httpx.ConnectError("[Errno 111] Connection refused"))
    async with gateway_for(transport) as gateway:
        result = await gateway.probe(service)

    assert (result.ok, result.status) == (False, None)
    assert result.detail == "no answer: ConnectError: [Errno 111] Connection refused"
    assert result.latency_ms >= 0


async def test_probe_reports_kongs_refusal_of_an_unknown_key() -> None:
    stray_anon = make_key(JWT_SECRET, "anon", expires=1_900_000_000)
    async with gateway_for(stack(), anon_key=stray_anon) as gateway:
        result = await gateway.probe("rest")

    assert (result.ok, result.status) == (False, 401)
    assert result.detail.startswith("Kong refused the key (401: Unauthorized)")


async def test_probe_realtime_refusing_the_anon_jwt_is_down() -> None:
    # Kong knows the key, but realtime's check_auth cannot verify it with API_JWT_SECRET (=JWT_SECRET).
    foreign_anon_key = make_key(OTHER_SECRET, "anon")
    async with gateway_for(stack(anon_key=foreign_anon_key), anon_key=foreign_anon_key) as gateway:
        result = await gateway.probe("realtime")

    assert (result.ok, result.status) == (False, 403)
    assert "API_JWT_SECRET" in result.detail


async def test_probe_functions_with_verify_jwt_and_a_foreign_anon_key_is_down() -> None:
    foreign_anon_key = make_key(OTHER_SECRET, "anon")
    double = stack(anon_key=foreign_anon_key, functions_verify_jwt=True)
    async with gateway_for(double, anon_key=foreign_anon_key) as gateway:
        result = await gateway.probe("functions")

    assert (result.ok, result.status) == (False, 401)
    assert result.detail == "answered 401: Invalid JWT"


@pytest.mark.parametrize(
    ("service", "path", "response", "detail"),
    [
        (
            "realtime",
            "/realtime/v1/api/tenants/realtime-dev/health",
            httpx.Response(200, json={"data": {"healthy": False, "db_connected": False, "connected_cluster": 3}}),
            "realtime reports tenant realtime-dev unhealthy: clients connected, no database",
        ),
        (
            "functions",
            "/functions/v1/",
            httpx.Response(500, json={"msg": "InvalidWorkerCreation: worker boot error"}),
            "answered 500: InvalidWorkerCreation: worker boot error",
        ),
        (
            "rest",
            "/rest/v1/",
            httpx.Response(503, json={"code": "PGRST001", "message": "Database client error", "details": None}),
            "answered 503 PGRST001: Database client error",
        ),
        ("auth", "/auth/v1/health", httpx.Response(200, text="<html>"), "answered 200: <html>"),
    ],
)
async def test_probe_judges_the_services_own_unhealthy_answers(
    service: ServiceName, path: str, response: httpx.Response, detail: str
) -> None:
    with respx.mock(base_url=BASE_URL) as router:
        router.get(path).mock(return_value=response)
        async with gateway_for(httpx.AsyncHTTPTransport()) as gateway:
            result = await gateway.probe(service)

    assert (result.ok, result.detail) == (False, detail)


async def test_probe_refuses_an_unknown_service_name() -> None:
    async with gateway_for(stack()) as gateway:
        with pytest.raises(InputError) as caught:
            await gateway.probe("studio")  # type: ignore[arg-type]

    assert caught.value.field == "service"
