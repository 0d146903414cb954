"""A second, throwaway PostgreSQL cluster with password auth and SSL only, for real connection-failure messages.

Made with Debian's ``pg_createcluster`` on a free port, with a self-signed certificate the test makes, and
``pg_hba.conf`` allowing only ``hostssl`` with scram-sha-256: so a wrong password, a missing database, a non-SSL
attempt and a closed port each fail the way a user's server fails. Dropped at the end of the session.
"""

from __future__ import annotations

import os
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_real_part

VERSION = "15"


@dataclass(frozen=True)
class PasswordCluster:
    port: int
    user: str
    password: str
    database: str

    def url(self, *, password: str | None = None, database: str | None = None, sslmode: str = "require") -> str:
        return (
            f"postgresql://{self.user}:{password or self.password}@127.0.0.1:{self.port}/"
            f"{database or self.database}?sslmode={sslmode}"
        )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _run(*args: str) -> None:
    result = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(args)} failed ({result.returncode}): {result.stderr[-2000:]}")


@pytest.fixture(scope="session")
def password_cluster() -> Iterator[PasswordCluster]:
    tools_present = all(shutil.which(t) for t in ("pg_createcluster", "pg_ctlcluster", "pg_dropcluster", "openssl"))
    require_real_part(
        tools_present and os.geteuid() == 0,
        "a second PostgreSQL cluster",
        "needs Debian's postgresql-common tools, openssl and root (to create a cluster owned by postgres)",
    )
    name = f"dmcp{secrets.token_hex(3)}"
    port = _free_port()
    certs = Path(tempfile.mkdtemp(prefix="dmcp-ssl-"))
    key, cert = certs / "server.key", certs / "server.crt"
    _run(
        "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert),
    )  # fmt: skip
    shutil.chown(certs, "postgres")
    for path in (key, cert):
        shutil.chown(path, "postgres")
    key.chmod(0o600)
    password = secrets.token_urlsafe(16)
    try:
        _run("pg_createcluster", VERSION, name, "--port", str(port))
        config = Path(f"/etc/postgresql/{VERSION}/{name}")
        # A conf.d file rather than pg_createcluster's -o, which quotes some values and not others.
        (config / "conf.d" / "dmcp-test.conf").write_text(
            "ssl = on\n"
            f"ssl_cert_file = '{cert}'\n"
            f"ssl_key_file = '{key}'\n"
            "listen_addresses = '127.0.0.1'\n"
            "password_encryption = 'scram-sha-256'\n"
        )
        hba = config / "pg_hba.conf"
        hba.write_text("local all postgres peer\nhostssl all all 127.0.0.1/32 scram-sha-256\n")
        _run("pg_ctlcluster", VERSION, name, "start")
        subprocess.run(
            ["su", "postgres", "-c", f"psql -p {port} -qc \"CREATE ROLE app LOGIN PASSWORD '{password}'\" "
             f"&& psql -p {port} -qc 'CREATE DATABASE appdb OWNER app'"],
            check=True, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        yield PasswordCluster(port=port, user="app", password=password, database="appdb")
    finally:
        subprocess.run(["pg_dropcluster", "--stop", VERSION, name], capture_output=True, timeout=120)
        shutil.rmtree(certs, ignore_errors=True)
