"""The database toolset through an MCP client: the direct route on the real PostgreSQL, and a stack's route through
its (doubled) kong gateway to the real pg-meta server."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from mcp import Client
from mcp.types import TextContent
from psycopg import sql
from pydantic import SecretStr

from dokploy_mcp.config import DokployServerConfig, load_settings
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.kong.gateway import KongGateway
from dokploy_mcp.postgres.statement import UseMark
from dokploy_mcp.server import build_server
from dokploy_mcp.supabase.env import EnvFile
from tests.fake_dokploy import SERVERS, FakeDokploy
from tests.pgmeta_server import PgMetaServer, pgmeta_server  # noqa: F401 - session fixture
from tests.postgres.supabase_fixture import create_supabase_schema

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

USER_ID = str(uuid.uuid4())
OTHER_ID = str(uuid.uuid4())


@pytest.fixture(scope="module")
def supabase_db(pg_database_url: str) -> Iterator[str]:
    """The run's database with the Supabase-like schema, two users and their profiles."""
    create_supabase_schema(pg_database_url)
    with psycopg.connect(pg_database_url, autocommit=True) as conn:
        for user_id, name in ((USER_ID, "ada"), (OTHER_ID, "bob")):
            conn.execute("INSERT INTO auth.users (id, email) VALUES (%s, %s) ON CONFLICT DO NOTHING", [user_id, name])
            conn.execute(
                # A trigger on auth.users already made the profile row: give it its username.
                "INSERT INTO public.profiles (id, username) VALUES (%s, %s) "
                "ON CONFLICT (id) DO UPDATE SET username = EXCLUDED.username",
                [user_id, name],
            )
        conn.execute("CREATE TABLE IF NOT EXISTS public.scratch (id int)")
        conn.execute(
            "CREATE OR REPLACE FUNCTION public.dmcp_notice(message text) RETURNS void LANGUAGE plpgsql "
            "AS $$BEGIN RAISE NOTICE '%', message; END$$"
        )
    yield pg_database_url


def server(
    database_url: str | None = None, *, read_only: bool = False, fake: FakeDokploy | None = None, gateway: Any = None
) -> Any:
    def client_factory(config: DokployServerConfig, timeout: float) -> DokployClient:
        assert fake is not None
        return fake.client(name=config.name, timeout=timeout)

    return build_server(
        load_settings(read_only=read_only, database_url=database_url),
        servers=SERVERS,
        client_factory=client_factory,
        gateway_factory=gateway,
    )


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def error(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error, result.structured_content
    assert isinstance(result.content[0], TextContent)
    return result.content[0].text


@pytest.fixture
async def direct(supabase_db: str) -> AsyncIterator[Client]:
    async with Client(server(supabase_db)) as client:
        yield client


def count(database_url: str, table: str) -> int:
    with psycopg.connect(database_url) as conn:
        row = conn.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(*table.split(".")))).fetchone()
        assert row is not None
        return int(row[0])


# -- direct route ---------------------------------------------------------------------------------------------------


async def test_connect_describes_a_supabase_database(direct: Client) -> None:
    report = await call(direct, "connect")
    assert report["ok"] is True and report["route"] == "direct"
    assert report["supabase"] is True
    assert report["server_version"].startswith("15")
    assert report["latency_ms"] is not None


async def test_connect_classifies_a_failure_instead_of_raising() -> None:
    async with Client(server("postgresql://u:secret-9@127.0.0.1:1/db")) as client:
        report = await call(client, "connect")
    assert report["ok"] is False
    assert report["problem_class"] == "host_unreachable"
    assert "secret-9" not in str(report)


async def test_execute_sql_reads_and_marks_rows_untrusted(direct: Client) -> None:
    result = await call(direct, "execute_sql", sql="SELECT username FROM public.profiles ORDER BY username")
    assert result["rows"] == [["ada"], ["bob"]]
    assert result["columns"] == [{"name": "username", "type": "text"}]
    assert result["read_only"] is True and "untrusted" in result["untrusted"]
    # The test server logs in as a superuser: the result says what that means for the guarantee.
    assert any("superuser" in note for note in result["notes"])


