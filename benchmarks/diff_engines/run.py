"""Run PostgreSQL schema-diff engines on a corpus of schema pairs and judge each result with pg_dump.

Usage::

    python run.py --setup                      # install the engines into --tools (venvs + an npm folder)
    python run.py [--engines migra,pg-delta-npm] [--pairs DIR] [--tools DIR] [--out DIR]
        [--admin-url postgresql://postgres@127.0.0.1:5432/postgres]

A pair file holds up to three sections, each opened by a line ``-- @common``, ``-- @a`` or ``-- @b``: database A
gets common + a, database B gets common + b. For each engine and pair the engine is asked for the DDL that turns A
into B; that DDL is run on A with psql (ON_ERROR_STOP); then ``pg_dump --schema-only`` of A and B, with comment,
SET and blank lines removed, must be equal as text. Databases are named ``e_eval_*`` and dropped at the end, with
the two roles the pairs grant to (``e_eval_anon``, ``e_eval_authenticated``).

Stand-alone script: not imported by the test suite, uses only the standard library (the engines run in their own
venvs / npm folder as subprocesses; ``dokploy-mcp`` runs in the repository's venv, ``$DIFF_ENGINES_REPO_PYTHON`` or
``.venv/bin/python`` at the repository root).
"""

from __future__ import annotations

import argparse
import difflib
import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

HERE = Path(__file__).resolve().parent
REPO_PYTHON = Path(os.environ.get("DIFF_ENGINES_REPO_PYTHON", HERE.parents[1] / ".venv/bin/python"))
ROLES = ("e_eval_anon", "e_eval_authenticated")
TIMEOUT_S = 180

# Exact versions evaluated; the pins after the engine name are workarounds found during the evaluation.
SETUP: dict[str, list[str]] = {
    "venv-migra": ["migra==3.0.1663481299", "psycopg2-binary"],
    # migra-maintained 1.1.0 pulls schema-inspect-maintained 1.2.0, which fails to import on Python 3.11: it is
    # run through MIGRA_MAINTAINED_SHIM below.
    "venv-migra-maintained": ["migra-maintained==1.1.0", "psycopg2-binary"],
    "venv-pg-schema-diff": ["pg-schema-diff==0.2.4"],
    # pgdelta declares Requires-Python >=3.13; installed on 3.11 with --ignore-requires-python.
    "venv-pgdelta": ["--ignore-requires-python", "pgdelta==0.1.0"],
}
NPM_PACKAGE = "@supabase/pg-delta@1.0.0-alpha.34"

# schemainspect calls importlib.resources.files() with a module that is not a package, which only Python 3.12+
# accepts; this resolves such a module to its parent package before migra is imported.
MIGRA_MAINTAINED_SHIM = """
import importlib, importlib.resources as r, sys
_files = r.files
def files(anchor):
    if isinstance(anchor, str) and not hasattr(importlib.import_module(anchor), '__path__'):
        anchor = anchor.rpartition('.')[0]
    return _files(anchor)
r.files = files
from migra.command import do_command
sys.argv[0] = 'migra'
sys.exit(do_command())
"""

# migra over a pg-meta-like route: every catalog query runs alone on a fresh connection and its rows come back as
# JSON (what pg-meta's /query gives), fed to schemainspect through a duck-typed connection object.
MIGRA_JSON_ROUTE_SCRIPT = """
import sys, types
import psycopg2
from migra import Migration
class JsonRoute:
    def __init__(self, dsn):
        self.dsn = dsn
        with psycopg2.connect(dsn) as conn:
            self.connection = types.SimpleNamespace(server_version=conn.server_version)
    def execute(self, sql, *args, **kwargs):
        body = str(sql).strip().rstrip(';')
        with psycopg2.connect(self.dsn) as conn, conn.cursor() as cur:
            cur.execute("select coalesce(json_agg(q), '[]') from (\\n" + body + "\\n) q")
            rows = cur.fetchone()[0]
        return [types.SimpleNamespace(**row) for row in rows]
migration = Migration(JsonRoute(sys.argv[1]), JsonRoute(sys.argv[2]))
migration.set_safety(False)
migration.add_all_changes(privileges=True)
print(migration.sql)
"""

