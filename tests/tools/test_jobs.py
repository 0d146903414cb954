"""Long calls as jobs, through an MCP client, against the stateful Dokploy double (issue 13, items 1 and 2).

The call budget is 2 s here so that the tests are quick. These are liveness tests, not timing assertions: every
wait is bounded by a generous ``fail_after``, and what is asserted is what the job did, never how fast.

A :class:`Gate` holds one request to the double until the test releases it, so a test can stop a job at each step
of its flow: the stop is asked while the step's request is held, and the flow stops at its next safe point.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any, cast

import anyio
import httpx
import pytest
from mcp import Client
from pydantic import BaseModel, SecretStr

from dokploy_mcp.config import DokployServerConfig, load_settings
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.kong.gateway import KongGateway
from dokploy_mcp.registry import ToolSpec
from dokploy_mcp.server import build_server
from dokploy_mcp.tools.context import ToolContext
from tests.fake_dokploy import SERVERS, FakeDokploy
from tests.supabase.kong_double import KongDouble
from tests.tools.test_deploy import call, stored_env

pytestmark = pytest.mark.anyio

BUDGET = 2.0
#: Many times what any of these flows takes here (a poll interval is 2 s).
ALLOWANCE = 60.0


@dataclass
class Gate:
    """Holds the ``nth`` request whose path ends with ``path`` until :attr:`release` is set."""

    path: str
    nth: int = 1
    seen: int = 0
    reached: anyio.Event = field(default_factory=anyio.Event)
    release: anyio.Event = field(default_factory=anyio.Event)

    async def pass_through(self, request: httpx.Request) -> None:
        if not request.url.path.endswith(self.path):
            return
        self.seen += 1
        if self.seen == self.nth:
            self.reached.set()
            await self.release.wait()


class GatedTransport(httpx.AsyncBaseTransport):
    def __init__(self, inner: httpx.AsyncBaseTransport, gates: list[Gate]) -> None:
        self.inner = inner
        self.gates = gates

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        for gate in self.gates:
            await gate.pass_through(request)
        return await self.inner.handle_async_request(request)


def server(fake: FakeDokploy, compose_id: str, gates: list[Gate], **settings: Any) -> Any:
    transport = GatedTransport(fake.transport, gates)

    def client_factory(config: DokployServerConfig, timeout: float) -> DokployClient:
        return fake.client(name=config.name, timeout=timeout, transport=transport)

    def gateway(url: str, anon: SecretStr, service: SecretStr) -> KongGateway:
        env = stored_env(fake, compose_id)
        double = KongDouble(env.get("JWT_SECRET") or "", env.get("ANON_KEY") or "", env.get("SERVICE_ROLE_KEY") or "")
        kong = GatedTransport(double.transport(), gates)
        return KongGateway(url, anon_key=anon, service_role_key=service, transport=kong)

    return build_server(
        load_settings(call_budget=BUDGET, **settings),
        servers=SERVERS,
        client_factory=client_factory,
        gateway_factory=gateway,
    )


@pytest.fixture
def fake() -> FakeDokploy:
    # One poll before a deployment ends: a stop asked while it runs is seen at the poll's safe point.
    return FakeDokploy(lets_encrypt_email="ops@example.com", deploy_polls=1)


@pytest.fixture
def stack(fake: FakeDokploy) -> dict[str, Any]:
    return fake.add_supabase_stack("shop", "supabase", deployed=True)


def snapshot(fake: FakeDokploy, compose_id: str) -> tuple[str, list[dict[str, Any]]]:
    """The stack's env text, byte for byte, and its domains as Dokploy serves them (without timestamps)."""
    domains = [
        {key: value for key, value in domain.items() if key not in {"createdAt", "updatedAt"}}
        for domain in fake.domains.values()
        if domain.get("composeId") == compose_id
    ]
    return fake.composes[compose_id]["env"], copy.deepcopy(sorted(domains, key=lambda d: str(d["host"])))


async def finished(mcp: Client, job_id: str) -> dict[str, Any]:
    """job_status until the job has finished (each call waits up to the budget)."""
    with anyio.fail_after(ALLOWANCE):
        while True:
            report = await call(mcp, "job_status", job_id=job_id)
            if report["jobs"][0]["finished_at"] is not None:
                return report


def kong_host(stack: dict[str, Any], fake: FakeDokploy) -> str:
    [domain] = [d for d in fake.domains.values() if d.get("composeId") == stack["composeId"]]
    return str(domain["host"])


# -- a long call answers within the budget and finishes through job_status -------------------------------------------


