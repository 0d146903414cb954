"""The verdict of a stack's health and its problems: severity and next step, from the containers, the probes,
the TLS certificate, the database and the last deployment."""

from __future__ import annotations

import httpx
import pytest

from dokploy_mcp.errors import NextStep
from dokploy_mcp.monitoring.health import stack_health
from dokploy_mcp.monitoring.health_report import PROBED_SERVICES
from dokploy_mcp.monitoring.tls import CertificateReport
from dokploy_mcp.supabase.stack import SupabaseStack
from tests.monitoring.health_setup import (
    HTTPS_DOMAIN,
    Box,
    Connected,
    check,
    codes,
    database_ok,
    problem,
    setup,
    valid_tls,
)

pytestmark = pytest.mark.anyio


async def test_a_plain_http_domain_is_a_warning_with_the_https_switch_as_next_step() -> None:
    async with setup(domains=[{**HTTPS_DOMAIN, "https": False, "certificateType": "none"}]) as s:
        tls_calls: list[tuple[str, int]] = []

        async def tls_check(host: str, port: int) -> CertificateReport:
            tls_calls.append((host, port))
            raise AssertionError("an http domain has no certificate to check")

        health = await check(s, tls_check=tls_check)
    assert tls_calls == []
    assert health.tls is None
    assert health.verdict == "healthy"
    found = problem(health, "no_https")
    assert found.severity == "warning"
    assert found.next_step == NextStep(
        tool="manage_domain", arguments={"stack": s.address, "action": "update", "https": True}
    )


# -- containers ----------------------------------------------------------------------------------------------------


async def test_a_stopped_service_makes_the_stack_degraded_with_its_logs_as_next_step() -> None:
    async with setup(down_services=["storage"]) as s:
        health = await check(s, s.containers({"storage": "exited"}))
    assert health.verdict == "degraded"
    storage = next(service for service in health.services if service.service == "storage")
    assert storage.state == "exited"
    assert storage.running == 0
    assert storage.uptime_s is None
    assert storage.probe is not None
    assert not storage.probe.ok
    assert storage.probe.status == 503
    stopped = problem(health, "container_not_running", "storage")
    assert stopped.severity == "degraded"
    assert "exited" in stopped.message
    logs = NextStep(tool="dokploy_get_logs", arguments={"stack": s.address, "service": "storage"})
    assert stopped.next_step == logs
    failed = problem(health, "probe_failed", "storage")
    assert failed.severity == "degraded"
    assert failed.next_step == logs
    assert "503" in failed.message


async def test_a_stopped_service_that_is_not_probed_still_degrades_the_stack() -> None:
    async with setup() as s:
        health = await check(s, s.containers({"imgproxy": "restarting"}))
    assert health.verdict == "degraded"
    assert codes(health) == ["container_not_running"]
    assert problem(health, "container_not_running").next_step == NextStep(
        tool="dokploy_get_logs", arguments={"stack": s.address, "service": "imgproxy"}
    )


async def test_kong_down_makes_the_stack_down() -> None:
    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    async with setup() as s, s.gateway(httpx.MockTransport(refused)) as gateway:
        health = await check(s, s.containers({"kong": "exited"}), gateway=gateway)
    assert health.verdict == "down"
    kong = problem(health, "container_not_running", "kong")
    assert kong.severity == "down"
    assert kong.next_step == NextStep(tool="dokploy_get_logs", arguments={"stack": s.address, "service": "kong"})
    everything = problem(health, "all_probes_failed")
    assert everything.severity == "down"
    assert "Connection refused" in everything.message
    # The summary replaces one problem per probe.
    assert "probe_failed" not in codes(health)
    assert health.problems[0].severity == "down"


async def test_the_db_container_stopped_makes_the_stack_down() -> None:
    async with setup() as s:
        health = await check(s, s.containers({"db": "exited"}))
    assert health.verdict == "down"
    assert problem(health, "container_not_running", "db").severity == "down"


async def test_a_missing_kong_container_makes_the_stack_down_with_the_config_check_as_next_step() -> None:
    async with setup() as s:
        health = await check(s, s.containers(drop={"kong"}))
    assert health.verdict == "down"
    missing = problem(health, "container_missing", "kong")
    assert missing.severity == "down"
    assert missing.next_step == NextStep(tool="dokploy_validate_config", arguments={"stack": s.address})
    kong = next(service for service in health.services if service.service == "kong")
    assert (kong.state, kong.containers, kong.running) == ("missing", 0, 0)


async def test_a_stack_whose_containers_all_stopped_is_down_with_one_problem() -> None:
    async with setup(down_services=list(PROBED_SERVICES)) as s:
        health = await check(s, s.containers(dict.fromkeys(s.stack.services, "exited")))
    assert health.verdict == "down"
    assert codes(health) == ["nothing_running", "all_probes_failed"]
    assert problem(health, "nothing_running").next_step == NextStep(
        tool="aggregate_logs", arguments={"stack": s.address}
    )


async def test_a_stack_without_containers_is_down() -> None:
    async with setup() as s:
        health = await check(s, [])
    assert health.verdict == "down"
    assert problem(health, "no_containers").severity == "down"
    assert all(service.state == "missing" for service in health.services)


async def test_unknown_container_states_make_the_stack_degraded_not_healthy() -> None:
    async with setup() as s, s.gateway() as gateway:
        health = await stack_health(s.stack, None, gateway=gateway, database_check=database_ok(), tls_check=valid_tls())
    assert health.verdict == "degraded"
    assert codes(health) == ["containers_unknown"]
    assert all(service.state == "unknown" for service in health.services)