PGDELTA_PY_SCRIPT = """
import sys
from sqlalchemy import create_engine
from sqlalchemy.orm import Session
from pgdelta import generate_sql
from pgdelta.catalog import extract_catalog
def snapshot(url):
    with Session(create_engine(url)) as session:
        return extract_catalog(session)
before, after = snapshot(sys.argv[1]), snapshot(sys.argv[2])
for change in before.diff(after):
    print(generate_sql(change).rstrip().rstrip(';') + ';')
"""

# Our differ, as the server uses it: the one catalog query per database (jit off, as read_catalog sets it), its JSON
# column parsed into a Catalog, then diff(desired, current).script() to run on the current database (A).
DOKPLOY_MCP_SCRIPT = """
import sys
import psycopg
from dokploy_mcp.postgres.schemadiff import catalog_query, diff, parse_catalog
def catalog(url):
    with psycopg.connect(url) as conn:
        conn.execute("set local jit = off")
        return parse_catalog(conn.execute(catalog_query()).fetchone()[0])
current, desired = catalog(sys.argv[1]), catalog(sys.argv[2])
sys.stdout.write(diff(desired, current).script())
"""


@dataclass
class Outcome:
    engine: str
    pair: str
    status: str  # PASS, DIFF (applied, schemas differ), APPLY_ERROR, NO_DDL, ENGINE_ERROR
    ddl: str = ""
    detail: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Pair:
    name: str
    common: str
    a: str
    b: str


def run(cmd: Sequence[str], *, check: bool = False, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(cmd), capture_output=True, text=True, timeout=TIMEOUT_S, check=check, cwd=cwd)


def db_url(admin_url: str, name: str, *, driver: str = "") -> str:
    parts = urlsplit(admin_url)
    scheme = f"postgresql+{driver}" if driver else "postgresql"
    return urlunsplit((scheme, parts.netloc, "/" + name, parts.query, ""))


def psql(url: str, sql: str) -> subprocess.CompletedProcess[str]:
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(sql)
    try:
        return run(["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", url, "-f", handle.name])
    finally:
        os.unlink(handle.name)


def load_pair(path: Path) -> Pair:
    sections: dict[str, list[str]] = {"common": [], "a": [], "b": []}
    current: list[str] | None = None
    for line in path.read_text().splitlines():
        marker = line.strip()
        if marker.startswith("-- @") and marker[4:] in sections:
            current = sections[marker[4:]]
        elif current is not None:
            current.append(line)
    return Pair(path.stem, *("\n".join(sections[key]) + "\n" for key in ("common", "a", "b")))


def create_db(admin_url: str, name: str, sql: str) -> None:
    psql(admin_url, f'drop database if exists "{name}";')
    result = psql(admin_url, f'create database "{name}" template template0;')
    if result.returncode == 0:
        result = psql(db_url(admin_url, name), sql)
    if result.returncode != 0:
        raise RuntimeError(f"building {name} failed: {result.stderr.strip()}")


def normalised_dump(url: str) -> list[str]:
    dump = run(["pg_dump", "--schema-only", "-d", url], check=True).stdout
    keep = []
    for line in dump.splitlines():
        text = line.rstrip()
        if not text or text.startswith(("--", "SET ", "SELECT pg_catalog.set_config", "\\restrict", "\\unrestrict")):
            continue
        keep.append(text)
    return keep


# --- engines: each returns (ddl, error); ddl "" with no error means the engine saw no difference ---------------


def engine_migra(tools: Path, url_a: str, url_b: str) -> tuple[str, str]:
    cmd = [str(tools / "venv-migra/bin/migra"), "--unsafe", "--with-privileges", url_a, url_b]
    return migra_result(run(cmd))


def engine_migra_maintained(tools: Path, url_a: str, url_b: str) -> tuple[str, str]:
    python = str(tools / "venv-migra-maintained/bin/python")
    return migra_result(run([python, "-c", MIGRA_MAINTAINED_SHIM, "--unsafe", "--with-privileges", url_a, url_b]))