async def test_a_wizard_longer_than_the_budget_answers_running_and_finishes_through_job_status() -> None:
    fake = FakeDokploy(lets_encrypt_email="ops@example.com", deploy_polls=3)
    seen: list[tuple[float, float | None]] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.append((progress, total))

    mcp_server = build_server(
        load_settings(call_budget=BUDGET),
        servers=SERVERS,
        client_factory=lambda config, timeout: fake.client(name=config.name, timeout=timeout),
        gateway_factory=lambda url, anon, service: _wizard_gateway(fake, url, anon, service),
    )
    async with Client(mcp_server, read_timeout_seconds=3 * BUDGET) as mcp:
        first = await mcp.call_tool(
            "dokploy_setup_wizard",
            {"project": "Acme", "domain": "api.acme.example"},
            progress_callback=on_progress,
        )
        assert not first.is_error, first.content
        answer = first.structured_content
        assert answer is not None
        assert answer["status"] == "running", answer
        job = answer["job"]
        assert job["status"] == "running" and job["job_id"] in answer["resume"]
        assert job["steps_done"] and job["total_steps"] == 9
        # tools/list is answered while the job runs.
        assert "job_status" in {tool.name for tool in (await mcp.list_tools()).tools}
        report = await finished(mcp, job["job_id"])
    assert report["jobs"][0]["status"] == "done", report
    assert report["result"]["status"] == "ready", report["result"]
    assert report["result"]["credentials"]["api_url"] == "https://api.acme.example"
    values = [value for value, _ in seen]
    assert values == sorted(values) and len(set(values)) == len(values), "progress must only increase"
    assert {total for _, total in seen} == {9}


def _wizard_gateway(fake: FakeDokploy, url: str, anon: SecretStr, service: SecretStr) -> KongGateway:
    [compose] = [c for c in fake.composes.values() if c["name"] == "supabase"]
    env = stored_env(fake, compose["composeId"])
    double = KongDouble(env.get("JWT_SECRET") or "", env.get("ANON_KEY") or "", env.get("SERVICE_ROLE_KEY") or "")
    return KongGateway(url, anon_key=anon, service_role_key=service, transport=double.transport())


async def test_the_same_call_while_its_job_runs_returns_that_job(fake: FakeDokploy, stack: dict[str, Any]) -> None:
    gate = Gate("compose.redeploy")
    arguments = {"stack": "shop/supabase", "set": {"DISABLE_SIGNUP": "true"}, "redeploy": True, "wait_s": 0}
    async with Client(server(fake, stack["composeId"], [gate])) as mcp:
        first = await call(mcp, "dokploy_update_env", **arguments)
        with anyio.fail_after(ALLOWANCE):
            await gate.reached.wait()
        second = await call(mcp, "dokploy_update_env", **arguments)
        other = await call(mcp, "dokploy_update_env", **{**arguments, "set": {"DISABLE_SIGNUP": "false"}})
        gate.release.set()
        report = await finished(mcp, first["job"]["job_id"])
        await finished(mcp, other["job"]["job_id"])
        listed = await call(mcp, "job_status")
    assert second["job"]["job_id"] == first["job"]["job_id"]
    assert other["job"]["job_id"] != first["job"]["job_id"]
    assert report["jobs"][0]["status"] == "done" and report["result"]["saved"] is True
    assert {job["job_id"] for job in listed["jobs"]} == {first["job"]["job_id"], other["job"]["job_id"]}
    assert sum(1 for _, procedure, _ in fake.requests if procedure == "compose.redeploy") == 2


async def test_a_call_that_finishes_within_the_budget_answers_its_result(
    fake: FakeDokploy, stack: dict[str, Any]
) -> None:
    fake.deploy_polls = 0
    async with Client(server(fake, stack["composeId"], [])) as mcp:
        result = await call(
            mcp, "dokploy_update_env", stack="shop/supabase", set={"DISABLE_SIGNUP": "true"}, redeploy=True
        )
    assert result["status"] == "saved" and result["job"] is None
    assert result["redeploy"]["status"] == "done"


async def test_job_status_of_an_unknown_job_names_the_way_to_list_them(
    fake: FakeDokploy, stack: dict[str, Any]
) -> None:
    async with Client(server(fake, stack["composeId"], [])) as mcp:
        result = await mcp.call_tool("job_status", {"job_id": "job_0123456789ab"})
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "No such job" in text and "job_status" in text


# -- cancel_job at every step leaves the env and the domains wholly old --------------------------------------------

ENV_STEPS = [("compose.saveEnvironment", 1), ("compose.redeploy", 1), ("deployment.allByCompose", 2)]
DOMAIN_STEPS = [("domain.update", 1), ("compose.saveEnvironment", 1), ("compose.redeploy", 1)]
DOMAIN_STEPS += [("deployment.allByCompose", 2)]
KEY_STEPS = [("compose.saveEnvironment", 1), ("compose.redeploy", 1), ("deployment.allByCompose", 2)]
KEY_STEPS += [("/auth/v1/health", 1)]


