"""Fixtures for the PostgreSQL client tests: the run's throwaway database, an admin helper, login roles."""

from __future__ import annotations

import dataclasses
import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import psycopg
import pytest
from psycopg import sql

from dokploy_mcp.postgres.client import Database
from dokploy_mcp.postgres.conninfo import ConnInfo, parse_target
from tests.postgres.password_cluster import password_cluster  # noqa: F401 - a session fixture for this folder

Admin = Callable[..., list[tuple[Any, ...]]]


@pytest.fixture
def db_info(pg_database_url: str) -> ConnInfo:
    return parse_target(pg_database_url)


@pytest.fixture
def admin(pg_database_url: str) -> Admin:
    """Run SQL as the superuser outside the client under test, autocommitted; returns the rows."""

    def run(statement: str | sql.SQL | sql.Composed, params: Any = None) -> list[tuple[Any, ...]]:
        with psycopg.connect(pg_database_url, autocommit=True) as conn:
            cursor = conn.execute(statement, params)
            return cursor.fetchall() if cursor.description else []

    return run


@pytest.fixture
async def db(db_info: ConnInfo) -> AsyncIterator[Database]:
    async with Database(db_info, name=f"test-{secrets.token_hex(3)}", connect_timeout=5) as database:
        yield database


@pytest.fixture
def table(admin: Admin) -> Iterator[str]:
    """A fresh table ``(id int primary key, note text)`` and a sequence beside it; dropped afterwards."""
    name = f"t_{secrets.token_hex(4)}"
    admin(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, note text)").format(sql.Identifier(name)))
    admin(sql.SQL("CREATE SEQUENCE {}").format(sql.Identifier(name + "_seq")))
    try:
        yield name
    finally:
        admin(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(name)))
        admin(sql.SQL("DROP SEQUENCE IF EXISTS {}").format(sql.Identifier(name + "_seq")))


@dataclasses.dataclass(frozen=True)
class Roles:
    group: str  # NOLOGIN role to switch to
    member: str  # LOGIN user granted the group
    outsider: str  # LOGIN user without it


@pytest.fixture
def roles(pg_server_url: str) -> Iterator[Roles]:
    """Cluster-wide roles with unique names, always dropped (roles outlive the test database)."""
    suffix = secrets.token_hex(4)
    # The group's name needs quoting (capitals, a space), so switching to it proves identifiers are quoted.
    made = Roles(group=f"MCP group {suffix}", member=f"mcp_member_{suffix}", outsider=f"mcp_outsider_{suffix}")
    ident = sql.Identifier
    try:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(ident(made.group)))
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN IN ROLE {}").format(ident(made.member), ident(made.group)))
            conn.execute(sql.SQL("CREATE ROLE {} LOGIN").format(ident(made.outsider)))
        yield made
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            for role in (made.member, made.outsider, made.group):
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(ident(role)))
