"""The logs of all (or the chosen) services of a stack merged in time order, with a summary first
(``aggregate_logs``): counts per service, the most frequent errors, and the first error since the last deployment.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, cast

from pydantic import BaseModel, Field

from dokploy_mcp.dokploy.errors import DokployError
from dokploy_mcp.dokploy.logtext import Mask
from dokploy_mcp.dokploy.models import Compose, Deployment
from dokploy_mcp.monitoring.containers import ServiceContainer, compose_layout, stack_containers
from dokploy_mcp.monitoring.filters import DEFAULT_MAX_BYTES, DEFAULT_MAX_LINES, check_caps, in_window, select, show
from dokploy_mcp.monitoring.levels import parse_level
from dokploy_mcp.monitoring.loglines import (
    UNTRUSTED,
    LogLine,
    Record,
    group_records,
    merge_records,
    parse_docker_logs,
)
from dokploy_mcp.monitoring.patterns import compile_pattern
from dokploy_mcp.monitoring.reading import check_tail, read_containers, resolve_service
from dokploy_mcp.monitoring.signatures import TopError, top_errors
from dokploy_mcp.monitoring.window import Since, iso_time, parse_since, parse_time, parse_until

if TYPE_CHECKING:
    # Only for annotations: the tool layer imports the result models at start-up, and the client pulls in httpx.
    from dokploy_mcp.dokploy.client import DokployClient

__all__ = [
    "READ_CONCURRENCY",
    "Aggregate",
    "DeploymentInfo",
    "ServiceSummary",
    "Summary",
    "aggregate",
    "last_deployment",
]

#: How many containers are read at once by :func:`aggregate`.
READ_CONCURRENCY = 4


class ServiceSummary(BaseModel):
    """Counts for one service over the time window (before the level and pattern filters)."""

    errors: int = Field(default=0, description="error records (a stack trace counts once)")
    warnings: int = 0
    lines: int = Field(default=0, description="log lines read in the window")
    containers: list[str] = Field(default_factory=list, description="<container name>: <docker status>")
    note: str | None = None


class DeploymentInfo(BaseModel):
    deployment_id: str
    title: str | None = None
    status: str | None = None
    started_at: str | None = None
    finished_at: str | None = None


class Summary(BaseModel):
    per_service: dict[str, ServiceSummary]
    top_errors: list[TopError]
    last_deployment: DeploymentInfo | None = None
    first_error_after_last_deployment: LogLine | None = Field(
        default=None, description="the first error logged since the last deployment started, in the lines read"
    )


class Aggregate(BaseModel):
    """Logs of several services merged in time order, with a summary first."""

    summary: Summary
    lines: list[str] = Field(description="<time> <service> | <text>, oldest first")
    matched: int = Field(description="lines that passed the filters, before the caps")
    truncated: bool = False
    truncated_reason: str | None = None
    since: str
    until: str | None = None
    notes: list[str] = Field(default_factory=list)
    untrusted: str = UNTRUSTED


def _started(deployment: Deployment) -> datetime | None:
    """When a deployment started (else when it was created); None when it says neither."""
    return parse_time(deployment.started_at) or parse_time(deployment.created_at)


def last_deployment(deployments: Iterable[Deployment]) -> Deployment | None:
    """The newest deployment of the compose itself (not a backup run), by start, else creation time."""
    dated = [(moment, d) for d in deployments if d.backup_id is None and (moment := _started(d)) is not None]
    return max(dated, key=lambda item: item[0])[1] if dated else None


def _after(moment: datetime | None, start: datetime | None) -> bool:
    return moment is not None and start is not None and moment >= start


def _first_time(lines: Sequence[LogLine]) -> datetime | None:
    return next((line.timestamp for line in lines if line.timestamp is not None), None)


def _chosen_services(compose: Compose, services: Sequence[str] | None) -> list[str]:
    """The compose services ``services`` names (all of them when None or empty), each once.

    Raises:
        InputError: (field ``service``) a name that is no service of the compose file.
    """
    known, _ = compose_layout(compose)
    return list(dict.fromkeys([resolve_service(s, known) for s in services] if services else known))


@dataclass(frozen=True)
class _Stack:
    """What :func:`aggregate` read of a stack: a summary per chosen service (its containers listed), the last
    deployment, and of the chosen services' containers (``targets``) their logs (``raws``, parsed in ``lines``) and
    the errors Dokploy answered instead (``failures``), each keyed by the container's index in ``targets``."""

    per_service: dict[str, ServiceSummary]
    deployment: Deployment | None
    targets: list[ServiceContainer]
    raws: dict[int, str]
    failures: dict[int, DokployError]
    lines: dict[int, list[LogLine]]

    def records(self) -> list[Record]:
        """Every container's records, merged in time order (ties in the order of ``targets``)."""
        return merge_records([group_records(lines) for lines in self.lines.values()])

    def reach_back_to(self, start: datetime, opens: datetime | None, tail: int) -> bool:
        """Whether the logs read surely reach back to ``start``: the window ``opens`` no later, and no container's
        ``tail`` filled up with lines after it."""
        if opens is not None and opens > start:
            return False
        return not any(
            raw.count("\n") >= tail and not _after(start, _first_time(self.lines.get(index, [])))
            for index, raw in self.raws.items()
        )


