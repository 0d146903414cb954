"""One Supabase stack's health, as ``dokploy_monitor_health`` reports it (read-only).

:func:`stack_health` puts together what the stack really does:

* each compose service's containers (given by the caller: Docker's state, status text and uptime);
* the last deployment and how it ended;
* one HTTP probe per API service through the stack's kong gateway (:meth:`KongGateway.probe` defines "up" for each
  from the answer a healthy service gives);
* the TLS certificate the public domain serves, from a real handshake (:func:`check_certificate`);
* database reachability, through the caller's check (the database service's probe, as ``connect`` runs it).

The stack comes in as data (:class:`StackView`): loading it, choosing between a Supabase stack and a plain compose
(:func:`as_plain_compose`) and building its gateway are the health service's job (``services.health``). An error a
check raises is kept for the tool layer to put into words (:meth:`StackHealth.explain_errors`).

Probes, the TLS check and the database check run concurrently, each under its own timeout, and the whole call
returns within ``budget_s``: whatever has not finished by then is reported as timed out, not waited for.

The verdict follows :data:`VERDICT_RULE`, which the result quotes. Every problem carries its severity (the verdict it
implies on its own) and, when a tool of this server is the next step, that call with its arguments.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Literal, Protocol
from urllib.parse import urlsplit

from pydantic import BaseModel, Field, PrivateAttr

from dokploy_mcp.errors import DokployMCPError, NextStep
from dokploy_mcp.monitoring.tls import CertificateReport, check_certificate

if TYPE_CHECKING:
    from dokploy_mcp.dokploy.models import Deployment, Domain
    from dokploy_mcp.kong.gateway import KongGateway, ProbeResult, ServiceName

__all__ = [
    "CORE_SERVICES",
    "PLAIN_COMPOSE_RULE",
    "PROBED_SERVICES",
    "SUPABASE_ONLY_PROBLEMS",
    "TLS_WARNING_DAYS",
    "VERDICT_RULE",
    "ContainerView",
    "DatabaseHealth",
    "DatabaseView",
    "DeploymentView",
    "HealthProblem",
    "ProbeView",
    "ServiceHealth",
    "StackHealth",
    "StackRefView",
    "StackView",
    "as_plain_compose",
    "stack_health",
]

Verdict = Literal["healthy", "degraded", "down"]
#: What one problem does to the verdict on its own (warning: none). Not the severity scale of config findings.
Impact = Literal["down", "degraded", "warning"]

#: The API services probed through kong, in the order they are reported; each is also a compose service's name.
PROBED_SERVICES: tuple[ServiceName, ...] = ("auth", "rest", "storage", "realtime", "meta", "functions")
#: Without these two containers nothing of the stack works.
CORE_SERVICES = ("kong", "db")
#: A certificate that expires within this many days makes the stack degraded.
TLS_WARNING_DAYS = 14

VERDICT_RULE = (
    "down: the kong or the db service has no running container, no container of the stack runs, or every HTTP "
    "probe through kong failed or timed out. "
    "degraded (when not down): a service's containers are not all running (or a service has none), a probe failed "
    "or timed out, the last deployment ended in error, the public domain's TLS certificate is invalid, could not be "
    f"checked or expires within {TLS_WARNING_DAYS} days, the database check failed or timed out, or a check could "
    "not run (no kong domain or keys to probe with, container states unknown). "
    "healthy: none of these. A problem's severity is the verdict it implies on its own; 'warning' (plain http, a "
    "container Docker reports unhealthy, a deployment still running or cancelled, never deployed) changes no verdict."
)
#: Problems that only make sense for a Supabase stack (its API behind kong).
SUPABASE_ONLY_PROBLEMS = frozenset({"probes_not_run", "no_https"})
PLAIN_COMPOSE_RULE = (
    "not a Supabase stack: down when none of its containers runs; degraded when some service's containers are not "
    "all running or the last deployment failed; healthy otherwise"
)

_SEVERITY_ORDER = {"down": 0, "degraded": 1, "warning": 2}
_DOCKER_HEALTH = re.compile(r"\((healthy|unhealthy|health: starting)\)")
_HEALTH_ORDER = {"unhealthy": 0, "starting": 1, "healthy": 2}


# -- what the caller passes -------------------------------------------------------------------------------------------


class StackRefView(Protocol):
    """Where the stack is (``supabase.stack.StackRef`` fits): the address tools take, and its human path."""

    @property
    def address(self) -> str: ...

    @property
    def path(self) -> str: ...


class StackView(Protocol):
    """The stack checked (``supabase.stack.SupabaseStack`` fits): its compose services, kong domain and public URL,
    last deployment, and env values (the keys the probes need)."""

    @property
    def ref(self) -> StackRefView: ...

    @property
    def services(self) -> Sequence[str]: ...

    @property
    def kong_domain(self) -> Domain | None: ...

    @property
    def public_url(self) -> str | None: ...

    @property
    def last_deployment(self) -> Deployment | None: ...

    def get(self, key: str) -> str | None: ...


class ContainerView(Protocol):
    """A container of the stack (``monitoring.containers.ServiceContainer`` fits): its compose service, Docker's
    state (``running``, ``exited``...) and status text (``Up 2 hours (healthy)``), and seconds since it started."""

    @property
    def service(self) -> str | None: ...

    @property
    def name(self) -> str | None: ...

    @property
    def state(self) -> str | None: ...

    @property
    def status(self) -> str | None: ...

    @property
    def uptime_s(self) -> float | None: ...


class DatabaseView(Protocol):
    """What a database check answers (``services.database.ConnectReport`` fits): ``error`` is why it failed, for the
    tool layer to word into ``problem`` (see :meth:`StackHealth.explain_errors`)."""

    @property
    def ok(self) -> bool: ...

    @property
    def route(self) -> str | None: ...

    @property
    def latency_ms(self) -> float | None: ...

    @property
    def problem(self) -> str | None: ...

    @property
    def error(self) -> DokployMCPError | None: ...


TlsCheck = Callable[[str, int], Awaitable[CertificateReport]]
DatabaseCheck = Callable[[], Awaitable[DatabaseView]]


# -- the result -------------------------------------------------------------------------------------------------------


class ProbeView(BaseModel):
    ok: bool = Field(description="the service gave the answer a healthy service gives")
    status: int | None = Field(description="the HTTP status; null when no answer came back")
    latency_ms: float | None
    detail: str
    timed_out: bool = False


class ServiceHealth(BaseModel):
    service: str
    containers: int
    running: int
    state: str = Field(
        description="running (all containers), partial (some), missing (no container), unknown (states not "
        "given), or Docker's state of the stopped containers: exited, restarting, paused, created, dead"
    )
    health: str | None = Field(
        default=None, description="Docker's healthcheck verdict from the status text: healthy, unhealthy, starting"
    )
    uptime_s: float | None = Field(default=None, description="seconds since the most recently started container")
    probe: ProbeView | None = Field(default=None, description="the HTTP probe through kong (API services only)")


class HealthProblem(BaseModel):
    code: str
    severity: Impact = Field(description="the verdict this problem implies on its own; warning changes none")
    service: str | None = None
    message: str
    next_step: NextStep | None = Field(default=None, description="the tool call to make next")


class DeploymentView(BaseModel):
    id: str
    status: str | None = Field(description="running, done, error or cancelled")
    title: str | None = None
    created_at: str | None = None
    finished_at: str | None = None
    error_message: str | None = None


class DatabaseHealth(BaseModel):
    ok: bool
    route: str | None = None
    latency_ms: float | None = None
    problem: str | None = None
    timed_out: bool = False
    # The error the check raised, worded by the tool layer (explain runs at the boundary only): see explain_errors.
    _error: DokployMCPError | None = PrivateAttr(default=None)


class StackHealth(BaseModel):
    stack: str = Field(description="the stack's address")
    path: str
    public_url: str | None
    checked_at: datetime
    verdict: Verdict
    rule: str = Field(description="how the verdict follows from the checks")
    services: list[ServiceHealth]
    last_deployment: DeploymentView | None
    tls: CertificateReport | None = Field(description="null when the stack has no https domain")
    database: DatabaseHealth | None = Field(description="null when no database check was asked for")
    problems: list[HealthProblem] = Field(description="worst first")
    timed_out: list[str] = Field(description="checks that did not finish in time: probe:<service>, tls, database")
    duration_ms: float

    def explain_errors(self, explain: Callable[[DokployMCPError], str]) -> None:
        """Put the errors the checks raised into words with the tool layer's ``explain`` (domain code never does)."""
        database = self.database
        if database is None or database._error is None:
            return
        database.problem = explain(database._error)
        for problem in self.problems:
            if problem.code == "database_unreachable":
                problem.message = _database_message(database.problem)


