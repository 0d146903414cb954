"""Every tool's annotations are true to what its code does (issue 14, item 5).

Each registered tool is driven through its paths (previews and their confirmation included, in token mode) against
the stateful Dokploy double, and the Dokploy requests it caused are read back: a tool annotated read-only never
sends a mutation (a POST), and a tool that sends one that deletes or overwrites (an env written over, a domain, a
compose or a project deleted) is annotated destructive. A new tool fails here until it has its sample calls.
"""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from dokploy_mcp.config import DokployServerConfig, load_settings
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.registry import ToolSpec, select_tools
from dokploy_mcp.server import build_server
from dokploy_mcp.tools import all_specs
from tests.fake_dokploy import SERVERS, FakeDokploy
from tests.tools.test_deploy import gateway_for

pytestmark = pytest.mark.anyio

#: Dokploy procedures that delete or overwrite what exists.
DESTRUCTIVE = frozenset({"compose.saveEnvironment", "domain.delete", "compose.delete", "project.remove"})
STACK = "shop/supabase"
#: Calls that exercise each tool's paths; a call answered with a confirm_token is made again with it.
SAMPLES: dict[str, list[dict[str, Any]]] = {
    "health_check": [{}],
    "job_status": [{}],
    "cancel_job": [{"job_id": "job_0123456789ab"}],
    "dokploy_setup_wizard": [{"project": "Annotations"}, {"project": "Shop", "adopt": True}],
    "dokploy_list_instances": [{}],
    "dokploy_validate_config": [{"stack": STACK}],
    "dokploy_update_env": [{"stack": STACK, "set": {"SMTP_PASS": "another-password-1"}, "redeploy": True}],
    "dokploy_regenerate_keys": [{"stack": STACK, "mode": "resign", "verify": False}],
    "list_domains": [{"stack": STACK}],
    "manage_domain": [
        {"stack": STACK, "action": "update", "host": "api.other.example", "redeploy": True},
        {"stack": STACK, "action": "remove"},
    ],
    "connect": [{"target": STACK}],
    "execute_sql": [{"sql": "select 1", "target": STACK}],
    "monitor_connections": [{"target": STACK}],
    "inspect_schema": [{"target": STACK}],
    "list_migrations": [{"target": STACK}],
    "apply_migration": [{"target": STACK, "name": "drop_it", "sql": "drop table public.t;"}],
    "rollback_migration": [{"target": STACK, "version": "20260101000000"}],
    "generate_diff": [{"source": STACK, "target": STACK}],
    "cross_instance_migrate": [
        {"source": STACK, "target": "postgresql://postgres@127.0.0.1:1/copy"},
        {"source": STACK, "target": "shop/other", "what": "schema", "dry_run": True},
    ],
    "create_backup": [{"target": "postgresql://postgres@127.0.0.1:1/x", "wait_s": 5}],
    "restore_backup": [
        {"backup_id": "20260101T000000Z-abcdef", "target": "postgresql://postgres@127.0.0.1:1/x", "wait_s": 5},
        {"backup_id": "20260101T000000Z-abcdef", "over_existing": True, "wait_s": 5},
    ],
    "list_backups": [{}],
    "cleanup_backups": [{"keep_last": 1}, {"keep_last": 1, "dry_run": False}],
    "dokploy_monitor_health": [{"stack": STACK}],
    "dokploy_get_logs": [{"stack": STACK, "service": "kong"}],
    "aggregate_logs": [{"stack": STACK}],
    "audit_log": [{}],
}


def _specs() -> list[ToolSpec]:
    return select_tools(all_specs(), load_settings())


async def _mutations(spec: ToolSpec) -> set[str]:
    fake = FakeDokploy(lets_encrypt_email="ops@example.com", deploy_polls=0)
    stack = fake.add_supabase_stack("shop", "supabase", deployed=True)

    def client_factory(config: DokployServerConfig, timeout: float) -> DokployClient:
        return fake.client(name=config.name, timeout=timeout)

    server = build_server(
        load_settings(confirm="token"),
        servers=SERVERS,
        client_factory=client_factory,
        gateway_factory=gateway_for(fake, stack["composeId"]),
    )
    async with Client(server) as mcp:
        for arguments in SAMPLES[spec.name]:
            result = await mcp.call_tool(spec.name, arguments)
            token = (result.structured_content or {}).get("confirm_token")
            if token:
                await mcp.call_tool(spec.name, {**arguments, "confirm_token": token})
    return {procedure for method, procedure, _ in fake.requests if method == "POST"}


def test_every_tool_has_sample_calls() -> None:
    assert {spec.name for spec in _specs()} <= set(SAMPLES)


@pytest.mark.parametrize("spec", _specs(), ids=lambda spec: spec.name)
async def test_annotations_match_what_the_tool_does(spec: ToolSpec) -> None:
    sent = await _mutations(spec)
    if spec.read_only:
        assert sent == set(), f"{spec.name} is annotated read-only but sent {sorted(sent)}"
    if sent & DESTRUCTIVE:
        assert spec.destructive, f"{spec.name} sent {sorted(sent & DESTRUCTIVE)} but is not annotated destructive"


async def test_the_check_sees_a_destructive_tool_at_all() -> None:
    # Guards the test itself: the samples do reach the destructive paths.
    by_name = {spec.name: spec for spec in _specs()}
    assert {"domain.delete"} <= await _mutations(by_name["manage_domain"])
    assert {"compose.saveEnvironment"} <= await _mutations(by_name["dokploy_regenerate_keys"])
