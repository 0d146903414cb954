"""services.setup on a FakeDokploy: the wizard runs on the server asked for, with the runtime's kong gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from dokploy_mcp.config import DokployServerConfig, load_settings
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.runtime import Runtime
from dokploy_mcp.services.setup import setup_stack
from dokploy_mcp.supabase.wizard import WizardInput
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
