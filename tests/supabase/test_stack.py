"""Addressing a stack (DESIGN §2) and reading it: parse, resolve across servers, recognise Supabase, load."""

from __future__ import annotations

import re
from collections.abc import Sequence
from types import TracebackType
from typing import Any

import anyio
import pytest
from pydantic import SecretStr

from dokploy_mcp.config import DokployServerConfig, DokployServers
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.models import Compose, Deployment, Domain
from dokploy_mcp.errors import ConfigurationError, InputError
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.errors import NotASupabaseStackError, StackNotFoundError
from dokploy_mcp.supabase.stack import (
    StackAddress,
    StackRef,
    SupabaseStack,
    compose_services,
    domain_url,
    gather_bounded,
    is_supabase,
    open_stack,
    parse_address,
    resolve,
)
from tests.dokploy.recordings import load
from tests.fake_dokploy import FakeDokploy, new_id

pytestmark = pytest.mark.anyio

BUSYBOX = "services:\n  web:\n    image: busybox\n"
RECORDED = load("compose.one--supabase-imported").response_body


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
    """``client_for``: one real DokployClient per server, each on its own FakeDokploy; records who was asked."""

    def __init__(self, fakes: dict[str, FakeDokploy]) -> None:
        self.fakes = fakes
        self.clients: dict[str, DokployClient] = {}
        self.asked: list[str] = []

    async def __call__(self, server: str) -> DokployClient:
        self.asked.append(server)
        if server not in self.fakes:
            raise ConfigurationError(f"no Dokploy server named {server!r}", setting="DOKPLOY_MCP_INSTANCES_FILE")
        if server not in self.clients:
            self.clients[server] = self.fakes[server].client(name=server)
        return self.clients[server]

    async def __aenter__(self) -> Clients:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        for client in self.clients.values():
            await client.aclose()


def move_to_environment(fake: FakeDokploy, compose_id: str, environment_name: str) -> None:
    """Put a compose into another environment of its project (the double makes only the default one)."""
    compose = fake.composes[compose_id]
    current = fake.environments[compose["environmentId"]]
    existing = next(
        (
            e
            for e in fake.environments.values()
            if e["projectId"] == current["projectId"] and e["name"] == environment_name
        ),
        None,
    )
    if existing is None:
        existing = {**current, "environmentId": new_id(), "name": environment_name, "isDefault": False}
        fake.environments[existing["environmentId"]] = existing
    compose["environmentId"] = existing["environmentId"]


def procedures(fake: FakeDokploy) -> list[str]:
    return [procedure for _, procedure, _ in fake.requests]


# -- parse_address ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "server", "path"),
    [
        ("0Bv9pzMYUJeG6qDEa0zZw", None, ("0Bv9pzMYUJeG6qDEa0zZw",)),
        ("shop/supabase", None, ("shop", "supabase")),
        ("shop/production/supabase", None, ("shop", "production", "supabase")),
        ("staging:shop/supabase", "staging", ("shop", "supabase")),
        ("  staging : shop / production / supabase  ", "staging", ("shop", "production", "supabase")),
        ("prod:0Bv9pzMYUJeG6qDEa0zZw", "prod", ("0Bv9pzMYUJeG6qDEa0zZw",)),
    ],
)
def test_parse_address_reads_ids_paths_and_server_prefixes(
    text: str, server: str | None, path: tuple[str, ...]
) -> None:
    address = parse_address(text, servers("prod", "staging"))
    assert address == StackAddress(server=server, path=path, raw=text)


