"""create_backup and restore_backup against pg_dump -Fc and pg_restore on a generated database.

    .venv/bin/python benchmarks/backups.py --size-mb 100 --runs 1
    .venv/bin/python benchmarks/backups.py --size-mb 1024 --runs 3

Needs a PostgreSQL server (``--server``, default the local one, trust auth, a superuser) where it may create and drop
databases named ``bench_backups_*``, and pg_dump and pg_restore of the server's major version on PATH (or
``--bin-dir``). It generates the source once, with ``benchmarks/transfer.py``'s generator (``events``, ``orders``,
``documents``, ``accounts``; VACUUM ANALYZE and CHECKPOINT after). Then, per run, with a CHECKPOINT before each timed
step:

- backup, raw: ``pg_dump -Fc -f FILE src`` (pg_dump's default zlib compression);
- backup, ours: a child process (``benchmarks/backups.py _ours_backup SOURCE STORE``) builds the server's runtime
  with a random ``backup_key`` and ``backup_dir=STORE`` and calls ``services.backups.create_backup``, as the tool
  does: ``pg_dump -Fc -Z0`` piped through zstd (the sealing's default level, which the run prints) and AES-256-GCM
  into the store, the per-table checksums of the same snapshot read meanwhile on a second connection;
- the checksum pass alone: ``postgres.dumps.table_sums`` on the source, in this process (a second read);
- restore, raw: ``pg_restore -d NEW FILE`` from the raw backup of the run, single process, into a database created
  before and dropped after (untimed);
- restore, ours: a child process (``_ours_restore SERVER BACKUP_ID STORE NAME``) calls
  ``services.backups.restore_backup`` with ``database=NAME``: every chunk verified, a new database created and the
  archive restored in one transaction, then every table's count and checksum compared with the manifest. Its
  status must be ``restored`` or the benchmark stops; the database is dropped after (untimed).

Backups alternate (raw first in odd runs, ours first in even ones), and so do restores; medians are reported, peak
RSS the largest of the runs, each process's own from GNU time (see ``transfer.py``: for ours, the Python process or
the pg_dump / pg_restore it starts, whichever is larger). After the runs, unless ``--no-profile``: ``pg_dump -Fc -Z0``
into a file alone, then that file sealed in this process (``Sealer`` into /dev/null) and zstd alone, to show what
ours' backup spends its time on.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import psycopg
from psycopg import sql
from transfer import MB, Child, Result, checkpoint, database_size, failed, generate, server_counters, wal_since

PREFIX = "bench_backups_"
KEY_VARIABLE = "BENCH_BACKUPS_KEY"  # the child's key travels in its environment, never on a command line
BLOCK = 1 << 20
Binary = Callable[[str], str]


@contextmanager
def database(server: str, tag: str) -> Iterator[str]:
    name = f"{PREFIX}{tag}_{secrets.token_hex(4)}"
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield psycopg.conninfo.make_conninfo(server, dbname=name)
    finally:
        drop_database(server, name)


def drop_database(server: str, name: str) -> None:
    with psycopg.connect(server, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def child_env(key: str) -> dict[str, str]:
    # A backup key setting of the caller's own would make load_settings refuse two keys.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DOKPLOY_MCP_")}
    env[KEY_VARIABLE] = key
    return env


def run_child(argv: list[str], scratch: Path, name: str, key: str) -> tuple[float, float, dict[str, Any]]:
    """``benchmarks/backups.py argv`` in a child process: seconds from start to exit, peak RSS, its JSON."""
    out, errors = scratch / f"{name}.json", scratch / f"{name}.err"
    with out.open("wb") as stdout, errors.open("wb") as stderr:
        started = time.perf_counter()
        child = Child.start(
            [sys.executable, __file__, *argv], scratch, name, stdout=stdout, stderr=stderr, env=child_env(key)
        )
        code, rss = child.wait()
        elapsed = time.perf_counter() - started
    if code:
        raise failed(f"{name}'s child", code, errors)
    detail: dict[str, Any] = json.loads(out.read_text())
    return elapsed, rss, detail


def run_raw_backup(source: str, binary: Binary, scratch: Path, file: Path) -> Result:
    errors = scratch / "raw_backup.err"
    with errors.open("wb") as err:
        started = time.perf_counter()
        dump = Child.start([binary("pg_dump"), "-Fc", "-f", str(file), "-d", source], scratch, "pg_dump", stderr=err)
        code, rss = dump.wait()
        elapsed = time.perf_counter() - started
    if code:
        raise failed("pg_dump", code, errors)
    return Result(elapsed, rss, {"bytes": file.stat().st_size})


def run_ours_backup(source: str, store: Path, key: str, scratch: Path) -> Result:
    elapsed, rss, detail = run_child(["_ours_backup", source, str(store)], scratch, "ours_backup", key)
    # The sealing settings in force (the manifest records them), since they decide most of the time.
    manifest = json.loads((store / f"{detail['backup_id']}.json").read_text())
    detail["level"] = manifest["encryption"].get("level")
    detail["chunk_size"] = manifest["encryption"].get("chunk_size")
    return Result(elapsed, rss, detail)


def run_sums(source: str) -> float:
    from dokploy_mcp.postgres.dumps import table_sums

    with psycopg.connect(source) as conn:
        started = time.perf_counter()
        table_sums(conn)
        elapsed = time.perf_counter() - started
        conn.rollback()
    return elapsed


def run_raw_restore(server: str, file: Path, binary: Binary, scratch: Path) -> Result:
    errors = scratch / "raw_restore.err"
    with database(server, "raw_restore") as target, errors.open("wb") as err:
        checkpoint(server)
        checkpoints, lsn = server_counters(server)
        started = time.perf_counter()
        restore = Child.start([binary("pg_restore"), "-d", target, str(file)], scratch, "pg_restore", stderr=err)
        code, rss = restore.wait()
        elapsed = time.perf_counter() - started
        wal = wal_since(server, lsn)
        checkpoints = server_counters(server)[0] - checkpoints
    if code:
        raise failed("pg_restore", code, errors)
    return Result(elapsed, rss, {"wal_mb": wal / MB, "checkpoints": checkpoints})


def run_ours_restore(server: str, backup_id: str, store: Path, key: str, scratch: Path) -> Result:
    name = f"{PREFIX}ours_restore_{secrets.token_hex(4)}"
    try:
        checkpoint(server)
        checkpoints, lsn = server_counters(server)
        argv = ["_ours_restore", server, backup_id, str(store), name]
        elapsed, rss, detail = run_child(argv, scratch, "ours_restore", key)
        detail["wal_mb"] = wal_since(server, lsn) / MB
        detail["checkpoints"] = server_counters(server)[0] - checkpoints
    finally:
        drop_database(server, name)
    bad = [t["table"] for t in detail["tables"] if t["verified"] is not True]
    if detail["status"] != "restored" or bad:
        raise RuntimeError(f"restore_backup did not verify: status {detail['status']}, tables {bad}")
    return Result(elapsed, rss, detail)


# -- the child --------------------------------------------------------------------------------------------------------


def vm_hwm_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:")) / 1024


def ours_child(argv: list[str]) -> None:
    """The tool's flow in this process alone (so that its peak RSS is its own); figures as JSON on stdout."""
    from dokploy_mcp.config import load_settings
    from dokploy_mcp.runtime import Runtime
    from dokploy_mcp.services import backups

    async def progress(message: str) -> None:
        return None

    async def run(state_dir: str) -> tuple[backups.BackupOutcome, float]:
        key = os.environ.pop(KEY_VARIABLE)
        store = argv[2] if argv[0] == "_ours_backup" else argv[3]
        async with Runtime(load_settings(state_dir=state_dir, backup_dir=store, backup_key=key)) as rt:
            began = time.perf_counter()
            if argv[0] == "_ours_backup":
                outcome = await backups.create_backup(rt, argv[1], progress)
            else:
                request = backups.RestoreRequest(argv[2], target=argv[1], database=argv[4])
                outcome = await backups.restore_backup(rt, request, progress)
            return outcome, (time.perf_counter() - began) * 1000

    with tempfile.TemporaryDirectory() as state_dir:
        outcome, call_ms = asyncio.run(run(state_dir))
    figures = {
        "status": outcome.status,
        "backup_id": outcome.backup_id,
        "call_ms": call_ms,
        "dump_ms": outcome.dump_ms,
        "verify_ms": outcome.verify_ms,
        "restore_ms": outcome.restore_ms,
        "dump_bytes": outcome.dump_bytes,
        "sealed_bytes": outcome.sealed_bytes,
        "vm_hwm_mb": vm_hwm_mb(),
        "tables": [vars(check) for check in outcome.tables],
    }
    print(json.dumps(figures))


