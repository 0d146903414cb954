"""The checks a health check runs concurrently: each under its own timeout, all within the budget."""

from __future__ import annotations

import anyio
import httpx
import pytest

from dokploy_mcp.errors import NextStep
from dokploy_mcp.monitoring.health_report import PROBED_SERVICES
from dokploy_mcp.monitoring.tls import CertificateReport
from tests.monitoring.health_setup import Connected, check, problem, setup
from tests.supabase.kong_double import KongDouble

pytestmark = pytest.mark.anyio


def slow(double: KongDouble, prefix: str, seconds: float = 30.0) -> httpx.MockTransport:
    async def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith(prefix):
            await anyio.sleep(seconds)
        return double(request)

    return httpx.MockTransport(handle)


async def test_a_slow_probe_is_reported_timed_out_when_the_budget_runs_out() -> None:
    async def slow_database() -> Connected:
        await anyio.sleep(30)
        raise AssertionError("never reached")

    async with setup() as s, s.gateway(slow(s.double, "/storage/")) as gateway:
        started = anyio.current_time()
        health = await check(s, gateway=gateway, database_check=slow_database, budget_s=1.0)
        elapsed = anyio.current_time() - started
    # A behaviour test of the budget (1 s), with a generous bound, not a performance assertion.
    assert elapsed < 3
    assert health.timed_out == ["database", "probe:storage"]
    storage = next(service for service in health.services if service.service == "storage")
    assert storage.probe is not None
    assert storage.probe.timed_out
    assert storage.probe.detail == "timed out: the health check's 1 s budget ran out first"
    assert health.database is not None
    assert health.database.timed_out
    assert health.verdict == "degraded"
    assert {p.code for p in health.problems} == {"probe_failed", "database_unreachable"}
    # The other probes answered in time.
    ok = [service.service for service in health.services if service.probe is not None and service.probe.ok]
    assert sorted(ok) == sorted(set(PROBED_SERVICES) - {"storage"})


async def test_each_probe_has_its_own_timeout_inside_the_budget() -> None:
    async def slow_tls(host: str, port: int) -> CertificateReport:
        await anyio.sleep(30)
        raise AssertionError("never reached")

    async with setup() as s, s.gateway(slow(s.double, "/pg/")) as gateway:
        started = anyio.current_time()
        health = await check(s, gateway=gateway, tls_check=slow_tls, probe_timeout_s=0.2, budget_s=10)
        elapsed = anyio.current_time() - started
    assert elapsed < 3
    assert health.timed_out == ["probe:meta", "tls"]
    meta = next(service for service in health.services if service.service == "meta")
    assert meta.probe is not None
    assert meta.probe.detail == "timed out: no answer within 0.2 s"
    assert health.tls is not None
    assert health.tls.problem == "timed out: no TLS handshake within 0.2 s"
    assert {p.code for p in health.problems} == {"probe_failed", "tls_unreachable"}
    assert problem(health, "probe_failed").next_step == NextStep(
        tool="dokploy_get_logs", arguments={"stack": s.address, "service": "meta"}
    )
