"""The deploy toolset through an MCP client, against the stateful Dokploy double and the Kong double."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import jsonschema
import pytest
from mcp import Client
from mcp.types import TextContent
from pydantic import SecretStr

from dokploy_mcp.config import DokployServerConfig, load_settings
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.kong.gateway import KongGateway
from dokploy_mcp.server import build_server
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.errors import KeyStepError
from tests.fake_dokploy import SERVERS, FakeDokploy
from tests.supabase.kong_double import KongDouble

pytestmark = pytest.mark.anyio


def stored_env(fake: FakeDokploy, compose_id: str) -> EnvFile:
    return EnvFile.parse(fake.composes[compose_id]["env"] or "")


def gateway_for(fake: FakeDokploy, compose_id: str) -> Callable[[str, SecretStr, SecretStr], KongGateway]:
    """A kong that knows the keys the stack's env holds now, as the real one does after a redeploy."""

    def factory(url: str, anon: SecretStr, service: SecretStr) -> KongGateway:
        env = stored_env(fake, compose_id)
        double = KongDouble(env.get("JWT_SECRET") or "", env.get("ANON_KEY") or "", env.get("SERVICE_ROLE_KEY") or "")
        return KongGateway(url, anon_key=anon, service_role_key=service, transport=double.transport())

    return factory


def make_server(fake: FakeDokploy, *, read_only: bool = False, gateway: Any = None) -> Any:
    def client_factory(config: DokployServerConfig, timeout: float) -> DokployClient:
        return fake.client(name=config.name, timeout=timeout)

    return build_server(
        load_settings(read_only=read_only), servers=SERVERS, client_factory=client_factory, gateway_factory=gateway
    )


@pytest.fixture
def fake() -> FakeDokploy:
    # deploy_polls=0: deployments finish by the first poll, so no test waits out a poll interval.
    return FakeDokploy(lets_encrypt_email="ops@example.com", deploy_polls=0)


@pytest.fixture
def stack(fake: FakeDokploy) -> dict[str, Any]:
    fake.add_compose("shop", "web", "services:\n  web:\n    image: busybox\n")
    return fake.add_supabase_stack("shop", "supabase", deployed=True)


@pytest.fixture
async def client(fake: FakeDokploy, stack: dict[str, Any]) -> AsyncIterator[Client]:
    async with Client(make_server(fake, gateway=gateway_for(fake, stack["composeId"]))) as mcp:
        yield mcp