# -- the profile ------------------------------------------------------------------------------------------------------


def profile(source: str, binary: Binary, key: str, scratch: Path) -> dict[str, float]:
    """pg_dump -Fc -Z0 into a file alone; then the file (in the page cache) sealed, and zstd alone, in this process."""
    import zstandard

    from dokploy_mcp.backups.sealing import DEFAULT_LEVEL, KeyMaterial, Sealer

    file, errors = scratch / "plain.dump", scratch / "plain.err"
    with errors.open("wb") as err:
        checkpoint(source)
        started = time.perf_counter()
        code = subprocess.run([binary("pg_dump"), "-Fc", "-Z0", "-f", str(file), "-d", source], stderr=err).returncode
        dump_s = time.perf_counter() - started
    if code:
        raise failed("pg_dump -Z0", code, errors)
    size = file.stat().st_size

    def timed(sink: Callable[[bytes], object]) -> float:
        with file.open("rb") as handle:
            began = time.perf_counter()
            while block := handle.read(BLOCK):
                sink(block)
            return time.perf_counter() - began

    timed(lambda block: None)  # the file into the page cache
    read_s = timed(lambda block: None)
    with open(os.devnull, "wb") as devnull:
        sealer = Sealer(KeyMaterial.raw(bytes.fromhex(key)), devnull.write)
        seal_s = timed(sealer.write)
        began = time.perf_counter()
        sealed = sealer.close()
        seal_s += time.perf_counter() - began
    compressor = zstandard.ZstdCompressor(level=DEFAULT_LEVEL).compressobj()
    zstd_s = timed(compressor.compress)
    compressor.flush()
    file.unlink()
    return {
        "plain_dump_s": dump_s,
        "plain_mb": size / MB,
        "read_s": read_s,
        "seal_s": seal_s,
        "zstd_s": zstd_s,
        "compressed_mb": sealed.compressed_bytes / MB,
        "level": DEFAULT_LEVEL,
    }


