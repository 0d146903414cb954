"""Honest capabilities: the server advertises tools only, and names an unknown prompt, resource or tool as invalid
params, with no traceback in the log. Both protocol eras, through the SDK's in-memory client."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any, Literal

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types import INVALID_PARAMS, METHOD_NOT_FOUND

from dokploy_mcp.config import load_dokploy_servers, load_settings
from dokploy_mcp.server import _withdraw_listings, build_server

pytestmark = pytest.mark.anyio

Mode = Literal["legacy", "auto"]
MODES = pytest.mark.parametrize("mode", ["legacy", "auto"])


def server() -> Any:
    settings = load_settings()
    return build_server(settings, servers=load_dokploy_servers(settings, environ={}))


async def error_of(call: Callable[[Client], Awaitable[object]], mode: Mode) -> MCPError:
    async with Client(server(), mode=mode) as client:
        with pytest.raises(MCPError) as raised:
            await call(client)
    return raised.value


def assert_no_traceback(caplog: pytest.LogCaptureFixture) -> None:
    noisy = [record for record in caplog.records if record.exc_info or record.levelno >= logging.ERROR]
    assert noisy == [], [record.getMessage() for record in noisy]


@MODES
async def test_only_tools_are_advertised(mode: Mode) -> None:
    async with Client(server(), mode=mode) as client:
        capabilities = client.server_capabilities
    assert capabilities.tools is not None
    # The tool list never changes while the server runs, so it does not promise notifications of a change.
    assert not capabilities.tools.list_changed
    assert capabilities.prompts is None
    assert capabilities.resources is None
    assert capabilities.logging is None
    assert capabilities.completions is None


@MODES
@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda client: client.list_prompts(), id="prompts/list"),
        pytest.param(lambda client: client.list_resources(), id="resources/list"),
        pytest.param(lambda client: client.list_resource_templates(), id="resources/templates/list"),
    ],
)
async def test_listings_of_what_is_not_offered_are_method_not_found(
    mode: Mode, call: Callable[[Client], Awaitable[object]], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    error = await error_of(call, mode)
    assert error.error.code == METHOD_NOT_FOUND
    assert_no_traceback(caplog)


@MODES
async def test_an_unknown_prompt_is_invalid_params_without_a_traceback(
    mode: Mode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    error = await error_of(lambda client: client.get_prompt("deploy_supabase"), mode)
    assert error.error.code == INVALID_PARAMS
    assert error.error.data == {"name": "deploy_supabase"}
    assert "deploy_supabase" in error.error.message
    assert_no_traceback(caplog)


@MODES
async def test_an_unknown_resource_is_invalid_params_with_its_uri(mode: Mode, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    error = await error_of(lambda client: client.read_resource("dokploy://nothing/here"), mode)
    assert error.error.code == INVALID_PARAMS
    assert error.error.data == {"uri": "dokploy://nothing/here"}
    assert_no_traceback(caplog)


@MODES
async def test_an_unknown_tool_is_invalid_params_and_a_known_one_still_runs(
    mode: Mode, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    async with Client(server(), mode=mode) as client:
        with pytest.raises(MCPError) as raised:
            await client.call_tool("drop_everything", {})
        known = await client.call_tool("health_check", {})
    assert raised.value.error.code == INVALID_PARAMS
    assert raised.value.error.data == {"name": "drop_everything"}
    assert not known.is_error, known.content
    assert_no_traceback(caplog)


def test_a_changed_sdk_fails_loudly_instead_of_advertising_again() -> None:
    # The listings are withdrawn from the SDK's private handler table: when the table no longer holds them (here,
    # because they are gone already) start-up must stop rather than carry on with whatever the SDK now advertises.
    with pytest.raises(RuntimeError, match="no longer registers"):
        _withdraw_listings(server())
