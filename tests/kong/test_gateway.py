"""KongGateway against a double of the stack's Kong, GoTrue and pg-meta built from the template's kong.yml."""

from __future__ import annotations

import json
import logging
import socket
from typing import Any

import httpx
import pytest
import respx
from pydantic import SecretStr

from dokploy_mcp.errors import ConfigurationError, DokployMCPError, InputError
from dokploy_mcp.kong.errors import GatewayAuthError, GatewayError, GatewayResponseError, GatewayUnreachableError
from dokploy_mcp.kong.gateway import KeyCheck, KongGateway
from tests.kong.gateways import (
    ANON_KEY,
    BASE_URL,
    JWT_SECRET,
    OTHER_SECRET,
    SERVICE_KEY,
    failing_transport,
    gateway_for,
    stack,
)
from tests.supabase.kong_double import SERVICES, KongDouble, PgError, make_key

pytestmark = pytest.mark.anyio


# -- verify_keys ------------------------------------------------------------------------------------------------------


async def test_verify_keys_passes_with_the_keys_the_stack_was_deployed_with() -> None:
    async with gateway_for(stack()) as gateway:
        check = await gateway.verify_keys()

    assert check == KeyCheck(
        anon_accepted=True, service_role_admin=True, anon_refused_on_admin=True, details=check.details
    )
    assert check.ok
    assert any("not_admin" in line for line in check.details)


async def test_verify_keys_fails_when_the_service_key_is_a_kong_consumer_signed_with_another_secret() -> None:
    # A half-done repair: Kong got the new key, but GoTrue still verifies with the old JWT_SECRET.
    foreign_service_key = make_key(OTHER_SECRET, "service_role")
    double = stack(service_role_key=foreign_service_key)

    async with gateway_for(double, service_role_key=foreign_service_key) as gateway:
        check = await gateway.verify_keys()

    assert check.anon_accepted
    assert not check.service_role_admin
    assert check.anon_refused_on_admin
    assert not check.ok
    (line,) = [line for line in check.details if line.startswith("service_role key")]
    assert "403 bad_jwt" in line
    assert "signature is invalid" in line
    assert "JWT_SECRET" in line


async def test_verify_keys_fails_when_the_anon_key_is_a_kong_consumer_signed_with_another_secret() -> None:
    foreign_anon_key = make_key(OTHER_SECRET, "anon")

    async with gateway_for(stack(anon_key=foreign_anon_key), anon_key=foreign_anon_key) as gateway:
        check = await gateway.verify_keys()

    # Kong knows the key (health answers 200), but GoTrue's admin refusal shows the signature does not verify.
    assert not check.anon_accepted
    assert check.service_role_admin
    assert check.anon_refused_on_admin
    assert any("bad_jwt" in line for line in check.details)


async def test_verify_keys_fails_when_the_anon_key_is_given_in_both_places() -> None:
    async with gateway_for(stack(), service_role_key=ANON_KEY) as gateway:
        check = await gateway.verify_keys()

    assert check.anon_accepted
    assert not check.service_role_admin
    assert check.anon_refused_on_admin
    (line,) = [line for line in check.details if line.startswith("service_role key")]
    assert "403 not_admin" in line
    assert "role is not service_role" in line


async def test_verify_keys_fails_when_the_service_key_is_given_in_both_places() -> None:
    async with gateway_for(stack(), anon_key=SERVICE_KEY) as gateway:
        check = await gateway.verify_keys()

    assert check.anon_accepted
    assert check.service_role_admin
    assert not check.anon_refused_on_admin
    assert any("the anon key is a service_role key" in line for line in check.details)


async def test_verify_keys_fails_with_keys_kong_does_not_know_even_when_well_signed() -> None:
    # Correctly signed with the stack's secret, but not the literal strings Kong's consumers own.
    stray_anon = make_key(JWT_SECRET, "anon", expires=1_900_000_000)
    stray_service = make_key(JWT_SECRET, "service_role", expires=1_900_000_000)

    async with gateway_for(stack(), anon_key=stray_anon, service_role_key=stray_service) as gateway:
        check = await gateway.verify_keys()

    assert not check.anon_accepted
    assert not check.service_role_admin
    assert check.anon_refused_on_admin
    assert all("401: Unauthorized" in line for line in check.details)
    assert all("Kong does not know this key" in line for line in check.details)


