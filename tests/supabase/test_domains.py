"""The kong domain of a stack: host validation, add/update/remove plans with the URL trio, apply and restore."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.models import LETS_ENCRYPT_EMAIL_MISSING
from dokploy_mcp.errors import InputError
from dokploy_mcp.supabase.domains import (
    apply_domain,
    certificate_note,
    plan_add,
    plan_remove,
    plan_update,
    put_domain,
    restore_domain,
    validate_host,
)
from dokploy_mcp.supabase.stack import StackRef, SupabaseStack, load_stack
from tests.fake_dokploy import FakeDokploy

pytestmark = pytest.mark.anyio

KONG = {"serviceName": "kong", "port": 8000}


async def open_stack(client: DokployClient, compose: dict[str, Any]) -> SupabaseStack:
    ref = StackRef("main", compose["composeId"], "shop", "production", compose["name"])
    return await load_stack(ref, client)


def compose_domains(fake: FakeDokploy, compose_id: str) -> list[dict[str, Any]]:
    return [d for d in fake.domains.values() if d["composeId"] == compose_id]


# -- validate_host ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("api.example.com", "api.example.com"),
        ("  API.Example.COM.  ", "api.example.com"),
        ("api.203-0-113-10.sslip.io", "api.203-0-113-10.sslip.io"),
        ("xn--bcher-kva.example", "xn--bcher-kva.example"),
        ("a-b.c-d.example.org", "a-b.c-d.example.org"),
    ],
)
def test_validate_host_accepts_dns_names_and_lower_cases_them(given: str, expected: str) -> None:
    assert validate_host(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "https://api.example.com",
        "http://api.example.com/",
        "api.example.com/rest",
        "api.example.com:8443",
        "//api.example.com",
    ],
)
def test_validate_host_refuses_schemes_ports_and_paths(given: str) -> None:
    with pytest.raises(InputError, match="no scheme, port or path") as caught:
        validate_host(given)
    assert caught.value.field == "host"


@pytest.mark.parametrize("given", ["203.0.113.10", "10.0.0.1"])
def test_validate_host_refuses_ip_addresses_and_suggests_sslip(given: str) -> None:
    with pytest.raises(InputError, match=r"IP address.*sslip\.io"):
        validate_host(given)


def test_validate_host_refuses_an_ipv6_address() -> None:
    with pytest.raises(InputError):
        validate_host("2001:db8::1")


@pytest.mark.parametrize(
    "given",
    [
        "localhost",  # one label: not a public name
        "api_v1.example.com",  # underscore
        "-api.example.com",  # leading hyphen
        "api-.example.com",  # trailing hyphen
        "api..example.com",  # empty label
        "api example.com",  # space
        "*.example.com",  # wildcard
        "ä.example.com",  # not punycode
        "",
        f"{'a' * 64}.example.com",  # label over 63
        ".".join(["a" * 63] * 4) + ".com",  # 256 characters in all
    ],
)
def test_validate_host_refuses_malformed_names(given: str) -> None:
    with pytest.raises(InputError, match="not a valid host name"):
        validate_host(given)


def test_validate_host_accepts_the_longest_names() -> None:
    label = f"{'a' * 63}.example.com"
    assert validate_host(label) == label
    longest = ".".join(["a" * 63] * 3 + ["b" * 61])
    assert len(longest) == 253
    assert validate_host(longest) == longest


# -- plans ------------------------------------------------------------------------------------------------------------


async def test_add_refuses_when_the_template_already_made_a_kong_domain() -> None:
    fake = FakeDokploy()
    compose = fake.add_supabase_stack()
    [kong] = compose_domains(fake, compose["composeId"])
    async with fake.client() as client:
        stack = await open_stack(client, compose)
    with pytest.raises(InputError, match=r"already has a kong domain.*update") as caught:
        plan_add(stack, "api.example.com", True)
    assert kong["domainId"] in str(caught.value)
    assert caught.value.field == "action"


async def test_add_plans_the_domain_and_the_url_trio() -> None:
    fake = FakeDokploy()
    compose = fake.add_supabase_stack(domains=[])
    async with fake.client() as client:
        stack = await open_stack(client, compose)
    change = plan_add(stack, "API.Example.com", True)
    assert (change.action, change.host, change.https, change.before) == ("add", "api.example.com", True, None)
    assert change.url == "https://api.example.com"
    assert change.env_plan is not None
    after = change.env_plan.after
    assert after.get("API_EXTERNAL_URL") == "https://api.example.com"
    assert after.get("SUPABASE_PUBLIC_URL") == "https://api.example.com"
    assert after.get("SUPABASE_HOST") == "api.example.com"
    assert {c.key for c in change.env_plan.changes} == {"API_EXTERNAL_URL", "SUPABASE_PUBLIC_URL", "SUPABASE_HOST"}
    # Nothing else of the env moves.
    assert (
        after.apply(
            set={k: stack.env.get(k) or "" for k in ("API_EXTERNAL_URL", "SUPABASE_PUBLIC_URL", "SUPABASE_HOST")}
        ).render()
        == stack.env.render()
    )


async def test_add_validates_the_host() -> None:
    fake = FakeDokploy()
    compose = fake.add_supabase_stack(domains=[])
    async with fake.client() as client:
        stack = await open_stack(client, compose)
    with pytest.raises(InputError):
        plan_add(stack, "https://api.example.com", True)


async def test_update_picks_the_single_kong_domain_and_moves_the_urls_to_http() -> None:
    fake = FakeDokploy()
    compose = fake.add_supabase_stack()
    [kong] = compose_domains(fake, compose["composeId"])
    async with fake.client() as client:
        stack = await open_stack(client, compose)
    change = plan_update(stack, None, "api.example.com", False)
    assert change.before is not None
    assert change.before.domain_id == kong["domainId"]
    assert change.url == "http://api.example.com"
    assert change.env_plan is not None
    assert change.env_plan.after.get("API_EXTERNAL_URL") == "http://api.example.com"
    assert change.env_plan.after.get("SUPABASE_PUBLIC_URL") == "http://api.example.com"
    assert change.env_plan.after.get("SUPABASE_HOST") == "api.example.com"


async def test_update_of_https_only_keeps_the_host_and_changes_the_scheme() -> None:
    fake = FakeDokploy()
    compose = fake.add_supabase_stack()
    [kong] = compose_domains(fake, compose["composeId"])
    async with fake.client() as client:
        stack = await open_stack(client, compose)
    change = plan_update(stack, None, None, True)
    assert change.host == kong["host"]
    assert change.https is True
    assert change.notes == []
    assert change.env_plan is not None
    assert change.env_plan.after.get("API_EXTERNAL_URL") == f"https://{kong['host']}"


async def test_update_to_the_same_host_and_scheme_says_so() -> None:
    fake = FakeDokploy()
    compose = fake.add_supabase_stack()
    [kong] = compose_domains(fake, compose["composeId"])
    async with fake.client() as client:
        stack = await open_stack(client, compose)
    change = plan_update(stack, None, kong["host"], False)
    assert change.notes == ["the domain already has this host and scheme"]


async def test_update_and_remove_need_domain_id_when_there_are_several_kong_domains() -> None:
    fake = FakeDokploy()
    compose = fake.add_supabase_stack(domains=[{"host": "a.example.com", **KONG}, {"host": "b.example.com", **KONG}])
    second = next(d for d in compose_domains(fake, compose["composeId"]) if d["host"] == "b.example.com")
    async with fake.client() as client:
        stack = await open_stack(client, compose)
    with pytest.raises(InputError, match=r"several kong domains.*domain_id") as caught:
        plan_update(stack, None, "c.example.com", True)
    assert caught.value.field == "domain_id"
    with pytest.raises(InputError, match="several kong domains"):
        plan_remove(stack, None)
    change = plan_update(stack, second["domainId"], "c.example.com", True)
    assert change.before is not None
    assert change.before.host == "b.example.com"
    removal = plan_remove(stack, second["domainId"])
    assert removal.before is not None
    assert removal.before.domain_id == second["domainId"]


async def test_update_with_an_unknown_domain_id_lists_the_domains() -> None:
    fake = FakeDokploy()
    compose = fake.add_supabase_stack()
    [kong] = compose_domains(fake, compose["composeId"])
    async with fake.client() as client:
        stack = await open_stack(client, compose)
    with pytest.raises(InputError, match=kong["domainId"]):
        plan_update(stack, "no-such-domain", "api.example.com", True)


async def test_update_and_remove_without_a_kong_domain_point_to_add() -> None:
    fake = FakeDokploy()
    compose = fake.add_supabase_stack(domains=[])
    async with fake.client() as client:
        stack = await open_stack(client, compose)
    with pytest.raises(InputError, match="use action 'add'"):
        plan_update(stack, None, "api.example.com", True)
    with pytest.raises(InputError, match="use action 'add'"):
        plan_remove(stack, None)


async def test_update_of_a_non_kong_domain_leaves_the_urls_alone() -> None:
    fake = FakeDokploy()
    compose = fake.add_supabase_stack(
        domains=[
            {"host": "api.example.com", **KONG},
            {"host": "studio.example.com", "serviceName": "studio", "port": 3000},
        ]
    )
    studio = next(d for d in compose_domains(fake, compose["composeId"]) if d["serviceName"] == "studio")
    async with fake.client() as client:
        stack = await open_stack(client, compose)
    change = plan_update(stack, studio["domainId"], "studio2.example.com", True)
    assert change.env_plan is None


async def test_remove_picks_the_single_kong_domain_and_keeps_the_urls() -> None:
    fake = FakeDokploy()
    compose = fake.add_supabase_stack()
    [kong] = compose_domains(fake, compose["composeId"])
    async with fake.client() as client:
        stack = await open_stack(client, compose)
    change = plan_remove(stack, None)
    assert change.before is not None
    assert change.before.domain_id == kong["domainId"]
    assert change.env_plan is None
    assert f"http://{kong['host']}" in change.notes[0]


# -- apply and restore ------------------------------------------------------------------------------------------------


async def test_apply_add_then_restore_leaves_no_domain() -> None:
    fake = FakeDokploy()
    compose = fake.add_supabase_stack(domains=[])
    async with fake.client() as client:
        stack = await open_stack(client, compose)
        change = plan_add(stack, "api.example.com", True)
        now = await apply_domain(client, stack, change)
        assert now is not None
        [row] = compose_domains(fake, compose["composeId"])
        assert (row["host"], row["serviceName"], row["port"], row["https"], row["certificateType"]) == (
            "api.example.com",
            "kong",
            8000,
            True,
            "letsencrypt",
        )
        assert row["domainId"] == now.domain_id
        await restore_domain(client, stack, change, now)
    assert compose_domains(fake, compose["composeId"]) == []


async def test_apply_update_changes_the_same_domain_and_restore_brings_back_every_field() -> None:
    fake = FakeDokploy()
    compose = fake.add_supabase_stack()
    [kong] = compose_domains(fake, compose["composeId"])
    before = copy.deepcopy(kong)
    async with fake.client() as client:
        stack = await open_stack(client, compose)
        change = plan_update(stack, None, "api.example.com", True)
        now = await apply_domain(client, stack, change)
        assert now is not None
        assert now.domain_id == kong["domainId"]
        [row] = compose_domains(fake, compose["composeId"])
        assert (row["domainId"], row["host"], row["https"], row["certificateType"]) == (
            kong["domainId"],
            "api.example.com",
            True,
            "letsencrypt",
        )
        assert (row["serviceName"], row["port"], row["path"]) == ("kong", 8000, "/")
        await restore_domain(client, stack, change, now)
    assert compose_domains(fake, compose["composeId"]) == [before]


async def test_apply_update_to_http_drops_the_certificate() -> None:
    fake = FakeDokploy()
    compose = fake.add_supabase_stack(
        domains=[{"host": "api.example.com", "https": True, "certificateType": "letsencrypt", **KONG}]
    )
    async with fake.client() as client:
        stack = await open_stack(client, compose)
        await apply_domain(client, stack, plan_update(stack, None, None, False))
    [row] = compose_domains(fake, compose["composeId"])
    assert (row["host"], row["https"], row["certificateType"]) == ("api.example.com", False, "none")


async def test_apply_remove_then_restore_brings_the_domain_back() -> None:
    fake = FakeDokploy()
    compose = fake.add_supabase_stack()
    [kong] = compose_domains(fake, compose["composeId"])
    async with fake.client() as client:
        stack = await open_stack(client, compose)
        change = plan_remove(stack, None)
        assert await apply_domain(client, stack, change) is None
        assert compose_domains(fake, compose["composeId"]) == []
        await restore_domain(client, stack, change, None)
    [row] = compose_domains(fake, compose["composeId"])
    fields = (
        "host",
        "https",
        "certificateType",
        "serviceName",
        "port",
        "path",
        "domainType",
        "internalPath",
        "stripPath",
    )
    assert {f: row[f] for f in fields} == {f: kong[f] for f in fields}


async def test_apply_leaves_other_composes_domains_alone() -> None:
    fake = FakeDokploy()
    other = fake.add_supabase_stack("other", "supabase")
    compose = fake.add_supabase_stack()
    theirs = copy.deepcopy(compose_domains(fake, other["composeId"]))
    async with fake.client() as client:
        stack = await open_stack(client, compose)
        change = plan_update(stack, None, "api.example.com", True)
        now = await apply_domain(client, stack, change)
        await restore_domain(client, stack, change, now)
    assert compose_domains(fake, other["composeId"]) == theirs


# -- put_domain, certificate_note -------------------------------------------------------------------------------------


async def test_put_domain_points_a_domain_at_the_host_and_keeps_its_route() -> None:
    fake = FakeDokploy()
    route = {"serviceName": "kong", "port": 8000, "path": "/api"}
    compose = fake.add_supabase_stack(
        domains=[{"host": "old.example.com", "https": False, "certificateType": "none", **route}]
    )
    async with fake.client() as client:
        stack = await open_stack(client, compose)
        [before] = stack.compose.domains
        await put_domain(client, compose["composeId"], before, "api.example.com", True)
    [row] = compose_domains(fake, compose["composeId"])
    assert (row["domainId"], row["host"], row["https"], row["certificateType"]) == (
        before.domain_id,
        "api.example.com",
        True,
        "letsencrypt",
    )
    assert {key: row[key] for key in route} == route


@pytest.mark.parametrize(
    ("email", "https", "expected"),
    [
        (None, True, LETS_ENCRYPT_EMAIL_MISSING),
        ("ops@example.com", True, None),
        (None, False, None),
    ],
)
async def test_certificate_note_only_when_https_cannot_be_certified(
    email: str | None, https: bool, expected: str | None
) -> None:
    fake = FakeDokploy(lets_encrypt_email=email)
    async with fake.client() as client:
        assert await certificate_note(client, https) == expected
