"""The HTTP transports over real HTTP on loopback: bearer token, DNS-rebinding protection, both protocol eras."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from dokploy_mcp.config import Settings, load_settings
from dokploy_mcp.errors import ConfigurationError
from dokploy_mcp.http import BearerAuthMiddleware, http_app
from dokploy_mcp.server import build_server
from tests.protocol.servers import serve_in_thread

TOKEN = "test-token-0123456789"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "t", "version": "0"}},
}
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def settings_for(**overrides: Any) -> Settings:
    return load_settings(transport="streamable-http", **overrides)


@pytest.fixture
def token_server() -> Iterator[str]:
    settings = settings_for(auth_token=TOKEN)
    with serve_in_thread(http_app(build_server(settings), settings)) as url:
        yield url


def test_request_without_token_is_refused_with_401(token_server: str) -> None:
    response = httpx.post(f"{token_server}/mcp", json=INITIALIZE, headers=MCP_HEADERS)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert TOKEN not in response.text


def test_request_with_a_wrong_token_is_refused_with_401(token_server: str) -> None:
    headers = {**MCP_HEADERS, "authorization": "Bearer not-the-token"}
    assert httpx.post(f"{token_server}/mcp", json=INITIALIZE, headers=headers).status_code == 401


def test_request_with_the_token_but_a_foreign_host_is_refused(token_server: str) -> None:
    headers = {**MCP_HEADERS, "authorization": f"Bearer {TOKEN}", "host": "evil.example:80"}
    response = httpx.post(f"{token_server}/mcp", json=INITIALIZE, headers=headers)
    assert response.status_code == 421


def test_request_with_the_token_and_a_foreign_origin_is_refused(token_server: str) -> None:
    headers = {**MCP_HEADERS, "authorization": f"Bearer {TOKEN}", "origin": "http://evil.example"}
    response = httpx.post(f"{token_server}/mcp", json=INITIALIZE, headers=headers)
    assert response.status_code == 403


def test_request_with_the_token_is_served(token_server: str) -> None:
    headers = {**MCP_HEADERS, "authorization": f"Bearer {TOKEN}"}
    response = httpx.post(f"{token_server}/mcp", json=INITIALIZE, headers=headers)
    assert response.status_code == 200


@pytest.mark.anyio
@pytest.mark.parametrize(("mode", "expected_version"), [("legacy", "2025-11-25"), ("auto", "2026-07-28")])
async def test_mcp_client_with_the_token_lists_and_calls_tools_in_both_eras(
    token_server: str, mode: Literal["legacy", "auto"], expected_version: str
) -> None:
    http_client = httpx2.AsyncClient(headers={"authorization": f"Bearer {TOKEN}"})
    async with (
        http_client,
        Client(streamable_http_client(f"{token_server}/mcp", http_client=http_client), mode=mode) as client,
    ):
        assert client.protocol_version == expected_version
        tools = await client.list_tools()
        assert "health_check" in [tool.name for tool in tools.tools]
        result = await client.call_tool("health_check", {})
        assert not result.is_error
        assert result.structured_content is not None
        assert result.structured_content["ok"] is False  # no Dokploy configured in this test


def test_loopback_server_without_token_accepts_loopback_hosts_only() -> None:
    settings = settings_for()
    assert settings.host == "127.0.0.1"
    with serve_in_thread(http_app(build_server(settings), settings)) as url:
        assert httpx.post(f"{url}/mcp", json=INITIALIZE, headers=MCP_HEADERS).status_code == 200
        port = url.rsplit(":", 1)[1]
        local = {**MCP_HEADERS, "host": f"localhost:{port}"}
        assert httpx.post(f"{url}/mcp", json=INITIALIZE, headers=local).status_code == 200
        foreign = {**MCP_HEADERS, "host": f"rebind.attacker.example:{port}"}
        assert httpx.post(f"{url}/mcp", json=INITIALIZE, headers=foreign).status_code == 421


def test_configured_allowed_hosts_replace_the_loopback_defaults() -> None:
    settings = settings_for(auth_token=TOKEN, allowed_hosts="mcp.example.com,mcp.example.com:*")
    with serve_in_thread(http_app(build_server(settings), settings)) as url:
        port = url.rsplit(":", 1)[1]
        auth = {**MCP_HEADERS, "authorization": f"Bearer {TOKEN}"}
        named = {**auth, "host": f"mcp.example.com:{port}"}
        assert httpx.post(f"{url}/mcp", json=INITIALIZE, headers=named).status_code == 200
        loopback = {**auth, "host": f"127.0.0.1:{port}"}
        assert httpx.post(f"{url}/mcp", json=INITIALIZE, headers=loopback).status_code == 421


@pytest.mark.anyio
async def test_sse_transport_requires_the_token_and_serves_with_it() -> None:
    settings = load_settings(transport="sse", auth_token=TOKEN)
    with serve_in_thread(http_app(build_server(settings), settings)) as url:
        async with httpx.AsyncClient() as plain:
            refused = await plain.get(f"{url}/sse", headers={"accept": "text/event-stream"})
        assert refused.status_code == 401
        transport = sse_client(f"{url}/sse", headers={"authorization": f"Bearer {TOKEN}"})
        async with Client(transport, mode="legacy") as client:
            tools = await client.list_tools()
            assert "health_check" in [tool.name for tool in tools.tools]


def test_bearer_middleware_never_accepts_an_empty_token() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - never reached
        raise AssertionError

    with pytest.raises(ValueError):
        BearerAuthMiddleware(app, "")
    assert TOKEN not in repr(BearerAuthMiddleware(app, TOKEN))


# The HTTP door, as hostile and careless clients and operators try it.


@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "BeArEr"])
def test_the_bearer_scheme_is_matched_case_insensitively(token_server: str, scheme: str) -> None:
    # RFC 7235 §2.1: the authentication scheme is a case-insensitive token.
    headers = {**MCP_HEADERS, "authorization": f"{scheme} {TOKEN}"}
    assert httpx.post(f"{token_server}/mcp", json=INITIALIZE, headers=headers).status_code == 200


def test_several_spaces_may_separate_the_scheme_from_the_token(token_server: str) -> None:
    headers = {**MCP_HEADERS, "authorization": f"Bearer   {TOKEN}"}
    assert httpx.post(f"{token_server}/mcp", json=INITIALIZE, headers=headers).status_code == 200


@pytest.mark.parametrize(
    "authorization",
    [
        f"Basic {TOKEN}",
        f"Bearer{TOKEN}",
        "Bearer",
        f"Bearer {TOKEN} extra",
        f"Bearer {TOKEN[:-1]}",
        f"Bearer {TOKEN}x",
        f"Bearer {TOKEN.upper()}",
        TOKEN,
    ],
)
def test_anything_but_the_exact_token_after_the_scheme_is_refused(token_server: str, authorization: str) -> None:
    headers = {**MCP_HEADERS, "authorization": authorization}
    assert httpx.post(f"{token_server}/mcp", json=INITIALIZE, headers=headers).status_code == 401


def test_two_authorization_headers_are_refused(token_server: str) -> None:
    headers = [*MCP_HEADERS.items(), ("authorization", "Bearer wrong"), ("authorization", f"Bearer {TOKEN}")]
    assert httpx.post(f"{token_server}/mcp", json=INITIALIZE, headers=headers).status_code == 401


@pytest.mark.anyio
async def test_the_token_is_compared_in_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    # compare_digest is constant-time only for inputs of equal length: the comparison must never see the raw,
    # differently sized tokens, or the time of a refusal tells the token's length.
    import hmac

    seen: list[tuple[int, int]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        assert isinstance(a, bytes) and isinstance(b, bytes)
        seen.append((len(a), len(b)))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    reached: list[str] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        reached.append(scope["path"])

    async def send(message: Any) -> None:
        pass

    async def receive() -> Any:
        return {"type": "http.request", "body": b""}

    middleware = BearerAuthMiddleware(app, TOKEN)
    for supplied in (b"x", TOKEN.encode(), TOKEN.encode() * 3):
        headers = [(b"authorization", b"Bearer " + supplied)]
        await middleware({"type": "http", "method": "POST", "path": "/mcp", "headers": headers}, receive, send)
    assert reached == ["/mcp"]
    assert len(seen) == 3
    assert len({length for pair in seen for length in pair}) == 1


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "localhost:8000"])
def test_loopback_host_headers_without_a_port_are_accepted(host: str) -> None:
    settings = settings_for()
    with serve_in_thread(http_app(build_server(settings), settings)) as url:
        headers = {**MCP_HEADERS, "host": host, "origin": f"http://{host}"}
        assert httpx.post(f"{url}/mcp", json=INITIALIZE, headers=headers).status_code == 200


@pytest.mark.parametrize(
    ("host", "origin", "status"),
    [
        ("evil.example", None, 421),
        ("evil.example:80", None, 421),
        ("localhost.evil.example", None, 421),
        ("127.0.0.1.evil.example", None, 421),
        ("localhost", "http://evil.example", 403),
        ("localhost", "http://localhost.evil.example", 403),
    ],
)
def test_dns_rebinding_protection_stays_on_for_other_hosts(host: str, origin: str | None, status: int) -> None:
    settings = settings_for()
    with serve_in_thread(http_app(build_server(settings), settings)) as url:
        headers = {**MCP_HEADERS, "host": host, **({"origin": origin} if origin else {})}
        assert httpx.post(f"{url}/mcp", json=INITIALIZE, headers=headers).status_code == status


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.0.2.10", "dokploy-mcp.example.com"])
def test_beyond_loopback_a_token_of_at_least_32_characters_is_required(host: str) -> None:
    for token in (None, "short-tok", "Z" * 31):
        with pytest.raises(ConfigurationError) as info:
            settings_for(host=host, auth_token=token)
        assert info.value.setting == "DOKPLOY_MCP_AUTH_TOKEN"
        assert "--auth-token" in str(info.value)
        assert "at least 32" in str(info.value)
        assert token is None or token not in str(info.value)
    assert settings_for(host=host, auth_token="x" * 32).auth_token is not None


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "localhost", "LOCALHOST", "::1", "[::1]"])
def test_on_loopback_no_token_or_a_short_one_is_allowed(host: str) -> None:
    assert settings_for(host=host).auth_token is None
    assert settings_for(host=host, auth_token="t0ken").auth_token is not None


def test_a_token_an_http_header_cannot_carry_is_refused() -> None:
    with pytest.raises(ConfigurationError) as info:
        settings_for(host="0.0.0.0", auth_token="a" * 20 + " " + "b" * 20)
    assert info.value.setting == "DOKPLOY_MCP_AUTH_TOKEN"
