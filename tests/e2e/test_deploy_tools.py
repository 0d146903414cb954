"""E2E cases of the deploy toolset: the real server over stdio against a real Dokploy (see tests/README.md).

The stack cases work on a Supabase stack imported from the template and never deployed, so they take seconds; the
wizard and the key repair pull the Supabase images and run only with DOKPLOY_E2E_FULL=1.
"""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from mcp import Client

from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.models import Compose
from dokploy_mcp.supabase.env import EnvFile
from tests.e2e.conftest import E2E_TEMPLATE_DIR, E2EProject, full_only, remove_project

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(900)]


async def call(mcp: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await mcp.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def finish(mcp: Client, answer: dict[str, Any]) -> dict[str, Any]:
    """The final result of a long call: the answer itself, or, when it runs on as a job, what job_status returns
    once the job has finished (each job_status call waits up to the server's call budget)."""
    while answer.get("status") == "running":
        report = await call(mcp, "job_status", job_id=answer["job"]["job_id"])
        job = report["jobs"][0]
        if job["finished_at"] is not None:
            assert report["result"] is not None, job
            return dict(report["result"])
    return answer


async def test_list_instances_finds_the_imported_stack(mcp: Client, supabase_stack: Compose) -> None:
    listed = await call(mcp, "dokploy_list_instances")
    found = [
        s for server in listed["servers"] for s in server["stacks"] if s["compose_id"] == supabase_stack.compose_id
    ]
    assert len(found) == 1
    assert found[0]["status"] == "idle"
    assert found[0]["public_url"] is not None


async def test_validate_config_finds_the_templates_known_defects(mcp: Client, supabase_stack: Compose) -> None:
    report = await call(mcp, "dokploy_validate_config", stack=supabase_stack.compose_id)
    codes = {f["code"] for f in report["findings"]}
    # The template leaves SITE_URL at localhost and SMTP on a mail service the stack does not have.
    assert {"site_url_localhost", "smtp_placeholder"} <= codes
    env = EnvFile.parse(supabase_stack.env or "")
    secret = env.get("JWT_SECRET") or ""
    assert secret and secret not in str(report)


async def test_update_env_dry_run_then_a_real_change_read_back(
    mcp: Client, dokploy: DokployClient, supabase_stack: Compose
) -> None:
    site = f"https://app-{secrets.token_hex(3)}.example.com"
    preview = await call(
        mcp, "dokploy_update_env", stack=supabase_stack.compose_id, set={"SITE_URL": site}, dry_run=True
    )
    assert preview["saved"] is False
    assert (await dokploy.compose_one(supabase_stack.compose_id)).env == supabase_stack.env

    result = await call(mcp, "dokploy_update_env", stack=supabase_stack.compose_id, set={"SITE_URL": site})
    assert result["saved"] is True
    stored = await dokploy.compose_one(supabase_stack.compose_id)
    assert EnvFile.parse(stored.env or "").get("SITE_URL") == site
    before_lines = (supabase_stack.env or "").splitlines()
    after_lines = (stored.env or "").splitlines()
    assert len(before_lines) == len(after_lines)
    assert sum(a != b for a, b in zip(before_lines, after_lines, strict=True)) == 1


async def test_manage_domain_moves_and_strips_the_kong_domain_without_redeploying(
    mcp: Client, dokploy: DokployClient, supabase_stack: Compose
) -> None:
    host = f"api-{secrets.token_hex(3)}.example.com"
    updated = await call(mcp, "manage_domain", stack=supabase_stack.compose_id, action="update", host=host, https=True)
    assert [d["host"] for d in updated["domains"]] == [host]
    env = EnvFile.parse((await dokploy.compose_one(supabase_stack.compose_id)).env or "")
    assert env.get("API_EXTERNAL_URL") == f"https://{host}"
    assert env.get("SUPABASE_PUBLIC_URL") == f"https://{host}"

    preview = await call(mcp, "manage_domain", stack=supabase_stack.compose_id, action="remove")
    removed = await call(
        mcp, "manage_domain", stack=supabase_stack.compose_id, action="remove", confirm_token=preview["confirm_token"]
    )
    assert removed["domains"] == []
    assert await dokploy.domain_by_compose_id(supabase_stack.compose_id) == []
    assert (await dokploy.compose_one(supabase_stack.compose_id)).compose_status == "idle"


@full_only
@pytest.mark.timeout(3600)
async def test_setup_wizard_deploys_a_stack_and_resumes(mcp: Client, dokploy: DokployClient) -> None:
    name = f"e2e-wizard-{secrets.token_hex(3)}"
    arguments: dict[str, Any] = {"project": name}
    if E2E_TEMPLATE_DIR:
        arguments["template"] = E2E_TEMPLATE_DIR
    try:
        first = await finish(mcp, await call(mcp, "dokploy_setup_wizard", **arguments))
        assert first["status"] in {"ready", "deployed_unverified"}, first
        assert first["deploy"]["status"] == "done"
        again = await finish(mcp, await call(mcp, "dokploy_setup_wizard", **arguments))
        assert again["project_id"] == first["project_id"]
        assert again["compose_id"] == first["compose_id"]
    finally:
        projects = [p for p in await dokploy.project_all() if p.name == name]
        for project in projects:
            await remove_project(dokploy, project.project_id)


@full_only
@pytest.mark.timeout(3600)
async def test_regenerate_keys_resign_on_a_deployed_stack(
    mcp: Client, dokploy: DokployClient, project: E2EProject, supabase_stack: Compose
) -> None:
    from dokploy_mcp.dokploy.deployments import deploy_and_wait

    outcome = await deploy_and_wait(dokploy, supabase_stack.compose_id, wait_seconds=3000)
    assert outcome.succeeded, outcome.log_tail
    # The sslip.io domain of an e2e host is usually not reachable from the tests: verify only where it is.
    preview = await call(mcp, "dokploy_regenerate_keys", stack=supabase_stack.compose_id, mode="resign", verify=False)
    started = await call(
        mcp,
        "dokploy_regenerate_keys",
        stack=supabase_stack.compose_id,
        mode="resign",
        verify=False,
        confirm_token=preview["confirm_token"],
    )
    done = await finish(mcp, started)
    assert done["status"] == "done", done
    env = EnvFile.parse((await dokploy.compose_one(supabase_stack.compose_id)).env or "")
    assert env.get("ANON_KEY") != EnvFile.parse(supabase_stack.env or "").get("ANON_KEY")


@full_only
@pytest.mark.timeout(3600)
async def test_cancel_job_mid_redeploy_leaves_the_env_as_it_was(
    mcp: Client, dokploy: DokployClient, project: E2EProject, supabase_stack: Compose
) -> None:
    before = (await dokploy.compose_one(supabase_stack.compose_id)).env or ""
    started = await call(
        mcp,
        "dokploy_update_env",
        stack=supabase_stack.compose_id,
        set={"SITE_URL": f"https://{secrets.token_hex(4)}.example"},
        redeploy=True,
        wait_s=0,
    )
    assert started["status"] == "running", started
    job_id = started["job"]["job_id"]
    # Wait until the redeploy has been queued (a step after the write), then stop the job.
    while not any(step.startswith("deployment ") for step in started["job"]["steps_done"]):
        started = {"job": (await call(mcp, "job_status", job_id=job_id, wait_s=2))["jobs"][0]}
        if started["job"]["finished_at"] is not None:
            pytest.skip("the redeploy finished before it could be stopped")  # a cached, fast host: nothing to stop
    final = (await call(mcp, "cancel_job", job_id=job_id))["jobs"][0]
    while final["finished_at"] is None:
        final = (await call(mcp, "job_status", job_id=job_id))["jobs"][0]
    assert final["status"] == "stopped", final
    assert "previous env restored" in final["steps_done"]
    assert (await dokploy.compose_one(supabase_stack.compose_id)).env == before
