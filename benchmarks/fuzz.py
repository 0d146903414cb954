"""The long fuzz run: many generated calls of every tool, through the real protocol, counting improper answers.

    .venv/bin/python benchmarks/fuzz.py --calls-per-tool 1500

The same harness as the bounded run in CI (tests/protocol/fuzz_harness.py): calls generated from each tool's own
input schema by hypothesis and hypothesis-jsonschema, against the stateful Dokploy double, a Kong double that
answers 502, and a throwaway PostgreSQL database that this script creates (``--admin-url``, a login allowed to
CREATE DATABASE) and drops at the end. Every call must be answered within 45 s with a named error or a result that
matches the tool's output schema; the server must still answer tools/list at the end. Prints a table per tool.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import secrets
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psycopg
from psycopg import sql

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the repository root, for tests.protocol

from tests.protocol.fuzz_harness import fuzz_tool, stand


@contextlib.contextmanager
def throwaway_database(admin_url: str) -> Iterator[str]:
    name = f"dokploy_mcp_fuzz_{secrets.token_hex(4)}"
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    info = psycopg.conninfo.conninfo_to_dict(admin_url)
    info["dbname"] = name
    try:
        yield psycopg.conninfo.make_conninfo(**{key: str(value) for key, value in info.items() if value is not None})
    finally:
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls-per-tool", type=int, default=1_500)
    parser.add_argument(
        "--admin-url", default=os.environ.get("BENCH_ADMIN_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
    )
    options = parser.parse_args()
    # Each refused call logs a line at INFO: noise for a run of thousands.
    logging.disable(logging.INFO)
    total: Counter[str] = Counter()
    all_problems: list[str] = []
    print("| tool | calls | named errors | results | improper answers | seconds |")
    print("| --- | --- | --- | --- | --- | --- |")
    with (
        throwaway_database(options.admin_url) as database_url,
        tempfile.TemporaryDirectory() as tmp,
        stand(database_url, Path(tmp)) as server,
    ):
        for tool in server.tools:
            started = time.perf_counter()
            run = fuzz_tool(server, tool.name, options.calls_per_tool)
            seconds = time.perf_counter() - started
            outcome, found = run.counts, run.problems
            calls = sum(outcome.values())
            print(
                f"| `{tool.name}` | {calls:,} | {outcome['error']:,} | {outcome['result']:,} | {len(found)} | "
                f"{seconds:.0f} |",
                flush=True,
            )
            total.update(outcome)
            all_problems.extend(found)
        alive = server.alive()
    calls = sum(total.values())
    print(f"| all | {calls:,} | {total['error']:,} | {total['result']:,} | {len(all_problems)} | |")
    print(f"server still answering tools/list: {alive}")
    for problem in all_problems[:50]:
        print("PROBLEM", problem)
    return 0 if alive and not all_problems else 1


if __name__ == "__main__":
    raise SystemExit(main())
