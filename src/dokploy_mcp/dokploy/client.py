"""Async client for the Dokploy REST API (v0.30.2).

Dokploy exposes its tRPC router over plain HTTP under ``<url>/api``: a query is ``GET /api/<router>.<procedure>``
with flat query parameters, a mutation is ``POST`` with a JSON body (``{}`` when it takes no input). The key goes
in the ``x-api-key`` header. :meth:`DokployClient.query` and :meth:`DokployClient.mutate` speak that protocol; the
typed methods (``compose_one``, ``domain_update``...) send exactly the fields of Dokploy's OpenAPI document and
return trimmed models from :mod:`dokploy_mcp.dokploy.models`.

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

import base64
import email.utils
import json
import logging
import math
import random
import re
import ssl
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal, Self, TypeVar
from urllib.parse import urlsplit, urlunsplit

import anyio
import httpx
import pydantic
from pydantic import SecretStr

from dokploy_mcp import __version__, redact
from dokploy_mcp.dokploy.errors import (
    DokployAPIError,
    DokployAuthError,
    DokployNotFoundError,
    DokployProtocolError,
    DokployRateLimitedError,
    DokployResponseError,
    DokployTimeoutError,
    DokployTransportError,
    DokployValidationError,
)
from dokploy_mcp.dokploy.models import (
    ApiKey,
    AuthSession,
    Backup,
    Compose,
    Container,
    CurrentUser,
    Deployment,
    DeployResult,
    Destination,
    Domain,
    Environment,
    ImportResult,
    ProcessedTemplate,
    Project,
    ProjectCreated,
    Template,
    WebServerSettings,
)
from dokploy_mcp.errors import ConfigurationError

__all__ = ["MAX_JSON_DEPTH", "MAX_RESPONSE_BYTES", "DokployClient", "encode_template"]

logger = logging.getLogger(__name__)

_ModelT = TypeVar("_ModelT", bound=pydantic.BaseModel)

_RETRY_STATUSES = frozenset({429, 502, 503, 504})
# Failures where the request cannot have reached Dokploy's handler, or died before an answer: safe to repeat a GET.
_RETRY_EXCEPTIONS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.RemoteProtocolError)
# Dots separate router and procedure, slashes the non-tRPC routes (health, auth/...); no empty segment, so no "..".
_PROCEDURE = re.compile(r"[A-Za-z0-9_-]+(?:[./][A-Za-z0-9_-]+)*")

#: The most bytes of one answer the client reads (16 MiB): far above any real Dokploy answer (a long build log is
#: a few hundred KiB), low enough that a few concurrent calls cannot exhaust the memory of a small host.
MAX_RESPONSE_BYTES = 16 * 1024 * 1024
#: The deepest nesting of JSON arrays and objects accepted in an answer. Dokploy's deepest real answers (a project
#: with its environments, composes and their domains) stay under 10.
MAX_JSON_DEPTH = 64
_MIB = 1024 * 1024
#: Retry jitter from a private generator: the process-wide one belongs to the embedding program (and to test
#: frameworks that watch it).
_JITTER = random.Random()

CertificateType = Literal["letsencrypt", "none", "custom"]
ComposeType = Literal["docker-compose", "stack"]
SourceType = Literal["git", "github", "gitlab", "bitbucket", "gitea", "raw"]


def encode_template(compose_yaml: str, template_toml: str) -> str:
    """The ``base64`` input of ``compose.import`` / ``compose.processTemplate``.

    Dokploy expects base64 of the UTF-8 JSON ``{"compose": <docker-compose.yml>, "config": <template.toml>}`` and
    parses the TOML itself (leniently: the Supabase template is not strict TOML).
    """
    payload = json.dumps({"compose": compose_yaml, "config": template_toml}, ensure_ascii=False)
    return base64.b64encode(payload.encode("utf-8")).decode("ascii")


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


def _without_none(fields: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in fields.items() if value is not None}


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


def _retry_after_seconds(headers: httpx.Headers) -> float | None:
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


@dataclass(frozen=True)
class _Answer:
    """One HTTP answer, its body read in full (never more than MAX_RESPONSE_BYTES)."""

    status: int
    reason: str
    headers: httpx.Headers
    body: bytearray


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


class _TooDeep(Exception):
    """Raised by :func:`_load_json` for JSON nested deeper than MAX_JSON_DEPTH."""


def _nested_deeper_than(value: Any, limit: int) -> bool:
    # An explicit stack instead of recursion: the walk itself must not be what a deep answer breaks.
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def _load_json(body: bytes | bytearray) -> Any:
    """Decoded JSON. Raises ValueError when ``body`` is not JSON, :class:`_TooDeep` when it nests too deep."""
    try:
        value = json.loads(body)
    except RecursionError:
        # The C decoder gives up at the interpreter's recursion limit: deeper than MAX_JSON_DEPTH in any case.
        raise _TooDeep from None
    if isinstance(value, dict | list) and _nested_deeper_than(value, MAX_JSON_DEPTH):
        raise _TooDeep
    return value


def _error_message(answer: _Answer, payload: Mapping[str, Any]) -> str:
    """Dokploy's own message, else what the status line or a redirect says (unscrubbed: the caller scrubs)."""
    raw = payload.get("message")
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    if 300 <= answer.status < 400:
        return f"redirected to {answer.headers.get('location', '?')}; configure that URL instead"
    return answer.reason or f"HTTP {answer.status}"


