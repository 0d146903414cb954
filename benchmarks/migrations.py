"""Migrations: apply_migration's overhead against psql, and generate_diff on a 500-table schema.

    .venv/bin/python benchmarks/migrations.py apply --runs 9
    .venv/bin/python benchmarks/migrations.py diff --tables 500 --runs 5

Both need a PostgreSQL server (``--server``, default the local one, trust auth) where they may create and drop
databases named ``bench_migrations_*``. ``apply`` applies the same migration (create a table, an index and a view,
insert rows, add a column) through the service layer of ``apply_migration`` (direct route: lock, history tables, the
statements, two history rows, one transaction) and through ``psql --single-transaction -f`` (the raw baseline), in
alternation, each into a fresh database, and reports medians and their ratio. ``diff`` builds a schema of N tables
(each with a primary key, a foreign key to the one before, an index, a check, a comment) plus a view and a function
per ten tables in two databases, changes about a tenth of the objects in one, then times ``read_catalog`` of both
plus ``diff`` against ``pg_dump --schema-only`` of both (the raw baseline: reading the same catalogs as text), and
reports the peak memory the differ allocated (tracemalloc) and the process's peak RSS.
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import secrets
import statistics
import subprocess
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from dokploy_mcp.postgres.client import Database
from dokploy_mcp.postgres.conninfo import parse_target

MIGRATION = """
create table public.bench_items{n} (id bigint generated always as identity primary key, name text not null,
  price numeric(10, 2) check (price >= 0), created_at timestamptz not null default now());
