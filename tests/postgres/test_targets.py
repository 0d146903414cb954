"""Connection targets and the classes of connection failures, against a real password-and-SSL cluster."""

from __future__ import annotations

import pytest

from dokploy_mcp.postgres.client import Database
from dokploy_mcp.postgres.conninfo import parse_target
from dokploy_mcp.postgres.errors import DatabaseConnectionError
from dokploy_mcp.postgres.targets import diagnose, is_connection_string
from tests.postgres.password_cluster import PasswordCluster
from tests.protocol.servers import free_port

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        ("postgresql://u:p@h:5432/db", True),
        ("postgres://h/db", True),
        ("jdbc:postgresql://h:5432/db?user=u", True),
        ("host=h port=5432 dbname=postgres", True),
        ("myproject/supabase", False),
        ("prod:myproject/production/supabase", False),
        ("KJuA831I-hENYMExiXFlK", False),
    ],
)
def test_connection_strings_and_stack_addresses_are_told_apart(target: str, expected: bool) -> None:
    assert is_connection_string(target) is expected


async def failure(url: str) -> str:
    database = Database(parse_target(url), connect_timeout=5)
    try:
        with pytest.raises(DatabaseConnectionError) as info:
            await database.server_info()
    finally:
        await database.aclose()
    return str(info.value)


async def test_the_cluster_accepts_the_right_password_over_ssl(password_cluster: PasswordCluster) -> None:
    async with Database(parse_target(password_cluster.url()), connect_timeout=5) as database:
        info = await database.server_info()
    assert info.current_user == password_cluster.user
    assert info.is_superuser is False


async def test_wrong_password_is_classified_as_auth_failed(password_cluster: PasswordCluster) -> None:
    message = await failure(password_cluster.url(password="not-the-password"))
    assert "not-the-password" not in message
    assert diagnose(message).code == "auth_failed"


async def test_missing_database_is_classified(password_cluster: PasswordCluster) -> None:
    message = await failure(password_cluster.url(database="nope"))
    assert diagnose(message).code == "database_missing"


async def test_plain_connection_to_an_ssl_only_server_is_classified_as_ssl_required(
    password_cluster: PasswordCluster,
) -> None:
    message = await failure(password_cluster.url(sslmode="disable"))
    assert diagnose(message).code == "ssl_required"


async def test_closed_port_is_classified_as_host_unreachable() -> None:
    message = await failure(f"postgresql://u:secret-pw@127.0.0.1:{free_port()}/db")
    assert diagnose(message).code == "host_unreachable"
    assert "secret-pw" not in message


async def test_unknown_host_is_classified_as_host_unreachable() -> None:
    message = await failure("postgresql://u:pw@db.invalid:5432/postgres")
    assert diagnose(message).code == "host_unreachable"


def test_pooler_messages_are_classified() -> None:
    assert diagnose("FATAL: Tenant or user not found").code == "pooler_tenant"
    assert diagnose('prepared statement "_pg3_0" does not exist').code == "pooler_mode"
    assert diagnose("sorry, too many clients already").code == "too_many_connections"
