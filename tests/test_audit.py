"""The audit trail (dokploy_mcp.audit): lines on disk, masking, bounds, permissions, concurrency, crash, failures."""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from dokploy_mcp import audit as audit_module
from dokploy_mcp import redact
from dokploy_mcp.audit import (
    MAX_LINE_BYTES,
    MAX_RECENT,
    AuditLog,
    audit_call,
    audit_path,
    failure_outcome,
    is_secret_name,
    masked_arguments,
)
from dokploy_mcp.cli import _overrides, build_parser
from dokploy_mcp.config import load_dokploy_servers, load_settings
from dokploy_mcp.errors import DokployMCPError, JobStoppedError
from dokploy_mcp.runtime import Runtime

ROOT = Path(__file__).resolve().parent.parent


def log_at(path: Path) -> AuditLog:
    return AuditLog(load_settings(audit_log=str(path)))


def lines_of(path: Path) -> list[dict[str, Any]]:
    raw = path.read_bytes()
    assert raw.endswith(b"\n")
    return [json.loads(line) for line in raw.decode("ascii").splitlines()]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "audit.jsonl"


# -- lines written and read back -------------------------------------------------------------------------------------


def test_a_change_writes_a_started_then_a_finished_line_and_reads_back_as_one_entry(path: Path) -> None:
    log = log_at(path)
    entry_id = log.started("dokploy_update_env", "shop/supabase", {"set": {"SITE_URL": "https://a.example"}})
    [started] = lines_of(path)
    assert started["event"] == "started" and started["id"] == entry_id
    assert started["tool"] == "dokploy_update_env" and started["target"] == "shop/supabase"
    assert started["arguments"] == {"set": {"SITE_URL": "https://a.example"}}
    assert datetime.fromisoformat(started["time"]).tzinfo is not None

    log.finished(entry_id, "ok", confirmed="person", restored=["env"], detail="saved")
    _, finished = lines_of(path)
    assert finished == {**finished, "event": "finished", "id": entry_id, "outcome": "ok", "confirmed": "person"}
    assert finished["restored"] == ["env"] and finished["detail"] == "saved"

    [entry] = log.recent()
    assert entry["id"] == entry_id and entry["started_only"] is False
    assert (entry["tool"], entry["target"], entry["confirmed"], entry["outcome"]) == (
        "dokploy_update_env",
        "shop/supabase",
        "person",
        "ok",
    )
    assert entry["restored"] == ["env"] and entry["arguments"] == {"set": {"SITE_URL": "https://a.example"}}


def test_nothing_touches_the_disk_before_the_first_line(tmp_path: Path) -> None:
    log = log_at(tmp_path / "later" / "audit.jsonl")
    assert not (tmp_path / "later").exists()
    assert log.recent() == []


def test_the_default_file_is_in_the_state_directory_and_dash_is_stderr(tmp_path: Path) -> None:
    assert audit_path(load_settings(state_dir=str(tmp_path))) == tmp_path / "audit.jsonl"
    assert audit_path(load_settings(state_dir=str(tmp_path), audit_log="  ")) == tmp_path / "audit.jsonl"
    assert audit_path(load_settings(audit_log="-")) is None
    assert audit_path(load_settings(audit_log="~/x.jsonl")) == Path.home() / "x.jsonl"