create index bench_items{n}_name on public.bench_items{n} (name);
insert into public.bench_items{n} (name, price) select 'item ' || g, g % 100 from generate_series(1, 20000) g;
alter table public.bench_items{n} add column note text;
create view public.bench_cheap{n} as select id, name from public.bench_items{n} where price < 10;
comment on table public.bench_items{n} is 'benchmark';
"""


@contextmanager
def database(server: str) -> Iterator[str]:
    name = f"bench_migrations_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield psycopg.conninfo.make_conninfo(server, dbname=name)
    finally:
        with psycopg.connect(server, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def time_psql(url: str, psql: str) -> list[float]:
    """Two migrations in a row, each a psql process: the same SQL, one transaction, no history."""
    times = []
    for n in (1, 2):
        started = time.perf_counter()
        subprocess.run(
            [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "--single-transaction", "-d", url, "-c", MIGRATION.format(n=n)],
            check=True,
            capture_output=True,
        )
        times.append(time.perf_counter() - started)
    return times


def time_apply(url: str) -> list[float]:
    """Two migrations in a row through apply_migration's flow on the direct route (a fresh connection pool, as a
    first call of a server has): the first also creates the history tables."""
    from dokploy_mcp.postgres import history
    from dokploy_mcp.postgres.migration_sql import analyse

    async def run() -> list[float]:
        times = []
        async with Database(parse_target(url)) as db:
            for n in (1, 2):
                started = time.perf_counter()
                script = analyse(MIGRATION.format(n=n))
                steps = history.apply_steps(
                    version=f"2026010100000{n}",
                    name=f"bench{n}",
                    statements=script.history,
                    runnable=script.runnable,
                    checksum=script.checksum,
                    down_sql=f"drop view public.bench_cheap{n}; drop table public.bench_items{n};",
                    client="benchmark",
                )
                await db.run_script(steps, timeout_ms=600_000)
                times.append(time.perf_counter() - started)
        return times

    return asyncio.run(run())


def bench_apply(server: str, runs: int, psql: str) -> None:
    ours: list[list[float]] = []
    raw: list[list[float]] = []
    for _ in range(runs):
        with database(server) as url:
            raw.append(time_psql(url, psql))
        with database(server) as url:
            ours.append(time_apply(url))
    print("| runs | migration | psql --single-transaction (median) | apply_migration's transaction (median) | ratio |")
    print("| --- | --- | --- | --- | --- |")
    for index, label in enumerate(["first (ours creates the history tables)", "second"]):
        ours_ms = statistics.median(t[index] for t in ours) * 1000
        raw_ms = statistics.median(t[index] for t in raw) * 1000
        print(f"| {runs} | {label} | {raw_ms:.0f} ms | {ours_ms:.0f} ms | {ours_ms / raw_ms:.2f} |")


def schema_sql(tables: int, changed: bool) -> str:
    parts = []
    for i in range(tables):
        fk = f", parent bigint references public.t{i - 1} (id)" if i else ""
        extra = ", extra text default 'x'" if changed and i % 10 == 3 else ""
        kind = "bigint" if changed and i % 10 == 5 else "integer"
        parts.append(
            f"create table public.t{i} (id bigint primary key, qty {kind} not null check (qty >= 0), "
            f"name text{fk}{extra});"
        )
        parts.append(f"create index t{i}_name on public.t{i} (name);")
        parts.append(f"comment on table public.t{i} is 'table {i}{' v2' if changed and i % 10 == 7 else ''}';")
        if i % 10 == 9:
            parts.append(f"create view public.v{i} as select id, name from public.t{i} where qty > {i};")
            body = f"select count(*)::int + {i if not (changed and i % 20 == 9) else i + 1} from public.t{i}"
            parts.append(f"create function public.f{i}() returns int language sql as $$ {body} $$;")
    return "\n".join(parts)


def bench_diff(server: str, tables: int, runs: int, pg_dump: str) -> None:
    from dokploy_mcp.postgres.schemadiff import diff, read_catalog

    with database(server) as source, database(server) as target:
        with psycopg.connect(source, autocommit=True) as conn:
            conn.execute(schema_sql(tables, changed=True).encode())
        with psycopg.connect(target, autocommit=True) as conn:
            conn.execute(schema_sql(tables, changed=False).encode())

        async def ours(traced: bool) -> tuple[float, int, int]:
            # Memory is traced in a run of its own: tracemalloc slows every allocation, so timed runs go without it.
            if traced:
                tracemalloc.start()
            started = time.perf_counter()
            async with Database(parse_target(source)) as a, Database(parse_target(target)) as b:
                result = diff(
                    await read_catalog(a, max_bytes=256_000_000), await read_catalog(b, max_bytes=256_000_000)
                )
            elapsed = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1] if traced else 0
            if traced:
                tracemalloc.stop()
            return elapsed, peak, len(result.changes)

        ours_s: list[float] = []
        raw_s: list[float] = []
        changes = 0
        for _ in range(runs):
            started = time.perf_counter()
            for url in (source, target):
                subprocess.run([pg_dump, "--schema-only", "-d", url], check=True, capture_output=True)
            raw_s.append(time.perf_counter() - started)
            elapsed, _, changes = asyncio.run(ours(traced=False))
            ours_s.append(elapsed)
        peak = asyncio.run(ours(traced=True))[1]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    ours_ms, raw_ms = statistics.median(ours_s) * 1000, statistics.median(raw_s) * 1000
    print(
        "| tables | changes found | pg_dump --schema-only x2 (median) | connect, read_catalog x2, diff (median) "
        "| ratio | "
        "peak allocated by the differ | process peak RSS |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- |")
    print(
        f"| {tables} | {changes} | {raw_ms:.0f} ms | {ours_ms:.0f} ms | {ours_ms / raw_ms:.2f} | "
        f"{peak / 1e6:.1f} MB | {rss_mb:.0f} MB |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["apply", "diff"])
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--tables", type=int, default=500)
    parser.add_argument("--psql", default="psql")
    parser.add_argument("--pg-dump", default="pg_dump")
    args = parser.parse_args()
    if args.what == "apply":
        bench_apply(args.server, args.runs, args.psql)
    else:
        bench_diff(args.server, args.tables, args.runs, args.pg_dump)


if __name__ == "__main__":
    main()
