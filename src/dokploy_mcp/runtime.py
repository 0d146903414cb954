"""What the tools share while the server runs: settings, Dokploy clients, databases, the confirmer, the jobs.

Clients are created on first use, not at start-up: the server must answer ``tools/list`` fast, and most calls
need only one of them. The runtime is the MCP lifespan's state, but it knows nothing of MCP.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from types import TracebackType
from typing import TYPE_CHECKING

import anyio

from dokploy_mcp.audit import AuditLog
from dokploy_mcp.config import DokployServerConfig, DokployServers, Settings, load_dokploy_servers
from dokploy_mcp.confirm import Confirmer
from dokploy_mcp.errors import ConfigurationError
from dokploy_mcp.jobs import Jobs
from dokploy_mcp.kong import GatewayFactory

if TYPE_CHECKING:
    from pydantic import SecretStr

    from dokploy_mcp.dokploy.client import DokployClient
    from dokploy_mcp.kong.gateway import KongGateway
    from dokploy_mcp.postgres.client import Database

ClientFactory = Callable[[DokployServerConfig, float], "DokployClient"]

logger = logging.getLogger(__name__)


class Runtime:
    def __init__(
        self,
        settings: Settings,
        servers: DokployServers | None = None,
        confirmer: Confirmer | None = None,
        *,
        client_factory: ClientFactory | None = None,
        gateway_factory: GatewayFactory | None = None,
        jobs: Jobs | None = None,
    ) -> None:
        self.settings = settings
        self.servers = servers if servers is not None else load_dokploy_servers(settings)
        self.confirmer = confirmer if confirmer is not None else Confirmer()
        # Factories let tests put doubles behind the real clients; by default they build the real thing.
        self._client_factory = client_factory
        self.gateway_factory: GatewayFactory = gateway_factory or _default_gateway
        self._clients: dict[str, DokployClient] = {}
        self._databases: dict[str, Database] = {}
        self._superusers: dict[str, bool] = {}
        self._lock = anyio.Lock()
        # Jobs run in a task group opened here: they outlive the calls that start them, not the server.
        self.jobs = jobs if jobs is not None else Jobs()
        self.audit = AuditLog(settings)

    async def __aenter__(self) -> Runtime:
        await self.jobs.__aenter__()
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # The jobs first: their undo still needs the clients.
        try:
            await self.jobs.__aexit__(exc_type, exc, tb)
        finally:
            with anyio.CancelScope(shield=True):
                await self.aclose()

    async def aclose(self) -> None:
        clients, self._clients = self._clients, {}
        databases, self._databases = self._databases, {}
        for client in clients.values():
            await client.aclose()
        for database in databases.values():
            await database.aclose()

    def new_client(self, server: DokployServerConfig) -> DokployClient:
        """A client for ``server`` that the caller owns (and closes). The URL must be set."""
        if server.url is None:
            raise ConfigurationError(
                f"Dokploy server {server.name!r} has no URL: set DOKPLOY_URL (for example http://203.0.113.10:3000)",
                setting="DOKPLOY_URL",
            )
        if self._client_factory is not None:
            return self._client_factory(server, self.settings.timeout)
        from dokploy_mcp.dokploy.client import DokployClient

        return DokployClient(
            base_url=server.url, api_key=server.api_key, name=server.name, timeout=self.settings.timeout
        )

    async def dokploy(self, server: str | None = None) -> DokployClient:
        """The shared, authenticated client for a configured server (the default one when ``server`` is None)."""
        config = self.servers.get(server)
        if config.api_key is None:
            raise ConfigurationError(
                f"Dokploy server {config.name!r} has no API key: set {config.api_key_source} "
                "(`dokploy-mcp bootstrap` creates a key and writes it to a file)",
                setting=config.api_key_source,
            )
        async with self._lock:
            client = self._clients.get(config.name)
            if client is None:
                client = self._clients[config.name] = self.new_client(config)
            return client

    async def is_superuser(self, database: Database) -> bool:
        """Whether ``database`` logs in as a superuser (asked once per database, then remembered)."""
        known = self._superusers.get(database.target)
        if known is None:
            known = self._superusers[database.target] = (await database.server_info()).is_superuser
        return known

    async def database(self, url: str | None = None) -> Database:
        """A pooled database handle for ``url`` (``DATABASE_URL`` when None)."""
        from dokploy_mcp.postgres.client import Database
        from dokploy_mcp.postgres.conninfo import parse_target

        if url is None:
            if self.settings.database_url is None:
                raise ConfigurationError(
                    "no database given and DATABASE_URL is not set: pass a target or set DATABASE_URL",
                    setting="DATABASE_URL",
                )
            url = self.settings.database_url.get_secret_value()
        info = parse_target(url)
        key = info.to_conninfo()
        async with self._lock:
            database = self._databases.get(key)
            if database is None:
                database = self._databases[key] = Database(info, connect_timeout=min(self.settings.timeout, 30.0))
            return database


def _default_gateway(url: str, anon_key: SecretStr, service_role_key: SecretStr) -> KongGateway:
    # A forwarder, so that importing the runtime at start-up does not import the gateway (and httpx).
    from dokploy_mcp.kong.gateway import default_gateway

    return default_gateway(url, anon_key, service_role_key)


class SharedRuntime:
    """The one runtime of the process, whichever transport runs it.

    The MCP lifespan runs once per process over stdio and streamable HTTP, but once per connection over SSE (and
    per in-memory client in the tests). Jobs must outlive the connection that started them, with the clients they
    use: so an HTTP server :meth:`hold` s one runtime for the whole process (from the ASGI lifespan), and every MCP
    lifespan :meth:`use` s it. Without a holder (stdio, tests) the MCP lifespan opens and closes its own.
    """

    def __init__(self, factory: Callable[[], Runtime]) -> None:
        self._factory = factory
        self._held: Runtime | None = None

    @property
    def held(self) -> Runtime | None:
        return self._held

    @asynccontextmanager
    async def hold(self) -> AsyncIterator[Runtime]:
        async with self._factory() as runtime:
            self._held = runtime
            try:
                yield runtime
            finally:
                self._held = None

    @asynccontextmanager
    async def use(self) -> AsyncIterator[Runtime]:
        if self._held is not None:
            yield self._held
            return
        async with self._factory() as runtime:
            yield runtime