async def test_execute_sql_refuses_a_write_without_allow_write_and_changes_nothing(
    direct: Client, supabase_db: str
) -> None:
    before = count(supabase_db, "public.scratch")
    message = await error(direct, "execute_sql", sql="INSERT INTO public.scratch VALUES (1)")
    assert "allow_write" in message
    assert count(supabase_db, "public.scratch") == before


async def test_execute_sql_refuses_two_statements(direct: Client, supabase_db: str) -> None:
    before = count(supabase_db, "public.scratch")
    message = await error(direct, "execute_sql", sql="SELECT 1; DELETE FROM public.scratch")
    assert "sql" in message.lower()
    assert count(supabase_db, "public.scratch") == before


async def test_execute_sql_writes_with_allow_write(direct: Client, supabase_db: str) -> None:
    before = count(supabase_db, "public.scratch")
    result = await call(
        direct, "execute_sql", sql="INSERT INTO public.scratch VALUES (%s)", params=[7], allow_write=True
    )
    assert result["rows_affected"] == 1 and result["read_only"] is False
    assert count(supabase_db, "public.scratch") == before + 1


async def test_a_destructive_statement_needs_its_confirmation_token(direct: Client, supabase_db: str) -> None:
    table = f"public.doomed_{secrets.token_hex(3)}"
    with psycopg.connect(supabase_db, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int)")
    arguments = {"sql": f"DROP TABLE {table}", "allow_write": True}
    preview = await call(direct, "execute_sql", **arguments)
    assert preview["confirm_token"] and "destructive" in preview["preview"]
    assert count(supabase_db, table) == 0  # still there: the count works
    done = await call(direct, "execute_sql", **arguments, confirm_token=preview["confirm_token"])
    assert done["confirm_token"] is None
    with pytest.raises(psycopg.errors.UndefinedTable):
        count(supabase_db, table)


# -- single use of a confirm token, across server processes (the database decides) --------------------------------

SHARED_SECRET = secrets.token_hex(32)


def process(database_url: str, secret: str = SHARED_SECRET) -> Any:
    """One server process of a deployment: its own runtime and confirmer, the deployment's secret."""
    return build_server(load_settings(database_url=database_url, secret=secret), servers=SERVERS)


def marks(database_url: str) -> int:
    with psycopg.connect(database_url) as conn:
        if conn.execute("SELECT to_regclass('dokploy_mcp.used_confirmations')").fetchone() == (None,):
            return 0
        row = conn.execute("SELECT count(*) FROM dokploy_mcp.used_confirmations").fetchone()
        assert row is not None
        return int(row[0])


def fill(database_url: str, table: str, rows: int = 3) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (id int)")
        conn.execute(f"INSERT INTO {table} SELECT generate_series(1, %s)", [rows])


async def test_a_confirmed_statement_runs_once_whichever_process_gets_the_token(supabase_db: str) -> None:
    table = f"public.once_{secrets.token_hex(3)}"
    fill(supabase_db, table)
    arguments = {"sql": f"DELETE FROM {table}", "allow_write": True}
    async with Client(process(supabase_db)) as first, Client(process(supabase_db)) as second:
        token = (await call(first, "execute_sql", **arguments))["confirm_token"]
        assert (await call(first, "execute_sql", **arguments, confirm_token=token))["rows_affected"] == 3
        fill(supabase_db, table)  # a replay that ran would delete these
        # The same process remembers the token; a second process (fresh runtime and confirmer, same secret)
        # accepts its MAC, and the database refuses it on the table's key.
        for client in (first, second):
            message = await error(client, "execute_sql", **arguments, confirm_token=token)
            assert "already used" in message and "new preview" in message
        assert count(supabase_db, table) == 3
        # Its own token, on the second process: runs once there too.
        fresh = (await call(second, "execute_sql", **arguments))["confirm_token"]
        assert (await call(second, "execute_sql", **arguments, confirm_token=fresh))["rows_affected"] == 3
    # A restarted process with the same secret: the database still refuses.
    fill(supabase_db, table)
    async with Client(process(supabase_db)) as restarted:
        assert "already used" in await error(restarted, "execute_sql", **arguments, confirm_token=token)
    assert count(supabase_db, table) == 3