@pytest.mark.parametrize(
    "text", ["", "   ", "a//b", "/supabase", "shop/", "a/b/c/d", "prod:", "prod: ", "prod:a//b", "prod:/x"]
)
def test_parse_address_refuses_malformed_addresses_naming_the_stack_field(text: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_address(text, servers("prod", "staging"))
    assert caught.value.field == "stack"


def test_parse_address_refuses_an_unknown_server_prefix_and_lists_the_configured_ones() -> None:
    with pytest.raises(InputError) as caught:
        parse_address("nowhere:shop/supabase", servers("prod", "staging"))
    assert caught.value.field == "stack"
    message = str(caught.value)
    assert "'nowhere'" in message
    assert "prod" in message and "staging" in message


# -- resolve ----------------------------------------------------------------------------------------------------------


async def resolve_text(text: str, fakes: dict[str, FakeDokploy], names: Sequence[str] | None = None) -> StackRef:
    configured = servers(*(names or list(fakes)))
    async with Clients(fakes) as client_for:
        return await resolve(parse_address(text, configured), configured, client_for)


async def test_resolve_finds_a_stack_by_id_by_project_path_and_by_full_path() -> None:
    fake = FakeDokploy()
    stack = fake.add_supabase_stack("shop", "supabase")
    fake.add_supabase_stack("blog", "supabase")
    expected = StackRef("main", stack["composeId"], "shop", "production", "supabase")
    for text in (stack["composeId"], "shop/supabase", "shop/production/supabase"):
        assert await resolve_text(text, {"main": fake}) == expected, text


async def test_resolve_compares_names_without_case_but_ids_exactly() -> None:
    fake = FakeDokploy()
    stack = fake.add_supabase_stack("Shop", "Supabase")
    ref = await resolve_text("SHOP/PRODUCTION/supabase", {"main": fake})
    assert (ref.compose_id, ref.project, ref.name) == (stack["composeId"], "Shop", "Supabase")
    assert (await resolve_text("shop/supabase", {"main": fake})).compose_id == stack["composeId"]
    with pytest.raises(StackNotFoundError):
        await resolve_text(stack["composeId"].swapcase(), {"main": fake})


async def test_resolve_finds_a_bare_compose_name_when_it_is_unique() -> None:
    fake = FakeDokploy()
    stack = fake.add_supabase_stack("shop", "backend")
    fake.add_compose("shop", "web", BUSYBOX)
    assert (await resolve_text("backend", {"main": fake})).compose_id == stack["composeId"]


async def test_resolve_uses_the_server_prefix_and_asks_only_that_server() -> None:
    first, second = FakeDokploy(), FakeDokploy()
    on_first = first.add_supabase_stack("shop", "supabase")
    on_second = second.add_supabase_stack("shop", "supabase")
    configured = servers("first", "second")
    async with Clients({"first": first, "second": second}) as client_for:
        ref = await resolve(parse_address("second:shop/supabase", configured), configured, client_for)
        assert client_for.asked == ["second"]
    assert (ref.server, ref.compose_id) == ("second", on_second["composeId"])
    assert ref.address == f"second:{on_second['composeId']}"
    assert procedures(first) == []
    # Without a prefix the default server (the first) is the one asked.
    ref = await resolve_text("shop/supabase", {"first": first, "second": second})
    assert (ref.server, ref.compose_id) == ("first", on_first["composeId"])
    # An id lives on one server only: the prefix decides where it is looked up.
    with pytest.raises(StackNotFoundError) as caught:
        await resolve_text(f"first:{on_second['composeId']}", {"first": first, "second": second})
    assert "'first'" in str(caught.value)


async def test_resolve_of_an_ambiguous_name_lists_every_candidate_path_and_id() -> None:
    fake = FakeDokploy()
    shop = fake.add_supabase_stack("shop", "supabase")
    blog = fake.add_supabase_stack("blog", "supabase")
    staging = fake.add_supabase_stack("shop", "supabase-staging")
    fake.composes[staging["composeId"]]["name"] = "supabase"
    move_to_environment(fake, staging["composeId"], "staging")

    with pytest.raises(InputError) as caught:
        await resolve_text("supabase", {"main": fake})
    assert caught.value.field == "stack"
    message = str(caught.value)
    for path, compose in (
        ("shop/production/supabase", shop),
        ("blog/production/supabase", blog),
        ("shop/staging/supabase", staging),
    ):
        assert f"{path} (id {compose['composeId']})" in message

    with pytest.raises(InputError) as caught:
        await resolve_text("shop/supabase", {"main": fake})
    message = str(caught.value)
    assert "shop/production/supabase" in message and "shop/staging/supabase" in message
    assert "blog/" not in message

    # The full path (or the id) picks one.
    assert (await resolve_text("shop/staging/supabase", {"main": fake})).compose_id == staging["composeId"]
    assert (await resolve_text("blog/supabase", {"main": fake})).compose_id == blog["composeId"]


async def test_resolve_of_an_unknown_stack_lists_what_exists_on_that_server() -> None:
    fake = FakeDokploy()
    stack = fake.add_supabase_stack("shop", "supabase")
    web = fake.add_compose("blog", "web", BUSYBOX)
    with pytest.raises(StackNotFoundError) as caught:
        await resolve_text("shop/nothing", {"main": fake})
    message = str(caught.value)
    assert "'shop/nothing'" in message and "'main'" in message
    assert f"shop/production/supabase (id {stack['composeId']})" in message
    assert f"blog/production/web (id {web['composeId']})" in message
    assert "dokploy_list_instances" in message


async def test_resolve_on_an_empty_server_says_there_is_nothing() -> None:
    with pytest.raises(StackNotFoundError) as caught:
        await resolve_text("shop/supabase", {"main": FakeDokploy()})
    assert "none" in str(caught.value)


# -- recognising a Supabase stack -------------------------------------------------------------------------------------


def recorded_compose(**changes: Any) -> Compose:
    return Compose.model_validate({**RECORDED, **changes})


def test_the_imported_template_is_a_supabase_stack_with_its_services() -> None:
    compose = recorded_compose()
    assert is_supabase(compose)
    assert {"kong", "auth", "db", "rest", "storage", "studio"} <= set(compose_services(compose))
    assert compose_services(compose) == sorted(compose_services(compose))


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"composeFile": BUSYBOX}, False),
        ({"composeFile": "not: [valid yaml"}, False),
        ({"composeFile": "- a list\n- not a mapping\n"}, False),
        ({"composeFile": None}, False),
        # kong, auth and db but nothing of Supabase's keys anywhere: some other stack that reuses the names.
        ({"composeFile": "services:\n  kong: {}\n  auth: {}\n  db: {}\n", "env": "FOO=bar\n"}, False),
        # The template with its keys missing or empty is still a (broken) Supabase stack: the repair tools need it.
        ({"env": "SITE_URL=http://localhost:3000\n"}, True),
        ({"env": "JWT_SECRET=\nANON_KEY=\n"}, True),
        ({"composeFile": "services:\n  kong: {}\n  auth: {}\n  db: {}\n", "env": "JWT_SECRET=\n"}, True),
    ],
)
def test_is_supabase_needs_the_services_and_the_jwt_variables(changes: dict[str, Any], expected: bool) -> None:
    assert is_supabase(recorded_compose(**changes)) is expected


