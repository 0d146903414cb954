"""The restore subscription (``backup.restoreBackupWithLogs`` on ``/drawer-logs``) against a real WebSocket double of
Dokploy v0.30.2 (:mod:`tests.dokploy_ws_double`): what is sent, what is yielded, and every way it can end."""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr

from dokploy_mcp import redact
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.errors import (
    DokployAPIError,
    DokployAuthError,
    DokployNotFoundError,
    DokployProtocolError,
    DokployTimeoutError,
    DokployTransportError,
    DokployValidationError,
)
from dokploy_mcp.dokploy.restore import DokployRestoreError, RestoreLimits, websocket_url
from dokploy_mcp.errors import DokployMCPError, InputError
from dokploy_mcp.explain import explain
from tests.dokploy.recordings import TEST_API_KEY
from tests.dokploy_ws_double import DrawerLogsDouble, RestoreScript, drawer_logs_double, restore_log, trpc_error

pytestmark = pytest.mark.anyio

FILE = "postgres-override-wireless-transmitter-d7shf2/daily/2026-12-04T19-03-11-716Z.sql.gz"
COMPOSE_FILE = "compose-synthesize-neural-monitor-4v9p11_db/nightly/2026-12-04T19-02-34-950Z.sql.gz"
DATABASE: dict[str, Any] = {
    "backup_type": "database",
    "database_id": "6FnBoyME6lFXeWozVyGcg",
    "database_name": "shop",
    "backup_file": FILE,
    "destination_id": "80d05-0CyDXWvbUzgwPOY",
}
S3_KEYS = ("localsecretkey", "localaccesskey")
QUICK = RestoreLimits(idle_timeout=5, deadline=10, open_timeout=5)


def client_for(double: DrawerLogsDouble, key: str = TEST_API_KEY) -> DokployClient:
    return DokployClient(base_url=double.url, api_key=SecretStr(key), name="main")


async def drain(lines: AsyncIterator[str]) -> tuple[list[str], DokployMCPError | None]:
    """Every line yielded, and the error that ended the iteration (None when it ended cleanly)."""
    seen: list[str] = []
    try:
        async for line in lines:
            seen.append(line)  # noqa: PERF401 - a comprehension would lose the lines read before an error
    except DokployMCPError as exc:
        return seen, exc
    return seen, None


async def restore(
    double: DrawerLogsDouble, limits: RestoreLimits = QUICK, key: str = TEST_API_KEY, **changes: Any
) -> tuple[list[str], DokployMCPError | None]:
    async with client_for(double, key) as dokploy:
        return await drain(dokploy.restore_backup_with_logs(**{**DATABASE, **changes}, limits=limits))


def without_s3_keys(*texts: str) -> bool:
    return not any(secret in text for text in texts for secret in S3_KEYS)


# -- the happy paths --------------------------------------------------------------------------------------------------


async def test_a_database_restore_yields_every_line_in_order_and_ends_cleanly() -> None:
    async with drawer_logs_double(TEST_API_KEY) as double:
        lines, error = await restore(double)

    assert error is None
    expected = restore_log("shop/daily/2026-12-04T19-03-11-716Z.sql.gz")
    assert len(lines) == len(expected)
    assert lines[:2] == expected[:2]
    assert lines[-1] == "Restore completed successfully!"
    # The command line is scrubbed: rclone's S3 keys are masked, the rest is kept.
    assert lines[2].startswith("Executing command: CONTAINER_ID=") and without_s3_keys(*lines)
    assert "--s3-secret-access-key=****" in lines[2]


async def test_the_subscription_is_the_trpc_v11_message_with_a_superjson_input() -> None:
    async with drawer_logs_double(TEST_API_KEY) as double:
        _, error = await restore(double)

    assert error is None
    assert double.headers[0]["x-api-key"] == TEST_API_KEY
    assert double.requests == [
        {
            "id": 1,
            "method": "subscription",
            "params": {
                "path": "backup.restoreBackupWithLogs",
                "input": {
                    "json": {
                        "databaseId": "6FnBoyME6lFXeWozVyGcg",
                        "databaseType": "postgres",
                        "backupType": "database",
                        "databaseName": "shop",
                        "backupFile": FILE,
                        "destinationId": "80d05-0CyDXWvbUzgwPOY",
                    }
                },
            },
        }
    ]
    # The client closes the socket itself once Dokploy said "stopped".
    await double.finished.wait()
    assert double.closes == [1000]


