"""The database service: choosing and opening a target's route, the probe, and pg-meta behind a stack's Kong.

The flows end to end (connect, execute_sql, monitor_connections, inspect_schema over MCP) are in
tests/tools/test_database.py; here the service's own pieces, the Kong route against the real pg-meta.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from pydantic import SecretStr

from dokploy_mcp.config import load_settings
from dokploy_mcp.kong.errors import GatewayAuthError
from dokploy_mcp.kong.gateway import KongGateway
from dokploy_mcp.postgres.errors import DatabaseConnectionError, DatabaseQueryError
from dokploy_mcp.runtime import Runtime
from dokploy_mcp.services.database import ConnectReport, open_route, pgmeta_via_gateway, probe_database, stack_login_url
from tests.pgmeta_server import pgmeta_server, pgmeta_url  # noqa: F401  (fixtures)
from tests.postgres.test_pgmeta import Recording

pytestmark = [pytest.mark.anyio]

SERVICE_KEY = "service-role-key-" + "s" * 40
ANON_KEY = "anon-key-" + "a" * 40


class FakeKong(httpx.AsyncBaseTransport):
    """Kong's ``/pg/`` route of the template: key-auth plus acl (service_role only), strip_path, then pg-meta."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.inner = Recording()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = request.headers.get("apikey")
        if key is None:
            return httpx.Response(401, json={"message": "No API key found in request", "request_id": "r1"})
        if key == ANON_KEY:
            return httpx.Response(403, json={"message": "You cannot consume this service", "request_id": "r2"})
        if key != SERVICE_KEY:
            return httpx.Response(401, json={"message": "Unauthorized", "request_id": "r3"})
        assert request.url.path.startswith("/pg/")
        url = httpx.URL(self.upstream + request.url.path[len("/pg") :], query=request.url.query)
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "host"]
        forwarded = httpx.Request(request.method, url, headers=headers, content=request.content)
        return await self.inner.handle_async_request(forwarded)

    async def aclose(self) -> None:
        await self.inner.inner.aclose()


# -- the stack's login ------------------------------------------------------------------------------------------


def test_the_stack_login_defaults_to_the_templates_postgres_on_db() -> None:
    assert stack_login_url({"POSTGRES_PASSWORD": "pw"}) == "postgresql://postgres:pw@db:5432/postgres"


def test_the_stack_login_quotes_what_a_url_cannot_hold() -> None:
    env = {"POSTGRES_PASSWORD": "p@ss/w:rd", "POSTGRES_USER": "a b", "POSTGRES_DB": "my db", "POSTGRES_PORT": "6543"}
    assert stack_login_url(env) == "postgresql://a%20b:p%40ss%2Fw%3Ard@db:6543/my%20db"


def test_no_password_no_stack_login() -> None:
    assert stack_login_url({"POSTGRES_USER": "postgres"}) is None
    assert stack_login_url({"POSTGRES_PASSWORD": ""}) is None


# -- the probe --------------------------------------------------------------------------------------------------


def test_the_probes_error_is_not_part_of_the_report() -> None:
    report = ConnectReport(ok=False, route="direct", target="postgresql://u:***@h/db")
    assert report.error is None
    assert "error" not in ConnectReport.model_json_schema()["properties"]
    assert "error" not in report.model_dump() and "_error" not in report.model_dump()


@pytest.fixture
async def runtime(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Runtime]:
    monkeypatch.delenv("DATABASE_URL", raising=False)
    async with Runtime(load_settings(database_url=None)) as rt:
        yield rt


async def test_a_refused_connection_comes_back_classified_with_its_error(runtime: Runtime) -> None:
    report = await probe_database(runtime, "postgresql://someone:secret@127.0.0.1:1/postgres?connect_timeout=2")
    assert (report.ok, report.route) == (False, "direct")
    assert "secret" not in report.target
    assert isinstance(report.error, DatabaseConnectionError)
    # The service leaves the wording to the tool boundary; the classification is data.
    assert report.problem is None
    assert report.problem_class == "host_unreachable"
    assert report.fix


async def test_a_direct_route_leaves_the_runtimes_pool_open(runtime: Runtime) -> None:
    opened = await open_route(runtime, "postgresql://someone:secret@127.0.0.1:1/postgres")
    assert (opened.route, opened.notes) == ("direct", [])
    await opened.aclose()
    assert opened.runner is await runtime.database("postgresql://someone:secret@127.0.0.1:1/postgres")


# -- pg-meta through Kong ---------------------------------------------------------------------------------------


@pytest.fixture
async def kong(pgmeta_url: str) -> AsyncIterator[tuple[KongGateway, FakeKong]]:  # noqa: F811
    fake = FakeKong(pgmeta_url)
    async with KongGateway(
        "http://api.example.test",
        anon_key=SecretStr(ANON_KEY),
        service_role_key=SecretStr(SERVICE_KEY),
        transport=fake,
    ) as gateway:
        yield gateway, fake


@pytest.mark.postgres
async def test_through_kong_with_the_service_role_key(kong: tuple[KongGateway, FakeKong]) -> None:
    gateway, fake = kong
    route = pgmeta_via_gateway(gateway)
    result = await route.execute("SELECT 1 AS one")
    assert result.rows == [[1]]
    assert result.endpoint == "http://api.example.test/pg/query"
    assert any("supabase_admin" in note for note in result.notes)
    sent = fake.inner.requests[-1]
    assert (sent.headers["apikey"], sent.headers["authorization"]) == (SERVICE_KEY, f"Bearer {SERVICE_KEY}")
    with pytest.raises(DatabaseQueryError) as caught:
        await route.execute("SELECT * FROM no_such_table")
    assert caught.value.sqlstate == "42P01"
    await route.aclose()  # the gateway's client stays open
    assert (await route.execute("SELECT 2 AS two")).rows == [[2]]


@pytest.mark.postgres
async def test_kong_refusing_the_key_is_a_gateway_auth_error(pgmeta_url: str) -> None:  # noqa: F811
    async with KongGateway(
        "http://api.example.test",
        anon_key=SecretStr(ANON_KEY),
        service_role_key=SecretStr(ANON_KEY),  # the wrong key where the service_role key belongs
        transport=FakeKong(pgmeta_url),
    ) as gateway:
        with pytest.raises(GatewayAuthError) as caught:
            await pgmeta_via_gateway(gateway).execute("SELECT 1")
    assert caught.value.status == 403
    assert ANON_KEY not in str(caught.value)


# -- the call budget caps a statement's timeout ---------------------------------------------------------------


async def test_a_statement_timeout_above_the_call_budget_is_capped_and_said(pg_server_url: str) -> None:
    from dokploy_mcp.postgres.errors import DatabaseTimeoutError
    from dokploy_mcp.services.database import SqlRequest, run_sql

    settings = load_settings(call_budget=3)
    request = SqlRequest(
        sql="SELECT pg_sleep(0.01)",
        target=pg_server_url,
        params=None,
        role=None,
        jwt_claims=None,
        timeout_ms=600_000,
        max_rows=10,
        allow_write=False,
        confirm_token=None,
    )
    async with Runtime(settings) as rt:
        outcome = await run_sql(rt, request)
        assert any("call budget" in note and "1000 ms" in note for note in outcome.notes), outcome.notes
        # Past the capped timeout the server stops the statement itself, long before the asked 600 s.
        slow = SqlRequest(**{**request.__dict__, "sql": "SELECT pg_sleep(30)"})
        with pytest.raises(DatabaseTimeoutError):
            await run_sql(rt, slow)
