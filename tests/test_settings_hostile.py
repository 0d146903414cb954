"""Bad settings, as a careless or hostile operator gives them: one line on stderr, exit 2, no traceback, no secret.

The cases run the real console entry point (``python -m dokploy_mcp``) in a subprocess with a bounded time: a
setting that makes the process hang (a FIFO given as a file) fails here by timing out. The last tests check, in
process and through a real logging set-up, that every secret the settings hold is masked in logs and reports.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path

import pytest

from dokploy_mcp import redact
from dokploy_mcp.config import load_dokploy_servers, load_settings
from dokploy_mcp.postgres.conninfo import parse_setting
from tests.test_config import ALL_VARS

#: Long enough for a slow start-up on a busy machine, short enough that a hang fails the test soon.
HANG_TIMEOUT = 20
PASSWORD = "s3cret-Pa55word-in-url"
NOT_UTF8 = b"\xff\xfe\x00bad"


def run(
    cwd: Path, *args: str, env: dict[str, str] | None = None, timeout: float = HANG_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DOKPLOY", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "dokploy_mcp", *args],
        env={**clean, **(env or {})},
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def assert_refused(result: subprocess.CompletedProcess[str], *named: str) -> str:
    """Exit 2, nothing on stdout, exactly one line on stderr naming each of ``named``; returns that line."""
    assert "Traceback" not in result.stderr, result.stderr
    assert result.returncode == 2, result.stderr
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    line = lines[0]
    assert line.startswith("dokploy-mcp"), line
    for name in named:
        assert name in line, line
    assert PASSWORD not in result.stderr
    return line


def fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def not_utf8(path: Path) -> Path:
    path.write_bytes(NOT_UTF8)
    return path


def instances(path: Path, body: str) -> Path:
    path.write_text(textwrap.dedent(body))
    return path


def one_server(directory: Path, entry: str) -> dict[str, str]:
    """The environment naming an instances file whose one server ``a`` is ``{entry}``."""
    path = instances(directory / "i.yaml", f"servers:\n  a: {{{entry}}}\n")
    return {"DOKPLOY_MCP_INSTANCES_FILE": str(path)}


# Each case: (command and flags, environment) built in a temporary directory, and what the one line must name.
Case = Callable[[Path], tuple[list[str], dict[str, str]]]

CASES: dict[str, tuple[Case, tuple[str, ...]]] = {
    "malformed IPv6 DOKPLOY_URL": (
        lambda d: (["tools"], {"DOKPLOY_URL": "http://[::1:3000"}),
        ("DOKPLOY_URL", "Invalid IPv6 URL"),
    ),
    "DOKPLOY_URL port out of range": (
        lambda d: (["doctor"], {"DOKPLOY_URL": "http://dokploy.test:99999"}),
        ("DOKPLOY_URL", "not a valid URL"),
    ),
    "credentials in DOKPLOY_URL": (
        lambda d: (["doctor"], {"DOKPLOY_URL": f"https://admin:{PASSWORD}@dokploy.test"}),
        ("DOKPLOY_URL", "put credentials in DOKPLOY_API_KEY, not in the URL"),
    ),
    "credentials in a URL of the instances file": (
        lambda d: (["doctor"], one_server(d, f"url: 'https://u:{PASSWORD}@prod.test'")),
        ("DOKPLOY_MCP_INSTANCES_FILE", "servers.a.url", "not in the URL"),
    ),
    "a query string in DOKPLOY_URL": (
        lambda d: (["tools"], {"DOKPLOY_URL": f"https://dokploy.test/?token={PASSWORD}"}),
        ("DOKPLOY_URL", "without a ?query"),
    ),
    "key file not UTF-8": (
        lambda d: (["tools"], {"DOKPLOY_API_KEY_FILE": str(not_utf8(d / "key"))}),
        ("DOKPLOY_API_KEY_FILE", "not UTF-8"),
    ),
    "instances file not UTF-8": (
        lambda d: (["serve"], {"DOKPLOY_MCP_INSTANCES_FILE": str(not_utf8(d / "i.yaml"))}),
        ("DOKPLOY_MCP_INSTANCES_FILE", "not UTF-8"),
    ),
    "api_key_file of the instances file not UTF-8": (
        lambda d: (["tools"], one_server(d, f"url: 'http://a.test', api_key_file: {not_utf8(d / 'k')}")),
        ("DOKPLOY_MCP_INSTANCES_FILE", "servers.a.api_key_file", "not UTF-8"),
    ),
    ".env not UTF-8": (lambda d: (["tools"], {}) if not_utf8(d / ".env") else ([], {}), (".env", "not UTF-8")),
    "key file is a FIFO": (
        lambda d: (["tools"], {"DOKPLOY_API_KEY_FILE": str(fifo(d / "key"))}),
        ("DOKPLOY_API_KEY_FILE", "FIFO", "not a regular file"),
    ),
    "instances file is a FIFO": (
        lambda d: (["doctor"], {"DOKPLOY_MCP_INSTANCES_FILE": str(fifo(d / "i.yaml"))}),
        ("DOKPLOY_MCP_INSTANCES_FILE", "FIFO"),
    ),
    "api_key_file of the instances file is a FIFO": (
        lambda d: (["serve"], one_server(d, f"url: 'http://a.test', api_key_file: {fifo(d / 'k')}")),
        ("DOKPLOY_MCP_INSTANCES_FILE", "servers.a.api_key_file", "FIFO"),
    ),
    ".env is a FIFO": (lambda d: (["tools"], {}) if fifo(d / ".env") else ([], {}), (".env", "FIFO")),
    "key file is a directory": (
        lambda d: (["tools"], {"DOKPLOY_API_KEY_FILE": str(d)}),
        ("DOKPLOY_API_KEY_FILE", "a directory"),
    ),
    "key file is a device": (
        lambda d: (["tools"], {"DOKPLOY_API_KEY_FILE": os.devnull}),
        ("DOKPLOY_API_KEY_FILE", "character device"),
    ),
    "port 99999": (lambda d: (["tools"], {"DOKPLOY_MCP_PORT": "99999"}), ("DOKPLOY_MCP_PORT", "from 1 to 65535")),
    "port 0": (lambda d: (["tools"], {"DOKPLOY_MCP_PORT": "0"}), ("DOKPLOY_MCP_PORT", "from 1 to 65535")),
    "negative port flag": (lambda d: (["serve", "--port", "-1"], {}), ("--port", "from 1 to 65535")),
    "DATABASE_URL=garbage": (
        lambda d: (["doctor"], {"DATABASE_URL": "garbage"}),
        ("DATABASE_URL", "not a connection string"),
    ),
    "multi-line YAML error": (
        lambda d: (
            ["tools"],
            {"DOKPLOY_MCP_INSTANCES_FILE": str(instances(d / "i.yaml", "servers:\n  a: {url: 'http://a',\n  b: [\n"))},
        ),
        ("DOKPLOY_MCP_INSTANCES_FILE", "not valid YAML", "line 4"),
    ),
    "API key with a line break": (
        lambda d: (["tools"], {"DOKPLOY_API_KEY": f"{PASSWORD}\nsecond-line"}),
        ("DOKPLOY_API_KEY", "the API key alone"),
    ),
    "unknown transport flag": (
        lambda d: (["serve", "--transport", "websocket"], {}),
        ("--transport", "invalid choice"),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_a_bad_setting_is_one_line_and_exit_2(tmp_path: Path, case: str) -> None:
    build, named = CASES[case]
    args, env = build(tmp_path)
    assert_refused(run(tmp_path, *args, env=env), *named)


def test_a_short_token_beyond_loopback_stops_start_up(tmp_path: Path) -> None:
    short = "x" * 31
    result = run(tmp_path, "serve", "--transport", "streamable-http", "--host", "0.0.0.0", "--auth-token", short)
    line = assert_refused(result, "DOKPLOY_MCP_AUTH_TOKEN", "--auth-token", "at least 32")
    assert short not in line


# bootstrap reads the same kinds of settings and must refuse them the same way, before it waits for Dokploy.
BOOTSTRAP_CASES: dict[str, tuple[Case, tuple[str, ...]]] = {
    "malformed IPv6 --url": (lambda d: (["--url", "http://[::1:3000"], {}), ("--url", "Invalid IPv6 URL")),
    "credentials in DOKPLOY_URL": (
        lambda d: ([], {"DOKPLOY_URL": f"http://admin:{PASSWORD}@127.0.0.1:9"}),
        ("DOKPLOY_URL", "not in the URL"),
    ),
    "--password-file is a FIFO": (
        lambda d: (["--url", "http://127.0.0.1:9", "--password-file", str(fifo(d / "pw"))], {}),
        ("--password-file", "FIFO"),
    ),
    "--password-file not UTF-8": (
        lambda d: (["--url", "http://127.0.0.1:9", "--password-file", str(not_utf8(d / "pw"))], {}),
        ("--password-file", "not UTF-8"),
    ),
    "--key-file is a directory": (
        lambda d: (["--url", "http://127.0.0.1:9", "--key-file", str(d)], {}),
        ("--key-file", "not a regular file"),
    ),
}


@pytest.mark.parametrize("case", list(BOOTSTRAP_CASES))
def test_bootstrap_refuses_a_bad_setting_in_one_line(tmp_path: Path, case: str) -> None:
    build, named = BOOTSTRAP_CASES[case]
    args, env = build(tmp_path)
    # --wait 0: were the setting accepted, the health poll would give up at once (exit 1), not hold the test.
    result = run(tmp_path, "bootstrap", "--wait", "0", "--timeout", "1", *args, env=env)
    assert_refused(result, *named)


# In-process: the messages themselves, through main() as the console script calls it.


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # The set of known secrets is process-wide and is left alone: other tests may rely on what they registered, and
    # the values used here are unique, so what was registered before cannot make these tests pass.
    for name in ALL_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)


@pytest.mark.usefixtures("clean_env")
def test_main_maps_every_settings_error_of_doctor_to_one_line(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from dokploy_mcp.cli import main

    monkeypatch.setenv("DOKPLOY_URL", f"http://user:{PASSWORD}@[::1:3000")
    assert main(["doctor"]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert "DOKPLOY_URL" in captured.err
    assert PASSWORD not in captured.err


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize(
    "url", ["http://[::1]:3000", "https://dokploy.example.com", "http://127.0.0.1:3000/", "https://proxy.test/dokploy"]
)
def test_good_dokploy_urls_are_still_accepted(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("DOKPLOY_URL", url)
    assert load_dokploy_servers(load_settings()).get(None).url == url.rstrip("/")


# Known secrets never reach a log line: each one is registered where settings are loaded, and the stderr handler
# scrubs every record, message and traceback.

LOG_SCRIPT = """
import logging, os, sys
from dokploy_mcp.cli import configure_logging
from dokploy_mcp.config import load_dokploy_servers, load_settings
from dokploy_mcp.postgres.conninfo import parse_setting

