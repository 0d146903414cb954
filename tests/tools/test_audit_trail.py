"""Every change lands in the audit trail, written by the registry and the job runner (issue 14, item 7).

The calls go through the real server and the stateful Dokploy double; the trail is read back with the server's own
``AuditLog.recent``, as the ``audit_log`` tool reads it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client

from dokploy_mcp.audit import AuditLog
from dokploy_mcp.config import load_settings
from dokploy_mcp.server import build_server
from tests.fake_dokploy import SERVERS, FakeDokploy
from tests.tools.test_deploy import call, gateway_for
from tests.tools.test_jobs import ALLOWANCE, Gate, GatedTransport, finished
from tests.tools.test_person_confirms import Person

pytestmark = pytest.mark.anyio


def server(fake: FakeDokploy, stack: dict[str, Any], log: Path, gates: list[Gate] | None = None) -> Any:
    transport = GatedTransport(fake.transport, gates or [])
    return build_server(
        load_settings(audit_log=str(log), call_budget=2),
        servers=SERVERS,
        client_factory=lambda config, timeout: fake.client(name=config.name, timeout=timeout, transport=transport),
        gateway_factory=gateway_for(fake, stack["composeId"]),
    )


async def test_changes_are_audited_with_who_confirmed_and_reads_are_not(tmp_path: Path) -> None:
    fake = FakeDokploy(lets_encrypt_email="ops@example.com", deploy_polls=0)
    stack = fake.add_supabase_stack("shop", "supabase", deployed=True)
    log = tmp_path / "audit.jsonl"
    async with Client(server(fake, stack, log), mode="2026-07-28", elicitation_callback=Person("accept")) as mcp:
        await call(mcp, "dokploy_list_instances")
        await call(mcp, "dokploy_update_env", stack="shop/supabase", set={"SMTP_PASS": "new-smtp-password-99"})
        await call(mcp, "dokploy_regenerate_keys", stack="shop/supabase", mode="rotate", verify=False)
    entries = AuditLog(load_settings(audit_log=str(log))).recent()
    assert [e["tool"] for e in entries] == ["dokploy_regenerate_keys", "dokploy_update_env"]
    keys, env = entries
    assert (keys["target"], keys["confirmed"], keys["outcome"]) == ("shop/supabase", "person", "ok: done")
    assert env["confirmed"] == "person" and env["outcome"] == "ok: saved"
    assert env["arguments"]["set"] == {"SMTP_PASS": "****"}
    assert "new-smtp-password-99" not in log.read_text()


async def test_a_job_that_outlives_its_call_writes_the_last_line_with_what_it_restored(tmp_path: Path) -> None:
    fake = FakeDokploy(lets_encrypt_email="ops@example.com", deploy_polls=1)
    stack = fake.add_supabase_stack("shop", "supabase", deployed=True)
    log = tmp_path / "audit.jsonl"
    gate = Gate("compose.redeploy")
    async with Client(server(fake, stack, log, [gate])) as mcp:
        started = await call(
            mcp, "dokploy_update_env", stack="shop/supabase", set={"DISABLE_SIGNUP": "true"}, redeploy=True, wait_s=0
        )
        job_id = started["job"]["job_id"]
        with anyio.fail_after(ALLOWANCE):
            await gate.reached.wait()
        running = AuditLog(load_settings(audit_log=str(log))).recent()[0]
        assert running["outcome"] == f"running as {job_id}"
        await call(mcp, "cancel_job", job_id=job_id, wait_s=0)
        gate.release.set()
        await finished(mcp, job_id)
    entries = AuditLog(load_settings(audit_log=str(log))).recent()
    env = next(e for e in entries if e["tool"] == "dokploy_update_env")
    assert env["outcome"].startswith("cancelled"), env
    assert "previous env restored" in env["restored"]
    assert any(e["tool"] == "cancel_job" and e["target"] == job_id for e in entries)


async def test_dry_runs_and_reads_through_a_writing_tool_are_not_changes(tmp_path: Path, pg_database_url: str) -> None:
    fake = FakeDokploy(lets_encrypt_email="ops@example.com", deploy_polls=0)
    fake.add_supabase_stack("shop", "supabase", deployed=True)
    log = tmp_path / "audit.jsonl"
    settings = load_settings(audit_log=str(log), database_url=pg_database_url)
    mcp_server = build_server(
        settings, servers=SERVERS, client_factory=lambda config, timeout: fake.client(name=config.name, timeout=timeout)
    )
    async with Client(mcp_server) as mcp:
        await call(mcp, "dokploy_update_env", stack="shop/supabase", set={"DISABLE_SIGNUP": "true"}, dry_run=True)
        await call(mcp, "execute_sql", sql="select 1")
        await call(mcp, "execute_sql", sql="create temporary table audited_write (n int)", allow_write=True)
    assert [e["tool"] for e in AuditLog(settings).recent()] == ["execute_sql"]
