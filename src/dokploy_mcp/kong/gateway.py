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

Failures raise a :class:`~dokploy_mcp.kong.errors.GatewayError` (``str(err)`` never holds a key; the keys are
scrubbed from anything a service echoes back). What "up" means for each service is :mod:`dokploy_mcp.kong.probes`.
"""

from __future__ import annotations

import logging
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qs, urlsplit, urlunsplit

import httpx
from pydantic import SecretStr

from dokploy_mcp import redact
from dokploy_mcp.errors import ConfigurationError, InputError
from dokploy_mcp.httpio import USER_AGENT, PooledClient, is_tls_failure
from dokploy_mcp.kong.answers import (
    json_or_none,
    refusal_hint,
    refused_by_kong,
    service_message,
    status_label,
)
from dokploy_mcp.kong.errors import GatewayAuthError, GatewayError, GatewayResponseError, GatewayUnreachableError
from dokploy_mcp.kong.probes import PROBES, KeyName, ProbeResult, ServiceName

__all__ = ["KeyCheck", "KongGateway", "UsersPage", "default_gateway"]

logger = logging.getLogger(__name__)


# -- results ----------------------------------------------------------------------------------------------------------


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


# -- client -----------------------------------------------------------------------------------------------------------


class KongGateway(PooledClient):
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
            headers={"user-agent": USER_AGENT, "accept": "application/json"},
        )

    def __repr__(self) -> str:
        return f"KongGateway(base_url={self.base_url!r})"

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
            message, code = service_message(anon_admin)
            if refused_by_kong(anon_admin):
                line = f"{line}; {refusal_hint(anon_admin, message, code)}"
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
        rows = json_or_none(response)
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
        spec = PROBES.get(service)
        if spec is None:
            raise InputError(f"unknown service {service!r}; one of: {', '.join(PROBES)}", field="service")
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
        kind = "TLS failed" if is_tls_failure(exc) else type(exc).__name__
        text = self._scrub(str(exc))
        return f"{kind}: {text}" if text else kind

    def _scrub(self, text: str) -> str:
        """``text`` from a service, with every known secret and every secret-shaped value masked.

        The gateway's keys are named here as well: they need not be registered with :mod:`dokploy_mcp.redact`.
        """
        return redact.scrub(text, self._keys.values())

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
        raw_message, code = service_message(response)
        message = self._scrub(raw_message) if raw_message is not None else None
        request = response.request
        where = f"{request.method} {request.url.path}"
        label = status_label(response, code)
        if response.status_code in (401, 403):
            by_kong = refused_by_kong(response)
            who = "Kong" if by_kong else "the service behind Kong"
            return GatewayAuthError(
                f"{who} refused {where} with {label}: {message} ({refusal_hint(response, message, code)})",
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
        payload = json_or_none(response)
        if not isinstance(payload, dict):
            raise self._shape_error(response, "the body is not a JSON object")
        return payload

    def _key_verdict(self, response: httpx.Response, label: str, details: list[str]) -> bool:
        """True for 2xx, False (with the reason in ``details``) for 401/403; anything else says nothing about keys."""
        if response.is_success:
            details.append(f"{label}: accepted ({response.status_code})")
            return True
        if response.status_code in (401, 403):
            message, code = service_message(response)
            details.append(f"{label}: refused ({self._answer(response)}); {refusal_hint(response, message, code)}")
            return False
        raise self._response_error(response)

    def _answer(self, response: httpx.Response) -> str:
        """``"403 bad_jwt: invalid JWT: ..."``: status, the service's error code and its scrubbed message."""
        message, code = service_message(response)
        label = status_label(response, code)
        return f"{label}: {self._scrub(message)}" if message else label


def default_gateway(url: str, anon_key: SecretStr, service_role_key: SecretStr) -> KongGateway:
    """The gateway at a stack's public URL with the stack's keys: what tools use unless a test injects a double."""
    return KongGateway(url, anon_key=anon_key, service_role_key=service_role_key)
