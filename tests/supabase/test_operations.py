"""Shared write operations on a stack: the guarded env write, save + redeploy, and the secret masker for logs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.errors import DokployAPIError
from dokploy_mcp.redact import MIN_LENGTH
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.errors import ConcurrentChangeError, EnvWriteError
from dokploy_mcp.supabase.operations import save_env_and_maybe_redeploy, secret_masker, write_env
from dokploy_mcp.supabase.secrets import is_secret
from dokploy_mcp.supabase.stack import StackRef, SupabaseStack, load_stack
from tests.fake_dokploy import FakeDokploy

pytestmark = pytest.mark.anyio


async def open_stack(client: DokployClient, compose: dict[str, Any]) -> SupabaseStack:
    ref = StackRef("main", compose["composeId"], "shop", "production", compose["name"])
    return await load_stack(ref, client)


def procedures(fake: FakeDokploy, since: int = 0) -> list[str]:
    return [procedure for _, procedure, _ in fake.requests[since:]]


def storing(fake: FakeDokploy, change: Callable[[str], str]) -> httpx.MockTransport:
    """The fake behind a Dokploy that stores ``change(env)`` when it is asked to save ``env``."""

    def handle(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/compose.saveEnvironment":
            body = json.loads(request.content)
            body["env"] = change(body["env"])
            headers = {k: v for k, v in request.headers.items() if k.lower() != "content-length"}
            request = httpx.Request(request.method, request.url, headers=headers, json=body)
        return fake.transport.handle_request(request)

    return httpx.MockTransport(handle)


# -- write_env --------------------------------------------------------------------------------------------------------


async def test_write_env_saves_the_new_env_and_reads_it_back() -> None:
    fake = FakeDokploy(deploy_polls=0)
    compose = fake.add_supabase_stack()
    async with fake.client() as client:
        stack = await open_stack(client, compose)
        new_env = stack.env.apply(set={"SITE_URL": "https://app.example.com"})
        start = len(fake.requests)
        await write_env(client, stack, new_env)
    assert fake.composes[compose["composeId"]]["env"] == new_env.render()
    # Re-read before (the guard), write, re-read after (the check): nothing else, no deploy.
    assert procedures(fake, start) == ["compose.one", "compose.saveEnvironment", "compose.one"]
    assert not fake.deployments


async def test_write_env_refuses_when_the_env_changed_since_it_was_read() -> None:
    fake = FakeDokploy(deploy_polls=0)
    compose = fake.add_supabase_stack()
    async with fake.client() as client:
        stack = await open_stack(client, compose)
        # Someone else saves the env between our read and our write.
        theirs = (stack.compose.env or "") + "\nTHEIR_CHANGE=1\n"
        fake.composes[compose["composeId"]]["env"] = theirs
        start = len(fake.requests)
        with pytest.raises(ConcurrentChangeError, match="changed since it was read"):
            await write_env(client, stack, stack.env.apply(set={"SITE_URL": "https://app.example.com"}))
    assert fake.composes[compose["composeId"]]["env"] == theirs
    assert "compose.saveEnvironment" not in procedures(fake, start)


async def test_write_env_reports_a_stored_env_that_differs_from_the_written_one() -> None:
    fake = FakeDokploy(deploy_polls=0)
    compose = fake.add_supabase_stack()
    # A store that loses the last variable of what it is given.
    mangled = storing(fake, lambda env: env.rstrip("\n").rsplit("\n", 1)[0] + "\n")
    async with fake.client(transport=mangled) as client:
        stack = await open_stack(client, compose)
        new_env = stack.env.apply(set={"SITE_URL": "https://app.example.com"})
        with pytest.raises(EnvWriteError, match="stored a different env"):
            await write_env(client, stack, new_env)
    assert fake.composes[compose["composeId"]]["env"] != new_env.render()


async def test_write_env_accepts_a_store_that_only_trims_trailing_newlines() -> None:
    fake = FakeDokploy(deploy_polls=0)
    compose = fake.add_supabase_stack()
    async with fake.client(transport=storing(fake, lambda env: env.rstrip("\r\n"))) as client:
        stack = await open_stack(client, compose)
        new_env = stack.env.apply(set={"SITE_URL": "https://app.example.com"})
        await write_env(client, stack, new_env)
    assert fake.composes[compose["composeId"]]["env"] == new_env.render().rstrip("\n")


async def test_write_env_raises_when_dokploy_fails_the_save_and_stores_nothing() -> None:
    fake = FakeDokploy(deploy_polls=0)
    compose = fake.add_supabase_stack()
    before = fake.composes[compose["composeId"]]["env"]
    fake.fail("compose.saveEnvironment")
    async with fake.client() as client:
        stack = await open_stack(client, compose)
        with pytest.raises(DokployAPIError):
            await write_env(client, stack, stack.env.apply(set={"SITE_URL": "https://app.example.com"}))
    assert fake.composes[compose["composeId"]]["env"] == before


# -- save_env_and_maybe_redeploy -------------------------------------------------------------------------------------


async def test_save_without_redeploy_writes_and_deploys_nothing() -> None:
    fake = FakeDokploy(deploy_polls=0)
    compose = fake.add_supabase_stack(deployed=True)
    deployments = dict(fake.deployments)
    messages: list[str] = []

    async def progress(message: str) -> None:
        messages.append(message)

    async with fake.client() as client:
        stack = await open_stack(client, compose)
        new_env = stack.env.apply(set={"SITE_URL": "https://app.example.com"})
        outcome = await save_env_and_maybe_redeploy(
            client, stack, new_env, redeploy=False, wait_seconds=5, progress=progress
        )
    assert outcome is None
    assert fake.composes[compose["composeId"]]["env"] == new_env.render()
    assert fake.deployments == deployments
    assert messages == ["env saved"]


async def test_save_with_redeploy_applies_the_new_env_to_the_running_stack() -> None:
    fake = FakeDokploy(deploy_polls=0)
    compose = fake.add_supabase_stack(deployed=True)
    async with fake.client() as client:
        stack = await open_stack(client, compose)
        new_env = stack.env.apply(set={"SITE_URL": "https://app.example.com"})
        outcome = await save_env_and_maybe_redeploy(client, stack, new_env, redeploy=True, wait_seconds=5)
    assert outcome is not None
    assert outcome.status == "done"
    assert outcome.log_tail is None
    assert fake.deployments[outcome.deployment_id or ""]["title"] == "dokploy-mcp: env update"
    assert fake.running[compose["appName"]]["env"] == new_env.render()
    assert "compose.redeploy" in procedures(fake)


async def test_save_with_a_failed_redeploy_reports_a_masked_log_tail() -> None:
    fake = FakeDokploy(deploy_polls=0)
    compose = fake.add_supabase_stack(deployed=True)
    fake.deploy_result(compose["composeId"], "error")
    async with fake.client() as client:
        stack = await open_stack(client, compose)
        new_env = stack.env.apply(set={"SITE_URL": "https://app.example.com"})
        outcome = await save_env_and_maybe_redeploy(client, stack, new_env, redeploy=True, wait_seconds=5)
    assert outcome is not None
    assert outcome.status == "error"
    assert outcome.log_tail
    # The env stays written: save_env_and_maybe_redeploy is not all-or-nothing (regenerate is).
    assert fake.composes[compose["composeId"]]["env"] == new_env.render()


# -- secret_masker ---------------------------------------------------------------------------------------------------


def test_secret_masker_masks_every_secret_value_in_a_deploy_log_but_not_the_anon_key() -> None:
    fake = FakeDokploy()
    old = EnvFile.parse(fake.add_supabase_stack()["env"])
    new = old.apply(set={"SERVICE_ROLE_KEY": "a-new-service-role-key-value-0123456789", "SMTP_PASS": "new-smtp-pw-1"})
    values = {**old.as_dict(), **{f"NEW_{k}": v for k, v in new.as_dict().items()}}
    log = "\n".join(f"service saw {key}={value} at start" for key, value in values.items()) + "\n"

    masked = secret_masker(old, new)(log)

    secrets = [
        value
        for env in (old, new)
        for key, value in env.as_dict().items()
        if is_secret(key) and len(value) >= MIN_LENGTH
    ]
    assert len(secrets) >= 12  # the template's keys, passwords, tokens, encryption keys, SMTP and both versions
    for value in secrets:
        assert value not in masked
    assert (old.get("JWT_SECRET") or "<unset>") not in masked
    assert (new.get("SERVICE_ROLE_KEY") or "<unset>") not in masked
    assert (old.get("POSTGRES_PASSWORD") or "<unset>") not in masked
    # Public by design: the anon key stays readable, and so do ordinary values.
    assert f"ANON_KEY={old.get('ANON_KEY')}" in masked
    assert "POSTGRES_HOST=db" in masked
    assert "••••" in masked


def test_secret_masker_leaves_text_without_secrets_alone() -> None:
    env = EnvFile.parse("JWT_SECRET=a-jwt-secret-with-enough-characters-0123\nANON_KEY=abc.def.ghi\n")
    text = "Creating network\nContainer kong Started\n"
    assert secret_masker(env)(text) == text
