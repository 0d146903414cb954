"""Every Supabase stack on every server: one project.all per server, one compose.one per compose, bounded."""

from __future__ import annotations

import re
from collections import Counter
from types import TracebackType
from typing import Any, cast

import anyio
import pytest
from pydantic import SecretStr

from dokploy_mcp.config import DokployServerConfig, DokployServers
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.models import Compose
from dokploy_mcp.errors import ConfigurationError, DokployMCPError
from dokploy_mcp.explain import explain
from dokploy_mcp.supabase.inventory import ServerInventory, list_instances, server_inventory
from dokploy_mcp.supabase.stack import FETCH_CONCURRENCY
from tests.fake_dokploy import FakeDokploy

pytestmark = pytest.mark.anyio

BUSYBOX = "services:\n  web:\n    image: busybox\n"


def servers(*names: str) -> DokployServers:
    return DokployServers(
        default=names[0],
        servers={
            name: DokployServerConfig(
                name=name, url=f"http://{name}.test:3000", api_key=SecretStr("test-api-key"), api_key_source="test"
            )
            for name in names
        },
    )


class Clients:
    """``client_for`` over one FakeDokploy per server; a server without a fake is not configured."""

    def __init__(self, fakes: dict[str, FakeDokploy], **client_options: Any) -> None:
        self.fakes = fakes
        self.options = client_options
        self.clients: dict[str, DokployClient] = {}

    async def __call__(self, server: str) -> DokployClient:
        if server not in self.fakes:
            raise ConfigurationError(f"Dokploy server {server!r} has no URL", setting="DOKPLOY_URL")
        if server not in self.clients:
            self.clients[server] = self.fakes[server].client(name=server, **self.options)
        return self.clients[server]

    async def __aenter__(self) -> Clients:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for client in self.clients.values():
            await client.aclose()


def calls(fake: FakeDokploy) -> Counter[str]:
    return Counter(procedure for _, procedure, _ in fake.requests)


def by_server(result: list[ServerInventory]) -> dict[str, ServerInventory]:
    return {inventory.server: inventory for inventory in result}


async def test_two_servers_one_failing_lists_the_other_and_reports_the_problem() -> None:
    healthy, broken = FakeDokploy(), FakeDokploy()
    shop = healthy.add_supabase_stack("shop", "supabase", deployed=True)
    blog = healthy.add_supabase_stack("blog", "backend")
    healthy.add_compose("shop", "web", BUSYBOX)
    healthy.add_compose("blog", "worker", BUSYBOX)
    broken.add_supabase_stack("other", "supabase")
    broken.fail("project.all", status=500, message="database is down", times=None)

    async with Clients({"healthy": healthy, "broken": broken}) as client_for:
        result = await list_instances(servers("healthy", "broken"), client_for)

    assert [inventory.server for inventory in result] == ["healthy", "broken"]
    found = by_server(result)
    bad = found["broken"]
    assert bad.ok is False
    # The error is kept, not worded: the tool layer words it.
    assert bad.problem is None and bad.error is not None
    bad.explain_errors(explain)
    assert bad.problem is not None and "'broken'" in bad.problem and "database is down" in bad.problem
    assert bad.stacks == [] and bad.other_composes == 0
    assert calls(broken)["compose.one"] == 0

    good = found["healthy"]
    assert good.ok is True and good.problem is None
    assert good.other_composes == 2
    assert good.unreadable == []
    listed = {stack.compose_id: stack for stack in good.stacks}
    assert set(listed) == {shop["composeId"], blog["composeId"]}

    first = listed[shop["composeId"]]
    assert first.server == "healthy"
    assert first.address == f"healthy:{shop['composeId']}"
    assert first.path == "shop/production/supabase"
    assert first.status == "done"
    assert first.public_url == f"http://{shop['domains'][0]['host']}"
    assert first.last_deployment is not None
    assert first.last_deployment.status == "done"
    assert first.last_deployment.deployment_id == shop["deployments"][-1]["deploymentId"]

    second = listed[blog["composeId"]]
    assert second.path == "blog/production/backend"
    assert second.status == "idle"
    assert second.last_deployment is None


async def test_one_project_all_per_server_and_one_compose_one_per_compose_and_nothing_else() -> None:
    first, second = FakeDokploy(), FakeDokploy()
    for index in range(3):
        first.add_supabase_stack(f"shop{index}", "supabase")
    first.add_compose("shop0", "web", BUSYBOX)
    second.add_compose("blog", "web", BUSYBOX)
    second.add_supabase_stack("blog", "supabase", deployed=True)

    async with Clients({"first": first, "second": second}) as client_for:
        result = await list_instances(servers("first", "second"), client_for)

    assert sum(len(inventory.stacks) for inventory in result) == 4
    assert calls(first) == Counter({"project.all": 1, "compose.one": 4})
    assert calls(second) == Counter({"project.all": 1, "compose.one": 2})
    # Each compose is fetched once, by its own id.
    asked = [params["composeId"] for _, procedure, params in first.requests if procedure == "compose.one"]
    assert sorted(asked) == sorted(first.composes)