# -- the check --------------------------------------------------------------------------------------------------------


async def stack_health(
    stack: StackView,
    containers: Sequence[ContainerView] | None,
    *,
    gateway: KongGateway | None,
    database_check: DatabaseCheck | None,
    tls_check: TlsCheck = check_certificate,
    budget_s: float = 15.0,
    probe_timeout_s: float = 5.0,
    database_timeout_s: float = 10.0,
) -> StackHealth:
    """Check ``stack`` (see the module docstring). Never raises for a broken stack: every failure is a problem.

    ``containers`` are the stack's containers (None: their states could not be read). ``gateway`` is the stack's
    kong gateway, or None when it has no kong domain or no keys; the caller owns (and closes) it. ``database_check``
    runs the ``connect`` probe (None: not checked). Each probe and the TLS check stop after ``probe_timeout_s``, the
    database check after ``database_timeout_s``, everything after ``budget_s``.
    """
    started = time.perf_counter()
    checked_at = datetime.now(UTC)
    address = stack.ref.address
    declared = set(stack.services)
    probed = [service for service in PROBED_SERVICES if not declared or service in declared]
    checks = _Checks(gateway, database_check, tls_check, probe_timeout_s, database_timeout_s)
    await checks.run(probed if gateway is not None else [], _tls_target(stack), budget_s)

    services = _services(stack, containers, checks.probes)
    last_deployment = _deployment_view(stack.last_deployment)
    assess = _Assessment(address, stack, gateway is not None)
    assess.containers(containers, services, last_deployment)
    assess.probes(probed, checks.probes)
    assess.tls(checks.certificate)
    assess.database(checks.database)
    assess.deployment(last_deployment)
    problems = sorted(assess.problems, key=lambda problem: _SEVERITY_ORDER[problem.severity])
    return StackHealth(
        stack=address,
        path=stack.ref.path,
        public_url=stack.public_url,
        checked_at=checked_at,
        verdict=_verdict(problems),
        rule=VERDICT_RULE,
        services=services,
        last_deployment=last_deployment,
        tls=checks.certificate,
        database=checks.database,
        problems=problems,
        timed_out=sorted(set(checks.timed_out)),
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
    )


