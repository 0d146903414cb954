"""Command line: ``dokploy-mcp [serve]``, ``dokploy-mcp tools``, ``dokploy-mcp doctor``.

Flags mirror the settings (DESIGN §2) and win over the environment. A bad setting prints one line on stderr
and exits with status 2. Logs go to stderr only: on stdio, stdout is the protocol channel.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from dokploy_mcp import SUPPORTED_DOKPLOY_VERSION, __version__
from dokploy_mcp.errors import ConfigurationError

if TYPE_CHECKING:
    from dokploy_mcp.config import DokployServers, Settings

COMMANDS = ("serve", "tools", "doctor")


def _config_flags() -> argparse.ArgumentParser:
    common = argparse.ArgumentParser(add_help=False)
    group = common.add_argument_group("settings (each flag wins over its environment variable)")
    group.add_argument(
        "--read-only",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="register only read-only tools (DOKPLOY_MCP_READ_ONLY)",
    )
    group.add_argument("--toolsets", help="comma list of toolsets, or 'all' (DOKPLOY_MCP_TOOLSETS)")
    group.add_argument(
        "--instances", dest="instances_file", help="YAML file of Dokploy servers (DOKPLOY_MCP_INSTANCES_FILE)"
    )
    group.add_argument("--timeout", help="seconds to wait for Dokploy and the database (DOKPLOY_MCP_TIMEOUT)")
    group.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (DOKPLOY_MCP_LOG_LEVEL)")
    group.add_argument(
        "--transport", choices=["stdio", "sse", "streamable-http"], help="default stdio (DOKPLOY_MCP_TRANSPORT)"
    )
    group.add_argument("--host", help="HTTP bind address, default 127.0.0.1 (DOKPLOY_MCP_HOST)")
    group.add_argument("--port", help="HTTP port, default 8000 (DOKPLOY_MCP_PORT)")
    group.add_argument("--auth-token", help="bearer token HTTP clients must send (DOKPLOY_MCP_AUTH_TOKEN)")
    group.add_argument("--allowed-hosts", help="comma list of Host header values (DOKPLOY_MCP_ALLOWED_HOSTS)")
    group.add_argument("--allowed-origins", help="comma list of Origin values (DOKPLOY_MCP_ALLOWED_ORIGINS)")
    return common


def build_parser() -> argparse.ArgumentParser:
    common = _config_flags()
    parser = argparse.ArgumentParser(
        prog="dokploy-mcp",
        description="MCP server that deploys, repairs and operates self-hosted Supabase stacks on Dokploy "
        f"(supports Dokploy {SUPPORTED_DOKPLOY_VERSION}).",
    )
    parser.add_argument("--version", action="version", version=f"dokploy-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("serve", parents=[common], help="run the MCP server (the default command)")
    sub.add_parser("tools", parents=[common], help="print the tools these settings register")
    sub.add_parser("doctor", parents=[common], help="check the settings, each Dokploy server and the database")
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    names = (
        "read_only",
        "toolsets",
        "instances_file",
        "timeout",
        "log_level",
        "transport",
        "host",
        "port",
        "auth_token",
        "allowed_hosts",
        "allowed_origins",
    )
    return {name: getattr(args, name) for name in names if getattr(args, name, None) is not None}


def configure_logging(level: str) -> None:
    # Configured before MCPServer is built: its own basicConfig call is then a no-op, and nothing reaches stdout.
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
    # httpx logs every request at INFO; one line per Dokploy call is noise unless debugging.
    logging.getLogger("httpx").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    if not raw or (raw[0] not in COMMANDS and raw[0] not in {"-h", "--help", "--version"}):
        raw.insert(0, "serve")
    args = build_parser().parse_args(raw)
    from dokploy_mcp.config import load_dokploy_servers, load_settings

    try:
        settings = load_settings(**_overrides(args))
        servers = load_dokploy_servers(settings)
    except ConfigurationError as exc:
        print(f"dokploy-mcp: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings.log_level)
    if args.command == "tools":
        return _print_tools(settings)
    if args.command == "doctor":
        return _doctor(settings, servers)
    return _serve(settings, servers)


def _serve(settings: Settings, servers: DokployServers) -> int:
    from dokploy_mcp.server import build_server

    server = build_server(settings, servers=servers)
    logging.getLogger(__name__).info(
        "dokploy-mcp %s serving %s (read_only=%s, toolsets=%s)",
        __version__,
        settings.transport,
        settings.read_only,
        ",".join(settings.toolsets),
    )
    if settings.transport == "stdio":
        server.run("stdio")
        return 0
    import anyio

    from dokploy_mcp.http import serve_http

    anyio.run(serve_http, server, settings)
    return 0


def _print_tools(settings: Settings) -> int:
    from dokploy_mcp.registry import select_tools
    from dokploy_mcp.tools import all_specs

    rows = [("NAME", "TOOLSET", "READ-ONLY", "DESTRUCTIVE")]
    rows += [
        (spec.name, spec.toolset, "yes" if spec.read_only else "no", "yes" if spec.destructive else "no")
        for spec in select_tools(all_specs(), settings)
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print(f"\n{len(rows) - 1} tool(s); read-only mode: {'on' if settings.read_only else 'off'}")
    return 0


def _doctor(settings: Settings, servers: DokployServers) -> int:
    import anyio

    from dokploy_mcp.diagnostics import HealthReport, run_diagnostics
    from dokploy_mcp.runtime import Runtime

    async def check() -> HealthReport:
        async with Runtime(settings, servers) as runtime:
            return await run_diagnostics(runtime)

    report = anyio.run(check)
    print(f"dokploy-mcp {report.server.version} (supports Dokploy {report.server.supported_dokploy_version})")
    conf = report.configuration
    print(f"  settings: read-only {'on' if conf.read_only else 'off'}; toolsets {', '.join(conf.toolsets)}")
    for status in report.dokploy:
        label = f"Dokploy {status.name!r}" + (" (default)" if status.default else "")
        if status.authenticated:
            print(f"  ok    {label}: {status.url}, {status.version}, API key accepted")
        else:
            print(f"  FAIL  {label}: {status.url or 'no URL'}")
        if status.problem:
            print(f"        fix: {status.problem}")
    db = report.database
    if not db.configured:
        print("  -     database: DATABASE_URL not set (optional: database tools then need a target)")
    elif db.reachable:
        print(f"  ok    database: {db.target}, PostgreSQL {db.server_version}, user {db.user}")
    else:
        print(f"  FAIL  database: {db.target or 'DATABASE_URL'}")
        print(f"        fix: {db.problem}")
    print("all good" if report.ok else f"{len(report.problems)} problem(s) to fix")
    return 0 if report.ok else 1
