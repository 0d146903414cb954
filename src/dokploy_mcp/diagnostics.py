"""This server's self-check: configuration, each Dokploy server (reachable, authenticated, version), the database.

Shared by the ``health_check`` tool and ``dokploy-mcp doctor``. It never raises for a failing part: each part
says what is wrong and what to do, and nothing secret is reported (URLs are shown with passwords masked).
"""

from __future__ import annotations

import logging

import anyio
from pydantic import BaseModel, Field

from dokploy_mcp import SUPPORTED_DOKPLOY_VERSION, __version__, is_supported_dokploy
from dokploy_mcp.config import DokployServerConfig
from dokploy_mcp.errors import DokployMCPError
from dokploy_mcp.explain import explain
from dokploy_mcp.redact import scrub
from dokploy_mcp.runtime import Runtime

logger = logging.getLogger(__name__)


class ServerIdentity(BaseModel):
    name: str = "dokploy-mcp"
    version: str = __version__
    supported_dokploy_version: str = SUPPORTED_DOKPLOY_VERSION


class ConfigurationSummary(BaseModel):
    read_only: bool
    toolsets: list[str]
    transport: str
    instances_file: str | None
    default_server: str
    database_configured: bool


class DokployServerStatus(BaseModel):
    name: str
    url: str | None
    default: bool
    reachable: bool | None = Field(description="GET /api/health answered; null when there is no URL to try")
    authenticated: bool | None = Field(description="the API key was accepted; null when not checked")
    version: str | None = None
    version_supported: bool | None = None
    problem: str | None = Field(default=None, description="what is wrong and what to do; null when all is well")


class DatabaseStatus(BaseModel):
    configured: bool
    target: str | None = Field(default=None, description="DATABASE_URL with the password masked")
    reachable: bool | None = None
    server_version: str | None = None
    user: str | None = None
    problem: str | None = None


class SelfCheckReport(BaseModel):
    ok: bool = Field(description="true when every configured part works and a Dokploy server is usable")
    server: ServerIdentity
    configuration: ConfigurationSummary
    dokploy: list[DokployServerStatus]
    database: DatabaseStatus
    problems: list[str] = Field(description="one line per problem, each with its next step")


async def check_dokploy(runtime: Runtime, config: DokployServerConfig) -> DokployServerStatus:
    is_default = config.name == runtime.servers.default
    if config.url is None:
        return DokployServerStatus(
            name=config.name,
            url=None,
            default=is_default,
            reachable=None,
            authenticated=None,
            problem="no Dokploy URL is configured: set DOKPLOY_URL (for example http://203.0.113.10:3000) and "
            "DOKPLOY_API_KEY",
        )
    status = DokployServerStatus(
        name=config.name, url=config.url, default=is_default, reachable=None, authenticated=None
    )
    async with runtime.new_client(config) as client:
        try:
            status.reachable = await client.health()
        except DokployMCPError as exc:
            status.reachable = False
            status.problem = explain(exc)
            return status
        if not status.reachable:
            status.problem = f"{config.url}/api/health did not answer ok: is this the address of a Dokploy server?"
            return status
        if config.api_key is None:
            status.problem = f"no API key for Dokploy server {config.name!r}: set {config.api_key_source}"
            return status
        try:
            status.version = await client.settings_get_dokploy_version()
        except DokployMCPError as exc:
            from dokploy_mcp.dokploy.errors import DokployAuthError

            status.authenticated = False if isinstance(exc, DokployAuthError) else None
            status.problem = explain(exc)
            return status
    status.authenticated = True
    status.version_supported = is_supported_dokploy(status.version)
    if not status.version_supported:
        status.problem = (
            f"Dokploy {status.version} is not the supported version {SUPPORTED_DOKPLOY_VERSION}; tools may fail "
            "where the API differs: upgrade Dokploy or use a dokploy-mcp release made for it"
        )
    return status


async def check_database(runtime: Runtime) -> DatabaseStatus:
    url = runtime.settings.database_url
    if url is None:
        return DatabaseStatus(configured=False)
    from dokploy_mcp.postgres.client import Database
    from dokploy_mcp.postgres.conninfo import parse_target

    try:
        info = parse_target(url.get_secret_value())
    except DokployMCPError as exc:
        return DatabaseStatus(configured=True, problem=f"DATABASE_URL: {explain(exc)}")
    status = DatabaseStatus(configured=True, target=info.masked())
    database = Database(info, name="health", max_size=1, connect_timeout=min(runtime.settings.timeout, 10.0))
    try:
        server = await database.server_info()
    except DokployMCPError as exc:
        status.reachable = False
        status.problem = explain(exc)
        return status
    finally:
        await database.aclose()
    status.reachable = True
    status.server_version = server.version
    status.user = server.current_user
    return status


async def run_diagnostics(runtime: Runtime) -> SelfCheckReport:
    settings = runtime.settings
    configs = list(runtime.servers.servers.values())
    dokploy: list[DokployServerStatus | None] = [None] * len(configs)
    database: DatabaseStatus | None = None

    async def one(index: int, config: DokployServerConfig) -> None:
        dokploy[index] = await check_dokploy(runtime, config)

    async def db() -> None:
        nonlocal database
        database = await check_database(runtime)

    async with anyio.create_task_group() as tg:
        for index, config in enumerate(configs):
            tg.start_soon(one, index, config)
        tg.start_soon(db)

    statuses = [s for s in dokploy if s is not None]
    assert database is not None
    # The report is an answer and a `doctor` printout: a known secret echoed in a failure (a Dokploy error body, a
    # driver message) is masked here whatever produced it.
    parts: list[DokployServerStatus | DatabaseStatus] = [*statuses, database]
    for part in parts:
        part.problem = scrub(part.problem) if part.problem else part.problem
    problems = [f"Dokploy server {s.name!r}: {s.problem}" for s in statuses if s.problem]
    if database.problem:
        problems.append(f"Database: {database.problem}")
    usable = any(s.authenticated for s in statuses)
    return SelfCheckReport(
        ok=usable and not problems,
        server=ServerIdentity(),
        configuration=ConfigurationSummary(
            read_only=settings.read_only,
            toolsets=list(settings.toolsets),
            transport=settings.transport,
            instances_file=str(settings.instances_file) if settings.instances_file else None,
            default_server=runtime.servers.default,
            database_configured=settings.database_url is not None,
        ),
        dokploy=statuses,
        database=database,
        problems=problems,
    )
