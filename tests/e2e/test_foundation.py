"""E2E cases of the foundation: the server over stdio, the Dokploy client's typed methods, bootstrap.

Every case runs against the real Dokploy named by DOKPLOY_E2E_URL / DOKPLOY_E2E_API_KEY (see tests/README.md).
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

import anyio
import pytest
from mcp import Client
from pydantic import SecretStr

from dokploy_mcp import SUPPORTED_DOKPLOY_VERSION
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.deployments import deploy_and_wait
from dokploy_mcp.dokploy.models import Compose, Container
from dokploy_mcp.monitoring.containers import service_of, stack_containers
from tests.conftest import require_real_part
from tests.e2e.conftest import E2E_KEY, E2E_URL, LOG_MARKER, E2EProject, create_busybox, full_only, mcp_server
from tests.e2e.deploylog import DEPLOYED, UNREACHABLE_REGISTRY, failed_pull_problems, services_in_deploy_log

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(900)]


async def test_health_check_over_stdio_sees_an_authenticated_dokploy_and_its_version(
    mcp: Client, dokploy: DokployClient
) -> None:
    result = await mcp.call_tool("health_check", {})
    assert not result.is_error, result.content
    report = result.structured_content
    assert report is not None
    [server] = report["dokploy"]
    assert server["reachable"] is True
    assert server["authenticated"] is True
    assert server["version"] == await dokploy.settings_get_dokploy_version()
    assert server["version_supported"] is True, f"this Dokploy is not {SUPPORTED_DOKPLOY_VERSION}"
    assert E2E_KEY not in str(result.content)


async def test_health_check_over_stdio_reports_a_wrong_key() -> None:
    async with Client(mcp_server(DOKPLOY_API_KEY=f"wrong-{secrets.token_hex(8)}")) as client:
        result = await client.call_tool("health_check", {})
    assert result.structured_content is not None
    [server] = result.structured_content["dokploy"]
    assert server["reachable"] is True
    assert server["authenticated"] is False
    assert "401" in server["problem"]


async def test_project_and_environment_round_trip(dokploy: DokployClient, project: E2EProject) -> None:
    one = await dokploy.project_one(project.project_id)
    assert one.name == project.name
    environments = await dokploy.environment_by_project_id(project.project_id)
    assert [e.environment_id for e in environments] == [project.environment_id]
    environment = await dokploy.environment_one(project.environment_id)
    assert environment.name == "production"
    assert environment.compose == []


async def test_compose_create_update_and_env_round_trip(dokploy: DokployClient, project: E2EProject) -> None:
    compose = await create_busybox(dokploy, project)
    assert compose.source_type == "raw"
    assert compose.compose_status == "idle"
    new_file = compose.compose_file.replace("sleep 2", "sleep 3") if compose.compose_file else None
    assert new_file is not None and new_file != compose.compose_file
    await dokploy.compose_update(compose.compose_id, compose_file=new_file, description="updated by e2e")
    env = "# written by the e2e suite\nGREETING=world\nEMPTY=\n"
    assert await dokploy.compose_save_environment(compose.compose_id, env) is True

    stored = await dokploy.compose_one(compose.compose_id)
    assert stored.compose_file == new_file
    assert stored.description == "updated by e2e"
    assert stored.env == env
    environment = await dokploy.environment_one(project.environment_id)
    assert [c.compose_id for c in environment.compose] == [compose.compose_id]


async def test_domain_create_update_and_delete(dokploy: DokployClient, project: E2EProject) -> None:
    compose = await create_busybox(dokploy, project)
    host = f"e2e-{secrets.token_hex(4)}.example.com"
    domain = await dokploy.domain_create(host=host, compose_id=compose.compose_id, service_name="web", port=8080)
    assert domain.host == host and domain.https is False
    assert [d.domain_id for d in await dokploy.domain_by_compose_id(compose.compose_id)] == [domain.domain_id]

    await dokploy.domain_update(
        domain.domain_id, host=host, https=True, certificate_type="letsencrypt", service_name="web", port=8080
    )
    updated = await dokploy.domain_one(domain.domain_id)
    assert updated.https is True and updated.certificate_type == "letsencrypt"

    await dokploy.domain_delete(domain.domain_id)
    assert await dokploy.domain_by_compose_id(compose.compose_id) == []


async def test_deploy_reaches_done_and_its_log_is_readable(dokploy: DokployClient, deployed_busybox: Compose) -> None:
    assert deployed_busybox.compose_status == "done"
    latest = (await dokploy.deployment_all_by_compose(deployed_busybox.compose_id))[0]  # newest first
    assert latest.status == "done"
    log = await dokploy.deployment_read_logs(latest.deployment_id, 200)
    assert DEPLOYED in log, log
    # v1 names the container "<app>_web_1", v2 "<app>-web-1": either way it maps back to the service.
    assert deployed_busybox.app_name
    assert services_in_deploy_log(log, deployed_busybox.app_name, ["web"]) == {"web"}, log


async def test_containers_are_discovered_and_their_logs_read(dokploy: DokployClient, deployed_busybox: Compose) -> None:
    assert deployed_busybox.app_name
    containers: list[Container] = []
    with anyio.fail_after(120):
        while not any(c.state == "running" for c in containers):
            containers = await dokploy.docker_get_containers_by_app_name_match(deployed_busybox.app_name)
            await anyio.sleep(2)
    running = next(c for c in containers if c.state == "running")
    assert service_of(running.name, deployed_busybox.app_name, ["web"]) == ("web", 1), running.name

    logs = ""
    with anyio.fail_after(60):
        while LOG_MARKER not in logs:
            logs = await dokploy.compose_read_logs(deployed_busybox.compose_id, running.container_id, tail=20)
            await anyio.sleep(2)
    filtered = await dokploy.compose_read_logs(
        deployed_busybox.compose_id, running.container_id, tail=5, since="5m", search=LOG_MARKER
    )
    assert LOG_MARKER in filtered


async def test_broken_image_deploy_ends_in_error_with_its_log(dokploy: DokployClient, project: E2EProject) -> None:
    # Compose v2 never prints the repository path ("does-not-exist"), only the service and the registry host: the
    # log is checked for what v1 and v2 both print (tests/e2e/deploylog.py).
    missing = f"{UNREACHABLE_REGISTRY}/does-not-exist-{secrets.token_hex(3)}:latest"
    compose = await create_busybox(dokploy, project, image=missing)

    outcome = await deploy_and_wait(dokploy, compose.compose_id, title="e2e broken image", wait_seconds=300)

    assert outcome.status == "error", outcome
    assert outcome.deployment is not None and outcome.deployment.status == "error"
    assert outcome.log_tail is not None
    assert failed_pull_problems(outcome.log_tail, service="web", image=missing) == [], outcome.log_tail
    assert (await dokploy.compose_one(compose.compose_id)).compose_status == "error"


async def test_supabase_template_makes_a_stack_with_one_kong_domain(
    dokploy: DokployClient, supabase_stack: Compose
) -> None:
    assert supabase_stack.compose_status == "idle"
    env = supabase_stack.env or ""
    for variable in ("JWT_SECRET=", "ANON_KEY=", "SERVICE_ROLE_KEY=", "POSTGRES_PASSWORD=", "API_EXTERNAL_URL="):
        assert variable in env
    domains = await dokploy.domain_by_compose_id(supabase_stack.compose_id)
    assert [(d.service_name, d.port) for d in domains] == [("kong", 8000)]


@full_only
@pytest.mark.timeout(3600)
async def test_supabase_stack_deploys_to_done(dokploy: DokployClient, supabase_stack: Compose) -> None:
    outcome = await deploy_and_wait(dokploy, supabase_stack.compose_id, title="e2e supabase", wait_seconds=3000)
    assert outcome.succeeded, f"Supabase deploy ended {outcome.status}:\n{outcome.log_tail}"
    # The server's own name-to-service mapping, so v1's "<app>_kong_1" and v2's "<app>-kong-1" both count.
    containers = await stack_containers(dokploy, await dokploy.compose_one(supabase_stack.compose_id))
    assert any(c.service == "kong" for c in containers), [c.name for c in containers]


def run_bootstrap(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DOKPLOY", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "dokploy_mcp", "bootstrap", "--url", E2E_URL, "--wait", "30", *args],
        env={**clean, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        stdin=subprocess.DEVNULL,
    )


def test_bootstrap_of_a_bootstrapped_dokploy_with_other_credentials_gives_its_clear_answer(tmp_path: Path) -> None:
    key_file = tmp_path / "api-key"
    result = run_bootstrap(
        tmp_path,
        "--key-file",
        str(key_file),
        DOKPLOY_ADMIN_EMAIL=f"nobody-{secrets.token_hex(4)}@example.com",
        DOKPLOY_ADMIN_PASSWORD=f"not-the-password-{secrets.token_hex(4)}",
    )
    assert result.returncode == 1, result.stderr
    assert "an admin already exists" in result.stderr
    assert not key_file.exists()


#: The owner's credentials, for re-running bootstrap as the owner (compose.e2e.yml passes what its bootstrap used).
E2E_ADMIN_EMAIL = os.environ.get("DOKPLOY_E2E_ADMIN_EMAIL", "")
E2E_ADMIN_PASSWORD_FILE = os.environ.get("DOKPLOY_E2E_ADMIN_PASSWORD_FILE", "")


def owner_password_args() -> tuple[list[str], dict[str, str]]:
    """Bootstrap's password arguments and environment for the owner, from DOKPLOY_E2E_ADMIN_PASSWORD(_FILE)."""
    password = os.environ.get("DOKPLOY_E2E_ADMIN_PASSWORD", "")
    readable = bool(E2E_ADMIN_PASSWORD_FILE) and os.access(E2E_ADMIN_PASSWORD_FILE, os.R_OK)
    require_real_part(
        bool(E2E_ADMIN_EMAIL) and bool(password or readable),
        "the Dokploy owner's credentials",
        "set DOKPLOY_E2E_ADMIN_EMAIL and DOKPLOY_E2E_ADMIN_PASSWORD (or DOKPLOY_E2E_ADMIN_PASSWORD_FILE) to the "
        "admin bootstrap created, to re-run bootstrap as that owner",
    )
    if password:
        return [], {"DOKPLOY_ADMIN_PASSWORD": password}
    return ["--password-file", E2E_ADMIN_PASSWORD_FILE], {}