def test_a_compose_that_is_not_supabase_is_refused_when_loaded() -> None:
    ref = StackRef("main", "x" * 21, "shop", "production", "web")
    with pytest.raises(NotASupabaseStackError) as caught:
        SupabaseStack.from_compose(ref, recorded_compose(composeFile=BUSYBOX))
    assert "shop/production/web" in str(caught.value)


# -- open_stack -------------------------------------------------------------------------------------------------------


async def test_open_stack_returns_the_client_of_its_server_and_the_loaded_stack() -> None:
    first, second = FakeDokploy(), FakeDokploy(server_ip="203.0.113.9")
    first.add_supabase_stack("shop", "supabase")
    created = second.add_supabase_stack("shop", "supabase")
    configured = servers("first", "second")
    async with Clients({"first": first, "second": second}) as client_for:
        client, stack = await open_stack("second:shop/supabase", configured, client_for)
        assert client is client_for.clients["second"]
    assert stack.ref == StackRef("second", created["composeId"], "shop", "production", "supabase")
    assert stack.env.render() == created["env"]
    assert stack.get("JWT_SECRET") == stack.env.get("JWT_SECRET")
    assert stack.get("JWT_SECRET")
    assert stack.compose.compose_id == created["composeId"]
    assert "kong" in stack.services
    kong = stack.kong_domain
    assert kong is not None
    assert kong.host == created["domains"][0]["host"]
    assert kong.host.endswith("-203-0-113-9.sslip.io")
    # The recorded import serves kong over plain http: the public URL says so, whatever the env claims.
    assert stack.public_url == f"http://{kong.host}"
    assert stack.env.get("API_EXTERNAL_URL") == f"https://{kong.host}"
    assert stack.last_deployment is None
    assert [p for _, p, _ in second.requests] == ["project.all", "compose.one"]


async def test_public_url_follows_the_kong_domain_https_flag_and_path() -> None:
    fake = FakeDokploy()
    fake.add_supabase_stack(
        "shop",
        "supabase",
        domains=[
            {"host": "studio.example.com", "serviceName": "studio", "port": 3000, "https": False},
            {"host": "api.example.com", "serviceName": "kong", "port": 8000, "https": True, "path": "/"},
        ],
    )
    fake.add_supabase_stack("blog", "supabase", domains=[])
    fake.add_supabase_stack(
        "wiki", "supabase", domains=[{"host": "wiki.example.com", "serviceName": "kong", "port": 8000, "path": "/api/"}]
    )
    configured = servers("main")
    async with Clients({"main": fake}) as client_for:
        _, shop = await open_stack("shop/supabase", configured, client_for)
        _, blog = await open_stack("blog/supabase", configured, client_for)
        _, wiki = await open_stack("wiki/supabase", configured, client_for)
    assert shop.kong_domain is not None and shop.kong_domain.host == "api.example.com"
    assert shop.public_url == "https://api.example.com"
    assert blog.kong_domain is None and blog.public_url is None
    assert wiki.public_url == "http://wiki.example.com/api"


