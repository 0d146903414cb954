"""Health and logs over stacks: what ``dokploy_monitor_health``, ``dokploy_get_logs`` and ``aggregate_logs`` call.

Any Dokploy compose can be checked. A Supabase stack gets the full check (probes through its kong gateway, the
database, the TLS certificate of its API domain); a plain compose is judged on its containers and last deployment
(:func:`~dokploy_mcp.monitoring.health.as_plain_compose`). Errors are returned as exceptions, never as words: the
tool puts them into words (``explain``), here and in :meth:`StackHealth.explain_errors`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import anyio
from pydantic import SecretStr

from dokploy_mcp.errors import DokployMCPError
from dokploy_mcp.monitoring.aggregate import Aggregate, aggregate
from dokploy_mcp.monitoring.containers import stack_containers
from dokploy_mcp.monitoring.health import as_plain_compose, stack_health
from dokploy_mcp.monitoring.health_inputs import DatabaseView
from dokploy_mcp.monitoring.health_report import StackHealth
from dokploy_mcp.monitoring.levels import Level
from dokploy_mcp.monitoring.service_logs import LogsResult, service_logs
from dokploy_mcp.services.database import probe_database
from dokploy_mcp.services.stacks import compose_masker, open_compose
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.inventory import list_instances
from dokploy_mcp.supabase.stack import SupabaseStack, compose_services, is_supabase

if TYPE_CHECKING:
    from dokploy_mcp.dokploy.client import DokployClient
    from dokploy_mcp.dokploy.models import Compose
    from dokploy_mcp.runtime import Runtime
    from dokploy_mcp.supabase.stack import StackRef

#: The whole check of one stack; loading it and listing its containers come on top (about a second).
HEALTH_BUDGET_S = 12.0
#: Stacks checked at once when every stack is checked (each opens a gateway and a database route).
HEALTH_CONCURRENCY = 4


_VERDICT_ORDER = {"down": 0, "degraded": 1, "healthy": 2}


@dataclass
class HealthOverview:
    """Every stack's health, worst first, and what could not be checked (left for the tool to put into words)."""

    stacks: list[StackHealth]
    #: Servers that could not be listed, with why (server name, error).
    servers_failed: list[tuple[str, DokployMCPError]] = field(default_factory=list)
    #: Stacks that could not be checked, with why (address, error).
    failed: list[tuple[str, DokployMCPError]] = field(default_factory=list)

    @property
    def verdict(self) -> Literal["healthy", "degraded", "down"]:
        return self.stacks[0].verdict if self.stacks else "healthy"


async def stack_health_of(rt: Runtime, stack: str) -> StackHealth:
    """The health of the compose ``stack`` names (Supabase stack or not)."""
    client, ref, compose = await open_compose(rt, stack)
    return await _health_of(rt, client, ref, compose)


async def all_stacks_health(rt: Runtime) -> HealthOverview:
    """The health of every Supabase stack on every server, worst first; a stack that fails is listed, not raised."""
    overview = HealthOverview(stacks=[])
    addresses: list[str] = []
    for inventory in await list_instances(rt.servers, rt.dokploy):
        if inventory.error is not None:
            overview.servers_failed.append((inventory.server, inventory.error))
        addresses.extend(s.address for s in inventory.stacks)
    limit = anyio.Semaphore(HEALTH_CONCURRENCY)

    async def one(address: str) -> None:
        async with limit:
            try:
                overview.stacks.append(await stack_health_of(rt, address))
            except DokployMCPError as exc:
                overview.failed.append((address, exc))

    async with anyio.create_task_group() as group:
        for address in addresses:
            group.start_soon(one, address)
    overview.stacks.sort(key=lambda r: (_VERDICT_ORDER[r.verdict], r.path))
    return overview


async def _health_of(rt: Runtime, client: DokployClient, ref: StackRef, compose: Compose) -> StackHealth:
    supabase = is_supabase(compose)
    # Built directly, not with SupabaseStack.from_compose: a plain compose is checked too, as far as it applies.
    stack = SupabaseStack(ref, compose, EnvFile.parse(compose.env or ""), compose_services(compose))
    try:
        containers = await stack_containers(client, compose)
    except DokployMCPError:
        containers = None  # reported as "containers_unknown": the other checks still say something
    gateway = None
    url, anon, service = stack.public_url, stack.get("ANON_KEY"), stack.get("SERVICE_ROLE_KEY")
    if supabase and url and anon and service:
        gateway = rt.gateway_factory(url, SecretStr(anon), SecretStr(service))

    async def database() -> DatabaseView:
        # The same probe as the connect tool's, so a failure here reads as it would there.
        return await probe_database(rt, ref.address)

    try:
        report = await stack_health(
            stack,
            containers,
            gateway=gateway,
            database_check=database if supabase else None,
            budget_s=HEALTH_BUDGET_S,
        )
    finally:
        if gateway is not None:
            await gateway.aclose()
    return report if supabase else as_plain_compose(report)


async def service_logs_of(
    rt: Runtime,
    stack: str,
    service: str,
    *,
    tail: int,
    since: str,
    search: str | None,
    level: Level | None,
    max_lines: int,
) -> LogsResult:
    """One service's logs of the compose ``stack`` names, with the stack's secrets masked."""
    client, _, compose = await open_compose(rt, stack)
    return await service_logs(
        client,
        compose,
        service,
        mask=compose_masker(compose),
        tail=tail,
        since=since,
        search=search,
        level=level,
        max_lines=max_lines,
    )


async def aggregate_logs_of(
    rt: Runtime,
    stack: str,
    *,
    services: list[str] | None,
    level: Level | None,
    pattern: str | None,
    since: str,
    until: str | None,
    max_lines: int,
) -> Aggregate:
    """All (or some) services' logs of the compose ``stack`` names, merged and summarised, secrets masked."""
    client, _, compose = await open_compose(rt, stack)
    return await aggregate(
        client,
        compose,
        mask=compose_masker(compose),
        services=services,
        level=level,
        pattern=pattern,
        since=since,
        until=until,
        max_lines=max_lines,
    )
