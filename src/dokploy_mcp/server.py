"""The MCP server factory: ``build_server(settings)`` returns a ready :class:`MCPServer`.

The server offers tools only, and says so: see :class:`ToolsOnlyServer`.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from mcp.server import MCPServer, ServerRequestContext
from mcp.server.mcpserver import Context, RequestStateSecurity
from mcp.server.mcpserver.tools import Tool
from mcp.shared.exceptions import MCPError
from mcp_types import (
    INVALID_PARAMS,
    CallToolResult,
    GetPromptRequestParams,
    GetPromptResult,
    InputRequiredResult,
)

from dokploy_mcp import __version__
from dokploy_mcp.config import DokployServers, Settings, load_dokploy_servers
from dokploy_mcp.confirm import Confirmer, token_secret
from dokploy_mcp.errors import DokployMCPError
from dokploy_mcp.explain import explain
from dokploy_mcp.jobs import Jobs
from dokploy_mcp.kong import GatewayFactory
from dokploy_mcp.redact import scrub
from dokploy_mcp.registry import ToolSpec, build_tools
from dokploy_mcp.runtime import ClientFactory, Runtime, SharedRuntime

INSTRUCTIONS = """\
Deploys, repairs and operates self-hosted Supabase stacks on Dokploy servers.
Start with health_check when something fails to connect. Destructive tools answer first with a preview and a
confirm_token; call again with that token to act. Secrets are masked unless a tool is called with reveal=true."""


def describe_failure(exc: DokployMCPError) -> str:
    """A job's failure in the words a tool error would use, scrubbed of every secret the process knows."""
    return scrub(explain(exc))


def build_server(
    settings: Settings,
    *,
    servers: DokployServers | None = None,
    specs: Sequence[ToolSpec] | None = None,
    confirmer: Confirmer | None = None,
    client_factory: ClientFactory | None = None,
    gateway_factory: GatewayFactory | None = None,
    jobs: Jobs | None = None,
) -> MCPServer[Runtime]:
    if specs is None:
        from dokploy_mcp.tools import all_specs

        specs = all_specs()
    # Resolve the servers now so that a bad instances file stops start-up instead of the first tool call.
    runtime_servers = servers if servers is not None else load_dokploy_servers(settings)
    # One secret keys confirm tokens and the SDK's sealed request state, so every worker of a deployment agrees.
    secret = token_secret(settings)
    process_confirmer = confirmer if confirmer is not None else Confirmer(secret)

    shared = SharedRuntime(
        lambda: Runtime(
            settings,
            runtime_servers,
            process_confirmer,
            client_factory=client_factory,
            gateway_factory=gateway_factory,
            jobs=jobs if jobs is not None else Jobs(describe_failure),
        )
    )

    @asynccontextmanager
    async def lifespan(_: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
        async with shared.use() as runtime:
            yield runtime

    server = ToolsOnlyServer(
        "dokploy-mcp",
        title="Dokploy MCP",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        tools=build_tools(specs, settings),
        log_level=settings.log_level,
        request_state_security=RequestStateSecurity(keys=[secret]),
        # No list ever changes and nothing is subscribable: without the listen stream the 2026-07-28 era
        # advertises no listChanged or subscribe it could not keep.
        subscriptions=False,
    )
    server.shared_runtime = shared
    return server


#: The list methods whose handlers make the SDK advertise the ``prompts`` and ``resources`` capabilities. Without
#: them a client is told that there are none, and a call answers -32601 (method not found).
_UNOFFERED_METHODS = ("prompts/list", "resources/list", "resources/templates/list")


async def _no_such_prompt(_: ServerRequestContext[Any, Any], params: GetPromptRequestParams) -> GetPromptResult:
    # The SDK's own handler raises a bare ValueError: JSON-RPC code 0 on the wire and a traceback in the log.
    raise MCPError(
        code=INVALID_PARAMS,
        message=f"Unknown prompt: {params.name!r}; this server offers tools only",
        data={"name": params.name},
    )


class ToolsOnlyServer(MCPServer[Runtime]):
    """An :class:`MCPServer` that advertises tools only and answers unknown names as invalid params (-32602).

    ``MCPServer`` (SDK 2.3) always registers prompt and resource handlers and derives the advertised capabilities
    from which handlers exist (python-sdk issue 2473; there is no setting), so the listings are withdrawn here.
    ``prompts/get`` and ``resources/read`` stay answered with -32602 and the name or URI in the error data, as the
    spec's error tables and SEP-2164 ask of an unknown prompt or resource; the SDK's ``resources/read`` already
    does so. An unknown tool is a protocol error too (spec 2025-11-25, tools, error handling), where the SDK would
    answer a successful result with ``isError``.
    """

    #: The process's runtime, which an HTTP server holds for its whole life (see :class:`SharedRuntime`).
    shared_runtime: SharedRuntime | None = None

    def __init__(self, name: str, *, tools: list[Tool], **kwargs: Any) -> None:
        super().__init__(name, tools=tools, **kwargs)
        self._tool_names = frozenset(tool.name for tool in tools)
        _withdraw_listings(self)

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Runtime, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        if name not in self._tool_names:
            # %r-style quoting keeps a peer-supplied name on one line. A tool left out by the toolsets or read-only
            # mode is unknown too, and the caller may not know why.
            message = f"Unknown tool: {name!r}; tools/list names those served (toolsets and read-only mode omit some)"
            raise MCPError(code=INVALID_PARAMS, message=message, data={"name": name})
        return await super().call_tool(name, arguments, context)


def _withdraw_listings(server: MCPServer[Any]) -> None:
    """Drop the prompt and resource listings; answer ``prompts/get`` with invalid params.

    The SDK keeps its handlers in private state: a renamed attribute or a missing method raises here, at start-up
    and in the tests, instead of silently advertising again.
    """
    lowlevel = server._lowlevel_server
    handlers = lowlevel._request_handlers
    missing = [method for method in (*_UNOFFERED_METHODS, "prompts/get", "resources/read") if method not in handlers]
    if missing:
        raise RuntimeError(f"the MCP SDK no longer registers {missing}: review _withdraw_listings")
    for method in _UNOFFERED_METHODS:
        del handlers[method]
    lowlevel.add_request_handler("prompts/get", GetPromptRequestParams, _no_such_prompt)
