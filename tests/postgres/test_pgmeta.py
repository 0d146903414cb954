"""The pg-meta SQL route against a real pg-meta (tools/pgmeta, the template's 0.96.6) on the real test database.

What is checked: rows come back in the direct route's shape; one statement is proven before anything is sent;
parameters are refused; the READ ONLY wrapper stops writes and changes nothing; write mode commits; errors map
to the direct route's classes with their SQLSTATE; roles, settings and JWT claims reach the statement; the
encrypted connection header makes pg-meta connect as a non-superuser, whose privileges stop what READ ONLY does
not; the rows are always the statement's (never a wrapper's); caps truncate with a reason.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import psycopg
import pytest
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from psycopg import sql
from pydantic import SecretStr

from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres.errors import (
    DatabaseConnectionError,
    DatabaseQueryError,
    DatabaseTimeoutError,
    ReadOnlyViolationError,
    RoleNotPermittedError,
    SqlRefused,
)
from dokploy_mcp.postgres.pgmeta import PgMetaClient, _RowArray, _ShapeError, encrypt_connection
from dokploy_mcp.postgres.pgmeta_route import PgMetaResult, PgMetaRoute
from dokploy_mcp.postgres.statement import QueryResult
from tests.pgmeta_server import PgMetaServer, pgmeta_server, pgmeta_url  # noqa: F401  (fixtures)

from .conftest import Admin, Roles

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


class Recording(httpx.AsyncBaseTransport):
    """A real HTTP transport that keeps every request it sends: what pg-meta received, and nothing else."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        pass  # shared by several clients: its fixture closes the inner transport

    def queries(self) -> list[str]:
        return [json.loads(request.content)["query"] for request in self.requests]


def decrypt_connection(ciphertext: str, passphrase: str) -> str:
    """CryptoJS.AES.decrypt, as pg-meta runs it: an independent check of the format."""
    raw = base64.b64decode(ciphertext)
    assert raw[:8] == b"Salted__"
    salt, body = raw[8:16], raw[16:]
    derived, block = b"", b""
    while len(derived) < 48:
        block = hashlib.md5(block + passphrase.encode() + salt, usedforsecurity=False).digest()
        derived += block
    decryptor = Cipher(algorithms.AES(derived[:32]), modes.CBC(derived[32:48])).decryptor()
    padded = decryptor.update(body) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    return (unpadder.update(padded) + unpadder.finalize()).decode()


def count(admin: Admin, table: str) -> int:
    return int(admin(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))[0][0])


@pytest.fixture
async def recording() -> AsyncIterator[Recording]:
    transport = Recording()
    yield transport
    await transport.inner.aclose()


@pytest.fixture
async def route(pgmeta_url: str, recording: Recording) -> AsyncIterator[PgMetaRoute]:  # noqa: F811
    async with PgMetaRoute(PgMetaClient.direct(pgmeta_url, transport=recording)) as pg_meta:
        yield pg_meta


@pytest.fixture
async def connect_as(pgmeta_server: PgMetaServer, recording: Recording) -> AsyncIterator[Any]:  # noqa: F811
    """Open routes that connect as another login through the encrypted header; closed afterwards."""
    opened: list[PgMetaRoute] = []

    def make(user: str, *, key: str | None = None) -> PgMetaRoute:
        made = PgMetaRoute(
            PgMetaClient.direct(
                pgmeta_server.url,
                connect_as=pgmeta_server.database_url_as(user),
                crypto_key=SecretStr(key or pgmeta_server.crypto_key),
                transport=recording,
            )
        )
        opened.append(made)
        return made

    yield make
    for made in opened:
        await made.aclose()


# -- the server ------------------------------------------------------------------------------------------------


def test_the_pinned_pg_meta_runs(pgmeta_server: PgMetaServer) -> None:  # noqa: F811
    assert pgmeta_server.version == "0.96.6"
    assert httpx.get(pgmeta_server.url + "/").json()["version"] == "0.96.6"


