"""The connection report against a real PostgreSQL: sessions idle in a transaction, sleeping, waiting on a lock.

The server is shared with other test runs, so assertions look at this test's own sessions (found by pid and
application name) and never assume that nobody else is connected.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import psycopg
import pytest
from psycopg import sql
from pydantic import ValidationError

from dokploy_mcp.postgres.activity import (
    OTHERS,
    ConnectionReport,
    Thresholds,
    connection_report,
    connection_report_query,
)
from dokploy_mcp.postgres.client import Database
from dokploy_mcp.postgres.conninfo import parse_target
from dokploy_mcp.postgres.introspect import Executor, database_executor

from .conftest import Admin, Roles
from .supabase_fixture import pg_meta_like

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

AsyncConn = psycopg.AsyncConnection[tuple[Any, ...]]
SENSITIVE = Thresholds(use_percent=0.1, long_running_s=0.5, idle_in_transaction_s=0.5, blocked=0)
RELAXED = Thresholds(use_percent=100, long_running_s=3600, idle_in_transaction_s=3600, blocked=1000)


@dataclass
class Scene:
    """Three sessions: ``holder`` idle in a transaction with a row locked, ``waiter`` blocked on that row,
    ``sleeper`` running pg_sleep."""

    holder: int
    waiter: int
    sleeper: int
    apps: dict[str, str]


async def wait_until(admin: Admin, query: str, params: list[Any]) -> None:
    # Sleeping asynchronously lets the sessions' tasks send their statements meanwhile.
    deadline = time.monotonic() + 15.0
    while not admin(query, params)[0][0]:
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for: {query} {params}")
        await asyncio.sleep(0.05)


@pytest.fixture
async def scene(pg_database_url: str, admin: Admin) -> AsyncIterator[Scene]:
    tag = secrets.token_hex(3)
    table = f"locks_{tag}"
    apps = {role: f"mcp-test-{role}-{tag}" for role in ("holder", "waiter", "sleeper")}
    admin(sql.SQL("CREATE TABLE {} (id int PRIMARY KEY, n int)").format(sql.Identifier(table)))
    admin(sql.SQL("INSERT INTO {} VALUES (1, 0)").format(sql.Identifier(table)))
    conns: dict[str, AsyncConn] = {}
    tasks: list[asyncio.Task[Any]] = []
    try:
        for role, app in apps.items():
            conns[role] = await psycopg.AsyncConnection.connect(pg_database_url, application_name=app)
        await conns["holder"].execute(sql.SQL("SELECT n FROM {} WHERE id = 1 FOR UPDATE").format(sql.Identifier(table)))
        tasks.append(
            asyncio.create_task(
                conns["waiter"].execute(sql.SQL("UPDATE {} SET n = n + 1 WHERE id = 1").format(sql.Identifier(table)))
            )
        )
        tasks.append(asyncio.create_task(conns["sleeper"].execute("SELECT pg_sleep(60)")))
        await wait_until(
            admin,
            "SELECT count(*) = 3 FROM pg_stat_activity WHERE application_name = ANY(%s) AND ("
            " (state = 'idle in transaction' AND state_change < now() - interval '0.7 s')"
            " OR (wait_event_type = 'Lock' AND query_start < now() - interval '0.7 s')"
            " OR (query LIKE 'SELECT pg_sleep%%' AND state = 'active' AND query_start < now() - interval '0.7 s'))",
            [list(apps.values())],
        )
        yield Scene(
            holder=conns["holder"].info.backend_pid,
            waiter=conns["waiter"].info.backend_pid,
            sleeper=conns["sleeper"].info.backend_pid,
            apps=apps,
        )
    finally:
        if "sleeper" in conns:
            await conns["sleeper"].cancel_safe(timeout=5)
        if "holder" in conns:
            await conns["holder"].rollback()  # frees the waiter
        for task in tasks:
            with contextlib.suppress(psycopg.errors.QueryCanceled):
                await asyncio.wait_for(task, 10)
        for conn in conns.values():
            await conn.close()
        admin(sql.SQL("DROP TABLE IF EXISTS {}").format(sql.Identifier(table)))


@pytest.fixture
async def execute(pg_database_url: str) -> AsyncIterator[Executor]:
    async with Database(parse_target(pg_database_url), name="activity-test", connect_timeout=5) as db:
        yield database_executor(db)


def pids(sessions: list[Any]) -> set[int]:
    return {s.pid for s in sessions}


# -- against real sessions -------------------------------------------------------------------------------------


async def test_report_shows_stuck_sessions_and_alerts_with_actions(
    scene: Scene, execute: Executor, admin: Admin
) -> None:
    report = await connection_report(execute, SENSITIVE)

    sleeping = {s.pid: s for s in report.long_running}[scene.sleeper]
    assert sleeping.query == "SELECT pg_sleep(60)"
    assert sleeping.state == "active" and sleeping.application == scene.apps["sleeper"]
    assert sleeping.duration_s is not None and sleeping.duration_s >= 0.5
    assert sleeping.client == "127.0.0.1" or sleeping.client == "::1" or sleeping.client == "local"

    idle = {s.pid: s for s in report.idle_in_transaction}[scene.holder]
    assert idle.state == "idle in transaction"
    assert idle.query is not None and idle.query.endswith("FOR UPDATE")
    assert idle.duration_s is not None and idle.duration_s >= 0.5
    assert idle.xact_s is not None and idle.xact_s >= idle.duration_s

    blocked = {b.pid: b for b in report.blocked}[scene.waiter]
    assert blocked.blocked_by == [scene.holder]
    assert blocked.wait_event is not None and blocked.wait_event.startswith("Lock:")
    assert blocked.query is not None and blocked.query.startswith("UPDATE")
    blocker = {b.pid: b for b in report.blocking}[scene.holder]
    assert blocker.blocks == [scene.waiter]
    assert blocker.root and blocker.state == "idle in transaction"

    for app in scene.apps.values():
        assert report.by_application[app] == 1
    assert report.by_state["idle in transaction"] >= 1 and report.by_state["active"] >= 3
    assert report.by_user["postgres"] >= 4

    alerts = {a.code: a for a in report.alerts}
    assert set(alerts) == {"connections_high", "long_running_queries", "idle_in_transaction", "blocked_sessions"}
    assert all(a.suggested_action and a.message for a in alerts.values())
    assert f"pg_terminate_backend({scene.holder})" in alerts["blocked_sessions"].suggested_action
    assert f"pid {scene.holder}" in alerts["blocked_sessions"].message
    assert "pg_cancel_backend(" in alerts["long_running_queries"].suggested_action
    assert "idle_in_transaction_session_timeout" in alerts["idle_in_transaction"].suggested_action
    assert "pooler" in alerts["connections_high"].suggested_action
    assert report.visibility_note is None and report.hidden_sessions == 0
    assert report.observed_as == "postgres"

    # Counts: the server's own settings, this report's connection included in in_use.
    settings: dict[str, str] = dict(
        admin(
            "SELECT name, setting FROM pg_settings"
            " WHERE name IN ('max_connections', 'superuser_reserved_connections', 'reserved_connections')"
        )
    )
    assert report.max_connections == int(settings["max_connections"])
    assert report.reserved == int(settings["superuser_reserved_connections"]) + int(
        settings.get("reserved_connections", 0)
    )
    assert report.in_use >= 4
    assert report.use_percent == round(100 * report.in_use / report.max_connections, 1)
    assert report.free_slots == report.max_connections - report.reserved - report.in_use
    assert sum(report.by_state.values()) == sum(report.by_client.values()) == report.in_use


async def test_thresholds_decide_what_is_listed_and_alerted(scene: Scene, execute: Executor) -> None:
    report = await connection_report(execute, RELAXED)

    assert scene.sleeper not in pids(report.long_running)
    assert scene.holder not in pids(report.idle_in_transaction)
    assert {a.code for a in report.alerts}.isdisjoint(
        {"long_running_queries", "idle_in_transaction", "blocked_sessions"}
    )
    # Lock waits are always listed; the threshold only says when they are worth an alert.
    assert {b.pid: b.blocked_by for b in report.blocked}[scene.waiter] == [scene.holder]
    assert report.thresholds == RELAXED


async def test_the_pg_meta_route_sees_the_same_scene(scene: Scene, pg_database_url: str) -> None:
    report = await connection_report(pg_meta_like(pg_database_url), SENSITIVE)
    assert {b.pid: b.blocked_by for b in report.blocked}[scene.waiter] == [scene.holder]
    assert scene.sleeper in pids(report.long_running)
    assert scene.holder in pids(report.idle_in_transaction)


async def test_a_role_without_pg_read_all_stats_gets_a_visibility_note(
    scene: Scene, roles: Roles, pg_database_url: str
) -> None:
    target = parse_target(psycopg.conninfo.make_conninfo(pg_database_url, user=roles.outsider))
    async with Database(target, name="activity-outsider", connect_timeout=5) as db:
        report = await connection_report(database_executor(db), SENSITIVE)

    assert report.observed_as == roles.outsider
    assert report.visibility_note is not None
    assert "pg_read_all_stats" in report.visibility_note and roles.outsider in report.visibility_note
    assert report.hidden_sessions >= 3
    assert report.by_state["hidden"] >= 3
    assert report.by_client["hidden"] >= 3
    for app in scene.apps.values():  # application_name is one of the few columns everyone may read
        assert report.by_application[app] == 1
    # The superuser's sessions still count, but their queries and states are not shown.
    assert report.in_use >= 4
    assert scene.holder not in pids(report.idle_in_transaction)
    assert scene.sleeper not in pids(report.long_running)
    # pg_blocking_pids needs no privilege: the lock wait itself is still visible, its timing is not.
    waiting = {b.pid: b for b in report.blocked}[scene.waiter]
    assert waiting.blocked_by == [scene.holder]
    assert waiting.duration_s is None and waiting.wait_event is None


async def test_the_report_is_one_statement_without_parameters(execute: Executor) -> None:
    query = connection_report_query(Thresholds(long_running_s=1.25))
    assert "%s" not in query and "%(" not in query
    assert "(interval '1 second' * 1.25)" in query
    rows = await execute(query)  # the extended protocol refuses more than one statement
    assert len(rows) == 1 and set(rows[0]) == {"report"}


# -- the arithmetic, on canned answers -------------------------------------------------------------------------


def canned(**overrides: Any) -> Executor:
    data: dict[str, Any] = {
        "max_connections": 100,
        "superuser_reserved": 3,
        "reserved": 2,
        "in_use": 81,
        "observed_as": "postgres",
        "superuser": True,
        "read_all_stats": True,
        "hidden": 0,
        "groups": [
            ["state", "idle", 60],
            ["state", "active", 21],
            ["user", "authenticator", 70],
            ["user", "postgres", 11],
            ["application", "postgrest", 50],
            ["application", "realtime", 1],
            ["client", "10.0.0.5", 81],
        ],
        "long_running_total": 0,
        "long_running": None,
        "idle_in_transaction_total": 0,
        "idle_in_transaction": None,
        "blocked_total": 0,
        "blocked": None,
        "blocking": None,
    }
    data.update(overrides)

    async def run(statement: str) -> list[dict[str, Any]]:
        return [{"report": data}]

    return run


async def test_use_percent_reserved_slots_and_the_connections_alert() -> None:
    report = await connection_report(canned(), Thresholds())
    assert (report.reserved, report.in_use, report.use_percent, report.free_slots) == (5, 81, 81.0, 14)
    (alert,) = report.alerts
    assert alert.code == "connections_high" and alert.severity == "warning"
    assert alert.message.startswith("81 of 100 connections in use (81%, threshold 80%); 14 left")
    # Groups past the cap are summed up as others, so every dimension adds up to in_use.
    assert report.by_application == {"postgrest": 50, "realtime": 1, OTHERS: 30}
    assert report.by_client == {"10.0.0.5": 81}

    below = await connection_report(canned(in_use=79), Thresholds())
    assert below.use_percent == 79.0 and below.alerts == []

    full = await connection_report(canned(in_use=95, max_connections=97), Thresholds())
    assert full.use_percent == 97.9 and full.free_slots == 0
    assert full.alerts[0].severity == "critical"
    assert "refused" in full.alerts[0].message


async def test_a_prepared_transaction_blocker_gets_its_own_advice() -> None:
    report: ConnectionReport = await connection_report(
        canned(
            in_use=2,
            blocked_total=1,
            blocked=[
                {
                    "pid": 42,
                    "user": "app",
                    "application": "worker",
                    "blocked_by": [0],
                    "wait_event": "Lock:transactionid",
                    "duration_s": 3.5,
                    "query": "UPDATE t SET x = 1",
                }
            ],
            blocking=[
                {
                    "pid": 0,
                    "user": None,
                    "application": None,
                    "client": "prepared transaction",
                    "state": None,
                    "backend_type": None,
                    "duration_s": None,
                    "xact_s": None,
                    "query": None,
                    "blocks": [42],
                    "root": True,
                }
            ],
        ),
        Thresholds(),
    )
    (alert,) = report.alerts
    assert alert.code == "blocked_sessions"
    assert "a prepared transaction (pid 0)" in alert.message
    assert "ROLLBACK PREPARED" in alert.suggested_action
    assert "pg_terminate_backend(0)" not in alert.suggested_action


@pytest.mark.parametrize(
    "bad",
    [
        {"use_percent": 0},
        {"use_percent": 101},
        {"long_running_s": -1},
        {"idle_in_transaction_s": float("nan")},
        {"long_running_s": float("inf")},
        {"blocked": -1},
    ],
)
def test_thresholds_are_validated(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Thresholds(**bad)
