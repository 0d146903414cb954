"""The backup, destination, volume-backup and backup-run endpoints against the real Dokploy v0.30.2 recordings, and
the S3 keys Dokploy echoes in its errors kept out of every exception, explanation and log record."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from dokploy_mcp import redact
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.errors import DokployAPIError, DokployError
from dokploy_mcp.dokploy.models import Backup
from dokploy_mcp.errors import InputError
from dokploy_mcp.explain import explain
from tests.dokploy.openapi_contract import request_problems
from tests.dokploy.recordings import Recording, all_names, load, replay
from tests.dokploy.test_replay import assert_matches

pytestmark = pytest.mark.anyio

Call = Callable[[DokployClient, Recording], Awaitable[Any]]


def _q(recording: Recording) -> dict[str, Any]:
    return recording.query or {}


def _b(recording: Recording) -> dict[str, Any]:
    assert isinstance(recording.body, dict)
    return recording.body


def _list_files(c: DokployClient, r: Recording) -> Awaitable[Any]:
    return c.backup_list_backup_files(_q(r)["destinationId"], _q(r)["search"], server_id=_q(r).get("serverId"))


def _destination_fields(r: Recording) -> dict[str, Any]:
    b = _b(r)
    return {
        "name": b["name"],
        "provider": b["provider"],
        "access_key": b["accessKey"],
        "secret_access_key": SecretStr(b["secretAccessKey"]),
        "bucket": b["bucket"],
        "region": b["region"],
        "endpoint": b["endpoint"],
        "additional_flags": b["additionalFlags"],
    }


def _test_connection(c: DokployClient, r: Recording) -> Awaitable[Any]:
    return c.destination_test_connection(**_destination_fields(r))


def _create_postgres_backup(c: DokployClient, r: Recording) -> Awaitable[Any]:
    b = _b(r)
    return c.backup_create_postgres(
        postgres_id=b["postgresId"],
        destination_id=b["destinationId"],
        schedule=b["schedule"],
        prefix=b["prefix"],
        database=b["database"],
        enabled=b["enabled"],
        keep_latest_count=b["keepLatestCount"],
    )


def _create_volume_backup(c: DokployClient, r: Recording) -> Awaitable[Any]:
    b = _b(r)
    return c.volume_backups_create(
        compose_id=b["composeId"],
        service_name=b["serviceName"],
        volume_name=b["volumeName"],
        name=b["name"],
        prefix=b["prefix"],
        cron_expression=b["cronExpression"],
        destination_id=b["destinationId"],
        turn_off=b["turnOff"],
        keep_latest_count=b["keepLatestCount"],
        enabled=b["enabled"],
    )


def _runs(c: DokployClient, r: Recording) -> Awaitable[Any]:
    return c.deployment_all_by_type(_q(r)["id"], _q(r)["type"])


def _volume_backups(c: DokployClient, r: Recording) -> Awaitable[Any]:
    return c.volume_backups_list(_q(r)["id"], _q(r)["volumeBackupType"])


def _volume_backup(c: DokployClient, r: Recording) -> Awaitable[Any]:
    return c.volume_backups_one(_q(r)["volumeBackupId"])


def _run_volume_backup(c: DokployClient, r: Recording) -> Awaitable[Any]:
    return c.volume_backups_run_manually(_b(r)["volumeBackupId"])


REPLAYS: dict[str, Call] = {
    "backup.manualBackupPostgres--done": lambda c, r: c.backup_manual_backup_postgres(_b(r)["backupId"]),
    "backup.create--postgres-database": _create_postgres_backup,
    "backup.listBackupFiles": _list_files,
    "backup.listBackupFiles--after-retention": _list_files,
    "backup.listBackupFiles--bucket-root": _list_files,
    "backup.listBackupFiles--name-prefix": _list_files,
    "backup.listBackupFiles--postgres-database": _list_files,
    "backup.listBackupFiles--volume-backup": _list_files,
    "destination.testConnection--moto-s3": _test_connection,
    "deployment.allByType--backup": _runs,
    "deployment.allByType--backup-done": _runs,
    "deployment.allByType--backup-postgres-three-runs": _runs,
    "deployment.allByType--compose": _runs,
    "deployment.allByType--schedule": _runs,
    "deployment.allByType--volumeBackup": _runs,
    "deployment.allByType--volumeBackup-done": _runs,
    "volumeBackups.create": _create_volume_backup,
    "volumeBackups.create--moto-s3": _create_volume_backup,
    "volumeBackups.list": _volume_backups,
    "volumeBackups.list--moto-s3": _volume_backups,
    "volumeBackups.one": _volume_backup,
    "volumeBackups.one--after-run": _volume_backup,
    "volumeBackups.runManually": _run_volume_backup,
    "volumeBackups.runManually--moto-s3": _run_volume_backup,
    "volumeBackups.runManually--turn-off": _run_volume_backup,
    "volumeBackups.delete": lambda c, r: c.volume_backups_delete(_b(r)["volumeBackupId"]),
}
#: Methods whose recorded answer is an empty body (or a plain value): what they return instead of a model.
RETURNS = {
    "backup.manualBackupPostgres--done": True,
    "backup.create--postgres-database": None,
    "destination.testConnection--moto-s3": None,
    "volumeBackups.runManually": None,
    "volumeBackups.runManually--moto-s3": None,
    "volumeBackups.runManually--turn-off": None,
    "volumeBackups.delete": None,
}


@pytest.mark.parametrize("name", sorted(REPLAYS))
async def test_the_method_sends_the_recorded_request_and_returns_the_recorded_values(
    name: str, router: respx.MockRouter, client: DokployClient
) -> None:
    mounted = replay(router, name)

    result = await REPLAYS[name](client, mounted.recording)

    mounted.assert_request_matches()
    assert request_problems(mounted.request) == []
    if name in RETURNS:
        assert result == RETURNS[name]
    else:
        assert_matches(result, mounted.recording.response_body)


def test_every_successful_recording_of_these_routes_is_replayed() -> None:
    paths = {load(name).path for name in REPLAYS}
    successes = {name for name in all_names() if load(name).path in paths and load(name).status < 400}
    # backup.create's compose recordings belong to backup_create (tests/dokploy/test_replay.py).
    assert successes - set(REPLAYS) == {"backup.create", "backup.create--compose-postgres-moto"}


async def test_the_bucket_listing_keeps_folders_and_rclone_fields(
    router: respx.MockRouter, client: DokployClient
) -> None:
    replay(router, "backup.listBackupFiles--bucket-root")

    [folder] = await client.backup_list_backup_files("80d05-0CyDXWvbUzgwPOY", "/")

    assert folder.is_dir and folder.size == 0 and folder.tier is None
    assert folder.path == "compose-synthesize-neural-monitor-4v9p11_db"


async def test_an_empty_search_is_refused_before_sending(client: DokployClient) -> None:
    # Dokploy's REST adapter reads "search=" as a missing field (backup.listBackupFiles--empty-search answers 400).
    assert load("backup.listBackupFiles--empty-search").status == 400

    with pytest.raises(InputError) as refused:
        await client.backup_list_backup_files("80d05-0CyDXWvbUzgwPOY", "")

    assert refused.value.field == "search"
    assert "'/'" in explain(refused.value)


async def test_the_volume_backup_keeps_none_of_the_nested_compose_env(
    router: respx.MockRouter, client: DokployClient
) -> None:
    mounted = replay(router, "volumeBackups.one")
    assert "SECRET=s3cr3t" in json.dumps(mounted.recording.response_body)

    volume_backup = await client.volume_backups_one("x2lXrIOcN9SW5NXiR53d-")

    assert "s3cr3t" not in repr(volume_backup) and "s3cr3t" not in volume_backup.model_dump_json()


# -- backup.update: every required field, from the current state -------------------------------------------------------


def _current_backup() -> Backup:
    return Backup.model_validate(load("backup.one--postgres-database").response_body)


def _sent_update(router: respx.MockRouter) -> respx.Route:
    return router.post("/api/backup.update").mock(return_value=httpx.Response(200, content=b""))


async def test_an_update_sends_every_required_field_with_the_changes(
    router: respx.MockRouter, client: DokployClient
) -> None:
    route = _sent_update(router)
    current = _current_backup()

    await client.backup_update(current, schedule="30 1 * * *", keep_latest_count=7)

    request = route.calls.last.request
    assert request_problems(request) == []
    assert json.loads(request.content) == {
        "backupId": "r4Sja2sVwty2VW2PbN_HC",
        "schedule": "30 1 * * *",
        "enabled": True,
        "prefix": "daily",
        "destinationId": "80d05-0CyDXWvbUzgwPOY",
        "database": "shop",
        "keepLatestCount": 7,
        "serviceName": None,
        "metadata": None,
        "databaseType": "postgres",
    }


async def test_an_update_keeps_the_count_unless_told_and_none_keeps_every_file(
    router: respx.MockRouter, client: DokployClient
) -> None:
    route = _sent_update(router)
    current = _current_backup()

    await client.backup_update(current, enabled=False)
    kept = json.loads(route.calls.last.request.content)
    await client.backup_update(current, keep_latest_count=None)
    cleared = json.loads(route.calls.last.request.content)

    assert (kept["enabled"], kept["keepLatestCount"]) == (False, 2)
    assert (cleared["enabled"], cleared["keepLatestCount"]) == (True, None)


async def test_an_update_of_a_backup_without_its_required_fields_is_refused(client: DokployClient) -> None:
    with pytest.raises(InputError) as refused:
        await client.backup_update(Backup(backup_id="b-1", schedule="0 3 * * *"))

    assert refused.value.field == "backup"


# -- the S3 keys Dokploy echoes in its errors --------------------------------------------------------------------------

ECHOING_ERRORS: dict[str, tuple[Call, tuple[str, ...]]] = {
    "backup.manualBackupPostgres--missing-bucket": (
        lambda c, r: c.backup_manual_backup_postgres(_b(r)["backupId"]),
        ("localsecretkey", "localaccesskey"),
    ),
    "destination.testConnection--missing-bucket": (_test_connection, ("localsecretkey", "localaccesskey")),
    "destination.testConnection--aws-provider-virtual-host": (_test_connection, ("localsecretkey", "localaccesskey")),
    "destination.testConnection--unreachable": (_test_connection, ("fake-secret-key-for-fixtures", "AKIAFAKEFIXTURE")),
}


@pytest.mark.parametrize("name", sorted(ECHOING_ERRORS))
async def test_the_s3_keys_of_an_echoed_command_reach_no_error_text_and_no_log_record(
    name: str, router: respx.MockRouter, client: DokployClient, caplog: pytest.LogCaptureFixture
) -> None:
    call, secrets = ECHOING_ERRORS[name]
    mounted = replay(router, name)
    message = mounted.recording.response_body["message"]
    # The recording does hold the keys in clear: the test would prove nothing otherwise.
    assert all(secret in message for secret in secrets)
    caplog.set_level(logging.DEBUG)

    with pytest.raises(DokployAPIError) as raised:
        await call(client, mounted.recording)
    error = raised.value
    # What the tool boundary does with an unexpected failure: log it with its traceback.
    logging.getLogger("tests.backup_endpoints").error("the call failed", exc_info=error)

    assert (error.status, error.code) == (400, "BAD_REQUEST")
    assert "Command failed" in error.message  # the useful part stays
    texts = [str(error), repr(error), error.message, explain(error), *map(logging.Formatter().format, caplog.records)]
    leaks = [(secret, text[:80]) for text in texts for secret in secrets if secret in text]
    assert leaks == []


async def test_a_tested_destination_secret_is_masked_wherever_it_shows_up_later(
    router: respx.MockRouter, client: DokployClient
) -> None:
    mounted = replay(router, "destination.testConnection--moto-s3")
    secret = "registered-only-by-the-test-9f3a"

    await client.destination_test_connection(
        **{**_destination_fields(mounted.recording), "secret_access_key": SecretStr(secret)}
    )

    assert redact.scrub(f"AWS said: <SecretAccessKey>{secret}</SecretAccessKey>") == (
        f"AWS said: <SecretAccessKey>{redact.MASK}</SecretAccessKey>"
    )


async def test_a_failed_connection_test_is_an_api_error_whose_cause_stays_readable(
    router: respx.MockRouter, client: DokployClient
) -> None:
    mounted = replay(router, "destination.testConnection--missing-bucket")

    with pytest.raises(DokployError) as raised:
        await _test_connection(client, mounted.recording)

    assert "directory not found" in str(raised.value)
