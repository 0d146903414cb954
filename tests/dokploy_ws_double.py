"""A WebSocket double of Dokploy v0.30.2's ``/drawer-logs``: a real server on 127.0.0.1 speaking tRPC v11's WebSocket
protocol with superjson, as far as ``backup.restoreBackupWithLogs`` uses it.

What it does as Dokploy does (sources in :mod:`dokploy_mcp.dokploy.restore`'s docstring):

- Every upgrade to ``/drawer-logs`` is accepted, whatever the key (drawer-logs.ts upgrades before it authenticates).
  A wrong or missing ``x-api-key`` then ends, by default, in a close frame without a status (Dokploy's bare
  ``ws.close()``); with ``auth_failure="error-then-close"`` the subscription is first answered with tRPC's
  ``UNAUTHORIZED`` error (``protectedProcedure``), the other order the same race can take.
- The first message is a request (no ``connectionParams`` message is expected); its ``params.input`` is superjson's
  ``{"json": ...}``. The input is held to ``apiRestoreBackup``'s rules; a violation is a ``BAD_REQUEST`` error with
  ``zodError`` (and, as for any error before the generator runs, neither ``started`` nor ``stopped``).
- Then ``started``, one ``data`` message per log line (``{"json": line}``), and ``stopped``.

What a test scripts (:class:`RestoreScript`): the lines, a pause between them, raw frames sent after ``started``, an
error before the start or after the lines, and how the stream ends: ``stopped``, silence, an abrupt TCP close, or
a close frame with a code. Upgrades can be refused with an HTTP status instead (a proxy in front of Dokploy).

Inputs, request messages and upgrade headers are recorded for the test to inspect.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

__all__ = ["PROCEDURE", "DrawerLogsDouble", "RestoreScript", "drawer_logs_double", "restore_log", "trpc_error"]

PROCEDURE = "backup.restoreBackupWithLogs"
# The double's own websockets logs stay out of the tests' log captures: they would show its frames verbatim.
_LOGGER = logging.getLogger("tests.dokploy_ws_double")
_LOGGER.setLevel(logging.INFO)

_DATABASE_TYPES = ("postgres", "mysql", "mariadb", "mongo", "web-server", "libsql")
_BACKUP_TYPES = ("database", "compose")
_JSONRPC_CODES = {"BAD_REQUEST": -32600, "UNAUTHORIZED": -32001, "FORBIDDEN": -32003, "NOT_FOUND": -32004}
_HTTP_STATUS = {"BAD_REQUEST": 400, "UNAUTHORIZED": 401, "FORBIDDEN": 403, "NOT_FOUND": 404}


def restore_log(backup_file: str, *, database: str = "shop", user: str = "shopuser", ok: bool = True) -> list[str]:
    """The lines ``restorePostgresBackup`` logs, rclone's S3 keys in clear as Dokploy writes them."""
    command = (
        'CONTAINER_ID=$(docker ps -q --filter "status=running" --filter '
        '"label=com.docker.swarm.service.name=postgres-override-wireless-transmitter-d7shf2" | head -n 1) && '
        "rclone cat --s3-provider=Minio --s3-access-key-id=localaccesskey --s3-secret-access-key=localsecretkey "
        "--s3-region=us-east-1 --s3-endpoint=http\\://127.0.0.1\\:9000 --s3-no-check-bucket --s3-force-path-style "
        f'":s3:dokploy-backups/{backup_file}" | gunzip | docker exec -i $CONTAINER_ID sh -c '
        f'"pg_restore -U {user} -d {database} -O --clean --if-exists"'
    )
    lines = ["Starting restore...", f"Backup path: {backup_file}", f"Executing command: {command}"]
    if ok:
        return [*lines, "Restore completed successfully!"]
    failure = f"Error: Command failed: {command}\npg_restore: error: input file does not appear to be a valid archive"
    # restorePostgresBackup logs the error and rethrows it; the router's catch logs it a second time.
    return [*lines, failure, failure]