async def _read_stack(
    client: DokployClient,
    compose: Compose,
    chosen: Sequence[str],
    deployments: Sequence[Deployment] | None,
    *,
    mask: Mask,
    tail: int,
    since: Since,
    concurrency: int,
) -> _Stack:
    containers = await stack_containers(client, compose)
    if deployments is None:
        deployments = compose.deployments or await client.deployment_all_by_compose(compose.compose_id)
    per_service = _per_service(chosen, containers)
    targets = [c for c in containers if c.service in per_service and c.container_id]
    raws, failures = await read_containers(
        client, compose, targets, tail=tail, since=since.server, concurrency=concurrency
    )
    lines = {
        index: parse_docker_logs(raws[index], cast(str, container.service), mask=mask)
        for index, container in enumerate(targets)
        if index in raws
    }
    return _Stack(per_service, last_deployment(deployments), targets, raws, failures, lines)


def _per_service(chosen: Sequence[str], containers: Iterable[ServiceContainer]) -> dict[str, ServiceSummary]:
    """An empty summary for each chosen service, with its containers listed."""
    per_service = {name: ServiceSummary() for name in chosen}
    for container in containers:
        if container.service in per_service:
            per_service[container.service].containers.append(f"{container.name}: {container.status or container.state}")
    return per_service


def _count(per_service: dict[str, ServiceSummary], windowed: Iterable[Record]) -> None:
    """Count the lines, error records and warning records of each service."""
    for record in windowed:
        counts = per_service[record[0].service]
        counts.lines += len(record)
        if record[0].continuation:
            continue
        if record[0].level == "error":
            counts.errors += 1
        elif record[0].level == "warning":
            counts.warnings += 1


def _note_unread(stack: _Stack, mask: Mask) -> None:
    """Note on each service whose logs could not be read why, and on each without a container that it has none."""
    failures: dict[str, list[str]] = defaultdict(list)
    for index, exc in stack.failures.items():
        container = stack.targets[index]
        failures[cast(str, container.service)].append(f"{container.name}: {exc}")
    for name, counts in stack.per_service.items():
        if failures.get(name):
            counts.note = "logs could not be read: " + "; ".join(mask(f) for f in failures[name])
        elif not counts.containers:
            counts.note = "no container (never deployed, or removed)"


def _deployment_info(deployment: Deployment | None) -> DeploymentInfo | None:
    if deployment is None:
        return None
    return DeploymentInfo(
        deployment_id=deployment.deployment_id,
        title=deployment.title,
        status=deployment.status,
        started_at=deployment.started_at or deployment.created_at,
        finished_at=deployment.finished_at,
    )


