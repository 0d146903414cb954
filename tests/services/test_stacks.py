"""services.stacks on a FakeDokploy: listing and checking stacks, opening any compose, the env update, and the domain
flow with its restore and confirmation."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from dokploy_mcp.config import DokployServerConfig, load_settings
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.models import LETS_ENCRYPT_EMAIL_MISSING
from dokploy_mcp.errors import InputError
from dokploy_mcp.runtime import Runtime
from dokploy_mcp.services import stacks
from dokploy_mcp.services.stacks import (
    DomainRequest,
    EnvRequest,
    compose_masker,
    list_stacks,
    manage_domain,
    open_compose,
    update_env,
    validate_config,
)
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.errors import StackNotFoundError
from dokploy_mcp.supabase.stack import SupabaseStack
from tests.fake_dokploy import SERVERS, FakeDokploy

pytestmark = pytest.mark.anyio


@pytest.fixture
async def rt(fake: FakeDokploy) -> AsyncIterator[Runtime]:
    def client_factory(config: DokployServerConfig, timeout: float) -> DokployClient:
        return fake.client(name=config.name, timeout=timeout)

    async with Runtime(load_settings(), SERVERS, client_factory=client_factory) as runtime:
        yield runtime


async def no_progress(message: str) -> None:
    return None


def kong_domains(fake: FakeDokploy, compose_id: str) -> list[dict[str, Any]]:
    return [d for d in fake.domains.values() if d["composeId"] == compose_id]


# -- list_stacks, validate_config -----------------------------------------------------------------------------------


async def test_list_stacks_names_an_unknown_server_and_lists_a_known_one(rt: Runtime, stack: dict[str, Any]) -> None:
    with pytest.raises(InputError) as unknown:
        await list_stacks(rt, "nowhere")
    assert unknown.value.field == "server" and "configured: default" in str(unknown.value)
    [server] = await list_stacks(rt, "default")
    assert [s.compose_id for s in server.stacks] == [stack["composeId"]]


async def test_validate_config_checks_a_stack_or_raw_text_but_not_both(rt: Runtime, stack: dict[str, Any]) -> None:
    report = await validate_config(rt, "shop/supabase", None)
    assert report.stack is not None and report.stack.endswith(stack["composeId"])
    offline = await validate_config(rt, None, stack["env"])
    assert offline.stack is None
    for both in (("shop/supabase", stack["env"]), (None, None)):
        with pytest.raises(InputError, match="exactly one of stack or env_text"):
            await validate_config(rt, *both)


# -- update_env -------------------------------------------------------------------------------------------------------


async def test_a_dry_run_shows_the_changes_and_writes_nothing(
    rt: Runtime, fake: FakeDokploy, stack: dict[str, Any]
) -> None:
    before = fake.composes[stack["composeId"]]["env"]
    request = EnvRequest(set_values={"SITE_URL": "https://app.example.com"}, dry_run=True)
    outcome = await update_env(rt, "shop/supabase", request, no_progress)
    assert outcome.status == "dry_run" and outcome.redeploy is None
    assert [(c.key, c.new) for c in outcome.changes] == [("SITE_URL", "https://app.example.com")]
    assert fake.composes[stack["composeId"]]["env"] == before


async def test_an_update_is_saved_and_redeployed_when_asked(
    rt: Runtime, fake: FakeDokploy, stack: dict[str, Any]
) -> None:
    request = EnvRequest(set_values={"SITE_URL": "https://app.example.com"}, redeploy=True, wait_seconds=30)
    outcome = await update_env(rt, "shop/supabase", request, no_progress)
    assert outcome.status == "saved"
    assert outcome.redeploy is not None and outcome.redeploy.status == "done"
    assert EnvFile.parse(fake.composes[stack["composeId"]]["env"]).get("SITE_URL") == "https://app.example.com"


async def test_an_update_to_the_current_values_changes_nothing(rt: Runtime, stack: dict[str, Any]) -> None:
    current = EnvFile.parse(stack["env"]).get("SITE_URL") or ""
    outcome = await update_env(rt, "shop/supabase", EnvRequest(set_values={"SITE_URL": current}), no_progress)
    assert outcome.status == "unchanged" and outcome.changes == []


# -- open_compose -------------------------------------------------------------------------------------------------


async def test_open_compose_opens_a_plain_compose_too(rt: Runtime, fake: FakeDokploy) -> None:
    plain = fake.add_compose("shop", "worker", "services:\n  worker:\n    image: busybox\n", env="TOKEN=s3cr3t-value\n")
    _, ref, compose = await open_compose(rt, "shop/worker")
    assert ref.compose_id == plain["composeId"] and compose.compose_id == plain["composeId"]
    assert compose_masker(compose)("token s3cr3t-value") != "token s3cr3t-value"


async def test_a_compose_gone_between_resolve_and_read_is_not_found(
    rt: Runtime, fake: FakeDokploy, stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from dokploy_mcp.dokploy.errors import DokployNotFoundError

    async def gone(self: DokployClient, compose_id: str) -> Any:
        raise DokployNotFoundError(server="default", status=404, path="compose.one", message="not found")

    monkeypatch.setattr(DokployClient, "compose_one", gone)
    with pytest.raises(StackNotFoundError, match="no longer exists"):
        await open_compose(rt, "shop/supabase")


# -- manage_domain ------------------------------------------------------------------------------------------------


async def test_list_changes_nothing(rt: Runtime, stack: dict[str, Any]) -> None:
    outcome = await manage_domain(rt, "shop/supabase", DomainRequest("list"), no_progress)
    assert outcome.status == "listed" and outcome.address.endswith(stack["composeId"])
    assert len(outcome.domains) == 1 and outcome.env_changes == [] and outcome.notes == []


async def test_a_dry_run_plans_the_url_variables_and_changes_nothing(
    rt: Runtime, fake: FakeDokploy, stack: dict[str, Any]
) -> None:
    before = kong_domains(fake, stack["composeId"])
    request = DomainRequest("update", host="api.example.com", https=True, dry_run=True)
    outcome = await manage_domain(rt, "shop/supabase", request, no_progress)
    assert outcome.status == "dry_run"
    assert {c.key for c in outcome.env_changes} >= {"API_EXTERNAL_URL", "SUPABASE_PUBLIC_URL"}
    assert kong_domains(fake, stack["composeId"]) == before


async def test_an_update_is_applied_and_the_domains_are_read_back(
    rt: Runtime, fake: FakeDokploy, stack: dict[str, Any]
) -> None:
    request = DomainRequest("update", host="api.example.com", https=True)
    outcome = await manage_domain(rt, "shop/supabase", request, no_progress)
    assert outcome.status == "applied" and outcome.redeploy is None
    [domain] = outcome.domains
    assert (domain.host, domain.https) == ("api.example.com", True)
    env = EnvFile.parse(fake.composes[stack["composeId"]]["env"] or "")
    assert env.get("API_EXTERNAL_URL") == "https://api.example.com"


async def test_a_failed_env_write_puts_the_domain_back(
    rt: Runtime, fake: FakeDokploy, stack: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    [before] = kong_domains(fake, stack["composeId"])
    saved = dict(before)

    async def refused(client: DokployClient, found: SupabaseStack, new_env: EnvFile) -> None:
        raise RuntimeError("env write refused")

    monkeypatch.setattr(stacks, "write_env", refused)
    with pytest.raises(RuntimeError, match="env write refused"):
        await manage_domain(rt, "shop/supabase", DomainRequest("update", host="api.example.com"), no_progress)
    [after] = kong_domains(fake, stack["composeId"])
    assert (after["host"], after["https"]) == (saved["host"], saved["https"])


async def test_an_update_with_redeploy_waits_for_the_deployment(rt: Runtime, stack: dict[str, Any]) -> None:
    messages: list[str] = []

    async def progress(message: str) -> None:
        messages.append(message)

    request = DomainRequest("update", host="api.example.com", https=True, redeploy=True, wait_seconds=30)
    outcome = await manage_domain(rt, "shop/supabase", request, progress)
    assert outcome.redeploy is not None and outcome.redeploy.status == "done"


async def test_a_removal_waits_for_its_token_and_then_removes(
    rt: Runtime, fake: FakeDokploy, stack: dict[str, Any]
) -> None:
    preview = await manage_domain(rt, "shop/supabase", DomainRequest("remove"), no_progress)
    assert preview.status == "confirm" and preview.confirm_token
    assert kong_domains(fake, stack["composeId"])
    confirmed = DomainRequest("remove", confirm_token=preview.confirm_token)
    removed = await manage_domain(rt, "shop/supabase", confirmed, no_progress)
    assert removed.status == "applied" and removed.domains == []
    assert kong_domains(fake, stack["composeId"]) == []


async def test_an_add_without_host_names_the_argument(rt: Runtime, stack: dict[str, Any]) -> None:
    with pytest.raises(InputError) as raised:
        await manage_domain(rt, "shop/supabase", DomainRequest("add"), no_progress)
    assert raised.value.field == "host"


async def test_https_without_a_lets_encrypt_email_is_noted(
    rt: Runtime, fake: FakeDokploy, stack: dict[str, Any]
) -> None:
    fake.settings["letsEncryptEmail"] = None
    request = DomainRequest("update", https=True, dry_run=True)
    outcome = await manage_domain(rt, "shop/supabase", request, no_progress)
    assert LETS_ENCRYPT_EMAIL_MISSING in outcome.notes