class _Checks:
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
        import anyio

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
                self.timed_out.append(f"probe:{service}")
                self.probes[service] = ProbeView(
                    ok=False, status=None, latency_ms=None, detail=budget_note, timed_out=True
                )
        if tls_target is not None and self.certificate is None:
            self.timed_out.append("tls")
            self.certificate = _tls_failure(*tls_target, budget_note)
        if self.database_check is not None and self.database is None:
            self.timed_out.append("database")
            self.database = DatabaseHealth(ok=False, problem=budget_note, timed_out=True)

    async def probe(self, service: ServiceName) -> None:
        import anyio

        assert self.gateway is not None
        timeout = self.probe_timeout_s
        with anyio.move_on_after(timeout):
            try:
                self.probes[service] = _probe_view(await self.gateway.probe(service))
            except Exception as exc:
                self.probes[service] = ProbeView(ok=False, status=None, latency_ms=None, detail=f"probe failed: {exc}")
        if service not in self.probes:
            self.timed_out.append(f"probe:{service}")
            self.probes[service] = ProbeView(
                ok=False,
                status=None,
                latency_ms=None,
                detail=f"timed out: no answer within {timeout:g} s",
                timed_out=True,
            )

    async def tls(self, host: str, port: int) -> None:
        import anyio

        timeout = self.probe_timeout_s
        with anyio.move_on_after(timeout):
            try:
                self.certificate = await self.tls_check(host, port)
            except Exception as exc:
                self.certificate = _tls_failure(host, port, f"TLS check failed: {type(exc).__name__}: {exc}")
        if self.certificate is None:
            self.timed_out.append("tls")
            self.certificate = _tls_failure(host, port, f"timed out: no TLS handshake within {timeout:g} s")

    async def check_database(self) -> None:
        import anyio

        assert self.database_check is not None
        timeout = self.database_timeout_s
        with anyio.move_on_after(timeout):
            try:
                self.database = _database_view(await self.database_check())
            except Exception as exc:
                self.database = _database_failure(exc)
        if self.database is None:
            self.timed_out.append("database")
            self.database = DatabaseHealth(
                ok=False, problem=f"timed out: no answer within {timeout:g} s", timed_out=True
            )