async def test_verify_keys_raises_when_gotrue_is_down_because_nothing_is_known_about_the_keys() -> None:
    async with gateway_for(stack(down_services={"auth"})) as gateway:
        with pytest.raises(GatewayResponseError) as caught:
            await gateway.verify_keys()

    assert caught.value.status == 503
    assert caught.value.message == "name resolution failed"


# -- headers ----------------------------------------------------------------------------------------------------------


async def test_every_request_sends_apikey_and_bearer_authorization_of_the_same_key() -> None:
    double = stack(pg_handler=lambda query, parameters: [{"x": 1}])

    async with gateway_for(double) as gateway:
        await gateway.auth_health()
        await gateway.auth_health(key="service_role")
        await gateway.auth_settings()
        await gateway.auth_admin_users()
        await gateway.verify_keys()
        await gateway.pg_query("select 1 as x")
        for service in SERVICES:
            await gateway.probe(service)

    assert len(double.requests) == 14
    for request in double.requests:
        apikey = request.headers.get_list("apikey")
        assert apikey in ([ANON_KEY], [SERVICE_KEY]), request.url
        assert request.headers.get_list("authorization") == [f"Bearer {apikey[0]}"], request.url
        assert "apikey" not in request.url.params


async def test_each_call_uses_the_key_its_route_needs() -> None:
    double = stack(pg_handler=lambda query, parameters: [])

    async with gateway_for(double) as gateway:
        await gateway.auth_settings()
        await gateway.auth_admin_users()
        await gateway.pg_query("select 1")
        await gateway.probe("meta")
        await gateway.probe("auth")

    used = [(call.path, call.consumer) for call in double.upstream_calls]
    assert used == [
        ("/settings", "anon"),
        ("/admin/users", "service_role"),
        ("/query", "service_role"),
        ("/health", "service_role"),
        ("/health", "anon"),
    ]
    # GoTrue received "Bearer <key>", not the raw apikey the request-transformer would copy without it.
    assert double.upstream_calls[1].headers["authorization"] == f"Bearer {SERVICE_KEY}"


# -- GoTrue -----------------------------------------------------------------------------------------------------------


async def test_auth_health_and_settings_return_gotrue_objects() -> None:
    async with gateway_for(stack()) as gateway:
        health = await gateway.auth_health()
        settings = await gateway.auth_settings()

    assert health["name"] == "GoTrue"
    assert health["version"] == "v2.189.0"
    assert settings["external"]["email"] is True
    assert settings["disable_signup"] is False


async def test_auth_admin_users_pages_with_total_and_next_page() -> None:
    async with gateway_for(stack()) as gateway:
        first = await gateway.auth_admin_users(per_page=2)
        second = await gateway.auth_admin_users(page=first.next_page or 0, per_page=2)
        last = await gateway.auth_admin_users(page=3, per_page=2)
        beyond = await gateway.auth_admin_users(page=4, per_page=2)

    assert [user["email"] for user in first.users] == ["user1@example.com", "user2@example.com"]
    assert (first.total, first.next_page) == (5, 2)
    assert [user["email"] for user in second.users] == ["user3@example.com", "user4@example.com"]
    assert second.next_page == 3
    assert ([user["email"] for user in last.users], last.total, last.next_page) == (["user5@example.com"], 5, None)
    assert (beyond.users, beyond.next_page) == ([], None)


async def test_auth_admin_users_pages_without_a_link_header_from_the_total() -> None:
    with respx.mock(base_url=BASE_URL, assert_all_called=True) as router:
        router.get("/auth/v1/admin/users").respond(
            200, json={"aud": "authenticated", "users": [{"id": "a"}]}, headers={"x-total-count": "3"}
        )
        async with gateway_for(httpx.AsyncHTTPTransport()) as gateway:
            page = await gateway.auth_admin_users(page=1, per_page=1)

    assert (page.total, page.next_page) == (3, 2)


async def test_auth_admin_users_with_the_anon_key_is_refused_by_gotrue_as_not_admin() -> None:
    async with gateway_for(stack()) as gateway:
        with pytest.raises(GatewayAuthError) as caught:
            await gateway.auth_admin_users(key="anon")

    err = caught.value
    assert (err.status, err.code, err.message, err.refused_by) == (403, "not_admin", "User not allowed", "service")
    assert err.url == f"{BASE_URL}/auth/v1/admin/users?page=1&per_page=50"
    assert "role is not service_role" in str(err)


