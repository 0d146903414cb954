"""Flows over a database tool's ``target``: open its route, probe it, run one SQL statement, read its activity and
schema.

A connection string (or ``DATABASE_URL``) is reached directly. A Supabase stack's PostgreSQL listens only inside
its Docker network, so a stack is reached through pg-meta at ``<public url>/pg/`` with the service-role key. There,
pg-meta would run everything as its superuser ``supabase_admin``; the route asks it instead (through pg-meta's
encrypted connection header, keyed by the stack's ``PG_META_CRYPTO_KEY``) to connect as the stack's ``postgres``
login, which Supabase's images make a non-superuser: the stronger guard, as DESIGN §6 asks.

Choosing that route is this service's job: ``postgres/`` knows nothing of stacks, the runtime or Kong, so the
pg-meta client is built here from what the stack's gateway provides (its HTTP client, base URL and key headers).
Errors are returned or raised as data; the tool boundary puts them into words.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from pydantic import BaseModel, Field, PrivateAttr, SecretStr

from dokploy_mcp.confirm import USED_MESSAGE, ConfirmationError
from dokploy_mcp.errors import DokployMCPError, InputError
from dokploy_mcp.postgres.activity import ConnectionReport, Thresholds, connection_report
from dokploy_mcp.postgres.errors import DatabaseConnectionError, DatabaseQueryError, SqlRefused, SqlTooComplex
from dokploy_mcp.postgres.introspect import database_executor, overview, table_details
from dokploy_mcp.postgres.schema_models import SchemaOverview, TableDetail
from dokploy_mcp.postgres.statement import TOKEN_USED_SQLSTATE, UseMark
from dokploy_mcp.postgres.targets import Route, diagnose, is_connection_string
from dokploy_mcp.redact import scrub
from dokploy_mcp.supabase.stack import open_stack

if TYPE_CHECKING:
    from dokploy_mcp.kong.gateway import KongGateway
    from dokploy_mcp.postgres.pgmeta_route import PgMetaRoute
    from dokploy_mcp.postgres.sqlguard import Classified
    from dokploy_mcp.postgres.statement import QueryResult, StatementRunner
    from dokploy_mcp.runtime import Runtime

SqlRole = Literal["anon", "authenticated", "service_role", "postgres"]

SUPERUSER_NOTE = (
    "connected as a superuser: the parse-tree check and the READ ONLY transaction keep this statement from changing "
    "anything, but views and functions already in the database run with superuser rights (they can even switch back "
    "to the superuser role); for a database you do not trust, connect with a non-superuser login"
)
_UNCHECKED = "too large or too deeply nested for the guard to check: what it does could not be inspected"


# -- the route ------------------------------------------------------------------------------------------------------


@dataclass
class OpenRoute:
    route: Route
    #: The target with its password masked.
    display: str
    runner: StatementRunner
    notes: list[str] = field(default_factory=list)
    _closers: list[Callable[[], Awaitable[Any]]] = field(default_factory=list)

    async def aclose(self) -> None:
        for close in reversed(self._closers):
            await close()


def stack_login_url(env: Any) -> str | None:
    """The stack's ``postgres`` login as pg-meta (inside the stack) reaches it, from the stack's env."""
    password = env.get("POSTGRES_PASSWORD")
    if not password:
        return None
    user = env.get("POSTGRES_USER") or "postgres"
    host = env.get("POSTGRES_HOST") or "db"
    port = env.get("POSTGRES_PORT") or "5432"
    database = env.get("POSTGRES_DB") or "postgres"
    return f"postgresql://{quote(user, safe='')}:{quote(password, safe='')}@{host}:{port}/{quote(database, safe='')}"


def pgmeta_via_gateway(
    gateway: KongGateway, *, connect_as: SecretStr | None = None, crypto_key: SecretStr | None = None
) -> PgMetaRoute:
    """pg-meta behind a stack's Kong: ``<api url>/pg/query`` with the service_role key, on the gateway's client.

    Without ``connect_as`` the SQL runs as ``supabase_admin``, a superuser (the template's pg-meta connection);
    with it (and the stack's ``PG_META_CRYPTO_KEY``) as that login, e.g.
    ``postgresql://mcp_reader:<password>@db:5432/postgres`` (``db`` is the stack's PostgreSQL as pg-meta sees it).
    The gateway keeps its client: closing the route leaves it open.
    """
    # Imported here: the pg-meta client pulls in httpx and cryptography, which no tools/list should pay for.
    from dokploy_mcp.postgres.pgmeta import PgMetaClient
    from dokploy_mcp.postgres.pgmeta_route import PgMetaRoute

    client = PgMetaClient.behind_gateway(
        http=gateway.http,
        base_url=gateway.base_url,
        key_headers=gateway.key_headers("service_role"),
        timeout=gateway.timeout,
        refused=gateway.response_error,
        connect_as=connect_as,
        crypto_key=crypto_key,
    )
    return PgMetaRoute(client)


async def open_route(runtime: Runtime, target: str | None) -> OpenRoute:
    """The route for ``target``; the caller closes it (a direct route's pool belongs to the runtime and stays)."""
    if target is None or is_connection_string(target):
        database = await runtime.database(target)
        return OpenRoute("direct", database.target, database)
    _, stack = await open_stack(target, runtime.servers, runtime.dokploy)
    url = stack.public_url
    anon, service = stack.get("ANON_KEY"), stack.get("SERVICE_ROLE_KEY")
    if url is None or not anon or not service:
        raise InputError(
            f"{stack.ref.path} has no kong domain or no keys, so its database cannot be reached through pg-meta; "
            "add a domain with manage_domain, or pass a connection string as target",
            field="target",
        )
    gateway = runtime.gateway_factory(url, SecretStr(anon), SecretStr(service))
    notes = [
        f"{stack.ref.path}'s PostgreSQL is reachable only inside the stack (POSTGRES_HOST="
        f"{stack.get('POSTGRES_HOST') or 'db'}), so this goes through pg-meta behind its kong gateway"
    ]
    login = stack_login_url(stack)
    crypto_key = stack.get("PG_META_CRYPTO_KEY")
    if login and crypto_key:
        route = pgmeta_via_gateway(gateway, connect_as=SecretStr(login), crypto_key=SecretStr(crypto_key))
        notes.append("connected as the stack's postgres login (not pg-meta's superuser)")
    else:
        route = pgmeta_via_gateway(gateway)
        notes.append(
            "PG_META_CRYPTO_KEY or POSTGRES_PASSWORD is missing from the stack's env, so pg-meta runs this as its "
            "superuser supabase_admin"
        )
    return OpenRoute("pg-meta via kong", f"pg-meta via {url}/pg/", route, notes, [route.aclose, gateway.aclose])


# -- the probe ------------------------------------------------------------------------------------------------------


class ConnectReport(BaseModel):
    ok: bool
    route: str = Field(description="direct, or pg-meta via kong for a stack")
    target: str = Field(description="the target with its password masked")
    latency_ms: float | None = None
    server_version: str | None = None
    database: str | None = None
    current_user: str | None = None
    superuser: bool | None = None
    ssl: bool | None = Field(default=None, description="whether this connection is encrypted (direct route)")
    member_of: list[str] = Field(default_factory=list)
    extensions: list[str] = Field(default_factory=list)
    supabase: bool | None = Field(default=None, description="auth and storage schemas and the standard roles exist")
    problem: str | None = None
    problem_class: str | None = Field(
        default=None,
        description="auth_failed, host_unreachable, ssl_required, ssl_unavailable, database_missing, pooler_tenant, "
        "pooler_mode, timeout, too_many_connections or unknown",
    )
    fix: str | None = None
    notes: list[str] = Field(default_factory=list)
    # The failure itself, for the boundary to word into ``problem`` (a private attribute: not part of the schema).
    _error: DokployMCPError | None = PrivateAttr(default=None)

    @property
    def error(self) -> DokployMCPError | None:
        """Why the probe failed (``ok`` is False), as the error; ``problem`` stays empty until the boundary words it."""
        return self._error


_PROBE = """
SELECT json_build_object(
  'version', current_setting('server_version'),
  'database', current_database(),
  'user', current_user,
  'superuser', (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user),
  'ssl', (SELECT ssl FROM pg_catalog.pg_stat_ssl WHERE pid = pg_catalog.pg_backend_pid()),
  'member_of', (SELECT coalesce(json_agg(rolname ORDER BY rolname), '[]') FROM pg_catalog.pg_roles
                WHERE rolname <> current_user AND pg_catalog.pg_has_role(current_user, oid, 'MEMBER')
                  AND rolname NOT LIKE 'pg\\_%'),
  'extensions', (SELECT coalesce(json_agg(extname || ' ' || extversion ORDER BY extname), '[]')
                 FROM pg_catalog.pg_extension),
  'supabase', (SELECT count(*) = 2 FROM pg_catalog.pg_namespace WHERE nspname IN ('auth', 'storage'))
              AND (SELECT count(*) = 3 FROM pg_catalog.pg_roles
                   WHERE rolname IN ('anon', 'authenticated', 'service_role'))
) AS probe
"""


async def probe_database(rt: Runtime, target: str | None) -> ConnectReport:
    """Test ``target``'s connection and describe it (what ``connect`` reports, and the health check's database step).

    A failure to open the route raises; a failure of the probe itself comes back in the report (``ok`` False, the
    error in :attr:`ConnectReport.error`, a connection failure classified in ``problem_class`` and ``fix``).
    """
    opened = await open_route(rt, target)
    report = ConnectReport(ok=False, route=opened.route, target=opened.display, notes=opened.notes)
    try:
        started = time.perf_counter()
        result = await opened.runner.execute(_PROBE, read_only=True, timeout_ms=10_000, max_rows=1)
        report.latency_ms = round((time.perf_counter() - started) * 1000, 1)
    except DatabaseConnectionError as exc:
        diagnosis = diagnose(str(exc))
        report._error, report.problem_class, report.fix = exc, diagnosis.code, diagnosis.fix
        return report
    except DokployMCPError as exc:
        report._error = exc
        return report
    finally:
        await opened.aclose()
    raw = result.rows[0][0] if result.rows else None
    probe: dict[str, Any] = json.loads(raw) if isinstance(raw, str) else (raw if isinstance(raw, dict) else {})
    report.ok = True
    report.server_version = probe.get("version")
    report.database = probe.get("database")
    report.current_user = probe.get("user")
    report.superuser = probe.get("superuser")
    report.ssl = probe.get("ssl")
    report.member_of = list(probe.get("member_of") or [])
    report.extensions = list(probe.get("extensions") or [])
    report.supabase = probe.get("supabase")
    return report


# -- one SQL statement ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SqlRequest:
    """execute_sql's arguments, as the tool received them."""

    sql: str
    target: str | None
    params: Sequence[Any] | None
    role: SqlRole | None
    jwt_claims: Mapping[str, Any] | None
    timeout_ms: int
    max_rows: int
    allow_write: bool
    confirm_token: str | None
    #: A person confirmed this call (elicitation): no token is needed.
    person: bool = False


@dataclass
class SqlOutcome:
    """What one execute_sql call came to: the statement's result, or (destructive, no token yet) the token to
    confirm it with and a preview of what it would do, nothing having run."""

    route: Route
    #: The target with its password masked.
    target: str
    read_only: bool
    notes: list[str]
    result: QueryResult | None = None
    confirm_token: str | None = None
    preview: str | None = None


def _classify(rt: Runtime, request: SqlRequest, params: Sequence[Any] | None) -> Classified:
    """The guard's verdict on the text that runs, refused here when it may not run at all (nothing opened yet)."""
    # The one place the SQL guard (and with it the parser, pglast) and psycopg's placeholder conversion are loaded:
    # at the first statement, not at start-up.
    from dokploy_mcp.postgres.sqlguard import Classified, classify
    from dokploy_mcp.postgres.wire import numbered

    allow_write = request.allow_write
    try:
        # The guard checks the text that runs: with params, psycopg's conversion to $n (values bound apart).
        classified = classify(numbered(request.sql, params), params=len(params)) if params else classify(request.sql)
    except SqlTooComplex:
        if not allow_write or rt.settings.read_only:
            raise
        # Too big to parse safely: on the write path it may still run (the server itself accepts one statement on
        # the direct route), but unchecked, so it is confirmed like a destructive one.
        classified = Classified(
            kind="unchecked", read_only=False, destructive=True, reasons=[_UNCHECKED], returns_rows=None
        )
    if not allow_write and not classified.read_only:
        raise SqlRefused(
            "this statement is not provably read-only (" + "; ".join(classified.reasons) + "); execute_sql runs "
            "read-only unless allow_write is true"
            + (" (this server runs read-only: writes are off)" if rt.settings.read_only else "")
        )
    if allow_write and rt.settings.read_only:
        raise InputError("this server runs read-only (DOKPLOY_MCP_READ_ONLY): writes are off", field="allow_write")
    return classified


def destruction_preview(rt: Runtime, request: SqlRequest) -> str | None:
    """What a destructive statement does, in words for the person asked to confirm it; None when the statement is
    not one to confirm (read-only, or a write the guard does not mark destructive)."""
    if not request.allow_write:
        return None
    params = list(request.params) if request.params else None
    classified = _classify(rt, request, params)
    if not classified.destructive:
        return None
    sql = request.sql if len(request.sql) <= 600 else request.sql[:600] + " ..."
    where = scrub(request.target) if request.target else "DATABASE_URL"
    return (
        f"Run this statement on {where}? It is destructive (" + "; ".join(classified.reasons) + ") and cannot be "
        f"undone from here:\n{scrub(sql)}"
    )


async def run_sql(rt: Runtime, request: SqlRequest) -> SqlOutcome:
    """Run one statement on ``request.target``: read-only (guard plus READ ONLY transaction) unless
    ``allow_write``; a destructive one first answers a confirm token, and runs when called again with it."""
    # No parameters at all, not an empty list: with a list the client sends psycopg's conversion ('%%' becomes '%'),
    # without one the text as it is; the guard must check the one that runs.
    params = list(request.params) if request.params else None
    classified = _classify(rt, request, params)
    allow_write = request.allow_write
    opened = await open_route(rt, request.target)
    outcome = SqlOutcome(route=opened.route, target=opened.display, read_only=not allow_write, notes=opened.notes)
    try:
        if classified.kind == "unchecked" and opened.route != "direct":
            # pg-meta runs whatever the text holds, several statements included: there it must be checked.
            raise SqlRefused(
                "the SQL is too large or too deeply nested to check, and a stack's pg-meta route runs only "
                "statements proven to be one: split it into smaller statements"
            )
        token_id = None
        if allow_write and classified.destructive and not request.person:
            token_id = _confirm(rt, request, params, classified, opened, outcome)
            if token_id is None:
                return outcome
        outcome.result = await _execute(rt, request, params, opened, token_id)
        if opened.route == "direct" and not allow_write and await _superuser(rt, opened.runner):
            opened.notes.append(SUPERUSER_NOTE)
    finally:
        await opened.aclose()
    outcome.notes = [*opened.notes, *getattr(outcome.result, "notes", [])]
    return outcome


def _confirm(
    rt: Runtime,
    request: SqlRequest,
    params: list[Any] | None,
    classified: Classified,
    opened: OpenRoute,
    outcome: SqlOutcome,
) -> str | None:
    """The id of the request's token, now used in this process; or None after putting a new token and a preview
    into ``outcome`` (no token yet: nothing runs)."""
    arguments = {
        "sql": request.sql,
        "target": request.target,
        "params": params,
        "role": request.role,
        "jwt_claims": request.jwt_claims,
    }
    if request.confirm_token is None:
        outcome.confirm_token = rt.confirmer.issue("execute_sql", arguments, opened.display).token
        outcome.preview = (
            "destructive: " + "; ".join(classified.reasons) + ". Nothing ran: call again with this "
            "confirm_token to run it"
        )
        return None
    # The state is the target, which the statement does not change: single use rests on the token's id, here in
    # the process and, in the statement's transaction, in the database (_execute).
    return rt.confirmer.verify(request.confirm_token, "execute_sql", arguments, opened.display)


async def _execute(
    rt: Runtime, request: SqlRequest, params: list[Any] | None, opened: OpenRoute, token_id: str | None
) -> QueryResult:
    """The statement's result. With a token, its id is recorded in the statement's transaction: a replay from any
    process sharing the database fails there, and a statement that fails leaves the token usable."""
    claims = request.jwt_claims
    try:
        return await opened.runner.execute(
            request.sql,
            params,
            read_only=not request.allow_write,
            timeout_ms=_within_budget(rt, request.timeout_ms, opened.notes),
            max_rows=request.max_rows,
            role=request.role,
            local_settings={"request.jwt.claims": json.dumps(claims)} if claims is not None else None,
            mark=UseMark(token_id, "execute_sql") if token_id is not None else None,
        )
    except DatabaseQueryError as exc:
        if token_id is not None and exc.sqlstate == TOKEN_USED_SQLSTATE:
            raise ConfirmationError(USED_MESSAGE, reason="used") from None
        _give_back(rt, token_id)
        raise
    except BaseException:
        # Rolled back, or never committed (a lost connection, a stop): the database holds no mark, or holds it
        # and refuses the next use itself.
        _give_back(rt, token_id)
        raise


def _give_back(rt: Runtime, token_id: str | None) -> None:
    if token_id is not None:
        rt.confirmer.release(token_id)


def _within_budget(rt: Runtime, timeout_ms: int, notes: list[str]) -> int:
    """The statement timeout, at most the call budget less a margin for connecting and answering: the server stops
    a statement past it cleanly (rolled back), where the call's own deadline could only abandon it."""
    budget_ms = max(int((rt.settings.call_budget - 2) * 1000), 100)
    if timeout_ms <= budget_ms:
        return timeout_ms
    notes.append(
        f"timeout_ms {timeout_ms} is above this server's call budget: the statement may run {budget_ms} ms "
        "(DOKPLOY_MCP_CALL_BUDGET)"
    )
    return budget_ms


async def _superuser(rt: Runtime, runner: StatementRunner) -> bool:
    from dokploy_mcp.postgres.client import Database

    return isinstance(runner, Database) and await rt.is_superuser(runner)


# -- activity and schema --------------------------------------------------------------------------------------------


async def monitor_connections(rt: Runtime, target: str | None, thresholds: Thresholds) -> ConnectionReport:
    """``target``'s connections against the thresholds (see :func:`connection_report`)."""
    opened = await open_route(rt, target)
    try:
        return await connection_report(database_executor(opened.runner), thresholds)
    finally:
        await opened.aclose()


async def describe_schema(
    rt: Runtime, target: str | None, tables: Sequence[str], schemas: Sequence[str] | None
) -> SchemaOverview | list[TableDetail]:
    """The named ``tables`` in full, or without names a compact overview of the database (only ``schemas``)."""
    opened = await open_route(rt, target)
    try:
        execute = database_executor(opened.runner)
        if tables:
            return await table_details(execute, list(tables))
        return await overview(execute, schemas=list(schemas) if schemas is not None else None)
    finally:
        await opened.aclose()