async def test_a_token_from_a_process_with_another_secret_does_not_fit(supabase_db: str) -> None:
    arguments = {"sql": f"TRUNCATE public.other_{secrets.token_hex(3)}", "allow_write": True}
    async with Client(process(supabase_db)) as ours, Client(process(supabase_db, secrets.token_hex(32))) as theirs:
        token = (await call(ours, "execute_sql", **arguments))["confirm_token"]
        assert "does not match" in await error(theirs, "execute_sql", **arguments, confirm_token=token)


async def test_a_statement_that_fails_leaves_its_token_usable(supabase_db: str) -> None:
    table = f"public.later_{secrets.token_hex(3)}"
    arguments = {"sql": f"TRUNCATE {table}", "allow_write": True}
    async with Client(process(supabase_db)) as client:
        token = (await call(client, "execute_sql", **arguments))["confirm_token"]
        before = marks(supabase_db)
        assert "does not exist" in await error(client, "execute_sql", **arguments, confirm_token=token)
        assert marks(supabase_db) == before  # rolled back with the statement
        fill(supabase_db, table)
        await call(client, "execute_sql", **arguments, confirm_token=token)
        assert count(supabase_db, table) == 0
        assert marks(supabase_db) == before + 1
        fill(supabase_db, table)
        assert "already used" in await error(client, "execute_sql", **arguments, confirm_token=token)
        assert count(supabase_db, table) == 3


async def test_only_confirmed_statements_are_recorded(direct: Client, supabase_db: str) -> None:
    table = f"public.plain_{secrets.token_hex(3)}"
    fill(supabase_db, table)
    before = marks(supabase_db)
    await call(direct, "execute_sql", sql=f"SELECT count(*) FROM {table}")
    await call(direct, "execute_sql", sql=f"INSERT INTO {table} VALUES (4)", allow_write=True)
    await call(direct, "execute_sql", sql=f"DELETE FROM {table}", allow_write=True)  # a preview: nothing ran
    assert marks(supabase_db) == before and count(supabase_db, table) == 4


async def test_role_and_jwt_claims_show_what_a_signed_in_user_sees(direct: Client) -> None:
    result = await call(
        direct,
        "execute_sql",
        sql="SELECT auth.uid()::text AS me, current_user AS who",
        role="authenticated",
        jwt_claims={"sub": USER_ID, "role": "authenticated"},
    )
    assert result["rows"] == [[USER_ID, "authenticated"]]


async def test_inspect_schema_gives_a_compact_overview_then_details(direct: Client) -> None:
    overview = await call(direct, "inspect_schema")
    lines = overview["overview"]["tables"]
    assert any(line.startswith("public.profiles ") and "rls=on" in line for line in lines)
    detail = await call(direct, "inspect_schema", tables=["public.profiles"])
    [profiles] = detail["tables"]
    assert {p["name"] for p in profiles["policies"]} >= {"Public profiles are viewable by everyone"}


async def test_monitor_connections_reports_use_and_sessions(direct: Client) -> None:
    report = await call(direct, "monitor_connections", use_percent=99)
    assert report["max_connections"] > 0
    assert report["in_use"] >= 1


