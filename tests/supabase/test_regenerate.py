"""Key repair (resign / rotate), all or nothing: a failure injected at every step leaves the env wholly old or new.

The stack is a FakeDokploy compose; its public side is :class:`DeployedKong`: Traefik sends a kong domain's host to
that compose's Kong, whose consumers and JWT secret are those of the env its last successful deploy started with (as
a real Kong has after a redeploy), so keys that were written but not deployed, or signed wrongly, fail for real.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.explain import explain
from dokploy_mcp.kong.gateway import KongGateway
from dokploy_mcp.supabase import regenerate as regen
from dokploy_mcp.supabase.env import EnvFile, diff
from dokploy_mcp.supabase.errors import KeyStepError
from dokploy_mcp.supabase.keys import check_keys, decode_key
from dokploy_mcp.supabase.regenerate import RegenerateOutcome, regenerate
from dokploy_mcp.supabase.stack import StackRef, SupabaseStack, load_stack
from tests.fake_dokploy import FakeDokploy
from tests.supabase.kong_double import KongDouble

pytestmark = pytest.mark.anyio

BUSYBOX = "services:\n  web:\n    image: busybox\n"


# -- the stack's public side, and step recording (also used by test_wizard) -------------------------------------------


class DeployedKong:
    """Kong of the stacks running in ``fake``, reached through their kong domain's host and scheme.

    ``requests`` holds each gateway request with the number of Dokploy requests made before it, so a test can tell
    which came first. ``fail_request`` (1-based) makes that gateway request fail to connect. ``frozen_env`` makes
    Kong keep that env whatever was deployed (a Kong that did not pick up the new keys).
    """

    def __init__(self, fake: FakeDokploy, *, frozen_env: str | None = None) -> None:
        self.fake = fake
        self.frozen_env = frozen_env
        self.fail_request: int | None = None
        self.requests: list[tuple[int, httpx.Request]] = []
        self.urls: list[str] = []

    def factory(self, url: str, anon: SecretStr, service: SecretStr) -> KongGateway:
        self.urls.append(url)
        return KongGateway(url, anon_key=anon, service_role_key=service, transport=httpx.MockTransport(self._handle))

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((len(self.fake.requests), request))
        if len(self.requests) == self.fail_request:
            raise httpx.ConnectError("injected: connection refused", request=request)
        host = request.url.host
        domain = next((d for d in self.fake.domains.values() if d["host"] == host and d["serviceName"] == "kong"), None)
        if domain is None:
            raise httpx.ConnectError(f"no stack is routed at {host}", request=request)
        if request.url.scheme != ("https" if domain["https"] else "http"):
            raise httpx.ConnectError(f"{host} is not served over {request.url.scheme}", request=request)
        compose = self.fake.composes[domain["composeId"]]
        running = self.fake.running.get(compose["appName"])
        if running is None or running["state"] != "running":
            raise httpx.ConnectError(f"the stack at {host} is not running", request=request)
        env = EnvFile.parse(self.frozen_env if self.frozen_env is not None else running["env"] or "")
        double = KongDouble(env.get("JWT_SECRET") or "", env.get("ANON_KEY") or "", env.get("SERVICE_ROLE_KEY") or "")
        return double(request)


@dataclass
class Position:
    dokploy: int
    gateway: int


class StepRecorder:
    """Where each step of a run starts in the Dokploy and gateway request logs, to find each step's first request."""

    def __init__(self, fake: FakeDokploy, kong: DeployedKong) -> None:
        self.fake = fake
        self.kong = kong
        self.starts: dict[str, Position] = {}
        self.end: Position | None = None

    def now(self) -> Position:
        return Position(len(self.fake.requests), len(self.kong.requests))

    def mark(self, step: str) -> None:
        self.starts[step] = self.now()

    def finish(self) -> None:
        self.end = self.now()

    def first_request(self, step: str, order: Sequence[str]) -> tuple[str, int] | None:
        """("dokploy", index in fake.requests) or ("gateway", index in kong.requests), or None without requests."""
        assert self.end is not None
        begin = self.starts.get(step)
        if begin is None:
            return None
        later = [self.starts[s] for s in order[order.index(step) + 1 :] if s in self.starts]
        stop = later[0] if later else self.end
        dokploy = range(begin.dokploy, stop.dokploy)
        gateway = range(begin.gateway, stop.gateway)
        if gateway and (not dokploy or self.kong.requests[gateway.start][0] <= dokploy.start):
            return "gateway", gateway.start
        if dokploy:
            return "dokploy", dokploy.start
        return None

    def procedure(self, where: tuple[str, int]) -> str:
        kind, index = where
        if kind == "dokploy":
            return self.fake.requests[index][1]
        request = self.kong.requests[index][1]
        return f"{request.method} {request.url.path}"