def test_the_setting_comes_from_the_environment_and_the_flag(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOKPLOY_MCP_AUDIT_LOG", str(tmp_path / "env.jsonl"))
    assert load_settings().audit_log == str(tmp_path / "env.jsonl")
    args = build_parser().parse_args(["serve", "--audit-log", str(tmp_path / "flag.jsonl")])
    assert load_settings(**_overrides(args)).audit_log == str(tmp_path / "flag.jsonl")


def test_the_runtime_holds_the_audit_log(path: Path) -> None:
    settings = load_settings(audit_log=str(path))
    runtime = Runtime(settings, servers=load_dokploy_servers(settings, environ={}))
    assert isinstance(runtime.audit, AuditLog) and runtime.audit.path == path


# -- masking ---------------------------------------------------------------------------------------------------------


def test_secrets_and_tokens_in_arguments_never_reach_the_file(path: Path) -> None:
    redact.remember("known-secret-value-1234")
    arguments = {
        "stack": "shop/supabase",
        "confirm_token": "v1.abcdef0123456789.deadbeef",
        "password": "hunter2-hunter2",
        "set": {"JWT_SECRET": "jwt-secret-value-xyz", "SERVICE_ROLE_KEY": "eyJservice.role", "SITE_URL": "https://x"},
        "env_text": "ANON_KEY=eyJpublic.anon\nSMTP_PASS=smtp-pass-value\nexport VAULT_ENC_KEY = vault-enc-value\n",
        "sql": "ALTER ROLE app PASSWORD 'sql-pass-value' VALID UNTIL 'infinity'",
        "target": "postgresql://app:url-pass-value@db:5432/app",
        "notes": ["mentions known-secret-value-1234 inline"],
        "api-key": 123456,
    }
    log = log_at(path)
    entry_id = log.started("execute_sql", "postgresql://app:url-pass-value@db/app", arguments)
    log.finished(entry_id, "error: login failed with known-secret-value-1234", confirmed="token")
    text = path.read_text()
    for secret in (
        "abcdef0123456789",
        "hunter2",
        "jwt-secret-value",
        "eyJservice",
        "smtp-pass-value",
        "vault-enc-value",
        "sql-pass-value",
        "url-pass-value",
        "known-secret-value",
        "123456",
    ):
        assert secret not in text, secret
    # What is not secret stays readable: the audit trail must still say what was done.
    for kept in ("shop/supabase", "https://x", "ANON_KEY=eyJpublic.anon", "ALTER ROLE app PASSWORD", "infinity"):
        assert kept in text, kept
    [entry] = log.recent()
    assert entry["arguments"]["password"] == redact.MASK
    assert "known-secret-value" not in json.dumps(entry)


def test_a_secret_learnt_after_writing_is_masked_when_read_back(path: Path) -> None:
    log = log_at(path)
    log.started("execute_sql", None, {"sql": "select 'learnt-later-secret-42'"})
    assert "learnt-later-secret-42" in path.read_text()
    redact.remember("learnt-later-secret-42")
    assert "learnt-later-secret-42" not in json.dumps(log.recent())


@pytest.mark.parametrize(
    ("name", "secret"),
    [
        ("confirm_token", True),
        ("password", True),
        ("JWT_SECRET", True),
        ("SERVICE_ROLE_KEY", True),
        ("api-key", True),
        ("SMTP_PASS", True),
        ("key", True),
        ("ANON_KEY", False),
        ("SUPABASE_PUBLISHABLE_KEY", False),
        ("stack", False),
        ("keys", False),
        ("reveal", False),
    ],
)
def test_secret_names(name: str, secret: bool) -> None:
    assert is_secret_name(name) is secret


def test_masking_keeps_structure_and_plain_values() -> None:
    masked = masked_arguments({"dry_run": True, "wait": 900, "unset": ["JWT_SECRET"], "password": None})
    assert masked == {"dry_run": True, "wait": 900, "unset": ["JWT_SECRET"], "password": None}


# -- bounds ----------------------------------------------------------------------------------------------------------


def test_every_line_stays_under_the_bound_whatever_the_arguments(path: Path) -> None:
    deep: Any = "bottom"
    for _ in range(40):
        deep = {"level": deep}
    huge = {
        "sql": "SELECT " + "1 + " * 50_000 + "1",
        "set": {f"VAR_{i}": "é" * 900 for i in range(400)},
        "deep": deep,
        "many": list(range(10_000)),
        "big_int": 10**5000,
    }
    log = log_at(path)
    entry_id = log.started("execute_sql", "t" * 100_000, huge)
    log.finished(entry_id, "error: " + "x" * 100_000, confirmed="none", restored=["r" * 5000] * 500, detail="d" * 10**6)
    raw = path.read_bytes().splitlines(keepends=True)
    assert len(raw) == 2
    assert all(len(line) <= MAX_LINE_BYTES for line in raw), [len(line) for line in raw]
    started, finished = (json.loads(line) for line in raw)
    assert started["id"] == finished["id"] == entry_id
    assert started["tool"] == "execute_sql" and finished["confirmed"] == "none"


def test_a_long_value_is_cut_after_masking_and_says_so(path: Path) -> None:
    redact.remember("a-secret-near-the-cut-0042")
    sql = "SELECT 'a-secret-near-the-cut-0042', " + "'x', " * 10_000 + "1"
    log = log_at(path)
    log.started("execute_sql", None, {"sql": sql})
    [line] = lines_of(path)
    shown = line["arguments"]["sql"]
    assert shown.startswith(f"SELECT '{redact.MASK}', 'x'")
    assert "chars]" in shown and len(shown) < len(sql)
    assert "a-secret-near" not in path.read_text()


# -- permissions -----------------------------------------------------------------------------------------------------


def test_the_file_is_0600_and_new_directories_0700_whatever_the_umask(tmp_path: Path) -> None:
    target = tmp_path / "state" / "deeper" / "audit.jsonl"
    previous = os.umask(0)
    try:
        log_at(target).started("manage_domain", "shop/supabase", {})
    finally:
        os.umask(previous)
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "state").stat().st_mode) == 0o700
    assert stat.S_IMODE((tmp_path / "state" / "deeper").stat().st_mode) == 0o700