def trpc_error(code: str, message: str, *, zod: dict[str, Any] | None = None) -> dict[str, Any]:
    """An error shape as Dokploy's errorFormatter builds it, before superjson wraps it."""
    data = {"code": code, "httpStatus": _HTTP_STATUS.get(code, 500), "path": PROCEDURE, "zodError": zod}
    return {"message": message, "code": _JSONRPC_CODES.get(code, -32603), "data": data}


@dataclass
class RestoreScript:
    """What the double does once a valid subscription arrives."""

    lines: list[str] = field(default_factory=lambda: restore_log("shop/daily/2026-12-04T19-03-11-716Z.sql.gz"))
    #: Seconds between two lines.
    pause: float = 0.0
    #: Frames sent as they are, right after ``started`` (keep-alives, foreign ids, garbage).
    raw_frames: list[str | bytes] = field(default_factory=list)
    #: An error instead of ``started``: what tRPC sends for a failed input check or middleware.
    error_before_start: dict[str, Any] | None = None
    #: An error after the lines, followed by ``stopped``: an error thrown inside the generator.
    error_after_lines: dict[str, Any] | None = None
    end: Literal["stopped", "silence", "abort", "close"] = "stopped"
    #: The close code for ``end="close"``.
    close_code: int = 1011


@dataclass
class DrawerLogsDouble:
    """The server and what it saw."""

    api_key: str
    script: RestoreScript = field(default_factory=RestoreScript)
    auth_failure: Literal["close", "error-then-close"] = "close"
    #: Refuse every upgrade with this HTTP status instead of accepting it.
    reject_upgrade: int | None = None
    port: int = 0
    connections: int = 0
    headers: list[Headers] = field(default_factory=list)
    requests: list[Any] = field(default_factory=list)
    inputs: list[dict[str, Any]] = field(default_factory=list)
    #: How each connection ended, as the server saw it (the close code it received, or None).
    closes: list[int | None] = field(default_factory=list)
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def url(self) -> str:
        """The Dokploy URL a client is configured with (the WebSocket is at ``/drawer-logs`` under it)."""
        return f"http://127.0.0.1:{self.port}"

    def process_request(self, connection: ServerConnection, request: Request) -> Response | None:
        if request.path.split("?", 1)[0] != "/drawer-logs":
            return connection.respond(404, "Not Found\n")
        if self.reject_upgrade is not None:
            return connection.respond(self.reject_upgrade, "Refused\n")
        return None

    async def handler(self, connection: ServerConnection) -> None:
        self.connections += 1
        request = connection.request
        assert request is not None
        self.headers.append(request.headers)
        try:
            await self._serve(connection, authorized=request.headers.get("x-api-key") == self.api_key)
        except ConnectionClosed:
            pass
        finally:
            self.closes.append(connection.close_code if connection.close_code != 1006 else None)
            self.finished.set()

    async def _serve(self, connection: ServerConnection, *, authorized: bool) -> None:
        if not authorized and self.auth_failure == "close":
            await _close_without_status(connection)
            return
        message = json.loads(await asyncio.wait_for(connection.recv(), timeout=10))
        self.requests.append(message)
        ident = message.get("id") if isinstance(message, dict) else None
        if not authorized:
            await _send(connection, {"id": ident, "error": {"json": trpc_error("UNAUTHORIZED", "UNAUTHORIZED")}})
            await _close_without_status(connection)
            return
        problem = _request_problem(message)
        if problem is not None:
            await _send(connection, {"id": ident, "error": {"json": problem}})
            await connection.wait_closed()
            return
        self.inputs.append(message["params"]["input"]["json"])
        await self._run_script(connection, ident)

    async def _run_script(self, connection: ServerConnection, ident: Any) -> None:
        script = self.script
        if script.error_before_start is not None:
            await _send(connection, {"id": ident, "error": {"json": script.error_before_start}})
            await connection.wait_closed()
            return
        await _send(connection, {"id": ident, "result": {"type": "started"}})
        for frame in script.raw_frames:
            await connection.send(frame)
        for line in script.lines:
            if script.pause:
                await asyncio.sleep(script.pause)
            await _send(connection, {"id": ident, "result": {"type": "data", "data": {"json": line}}})
        if script.end == "abort":
            assert connection.transport is not None
            connection.transport.abort()
            return
        if script.end == "close":
            await connection.close(script.close_code, "handler failed")
            return
        if script.end == "stopped":
            if script.error_after_lines is not None:
                await _send(connection, {"id": ident, "error": {"json": script.error_after_lines}})
            await _send(connection, {"id": ident, "result": {"type": "stopped"}})
        await connection.wait_closed()