# -- results -----------------------------------------------------------------------------------------------------


async def test_select_returns_rows_in_the_direct_routes_shape(route: PgMetaRoute) -> None:
    result = await route.execute("SELECT g AS n, 'row ' || g AS label FROM generate_series(1, 3) g ORDER BY g")
    named = await route.execute("SELECT current_setting('application_name') AS app")
    assert named.rows == [["dokploy-mcp:pg-meta"]]
    assert isinstance(result, PgMetaResult)
    assert isinstance(result, QueryResult)
    assert [(c.name, c.type_name) for c in result.columns] == [("n", "unknown"), ("label", "unknown")]
    assert result.rows == [[1, "row 1"], [2, "row 2"], [3, "row 3"]]
    assert (result.row_count, result.truncated, result.truncated_reason) == (3, False, None)
    assert (result.status_message, result.rows_affected) == (None, None)
    assert result.route == "pg-meta"
    assert result.endpoint == route.endpoint
    assert result.endpoint.endswith("/query")
    notes = " | ".join(result.notes)
    for expected in ("no column types", "no command tag", "no streaming", "superuser", "READ ONLY"):
        assert expected in notes


async def test_values_are_pg_metas_json(route: PgMetaRoute) -> None:
    result = await route.execute(
        "SELECT 9007199254740993::int8 AS big, 42::int8 AS small, 12.50::numeric(6,2) AS price,"
        " 'NaN'::float8 AS nan, '\\xdead'::bytea AS blob, '{\"a\": [1, null]}'::jsonb AS doc,"
        " '2024-05-01 12:30:00+00'::timestamptz AS at, NULL::text AS nothing, 1 AS same, 2 AS same"
    )
    assert [c.name for c in result.columns] == ["big", "small", "price", "nan", "blob", "doc", "at", "nothing", "same"]
    big, small, price, nan, blob, doc, at, nothing, same = result.rows[0]
    assert (big, small, price, nan, nothing) == ("9007199254740993", 42, "12.50", None, None)
    assert blob == {"type": "Buffer", "data": [0xDE, 0xAD]}
    assert doc == {"a": [1, None]}
    assert isinstance(at, str) and at.startswith("2024-05-01 12:30:00")
    assert same == 2  # two columns named alike collapse into one: the note says so


async def test_a_statement_without_rows_gives_no_rows_not_a_wrappers(route: PgMetaRoute, roles: Roles) -> None:
    result = await route.execute(
        "SELECT 1 AS one WHERE false",
        role=roles.group,
        jwt_claims={"sub": "u1", "role": "authenticated"},
        local_settings={"app.tenant": "t1"},
    )
    assert (result.columns, result.rows, result.row_count) == ([], [], 0)
    ddl = await route.execute("CREATE TEMP TABLE scratch (x int)", read_only=False)
    assert (ddl.columns, ddl.rows) == ([], [])


async def test_the_exact_text_sent(route: PgMetaRoute, recording: Recording, roles: Roles) -> None:
    await route.execute(
        "SELECT current_user -- trailing comment",
        timeout_ms=1234,
        role=roles.group,
        jwt_claims={"sub": "it's \\ me"},
        local_settings={"app.tenant": "t'1"},
    )
    await route.execute("SELECT 1", read_only=False)
    read_only, write = recording.queries()
    group = roles.group.replace('"', '""')
    assert read_only == (
        "BEGIN READ ONLY;\n"
        "SET LOCAL statement_timeout = 1234;\n"
        "SET LOCAL \"app\".\"tenant\" = E't''1';\n"
        'SET LOCAL "request"."jwt"."claims" = E\'{"sub":"it\'\'s \\\\\\\\ me"}\';\n'
        f'SET LOCAL ROLE "{group}";\n'
        "SELECT current_user\n"  # the guard's text: trimmed to its tokens, the trailing comment dropped
        ";\n"
        "ROLLBACK;"
    )
    assert write == "BEGIN;\nSET LOCAL statement_timeout = 30000;\nSELECT 1\n;\nCOMMIT;"
    assert all(r.url.params["queryTimeoutSecs"] for r in recording.requests)