@pytest.mark.parametrize(("page", "per_page", "field"), [(0, 50, "page"), (1, 0, "per_page")])
async def test_auth_admin_users_refuses_pages_below_one(page: int, per_page: int, field: str) -> None:
    async with gateway_for(stack()) as gateway:
        with pytest.raises(InputError) as caught:
            await gateway.auth_admin_users(page=page, per_page=per_page)

    assert caught.value.field == field


async def test_auth_admin_users_with_a_body_without_users_is_a_response_error() -> None:
    with respx.mock(base_url=BASE_URL) as router:
        router.get("/auth/v1/admin/users").respond(200, json={"aud": "authenticated"})
        async with gateway_for(httpx.AsyncHTTPTransport()) as gateway:
            with pytest.raises(GatewayResponseError, match="'users' list"):
                await gateway.auth_admin_users()


# -- pg-meta ----------------------------------------------------------------------------------------------------------


async def test_pg_query_returns_rows_and_sends_the_query_and_its_parameters() -> None:
    seen: list[tuple[str, list[Any] | None]] = []

    def handler(query: str, parameters: list[Any] | None) -> list[dict[str, Any]]:
        seen.append((query, parameters))
        return [{"x": 42}]

    double = stack(pg_handler=handler)
    async with gateway_for(double) as gateway:
        with_parameters = await gateway.pg_query("select $1::int + 1 as x", [41])
        without = await gateway.pg_query("select 42 as x")

    assert with_parameters == without == [{"x": 42}]
    assert seen == [("select $1::int + 1 as x", [41]), ("select 42 as x", None)]
    bodies = [json.loads(request.content) for request in double.requests]
    assert bodies == [{"query": "select $1::int + 1 as x", "parameters": [41]}, {"query": "select 42 as x"}]


async def test_pg_query_maps_pg_metas_400_to_a_response_error_with_the_postgres_message() -> None:
    def handler(query: str, parameters: list[Any] | None) -> list[dict[str, Any]]:
        raise PgError("42P01", 'relation "nope" does not exist', position="15")

    async with gateway_for(stack(pg_handler=handler)) as gateway:
        with pytest.raises(GatewayResponseError) as caught:
            await gateway.pg_query("select * from nope")

    err = caught.value
    assert (err.status, err.code, err.message) == (400, "42P01", 'relation "nope" does not exist')
    assert str(err) == (
        'POST /pg/query through the Supabase gateway answered 400 42P01: relation "nope" does not exist'
    )


async def test_pg_query_with_the_anon_key_in_the_service_slot_is_refused_by_kongs_acl() -> None:
    async with gateway_for(stack(pg_handler=lambda q, p: []), service_role_key=ANON_KEY) as gateway:
        with pytest.raises(GatewayAuthError) as caught:
            await gateway.pg_query("select 1")

    err = caught.value
    assert (err.status, err.message, err.refused_by) == (403, "You cannot consume this service", "kong")
    assert "only the service_role key may use /pg/" in str(err)


async def test_pg_query_refuses_an_empty_query_before_sending() -> None:
    double = stack()
    async with gateway_for(double) as gateway:
        with pytest.raises(InputError):
            await gateway.pg_query("  ")

    assert double.requests == []


async def test_pg_query_with_a_body_that_is_not_rows_is_a_response_error() -> None:
    with respx.mock(base_url=BASE_URL) as router:
        router.post("/pg/query").respond(200, json={"rows": []})
        async with gateway_for(httpx.AsyncHTTPTransport()) as gateway:
            with pytest.raises(GatewayResponseError, match="list of row objects"):
                await gateway.pg_query("select 1")


# -- transport failures and URLs --------------------------------------------------------------------------------------


async def test_a_closed_port_is_unreachable() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    gateway = KongGateway(
        f"http://127.0.0.1:{port}", anon_key=SecretStr(ANON_KEY), service_role_key=SecretStr(SERVICE_KEY), timeout=5
    )
    async with gateway:
        with pytest.raises(GatewayUnreachableError) as caught:
            await gateway.auth_health()

    assert caught.value.url == f"http://127.0.0.1:{port}/auth/v1/health"
    assert caught.value.status is None
    assert caught.value.reason.startswith("ConnectError")
    assert isinstance(caught.value, DokployMCPError)


