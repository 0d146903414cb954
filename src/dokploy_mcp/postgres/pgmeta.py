"""Run one SQL statement through pg-meta's ``POST /query``: the route to a stack whose PostgreSQL is not reachable.

A Supabase stack publishes no PostgreSQL port; its Kong gateway forwards ``/pg/`` to pg-meta (service_role key
only), and pg-meta runs SQL as ``supabase_admin``, a superuser. What pg-meta does with a query decides how this
module talks to it (postgres-meta 0.96.6, the version the Dokploy template pins):

* Without query parameters the text goes through PostgreSQL's *simple* protocol: every statement in it runs, and
  pg-meta answers the rows of **the last result that has rows** (``[]`` when none has), as a JSON array of objects.
  It gives no column types, no command tag, no notices, and reads the whole result into memory before answering.
* With query parameters it uses the extended protocol, which refuses more than one statement, so parameters cannot
  be combined with the transaction wrapper below: this route refuses them and points to the direct route.
* Each request is a fresh PostgreSQL connection, closed afterwards.

So one call sends one text::

    BEGIN READ ONLY;                                  -- BEGIN; when writing
    SET LOCAL statement_timeout = <timeout_ms>;
    SET LOCAL "<name>"."<part>" = E'<value>';         -- local_settings, then "request"."jwt"."claims"
    SET LOCAL ROLE "<role>";                          -- role
    <the statement>
    ;
    ROLLBACK;                                         -- COMMIT; when writing

Every wrapper statement returns no rows, and the statement is proven to be exactly one by the parser before
anything is sent (the composed text is parsed again and must hold exactly the wrappers plus that one statement), so
the rows pg-meta answers are the statement's own. A read-only call ends with ROLLBACK, not COMMIT: a READ ONLY
transaction still queues ``pg_notify`` and writes temporary tables, and nothing of it should ever commit.

The parser reads string literals the way PostgreSQL does with ``standard_conforming_strings = on``. A server (or a
role, or a database) set to ``off`` reads a backslash in a plain ``'...'`` literal as an escape, and then
``select 'x\\' , '; COMMIT; delete ...; --'`` is one statement to the parser and three to the server. When the
statement has such a literal, the setting is read first through the same connection and the statement refused
unless it is ``on``.

``connect_as`` makes pg-meta connect as another login role: the URL travels encrypted in ``x-connection-encrypted``
(CryptoJS's passphrase AES, keyed with the stack's ``PG_META_CRYPTO_KEY``). A non-superuser role there is the
stronger guard: READ ONLY does not stop a superuser's ``pg_terminate_backend``, ``COPY ... TO PROGRAM`` or
large-object calls, PostgreSQL's privileges do.
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
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import httpx
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pydantic import JsonValue, SecretStr

from dokploy_mcp import __version__
from dokploy_mcp.errors import ConfigurationError, DokployMCPError, InputError
from dokploy_mcp.postgres.client import Column, QueryResult
from dokploy_mcp.postgres.conninfo import ConnInfo, parse_target, scrub
from dokploy_mcp.postgres.errors import (
    DatabaseConnectionError,
    DatabaseError,
    DatabaseQueryError,
    DatabaseTimeoutError,
    ReadOnlyViolationError,
    RoleNotPermittedError,
)

if TYPE_CHECKING:
    from dokploy_mcp.kong.gateway import KongGateway

__all__ = ["PgMetaResult", "PgMetaRoute", "encrypt_connection"]

logger = logging.getLogger(__name__)

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
_UNKNOWN_TYPE = "unknown"
_MAX_IDENTIFIER = 63
_APPLICATION_NAME = "dokploy-mcp:pg-meta"
#: SET LOCAL takes no snapshot, so after BEGIN READ ONLY it may still turn the transaction read-write (the direct
#: route's set_config runs in a SELECT, after which PostgreSQL refuses that).
_GUARDED_SETTINGS = frozenset({"transaction_read_only"})

_PARAMS_REFUSED = (
    "query parameters are not available through pg-meta: its parameterised mode runs a single statement, which "
    "leaves no room for the READ ONLY transaction and statement_timeout this route wraps around the statement. "
    "Inline the values as SQL literals, or give a connection string as the target to use the direct route, "
    "which binds parameters safely"
)

_NOTE_SHAPE = (
    "pg-meta answers rows as JSON objects: no column types (type_name is 'unknown'), columns that share a name "
    "collapse into one (alias them), and an empty result has no columns"
)
_NOTE_TAG = (
    "pg-meta reports no command tag, no count of written rows and no notices or warnings: add RETURNING to see "
    "what a write changed"
)
_NOTE_VALUES = (
    "values as pg-meta renders them: bigint beyond 2^53 and numeric as strings, bytea as "
    '{"type": "Buffer", "data": [...]}, NaN and infinite floats as null, dates and timestamps in '
    "PostgreSQL's text form"
)
_NOTE_STREAMING = (
    "no streaming: the statement ran to completion and pg-meta held its whole result in memory before answering; "
    "the row and byte caps are applied here, to its answer"
)
_NOTE_SUPERUSER = (
    "pg-meta's own connection is a superuser's in a Supabase stack (supabase_admin): READ ONLY stops writes, "
    "not superuser-only side effects (pg_terminate_backend, COPY ... TO PROGRAM, large objects); pass connect_as "
    "with a non-superuser login, or use the direct route with a restricted user"
)


class PgMetaResult(QueryResult):
    """A :class:`QueryResult` that came through pg-meta, with what this route cannot report.

    ``endpoint`` is the URL the SQL was posted to (no secrets); ``notes`` lists the route's limits that apply to
    this result (column types, command tag, value rendering, streaming, who ran it).
    """

    route: Literal["pg-meta"] = "pg-meta"
    endpoint: str
    notes: list[str]


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


# -- composing the text -------------------------------------------------------------------------------------------


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _setting_name(name: str) -> str:
    # Quoted part by part: one quoted identifier would be cut at 63 bytes as a whole and name another setting.
    return ".".join(_identifier(part) for part in name.split("."))


def _skip_whitespace(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


def _literal(value: str) -> str:
    # E'' reads backslashes the same whatever standard_conforming_strings says, so the text parses one way only.
    return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _compose(
    statement: str,
    *,
    read_only: bool,
    timeout_ms: int,
    settings: Sequence[tuple[str, str]],
    role: str | None,
) -> tuple[str, int]:
    """The text sent to pg-meta and how many statements it holds."""
    parts = ["BEGIN READ ONLY;" if read_only else "BEGIN;", f"SET LOCAL statement_timeout = {int(timeout_ms)};"]
    # Settings before the role switch, as on the direct route: the target role may not be allowed to set them.
    parts.extend(f"SET LOCAL {_setting_name(name)} = {_literal(value)};" for name, value in settings)
    if role is not None:
        parts.append(f"SET LOCAL ROLE {_identifier(role)};")
    # The statement on its own lines: a trailing "-- comment" must not swallow what follows.
    parts.extend([statement, ";", "ROLLBACK;" if read_only else "COMMIT;"])
    return "\n".join(parts), len(parts) - 1


def _parse(text: str) -> tuple[Any, ...]:
    import pglast

    return tuple(pglast.parse_sql(text))


def _client_copy(statement: str) -> bool:
    """True for ``COPY ... FROM STDIN`` / ``TO STDOUT``: pg-meta drops the data out and fails the data in."""
    from pglast import ast

    node = _parse(statement)[0].stmt
    return isinstance(node, ast.CopyStmt) and node.filename is None


def _ambiguous_literals(statement: str) -> bool:
    """True when a plain string literal holds a backslash: with standard_conforming_strings off it is an escape."""
    from pglast import parser

    for token in parser.scan(statement):
        if token.name != "SCONST":
            continue
        text = statement[token.start : token.end + 1]
        # E'...' reads backslashes in both modes; $$...$$ never does; '...' and N'...' depend on the setting.
        if text[:1] in ("'", "N", "n") and "\\" in text:
            return True
    return False


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
        while True:
            pos = _skip_whitespace(buffer, pos)
            if pos >= len(buffer):
                break
            char = buffer[pos]
            if self._state == "open":
                if char != "[":
                    raise _ShapeError("the answer is not a JSON array")
                self._state, pos = "first", pos + 1
            elif self._state in ("first", "row"):
                if char == "]" and self._state == "first":
                    self._state, pos = "done", pos + 1
                    continue
                if char != "{":
                    raise _ShapeError("an item of the answer is not a row object")
                if not final and len(buffer) - pos < self._retry_at:
                    break
                try:
                    row, end = self._decoder.raw_decode(buffer, pos)
                except json.JSONDecodeError:
                    if final:
                        raise _ShapeError("the answer ends inside a row") from None
                    self._retry_at = 2 * (len(buffer) - pos)
                    break
                self._retry_at = 0
                rows.append(row)
                self._state, pos = "next", end
            elif self._state == "next":
                if char == ",":
                    self._state, pos = "row", pos + 1
                elif char == "]":
                    self._state, pos = "done", pos + 1
                else:
                    raise _ShapeError("rows are not separated by commas")
            else:
                raise _ShapeError("text after the end of the array")
        self._buffer = buffer[pos:]
        if final and self._state != "done":
            raise _ShapeError("the answer ends before its array does")
        return rows


class _Rows:
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


# -- the route ------------------------------------------------------------------------------------------------------


class PgMetaRoute:
    """SQL through pg-meta's ``POST /query``, either directly (pg-meta's base URL) or through a stack's Kong
    (``/pg/query`` with the service_role key).

    Build it with :meth:`direct` or :meth:`via_gateway`. A direct route owns its HTTP client: close it with
    :meth:`aclose` or ``async with``; a gateway route borrows the gateway's client, which the gateway closes.
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
        gateway: KongGateway | None,
        secrets: Sequence[str],
    ) -> None:
        self._http = http
        self._owns_http = owns_http
        self.endpoint = url
        self._headers = dict(headers)
        self.timeout = timeout
        self._gateway = gateway
        self._secrets = [s for s in secrets if s]
        self._connection_header: str | None = None
        self._superuser = True
        self.target = target
        self._who = who
        if connection is not None:
            self._connection_header = connection.header
            self._secrets.extend(connection.secrets)
            self._superuser = False
            self.target = f"{target} as {connection.masked}"
            self._who = f"{connection.user} (connect_as, through pg-meta's encrypted connection header)"

    # -- construction ---------------------------------------------------------------------------------------------

    @classmethod
    def direct(
        cls,
        base_url: str,
        *,
        timeout: float = 30.0,
        connect_as: str | SecretStr | None = None,
        crypto_key: SecretStr | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> PgMetaRoute:
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
            gateway=None,
            secrets=[],
        )

    @classmethod
    def via_gateway(
        cls,
        gateway: KongGateway,
        *,
        connect_as: str | SecretStr | None = None,
        crypto_key: SecretStr | None = None,
    ) -> PgMetaRoute:
        """pg-meta behind a stack's Kong: ``<api url>/pg/query`` with the service_role key, on the gateway's client.

        Without ``connect_as`` the SQL runs as ``supabase_admin``, a superuser (the template's pg-meta connection);
        with it (and the stack's ``PG_META_CRYPTO_KEY``) as that login, e.g.
        ``postgresql://mcp_reader:<password>@db:5432/postgres`` (``db`` is the stack's PostgreSQL as pg-meta sees it).
        """
        headers = gateway.key_headers("service_role")
        key = headers["apikey"]
        return cls(
            http=gateway.http,
            owns_http=False,
            url=f"{gateway.base_url}/pg/query",
            headers=headers,
            timeout=gateway.timeout,
            target=f"pg-meta via {gateway.base_url}/pg/",
            who="supabase_admin, a superuser (the stack's pg-meta connection)",
            connection=_Connection.make(connect_as, crypto_key),
            gateway=gateway,
            secrets=[key],
        )

    def __repr__(self) -> str:
        return f"PgMetaRoute(endpoint={self.endpoint!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this route owns it (a gateway's client stays open)."""
        if self._owns_http:
            await self._http.aclose()

    # -- one statement --------------------------------------------------------------------------------------------

    async def execute(
        self,
        statement: str,
        params: Sequence[Any] | Mapping[str, Any] | None = None,
        *,
        read_only: bool = True,
        timeout_ms: int = 30_000,
        max_rows: int = 1_000,
        max_bytes: int = 1_000_000,
        role: str | None = None,
        jwt_claims: Mapping[str, Any] | None = None,
        local_settings: Mapping[str, str] | None = None,
    ) -> PgMetaResult:
        """Run exactly one statement in its own transaction; return at most ``max_rows`` rows.

        As :meth:`Database.execute <dokploy_mcp.postgres.client.Database.execute>`, except: ``params`` are refused
        (use the direct route); ``jwt_claims`` sets ``request.jwt.claims`` (as JSON) for the transaction, after
        ``local_settings`` (each ``SET LOCAL name = 'value'``: for a list setting such as search_path the value is one
        element); ``role`` is switched to with ``SET LOCAL ROLE``; the result's ``notes`` say what pg-meta cannot
        report.

        Raises:
            InputError: empty statement, parameters, bad limits, settings or claims that cannot be sent.
            SqlRefused: not exactly one statement (``dokploy_mcp.postgres.sqlguard.single_statement``), or a plain
                string literal with a backslash on a server whose standard_conforming_strings is off.
            DatabaseQueryError, ReadOnlyViolationError, DatabaseTimeoutError, RoleNotPermittedError: as on the
                direct route, with PostgreSQL's SQLSTATE.
            DatabaseConnectionError: pg-meta (or Kong) cannot be reached, or pg-meta cannot reach PostgreSQL.
            GatewayAuthError: Kong refused the service_role key (gateway route).
        """
        if not statement.strip():
            raise InputError("the statement is empty", field="statement")
        if params:
            raise InputError(_PARAMS_REFUSED, field="params")
        if timeout_ms < 1:
            raise InputError("timeout_ms must be at least 1", field="timeout_ms")
        if max_rows < 0:
            raise InputError("max_rows must not be negative", field="max_rows")
        if max_bytes < 1:
            raise InputError("max_bytes must be at least 1", field="max_bytes")
        if role is not None and (not role or "\x00" in role or len(role.encode()) > _MAX_IDENTIFIER):
            # Longer names would be cut to 63 bytes by PostgreSQL's lexer, and could then name another role.
            raise InputError("role must be a role name (at most 63 bytes)", field="role")
        settings = _settings(local_settings, jwt_claims)

        from dokploy_mcp.postgres.sqlguard import SqlRefused, single_statement

        # Proven before anything is sent: the text holds exactly one statement.
        single = single_statement(statement)
        if _client_copy(single):
            raise DatabaseQueryError(
                "COPY to or from the client is not supported here: use COPY ... TO/FROM a server file, or SELECT "
                "the rows instead",
                target=self.target,
                sqlstate=None,
            )
        text, expected = _compose(single, read_only=read_only, timeout_ms=timeout_ms, settings=settings, role=role)
        if len(_parse(text)) != expected:
            # The wrappers around a single statement parse as wrappers plus one; anything else is a bug to stop on.
            raise SqlRefused("the statement does not stay one statement inside the transaction wrapper")
        if _ambiguous_literals(single):
            await self._require_standard_strings()

        logger.debug(
            "pg-meta %s: a statement of %d characters (read_only=%s, role=%s, timeout_ms=%d)",
            self.endpoint,
            len(statement),
            read_only,
            role,
            timeout_ms,
        )
        started = time.perf_counter()
        try:
            rows, read_cap_hit = await self._post(text, timeout_ms=timeout_ms, max_rows=max_rows, max_bytes=max_bytes)
        except RoleNotPermittedError as exc:
            if exc.role == role:
                raise
            # Refused inside the statement (a function switching roles), not our SET LOCAL ROLE: the statement's
            # own error, not a complaint about the role argument.
            raise DatabaseQueryError(
                f"{exc.server_message or exc} (raised inside the statement, not by the role argument)",
                target=self.target,
                sqlstate=exc.sqlstate,
            ) from None
        duration_ms = (time.perf_counter() - started) * 1000
        logger.debug(
            "pg-meta %s: %d row(s), truncated=%s, %.1f ms",
            self.endpoint,
            len(rows.rows),
            rows.truncated_reason,
            duration_ms,
        )
        return PgMetaResult(
            columns=[Column(name=name, type_name=_UNKNOWN_TYPE) for name in rows.names or []],
            rows=rows.rows,
            row_count=len(rows.rows),
            truncated=rows.truncated_reason is not None,
            truncated_reason=rows.truncated_reason,
            status_message=None,
            rows_affected=None,
            duration_ms=round(duration_ms, 3),
            endpoint=self.endpoint,
            notes=self._notes(read_only=read_only, role=role, timeout_ms=timeout_ms, read_cap_hit=read_cap_hit),
        )

    async def _require_standard_strings(self) -> None:
        rows, _ = await self._post(
            "SELECT pg_catalog.current_setting('standard_conforming_strings') AS scs",
            timeout_ms=10_000,
            max_rows=1,
            max_bytes=1_000,
        )
        value = rows.rows[0][0] if rows.rows else None
        if value != "on":
            from dokploy_mcp.postgres.sqlguard import SqlRefused

            raise SqlRefused(
                "a plain string literal holds a backslash, and this server reads it as an escape "
                f"(standard_conforming_strings = {value}): through pg-meta's simple protocol the statement could "
                "then split into several. Write the literal as E'...' (backslashes doubled) or with dollar quotes, "
                "or use the direct route"
            )

    # -- HTTP -------------------------------------------------------------------------------------------------------

    async def _post(self, text: str, *, timeout_ms: int, max_rows: int, max_bytes: int) -> tuple[_Rows, int | None]:
        """Post ``text``; returns the capped rows and, when reading stopped at the read cap, how many bytes."""
        headers = dict(self._headers)
        headers["accept-encoding"] = "identity"  # the read cap counts what pg-meta sent
        headers["x-pg-application-name"] = _APPLICATION_NAME
        if self._connection_header is not None:
            headers["x-connection-encrypted"] = self._connection_header
        wait = timeout_ms / 1000 + _CLIENT_GRACE_S
        timeout = httpx.Timeout(self.timeout, read=max(self.timeout, wait))
        query = {"queryTimeoutSecs": str(math.ceil(timeout_ms / 1000) + _PG_META_GRACE_S)}
        rows = _Rows(max_rows=max_rows, max_bytes=max_bytes)
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

    async def _read_rows(self, response: httpx.Response, rows: _Rows, read_cap: int) -> int | None:
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
        return scrub(text, list(self._secrets))

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
        if status in (401, 403) and self._gateway is not None:
            answered = httpx.Response(status, headers=response.headers, content=body, request=response.request)
            return self._gateway.response_error(answered)
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
        where = "Kong or pg-meta" if self._gateway is not None else "pg-meta"
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
        if sqlstate == "57014":
            return DatabaseTimeoutError(
                f"{message} (statement_timeout {timeout_ms} ms): narrow the query or raise timeout_ms",
                target=self.target,
                timeout_ms=timeout_ms,
            )
        if sqlstate == "25006":
            return ReadOnlyViolationError(message, target=self.target, sqlstate=sqlstate, detail=detail, hint=hint)
        role = _role_refused(sqlstate, message)
        if role is not None:
            return RoleNotPermittedError(
                f"cannot switch to role {role!r}: {message}; the connected user must be a member of it",
                target=self.target,
                role=role,
                sqlstate=sqlstate,
                server_message=message,
            )
        return DatabaseQueryError(message, target=self.target, sqlstate=sqlstate, detail=detail, hint=hint)

    # -- notes ------------------------------------------------------------------------------------------------------

    def _notes(self, *, read_only: bool, role: str | None, timeout_ms: int, read_cap_hit: int | None) -> list[str]:
        who = self._who if role is None else f"{self._who}, switched to role {role!r} with SET LOCAL ROLE"
        mode = (
            "in a READ ONLY transaction, rolled back"
            if read_only
            else "in a read-write transaction, committed when it succeeded"
        )
        notes = [f"route: pg-meta's POST /query at {self.endpoint}, as {who}, {mode}"]
        if read_only and self._superuser:
            notes.append(_NOTE_SUPERUSER)
        notes.extend([_NOTE_SHAPE, _NOTE_TAG, _NOTE_VALUES, _NOTE_STREAMING])
        if read_cap_hit is not None:
            notes.append(f"stopped reading pg-meta's answer after {read_cap_hit} bytes (the read cap for max_bytes)")
        if self._gateway is not None and timeout_ms > 55_000:
            notes.append("through Kong a statement longer than about 60 s ends with Kong's own upstream timeout")
        return notes


def _settings(local_settings: Mapping[str, str] | None, jwt_claims: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    settings: list[tuple[str, str]] = []
    for name, value in (local_settings or {}).items():
        parts = name.split(".") if isinstance(name, str) else [""]
        if any(not part or "\x00" in part or len(part.encode()) > _MAX_IDENTIFIER for part in parts):
            raise InputError(f"setting name {name!r} is not a setting name", field="local_settings")
        if name.lower() in _GUARDED_SETTINGS:
            raise InputError(f"{name} is the read_only argument's to set, not a local setting", field="local_settings")
        if not isinstance(value, str) or "\x00" in value:
            raise InputError(f"the value of setting {name!r} must be text without NUL", field="local_settings")
        settings.append((name, value))
    if jwt_claims is not None:
        try:
            claims = json.dumps(dict(jwt_claims), separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InputError(f"jwt_claims must be a JSON object: {exc}", field="jwt_claims") from None
        settings.append(("request.jwt.claims", claims))
    return settings


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