async def test_a_compose_restore_sends_the_service_and_role_as_metadata() -> None:
    async with drawer_logs_double(TEST_API_KEY) as double:
        _, error = await restore(
            double,
            backup_type="compose",
            database_id="Atph6EBJkRF5FiAkZFxlI",
            database_name="postgres",
            backup_file=COMPOSE_FILE,
            service_name="db",
            database_user="supabase_admin",
        )

    assert error is None
    assert double.inputs[0]["backupType"] == "compose"
    assert double.inputs[0]["metadata"] == {"serviceName": "db", "postgres": {"databaseUser": "supabase_admin"}}


async def test_keepalives_and_messages_of_other_ids_are_skipped() -> None:
    frames: list[str | bytes] = [
        "PONG",
        json.dumps({"id": 7, "result": {"type": "data", "data": {"json": "not ours"}}}),
        json.dumps({"id": 1, "result": {"type": "data", "data": {"json": "ours"}}}),
    ]
    async with drawer_logs_double(TEST_API_KEY, RestoreScript(raw_frames=frames)) as double:
        lines, error = await restore(double)

    assert error is None
    assert lines[0] == "ours" and "not ours" not in lines


async def test_a_consumer_that_stops_early_closes_the_socket() -> None:
    async with drawer_logs_double(TEST_API_KEY, RestoreScript(pause=0.05)) as double:
        async with client_for(double) as dokploy:
            stream = dokploy.restore_backup_with_logs(**DATABASE, limits=QUICK)
            async for _line in stream:
                break
            await stream.aclose()
        await double.finished.wait()

    assert double.closes == [1000]


def test_the_websocket_url_follows_the_scheme_and_keeps_a_path_prefix() -> None:
    assert websocket_url("http://127.0.0.1:3000") == "ws://127.0.0.1:3000/drawer-logs"
    assert websocket_url("https://dokploy.example.com/") == "wss://dokploy.example.com/drawer-logs"
    assert websocket_url("https://example.com/dokploy") == "wss://example.com/dokploy/drawer-logs"


# -- Dokploy reports a failure --------------------------------------------------------------------------------------


async def test_a_failure_that_dokploy_logs_raises_after_the_lines_without_the_s3_keys() -> None:
    script = RestoreScript(lines=restore_log(FILE, ok=False))
    async with drawer_logs_double(TEST_API_KEY, script) as double:
        lines, error = await restore(double)

    assert isinstance(error, DokployRestoreError)
    assert len(lines) == 5 and lines[-1].startswith("Error: Command failed:")
    assert "not appear to be a valid archive" in str(error)
    assert error.last_lines[-1].endswith("input file does not appear to be a valid archive")
    assert without_s3_keys(*lines, str(error), repr(error), explain(error), *error.last_lines)


async def test_a_stream_that_ends_without_the_success_line_is_a_failure() -> None:
    async with drawer_logs_double(TEST_API_KEY, RestoreScript(lines=["Starting restore..."])) as double:
        lines, error = await restore(double)

    assert lines == ["Starting restore..."]
    assert isinstance(error, DokployRestoreError)
    assert "without Dokploy reporting" in str(error)


async def test_an_error_before_the_start_is_mapped_like_its_rest_twin() -> None:
    missing = trpc_error("NOT_FOUND", "Destination not found")
    async with drawer_logs_double(TEST_API_KEY, RestoreScript(error_before_start=missing)) as double:
        lines, error = await restore(double)

    assert lines == []
    assert isinstance(error, DokployNotFoundError)
    assert (error.status, error.code, error.path) == (404, "NOT_FOUND", "/backup.restoreBackupWithLogs")
    assert error.message == "Destination not found"


async def test_an_error_inside_the_generator_ends_the_stream_after_its_lines() -> None:
    forbidden = trpc_error("FORBIDDEN", "You are not allowed to restore --s3-secret-access-key=localsecretkey")
    script = RestoreScript(lines=["Starting restore..."], error_after_lines=forbidden)
    async with drawer_logs_double(TEST_API_KEY, script) as double:
        lines, error = await restore(double)

    assert lines == ["Starting restore..."]
    assert isinstance(error, DokployAuthError) and error.status == 403
    assert without_s3_keys(str(error), error.message)


