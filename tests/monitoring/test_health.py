"""stack_health on a FakeDokploy stack, probed through a KongDouble, with fake or real TLS and database checks."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from pydantic import SecretStr

from dokploy_mcp.errors import DokployMCPError, NextStep
from dokploy_mcp.kong.gateway import KongGateway
from dokploy_mcp.monitoring.health import (
    PLAIN_COMPOSE_RULE,
    PROBED_SERVICES,
    VERDICT_RULE,
    HealthProblem,
    StackHealth,
    as_plain_compose,
    stack_health,
)
from dokploy_mcp.monitoring.tls import CertificateReport, check_certificate
from dokploy_mcp.supabase.stack import StackNotFoundError, StackRef, SupabaseStack, load_stack
from tests.fake_dokploy import FakeDokploy
from tests.monitoring.test_tls import Cert, tls_server
from tests.supabase.kong_double import KongDouble

pytestmark = pytest.mark.anyio

HTTPS_DOMAIN = {
    "host": "api.shop.test",
    "https": True,
    "serviceName": "kong",
    "port": 8000,
    "certificateType": "letsencrypt",
}


@dataclass(frozen=True)
class Box:
    """A container as monitoring.containers reports one."""

    service: str
    container_id: str
    name: str
    state: str
    status: str
    replica: int
    uptime_s: float | None


@dataclass(frozen=True)
class Connected:
    """What the connect tool answers (the fields stack_health reads)."""

    ok: bool
    route: str
    latency_ms: float | None
    problem: str | None
    error: DokployMCPError | None = None


@dataclass
class Setup:
    fake: FakeDokploy
    stack: SupabaseStack
    double: KongDouble

    @property
    def address(self) -> str:
        return self.stack.ref.address

    def containers(self, states: Mapping[str, str] | None = None, drop: Collection[str] = ()) -> list[Box]:
        """The fake's containers of the stack; ``states`` overrides a service's Docker state, ``drop`` removes it."""
        running = self.fake.running[self.stack.compose.app_name]
        boxes = []
        for service, container_id in running["services"].items():
            if service in drop:
                continue
            state = (states or {}).get(service, running["state"])
            boxes.append(
                Box(
                    service=service,
                    container_id=container_id,
                    name=f"{self.stack.compose.app_name}-{service}-1",
                    state=state,
                    status="Up 2 hours (healthy)" if state == "running" else "Exited (1) 3 minutes ago",
                    replica=1,
                    uptime_s=7200.0 if state == "running" else None,
                )
            )
        return boxes

    def gateway(self, transport: httpx.AsyncBaseTransport | None = None, **keys: str) -> KongGateway:
        url = self.stack.public_url
        assert url is not None
        return KongGateway(
            url,
            anon_key=SecretStr(keys.get("anon", self.stack.get("ANON_KEY") or "")),
            service_role_key=SecretStr(keys.get("service_role", self.stack.get("SERVICE_ROLE_KEY") or "")),
            transport=transport or self.double.transport(),
        )


@asynccontextmanager
async def setup(
    *,
    domains: list[dict[str, Any]] | None = None,
    down_services: Collection[str] | Mapping[str, int] = (),
    deployed: bool = True,
) -> AsyncIterator[Setup]:
    fake = FakeDokploy(deploy_polls=0)
    compose = fake.add_supabase_stack(domains=[HTTPS_DOMAIN] if domains is None else domains, deployed=deployed)
    async with fake.client() as client:
        ref = StackRef("main", compose["composeId"], "shop", "production", compose["name"])
        stack = await load_stack(ref, client)
    jwt_secret, anon, service = (stack.get(key) for key in ("JWT_SECRET", "ANON_KEY", "SERVICE_ROLE_KEY"))
    assert jwt_secret and anon and service
    yield Setup(fake, stack, KongDouble(jwt_secret, anon, service, down_services=down_services))


def valid_tls(days_left: int = 60) -> Callable[[str, int], Awaitable[CertificateReport]]:
    async def check(host: str, port: int) -> CertificateReport:
        now = datetime.now(UTC)
        return CertificateReport(
            host=host,
            port=port,
            reachable=True,
            valid=True,
            issuer="CN=R11,O=Let's Encrypt,C=US",
            subject=f"CN={host}",
            names=[host],
            not_before=now - timedelta(days=30),
            not_after=now + timedelta(days=days_left, hours=1),
            days_left=days_left,
        )

    return check


def database_ok() -> Callable[[], Awaitable[Connected]]:
    async def check() -> Connected:
        return Connected(ok=True, route="pg-meta via kong", latency_ms=12.345, problem=None)

    return check


def codes(health: StackHealth) -> list[str]:
    return [problem.code for problem in health.problems]


def problem(health: StackHealth, code: str, service: str | None = None) -> HealthProblem:
    found = [p for p in health.problems if p.code == code and (service is None or p.service == service)]
    assert len(found) == 1, health.problems
    return found[0]


async def check(s: Setup, containers: list[Box] | None = None, **kwargs: Any) -> StackHealth:
    options: dict[str, Any] = {"database_check": database_ok(), "tls_check": valid_tls()}
    options.update(kwargs)
    if "gateway" in options:
        return await stack_health(s.stack, s.containers() if containers is None else containers, **options)
    async with s.gateway() as gateway:
        return await stack_health(
            s.stack, s.containers() if containers is None else containers, gateway=gateway, **options
        )


# -- healthy ----------------------------------------------------------------------------------------------------------


async def test_a_deployed_stack_whose_checks_all_pass_is_healthy() -> None:
    async with setup() as s:
        health = await check(s)
    assert health.verdict == "healthy", health.problems
    assert health.problems == []
    assert health.rule == VERDICT_RULE
    assert health.stack == s.address
    assert health.path == "shop/production/supabase"
    assert health.public_url == "https://api.shop.test"
    assert health.timed_out == []
    by_name = {service.service: service for service in health.services}
    assert [service.service for service in health.services[:8]] == ["kong", "db", *PROBED_SERVICES]
    assert set(by_name) == set(s.stack.services)
    assert all(
        service.state == "running" and service.running == service.containers == 1 for service in by_name.values()
    )
    assert by_name["kong"].uptime_s == 7200.0
    assert by_name["kong"].health == "healthy"
    assert by_name["kong"].probe is None
    for service in PROBED_SERVICES:
        probe = by_name[service].probe
        assert probe is not None
        assert probe.ok, probe
        assert probe.latency_ms is not None
    assert by_name["realtime"].probe is not None and "healthy" in by_name["realtime"].probe.detail
    # Every probe really went through kong, with the stack's own keys.
    assert len(s.double.upstream_calls) == len(PROBED_SERVICES)
    assert health.last_deployment is not None
    assert health.last_deployment.status == "done"
    assert health.tls is not None
    assert health.tls.host == "api.shop.test"
    assert health.tls.port == 443
    assert health.database is not None
    assert health.database.ok
    assert health.database.latency_ms == 12.3
    assert health.duration_ms >= 0


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


# -- containers -------------------------------------------------------------------------------------------------------


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


# -- probes -----------------------------------------------------------------------------------------------------------


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


# -- the budget -------------------------------------------------------------------------------------------------------


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


# -- TLS --------------------------------------------------------------------------------------------------------------


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


async def test_the_real_tls_check_against_a_self_signed_server(tmp_path: Path) -> None:
    cert = Cert(tmp_path, common_name="TRAEFIK DEFAULT CERT", dns=["localhost"], ips=[])
    async with setup(domains=[{**HTTPS_DOMAIN, "host": "localhost"}]) as s, tls_server(cert) as port:

        async def tls_check(host: str, _: int) -> CertificateReport:
            # The domain's host, on the local server's port.
            return await check_certificate(host, port, timeout=3)

        health = await check(s, tls_check=tls_check)
    assert health.tls is not None
    assert health.tls.host == "localhost"
    assert health.tls.reachable
    assert not health.tls.valid
    assert health.tls.issuer == "CN=TRAEFIK DEFAULT CERT"
    assert health.verdict == "degraded"
    invalid = problem(health, "tls_invalid")
    assert "self-signed certificate" in invalid.message
    assert "Traefik's default certificate" in invalid.message


# -- database and deployment ------------------------------------------------------------------------------------------


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


async def test_a_database_error_is_kept_for_the_tool_layer_to_word() -> None:
    gone = StackNotFoundError("compose abc no longer exists")

    async def raising() -> Connected:
        raise gone

    async def failed() -> Connected:
        return Connected(ok=False, route="direct", latency_ms=None, problem=None, error=gone)

    async with setup() as s:
        reports = [await check(s, database_check=raising), await check(s, database_check=failed)]
    for health in reports:
        health.explain_errors(lambda exc: f"worded: {exc}")
        assert health.database is not None
        assert health.database.problem == "worded: compose abc no longer exists"
        expected = "the database check failed: worded: compose abc no longer exists"
        assert problem(health, "database_unreachable").message == expected
        assert "error" not in health.model_dump()["database"]


async def test_a_plain_compose_keeps_only_the_problems_that_apply_to_it() -> None:
    async with setup() as s:
        health = await check(s, gateway=None, database_check=None)
    assert codes(health) == ["probes_not_run"] and health.verdict == "degraded"
    plain = as_plain_compose(health)
    assert plain.rule == PLAIN_COMPOSE_RULE
    assert not {"probes_not_run", "no_https"} & set(codes(plain))
    assert plain.verdict == "healthy"


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


# -- start-up cost ----------------------------------------------------------------------------------------------------


def test_importing_the_result_models_pulls_in_no_http_or_crypto_library() -> None:
    code = (
        "import sys; import dokploy_mcp.monitoring.health, dokploy_mcp.monitoring.tls; "
        "print(sorted(m for m in ('httpx', 'cryptography', 'yaml', 'psycopg') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
