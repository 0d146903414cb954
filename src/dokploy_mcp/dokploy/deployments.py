"""Deploy a compose and wait for the outcome.

``compose.deploy`` / ``compose.redeploy`` only queue a deployment and answer at once. The outcome is the status of
the deployment row the call created: it is found by remembering the deployment ids that existed before the call and
polling ``deployment.allByCompose`` until a new row reaches a terminal status. On failure the tail of its build log
says why (Dokploy leaves ``errorMessage`` null; the cause is only in the log).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast

import anyio
from pydantic import BaseModel, Field

from dokploy_mcp.dokploy.models import Deployment
from dokploy_mcp.progress import Progress, safe_point

if TYPE_CHECKING:
    # Only for annotations: tool modules import this module at start-up, and the client pulls in httpx.
    from dokploy_mcp.dokploy.client import DokployClient

TERMINAL_STATUSES = frozenset({"done", "error", "cancelled"})

Outcome = Literal["done", "error", "cancelled", "timeout"]


@dataclass(frozen=True)
class DeployOutcome:
    compose_id: str
    status: Outcome
    deployment: Deployment | None
    #: The last lines of the build log when the deployment did not end in ``done``.
    log_tail: str | None
    waited_seconds: float

    @property
    def succeeded(self) -> bool:
        return self.status == "done"


async def deploy_and_wait(
    client: DokployClient,
    compose_id: str,
    *,
    redeploy: bool = False,
    title: str | None = None,
    wait_seconds: float = 900.0,
    poll_interval: float = 2.0,
    log_lines: int = 80,
    on_progress: Progress | None = None,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> DeployOutcome:
    """Queue a (re)deploy of ``compose_id`` and poll until its deployment is done, failed, cancelled or timed out."""
    started = clock()
    before = {d.deployment_id for d in await client.deployment_all_by_compose(compose_id)}
    if redeploy:
        await client.compose_redeploy(compose_id, title=title)
    else:
        await client.compose_deploy(compose_id, title=title)
    last_status = "queued"
    while True:
        current = _newest(
            [d for d in await client.deployment_all_by_compose(compose_id) if d.deployment_id not in before]
        )
        if current is not None and current.status != last_status:
            last_status = current.status or "unknown"
            if on_progress is not None:
                await on_progress(f"deployment {current.deployment_id}: {last_status}")
        if current is not None and current.status in TERMINAL_STATUSES:
            status = cast(Outcome, current.status)
            tail = None if status == "done" else await client.deployment_read_logs(current.deployment_id, log_lines)
            return DeployOutcome(compose_id, status, current, tail, clock() - started)
        if clock() - started >= wait_seconds:
            tail = await client.deployment_read_logs(current.deployment_id, log_lines) if current else None
            return DeployOutcome(compose_id, "timeout", current, tail, clock() - started)
        # A job asked to stop stops here, between polls, and its flow undoes what it did.
        await safe_point()
        await sleep(poll_interval)


def _newest(deployments: list[Deployment]) -> Deployment | None:
    # deployment.allByCompose lists newest first and compose.one oldest first: order by creation time, not position.
    return max(deployments, key=lambda d: d.created_at or "", default=None)


class DeployReport(BaseModel):
    """What a tool says about a deploy it ran and waited for."""

    status: str = Field(description="done, error, cancelled, or timeout (still running when the wait ended)")
    deployment_id: str | None
    waited_seconds: float
    log_tail: str | None = Field(description="the end of the build log when it did not end in done (untrusted text)")


def report(outcome: DeployOutcome, mask: Callable[[str], str] = lambda text: text) -> DeployReport:
    return DeployReport(
        status=outcome.status,
        deployment_id=outcome.deployment.deployment_id if outcome.deployment else None,
        waited_seconds=round(outcome.waited_seconds, 1),
        log_tail=mask(outcome.log_tail) if outcome.log_tail else None,
    )
