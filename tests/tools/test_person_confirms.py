"""A person confirms destructive calls through elicitation, in both protocol eras (issue 14, items 1 and 4).

The client is the SDK's own, with an elicitation callback that accepts, declines or cancels (or none at all): in
2025-11-25 ("legacy") the server asks over the back channel mid-call, in 2026-07-28 through the input-required
round trip, which the client drives. Dokploy is the stateful double.
"""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp import Client
from mcp_types import ElicitRequestParams, ElicitResult

from dokploy_mcp.config import load_settings
from dokploy_mcp.server import build_server
from tests.fake_dokploy import SERVERS, FakeDokploy
from tests.tools.test_deploy import call, gateway_for, stored_env
from tests.tools.test_jobs import ALLOWANCE, Gate, GatedTransport, finished, snapshot

pytestmark = pytest.mark.anyio

ERAS = pytest.mark.parametrize("era", ["legacy", "2026-07-28"])


class Person:
    """What the person answers, and every question they were shown."""

    def __init__(self, action: str, confirm: bool = True) -> None:
        self.action = action
        self.confirm = confirm
        self.questions: list[str] = []

    async def __call__(self, context: Any, params: ElicitRequestParams) -> ElicitResult:
        self.questions.append(params.message)
        content = {"confirm": self.confirm} if self.action == "accept" else None
        return ElicitResult(action=self.action, content=content)


@pytest.fixture
def fake() -> FakeDokploy:
    return FakeDokploy(lets_encrypt_email="ops@example.com", deploy_polls=0)


@pytest.fixture
def stack(fake: FakeDokploy) -> dict[str, Any]:
    return fake.add_supabase_stack("shop", "supabase", deployed=True)


def server(fake: FakeDokploy, stack: dict[str, Any], *, confirm: str = "auto", gates: list[Gate] | None = None) -> Any:
    transport = GatedTransport(fake.transport, gates or [])
    return build_server(
        load_settings(confirm=confirm, call_budget=2),
        servers=SERVERS,
        client_factory=lambda config, timeout: fake.client(name=config.name, timeout=timeout, transport=transport),
        gateway_factory=gateway_for(fake, stack["composeId"]),
    )


def client(mcp_server: Any, era: str, person: Person | None) -> Client:
    return Client(mcp_server, mode=era, elicitation_callback=person)


@ERAS
async def test_an_accepting_person_confirms_a_key_rotation_without_a_token(
    fake: FakeDokploy, stack: dict[str, Any], era: str
) -> None:
    person = Person("accept")
    before = stored_env(fake, stack["composeId"]).get("JWT_SECRET")
    async with client(server(fake, stack), era, person) as mcp:
        result = await call(mcp, "dokploy_regenerate_keys", stack="shop/supabase", mode="rotate")
    assert result["status"] == "done", result
    assert result["confirm_token"] is None
    assert stored_env(fake, stack["composeId"]).get("JWT_SECRET") != before
    [question] = person.questions
    assert "Rotate the keys of the Supabase stack shop/supabase" in question and "signs out every user" in question


@ERAS
@pytest.mark.parametrize(
    ("action", "confirm", "said"),
    [("decline", True, "declined"), ("cancel", True, "cancelled"), ("accept", False, "did not confirm")],
)
async def test_a_person_who_says_no_changes_nothing(
    fake: FakeDokploy, stack: dict[str, Any], era: str, action: str, confirm: bool, said: str
) -> None:
    before = snapshot(fake, stack["composeId"])
    person = Person(action, confirm)
    async with client(server(fake, stack), era, person) as mcp:
        keys = await call(mcp, "dokploy_regenerate_keys", stack="shop/supabase", mode="rotate")
        domain = await call(mcp, "manage_domain", stack="shop/supabase", action="remove")
    assert (keys["status"], domain["status"]) == ("declined", "declined")
    assert said in keys["problem"] and said in domain["notes"][0]
    assert len(person.questions) == 2 and "Remove the domain http" in person.questions[1]
    assert snapshot(fake, stack["composeId"]) == before
    assert not any(
        procedure.startswith(("compose.save", "domain.delete", "compose.redeploy")) for _, procedure, _ in fake.requests
    )


@ERAS
async def test_a_client_without_elicitation_gets_the_token_flow(
    fake: FakeDokploy, stack: dict[str, Any], era: str
) -> None:
    async with client(server(fake, stack), era, None) as mcp:
        preview = await call(mcp, "dokploy_regenerate_keys", stack="shop/supabase", mode="resign")
        assert preview["status"] == "preview" and preview["confirm_token"]
        done = await call(
            mcp, "dokploy_regenerate_keys", stack="shop/supabase", mode="resign", confirm_token=preview["confirm_token"]
        )
    assert done["status"] == "done"


