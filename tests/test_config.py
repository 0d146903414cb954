from __future__ import annotations

from pathlib import Path

import pytest

from dokploy_mcp.cli import main
from dokploy_mcp.config import INSTANCES_FILE_LIMIT, TOOLSETS, is_loopback_host, load_dokploy_servers, load_settings
from dokploy_mcp.errors import ConfigurationError
from dokploy_mcp.postgres.conninfo import parse_setting

ALL_VARS = (
    "DOKPLOY_URL",
    "DOKPLOY_API_KEY",
    "DOKPLOY_API_KEY_FILE",
    "DATABASE_URL",
    "DOKPLOY_MCP_READ_ONLY",
    "DOKPLOY_MCP_TOOLSETS",
    "DOKPLOY_MCP_AUTH_TOKEN",
    "DOKPLOY_MCP_ALLOWED_HOSTS",
    "DOKPLOY_MCP_ALLOWED_ORIGINS",
    "DOKPLOY_MCP_INSTANCES_FILE",
    "DOKPLOY_MCP_TIMEOUT",
    "DOKPLOY_MCP_LOG_LEVEL",
    "DOKPLOY_MCP_TRANSPORT",
    "DOKPLOY_MCP_HOST",
    "DOKPLOY_MCP_PORT",
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ALL_VARS:
        monkeypatch.delenv(name, raising=False)
    # A developer's .env in the repository must not leak into these tests.
    monkeypatch.chdir(tmp_path)


def test_defaults_enable_every_toolset_and_writes() -> None:
    settings = load_settings()
    assert settings.toolsets == list(TOOLSETS)
    assert settings.read_only is False
    assert settings.transport == "stdio"
    assert settings.host == "127.0.0.1"
    assert settings.allowed_hosts == ["127.0.0.1:*", "localhost:*", "[::1]:*"]


def test_environment_variables_use_the_contract_names(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOKPLOY_URL", "http://dokploy.test:3000")
    monkeypatch.setenv("DOKPLOY_API_KEY", "k-123")
    monkeypatch.setenv("DATABASE_URL", "postgresql://u:p@h/db")
    monkeypatch.setenv("DOKPLOY_MCP_READ_ONLY", "true")
    monkeypatch.setenv("DOKPLOY_MCP_TOOLSETS", "deploy, core")
    monkeypatch.setenv("DOKPLOY_MCP_ALLOWED_HOSTS", "mcp.example.com,mcp.example.com:*")
    monkeypatch.setenv("DOKPLOY_MCP_TIMEOUT", "12.5")
    monkeypatch.setenv("DOKPLOY_MCP_LOG_LEVEL", "debug")
    settings = load_settings()
    assert settings.dokploy_url == "http://dokploy.test:3000"
    assert settings.dokploy_api_key is not None and settings.dokploy_api_key.get_secret_value() == "k-123"
    assert settings.database_url is not None
    assert settings.read_only is True
    assert settings.toolsets == ["core", "deploy"]  # catalogue order, whatever the spelling
    assert settings.allowed_hosts == ["mcp.example.com", "mcp.example.com:*"]
    assert settings.timeout == 12.5
    assert settings.log_level == "DEBUG"


def test_unprefixed_field_names_are_not_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("READ_ONLY", "true")
    monkeypatch.setenv("TIMEOUT", "3")
    settings = load_settings()
    assert settings.read_only is False
    assert settings.timeout == 30.0


def test_a_flag_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOKPLOY_MCP_READ_ONLY", "true")
    monkeypatch.setenv("DOKPLOY_URL", "http://env.test:3000")
    settings = load_settings(read_only=False, dokploy_url="http://flag.test:3000")
    assert settings.read_only is False
    assert settings.dokploy_url == "http://flag.test:3000"


def test_dotenv_file_is_read(tmp_path: Path) -> None:
    (tmp_path / ".env").write_text("DOKPLOY_URL=http://dotenv.test:3000\nDOKPLOY_MCP_READ_ONLY=1\n")
    settings = load_settings()
    assert settings.dokploy_url == "http://dotenv.test:3000"
    assert settings.read_only is True


@pytest.mark.parametrize(
    ("variable", "value", "expected_name"),
    [
        ("DOKPLOY_MCP_TIMEOUT", "soon", "DOKPLOY_MCP_TIMEOUT"),
        ("DOKPLOY_MCP_TIMEOUT", "-1", "DOKPLOY_MCP_TIMEOUT"),
        ("DOKPLOY_MCP_TOOLSETS", "core,kubernetes", "DOKPLOY_MCP_TOOLSETS"),
        ("DOKPLOY_MCP_PORT", "70000", "DOKPLOY_MCP_PORT"),
        ("DOKPLOY_MCP_TRANSPORT", "websocket", "DOKPLOY_MCP_TRANSPORT"),
        ("DOKPLOY_MCP_LOG_LEVEL", "chatty", "DOKPLOY_MCP_LOG_LEVEL"),
    ],
)
def test_a_bad_setting_names_its_variable(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected_name: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError) as info:
        load_settings()
    assert info.value.setting == expected_name
    assert str(info.value).startswith(f"invalid {expected_name} (--")


def test_unknown_toolset_error_lists_the_valid_ones() -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings(toolsets="core,nope")
    assert "nope" in str(info.value)
    for name in TOOLSETS:
        assert name in str(info.value)


def test_http_bound_beyond_loopback_requires_a_long_token() -> None:
    with pytest.raises(ConfigurationError) as info:
        load_settings(transport="streamable-http", host="0.0.0.0")
    assert info.value.setting == "DOKPLOY_MCP_AUTH_TOKEN"
    with pytest.raises(ConfigurationError, match="too short"):
        load_settings(transport="streamable-http", host="0.0.0.0", auth_token="t0ken")
    long_token = "0123456789abcdef" * 2
    assert load_settings(transport="streamable-http", host="0.0.0.0", auth_token=long_token).auth_token is not None
    assert load_settings(transport="streamable-http", host="127.0.0.1").auth_token is None
    # stdio has no HTTP door: no token rule applies, wherever --host points.
    assert load_settings(host="0.0.0.0").auth_token is None


@pytest.mark.parametrize(
    ("host", "loopback"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("localhost", True),
        ("LocalHost.", True),
        ("::1", True),
        ("[::1]", True),
        ("0.0.0.0", False),
        ("::", False),
        ("", False),
        ("10.0.0.1", False),
        ("localhost.example.com", False),
        ("127.0.0.1.nip.io", False),
    ],
)
def test_loopback_binds_are_recognised(host: str, loopback: bool) -> None:
    assert is_loopback_host(host) is loopback


def test_a_directory_named_dotenv_is_not_a_settings_file(tmp_path: Path) -> None:
    # `python -m venv .env` is common: a directory called .env must be ignored, not refused.
    (tmp_path / ".env").mkdir()
    assert load_settings().read_only is False


def test_a_multi_line_yaml_error_becomes_one_line_with_its_position(tmp_path: Path) -> None:
    instances = tmp_path / "instances.yaml"
    instances.write_text("servers:\n  a: {url: 'http://a',\n  b: [\n")
    with pytest.raises(ConfigurationError) as info:
        load_dokploy_servers(load_settings(instances_file=str(instances)))
    message = str(info.value)
    assert "\n" not in message
    assert "line 4, column 1" in message


def test_an_oversized_instances_file_is_refused_unread(tmp_path: Path) -> None:
    instances = tmp_path / "instances.yaml"
    instances.write_text("# padding\n" * (INSTANCES_FILE_LIMIT // 10 + 1))
    with pytest.raises(ConfigurationError, match="larger than"):
        load_dokploy_servers(load_settings(instances_file=str(instances)))


def test_a_deeply_nested_instances_file_is_a_configuration_error(tmp_path: Path) -> None:
    instances = tmp_path / "instances.yaml"
    instances.write_text("servers: " + "[" * 100_000)
    with pytest.raises(ConfigurationError) as info:
        load_dokploy_servers(load_settings(instances_file=str(instances)))
    assert info.value.setting == "DOKPLOY_MCP_INSTANCES_FILE"


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("DOKPLOY_MCP_PORT", "99999", "must be from 1 to 65535, got '99999'"),
        ("DOKPLOY_MCP_PORT", "0", "must be from 1 to 65535"),
        ("DOKPLOY_MCP_PORT", "-1", "must be from 1 to 65535"),
        ("DOKPLOY_MCP_TIMEOUT", "0", "must be more than 0 and at most 3600"),
        ("DOKPLOY_MCP_TIMEOUT", "soon", "more than 0 and at most 3600, got 'soon'"),
    ],
)
def test_an_out_of_range_number_names_the_range(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str, expected: str
) -> None:
    monkeypatch.setenv(variable, value)
    with pytest.raises(ConfigurationError, match=expected):
        load_settings()


@pytest.mark.parametrize(
    "value", ["garbage", "mysql://u:p@h/db", "postgresql://postgres:[YOUR-PASSWORD]@db:5432/postgres"]
)
def test_a_database_url_that_is_not_a_connection_string_is_refused_at_start(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], value: str
) -> None:
    monkeypatch.setenv("DATABASE_URL", value)
    assert main(["tools"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "invalid DATABASE_URL: " in error


@pytest.mark.parametrize(
    "value",
    [
        "postgresql://u:p@h/db",
        "host=db port=5432 dbname=postgres user=postgres",
        "jdbc:postgresql://db:5432/postgres?user=postgres",
    ],
)
def test_every_supported_database_url_form_is_accepted(monkeypatch: pytest.MonkeyPatch, value: str) -> None:
    monkeypatch.setenv("DATABASE_URL", value)
    settings = load_settings()
    assert settings.database_url is not None
    parse_setting(settings.database_url.get_secret_value())


def test_without_instances_file_one_default_server_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOKPLOY_URL", "http://dokploy.test:3000/")
    monkeypatch.setenv("DOKPLOY_API_KEY", "secret-key")
    servers = load_dokploy_servers(load_settings())
    assert servers.default == "default"
    server = servers.get(None)
    assert server.url == "http://dokploy.test:3000"
    assert server.api_key is not None and server.api_key.get_secret_value() == "secret-key"
    assert "secret-key" not in repr(server)


def test_api_key_file_is_read_and_stripped(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key_file = tmp_path / "key"
    key_file.write_text("from-file\n")
    monkeypatch.setenv("DOKPLOY_URL", "http://dokploy.test:3000")
    monkeypatch.setenv("DOKPLOY_API_KEY_FILE", str(key_file))
    server = load_dokploy_servers(load_settings()).get(None)
    assert server.api_key is not None and server.api_key.get_secret_value() == "from-file"
    assert server.api_key_source == "DOKPLOY_API_KEY_FILE"


def test_missing_api_key_file_is_a_configuration_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOKPLOY_API_KEY_FILE", str(tmp_path / "absent"))
    with pytest.raises(ConfigurationError) as info:
        load_dokploy_servers(load_settings())
    assert info.value.setting == "DOKPLOY_API_KEY_FILE"


def test_missing_url_is_not_fatal() -> None:
    server = load_dokploy_servers(load_settings()).get(None)
    assert server.url is None
    assert server.configured is False


def test_bad_dokploy_url_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOKPLOY_URL", "dokploy.test:3000")
    with pytest.raises(ConfigurationError) as info:
        load_dokploy_servers(load_settings())
    assert info.value.setting == "DOKPLOY_URL"


def test_instances_file_defines_servers_and_ignores_the_single_server_variables(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "staging.key").write_text("staging-key")
    instances = tmp_path / "instances.yaml"
    instances.write_text(
        "default: prod\n"
        "servers:\n"
        "  prod: {url: 'https://prod.test:3000', api_key_env: DOKPLOY_PROD_API_KEY}\n"
        "  staging: {url: 'http://staging.test:3000', api_key_file: staging.key}\n"
    )
    monkeypatch.setenv("DOKPLOY_URL", "http://ignored.test:3000")
    monkeypatch.setenv("DOKPLOY_API_KEY", "ignored")
    monkeypatch.setenv("DOKPLOY_PROD_API_KEY", "prod-key")
    servers = load_dokploy_servers(load_settings(instances_file=str(instances)))
    assert servers.default == "prod"
    assert sorted(servers.servers) == ["prod", "staging"]
    prod, staging = servers.get("prod"), servers.get("staging")
    assert prod.api_key is not None and prod.api_key.get_secret_value() == "prod-key"
    assert staging.api_key is not None and staging.api_key.get_secret_value() == "staging-key"
    assert servers.get(None) == prod
    with pytest.raises(ConfigurationError, match="no Dokploy server named 'qa'"):
        servers.get("qa")


def test_instances_file_with_an_unset_key_variable_leaves_the_server_without_key(
    tmp_path: Path,
) -> None:
    instances = tmp_path / "instances.yaml"
    instances.write_text("servers:\n  only: {url: 'http://only.test:3000', api_key_env: DOKPLOY_ONLY_KEY_UNSET}\n")
    servers = load_dokploy_servers(load_settings(instances_file=str(instances)), environ={})
    assert servers.default == "only"
    assert servers.get(None).api_key is None
    assert servers.get(None).api_key_source == "DOKPLOY_ONLY_KEY_UNSET"


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        ("servers:\n  a: {url: 'http://a:3000', api_key: plain}\n", "keys never live in the instances file"),
        ("servers: [1, 2]\n", "servers"),
        ("default: b\nservers:\n  a: {url: 'http://a:3000'}\n", "default 'b'"),
        ("servers:\n  a: {url: 'http://a:3000'}\n  b: {url: 'http://b:3000'}\n", "default: NAME"),
        ("servers:\n  'a:b': {url: 'http://a:3000'}\n", "server name"),
        ("servers:\n  a: {url: 'ftp://a'}\n", "http(s) URL"),
        ("servers: {a: {url: 'http://a:3000', colour: red}}\n", "colour"),
        ("servers: {\n", "not valid YAML"),
        ("servers: {}\n", "lists no servers"),
    ],
)
def test_bad_instances_file_is_a_configuration_error(tmp_path: Path, content: str, fragment: str) -> None:
    instances = tmp_path / "instances.yaml"
    instances.write_text(content)
    with pytest.raises(ConfigurationError) as info:
        load_dokploy_servers(load_settings(instances_file=str(instances)))
    assert fragment in str(info.value)
    assert info.value.setting == "DOKPLOY_MCP_INSTANCES_FILE"