# -- concurrency -----------------------------------------------------------------------------------------------------


def test_concurrent_appends_from_many_threads_give_whole_lines_only(path: Path) -> None:
    log = log_at(path)
    payload = "z" * 3000  # close to the line bound: a torn or interleaved write would show

    def change(index: int) -> None:
        entry_id = log.started("dokploy_update_env", f"stack-{index}", {"value": payload})
        log.finished(entry_id, "ok", confirmed="none")

    with ThreadPoolExecutor(max_workers=32) as pool:
        list(pool.map(change, range(400)))
    records = lines_of(path)
    assert len(records) == 800
    entries = log.recent(limit=MAX_RECENT)
    assert len(entries) == 400 and not any(entry["started_only"] for entry in entries)
    assert sorted(entry["target"] for entry in entries) == sorted(f"stack-{index}" for index in range(400))


@pytest.mark.anyio
async def test_concurrent_appends_from_many_tasks_give_whole_lines_only(path: Path) -> None:
    log = log_at(path)

    async def change(index: int) -> None:
        async with audit_call(log, "manage_domain", f"stack-{index}", {"host": "h" * 2000}) as handle:
            await anyio.lowlevel.checkpoint()
            handle.confirmed = "token"

    async with anyio.create_task_group() as group:
        for index in range(200):
            group.start_soon(change, index)
    records = lines_of(path)
    assert len(records) == 400
    assert {record["event"] for record in records} == {"started", "finished"}
    assert all(entry["confirmed"] == "token" for entry in log.recent(limit=200))


_WRITER = textwrap.dedent(
    """
    import sys
    from dokploy_mcp.audit import AuditLog
    from dokploy_mcp.config import load_settings

    log = AuditLog(load_settings(audit_log=sys.argv[1]))
    for index in range(int(sys.argv[3])):
        entry_id = log.started("execute_sql", sys.argv[2], {"sql": sys.argv[2] * 3500})
        log.finished(entry_id, "ok", confirmed="none")
    """
)


def test_two_processes_appending_to_one_file_give_whole_lines_only(path: Path) -> None:
    count = 300
    writers = [
        subprocess.Popen([sys.executable, "-c", _WRITER, str(path), letter, str(count)], cwd=ROOT)
        for letter in ("a", "b")
    ]
    assert [writer.wait(timeout=120) for writer in writers] == [0, 0]
    records = lines_of(path)  # a torn or interleaved line would fail to parse here
    assert len(records) == 4 * count
    started = [record for record in records if record["event"] == "started"]
    assert sorted(record["target"] for record in started) == ["a"] * count + ["b"] * count
    assert all(set(record["arguments"]["sql"][:1000]) == {record["target"]} for record in started)