def _first_error_after(records: Iterable[Record], start: datetime | None) -> LogLine | None:
    heads = (record[0] for record in records)
    return next((h for h in heads if h.level == "error" and not h.continuation and _after(h.timestamp, start)), None)


def _summary(
    stack: _Stack,
    records: list[Record],
    windowed: list[Record],
    *,
    mask: Mask,
    top: int,
    opens: datetime | None,
    tail: int,
) -> tuple[Summary, list[str]]:
    """The summary of the window (``windowed``), and notes on what the logs read (``records``) may miss.

    The first error after the last deployment is looked for in everything read; when there is none, the logs may
    not reach back to the deployment (the window ``opens`` later, or a container's ``tail`` filled up).
    """
    _count(stack.per_service, windowed)
    _note_unread(stack, mask)
    start = _started(stack.deployment) if stack.deployment is not None else None
    first_error = _first_error_after(records, start)
    notes: list[str] = []
    if first_error is None and start is not None and not stack.reach_back_to(start, opens, tail):
        notes.append(
            f"the logs read may not reach back to the start of the last deployment ({iso_time(start)}): its "
            "first error may be earlier; widen since or raise tail_per_service to look for it"
        )
    if not stack.targets:
        notes.append("no container of the chosen services exists: the stack was never deployed, or was removed")
    summary = Summary(
        per_service=stack.per_service,
        top_errors=top_errors(windowed, top),
        last_deployment=_deployment_info(stack.deployment),
        first_error_after_last_deployment=first_error,
    )
    return summary, notes


async def aggregate(
    client: DokployClient,
    compose: Compose,
    *,
    mask: Mask,
    services: Sequence[str] | None = None,
    level: str | None = None,
    pattern: str | None = None,
    since: str | datetime | None = "1h",
    until: str | datetime | None = None,
    tail_per_service: int = 1000,
    max_lines: int = DEFAULT_MAX_LINES,
    max_bytes: int = DEFAULT_MAX_BYTES,
    deployments: Sequence[Deployment] | None = None,
    top: int = 10,
    concurrency: int = READ_CONCURRENCY,
    now: datetime | None = None,
) -> Aggregate:
    """Logs of all (``services`` None or empty) or the chosen services of a stack, merged in time order, with a
    summary first.

    The summary covers the time window before the ``level`` / ``pattern`` filters: errors and warnings per service,
    the most frequent error messages (normalised with :func:`~dokploy_mcp.monitoring.signatures.normalize_message`),
    and the first error since the last deployment started (containers are recreated during the deployment, so its
    start is the cut). The deployments are ``deployments``, else ``compose.deployments`` (compose.one), else
    ``deployment.allByCompose``. ``pattern`` is a case-insensitive RE2 expression
    (:func:`~dokploy_mcp.monitoring.patterns.compile_pattern`). A service whose logs cannot be read gets a note.

    Raises:
        InputError: an unknown service or an invalid argument (the field is named).
        DokployError: listing the containers or the deployments failed.
    """
    check_tail(tail_per_service, "tail_per_service")
    check_caps(max_lines, max_bytes)
    minimum, test = parse_level(level), compile_pattern(pattern)
    window, end = parse_since(since, now=now), parse_until(until, now=now)
    chosen = _chosen_services(compose, services)
    stack = await _read_stack(
        client, compose, chosen, deployments, mask=mask, tail=tail_per_service, since=window, concurrency=concurrency
    )
    records = stack.records()
    windowed = [record for record in records if in_window(record, window.cutoff, end)]
    summary, notes = _summary(
        stack, records, windowed, mask=mask, top=top, opens=window.opens(now), tail=tail_per_service
    )
    shown = show(select(windowed, minimum, test), max_lines, max_bytes, with_service=True)
    return Aggregate(
        summary=summary,
        lines=shown.lines,
        matched=shown.matched,
        truncated=shown.truncated_reason is not None,
        truncated_reason=shown.truncated_reason,
        since=window.server,
        until=iso_time(end),
        notes=notes,
    )