def migra_result(result: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    # migra exits 2 when it found differences, 0 when none.
    if result.returncode in (0, 2):
        return result.stdout, ""
    return "", tail(result.stderr)


def engine_migra_json_route(tools: Path, url_a: str, url_b: str) -> tuple[str, str]:
    result = run([str(tools / "venv-migra/bin/python"), "-c", MIGRA_JSON_ROUTE_SCRIPT, url_a, url_b])
    return (result.stdout, "") if result.returncode == 0 else ("", tail(result.stderr))


def engine_pgdelta_py(tools: Path, url_a: str, url_b: str) -> tuple[str, str]:
    result = run([str(tools / "venv-pgdelta/bin/python"), "-c", PGDELTA_PY_SCRIPT, url_a, url_b])
    return (result.stdout, "") if result.returncode == 0 else ("", tail(result.stderr))


def engine_pg_schema_diff(tools: Path, url_a: str, url_b: str) -> tuple[str, str]:
    cmd = [str(tools / "venv-pg-schema-diff/bin/schemadrift"), "diff", "--source", url_a, "--target", url_b]
    result = run([*cmd, "--no-step-summary"])
    if result.returncode != 0:
        return "", tail(result.stderr + result.stdout)
    body = [line for line in result.stdout.splitlines() if line.strip() not in ("BEGIN;", "COMMIT;")]
    return ("\n".join(body) if any(line.strip() and not line.startswith("--") for line in body) else ""), ""


def engine_pg_delta_npm(tools: Path, url_a: str, url_b: str) -> tuple[str, str]:
    cli = str(tools / "npm/node_modules/@supabase/pg-delta/dist/cli/main.js")
    with tempfile.TemporaryDirectory() as work:
        plan = run(
            ["node", cli, "plan", "--source", url_a, "--desired", url_b, "--renames", "off", "--out", "p.json"],
            cwd=Path(work),
        )
        if plan.returncode != 0:
            return "", tail(plan.stderr + plan.stdout)
        render = run(["node", cli, "render", "--plan", "p.json", "--out", "m.sql", "--allow-drops"], cwd=Path(work))
        if render.returncode == 3:  # documented: the plan has no actions
            return "", ""
        if render.returncode != 0:
            return "", tail(render.stderr + render.stdout)
        files = sorted(Path(work).glob("m*.sql"), key=lambda p: (len(p.name), p.name))
        return "\n".join(path.read_text() for path in files), ""


def engine_dokploy_mcp(tools: Path, url_a: str, url_b: str) -> tuple[str, str]:
    result = run([str(REPO_PYTHON), "-c", DOKPLOY_MCP_SCRIPT, url_a, url_b])
    return (result.stdout, "") if result.returncode == 0 else ("", tail(result.stderr))


def tail(text: str, lines: int = 6) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


Engine = Callable[[Path, str, str], tuple[str, str]]
ENGINES: dict[str, tuple[Engine, str]] = {
    # name: (function, URL driver suffix it needs: SQLAlchemy 2 defaults to psycopg 3, the venvs have psycopg2)
    "migra": (engine_migra, "psycopg2"),
    "migra-json-route": (engine_migra_json_route, ""),
    "migra-maintained": (engine_migra_maintained, "psycopg2"),
    "pgdelta-py": (engine_pgdelta_py, "psycopg2"),
    "pg-schema-diff": (engine_pg_schema_diff, ""),
    "pg-delta-npm": (engine_pg_delta_npm, ""),
    "dokploy-mcp": (engine_dokploy_mcp, ""),
}


def evaluate(engine: str, pair: Pair, admin_url: str, tools: Path, target_dump: list[str]) -> Outcome:
    function, driver = ENGINES[engine]
    name_a = f"e_eval_a_{pair.name[:2]}"
    create_db(admin_url, name_a, pair.common + pair.a)
    url_a = db_url(admin_url, name_a)
    engine_urls = (db_url(admin_url, name, driver=driver) for name in (name_a, f"e_eval_b_{pair.name[:2]}"))
    try:
        ddl, error = function(tools, *engine_urls)
    except (subprocess.TimeoutExpired, OSError) as exc:
        ddl, error = "", f"{type(exc).__name__}: {exc}"
    if error:
        return Outcome(engine, pair.name, "ENGINE_ERROR", detail=[error])
    if not ddl.strip():
        return Outcome(engine, pair.name, "NO_DDL")
    applied = psql(url_a, ddl)
    if applied.returncode != 0:
        return Outcome(engine, pair.name, "APPLY_ERROR", ddl, [tail(applied.stderr)])
    delta = list(difflib.unified_diff(target_dump, normalised_dump(url_a), "B", "A", n=0, lineterm=""))
    status = "PASS" if not delta else "DIFF"
    return Outcome(engine, pair.name, status, ddl, [line for line in delta[2:] if not line.startswith("@@")])


def setup(tools: Path) -> None:
    tools.mkdir(parents=True, exist_ok=True)
    for venv, requirements in SETUP.items():
        run([sys.executable, "-m", "venv", str(tools / venv)], check=True)
        run([str(tools / venv / "bin/pip"), "install", "-q", *requirements], check=True)
    (tools / "npm").mkdir(exist_ok=True)
    run(["npm", "init", "-y"], check=True, cwd=tools / "npm")
    run(["npm", "install", "--no-audit", "--no-fund", NPM_PACKAGE], check=True, cwd=tools / "npm")


def roles(admin_url: str, *, create: bool) -> None:
    for role in ROLES:
        exists = f"select from pg_roles where rolname = '{role}'"
        if create:
            psql(admin_url, f"do $$ begin if not exists ({exists}) then create role {role}; end if; end $$;")
        else:
            psql(admin_url, f"drop role if exists {role};")


def drop_all(admin_url: str, pairs: Sequence[Pair]) -> None:
    for pair in pairs:
        for side in ("a", "b"):
            psql(admin_url, f'drop database if exists "e_eval_{side}_{pair.name[:2]}" with (force);')


def report(outcomes: Sequence[Outcome], engines: Sequence[str], pairs: Sequence[Pair]) -> str:
    by_key = {(o.engine, o.pair): o for o in outcomes}
    lines = ["| pair | " + " | ".join(engines) + " |", "| --- |" + " --- |" * len(engines)]
    lines += [f"| {p.name} | " + " | ".join(by_key[(e, p.name)].status for e in engines) + " |" for p in pairs]
    totals = [sum(by_key[(e, p.name)].status == "PASS" for p in pairs) for e in engines]
    lines.append("| **passed** | " + " | ".join(f"**{t}/{len(pairs)}**" for t in totals) + " |")
    return "\n".join(lines) + "\n"


def write_details(out: Path, outcomes: Sequence[Outcome]) -> None:
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps([asdict(o) for o in outcomes], indent=2))
    parts = []
    for o in outcomes:
        parts.append(f"## {o.engine} / {o.pair}: {o.status}\n\n```sql\n{o.ddl.strip()}\n```\n")
        if o.detail:
            parts.append(
                "Not equal / error (B = target, A = after applying):\n\n```\n" + "\n".join(o.detail) + "\n```\n"
            )
    (out / "details.md").write_text("\n".join(parts))


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--tools", type=Path, default=Path(os.environ.get("DIFF_ENGINES_TOOLS", "/tmp/e-eval")))
    parser.add_argument("--pairs", type=Path, default=HERE / "pairs")
    parser.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "diff-engines-results")
    parser.add_argument("--engines", default=",".join(ENGINES))
    parser.add_argument("--setup", action="store_true", help="install the engines into --tools, then exit")
    args = parser.parse_args(argv)
    if args.setup:
        setup(args.tools)
        return 0
    engines = [name for name in args.engines.split(",") if name]
    unknown = sorted(set(engines) - set(ENGINES))
    if unknown or shutil.which("psql") is None or shutil.which("pg_dump") is None:
        parser.error(f"unknown engines {unknown}" if unknown else "psql and pg_dump must be on PATH")
    pairs = [load_pair(path) for path in sorted(args.pairs.glob("*.sql"))]
    outcomes: list[Outcome] = []
    roles(args.admin_url, create=True)
    try:
        for pair in pairs:
            name_b = f"e_eval_b_{pair.name[:2]}"
            create_db(args.admin_url, name_b, pair.common + pair.b)
            target_dump = normalised_dump(db_url(args.admin_url, name_b))
            for engine in engines:
                outcomes.append(evaluate(engine, pair, args.admin_url, args.tools, target_dump))
                print(f"{pair.name:34} {engine:18} {outcomes[-1].status}", flush=True)
    finally:
        drop_all(args.admin_url, pairs)
        roles(args.admin_url, create=False)
    table = report(outcomes, engines, pairs)
    write_details(args.out, outcomes)
    (args.out / "table.md").write_text(table)
    print(table + f"\ndetails: {args.out / 'details.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
