"""services.health on a FakeDokploy: a Supabase stack vs a plain compose, the fan-out, and errors left unworded."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from dokploy_mcp.config import DokployServerConfig, load_settings
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.explain import explain
from dokploy_mcp.kong.gateway import KongGateway
from dokploy_mcp.monitoring.health_verdict import PLAIN_COMPOSE_RULE, VERDICT_RULE
from dokploy_mcp.runtime import Runtime
from dokploy_mcp.services import health
from dokploy_mcp.services.database import ConnectReport
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.errors import StackNotFoundError
from tests.fake_dokploy import SERVERS, FakeDokploy
from tests.supabase.kong_double import KongDouble

pytestmark = pytest.mark.anyio


@pytest.fixture
async def rt(fake: FakeDokploy, stack: dict[str, Any]) -> AsyncIterator[Runtime]:
    env = EnvFile.parse(stack["env"])
    double = KongDouble(env.get("JWT_SECRET") or "", env.get("ANON_KEY") or "", env.get("SERVICE_ROLE_KEY") or "")

    def client_factory(config: DokployServerConfig, timeout: float) -> DokployClient:
        return fake.client(name=config.name, timeout=timeout)

    def gateway(url: str, anon: SecretStr, service: SecretStr) -> KongGateway:
        return KongGateway(url, anon_key=anon, service_role_key=service, transport=double.transport())

    async with Runtime(load_settings(), SERVERS, client_factory=client_factory, gateway_factory=gateway) as runtime:
        yield runtime


def reachable(monkeypatch: pytest.MonkeyPatch) -> None:
    """The database answers (the KongDouble has no pg-meta behind it)."""

    async def probe(rt: Runtime, target: str | None) -> ConnectReport:
        return ConnectReport(ok=True, route="pg-meta via kong", target=target or "", latency_ms=3.0)

    monkeypatch.setattr(health, "probe_database", probe)


async def test_a_supabase_stack_gets_the_full_check(
    rt: Runtime, stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    reachable(monkeypatch)
    report = await health.stack_health_of(rt, "shop/supabase")
    assert report.rule == VERDICT_RULE
    assert report.database is not None and report.database.ok
    assert all(s.probe.ok for s in report.services if s.probe is not None)
    assert {p.code for p in report.problems} == {"no_https"}


async def test_a_plain_compose_is_judged_on_its_containers_only(rt: Runtime, fake: FakeDokploy) -> None:
    fake.add_compose("shop", "worker", "services:\n  worker:\n    image: busybox\n")
    report = await health.stack_health_of(rt, "shop/worker")
    assert report.rule == PLAIN_COMPOSE_RULE
    assert report.database is None and report.tls is None
    assert not {"probes_not_run", "no_https"} & {p.code for p in report.problems}
    assert report.verdict == "down"  # never deployed: no container runs


async def test_a_database_error_is_carried_to_the_tool_layer_unworded(
    rt: Runtime, stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = StackNotFoundError("compose abc of shop/production/supabase no longer exists")

    async def probe(rt: Runtime, target: str | None) -> ConnectReport:
        raise gone

    monkeypatch.setattr(health, "probe_database", probe)
    report = await health.stack_health_of(rt, "shop/supabase")
    assert report.database is not None and not report.database.ok
    report.explain_errors(explain)
    assert report.database.problem == explain(gone)
    [problem] = [p for p in report.problems if p.code == "database_unreachable"]
    assert problem.message == f"the database check failed: {explain(gone)}"


async def test_every_stack_is_checked_and_one_that_fails_is_listed_with_its_error(
    rt: Runtime, fake: FakeDokploy, stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    reachable(monkeypatch)
    broken = fake.add_supabase_stack("shop", "broken", deployed=True)
    from dokploy_mcp.services.stacks import open_compose as opened

    refused = StackNotFoundError("gone")

    async def open_compose(rt: Runtime, address: str) -> Any:
        if address.endswith(broken["composeId"]):
            raise refused
        return await opened(rt, address)

    monkeypatch.setattr(health, "open_compose", open_compose)
    overview = await health.all_stacks_health(rt)
    assert [r.stack for r in overview.stacks] == [f"default:{stack['composeId']}"]
    assert overview.failed == [(f"default:{broken['composeId']}", refused)]
    assert overview.servers_failed == []
    assert overview.verdict == overview.stacks[0].verdict


def test_no_stack_checked_means_healthy() -> None:
    assert health.HealthOverview(stacks=[]).verdict == "healthy"
