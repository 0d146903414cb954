"""A real pg-meta (npm ``@supabase/postgres-meta``, pinned in ``tools/pgmeta``) on loopback, for the pg-meta route.

Install it with ``npm ci --prefix tools/pgmeta`` (``.ci/run`` does). Without node or the package the tests that
need it skip loudly, or fail under ``CI=true``. The server runs against the test run's throwaway database and is
stopped at the end of the session; its log (pino JSON lines) goes to a temporary file whose tail is shown when it
does not start.

Use in a test module::

    from tests.pgmeta_server import pgmeta_server, pgmeta_url  # noqa: F401  (fixtures)
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import httpx
import psycopg
import pytest

from tests.conftest import require_real_part

ROOT = Path(__file__).resolve().parent.parent
PACKAGE_DIR = ROOT / "tools" / "pgmeta"
SERVER_JS = PACKAGE_DIR / "node_modules" / "@supabase" / "postgres-meta" / "dist" / "server" / "server.js"
INSTALL_HINT = "run npm ci --prefix tools/pgmeta"
STARTUP_TIMEOUT_S = 30.0
#: pg-meta 0.96.6 answers SIGTERM by waiting out close-with-grace's 10 s even when idle; a short wait, then SIGKILL.
TERM_WAIT_S = 3.0
KILL_WAIT_S = 10.0


@dataclass(frozen=True)
class PgMetaServer:
    """A running pg-meta: its base URL, its ``CRYPTO_KEY``, and the database URL it connects with (superuser)."""

    url: str
    crypto_key: str
    database_url: str
    version: str
    log_path: Path

    def database_url_as(self, user: str, password: str | None = None) -> str:
        """The URL of the same database for another login (what ``connect_as`` takes)."""
        info = psycopg.conninfo.conninfo_to_dict(self.database_url)
        auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password is not None else "")
        return f"postgresql://{auth}@{info['host']}:{info['port']}/{quote(str(info['dbname']), safe='')}"


def _node() -> str | None:
    node = shutil.which("node")
    if node is None:
        return None
    try:
        version = subprocess.run([node, "--version"], capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    major = version.strip().lstrip("v").split(".", 1)[0]
    return node if major.isdigit() and int(major) >= 20 else None


def _free_port_pair() -> int:
    """A loopback port whose successor is free too: pg-meta also listens on PORT+1 (its /metrics app)."""
    for _ in range(50):
        with socket.socket() as first:
            first.bind(("127.0.0.1", 0))
            port = int(first.getsockname()[1])
            if port >= 65535:
                continue
            with socket.socket() as second:
                try:
                    second.bind(("127.0.0.1", port + 1))
                except OSError:
                    continue
        return port
    raise RuntimeError("no pair of free loopback ports")


def _url_from_conninfo(conninfo: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(conninfo)
    user = quote(str(info.get("user") or "postgres"), safe="")
    password = info.get("password")
    auth = user + (f":{quote(str(password), safe='')}" if password else "")
    host = info.get("host") or "127.0.0.1"
    if str(host).startswith("/"):
        host = "127.0.0.1"
    port = info.get("port") or 5432
    return f"postgresql://{auth}@{host}:{port}/{quote(str(info['dbname']), safe='')}"


def _tail(path: Path, lines: int = 40) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError as exc:
        return f"(no log: {exc})"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def _stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=TERM_WAIT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=KILL_WAIT_S)


@contextmanager
def running_pgmeta(database_url: str, *, log_prefix: str = "pgmeta-") -> Iterator[PgMetaServer]:
    """Start pg-meta on a free loopback port connected to ``database_url`` (a postgresql:// URL); stop it after."""
    node = _node()
    require_real_part(node is not None, "pg-meta", f"node >= 20 is not on PATH ({INSTALL_HINT} after installing it)")
    require_real_part(SERVER_JS.is_file(), "pg-meta", f"{SERVER_JS.relative_to(ROOT)} is missing: {INSTALL_HINT}")
    assert node is not None
    version = json.loads((SERVER_JS.parents[2] / "package.json").read_text())["version"]
    port = _free_port_pair()
    crypto_key = f"test-crypto-key-{secrets.token_hex(8)}"
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PG_META_", "PG_CONN_", "PG_QUERY_")) and key != "CRYPTO_KEY"
    }
    env.update(
        {
            "PG_META_HOST": "127.0.0.1",
            "PG_META_PORT": str(port),
            "PG_META_DB_URL": database_url,
            "CRYPTO_KEY": crypto_key,
        }
    )
    log_dir = Path(tempfile.mkdtemp(prefix=log_prefix))
    log_path = log_dir / "pgmeta.log"
    url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [node, str(SERVER_JS)], cwd=PACKAGE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if process.poll() is not None:
                pytest.fail(
                    f"pg-meta exited with {process.returncode} during startup; log tail:\n{_tail(log_path)}",
                    pytrace=False,
                )
            try:
                if httpx.get(f"{url}/health", timeout=2.0).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(
                    f"pg-meta did not answer GET /health within {STARTUP_TIMEOUT_S:g}s; log tail:\n{_tail(log_path)}",
                    pytrace=False,
                )
            time.sleep(0.2)
        yield PgMetaServer(
            url=url, crypto_key=crypto_key, database_url=database_url, version=version, log_path=log_path
        )
    finally:
        _stop(process)
        shutil.rmtree(log_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def pgmeta_server(pg_database_url: str) -> Iterator[PgMetaServer]:
    """pg-meta against the run's throwaway database, for the whole session."""
    with running_pgmeta(_url_from_conninfo(pg_database_url)) as server:
        yield server


@pytest.fixture(scope="session")
def pgmeta_url(pgmeta_server: PgMetaServer) -> str:
    """The base URL of the running pg-meta (``http://127.0.0.1:<port>``)."""
    return pgmeta_server.url
