"""The Supabase CLI fixture: the pinned CLI runs with --db-url against both test servers, without Docker."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.supabase_cli import db_url_for_cli, run_cli

VERSION = "20260101000000"


@pytest.mark.postgres
def test_migration_list_on_an_empty_database(supabase_cli: Path, any_pg_database_url: str, tmp_path: Path) -> None:
    result = run_cli(supabase_cli, "migration", "list", "--db-url", db_url_for_cli(any_pg_database_url), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "Local" in result.stdout and "Remote" in result.stdout


@pytest.mark.postgres
def test_db_push_records_the_migration_in_the_history_table(
    supabase_cli: Path, any_pg_database_url: str, tmp_path: Path
) -> None:
    migrations = tmp_path / "supabase" / "migrations"
    migrations.mkdir(parents=True)
    (migrations / f"{VERSION}_first.sql").write_text("CREATE TABLE pushed_by_the_cli (id int PRIMARY KEY);\n")
    url = db_url_for_cli(any_pg_database_url)
    result = run_cli(supabase_cli, "db", "push", "--db-url", url, "--yes", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    with psycopg.connect(any_pg_database_url) as conn:
        rows = conn.execute("SELECT version, name FROM supabase_migrations.schema_migrations").fetchall()
        table = conn.execute("SELECT to_regclass('public.pushed_by_the_cli') IS NOT NULL").fetchone()
    assert rows == [(VERSION, "first")]
    assert table == (True,)
    assert not (tmp_path / ".supabase").exists()  # its state went to the private HOME, not the project


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (
            "host=127.0.0.1 port=5432 user=postgres dbname=app_db",
            "postgresql://postgres@127.0.0.1:5432/app_db?sslmode=disable",
        ),
        (
            "postgresql://postgres@127.0.0.1:55432/postgres",
            "postgresql://postgres@127.0.0.1:55432/postgres?sslmode=disable",
        ),
        (
            "host=::1 user=me password='p@ss w:rd/' dbname='my db' sslmode=require application_name=tests",
            "postgresql://me:p%40ss%20w%3Ard%2F@[::1]:5432/my%20db?sslmode=require&application_name=tests",
        ),
    ],
)
def test_db_url_for_cli(given: str, expected: str) -> None:
    assert db_url_for_cli(given) == expected


@pytest.mark.parametrize("given", ["dbname=app", "host=/var/run/postgresql dbname=app", "host=a,b dbname=app"])
def test_db_url_for_cli_needs_one_tcp_host(given: str) -> None:
    with pytest.raises(ValueError, match="one TCP host"):
        db_url_for_cli(given)
