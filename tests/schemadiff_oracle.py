"""The judge of the schema differ: fresh databases, plain SQL, and a normalised ``pg_dump --schema-only``.

Nothing here imports the differ: two databases are "the same schema" when pg_dump prints the same DDL for both,
owners and privileges included (one role creates everything in the tests, so owners match when the differ is
right, and a wrong owner or grant is a real difference). Only what pg_dump prints that says nothing about the
schema is dropped: comment lines, session settings, the random ``\\restrict`` key of pg_dump 18, blank lines,
and the local server's per-column ``pg_attver`` stamp.
"""

from __future__ import annotations

import difflib
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import sql

from tests.conftest import in_ci, require_real_part

_SESSION_SETTING = re.compile(r"^(SET |SELECT pg_catalog\.set_config\()")
_RESTRICT = re.compile(r"^\\(un)?restrict\b")
# The local PostgreSQL 15 build stamps every column with an attribute option ``pg_attver=<number>`` that differs
# between two runs of the same DDL: it says nothing about the schema, so it is cut from pg_dump's column options.
_ATTVER = re.compile(r"^(ALTER TABLE ONLY .+ ALTER COLUMN .+ SET \()(.*)(\);)$")
_ATTVER_OPTION = re.compile(r"^pg_attver=\d+$")


def _without_attver(line: str) -> str | None:
    match = _ATTVER.match(line)
    if match is None or "pg_attver=" not in match.group(2):
        return line
    options = [option for option in match.group(2).split(", ") if not _ATTVER_OPTION.match(option)]
    return f"{match.group(1)}{', '.join(options)}{match.group(3)}" if options else None


def database_url(server_url: str, name: str) -> str:
    """``server_url`` pointed at database ``name``."""
    info = psycopg.conninfo.conninfo_to_dict(server_url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**{key: str(value) for key, value in info.items() if value is not None})


def create_database(server_url: str, prefix: str = "sdiff") -> str:
    """A new empty database with a unique name; returns the name."""
    name = f"{prefix}_{secrets.token_hex(5)}"
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return name


def drop_database(server_url: str, name: str) -> None:
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@contextmanager
def fresh_databases(server_url: str, count: int = 2) -> Iterator[list[str]]:
    """``count`` fresh databases (their URLs), dropped afterwards even when the body fails."""
    names: list[str] = []
    try:
        names.extend(create_database(server_url) for _ in range(count))
        yield [database_url(server_url, name) for name in names]
    finally:
        for name in names:
            drop_database(server_url, name)


def run_sql(url: str, text: str) -> None:
    """Run a (multi-statement) SQL text autocommitted, the way ``psql -c`` would: one implicit transaction."""
    if not text.strip():
        return
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(text.encode())


def run_in_one_transaction(url: str, text: str) -> None:
    """Run a script inside one explicit transaction, committed only when every statement succeeded."""
    with psycopg.connect(url) as conn, conn.transaction():
        if text.strip():
            conn.execute(text.encode())


def server_major(url: str) -> int:
    with psycopg.connect(url) as conn:
        return conn.info.server_version // 10000


def available_extensions(url: str) -> frozenset[str]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT name FROM pg_available_extensions").fetchall()
    return frozenset(str(row[0]) for row in rows)


def _pg18_client(name: str) -> str | None:
    try:
        from tests import pg18  # helper F's module
    except ImportError:
        return None
    try:
        return str(pg18.pg18_bin(name))
    except pg18.Pg18Unavailable:
        return None


def client_binary(name: str, major: int) -> str:
    """A PostgreSQL 18 client (it works with servers 15 to 18); the system one only locally, when it is recent
    enough for the server. Under CI=true a missing 18 client fails the test."""
    found = _pg18_client(name)
    if found is not None:
        return found
    system = shutil.which(name)
    reason = f"tests/pg18.py pg18_bin({name!r}) is not available"
    if in_ci() or system is None:
        require_real_part(False, f"{name} 18 client", reason)
        raise AssertionError("unreachable")  # require_real_part skipped or failed
    version = subprocess.run([system, "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"\) (\d+)", version)
    if match is None or int(match.group(1)) < major:
        require_real_part(False, f"{name} for a PostgreSQL {major} server", f"{reason}; system one is {version}")
    return system


def run_with_psql(url: str, text: str) -> None:
    """Run a script the way a person would: ``psql -1 -v ON_ERROR_STOP=1 -f``; fails with psql's message."""
    binary = client_binary("psql", server_major(url))
    result = subprocess.run(
        [binary, "--no-psqlrc", "-X", "-q", "-1", "-v", "ON_ERROR_STOP=1", "-f", "-", "--dbname", url],
        input=text,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"psql failed ({result.returncode}): {result.stderr.strip()}")


def normalise_dump(text: str, database: str | None = None) -> str:
    """pg_dump's DDL without comments, session settings, \\restrict lines and blank lines; the rest verbatim.

    One exception: a run of GRANT/REVOKE (and ALTER DEFAULT PRIVILEGES) lines is sorted. pg_dump prints an
    object's privileges in the order of its ACL array, which is the order the grants were made in; no DDL can
    reorder an existing ACL, and the order means nothing, so a differ that grants to a second role after the first
    is not wrong.
    """
    kept: list[str] = []
    grants: list[str] = []
    for line in text.splitlines():
        if not line.strip() or line.startswith("--") or _SESSION_SETTING.match(line) or _RESTRICT.match(line):
            continue
        stripped = _without_attver(line)
        if stripped is None:
            continue
        line = stripped
        if database:
            line = re.sub(rf"\b{re.escape(database)}\b", "<database>", line)
        if line.startswith(("GRANT ", "REVOKE ", "ALTER DEFAULT PRIVILEGES ")):
            grants.append(line)
            continue
        kept.extend(sorted(grants))
        grants.clear()
        kept.append(line)
    kept.extend(sorted(grants))
    return "\n".join(kept) + "\n"


def schema_dump(url: str) -> str:
    """``pg_dump --schema-only`` of the database at ``url``, normalised."""
    major = server_major(url)
    binary = client_binary("pg_dump", major)
    result = subprocess.run(
        [binary, "--schema-only", "--no-password", "--dbname", url],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"pg_dump failed ({result.returncode}): {result.stderr.strip()}")
    name = str(psycopg.conninfo.conninfo_to_dict(url).get("dbname", ""))
    return normalise_dump(result.stdout, name or None)


def unified(expected: str, actual: str, expected_name: str = "B (source)", actual_name: str = "A (patched)") -> str:
    return "".join(
        difflib.unified_diff(
            expected.splitlines(keepends=True),
            actual.splitlines(keepends=True),
            fromfile=expected_name,
            tofile=actual_name,
            n=3,
        )
    )


def assert_same_schema(patched_url: str, source_url: str, context: str = "", source_dump: str | None = None) -> None:
    """Fail with a unified diff of the normalised dumps unless both databases have the same schema
    (``source_dump``: the source's dump when the caller already has it)."""
    expected = schema_dump(source_url) if source_dump is None else source_dump
    actual = schema_dump(patched_url)
    if expected != actual:
        header = f"{context}\n" if context else ""
        raise AssertionError(f"{header}schemas differ after applying the diff:\n{unified(expected, actual)}")
