"""The transport of the Dokploy client (v0.30.2): one server's API over HTTP, within limits.

Dokploy exposes its tRPC router over plain HTTP under ``<url>/api``: a query is ``GET /api/<router>.<procedure>``
with flat query parameters, a mutation is ``POST`` with a JSON body (``{}`` when it takes no input). The key goes
in the ``x-api-key`` header. :meth:`DokployTransport.query` and :meth:`DokployTransport.mutate` speak that protocol;
the typed methods of :class:`~dokploy_mcp.dokploy.client.DokployClient` are built on them.

Only GETs are retried: a POST that timed out or failed mid-flight may already have changed the server, and
Dokploy mutations (deploy, delete) are not idempotent.

A broken or hostile server cannot hold, exhaust or crash the caller:

- **One deadline per call.** ``timeout`` (``DOKPLOY_MCP_TIMEOUT``) bounds the whole call: waiting for a concurrency
  slot, connecting, sending, every read of the answer, and every retry with its backoff. A retry whose wait would
  end past the deadline is not attempted: the last failure is reported instead. A server that drips one byte a
  second is cut off at the deadline (httpx's own timeouts apply to each read, not to the call). A request with its
  own ``request_timeout`` (the sign-up, which is slow on purpose) has that as its deadline instead.
- **A cap on size.** At most :data:`MAX_RESPONSE_BYTES` (16 MiB) of an answer are read, whatever its status; the
  body is streamed and the read stops at the cap with a :class:`~dokploy_mcp.dokploy.errors.DokployProtocolError`.
  The client asks for an uncompressed answer and refuses a compressed one, whose inflated size no read could bound.
- **A cap on depth.** JSON nested deeper than :data:`MAX_JSON_DEPTH` (64) levels is refused with a
  ``DokployProtocolError`` (checked without recursion), success and error bodies alike.
- **No secret passes through.** Every text that comes from Dokploy (error message, code, validation messages, a
  redirect's location, the read-logs methods' log text) goes through :func:`dokploy_mcp.redact.scrub` before it
  reaches an exception or a return value, and the client registers its API key there when it is built.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx
from pydantic import SecretStr

from dokploy_mcp import redact
from dokploy_mcp.dokploy.answers import (
    MAX_JSON_DEPTH,
    Answer,
    TooDeep,
    api_error,
    error_payload,
    load_json,
    retry_after_seconds,
)
from dokploy_mcp.dokploy.errors import (
    DokployAPIError,
    DokployProtocolError,
    DokployResponseError,
    DokployTimeoutError,
    DokployTransportError,
)
from dokploy_mcp.errors import ConfigurationError
from dokploy_mcp.httpio import USER_AGENT, PooledClient, is_tls_failure

__all__ = ["MAX_RESPONSE_BYTES", "DokployTransport"]

logger = logging.getLogger(__name__)

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Failures where the request cannot have reached Dokploy's handler, or died before an answer: safe to repeat a GET.
_RETRY_EXCEPTIONS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError)
# Dots separate router and procedure, slashes the non-tRPC routes (health, auth/...); no empty segment, so no "..".
_PROCEDURE = re.compile(r"[A-Za-z0-9_-]+(?:[./][A-Za-z0-9_-]+)*")

#: The most bytes of one answer the client reads (16 MiB): far above any real Dokploy answer (a long build log is
#: a few hundred KiB), low enough that a few concurrent calls cannot exhaust the memory of a small host.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
_MIB = 1024 * 1024
#: Retry jitter from a private generator: the process-wide one belongs to the embedding program (and to test
#: frameworks that watch it).
_JITTER = random.Random()


def _normalise_base_url(url: str, name: str) -> str:
    """The server root without ``/api``: accepts the URL with or without ``/api`` and trailing slashes."""
    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigurationError(
            f"Dokploy server {name!r}: URL {url!r} must look like https://dokploy.example.com or http://host:3000"
        )
    path = parts.path.rstrip("/")
    if path.endswith("/api"):
        path = path[: -len("/api")]
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def _query_value(key: str, value: Any) -> str:
    # Dokploy coerces query strings with zod: booleans must be spelled out, nested objects cannot be sent.
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise TypeError(f"query parameter {key!r} cannot be sent as a flat query string: {type(value).__name__}")


def _encode_query(params: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    encoded: list[tuple[str, str]] = []
    for key, value in (params or {}).items():
        if value is None:
            continue
        if isinstance(value, Sequence) and not isinstance(value, str):
            encoded.extend((key, _query_value(key, item)) for item in value)
        else:
            encoded.append((key, _query_value(key, value)))
    return encoded


@dataclass(frozen=True)
class _Call:
    """One call to Dokploy: what to send, and the deadline that bounds it with all its retries."""

    method: Literal["GET", "POST"]
    path: str
    headers: dict[str, str]
    params: list[tuple[str, str]] | None
    body: dict[str, Any] | None
    #: Seconds the whole call may take; ``deadline`` is when they run out, on anyio's clock.
    budget: float
    deadline: float


def _failure(outcome: Answer | httpx.HTTPError) -> str:
    return f"HTTP {outcome.status}" if isinstance(outcome, Answer) else type(outcome).__name__


class DokployTransport(PooledClient):
    """The HTTP side of a :class:`~dokploy_mcp.dokploy.client.DokployClient`: one Dokploy server's ``/api``.

    It sends tRPC queries and mutations (:meth:`query`, :meth:`mutate`) within the limits of the module docstring,
    and turns every failure into the :class:`~dokploy_mcp.dokploy.errors.DokployError` subclass that the client's
    class docstring lists.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: SecretStr | None,
        name: str = "default",
        timeout: float = 30.0,
        max_concurrency: int = 8,
        max_retries: int = 3,
        retry_backoff: float = 0.5,
        max_retry_after: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    ) -> None:
        if max_concurrency < 1:
            raise ValueError("max_concurrency must be at least 1")
        if max_retries < 0:
            raise ValueError("max_retries must not be negative")
        self.name = name
        self.base_url = _normalise_base_url(base_url, name)
        self.api_url = f"{self.base_url}/api"
        self.timeout = timeout
        self._api_key = api_key
        # Dokploy echoes input in some errors: from now on the key is masked wherever this process writes text.
        redact.remember(api_key)
        self._max_retries = max_retries
        self._retry_backoff = retry_backoff
        self._max_retry_after = max_retry_after
        self._sleep = sleep
        self._limiter = anyio.Semaphore(max_concurrency)
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            follow_redirects=False,
            # No compression: the size cap must bound what is held in memory, not what arrives on the wire.
            headers={
                "user-agent": USER_AGENT,
                "accept": "application/json",
                "accept-encoding": "identity",
            },
        )

    # -- protocol -------------------------------------------------------------------------------------------------

    async def query(self, procedure: str, params: Mapping[str, Any] | None = None) -> Any:
        """Call a tRPC query: ``GET /api/<procedure>`` with flat query parameters.

        ``None`` values are dropped, booleans sent as ``true``/``false``, sequences as repeated keys. Returns the
        decoded JSON, or None when Dokploy answered 200 with an empty body.

        Raises:
            DokployError: see the class docstring.
        """
        return await self._request("GET", procedure, params=_encode_query(params))

    async def mutate(self, procedure: str, body: Mapping[str, Any] | None = None) -> Any:
        """Call a tRPC mutation: ``POST /api/<procedure>`` with a JSON body (``{}`` when empty). Never retried.

        Returns the decoded JSON, or None when Dokploy answered 200 with an empty body (``backup.create`` does).

        Raises:
            DokployError: see the class docstring.
        """
        return await self._request("POST", procedure, body=dict(body or {}))

    async def health(self) -> bool:
        """Liveness of the server: ``GET /api/health``, which needs no key (none is sent).

        Returns False when the server answers anything but ``{"ok": true}``.

        Raises:
            DokployTransportError: the server cannot be reached (DokployTimeoutError: it did not answer in time).
        """
        try:
            payload = await self._request("GET", "health", authenticated=False)
        except (DokployAPIError, DokployResponseError):
            return False
        return isinstance(payload, dict) and payload.get("ok") is True

    async def _request(
        self,
        method: Literal["GET", "POST"],
        procedure: str,
        *,
        params: list[tuple[str, str]] | None = None,
        body: dict[str, Any] | None = None,
        authenticated: bool = True,
        request_timeout: float | None = None,
    ) -> Any:
        if not _PROCEDURE.fullmatch(procedure):
            raise ValueError(f"not a Dokploy procedure name: {procedure!r}")
        budget = self.timeout if request_timeout is None else request_timeout
        call = _Call(
            method=method,
            path=f"/{procedure}",
            headers=self._headers(authenticated),
            params=params,
            body=body,
            budget=budget,
            deadline=anyio.current_time() + budget,
        )
        retries = self._max_retries if method == "GET" else 0
        attempt = 0
        while True:
            outcome = await self._attempt(call)
            delay = self._retry_delay(outcome, attempt, retries, call.deadline)
            if delay is None:
                return self._finish(outcome, call)
            attempt += 1
            logger.info(
                "Dokploy %s: %s %s failed (%s); retry %d of %d in %.2f s",
                self.name,
                method,
                call.path,
                _failure(outcome),
                attempt,
                retries,
                delay,
            )
            await self._sleep(delay)

    def _headers(self, authenticated: bool) -> dict[str, str]:
        if authenticated and self._api_key is not None:
            return {"x-api-key": self._api_key.get_secret_value()}
        return {}

    async def _attempt(self, call: _Call) -> Answer | httpx.HTTPError:
        """One exchange, cut off at the call's deadline. An httpx failure is returned: a retry may follow it."""
        outcome: Answer | httpx.HTTPError | None = None
        with anyio.CancelScope(deadline=call.deadline):
            try:
                outcome = await self._send_once(call)
            except httpx.HTTPError as exc:
                outcome = exc
        if outcome is None:  # the deadline cancelled the exchange, wherever it was
            raise self._timeout_error(call)
        return outcome

    async def _send_once(self, call: _Call) -> Answer:
        url = f"{self.api_url}{call.path}"
        async with self._limiter:
            started = time.perf_counter()
            try:
                async with self._http.stream(
                    call.method,
                    url,
                    params=tuple(call.params) if call.params else None,
                    json=call.body,
                    headers=call.headers,
                    # httpx applies this to each read; the call's own deadline is the cancel scope around it.
                    timeout=call.budget,
                ) as response:
                    answer = await self._read(response, call.path)
            except httpx.HTTPError as exc:
                logger.debug(
                    "Dokploy %s: %s %s -> %s after %.3f s",
                    self.name,
                    call.method,
                    call.path,
                    type(exc).__name__,
                    time.perf_counter() - started,
                )
                raise
        logger.debug(
            "Dokploy %s: %s %s -> %d in %.3f s",
            self.name,
            call.method,
            call.path,
            answer.status,
            time.perf_counter() - started,
        )
        return answer

    async def _read(self, response: httpx.Response, path: str) -> Answer:
        """The whole body, or a DokployProtocolError as soon as it passes MAX_RESPONSE_BYTES."""
        if response.headers.get("content-encoding", "identity").strip().lower() not in {"", "identity"}:
            # Inflating is not bounded by the bytes read: a few KiB of gzip can become gigabytes.
            raise self._protocol_error(path, "is compressed, although the client asked for an uncompressed answer")
        body = bytearray()
        # aiter_bytes, not aiter_raw: a transport may hand over an answer already read (test doubles do); with the
        # encoding refused above it decodes nothing.
        async for chunk in response.aiter_bytes():
            if len(body) + len(chunk) > MAX_RESPONSE_BYTES:
                raise self._protocol_error(
                    path, f"is larger than {MAX_RESPONSE_BYTES // _MIB} MiB, the most this client reads"
                )
            body += chunk
        return Answer(status=response.status_code, reason=response.reason_phrase, headers=response.headers, body=body)

    def _retry_delay(
        self, outcome: Answer | httpx.HTTPError, attempt: int, retries: int, deadline: float
    ) -> float | None:
        """The wait before the next attempt, or None when ``outcome`` is the call's result."""
        if attempt >= retries:
            return None
        if isinstance(outcome, Answer):
            if outcome.status not in _RETRY_STATUSES:
                return None
            retry_after = retry_after_seconds(outcome.headers)
            # A server-given wait replaces the backoff, but is capped: a proxy may ask for minutes.
            delay = self._backoff(attempt) if retry_after is None else min(retry_after, self._max_retry_after)
        elif isinstance(outcome, _RETRY_EXCEPTIONS) and not is_tls_failure(outcome):
            delay = self._backoff(attempt)
        else:
            return None
        # A retry that could only start after the deadline would end in a timeout that says less than this failure.
        return delay if anyio.current_time() + delay < deadline else None

    def _finish(self, outcome: Answer | httpx.HTTPError, call: _Call) -> Any:
        if isinstance(outcome, httpx.HTTPError):
            raise self._transport_error(outcome, call) from outcome
        return self._decode(outcome, call.path)

    def _backoff(self, attempt: int) -> float:
        delay = self._retry_backoff * (1 << attempt)
        return delay + _JITTER.uniform(0, delay / 10)

    def _scrub(self, text: str) -> str:
        """``text`` from Dokploy, with every known secret and every secret-shaped value masked.

        The key was registered with :mod:`dokploy_mcp.redact` when the client was built; it is named again here so
        that it stays masked even if the process-wide registry forgot it (it keeps only the newest secrets).
        """
        return redact.scrub(text, (self._api_key,))

    def _timeout_error(self, call: _Call) -> DokployTimeoutError:
        return DokployTimeoutError(server=self.name, url=self.base_url, path=call.path, timeout=call.budget)

    def _transport_error(self, exc: httpx.HTTPError, call: _Call) -> DokployTransportError:
        if isinstance(exc, httpx.TimeoutException):
            return self._timeout_error(call)
        detail = str(exc) or type(exc).__name__
        return DokployTransportError(self._scrub(f"{detail} ({call.path})"), server=self.name, url=self.base_url)

    def _protocol_error(self, path: str, reason: str) -> DokployProtocolError:
        return DokployProtocolError(reason, server=self.name, path=path)

    def _too_deep(self, path: str) -> DokployProtocolError:
        return self._protocol_error(path, f"is nested deeper than {MAX_JSON_DEPTH} levels, more than this client reads")

    def _decode(self, answer: Answer, path: str) -> Any:
        if not 200 <= answer.status < 300:
            raise self._api_error(answer, path)
        if not answer.body or answer.body.isspace():
            return None
        try:
            return load_json(answer.body)
        except TooDeep:
            raise self._too_deep(path) from None
        except ValueError:
            content_type = self._scrub(answer.headers.get("content-type", "no content type"))
            raise DokployResponseError(
                f"the {answer.status} answer is not JSON ({content_type})", server=self.name, path=path
            ) from None

    def _api_error(self, answer: Answer, path: str) -> DokployAPIError:
        try:
            payload = error_payload(answer)
        except TooDeep:
            raise self._too_deep(path) from None
        return api_error(answer, payload, server=self.name, path=path, scrub=self._scrub)