def inject(fake: FakeDokploy, kong: DeployedKong, where: tuple[str, int]) -> None:
    """Make the request at ``where`` (as recorded in a run of the same scenario) fail."""
    kind, index = where
    if kind == "dokploy":
        # 500 is not retried by the client, so the request fails for real.
        fake.fail_nth_request(index + 1 - len(fake.requests))
    else:
        kong.fail_request = index + 1


def outside(fake: FakeDokploy, compose_ids: set[str]) -> dict[str, Any]:
    """Everything in the fake that does not belong to these composes."""
    return copy.deepcopy(
        {
            "composes": {k: v for k, v in fake.composes.items() if k not in compose_ids},
            "domains": {k: v for k, v in fake.domains.items() if v["composeId"] not in compose_ids},
            "mounts": {k: v for k, v in fake.mounts.items() if v["composeId"] not in compose_ids},
            "deployments": {k: v for k, v in fake.deployments.items() if v["composeId"] not in compose_ids},
            "running": {k: v for k, v in fake.running.items() if v["composeId"] not in compose_ids},
        }
    )


def kong_domains_of(fake: FakeDokploy, compose_id: str) -> list[dict[str, Any]]:
    return [d for d in fake.domains.values() if d["composeId"] == compose_id and d["serviceName"] == "kong"]


def assert_keys_consistent(env_text: str) -> None:
    env = EnvFile.parse(env_text)
    assert [f for f in check_keys(env.as_dict()) if f.severity == "critical"] == []
    secret = env.get("JWT_SECRET") or ""
    assert decode_key(env.get("ANON_KEY") or "", secret, "ANON_KEY").role == "anon"
    assert decode_key(env.get("SERVICE_ROLE_KEY") or "", secret, "SERVICE_ROLE_KEY").role == "service_role"


# -- scenario ---------------------------------------------------------------------------------------------------------


@dataclass
class Scene:
    fake: FakeDokploy
    kong: DeployedKong
    compose: dict[str, Any]

    @property
    def compose_id(self) -> str:
        return str(self.compose["composeId"])

    @property
    def env(self) -> str:
        return str(self.fake.composes[self.compose_id]["env"])

    @property
    def running_env(self) -> str:
        return str(self.fake.running[self.compose["appName"]]["env"])


def scene(*, frozen: bool = False, **stack: Any) -> Scene:
    """A deployed stack "shop/supabase" next to another compose of its project and another project's stack."""
    fake = FakeDokploy(server_ip="203.0.113.10", deploy_polls=0)
    fake.add_supabase_stack("other", "supabase", deployed=True)
    fake.add_compose("shop", "worker", BUSYBOX, env="TOKEN=worker-token-value-0123")
    stack.setdefault("deployed", True)
    compose = fake.add_supabase_stack("shop", "supabase", **stack)
    env = fake.composes[compose["composeId"]]["env"]
    return Scene(fake, DeployedKong(fake, frozen_env=env if frozen else None), compose)


async def open_stack(client: DokployClient, s: Scene) -> SupabaseStack:
    return await load_stack(StackRef("main", s.compose_id, "shop", "production", "supabase"), client)


#: Progress messages that end a step, and the step that starts with them.
BOUNDARIES = {"env written": "redeploy", "redeployed": "verify"}
#: Steps that make no request of their own, with the reason (none today).
REQUEST_FREE: dict[str, str] = {}


async def run(s: Scene, mode: regen.Mode = "resign", **kwargs: Any) -> tuple[RegenerateOutcome, StepRecorder]:
    recorder = StepRecorder(s.fake, s.kong)

    async def progress(message: str) -> None:
        # The flow numbers its steps ("step 1/3: env written") so that progress carries a total.
        step = message.split(": ", 1)[1] if message.startswith("step ") else message
        if step in BOUNDARIES:
            recorder.mark(BOUNDARIES[step])

    async with s.fake.client() as client:
        stack = await open_stack(client, s)
        recorder.mark(regen.STEPS[0])
        outcome = await regenerate(
            client, stack, mode, wait_seconds=30, progress=progress, gateway_factory=s.kong.factory, **kwargs
        )
    recorder.finish()
    return outcome, recorder


# -- a failure at every step ------------------------------------------------------------------------------------------


