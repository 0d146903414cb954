"""What the health tests share: a FakeDokploy Supabase stack probed through a KongDouble, its containers as
``monitoring.containers`` reports them, and fake TLS and database checks."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from pydantic import SecretStr

from dokploy_mcp.errors import DokployMCPError
from dokploy_mcp.kong.gateway import KongGateway
from dokploy_mcp.monitoring.health import stack_health
from dokploy_mcp.monitoring.health_report import HealthProblem, StackHealth
from dokploy_mcp.monitoring.tls import CertificateReport
from dokploy_mcp.supabase.stack import StackRef, SupabaseStack, load_stack
from tests.fake_dokploy import FakeDokploy
from tests.supabase.kong_double import KongDouble

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
