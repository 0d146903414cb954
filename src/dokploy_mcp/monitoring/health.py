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

import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from dokploy_mcp.monitoring.health_checks import HealthChecks, deployment_view, service_rows, tls_target
from dokploy_mcp.monitoring.health_inputs import ContainerView, DatabaseCheck, StackView, TlsCheck
from dokploy_mcp.monitoring.health_report import PROBED_SERVICES, StackHealth
from dokploy_mcp.monitoring.health_verdict import (
    PLAIN_COMPOSE_RULE,
    SUPABASE_ONLY_PROBLEMS,
    VERDICT_RULE,
    Assessment,
    verdict,
    worst_first,
)
from dokploy_mcp.monitoring.tls import check_certificate

if TYPE_CHECKING:
    from dokploy_mcp.kong.gateway import KongGateway

__all__ = ["as_plain_compose", "stack_health"]


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
    checks = HealthChecks(gateway, database_check, tls_check, probe_timeout_s, database_timeout_s)
    await checks.run(probed if gateway is not None else [], tls_target(stack), budget_s)

    services = service_rows(stack, containers, checks.probes)
    last_deployment = deployment_view(stack.last_deployment)
    assess = Assessment(address, stack, gateway is not None)
    assess.containers(containers, services, last_deployment)
    assess.probes(probed, checks.probes)
    assess.tls(checks.certificate)
    assess.database(checks.database)
    assess.deployment(last_deployment)
    problems = worst_first(assess.problems)
    return StackHealth(
        stack=address,
        path=stack.ref.path,
        public_url=stack.public_url,
        checked_at=checked_at,
        verdict=verdict(problems),
        rule=VERDICT_RULE,
        services=services,
        last_deployment=last_deployment,
        tls=checks.certificate,
        database=checks.database,
        problems=problems,
        timed_out=sorted(set(checks.timed_out)),
        duration_ms=round((time.perf_counter() - started) * 1000, 1),
    )


def as_plain_compose(report: StackHealth) -> StackHealth:
    """``report`` of a compose that is not a Supabase stack: without the Supabase-only problems, its verdict under
    :data:`PLAIN_COMPOSE_RULE`."""
    report.problems = [p for p in report.problems if p.code not in SUPABASE_ONLY_PROBLEMS]
    report.verdict = verdict(report.problems)
    report.rule = PLAIN_COMPOSE_RULE
    return report
