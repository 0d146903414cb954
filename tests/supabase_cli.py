"""Running the real Supabase CLI (pinned in ``tools/supabase-cli``) the way the migrations tests need it.

The CLI is the oracle for migration history compatibility: what it writes to, and reads from,
``supabase_migrations.schema_migrations`` through ``--db-url`` (no Docker, no Supabase account) is what the
migrations tools must match. Each call gets its own empty HOME, so the CLI writes nothing into the user's home, and
the variables the CLI reads to deny telemetry consent and skip its update check.
"""

from __future__ import annotations

import ipaddress
import os
import subprocess
import tempfile
from pathlib import Path
from urllib.parse import quote, urlencode

import psycopg

ROOT = Path(__file__).resolve().parent.parent
CLI_DIR = ROOT / "tools" / "supabase-cli"

# Found in the CLI binary: either of the first two set to "1" denies telemetry consent; the third skips the
# update check. NO_COLOR keeps the output plain for assertions.
QUIET_ENV = {
    "SUPABASE_TELEMETRY_DISABLED": "1",
    "DO_NOT_TRACK": "1",
    "SUPABASE_NO_UPDATE_NOTIFIER": "1",
    "NO_COLOR": "1",
}
# Parts of a connection string that belong in the URL itself, not in its query.
URL_PARTS = {"host", "hostaddr", "port", "user", "password", "dbname", "sslmode"}


def cli_path() -> Path:
    return CLI_DIR / "node_modules" / ".bin" / "supabase"


def run_cli(cli: Path, *args: str, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run ``supabase <args>`` in ``cwd`` with a private HOME and no telemetry; never raises on a non-zero exit."""
    # A developer's own token, profile or project settings must not steer the CLI under test.
    env = {key: value for key, value in os.environ.items() if not key.startswith("SUPABASE_")}
    with tempfile.TemporaryDirectory(prefix="supabase-cli-home-") as home:
        env |= {**QUIET_ENV, "HOME": home}
        return subprocess.run(
            [str(cli), *args],
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )


def db_url_for_cli(url: str) -> str:
    """A ``postgresql://`` URL the CLI's ``--db-url`` accepts, from a libpq URL or keyword string.

    TLS is off unless the input names an ``sslmode``: the test servers have no certificate.
    """
    info = {key: str(value) for key, value in psycopg.conninfo.conninfo_to_dict(url).items() if value is not None}
    host = info.get("host") or info.get("hostaddr")
    if not host or host.startswith("/") or "," in host:
        raise ValueError(f"the Supabase CLI needs one TCP host, not {host!r}")
    with_brackets = f"[{host}]" if _is_ipv6(host) else host
    user = quote(info.get("user", "postgres"), safe="")
    password = f":{quote(info['password'], safe='')}" if "password" in info else ""
    dbname = quote(info.get("dbname", "postgres"), safe="")
    query = {"sslmode": info.get("sslmode", "disable")}
    query |= {key: value for key, value in info.items() if key not in URL_PARTS}
    return f"postgresql://{user}{password}@{with_brackets}:{info.get('port', '5432')}/{dbname}?{urlencode(query)}"


def _is_ipv6(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).version == 6
    except ValueError:
        return False
