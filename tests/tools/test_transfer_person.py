"""A person confirms emptying the target's tables (``existing: truncate``) in both protocol eras, seeing which
tables; a copy into empty tables asks nobody."""

from __future__ import annotations

import pytest

from dokploy_mcp.config import load_settings
from dokploy_mcp.server import build_server
from tests import pg18
from tests.fake_dokploy import SERVERS
from tests.tools.test_deploy import call
from tests.tools.test_person_confirms import ERAS, Person, client
from tests.tools.test_transfer import SCHEMA, SEED, TABLES, dump, rows, run

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]


@ERAS
@pytest.mark.parametrize(("action", "old_rows"), [("accept", 0), ("decline", 1)])
async def test_a_person_confirms_a_truncate_and_sees_the_tables(
    pg_server_url: str, era: str, action: str, old_rows: int
) -> None:
    person = Person(action)
    with pg18.throwaway_database(pg_server_url) as source, pg18.throwaway_database(pg_server_url) as target:
        run(source, SCHEMA + SEED)
        mcp_server = build_server(load_settings(), servers=SERVERS)
        async with client(mcp_server, era, person) as mcp:
            first = await call(mcp, "cross_instance_migrate", source=source, target=target, what="schema")
            assert first["status"] == "schema_copied" and person.questions == []
            run(target, "insert into public.events values ('2020-01-01', 'old')")
            result = await call(
                mcp, "cross_instance_migrate", source=source, target=target, existing="truncate", wait_s=120
            )
        [question] = person.questions
        assert "public.events" in question and "TRUNCATE" in question and "public.people" not in question
        assert result["confirm_token"] is None
        assert rows(target, "select count(*) from public.events where payload = 'old'") == [(old_rows,)]
        if action == "accept":
            assert result["status"] == "copied"
            for table in TABLES:
                assert dump(source, table) == dump(target, table)
        else:
            assert result["status"] == "declined"