def as_plain_compose(report: StackHealth) -> StackHealth:
    """``report`` of a compose that is not a Supabase stack: without the Supabase-only problems, its verdict under
    :data:`PLAIN_COMPOSE_RULE`."""
    report.problems = [p for p in report.problems if p.code not in SUPABASE_ONLY_PROBLEMS]
    report.verdict = _verdict(report.problems)
    report.rule = PLAIN_COMPOSE_RULE
    return report


# -- pieces -----------------------------------------------------------------------------------------------------------


def _verdict(problems: Sequence[HealthProblem]) -> Verdict:
    """The worst severity among ``problems``; a warning changes no verdict."""
    severities = {problem.severity for problem in problems}
    return "down" if "down" in severities else "degraded" if "degraded" in severities else "healthy"


def _database_message(problem: str | None) -> str:
    return f"the database check failed: {problem or 'no reason given'}"


def _tls_target(stack: StackView) -> tuple[str, int] | None:
    """Host and port of the public https URL, or None when the stack is not served over https."""
    url = stack.public_url
    if url is None:
        return None
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        return None
    return parts.hostname, parts.port or 443


def _deployment_view(deployment: Deployment | None) -> DeploymentView | None:
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


def _tls_failure(host: str, port: int, problem: str) -> CertificateReport:
    return CertificateReport(host=host, port=port, reachable=False, valid=False, problem=problem)


def _probe_view(result: ProbeResult) -> ProbeView:
    return ProbeView(ok=result.ok, status=result.status, latency_ms=round(result.latency_ms, 1), detail=result.detail)


def _database_view(result: DatabaseView) -> DatabaseHealth:
    latency = result.latency_ms
    view = DatabaseHealth(
        ok=result.ok,
        route=result.route,
        latency_ms=round(latency, 1) if latency is not None else None,
        problem=result.problem,
    )
    view._error = result.error
    return view


def _database_failure(exc: Exception) -> DatabaseHealth:
    view = DatabaseHealth(ok=False, problem=f"{type(exc).__name__}: {exc}")
    if isinstance(exc, DokployMCPError):
        # A domain error has a better wording than its text; only the tool layer may give it (explain_errors).
        view._error = exc
    return view


def _docker_health(statuses: Sequence[str | None]) -> str | None:
    """The worst healthcheck verdict among Docker status texts (``Up 3 hours (unhealthy)``), None without one."""
    found = []
    for status in statuses:
        match = _DOCKER_HEALTH.search(status or "")
        if match:
            found.append("starting" if match.group(1) == "health: starting" else match.group(1))
    return min(found, key=_HEALTH_ORDER.__getitem__) if found else None


def _services(
    stack: StackView, containers: Sequence[ContainerView] | None, probes: dict[str, ProbeView]
) -> list[ServiceHealth]:
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
        running = states.count("running")
        if containers is None:
            state = "unknown"
        elif not group:
            state = "missing"
        elif running == len(group):
            state = "running"
        elif running:
            state = "partial"
        else:
            stopped = [s for s in states if s != "running"]
            state = max(set(stopped), key=stopped.count)
        uptimes = [c.uptime_s for c in group if c.state == "running" and c.uptime_s is not None]
        result.append(
            ServiceHealth(
                service=name,
                containers=len(group),
                running=running,
                state=state,
                health=_docker_health([c.status for c in group]),
                uptime_s=min(uptimes) if uptimes else None,
                probe=probes.get(name),
            )
        )
    return result


