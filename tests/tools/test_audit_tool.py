"""The ``audit_log`` tool through an MCP client, over a log written as the server's calls write it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.types import TextContent

from dokploy_mcp import audit as audit_module
from dokploy_mcp.audit import AuditLog, audit_call
from dokploy_mcp.config import Settings, load_dokploy_servers, load_settings
from dokploy_mcp.server import build_server

pytestmark = pytest.mark.anyio


def server_for(settings: Settings) -> Any:
    return build_server(settings, servers=load_dokploy_servers(settings, environ={}))


async def answer(client: Client, **arguments: Any) -> dict[str, Any]:
    result = await client.call_tool("audit_log", arguments)
    assert not result.is_error, result.content
    assert isinstance(result.structured_content, dict)
    return result.structured_content


async def refused(client: Client, **arguments: Any) -> str:
    result = await client.call_tool("audit_log", arguments)
    assert result.is_error
    assert isinstance(result.content[0], TextContent)
    return result.content[0].text


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return load_settings(audit_log=str(tmp_path / "a.jsonl"))


async def test_the_tool_shows_entries_newest_first_masked_with_started_only(settings: Settings) -> None:
    log = AuditLog(settings)  # another writer of the same file, as a second server process would be
    async with audit_call(log, "dokploy_update_env", "shop/supabase", {"set": {"JWT_SECRET": "jwt-secret-12345"}}) as h:
        h.confirmed = "person"
        h.restored.append("env")
        h.outcome = "error: redeploy failed"
    running = log.started("execute_sql", "db", {"sql": "DELETE FROM t", "confirm_token": "v1.token-value-1234"})
    async with Client(server_for(settings)) as client:
        report = await answer(client)
    assert report["readable"] is True and report["log"].endswith("a.jsonl")
    newest, older = report["entries"]
    assert newest["tool"] == "execute_sql" and newest["started_only"] is True and newest["outcome"] is None
    assert newest["arguments"] == {"sql": "DELETE FROM t", "confirm_token": "****"}
    assert older["tool"] == "dokploy_update_env" and older["started_only"] is False
    assert (older["confirmed"], older["outcome"], older["restored"]) == ("person", "error: redeploy failed", ["env"])
    assert older["arguments"] == {"set": {"JWT_SECRET": "****"}}
    assert running
    assert "jwt-secret-12345" not in str(report) and "token-value" not in str(report)


async def test_filters_and_limit(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    log = AuditLog(settings)
    now = datetime.now(UTC)
    calls = ((30, "manage_domain", "old/stack"), (1, "execute_sql", "db"), (0, "manage_domain", "x"))
    for hours, tool, target in calls:
        moment = (now - timedelta(hours=hours)).isoformat()
        monkeypatch.setattr(audit_module, "_now", lambda moment=moment: moment)
        log.finished(log.started(tool, target, {}), "ok", confirmed="none")
    async with Client(server_for(settings)) as client:
        assert [e["target"] for e in (await answer(client, tool="manage_domain"))["entries"]] == ["x", "old/stack"]
        assert [e["target"] for e in (await answer(client, target="OLD"))["entries"]] == ["old/stack"]
        assert [e["target"] for e in (await answer(client, since="2h"))["entries"]] == ["x", "db"]
        iso = (now - timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert len((await answer(client, since=iso))["entries"]) == 3
        assert [e["target"] for e in (await answer(client, limit=1))["entries"]] == ["x"]
        assert "since" in await refused(client, since="yesterday-ish")
        assert "limit" in await refused(client, limit=501)
        assert "target" in await refused(client, target="t" * 600)


async def test_an_empty_log_and_an_unreadable_one(tmp_path: Path) -> None:
    async with Client(server_for(load_settings(audit_log=str(tmp_path / "none.jsonl")))) as client:
        report = await answer(client)
    assert report["entries"] == [] and report["readable"] is True
    (tmp_path / "dir.jsonl").mkdir()
    async with Client(server_for(load_settings(audit_log=str(tmp_path / "dir.jsonl")))) as client:
        report = await answer(client)
    assert report["readable"] is False and "cannot be read" in report["note"]


async def test_a_log_on_stderr_is_not_readable_from_here() -> None:
    async with Client(server_for(load_settings(audit_log="-"))) as client:
        report = await answer(client, tool="manage_domain")
    assert report["readable"] is False and report["log"] == "stderr" and report["entries"] == []
    assert "stderr" in report["note"] and "not readable" in report["note"]


async def test_the_tool_is_read_only_and_kept_in_read_only_mode(tmp_path: Path) -> None:
    settings = load_settings(read_only=True, audit_log=str(tmp_path / "a.jsonl"))
    async with Client(server_for(settings)) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert tools["audit_log"].annotations is not None
    assert tools["audit_log"].annotations.read_only_hint is True