async def test_an_input_the_server_refuses_is_a_validation_error_with_its_fields() -> None:
    # The client's own checks pass; the double holds one more rule, as a newer Dokploy might.
    zod = {"formErrors": [], "fieldErrors": {"databaseName": ["Database name may only contain letters"]}}
    refused = trpc_error("BAD_REQUEST", "Input validation failed", zod=zod)
    async with drawer_logs_double(TEST_API_KEY, RestoreScript(error_before_start=refused)) as double:
        _, error = await restore(double)

    assert isinstance(error, DokployValidationError)
    assert error.field_errors == {"databaseName": ["Database name may only contain letters"]}


# -- the key -----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("auth_failure", "code", "path"),
    [
        # drawer-logs.ts closes without a status; the socket was never subscribed.
        ("close", None, "/drawer-logs"),
        # protectedProcedure's UNAUTHORIZED reached the client before the close.
        ("error-then-close", "UNAUTHORIZED", "/backup.restoreBackupWithLogs"),
    ],
)
async def test_a_refused_key_is_an_auth_error(auth_failure: Any, code: str | None, path: str) -> None:
    async with drawer_logs_double(TEST_API_KEY, auth_failure=auth_failure) as double:
        lines, error = await restore(double, key="wrong-key-000000")

    assert lines == []
    assert isinstance(error, DokployAuthError)
    assert (error.status, error.code, error.path) == (401, code, path)
    assert "wrong-key-000000" not in str(error)


@pytest.mark.parametrize(("status", "kind"), [(401, DokployAuthError), (404, DokployNotFoundError)])
async def test_an_upgrade_refused_with_an_http_status_is_mapped_by_status(
    status: int, kind: type[DokployAPIError]
) -> None:
    async with drawer_logs_double(TEST_API_KEY, reject_upgrade=status) as double:
        _, error = await restore(double)

    assert type(error) is kind
    assert isinstance(error, DokployAPIError) and error.status == status


async def test_a_server_that_is_not_there_is_a_transport_error() -> None:
    async with drawer_logs_double(TEST_API_KEY) as double:
        port = double.port
    dokploy = DokployClient(base_url=f"http://127.0.0.1:{port}", api_key=SecretStr(TEST_API_KEY))
    async with dokploy:
        _, error = await drain(dokploy.restore_backup_with_logs(**DATABASE, limits=QUICK))

    assert isinstance(error, DokployTransportError)


# -- broken connections and limits -------------------------------------------------------------------------------------


async def test_an_abrupt_close_mid_stream_keeps_the_last_lines_and_warns_it_may_still_run() -> None:
    script = RestoreScript(lines=["Starting restore...", f"Backup path: {FILE}"], end="abort")
    async with drawer_logs_double(TEST_API_KEY, script) as double:
        lines, error = await restore(double)

    assert lines == ["Starting restore...", f"Backup path: {FILE}"]
    assert isinstance(error, DokployRestoreError)
    assert error.close_code == 1006
    assert error.last_lines == ("Starting restore...", f"Backup path: {FILE}")
    assert "may still be running" in str(error)


async def test_a_close_frame_with_a_code_mid_stream_is_a_restore_error_with_that_code() -> None:
    async with drawer_logs_double(TEST_API_KEY, RestoreScript(lines=["Starting restore..."], end="close")) as double:
        _, error = await restore(double)

    assert isinstance(error, DokployRestoreError) and error.close_code == 1011


async def test_silence_longer_than_the_idle_timeout_is_a_timeout() -> None:
    script = RestoreScript(lines=["Starting restore..."], end="silence")
    async with drawer_logs_double(TEST_API_KEY, script) as double:
        lines, error = await restore(double, limits=RestoreLimits(idle_timeout=0.3, deadline=10))

    assert lines == ["Starting restore..."]
    assert isinstance(error, DokployTimeoutError) and error.timeout == 0.3


async def test_a_stream_that_never_ends_stops_at_the_deadline() -> None:
    script = RestoreScript(lines=["tick"] * 100, pause=0.05)
    async with drawer_logs_double(TEST_API_KEY, script) as double:
        lines, error = await restore(double, limits=RestoreLimits(idle_timeout=5, deadline=0.4))

    assert isinstance(error, DokployTimeoutError) and error.timeout == 0.4
    assert 0 < len(lines) < 100