async def test_only_lists_the_named_server() -> None:
    first, second = FakeDokploy(), FakeDokploy()
    first.add_supabase_stack()
    second.add_supabase_stack()
    async with Clients({"first": first, "second": second}) as client_for:
        result = await list_instances(servers("first", "second"), client_for, only="second")
    assert [inventory.server for inventory in result] == ["second"]
    assert len(result[0].stacks) == 1
    assert first.requests == []


async def test_only_an_unknown_server_is_an_error_that_names_the_configured_ones() -> None:
    async with Clients({"first": FakeDokploy()}) as client_for:
        with pytest.raises(DokployMCPError) as caught:
            await list_instances(servers("first"), client_for, only="nowhere")
    assert "'nowhere'" in str(caught.value) and "first" in str(caught.value)


async def test_a_server_without_a_client_is_reported_not_raised() -> None:
    healthy = FakeDokploy()
    healthy.add_supabase_stack()
    async with Clients({"healthy": healthy}) as client_for:
        result = by_server(await list_instances(servers("healthy", "unconfigured"), client_for))
    assert result["unconfigured"].ok is False
    assert isinstance(result["unconfigured"].error, ConfigurationError)
    result["unconfigured"].explain_errors(explain)
    problem = result["unconfigured"].problem
    assert problem is not None and problem.startswith("Configuration:") and "no URL" in problem
    assert result["healthy"].ok is True and len(result["healthy"].stacks) == 1


async def test_a_compose_one_failure_lands_in_unreadable_and_the_rest_is_listed() -> None:
    fake = FakeDokploy()
    good = fake.add_supabase_stack("shop", "supabase")
    bad = fake.add_supabase_stack("blog", "supabase")
    fake.add_compose("shop", "web", BUSYBOX)
    fake.fail("compose.one", status=500, message="boom", times=None, when=lambda p: p["composeId"] == bad["composeId"])

    async with Clients({"main": fake}) as client_for:
        [inventory] = await list_instances(servers("main"), client_for)

    assert inventory.ok is True
    assert [stack.compose_id for stack in inventory.stacks] == [good["composeId"]]
    assert inventory.other_composes == 1
    assert inventory.unreadable == []  # until the tool layer words the errors
    inventory.explain_errors(explain)
    [line] = inventory.unreadable
    assert line.startswith("blog/production/supabase: ")
    assert "boom" in line


async def test_a_broken_supabase_stack_is_still_listed_as_a_stack() -> None:
    fake = FakeDokploy()
    stack = fake.add_supabase_stack()
    fake.composes[stack["composeId"]]["env"] = re.sub(
        r"^(JWT_SECRET|ANON_KEY)=.*$", r"\1=", stack["env"], flags=re.MULTILINE
    )
    async with Clients({"main": fake}) as client_for:
        [inventory] = await list_instances(servers("main"), client_for)
    assert [s.compose_id for s in inventory.stacks] == [stack["composeId"]]
    assert inventory.other_composes == 0


async def test_an_empty_server_is_ok_with_nothing() -> None:
    async with Clients({"main": FakeDokploy()}) as client_for:
        [inventory] = await list_instances(servers("main"), client_for)
    assert inventory == ServerInventory(server="main", ok=True)


class CountingClient:
    """Wraps a DokployClient and tracks how many compose_one calls are in flight at once."""

    def __init__(self, inner: DokployClient) -> None:
        self.inner = inner
        self.in_flight = 0
        self.peak = 0
        self.calls = 0

    async def project_all(self) -> Any:
        return await self.inner.project_all()

    async def compose_one(self, compose_id: str) -> Compose:
        self.calls += 1
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            await anyio.sleep(0.005)
            return await self.inner.compose_one(compose_id)
        finally:
            self.in_flight -= 1


async def test_compose_one_calls_run_concurrently_within_the_bound() -> None:
    fake = FakeDokploy()
    count = FETCH_CONCURRENCY * 2 + 3
    for index in range(count):
        if index % 2:
            fake.add_supabase_stack(f"p{index}", "supabase")
        else:
            fake.add_compose(f"p{index}", "web", BUSYBOX)
    # The client's own concurrency limit is lifted so that only the inventory's bound is measured.
    async with fake.client(max_concurrency=100) as inner:
        counting = CountingClient(inner)
        inventory = await server_inventory("main", cast(DokployClient, counting))
    assert counting.calls == count
    assert counting.peak == FETCH_CONCURRENCY
    assert len(inventory.stacks) == count // 2
    assert inventory.other_composes == count - count // 2