def _failure(outcome: _Answer | httpx.HTTPError) -> str:
    return f"HTTP {outcome.status}" if isinstance(outcome, _Answer) else type(outcome).__name__


def _validation_details(payload: Mapping[str, Any]) -> tuple[dict[str, list[str]], list[str]] | None:
    """Field and form messages of a Dokploy 400, or None when the 400 is not an input validation failure."""
    data = payload.get("data")
    zod = data.get("zodError") if isinstance(data, dict) else None
    if isinstance(zod, dict):
        raw_fields = zod.get("fieldErrors")
        fields = {
            str(name): [str(msg) for msg in msgs]
            for name, msgs in (raw_fields.items() if isinstance(raw_fields, dict) else ())
            if isinstance(msgs, list)
        }
        raw_form = zod.get("formErrors")
        form = [str(msg) for msg in raw_form] if isinstance(raw_form, list) else []
        return fields, form
    issues = payload.get("issues")
    if not isinstance(issues, list) or not issues:
        return None
    fields = {}
    form = []
    for issue in issues:
        if not isinstance(issue, dict):
            continue
        message = str(issue.get("message", "invalid"))
        path = issue.get("path")
        if isinstance(path, list) and path:
            fields.setdefault(".".join(str(part) for part in path), []).append(message)
        else:
            form.append(message)
    return fields, form


def _is_tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