# -- the report -------------------------------------------------------------------------------------------------------


def med(results: list[Result], pick: Callable[[Result], float]) -> float:
    return statistics.median(pick(result) for result in results)


def report(size: int, runs: int, results: dict[str, list[Result]], sums: list[float]) -> None:
    mb = size / MB
    raw_b, ours_b, raw_r, ours_r = (results[k] for k in ("raw_backup", "ours_backup", "raw_restore", "ours_restore"))
    raw_backup, ours_backup = med(raw_b, lambda r: r.seconds), med(ours_b, lambda r: r.seconds)
    dump_s = med(ours_b, lambda r: r.detail["dump_ms"] / 1000)
    raw_restore, ours_restore = med(raw_r, lambda r: r.seconds), med(ours_r, lambda r: r.seconds)
    verify_s = med(ours_r, lambda r: r.detail["verify_ms"] / 1000)
    restore_s = med(ours_r, lambda r: r.detail["restore_ms"] / 1000)
    compare_s = med(ours_r, lambda r: (r.detail["call_ms"] - r.detail["verify_ms"] - r.detail["restore_ms"]) / 1000)
    rss = {key: max(r.rss_mb for r in value) for key, value in results.items()}
    lines = [
        ("backup: `pg_dump -Fc -f FILE` (raw)", raw_backup, "", f"{med(raw_b, lambda r: r.detail['bytes']) / MB:,.0f}"),
        ("backup: ours, child process end to end", ours_backup, f"{raw_backup / ours_backup:.2f}", ""),
        ("backup: ours, `dump_ms`", dump_s, f"{raw_backup / dump_s:.2f}", ""),
        ("sealed file (ours)", None, "", f"{med(ours_b, lambda r: r.detail['sealed_bytes']) / MB:,.0f}"),
        ("checksum pass alone (`table_sums`)", statistics.median(sums), "", ""),
        ("restore: `pg_restore -d NEW FILE` (raw)", raw_restore, "", ""),
        ("restore: ours, child process end to end", ours_restore, f"{raw_restore / ours_restore:.2f}", ""),
        ("restore: ours, `verify_ms`", verify_s, "", ""),
        ("restore: ours, `restore_ms`", restore_s, f"{raw_restore / restore_s:.2f}", ""),
        ("restore: ours, the comparison (call - verify - restore)", compare_s, "", ""),
    ]
    print(f"\nsource {mb:,.0f} MB (pg_database_size), {runs} run(s), medians; peak RSS: largest of the runs")
    print("| step | time | throughput | ratio (raw / ours) | file MB |")
    print("| --- | --- | --- | --- | --- |")
    for label, seconds, ratio, file_mb in lines:
        shown = f"{seconds:.1f} s" if seconds is not None else ""
        rate = f"{mb / seconds:.1f} MB/s" if seconds is not None else ""
        print(f"| {label} | {shown} | {rate} | {ratio} | {file_mb} |")
    print("peak RSS: " + ", ".join(f"{key} {value:.0f} MB" for key, value in rss.items()))
    backup_ratio, restore_ratio = raw_backup / ours_backup, raw_restore / ours_restore
    ours_rss = max(rss["ours_backup"], rss["ours_restore"])
    print(
        f"targets: backup >= 0.8: {backup_ratio:.2f} {'PASS' if backup_ratio >= 0.8 else 'FAIL'}; "
        f"restore >= 0.7: {restore_ratio:.2f} {'PASS' if restore_ratio >= 0.7 else 'FAIL'}; "
        f"peak RSS <= 100 MB: {ours_rss:.0f} MB {'PASS' if ours_rss <= 100 else 'FAIL'}"
    )