# -- one statement, no parameters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "SELECT 1; SELECT 2",
        "SELECT 1; COMMIT; DELETE FROM pg_class",
        "SELECT 1 /* ; */ ; SELECT 2",
        "",
    ],
)
async def test_more_or_less_than_one_statement_is_refused_before_sending(
    route: PgMetaRoute, recording: Recording, statement: str
) -> None:
    with pytest.raises((SqlRefused, InputError)):
        await route.execute(statement)
    assert recording.requests == []


async def test_a_trailing_semicolon_or_comment_is_still_one_statement(route: PgMetaRoute) -> None:
    assert (await route.execute("SELECT 7 AS n;")).rows == [[7]]
    assert (await route.execute("SELECT 8 AS n -- ; SELECT 9")).rows == [[8]]


@pytest.mark.parametrize("params", [[1], ("x",), {"name": 1}])
async def test_parameters_are_refused_with_the_way_to_the_direct_route(
    route: PgMetaRoute, recording: Recording, params: Any
) -> None:
    with pytest.raises(InputError) as caught:
        await route.execute("SELECT %s", params)
    assert caught.value.field == "params"
    assert "direct route" in str(caught.value) and "connection string" in str(caught.value)
    assert recording.requests == []


async def test_copy_to_or_from_the_client_is_refused_before_sending(route: PgMetaRoute, recording: Recording) -> None:
    for statement in ("COPY (SELECT 1) TO STDOUT", "COPY pg_class FROM STDIN"):
        with pytest.raises(DatabaseQueryError) as caught:
            await route.execute(statement)
        assert caught.value.sqlstate is None
    assert recording.requests == []


# -- read-only and writes ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "statement",
    [
        "INSERT INTO {t} VALUES (1, 'x')",
        "UPDATE {t} SET note = 'changed'",
        "DELETE FROM {t}",
        "CREATE TABLE {t}_new (x int)",
        "DROP TABLE {t}",
        "SELECT nextval('{t}_seq')",
    ],
)
async def test_read_only_refuses_writes_and_changes_nothing(
    route: PgMetaRoute, table: str, admin: Admin, statement: str
) -> None:
    admin(sql.SQL("INSERT INTO {} VALUES (0, 'before')").format(sql.Identifier(table)))
    with pytest.raises(ReadOnlyViolationError) as caught:
        await route.execute(statement.format(t=table))
    assert caught.value.sqlstate == "25006"
    assert admin(sql.SQL("SELECT id, note FROM {}").format(sql.Identifier(table))) == [(0, "before")]
    assert admin("SELECT to_regclass(%s)", [f"{table}_new"]) == [(None,)]
    assert admin(sql.SQL("SELECT last_value, is_called FROM {}").format(sql.Identifier(table + "_seq"))) == [(1, False)]


async def test_read_only_rolls_back_so_nothing_commits(route: PgMetaRoute, pg_database_url: str) -> None:
    # READ ONLY still queues notifications; the ROLLBACK at the end drops them, where a COMMIT would send them.
    channel = f"ch_{secrets.token_hex(4)}"
    with psycopg.connect(pg_database_url, autocommit=True) as listener:
        listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
        await route.execute(f"SELECT pg_notify('{channel}', 'read-only')")
        await route.execute(f"SELECT pg_notify('{channel}', 'write')", read_only=False)
        received = [n.payload for n in listener.notifies(timeout=2.0, stop_after=1)]
    assert received == ["write"]


