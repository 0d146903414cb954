"""The Dokploy double against the real DokployClient and the real recordings it claims to imitate."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.errors import (
    DokployAPIError,
    DokployAuthError,
    DokployNotFoundError,
    DokployTransportError,
    DokployValidationError,
)
from tests.dokploy.recordings import load
from tests.fake_dokploy import FakeDokploy, new_id

pytestmark = pytest.mark.anyio

TEMPLATE = Path(__file__).resolve().parent / "fixtures" / "supabase" / "dokploy-template"
COMPOSE_YAML = (TEMPLATE / "docker-compose.yml").read_text(encoding="utf-8")
TEMPLATE_TOML = (TEMPLATE / "template.toml").read_text(encoding="utf-8")
BUSYBOX = "services:\n  web:\n    image: busybox\n  worker:\n    image: busybox\n"
NANOID = re.compile(r"[A-Za-z0-9_-]{21}")


def env_value(env: str, key: str) -> str:
    match = re.search(rf"^{key}=(.*)$", env, re.MULTILINE)
    assert match, f"{key} missing from the env"
    return match.group(1)


async def new_compose(client: DokployClient, compose_file: str = BUSYBOX) -> tuple[str, str]:
    created = await client.project_create("shop")
    compose = await client.compose_create("app", created.environment.environment_id, compose_file=compose_file)
    return created.project.project_id, compose.compose_id


# -- wizard steps ------------------------------------------------------------------------------------------------------


async def test_project_compose_import_then_one_shows_the_supabase_stack() -> None:
    fake = FakeDokploy(server_ip="203.0.113.7")
    async with fake.client() as client:
        created = await client.project_create("shop", "Shop backend")
        assert created.environment.name == "production"
        assert created.environment.is_default is True
        compose = await client.compose_create("supabase", created.environment.environment_id)
        assert compose.compose_status == "idle"
        assert compose.compose_file == ""
        assert compose.app_name.startswith("compose-")

        result = await client.compose_import_template(compose.compose_id, COMPOSE_YAML, TEMPLATE_TOML)
        assert result.success is True
        assert result.message == "Template imported successfully"

        one = await client.compose_one(compose.compose_id)
        assert one.compose_file == COMPOSE_YAML
        assert one.source_type == "raw"
        assert env_value(one.env or "", "JWT_SECRET")
        assert len(one.mounts) == len(load("compose.one--supabase-imported").response_body["mounts"])
        [kong] = one.domains
        assert (kong.service_name, kong.port, kong.https, kong.certificate_type) == ("kong", 8000, False, "none")
        assert kong.host.startswith(compose.app_name[:40] + "-")
        assert kong.host.endswith("-203-0-113-7.sslip.io")
        assert env_value(one.env or "", "SUPABASE_HOST") == kong.host
        assert env_value(one.env or "", "API_EXTERNAL_URL") == f"https://{kong.host}"
        assert one.environment is not None
        assert one.environment.project is not None
        assert one.environment.project.name == "shop"

        [project] = await client.project_all()
        [summary] = project.environments[0].compose
        assert (summary.compose_id, summary.name, summary.compose_status) == (compose.compose_id, "supabase", "idle")
        assert (await client.environment_one(created.environment.environment_id)).compose[0].name == "supabase"


async def test_import_replaces_earlier_mounts_and_domains() -> None:
    fake = FakeDokploy()
    async with fake.client() as client:
        _, compose_id = await new_compose(client)
        await client.domain_create(host="old.example.test", compose_id=compose_id, service_name="web", port=80)
        await client.compose_import_template(compose_id, COMPOSE_YAML, TEMPLATE_TOML)
        await client.compose_import_template(compose_id, COMPOSE_YAML, TEMPLATE_TOML)
        one = await client.compose_one(compose_id)
    assert [d.service_name for d in one.domains] == ["kong"]
    assert len(fake.mounts) == len(one.mounts) == 15


async def test_import_of_garbage_is_a_400_that_changes_nothing() -> None:
    fake = FakeDokploy()
    async with fake.client() as client:
        _, compose_id = await new_compose(client)
        with pytest.raises(DokployAPIError) as caught:
            await client.mutate("compose.import", {"composeId": compose_id, "base64": "not base64!"})
    assert caught.value.status == 400
    assert caught.value.message.startswith("Error importing template")
    assert fake.composes[compose_id]["composeFile"] == BUSYBOX
    assert not fake.domains


async def test_compose_create_defaults_to_github_like_dokploy() -> None:
    fake = FakeDokploy()
    async with fake.client() as client:
        created = await client.project_create("shop")
        body = {"name": "x", "environmentId": created.environment.environment_id}
        raw = await client.mutate("compose.create", body)
        named = await client.compose_create("y", created.environment.environment_id, app_name="shop-db")
    assert raw["sourceType"] == "github"
    assert raw["env"] is None
    assert named.source_type == "raw"
    assert re.fullmatch(r"shop-db-[a-z0-9]{6}", named.app_name)


async def test_save_environment_round_trip_keeps_the_text_exactly() -> None:
    fake = FakeDokploy()
    text = 'A=1\n# comment\nB= spaced value \n\nC="quoted"\n'
    async with fake.client() as client:
        _, compose_id = await new_compose(client)
        assert await client.compose_save_environment(compose_id, text) is True
        assert (await client.compose_one(compose_id)).env == text
    assert fake.composes[compose_id]["env"] == text
    assert fake.requests[-2] == ("POST", "compose.saveEnvironment", {"composeId": compose_id, "env": text})


async def test_compose_update_changes_only_the_given_fields() -> None:
    fake = FakeDokploy()
    async with fake.client() as client:
        _, compose_id = await new_compose(client)
        updated = await client.compose_update(compose_id, env="X=1")
    assert updated.env == "X=1"
    assert updated.compose_file == BUSYBOX
    assert updated.name == "app"


async def test_deploy_template_offline_answers_the_recorded_500() -> None:
    fake = FakeDokploy(template_internet=False)
    async with fake.client() as client:
        created = await client.project_create("shop")
        with pytest.raises(DokployAPIError) as caught:
            await client.compose_deploy_template(created.environment.environment_id, "supabase")
    recorded = load("compose.deployTemplate--supabase-offline")
    assert caught.value.status == recorded.status == 500
    assert caught.value.message == recorded.response_body["message"]
    assert caught.value.code == recorded.response_body["code"]
    assert not fake.composes


async def test_deploy_template_online_creates_the_stack_named_after_the_template() -> None:
    fake = FakeDokploy()
    async with fake.client() as client:
        created = await client.project_create("My Shop")
        compose = await client.compose_deploy_template(created.environment.environment_id, "supabase")
        one = await client.compose_one(compose.compose_id)
    assert compose.name == "supabase"
    assert re.fullmatch(r"my-shop-supabase-[a-z0-9]{6}", compose.app_name)
    assert one.domains[0].host.startswith("my-shop-supabase-")
    assert env_value(one.env or "", "SUPABASE_HOST") == one.domains[0].host
    assert "services:" in (one.compose_file or "")


# -- deployments -------------------------------------------------------------------------------------------------------


async def test_deploy_runs_for_deploy_polls_reads_then_is_done() -> None:
    fake = FakeDokploy(deploy_polls=2)
    async with fake.client() as client:
        _, compose_id = await new_compose(client)
        assert await client.deployment_all_by_compose(compose_id) == []
        queued = await client.compose_deploy(compose_id, title="first deploy")
        assert (queued.success, queued.message, queued.compose_id) == (True, "Deployment queued", compose_id)

        first = await client.deployment_all_by_compose(compose_id)
        second = await client.compose_one(compose_id)
        third = await client.deployment_all_by_compose(compose_id)
        one = await client.compose_one(compose_id)
        app_name = one.app_name
        containers = await client.docker_get_containers_by_app_name_match(app_name)
        cached = await client.compose_load_services(compose_id)

    assert [d.status for d in first] == ["running"]
    assert first[0].title == "first deploy"
    assert second.compose_status == "running"
    assert [d.status for d in third] == ["done"]
    assert third[0].finished_at is not None
    assert one.compose_status == "done"
    assert sorted(c.name for c in containers) == [f"{app_name}-web-1", f"{app_name}-worker-1"]
    assert {c.state for c in containers} == {"running"}
    assert cached == ["web", "worker"]
    assert fake.running[app_name]["composeFile"] == BUSYBOX


async def test_redeploy_lists_newest_first_and_compose_one_oldest_first() -> None:
    fake = FakeDokploy(deploy_polls=0)
    async with fake.client() as client:
        _, compose_id = await new_compose(client)
        await client.compose_deploy(compose_id)
        await client.deployment_all_by_compose(compose_id)
        redeployed = await client.compose_redeploy(compose_id)
        newest_first = await client.deployment_all_by_compose(compose_id)
        one = await client.compose_one(compose_id)
    assert redeployed.message == "Redeployment queued"
    assert [d.title for d in newest_first] == ["Rebuild deployment", "Manual deployment"]
    assert [d.title for d in one.deployments] == ["Manual deployment", "Rebuild deployment"]
    assert {d.description for d in one.deployments} == {""}


async def test_deploy_result_error_shows_error_status_and_the_failed_log() -> None:
    fake = FakeDokploy(deploy_polls=1)
    async with fake.client() as client:
        _, compose_id = await new_compose(client)
        fake.deploy_result(compose_id, "error", times=1)
        await client.compose_deploy(compose_id)
        [running] = await client.deployment_all_by_compose(compose_id)
        running_log = await client.deployment_read_logs(running.deployment_id)
        [failed] = await client.deployment_all_by_compose(compose_id)
        one = await client.compose_one(compose_id)
        log = await client.deployment_read_logs(failed.deployment_id)
        tail = await client.deployment_read_logs(failed.deployment_id, tail=2)
        containers = await client.docker_get_containers_by_app_name_match(one.app_name)
        await client.compose_redeploy(compose_id)
        await client.deployment_all_by_compose(compose_id)
        latest = (await client.deployment_all_by_compose(compose_id))[0]
    assert running.status == "running"
    assert "Initializing deployment" in running_log
    assert "Docker command failed" not in running_log
    assert failed.status == "error"
    assert failed.error_message is None
    assert one.compose_status == "error"
    assert "Error: ❌ Docker command failed" in log
    assert one.app_name in log
    assert tail == "\nError occurred ❌, check the logs for details.\n"
    assert containers == []
    assert latest.status == "done"


async def test_deploy_result_for_every_compose_and_per_compose() -> None:
    fake = FakeDokploy(deploy_polls=0)
    fake.deploy_result(None, "error")
    async with fake.client() as client:
        _, failing = await new_compose(client)
        _, chosen = await new_compose(client)
        fake.deploy_result(chosen, "done")
        for compose_id in (failing, chosen):
            await client.compose_deploy(compose_id)
        [failed] = await client.deployment_all_by_compose(failing)
        [done] = await client.deployment_all_by_compose(chosen)
    assert (failed.status, done.status) == ("error", "done")


async def test_a_compose_file_without_services_fails_unless_told_otherwise() -> None:
    fake = FakeDokploy(deploy_polls=0)
    empty = fake.add_compose("shop", "empty", "")
    async with fake.client() as client:
        await client.compose_deploy(empty["composeId"])
        fake.deploy_result(empty["composeId"], "done", times=1)
        await client.compose_deploy(empty["composeId"])
        statuses = [d.status for d in await client.deployment_all_by_compose(empty["composeId"])]
    assert statuses == ["done", "error"]


async def test_read_logs_of_unknown_deployment_is_the_recorded_404() -> None:
    fake = FakeDokploy()
    async with fake.client() as client:
        with pytest.raises(DokployNotFoundError) as caught:
            await client.deployment_read_logs("does-not-exist")
    assert caught.value.message == load("deployment.readLogs--not-found").response_body["message"]


async def test_load_services_cache_is_404_until_deployed() -> None:
    fake = FakeDokploy()
    async with fake.client() as client:
        _, compose_id = await new_compose(client)
        assert await client.compose_load_services(compose_id, "fetch") == ["web", "worker"]
        with pytest.raises(DokployNotFoundError) as caught:
            await client.compose_load_services(compose_id)
    assert caught.value.message == load("compose.loadServices--cache-before-deploy").response_body["message"]


async def test_stop_and_start_change_containers_and_status() -> None:
    fake = FakeDokploy()
    stack = fake.add_supabase_stack(deployed=True)
    async with fake.client() as client:
        assert await client.compose_stop(stack["composeId"]) is True
        stopped = await client.docker_get_containers_by_app_name_match(stack["appName"])
        assert (await client.compose_one(stack["composeId"])).compose_status == "idle"
        assert await client.compose_start(stack["composeId"]) is True
        started = await client.docker_get_containers_by_app_name_match(stack["appName"])
    assert {c.state for c in stopped} == {"exited"}
    assert {c.state for c in started} == {"running"}
    assert len(started) == 13


# -- domains -----------------------------------------------------------------------------------------------------------


async def test_domains_crud() -> None:
    fake = FakeDokploy()
    async with fake.client() as client:
        _, compose_id = await new_compose(client)
        created = await client.domain_create(
            host="api.example.test", compose_id=compose_id, service_name="web", port=80
        )
        assert (created.https, created.certificate_type, created.path, created.enabled) == (False, "none", "/", True)
        assert (created.domain_type, created.compose_id, created.internal_path) == ("compose", compose_id, "/")
        assert (await client.domain_one(created.domain_id)).host == "api.example.test"

        updated = await client.domain_update(
            created.domain_id, host="api.example.test", https=True, certificate_type="letsencrypt"
        )
        assert (updated.https, updated.certificate_type, updated.port, updated.service_name) == (
            True,
            "letsencrypt",
            80,
            "web",
        )
        [listed] = await client.domain_by_compose_id(compose_id)
        assert listed.domain_id == created.domain_id
        assert listed.https is True

        deleted = await client.domain_delete(created.domain_id)
        assert deleted.domain_id == created.domain_id
        assert await client.domain_by_compose_id(compose_id) == []
        with pytest.raises(DokployNotFoundError):
            await client.domain_one(created.domain_id)
    assert not fake.domains


async def test_generated_hosts_follow_the_server_ip() -> None:
    fake = FakeDokploy()
    async with fake.client() as client:
        assert await client.settings_get_ip() == ""
        before = await client.domain_generate_domain("compose-calculate-solid-state-application-7higpr")
        settings = await client.settings_update_server_ip("198.51.100.4")
        after = await client.domain_generate_domain("short")
        assert await client.settings_get_ip() == "198.51.100.4"
    assert re.fullmatch(r"compose-calculate-solid-state-applicatio-[0-9a-f]{6}-127-0-0-1\.sslip\.io", before)
    assert settings is not None
    assert settings.server_ip == "198.51.100.4"
    assert re.fullmatch(r"short-[0-9a-f]{6}-198-51-100-4\.sslip\.io", after)


# -- settings, errors, auth --------------------------------------------------------------------------------------------


async def test_settings_routes() -> None:
    fake = FakeDokploy(version="v0.30.9", lets_encrypt_email="ops@example.test")
    async with fake.client() as client:
        assert await client.settings_get_dokploy_version() == "v0.30.9"
        assert await client.settings_health() is True
        assert await client.health() is True
        web = await client.settings_get_web_server_settings()
    assert web.lets_encrypt_email == "ops@example.test"
    assert web.server_ip is None
    assert fake.requests[2] == ("GET", "health", {})


async def test_wrong_or_missing_key_is_the_recorded_401() -> None:
    fake = FakeDokploy()
    async with fake.client(api_key=SecretStr("not-a-valid-key")) as client:
        with pytest.raises(DokployAuthError) as caught:
            await client.project_all()
    assert caught.value.status == 401
    assert caught.value.message == load("project.all--bad-api-key").response_body["message"]
    async with fake.client(api_key=None) as client:
        with pytest.raises(DokployAuthError):
            await client.settings_get_dokploy_version()


async def test_unknown_procedure_and_wrong_method_are_404() -> None:
    fake = FakeDokploy()
    async with fake.client() as client:
        with pytest.raises(DokployNotFoundError) as unknown:
            await client.query("compose.nothingHere")
        with pytest.raises(DokployNotFoundError):
            await client.query("project.create", {"name": "x"})
    assert unknown.value.message == "Not found"
    assert not fake.projects


async def test_missing_required_input_is_the_recorded_400() -> None:
    fake = FakeDokploy()
    async with fake.client() as client:
        _, compose_id = await new_compose(client)
        with pytest.raises(DokployValidationError) as caught:
            await client.mutate(
                "domain.create", {"composeId": compose_id, "serviceName": "web", "domainType": "compose", "port": 8080}
            )
        with pytest.raises(DokployValidationError) as empty_name:
            await client.project_create("")
    recorded = load("domain.create--missing-host").response_body
    assert caught.value.field_errors == recorded["data"]["zodError"]["fieldErrors"]
    assert caught.value.message == recorded["message"]
    assert list(empty_name.value.field_errors) == ["name"]
    assert not fake.domains


async def test_compose_delete_without_delete_volumes_is_accepted_like_the_real_server() -> None:
    fake = FakeDokploy()
    stack = fake.add_supabase_stack(deployed=True)
    async with fake.client() as client:
        deleted = await client.mutate("compose.delete", {"composeId": stack["composeId"]})
        with pytest.raises(DokployNotFoundError) as again:
            await client.compose_delete(stack["composeId"], delete_volumes=True)
        containers = await client.docker_get_containers_by_app_name_match(stack["appName"])
    assert deleted["composeId"] == stack["composeId"]
    assert len(deleted["domains"]) == 1
    assert again.value.message == load("compose.delete--not-found").response_body["message"]
    assert containers == []
    assert not fake.composes
    assert not fake.domains
    assert not fake.deployments
    assert not fake.mounts


async def test_project_remove_cascades_rows_but_leaves_containers() -> None:
    fake = FakeDokploy()
    stack = fake.add_supabase_stack(deployed=True)
    async with fake.client() as client:
        removed = await client.project_remove(stack["environment"]["projectId"])
        assert await client.project_all() == []
        containers = await client.docker_get_containers_by_app_name_match(stack["appName"])
    assert removed.name == "shop"
    assert not fake.environments
    assert not fake.composes
    assert not fake.domains
    assert len(containers) == 13


async def test_unknown_ids_answer_404() -> None:
    fake = FakeDokploy()
    async with fake.client() as client:
        with pytest.raises(DokployNotFoundError) as compose:
            await client.compose_one("does-not-exist")
        with pytest.raises(DokployNotFoundError) as project:
            await client.project_one("does-not-exist")
        with pytest.raises(DokployNotFoundError):
            await client.environment_one("does-not-exist")
        with pytest.raises(DokployNotFoundError):
            await client.compose_deploy("does-not-exist")
    assert compose.value.message == load("compose.one--not-found").response_body["message"]
    assert project.value.message == load("project.one--not-found").response_body["message"]
    assert not fake.deployments


# -- failure injection -------------------------------------------------------------------------------------------------


async def test_fail_answers_the_status_once_and_changes_nothing() -> None:
    fake = FakeDokploy()
    fake.fail("compose.saveEnvironment", status=500, message="disk full")
    async with fake.client() as client:
        _, compose_id = await new_compose(client)
        with pytest.raises(DokployAPIError) as caught:
            await client.compose_save_environment(compose_id, "A=2")
        assert fake.composes[compose_id]["env"] is None
        assert await client.compose_save_environment(compose_id, "A=2") is True
    assert (caught.value.status, caught.value.message, caught.value.code) == (500, "disk full", "INTERNAL_SERVER_ERROR")
    assert fake.composes[compose_id]["env"] == "A=2"


async def test_fail_when_matches_only_the_chosen_input() -> None:
    fake = FakeDokploy()
    async with fake.client() as client:
        _, first = await new_compose(client)
        _, second = await new_compose(client)
        fake.fail("compose.deploy", status=409, times=None, when=lambda body: body["composeId"] == second)
        await client.compose_deploy(first)
        for _ in range(2):
            with pytest.raises(DokployAPIError) as caught:
                await client.compose_deploy(second)
            assert caught.value.status == 409
    assert {d["composeId"] for d in fake.deployments.values()} == {first}


async def test_fail_nth_request_hits_whatever_comes() -> None:
    fake = FakeDokploy()
    async with fake.client() as client:
        _, compose_id = await new_compose(client)
        fake.fail_nth_request(2, status=500)
        await client.compose_save_environment(compose_id, "A=1")
        with pytest.raises(DokployAPIError) as caught:
            await client.domain_create(host="x.example.test", compose_id=compose_id, service_name="web", port=80)
        await client.domain_create(host="x.example.test", compose_id=compose_id, service_name="web", port=80)
    assert caught.value.status == 500
    assert caught.value.path == "/domain.create"
    assert len(fake.domains) == 1


async def test_injected_503_on_a_get_is_retried_by_the_client() -> None:
    fake = FakeDokploy()
    async with fake.client() as client:
        _, compose_id = await new_compose(client)
        fake.fail("compose.one", status=503)
        one = await client.compose_one(compose_id)
    assert one.compose_id == compose_id
    assert [r[1] for r in fake.requests].count("compose.one") == 2


async def test_applied_failure_writes_then_fails_the_answer() -> None:
    fake = FakeDokploy()
    async with fake.client() as client:
        _, compose_id = await new_compose(client)
        fake.fail("compose.saveEnvironment", status=502, applied=True)
        with pytest.raises(DokployAPIError):
            await client.compose_save_environment(compose_id, "LANDED=1")
        fake.fail("compose.deploy", error=httpx.ReadTimeout("injected timeout"), applied=True)
        with pytest.raises(DokployTransportError):
            await client.compose_deploy(compose_id)
    assert fake.composes[compose_id]["env"] == "LANDED=1"
    assert len(fake.deployments) == 1


# -- helpers -----------------------------------------------------------------------------------------------------------


async def test_add_supabase_stack_and_add_compose() -> None:
    fake = FakeDokploy()
    stack = fake.add_supabase_stack(
        env="ONLY=1", domains=[{"host": "db.example.test", "serviceName": "kong", "port": 8000}]
    )
    other = fake.add_compose("shop", "hello", BUSYBOX, env="GREETING=hi")
    async with fake.client() as client:
        one = await client.compose_one(stack["composeId"])
        hello = await client.compose_one(other["composeId"])
        [project] = await client.project_all()
    assert one.env == "ONLY=1"
    assert [d.host for d in one.domains] == ["db.example.test"]
    assert one.compose_status == "idle"
    assert (hello.env, hello.compose_file) == ("GREETING=hi", BUSYBOX)
    assert sorted(c.name for c in project.environments[0].compose) == ["hello", "supabase"]
    assert fake.requests == [("GET", "compose.one", {"composeId": stack["composeId"]}), *fake.requests[1:]]


async def test_ids_look_like_nanoids() -> None:
    fake = FakeDokploy()
    stack = fake.add_supabase_stack(deployed=True)
    ids = [stack["composeId"], stack["environmentId"], *fake.domains, *fake.deployments, *fake.mounts, new_id()]
    assert all(NANOID.fullmatch(value) for value in ids)
    assert len(set(ids)) == len(ids)


# -- shapes match the recordings ---------------------------------------------------------------------------------------


def key_differences(ours: Any, recorded: Any, where: str = "") -> list[str]:
    """Where the key sets of two answers differ, down through nested objects and the first item of lists."""
    if isinstance(ours, dict) and isinstance(recorded, dict):
        problems = []
        if set(ours) != set(recorded):
            problems.append(
                f"{where or '<root>'}: extra {set(ours) - set(recorded)}, missing {set(recorded) - set(ours)}"
            )
        for key in set(ours) & set(recorded):
            problems += key_differences(ours[key], recorded[key], f"{where}.{key}")
        return problems
    if isinstance(ours, list) and isinstance(recorded, list) and ours and recorded:
        return key_differences(ours[0], recorded[0], f"{where}[0]")
    return []


async def test_key_sets_equal_the_recordings() -> None:
    fake = FakeDokploy(deploy_polls=0)
    async with fake.client() as client:
        project_created = await client.mutate("project.create", {"name": "shop", "description": "d", "env": "A=1"})
        environment_id = project_created["environment"]["environmentId"]
        compose_created = await client.mutate(
            "compose.create", {"name": "supabase", "environmentId": environment_id, "sourceType": "raw"}
        )
        compose_id = compose_created["composeId"]
        await client.compose_import_template(compose_id, COMPOSE_YAML, TEMPLATE_TOML)
        hello = await client.compose_create("hello", environment_id, compose_file=BUSYBOX)
        deploy = await client.mutate("compose.deploy", {"composeId": hello.compose_id, "title": "t"})
        deployments = await client.query("deployment.allByCompose", {"composeId": hello.compose_id})
        domain = await client.mutate(
            "domain.create",
            {"host": "h.example.test", "port": 8080, "composeId": hello.compose_id, "serviceName": "web"},
        )
        answers = {
            "project.create": project_created,
            "compose.create--supabase": compose_created,
            "compose.one--supabase-imported": await client.query("compose.one", {"composeId": compose_id}),
            "compose.one--first-deploy-done": await client.query("compose.one", {"composeId": hello.compose_id}),
            "project.all--with-services": await client.query("project.all"),
            "project.one": await client.query("project.one", {"projectId": project_created["project"]["projectId"]}),
            "environment.one--with-services": await client.query("environment.one", {"environmentId": environment_id}),
            "environment.byProjectId": await client.query(
                "environment.byProjectId", {"projectId": project_created["project"]["projectId"]}
            ),
            "compose.deploy": deploy,
            "deployment.allByCompose--first-deploy-done": deployments,
            "domain.create": domain,
            "domain.one": await client.query("domain.one", {"domainId": domain["domainId"]}),
            "domain.byComposeId": await client.query("domain.byComposeId", {"composeId": hello.compose_id}),
            "domain.update": await client.mutate(
                "domain.update", {"domainId": domain["domainId"], "host": "h.example.test", "https": True}
            ),
            "compose.update": await client.mutate("compose.update", {"composeId": hello.compose_id, "env": "B=2"}),
            "docker.getContainersByAppNameMatch": await client.query(
                "docker.getContainersByAppNameMatch", {"appName": hello.app_name, "appType": "docker-compose"}
            ),
            "settings.getWebServerSettings": await client.query("settings.getWebServerSettings"),
            "settings.health": await client.query("settings.health"),
            "domain.delete": await client.mutate("domain.delete", {"domainId": domain["domainId"]}),
            "compose.delete--supabase": await client.mutate(
                "compose.delete", {"composeId": compose_id, "deleteVolumes": True}
            ),
            "project.remove": await client.mutate(
                "project.remove", {"projectId": project_created["project"]["projectId"]}
            ),
        }
    for name, ours in answers.items():
        recorded = load(name).response_body
        assert ours, f"{name}: the double answered nothing to compare"
        assert type(ours) is type(recorded), name
        assert key_differences(ours, recorded) == [], name
