"""A double of a Dokploy Supabase stack's Kong gateway and the services behind it, for ``httpx.MockTransport``.

``KongDouble(jwt_secret, anon_key, service_role_key, ...)`` is a request handler: ``double.transport()`` (or
``httpx.MockTransport(double)``) plugs it into any httpx client. It refuses what the real stack refuses, in the same
order and with the same bodies, so a client that passes against it has met the real rules. Each rule and its source:

Kong 3.9.1 with ``tests/fixtures/supabase/dokploy-template/kong.yml`` (line numbers of that file):

* consumers and key-auth (l.7-16, and the ``key-auth`` plugin of each secure route): ``anon`` owns
  ``$SUPABASE_ANON_KEY``, ``service_role`` owns ``$SUPABASE_SERVICE_KEY``; the ``$SUPABASE_PUBLISHABLE_KEY`` /
  ``$SUPABASE_SECRET_KEY`` lines are dropped because the template leaves them empty (kong-entrypoint.sh in
  template.toml: ``sed '/^[[:space:]]*- key:[[:space:]]*$/d'``). The key is read from the ``apikey`` header, else
  the ``apikey`` query parameter (key-auth defaults), and compared as a literal string. Bodies from Kong/kong
  ``kong/plugins/key-auth/handler.lua``: no key -> 401 ``No API key found in request``; a key no consumer owns ->
  401 ``Unauthorized`` (3.x; Kong 2.x said ``Invalid authentication credentials``); the header twice -> 401
  ``Duplicate API key found``. Both 401s carry ``WWW-Authenticate: Key`` (Kong PR #11794, 3.7). Two consumers with
  the same key make Kong refuse the declarative config (keys are unique), so the double refuses to be built so.
* acl (l.21-25 and each route's ``acl``): ``anon`` is in group ``anon``, ``service_role`` in ``admin``;
  ``/auth/v1/`` (l.96-123), ``/rest/v1/`` (l.125-152), ``/graphql/v1`` (l.154-182), ``/realtime/v1/``
  (l.184-210) and ``/realtime/v1/api`` (l.212-240) allow both, ``/pg/`` (l.294-310) only ``admin``; anything else
  -> 403 ``You cannot consume this service`` (``kong/plugins/acl/handler.lua``).
* request-transformer (l.109-116, 138-145, 167-175, 226-233, 252-259): ``Authorization`` becomes
  ``$LUA_AUTH_EXPR``, which kong-entrypoint.sh (template.toml l.191) defines, without opaque ``sb_`` keys, as
  ``(headers.authorization ~= nil and headers.authorization:sub(1, 10) ~= 'Bearer sb_' and headers.authorization)
  or headers.apikey``: a request without Authorization reaches the service with the raw apikey, no ``Bearer``.
* storage's post-function (l.260-268) drops an empty Authorization; storage (l.242-268), functions (l.270-281) and
  the open auth routes (l.40-93, 283-291) have no key-auth; ``/api/mcp`` and ``/mcp`` are request-terminated with
  403 ``Access is forbidden.`` (l.312-336); every other path falls to the dashboard route ``/`` (l.339-351) and its
  basic-auth: 401 ``Unauthorized`` without credentials (so ``/pg`` without the slash is not pg-meta).
* routing: Kong matches the longest path prefix (``/realtime/v1/api`` before ``/realtime/v1/``), strips it
  (``strip_path: true``) and appends the rest to the service URL's path.
* Kong-made error bodies are ``{"message", "request_id"}`` (Kong 3.5+). Plugins run in the access phase, before
  Kong resolves the upstream, so a down service still refuses bad keys first. A service in ``down_services``
  answers as a stopped container does: 503 ``name resolution failed`` (Docker's DNS forgets stopped containers);
  map it to 502 for a container that is up but not listening (``An invalid response was received from the
  upstream server``).

Behind Kong:

* GoTrue v2.189.0 (``shared/supabase/auth-openapi.yaml``; supabase/auth ``internal/api/api.go``, ``auth.go``,
  ``middleware.go``, ``pagination.go``): ``GET /health`` -> 200 ``{"version", "name": "GoTrue", "description"}``;
  ``GET /settings`` -> the public settings; ``/admin/*`` runs requireAdminCredentials: no ``^(?:B|b)earer (\\S+$)``
  Authorization -> 401 ``no_authorization`` "This endpoint requires a valid Bearer token"; a JWT that does not verify
  with HS256 and ``jwt_secret`` -> 403 ``bad_jwt`` "invalid JWT: unable to parse or verify signature, <reason>"; a
  role not in ``GOTRUE_JWT_ADMIN_ROLES`` (``service_role``, docker-compose.yml) -> 403 ``not_admin`` "User not
  allowed". Errors are ``{"code": <status>, "error_code", "msg"}``. ``GET /admin/users`` pages ``users`` with
  ``page``/``per_page`` (default 1/50), ``X-Total-Count`` and ``Link: <path?page=N&per_page=M>; rel="next",
  <...>; rel="last"`` built from the path GoTrue sees (without ``/auth/v1``).
* pg-meta 0.96.6 (``supabase-components.md`` §1.3): ``GET /health`` -> ``{"date"}``; ``POST /query`` needs
  ``content-type: application/json`` (else 500 ``Unsupported Media Type``) and a ``query`` (else 500 ``query not
  found``), then runs ``pg_handler(query, parameters)``; a :class:`PgError` it raises becomes pg-meta's 400 body
  ``{"error": "ERROR:  <code>: <message>", "code", "message", ...}``.
* realtime (supabase/realtime ``router.ex``, ``tenants.ex``): ``GET /api/tenants/realtime-dev/health`` needs
  ``Authorization: Bearer <jwt signed with the JWT secret>`` (else 403, empty body) and answers
  ``{"data": {"healthy": true, "db_connected", "connected_cluster", ...}}``.
* storage: ``GET /status`` -> 200 (the template's storage healthcheck).
* PostgREST: ``GET /`` -> 200 OpenAPI root. Its own JWT check is not modelled.
* edge-runtime main router (template.toml ``volumes/functions/main/index.ts``): with ``functions_verify_jwt`` a bad
  Bearer -> 401 ``{"msg": "Invalid JWT"}``; a bare path -> 400 ``{"msg": "missing function name in request"}``.

Anything not listed answers 501 ``{"double": "not modelled: ..."}`` so that a test can never pass by accident.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

from dokploy_mcp.kong.probes import ServiceName

__all__ = ["SERVICES", "KongDouble", "PgError", "UpstreamCall", "make_key"]

SERVICES: tuple[ServiceName, ...] = ("auth", "rest", "storage", "realtime", "meta", "functions")

KONG_VERSION = "3.9.1"
GOTRUE_VERSION = "v2.189.0"
REALTIME_TENANT = "realtime-dev"

_CONSUMER_GROUPS = {"anon": "anon", "service_role": "admin"}
_GOTRUE_ADMIN_ROLES = ("service_role",)
_BEARER = re.compile(r"^(?:B|b)earer (\S+$)")
_DOWN_MESSAGES = {
    502: "An invalid response was received from the upstream server",
    503: "name resolution failed",
}

PgHandler = Callable[[str, list[Any] | None], list[dict[str, Any]]]


def make_key(secret: str, role: str, *, expires: int = 1_893_456_000) -> str:
    """A legacy Supabase API key as the template mints it: HS256 over ``{"role", "iss": "supabase", "exp"}``
    (template.toml ``anon_key_payload`` / ``service_role_key_payload``; exp 2030-01-01)."""
    return jwt.encode({"role": role, "iss": "supabase", "exp": expires}, secret, algorithm="HS256")


class PgError(Exception):
    """Raise from a ``pg_handler`` to make pg-meta answer its 400 with a PostgreSQL error."""

    def __init__(self, code: str, message: str, *, position: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.position = position


@dataclass(frozen=True)
class UpstreamCall:
    """What a service behind Kong received: after key-auth, acl, strip_path and the request-transformer."""

    service: str
    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    consumer: str | None


@dataclass(frozen=True)
class _Route:
    name: str  # kong.yml route name
    prefix: str  # routes[].paths[0]
    service: str  # which double answers (or "studio"/"terminated" for Kong-only routes)
    upstream_path: str  # the path of the service url in kong.yml
    key_auth: bool = False
    acl: frozenset[str] | None = None
    auth_transformer: bool = False
    clear_empty_authorization: bool = False


_BOTH = frozenset({"admin", "anon"})

_ROUTES = (
    _Route("auth-v1-open", "/auth/v1/verify", "auth", "/verify"),
    _Route("auth-v1-open-callback", "/auth/v1/callback", "auth", "/callback"),
    _Route("auth-v1-open-authorize", "/auth/v1/authorize", "auth", "/authorize"),
    _Route("auth-v1-open-jwks", "/auth/v1/.well-known/jwks.json", "auth", "/.well-known/jwks.json"),
    _Route("auth-v1-open-sso-acs", "/sso/saml/acs", "auth", "/sso/saml/acs"),
    _Route("auth-v1-open-sso-metadata", "/sso/saml/metadata", "auth", "/sso/saml/metadata"),
    _Route(
        "well-known-oauth",
        "/.well-known/oauth-authorization-server",
        "auth",
        "/.well-known/oauth-authorization-server",
    ),
    _Route("auth-v1-all", "/auth/v1/", "auth", "/", key_auth=True, acl=_BOTH, auth_transformer=True),
    _Route("rest-v1-all", "/rest/v1/", "rest", "/", key_auth=True, acl=_BOTH, auth_transformer=True),
    _Route("graphql-v1-all", "/graphql/v1", "rest", "/rpc/graphql", key_auth=True, acl=_BOTH, auth_transformer=True),
    _Route("realtime-v1-ws", "/realtime/v1/", "realtime", "/socket", key_auth=True, acl=_BOTH),
    _Route("realtime-v1-rest", "/realtime/v1/api", "realtime", "/api", key_auth=True, acl=_BOTH, auth_transformer=True),
    _Route("storage-v1-all", "/storage/v1/", "storage", "/", auth_transformer=True, clear_empty_authorization=True),
    _Route("functions-v1-all", "/functions/v1/", "functions", "/"),
    _Route("meta-all", "/pg/", "meta", "/", key_auth=True, acl=frozenset({"admin"})),
    _Route("mcp-blocker-route", "/api/mcp", "terminated", "/api/mcp"),
    _Route("mcp", "/mcp", "terminated", "/api/mcp"),
    _Route("dashboard-all", "/", "studio", "/"),
)

_DEFAULT_SETTINGS: dict[str, Any] = {
    "external": {
        "anonymous_users": False,
        "apple": False,
        "azure": False,
        "bitbucket": False,
        "discord": False,
        "facebook": False,
        "figma": False,
        "github": False,
        "gitlab": False,
        "google": False,
        "keycloak": False,
        "linkedin_oidc": False,
        "notion": False,
        "slack_oidc": False,
        "spotify": False,
        "twitch": False,
        "twitter": False,
        "workos": False,
        "zoom": False,
        "email": True,
        "phone": False,
    },
    "disable_signup": False,
    "mailer_autoconfirm": False,
    "phone_autoconfirm": False,
    "sms_provider": "",
    "saml_enabled": False,
}


def _json_response(status: int, body: Any, headers: Mapping[str, str] | None = None) -> httpx.Response:
    return httpx.Response(
        status,
        content=json.dumps(body).encode(),
        headers={"content-type": "application/json; charset=utf-8", **(headers or {})},
    )


def _not_modelled(what: str) -> httpx.Response:
    return _json_response(501, {"double": f"not modelled: {what}"})


def _gotrue_error(status: int, error_code: str, msg: str) -> httpx.Response:
    return _json_response(status, {"code": status, "error_code": error_code, "msg": msg})


def _jwt_failure(exc: jwt.PyJWTError) -> str:
    # The wording of golang-jwt v5, which GoTrue wraps: the reason a caller reads after "invalid JWT: ...".
    if isinstance(exc, jwt.InvalidSignatureError):
        return "token signature is invalid: signature is invalid"
    if isinstance(exc, jwt.ExpiredSignatureError):
        return "token has invalid claims: token is expired"
    if isinstance(exc, jwt.DecodeError):
        return f"token is malformed: {exc}"
    return str(exc)


class KongDouble:
    """Kong (from kong.yml) in front of GoTrue, PostgREST, storage, realtime, pg-meta and edge functions.

    ``requests`` holds every request as the client sent it; ``upstream_calls`` what each service received.
    ``down_services`` names services whose containers are gone (503) or, as a mapping, the status Kong answers
    for each (502 or 503).
    """

    def __init__(
        self,
        jwt_secret: str,
        anon_key: str,
        service_role_key: str,
        *,
        users: Iterable[Mapping[str, Any]] = (),
        pg_handler: PgHandler | None = None,
        down_services: Collection[str] | Mapping[str, int] = (),
        settings: Mapping[str, Any] | None = None,
        functions_verify_jwt: bool = False,
    ) -> None:
        if anon_key == service_role_key:
            raise ValueError("Kong refuses a declarative config where two consumers own the same key-auth key")
        self.jwt_secret = jwt_secret
        self._consumers = {anon_key: "anon", service_role_key: "service_role"}
        self.users = [dict(user) for user in users]
        self.pg_handler = pg_handler
        if isinstance(down_services, Mapping):
            self.down_services = {name: int(status) for name, status in down_services.items()}
        else:
            self.down_services = dict.fromkeys(down_services, 503)
        unknown = set(self.down_services) - set(SERVICES)
        if unknown:
            raise ValueError(f"unknown services {sorted(unknown)}; known: {SERVICES}")
        self.settings = dict(settings) if settings is not None else dict(_DEFAULT_SETTINGS)
        self.functions_verify_jwt = functions_verify_jwt
        self.requests: list[httpx.Request] = []
        self.upstream_calls: list[UpstreamCall] = []

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)

    # -- Kong ---------------------------------------------------------------------------------------------------------

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        path = request.url.path
        route = max((r for r in _ROUTES if path.startswith(r.prefix)), key=lambda r: len(r.prefix))
        if route.service == "terminated":
            return self._kong_error(403, "Access is forbidden.")
        if route.service == "studio":
            # basic-auth with hide_credentials; the double holds no dashboard password, so nothing passes.
            return self._kong_error(401, "Unauthorized", {"www-authenticate": 'Basic realm="kong"'})

        consumer: str | None = None
        if route.key_auth:
            supplied = request.headers.get_list("apikey")
            if len(supplied) > 1:
                return self._kong_error(401, "Duplicate API key found", {"www-authenticate": "Key"})
            key = supplied[0] if supplied else request.url.params.get("apikey")
            if not key:
                return self._kong_error(401, "No API key found in request", {"www-authenticate": "Key"})
            consumer = self._consumers.get(key)
            if consumer is None:
                return self._kong_error(401, "Unauthorized", {"www-authenticate": "Key"})
        if route.acl is not None and (consumer is None or _CONSUMER_GROUPS[consumer] not in route.acl):
            return self._kong_error(403, "You cannot consume this service")

        headers = {name.lower(): value for name, value in request.headers.items()}
        if route.auth_transformer:
            incoming = headers.get("authorization")
            if incoming is not None and incoming[:10] != "Bearer sb_":
                headers["authorization"] = incoming
            else:
                headers["authorization"] = headers.get("apikey", "")
        if route.clear_empty_authorization and not headers.get("authorization", "").strip():
            headers.pop("authorization", None)

        status = self.down_services.get(route.service)
        if status is not None:
            return self._kong_error(status, _DOWN_MESSAGES.get(status, "An unexpected error occurred"))

        rest = path[len(route.prefix) :].lstrip("/")
        upstream_path = route.upstream_path.rstrip("/") + "/" + rest if rest else route.upstream_path
        call = UpstreamCall(
            service=route.service,
            method=request.method,
            path=upstream_path,
            query=request.url.query.decode(),
            headers=headers,
            consumer=consumer,
        )
        self.upstream_calls.append(call)
        handler = getattr(self, f"_{route.service}")
        response: httpx.Response = handler(call, request)
        response.headers["via"] = f"1.1 kong/{KONG_VERSION}"
        return response

    def _kong_error(self, status: int, message: str, headers: Mapping[str, str] | None = None) -> httpx.Response:
        body = {"message": message, "request_id": secrets.token_hex(16)}
        return _json_response(status, body, {"server": f"kong/{KONG_VERSION}", **(headers or {})})

    def _verify(self, token: str) -> dict[str, Any]:
        claims: dict[str, Any] = jwt.decode(token, self.jwt_secret, algorithms=["HS256"], options={"verify_aud": False})
        return claims

    # -- GoTrue -------------------------------------------------------------------------------------------------------

    def _auth(self, call: UpstreamCall, request: httpx.Request) -> httpx.Response:
        if call.method == "GET" and call.path == "/health":
            return _json_response(
                200,
                {
                    "version": GOTRUE_VERSION,
                    "name": "GoTrue",
                    "description": "GoTrue is a user registration and authentication API",
                },
            )
        if call.method == "GET" and call.path == "/settings":
            return _json_response(200, self.settings)
        if call.path == "/admin" or call.path.startswith("/admin/"):
            refusal = self._require_admin(call)
            if refusal is not None:
                return refusal
            if call.method == "GET" and call.path.rstrip("/") == "/admin/users":
                return self._admin_users(request)
        return _not_modelled(f"{call.method} {call.path} on auth")

    def _require_admin(self, call: UpstreamCall) -> httpx.Response | None:
        match = _BEARER.match(call.headers.get("authorization", ""))
        if match is None:
            return _gotrue_error(401, "no_authorization", "This endpoint requires a valid Bearer token")
        try:
            claims = self._verify(match.group(1))
        except jwt.PyJWTError as exc:
            return _gotrue_error(
                403, "bad_jwt", f"invalid JWT: unable to parse or verify signature, {_jwt_failure(exc)}"
            )
        if claims.get("role") not in _GOTRUE_ADMIN_ROLES:
            return _gotrue_error(403, "not_admin", "User not allowed")
        return None

    def _admin_users(self, request: httpx.Request) -> httpx.Response:
        params = request.url.params
        try:
            page = int(params.get("page", "1"))
            per_page = int(params.get("per_page", "50"))
            if page < 0 or per_page < 0:
                raise ValueError("negative")
            if per_page == 0:
                raise ValueError("per_page must be greater than 0")
        except ValueError as exc:
            return _gotrue_error(400, "validation_failed", f"Bad Pagination Parameters: {exc}")
        start = max(page - 1, 0) * per_page
        chunk = self.users[start : start + per_page]
        total = len(self.users)
        total_pages = total // per_page + (1 if total % per_page else 0)
        links = []
        base = {key: value for key, value in params.multi_items() if key != "page"}
        if total_pages > page:
            links.append(f'</admin/users?{urlencode(sorted({**base, "page": str(page + 1)}.items()))}>; rel="next"')
        links.append(f'</admin/users?{urlencode(sorted({**base, "page": str(total_pages)}.items()))}>; rel="last"')
        return _json_response(
            200,
            {"aud": "authenticated", "users": chunk},
            {"link": ", ".join(links), "x-total-count": str(total)},
        )

    # -- pg-meta ------------------------------------------------------------------------------------------------------

    def _meta(self, call: UpstreamCall, request: httpx.Request) -> httpx.Response:
        if call.method == "GET" and call.path == "/health":
            return _json_response(200, {"date": datetime.now(UTC).isoformat(timespec="milliseconds")})
        if call.method == "POST" and call.path == "/query":
            content_type = call.headers.get("content-type", "")
            if not content_type.startswith("application/json"):
                return _json_response(500, {"error": f"Unsupported Media Type: {content_type}"})
            body = json.loads(request.content or b"{}")
            query = body.get("query") if isinstance(body, dict) else None
            if not query:
                return _json_response(500, {"error": "query not found"})
            if self.pg_handler is None:
                return _not_modelled("POST /query without a pg_handler")
            try:
                rows = self.pg_handler(query, body.get("parameters"))
            except PgError as exc:
                error_body: dict[str, Any] = {
                    "error": f"ERROR:  {exc.code}: {exc.message}",
                    "length": 100,
                    "name": "error",
                    "severity": "ERROR",
                    "code": exc.code,
                    "message": exc.message,
                    "formattedError": f"ERROR:  {exc.code}: {exc.message}\n",
                }
                if exc.position is not None:
                    error_body["position"] = exc.position
                return _json_response(400, error_body)
            return _json_response(200, rows)
        return _not_modelled(f"{call.method} {call.path} on pg-meta")

    # -- the others ---------------------------------------------------------------------------------------------------

    def _rest(self, call: UpstreamCall, request: httpx.Request) -> httpx.Response:
        if call.method == "GET" and call.path == "/":
            return _json_response(200, {"swagger": "2.0", "info": {"title": "standard public schema"}, "paths": {}})
        return _not_modelled(f"{call.method} {call.path} on rest")

    def _storage(self, call: UpstreamCall, request: httpx.Request) -> httpx.Response:
        if call.method == "GET" and call.path == "/status":
            return httpx.Response(200)
        return _not_modelled(f"{call.method} {call.path} on storage")

    def _realtime(self, call: UpstreamCall, request: httpx.Request) -> httpx.Response:
        match = re.fullmatch(r"/api/tenants/([^/]+)/health", call.path)
        if call.method != "GET" or match is None:
            return _not_modelled(f"{call.method} {call.path} on realtime")
        authorization = call.headers.get("authorization", "")
        try:
            if not authorization.startswith("Bearer "):
                raise jwt.InvalidTokenError("no bearer")
            self._verify(authorization.removeprefix("Bearer "))
        except jwt.PyJWTError:
            return httpx.Response(403)
        if match.group(1) != REALTIME_TENANT:
            return _json_response(404, {"message": "Not found"})
        data = {
            "healthy": True,
            "db_connected": False,
            "connected_cluster": 0,
            "region": "us-east-1",
            "node": "realtime@127.0.0.1",
        }
        return _json_response(200, {"data": data})

    def _functions(self, call: UpstreamCall, request: httpx.Request) -> httpx.Response:
        if self.functions_verify_jwt and call.method != "OPTIONS":
            authorization = call.headers.get("authorization")
            if authorization is None:
                return _json_response(401, {"msg": "Error: Missing authorization header"})
            scheme, _, token = authorization.partition(" ")
            if scheme != "Bearer":
                return _json_response(401, {"msg": "Error: Auth header is not 'Bearer {token}'"})
            try:
                self._verify(token)
            except jwt.PyJWTError:
                return _json_response(401, {"msg": "Invalid JWT"})
        name = call.path.split("/")[1] if "/" in call.path else ""
        if not name:
            return _json_response(400, {"msg": "missing function name in request"})
        return _not_modelled(f"function {name!r}")