async def test_write_mode_commits(route: PgMetaRoute, table: str, admin: Admin) -> None:
    inserted = await route.execute(
        f"INSERT INTO {table} VALUES (1, 'kept'), (2, 'also') RETURNING id, note", read_only=False
    )
    assert inserted.rows == [[1, "kept"], [2, "also"]]
    assert (inserted.status_message, inserted.rows_affected) == (None, None)
    plain = await route.execute(f"UPDATE {table} SET note = 'changed' WHERE id = 2", read_only=False)
    assert plain.rows == []
    assert admin(sql.SQL("SELECT id, note FROM {} ORDER BY id").format(sql.Identifier(table))) == [
        (1, "kept"),
        (2, "changed"),
    ]


async def test_a_failing_write_leaves_nothing_behind(route: PgMetaRoute, table: str, admin: Admin) -> None:
    with pytest.raises(DatabaseQueryError) as caught:
        await route.execute(
            f"INSERT INTO {table} SELECT g, (1 / (g - 3))::text FROM generate_series(1, 5) g", read_only=False
        )
    assert caught.value.sqlstate == "22012"
    assert count(admin, table) == 0


# -- errors ------------------------------------------------------------------------------------------------------


async def test_a_sql_error_keeps_its_sqlstate(route: PgMetaRoute) -> None:
    with pytest.raises(DatabaseQueryError) as caught:
        await route.execute("SELECT * FROM no_such_table")
    error = caught.value
    assert type(error) is DatabaseQueryError
    assert (error.sqlstate, error.message) == ("42P01", 'relation "no_such_table" does not exist')


async def test_detail_and_hint_come_through(route: PgMetaRoute, table: str, admin: Admin) -> None:
    admin(sql.SQL("INSERT INTO {} VALUES (1, 'x')").format(sql.Identifier(table)))
    with pytest.raises(DatabaseQueryError) as caught:
        await route.execute(f"INSERT INTO {table} VALUES (1, 'again')", read_only=False)
    assert caught.value.sqlstate == "23505"
    assert caught.value.detail == "Key (id)=(1) already exists."


async def test_statement_timeout_maps_to_a_timeout(route: PgMetaRoute) -> None:
    started = time.monotonic()
    with pytest.raises(DatabaseTimeoutError) as caught:
        await route.execute("SELECT pg_sleep(5)", timeout_ms=300)
    assert caught.value.timeout_ms == 300
    assert time.monotonic() - started < 4


# -- roles, settings, claims -------------------------------------------------------------------------------------


async def test_role_switches_for_the_statement(route: PgMetaRoute, roles: Roles) -> None:
    result = await route.execute("SELECT current_user AS who, session_user AS login", role=roles.group)
    assert result.rows == [[roles.group, "postgres"]]
    assert any("SET LOCAL ROLE" in note and roles.group in note for note in result.notes)


async def test_a_role_refused_inside_the_statement_is_the_statements_error(route: PgMetaRoute) -> None:
    # Not the role argument's fault: the statement itself asked for the role.
    with pytest.raises(DatabaseQueryError) as caught:
        await route.execute("SELECT pg_catalog.set_config('role', 'no_such_role_inside', true)")
    assert not isinstance(caught.value, RoleNotPermittedError)
    assert "does not exist" in str(caught.value) and "inside the statement" in str(caught.value)
    assert caught.value.sqlstate == "22023"


async def test_a_missing_role_is_refused(route: PgMetaRoute, recording: Recording) -> None:
    with pytest.raises(RoleNotPermittedError) as caught:
        await route.execute("SELECT 1", role="no_such_role_here")
    assert caught.value.role == "no_such_role_here"
    sent = len(recording.requests)
    with pytest.raises(InputError) as refused:
        await route.execute("SELECT 1", role="r" * 64)  # PostgreSQL would cut it to 63 bytes: another role
    assert refused.value.field == "role"
    assert len(recording.requests) == sent


