"""SQL benchmark: ``execute_sql`` over stdio against raw psycopg in the same run, and a large query under the caps.

Usage::

    .venv/bin/python benchmarks/sql.py [--calls 200] [--rows 1000000] [--big-runs 5]
        [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]

It creates a throwaway database (dropped at the end) holding a table ``big`` of ``--rows`` rows, and starts ONE
``python -m dokploy_mcp`` with ``DATABASE_URL`` pointing at it. The client speaks raw JSON-RPC on the server's stdin
and stdout (no MCP SDK client), so the numbers hold the server's cost and the pipe, not a client library's.

1. Latency: after a warm-up, ``--calls`` rounds, each running ``select 1`` once down every path, interleaved so
   that drift hits all paths alike:

   - ``execute_sql`` over stdio (``tools/call``, default arguments);
   - raw psycopg, one sync autocommit connection: the floor;
   - raw psycopg doing the route's safety work: BEGIN; SET TRANSACTION READ ONLY and SET LOCAL statement_timeout;
     the statement; ROLLBACK;
   - the same plus the pool's reset when the connection goes back (DISCARD ALL, in autocommit).

   Median and p95 latency, calls per second (calls / summed latency, one call in flight) and ratios.
2. Big query: ``select * from big`` through ``execute_sql`` with the default caps (max_rows=1000) and with
   max_rows=10000: wall time, and the server process's resident memory: idle (VmRSS) before, peak (VmHWM, reset
   before each call through /proc/<pid>/clear_refs, cross-checked by sampling VmRSS) during. Peak minus the lower
   of two idles (right after start-up, and just before the call) is checked against the 100 MB budget and printed
   as PASS or FAIL, never asserted. Baselines through raw psycopg with a server-side cursor: the first 1,000 and
   10,000 rows, and (for scale) all rows in batches of 1,000.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import psycopg
from psycopg import sql
from psycopg.conninfo import make_conninfo

BUDGET_MB = 100.0
INIT = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "bench", "version": "0"}},
}
INITIALIZED = {"jsonrpc": "2.0", "method": "notifications/initialized"}
TABLE = """
CREATE TABLE big AS
SELECT i::bigint AS id,
       'row ' || i AS label,
       round((i %% 100000) / 100.0, 2) AS amount,
       timestamptz '2026-01-01 00:00:00+00' + i * interval '1 second' AS created_at
FROM generate_series(1, %s) AS i
"""


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith(("DOKPLOY", "DATABASE_URL"))}


# -- memory of a process, from /proc ---------------------------------------------------------------------------


def status_kb(pid: int | str, field: str) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise RuntimeError(f"no {field} in /proc/{pid}/status")


def reset_peak(pid: int | str) -> bool:
    """Reset the process's VmHWM to its current RSS (Linux 4.0+); False when not permitted."""
    try:
        with open(f"/proc/{pid}/clear_refs", "w") as clear:
            clear.write("5")
    except OSError:
        return False
    return True


@contextlib.contextmanager
def peak_rss(pid: int | str) -> Iterator[dict[str, float]]:
    """Measure a block: idle RSS before it, peak RSS during it (VmHWM and sampled VmRSS), in MB."""
    out: dict[str, float] = {}
    reset = reset_peak(pid)
    out["idle"] = status_kb(pid, "VmRSS") / 1024
    sampled = [out["idle"]]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.002):
            with contextlib.suppress(OSError, RuntimeError):
                sampled.append(status_kb(pid, "VmRSS") / 1024)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield out
    finally:
        done.set()
        thread.join()
        hwm = status_kb(pid, "VmHWM") / 1024
        # Without a reset VmHWM is the peak since the process started: still an upper bound.
        out["peak"] = max(hwm, max(sampled)) if reset else max(sampled)
        out["hwm_reset"] = float(reset)


# -- the server over raw stdio JSON-RPC ----------------------------------------------------------------------