async def test_read_only_server_has_execute_sql_without_write_arguments(supabase_db: str) -> None:
    async with Client(server(supabase_db, read_only=True)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
        assert {"connect", "execute_sql", "inspect_schema", "monitor_connections"} <= set(tools)
        schema = tools["execute_sql"].input_schema["properties"]
        assert "allow_write" not in schema and "confirm_token" not in schema
        assert tools["execute_sql"].annotations is not None and tools["execute_sql"].annotations.read_only_hint
        # allow_write is not an argument here: a write is refused whatever the call says.
        before = count(supabase_db, "public.scratch")
        refused = await client.call_tool(
            "execute_sql", {"sql": "INSERT INTO public.scratch VALUES (1)", "allow_write": True}
        )
        assert refused.is_error
        assert count(supabase_db, "public.scratch") == before


# -- a stack: pg-meta behind kong -----------------------------------------------------------------------------------

STACK_LOGIN = "dmcp_stack_postgres"


@pytest.fixture(scope="module")
def stack_login(supabase_db: str) -> str:
    """A non-superuser login like Supabase's postgres role: member of the API roles, reads public tables."""
    with psycopg.connect(supabase_db, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [STACK_LOGIN]).fetchone()
        if not exists:
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(STACK_LOGIN)))
        conn.execute(sql.SQL("GRANT anon, authenticated, service_role TO {}").format(sql.Identifier(STACK_LOGIN)))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA public TO {}").format(sql.Identifier(STACK_LOGIN)))
        conn.execute(sql.SQL("GRANT SELECT ON ALL TABLES IN SCHEMA public TO {}").format(sql.Identifier(STACK_LOGIN)))
    return STACK_LOGIN


def kong_to_pgmeta(pgmeta: PgMetaServer, service_key: str, upstream: httpx.Client) -> httpx.MockTransport:
    """Kong's /pg/ route (key-auth + admin ACL, strip_path) in front of the real pg-meta server."""

    def handle(request: httpx.Request) -> httpx.Response:
        if not request.url.path.startswith("/pg/"):
            return httpx.Response(404, json={"message": "no Route matched with those values"})
        if request.headers.get("apikey") != service_key:
            return httpx.Response(401, json={"message": "Unauthorized"})
        forwarded = upstream.request(
            request.method,
            request.url.path.removeprefix("/pg"),
            params=request.url.params,
            content=request.content,
            headers={k: v for k, v in request.headers.items() if k.lower() not in {"host", "content-length"}},
        )
        return httpx.Response(forwarded.status_code, content=forwarded.content, headers=forwarded.headers)

    return httpx.MockTransport(handle)


@pytest.fixture
async def stack_client(
    pgmeta_server: PgMetaServer,  # noqa: F811 - the session fixture
    supabase_db: str,
    stack_login: str,
) -> AsyncIterator[tuple[Client, FakeDokploy, str]]:
    fake = FakeDokploy(deploy_polls=0)
    stack = fake.add_supabase_stack("shop", "supabase", deployed=True)
    info = psycopg.conninfo.conninfo_to_dict(supabase_db)
    # The stack's env as pg-meta sees its database: here the test database and the non-superuser login.
    env = EnvFile.parse(stack["env"]).apply(
        set={
            "POSTGRES_HOST": str(info.get("host", "127.0.0.1")),
            "POSTGRES_PORT": str(info.get("port", "5432")),
            "POSTGRES_DB": str(info["dbname"]),
            "POSTGRES_USER": stack_login,
            "PG_META_CRYPTO_KEY": pgmeta_server.crypto_key,
        }
    )
    fake.composes[stack["composeId"]]["env"] = env.render()
    service_key = env.get("SERVICE_ROLE_KEY") or ""

    upstream = httpx.Client(base_url=pgmeta_server.url, timeout=30)

    def gateway(url: str, anon: SecretStr, service: SecretStr) -> KongGateway:
        transport = kong_to_pgmeta(pgmeta_server, service_key, upstream)
        return KongGateway(url, anon_key=anon, service_role_key=service, transport=transport)

    with upstream:
        async with Client(server(fake=fake, gateway=gateway)) as client:
            yield client, fake, stack["composeId"]


async def test_a_stack_is_reached_through_pg_meta_as_a_non_superuser(stack_client: tuple[Client, Any, str]) -> None:
    client, _, _ = stack_client
    report = await call(client, "connect", target="shop/supabase")
    assert report["ok"] is True, report
    assert report["route"] == "pg-meta via kong"
    assert report["current_user"] == STACK_LOGIN and report["superuser"] is False
    result = await call(client, "execute_sql", target="shop/supabase", sql="SELECT count(*) AS n FROM public.profiles")
    assert result["route"] == "pg-meta via kong"
    assert result["rows"] == [[2]]
    assert result["notes"]