async def test_jwt_claims_and_settings_reach_the_statement(route: PgMetaRoute) -> None:
    claims = {"sub": 'it\'s \\ "me"', "role": "authenticated", "n": 1, "name": "Zoë", "nested": {"a": [1]}}
    result = await route.execute(
        "SELECT current_setting('request.jwt.claims', true) AS claims, current_setting('app.tenant') AS tenant",
        jwt_claims=claims,
        local_settings={"app.tenant": "a'b\\c"},
    )
    raw_claims, tenant = result.rows[0]
    assert isinstance(raw_claims, str)
    assert json.loads(raw_claims) == claims
    assert tenant == "a'b\\c"
    # Transaction-local: the next call does not see them.
    after = await route.execute("SELECT current_setting('request.jwt.claims', true) AS claims")
    assert after.rows in ([[None]], [[""]])


async def test_claims_that_are_not_json_are_refused(route: PgMetaRoute, recording: Recording) -> None:
    with pytest.raises(InputError) as caught:
        await route.execute("SELECT 1", jwt_claims={"when": object()})
    assert caught.value.field == "jwt_claims"
    for settings in ({"bad..name": "x"}, {"Transaction_Read_Only": "off"}, {"app.x": "nul\x00"}):
        with pytest.raises(InputError) as caught:
            await route.execute("SELECT 1", local_settings=settings)
        assert caught.value.field == "local_settings"
    assert recording.requests == []


# -- connect_as: a non-superuser through the encrypted header ---------------------------------------------------


async def test_connect_as_runs_as_that_login(
    connect_as: Any,
    roles: Roles,
    recording: Recording,
    pgmeta_server: PgMetaServer,  # noqa: F811
) -> None:
    member: PgMetaRoute = connect_as(roles.member)
    result = await member.execute(
        "SELECT current_user AS who, (SELECT rolsuper FROM pg_roles WHERE oid = "
        "(SELECT oid FROM pg_roles WHERE rolname = current_user)) AS super"
    )
    assert result.rows == [[roles.member, False]]
    assert not any("superuser" in note for note in result.notes)
    header = recording.requests[-1].headers["x-connection-encrypted"]
    assert roles.member not in header
    assert decrypt_connection(header, pgmeta_server.crypto_key) == pgmeta_server.database_url_as(roles.member)
    switched = await member.execute("SELECT current_user", role=roles.group)
    assert switched.rows == [[roles.group]]
    with pytest.raises(RoleNotPermittedError) as caught:
        await member.execute("SELECT 1", role=roles.outsider)
    assert caught.value.role == roles.outsider


async def test_connect_as_a_non_superuser_stops_what_read_only_does_not(
    route: PgMetaRoute, connect_as: Any, roles: Roles, pg_database_url: str, admin: Admin
) -> None:
    def alive(pid: int) -> bool:
        return bool(admin("SELECT count(*) FROM pg_stat_activity WHERE pid = %s", [pid])[0][0])

    def wait_gone(pid: int) -> bool:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            if not alive(pid):
                return True
            time.sleep(0.05)
        return False

    with psycopg.connect(pg_database_url, autocommit=True) as victim:
        pid = victim.info.backend_pid
        with pytest.raises(DatabaseQueryError) as caught:
            await connect_as(roles.member).execute(f"SELECT pg_terminate_backend({pid})")
        assert caught.value.sqlstate == "42501"
        assert alive(pid)
        victim.execute("SELECT 1")

    # The same statement on the superuser connection goes through, READ ONLY notwithstanding: hence the note.
    with psycopg.connect(pg_database_url, autocommit=True) as victim:
        pid = victim.info.backend_pid
        result = await route.execute(f"SELECT pg_terminate_backend({pid}) AS done")
        assert result.rows == [[True]]
        assert wait_gone(pid)


async def test_connect_as_with_the_wrong_crypto_key_says_so(connect_as: Any, roles: Roles) -> None:
    with pytest.raises(DatabaseConnectionError) as caught:
        await connect_as(roles.member, key="not-the-key").execute("SELECT 1")
    assert "PG_META_CRYPTO_KEY" in str(caught.value)


