"""Start-up benchmark: process start to an answered ``tools/list`` over stdio, against the SDK-import floor.

Usage::

    .venv/bin/python benchmarks/startup.py [--runs 15] [--read-only]

It runs, alternately and in the same session, (a) the floor ``python -c "from mcp.server import MCPServer"`` and
(b) ``python -m dokploy_mcp`` driven over raw stdio JSON-RPC (initialize, initialized, tools/list), and prints the
median wall time of each, their ratio, and the size in bytes of the ``tools/list`` answer. No Dokploy or database
is needed: start-up must not touch the network.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}},
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("DOKPLOY", "DATABASE_URL"))}


FLOOR = "from mcp.server import MCPServer"
# The server's clock stops at the tools/list answer, before interpreter teardown; this floor skips teardown too.
FLOOR_NO_TEARDOWN = "from mcp.server import MCPServer; import os; os._exit(0)"


def time_floor(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=clean_env())
    return time.perf_counter() - start


def time_server(extra: list[str], cwd: str) -> tuple[float, int]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "dokploy_mcp", *extra],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=clean_env(),
        cwd=cwd,
    )
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write((json.dumps(INIT) + "\n").encode())
    proc.stdin.flush()
    json.loads(proc.stdout.readline())
    proc.stdin.write((json.dumps(INITIALIZED) + "\n" + json.dumps(LIST) + "\n").encode())
    proc.stdin.flush()
    line = proc.stdout.readline()
    elapsed = time.perf_counter() - start
    answer = json.loads(line)
    if "result" not in answer:
        raise SystemExit(f"tools/list failed: {line[:500]!r}")
    # The size a client pays for in its context: the tools array as it travels on the wire.
    size = len(json.dumps(answer["result"]["tools"], separators=(",", ":")).encode())
    proc.stdin.close()
    proc.wait(timeout=30)
    return elapsed, size


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--read-only", action="store_true")
    args = parser.parse_args()
    extra = ["--read-only"] if args.read_only else []
    floors: list[float] = []
    bare_floors: list[float] = []
    servers: list[float] = []
    size = 0
    with tempfile.TemporaryDirectory() as cwd:
        time_server(extra, cwd)  # warm the OS file cache so run 1 is not an outlier
        time_floor(FLOOR)
        for _ in range(args.runs):
            floors.append(time_floor(FLOOR))
            bare_floors.append(time_floor(FLOOR_NO_TEARDOWN))
            elapsed, size = time_server(extra, cwd)
            servers.append(elapsed)
    floor, server = statistics.median(floors), statistics.median(servers)
    bare = statistics.median(bare_floors)
    mode = "read-only" if args.read_only else "default"
    print(f"runs: {args.runs}  mode: {mode}")
    print(f"floor (import MCPServer) median: {floor * 1000:.0f} ms")
    print(f"dokploy-mcp to tools/list median: {server * 1000:.0f} ms")
    print(f"floor without interpreter teardown median: {bare * 1000:.0f} ms")
    print(f"ratio (issue's definition, vs floor): {server / floor:.2f}")
    print(f"ratio vs floor without teardown: {server / bare:.2f}")
    print(f"tools/list size: {size} bytes")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
