"""The facts a stack's health check gathers: the probes through kong, the TLS check and the database check, run
concurrently under their timeouts (:class:`HealthChecks`), and each service's containers as the report lists them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, TypeVar
from urllib.parse import urlsplit

import anyio

from dokploy_mcp.monitoring.health_inputs import ContainerView, DatabaseCheck, StackView, TlsCheck
from dokploy_mcp.monitoring.health_report import (
    CORE_SERVICES,
    PROBED_SERVICES,
    DatabaseHealth,
    DeploymentView,
    ProbeView,
    ServiceHealth,
)
from dokploy_mcp.monitoring.tls import CertificateReport

if TYPE_CHECKING:
    from dokploy_mcp.dokploy.models import Deployment
    from dokploy_mcp.kong.gateway import KongGateway
    from dokploy_mcp.kong.probes import ProbeResult, ServiceName

__all__ = ["HealthChecks", "deployment_view", "service_rows", "tls_target"]

_T = TypeVar("_T")

_DOCKER_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")
_HEALTH_ORDER = {"unhealthy": 0, "starting": 1, "healthy": 2}


async def _answer_within(
    seconds: float, check: Callable[[], Awaitable[_T]], failed: Callable[[Exception], _T]
) -> _T | None:
    """What ``check`` answers within ``seconds`` (``failed`` of what it raised), None when it did not answer
    in time. A cancellation from outside (the whole budget running out) goes through."""
    with anyio.move_on_after(seconds):
        try:
            return await check()
        except Exception as exc:
            return failed(exc)
    return None


class HealthChecks:
    """The probes, the TLS check and the database check of one stack, run concurrently, each under its own timeout;
    what did not answer in time is reported as timed out, with the reason (its own timeout or the whole budget)."""

    def __init__(
        self,
        gateway: KongGateway | None,
        database_check: DatabaseCheck | None,
        tls_check: TlsCheck,
        probe_timeout_s: float,
        database_timeout_s: float,
    ) -> None:
        self.gateway = gateway
        self.database_check = database_check
        self.tls_check = tls_check
        self.probe_timeout_s = probe_timeout_s
        self.database_timeout_s = database_timeout_s
        self.probes: dict[str, ProbeView] = {}
        self.certificate: CertificateReport | None = None
        self.database: DatabaseHealth | None = None
        self.timed_out: list[str] = []

    async def run(self, probed: list[ServiceName], tls_target: tuple[str, int] | None, budget_s: float) -> None:
        with anyio.move_on_after(budget_s):
            async with anyio.create_task_group() as group:
                for service in probed:
                    group.start_soon(self.probe, service)
                if tls_target is not None:
                    group.start_soon(self.tls, *tls_target)
                if self.database_check is not None:
                    group.start_soon(self.check_database)
        # Whatever the budget cut short.
        budget_note = f"timed out: the health check's {budget_s:g} s budget ran out first"
        for service in probed:
            if service not in self.probes:
                self._probe_timed_out(service, budget_note)
        if tls_target is not None and self.certificate is None:
            self._tls_timed_out(*tls_target, budget_note)
        if self.database_check is not None and self.database is None:
            self._database_timed_out(budget_note)

    async def probe(self, service: ServiceName) -> None:
        gateway = self.gateway
        assert gateway is not None
        timeout = self.probe_timeout_s

        async def answer() -> ProbeView:
            return _probe_view(await gateway.probe(service))

        view = await _answer_within(timeout, answer, lambda exc: _probe_failure(f"probe failed: {exc}"))
        if view is None:
            self._probe_timed_out(service, f"timed out: no answer within {timeout:g} s")
        else:
            self.probes[service] = view

    async def tls(self, host: str, port: int) -> None:
        timeout = self.probe_timeout_s
        report = await _answer_within(
            timeout,
            lambda: self.tls_check(host, port),
            lambda exc: _tls_failure(host, port, f"TLS check failed: {type(exc).__name__}: {exc}"),
        )
        if report is None:
            self._tls_timed_out(host, port, f"timed out: no TLS handshake within {timeout:g} s")
        else:
            self.certificate = report

    async def check_database(self) -> None:
        database_check = self.database_check
        assert database_check is not None
        timeout = self.database_timeout_s

        async def answer() -> DatabaseHealth:
            return DatabaseHealth.answered(await database_check())

        view = await _answer_within(timeout, answer, DatabaseHealth.raised)
        if view is None:
            self._database_timed_out(f"timed out: no answer within {timeout:g} s")
        else:
            self.database = view

    def _probe_timed_out(self, service: ServiceName, note: str) -> None:
        self.timed_out.append(f"probe:{service}")
        self.probes[service] = _probe_failure(note, timed_out=True)

    def _tls_timed_out(self, host: str, port: int, note: str) -> None:
        self.timed_out.append("tls")
        self.certificate = _tls_failure(host, port, note)

    def _database_timed_out(self, note: str) -> None:
        self.timed_out.append("database")
        self.database = DatabaseHealth(ok=False, problem=note, timed_out=True)


def _probe_view(result: ProbeResult) -> ProbeView:
    return ProbeView(ok=result.ok, status=result.status, latency_ms=round(result.latency_ms, 1), detail=result.detail)


def _probe_failure(detail: str, *, timed_out: bool = False) -> ProbeView:
    return ProbeView(ok=False, status=None, latency_ms=None, detail=detail, timed_out=timed_out)


def _tls_failure(host: str, port: int, problem: str) -> CertificateReport:
    return CertificateReport(host=host, port=port, reachable=False, valid=False, problem=problem)


def tls_target(stack: StackView) -> tuple[str, int] | None:
    """Host and port of the public https URL, or None when the stack is not served over https."""
    url = stack.public_url
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    return parts.hostname, parts.port or 443


def deployment_view(deployment: Deployment | None) -> DeploymentView | None:
    if deployment is None:
        return None
    return DeploymentView(
        id=deployment.deployment_id,
        status=deployment.status,
        title=deployment.title,
        created_at=deployment.created_at,
        finished_at=deployment.finished_at,
        error_message=deployment.error_message,
    )


def _docker_health(statuses: Sequence[str | None]) -> str | None:
    """The worst healthcheck verdict among Docker status texts (``Up 3 hours (unhealthy)``), None without one."""
    found = []
    for status in statuses:
        match = _DOCKER_HEALTH.search(status or "")
        if match:
            found.append("starting" if match.group(1) == "health: starting" else match.group(1))
    return min(found, key=_HEALTH_ORDER.__getitem__) if found else None


def _service_state(states: list[str], known: bool) -> str:
    """A service's state from its containers' Docker states (see :attr:`ServiceHealth.state`)."""
    running = states.count("running")
    if not known:
        return "unknown"
    if not states:
        return "missing"
    if running == len(states):
        return "running"
    if running:
        return "partial"
    stopped = [s for s in states if s != "running"]
    return max(set(stopped), key=stopped.count)


def service_rows(
    stack: StackView, containers: Sequence[ContainerView] | None, probes: dict[str, ProbeView]
) -> list[ServiceHealth]:
    """One row per service (compose services, and services of containers the compose does not name), core and
    probed services first; ``containers`` None means their states could not be read."""
    groups: dict[str, list[ContainerView]] = {service: [] for service in stack.services}
    for container in containers or ():
        if container.service:
            groups.setdefault(container.service, []).append(container)
    first = [*CORE_SERVICES, *PROBED_SERVICES]
    names = sorted(groups, key=lambda name: (first.index(name) if name in first else len(first), name))
    result = []
    for name in names:
        group = groups[name]
        states = [container.state or "unknown" for container in group]
        uptimes = [c.uptime_s for c in group if c.state == "running" and c.uptime_s is not None]
        result.append(
            ServiceHealth(
                service=name,
                containers=len(group),
                running=states.count("running"),
                state=_service_state(states, known=containers is not None),
                health=_docker_health([c.status for c in group]),
                uptime_s=min(uptimes) if uptimes else None,
                probe=probes.get(name),
            )
        )
    return result