def describe(step: str, result: Result) -> str:
    d = result.detail
    text = f"{step}: {result.seconds:.1f} s, peak RSS {result.rss_mb:.0f} MB"
    if step == "ours_backup":
        text += f" (VmHWM {d['vm_hwm_mb']:.0f} MB); dump_ms {d['dump_ms']}, sealed {d['sealed_bytes'] / MB:,.0f} MB"
        text += f" (zstd level {d['level']}, chunks of {d['chunk_size']:,} bytes)"
    elif step == "ours_restore":
        compare = d["call_ms"] - d["verify_ms"] - d["restore_ms"]
        text += (
            f" (VmHWM {d['vm_hwm_mb']:.0f} MB); verify_ms {d['verify_ms']}, restore_ms {d['restore_ms']}, "
            f"comparison {compare:.0f} ms"
        )
    elif step == "raw_backup":
        text += f"; file {d['bytes'] / MB:,.0f} MB"
    if "wal_mb" in d:
        text += f"; {d['checkpoints']} checkpoint(s), {d['wal_mb']:,.0f} MB of WAL"
    return text


def describe_profile(figures: dict[str, float]) -> str:
    plain = figures["plain_mb"]
    return (
        f"profile: pg_dump -Fc -Z0 into a file {figures['plain_dump_s']:.1f} s ({plain:,.0f} MB); that file read "
        f"{figures['read_s']:.2f} s, sealed (zstd {figures['level']:.0f} + AES-GCM + sha256) {figures['seal_s']:.1f} s "
        f"({plain / figures['seal_s']:.0f} MB/s, {figures['compressed_mb']:,.0f} MB compressed), zstd alone "
        f"{figures['zstd_s']:.1f} s ({plain / figures['zstd_s']:.0f} MB/s)"
    )