async def _cancel_at(
    fake: FakeDokploy, stack: dict[str, Any], gate: Gate, start: Callable[[Client], Any]
) -> dict[str, Any]:
    """Start a job, stop it while ``gate`` holds its step, let it go on, and return its final report."""
    async with Client(server(fake, stack["composeId"], [gate])) as mcp:
        answer = await start(mcp)
        assert answer["status"] == "running", answer
        job_id = answer["job"]["job_id"]
        with anyio.fail_after(ALLOWANCE):
            await gate.reached.wait()
        stopping = await call(mcp, "cancel_job", job_id=job_id, wait_s=0)
        assert stopping["jobs"][0]["status"] == "stopping"
        gate.release.set()
        return await finished(mcp, job_id)


@pytest.mark.parametrize(("path", "nth"), ENV_STEPS)
async def test_cancel_job_at_each_step_of_an_env_change_leaves_the_env_as_it_was(
    fake: FakeDokploy, stack: dict[str, Any], path: str, nth: int
) -> None:
    before = snapshot(fake, stack["composeId"])

    async def start(mcp: Client) -> dict[str, Any]:
        changes = {"DISABLE_SIGNUP": "true", "SITE_URL": "https://elsewhere.example"}
        return await call(mcp, "dokploy_update_env", stack="shop/supabase", set=changes, redeploy=True, wait_s=0)

    report = await _cancel_at(fake, stack, Gate(path, nth), start)
    assert report["jobs"][0]["status"] == "stopped", report
    assert "previous env restored" in report["jobs"][0]["steps_done"]
    assert snapshot(fake, stack["composeId"]) == before


@pytest.mark.parametrize(("path", "nth"), DOMAIN_STEPS)
async def test_cancel_job_at_each_step_of_a_domain_change_leaves_domain_and_env_as_they_were(
    fake: FakeDokploy, stack: dict[str, Any], path: str, nth: int
) -> None:
    before = snapshot(fake, stack["composeId"])
    assert kong_host(stack, fake) != "api.new.example"

    async def start(mcp: Client) -> dict[str, Any]:
        return await call(
            mcp,
            "manage_domain",
            stack="shop/supabase",
            action="update",
            host="api.new.example",
            redeploy=True,
            wait_s=0,
        )

    report = await _cancel_at(fake, stack, Gate(path, nth), start)
    assert report["jobs"][0]["status"] == "stopped", report
    assert "domain put back" in report["jobs"][0]["steps_done"]
    assert snapshot(fake, stack["composeId"]) == before


@pytest.mark.parametrize(("path", "nth"), KEY_STEPS)
async def test_cancel_job_at_each_step_of_a_key_repair_leaves_the_env_as_it_was(
    fake: FakeDokploy, stack: dict[str, Any], path: str, nth: int
) -> None:
    before = snapshot(fake, stack["composeId"])

    async def start(mcp: Client) -> dict[str, Any]:
        preview = await call(mcp, "dokploy_regenerate_keys", stack="shop/supabase", mode="rotate")
        token = preview["confirm_token"]
        return await call(
            mcp, "dokploy_regenerate_keys", stack="shop/supabase", mode="rotate", confirm_token=token, wait_s=0
        )

    report = await _cancel_at(fake, stack, Gate(path, nth), start)
    assert report["jobs"][0]["status"] == "stopped", report
    assert report["result"]["status"] == "rolled_back", report["result"]
    assert "Stopped" in report["result"]["problem"]
    assert snapshot(fake, stack["composeId"]) == before


async def test_a_cancelled_call_detaches_from_its_job_which_runs_on(fake: FakeDokploy, stack: dict[str, Any]) -> None:
    gate = Gate("compose.redeploy")
    async with Client(server(fake, stack["composeId"], [gate])) as mcp:
        with anyio.move_on_after(0.5) as scope:
            # The call waits for the job (default: the budget) and is cancelled while it waits.
            await mcp.call_tool(
                "dokploy_update_env", {"stack": "shop/supabase", "set": {"DISABLE_SIGNUP": "true"}, "redeploy": True}
            )
        assert scope.cancelled_caught
        with anyio.fail_after(ALLOWANCE):
            await gate.reached.wait()
        gate.release.set()
        [job] = (await call(mcp, "job_status"))["jobs"]
        report = await finished(mcp, job["job_id"])
    assert report["jobs"][0]["status"] == "done"
    assert stored_env(fake, stack["composeId"]).get("DISABLE_SIGNUP") == "true"