async def test_connect_as_a_missing_login_is_a_connection_error(connect_as: Any) -> None:
    with pytest.raises(DatabaseConnectionError) as caught:
        await connect_as(f"nobody_{secrets.token_hex(3)}").execute("SELECT 1")
    assert "28000" in str(caught.value)


async def test_connect_as_a_closed_port_is_a_connection_error(pgmeta_server: PgMetaServer) -> None:  # noqa: F811
    target = pgmeta_server.database_url_as("postgres").replace(":5432/", ":1/")
    async with PgMetaRoute(
        PgMetaClient.direct(pgmeta_server.url, connect_as=target, crypto_key=SecretStr(pgmeta_server.crypto_key))
    ) as unreachable:
        with pytest.raises(DatabaseConnectionError) as caught:
            await unreachable.execute("SELECT 1")
    assert "ECONNREFUSED" in str(caught.value)


def test_connect_as_needs_the_crypto_key() -> None:
    from dokploy_mcp.errors import ConfigurationError

    with pytest.raises(ConfigurationError) as caught:
        PgMetaRoute(PgMetaClient.direct("http://127.0.0.1:1", connect_as="postgresql://u:p@db:5432/postgres"))
    assert caught.value.setting == "PG_META_CRYPTO_KEY"


def test_the_encryption_is_cryptojs_passphrase_aes() -> None:
    plaintext = "postgresql://reader:p%40ss@db:5432/postgres"
    sealed = encrypt_connection(plaintext, "k3y", salt=b"12345678")
    assert base64.b64decode(sealed)[:16] == b"Salted__12345678"
    assert decrypt_connection(sealed, "k3y") == plaintext
    assert encrypt_connection(plaintext, "k3y") != encrypt_connection(plaintext, "k3y")  # a fresh salt each time


# -- standard_conforming_strings ---------------------------------------------------------------------------------

SMUGGLER = "SELECT 'x\\' , '; COMMIT; SELECT 1 AS smuggled; --' AS v"


async def test_a_backslash_literal_works_where_strings_are_standard(route: PgMetaRoute, recording: Recording) -> None:
    result = await route.execute("SELECT 'a\\b' AS v")
    assert result.rows == [["a\\b"]]
    assert len(recording.requests) == 2  # the setting was read first


async def test_a_backslash_literal_is_refused_where_strings_are_not_standard(
    connect_as: Any,
    roles: Roles,
    recording: Recording,
    admin: Admin,
    pgmeta_server: PgMetaServer,  # noqa: F811
) -> None:
    admin(sql.SQL("ALTER ROLE {} SET standard_conforming_strings = off").format(sql.Identifier(roles.member)))
    member: PgMetaRoute = connect_as(roles.member)
    # Why: to this server the parser's one statement is three, and the middle one ends our transaction.
    header = encrypt_connection(pgmeta_server.database_url_as(roles.member), pgmeta_server.crypto_key)
    async with httpx.AsyncClient() as client:
        smuggled = await client.post(
            pgmeta_server.url + "/query",
            headers={"x-connection-encrypted": header},
            json={"query": f"BEGIN READ ONLY;\n{SMUGGLER}\n;\nROLLBACK;"},
        )
    assert smuggled.json() == [{"smuggled": 1}]

    with pytest.raises(SqlRefused) as caught:
        await member.execute(SMUGGLER)
    assert "standard_conforming_strings" in str(caught.value)
    assert [q for q in recording.queries() if "smuggled" in q] == []
    assert (await member.execute("SELECT E'a\\\\b' AS v")).rows == [["a\\b"]]


# -- caps --------------------------------------------------------------------------------------------------------


