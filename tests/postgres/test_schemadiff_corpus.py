"""The schema differ judged by pg_dump: for every case, the diff applied to A in one transaction makes pg_dump of A
print what pg_dump of B prints, a second diff is empty, and the destructive flags say what the case expects.

Each case runs on PostgreSQL 15 and on PostgreSQL 18, forward (A becomes B) and, where the case allows it, in
reverse (B becomes A), each time on two fresh databases. The differ is imported only inside the tests, so the
oracle's own tests run (and can fail) whatever state the differ is in.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql

from tests.conftest import require_real_part
from tests.postgres.schemadiff_cases import CASES_PART_ONE, Case, Expect
from tests.postgres.schemadiff_cases_hard import CASES_HARD
from tests.postgres.schemadiff_cases_more import CASES_PART_TWO
from tests.schemadiff_oracle import (
    assert_same_schema,
    available_extensions,
    fresh_databases,
    normalise_dump,
    run_in_one_transaction,
    run_sql,
    run_with_psql,
    schema_dump,
)

pytestmark = pytest.mark.postgres

CASES: tuple[Case, ...] = CASES_PART_ONE + CASES_PART_TWO + CASES_HARD
ROLE_KINDS = ("reader", "writer", "anon", "authenticated", "service_role")


@dataclass(frozen=True)
class Server:
    label: str
    url: str
    roles: dict[str, str]  # placeholder ("<<reader>>") -> the run's quoted role name
    extensions: frozenset[str]

    def fill(self, text: str) -> str:
        for placeholder, role in self.roles.items():
            text = text.replace(placeholder, role)
        assert "<<" not in text, f"unknown placeholder in {text!r}"
        return text


def _role_names() -> dict[str, str]:
    suffix = secrets.token_hex(3)
    # The writer's name needs quotes (capitals, a space), so every grant and policy must quote role names.
    return {kind: (f"SD Writer {suffix}" if kind == "writer" else f"sd_{kind}_{suffix}") for kind in ROLE_KINDS}


def _server_url(request: pytest.FixtureRequest) -> str:
    if request.param == "pg15":
        return str(request.getfixturevalue("pg_server_url"))
    try:
        return str(request.getfixturevalue("pg18_server_url"))
    except pytest.FixtureLookupError:
        require_real_part(False, "PostgreSQL 18", "the pg18_server_url fixture (tests/conftest.py) does not exist yet")
        raise


@pytest.fixture(scope="session", params=["pg15", "pg18"])
def server(request: pytest.FixtureRequest) -> Iterator[Server]:
    """A server with this run's roles (cluster-wide, so unique names, dropped at the end)."""
    url = _server_url(request)
    names = _role_names()
    with psycopg.connect(url, autocommit=True) as conn:
        for name in names.values():
            conn.execute(sql.SQL("CREATE ROLE {} NOLOGIN").format(sql.Identifier(name)))
    try:
        roles = {f"<<{kind}>>": sql.Identifier(name).as_string(None) for kind, name in names.items()}
        yield Server(str(request.param), url, roles, available_extensions(url))
    finally:
        with psycopg.connect(url, autocommit=True) as conn:
            for name in names.values():
                conn.execute(sql.SQL("DROP ROLE IF EXISTS {}").format(sql.Identifier(name)))


def read_catalog(url: str) -> Any:
    from dokploy_mcp.postgres.schemadiff import catalog_query, parse_catalog

    with psycopg.connect(url) as conn:
        conn.read_only = True
        cursor = conn.execute(catalog_query().encode())
        assert cursor.description is not None and cursor.description[0].name == "catalog"
        row = cursor.fetchone()
    assert row is not None
    return parse_catalog(row[0])


def diff_between(source_url: str, target_url: str) -> Any:
    from dokploy_mcp.postgres.schemadiff import diff

    return diff(read_catalog(source_url), read_catalog(target_url))


def _listing(changes: Any) -> str:
    return "\n".join(f"  {c.action} {c.kind} {c.name} destructive={c.destructive}: {c.sql}" for c in changes)


def converge(target_url: str, source_url: str, expect: Expect) -> None:
    """Make the database at ``target_url`` equal to the one at ``source_url`` with the differ, and judge it."""
    source_dump = schema_dump(source_url)
    assert schema_dump(target_url) != source_dump, "the case has no difference pg_dump can see"
    first = diff_between(source_url, target_url)
    assert not first.empty, "the differ found no difference"
    script = first.script()
    try:
        run_in_one_transaction(target_url, script)
    except psycopg.Error as exc:
        raise AssertionError(f"the script failed: {exc.__class__.__name__}: {exc}\n--- script:\n{script}") from None
    assert_same_schema(target_url, source_url, context=f"--- script:\n{script}", source_dump=source_dump)
    again = diff_between(source_url, target_url)
    assert again.empty, f"a second diff is not empty:\n{_listing(again.changes)}\n--- first script:\n{script}"
    flagged = [change for change in first.changes if change.destructive]
    if expect == "destructive":
        assert flagged, f"no change is flagged destructive:\n{_listing(first.changes)}"
    elif expect == "safe":
        assert not flagged, f"changes wrongly flagged destructive:\n{_listing(flagged)}"


def _runs() -> list[Any]:
    runs = [pytest.param(case, "forward", id=f"{case.name}-forward") for case in CASES]
    runs += [pytest.param(case, "reverse", id=f"{case.name}-reverse") for case in CASES if case.reverse is not None]
    return runs