class StdioServer:
    def __init__(self, database_url: str, cwd: str, log: Any) -> None:
        env = clean_env()
        env["DATABASE_URL"] = database_url
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "dokploy_mcp"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
            env=env,
            cwd=cwd,
        )
        self.pid = self.proc.pid
        self._next_id = 0
        self.request(INIT)
        self._send(INITIALIZED)

    def _send(self, message: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(message) + "\n").encode())
        self.proc.stdin.flush()

    def request(self, message: dict[str, Any]) -> tuple[float, int, dict[str, Any]]:
        """Send one request; return the time to its answer (read, not yet parsed), the answer's bytes, the answer."""
        assert self.proc.stdout is not None
        start = time.perf_counter()
        self._send(message)
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise SystemExit(f"the server exited (code {self.proc.poll()}); see its log")
            elapsed = time.perf_counter() - start
            answer = json.loads(line)
            if answer.get("id") == message["id"]:
                return elapsed, len(line), answer

    def call(self, name: str, arguments: dict[str, Any]) -> tuple[float, int, dict[str, Any]]:
        self._next_id += 1
        message = {
            "jsonrpc": "2.0",
            "id": self._next_id,
            "method": "tools/call",
            "params": {"name": name, "arguments": arguments},
        }
        elapsed, size, answer = self.request(message)
        result = answer.get("result") or {}
        if "error" in answer or result.get("isError"):
            raise SystemExit(f"{name} failed: {json.dumps(answer)[:1000]}")
        return elapsed, size, result["structuredContent"]

    def close(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# -- the raw psycopg paths -------------------------------------------------------------------------------------


def floor_call(conn: psycopg.Connection[Any]) -> None:
    conn.execute("select 1").fetchall()


def safety_call(conn: psycopg.Connection[Any]) -> None:
    # psycopg sends BEGIN first (not autocommit); the same two SETs execute_sql's route sends in one message.
    conn.execute("SET TRANSACTION READ ONLY; SET LOCAL statement_timeout = 30000")
    conn.execute("select 1").fetchall()
    conn.rollback()


def safety_reset_call(conn: psycopg.Connection[Any]) -> None:
    safety_call(conn)
    # What the server's pool does as the connection comes back (dokploy_mcp.postgres.client._reset_session).
    conn.autocommit = True
    conn.execute("DISCARD ALL")
    conn.autocommit = False


def server_side_fetch(conn: psycopg.Connection[Any], rows: int | None, batch: int = 1000) -> tuple[float, int]:
    """Time ``select * from big`` through a named (server-side) cursor: ``rows`` rows, or all of them."""
    start = time.perf_counter()
    fetched = 0
    with conn.cursor(name="big_cursor") as cursor:
        cursor.execute("select * from big")
        while rows is None or fetched < rows:
            chunk = cursor.fetchmany(batch if rows is None else min(batch, rows - fetched))
            if not chunk:
                break
            fetched += len(chunk)
    conn.rollback()
    return time.perf_counter() - start, fetched


# -- reporting -------------------------------------------------------------------------------------------------


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f} ms" if seconds < 0.01 else f"{seconds * 1000:.1f} ms"


def latency(args: argparse.Namespace, server: StdioServer, url: str) -> None:
    floor_conn = psycopg.connect(url, autocommit=True)
    safety_conn = psycopg.connect(url)
    reset_conn = psycopg.connect(url)
    paths: dict[str, Callable[[], Any]] = {
        "execute_sql over stdio": lambda: server.call("execute_sql", {"sql": "select 1"}),
        "psycopg floor (autocommit)": lambda: floor_call(floor_conn),
        "psycopg + route's safety": lambda: safety_call(safety_conn),
        "psycopg + safety + pool reset": lambda: safety_reset_call(reset_conn),
    }
    times: dict[str, list[float]] = {name: [] for name in paths}
    server_durations: list[float] = []
    try:
        for _ in range(args.warmup):
            for run in paths.values():
                run()
        for _ in range(args.calls):
            for name, run in paths.items():
                start = time.perf_counter()
                answer = run()
                times[name].append(time.perf_counter() - start)
                if answer is not None:
                    server_durations.append(answer[2]["duration_ms"] / 1000)
    finally:
        for conn in (floor_conn, safety_conn, reset_conn):
            conn.close()
    print(f"\n== select 1: {args.calls} calls per path, interleaved, after {args.warmup} warm-up rounds ==")
    print(f"{'path':32} {'median':>10} {'p95':>10} {'calls/s':>9}")
    medians: dict[str, float] = {}
    for name, values in times.items():
        medians[name] = statistics.median(values)
        rate = len(values) / sum(values)
        print(f"{name:32} {ms(medians[name]):>10} {ms(p95(values)):>10} {rate:>9.0f}")
    mcp, floor = medians["execute_sql over stdio"], medians["psycopg floor (autocommit)"]
    safety, reset = medians["psycopg + route's safety"], medians["psycopg + safety + pool reset"]
    print(f"statement alone, as execute_sql reports it (duration_ms) median: {ms(statistics.median(server_durations))}")
    print(f"ratio execute_sql / psycopg floor: {mcp / floor:.1f}")
    print(f"ratio execute_sql / psycopg + safety + pool reset: {mcp / reset:.1f}")
    print(f"ratio psycopg + safety / floor: {safety / floor:.1f}")
    print(f"ratio psycopg + safety + pool reset / floor: {reset / floor:.1f}")