async def test_max_rows_truncates(route: PgMetaRoute) -> None:
    result = await route.execute("SELECT g FROM generate_series(1, 50) g", max_rows=10)
    assert result.rows == [[g] for g in range(1, 11)]
    assert (result.row_count, result.truncated, result.truncated_reason) == (10, True, "max_rows")
    none = await route.execute("SELECT g FROM generate_series(1, 5) g", max_rows=0)
    assert (none.rows, none.truncated_reason, [c.name for c in none.columns]) == ([], "max_rows", ["g"])
    exact = await route.execute("SELECT g FROM generate_series(1, 5) g", max_rows=5)
    assert (exact.row_count, exact.truncated) == (5, False)


async def test_max_bytes_truncates(route: PgMetaRoute) -> None:
    # Each row is ["xxx..."]: 1004 bytes of JSON, so 4 fit in 5000 and the 5th does not.
    result = await route.execute("SELECT repeat('x', 1000) AS s FROM generate_series(1, 50)", max_bytes=5000)
    assert result.row_count == 4
    assert (result.truncated, result.truncated_reason) == (True, "max_bytes")


async def test_reading_stops_at_the_read_cap(route: PgMetaRoute) -> None:
    result = await route.execute("SELECT repeat('x', 3000000) AS s", max_bytes=1000)
    assert (result.rows, result.truncated_reason) == ([], "max_bytes")
    assert any("stopped reading" in note for note in result.notes)


# -- answers pg-meta gives that the real server is hard to provoke into ------------------------------------------


def answering(status: int, body: Any) -> httpx.MockTransport:
    return httpx.MockTransport(lambda request: httpx.Response(status, json=body))


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (408, {"error": "Query read timeout", "message": "Query read timeout"}, DatabaseTimeoutError, "read timeout"),
        (400, {"error": "connect ECONNREFUSED", "code": "ECONNREFUSED"}, DatabaseConnectionError, "ECONNREFUSED"),
        (504, {"error": "Connection terminated due to connection timeout"}, DatabaseConnectionError, "timeout"),
        (
            400,
            {"message": "Query result size (9 bytes) exceeded", "code": "RESULT_SIZE_EXCEEDED"},
            DatabaseQueryError,
            "exceeded",
        ),
        (404, {"error": "Not found"}, DatabaseConnectionError, "404"),
        (504, {"message": "The upstream server is timed out"}, DatabaseConnectionError, "answered 504"),
        (200, {"not": "a list"}, DatabaseConnectionError, "unexpected answer"),
        (200, [1, 2], DatabaseConnectionError, "unexpected answer"),
    ],
)
async def test_other_answers_map_to_clear_errors(status: int, body: Any, error: type[Exception], text: str) -> None:
    async with PgMetaRoute(PgMetaClient.direct("http://pg-meta.test", transport=answering(status, body))) as route:
        with pytest.raises(error) as caught:
            await route.execute("SELECT 1")
    assert text in str(caught.value)


async def test_an_unreachable_pg_meta_is_a_connection_error() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with PgMetaRoute(PgMetaClient.direct("http://pg-meta.test", transport=httpx.MockTransport(refuse))) as route:
        with pytest.raises(DatabaseConnectionError) as caught:
            await route.execute("SELECT 1")
    assert "pg-meta.test" in str(caught.value)


def test_the_row_reader_handles_any_chunking() -> None:
    payload = json.dumps([{"a": 1, "b": "x\u00e9 ]}"}, {"a": 2, "b": None}], indent=1).encode()
    for size in (1, 2, 3, 7, len(payload)):
        reader = _RowArray()
        rows: list[dict[str, Any]] = []
        for start in range(0, len(payload), size):
            rows.extend(reader.feed(payload[start : start + size]))
        rows.extend(reader.feed(b"", final=True))
        assert rows == [{"a": 1, "b": "x\u00e9 ]}"}, {"a": 2, "b": None}]
        assert reader.done
    assert _RowArray().feed(b" [ ] ", final=True) == []
    for bad in (b"[1]", b"{}", b"[{}", b"[{} {}]", b"[] x"):
        with pytest.raises(_ShapeError):
            _RowArray().feed(bad, final=True)