async def test_a_gateway_that_does_not_answer_in_time_is_unreachable() -> None:
    async with gateway_for(failing_transport(httpx.ReadTimeout("timed out"))) as gateway:
        with pytest.raises(GatewayUnreachableError) as caught:
            await gateway.verify_keys()

    assert caught.value.reason == "no answer within 10 s (ReadTimeout)"
    assert str(caught.value) == (
        f"Cannot reach the Supabase gateway at {BASE_URL}/auth/v1/health: no answer within 10 s (ReadTimeout)"
    )


async def test_the_base_url_tolerates_a_trailing_slash() -> None:
    double = stack()
    async with gateway_for(double, base_url="https://api.example.com/") as gateway:
        await gateway.auth_health()

    assert gateway.base_url == BASE_URL
    assert str(double.requests[0].url) == f"{BASE_URL}/auth/v1/health"


@pytest.mark.parametrize("url", ["api.example.com", "ftp://api.example.com", "https://"])
def test_a_base_url_that_is_not_http_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError):
        KongGateway(url, anon_key=SecretStr(ANON_KEY), service_role_key=SecretStr(SERVICE_KEY))


def test_a_base_url_with_credentials_is_refused_without_echoing_them() -> None:
    with pytest.raises(ConfigurationError) as caught:
        KongGateway(
            "https://user:hunter2-password@api.example.com",
            anon_key=SecretStr(ANON_KEY),
            service_role_key=SecretStr(SERVICE_KEY),
        )

    assert "hunter2" not in str(caught.value)


# -- secrets ----------------------------------------------------------------------------------------------------------


async def test_keys_never_appear_in_errors_reprs_or_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    texts: list[str] = []

    def record(err: GatewayError) -> None:
        texts.extend([str(err), repr(err), repr(err.args), str(err.message), err.url])

    foreign_service_key = make_key(OTHER_SECRET, "service_role")
    async with gateway_for(stack(service_role_key=foreign_service_key), service_role_key=foreign_service_key) as gw:
        texts.append(repr(gw))
        check = await gw.verify_keys()
        texts.append(repr(check))
        with pytest.raises(GatewayAuthError) as auth_failure:
            await gw.auth_admin_users()
        record(auth_failure.value)
        texts.extend([repr(await gw.probe(service)) for service in SERVICES])

    async with gateway_for(stack(pg_handler=lambda q, p: []), service_role_key=ANON_KEY) as gw:
        with pytest.raises(GatewayAuthError) as acl_failure:
            await gw.pg_query("select 1")
        record(acl_failure.value)

    # A service that echoes the key back (some proxies do) still does not get it into an error or a probe detail.
    with respx.mock(base_url=BASE_URL) as router:
        router.post("/pg/query").respond(500, json={"error": f"cannot use key {SERVICE_KEY}"})
        router.get("/auth/v1/health").respond(502, json={"message": f"upstream said {ANON_KEY}"})
        async with gateway_for(httpx.AsyncHTTPTransport()) as gw:
            with pytest.raises(GatewayResponseError) as echoed:
                await gw.pg_query("select 1")
            record(echoed.value)
            probe = await gw.probe("auth")
            texts.append(repr(probe))

    async with gateway_for(failing_transport(httpx.ConnectError(f"refused {SERVICE_KEY}"))) as gw:
        with pytest.raises(GatewayUnreachableError) as unreachable:
            await gw.auth_health()
        record(unreachable.value)

    assert "****" in str(echoed.value)
    assert "****" in probe.detail
    haystack = "\n".join([*texts, caplog.text])
    assert caplog.records, "the gateway logs its requests at DEBUG"
    for key in (ANON_KEY, SERVICE_KEY, foreign_service_key):
        assert key not in haystack
        # A JWT's signature is its secret part; no fragment of it may leak either.
        assert key.rsplit(".", 1)[1] not in haystack


# -- the double refuses what the stack refuses ------------------------------------------------------------------------


def test_the_double_refuses_a_request_without_apikey_like_kong() -> None:
    with httpx.Client(transport=stack().transport(), base_url=BASE_URL) as client:
        response = client.get("/auth/v1/health")

    assert response.status_code == 401
    assert response.json()["message"] == "No API key found in request"
    assert response.headers["www-authenticate"] == "Key"


