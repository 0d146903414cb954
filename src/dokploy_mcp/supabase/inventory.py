"""Every Supabase stack on every configured Dokploy server.

One ``project.all`` per server, then ``compose.one`` for each compose (``project.all`` does not say which composes
are Supabase stacks), concurrently with a bound, and nothing more per compose. A server that fails is reported
with its problem; it does not hide the others. Failures are kept as errors; the tool layer words them
(:meth:`ServerInventory.explain_errors`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

import anyio
from pydantic import BaseModel, Field, PrivateAttr

from dokploy_mcp.config import DokployServers
from dokploy_mcp.dokploy.models import Compose
from dokploy_mcp.errors import DokployMCPError
from dokploy_mcp.supabase.stack import (
    FETCH_CONCURRENCY,
    ComposeListing,
    SupabaseStack,
    gather_bounded,
    is_supabase,
    list_composes,
)

if TYPE_CHECKING:
    # Annotations only: these modules are imported at start-up, and the clients pull in httpx.
    from dokploy_mcp.dokploy.client import DokployClient


class DeploymentSummary(BaseModel):
    deployment_id: str
    status: str | None
    title: str | None
    created_at: str | None


class InstanceSummary(BaseModel):
    server: str
    address: str = Field(description="pass this as `stack` to the other tools: it is unambiguous")
    compose_id: str
    path: str = Field(description="project/environment/compose")
    status: str | None = Field(description="Dokploy's compose status: idle, running, done or error")
    public_url: str | None = Field(description="the kong domain with its scheme; null when the stack has none")
    last_deployment: DeploymentSummary | None


class ServerInventory(BaseModel):
    server: str
    ok: bool
    problem: str | None = None
    stacks: list[InstanceSummary] = Field(default_factory=list)
    other_composes: int = Field(default=0, description="composes on this server that are not Supabase stacks")
    unreadable: list[str] = Field(default_factory=list, description="composes whose details could not be read")
    # The errors behind ``problem`` and ``unreadable``, worded by the tool layer (private: not in the schema).
    _error: DokployMCPError | None = PrivateAttr(default=None)
    _unreadable: list[tuple[str, DokployMCPError]] = PrivateAttr(default_factory=list)

    @property
    def error(self) -> DokployMCPError | None:
        """Why the server could not be listed (``ok`` is False); ``problem`` stays empty until the tool words it."""
        return self._error

    def explain_errors(self, explain: Callable[[DokployMCPError], str]) -> None:
        """Put the errors into words with the tool layer's ``explain``: ``problem``, and ``path: why`` per
        unreadable compose."""
        if self._error is not None:
            self.problem = explain(self._error)
        self.unreadable = [f"{path}: {explain(exc)}" for path, exc in self._unreadable]


def summarize(stack: SupabaseStack) -> InstanceSummary:
    last = stack.last_deployment
    return InstanceSummary(
        server=stack.ref.server,
        address=stack.ref.address,
        compose_id=stack.ref.compose_id,
        path=stack.ref.path,
        status=stack.compose.compose_status,
        public_url=stack.public_url,
        last_deployment=DeploymentSummary(
            deployment_id=last.deployment_id, status=last.status, title=last.title, created_at=last.created_at
        )
        if last
        else None,
    )


async def server_inventory(server: str, client: DokployClient) -> ServerInventory:
    listings = list_composes(server, await client.project_all())

    async def fetch(listing: ComposeListing) -> Compose | DokployMCPError:
        try:
            return await client.compose_one(listing.compose_id)
        except DokployMCPError as exc:
            return exc

    details = await gather_bounded(listings, fetch, FETCH_CONCURRENCY)
    inventory = ServerInventory(server=server, ok=True)
    for listing, compose in zip(listings, details, strict=True):
        if isinstance(compose, DokployMCPError):
            inventory._unreadable.append((listing.ref().path, compose))
        elif is_supabase(compose):
            inventory.stacks.append(summarize(SupabaseStack.from_compose(listing.ref(), compose)))
        else:
            inventory.other_composes += 1
    return inventory


async def list_instances(
    servers: DokployServers, client_for: Callable[[str], Awaitable[DokployClient]], only: str | None = None
) -> list[ServerInventory]:
    names = [servers.get(only).name] if only else list(servers.servers)
    results: list[ServerInventory | None] = [None] * len(names)

    async def one(index: int, name: str) -> None:
        try:
            results[index] = await server_inventory(name, await client_for(name))
        except DokployMCPError as exc:
            failed = ServerInventory(server=name, ok=False)
            failed._error = exc
            results[index] = failed

    async with anyio.create_task_group() as group:
        for index, name in enumerate(names):
            group.start_soon(one, index, name)
    return [r for r in results if r is not None]