@ERAS
async def test_human_mode_refuses_where_no_person_can_be_asked(
    fake: FakeDokploy, stack: dict[str, Any], era: str
) -> None:
    before = snapshot(fake, stack["composeId"])
    async with client(server(fake, stack, confirm="human"), era, None) as mcp:
        result = await mcp.call_tool("dokploy_regenerate_keys", {"stack": "shop/supabase", "mode": "rotate"})
    assert result.is_error
    text = result.content[0].text  # type: ignore[union-attr]
    assert "DOKPLOY_MCP_CONFIRM=human" in text and "elicitation" in text
    assert snapshot(fake, stack["composeId"]) == before


@ERAS
async def test_token_mode_never_asks(fake: FakeDokploy, stack: dict[str, Any], era: str) -> None:
    person = Person("accept")
    async with client(server(fake, stack, confirm="token"), era, person) as mcp:
        preview = await call(mcp, "dokploy_regenerate_keys", stack="shop/supabase", mode="resign")
    assert preview["status"] == "preview" and person.questions == []


@ERAS
async def test_harmless_calls_do_not_ask(fake: FakeDokploy, stack: dict[str, Any], era: str) -> None:
    person = Person("accept")
    async with client(server(fake, stack), era, person) as mcp:
        listed = await call(mcp, "list_domains", stack="shop/supabase")
        await call(mcp, "manage_domain", stack="shop/supabase", action="update", host="api.other.example", dry_run=True)
    assert listed["domains"] and person.questions == []


async def test_a_confirmed_job_cancelled_midway_leaves_the_state_wholly_old(
    fake: FakeDokploy, stack: dict[str, Any]
) -> None:
    # Declined first (nothing happens), then accepted, then cancelled while the redeploy runs.
    fake.deploy_polls = 1
    before = snapshot(fake, stack["composeId"])
    gate = Gate("compose.redeploy")
    mcp_server = server(fake, stack, gates=[gate])
    async with client(mcp_server, "2026-07-28", Person("decline")) as mcp:
        declined = await call(mcp, "dokploy_regenerate_keys", stack="shop/supabase", mode="rotate")
    assert declined["status"] == "declined" and snapshot(fake, stack["composeId"]) == before
    async with client(mcp_server, "2026-07-28", Person("accept")) as mcp:
        started = await call(mcp, "dokploy_regenerate_keys", stack="shop/supabase", mode="rotate", wait_s=0)
        assert started["status"] == "running", started
        job_id = started["job"]["job_id"]
        with anyio.fail_after(ALLOWANCE):
            await gate.reached.wait()
        await call(mcp, "cancel_job", job_id=job_id, wait_s=0)
        gate.release.set()
        report = await finished(mcp, job_id)
    assert report["jobs"][0]["status"] == "stopped"
    assert report["result"]["status"] == "rolled_back"
    assert snapshot(fake, stack["composeId"]) == before


@ERAS
@pytest.mark.parametrize(("action", "left"), [("accept", 0), ("decline", 3)])
async def test_a_person_confirms_a_destructive_statement(
    pg_database_url: str, era: str, action: str, left: int
) -> None:
    import psycopg

    with psycopg.connect(pg_database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS person_confirms; CREATE TABLE person_confirms (n int)")
        conn.execute("INSERT INTO person_confirms SELECT generate_series(1, 3)")
    person = Person(action)
    mcp_server = build_server(load_settings(database_url=pg_database_url), servers=SERVERS)
    async with client(mcp_server, era, person) as mcp:
        result = await call(mcp, "execute_sql", sql="DELETE FROM person_confirms", allow_write=True)
    with psycopg.connect(pg_database_url) as conn:
        remaining = conn.execute("SELECT count(*) FROM person_confirms").fetchone()
    assert remaining is not None and remaining[0] == left
    assert result["confirm_token"] is None
    [question] = person.questions
    assert "DELETE FROM person_confirms" in question and "destructive" in question
    if action == "decline":
        assert result["preview"] is not None and "declined" in result["preview"]


@pytest.mark.parametrize(("mode", "token", "reads"), [("token", None, 0), ("auto", "v2.tok", 0), ("human", None, 1)])
async def test_the_preview_is_read_only_where_a_question_could_follow(mode: str, token: str | None, reads: int) -> None:
    from types import SimpleNamespace

    from dokploy_mcp.tools.confirming import ask_about

    calls: list[object] = []

    async def preview(rt: object) -> str | None:
        calls.append(rt)
        return None

    runtime = SimpleNamespace(settings=load_settings(confirm=mode))
    # A client without elicitation: in auto mode the token flow decides; in human mode a destructive call is refused.
    ctx = SimpleNamespace(
        request_context=SimpleNamespace(lifespan_context=runtime),
        client_capabilities=None,
        protocol_version="2025-11-25",
    )
    await ask_about(ctx, preview, token=token)  # type: ignore[arg-type]
    assert len(calls) == reads