async def test_a_stack_refuses_params_and_writes_nothing_read_only(
    stack_client: tuple[Client, Any, str], supabase_db: str
) -> None:
    client, _, _ = stack_client
    assert "direct" in await error(client, "execute_sql", target="shop/supabase", sql="SELECT %s", params=[1])
    before = count(supabase_db, "public.scratch")
    await error(client, "execute_sql", target="shop/supabase", sql="DELETE FROM public.scratch")
    assert count(supabase_db, "public.scratch") == before


async def test_a_confirmed_statement_through_pg_meta_runs_once(
    stack_client: tuple[Client, Any, str], supabase_db: str, stack_login: str
) -> None:
    client, _, _ = stack_client
    table = f"public.stack_once_{secrets.token_hex(3)}"
    fill(supabase_db, table)
    login = sql.Identifier(stack_login)
    with psycopg.connect(supabase_db, autocommit=True) as conn:
        # The marks' table exists (another login made it): the stack's login is granted what the README says.
        conn.execute(UseMark(secrets.token_hex(16), "execute_sql").sql())
        conn.execute(sql.SQL("GRANT SELECT, DELETE ON {} TO {}").format(sql.Identifier(*table.split(".")), login))
        conn.execute(sql.SQL("GRANT USAGE ON SCHEMA dokploy_mcp TO {}").format(login))
        marks_table = "dokploy_mcp.used_confirmations"
        conn.execute(sql.SQL("GRANT SELECT, INSERT, UPDATE, DELETE ON " + marks_table + " TO {}").format(login))
    arguments = {"target": "shop/supabase", "sql": f"DELETE FROM {table}", "allow_write": True}
    token = (await call(client, "execute_sql", **arguments))["confirm_token"]
    before = marks(supabase_db)
    done = await call(client, "execute_sql", **arguments, confirm_token=token)
    assert done["route"] == "pg-meta via kong" and count(supabase_db, table) == 0
    assert marks(supabase_db) == before + 1
    fill(supabase_db, table)
    assert "already used" in await error(client, "execute_sql", **arguments, confirm_token=token)
    assert count(supabase_db, table) == 3


async def test_a_stack_overview_through_pg_meta(stack_client: tuple[Client, Any, str]) -> None:
    client, _, _ = stack_client
    overview = await call(client, "inspect_schema", target="shop/supabase")
    assert any(line.startswith("public.profiles ") for line in overview["overview"]["tables"])


async def test_execute_sql_reports_the_notices_a_statement_raises(direct: Client) -> None:
    quiet = await call(direct, "execute_sql", sql="SELECT 1")
    assert quiet["notices"] == []
    # A user function is not provably read-only (the guard allows only known built-ins): the write path runs it.
    noisy = await call(
        direct, "execute_sql", sql="SELECT public.dmcp_notice('hello from the database')", allow_write=True
    )
    assert noisy["notices"] == ["NOTICE: hello from the database"]
    # The collector does not stay on the pooled connection.
    again = await call(direct, "execute_sql", sql="SELECT 2")
    assert again["notices"] == []


@pytest.mark.parametrize(
    ("argument", "value", "bound"),
    [
        ("long_running_s", 1e9, "less than or equal to 31536000"),
        ("idle_in_transaction_s", -1, "greater than or equal to 0"),
        ("use_percent", 101, "less than or equal to 100"),
    ],
)
async def test_monitor_connections_bounds_are_the_models_and_named(
    direct: Client, argument: str, value: float, bound: str
) -> None:
    """Before, the schema let 1e9 seconds through and the model refused it inside the tool: a bare error."""
    message = await error(direct, "monitor_connections", **{argument: value})
    assert argument in message and bound in message


async def test_a_huge_confirm_token_is_refused_naming_the_argument(direct: Client) -> None:
    message = await error(
        direct, "execute_sql", sql="DROP TABLE public.scratch", allow_write=True, confirm_token="v1." + "9" * 5_000
    )
    assert "confirm_token" in message and "at most 128 characters" in message