# -- crash, stderr, failures -----------------------------------------------------------------------------------------

_CRASH = textwrap.dedent(
    """
    import os, sys
    from dokploy_mcp.audit import AuditLog
    from dokploy_mcp.config import load_settings

    log = AuditLog(load_settings(audit_log=sys.argv[1]))
    log.started("dokploy_regenerate_keys", "shop/supabase", {"mode": "rotate"})
    os._exit(137)  # killed mid-call: no finally, no finished line
    """
)


def test_a_crash_mid_call_leaves_a_started_only_entry(path: Path) -> None:
    crashed = subprocess.run([sys.executable, "-c", _CRASH, str(path)], cwd=ROOT, timeout=60, check=False)
    assert crashed.returncode == 137
    log = log_at(path)
    done = log.started("manage_domain", "shop/supabase", {})
    log.finished(done, "ok", confirmed="person")
    newest, crashed_entry = log.recent()
    assert newest["started_only"] is False
    assert crashed_entry["tool"] == "dokploy_regenerate_keys" and crashed_entry["started_only"] is True
    assert crashed_entry["outcome"] is None and crashed_entry["confirmed"] is None


def test_dash_writes_the_lines_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    log = AuditLog(load_settings(audit_log="-"))
    assert log.readable is False and log.where == "stderr"
    entry_id = log.started("manage_domain", "shop/supabase", {"confirm_token": "v1.secret-token-value"})
    log.finished(entry_id, "ok", confirmed="token")
    captured = capsys.readouterr()
    assert captured.out == ""
    started, finished = (json.loads(line) for line in captured.err.splitlines())
    assert started["id"] == finished["id"] == entry_id
    assert "secret-token-value" not in captured.err
    assert log.recent() == []


def test_an_unwritable_log_warns_once_per_line_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    log = log_at(blocker / "audit.jsonl")
    with caplog.at_level(logging.WARNING, logger="dokploy_mcp.audit"):
        entry_id = log.started("manage_domain", "shop/supabase", {"password": "warned-secret-value"})
        log.finished(entry_id, "ok", confirmed="none")
    warnings = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert "could not write the started line of manage_domain" in warnings[0]
    assert "the call goes on" in warnings[1]
    assert isinstance(entry_id, str) and entry_id


def test_a_nul_in_the_path_warns_too(caplog: pytest.LogCaptureFixture) -> None:
    log = AuditLog(load_settings(audit_log="/tmp/bad\x00path.jsonl"))
    with caplog.at_level(logging.WARNING, logger="dokploy_mcp.audit"):
        log.started("manage_domain", None, {})
    assert any("could not write" in record.getMessage() for record in caplog.records)


def test_reading_an_unreadable_log_raises_oserror(tmp_path: Path) -> None:
    (tmp_path / "dir.jsonl").mkdir()
    with pytest.raises(OSError, match="not a regular file"):
        log_at(tmp_path / "dir.jsonl").recent()


# -- recent(): filters and bounds ------------------------------------------------------------------------------------


def write_at(log: AuditLog, monkeypatch: pytest.MonkeyPatch, when: str, tool: str, target: str) -> str:
    monkeypatch.setattr(audit_module, "_now", lambda: when)
    entry_id = log.started(tool, target, {})
    log.finished(entry_id, "ok", confirmed="none")
    return entry_id