def test_every_step_has_a_boundary_or_is_the_first() -> None:
    assert regen.STEPS[0] == "write_env"
    assert set(regen.STEPS[1:]) == set(BOUNDARIES.values()), "a new step needs its progress boundary here"


@pytest.mark.parametrize("mode", ["resign", "rotate"])
@pytest.mark.parametrize("step", regen.STEPS)
async def test_a_failure_at_each_step_restores_the_previous_env(step: str, mode: regen.Mode) -> None:
    baseline = scene()
    done, recorded = await run(baseline, mode)
    assert done.status == "done", done.describe(explain)
    assert done.steps == ["env written", "redeployed", "verified through kong"]
    where = recorded.first_request(step, regen.STEPS)
    if where is None:
        assert step in REQUEST_FREE, (
            f"step {step!r} makes no request in a successful run: give it a failure case, or list it in "
            "REQUEST_FREE with the reason"
        )
        return
    assert step not in REQUEST_FREE, f"step {step!r} is listed as request-free but sends {recorded.procedure(where)}"

    s = scene()
    before = s.env
    untouched = outside(s.fake, {s.compose_id})
    async with s.fake.client() as client:
        stack = await open_stack(client, s)
        inject(s.fake, s.kong, where)
        outcome = await regenerate(client, stack, mode, wait_seconds=30, gateway_factory=s.kong.factory)

    # The injected request is the one the successful run sent first in this step.
    failed = StepRecorder(s.fake, s.kong)
    assert failed.procedure(where) == recorded.procedure(where)
    problem = outcome.describe(explain)
    assert outcome.status == "rolled_back", problem
    assert outcome.failed_step == step
    assert problem
    assert "previous env restored" in outcome.steps
    # Wholly old: byte for byte, in Dokploy and in what runs.
    assert s.env == before
    assert s.running_env == before
    assert outcome.new_env is not None and s.env != outcome.new_env.render()
    if step != "write_env":
        assert outcome.rollback_deploy is not None and outcome.rollback_deploy.status == "done"
    else:
        assert outcome.rollback_deploy is None
    assert len(kong_domains_of(s.fake, s.compose_id)) == 1
    assert outside(s.fake, {s.compose_id}) == untouched

    # Once the failure is gone, the same call goes through.
    again, _ = await run(s, mode)
    assert again.status == "done", again.describe(explain)
    assert again.new_env is not None
    assert s.env == again.new_env.render()
    assert_keys_consistent(s.env)
    assert outside(s.fake, {s.compose_id}) == untouched


# -- outcomes ---------------------------------------------------------------------------------------------------------


async def test_resign_keeps_jwt_secret_and_the_new_keys_pass_kong() -> None:
    s = scene()
    before = EnvFile.parse(s.env)
    outcome, _ = await run(s, "resign")
    problem = outcome.describe(explain)
    assert outcome.status == "done", problem
    assert outcome.failed_step is None
    after = EnvFile.parse(s.env)
    assert outcome.new_env is not None and s.env == outcome.new_env.render()
    assert after.get("JWT_SECRET") == before.get("JWT_SECRET")
    assert after.get("ANON_KEY") != before.get("ANON_KEY")
    assert after.get("SERVICE_ROLE_KEY") != before.get("SERVICE_ROLE_KEY")
    assert {c.key for c in diff(before, after)} == {"ANON_KEY", "SERVICE_ROLE_KEY"}
    assert_keys_consistent(s.env)
    # Deployed with the new env and checked through the stack's own domain, both headers on every request.
    assert s.running_env == s.env
    [kong] = kong_domains_of(s.fake, s.compose_id)
    assert s.kong.urls == [f"http://{kong['host']}"]
    assert s.kong.requests
    for _, request in s.kong.requests:
        key = request.headers["apikey"]
        assert request.headers["authorization"] == f"Bearer {key}"
        assert key in {after.get("ANON_KEY"), after.get("SERVICE_ROLE_KEY")}


async def test_resign_with_verify_false_skips_the_gateway() -> None:
    s = scene()
    outcome, _ = await run(s, "resign", verify=False)
    assert outcome.status == "done"
    assert outcome.steps == ["env written", "redeployed"]
    assert s.kong.requests == []
    assert_keys_consistent(s.env)


