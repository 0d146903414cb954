"""The HTTP client of pg-meta's ``POST /query``: send one text, read its rows, map pg-meta's and PostgreSQL's errors.

This module knows HTTP and pg-meta's answers, not SQL: what text is safe to send (one statement, proven by the
parser, inside a transaction wrapper) is :mod:`dokploy_mcp.postgres.pgmeta_route`'s job. What pg-meta does with a
text decides how this client reads it (postgres-meta 0.96.6, the version the Dokploy template pins):

* Without query parameters the text goes through PostgreSQL's *simple* protocol: every statement in it runs, and
  pg-meta answers the rows of **the last result that has rows** (``[]`` when none has), as a JSON array of objects.
  It gives no column types, no command tag, no notices, and reads the whole result into memory before answering.
* Each request is a fresh PostgreSQL connection, closed afterwards.
* An error comes back as JSON: PostgreSQL's (a SQLSTATE ``code``, with ``severity``, ``detail``, ``hint``), or
  node-postgres' and pg-meta's own (connection refused, read timeout, result too large).

The answer is read incrementally and capped (rows, bytes, and a read cap on the raw answer), so a huge result is not
held here even though pg-meta held it.

``connect_as`` makes pg-meta connect as another login role: the URL travels encrypted in ``x-connection-encrypted``
(CryptoJS's passphrase AES, keyed with the stack's ``PG_META_CRYPTO_KEY``). A gateway in front of pg-meta (a stack's
Kong) is described by what it provides, its HTTP client, base URL, key headers and its own error for a refused key,
so this client does not depend on the gateway's package.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import json
import logging
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pydantic import JsonValue, SecretStr

from dokploy_mcp import __version__, redact
from dokploy_mcp.errors import ConfigurationError, DokployMCPError, InputError
from dokploy_mcp.postgres.conninfo import ConnInfo, parse_target
from dokploy_mcp.postgres.errors import (
    DatabaseConnectionError,
    DatabaseError,
    DatabaseQueryError,
    DatabaseTimeoutError,
    RoleNotPermittedError,
    statement_error,
)

__all__ = ["GatewayRefusal", "PgMetaClient", "PgMetaRows", "encrypt_connection"]

logger = logging.getLogger(__name__)

#: The error a gateway in front of pg-meta gives for its own refusal (401/403) of the key: the gateway's to word.
GatewayRefusal = Callable[[httpx.Response], DokployMCPError]


#: Extra time the client waits beyond statement_timeout before it gives up on a silent pg-meta.
_CLIENT_GRACE_S = 15.0
#: pg-meta's own read timeout (``queryTimeoutSecs``) is set this much past statement_timeout, so PostgreSQL's
#: cancellation (57014, a clean error) comes first.
_PG_META_GRACE_S = 5
_ERROR_BODY_CAP = 256 * 1024
_READ_CHUNK = 64 * 1024
#: Rows arrive as JSON objects (column names repeated in every row, non-ASCII raw): the answer read is capped at
#: this many times ``max_bytes`` plus a margin, past which reading stops as a ``max_bytes`` truncation.
_READ_CAP_FACTOR = 4
_READ_CAP_MARGIN = 1024 * 1024
_SQLSTATE = re.compile(r"^[0-9A-Z]{5}$")
_WHITESPACE = re.compile(r"[ \t\n\r]*")
_APPLICATION_NAME = "dokploy-mcp:pg-meta"


# -- the encrypted connection header --------------------------------------------------------------------------------


def encrypt_connection(plaintext: str, passphrase: str, *, salt: bytes | None = None) -> str:
    """Encrypt like CryptoJS's ``AES.encrypt(text, passphrase)``, which pg-meta's ``AES.decrypt`` reverses.

    OpenSSL's passphrase format: a random 8-byte salt; key and IV from EVP_BytesToKey with MD5 (the MD5 chain over
    passphrase + salt, 32 bytes of key then 16 of IV); AES-256-CBC with PKCS#7 padding; base64 of
    ``b"Salted__" + salt + ciphertext``.
    """
    salt = os.urandom(8) if salt is None else salt
    if len(salt) != 8:
        raise ValueError("the salt must be 8 bytes")
    secret = passphrase.encode("utf-8")
    derived = b""
    block = b""
    while len(derived) < 48:
        # EVP_BytesToKey with MD5 is the format's definition, not a choice made here.
        block = hashlib.md5(block + secret + salt, usedforsecurity=False).digest()
        derived += block
    padder = padding.PKCS7(algorithms.AES.block_size).padder()
    data = padder.update(plaintext.encode("utf-8")) + padder.finalize()
    encryptor = Cipher(algorithms.AES(derived[:32]), modes.CBC(derived[32:48])).encryptor()
    ciphertext = encryptor.update(data) + encryptor.finalize()
    return base64.b64encode(b"Salted__" + salt + ciphertext).decode("ascii")


def _pg_meta_url(info: ConnInfo) -> str:
    """The ``postgresql://`` URL pg-meta (node-postgres) connects with; it holds the password."""
    host = info.host or ""
    if not host or "," in host or host.startswith("/"):
        raise InputError(
            "connect_as needs one TCP host, as pg-meta sees it (inside a Supabase stack: db)", field="connect_as"
        )
    netloc = ""
    if info.user:
        netloc = quote(info.user, safe="")
        if info.password is not None:
            netloc += ":" + quote(info.password, safe="")
        netloc += "@"
    netloc += f"[{host}]" if ":" in host else host
    if info.port is not None:
        netloc += f":{info.port}"
    path = "/" + quote(info.dbname, safe="") if info.dbname else ""
    query = dict(info.params)
    if info.sslmode:
        query["sslmode"] = info.sslmode
    return urlunsplit(("postgresql", netloc, path, urlencode(query, quote_via=quote), ""))