settings = load_settings()
load_dokploy_servers(settings)
parse_setting(settings.database_url.get_secret_value())  # as the CLI does at start-up
configure_logging("INFO")
log = logging.getLogger("dokploy_mcp.probe")
secrets = sys.argv[1:]
log.warning("plain values: %s", " ".join(secrets))
try:
    raise RuntimeError("in a traceback: " + " ".join(secrets))
except RuntimeError:
    log.exception("probe failed")
logging.getLogger("uvicorn.error").error("through another logger: %s", secrets)
"""


def test_secrets_loaded_from_settings_never_reach_the_log(tmp_path: Path) -> None:
    api_key = "Dk7-api-key-0123456789abcdef"
    file_key = "Fk9-key-from-file-0123456789"
    token = "T0ken-for-http-0123456789abcdefghijklmn"
    db_password = "Db-pass-9876543210"
    database_url = f"postgresql://app:{db_password}@db.internal:5432/app"
    (tmp_path / "staging.key").write_text(file_key + "\n")
    (tmp_path / "i.yaml").write_text(
        "default: prod\nservers:\n"
        "  prod: {url: 'https://prod.test', api_key_env: PROD_KEY}\n"
        "  staging: {url: 'https://staging.test', api_key_file: staging.key}\n"
    )
    env = {
        "PROD_KEY": api_key,
        "DOKPLOY_MCP_INSTANCES_FILE": str(tmp_path / "i.yaml"),
        "DOKPLOY_MCP_AUTH_TOKEN": token,
        "DATABASE_URL": database_url,
    }
    secrets = [api_key, file_key, token, db_password, database_url]
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DOKPLOY", "DATABASE_URL"))}
    result = subprocess.run(
        [sys.executable, "-c", LOG_SCRIPT, *secrets],
        env={**clean, **env},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=HANG_TIMEOUT,
    )
    assert result.returncode == 0, result.stderr
    # The records were written (and the traceback with them): only the secrets are gone.
    assert "plain values:" in result.stderr
    assert "Traceback" in result.stderr and "in a traceback:" in result.stderr
    assert "through another logger:" in result.stderr
    for secret in secrets:
        assert secret not in result.stderr


@pytest.mark.usefixtures("clean_env")
def test_loading_settings_registers_every_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key = "Key-from-env-0123456789"
    file_key = "Key-from-file-0123456789"
    token = "Http-token-0123456789abcdefghijklmnop"
    password = "p@ss/with-specials"
    monkeypatch.setenv("DOKPLOY_URL", "http://dokploy.test:3000")
    monkeypatch.setenv("DOKPLOY_API_KEY", key)
    monkeypatch.setenv("DOKPLOY_MCP_AUTH_TOKEN", token)
    monkeypatch.setenv("DATABASE_URL", "postgresql://app:p%40ss%2Fwith-specials@db:5432/app")
    settings = load_settings()
    load_dokploy_servers(settings)
    assert settings.database_url is not None
    parse_setting(settings.database_url.get_secret_value())  # as the CLI does at start-up
    (tmp_path / "k").write_text(file_key)
    monkeypatch.delenv("DOKPLOY_API_KEY")
    monkeypatch.setenv("DOKPLOY_API_KEY_FILE", str(tmp_path / "k"))
    load_dokploy_servers(load_settings())
    text = f"{key} | {file_key} | {token} | {password} | p%40ss%2Fwith-specials"
    assert redact.scrub(text) == " | ".join([redact.MASK] * 5)


@pytest.mark.anyio
@pytest.mark.usefixtures("clean_env")
async def test_the_health_report_masks_a_known_secret_echoed_in_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    # A broken or hostile Dokploy may echo the key back in an error; `doctor` and health_check must not show it.
    from dokploy_mcp.diagnostics import run_diagnostics
    from dokploy_mcp.dokploy.errors import DokployTransportError
    from dokploy_mcp.runtime import Runtime

    key = "Echoed-api-key-0123456789"
    monkeypatch.setenv("DOKPLOY_URL", "http://dokploy.test:3000")
    monkeypatch.setenv("DOKPLOY_API_KEY", key)
    settings = load_settings()

    class EchoingClient:
        async def __aenter__(self) -> EchoingClient:
            return self

        async def __aexit__(self, *exc: object) -> None:
            return None

        async def health(self) -> bool:
            raise DokployTransportError(f"peer said: bad key {key}", server="default", url="http://dokploy.test:3000")

    runtime = Runtime(settings, load_dokploy_servers(settings), client_factory=lambda server, timeout: EchoingClient())  # type: ignore[arg-type,return-value]
    report = await run_diagnostics(runtime)
    assert report.dokploy[0].problem is not None and "peer said" in report.dokploy[0].problem
    assert key not in report.model_dump_json()
