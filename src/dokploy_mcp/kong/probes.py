"""What "up" means for each service behind Kong: the one cheap request a probe sends, and how its answer is judged."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from dokploy_mcp.kong.answers import (
    KONG_BODY_KEYS,
    json_or_none,
    refusal_hint,
    refused_by_kong,
    service_message,
    status_label,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["PROBES", "REALTIME_TENANT", "KeyName", "Probe", "ProbeResult", "ServiceName"]

#: The two consumers of kong.yml's key-auth, by the key each one owns.
KeyName = Literal["anon", "service_role"]
#: The services behind Kong that :meth:`~dokploy_mcp.kong.gateway.KongGateway.probe` can reach.
ServiceName = Literal["auth", "rest", "storage", "realtime", "meta", "functions"]

#: The Realtime tenant a self-hosted stack serves: ``SEED_SELF_HOST`` seeds it, and the template's own realtime
#: healthcheck (docker-compose.yml) asks for ``/api/tenants/realtime-dev/health``.
REALTIME_TENANT = "realtime-dev"


@dataclass(frozen=True)
class ProbeResult:
    """One request to one service through Kong. ``ok`` means the service gave the answer a healthy service gives;
    ``status`` is None when no answer came back; ``detail`` says what was seen."""

    service: str
    ok: bool
    status: int | None
    latency_ms: float
    detail: str


#: Reads one answer: ``(ok, detail)``.
Judge = Callable[["httpx.Response"], tuple[bool, str]]


@dataclass(frozen=True)
class Probe:
    """One request to one service and the judge of its answer: ``(ok, detail)``."""

    method: Literal["GET"]
    path: str
    key: KeyName
    judge: Judge


def _judge_auth(response: httpx.Response) -> tuple[bool, str]:
    # GoTrue's GET /health answers 200 {"version", "name", "description"} (auth-openapi.yaml /health; api.go
    # HealthCheck); 5xx means "not healthy" per the same spec.
    payload = json_or_none(response)
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
    payload = json_or_none(response)
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
    payload = json_or_none(response)
    if (
        response.status_code == 400
        and isinstance(payload, dict)
        and payload.get("msg") == "missing function name in request"
    ):
        return True, "edge-runtime's main router answered (400 'missing function name' is its answer to a bare path)"
    return False, _failure_detail(response)


def _failure_detail(response: httpx.Response) -> str:
    message, code = service_message(response)
    label = status_label(response, code)
    if refused_by_kong(response):
        return f"Kong refused the key ({label}: {message}); {refusal_hint(response, message, code)}"
    payload = json_or_none(response)
    if response.status_code in (502, 503, 504) and isinstance(payload, dict) and set(payload) <= KONG_BODY_KEYS:
        return f"Kong answered {label}: {message} (Kong cannot reach the service's container)"
    return f"answered {label}: {message}" if message else f"answered {label}"


PROBES: Mapping[str, Probe] = {
    "auth": Probe("GET", "/auth/v1/health", "anon", _judge_auth),
    "rest": Probe("GET", "/rest/v1/", "anon", _judge_rest),
    "storage": Probe("GET", "/storage/v1/status", "anon", _judge_storage),
    "realtime": Probe("GET", f"/realtime/v1/api/tenants/{REALTIME_TENANT}/health", "anon", _judge_realtime),
    # Only the service_role consumer is in the "admin" group that kong.yml's meta route allows.
    "meta": Probe("GET", "/pg/health", "service_role", _judge_meta),
    "functions": Probe("GET", "/functions/v1/", "anon", _judge_functions),
}
