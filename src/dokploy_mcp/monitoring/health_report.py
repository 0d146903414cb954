"""What a stack's health check reports (``dokploy_monitor_health``): each service's containers and probe, the last
deployment, the TLS certificate, the database, and the problems found, each with its severity and next step.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, PrivateAttr

from dokploy_mcp.errors import DokployMCPError, NextStep
from dokploy_mcp.monitoring.health_inputs import DatabaseView
from dokploy_mcp.monitoring.tls import CertificateReport

if TYPE_CHECKING:
    from dokploy_mcp.kong.probes import ServiceName

__all__ = [
    "CORE_SERVICES",
    "PROBED_SERVICES",
    "DatabaseHealth",
    "DeploymentView",
    "HealthProblem",
    "Impact",
    "ProbeView",
    "ServiceHealth",
    "StackHealth",
    "Verdict",
    "database_message",
]

Verdict = Literal["healthy", "degraded", "down"]
#: What one problem does to the verdict on its own (warning: none). Not the severity scale of config findings.
Impact = Literal["down", "degraded", "warning"]

#: The API services probed through kong, in the order they are reported; each is also a compose service's name.
PROBED_SERVICES: tuple[ServiceName, ...] = ("auth", "rest", "storage", "realtime", "meta", "functions")
#: Without these two containers nothing of the stack works.
CORE_SERVICES = ("kong", "db")


def database_message(problem: str | None) -> str:
    """The message of the ``database_unreachable`` problem."""
    return f"the database check failed: {problem or 'no reason given'}"


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

    @classmethod
    def answered(cls, result: DatabaseView) -> DatabaseHealth:
        """What a database check answered (its latency rounded), keeping the error it names for the tool layer."""
        latency = result.latency_ms
        view = cls(
            ok=result.ok,
            route=result.route,
            latency_ms=round(latency, 1) if latency is not None else None,
            problem=result.problem,
        )
        view._error = result.error
        return view

    @classmethod
    def raised(cls, exc: Exception) -> DatabaseHealth:
        """A database check that raised ``exc``."""
        view = cls(ok=False, problem=f"{type(exc).__name__}: {exc}")
        if isinstance(exc, DokployMCPError):
            # A domain error has a better wording than its text; only the tool layer may give it (explain_errors).
            view._error = exc
        return view


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
                problem.message = database_message(database.problem)