class _Assessment:
    """Turns the checks into problems, each with its severity and next step (see VERDICT_RULE)."""

    def __init__(self, address: str, stack: StackView, probed: bool) -> None:
        self.address = address
        self.stack = stack
        self.probed = probed
        self.domain: Domain | None = stack.kong_domain
        self.problems: list[HealthProblem] = []

    def add(
        self, code: str, severity: Impact, message: str, next_step: NextStep | None, service: str | None = None
    ) -> None:
        self.problems.append(
            HealthProblem(code=code, severity=severity, service=service, message=message, next_step=next_step)
        )

    # -- next steps ---------------------------------------------------------------------------------------------------

    def logs(self, service: str) -> NextStep:
        return NextStep(tool="dokploy_get_logs", arguments={"stack": self.address, "service": service})

    def validate(self) -> NextStep:
        return NextStep(tool="dokploy_validate_config", arguments={"stack": self.address})

    def https(self) -> NextStep:
        return NextStep(tool="manage_domain", arguments={"stack": self.address, "action": "update", "https": True})

    def certificate_fix(self) -> NextStep:
        """A domain that does not ask Let's Encrypt gets https with it; one that does needs its config checked
        (the e-mail, where the name resolves), which dokploy_validate_config does."""
        domain = self.domain
        if domain is None or not domain.https or (domain.certificate_type or "none") == "none":
            return self.https()
        return self.validate()

    # -- checks -------------------------------------------------------------------------------------------------------

    def containers(
        self,
        containers: Sequence[ContainerView] | None,
        services: list[ServiceHealth],
        deployment: DeploymentView | None,
    ) -> None:
        if containers is None:
            self.add(
                "containers_unknown",
                "degraded",
                "the containers' states could not be read, so the services' state is unknown",
                None,
            )
            return
        if not containers:
            never = deployment is None
            self.add(
                "no_containers",
                "down",
                "the stack has no container"
                + (": it was never deployed" if never else " although it was deployed: it was removed or never started")
                + "; check its configuration before deploying",
                self.validate(),
            )
            return
        if not any(service.running for service in services):
            states = sorted({service.state for service in services})
            self.add(
                "nothing_running",
                "down",
                f"none of the stack's {len(containers)} containers runs (states: {', '.join(states)}): the stack is "
                "stopped or every service crashed; read the logs of all services",
                NextStep(tool="aggregate_logs", arguments={"stack": self.address}),
            )
            return
        for service in services:
            self.service(service)

    def service(self, service: ServiceHealth) -> None:
        """The problem of one service whose containers do not all run (or run unhealthy), if any."""
        core = service.service in CORE_SERVICES
        role = " (nothing of the stack works without it)" if core else ""
        if service.state == "missing":
            self.add(
                "container_missing",
                "down" if core else "degraded",
                f"the compose declares {service.service} but it has no container{role}: the last deployment "
                "did not create it; check the configuration",
                self.validate(),
                service.service,
            )
        elif service.running == 0:
            self.add(
                "container_not_running",
                "down" if core else "degraded",
                f"{service.service}'s container is {service.state}{role}; its logs say why",
                self.logs(service.service),
                service.service,
            )
        elif service.running < service.containers:
            self.add(
                "container_not_running",
                "degraded",
                f"only {service.running} of {service.service}'s {service.containers} containers run",
                self.logs(service.service),
                service.service,
            )
        elif service.health == "unhealthy":
            self.add(
                "container_unhealthy",
                "warning",
                f"{service.service} runs but Docker's healthcheck reports it unhealthy",
                self.logs(service.service),
                service.service,
            )

    def probes(self, probed: list[ServiceName], probes: dict[str, ProbeView]) -> None:
        if not self.probed:
            if self.domain is None:
                self.add(
                    "probes_not_run",
                    "degraded",
                    "the stack has no kong domain, so its API cannot be reached or probed; add one",
                    NextStep(
                        tool="manage_domain",
                        arguments={"stack": self.address, "action": "add", "host": "api.example.com", "https": True},
                        placeholders=["host"],
                    ),
                )
            elif not self.stack.get("ANON_KEY") or not self.stack.get("SERVICE_ROLE_KEY"):
                self.add(
                    "probes_not_run",
                    "degraded",
                    "ANON_KEY or SERVICE_ROLE_KEY is missing from the stack's env, so the API could not be probed",
                    self.validate(),
                )
            else:
                self.add("probes_not_run", "degraded", "the API was not probed (no gateway was given)", None)
            return
        results = [(service, probes[service]) for service in probed if service in probes]
        failed = [(service, view) for service, view in results if not view.ok]
        if results and len(failed) == len(results):
            details = sorted({view.detail for _, view in failed})
            if all(view.status in (401, 403) for _, view in failed):
                step = self.validate()
            elif any("TLS" in view.detail for _, view in failed):
                step = self.certificate_fix()
            else:
                step = self.logs("kong")
            self.add(
                "all_probes_failed",
                "down",
                f"no API service answered as a healthy one through kong at {self.stack.public_url}: "
                + "; ".join(details),
                step,
            )
            return
        for service, view in failed:
            if view.status in (401, 403):
                step = self.validate()
                hint = " (the stack's own key was refused: the keys do not match what the stack runs with)"
            elif view.status is None and "TLS" in view.detail:
                step, hint = self.certificate_fix(), ""
            else:
                step, hint = self.logs(service), ""
            self.add("probe_failed", "degraded", f"{service} through kong: {view.detail}{hint}", step, service)

    def tls(self, report: CertificateReport | None) -> None:
        domain = self.domain
        if report is None:
            if domain is not None and not domain.https:
                self.add(
                    "no_https",
                    "warning",
                    f"the API is served over plain http at {self.stack.public_url}: keys and sessions travel in "
                    "clear; serve it over https (applies after a redeploy)",
                    self.https(),
                )
            return
        where = f"{report.host}:{report.port}"
        if not report.reachable:
            self.add(
                "tls_unreachable",
                "degraded",
                f"no TLS handshake with {where}: {report.problem}",
                self.certificate_fix(),
            )
        elif not report.valid:
            expired = report.days_left is not None and report.days_left < 0
            by = f" issued by {report.issuer}" if report.issuer else ""
            self.add(
                "tls_expired" if expired else "tls_invalid",
                "degraded",
                f"the certificate{by} served at {where} is not valid: {report.problem}",
                self.certificate_fix(),
            )
        elif report.days_left is not None and report.days_left <= TLS_WARNING_DAYS:
            self.add(
                "tls_expiring",
                "degraded",
                f"the certificate served at {where} expires in {report.days_left} days ({report.not_after}); it "
                "should have been renewed by now",
                self.certificate_fix(),
            )

    def database(self, report: DatabaseHealth | None) -> None:
        if report is None or report.ok:
            return
        self.add(
            "database_unreachable",
            "degraded",
            _database_message(report.problem),
            NextStep(tool="connect", arguments={"target": self.address}),
            "db",
        )

    def deployment(self, deployment: DeploymentView | None) -> None:
        if deployment is None:
            self.add("never_deployed", "warning", "the stack has no deployment", None)
        elif deployment.status == "error":
            reason = f": {deployment.error_message}" if deployment.error_message else ""
            self.add(
                "deployment_failed",
                "degraded",
                f"the last deployment ({deployment.title or deployment.id}, {deployment.created_at}) ended in "
                f"error{reason}; what runs may be an older version",
                self.validate(),
            )
        elif deployment.status == "running":
            self.add(
                "deployment_running",
                "warning",
                "a deployment is running: containers may be restarting; check again when it ends",
                None,
            )
        elif deployment.status == "cancelled":
            self.add("deployment_cancelled", "warning", "the last deployment was cancelled", None)
