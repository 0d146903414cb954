"""The console script as a user runs it: a real subprocess, its exit status, stdout and stderr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dokploy_mcp import __version__


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DOKPLOY", "DATABASE_URL"))}
    return subprocess.run(
        [sys.executable, "-m", "dokploy_mcp", *args],
        env={**clean, **(env or {})},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )


def test_version_flag_prints_the_version(tmp_path: Path) -> None:
    result = run(tmp_path, "--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"dokploy-mcp {__version__}"


@pytest.mark.parametrize(
    ("args", "env", "named"),
    [
        ((), {"DOKPLOY_MCP_TIMEOUT": "soon"}, "DOKPLOY_MCP_TIMEOUT"),
        (("--toolsets", "core,nope"), {}, "DOKPLOY_MCP_TOOLSETS"),
        (("--transport", "streamable-http", "--host", "0.0.0.0"), {}, "DOKPLOY_MCP_AUTH_TOKEN"),
        (("--instances", "missing.yaml"), {}, "DOKPLOY_MCP_INSTANCES_FILE"),
        ((), {"DOKPLOY_URL": "not a url"}, "DOKPLOY_URL"),
    ],
)
def test_a_bad_setting_stops_start_up_with_one_line_and_status_2(
    tmp_path: Path, args: tuple[str, ...], env: dict[str, str], named: str
) -> None:
    result = run(tmp_path, *args, env=env)
    assert result.returncode == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("dokploy-mcp: ")
    assert named in lines[0]
    assert "Traceback" not in result.stderr


def test_tools_command_prints_the_table(tmp_path: Path) -> None:
    result = run(tmp_path, "tools")
    assert result.returncode == 0
    header, *rows = result.stdout.splitlines()
    assert header.split() == ["NAME", "TOOLSET", "READ-ONLY", "DESTRUCTIVE"]
    assert rows[0].split() == ["health_check", "core", "yes", "no"]
    assert "read-only mode: off" in result.stdout


def test_tools_command_honours_read_only_and_toolsets(tmp_path: Path) -> None:
    result = run(tmp_path, "tools", "--read-only", "--toolsets", "deploy")
    assert result.returncode == 0
    names = [line.split()[0] for line in result.stdout.splitlines()[1:] if line.strip() and "tool(s)" not in line]
    assert names == ["dokploy_list_instances", "dokploy_validate_config", "list_domains"]
    assert "3 tool(s); read-only mode: on" in result.stdout


def test_doctor_without_dokploy_says_what_to_fix_and_fails(tmp_path: Path) -> None:
    result = run(tmp_path, "doctor")
    assert result.returncode == 1
    assert "FAIL" in result.stdout
    assert "set DOKPLOY_URL" in result.stdout
    assert "DATABASE_URL not set" in result.stdout


@pytest.mark.postgres
def test_doctor_reports_a_working_database_with_its_password_masked(tmp_path: Path, pg_database_url: str) -> None:
    from psycopg.conninfo import conninfo_to_dict

    info = conninfo_to_dict(pg_database_url)
    url = f"postgresql://{info.get('user', 'postgres')}:pw-9876@{info['host']}:{info['port']}/{info['dbname']}"
    result = run(tmp_path, "doctor", env={"DATABASE_URL": url})
    assert "ok    database:" in result.stdout
    assert "pw-9876" not in result.stdout + result.stderr


def test_serve_writes_nothing_to_stdout_before_a_client_speaks(tmp_path: Path) -> None:
    # stdin is closed at once: the server must exit cleanly and must not have printed anything on the protocol channel.
    result = run(tmp_path, "serve", "--log-level", "DEBUG")
    assert result.stdout == ""
    assert "serving stdio" in result.stderr