async def test_a_message_larger_than_the_cap_is_a_protocol_error() -> None:
    script = RestoreScript(lines=["Starting restore...", "x" * 4096])
    async with drawer_logs_double(TEST_API_KEY, script) as double:
        lines, error = await restore(double, limits=RestoreLimits(max_message_bytes=1024, idle_timeout=5))

    assert lines == ["Starting restore..."]
    assert isinstance(error, DokployProtocolError) and "1024 bytes" in str(error)


async def test_more_lines_than_the_cap_is_a_protocol_error() -> None:
    async with drawer_logs_double(TEST_API_KEY, RestoreScript(lines=["line"] * 10)) as double:
        lines, error = await restore(double, limits=RestoreLimits(max_lines=3, idle_timeout=5))

    assert lines == ["line"] * 3
    assert isinstance(error, DokployProtocolError) and "3 log lines" in str(error)


@pytest.mark.parametrize("frame", [b"\x00binary", "not json {", "[1, 2]", json.dumps({"id": 1, "result": 5})])
async def test_a_frame_that_is_not_trpc_is_a_protocol_error(frame: str | bytes) -> None:
    async with drawer_logs_double(TEST_API_KEY, RestoreScript(raw_frames=[frame])) as double:
        _, error = await restore(double)

    assert isinstance(error, DokployProtocolError)


# -- what is refused before any connection -----------------------------------------------------------------------------

HOSTILE = [
    ("backup_file", "../../etc/passwd"),
    ("backup_file", "shop/../../x.sql.gz"),
    ("backup_file", "/abs/x.sql.gz"),
    ("backup_file", "-rf.sql.gz"),
    ("backup_file", "shop//x.sql.gz"),
    ("backup_file", 'x.sql.gz"; rm -rf / #'),
    ("backup_file", "$(id).sql.gz"),
    ("backup_file", "`id`.sql.gz"),
    ("backup_file", "a b.sql.gz"),
    ("backup_file", "x.sql.gz\nrm -rf /"),
    ("backup_file", ""),
    ("database_name", "shop; DROP DATABASE shop"),
    ("database_name", "$(reboot)"),
    ("database_name", "1shop"),
    ("database_name", "shop-db"),
    ("database_name", "a" * 64),
    ("database_name", ""),
    ("database_id", "x' || 'y"),
    ("destination_id", ""),
]


@pytest.mark.parametrize(("field", "value"), HOSTILE)
async def test_a_hostile_value_is_refused_before_connecting(field: str, value: str) -> None:
    async with drawer_logs_double(TEST_API_KEY) as double, client_for(double) as dokploy:
        with pytest.raises(InputError) as refused:
            dokploy.restore_backup_with_logs(**{**DATABASE, field: value})

    assert refused.value.field == field
    assert double.connections == 0


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"service_name": "db;id", "database_user": "postgres"}, "service_name"),
        ({"service_name": "db", "database_user": "postgres -c 'x'"}, "database_user"),
        ({"service_name": None, "database_user": "postgres"}, "service_name"),
        ({"service_name": "db", "database_user": None}, "database_user"),
    ],
)
async def test_a_compose_restore_needs_a_plain_service_and_role(changes: dict[str, Any], field: str) -> None:
    async with drawer_logs_double(TEST_API_KEY) as double, client_for(double) as dokploy:
        with pytest.raises(InputError) as refused:
            dokploy.restore_backup_with_logs(**{**DATABASE, "backup_type": "compose", **changes})

    assert refused.value.field == field
    assert double.connections == 0


async def test_a_database_restore_refuses_compose_only_fields() -> None:
    async with drawer_logs_double(TEST_API_KEY) as double, client_for(double) as dokploy:
        with pytest.raises(InputError) as refused:
            dokploy.restore_backup_with_logs(**DATABASE, service_name="db")

    assert refused.value.field == "service_name"


# -- secrets ----------------------------------------------------------------------------------------------------------


async def test_lines_are_scrubbed_of_a_registered_secret_and_nothing_leaks_into_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "registered-Secret-4711-restore"
    redact.remember(secret)
    script = RestoreScript(lines=[f"pg_restore: connecting with {secret}", *restore_log(FILE)])
    caplog.set_level(logging.DEBUG)
    async with drawer_logs_double(TEST_API_KEY, script) as double:
        lines, error = await restore(double)

    assert error is None
    assert lines[0] == f"pg_restore: connecting with {redact.MASK}"
    records = [logging.Formatter().format(record) for record in caplog.records]
    for text in [*lines, *records]:
        assert secret not in text and TEST_API_KEY not in text and without_s3_keys(text)
