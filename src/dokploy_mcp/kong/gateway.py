"""Async client of a Supabase stack's public Kong gateway (the stack's API URL, e.g. ``https://api.example.com``).

Dokploy routes the stack's domain to ``kong:8000``; Kong is the only door to GoTrue, PostgREST, Storage, Realtime,
pg-meta and Edge Functions. What the template's ``kong.yml`` does to a request decides how this client talks:

* ``key-auth`` picks the consumer from the ``apikey`` header: ``anon`` (``ANON_KEY``) or ``service_role``
  (``SERVICE_ROLE_KEY``). It compares the literal string, so a key that is not exactly one of the two deployed keys
  is refused by Kong (401) before any service sees it, however well it is signed.
* ``acl`` lets ``anon`` and ``admin`` (the service_role consumer's group) use ``/auth/v1/``, ``/rest/v1/`` and
  ``/realtime/v1/api``, but only ``admin`` use ``/pg/`` (403 for the anon key).
* ``request-transformer`` sets the upstream ``Authorization`` to the client's own Authorization header, or, when
  there is none, to the raw apikey *without* ``Bearer``. GoTrue only accepts ``Bearer <jwt>``, so every request sends
  both ``apikey: <key>`` and ``Authorization: Bearer <key>``, as supabase-js does.

Failures raise (``str(err)`` never holds a key; the keys are scrubbed from anything a service echoes back)::

    GatewayError                    attrs url (no secrets), status, message, code
    ├── GatewayUnreachableError     no answer: connect refused, DNS, TLS, timeout, broken connection
    ├── GatewayAuthError            401/403 from Kong or the service; attr refused_by: "kong" | "service"
    └── GatewayResponseError        any other non-2xx, or a 2xx body of the wrong shape
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Literal, Self
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx
from pydantic import SecretStr

from dokploy_mcp import __version__
from dokploy_mcp.errors import ConfigurationError, DokployMCPError, InputError

__all__ = [
    "REALTIME_TENANT",
    "GatewayAuthError",
    "GatewayError",
    "GatewayResponseError",
    "GatewayUnreachableError",
    "KeyCheck",
    "KeyName",
    "KongGateway",
    "ProbeResult",
    "ServiceName",
    "UsersPage",
]

logger = logging.getLogger(__name__)

KeyName = Literal["anon", "service_role"]
ServiceName = Literal["auth", "rest", "storage", "realtime", "meta", "functions"]

#: The Realtime tenant a self-hosted stack serves: ``SEED_SELF_HOST`` seeds it, and the template's own realtime
#: healthcheck (docker-compose.yml) asks for ``/api/tenants/realtime-dev/health``.
REALTIME_TENANT = "realtime-dev"

# Kong's own refusals: key-auth (kong/plugins/key-auth/handler.lua: "No API key found in request", "Duplicate API key
# found", and "Unauthorized" for an unknown key since 3.x; older releases said "Invalid authentication credentials")
# and acl (kong/plugins/acl/handler.lua). Kong 3.5+ adds a request_id next to the message.
_KONG_REFUSALS = frozenset(
    {
        "No API key found in request",
        "Duplicate API key found",
        "Unauthorized",
        "Invalid authentication credentials",
        "You cannot consume this service",
    }
)
_KONG_BODY_KEYS = frozenset({"message", "request_id"})
# Below this length, scrubbing a key out of messages would mangle ordinary words.
_MIN_SCRUB_LENGTH = 8
_SCRUBBED = "****"


# -- errors -----------------------------------------------------------------------------------------------------------


class GatewayError(DokployMCPError):
    """Base of every failure of a call through a stack's Kong gateway.

    ``url`` is the request URL (keys travel in headers only, so it holds none), ``status`` the HTTP status when an
    answer came back, ``message`` and ``code`` the answering service's own text and error code when it sent them.
    """

    def __init__(
        self,
        text: str,
        *,
        url: str,
        status: int | None = None,
        message: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(text)
        self.url = url
        self.status = status
        self.message = message
        self.code = code


class GatewayUnreachableError(GatewayError):
    """No usable answer: the connection was refused, the name did not resolve, TLS failed, the gateway did not answer
    within the timeout, or the connection broke. ``reason`` says which."""

    def __init__(self, reason: str, *, url: str) -> None:
        super().__init__(f"Cannot reach the Supabase gateway at {url}: {reason}", url=url)
        self.reason = reason


class GatewayAuthError(GatewayError):
    """401 or 403. ``refused_by`` is ``"kong"`` when Kong's key-auth or acl refused the key before any service saw
    it, ``"service"`` when the service behind Kong refused it (for GoTrue: ``bad_jwt``, ``not_admin``...)."""

    def __init__(
        self,
        text: str,
        *,
        url: str,
        status: int,
        message: str | None,
        code: str | None,
        refused_by: Literal["kong", "service"],
    ) -> None:
        super().__init__(text, url=url, status=status, message=message, code=code)
        self.refused_by = refused_by


class GatewayResponseError(GatewayError):
    """Any other non-2xx answer (``message`` is the service's own text, e.g. pg-meta's PostgreSQL error), or a 2xx
    answer whose body is not what the endpoint returns."""


# -- results ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProbeResult:
    """One request to one service through Kong. ``ok`` means the service gave the answer a healthy service gives;
    ``status`` is None when no answer came back; ``detail`` says what was seen."""

    service: str
    ok: bool
    status: int | None
    latency_ms: float
    detail: str


@dataclass(frozen=True)
class KeyCheck:
    """What a key repair must prove: Kong and GoTrue accept the anon key, the service_role key reaches GoTrue's admin
    API, and the anon key does not. ``details`` has one line per check, with the refusal and its likely cause."""

    anon_accepted: bool
    service_role_admin: bool
    anon_refused_on_admin: bool
    details: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.anon_accepted and self.service_role_admin and self.anon_refused_on_admin


@dataclass(frozen=True)
class UsersPage:
    """One page of GoTrue's ``/admin/users``. ``total`` comes from ``X-Total-Count``; ``next_page`` from the
    ``Link: <...>; rel="next"`` header (None on the last page)."""

    users: list[dict[str, Any]]
    total: int | None
    next_page: int | None


# -- helpers ----------------------------------------------------------------------------------------------------------


def _normalise_base_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.username is not None or parts.password is not None:
        # Not echoed: the URL itself holds a credential.
        raise ConfigurationError("the Supabase API URL must not carry a user or password")
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigurationError(f"Supabase API URL {url!r} must look like https://api.example.com")
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _service_message(response: httpx.Response) -> tuple[str | None, str | None]:
    """The answering service's (message, error code), whichever service it was.

    Shapes: Kong ``{"message"}``; GoTrue ``{"code": 401, "error_code", "msg"}`` (or ``{"code": "<error_code>",
    "message"}`` with a newer API version header); pg-meta ``{"error", "message", "code": "<sqlstate>"}``;
    PostgREST ``{"code", "message", "details", "hint"}``; edge-runtime's main router ``{"msg"}``.
    """
    payload = _json_or_none(response)
    if isinstance(payload, dict):
        message = next(
            (
                payload[key]
                for key in ("msg", "message", "error_description", "error")
                if isinstance(payload.get(key), str) and payload[key]
            ),
            None,
        )
        code = payload.get("error_code")
        if not isinstance(code, str):
            raw_code = payload.get("code")
            code = raw_code if isinstance(raw_code, str) else None
        return message, code
    text = response.text.strip()
    return (text[:300] or None), None


def _refused_by_kong(response: httpx.Response) -> bool:
    payload = _json_or_none(response)
    return (
        response.status_code in (401, 403)
        and isinstance(payload, dict)
        and set(payload) <= _KONG_BODY_KEYS
        and payload.get("message") in _KONG_REFUSALS
    )


def _refusal_hint(response: httpx.Response, message: str | None, code: str | None) -> str:
    if _refused_by_kong(response):
        if message == "No API key found in request":
            return "Kong saw no apikey"
        if message == "You cannot consume this service":
            return (
                "Kong knows the key, but its consumer's ACL group may not use this route "
                "(only the service_role key may use /pg/)"
            )
        return (
            "Kong does not know this key: it is not the ANON_KEY or SERVICE_ROLE_KEY the stack's Kong was deployed with"
        )
    if code == "bad_jwt":
        return "the key is not a JWT signed with the stack's JWT_SECRET (or it expired)"
    if code == "not_admin":
        return "the key is a valid JWT, but its role is not service_role"
    if code == "no_authorization":
        return "the service saw no 'Authorization: Bearer <jwt>' header"
    return "the service refused the key"


def _page_from_link(response: httpx.Response) -> int | None:
    # GoTrue builds the Link URL from the path it saw behind Kong (/admin/users?...), without /auth/v1: only the page
    # number is usable, never the URL itself.
    url = response.links.get("next", {}).get("url")
    if not url:
        return None
    values = parse_qs(urlsplit(url).query).get("page")
    if not values:
        return None
    try:
        return int(values[0])
    except ValueError:
        return None


def _is_tls_failure(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


# -- probes -----------------------------------------------------------------------------------------------------------

_Judge = Callable[[httpx.Response], tuple[bool, str]]


@dataclass(frozen=True)
class _Probe:
    method: Literal["GET"]
    path: str
    key: KeyName
    judge: _Judge


def _judge_auth(response: httpx.Response) -> tuple[bool, str]:
    # GoTrue's GET /health answers 200 {"version", "name", "description"} (auth-openapi.yaml /health; api.go
    # HealthCheck); 5xx means "not healthy" per the same spec.
    payload = _json_or_none(response)
    if response.status_code == 200 and isinstance(payload, dict):
        name = " ".join(str(part) for part in (payload.get("name") or "GoTrue", payload.get("version")) if part)
        return True, f"{name} answered /health"
    return False, _failure_detail(response)


def _judge_rest(response: httpx.Response) -> tuple[bool, str]:
    # PostgREST serves its OpenAPI description on the root path (docs.postgrest.org, references/api/openapi) and
    # answers 503 when it cannot reach PostgreSQL or has not loaded its schema cache (references/errors: "08*" ->
    # 503, PGRST000-PGRST002).
    if response.status_code == 200:
        return True, "PostgREST served its OpenAPI root"
    return False, _failure_detail(response)


def _judge_storage(response: httpx.Response) -> tuple[bool, str]:
    # GET /status is the template's own storage healthcheck (docker-compose.yml: wget http://storage:5000/status).
    if response.status_code == 200:
        return True, "storage answered /status"
    return False, _failure_detail(response)


def _judge_realtime(response: httpx.Response) -> tuple[bool, str]:
    # supabase/realtime router.ex: GET /api/tenants/:tenant_id/health behind check_auth (a Bearer JWT signed with
    # API_JWT_SECRET, i.e. JWT_SECRET in the template; 403 with an empty body otherwise). tenants.ex health_check
    # answers 200 {"data": {"healthy", "db_connected", "connected_cluster", ...}}; "healthy": false (clients
    # connected but no database connection) also comes with 200, so the body decides.
    payload = _json_or_none(response)
    if response.status_code == 200 and isinstance(payload, dict):
        data = payload.get("data")
        if isinstance(data, dict) and data.get("healthy") is False:
            return False, f"realtime reports tenant {REALTIME_TENANT} unhealthy: clients connected, no database"
        connected = data.get("db_connected") if isinstance(data, dict) else None
        return True, f"realtime tenant {REALTIME_TENANT} healthy (db_connected={connected})"
    if response.status_code == 403 and not response.content:
        return False, "realtime refused the anon key: it is not a JWT signed with realtime's API_JWT_SECRET"
    return False, _failure_detail(response)


def _judge_meta(response: httpx.Response) -> tuple[bool, str]:
    # pg-meta's GET /health answers {"date": ...} without touching the database (supabase-components.md §1.3).
    if response.status_code == 200:
        return True, "pg-meta answered /health (this does not prove it can reach the database)"
    return False, _failure_detail(response)


def _judge_functions(response: httpx.Response) -> tuple[bool, str]:
    # The template's main router (volumes/functions/main/index.ts) answers a path without a function name with
    # 400 {"msg": "missing function name in request"}: that 400 is the healthy answer. With VERIFY_JWT=true a bad
    # key gets 401 {"msg": "Invalid JWT"} first; a worker that cannot boot gives 500 {"msg": ...}.
    payload = _json_or_none(response)
    if (
        response.status_code == 400
        and isinstance(payload, dict)
        and payload.get("msg") == "missing function name in request"
    ):
        return True, "edge-runtime's main router answered (400 'missing function name' is its answer to a bare path)"
    return False, _failure_detail(response)


def _failure_detail(response: httpx.Response) -> str:
    message, code = _service_message(response)
    label = f"{response.status_code} {code}" if code else str(response.status_code)
    if _refused_by_kong(response):
        return f"Kong refused the key ({label}: {message}); {_refusal_hint(response, message, code)}"
    payload = _json_or_none(response)
    if response.status_code in (502, 503, 504) and isinstance(payload, dict) and set(payload) <= _KONG_BODY_KEYS:
        return f"Kong answered {label}: {message} (Kong cannot reach the service's container)"
    return f"answered {label}: {message}" if message else f"answered {label}"


_PROBES: Mapping[str, _Probe] = {
    "auth": _Probe("GET", "/auth/v1/health", "anon", _judge_auth),
    "rest": _Probe("GET", "/rest/v1/", "anon", _judge_rest),
    "storage": _Probe("GET", "/storage/v1/status", "anon", _judge_storage),
    "realtime": _Probe("GET", f"/realtime/v1/api/tenants/{REALTIME_TENANT}/health", "anon", _judge_realtime),
    # Only the service_role consumer is in the "admin" group that kong.yml's meta route allows.
    "meta": _Probe("GET", "/pg/health", "service_role", _judge_meta),
    "functions": _Probe("GET", "/functions/v1/", "anon", _judge_functions),
}


# -- client -----------------------------------------------------------------------------------------------------------


class KongGateway:
    """The public API of one Supabase stack, reached through its Kong gateway.

    Use it as an async context manager, or call :meth:`aclose`. Nothing is retried: callers that probe or verify
    want to see the first answer, and ``pg_query`` may not be idempotent.
    """

    def __init__(
        self,
        base_url: str,
        *,
        anon_key: SecretStr,
        service_role_key: SecretStr,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        verify: bool | ssl.SSLContext = True,
    ) -> None:
        self.base_url = _normalise_base_url(base_url)
        self.timeout = timeout
        self._keys: dict[KeyName, SecretStr] = {"anon": anon_key, "service_role": service_role_key}
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(timeout),
            transport=transport,
            verify=verify,
            follow_redirects=False,
            headers={"user-agent": f"dokploy-mcp/{__version__}", "accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"KongGateway(base_url={self.base_url!r})"

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
        """Close the connection pool. The gateway cannot be used afterwards."""
        await self._http.aclose()

    # -- GoTrue ---------------------------------------------------------------------------------------------------

    async def auth_health(self, key: KeyName = "anon") -> dict[str, Any]:
        """GoTrue's ``GET /auth/v1/health``: ``{"version", "name", "description"}``.

        Raises:
            GatewayError: see the module docstring.
        """
        return self._json_object(await self._send("GET", "/auth/v1/health", key=key))

    async def auth_settings(self) -> dict[str, Any]:
        """GoTrue's public settings (``GET /auth/v1/settings`` with the anon key): ``external`` providers,
        ``disable_signup``, ``mailer_autoconfirm``... Read-only: providers are configured by env.

        Raises:
            GatewayError: see the module docstring.
        """
        return self._json_object(await self._send("GET", "/auth/v1/settings", key="anon"))

    async def auth_admin_users(self, *, page: int = 1, per_page: int = 50, key: KeyName = "service_role") -> UsersPage:
        """One page of ``GET /auth/v1/admin/users`` (GoTrue's offset paging, newest first).

        Raises:
            InputError: ``page`` or ``per_page`` is below 1.
            GatewayAuthError: the key is not a service_role JWT that Kong and GoTrue accept.
            GatewayError: see the module docstring.
        """
        if page < 1:
            raise InputError("page must be 1 or more", field="page")
        if per_page < 1:
            raise InputError("per_page must be 1 or more", field="per_page")
        response = await self._send(
            "GET", "/auth/v1/admin/users", key=key, params={"page": str(page), "per_page": str(per_page)}
        )
        payload = self._json_object(response)
        users = payload.get("users")
        if not isinstance(users, list) or not all(isinstance(user, dict) for user in users):
            raise self._shape_error(response, "the body has no 'users' list of objects")
        total_header = response.headers.get("x-total-count")
        try:
            total = int(total_header) if total_header is not None else None
        except ValueError:
            total = None
        next_page = _page_from_link(response)
        if next_page is None and "link" not in response.headers and total is not None and page * per_page < total:
            next_page = page + 1
        return UsersPage(users=users, total=total, next_page=next_page)

    async def verify_keys(self) -> KeyCheck:
        """Prove that the stack's Kong and GoTrue accept the two keys this gateway holds, each in its role.

        * anon: ``/auth/v1/health`` answers 200 (Kong knows the key), and GoTrue's refusal on the admin route is
          ``not_admin``, not ``bad_jwt`` (its signature verifies with the stack's JWT_SECRET);
        * service_role: ``/auth/v1/admin/users?per_page=1`` answers 200;
        * the anon key is refused (401/403) on that admin route.

        Raises:
            GatewayUnreachableError: the gateway did not answer, so nothing can be said about the keys.
            GatewayResponseError: a check got an answer that says nothing about keys (5xx: GoTrue or Kong broken).
        """
        details: list[str] = []
        params = {"page": "1", "per_page": "1"}

        health = await self._send("GET", "/auth/v1/health", key="anon")
        anon_accepted = self._key_verdict(health, "anon key on /auth/v1/health", details)

        admin = await self._send("GET", "/auth/v1/admin/users", key="service_role", params=params)
        service_role_admin = self._key_verdict(admin, "service_role key on /auth/v1/admin/users", details)

        anon_admin = await self._send("GET", "/auth/v1/admin/users", key="anon", params=params)
        if anon_admin.is_success:
            anon_refused_on_admin = False
            details.append(
                f"anon key on /auth/v1/admin/users: accepted with {anon_admin.status_code}; it must be refused, "
                "so the anon key is a service_role key"
            )
        elif anon_admin.status_code in (401, 403):
            anon_refused_on_admin = True
            line = f"anon key on /auth/v1/admin/users: refused as it must be ({self._answer(anon_admin)})"
            message, code = _service_message(anon_admin)
            if _refused_by_kong(anon_admin):
                line = f"{line}; {_refusal_hint(anon_admin, message, code)}"
            details.append(line)
            if code == "bad_jwt" and anon_accepted:
                anon_accepted = False
                details.append(
                    "anon key: Kong knows it, but GoTrue cannot verify it: it is not a JWT signed with the stack's "
                    "JWT_SECRET (or it expired)"
                )
        else:
            raise self._response_error(anon_admin)
        return KeyCheck(
            anon_accepted=anon_accepted,
            service_role_admin=service_role_admin,
            anon_refused_on_admin=anon_refused_on_admin,
            details=details,
        )

    # -- pg-meta --------------------------------------------------------------------------------------------------

    async def pg_query(self, query: str, parameters: list[Any] | None = None) -> list[dict[str, Any]]:
        """Run SQL through pg-meta (``POST /pg/query`` with the service_role key) as ``supabase_admin``, a superuser.

        Returns the rows of the last statement that returned rows (pg-meta's rule); ``[]`` for DDL. With
        ``parameters``, PostgreSQL's extended protocol refuses more than one statement.

        Raises:
            InputError: ``query`` is empty.
            GatewayResponseError: PostgreSQL refused the SQL (pg-meta's 400: ``message`` is PostgreSQL's text,
                ``code`` its SQLSTATE), pg-meta timed out (408), or the body is not a list of rows.
            GatewayAuthError: the key is not the service_role key Kong knows.
            GatewayError: see the module docstring.
        """
        if not query.strip():
            raise InputError("the query is empty", field="query")
        body: dict[str, Any] = {"query": query}
        if parameters is not None:
            body["parameters"] = parameters
        response = await self._send("POST", "/pg/query", key="service_role", json=body)
        self._raise_for_status(response)
        rows = _json_or_none(response)
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise self._shape_error(response, "pg-meta did not answer a list of row objects")
        return rows

    # -- probes ---------------------------------------------------------------------------------------------------

    async def probe(self, service: ServiceName) -> ProbeResult:
        """One cheap request to ``service`` through Kong; never raises for a broken stack.

        What "up" means per service (the healthy answer, with this gateway's keys):

        * auth: ``GET /auth/v1/health`` (anon) answers 200;
        * rest: ``GET /rest/v1/`` (anon) answers 200 (PostgREST's OpenAPI root);
        * storage: ``GET /storage/v1/status`` answers 200;
        * realtime: ``GET /realtime/v1/api/tenants/realtime-dev/health`` (anon) answers 200 with a healthy tenant;
        * meta: ``GET /pg/health`` (service_role) answers 200;
        * functions: ``GET /functions/v1/`` answers the main router's 400 "missing function name in request".

        Anything else, including no answer, is ``ok=False`` with the reason in ``detail``.

        Raises:
            InputError: ``service`` is not one of the six names.
        """
        spec = _PROBES.get(service)
        if spec is None:
            raise InputError(f"unknown service {service!r}; one of: {', '.join(_PROBES)}", field="service")
        started = time.perf_counter()
        try:
            response = await self._send(spec.method, spec.path, key=spec.key)
        except GatewayUnreachableError as exc:
            latency = (time.perf_counter() - started) * 1000
            return ProbeResult(service, False, None, latency, f"no answer: {exc.reason}")
        latency = (time.perf_counter() - started) * 1000
        ok, detail = spec.judge(response)
        return ProbeResult(service, ok, response.status_code, latency, self._scrub(detail))

    # -- transport ------------------------------------------------------------------------------------------------

    async def _send(
        self,
        method: Literal["GET", "POST"],
        path: str,
        *,
        key: KeyName,
        params: Mapping[str, str] | None = None,
        json: Any = None,
    ) -> httpx.Response:
        # Both headers, always: without our own Authorization, Kong's request-transformer forwards the raw apikey,
        # which GoTrue refuses because it lacks "Bearer ".
        headers = self.key_headers(key)
        url = f"{self.base_url}{path}"
        started = time.perf_counter()
        try:
            if method == "GET":
                response = await self._http.get(url, params=params, headers=headers)
            else:
                response = await self._http.post(url, params=params, headers=headers, json=json)
        except httpx.TransportError as exc:
            logger.debug(
                "Supabase gateway %s: %s %s -> %s after %.1f ms",
                self.base_url,
                method,
                path,
                type(exc).__name__,
                (time.perf_counter() - started) * 1000,
            )
            raise GatewayUnreachableError(self._reason(exc), url=url) from exc
        logger.debug(
            "Supabase gateway %s: %s %s (%s key) -> %d in %.1f ms",
            self.base_url,
            method,
            path,
            key,
            response.status_code,
            (time.perf_counter() - started) * 1000,
        )
        return response

    def _reason(self, exc: httpx.TransportError) -> str:
        if isinstance(exc, httpx.TimeoutException):
            return f"no answer within {self.timeout:g} s ({type(exc).__name__})"
        kind = "TLS failed" if _is_tls_failure(exc) else type(exc).__name__
        text = self._scrub(str(exc))
        return f"{kind}: {text}" if text else kind

    def _scrub(self, text: str) -> str:
        for secret in self._keys.values():
            value = secret.get_secret_value()
            if len(value) >= _MIN_SCRUB_LENGTH:
                text = text.replace(value, _SCRUBBED)
        return text

    def _raise_for_status(self, response: httpx.Response) -> None:
        if response.is_success:
            return
        raise self._response_error(response)

    # -- for routes that reuse the gateway's connection (pg-meta) ---------------------------------------------------

    @property
    def http(self) -> httpx.AsyncClient:
        """The gateway's HTTP client; it stays owned (and closed) by the gateway."""
        return self._http

    def key_headers(self, key: KeyName = "service_role") -> dict[str, str]:
        """The two headers every call through Kong carries for ``key`` (see :meth:`_request`). Secret values."""
        secret = self._keys[key].get_secret_value()
        return {"apikey": secret, "authorization": f"Bearer {secret}"}

    def response_error(self, response: httpx.Response) -> GatewayError:
        """The error for a failed answer, with Kong's refusals told apart and the keys scrubbed."""
        return self._response_error(response)

    def _response_error(self, response: httpx.Response) -> GatewayError:
        raw_message, code = _service_message(response)
        message = self._scrub(raw_message) if raw_message is not None else None
        request = response.request
        where = f"{request.method} {request.url.path}"
        label = f"{response.status_code} {code}" if code else str(response.status_code)
        if response.status_code in (401, 403):
            by_kong = _refused_by_kong(response)
            who = "Kong" if by_kong else "the service behind Kong"
            return GatewayAuthError(
                f"{who} refused {where} with {label}: {message} ({_refusal_hint(response, message, code)})",
                url=str(request.url),
                status=response.status_code,
                message=message,
                code=code,
                refused_by="kong" if by_kong else "service",
            )
        text = f"{where} through the Supabase gateway answered {label}"
        return GatewayResponseError(
            f"{text}: {message}" if message else text,
            url=str(request.url),
            status=response.status_code,
            message=message,
            code=code,
        )

    def _shape_error(self, response: httpx.Response, what: str) -> GatewayResponseError:
        request = response.request
        return GatewayResponseError(
            f"Unexpected answer to {request.method} {request.url.path} through the Supabase gateway: {what}",
            url=str(request.url),
            status=response.status_code,
        )

    def _json_object(self, response: httpx.Response) -> dict[str, Any]:
        self._raise_for_status(response)
        payload = _json_or_none(response)
        if not isinstance(payload, dict):
            raise self._shape_error(response, "the body is not a JSON object")
        return payload

    def _key_verdict(self, response: httpx.Response, label: str, details: list[str]) -> bool:
        """True for 2xx, False (with the reason in ``details``) for 401/403; anything else says nothing about keys."""
        if response.is_success:
            details.append(f"{label}: accepted ({response.status_code})")
            return True
        if response.status_code in (401, 403):
            message, code = _service_message(response)
            details.append(f"{label}: refused ({self._answer(response)}); {_refusal_hint(response, message, code)}")
            return False
        raise self._response_error(response)

    def _answer(self, response: httpx.Response) -> str:
        """``"403 bad_jwt: invalid JWT: ..."``: status, the service's error code and its scrubbed message."""
        message, code = _service_message(response)
        label = f"{response.status_code} {code}" if code else str(response.status_code)
        return f"{label}: {self._scrub(message)}" if message else label


def default_gateway(url: str, anon_key: SecretStr, service_role_key: SecretStr) -> KongGateway:
    """The gateway at a stack's public URL with the stack's keys: what tools use unless a test injects a double."""
    return KongGateway(url, anon_key=anon_key, service_role_key=service_role_key)