async def test_rotate_changes_jwt_secret_and_old_keys_stop_working() -> None:
    s = scene()
    before = EnvFile.parse(s.env)
    outcome, _ = await run(s, "rotate")
    problem = outcome.describe(explain)
    assert outcome.status == "done", problem
    after = EnvFile.parse(s.env)
    assert after.get("JWT_SECRET") != before.get("JWT_SECRET")
    assert len(after.get("JWT_SECRET") or "") >= 32
    assert {c.key for c in diff(before, after)} == {"JWT_SECRET", "ANON_KEY", "SERVICE_ROLE_KEY"}
    assert_keys_consistent(s.env)
    [kong] = kong_domains_of(s.fake, s.compose_id)
    old = s.kong.factory(
        f"http://{kong['host']}",
        SecretStr(before.get("ANON_KEY") or ""),
        SecretStr(before.get("SERVICE_ROLE_KEY") or ""),
    )
    async with old:
        check = await old.verify_keys()
    assert not check.ok


async def test_a_redeploy_ending_in_error_restores_the_env_and_redeploys_it() -> None:
    s = scene()
    before = s.env
    s.fake.deploy_result(s.compose_id, "error", times=1)
    deployments = set(s.fake.deployments)
    outcome, _ = await run(s, "resign")
    assert outcome.status == "rolled_back"
    assert outcome.failed_step == "redeploy"
    problem = outcome.describe(explain)
    assert problem == "the redeploy ended error"
    assert outcome.deploy is not None and outcome.deploy.status == "error"
    assert outcome.rollback_deploy is not None and outcome.rollback_deploy.status == "done"
    assert outcome.steps == ["env written", "previous env restored", "redeployed with the previous env (done)"]
    assert s.env == before
    assert s.running_env == before
    new = [s.fake.deployments[d] for d in set(s.fake.deployments) - deployments]
    assert sorted(d["title"] for d in new) == ["dokploy-mcp: keys resign", "dokploy-mcp: keys restored"]
    assert s.kong.requests == []


async def test_keys_the_gateway_refuses_restore_the_env() -> None:
    s = scene(frozen=True)  # Kong keeps the old consumers: the new keys are unknown to it
    before = s.env
    outcome, _ = await run(s, "resign")
    assert outcome.status == "rolled_back"
    assert outcome.failed_step == "verify"
    problem = outcome.describe(explain)
    assert problem is not None and problem.startswith("the new keys did not pass the gateway check")
    assert outcome.rollback_deploy is not None and outcome.rollback_deploy.status == "done"
    assert s.env == before
    assert s.running_env == before


async def test_an_unreachable_gateway_restores_the_env() -> None:
    s = scene()
    before = s.env
    # The kong domain now names a host nothing answers for.
    [kong] = kong_domains_of(s.fake, s.compose_id)
    async with s.fake.client() as client:
        stack = await open_stack(client, s)
        kong["host"] = "moved.example.com"
        outcome = await regenerate(client, stack, "resign", wait_seconds=30, gateway_factory=s.kong.factory)
    assert outcome.status == "rolled_back"
    assert outcome.failed_step == "verify"
    problem = outcome.describe(explain)
    assert problem is not None and "Cannot reach the Supabase gateway" in problem
    assert s.env == before


async def test_a_write_that_landed_but_failed_is_undone_without_a_redeploy() -> None:
    s = scene()
    before = s.env
    s.fake.fail("compose.saveEnvironment", applied=True)
    deployments = dict(s.fake.deployments)
    outcome, _ = await run(s, "resign")
    assert outcome.status == "rolled_back"
    assert outcome.failed_step == "write_env"
    problem = outcome.describe(explain)
    assert problem is not None and "compose.saveEnvironment" in problem
    assert outcome.steps == ["previous env restored"]
    assert s.env == before
    saves = [p["env"] for _, proc, p in s.fake.requests if proc == "compose.saveEnvironment"]
    assert outcome.new_env is not None
    assert saves == [outcome.new_env.render(), before]
    assert s.fake.deployments == deployments
    assert s.running_env == before