async def test_bootstrap_rerun_with_the_owners_credentials_signs_in_and_makes_a_working_key(
    tmp_path: Path, dokploy: DokployClient
) -> None:
    password_args, password_env = owner_password_args()
    key_file = tmp_path / "api-key"
    key_name = f"e2e-rerun-{secrets.token_hex(4)}"
    args = ["--key-file", str(key_file), "--key-name", key_name, *password_args]
    # A fresh key file, so bootstrap cannot stop at "already bootstrapped": its sign-up is refused (422 for the
    # owner's own e-mail) and it must sign in.
    result = await anyio.to_thread.run_sync(
        lambda: run_bootstrap(tmp_path, *args, DOKPLOY_ADMIN_EMAIL=E2E_ADMIN_EMAIL, **password_env)
    )
    assert result.returncode == 0, result.stderr
    key = key_file.read_text(encoding="utf-8").strip()
    async with DokployClient(base_url=E2E_URL, api_key=SecretStr(key), name="e2e-rerun", timeout=120) as client:
        try:
            assert "signed in as the existing admin" in result.stderr
            assert key and key != E2E_KEY
            assert key not in result.stdout + result.stderr
            assert await client.settings_get_dokploy_version() == await dokploy.settings_get_dokploy_version()
            member = await client.user_get()
            assert member.role == "owner"
            assert member.user is not None and (member.user.email or "").lower() == E2E_ADMIN_EMAIL.lower()
        finally:
            with anyio.CancelScope(shield=True):
                await delete_api_keys_named(client, key_name)


async def delete_api_keys_named(client: DokployClient, name: str) -> None:
    """Remove the keys this case made, so that re-runs of the suite do not pile keys up on the owner."""
    raw = await client.query("user.get")
    for api_key in raw.get("user", {}).get("apiKeys", []):
        if api_key.get("name") == name:
            await client.mutate("user.deleteApiKey", {"apiKeyId": api_key["id"]})


def test_bootstrap_with_a_working_key_file_is_a_no_op(tmp_path: Path) -> None:
    key_file = tmp_path / "api-key"
    key_file.write_text(E2E_KEY + "\n")
    result = run_bootstrap(tmp_path, "--key-file", str(key_file))
    assert result.returncode == 0, result.stderr
    assert "already bootstrapped" in result.stderr
    assert key_file.read_text() == E2E_KEY + "\n"
