"""Restore a backup from S3: Dokploy's tRPC subscription ``backup.restoreBackupWithLogs`` over a WebSocket.

Dokploy v0.30.2 has no REST restore. The procedure is a subscription with ``openapi.enabled: false``, served only on
the WebSocket ``<url>/drawer-logs``, in tRPC v11's WebSocket protocol with superjson. :func:`stream_restore` speaks
that protocol within limits and yields the restore's log lines, scrubbed like every other text from Dokploy.

The facts below were read in Dokploy's and tRPC's sources (stored snapshots, not a live server). The exact v0.30.2
files are not in the index: ``backup.ts`` is read at 0496b3b, whose other procedures match the v0.30.2 recordings
(manualBackupPostgres passes the shell error through, listBackupFiles lists ``--no-modtime``). Line numbers are
given where the file is small enough to count; elsewhere the function is named.

- Endpoint and auth: Dokploy's ``apps/dokploy/server/wss/drawer-logs.ts`` (80d5313) :17-21 mounts tRPC's
  ``applyWSSHandler`` on the path, :29-33 upgrades every request to ``/drawer-logs`` without checking anything, and
  :36-43 then closes a socket whose request ``validateRequest`` refuses with a bare ``ws.close()``: a close frame
  without a status (1005 at this end), never 4003 and never an HTTP 401. ``createTRPCContext``
  (``apps/dokploy/server/api/trpc.ts``, 023d73b) runs ``validateRequest(req)`` on the upgrade request too, so the
  ``x-api-key`` header authenticates, and ``protectedProcedure`` answers a refused key with an ``UNAUTHORIZED``
  tRPC error: whichever comes first, a refused key ends as :class:`~dokploy_mcp.dokploy.errors.DokployAuthError`.
- No ``connectionParams`` message: the web client (``apps/dokploy/utils/api.ts``, ``createWSClient``) sets none, and
  tRPC's ``getWSConnectionHandler`` (``packages/server/src/adapters/ws.ts``, 00954eb) builds the context at once and
  treats every message as a request; one is expected first only when the URL carries ``?connectionParams=1``.
- Request: ``{"id": 1, "method": "subscription", "params": {"path": ..., "input": {"json": <input>}}}``; tRPC's
  ``parseTRPCMessage`` deserializes ``params.input`` with the router's transformer, superjson
  (``initTRPC...create({transformer: superjson})`` in trpc.ts), which reads the ``json`` key.
- Input: ``apiRestoreBackup`` (``packages/server/src/db/schema/backups.ts``, 0bb0fcd): databaseId, databaseType,
  backupType ``database|compose``, databaseName and backupFile and destinationId (non-empty strings), and
  ``metadata {serviceName?, postgres?: {databaseUser}}`` for a compose. For a compose, databaseId is the composeId.
- Answers: ``{"id", "result": {"type": "started"}}`` once the generator runs, then one ``{"type": "data", "data":
  {"json": <line>}}`` per log line, then ``{"type": "stopped"}`` when it returns (ws.ts, the subscription loop).
  An error is ``{"id", "error": {"json": {"message", "code": <JSON-RPC number>, "data": {"code", "httpStatus",
  "path", "zodError"}}}}`` (ws.ts ``respond`` + ``transformTRPCResponse``, trpc.ts ``errorFormatter``): an input or
  middleware error comes alone, an error raised inside the generator is followed by ``stopped``.
- Outcome: the generator (``backup.ts``, ``restoreBackupWithLogs``) runs the restore in the background and yields
  its log queue; a failed restore is not a tRPC error but a line ``Error: <message>`` (``runRestore().catch``), and
  the stream still ends with ``stopped``. ``restorePostgresBackup`` (``packages/server/src/utils/restore/postgres.ts``
  at 0496b3b :20-21, :34, :42, :44-50) logs "Starting restore...", the backup path, ``Executing command: <the shell
  command, rclone's S3 keys included>``, then "Restore completed successfully!" or ``Error: ...``. So success is that
  line, and an ``Error:`` line or a stream without it is a failure here.
- Closing the socket only stops the stream: ``runRestore`` is not cancelled, so a restore cut off by a timeout or a
  lost connection may still be running on the server.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections import deque
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import httpx
from pydantic import SecretStr
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus, WebSocketException
from websockets.frames import CloseCode

from dokploy_mcp.dokploy.answers import Answer, TooDeep, api_error, load_json
from dokploy_mcp.dokploy.errors import (
    DokployAPIError,
    DokployAuthError,
    DokployError,
    DokployNotFoundError,
    DokployProtocolError,
    DokployRestoreError,
    DokployTimeoutError,
    DokployTransportError,
)
from dokploy_mcp.errors import InputError
from dokploy_mcp.httpio import USER_AGENT

__all__ = [
    "PROCEDURE",
    "BackupType",
    "DokployRestoreError",
    "RestoreLimits",
    "RestoreTarget",
    "stream_restore",
    "websocket_url",
]

logger = logging.getLogger(__name__)
# websockets logs every header and frame at DEBUG: the x-api-key of the upgrade and log lines not yet scrubbed. Its
# logger here is pinned at INFO, so those records are never even built, whatever level the process runs at.
_WIRE_LOGGER = logging.getLogger(f"{__name__}.wire")
_WIRE_LOGGER.setLevel(logging.INFO)

PROCEDURE = "backup.restoreBackupWithLogs"
_PATH = f"/{PROCEDURE}"
_SOCKET_PATH = "/drawer-logs"
_SUBSCRIPTION_ID = 1
_SUCCESS_LINE = "Restore completed successfully!"
_ERROR_PREFIX = "Error:"
# Newer tRPC servers answer the client's keep-alive with these bare text frames; they carry nothing.
_KEEPALIVE = frozenset({"PING", "PONG"})
# Messages that are not log lines (started, stopped, keep-alives, other ids) on top of max_lines.
_SPARE_MESSAGES = 64
_TAIL_LINES = 20

BackupType = Literal["database", "compose"]

_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
# A path as backup.listBackupFiles returns it: relative to the bucket, plain characters only. Dokploy builds a shell
# command from the file and the database name (restore/utils.ts getRestoreCommand puts the name in ``sh -c "..."``
# unquoted; a shell-injection CVE was filed against this procedure): this is the client's guard, whatever the server
# checks.
_BACKUP_FILE = re.compile(r"[A-Za-z0-9._/-]{1,1024}")
_SQL_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")
_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}")


@dataclass(frozen=True)
class RestoreLimits:
    """What a restore may take. Dokploy logs nothing while ``pg_restore`` runs (it buffers the command's output), so
    ``idle_timeout``, the longest silence accepted, must cover a whole restore of the largest database."""

    max_message_bytes: int = 1024 * 1024
    max_lines: int = 20_000
    idle_timeout: float = 1800.0
    deadline: float = 7200.0
    open_timeout: float = 30.0


@dataclass(frozen=True)
class RestoreTarget:
    """What to restore, as ``apiRestoreBackup`` takes it (PostgreSQL only).

    ``database_id`` is the postgres service's id for a ``database`` backup, the compose's id for a ``compose`` one;
    a compose restore also needs the compose service running PostgreSQL and the role that restores.
    ``backup_file`` is a ``path`` from ``backup.listBackupFiles``.
    """

    backup_type: BackupType
    database_id: str
    database_name: str
    backup_file: str
    destination_id: str
    service_name: str | None = None
    database_user: str | None = None

    def trpc_input(self) -> dict[str, Any]:
        """The subscription's input, before superjson wraps it."""
        payload: dict[str, Any] = {
            "databaseId": self.database_id,
            "databaseType": "postgres",
            "backupType": self.backup_type,
            "databaseName": self.database_name,
            "backupFile": self.backup_file,
            "destinationId": self.destination_id,
        }
        if self.backup_type == "compose":
            payload["metadata"] = {"serviceName": self.service_name, "postgres": {"databaseUser": self.database_user}}
        return payload


def _require(pattern: re.Pattern[str], value: object, field: str, looks_like: str) -> None:
    if not isinstance(value, str) or not pattern.fullmatch(value):
        raise InputError(f"{field} must be {looks_like}", field=field)


def validate_target(target: RestoreTarget) -> None:
    """Refuse, before any connection, a target whose values could not have come from Dokploy's own listings."""
    if target.backup_type not in ("database", "compose"):
        raise InputError("backup_type must be 'database' or 'compose'", field="backup_type")
    _require(_ID, target.database_id, "database_id", "a Dokploy id (letters, digits, '_' and '-')")
    _require(_ID, target.destination_id, "destination_id", "a Dokploy id (letters, digits, '_' and '-')")
    _require(_SQL_NAME, target.database_name, "database_name", "a plain PostgreSQL name ([A-Za-z_][A-Za-z0-9_]*)")
    plain_path = "a path from backup.listBackupFiles (letters, digits, '.', '_', '-', '/'; relative, no '..')"
    _require(_BACKUP_FILE, target.backup_file, "backup_file", plain_path)
    segments = target.backup_file.split("/")
    if target.backup_file.startswith(("/", "-")) or any(part in {"", ".", ".."} for part in segments):
        raise InputError(f"backup_file must be {plain_path}", field="backup_file")
    if target.backup_type == "compose":
        _require(_SERVICE_NAME, target.service_name, "service_name", "the compose service running PostgreSQL")
        _require(_SQL_NAME, target.database_user, "database_user", "a plain PostgreSQL role name")
    elif target.service_name is not None or target.database_user is not None:
        field = "service_name" if target.service_name is not None else "database_user"
        raise InputError(f"{field} is only for a compose backup", field=field)


def websocket_url(base_url: str) -> str:
    """``ws://host:3000/drawer-logs`` for ``http://host:3000`` (``wss://`` for https), keeping a path prefix."""
    parts = urlsplit(base_url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme)
    if scheme is None:
        raise ValueError(f"not an http(s) URL: {base_url!r}")
    return urlunsplit((scheme, parts.netloc, parts.path.rstrip("/") + _SOCKET_PATH, "", ""))


@dataclass(frozen=True)
class _Peer:
    """One Dokploy server as a restore sees it, and the errors it turns failures into."""

    server: str
    base_url: str
    api_key: SecretStr | None
    scrub: Callable[[str], str]
    limits: RestoreLimits

    def protocol_error(self, reason: str) -> DokployProtocolError:
        return DokployProtocolError(reason, server=self.server, path=_PATH)

    def timeout(self, seconds: float) -> DokployTimeoutError:
        return DokployTimeoutError(server=self.server, url=self.base_url, path=_PATH, timeout=seconds)

    def refused(self, status: int) -> DokployAPIError:
        if status in {401, 403}:
            kind: type[DokployAPIError] = DokployAuthError
            message = f"the WebSocket upgrade was refused with HTTP {status}"
        elif status == 404:
            kind, message = DokployNotFoundError, "no WebSocket endpoint at this path (is this Dokploy?)"
        else:
            kind, message = DokployAPIError, f"the WebSocket upgrade was answered with HTTP {status}"
        return kind(server=self.server, status=status, path=_SOCKET_PATH, message=message)

    def unreachable(self, exc: BaseException) -> DokployTransportError:
        detail = self.scrub(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
        return DokployTransportError(f"{detail} ({_SOCKET_PATH})", server=self.server, url=self.base_url)

    def trpc_error(self, raw: object) -> DokployAPIError | DokployProtocolError:
        """The error a tRPC error message stands for, mapped like the same error over REST."""
        shape = raw.get("json", raw) if isinstance(raw, dict) else None
        if not isinstance(shape, dict):
            return self.protocol_error("sent an error message of the wrong shape")
        raw_data = shape.get("data")
        data: dict[str, Any] = raw_data if isinstance(raw_data, dict) else {}
        status = data.get("httpStatus")
        if not isinstance(status, int) or isinstance(status, bool) or not 400 <= status < 600:
            status = 500
        payload = {"message": shape.get("message"), "code": data.get("code"), "data": data}
        answer = Answer(status=status, reason="", headers=httpx.Headers(), body=bytearray())
        return api_error(answer, payload, server=self.server, path=_PATH, scrub=self.scrub)


def _clip(line: str) -> str:
    # Dokploy's error line is the whole shell command and then the cause: keep its head and, above all, its end.
    return line if len(line) <= 480 else f"{line[:100]} … {line[-360:]}"


def _superjson_text(data: object) -> str | None:
    value = data.get("json") if isinstance(data, dict) else data
    return value if isinstance(value, str) else None


class _Run:
    """What one subscription has received so far, and what each new message means."""

    def __init__(self, peer: _Peer) -> None:
        self.peer = peer
        self.messages = 0
        self.lines = 0
        self.started = False
        self.stopped = False
        self.succeeded = False
        self.failure: str | None = None
        self.tail: deque[str] = deque(maxlen=_TAIL_LINES)

    def failed(self, reason: str, close_code: int | None = None) -> DokployRestoreError:
        return DokployRestoreError(reason, server=self.peer.server, last_lines=list(self.tail), close_code=close_code)

    def read(self, raw: str | bytes) -> str | None:
        """The log line ``raw`` carries, or None for a message that carries none; raises on an error message."""
        self.messages += 1
        if self.messages > self.peer.limits.max_lines + _SPARE_MESSAGES:
            raise self.peer.protocol_error(f"sent more than {self.messages - 1} messages, more than this client reads")
        if isinstance(raw, bytes):
            raise self.peer.protocol_error("sent a binary message, where tRPC sends JSON text")
        if raw in _KEEPALIVE:
            return None
        try:
            message = load_json(raw.encode())
        except TooDeep:
            raise self.peer.protocol_error("sent a message nested deeper than this client reads") from None
        except ValueError:
            raise self.peer.protocol_error("sent a message that is not JSON") from None
        if not isinstance(message, dict):
            raise self.peer.protocol_error("sent a message that is not a JSON object")
        if message.get("method") == "reconnect":
            raise self.failed("Dokploy asked its WebSocket clients to reconnect (it is restarting)")
        ident = message.get("id")
        if "error" in message and ident in (_SUBSCRIPTION_ID, None):
            raise self.peer.trpc_error(message["error"])
        return self._result(message.get("result")) if ident == _SUBSCRIPTION_ID else None

    def _result(self, result: object) -> str | None:
        if not isinstance(result, dict):
            raise self.peer.protocol_error("answered the subscription without a result")
        kind = result.get("type", "data")
        if kind == "started":
            self.started = True
            return None
        if kind == "stopped":
            self.stopped = True
            return None
        if kind != "data":
            raise self.peer.protocol_error("sent a subscription result of an unknown type")
        text = _superjson_text(result.get("data"))
        if text is None:
            raise self.peer.protocol_error("sent a log entry that is not text")
        self.lines += 1
        if self.lines > self.peer.limits.max_lines:
            raise self.peer.protocol_error(f"sent more than {self.peer.limits.max_lines} log lines")
        line = self.peer.scrub(text)
        self.tail.append(_clip(line))
        if text.startswith(_ERROR_PREFIX):
            self.failure = line
        elif text.strip() == _SUCCESS_LINE:
            self.succeeded = True
        return line

    def closed(self, exc: ConnectionClosed) -> DokployError:
        """The error for a connection that closed before ``stopped``."""
        if exc.sent is not None and exc.sent.code == CloseCode.MESSAGE_TOO_BIG:
            limit = self.peer.limits.max_message_bytes
            return self.peer.protocol_error(f"sent a message larger than {limit} bytes, the most this client reads")
        code = exc.rcvd.code if exc.rcvd is not None else None
        if code in {4001, 4003, CloseCode.POLICY_VIOLATION} or (code == CloseCode.NO_STATUS_RCVD and not self.started):
            # Dokploy refuses a key by closing without a status (drawer-logs.ts :40-43), before anything started.
            how = "without a status" if code == CloseCode.NO_STATUS_RCVD else f"with code {code}"
            return DokployAuthError(
                server=self.peer.server,
                status=403 if code == 4003 else 401,
                path=_SOCKET_PATH,
                message=f"Dokploy closed the WebSocket {how} before the restore started: it refused the API key",
            )
        how = f"with code {code}" if code is not None else "without a close frame"
        return self.failed(
            f"the connection closed {how} before Dokploy reported the end of the restore; the restore may still be "
            "running on the server: check the database before trying again",
            close_code=code if code is not None else CloseCode.ABNORMAL_CLOSURE,
        )

    def outcome(self) -> None:
        """Raise unless the stream said the restore succeeded."""
        if self.failure is not None:
            raise self.failed(f"Dokploy reported {_clip(self.failure)}")
        if not self.succeeded:
            raise self.failed(f"the restore ended without Dokploy reporting {_SUCCESS_LINE!r}")


def stream_restore(
    target: RestoreTarget,
    *,
    server: str,
    base_url: str,
    api_key: SecretStr | None,
    scrub: Callable[[str], str],
    limits: RestoreLimits | None = None,
) -> AsyncGenerator[str, None]:
    """Run the restore and yield its log lines, scrubbed, until Dokploy reports the end.

    ``target`` is checked at once, before any connection (:class:`~dokploy_mcp.errors.InputError` naming the field);
    the connection opens at the first iteration. After the last line the iteration raises unless Dokploy reported
    success.

    Raises:
        InputError: a value of ``target`` is not one Dokploy's listings give.
        DokployRestoreError: Dokploy reported a failure, or ended without reporting success, or the connection
            closed before the end (the restore may still be running).
        DokployAuthError: the key was refused. DokployAPIError: any other tRPC error, mapped like its REST twin.
        DokployTimeoutError: nothing arrived for ``idle_timeout`` seconds, or the ``deadline`` passed.
        DokployProtocolError: a message too large, not tRPC's JSON, or more lines than ``max_lines``.
        DokployTransportError: the WebSocket could not be opened.
    """
    validate_target(target)
    peer = _Peer(server=server, base_url=base_url, api_key=api_key, scrub=scrub, limits=limits or RestoreLimits())
    return _stream(peer, target)


async def _stream(peer: _Peer, target: RestoreTarget) -> AsyncGenerator[str, None]:
    deadline = asyncio.get_running_loop().time() + peer.limits.deadline
    run = _Run(peer)
    request = {
        "id": _SUBSCRIPTION_ID,
        "method": "subscription",
        "params": {"path": PROCEDURE, "input": {"json": target.trpc_input()}},
    }
    connection = await _open(peer, deadline)
    try:
        try:
            await connection.send(json.dumps(request, separators=(",", ":")))
        except ConnectionClosed as exc:
            raise run.closed(exc) from None
        logger.debug("Dokploy %s: restore of %s started", peer.server, target.backup_file)
        while not run.stopped:
            line = run.read(await _receive(connection, peer, run, deadline))
            if line is not None:
                yield line
    finally:
        await connection.close()
    logger.info("Dokploy %s: restore stream of %s ended after %d lines", peer.server, target.backup_file, run.lines)
    run.outcome()


async def _open(peer: _Peer, deadline: float) -> ClientConnection:
    remaining = deadline - asyncio.get_running_loop().time()
    wait = min(peer.limits.open_timeout, remaining)
    headers = {} if peer.api_key is None else {"x-api-key": peer.api_key.get_secret_value()}
    try:
        return await connect(
            websocket_url(peer.base_url),
            additional_headers=headers,
            user_agent_header=USER_AGENT,
            # No compression: the size cap must bound what is held in memory, as in the REST transport.
            compression=None,
            max_size=peer.limits.max_message_bytes,
            open_timeout=wait,
            close_timeout=5,
            logger=_WIRE_LOGGER,
        )
    except InvalidStatus as exc:
        raise peer.refused(exc.response.status_code) from None
    except TimeoutError:
        raise peer.timeout(wait) from None
    except (OSError, WebSocketException) as exc:
        raise peer.unreachable(exc) from None


async def _receive(connection: ClientConnection, peer: _Peer, run: _Run, deadline: float) -> str | bytes:
    remaining = deadline - asyncio.get_running_loop().time()
    wait = min(peer.limits.idle_timeout, remaining)
    if wait <= 0:
        raise peer.timeout(peer.limits.deadline)
    try:
        # The timeout spans this one receive, never a yield: the caller's own awaits are not cut short.
        async with asyncio.timeout(wait):
            return await connection.recv()
    except TimeoutError:
        raise peer.timeout(peer.limits.idle_timeout if wait < remaining else peer.limits.deadline) from None
    except ConnectionClosed as exc:
        raise run.closed(exc) from None