def big_query(args: argparse.Namespace, server: StdioServer, url: str, cold_idle: float) -> None:
    print(f"\n== select * from big ({args.rows:,} rows), {args.big_runs} runs each ==")
    print(f"server RSS right after start-up (before any database call): {cold_idle:.1f} MB")
    worst = 0.0
    for max_rows in (None, 10_000):
        arguments: dict[str, Any] = {"sql": "select * from big"}
        if max_rows is not None:
            arguments["max_rows"] = max_rows
        walls: list[float] = []
        peaks: list[float] = []
        idles: list[float] = []
        for _ in range(args.big_runs):
            with peak_rss(server.pid) as memory:
                wall, size, result = server.call("execute_sql", arguments)
            walls.append(wall)
            peaks.append(memory["peak"])
            idles.append(memory["idle"])
            worst = max(worst, memory["peak"] - memory["idle"], memory["peak"] - cold_idle)
        label = f"execute_sql max_rows={max_rows or '1000 (default)'}"
        print(
            f"{label}: wall median {ms(statistics.median(walls))} (min {ms(min(walls))}, max {ms(max(walls))}); "
            f"{result['row_count']:,} rows returned, truncated_reason={result['truncated_reason']}, "
            f"answer {size / 1e6:.2f} MB"
        )
        print(
            f"  server RSS: idle before each call {min(idles):.1f}-{max(idles):.1f} MB, peak {max(peaks):.1f} MB; "
            f"largest rise in one call {max(p - i for p, i in zip(peaks, idles, strict=True)):.1f} MB, "
            f"peak - start-up idle {max(peaks) - cold_idle:.1f} MB"
            + ("" if memory["hwm_reset"] else " (VmHWM could not be reset: sampled VmRSS only)")
        )
    verdict = "PASS" if worst <= BUDGET_MB else "FAIL"
    print(
        f"memory budget (peak at most {BUDGET_MB:.0f} MB above the idle server, idle taken as the lower of start-up "
        f"and just before the call): {verdict}, worst {worst:.1f} MB"
    )
    # One connection, opened outside the clock, as the server's pool already holds one.
    with psycopg.connect(url) as conn:
        conn.read_only = True
        for rows in (1000, 10_000, None):
            walls = []
            fetched = 0
            with peak_rss("self") as memory:
                for _ in range(args.big_runs if rows is not None else 1):
                    wall, fetched = server_side_fetch(conn, rows)
                    walls.append(wall)
            what = f"first {rows:,} rows" if rows is not None else f"all {fetched:,} rows in batches of 1,000"
            print(
                f"psycopg server-side cursor, {what}: wall median {ms(statistics.median(walls))}; "
                f"this process's RSS peak - before {memory['peak'] - memory['idle']:.1f} MB"
            )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--big-runs", type=int, default=5)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument(
        "--admin-url",
        default=os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres"),
        help="a login allowed to CREATE DATABASE (env BENCH_ADMIN_URL)",
    )
    args = parser.parse_args()
    name = f"dokploy_mcp_bench_{os.getpid()}"
    url = make_conninfo(args.admin_url, dbname=name)
    admin = psycopg.connect(args.admin_url, autocommit=True)
    admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    server: StdioServer | None = None
    try:
        start = time.perf_counter()
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(TABLE, [args.rows])
            conn.execute("VACUUM (ANALYZE) big")  # hint bits set now, not during the first timed scan
            version = conn.execute("SELECT current_setting('server_version')").fetchone()
            size = conn.execute("SELECT pg_size_pretty(pg_total_relation_size('big'))").fetchone()
        print(
            f"database {name}: table big, {args.rows:,} rows, {size and size[0]}, "
            f"built in {ms(time.perf_counter() - start)}"
        )
        print(
            f"PostgreSQL {version and version[0]}, Python {sys.version.split()[0]}, "
            f"psycopg {psycopg.__version__}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}"
        )
        print("client: raw JSON-RPC over the server's stdio (no MCP SDK client)")
        with tempfile.TemporaryDirectory() as cwd, open(os.path.join(cwd, "server.log"), "w+") as log:
            try:
                server = StdioServer(url, cwd, log)
                time.sleep(0.5)  # let start-up settle before reading its idle memory
                cold_idle = status_kb(server.pid, "VmRSS") / 1024
                latency(args, server, url)
                big_query(args, server, url, cold_idle)
            finally:
                if server is not None:
                    server.close()
                if server is None or server.proc.returncode not in (0, None):
                    log.seek(0)
                    print(log.read()[-3000:], file=sys.stderr)
    finally:
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
