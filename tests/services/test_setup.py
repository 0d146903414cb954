"""services.setup on a FakeDokploy: the wizard runs on the server asked for, with the runtime's kong gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dokploy_mcp.config import DokployServerConfig, load_settings
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.runtime import Runtime
from dokploy_mcp.services.setup import setup_stack
from dokploy_mcp.supabase.wizard_input import WizardInput
from tests.fake_dokploy import SERVERS, FakeDokploy
from tests.supabase.test_regenerate import DeployedKong

pytestmark = pytest.mark.anyio


@pytest.fixture
async def rt(fake: FakeDokploy) -> AsyncIterator[Runtime]:
    kong = DeployedKong(fake)

    def client_factory(config: DokployServerConfig, timeout: float) -> DokployClient:
        return fake.client(name=config.name, timeout=timeout)

    async with Runtime(
        load_settings(), SERVERS, client_factory=client_factory, gateway_factory=kong.factory
    ) as runtime:
        yield runtime


async def test_the_wizard_deploys_on_the_default_server_and_probes_through_the_runtime_gateway(
    rt: Runtime, fake: FakeDokploy
) -> None:
    messages: list[str] = []

    async def progress(message: str) -> None:
        messages.append(message)

    result = await setup_stack(rt, None, WizardInput(project="Acme", wait_seconds=30), progress)
    assert result.status == "ready", (result.failed_step, result.error, result.probe)
    assert result.stack is not None and result.stack.startswith("default:")
    assert [p["name"] for p in fake.projects.values()] == ["acme"]
    assert any(message.startswith("step 1/") for message in messages)


async def _quiet(message: str) -> None:
    return None


async def test_adopting_a_deployed_stack_the_wizard_did_not_create_waits_for_its_token(
    rt: Runtime, fake: FakeDokploy
) -> None:
    compose = fake.add_supabase_stack("acme", "supabase", deployed=True)
    before = fake.composes[compose["composeId"]]["env"]
    spec = WizardInput(project="Acme", wait_seconds=30, adopt=True, domain="api.acme.example")
    preview = await setup_stack(rt, None, spec, _quiet)
    assert preview.status == "confirm" and preview.confirm_token is not None
    assert preview.warnings and "signs every user out" in preview.warnings[0]
    assert fake.composes[compose["composeId"]]["env"] == before
    assert not any(d.get("host") == "api.acme.example" for d in fake.domains.values())
    done = await setup_stack(rt, None, spec, _quiet, confirm_token=preview.confirm_token)
    assert done.status == "ready", (done.failed_step, done.error)
    assert done.compose_id == compose["composeId"]
    assert any(d.get("host") == "api.acme.example" for d in fake.domains.values())


async def test_a_stack_the_wizard_created_resumes_without_adopt_or_token(rt: Runtime, fake: FakeDokploy) -> None:
    first = await setup_stack(rt, None, WizardInput(project="Acme", wait_seconds=30), _quiet)
    assert first.status == "ready"
    again = await setup_stack(rt, None, WizardInput(project="Acme", wait_seconds=30), _quiet)
    assert again.status == "ready" and again.compose_id == first.compose_id
    assert len([c for c in fake.composes.values() if c["name"] == "supabase"]) == 1