@pytest.mark.parametrize(("case", "direction"), _runs())
def test_case(server: Server, case: Case, direction: str) -> None:
    missing = set(case.extensions) - server.extensions
    require_real_part(not missing, f"extensions {sorted(missing)} on {server.label}", "pg_available_extensions")
    with fresh_databases(server.url) as (url_a, url_b):
        for url, text in ((url_a, case.a), (url_b, case.b)):
            run_sql(url, server.fill(case.base))
            run_sql(url, server.fill(text))
        if direction == "forward":
            converge(url_a, url_b, case.forward)
        else:
            assert case.reverse is not None
            converge(url_b, url_a, case.reverse)


@pytest.mark.parametrize(
    "name", ["many_changes_with_dependencies", "quoted_identifiers", "hard_routine_signatures", "comments"]
)
def test_the_script_runs_through_psql(server: Server, name: str) -> None:
    """The script is one text for ``psql -1 -f`` too, not only for a driver that sends it in one message."""
    case = next(case for case in CASES if case.name == name)
    with fresh_databases(server.url) as (url_a, url_b):
        for url, text in ((url_a, case.a), (url_b, case.b)):
            run_sql(url, server.fill(case.base + text))
        script = diff_between(url_b, url_a).script()
        run_with_psql(url_a, script)
        assert_same_schema(url_a, url_b, context=f"--- script:\n{script}")


def test_the_corpus_is_big_and_names_are_unique() -> None:
    names = [case.name for case in CASES]
    assert len(names) >= 45
    assert len(set(names)) == len(names)


# --- the oracle itself can fail


def test_normalising_drops_only_noise() -> None:
    dump = (
        "--\n-- PostgreSQL database dump\n--\n\\restrict AbC123xyz\n\nSET statement_timeout = 0;\n"
        "SELECT pg_catalog.set_config('search_path', '', false);\n\nCREATE TABLE public.t (\n    id integer\n);\n"
        "ALTER TABLE ONLY public.t ALTER COLUMN id SET (pg_attver=600006136);\n"
        "ALTER TABLE ONLY public.t ALTER COLUMN id SET (n_distinct=5, pg_attver=600006136);\n"
        "ALTER TABLE public.t OWNER TO postgres;\nGRANT SELECT ON TABLE public.t TO reader;\n"
        "GRANT ALL ON TABLE public.t TO abc;\n"
        "COMMENT ON TABLE public.t IS 'in sdiff_x1';\n\\unrestrict AbC123xyz\n"
    )
    assert normalise_dump(dump, "sdiff_x1") == (
        "CREATE TABLE public.t (\n    id integer\n);\n"
        "ALTER TABLE ONLY public.t ALTER COLUMN id SET (n_distinct=5);\nALTER TABLE public.t OWNER TO postgres;\n"
        "GRANT ALL ON TABLE public.t TO abc;\nGRANT SELECT ON TABLE public.t TO reader;\n"
        "COMMENT ON TABLE public.t IS 'in <database>';\n"
    )


def test_identical_schemas_give_identical_dumps(server: Server) -> None:
    many = next(case for case in CASES if case.name == "many_changes_with_dependencies")
    text = server.fill(many.base + many.b)
    with fresh_databases(server.url) as (url_a, url_b):
        run_sql(url_a, text)
        run_sql(url_b, text)
        assert_same_schema(url_a, url_b)


@pytest.mark.parametrize(
    "change",
    [
        "CREATE TABLE public.extra (id int);",
        "GRANT SELECT ON public.t TO <<reader>>;",
        "ALTER TABLE public.t OWNER TO <<writer>>;",
        "COMMENT ON COLUMN public.t.v IS 'x';",
        "ALTER TABLE public.t ALTER COLUMN v SET DEFAULT 'x';",
        "ALTER DEFAULT PRIVILEGES GRANT SELECT ON TABLES TO <<reader>>;",
    ],
    ids=["table", "grant", "owner", "comment", "default", "default-privileges"],
)
def test_the_oracle_sees_a_difference(server: Server, change: str) -> None:
    with fresh_databases(server.url) as (url_a, url_b):
        for url in (url_a, url_b):
            run_sql(url, "CREATE TABLE public.t (id int, v text);")
        run_sql(url_b, server.fill(change))
        with pytest.raises(AssertionError, match="schemas differ"):
            assert_same_schema(url_a, url_b)


@pytest.mark.parametrize("script", ["", "ALTER TABLE public.items ADD COLUMN price numeric;"], ids=["empty", "wrong"])
def test_a_wrong_diff_is_caught(server: Server, script: str) -> None:
    case = next(case for case in CASES if case.name == "column_add")
    with fresh_databases(server.url) as (url_a, url_b):
        for url, text in ((url_a, case.a), (url_b, case.b)):
            run_sql(url, case.base + text)
        run_in_one_transaction(url_a, script)
        with pytest.raises(AssertionError, match="schemas differ") as caught:
            assert_same_schema(url_a, url_b)
        assert "price" in str(caught.value)


def test_a_failing_psql_script_is_caught_and_rolled_back(server: Server) -> None:
    with fresh_databases(server.url, count=1) as (url,):
        with pytest.raises(AssertionError, match="division by zero"):
            run_with_psql(url, "CREATE TABLE public.kept (id int);\nSELECT 1 / 0;\n")
        with psycopg.connect(url) as conn:
            assert conn.execute("SELECT to_regclass('public.kept')").fetchone() == (None,)