async def _send(connection: ServerConnection, message: dict[str, Any]) -> None:
    await connection.send(json.dumps(message))


async def _close_without_status(connection: ServerConnection) -> None:
    # Node's ws.close() with no argument sends an empty close frame; websockets does the same for a code of None.
    await connection.close(cast(int, None))


def _field_problems(value: Any) -> dict[str, list[str]]:
    """``apiRestoreBackup``'s checks (schema/backups.ts), in zod's words."""
    problems: dict[str, list[str]] = {}

    def need_string(name: str, *, non_empty: bool) -> None:
        item = value.get(name)
        if not isinstance(item, str):
            problems[name] = [f"Invalid input: expected string, received {type(item).__name__}"]
        elif non_empty and not item:
            problems[name] = ["Too small: expected string to have >=1 characters"]

    need_string("databaseId", non_empty=False)
    for name in ("databaseName", "backupFile", "destinationId"):
        need_string(name, non_empty=True)
    for name, options in (("databaseType", _DATABASE_TYPES), ("backupType", _BACKUP_TYPES)):
        if value.get(name) not in options:
            problems[name] = [f"Invalid option: expected one of {'|'.join(options)}"]
    metadata = value.get("metadata")
    if metadata is not None:
        postgres = metadata.get("postgres") if isinstance(metadata, dict) else None
        service = metadata.get("serviceName") if isinstance(metadata, dict) else None
        if not isinstance(metadata, dict) or not isinstance(service, str | None):
            problems["metadata"] = ["Invalid input"]
        elif postgres is not None and not isinstance(postgres.get("databaseUser"), str):
            problems["metadata"] = ["Invalid input: expected string, received undefined"]
    return problems


def _request_problem(message: Any) -> dict[str, Any] | None:
    """The tRPC error a request earns before the procedure runs, or None."""
    if not isinstance(message, dict) or message.get("method") != "subscription":
        return trpc_error("BAD_REQUEST", "the double expects one subscription request")
    params = message.get("params")
    path = params.get("path") if isinstance(params, dict) else None
    if path != PROCEDURE:
        return trpc_error("NOT_FOUND", f'No "subscription"-procedure on path "{path}"')
    raw = params.get("input") if isinstance(params, dict) else None
    value = raw.get("json") if isinstance(raw, dict) else None
    if not isinstance(value, dict):
        zod = {"formErrors": ["Invalid input: expected object, received undefined"], "fieldErrors": {}}
        return trpc_error("BAD_REQUEST", "Input validation failed", zod=zod)
    problems = _field_problems(value)
    if problems:
        return trpc_error("BAD_REQUEST", "Input validation failed", zod={"formErrors": [], "fieldErrors": problems})
    return None


@asynccontextmanager
async def drawer_logs_double(
    api_key: str,
    script: RestoreScript | None = None,
    *,
    auth_failure: Literal["close", "error-then-close"] = "close",
    reject_upgrade: int | None = None,
) -> AsyncIterator[DrawerLogsDouble]:
    """Serve a double on a free port of 127.0.0.1 for the duration of the block."""
    double = DrawerLogsDouble(
        api_key=api_key, script=script or RestoreScript(), auth_failure=auth_failure, reject_upgrade=reject_upgrade
    )
    server: Server = await serve(
        double.handler,
        "127.0.0.1",
        0,
        process_request=double.process_request,
        compression=None,
        max_size=None,
        logger=_LOGGER,
    )
    double.port = next(iter(server.sockets)).getsockname()[1]
    try:
        yield double
    finally:
        server.close()
        with suppress(TimeoutError):
            await asyncio.wait_for(server.wait_closed(), timeout=5)