def test_recent_filters_by_tool_target_and_since_newest_first(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = log_at(path)
    first = write_at(log, monkeypatch, "2026-01-01T10:00:00.000000Z", "manage_domain", "prod:shop/supabase")
    second = write_at(log, monkeypatch, "2026-01-01T11:00:00.000000Z", "execute_sql", "shop db")
    third = write_at(log, monkeypatch, "2026-01-01T12:00:00.000000Z", "manage_domain", "staging:blog/supabase")
    assert [entry["id"] for entry in log.recent()] == [third, second, first]
    assert [entry["id"] for entry in log.recent(tool="manage_domain")] == [third, first]
    assert [entry["id"] for entry in log.recent(target="SHOP")] == [second, first]
    assert [entry["id"] for entry in log.recent(since=datetime(2026, 1, 1, 11, tzinfo=UTC))] == [third, second]
    assert [entry["id"] for entry in log.recent(since=datetime(2026, 1, 1, 11))] == [third, second]
    assert [entry["id"] for entry in log.recent(limit=1)] == [third]
    assert len(log.recent(limit=0)) == 1


def test_recent_skips_garbage_and_orphans(path: Path) -> None:
    log = log_at(path)
    kept = log.started("manage_domain", "x", {})
    with path.open("a") as handle:
        handle.write('not json\n{"event": "finished", "id": "orphan", "outcome": "ok"}\n[1, 2]\n{"id": 5}\n')
        handle.write('{"event":"started","id":"odd","tool":7,"arguments":"text","time":"yesterday"}\n')
        handle.write('{"event": "started", "id": "torn", "tool": "x"')  # a line still being written
    entries = log.recent()
    assert [entry["id"] for entry in entries] == ["odd", kept]
    assert entries[0]["tool"] == "" and entries[0]["arguments"] == {}
    assert log.recent(since=datetime(2000, 1, 1, tzinfo=UTC)) == [entries[1]]


def test_recent_reads_only_the_tail_of_a_large_file(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    log = log_at(path)
    old = log.started("manage_domain", "old", {"pad": "p" * 2000})
    for _ in range(20):
        log.finished(log.started("execute_sql", "filler", {"pad": "q" * 2000}), "ok", confirmed="none")
    log.finished(old, "ok", confirmed="none")  # its started line is now beyond the tail
    monkeypatch.setattr(audit_module, "TAIL_BYTES", 10_000)
    entries = log.recent(limit=MAX_RECENT)
    assert 0 < len(entries) < 20
    assert all(entry["target"] == "filler" for entry in entries)
    assert len(log.recent(limit=10**6)) == len(entries)


# -- audit_call ------------------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_audit_call_writes_finished_from_the_handle(path: Path) -> None:
    log = log_at(path)
    async with audit_call(log, "dokploy_update_env", "shop/supabase", {"set": {"A": "1"}}) as handle:
        assert [record["event"] for record in lines_of(path)] == ["started"]  # before the block acts
        handle.confirmed = "person"
        handle.restored.append("nothing")
        handle.outcome = "saved"
    [entry] = log.recent()
    assert (entry["outcome"], entry["confirmed"], entry["restored"]) == ("saved", "person", ["nothing"])


@pytest.mark.anyio
async def test_audit_call_records_an_error_scrubbed_and_lets_it_through(path: Path) -> None:
    redact.remember("leaky-secret-in-error")
    log = log_at(path)
    with pytest.raises(DokployMCPError):
        async with audit_call(log, "manage_domain", "shop/supabase", {}) as handle:
            handle.confirmed = "token"
            handle.restored.append("domain restored")
            raise DokployMCPError("Dokploy said: leaky-secret-in-error\nsecond line")
    [entry] = log.recent()
    assert entry["outcome"] == f"error: Dokploy said: {redact.MASK} second line"
    assert entry["confirmed"] == "token" and entry["restored"] == ["domain restored"]
    assert "leaky-secret" not in json.dumps(lines_of(path))


@pytest.mark.anyio
async def test_audit_call_records_a_cancellation(path: Path) -> None:
    log = log_at(path)
    with anyio.CancelScope() as scope:
        async with audit_call(log, "dokploy_regenerate_keys", "shop/supabase", {}):
            scope.cancel()
            await anyio.sleep(1)
    [entry] = log.recent()
    assert entry["outcome"] == "cancelled" and entry["started_only"] is False


@pytest.mark.anyio
async def test_failure_outcomes() -> None:
    assert failure_outcome(JobStoppedError("cancel_job was called")) == "cancelled: cancel_job was called"
    assert failure_outcome(ExceptionGroup("group", [ValueError("inner")])) == "error: inner"
    assert failure_outcome(RuntimeError()) == "error: RuntimeError"
    assert failure_outcome(ExceptionGroup("g", [ValueError("a"), KeyError("b")])).startswith("error: g")