async def call(client: Client, tool: str, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def error(client: Client, tool: str, **arguments: Any) -> str:
    result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert isinstance(result.content[0], TextContent)
    return result.content[0].text


async def test_list_instances_finds_the_supabase_stack_only(client: Client, stack: dict[str, Any]) -> None:
    listed = await call(client, "dokploy_list_instances")
    assert listed["total"] == 1
    [server] = listed["servers"]
    assert server["ok"] is True and server["other_composes"] == 1
    [found] = server["stacks"]
    assert found["compose_id"] == stack["composeId"]
    assert found["path"] == "shop/production/supabase"
    assert found["address"] == f"default:{stack['composeId']}"
    assert found["last_deployment"]["status"] == "done"


async def test_validate_config_finds_the_template_defects_and_every_fix_call_is_valid(client: Client) -> None:
    report = await call(client, "dokploy_validate_config", stack="shop/supabase")
    codes = {f["code"] for f in report["findings"]}
    assert {"site_url_localhost", "smtp_placeholder", "server_ip_loopback"} <= codes
    tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    fixes = [f["fix"] for f in report["findings"] if f["fix"]]
    assert fixes
    for fix in fixes:
        # The promise of a finding: its fix is a call the model can make as it stands (placeholders aside).
        jsonschema.validate(fix["arguments"], tools[fix["tool"]].input_schema)
    assert report["ok"] is False


async def test_validate_config_checks_raw_env_text_offline(client: Client, stack: dict[str, Any]) -> None:
    report = await call(client, "dokploy_validate_config", env_text=stack["env"])
    assert report["stack"] is None
    assert all(f["fix"] is None for f in report["findings"])
    assert "site_url_localhost" in {f["code"] for f in report["findings"]}
    text = json.dumps(report)
    for key, value in EnvFile.parse(stack["env"]).as_dict().items():
        if len(value) >= 8 and key not in {"ANON_KEY"}:
            assert value not in text, key


async def test_validate_config_needs_exactly_one_of_stack_and_env_text(client: Client) -> None:
    assert "exactly one of stack or env_text" in await error(client, "dokploy_validate_config")


async def test_update_env_dry_run_masks_secrets_and_writes_nothing(
    client: Client, fake: FakeDokploy, stack: dict[str, Any]
) -> None:
    before = fake.composes[stack["composeId"]]["env"]
    result = await call(
        client,
        "dokploy_update_env",
        stack="shop/supabase",
        set={"SITE_URL": "https://app.example.com", "SMTP_PASS": "new-smtp-password-123"},
        dry_run=True,
    )
    assert result["saved"] is False
    changes = {c["variable"]: c for c in result["changes"]}
    assert changes["SITE_URL"]["new"] == "https://app.example.com"
    assert "new-smtp-password-123" not in json.dumps(result)
    assert fake.composes[stack["composeId"]]["env"] == before


async def test_update_env_saves_and_says_it_is_not_applied_yet(
    client: Client, fake: FakeDokploy, stack: dict[str, Any]
) -> None:
    result = await call(
        client, "dokploy_update_env", stack="shop/supabase", set={"SITE_URL": "https://app.example.com"}
    )
    assert result["saved"] is True
    assert "not applied" in result["next_step"]
    assert stored_env(fake, stack["composeId"]).get("SITE_URL") == "https://app.example.com"
    # Every other line is untouched.
    old_lines = stack["env"].splitlines()
    new_lines = fake.composes[stack["composeId"]]["env"].splitlines()
    assert [a for a, b in zip(old_lines, new_lines, strict=True) if a != b] == ["SITE_URL=http://localhost:3000"]


async def test_update_env_with_redeploy_waits_for_the_outcome(client: Client, fake: FakeDokploy) -> None:
    arguments: dict[str, Any] = {"stack": "shop/supabase", "generate": ["DASHBOARD_PASSWORD"], "redeploy": True}
    # A new dashboard password overwrites the current one: a secret, so the call is confirmed first (token flow).
    preview = await call(client, "dokploy_update_env", **arguments)
    assert preview["status"] == "confirm" and preview["saved"] is False and preview["confirm_token"]
    assert "DASHBOARD_PASSWORD" in preview["notes"][-1]
    result = await call(client, "dokploy_update_env", **arguments, confirm_token=preview["confirm_token"])
    assert result["redeploy"]["status"] == "done"
    assert result["changes"][0]["new"].startswith("••••")
    assert result["next_step"] is None


async def test_update_env_refuses_jwt_secret_and_points_to_regenerate_keys(client: Client) -> None:
    message = await error(client, "dokploy_update_env", stack="shop/supabase", set={"JWT_SECRET": "x" * 40})
    assert "dokploy_regenerate_keys" in message


async def test_manage_domain_update_moves_the_url_variables_with_it(
    client: Client, fake: FakeDokploy, stack: dict[str, Any]
) -> None:
    [before] = [d for d in fake.domains.values() if d["composeId"] == stack["composeId"]]
    preview = await call(
        client,
        "manage_domain",
        stack="shop/supabase",
        action="update",
        host="api.example.com",
        https=True,
        dry_run=True,
    )
    assert preview["applied"] is False
    assert {c["variable"] for c in preview["env_changes"]} >= {"API_EXTERNAL_URL", "SUPABASE_PUBLIC_URL"}
    done = await call(
        client, "manage_domain", stack="shop/supabase", action="update", host="api.example.com", https=True
    )
    assert done["applied"] is True
    [after] = done["domains"]
    assert after["domain_id"] == before["domainId"]  # updated, not a second domain
    assert after["url"] == "https://api.example.com"
    assert stored_env(fake, stack["composeId"]).get("API_EXTERNAL_URL") == "https://api.example.com"
    assert "after a redeploy" in done["next_step"]


async def test_manage_domain_refuses_a_second_kong_domain(client: Client) -> None:
    message = await error(client, "manage_domain", stack="shop/supabase", action="add", host="api.example.com")
    assert "use action 'update'" in message


async def test_manage_domain_remove_needs_the_confirmation_token_and_it_works_once(
    client: Client, fake: FakeDokploy, stack: dict[str, Any]
) -> None:
    preview = await call(client, "manage_domain", stack="shop/supabase", action="remove")
    assert preview["applied"] is False and preview["confirm_token"]
    assert any(d["composeId"] == stack["composeId"] for d in fake.domains.values())
    arguments = {"stack": "shop/supabase", "action": "remove", "confirm_token": preview["confirm_token"]}
    removed = await call(client, "manage_domain", **arguments)
    assert removed["applied"] is True and removed["domains"] == []
    # A replay of the same token is refused: the domain it was issued for is gone.
    assert await error(client, "manage_domain", **arguments)
    assert not any(d["composeId"] == stack["composeId"] for d in fake.domains.values())


async def test_regenerate_keys_preview_then_resign_verified_through_kong(
    client: Client, fake: FakeDokploy, stack: dict[str, Any]
) -> None:
    # The stack must be reachable over a domain the gateway can use; the double serves any host.
    before = stored_env(fake, stack["composeId"])
    preview = await call(client, "dokploy_regenerate_keys", stack="shop/supabase", mode="resign")
    assert preview["status"] == "preview" and preview["confirm_token"]
    assert stored_env(fake, stack["composeId"]) == before
    done = await call(
        client, "dokploy_regenerate_keys", stack="shop/supabase", mode="resign", confirm_token=preview["confirm_token"]
    )
    assert done["status"] == "done", done
    after = stored_env(fake, stack["composeId"])
    assert after.get("JWT_SECRET") == before.get("JWT_SECRET")
    assert after.get("ANON_KEY") != before.get("ANON_KEY")
    assert "verified through kong" in done["steps"]
    keys = {k["variable"]: k["value"] for k in done["keys"]}
    assert keys["ANON_KEY"] == after.get("ANON_KEY")
    assert keys["SERVICE_ROLE_KEY"] != after.get("SERVICE_ROLE_KEY")  # masked without reveal


async def test_regenerate_keys_that_fail_before_any_change_say_so_without_a_next_step(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dokploy_mcp.services import stacks
    from dokploy_mcp.supabase.regenerate import RegenerateOutcome

    async def refused(*args: Any, **kwargs: Any) -> RegenerateOutcome:
        raise KeyStepError("plan", "JWT_SECRET is missing")

    monkeypatch.setattr(stacks, "regenerate", refused)
    preview = await call(client, "dokploy_regenerate_keys", stack="shop/supabase")
    done = await call(client, "dokploy_regenerate_keys", stack="shop/supabase", confirm_token=preview["confirm_token"])
    assert (done["status"], done["failed_step"], done["problem"]) == ("rolled_back", "plan", "JWT_SECRET is missing")
    assert done["steps"] == ["nothing was changed"] and done["keys"] == []
    assert done.get("next_step") is None


@pytest.mark.parametrize(
    ("status", "env_state", "expected"),
    [
        ("done", None, None),
        ("rolled_back", None, "the previous env is back in place"),
        ("rollback_failed", "new", "holds the NEW keys"),
        ("rollback_failed", "previous", "the previous env is in place but its redeploy failed"),
        ("rollback_failed", "unknown", "the env is not the one this tool wrote"),
    ],
)
def test_regenerate_keys_next_step_follows_the_outcome(status: Any, env_state: Any, expected: str | None) -> None:
    from dokploy_mcp.services.stacks import KeysOutcome
    from dokploy_mcp.tools.keys import _keys_next_step

    step = _keys_next_step(KeysOutcome(address="default:x", status=status, env_state=env_state))
    assert step is None if expected is None else step is not None and expected in step


async def test_setup_wizard_deploys_a_new_stack_through_the_tool(fake: FakeDokploy) -> None:
    def gateway(url: str, anon: SecretStr, service: SecretStr) -> KongGateway:
        [compose] = [c for c in fake.composes.values() if c["name"] == "supabase"]
        return gateway_for(fake, compose["composeId"])(url, anon, service)

    steps: list[str] = []

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        steps.append(message or "")

    async with Client(make_server(fake, gateway=gateway)) as mcp:
        result = await mcp.call_tool(
            "dokploy_setup_wizard",
            {"project": "Acme Shop", "domain": "api.acme.example", "site_url": "https://acme.example"},
            progress_callback=on_progress,
        )
    assert not result.is_error, result.content
    wizard = result.structured_content
    assert wizard is not None
    assert wizard["status"] == "ready", wizard
    assert wizard["project"] == "acme-shop"
    assert wizard["credentials"]["api_url"] == "https://api.acme.example"
    assert wizard["credentials"]["service_role_key"].startswith("••••")
    assert any(message.startswith("step 1/") for message in steps)


async def test_read_only_mode_keeps_only_the_read_only_deploy_tools(fake: FakeDokploy) -> None:
    async with Client(make_server(fake, read_only=True)) as mcp:
        tools = {tool.name: tool for tool in (await mcp.list_tools()).tools}
    from dokploy_mcp.tools.deploy import SPECS

    deploy = {spec.name for spec in SPECS} & set(tools)
    assert deploy == {"dokploy_list_instances", "dokploy_validate_config"}
    assert all(tool.annotations and tool.annotations.read_only_hint for tool in tools.values())


@pytest.mark.parametrize(
    ("value", "described"),
    [
        ("https://app.example.com\x00.evil.example", "NUL character (U+0000)"),
        ("https://app.example.com\x1b[2J", "control character (U+001B)"),
        ("https://app.example.com\x7f", "control character (U+007F)"),
        ("https://app.example.com\x85next", "line break (U+0085)"),
        ("https://app.example.com\u2028next", "line break (U+2028)"),
        ("https://app.example.com\vnext", "control character (U+000B)"),
    ],
)
async def test_update_env_refuses_control_characters_in_a_value_and_names_the_variable(
    client: Client, fake: FakeDokploy, stack: dict[str, Any], value: str, described: str
) -> None:
    before = fake.composes[stack["composeId"]]["env"]
    for variable in ("SITE_URL", "API_EXTERNAL_URL", "SMTP_PASS"):
        message = await error(client, "dokploy_update_env", stack="shop/supabase", set={variable: value})
        assert message.startswith(f"Error executing tool dokploy_update_env: Invalid {variable}: "), message
        assert described in message
        assert value not in message  # a secret's value is never echoed
    assert fake.composes[stack["composeId"]]["env"] == before


async def test_update_env_keeps_a_tab_in_a_value(client: Client, fake: FakeDokploy, stack: dict[str, Any]) -> None:
    await call(client, "dokploy_update_env", stack="shop/supabase", set={"SMTP_SENDER_NAME": "Acme\tSupport"})
    assert stored_env(fake, stack["composeId"]).get("SMTP_SENDER_NAME") == "Acme\tSupport"


@pytest.mark.parametrize("argument", ["set", "unset", "generate"])
async def test_update_env_names_the_argument_of_a_variable_name_with_a_control_character(
    client: Client, argument: str
) -> None:
    name = "SITE\x00URL"
    value: Any = {name: "x"} if argument == "set" else [name]
    message = await error(client, "dokploy_update_env", stack="shop/supabase", **{argument: value})
    assert f"Invalid {argument}: " in message
    assert "\x00" not in message and "'SITE\\x00URL' is not a variable name" in message


@pytest.mark.parametrize(
    ("arguments", "field", "described"),
    [
        ({"template": "/tmp/templates\x00/etc"}, "template", "NUL character (U+0000)"),
        ({"template": "/tmp/templates\n"}, "template", "line break (U+000A)"),
        ({"template": "https://mirror.example\x00"}, "template", "NUL character (U+0000)"),
        ({"project": "Acme\x1b[31m"}, "project", "control character (U+001B)"),
        ({"site_url": "https://acme.example\r"}, "site_url", "line break (U+000D)"),
        ({"smtp": "smtp://u:p%00w@smtp.example:587?from=a@acme.example"}, "smtp.password", "NUL character (U+0000)"),
    ],
)
async def test_setup_wizard_refuses_control_characters_before_creating_anything(
    fake: FakeDokploy, arguments: dict[str, Any], field: str, described: str
) -> None:
    async with Client(make_server(fake)) as mcp:
        result = await mcp.call_tool("dokploy_setup_wizard", {"project": "Acme", **arguments})
    assert result.is_error
    assert isinstance(result.content[0], TextContent)
    message = result.content[0].text
    assert f"Invalid {field}: " in message and described in message, message
    assert fake.projects == {}


async def test_out_of_range_numbers_and_oversized_tokens_name_their_field(client: Client) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("dokploy_update_env", {"set": {"SITE_URL": "https://a.example"}, "wait_seconds": 5}, "wait_seconds"),
        ("manage_domain", {"action": "remove", "confirm_token": "v1." + "9" * 5_000 + ".mac"}, "confirm_token"),
        ("dokploy_regenerate_keys", {"confirm_token": "v1." + "9" * 5_000 + ".mac"}, "confirm_token"),
    ]
    for tool, arguments, field in cases:
        message = await error(client, tool, stack="shop/supabase", **arguments)
        assert field in message, message


async def test_setup_wizard_names_the_domain_argument_when_it_is_not_a_host_name(fake: FakeDokploy) -> None:
    async with Client(make_server(fake)) as mcp:
        result = await mcp.call_tool("dokploy_setup_wizard", {"project": "Acme", "domain": "https://api.example.com"})
    assert result.is_error and isinstance(result.content[0], TextContent)
    assert "Invalid domain: " in result.content[0].text
    assert fake.projects == {}


async def test_list_instances_words_the_composes_it_could_not_read(client: Client, fake: FakeDokploy) -> None:
    [web] = [c for c in fake.composes.values() if c["name"] == "web"]
    fake.fail("compose.one", message="boom", times=None, when=lambda p: p["composeId"] == web["composeId"])
    listed = await call(client, "dokploy_list_instances")
    [server] = listed["servers"]
    [line] = server["unreadable"]
    assert line.startswith("shop/production/web: Dokploy server 'default' failed on ")
    assert "boom" in line
    assert not any(name.startswith("_") for name in server)


async def test_list_instances_words_a_server_that_fails(client: Client, fake: FakeDokploy) -> None:
    fake.fail("project.all", message="database is down", times=None)
    listed = await call(client, "dokploy_list_instances")
    [server] = listed["servers"]
    assert server["ok"] is False and server["stacks"] == []
    assert server["problem"].startswith("Dokploy server 'default' failed on ")
    assert "database is down" in server["problem"]


async def test_regenerate_keys_words_a_failed_redeploy(
    client: Client, fake: FakeDokploy, stack: dict[str, Any]
) -> None:
    fake.deploy_result(stack["composeId"], "error", times=1)
    preview = await call(client, "dokploy_regenerate_keys", stack="shop/supabase")
    done = await call(client, "dokploy_regenerate_keys", stack="shop/supabase", confirm_token=preview["confirm_token"])
    assert (done["status"], done["failed_step"], done["problem"]) == (
        "rolled_back",
        "redeploy",
        "the redeploy ended error",
    )
    assert done["next_step"] == "the previous env is back in place; fix the problem above and call again"


async def test_setup_wizard_words_an_unreachable_template_catalogue() -> None:
    fake = FakeDokploy(template_internet=False, lets_encrypt_email="ops@example.com", deploy_polls=0)
    async with Client(make_server(fake)) as mcp:
        wizard = await call(mcp, "dokploy_setup_wizard", project="Acme Shop")
    assert (wizard["status"], wizard["failed_step"]) == ("failed", "stack")
    problem = wizard["problem"]
    assert problem.startswith("Dokploy could not get the Supabase template from Dokploy's catalogue (Dokploy server ")
    assert "call again with template" in problem and "fetch failed" in problem


@pytest.mark.parametrize(
    ("smtp", "wrong"),
    [
        ("smtp://u:pw@smtp.example:99999?from=a@acme.example", "port"),
        ("smtp://u:pw@:587?from=a@acme.example", "host"),
        ("smtp://u:s3cret-pass@smtp.example:587", "admin_email"),
    ],
)
async def test_setup_wizard_explains_a_bad_smtp_url_without_repeating_it(
    fake: FakeDokploy, smtp: str, wrong: str
) -> None:
    async with Client(make_server(fake)) as mcp:
        result = await mcp.call_tool("dokploy_setup_wizard", {"project": "Acme", "smtp": smtp})
    assert result.is_error and isinstance(result.content[0], TextContent)
    message = result.content[0].text
    assert "Invalid smtp: smtp must look like smtp://" in message and wrong in message, message
    assert "pw@" not in message and "s3cret" not in message
    assert fake.projects == {}


def test_an_smtp_url_gives_every_setting_with_percent_encoded_credentials() -> None:
    from dokploy_mcp.supabase.wizard_input import SmtpSettings

    smtp = SmtpSettings.from_url("smtp://resend:re_%40key%2F1@smtp.resend.com:465?from=auth@acme.example&name=Acme")
    assert (smtp.host, smtp.port, smtp.user, smtp.admin_email, smtp.sender_name) == (
        "smtp.resend.com",
        465,
        "resend",
        "auth@acme.example",
        "Acme",
    )
    assert smtp.password.get_secret_value() == "re_@key/1"
    assert SmtpSettings.from_url("smtp://u:p@mail.example?from=a@b.example").port == 587
