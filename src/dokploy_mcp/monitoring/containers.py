"""The containers of a stack, each matched to its compose service.

Dokploy lists a compose's containers with ``docker.getContainersByAppNameMatch`` (appType ``docker-compose``): it
runs ``docker ps -a --filter label=com.docker.compose.project=<appName>`` and answers id, name, state and status
(Dokploy ``packages/server/src/services/docker.ts``, ``getContainersByAppNameMatch``). Labels are not in the
answer, so the service of a container is derived from its name, which depends on the compose version:

- compose v1: ``<project>_<service>_<n>`` (the recordings: ``compose-calculate-...-7higpr_web_1``);
- compose v2: ``<project>-<service>-<n>`` (what current Dokploy hosts run; recording
  ``deployment.readLogs--compose-v2``: ``compose-copy-redundant-hard-drive-2ubwmt-web-1``);
- swarm stack tasks (appType ``stack``): ``<stack>_<service>.<slot>.<task id>``;
- a ``container_name:`` set in the compose file replaces all of these.

The project is the compose's ``appName`` (Dokploy runs ``docker compose -p <appName>``). The name is stripped of
that prefix and of the replica suffix, and the rest must be a service of the compose file (service names may hold
``-`` and ``_`` themselves, so the separators alone cannot split the name): anything else is reported with service
None rather than guessed.

Restart counts are not in Dokploy's answer (``docker ps`` has none): nothing here reports them. The status text
gives what it gives: uptime, health, exit code.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from dokploy_mcp.dokploy.models import Compose, Container

if TYPE_CHECKING:
    # Only for annotations: the tool layer imports this module at start-up, and the client pulls in httpx.
    from dokploy_mcp.dokploy.client import DokployClient

__all__ = [
    "ServiceContainer",
    "compose_layout",
    "containers_by_service",
    "parse_status",
    "service_of",
    "stack_containers",
]

_REPLICA = {
    "_": re.compile(r"^(?P<service>.+)_(?P<replica>\d+)$"),
    "-": re.compile(r"^(?P<service>.+)-(?P<replica>\d+)$"),
}
_STACK_TASK = re.compile(r"^(?P<service>.+)\.(?P<replica>\d+)\.[a-z0-9]+$")

# Docker's status column is built with go-units HumanDuration ("Up 13 seconds", "Up About an hour", "Exited (137)
# 3 minutes ago"): github.com/docker/go-units duration.go. The values below are the lower bounds it rounds from.
# Digit counts are bounded: a status from a broken or hostile Dokploy with thousands of digits would otherwise make
# int() refuse it (Python caps integer strings at 4,300 digits); such a status simply does not parse.
_STATUS = re.compile(
    r"^(?P<verb>Up|Exited|Restarting|Created|Removal In Progress|Dead|Paused)"
    r"(?: \((?P<code>-?\d{1,10})\))?"
    r"(?: (?P<duration>Less than a second|About a minute|About an hour"
    r"|\d{1,12} (?:second|minute|hour|day|week|month|year)s?))?"
    r"(?: ago)?"
    r"(?: \((?P<health>healthy|unhealthy|health: starting|Paused)\))?$"
)
_UNIT_SECONDS = {
    "second": 1,
    "minute": 60,
    "hour": 3600,
    "day": 86400,
    "week": 604800,
    "month": 2592000,
    "year": 31536000,
}
_FIXED_DURATIONS = {"Less than a second": 0.0, "About a minute": 60.0, "About an hour": 3600.0}


@dataclass(frozen=True)
class ServiceContainer:
    """A container of the stack and the compose service it runs (None when its name matches no service).

    ``status`` is docker's text ("Up 13 seconds (healthy)", "Exited (137) 3 minutes ago"); ``uptime_s``,
    ``health`` and ``exit_code`` are read from it where it says so (uptime is as coarse as docker's wording).
    """

    service: str | None
    container_id: str
    name: str
    state: str
    status: str
    replica: int | None
    uptime_s: float | None
    health: str | None = None
    exit_code: int | None = None

    @property
    def running(self) -> bool:
        return self.state == "running"


def _duration_seconds(text: str | None) -> float | None:
    if text is None:
        return None
    if text in _FIXED_DURATIONS:
        return _FIXED_DURATIONS[text]
    count, _, unit = text.partition(" ")
    unit = unit.removesuffix("s")
    if not count.isdigit() or unit not in _UNIT_SECONDS:
        return None
    return float(int(count) * _UNIT_SECONDS[unit])


def parse_status(status: str) -> tuple[float | None, str | None, int | None]:
    """``(uptime_s, health, exit_code)`` from docker's status text; None where the text does not say."""
    match = _STATUS.match(status.strip())
    if match is None:
        return None, None, None
    verb = match.group("verb")
    uptime = _duration_seconds(match.group("duration")) if verb == "Up" else None
    health = match.group("health")
    if health == "health: starting":
        health = "starting"
    elif health == "Paused":
        health = None
    code = match.group("code")
    return uptime, health, (int(code) if code is not None and verb in ("Exited", "Restarting") else None)


def _lookup(candidate: str, services: Collection[str]) -> str | None:
    if candidate in services:
        return candidate
    folded = candidate.casefold()
    matches = [service for service in services if service.casefold() == folded]
    return matches[0] if len(matches) == 1 else None


def service_of(
    container_name: str,
    app_name: str,
    services: Collection[str],
    container_names: Mapping[str, str] | None = None,
) -> tuple[str | None, int | None]:
    """The compose service and replica number of a container, from its name: ``(service, replica)``.

    Understands compose v1 (``app_web_1``), compose v2 (``app-web-1``), swarm stack tasks (``app_web.1.<task>``)
    and explicit ``container_name:`` entries (``container_names``: container name -> service, replica None).
    The service must be one of ``services``; otherwise ``(None, None)``.
    """
    name = container_name.strip().lstrip("/")
    if container_names and name in container_names:
        return container_names[name], None
    prefix_length = len(app_name)
    if len(name) <= prefix_length + 1 or name[:prefix_length].casefold() != app_name.casefold():
        return None, None
    separator, rest = name[prefix_length], name[prefix_length + 1 :]
    if separator not in _REPLICA:
        return None, None
    patterns = [_REPLICA[separator]]
    if separator == "_":
        patterns.append(_STACK_TASK)
    for pattern in patterns:
        match = pattern.match(rest)
        if match is None:
            continue
        service = _lookup(match.group("service"), services)
        if service is not None:
            return service, int(match.group("replica"))
    return None, None


def compose_layout(compose: Compose) -> tuple[list[str], dict[str, str]]:
    """The service names of the compose file (sorted) and its explicit ``container_name:`` -> service entries.

    Both are empty when the compose file does not parse.
    """
    services = compose.service_specs()
    names = sorted(services)
    explicit = {
        str(spec["container_name"]): str(name)
        for name, spec in services.items()
        if isinstance(spec, dict) and isinstance(spec.get("container_name"), str)
    }
    return names, explicit


def to_service_container(
    container: Container, app_name: str, services: Collection[str], container_names: Mapping[str, str] | None = None
) -> ServiceContainer:
    service, replica = service_of(container.name, app_name, services, container_names)
    status = container.status or ""
    uptime, health, exit_code = parse_status(status)
    return ServiceContainer(
        service=service,
        container_id=container.container_id,
        name=container.name,
        state=container.state or "",
        status=status,
        replica=replica,
        uptime_s=uptime,
        health=health,
        exit_code=exit_code,
    )


async def stack_containers(client: DokployClient, compose: Compose) -> list[ServiceContainer]:
    """Every container of the compose (running or not), matched to its service: one Dokploy call.

    Sorted by service, replica and name; containers whose name matches no service of the compose file come last
    with service None.
    """
    services, explicit = compose_layout(compose)
    app_type: Literal["docker-compose", "stack"] = "stack" if compose.compose_type == "stack" else "docker-compose"
    found = await client.docker_get_containers_by_app_name_match(
        compose.app_name, app_type=app_type, server_id=compose.server_id
    )
    containers = [to_service_container(item, compose.app_name, services, explicit) for item in found]
    return sorted(containers, key=lambda c: (c.service is None, c.service or "", c.replica or 0, c.name))


def containers_by_service(
    containers: Iterable[ServiceContainer], services: Iterable[str] = ()
) -> dict[str, list[ServiceContainer]]:
    """The containers grouped by service; every name in ``services`` is a key, with an empty list when none runs.

    Containers that match no service are left out (filter ``service is None`` to find them).
    """
    grouped: dict[str, list[ServiceContainer]] = {service: [] for service in services}
    for container in containers:
        if container.service is not None:
            grouped.setdefault(container.service, []).append(container)
    return grouped
