"""Start-up pays only for what ``tools/list`` needs: the heavy libraries load at the first call that uses them.

Each is imported at the top of the few modules built on it, and those modules are reached from one place each
(the SQL guard and psycopg from ``services.database``, the Kong and Dokploy clients from ``runtime``, PyJWT from
``supabase.keys``, RE2 from ``monitoring.patterns``, cryptography from ``monitoring.tls``, PyYAML through
``dokploy_mcp.yamltext``). ``benchmarks/startup.py`` measures what that is worth.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("psycopg", "psycopg_pool", "pglast", "jwt", "yaml", "re2", "boto3", "httpx")

_SERVE_AND_LIST = """
import asyncio, json, sys
from mcp.client import Client
from dokploy_mcp.config import load_settings
from dokploy_mcp.server import build_server

async def main() -> None:
    async with Client(build_server(load_settings())) as client:
        tools = (await client.list_tools()).tools
    heavy = sorted(m for m in {heavy} if m in sys.modules)
    print(json.dumps({{"tools": len(tools), "loaded": heavy}}))

asyncio.run(main())
"""


def test_serving_tools_list_loads_no_heavy_library(tmp_path: Path) -> None:
    code = _SERVE_AND_LIST.format(heavy=HEAVY)
    # A bare environment and an empty working directory: no developer's .env or DATABASE_URL changes what loads.
    env = {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=tmp_path, check=True, timeout=60
    )
    answer = json.loads(run.stdout.strip().splitlines()[-1])
    assert answer["tools"] > 10
    assert answer["loaded"] == []


def test_the_check_sees_a_heavy_library_once_a_tool_module_needs_it() -> None:
    # The same probe after the SQL guard is loaded reports pglast: the check above can fail.
    code = "import sys; import dokploy_mcp.postgres.sqlguard; print('pglast' in sys.modules)"
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert run.stdout.strip() == "True"