async def test_a_call_cancelled_before_its_job_starts_leaves_no_job() -> None:
    # The tool handler runs in the request's task; a cancellation that reached it before the job started must stop
    # it there (the start has no await of its own to stop at).
    from dokploy_mcp.jobs import Jobs
    from dokploy_mcp.tools.jobrun import run_as_job

    started: list[str] = []

    async def work(_: Any) -> Any:
        started.append("work")
        raise AssertionError("the work of a cancelled call ran")

    async with Jobs() as jobs:
        runtime = SimpleNamespace(jobs=jobs, settings=load_settings(call_budget=BUDGET))
        ctx = SimpleNamespace(request_context=SimpleNamespace(lifespan_context=runtime))
        with anyio.CancelScope() as scope:
            scope.cancel()
            await run_as_job(
                cast(Any, ctx), "dokploy_update_env", {"stack": "s"}, work, wait_s=None, summary="x", running=dict
            )
        assert jobs.recent() == []
    assert started == []


async def test_a_client_whose_timeout_is_three_budgets_never_times_out(
    fake: FakeDokploy, stack: dict[str, Any]
) -> None:
    # The deploy never ends on its own: every call must still answer within the budget.
    fake.deploy_polls = 10_000
    async with Client(server(fake, stack["composeId"], []), read_timeout_seconds=3 * BUDGET) as mcp:
        answer = await call(
            mcp, "dokploy_update_env", stack="shop/supabase", set={"DISABLE_SIGNUP": "true"}, redeploy=True
        )
        assert answer["status"] == "running"
        job_id = answer["job"]["job_id"]
        for _ in range(2):
            report = await call(mcp, "job_status", job_id=job_id)
            assert report["jobs"][0]["status"] == "running"
        fake.deploy_polls = 0
        stopped = await call(mcp, "cancel_job", job_id=job_id)
        if stopped["jobs"][0]["finished_at"] is None:
            stopped = await finished(mcp, job_id)
    assert stopped["jobs"][0]["status"] == "stopped"


async def test_cancel_job_stops_the_wizard_at_a_safe_point_and_a_second_run_resumes() -> None:
    fake = FakeDokploy(lets_encrypt_email="ops@example.com", deploy_polls=100_000)
    mcp_server = build_server(
        load_settings(call_budget=BUDGET),
        servers=SERVERS,
        client_factory=lambda config, timeout: fake.client(name=config.name, timeout=timeout),
        gateway_factory=lambda url, anon, service: _wizard_gateway(fake, url, anon, service),
    )
    arguments = {"project": "Acme", "domain": "api.acme.example", "wait_s": 0}
    async with Client(mcp_server) as mcp:
        first = await call(mcp, "dokploy_setup_wizard", **arguments)
        job_id = first["job"]["job_id"]
        with anyio.fail_after(ALLOWANCE):
            job = first["job"]
            while not any(step.startswith("deployment ") for step in job["steps_done"]):
                job = (await call(mcp, "job_status", job_id=job_id, wait_s=0))["jobs"][0]
                await anyio.sleep(0.05)
        await call(mcp, "cancel_job", job_id=job_id, wait_s=0)
        stopped = await finished(mcp, job_id)
        fake.deploy_polls = 0
        again = await call(mcp, "dokploy_setup_wizard", **arguments)
        if again["status"] == "running":
            again = (await finished(mcp, again["job"]["job_id"]))["result"]
    assert stopped["jobs"][0]["status"] == "stopped"
    assert stopped["result"]["status"] == "failed" and stopped["result"]["failed_step"] == "deploy"
    assert again["status"] == "ready", again
    assert again["project_id"] == stopped["result"]["project_id"]
    assert len([c for c in fake.composes.values() if c["name"] == "supabase"]) == 1


async def test_a_call_that_is_not_a_job_is_cut_off_at_the_call_budget() -> None:
    async def hangs(ctx: ToolContext) -> Answer:
        """Never answers."""
        await anyio.sleep(3600)
        return Answer(value="never")

    spec = ToolSpec("hangs", "Hangs", "core", hangs, read_only=True)
    mcp_server = build_server(load_settings(call_budget=0.5), servers=SERVERS, specs=[spec])
    async with Client(mcp_server, read_timeout_seconds=ALLOWANCE) as mcp:
        result = await mcp.call_tool("hangs", {})
        # The server is still there for the next call.
        assert [tool.name for tool in (await mcp.list_tools()).tools] == ["hangs"]
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "call budget of 0.5 s" in text and "DOKPLOY_MCP_CALL_BUDGET" in text


class Answer(BaseModel):
    value: str


async def test_read_only_mode_serves_no_job_tools(fake: FakeDokploy, stack: dict[str, Any]) -> None:
    # Only writing flows start jobs: in read-only mode job_status could never find one.
    async with Client(server(fake, stack["composeId"], [], read_only=True)) as mcp:
        names = {tool.name for tool in (await mcp.list_tools()).tools}
    assert names.isdisjoint({"job_status", "cancel_job"})
    assert "health_check" in names
