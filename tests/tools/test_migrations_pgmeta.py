"""Migrations on a stack whose PostgreSQL is reachable only through pg-meta behind kong: the real pg-meta server,
connected as a non-superuser login that may create objects (as Supabase's ``postgres`` role may)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import psycopg
import pytest
from mcp import Client
from psycopg import sql
from pydantic import SecretStr

from dokploy_mcp.config import load_settings
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.kong.gateway import KongGateway
from dokploy_mcp.server import build_server
from dokploy_mcp.supabase.env import EnvFile
from tests.fake_dokploy import SERVERS, FakeDokploy
from tests.pgmeta_server import PgMetaServer, pgmeta_server  # noqa: F401 - session fixture
from tests.tools.test_database import call, error, kong_to_pgmeta

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

LOGIN = "dmcp_migrator"
STACK = "shop/supabase"


@pytest.fixture
def owned_db(any_pg_database_url: str) -> Iterator[str]:
    """A fresh database whose migrations run as a non-superuser login that owns schema public."""
    with psycopg.connect(any_pg_database_url, autocommit=True) as conn:
        if not conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", [LOGIN]).fetchone():
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(LOGIN)))
        dbname = conn.info.dbname
        conn.execute(sql.SQL("GRANT CREATE ON DATABASE {} TO {}").format(sql.Identifier(dbname), sql.Identifier(LOGIN)))
        conn.execute(sql.SQL("ALTER SCHEMA public OWNER TO {}").format(sql.Identifier(LOGIN)))
    yield any_pg_database_url
    with psycopg.connect(any_pg_database_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP OWNED BY {}").format(sql.Identifier(LOGIN)))


@pytest.fixture
async def stack(
    pgmeta_server: PgMetaServer,  # noqa: F811 - the session fixture
    owned_db: str,
) -> AsyncIterator[Client]:
    fake = FakeDokploy(deploy_polls=0)
    created = fake.add_supabase_stack("shop", "supabase", deployed=True)
    info = psycopg.conninfo.conninfo_to_dict(owned_db)
    env = EnvFile.parse(created["env"]).apply(
        set={
            "POSTGRES_HOST": str(info.get("host", "127.0.0.1")),
            "POSTGRES_PORT": str(info.get("port", "5432")),
            "POSTGRES_DB": str(info["dbname"]),
            "POSTGRES_USER": LOGIN,
            "POSTGRES_PASSWORD": "unused-with-trust-auth",
            "PG_META_CRYPTO_KEY": pgmeta_server.crypto_key,
        }
    )
    fake.composes[created["composeId"]]["env"] = env.render()
    service_key = env.get("SERVICE_ROLE_KEY") or ""
    upstream = httpx.Client(base_url=pgmeta_server.url, timeout=60)

    def gateway(url: str, anon: SecretStr, service: SecretStr) -> KongGateway:
        return KongGateway(
            url, anon_key=anon, service_role_key=service, transport=kong_to_pgmeta(pgmeta_server, service_key, upstream)
        )

    def client_factory(config: Any, timeout: float) -> DokployClient:
        return fake.client(name=config.name, timeout=timeout)

    mcp_server = build_server(
        load_settings(confirm="token"), servers=SERVERS, client_factory=client_factory, gateway_factory=gateway
    )
    with upstream:
        async with Client(mcp_server) as client:
            yield client


def rows(url: str, query: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(url) as conn:
        return conn.execute(query).fetchall()


async def test_apply_list_and_roll_back_through_pg_meta(stack: Client, owned_db: str) -> None:
    create = "create table public.notes (id int primary key, body text); -- why\n"
    applied = await call(
        stack,
        "apply_migration",
        target=STACK,
        name="notes",
        sql=create,
        down_sql="drop table public.notes;",
        version="20260101000000",
    )
    assert applied["status"] == "applied" and applied["route"] == "pg-meta via kong"
    # Made by the stack's login, not by pg-meta's own (superuser) connection.
    assert rows(owned_db, "select tableowner from pg_tables where tablename = 'notes'") == [(LOGIN,)]
    listing = await call(stack, "list_migrations", target=STACK)
    assert [m["version"] for m in listing["applied"]] == ["20260101000000"]
    assert listing["applied"][0]["has_down"] is True

    preview = await call(stack, "rollback_migration", target=STACK, version="20260101000000")
    done = await call(
        stack, "rollback_migration", target=STACK, version="20260101000000", confirm_token=preview["confirm_token"]
    )
    assert done["status"] == "rolled_back"
    assert rows(owned_db, "select to_regclass('public.notes') is null") == [(True,)]
    assert rows(owned_db, "select count(*) from supabase_migrations.schema_migrations") == [(0,)]


async def test_a_failure_through_pg_meta_leaves_nothing(stack: Client, owned_db: str) -> None:
    bad = "create table public.half (id int);\ninsert into public.half values (1);\nselect 1/0;"
    message = await error(stack, "apply_migration", target=STACK, name="half", sql=bad)
    assert "division by zero" in message and "rolled back" in message
    assert rows(owned_db, "select to_regclass('public.half') is null") == [(True,)]
    # The connection pg-meta used is not left in a failed transaction: the next migration goes through.
    ok = await call(stack, "apply_migration", target=STACK, name="ok", sql="create table public.fine (id int);")
    assert ok["status"] == "applied"


async def test_dry_run_and_diff_through_pg_meta(stack: Client, owned_db: str) -> None:
    await call(stack, "apply_migration", target=STACK, name="base", sql="create table public.items (id int);")
    dry = await call(
        stack,
        "apply_migration",
        target=STACK,
        name="more",
        sql="alter table public.items add column price numeric; create index on public.items (price);",
        dry_run=True,
    )
    assert dry["status"] == "dry_run"
    assert dry["objects"]["created"] or dry["objects"]["altered"]
    assert rows(owned_db, "select count(*) from information_schema.columns where column_name = 'price'") == [(0,)]
    # The stack against the same database reached directly: no difference.
    diff = await call(stack, "generate_diff", source=STACK, target=owned_db, schemas=["public"])
    assert diff["empty"] is True, diff["script"]


async def test_statements_outside_a_transaction_go_one_request_each(stack: Client, owned_db: str) -> None:
    await call(stack, "apply_migration", target=STACK, name="base", sql="create table public.items (id int);")
    done = await call(
        stack,
        "apply_migration",
        target=STACK,
        name="idx",
        sql="create index concurrently items_id on public.items (id);",
        transactional=False,
    )
    assert done["status"] == "applied"
    assert rows(owned_db, "select to_regclass('public.items_id') is not null") == [(True,)]
