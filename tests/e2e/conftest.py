"""End-to-end fixtures: a real Dokploy given by DOKPLOY_E2E_URL and DOKPLOY_E2E_API_KEY. Nothing here is faked.

Without both variables every e2e test is skipped with a loud reason (the only suite allowed to skip in CI). Each
test makes its own uniquely named project and removes everything it made, also when it fails: every compose with
``compose.delete(deleteVolumes=true)``, then the project.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters
from pydantic import SecretStr

from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.deployments import deploy_and_wait
from dokploy_mcp.dokploy.errors import DokployError, DokployNotFoundError
from dokploy_mcp.dokploy.models import Compose, ProjectCreated

E2E_URL = os.environ.get("DOKPLOY_E2E_URL", "")
E2E_KEY = os.environ.get("DOKPLOY_E2E_API_KEY", "")
E2E_IMAGE = os.environ.get("DOKPLOY_E2E_IMAGE", "busybox")
E2E_FULL = os.environ.get("DOKPLOY_E2E_FULL") == "1"
E2E_TEMPLATE_DIR = os.environ.get("DOKPLOY_E2E_TEMPLATE_DIR", "")
#: Printed in every log line of the small test compose, so its logs can be recognised.
LOG_MARKER = "dokploy-mcp-e2e-marker"

SKIP_REASON = (
    "E2E SKIPPED: no real Dokploy configured. Set DOKPLOY_E2E_URL (e.g. http://127.0.0.1:3000) and "
    "DOKPLOY_E2E_API_KEY (a key without rate limit: `dokploy-mcp bootstrap` makes one) to run tests/e2e against a "
    "real Dokploy v0.30.2; see tests/README.md"
)

full_only = pytest.mark.skipif(
    not E2E_FULL, reason="DOKPLOY_E2E_FULL=1 runs the slow cases that pull the Supabase images (minutes)"
)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    here = Path(__file__).parent
    for item in items:
        if here in Path(str(item.path)).parents:
            item.add_marker(pytest.mark.e2e)
            if not (E2E_URL and E2E_KEY):
                item.add_marker(pytest.mark.skip(reason=SKIP_REASON))


def busybox_compose_file(image: str = E2E_IMAGE) -> str:
    # No "$" anywhere: Dokploy's compose env substitution would eat it.
    return (
        "services:\n"
        "  web:\n"
        f"    image: {image}\n"
        f'    command: ["sh", "-c", "while true; do echo {LOG_MARKER}; sleep 2; done"]\n'
    )


def mcp_server(*args: str, **env: str) -> StdioServerParameters:
    """The real dokploy-mcp as a stdio subprocess pointed at the e2e Dokploy."""
    return StdioServerParameters(
        command=sys.executable,
        args=["-m", "dokploy_mcp", *args],
        env={"DOKPLOY_URL": E2E_URL, "DOKPLOY_API_KEY": E2E_KEY, **env},
    )


@pytest.fixture
async def dokploy() -> AsyncIterator[DokployClient]:
    """A direct client, for setting up and checking what the server under test did."""
    async with DokployClient(base_url=E2E_URL, api_key=SecretStr(E2E_KEY), name="e2e", timeout=120) as client:
        yield client


@pytest.fixture
async def mcp() -> AsyncIterator[Client]:
    async with Client(mcp_server()) as client:
        yield client


@dataclass
class E2EProject:
    created: ProjectCreated
    name: str

    @property
    def project_id(self) -> str:
        return self.created.project.project_id

    @property
    def environment_id(self) -> str:
        return self.created.environment.environment_id


@pytest.fixture
async def project(dokploy: DokployClient) -> AsyncIterator[E2EProject]:
    name = f"e2e-{secrets.token_hex(4)}"
    created = await dokploy.project_create(name, description=f"dokploy-mcp e2e test project {name}")
    try:
        yield E2EProject(created, name)
    finally:
        with anyio.CancelScope(shield=True):
            await remove_project(dokploy, created.project.project_id)


async def remove_project(dokploy: DokployClient, project_id: str) -> None:
    """Delete every compose of the project with its volumes, then the project (it only removes database rows)."""
    try:
        project = await dokploy.project_one(project_id)
    except DokployNotFoundError:
        return
    for environment in project.environments:
        for compose in environment.compose:
            with contextlib.suppress(DokployNotFoundError):
                await dokploy.compose_delete(compose.compose_id, delete_volumes=True)
    await dokploy.project_remove(project_id)


async def create_busybox(dokploy: DokployClient, project: E2EProject, *, image: str = E2E_IMAGE) -> Compose:
    return await dokploy.compose_create(
        "busybox",
        project.environment_id,
        description="dokploy-mcp e2e busybox",
        compose_file=busybox_compose_file(image),
        source_type="raw",
    )


@pytest.fixture
async def deployed_busybox(dokploy: DokployClient, project: E2EProject) -> Compose:
    """A small compose of DOKPLOY_E2E_IMAGE, deployed and waited to ``done``."""
    compose = await create_busybox(dokploy, project)
    outcome = await deploy_and_wait(dokploy, compose.compose_id, title="e2e deploy", wait_seconds=300)
    assert outcome.succeeded, f"busybox deploy ended {outcome.status}:\n{outcome.log_tail}"
    return await dokploy.compose_one(compose.compose_id)


@pytest.fixture
async def supabase_stack(dokploy: DokployClient, project: E2EProject) -> Compose:
    """A Supabase stack made from Dokploy's template, NOT deployed.

    From DOKPLOY_E2E_TEMPLATE_DIR (docker-compose.yml + template.toml, imported offline with compose.import) when
    set, else from Dokploy's template catalogue (compose.deployTemplate: the Dokploy host needs internet).
    """
    if E2E_TEMPLATE_DIR:
        folder = Path(E2E_TEMPLATE_DIR)
        compose = await dokploy.compose_create("supabase", project.environment_id, source_type="raw")
        await dokploy.compose_import_template(
            compose.compose_id,
            (folder / "docker-compose.yml").read_text(encoding="utf-8"),
            (folder / "template.toml").read_text(encoding="utf-8"),
        )
    else:
        try:
            compose = await dokploy.compose_deploy_template(project.environment_id, "supabase")
        except DokployError as exc:
            pytest.fail(
                f"compose.deployTemplate failed ({exc}); without internet on the Dokploy host set "
                "DOKPLOY_E2E_TEMPLATE_DIR=tests/fixtures/supabase/dokploy-template",
                pytrace=False,
            )
    return await dokploy.compose_one(compose.compose_id)