async def test_docker_reporting_a_container_unhealthy_is_a_warning() -> None:
    async with setup() as s:
        boxes = [
            Box(**{**vars(box), "status": "Up 5 minutes (unhealthy)"}) if box.service == "analytics" else box
            for box in s.containers()
        ]
        health = await check(s, boxes)
    assert health.verdict == "healthy"
    unhealthy = problem(health, "container_unhealthy", "analytics")
    assert unhealthy.severity == "warning"


# -- probes --------------------------------------------------------------------------------------------------------


async def test_every_probe_failing_makes_the_stack_down_even_with_running_containers() -> None:
    async with setup(down_services=dict.fromkeys(PROBED_SERVICES, 502)) as s:
        health = await check(s)
    assert health.verdict == "down"
    assert codes(health) == ["all_probes_failed"]
    everything = problem(health, "all_probes_failed")
    assert everything.next_step == NextStep(tool="dokploy_get_logs", arguments={"stack": s.address, "service": "kong"})
    for service in health.services:
        if service.service in PROBED_SERVICES:
            assert service.probe is not None
            assert (service.probe.ok, service.probe.status) == (False, 502)


async def test_a_key_kong_does_not_know_points_to_the_config_check() -> None:
    async with setup() as s, s.gateway(anon="not-the-deployed-anon-key") as gateway:
        health = await check(s, gateway=gateway)
    assert health.verdict == "degraded"
    # auth, rest and realtime need the anon key; storage, functions and pg-meta (service_role) still answer.
    failed = {p.service for p in health.problems if p.code == "probe_failed"}
    assert failed == {"auth", "rest", "realtime"}
    for found in health.problems:
        assert found.next_step == NextStep(tool="dokploy_validate_config", arguments={"stack": s.address})
        assert "401" in found.message


async def test_no_kong_domain_means_no_probes_and_a_domain_to_add() -> None:
    async with setup(domains=[]) as s:
        health = await stack_health(s.stack, s.containers(), gateway=None, database_check=None, tls_check=valid_tls())
    assert health.public_url is None
    assert health.tls is None
    assert health.database is None
    assert health.verdict == "degraded"
    skipped = problem(health, "probes_not_run")
    assert skipped.next_step == NextStep(
        tool="manage_domain",
        arguments={"stack": s.address, "action": "add", "host": "api.example.com", "https": True},
        placeholders=["host"],
    )
    assert all(service.probe is None for service in health.services)


# -- TLS -----------------------------------------------------------------------------------------------------------


async def test_a_certificate_expiring_within_14_days_makes_the_stack_degraded() -> None:
    async with setup() as s:
        soon = await check(s, tls_check=valid_tls(days_left=9))
        later = await check(s, tls_check=valid_tls(days_left=15))
    assert later.verdict == "healthy"
    assert soon.verdict == "degraded"
    expiring = problem(soon, "tls_expiring")
    assert "9 days" in expiring.message
    # The domain asks Let's Encrypt already: renewal is failing, so its configuration is what to check.
    assert expiring.next_step == NextStep(tool="dokploy_validate_config", arguments={"stack": s.address})


async def test_an_https_domain_without_lets_encrypt_gets_the_https_switch_for_a_bad_certificate() -> None:
    async def self_signed(host: str, port: int) -> CertificateReport:
        return CertificateReport(
            host=host, port=port, reachable=True, valid=False, problem="certificate verification failed: x"
        )

    async with setup(domains=[{**HTTPS_DOMAIN, "certificateType": "none"}]) as s:
        health = await check(s, tls_check=self_signed)
    assert health.verdict == "degraded"
    assert problem(health, "tls_invalid").next_step == NextStep(
        tool="manage_domain", arguments={"stack": s.address, "action": "update", "https": True}
    )


# -- database and deployment ---------------------------------------------------------------------------------------


async def test_a_failing_database_check_degrades_the_stack_with_connect_as_next_step() -> None:
    async def refused() -> Connected:
        return Connected(ok=False, route="pg-meta via kong", latency_ms=None, problem="password authentication failed")

    async def broken() -> Connected:
        raise RuntimeError("pool closed")

    async with setup() as s:
        failed = await check(s, database_check=refused)
        raised = await check(s, database_check=broken)
    for health in (failed, raised):
        assert health.verdict == "degraded"
        found = problem(health, "database_unreachable")
        assert found.next_step == NextStep(tool="connect", arguments={"target": s.address})
    assert failed.database is not None
    assert failed.database.route == "pg-meta via kong"
    assert "password authentication failed" in problem(failed, "database_unreachable").message
    assert raised.database is not None
    assert raised.database.problem == "RuntimeError: pool closed"


async def test_a_last_deployment_in_error_degrades_the_stack() -> None:
    async with setup() as s:
        last = s.stack.last_deployment
        assert last is not None
        failed = s.stack.compose.model_copy(
            update={
                "deployments": [
                    *s.stack.compose.deployments[:-1],
                    last.model_copy(update={"status": "error", "error_message": "image not found"}),
                ]
            }
        )
        s.stack = SupabaseStack(s.stack.ref, failed, s.stack.env, s.stack.services)
        health = await check(s)
    assert health.verdict == "degraded"
    assert health.last_deployment is not None
    assert health.last_deployment.status == "error"
    found = problem(health, "deployment_failed")
    assert "image not found" in found.message
    assert found.next_step == NextStep(tool="dokploy_validate_config", arguments={"stack": s.address})
