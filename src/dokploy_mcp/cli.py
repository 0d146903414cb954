"""Command line: ``dokploy-mcp [serve]``, ``tools``, ``doctor`` and ``bootstrap``.

Flags mirror the settings (DESIGN §2) and win over the environment. A bad setting prints one line on stderr
and exits with status 2. Logs go to stderr only: on stdio, stdout is the protocol channel.
"""

from __future__ import annotations

import argparse
import logging
import os
import stat
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from dokploy_mcp import SUPPORTED_DOKPLOY_VERSION, __version__
from dokploy_mcp.errors import ConfigurationError
from dokploy_mcp.redact import ScrubbingFilter, remember, scrub

if TYPE_CHECKING:
    from pydantic import SecretStr

    from dokploy_mcp.bootstrap import BootstrapResult
    from dokploy_mcp.config import DokployServers, Settings

COMMANDS = ("serve", "tools", "doctor", "bootstrap")


class _Parser(argparse.ArgumentParser):
    """argparse, but a bad flag is one line on stderr like every other settings error (the usage is in --help)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: {message} (see `{self.prog} --help`)\n")


def _refuse(exc: Exception) -> int:
    # One line whatever the message holds (a path with a line break, a parser's quoted context), and no secret.
    line = " ".join(scrub(str(exc)).split())
    print(f"dokploy-mcp: {line}", file=sys.stderr)
    return 2


def _config_flags() -> _Parser:
    common = _Parser(add_help=False)
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
    group.add_argument(
        "--call-budget",
        help="seconds a tool call may block before long work runs on as a job (DOKPLOY_MCP_CALL_BUDGET)",
    )
    group.add_argument(
        "--confirm",
        choices=["auto", "human", "token"],
        help="how destructive calls are confirmed (DOKPLOY_MCP_CONFIRM)",
    )
    group.add_argument("--state-dir", help="where the token secret and the audit log are kept (DOKPLOY_MCP_STATE_DIR)")
    group.add_argument("--audit-log", help="file of every change (JSON lines), or - for stderr (DOKPLOY_MCP_AUDIT_LOG)")
    group.add_argument(
        "--secret-file",
        help="file holding the secret that keys confirm tokens, shared by every worker (DOKPLOY_MCP_SECRET_FILE)",
    )
    group.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR (DOKPLOY_MCP_LOG_LEVEL)")
    group.add_argument(
        "--transport", choices=["stdio", "sse", "streamable-http"], help="default stdio (DOKPLOY_MCP_TRANSPORT)"
    )
    group.add_argument("--host", help="HTTP bind address, default 127.0.0.1 (DOKPLOY_MCP_HOST)")
    group.add_argument("--port", help="HTTP port, default 8000 (DOKPLOY_MCP_PORT)")
    group.add_argument("--auth-token", help="bearer token HTTP clients must send (DOKPLOY_MCP_AUTH_TOKEN)")
    group.add_argument("--allowed-hosts", help="comma list of Host header values (DOKPLOY_MCP_ALLOWED_HOSTS)")
    group.add_argument("--allowed-origins", help="comma list of Origin values (DOKPLOY_MCP_ALLOWED_ORIGINS)")
    group.add_argument(
        "--backup-key-file", help="file holding the 32-byte backup key, hex or base64 (DOKPLOY_MCP_BACKUP_KEY_FILE)"
    )
    group.add_argument("--backup-dir", help="backups directory, default <state-dir>/backups (DOKPLOY_MCP_BACKUP_DIR)")
    group.add_argument("--backup-s3-url", help="s3://bucket/prefix: keep our backups in S3 (DOKPLOY_MCP_BACKUP_S3_URL)")
    group.add_argument("--s3-endpoint", help="S3 endpoint when not AWS, e.g. MinIO (DOKPLOY_MCP_S3_ENDPOINT)")
    return common


def build_parser() -> _Parser:
    common = _config_flags()
    parser = _Parser(
        prog="dokploy-mcp",
        description="MCP server that deploys, repairs and operates self-hosted Supabase stacks on Dokploy "
        f"(supports Dokploy {SUPPORTED_DOKPLOY_VERSION}).",
    )
    parser.add_argument("--version", action="version", version=f"dokploy-mcp {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.add_parser("serve", parents=[common], help="run the MCP server (the default command)")
    sub.add_parser("tools", parents=[common], help="print the tools these settings register")
    sub.add_parser("doctor", parents=[common], help="check the settings, each Dokploy server and the database")
    boot = sub.add_parser(
        "bootstrap",
        help="make a fresh Dokploy usable: first admin, API key without rate limit, key file",
        description="Wait for Dokploy, create its first admin (or sign in), create an API key with rate limiting "
        "off, write it to a file (mode 600) and print the MCP client configuration. Safe to run again.",
    )
    boot.add_argument("--url", help="Dokploy's address, e.g. http://203.0.113.10:3000 (default: DOKPLOY_URL)")
    boot.add_argument("--email", help="the admin's e-mail (default: DOKPLOY_ADMIN_EMAIL)")
    boot.add_argument(
        "--password-file",
        help="file holding the admin's password (default: the DOKPLOY_ADMIN_PASSWORD variable; never a flag, "
        "so it stays out of the process list)",
    )
    boot.add_argument("--name", default="Admin", help="the admin's display name for a new install")
    boot.add_argument(
        "--key-file", help="where to write the key (default: DOKPLOY_API_KEY_FILE, else ~/.config/dokploy-mcp/api-key)"
    )
    boot.add_argument("--key-name", default="dokploy-mcp", help="name of the API key in Dokploy (1-32 characters)")
    boot.add_argument("--wait", type=float, default=300.0, help="seconds to wait for /api/health (default 300)")
    boot.add_argument("--timeout", type=float, default=30.0, help="seconds per request (sign-up gets 180)")
    boot.add_argument("--server-ip", help="also set Dokploy's public server IP (used for generated sslip.io domains)")
    return parser


def _overrides(args: argparse.Namespace) -> dict[str, Any]:
    names = (
        "read_only",
        "toolsets",
        "instances_file",
        "timeout",
        "call_budget",
        "confirm",
        "state_dir",
        "audit_log",
        "secret_file",
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
    # On the handler, not a logger: a handler's filters see every record that reaches it, also those propagated
    # from other loggers (uvicorn, the SDK, httpx), message and traceback alike.
    for handler in logging.getLogger().handlers:
        handler.addFilter(ScrubbingFilter())
    # httpx logs every request at INFO; one line per Dokploy call is noise unless debugging.
    logging.getLogger("httpx").setLevel(logging.DEBUG if level == "DEBUG" else logging.WARNING)


def main(argv: Sequence[str] | None = None) -> int:
    raw = list(sys.argv[1:] if argv is None else argv)
    if not raw or (raw[0] not in COMMANDS and raw[0] not in {"-h", "--help", "--version"}):
        raw.insert(0, "serve")
    args = build_parser().parse_args(raw)
    try:
        return _run(args)
    except ConfigurationError as exc:
        return _refuse(exc)


def _run(args: argparse.Namespace) -> int:
    if args.command == "bootstrap":
        return _bootstrap(args)
    from dokploy_mcp.config import load_dokploy_servers, load_settings

    settings = load_settings(**_overrides(args))
    _check_toolsets(settings)
    _check_database_url(settings)
    servers = load_dokploy_servers(settings)
    configure_logging(settings.log_level)
    if args.command == "tools":
        return _print_tools(settings)
    if args.command == "doctor":
        return _doctor(settings, servers)
    return _serve(settings, servers)


def _check_toolsets(settings: Settings) -> None:
    from dokploy_mcp.registry import check_toolsets
    from dokploy_mcp.tools import all_specs

    check_toolsets(settings, all_specs())


def _check_database_url(settings: Settings) -> None:
    if settings.database_url is None:
        return
    # Imported only when set: psycopg costs start-up time that a server without DATABASE_URL should not pay.
    from dokploy_mcp.postgres.conninfo import parse_setting

    parse_setting(settings.database_url.get_secret_value())


def _serve(settings: Settings, servers: DokployServers) -> int:
    from dokploy_mcp.jobs import Jobs
    from dokploy_mcp.server import build_server, describe_failure

    jobs = Jobs(describe_failure)
    server = build_server(settings, servers=servers, jobs=jobs)
    # Everything built so far (the SDK, models, schemas) lives as long as the process: moved out of the collector's
    # reach, it no longer makes full collections slow while large results are built (measured in benchmarks/).
    import gc

    gc.freeze()
    logging.getLogger(__name__).info(
        "dokploy-mcp %s serving %s (read_only=%s, toolsets=%s)",
        __version__,
        settings.transport,
        settings.read_only,
        ",".join(settings.toolsets),
    )
    import anyio

    if settings.transport == "stdio":
        from dokploy_mcp.stdio import serve_stdio

        anyio.run(serve_stdio, server, jobs)
        return 0

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

    from dokploy_mcp.diagnostics import SelfCheckReport, run_diagnostics
    from dokploy_mcp.runtime import Runtime

    async def check() -> SelfCheckReport:
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


def _bootstrap_url(args: argparse.Namespace) -> str:
    from dokploy_mcp.config import validate_dokploy_url

    setting = "--url" if args.url else "DOKPLOY_URL"
    url = args.url or os.environ.get("DOKPLOY_URL")
    if not url:
        raise ConfigurationError("bootstrap needs Dokploy's address: pass --url or set DOKPLOY_URL", setting="--url")
    return validate_dokploy_url(url, setting=setting, credentials_go="DOKPLOY_ADMIN_EMAIL / DOKPLOY_ADMIN_PASSWORD")


def _bootstrap_password(args: argparse.Namespace) -> SecretStr | None:
    from pydantic import SecretStr

    from dokploy_mcp.config import KEY_FILE_LIMIT
    from dokploy_mcp.settingfiles import read_setting_file

    if args.password_file:
        text = read_setting_file(
            Path(args.password_file),
            label="--password-file",
            setting="--password-file",
            limit=KEY_FILE_LIMIT,
            hint="point it at a file holding the admin's password",
        )
        password = SecretStr(text.strip())
    elif os.environ.get("DOKPLOY_ADMIN_PASSWORD"):
        password = SecretStr(os.environ["DOKPLOY_ADMIN_PASSWORD"])
    else:
        return None
    remember(password)
    return password


def _bootstrap_key_file(args: argparse.Namespace) -> Path:
    from dokploy_mcp.bootstrap import default_key_file

    setting = "--key-file" if args.key_file else "DOKPLOY_API_KEY_FILE"
    key_file = Path(args.key_file or os.environ.get("DOKPLOY_API_KEY_FILE") or default_key_file()).expanduser()
    # The key file is read, then replaced: anything but a regular file (or nothing yet) is a mistake to stop on now,
    # not after waiting minutes for Dokploy.
    try:
        mode = key_file.stat().st_mode
    except FileNotFoundError:
        return key_file
    except (OSError, ValueError) as exc:
        raise ConfigurationError(
            f"{setting} names {str(key_file)!r}, which cannot be used ({exc})", setting=setting
        ) from None
    if not stat.S_ISREG(mode):
        raise ConfigurationError(
            f"{setting} names {str(key_file)!r}, which is not a regular file; name the file to write the key to",
            setting=setting,
        )
    return key_file


def _bootstrap(args: argparse.Namespace) -> int:
    import anyio

    from dokploy_mcp.bootstrap import bootstrap
    from dokploy_mcp.errors import DokployMCPError, InputError
    from dokploy_mcp.explain import explain

    configure_logging("INFO")
    url, password, key_file = _bootstrap_url(args), _bootstrap_password(args), _bootstrap_key_file(args)
    try:
        result = anyio.run(
            lambda: bootstrap(
                url=url,
                email=args.email or os.environ.get("DOKPLOY_ADMIN_EMAIL"),
                password=password,
                key_file=key_file,
                name=args.name,
                key_name=args.key_name,
                wait_seconds=args.wait,
                request_timeout=args.timeout,
                server_ip=args.server_ip,
            )
        )
    except (InputError, ConfigurationError) as exc:
        return _refuse(exc)
    except DokployMCPError as exc:
        print(f"dokploy-mcp: bootstrap failed: {scrub(explain(exc))}", file=sys.stderr)
        return 1
    _report_bootstrap(result)
    return 0


def _report_bootstrap(result: BootstrapResult) -> None:
    import json

    from dokploy_mcp.bootstrap import client_config_snippet

    if result.key_created:
        admin = "created the first admin" if result.admin_created else "signed in as the existing admin"
        print(
            f"Dokploy {result.version} at {result.url}: {admin}, created an API key without rate limit, "
            f"wrote it to {result.key_file} (mode 600).",
            file=sys.stderr,
        )
    else:
        print(
            f"Dokploy {result.version} at {result.url} is already bootstrapped: the key in {result.key_file} works.",
            file=sys.stderr,
        )
    print("MCP client configuration:", file=sys.stderr)
    print(json.dumps(client_config_snippet(result), indent=2))