def test_domain_url_uses_the_https_flag() -> None:
    domain = Domain(domain_id="d", host="api.example.com", https=False, path=None)
    assert domain_url(domain) == "http://api.example.com"
    assert domain_url(domain.model_copy(update={"https": True})) == "https://api.example.com"


async def test_open_stack_refuses_a_compose_that_is_not_supabase() -> None:
    fake = FakeDokploy()
    web = fake.add_compose("shop", "web", BUSYBOX)
    async with Clients({"main": fake}) as client_for:
        with pytest.raises(NotASupabaseStackError) as caught:
            await open_stack("shop/web", servers("main"), client_for)
    assert web["composeId"] in str(caught.value)
    assert "dokploy_list_instances" in str(caught.value)


async def test_open_stack_opens_a_supabase_stack_whose_keys_are_missing() -> None:
    fake = FakeDokploy()
    stack = fake.add_supabase_stack()
    broken = re.sub(r"^(JWT_SECRET|ANON_KEY|SERVICE_ROLE_KEY)=.*\n", "", stack["env"], flags=re.MULTILINE)
    fake.composes[stack["composeId"]]["env"] = broken
    async with Clients({"main": fake}) as client_for:
        _, opened = await open_stack("shop/supabase", servers("main"), client_for)
    assert opened.get("JWT_SECRET") is None


async def test_open_stack_of_a_compose_deleted_meanwhile_is_not_found() -> None:
    fake = FakeDokploy()
    fake.add_supabase_stack()
    fake.fail("compose.one", status=404, message="Compose not found")
    async with Clients({"main": fake}) as client_for:
        with pytest.raises(StackNotFoundError) as caught:
            await open_stack("shop/supabase", servers("main"), client_for)
    assert "shop/production/supabase" in str(caught.value)


async def test_open_stack_of_an_unknown_server_prefix_asks_no_server() -> None:
    async with Clients({"main": FakeDokploy()}) as client_for:
        with pytest.raises(InputError):
            await open_stack("other:shop/supabase", servers("main"), client_for)
        assert client_for.asked == []


def test_last_deployment_is_the_newest_whatever_the_order() -> None:
    rows = [
        Deployment(deployment_id="old", status="error", created_at="2026-11-20T10:00:00.000Z"),
        Deployment(deployment_id="new", status="done", created_at="2026-11-22T10:00:00.000Z"),
        Deployment(deployment_id="mid", status="done", created_at="2026-11-21T10:00:00.000Z"),
    ]
    ref = StackRef("main", "x" * 21, "shop", "production", "supabase")
    stack = SupabaseStack.from_compose(ref, recorded_compose(deployments=[r.model_dump(by_alias=True) for r in rows]))
    assert stack.last_deployment is not None
    assert stack.last_deployment.deployment_id == "new"


# -- gather_bounded ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("limit", [1, 3, 8])
async def test_gather_bounded_keeps_the_input_order_and_the_bound(limit: int) -> None:
    in_flight = peak = 0

    async def work(item: int) -> int:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        # Later items finish first: the result order must still be the input order.
        await anyio.sleep(0.001 * (20 - item))
        in_flight -= 1
        return item * 10

    results = await gather_bounded(list(range(20)), work, limit)
    assert results == [i * 10 for i in range(20)]
    assert peak == limit


async def test_gather_bounded_of_nothing_is_nothing() -> None:
    async def work(item: int) -> int:
        raise AssertionError("never called")

    assert await gather_bounded([], work, 4) == []


def test_loading_a_stack_teaches_the_scrubber_its_secrets() -> None:
    from dokploy_mcp.redact import scrub

    fake = FakeDokploy()
    compose = fake.add_supabase_stack("scrub", "supabase")
    env = EnvFile.parse(compose["env"])
    secret = env.get("JWT_SECRET") or ""
    password = env.get("POSTGRES_PASSWORD") or ""
    anon = env.get("ANON_KEY") or ""
    ref = StackRef("default", compose["composeId"], "scrub", "production", "supabase")
    SupabaseStack.from_compose(ref, Compose.model_validate(compose))
    text = scrub(f"Dokploy echoed {secret} and {password}; the anon key {anon} is public")
    assert secret not in text and password not in text and anon in text