class DokployClient:
    """One Dokploy server, reached over its REST API.

    Use it as an async context manager, or call :meth:`aclose`. Requests of one client run at most
    ``max_concurrency`` at a time. GETs are retried with exponential backoff on 429/502/503/504 and on connection
    failures, honouring ``Retry-After`` up to ``max_retry_after`` seconds; POSTs are never retried. ``timeout`` is
    the deadline of each whole call, retries included (see the module docstring).

    Every method raises a :class:`~dokploy_mcp.dokploy.errors.DokployError` subclass on failure:
    ``DokployTransportError`` / ``DokployTimeoutError`` when Dokploy cannot be reached or the deadline passed, a
    ``DokployAPIError`` subclass when it answers an error status, ``DokployResponseError`` when its answer has the
    wrong shape (``DokployProtocolError`` when it is past the size or depth cap).
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
                "user-agent": f"dokploy-mcp/{__version__}",
                "accept": "application/json",
                "accept-encoding": "identity",
            },
        )

    def __repr__(self) -> str:
        return f"DokployClient(name={self.name!r}, base_url={self.base_url!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. The client cannot be used afterwards."""
        await self._http.aclose()

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

    async def _attempt(self, call: _Call) -> _Answer | httpx.HTTPError:
        """One exchange, cut off at the call's deadline. An httpx failure is returned: a retry may follow it."""
        outcome: _Answer | httpx.HTTPError | None = None
        with anyio.CancelScope(deadline=call.deadline):
            try:
                outcome = await self._send_once(call)
            except httpx.HTTPError as exc:
                outcome = exc
        if outcome is None:  # the deadline cancelled the exchange, wherever it was
            raise self._timeout_error(call)
        return outcome

    async def _send_once(self, call: _Call) -> _Answer:
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

    async def _read(self, response: httpx.Response, path: str) -> _Answer:
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
        return _Answer(status=response.status_code, reason=response.reason_phrase, headers=response.headers, body=body)

    def _retry_delay(
        self, outcome: _Answer | httpx.HTTPError, attempt: int, retries: int, deadline: float
    ) -> float | None:
        """The wait before the next attempt, or None when ``outcome`` is the call's result."""
        if attempt >= retries:
            return None
        if isinstance(outcome, _Answer):
            if outcome.status not in _RETRY_STATUSES:
                return None
            retry_after = _retry_after_seconds(outcome.headers)
            # A server-given wait replaces the backoff, but is capped: a proxy may ask for minutes.
            delay = self._backoff(attempt) if retry_after is None else min(retry_after, self._max_retry_after)
        elif isinstance(outcome, _RETRY_EXCEPTIONS) and not _is_tls_failure(outcome):
            delay = self._backoff(attempt)
        else:
            return None
        # A retry that could only start after the deadline would end in a timeout that says less than this failure.
        return delay if anyio.current_time() + delay < deadline else None

    def _finish(self, outcome: _Answer | httpx.HTTPError, call: _Call) -> Any:
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

    def _decode(self, answer: _Answer, path: str) -> Any:
        if not 200 <= answer.status < 300:
            raise self._api_error(answer, path)
        if not answer.body or answer.body.isspace():
            return None
        try:
            return _load_json(answer.body)
        except _TooDeep:
            raise self._too_deep(path) from None
        except ValueError:
            content_type = self._scrub(answer.headers.get("content-type", "no content type"))
            raise DokployResponseError(
                f"the {answer.status} answer is not JSON ({content_type})", server=self.name, path=path
            ) from None

    def _error_payload(self, answer: _Answer, path: str) -> dict[str, Any]:
        """The JSON object of an error answer, or ``{}`` when there is none (empty, not JSON, not an object)."""
        try:
            payload = _load_json(answer.body)
        except _TooDeep:
            raise self._too_deep(path) from None
        except ValueError:
            return {}
        return payload if isinstance(payload, dict) else {}

    def _api_error(self, answer: _Answer, path: str) -> DokployAPIError:
        status = answer.status
        payload = self._error_payload(answer, path)
        raw_code = payload.get("code")
        common: dict[str, Any] = {
            "server": self.name,
            "status": status,
            "path": path,
            "message": self._scrub(_error_message(answer, payload)),
            "code": self._scrub(raw_code) if isinstance(raw_code, str) else None,
        }
        if status in {401, 403}:
            return DokployAuthError(**common)
        if status == 404:
            return DokployNotFoundError(**common)
        if status == 429:
            return DokployRateLimitedError(**common, retry_after=_retry_after_seconds(answer.headers))
        if status == 400:
            details = _validation_details(payload)
            if details is not None:
                fields, form = details
                return DokployValidationError(
                    **common,
                    field_errors={self._scrub(name): [self._scrub(m) for m in msgs] for name, msgs in fields.items()},
                    form_errors=[self._scrub(m) for m in form],
                )
        return DokployAPIError(**common)

    # -- decoding of typed answers --------------------------------------------------------------------------------

    def _model(self, model: type[_ModelT], payload: Any, procedure: str) -> _ModelT:
        try:
            return model.model_validate(payload)
        except pydantic.ValidationError as exc:
            raise self._shape_error(model.__name__, exc, procedure) from None

    def _models(self, model: type[_ModelT], payload: Any, procedure: str) -> list[_ModelT]:
        if not isinstance(payload, list):
            raise self._wrong_type("a list", payload, procedure)
        return [self._model(model, item, procedure) for item in payload]

    def _shape_error(self, what: str, exc: pydantic.ValidationError, procedure: str) -> DokployResponseError:
        # Never str(exc): pydantic quotes the offending input, which may be an env full of secrets.
        problems = "; ".join(
            f"{'.'.join(str(part) for part in error['loc']) or '<root>'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)[:5]
        )
        # The locations name keys of Dokploy's answer: its text, so scrubbed like any other.
        return DokployResponseError(
            f"not a valid {what} ({self._scrub(problems)})", server=self.name, path=f"/{procedure}"
        )

    def _wrong_type(self, expected: str, payload: Any, procedure: str) -> DokployResponseError:
        return DokployResponseError(
            f"expected {expected}, got {type(payload).__name__}", server=self.name, path=f"/{procedure}"
        )

    def _str(self, payload: Any, procedure: str) -> str:
        if not isinstance(payload, str):
            raise self._wrong_type("a string", payload, procedure)
        return payload

    def _bool(self, payload: Any, procedure: str) -> bool:
        if not isinstance(payload, bool):
            raise self._wrong_type("true or false", payload, procedure)
        return payload

    # -- settings -------------------------------------------------------------------------------------------------

    async def settings_health(self) -> bool:
        """Whether Dokploy and its database answer (``settings.health``). Unlike :meth:`health` it needs the key.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("settings.health")
        return isinstance(payload, dict) and payload.get("status") == "ok"

    async def settings_get_dokploy_version(self) -> str:
        """The Dokploy release, e.g. ``"v0.30.2"`` (``settings.getDokployVersion``).

        Raises:
            DokployError: see the class docstring.
        """
        return self._str(await self.query("settings.getDokployVersion"), "settings.getDokployVersion")

    async def settings_get_ip(self) -> str:
        """The server IP Dokploy uses for sslip.io hosts, or ``""`` when none was ever detected or set.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("settings.getIp")
        return "" if payload is None else self._str(payload, "settings.getIp")

    async def settings_update_server_ip(self, server_ip: str) -> WebServerSettings | None:
        """Set the server IP that template domains and generated sslip.io hosts derive from.

        Returns the updated settings (None on Dokploy Cloud, which answers ``true``).

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.mutate("settings.updateServerIp", {"serverIp": server_ip})
        if payload is True:
            return None
        return self._model(WebServerSettings, payload, "settings.updateServerIp")

    async def settings_get_web_server_settings(self) -> WebServerSettings:
        """Server-wide settings: server IP, Dokploy's own host and https, the Let's Encrypt e-mail.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("settings.getWebServerSettings")
        return self._model(WebServerSettings, payload, "settings.getWebServerSettings")

    # -- user -----------------------------------------------------------------------------------------------------

    # -- sign-in (better-auth, outside the tRPC router) and API keys ----------------------------------------------

    async def auth_sign_up_email(
        self,
        *,
        email: str,
        password: SecretStr,
        name: str,
        last_name: str | None = None,
        request_timeout: float = 180.0,
    ) -> AuthSession:
        """Create the first admin (``POST /api/auth/sign-up/email``); the session cookie lands in this client's jar.

        Sends no key, Cookie or Origin: better-auth checks the Origin only when cookies are present, and a fresh
        install has no trusted origin yet. ``request_timeout`` is long because the sign-up hook looks up the public IP,
        which takes about 60 s on a host without internet. Dokploy answers 400 "Admin is already created" once an
        owner exists.

        Raises:
            DokployError: see the class docstring.
        """
        body = _without_none(
            {"email": email, "password": password.get_secret_value(), "name": name, "lastName": last_name}
        )
        payload = await self._request(
            "POST", "auth/sign-up/email", body=body, authenticated=False, request_timeout=request_timeout
        )
        return self._model(AuthSession, payload, "auth/sign-up/email")

    async def auth_sign_in_email(self, *, email: str, password: SecretStr) -> AuthSession:
        """Sign in (``POST /api/auth/sign-in/email``); the session cookie lands in this client's jar.

        Raises:
            DokployAuthError: wrong e-mail or password (401).
            DokployError: see the class docstring.
        """
        body = {"email": email, "password": password.get_secret_value()}
        payload = await self._request("POST", "auth/sign-in/email", body=body, authenticated=False)
        return self._model(AuthSession, payload, "auth/sign-in/email")

    async def user_create_api_key(
        self, *, name: str, organization_id: str, rate_limit_enabled: bool = False, expires_in: int | None = None
    ) -> ApiKey:
        """Create an API key for the signed-in user (``user.createApiKey``), by default WITHOUT a rate limit.

        Dokploy keeps better-auth's default limit otherwise: 10 counted requests a day, and every REST call counts
        twice, so such a key answers 401 after 5 calls.

        Raises:
            DokployError: see the class docstring.
        """
        body = _without_none(
            {
                "name": name,
                "metadata": {"organizationId": organization_id},
                "rateLimitEnabled": rate_limit_enabled,
                "expiresIn": expires_in,
            }
        )
        return self._model(ApiKey, await self.mutate("user.createApiKey", body), "user.createApiKey")

    async def user_get(self) -> CurrentUser:
        """The caller: organization, role and e-mail of the key's user.

        Raises:
            DokployError: see the class docstring.
        """
        return self._model(CurrentUser, await self.query("user.get"), "user.get")

    # -- project and environment ----------------------------------------------------------------------------------

    async def project_all(self) -> list[Project]:
        """Every project visible to the key, with environments and their composes (id, name, status only).

        Raises:
            DokployError: see the class docstring.
        """
        return self._models(Project, await self.query("project.all"), "project.all")

    async def project_one(self, project_id: str) -> Project:
        """One project with its environments and services.

        Raises:
            DokployNotFoundError: no such project.
            DokployError: see the class docstring.
        """
        return self._model(Project, await self.query("project.one", {"projectId": project_id}), "project.one")

    async def project_create(
        self, name: str, description: str | None = None, *, env: str | None = None
    ) -> ProjectCreated:
        """Create a project; Dokploy also creates its ``production`` environment, where services go.

        Raises:
            DokployValidationError: the name is empty.
            DokployError: see the class docstring.
        """
        body = _without_none({"name": name, "description": description, "env": env})
        return self._model(ProjectCreated, await self.mutate("project.create", body), "project.create")

    async def project_update(
        self,
        project_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        env: str | None = None,
    ) -> Project:
        """Change a project's name, description or project-level env; None leaves a field as it is.

        Raises:
            DokployError: see the class docstring.
        """
        body = _without_none({"projectId": project_id, "name": name, "description": description, "env": env})
        return self._model(Project, await self.mutate("project.update", body), "project.update")

    async def project_remove(self, project_id: str) -> Project:
        """Delete a project's rows. Its containers keep running: delete the services first.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.mutate("project.remove", {"projectId": project_id})
        return self._model(Project, payload, "project.remove")

    async def environment_one(self, environment_id: str) -> Environment:
        """One environment with its composes (id, name, status, description, serverId) and its project.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("environment.one", {"environmentId": environment_id})
        return self._model(Environment, payload, "environment.one")

    async def environment_by_project_id(self, project_id: str) -> list[Environment]:
        """The environments of a project.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("environment.byProjectId", {"projectId": project_id})
        return self._models(Environment, payload, "environment.byProjectId")

    # -- compose --------------------------------------------------------------------------------------------------

    async def compose_create(
        self,
        name: str,
        environment_id: str,
        *,
        description: str | None = None,
        compose_type: ComposeType = "docker-compose",
        app_name: str | None = None,
        server_id: str | None = None,
        compose_file: str | None = None,
        source_type: SourceType = "raw",
    ) -> Compose:
        """Create a compose service (not deployed). ``source_type`` defaults to raw, not Dokploy's github default.

        Dokploy appends a random suffix to ``app_name``, or invents one when it is None.

        Raises:
            DokployError: see the class docstring.
        """
        body = _without_none(
            {
                "name": name,
                "environmentId": environment_id,
                "description": description,
                "composeType": compose_type,
                "appName": app_name,
                "serverId": server_id,
                "composeFile": compose_file,
                "sourceType": source_type,
            }
        )
        return self._model(Compose, await self.mutate("compose.create", body), "compose.create")

    async def compose_one(self, compose_id: str) -> Compose:
        """A compose with env, compose file, status, environment and project, deployments, domains, mounts, backups.

        Raises:
            DokployNotFoundError: no such compose.
            DokployError: see the class docstring.
        """
        return self._model(Compose, await self.query("compose.one", {"composeId": compose_id}), "compose.one")

    async def compose_update(
        self,
        compose_id: str,
        *,
        name: str | None = None,
        description: str | None = None,
        env: str | None = None,
        compose_file: str | None = None,
        source_type: SourceType | None = None,
        compose_type: ComposeType | None = None,
        command: str | None = None,
        app_name: str | None = None,
        compose_path: str | None = None,
        auto_deploy: bool | None = None,
    ) -> Compose:
        """Change fields of a compose; None leaves a field as it is. Takes effect on the next deploy.

        Raises:
            DokployError: see the class docstring.
        """
        body = _without_none(
            {
                "composeId": compose_id,
                "name": name,
                "description": description,
                "env": env,
                "composeFile": compose_file,
                "sourceType": source_type,
                "composeType": compose_type,
                "command": command,
                "appName": app_name,
                "composePath": compose_path,
                "autoDeploy": auto_deploy,
            }
        )
        return self._model(Compose, await self.mutate("compose.update", body), "compose.update")

    async def compose_import_template(self, compose_id: str, compose_yaml: str, template_toml: str) -> ImportResult:
        """Replace a compose's file, env, mounts and domains by a processed template (the offline path).

        Existing mounts and domains of the compose are deleted first.

        Raises:
            DokployError: see the class docstring.
        """
        body = {"composeId": compose_id, "base64": encode_template(compose_yaml, template_toml)}
        return self._model(ImportResult, await self.mutate("compose.import", body), "compose.import")

    async def compose_process_template(
        self, compose_id: str, compose_yaml: str, template_toml: str
    ) -> ProcessedTemplate:
        """Dry run of :meth:`compose_import_template`: what the template would produce; nothing is saved.

        Raises:
            DokployError: see the class docstring.
        """
        body = {"composeId": compose_id, "base64": encode_template(compose_yaml, template_toml)}
        payload = await self.mutate("compose.processTemplate", body)
        return self._model(ProcessedTemplate, payload, "compose.processTemplate")

    async def compose_deploy_template(
        self,
        environment_id: str,
        template_id: str,
        *,
        server_id: str | None = None,
        base_url: str | None = None,
    ) -> Compose:
        """Create a compose from the template catalogue (e.g. ``"supabase"``). It does not deploy.

        The Dokploy host fetches the template from ``base_url`` (default templates.dokploy.com), so it needs
        internet access or a mirror; offline it answers 500 "fetch failed".

        Raises:
            DokployAPIError: the template could not be fetched.
            DokployError: see the class docstring.
        """
        body = _without_none(
            {"environmentId": environment_id, "id": template_id, "serverId": server_id, "baseUrl": base_url}
        )
        return self._model(Compose, await self.mutate("compose.deployTemplate", body), "compose.deployTemplate")

    async def compose_templates(self, base_url: str | None = None) -> list[Template]:
        """The template catalogue. Dokploy answers ``[]`` when it cannot fetch it, e.g. offline.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("compose.templates", {"baseUrl": base_url})
        return self._models(Template, payload, "compose.templates")

    async def compose_deploy(
        self, compose_id: str, title: str | None = None, description: str | None = None
    ) -> DeployResult:
        """Queue a deploy and return at once; poll :meth:`deployment_all_by_compose` for the outcome.

        Raises:
            DokployError: see the class docstring.
        """
        body = _without_none({"composeId": compose_id, "title": title, "description": description})
        return self._model(DeployResult, await self.mutate("compose.deploy", body), "compose.deploy")

    async def compose_redeploy(
        self, compose_id: str, title: str | None = None, description: str | None = None
    ) -> DeployResult:
        """Queue a redeploy and return at once; poll :meth:`deployment_all_by_compose` for the outcome.

        Raises:
            DokployError: see the class docstring.
        """
        body = _without_none({"composeId": compose_id, "title": title, "description": description})
        return self._model(DeployResult, await self.mutate("compose.redeploy", body), "compose.redeploy")

    async def compose_stop(self, compose_id: str) -> bool:
        """Stop the compose's containers (they stay, with their volumes).

        Raises:
            DokployError: see the class docstring.
        """
        return self._bool(await self.mutate("compose.stop", {"composeId": compose_id}), "compose.stop")

    async def compose_start(self, compose_id: str) -> bool:
        """Start the compose's containers again.

        Raises:
            DokployError: see the class docstring.
        """
        return self._bool(await self.mutate("compose.start", {"composeId": compose_id}), "compose.start")

    async def compose_delete(self, compose_id: str, *, delete_volumes: bool) -> Compose:
        """Remove the compose, its containers and its folder on the host (bind-mounted data under ``files/``).

        ``delete_volumes`` has no default on purpose: True also removes the named volumes, i.e. the data.

        Raises:
            DokployNotFoundError: no such compose.
            DokployError: see the class docstring.
        """
        body = {"composeId": compose_id, "deleteVolumes": delete_volumes}
        return self._model(Compose, await self.mutate("compose.delete", body), "compose.delete")

    async def compose_save_environment(self, compose_id: str, env: str, *, create_env_file: bool | None = None) -> bool:
        """Replace the whole env text of a compose (``KEY=VALUE`` lines). Takes effect on the next deploy.

        Raises:
            DokployError: see the class docstring.
        """
        body = _without_none({"composeId": compose_id, "env": env, "createEnvFile": create_env_file})
        payload = await self.mutate("compose.saveEnvironment", body)
        return self._bool(payload, "compose.saveEnvironment")

    async def compose_load_services(self, compose_id: str, source: Literal["fetch", "cache"] = "cache") -> list[str]:
        """Service names of the compose file. ``"cache"`` answers 404 until the compose was deployed once.

        Raises:
            DokployNotFoundError: no cached service list yet (with ``source="cache"``).
            DokployError: see the class docstring.
        """
        payload = await self.query("compose.loadServices", {"composeId": compose_id, "type": source})
        if not isinstance(payload, list) or not all(isinstance(item, str) for item in payload):
            raise self._wrong_type("a list of service names", payload, "compose.loadServices")
        names: list[str] = payload
        return names

    async def compose_read_logs(
        self,
        compose_id: str,
        container_id: str,
        *,
        tail: int | None = 100,
        since: str | None = None,
        search: str | None = None,
    ) -> str:
        """Recent log lines of one container, with timestamps.

        ``since`` is ``"all"`` (Dokploy's default when None) or ``<n>[smhd]``; ``search`` plain words only. Get
        ``container_id`` from :meth:`docker_get_containers_by_app_name_match`.

        Raises:
            DokployValidationError: a malformed argument.
            DokployError: see the class docstring.
        """
        params = {"composeId": compose_id, "containerId": container_id, "tail": tail, "since": since, "search": search}
        payload = await self.query("compose.readLogs", params)
        return "" if payload is None else self._scrub(self._str(payload, "compose.readLogs"))

    # -- deployment -----------------------------------------------------------------------------------------------

    async def deployment_all_by_compose(self, compose_id: str) -> list[Deployment]:
        """The deployments of a compose, newest first.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("deployment.allByCompose", {"composeId": compose_id})
        return self._models(Deployment, payload, "deployment.allByCompose")

    async def deployment_read_logs(self, deployment_id: str, tail: int | None = 100) -> str:
        """The last ``tail`` lines of a deployment's build log (None: Dokploy's default, 100).

        Raises:
            DokployNotFoundError: no such deployment.
            DokployError: see the class docstring.
        """
        payload = await self.query("deployment.readLogs", {"deploymentId": deployment_id, "tail": tail})
        return "" if payload is None else self._scrub(self._str(payload, "deployment.readLogs"))

    # -- domain ---------------------------------------------------------------------------------------------------

    async def domain_create(
        self,
        *,
        host: str,
        compose_id: str,
        service_name: str,
        port: int,
        https: bool = False,
        certificate_type: CertificateType = "none",
        path: str | None = None,
        internal_path: str | None = None,
        strip_path: bool | None = None,
        custom_cert_resolver: str | None = None,
    ) -> Domain:
        """Route ``host`` to ``service_name:port`` of a compose. It takes effect on the next deploy.

        Raises:
            DokployValidationError: a missing or malformed field.
            DokployError: see the class docstring.
        """
        body = _without_none(
            {
                "host": host,
                "path": path,
                "port": port,
                "https": https,
                "certificateType": certificate_type,
                "composeId": compose_id,
                "serviceName": service_name,
                "domainType": "compose",
                "internalPath": internal_path,
                "stripPath": strip_path,
                "customCertResolver": custom_cert_resolver,
            }
        )
        return self._model(Domain, await self.mutate("domain.create", body), "domain.create")

    async def domain_by_compose_id(self, compose_id: str) -> list[Domain]:
        """The domains of a compose.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("domain.byComposeId", {"composeId": compose_id})
        return self._models(Domain, payload, "domain.byComposeId")

    async def domain_one(self, domain_id: str) -> Domain:
        """One domain.

        Raises:
            DokployError: see the class docstring.
        """
        return self._model(Domain, await self.query("domain.one", {"domainId": domain_id}), "domain.one")

    async def domain_update(
        self,
        domain_id: str,
        *,
        host: str,
        https: bool,
        certificate_type: CertificateType,
        service_name: str | None = None,
        port: int | None = None,
        path: str | None = None,
        internal_path: str | None = None,
        strip_path: bool | None = None,
        custom_cert_resolver: str | None = None,
        enabled: bool | None = None,
    ) -> Domain:
        """Change a compose domain. ``https`` and ``certificate_type`` are required so they are never reset by
        omission. Compose domains take effect on the next deploy.

        Raises:
            DokployError: see the class docstring.
        """
        body = _without_none(
            {
                "domainId": domain_id,
                "host": host,
                "path": path,
                "port": port,
                "https": https,
                "certificateType": certificate_type,
                "serviceName": service_name,
                "domainType": "compose",
                "internalPath": internal_path,
                "stripPath": strip_path,
                "customCertResolver": custom_cert_resolver,
                "enabled": enabled,
            }
        )
        return self._model(Domain, await self.mutate("domain.update", body), "domain.update")

    async def domain_delete(self, domain_id: str) -> Domain:
        """Delete a domain; for a compose, Traefik drops it on the next deploy.

        Raises:
            DokployError: see the class docstring.
        """
        return self._model(Domain, await self.mutate("domain.delete", {"domainId": domain_id}), "domain.delete")

    async def domain_generate_domain(self, app_name: str, server_id: str | None = None) -> str:
        """A fresh ``<appName>-<hex>-<ip>.sslip.io`` host; the IP is the server IP (127.0.0.1 when unset).

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.mutate(
            "domain.generateDomain", _without_none({"appName": app_name, "serverId": server_id})
        )
        return self._str(payload, "domain.generateDomain")

    # -- docker ---------------------------------------------------------------------------------------------------

    async def docker_get_containers_by_app_name_match(
        self,
        app_name: str,
        *,
        app_type: ComposeType | None = "docker-compose",
        server_id: str | None = None,
    ) -> list[Container]:
        """The containers of an app, running or not. With ``app_type`` None, Dokploy greps names instead of
        matching the compose project label.

        Raises:
            DokployError: see the class docstring.
        """
        params = {"appName": app_name, "appType": app_type, "serverId": server_id}
        payload = await self.query("docker.getContainersByAppNameMatch", params)
        return self._models(Container, payload, "docker.getContainersByAppNameMatch")

    # -- destination ----------------------------------------------------------------------------------------------

    async def destination_create(
        self,
        *,
        name: str,
        provider: str | None,
        access_key: str,
        secret_access_key: SecretStr,
        bucket: str,
        region: str,
        endpoint: str,
        additional_flags: Sequence[str] | None = None,
        server_id: str | None = None,
    ) -> Destination:
        """Add an S3-compatible backup destination (``provider`` is rclone's, e.g. "AWS", "Minio", "Cloudflare").

        Raises:
            DokployError: see the class docstring.
        """
        body: dict[str, Any] = {
            "name": name,
            "provider": provider,
            "accessKey": access_key,
            "secretAccessKey": secret_access_key.get_secret_value(),
            "bucket": bucket,
            "region": region,
            "endpoint": endpoint,
            # The schema requires the key even when there are no flags.
            "additionalFlags": list(additional_flags or ()),
        }
        if server_id is not None:
            body["serverId"] = server_id
        return self._model(Destination, await self.mutate("destination.create", body), "destination.create")

    async def destination_all(self) -> list[Destination]:
        """Every backup destination of the organization.

        Raises:
            DokployError: see the class docstring.
        """
        return self._models(Destination, await self.query("destination.all"), "destination.all")

    async def destination_one(self, destination_id: str) -> Destination:
        """One backup destination.

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.query("destination.one", {"destinationId": destination_id})
        return self._model(Destination, payload, "destination.one")

    async def destination_remove(self, destination_id: str) -> Destination:
        """Delete a backup destination (no backup may still use it).

        Raises:
            DokployError: see the class docstring.
        """
        payload = await self.mutate("destination.remove", {"destinationId": destination_id})
        return self._model(Destination, payload, "destination.remove")

    # -- backup ---------------------------------------------------------------------------------------------------

    async def backup_create(
        self,
        *,
        compose_id: str,
        service_name: str,
        destination_id: str,
        schedule: str,
        prefix: str,
        database: str = "postgres",
        database_user: str = "postgres",
        enabled: bool = True,
        keep_latest_count: int | None = None,
    ) -> None:
        """Schedule a backup of the PostgreSQL service ``service_name`` inside a compose (``db`` for Supabase).

        ``schedule`` is a cron expression. Dokploy answers with an empty body: find the new backup's id in
        :meth:`compose_one` (``backups``).

        Raises:
            DokployError: see the class docstring.
        """
        body = _without_none(
            {
                "schedule": schedule,
                "prefix": prefix,
                "destinationId": destination_id,
                "database": database,
                "databaseType": "postgres",
                "enabled": enabled,
                "keepLatestCount": keep_latest_count,
                "backupType": "compose",
                "composeId": compose_id,
                "serviceName": service_name,
                "metadata": {"postgres": {"databaseUser": database_user}},
            }
        )
        await self.mutate("backup.create", body)

    async def backup_one(self, backup_id: str) -> Backup:
        """One backup with its destination.

        Raises:
            DokployError: see the class docstring.
        """
        return self._model(Backup, await self.query("backup.one", {"backupId": backup_id}), "backup.one")

    async def backup_remove(self, backup_id: str) -> Backup:
        """Delete a scheduled backup (the files already in the bucket stay).

        Raises:
            DokployError: see the class docstring.
        """
        return self._model(Backup, await self.mutate("backup.remove", {"backupId": backup_id}), "backup.remove")

    async def backup_manual_backup_compose(self, backup_id: str) -> bool:
        """Run a compose backup now and wait for it.

        On failure Dokploy answers 400 with a generic message; the cause is in the run's log (the newest
        deployment of the backup, see :meth:`compose_one` and :meth:`deployment_read_logs`).

        Raises:
            DokployAPIError: the backup failed.
            DokployError: see the class docstring.
        """
        payload = await self.mutate("backup.manualBackupCompose", {"backupId": backup_id})
        return self._bool(payload, "backup.manualBackupCompose")

    # -- mounts ---------------------------------------------------------------------------------------------------

    async def mounts_create(self, compose_id: str, *, file_path: str, content: str, mount_path: str = "/") -> bool:
        """Add a file mount to a compose: Dokploy writes ``content`` to ``files/<file_path>`` next to the compose
        file, where the compose file can bind-mount it (``../files/...``).

        ``mount_path`` is unused for compose file mounts, but the schema requires it; Dokploy's UI sends ``/``.

        Raises:
            DokployError: see the class docstring.
        """
        body = {
            "type": "file",
            "serviceType": "compose",
            "serviceId": compose_id,
            "filePath": file_path,
            "content": content,
            "mountPath": mount_path,
        }
        return self._bool(await self.mutate("mounts.create", body), "mounts.create")
