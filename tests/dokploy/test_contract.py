"""Contract test: every request any public method of DokployClient can send is valid for Dokploy's OpenAPI document.

The methods are found by introspection: a new method without a contract case fails
``test_every_public_method_has_a_contract_case``, and an optional argument never sent fails
``test_every_optional_argument_is_sent_by_some_case``. Routes that are not tRPC procedures, and so are not in the
document, are listed in ``EXEMPT_ROUTES`` with the reason.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.models import Backup
from tests.dokploy.openapi_contract import operation, request_problems
from tests.dokploy.recordings import all_names, load

pytestmark = pytest.mark.anyio

#: Routes outside openapi.json, each with the reason.
EXEMPT_ROUTES = {
    ("GET", "/api/health"): "plain Next.js liveness route, not a tRPC procedure",
    ("POST", "/api/auth/sign-up/email"): "better-auth route (toNodeHandler), not a tRPC procedure",
    ("POST", "/api/auth/sign-in/email"): "better-auth route (toNodeHandler), not a tRPC procedure",
}

#: Generic protocol methods: they send whatever procedure the caller names, so no fixed contract applies.
PROTOCOL_METHODS = {"query", "mutate", "aclose"}


@dataclass(frozen=True)
class Case:
    """One call of a client method."""

    method: str
    kwargs: dict[str, Any] = field(default_factory=dict)


C = "cmp-1"
#: A database backup as backup.one returns it: backup_update sends all of it back.
BACKUP = Backup(
    backup_id="bkp-1",
    schedule="0 2 * * *",
    enabled=True,
    database="shop",
    prefix="daily",
    destination_id="dst-1",
    keep_latest_count=2,
    database_type="postgres",
    backup_type="database",
)
S3: dict[str, Any] = {
    "name": "s3",
    "provider": "Minio",
    "access_key": "AKIAEXAMPLE",
    "secret_access_key": SecretStr("secret"),
    "bucket": "backups",
    "region": "us-east-1",
    "endpoint": "http://127.0.0.1:9000",
    "additional_flags": ["--s3-force-path-style"],
    "server_id": "srv-1",
}
VOLUME_BACKUP: dict[str, Any] = {
    "compose_id": C,
    "service_name": "db",
    "volume_name": "acme-supabase_db-config",
    "name": "db-config",
    "prefix": "volumes",
    "cron_expression": "0 4 * * *",
    "destination_id": "dst-1",
}
CASES: list[Case] = [
    Case("health"),
    Case("settings_health"),
    Case("settings_get_dokploy_version"),
    Case("settings_get_ip"),
    Case("settings_update_server_ip", {"server_ip": "203.0.113.10"}),
    Case("settings_get_web_server_settings"),
    Case("user_get"),
    Case("auth_sign_up_email", {"email": "a@example.com", "password": SecretStr("Passw0rd!Passw0rd"), "name": "A"}),
    Case(
        "auth_sign_up_email",
        {
            "email": "a@example.com",
            "password": SecretStr("Passw0rd!Passw0rd"),
            "name": "A",
            "last_name": "B",
            "request_timeout": 5.0,
        },
    ),
    Case("auth_sign_in_email", {"email": "a@example.com", "password": SecretStr("Passw0rd!Passw0rd")}),
    Case("user_create_api_key", {"name": "mcp", "organization_id": "org-1"}),
    Case(
        "user_create_api_key",
        {"name": "mcp", "organization_id": "org-1", "rate_limit_enabled": True, "expires_in": 86_400},
    ),
    Case("project_all"),
    Case("project_one", {"project_id": "prj-1"}),
    Case("project_create", {"name": "acme"}),
    Case("project_create", {"name": "acme", "description": "Acme stacks", "env": "TZ=UTC"}),
    Case("project_update", {"project_id": "prj-1"}),
    Case("project_update", {"project_id": "prj-1", "name": "acme", "description": "d", "env": "TZ=UTC"}),
    Case("project_remove", {"project_id": "prj-1"}),
    Case("environment_one", {"environment_id": "env-1"}),
    Case("environment_by_project_id", {"project_id": "prj-1"}),
    Case("compose_create", {"name": "supabase", "environment_id": "env-1"}),
    Case(
        "compose_create",
        {
            "name": "supabase",
            "environment_id": "env-1",
            "description": "Supabase",
            "compose_type": "stack",
            "app_name": "acme-supabase",
            "server_id": "srv-1",
            "compose_file": "services: {}\n",
            "source_type": "raw",
        },
    ),
    Case("compose_one", {"compose_id": C}),
    Case("compose_update", {"compose_id": C}),
    Case(
        "compose_update",
        {
            "compose_id": C,
            "name": "supabase",
            "description": "Supabase",
            "env": "A=1",
            "compose_file": "services: {}\n",
            "source_type": "raw",
            "compose_type": "docker-compose",
            "command": "",
            "app_name": "acme-supabase",
            "compose_path": "./docker-compose.yml",
            "auto_deploy": False,
        },
    ),
    Case("compose_import_template", {"compose_id": C, "compose_yaml": "services: {}\n", "template_toml": "[config]\n"}),
    Case("compose_process_template", {"compose_id": C, "compose_yaml": "services: {}\n", "template_toml": "x = 1\n"}),
    Case("compose_deploy_template", {"environment_id": "env-1", "template_id": "supabase"}),
    Case(
        "compose_deploy_template",
        {
            "environment_id": "env-1",
            "template_id": "supabase",
            "server_id": "srv-1",
            "base_url": "https://templates.example",
        },
    ),
    Case("compose_templates"),
    Case("compose_templates", {"base_url": "https://templates.example"}),
    Case("compose_deploy", {"compose_id": C}),
    Case("compose_deploy", {"compose_id": C, "title": "t", "description": "d"}),
    Case("compose_redeploy", {"compose_id": C}),
    Case("compose_redeploy", {"compose_id": C, "title": "t", "description": "d"}),
    Case("compose_stop", {"compose_id": C}),
    Case("compose_start", {"compose_id": C}),
    Case("compose_delete", {"compose_id": C, "delete_volumes": True}),
    Case("compose_delete", {"compose_id": C, "delete_volumes": False}),
    Case("compose_save_environment", {"compose_id": C, "env": "A=1\n# comment\nB=2"}),
    Case("compose_save_environment", {"compose_id": C, "env": "", "create_env_file": True}),
    Case("compose_load_services", {"compose_id": C}),
    Case("compose_load_services", {"compose_id": C, "source": "fetch"}),
    Case("compose_read_logs", {"compose_id": C, "container_id": "1757721eff9f"}),
    Case(
        "compose_read_logs",
        {"compose_id": C, "container_id": "acme_db_1", "tail": 500, "since": "15m", "search": "FATAL error"},
    ),
    Case("deployment_all_by_compose", {"compose_id": C}),
    Case("deployment_read_logs", {"deployment_id": "dep-1"}),
    Case("deployment_read_logs", {"deployment_id": "dep-1", "tail": 2000}),
    Case("domain_create", {"host": "api.example.com", "compose_id": C, "service_name": "kong", "port": 8000}),
    Case(
        "domain_create",
        {
            "host": "api.example.com",
            "compose_id": C,
            "service_name": "kong",
            "port": 8000,
            "https": True,
            "certificate_type": "letsencrypt",
            "path": "/",
            "internal_path": "/",
            "strip_path": False,
            "custom_cert_resolver": "myresolver",
        },
    ),
    Case("domain_by_compose_id", {"compose_id": C}),
    Case("domain_one", {"domain_id": "dom-1"}),
    Case("domain_update", {"domain_id": "dom-1", "host": "a.example.com", "https": True, "certificate_type": "none"}),
    Case(
        "domain_update",
        {
            "domain_id": "dom-1",
            "host": "a.example.com",
            "https": True,
            "certificate_type": "letsencrypt",
            "service_name": "kong",
            "port": 8000,
            "path": "/",
            "internal_path": "/",
            "strip_path": True,
            "custom_cert_resolver": "r",
            "enabled": True,
        },
    ),
    Case("domain_delete", {"domain_id": "dom-1"}),
    Case("domain_generate_domain", {"app_name": "acme-supabase"}),
    Case("domain_generate_domain", {"app_name": "acme-supabase", "server_id": "srv-1"}),
    Case("docker_get_containers_by_app_name_match", {"app_name": "acme-supabase"}),
    Case("docker_get_containers_by_app_name_match", {"app_name": "acme-supabase", "app_type": None}),
    Case("docker_get_containers_by_app_name_match", {"app_name": "acme", "app_type": "stack", "server_id": "srv-1"}),
    Case(
        "destination_create",
        {
            "name": "s3",
            "provider": "AWS",
            "access_key": "AKIAEXAMPLE",
            "secret_access_key": SecretStr("secret"),
            "bucket": "backups",
            "region": "eu-west-1",
            "endpoint": "https://s3.eu-west-1.amazonaws.com",
        },
    ),
    Case(
        "destination_create",
        {
            "name": "r2",
            "provider": None,
            "access_key": "k",
            "secret_access_key": SecretStr("s"),
            "bucket": "b",
            "region": "auto",
            "endpoint": "https://acct.r2.cloudflarestorage.com",
            "additional_flags": ["--s3-force-path-style", "--s3-acl=private"],
            "server_id": "srv-1",
        },
    ),
    Case("destination_all"),
    Case("destination_one", {"destination_id": "dst-1"}),
    Case("destination_remove", {"destination_id": "dst-1"}),
    Case(
        "backup_create",
        {"compose_id": C, "service_name": "db", "destination_id": "dst-1", "schedule": "0 3 * * *", "prefix": "sb"},
    ),
    Case(
        "backup_create",
        {
            "compose_id": C,
            "service_name": "db",
            "destination_id": "dst-1",
            "schedule": "0 3 * * *",
            "prefix": "sb",
            "database": "postgres",
            "database_user": "supabase_admin",
            "enabled": False,
            "keep_latest_count": 7,
        },
    ),
    Case("backup_one", {"backup_id": "bkp-1"}),
    Case("backup_remove", {"backup_id": "bkp-1"}),
    Case("backup_manual_backup_compose", {"backup_id": "bkp-1"}),
    Case("backup_manual_backup_postgres", {"backup_id": "bkp-1"}),
    Case(
        "backup_create_postgres",
        {
            "postgres_id": "pg-1",
            "destination_id": "dst-1",
            "schedule": "0 2 * * *",
            "prefix": "daily",
            "database": "shop",
        },
    ),
    Case(
        "backup_create_postgres",
        {
            "postgres_id": "pg-1",
            "destination_id": "dst-1",
            "schedule": "0 2 * * *",
            "prefix": "daily",
            "database": "shop",
            "enabled": False,
            "keep_latest_count": 2,
        },
    ),
    Case("backup_update", {"backup": BACKUP}),
    Case("backup_update", {"backup": BACKUP, "schedule": "0 4 * * *", "enabled": False, "prefix": "p"}),
    Case("backup_update", {"backup": BACKUP, "keep_latest_count": None}),
    Case("backup_update", {"backup": BACKUP, "keep_latest_count": 3}),
    Case("backup_list_backup_files", {"destination_id": "dst-1", "search": "/"}),
    Case("backup_list_backup_files", {"destination_id": "dst-1", "search": "app_db/nightly/", "server_id": "srv-1"}),
    Case("destination_test_connection", {k: v for k, v in S3.items() if k not in {"additional_flags", "server_id"}}),
    Case("destination_test_connection", S3),
    Case("deployment_all_by_type", {"owner_id": "bkp-1", "deployment_type": "backup"}),
    Case("deployment_all_by_type", {"owner_id": "vb-1", "deployment_type": "volumeBackup"}),
    Case("volume_backups_create", VOLUME_BACKUP),
    Case("volume_backups_create", {**VOLUME_BACKUP, "turn_off": True, "keep_latest_count": 3, "enabled": False}),
    Case("volume_backups_list", {"service_id": C}),
    Case("volume_backups_list", {"service_id": "pg-1", "volume_backup_type": "postgres"}),
    Case("volume_backups_one", {"volume_backup_id": "vb-1"}),
    Case("volume_backups_run_manually", {"volume_backup_id": "vb-1"}),
    Case("volume_backups_delete", {"volume_backup_id": "vb-1"}),
    Case("mounts_create", {"compose_id": C, "file_path": "/volumes/api/kong.yml", "content": "_format_version: '2.1'"}),
    Case("mounts_create", {"compose_id": C, "file_path": "/a.sql", "content": "select 1;", "mount_path": "/"}),
]


def _public_methods() -> set[str]:
    return {
        name
        for name, member in inspect.getmembers(DokployClient, inspect.iscoroutinefunction)
        if not name.startswith("_") and name not in PROTOCOL_METHODS
    }


def _canned_answers() -> dict[str, httpx.Response]:
    """An answer per route that the typed method can parse: a recorded 200 where one exists."""
    answers: dict[str, httpx.Response] = {}
    for name in all_names():
        recording = load(name)
        if recording.status == 200:
            answers.setdefault(recording.path, recording.response())
    settings = dict(load("settings.getWebServerSettings").response_body, serverIp="203.0.113.10")
    answers["/api/settings.updateServerIp"] = httpx.Response(200, json=settings)
    answers["/api/compose.deployTemplate"] = load("compose.create--supabase").response()
    answers["/api/backup.manualBackupCompose"] = httpx.Response(200, json=True)
    # backup.update returns nothing: an empty body, like backup.create.
    answers["/api/backup.update"] = httpx.Response(200, content=b"")
    answers["/api/mounts.create"] = httpx.Response(200, json=True)
    return answers


def test_every_public_method_has_a_contract_case() -> None:
    assert _public_methods() == {case.method for case in CASES}


def test_every_optional_argument_is_sent_by_some_case() -> None:
    for name in sorted(_public_methods()):
        optional = {
            param.name
            for param in inspect.signature(getattr(DokployClient, name)).parameters.values()
            if param.default is not inspect.Parameter.empty
        }
        covered = {key for case in CASES if case.method == name for key in case.kwargs}
        assert optional <= covered, f"{name}: no contract case sends {sorted(optional - covered)}"


def test_exempt_routes_are_really_outside_the_document() -> None:
    for method, path in EXEMPT_ROUTES:
        assert operation(method, path) is None


@pytest.mark.parametrize("case", CASES, ids=[f"{case.method}-{index}" for index, case in enumerate(CASES)])
async def test_request_is_valid_for_the_openapi_document(
    case: Case, router: respx.MockRouter, client: DokployClient
) -> None:
    answers = _canned_answers()
    sent: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answers[request.url.path]

    router.route().mock(side_effect=answer)

    await getattr(client, case.method)(**case.kwargs)

    assert len(sent) == 1
    request = sent[0]
    if (request.method, request.url.path) in EXEMPT_ROUTES:
        return
    assert request_problems(request) == []


def test_the_contract_check_rejects_a_misspelt_field_and_a_wrong_method() -> None:
    # Guards the guard: a check that accepts everything would make the contract test pass vacuously.
    bad_body = httpx.Request("POST", "http://d/api/compose.delete", json={"composeId": "c", "deleteVolume": True})
    wrong_method = httpx.Request("GET", "http://d/api/compose.delete", params={"composeId": "c"})
    bad_query = httpx.Request("GET", "http://d/api/compose.readLogs", params={"composeId": "c", "tail": "0"})

    assert any("deleteVolume" in problem for problem in request_problems(bad_body))
    assert any("deleteVolumes" in problem for problem in request_problems(bad_body))
    assert request_problems(wrong_method) != []
    problems = request_problems(bad_query)
    assert any("tail" in problem for problem in problems)
    assert any("containerId" in problem for problem in problems)
