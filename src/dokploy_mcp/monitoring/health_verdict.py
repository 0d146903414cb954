"""The verdict of a stack's health (:data:`VERDICT_RULE`): the facts the checks gathered, turned into problems,
each with its severity (the verdict it implies on its own) and, when a tool of this server is the next step, that
call with its arguments.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from dokploy_mcp.errors import NextStep
from dokploy_mcp.monitoring.health_inputs import ContainerView, StackView
from dokploy_mcp.monitoring.health_report import (
    CORE_SERVICES,
    DatabaseHealth,
    DeploymentView,
    HealthProblem,
    Impact,
    ProbeView,
    ServiceHealth,
    Verdict,
    database_message,
)
from dokploy_mcp.monitoring.tls import CertificateReport

if TYPE_CHECKING:
    from dokploy_mcp.dokploy.models import Domain
    from dokploy_mcp.kong.probes import ServiceName

__all__ = [
    "PLAIN_COMPOSE_RULE",
    "SUPABASE_ONLY_PROBLEMS",
    "TLS_WARNING_DAYS",
    "VERDICT_RULE",
    "Assessment",
    "verdict",
    "worst_first",
]

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


def verdict(problems: Iterable[HealthProblem]) -> Verdict:
    """The worst severity among ``problems``; a warning changes no verdict."""
    severities = {problem.severity for problem in problems}
    return "down" if "down" in severities else "degraded" if "degraded" in severities else "healthy"


def worst_first(problems: Iterable[HealthProblem]) -> list[HealthProblem]:
    """``problems`` sorted by severity, worst first (in the order found within one severity)."""
    return sorted(problems, key=lambda problem: _SEVERITY_ORDER[problem.severity])


class Assessment:
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
            database_message(report.problem),
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