def _skip_whitespace(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


# -- reading the answer -----------------------------------------------------------------------------------------------


class _ShapeError(Exception):
    """pg-meta's answer is not a JSON array of row objects."""


class _RowArray:
    """An incremental reader of ``[{...}, {...}]``: rows come out as soon as their closing brace has arrived."""

    def __init__(self) -> None:
        self._decoder = json.JSONDecoder()
        self._text = codecs.getincrementaldecoder("utf-8")("replace")
        self._buffer = ""
        self._state: Literal["open", "first", "row", "next", "done"] = "open"
        # After an incomplete row of N characters, retry once the buffer holds 2N: linear work for huge rows.
        self._retry_at = 0

    @property
    def done(self) -> bool:
        return self._state == "done"

    def feed(self, data: bytes, *, final: bool = False) -> list[dict[str, Any]]:
        self._buffer += self._text.decode(data, final=final)
        rows: list[dict[str, Any]] = []
        pos = 0
        buffer = self._buffer
        while (pos := _skip_whitespace(buffer, pos)) < len(buffer):
            step = self._step(buffer, pos, final, rows)
            if step is None:
                break
            pos = step
        self._buffer = buffer[pos:]
        if final and self._state != "done":
            raise _ShapeError("the answer ends before its array does")
        return rows

    def _step(self, buffer: str, pos: int, final: bool, rows: list[dict[str, Any]]) -> int | None:
        """Read what stands at ``pos`` (no whitespace) in the current state: the position after it, or None to wait
        for more of the answer."""
        char = buffer[pos]
        if self._state == "open":
            if char != "[":
                raise _ShapeError("the answer is not a JSON array")
            self._state = "first"
            return pos + 1
        if self._state in ("first", "row"):
            return self._row(buffer, pos, final, rows)
        if self._state == "next":
            if char == ",":
                self._state = "row"
                return pos + 1
            if char == "]":
                self._state = "done"
                return pos + 1
            raise _ShapeError("rows are not separated by commas")
        raise _ShapeError("text after the end of the array")

    def _row(self, buffer: str, pos: int, final: bool, rows: list[dict[str, Any]]) -> int | None:
        if buffer[pos] == "]" and self._state == "first":
            self._state = "done"
            return pos + 1
        if buffer[pos] != "{":
            raise _ShapeError("an item of the answer is not a row object")
        if not final and len(buffer) - pos < self._retry_at:
            return None
        try:
            row, end = self._decoder.raw_decode(buffer, pos)
        except json.JSONDecodeError:
            if final:
                raise _ShapeError("the answer ends inside a row") from None
            self._retry_at = 2 * (len(buffer) - pos)
            return None
        self._retry_at = 0
        rows.append(row)
        self._state = "next"
        return end


class PgMetaRows:
    """Rows of one answer, capped like the direct route: a row that would pass a cap is not kept."""

    def __init__(self, *, max_rows: int, max_bytes: int) -> None:
        self.max_rows = max_rows
        self.max_bytes = max_bytes
        self.names: list[str] | None = None
        self.rows: list[list[JsonValue]] = []
        self.size = 0
        self.truncated_reason: Literal["max_rows", "max_bytes"] | None = None

    def add(self, row: dict[str, Any]) -> bool:
        """Keep ``row`` if the caps allow; False once a cap is reached (nothing more will be kept)."""
        if self.names is None:
            self.names = list(row)
        if len(self.rows) >= self.max_rows:
            self.truncated_reason = "max_rows"
            return False
        values: list[JsonValue] = [row.get(name) for name in self.names]
        row_size = len(json.dumps(values))
        if self.size + row_size > self.max_bytes:
            self.truncated_reason = "max_bytes"
            return False
        self.rows.append(values)
        self.size += row_size
        return True


@dataclass(frozen=True)
class _Connection:
    """``connect_as``, ready to send: the encrypted header, and what may be shown or must be scrubbed."""

    header: str
    masked: str
    user: str
    secrets: tuple[str, ...]

    @classmethod
    def make(cls, connect_as: str | SecretStr | None, crypto_key: SecretStr | None) -> _Connection | None:
        if connect_as is None:
            return None
        raw = connect_as.get_secret_value() if isinstance(connect_as, SecretStr) else connect_as
        try:
            info = parse_target(raw)
        except InputError as exc:
            raise InputError(str(exc), field="connect_as") from None
        if crypto_key is None or not crypto_key.get_secret_value():
            raise ConfigurationError(
                "connect_as needs pg-meta's crypto key (the stack's PG_META_CRYPTO_KEY) to encrypt the connection "
                "header",
                setting="PG_META_CRYPTO_KEY",
            )
        return cls(
            header=encrypt_connection(_pg_meta_url(info), crypto_key.get_secret_value()),
            masked=info.masked(),
            user=info.user or "the default user",
            secrets=tuple(s for s in (info.password, raw) if s),
        )


# -- the client -----------------------------------------------------------------------------------------------------


class PgMetaClient:
    """pg-meta's ``POST /query``, either directly (pg-meta's base URL) or behind a gateway (a stack's Kong).

    Build it with :meth:`direct` or :meth:`behind_gateway`. A direct client owns its HTTP client: close it with
    :meth:`aclose`; a gateway's client is borrowed, and the gateway closes it.
    """

    def __init__(
        self,
        *,
        http: httpx.AsyncClient,
        owns_http: bool,
        url: str,
        headers: Mapping[str, str],
        timeout: float,
        target: str,
        who: str,
        connection: _Connection | None,
        refused: GatewayRefusal | None,
        secrets: Sequence[str],
    ) -> None:
        self._http = http
        self._owns_http = owns_http
        self.endpoint = url
        self._headers = dict(headers)
        self.timeout = timeout
        self._refused = refused
        self._secrets = [s for s in secrets if s]
        self._connection_header: str | None = None
        #: Whether pg-meta runs the SQL as its own connection's user, which in a Supabase stack is a superuser.
        self.superuser = True
        self.target = target
        #: Who runs the SQL, for the notes.
        self.who = who
        if connection is not None:
            self._connection_header = connection.header
            self._secrets.extend(connection.secrets)
            self.superuser = False
            self.target = f"{target} as {connection.masked}"
            self.who = f"{connection.user} (connect_as, through pg-meta's encrypted connection header)"

    @property
    def has_gateway(self) -> bool:
        """Whether a gateway (a stack's Kong) stands between this client and pg-meta."""
        return self._refused is not None

    @classmethod
    def direct(
        cls,
        base_url: str,
        *,
        timeout: float = 30.0,
        connect_as: str | SecretStr | None = None,
        crypto_key: SecretStr | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> PgMetaClient:
        """pg-meta itself at ``base_url`` (``http://meta:8080``). ``timeout`` bounds connecting and sending.

        ``connect_as``: a ``postgresql://`` URL (or any form :func:`parse_target` reads) of a login role, as pg-meta
        sees the database; ``crypto_key``: pg-meta's ``CRYPTO_KEY``. Without them pg-meta uses its own connection.
        """
        parts = urlsplit(base_url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ConfigurationError(f"pg-meta URL {base_url!r} must look like http://meta:8080")
        if parts.username is not None or parts.password is not None:
            raise ConfigurationError("the pg-meta URL must not carry a user or password")
        base = urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))
        if timeout <= 0:
            raise InputError("timeout must be positive", field="timeout")
        connection = _Connection.make(connect_as, crypto_key)
        http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
            headers={"user-agent": f"dokploy-mcp/{__version__}", "accept": "application/json"},
        )
        return cls(
            http=http,
            owns_http=True,
            url=f"{base}/query",
            headers={},
            timeout=timeout,
            target=f"pg-meta at {base}",
            who="pg-meta's own database user",
            connection=connection,
            refused=None,
            secrets=[],
        )

    @classmethod
    def behind_gateway(
        cls,
        *,
        http: httpx.AsyncClient,
        base_url: str,
        key_headers: Mapping[str, str],
        timeout: float,
        refused: GatewayRefusal,
        connect_as: str | SecretStr | None = None,
        crypto_key: SecretStr | None = None,
    ) -> PgMetaClient:
        """pg-meta behind a gateway at ``<base_url>/pg/query``, on the gateway's ``http`` client with its key headers
        (secret values, scrubbed from errors); ``refused`` words the gateway's own 401/403.

        Without ``connect_as`` the SQL runs as pg-meta's own connection, ``supabase_admin`` (a superuser) in a
        Supabase stack; with it (and the stack's ``PG_META_CRYPTO_KEY``) as that login.
        """
        return cls(
            http=http,
            owns_http=False,
            url=f"{base_url}/pg/query",
            headers=key_headers,
            timeout=timeout,
            target=f"pg-meta via {base_url}/pg/",
            who="supabase_admin, a superuser (the stack's pg-meta connection)",
            connection=_Connection.make(connect_as, crypto_key),
            refused=refused,
            secrets=list(key_headers.values()),
        )

    async def aclose(self) -> None:
        """Close the HTTP client if this client owns it (a gateway's client stays open)."""
        if self._owns_http:
            await self._http.aclose()

    # -- HTTP -------------------------------------------------------------------------------------------------------

    async def post(self, text: str, *, timeout_ms: int, max_rows: int, max_bytes: int) -> tuple[PgMetaRows, int | None]:
        """Post ``text``; returns the capped rows and, when reading stopped at the read cap, how many bytes."""
        headers = dict(self._headers)
        headers["accept-encoding"] = "identity"  # the read cap counts what pg-meta sent
        headers["x-pg-application-name"] = _APPLICATION_NAME
        if self._connection_header is not None:
            headers["x-connection-encrypted"] = self._connection_header
        wait = timeout_ms / 1000 + _CLIENT_GRACE_S
        timeout = httpx.Timeout(self.timeout, read=max(self.timeout, wait))
        query = {"queryTimeoutSecs": str(math.ceil(timeout_ms / 1000) + _PG_META_GRACE_S)}
        rows = PgMetaRows(max_rows=max_rows, max_bytes=max_bytes)
        read_cap = _READ_CAP_FACTOR * max_bytes + _READ_CAP_MARGIN
        try:
            async with self._http.stream(
                "POST", self.endpoint, params=query, headers=headers, json={"query": text}, timeout=timeout
            ) as response:
                if response.status_code != 200:
                    body = await _read_capped(response, _ERROR_BODY_CAP)
                    raise self._error(response, body, timeout_ms)
                return rows, await self._read_rows(response, rows, read_cap)
        except httpx.TimeoutException as exc:
            if isinstance(exc, httpx.ReadTimeout):
                raise DatabaseTimeoutError(
                    f"no answer from {self.target} within {wait:.0f}s (statement_timeout {timeout_ms} ms): the "
                    "statement may still have run; check pg-meta's health",
                    target=self.target,
                    timeout_ms=timeout_ms,
                ) from None
            raise DatabaseConnectionError(
                f"cannot reach {self.target}: {type(exc).__name__} within {self.timeout:g}s", target=self.target
            ) from None
        except httpx.TransportError as exc:
            detail = self._scrub(str(exc)) or type(exc).__name__
            raise DatabaseConnectionError(f"cannot reach {self.target}: {detail}", target=self.target) from None

    async def _read_rows(self, response: httpx.Response, rows: PgMetaRows, read_cap: int) -> int | None:
        array = _RowArray()
        seen = 0
        try:
            async for chunk in response.aiter_bytes(_READ_CHUNK):
                seen += len(chunk)
                if not all(rows.add(row) for row in array.feed(chunk)):
                    return None  # a cap is reached: the rest would be dropped unread
                if seen > read_cap:
                    rows.truncated_reason = "max_bytes"
                    return seen
            for row in array.feed(b"", final=True):
                if not rows.add(row):
                    break
        except _ShapeError as exc:
            raise DatabaseConnectionError(
                f"unexpected answer from {self.target}: {exc}; is this pg-meta's /query?", target=self.target
            ) from None
        return None

    # -- errors -----------------------------------------------------------------------------------------------------

    def _scrub(self, text: str) -> str:
        return redact.scrub(text, self._secrets)

    def _error(self, response: httpx.Response, body: bytes, timeout_ms: int) -> DokployMCPError:
        status = response.status_code
        try:
            payload = json.loads(body)
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            payload = {}

        def text(key: str) -> str | None:
            value = payload.get(key)
            return self._scrub(value) if isinstance(value, str) and value else None

        message = text("message") or text("error")
        code = text("code")
        if status in (401, 403) and self._refused is not None:
            answered = httpx.Response(status, headers=response.headers, content=body, request=response.request)
            return self._refused(answered)
        if status == 400 and code is not None and _SQLSTATE.match(code):
            return self._database_error(
                sqlstate=code,
                message=message or "PostgreSQL refused the statement",
                detail=text("detail"),
                hint=text("hint"),
                severity=text("severity"),
                timeout_ms=timeout_ms,
            )
        if status == 408:
            return DatabaseTimeoutError(
                f"pg-meta stopped waiting for PostgreSQL ({message or 'Query read timeout'}) at {self.target}: "
                "narrow the query or raise timeout_ms",
                target=self.target,
                timeout_ms=timeout_ms,
            )
        if code == "RESULT_SIZE_EXCEEDED":
            return DatabaseQueryError(
                f"{message}: pg-meta refuses results this large; narrow the query (LIMIT, fewer columns)",
                target=self.target,
                sqlstate=None,
            )
        if status == 500 and message is not None and "upstream connection details" in message:
            cause = (
                "the connection header did not decrypt to a URL: crypto_key is not pg-meta's CRYPTO_KEY (the stack's "
                "PG_META_CRYPTO_KEY)"
                if self._connection_header is not None
                else "pg-meta has no valid connection string of its own"
            )
            return DatabaseConnectionError(f"{self.target}: {message}: {cause}", target=self.target)
        if status == 400 or (status in (503, 504) and "error" in payload):
            # node-postgres' own failures (ECONNREFUSED, ENOTFOUND, connection timeout, too many clients); Kong's
            # own 502/503/504 (pg-meta down or slow) carry only a "message" and fall through.
            what = f"{message} ({code})" if code else message or str(status)
            return DatabaseConnectionError(
                f"pg-meta cannot reach PostgreSQL at {self.target}: {what}", target=self.target
            )
        where = "Kong or pg-meta" if self._refused is not None else "pg-meta"
        what = f": {message}" if message else ""
        return DatabaseConnectionError(f"{where} at {self.target} answered {status}{what}", target=self.target)

    def _database_error(
        self,
        *,
        sqlstate: str,
        message: str,
        detail: str | None,
        hint: str | None,
        severity: str | None,
        timeout_ms: int,
    ) -> DatabaseError:
        if severity == "FATAL" or sqlstate.startswith(("08", "28", "3D", "53", "57P")):
            # The connection itself failed (bad login, missing database, too many connections, shutdown).
            return DatabaseConnectionError(
                f"pg-meta cannot connect at {self.target}: {message} (SQLSTATE {sqlstate})", target=self.target
            )
        role = _role_refused(sqlstate, message)
        if role is not None:
            return RoleNotPermittedError(
                f"cannot switch to role {role!r}: {message}; the connected user must be a member of it",
                target=self.target,
                role=role,
                sqlstate=sqlstate,
                server_message=message,
            )
        return statement_error(
            message, target=self.target, sqlstate=sqlstate, detail=detail, hint=hint, timeout_ms=timeout_ms
        )


def _role_refused(sqlstate: str, message: str) -> str | None:
    """The role named by SET ROLE's own refusals: missing (22023) or not granted (42501)."""
    patterns = {
        "22023": r'^role "(?P<role>.*)" does not exist$',
        "42501": r'^permission denied to set role "(?P<role>.*)"$',
    }
    pattern = patterns.get(sqlstate)
    match = re.match(pattern, message) if pattern else None
    return match["role"] if match else None


async def _read_capped(response: httpx.Response, cap: int) -> bytes:
    body = b""
    async for chunk in response.aiter_bytes(_READ_CHUNK):
        body += chunk
        if len(body) >= cap:
            return body[:cap]
    return body
