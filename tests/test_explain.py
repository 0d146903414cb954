"""Every expected failure becomes one message that names the cause and the next step."""

from __future__ import annotations

import httpx
import pytest
import respx
from pydantic import SecretStr

from dokploy_mcp.confirm import ConfirmationError
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.errors import (
    DokployError,
    DokployProtocolError,
    DokployRateLimitedError,
    DokployResponseError,
)
from dokploy_mcp.errors import ConfigurationError, InputError
from dokploy_mcp.explain import explain
from dokploy_mcp.postgres.errors import (
    DatabaseConnectionError,
    DatabaseQueryError,
    DatabaseTimeoutError,
    ReadOnlyViolationError,
    RoleNotPermittedError,
)
from tests.dokploy.recordings import BASE_URL, TEST_API_KEY, replay

pytestmark = pytest.mark.anyio


async def failure(recording: str, call: str, **kwargs: object) -> DokployError:
    async def no_sleep(_: float) -> None:
        return None

    with respx.mock() as router:
        replay(router, recording)
        async with DokployClient(base_url=BASE_URL, api_key=SecretStr(TEST_API_KEY), sleep=no_sleep) as client:
            with pytest.raises(DokployError) as info:
                await getattr(client, call)(**kwargs)
    return info.value


async def test_a_401_explains_wrong_key_and_the_default_rate_limit() -> None:
    message = explain(await failure("project.all--rate-limited-key", "project_all"))
    assert "401" in message
    assert "5 REST calls a day" in message
    assert "rate limiting off" in message
    assert TEST_API_KEY not in message


async def test_a_404_names_the_route_and_how_to_find_valid_ids() -> None:
    message = explain(await failure("compose.one--not-found", "compose_one", compose_id="does-not-exist"))
    assert "/compose.one" in message
    assert "Compose not found" in message
    assert "dokploy_list_instances" in message


async def test_a_validation_error_names_each_field() -> None:
    error = await failure(
        "domain.create--missing-host", "domain_create", host="", compose_id="c", service_name="web", port=8080
    )
    message = explain(error)
    assert "host:" in message
    assert "correct these fields" in message


async def test_a_server_error_passes_on_dokploys_message() -> None:
    message = explain(
        await failure(
            "compose.deployTemplate--supabase-offline",
            "compose_deploy_template",
            environment_id="e",
            template_id="supabase",
        )
    )
    assert "500" in message
    assert "fetch failed" in message


async def test_transport_and_timeout_failures_say_what_to_check() -> None:
    async with DokployClient(
        base_url=BASE_URL, api_key=None, max_retries=0, transport=httpx.MockTransport(_refuse)
    ) as client:
        with pytest.raises(DokployError) as info:
            await client.project_all()
    message = explain(info.value)
    assert message.startswith("Cannot reach Dokploy server 'default'")
    assert "port 3000" in message


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("connection refused", request=request)


async def test_an_answer_past_the_clients_limits_is_explained_as_a_suspect_server() -> None:
    with respx.mock() as router:
        router.get(f"{BASE_URL}/api/project.all").respond(200, content=b"[" * 100_000 + b"]" * 100_000)
        async with DokployClient(base_url=BASE_URL, api_key=SecretStr(TEST_API_KEY)) as client:
            with pytest.raises(DokployProtocolError) as info:
                await client.project_all()
    message = explain(info.value)
    assert message.startswith("Dokploy server 'default' sent an answer past the limits this server reads")
    assert "/project.all" in message
    assert "nested deeper than 64 levels" in message
    assert "reaches Dokploy itself" in message


def test_other_dokploy_errors_are_explained() -> None:
    limited = DokployRateLimitedError(
        server="prod", status=429, path="/project.all", message="slow down", retry_after=7
    )
    assert "try again after 7 s" in explain(limited)
    odd = DokployResponseError("not JSON", server="prod", path="/compose.one")
    assert "supported version" in explain(odd)


def test_configuration_input_and_confirmation_errors_keep_their_own_words() -> None:
    assert explain(ConfigurationError("set DOKPLOY_URL", setting="DOKPLOY_URL")) == "Configuration: set DOKPLOY_URL"
    assert explain(InputError("use project/name", field="stack")) == "Invalid stack: use project/name"
    assert explain(ConfirmationError("preview again", reason="expired")) == "Not confirmed: preview again"


def test_database_errors_name_the_masked_target_and_the_next_step() -> None:
    target = "postgresql://app:****@db.example.com:5432/app"
    cases = [
        (DatabaseConnectionError("connection refused", target=target), "check host, port, user and password"),
        (DatabaseTimeoutError("canceling statement", target=target, timeout_ms=500), "longer than 500 ms"),
        (ReadOnlyViolationError("cannot execute INSERT", target=target, sqlstate="25006"), "read-only transaction"),
        (RoleNotPermittedError("not a member", target=target, role="service_role"), "'service_role'"),
        (DatabaseQueryError("syntax error", target=target, sqlstate="42601"), "refused the statement"),
    ]
    for error, fragment in cases:
        message = explain(error)
        assert fragment in message
        assert target in message


async def test_an_unreachable_template_names_its_source_dokploys_error_and_the_offline_way() -> None:
    from dokploy_mcp.supabase.errors import TemplateUnavailableError

    cause = await failure(
        "compose.deployTemplate--supabase-offline",
        "compose_deploy_template",
        environment_id="e",
        template_id="supabase",
    )
    message = explain(TemplateUnavailableError("the mirror https://m.example", cause))
    assert message == (
        f"Dokploy could not get the Supabase template from the mirror https://m.example ({explain(cause)}). When the "
        "Dokploy host cannot reach the internet, call again with template: a folder on this machine with the "
        "template's docker-compose.yml and template.toml (imported offline), or a mirror's URL"
    )