def one_run(run: int, args: argparse.Namespace, source: str, key: str, tmp: Path) -> dict[str, Result | float]:
    """Backups (alternating), the checksum pass, restores (alternating); the run's files deleted after."""
    binary = binaries(args.bin_dir)
    store, file = tmp / f"store_{run}", tmp / f"raw_{run}.dump"
    steps: dict[str, Callable[[], Result]] = {
        "raw_backup": lambda: run_raw_backup(source, binary, tmp, file),
        "ours_backup": lambda: run_ours_backup(source, store, key, tmp),
    }
    done: dict[str, Result | float] = {}
    order = ["raw", "ours"] if run % 2 == 0 else ["ours", "raw"]
    for method in order:
        checkpoint(args.server)
        done[f"{method}_backup"] = result = steps[f"{method}_backup"]()
        print(f"run {run + 1}, {describe(f'{method}_backup', result)}; {load()}", flush=True)
    checkpoint(args.server)
    done["sums"] = sums = run_sums(source)
    print(f"run {run + 1}, checksum pass alone: {sums:.1f} s; {load()}", flush=True)
    ours_backup = done["ours_backup"]
    assert isinstance(ours_backup, Result)
    steps["raw_restore"] = lambda: run_raw_restore(args.server, file, binary, tmp)
    steps["ours_restore"] = lambda: run_ours_restore(args.server, ours_backup.detail["backup_id"], store, key, tmp)
    for method in order:
        done[f"{method}_restore"] = result = steps[f"{method}_restore"]()
        print(f"run {run + 1}, {describe(f'{method}_restore', result)}; {load()}", flush=True)
    file.unlink()
    for item in store.iterdir():
        item.unlink()
    return done


def load() -> str:
    # Other work on the machine shows here: the figures are only as good as the quiet they were taken in.
    return f"load average {os.getloadavg()[0]:.2f}"


def binaries(bin_dir: str | None) -> Binary:
    return lambda name: str(Path(bin_dir) / name) if bin_dir else name


def main() -> None:
    if len(sys.argv) in (4, 6) and sys.argv[1] in ("_ours_backup", "_ours_restore"):
        ours_child(sys.argv[1:])
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--server", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--bin-dir", default=None, help="where pg_dump and pg_restore are (default: PATH)")
    parser.add_argument("--no-profile", action="store_true", help="skip the seal-only profile after the runs")
    args = parser.parse_args()
    binary = binaries(args.bin_dir)
    version = subprocess.run([binary("pg_dump"), "--version"], check=True, capture_output=True, text=True).stdout
    with psycopg.connect(args.server) as conn:
        server_version = conn.info.parameter_status("server_version")
    print(f"load average {os.getloadavg()[0]:.2f}; server {server_version}; {version.strip()}", flush=True)
    key = secrets.token_hex(32)
    results: dict[str, list[Result]] = {k: [] for k in ("raw_backup", "ours_backup", "raw_restore", "ours_restore")}
    sums: list[float] = []
    with database(args.server, "src") as source, tempfile.TemporaryDirectory(prefix=PREFIX) as tmp:
        started = time.perf_counter()
        print(f"generating about {args.size_mb:,} MB", flush=True)
        generate(source, args.size_mb)
        size = database_size(source)
        print(f"source: {size / MB:,.0f} MB (pg_database_size), in {time.perf_counter() - started:.0f} s", flush=True)
        for run in range(args.runs):
            for name, value in one_run(run, args, source, key, Path(tmp)).items():
                if isinstance(value, Result):
                    results[name].append(value)
                else:
                    sums.append(value)
        report(size, args.runs, results, sums)
        if not args.no_profile:
            print(describe_profile(profile(source, binary, key, Path(tmp))), flush=True)


if __name__ == "__main__":
    main()