async def test_a_write_dokploy_stores_differently_is_undone() -> None:
    s = scene()
    before = s.env
    original = s.fake.transport

    def handle(request: httpx.Request) -> httpx.Response:
        response = original.handle_request(request)
        stored = s.fake.composes[s.compose_id]["env"]
        if request.url.path == "/api/compose.saveEnvironment" and stored != before:
            # Dokploy keeps only the first half of the new env (the previous one it stores whole).
            s.fake.composes[s.compose_id]["env"] = stored[: len(stored) // 2]
        return response

    async with s.fake.client(transport=httpx.MockTransport(handle)) as client:
        stack = await open_stack(client, s)
        outcome = await regenerate(client, stack, "resign", wait_seconds=30, gateway_factory=s.kong.factory)
    assert outcome.status == "rolled_back"
    assert outcome.failed_step == "write_env"
    problem = outcome.describe(explain)
    assert problem is not None and "stored a different env" in problem
    assert outcome.steps == ["previous env restored"]
    assert s.env == before


async def test_a_restore_dokploy_stores_differently_is_rollback_failed() -> None:
    s = scene()
    original = s.fake.transport

    def handle(request: httpx.Request) -> httpx.Response:
        response = original.handle_request(request)
        if request.url.path == "/api/compose.saveEnvironment":
            stored = s.fake.composes[s.compose_id]["env"]
            s.fake.composes[s.compose_id]["env"] = stored[: len(stored) // 2]
        return response

    async with s.fake.client(transport=httpx.MockTransport(handle)) as client:
        stack = await open_stack(client, s)
        outcome = await regenerate(client, stack, "resign", wait_seconds=30, gateway_factory=s.kong.factory)
    # Every write is mangled, the restore's too: reported, not hidden.
    assert outcome.status == "rollback_failed"
    assert outcome.failed_step == "write_env"
    problem = outcome.describe(explain)
    assert problem is not None and "stored a different env" in problem
    assert "Dokploy did not store the previous env" in problem


async def test_a_concurrent_edit_is_neither_overwritten_nor_restored_away() -> None:
    s = scene()
    async with s.fake.client() as client:
        stack = await open_stack(client, s)
        theirs = s.env.replace("SITE_URL=http://localhost:3000", "SITE_URL=https://their.example.com")
        assert theirs != s.env
        s.fake.composes[s.compose_id]["env"] = theirs
        outcome = await regenerate(client, stack, "resign", wait_seconds=30, gateway_factory=s.kong.factory)
    assert outcome.status == "rolled_back"
    assert outcome.failed_step == "write_env"
    problem = outcome.describe(explain)
    assert problem is not None and "changed since it was read" in problem
    assert s.env == theirs
    assert "compose.saveEnvironment" not in [proc for _, proc, _ in s.fake.requests]


async def test_a_failed_restore_is_rollback_failed_with_the_new_env_wholly_in_place() -> None:
    s = scene()
    before = s.env
    s.fake.deploy_result(s.compose_id, "error", times=1)
    # Every attempt to write the previous env back fails.
    s.fake.fail("compose.saveEnvironment", when=lambda p: p.get("env") == before, times=None)
    outcome, _ = await run(s, "rotate")
    assert outcome.status == "rollback_failed"
    assert outcome.failed_step == "redeploy"
    problem = outcome.describe(explain)
    assert problem is not None
    assert problem.startswith("the redeploy ended error; then restoring the previous env failed")
    assert "compose.saveEnvironment" in problem
    assert outcome.new_env is not None
    assert s.env == outcome.new_env.render()
    assert_keys_consistent(s.env)
    assert EnvFile.parse(s.env).get("JWT_SECRET") != EnvFile.parse(before).get("JWT_SECRET")


# -- refused before anything is written -------------------------------------------------------------------------------


async def test_resign_without_jwt_secret_is_refused_before_any_request() -> None:
    s = scene()
    async with s.fake.client() as client:
        stack = await open_stack(client, s)
        env = stack.env.apply(unset=["JWT_SECRET"])
        broken = SupabaseStack(stack.ref, stack.compose.model_copy(update={"env": env.render()}), env, stack.services)
        sent = len(s.fake.requests)
        with pytest.raises(KeyStepError, match=r"JWT_SECRET is missing.*rotate") as caught:
            await regenerate(client, broken, "resign", gateway_factory=s.kong.factory)
    assert caught.value.step == "plan"
    assert len(s.fake.requests) == sent


async def test_verify_without_a_kong_domain_is_refused_and_verify_false_works() -> None:
    s = scene(domains=[])
    before = s.env
    async with s.fake.client() as client:
        stack = await open_stack(client, s)
        sent = len(s.fake.requests)
        with pytest.raises(KeyStepError, match=r"no kong domain.*verify=false") as caught:
            await regenerate(client, stack, "rotate", gateway_factory=s.kong.factory)
        assert caught.value.step == "plan"
        assert len(s.fake.requests) == sent
        assert s.env == before
        outcome = await regenerate(
            client, stack, "rotate", verify=False, wait_seconds=30, gateway_factory=s.kong.factory
        )
    assert outcome.status == "done"
    assert outcome.steps == ["env written", "redeployed"]
    assert_keys_consistent(s.env)