def test_the_double_refuses_a_key_no_consumer_owns_even_when_it_is_well_signed() -> None:
    stray = make_key(JWT_SECRET, "service_role", expires=1_900_000_000)
    with httpx.Client(transport=stack().transport(), base_url=BASE_URL) as client:
        response = client.get("/auth/v1/health", headers={"apikey": stray, "authorization": f"Bearer {stray}"})

    assert response.status_code == 401
    assert set(response.json()) == {"message", "request_id"}
    assert response.json()["message"] == "Unauthorized"


def test_the_double_accepts_the_key_in_the_query_string_like_kongs_key_auth_defaults() -> None:
    with httpx.Client(transport=stack().transport(), base_url=BASE_URL) as client:
        response = client.get("/auth/v1/health", params={"apikey": ANON_KEY})

    assert response.status_code == 200


def test_the_double_refuses_the_anon_key_on_pg_meta_like_kongs_acl() -> None:
    double = stack(pg_handler=lambda q, p: [])
    with httpx.Client(transport=double.transport(), base_url=BASE_URL) as client:
        response = client.post(
            "/pg/query", json={"query": "select 1"}, headers={"apikey": ANON_KEY, "authorization": f"Bearer {ANON_KEY}"}
        )

    assert response.status_code == 403
    assert response.json()["message"] == "You cannot consume this service"
    assert double.upstream_calls == []


def test_the_double_copies_a_bare_apikey_into_authorization_and_gotrue_refuses_it() -> None:
    # Why every request sends both headers: without Authorization, Kong forwards the raw key, without "Bearer ".
    double = stack()
    with httpx.Client(transport=double.transport(), base_url=BASE_URL) as client:
        response = client.get("/auth/v1/admin/users", headers={"apikey": SERVICE_KEY})

    assert response.status_code == 401
    assert response.json() == {
        "code": 401,
        "error_code": "no_authorization",
        "msg": "This endpoint requires a valid Bearer token",
    }
    assert double.upstream_calls[0].headers["authorization"] == SERVICE_KEY


def test_the_double_replaces_an_opaque_sb_bearer_with_the_apikey() -> None:
    double = stack()
    with httpx.Client(transport=double.transport(), base_url=BASE_URL) as client:
        client.get("/auth/v1/health", headers={"apikey": ANON_KEY, "authorization": "Bearer sb_publishable_x"})

    assert double.upstream_calls[0].headers["authorization"] == ANON_KEY


def test_the_double_sends_pg_without_the_slash_to_the_dashboards_basic_auth() -> None:
    with httpx.Client(transport=stack().transport(), base_url=BASE_URL) as client:
        response = client.get("/pg", headers={"apikey": SERVICE_KEY, "authorization": f"Bearer {SERVICE_KEY}"})

    assert response.status_code == 401
    assert response.json()["message"] == "Unauthorized"
    assert response.headers["www-authenticate"].startswith("Basic")


def test_the_double_refuses_keys_before_reporting_a_down_service() -> None:
    with httpx.Client(transport=stack(down_services={"auth"}).transport(), base_url=BASE_URL) as client:
        response = client.get("/auth/v1/health")

    assert response.status_code == 401


def test_the_double_builds_gotrues_link_header_from_the_path_gotrue_sees() -> None:
    with httpx.Client(transport=stack().transport(), base_url=BASE_URL) as client:
        response = client.get(
            "/auth/v1/admin/users",
            params={"page": "1", "per_page": "2"},
            headers={"apikey": SERVICE_KEY, "authorization": f"Bearer {SERVICE_KEY}"},
        )

    assert response.headers["x-total-count"] == "5"
    assert response.headers["link"] == (
        '</admin/users?page=2&per_page=2>; rel="next", </admin/users?page=3&per_page=2>; rel="last"'
    )


def test_the_double_cannot_be_built_with_one_key_for_both_consumers() -> None:
    with pytest.raises(ValueError, match="same key"):
        KongDouble(JWT_SECRET, ANON_KEY, ANON_KEY)


def test_the_double_answers_501_for_what_it_does_not_model() -> None:
    with httpx.Client(transport=stack().transport(), base_url=BASE_URL) as client:
        response = client.get("/auth/v1/user", headers={"apikey": ANON_KEY, "authorization": f"Bearer {ANON_KEY}"})

    assert response.status_code == 501
