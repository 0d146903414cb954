"""Every typed method against the real recordings: the request it sends equals the recorded one, and what it
returns holds the recorded values (read from the recording, field by field)."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest
import respx
from pydantic import BaseModel, SecretStr

from dokploy_mcp.dokploy.client import DokployClient
from tests.dokploy.conftest import ClientFactory
from tests.dokploy.recordings import Recording, all_names, load, replay

pytestmark = pytest.mark.anyio

Call = Callable[[DokployClient, Recording], Awaitable[Any]]


def _q(recording: Recording) -> dict[str, Any]:
    return recording.query or {}


def _b(recording: Recording) -> dict[str, Any]:
    body = recording.body
    assert isinstance(body, dict)
    return body


def _template_parts(recording: Recording) -> tuple[str, str, str]:
    """compose id, docker-compose.yml and template.toml, decoded from the recorded ``base64`` input."""
    decoded = json.loads(base64.b64decode(_b(recording)["base64"]))
    return _b(recording)["composeId"], decoded["compose"], decoded["config"]


async def _import(c: DokployClient, r: Recording) -> Any:
    return await c.compose_import_template(*_template_parts(r))


async def _process(c: DokployClient, r: Recording) -> Any:
    return await c.compose_process_template(*_template_parts(r))


def _compose_create(c: DokployClient, r: Recording) -> Awaitable[Any]:
    b = _b(r)
    return c.compose_create(
        b["name"],
        b["environmentId"],
        description=b.get("description"),
        compose_type=b["composeType"],
        source_type=b["sourceType"],
        compose_file=b.get("composeFile"),
    )


def _domain_create(c: DokployClient, r: Recording) -> Awaitable[Any]:
    b = _b(r)
    return c.domain_create(
        host=b["host"],
        compose_id=b["composeId"],
        service_name=b["serviceName"],
        port=b["port"],
        https=b["https"],
        certificate_type=b["certificateType"],
        path=b["path"],
    )


def _domain_update(c: DokployClient, r: Recording) -> Awaitable[Any]:
    b = _b(r)
    return c.domain_update(
        b["domainId"],
        host=b["host"],
        https=b["https"],
        certificate_type=b["certificateType"],
        service_name=b["serviceName"],
        port=b["port"],
        path=b["path"],
    )


def _destination_create(c: DokployClient, r: Recording) -> Awaitable[Any]:
    b = _b(r)
    return c.destination_create(
        name=b["name"],
        provider=b["provider"],
        access_key=b["accessKey"],
        secret_access_key=SecretStr(b["secretAccessKey"]),
        bucket=b["bucket"],
        region=b["region"],
        endpoint=b["endpoint"],
        additional_flags=b["additionalFlags"],
    )


def _backup_create(c: DokployClient, r: Recording) -> Awaitable[Any]:
    b = _b(r)
    return c.backup_create(
        compose_id=b["composeId"],
        service_name=b["serviceName"],
        destination_id=b["destinationId"],
        schedule=b["schedule"],
        prefix=b["prefix"],
        database=b["database"],
        database_user=b["metadata"]["postgres"]["databaseUser"],
        enabled=b["enabled"],
        keep_latest_count=b["keepLatestCount"],
    )


def _compose_one(c: DokployClient, r: Recording) -> Awaitable[Any]:
    return c.compose_one(_q(r)["composeId"])


def _all_by_compose(c: DokployClient, r: Recording) -> Awaitable[Any]:
    return c.deployment_all_by_compose(_q(r)["composeId"])


def _read_deployment_logs(c: DokployClient, r: Recording) -> Awaitable[Any]:
    return c.deployment_read_logs(_q(r)["deploymentId"], tail=_q(r).get("tail"))


def _containers(c: DokployClient, r: Recording) -> Awaitable[Any]:
    q = _q(r)
    return c.docker_get_containers_by_app_name_match(q["appName"], app_type=q.get("appType"))


def _project_all(c: DokployClient, r: Recording) -> Awaitable[Any]:
    return c.project_all()


def _domains_of_compose(c: DokployClient, r: Recording) -> Awaitable[Any]:
    return c.domain_by_compose_id(_q(r)["composeId"])


def _environment_one(c: DokployClient, r: Recording) -> Awaitable[Any]:
    return c.environment_one(_q(r)["environmentId"])


def _compose_deploy(c: DokployClient, r: Recording) -> Awaitable[Any]:
    b = _b(r)
    return c.compose_deploy(b["composeId"], title=b.get("title"), description=b.get("description"))


def _compose_update(c: DokployClient, r: Recording) -> Awaitable[Any]:
    b = _b(r)
    return c.compose_update(b["composeId"], env=b.get("env"), compose_file=b.get("composeFile"))


def _compose_delete(c: DokployClient, r: Recording) -> Awaitable[Any]:
    return c.compose_delete(_b(r)["composeId"], delete_volumes=_b(r)["deleteVolumes"])


def _read_compose_logs(c: DokployClient, r: Recording) -> Awaitable[Any]:
    q = _q(r)
    return c.compose_read_logs(
        q["composeId"], q["containerId"], tail=q.get("tail"), since=q.get("since"), search=q.get("search")
    )


REPLAYS: dict[str, Call] = {
    "health--fresh": lambda c, r: c.health(),
    "settings.health": lambda c, r: c.settings_health(),
    "settings.getDokployVersion": lambda c, r: c.settings_get_dokploy_version(),
    "settings.getIp": lambda c, r: c.settings_get_ip(),
    "settings.getWebServerSettings": lambda c, r: c.settings_get_web_server_settings(),
    "user.get": lambda c, r: c.user_get(),
    "user.get--session": lambda c, r: c.user_get(),
    "auth.sign-up.email": lambda c, r: c.auth_sign_up_email(
        email=_b(r)["email"], password=SecretStr(_b(r)["password"]), name=_b(r)["name"], last_name=_b(r)["lastName"]
    ),
    "auth.sign-in.email": lambda c, r: c.auth_sign_in_email(
        email=_b(r)["email"], password=SecretStr(_b(r)["password"])
    ),
    "user.createApiKey": lambda c, r: c.user_create_api_key(
        name=_b(r)["name"], organization_id=_b(r)["metadata"]["organizationId"]
    ),
    "project.all--after-remove": _project_all,
    "project.all--bootstrap-key": _project_all,
    "project.all--empty": _project_all,
    "project.all--full": _project_all,
    "project.all--populated": _project_all,
    "project.all--rate-limited-key-first-call": _project_all,
    "project.all--with-services": _project_all,
    "project.one": lambda c, r: c.project_one(_q(r)["projectId"]),
    "project.create": lambda c, r: c.project_create(_b(r)["name"], _b(r)["description"], env=_b(r)["env"]),
    "project.update": lambda c, r: c.project_update(
        _b(r)["projectId"], description=_b(r)["description"], env=_b(r)["env"]
    ),
    "project.remove": lambda c, r: c.project_remove(_b(r)["projectId"]),
    "environment.one": _environment_one,
    "environment.one--after-cleanup": _environment_one,
    "environment.one--with-services": _environment_one,
    "environment.byProjectId": lambda c, r: c.environment_by_project_id(_q(r)["projectId"]),
    "compose.create--raw": _compose_create,
    "compose.create--supabase": _compose_create,
    "compose.one--before-deploy": _compose_one,
    "compose.one--failed-deploy-error": _compose_one,
    "compose.one--failed-deploy-running": _compose_one,
    "compose.one--first-deploy-done": _compose_one,
    "compose.one--first-deploy-running": _compose_one,
    "compose.one--redeploy-done": _compose_one,
    "compose.one--redeploy-running": _compose_one,
    "compose.one--stopped": _compose_one,
    "compose.one--supabase-imported": _compose_one,
    "compose.one--supabase-with-backup": _compose_one,
    "compose.update": _compose_update,
    "compose.update--bad-image": _compose_update,
    "compose.import--supabase": _import,
    "compose.processTemplate--supabase": _process,
    "compose.templates--offline": lambda c, r: c.compose_templates(),
    "compose.deploy": _compose_deploy,
    "compose.deploy--bad-image": _compose_deploy,
    "compose.redeploy": lambda c, r: c.compose_redeploy(_b(r)["composeId"], title=_b(r)["title"]),
    "compose.stop": lambda c, r: c.compose_stop(_b(r)["composeId"]),
    "compose.start": lambda c, r: c.compose_start(_b(r)["composeId"]),
    "compose.delete": _compose_delete,
    "compose.delete--supabase": _compose_delete,
    "compose.saveEnvironment": lambda c, r: c.compose_save_environment(_b(r)["composeId"], _b(r)["env"]),
    "compose.loadServices--fetch": lambda c, r: c.compose_load_services(_q(r)["composeId"], _q(r)["type"]),
    "compose.readLogs": _read_compose_logs,
    "compose.readLogs--since-search": _read_compose_logs,
    "deployment.allByCompose--empty": _all_by_compose,
    "deployment.allByCompose--failed-deploy-error": _all_by_compose,
    "deployment.allByCompose--failed-deploy-running": _all_by_compose,
    "deployment.allByCompose--first-deploy-done": _all_by_compose,
    "deployment.allByCompose--first-deploy-running": _all_by_compose,
    "deployment.allByCompose--redeploy-done": _all_by_compose,
    "deployment.allByCompose--redeploy-running": _all_by_compose,
    "deployment.readLogs": _read_deployment_logs,
    "deployment.readLogs--application": _read_deployment_logs,
    "deployment.readLogs--backup-error": _read_deployment_logs,
    "deployment.readLogs--failed-deploy": _read_deployment_logs,
    "deployment.readLogs--volume-backup-error": _read_deployment_logs,
    "domain.create": _domain_create,
    "domain.byComposeId": _domains_of_compose,
    "domain.byComposeId--empty": _domains_of_compose,
    "domain.byComposeId--supabase": _domains_of_compose,
    "domain.one": lambda c, r: c.domain_one(_q(r)["domainId"]),
    "domain.update": _domain_update,
    "domain.delete": lambda c, r: c.domain_delete(_b(r)["domainId"]),
    "domain.generateDomain": lambda c, r: c.domain_generate_domain(_b(r)["appName"]),
    "docker.getContainersByAppNameMatch": _containers,
    "docker.getContainersByAppNameMatch--after-delete": _containers,
    "docker.getContainersByAppNameMatch--after-start": _containers,
    "docker.getContainersByAppNameMatch--no-apptype": _containers,
    "docker.getContainersByAppNameMatch--stopped": _containers,
    "destination.create": _destination_create,
    "destination.all": lambda c, r: c.destination_all(),
    "destination.all--empty": lambda c, r: c.destination_all(),
    "destination.one": lambda c, r: c.destination_one(_q(r)["destinationId"]),
    "destination.remove": lambda c, r: c.destination_remove(_b(r)["destinationId"]),
    "backup.create": _backup_create,
    "backup.one": lambda c, r: c.backup_one(_q(r)["backupId"]),
    "backup.remove": lambda c, r: c.backup_remove(_b(r)["backupId"]),
    # recorded later (destinations on moto's S3, backups of a compose's postgres and of a postgres service, schedules,
    # volume backups, a compose v2 deploy log): the same typed routes
    "backup.create--compose-postgres-moto": _backup_create,
    "backup.one--compose-postgres-after-run": lambda c, r: c.backup_one(_q(r)["backupId"]),
    "backup.one--compose-postgres-before-run": lambda c, r: c.backup_one(_q(r)["backupId"]),
    "backup.one--postgres-database": lambda c, r: c.backup_one(_q(r)["backupId"]),
    "compose.create--postgres-db": _compose_create,
    "compose.delete--with-backup": _compose_delete,
    "compose.one--postgres-db-done": _compose_one,
    "deployment.readLogs--backup-done": _read_deployment_logs,
    "deployment.readLogs--backup-missing-bucket": _read_deployment_logs,
    "deployment.readLogs--compose-v2": _read_deployment_logs,
    "deployment.readLogs--schedule": _read_deployment_logs,
    "deployment.readLogs--schedule-error": _read_deployment_logs,
    "deployment.readLogs--volume-backup-done": _read_deployment_logs,
    "deployment.readLogs--volume-backup-turn-off": _read_deployment_logs,
    "destination.create--moto-s3": _destination_create,
    "destination.one--moto-s3": lambda c, r: c.destination_one(_q(r)["destinationId"]),
}

# What a method makes of a body that is not a one-to-one copy of its model.
SPECIAL_EXPECTATIONS: dict[str, Callable[[Recording], Any]] = {
    "health--fresh": lambda r: r.response_body["ok"] is True,
    "settings.health": lambda r: r.response_body["status"] == "ok",
    # Empty bodies: the recordings write them as "".
    "settings.getIp": lambda r: "",
    "backup.create": lambda r: None,
    "backup.create--compose-postgres-moto": lambda r: None,
}

# Recordings of the typed routes that cannot be replayed byte for byte, each with the test that covers it.
NOT_REPLAYED = {
    "compose.delete--without-delete-volumes": "test_compose_delete_always_sends_delete_volumes",
    # The client never omits rateLimitEnabled; this recording shows what Dokploy does when it is omitted.
    "user.createApiKey--rate-limit-defaults": "test_api_key_is_created_without_the_default_rate_limit",
    # A backup of a Dokploy postgres service (backupType "database"): replayed by backup_create_postgres's own test.
    "backup.create--postgres-database": (
        "tests/dokploy/test_backup_endpoints.py::test_the_method_sends_the_recorded_request_and_returns_the_recorded_values"
    ),
}

_SERVICE_LISTS = ("applications", "mariadb", "mongo", "mysql", "postgres", "redis", "libsql")


def assert_matches(result: Any, raw: Any, where: str = "$") -> None:
    """Every field of ``result`` holds the recorded value, or its default when the recording lacks the key."""
    if isinstance(result, BaseModel):
        assert isinstance(raw, dict), where
        for name, field in type(result).model_fields.items():
            alias = field.alias or name
            value = getattr(result, name)
            if name == "other_service_count":
                assert value == sum(len(raw.get(key) or []) for key in _SERVICE_LISTS), f"{where}.{name}"
            elif alias in raw:
                assert_matches(value, raw[alias], f"{where}.{alias}")
            else:
                assert value == field.get_default(call_default_factory=True), f"{where}.{alias} absent"
    elif isinstance(result, list):
        assert isinstance(raw, list), where
        assert len(result) == len(raw), where
        for index, (item, raw_item) in enumerate(zip(result, raw, strict=True)):
            assert_matches(item, raw_item, f"{where}[{index}]")
    elif isinstance(result, SecretStr):
        assert result.get_secret_value() == raw, where
    else:
        assert result == raw, where


@pytest.mark.parametrize("name", sorted(REPLAYS))
async def test_typed_method_sends_the_recorded_request_and_returns_the_recorded_values(
    name: str, router: respx.MockRouter, make_client: ClientFactory
) -> None:
    mounted = replay(router, name)
    recording = mounted.recording
    dokploy = make_client(api_key=recording.headers.get("x-api-key"))

    result = await REPLAYS[name](dokploy, recording)

    mounted.assert_request_matches()
    if name in SPECIAL_EXPECTATIONS:
        assert result == SPECIAL_EXPECTATIONS[name](recording)
    else:
        assert_matches(result, recording.response_body)


def test_every_successful_recording_of_a_typed_route_is_replayed() -> None:
    typed_paths = {load(name).path for name in REPLAYS}
    successes = {name for name in all_names() if load(name).path in typed_paths and load(name).status < 400}
    assert successes - set(REPLAYS) - set(NOT_REPLAYED) == set()


async def test_compose_delete_always_sends_delete_volumes(router: respx.MockRouter, client: DokployClient) -> None:
    # The server accepted a delete without deleteVolumes (and kept the volumes); the client never leaves it out.
    mounted = replay(router, "compose.delete--without-delete-volumes")
    recorded_body = _b(mounted.recording)
    assert "deleteVolumes" not in recorded_body

    deleted = await client.compose_delete(recorded_body["composeId"], delete_volumes=False)

    assert json.loads(mounted.request.content) == {**recorded_body, "deleteVolumes": False}
    assert deleted.compose_id == recorded_body["composeId"]


async def test_project_all_counts_services_other_than_compose(router: respx.MockRouter, client: DokployClient) -> None:
    mounted = replay(router, "project.all--full")
    raw_environment = mounted.recording.response_body[0]["environments"][0]

    projects = await client.project_all()

    environment = projects[0].environments[0]
    assert environment.other_service_count == len(raw_environment["applications"]) + len(raw_environment["postgres"])
    assert [c.compose_id for c in environment.compose] == [c["composeId"] for c in raw_environment["compose"]]
    # project.all does not give appName: recognising a Supabase stack needs compose.one.
    assert all(c.app_name is None for c in environment.compose)


async def test_compose_one_exposes_env_and_relations_of_the_supabase_stack(
    router: respx.MockRouter, client: DokployClient
) -> None:
    mounted = replay(router, "compose.one--supabase-with-backup")
    raw = mounted.recording.response_body

    compose = await client.compose_one(raw["composeId"])

    assert compose.env == raw["env"]
    assert "JWT_SECRET=" in (compose.env or "")
    assert compose.environment is not None
    assert compose.environment.project is not None
    assert compose.environment.project.name == raw["environment"]["project"]["name"]
    assert [d.host for d in compose.domains] == [d["host"] for d in raw["domains"]]
    assert [m.file_path for m in compose.mounts] == [m["filePath"] for m in raw["mounts"]]
    backup = compose.backups[0]
    assert backup.service_name == raw["backups"][0]["serviceName"]
    assert backup.deployments[0].status == raw["backups"][0]["deployments"][0]["status"]


async def test_compose_status_follows_a_failed_deploy(router: respx.MockRouter, client: DokployClient) -> None:
    mounted = replay(router, "compose.one--failed-deploy-error")
    raw = mounted.recording.response_body

    compose = await client.compose_one(raw["composeId"])

    assert compose.compose_status == raw["composeStatus"] == "error"
    assert compose.deployments[-1].status == raw["deployments"][-1]["status"]


async def test_api_key_is_created_without_the_default_rate_limit(
    router: respx.MockRouter, client: DokployClient
) -> None:
    defaults = load("user.createApiKey--rate-limit-defaults")
    # Left out, the limit is on: 10 counted requests a day, and a REST call counts twice.
    assert "rateLimitEnabled" not in _b(defaults)
    assert defaults.response_body["rateLimitEnabled"] is True
    assert defaults.response_body["rateLimitMax"] == 10
    mounted = replay(router, "user.createApiKey")

    key = await client.user_create_api_key(name="mcp", organization_id="org-1")

    assert json.loads(mounted.request.content)["rateLimitEnabled"] is False
    assert key.rate_limit_enabled is False


async def test_sign_in_keeps_the_session_cookie_for_the_next_call(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    sign_in = load("auth.sign-in.email")
    router.post(sign_in.path).mock(
        return_value=httpx.Response(
            200,
            json=sign_in.response_body,
            headers=[
                ("set-cookie", "better-auth.session_token=s3ss10n; Max-Age=259200; Path=/; HttpOnly; SameSite=Lax")
            ],
        )
    )
    user_get = replay(router, "user.get--session")
    dokploy = make_client(api_key=None)

    await dokploy.auth_sign_in_email(email=_b(sign_in)["email"], password=SecretStr(_b(sign_in)["password"]))
    member = await dokploy.user_get()

    assert user_get.request.headers["cookie"] == "better-auth.session_token=s3ss10n"
    assert "x-api-key" not in user_get.request.headers
    assert member.organization_id == user_get.recording.response_body["organizationId"]
