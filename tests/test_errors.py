"""The error tree: every expected failure of ``src/`` descends from DokployMCPError, is listed in the tree of
``dokploy_mcp.errors``'s docstring, and gets an explanation of its own from :func:`dokploy_mcp.explain.explain`.

The classes are found by importing every module of the package and walking the subclasses, so a new error class
fails here until it has a sample below (and with it, a wording that says more than its bare message).
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator

import pytest

import dokploy_mcp
from dokploy_mcp import errors
from dokploy_mcp.dokploy.errors import APIErrorFields
from dokploy_mcp.errors import DokployMCPError, NextStep
from dokploy_mcp.explain import explain

URL = "https://db.example.com/auth/v1/health"
TARGET = "postgresql://postgres:****@db:5432/postgres"


def api(status: int = 500) -> APIErrorFields:
    return {"server": "main", "status": status, "path": "/compose.one", "message": "boom"}


def _dokploy() -> dict[str, tuple[Callable[[], DokployMCPError], str]]:
    from dokploy_mcp.dokploy import errors as d

    return {
        "dokploy.errors.DokployError": (lambda: d.DokployError("odd", server="main"), "Dokploy server 'main'"),
        "dokploy.errors.DokployTransportError": (
            lambda: d.DokployTransportError("refused", url="http://dok:3000", server="main"),
            "Cannot reach",
        ),
        "dokploy.errors.DokployTimeoutError": (
            lambda: d.DokployTimeoutError(url="http://dok:3000", path="/x", timeout=3, server="main"),
            "DOKPLOY_MCP_TIMEOUT",
        ),
        "dokploy.errors.DokployAPIError": (lambda: d.DokployAPIError(**api()), "Dokploy's own logs"),
        "dokploy.errors.DokployRestoreError": (
            lambda: d.DokployRestoreError("Error: boom", server="main", last_lines=["Starting restore..."]),
            "Check the database before trying again",
        ),
        "dokploy.errors.DokployAuthError": (
            lambda: d.DokployAuthError(**api(401)),
            "rate limiting off",
        ),
        "dokploy.errors.DokployNotFoundError": (
            lambda: d.DokployNotFoundError(**api(404)),
            "dokploy_list_instances",
        ),
        "dokploy.errors.DokployValidationError": (
            lambda: d.DokployValidationError(field_errors={"host": ["required"]}, **api(400)),
            "correct these fields",
        ),
        "dokploy.errors.DokployRateLimitedError": (
            lambda: d.DokployRateLimitedError(retry_after=7, **api(429)),
            "try again after 7 s",
        ),
        "dokploy.errors.DokployResponseError": (
            lambda: d.DokployResponseError("not JSON", path="/x", server="main"),
            "does not understand",
        ),
        "dokploy.errors.DokployProtocolError": (
            lambda: d.DokployProtocolError("is larger than 16 MiB", path="/x", server="main"),
            "past the limits",
        ),
    }


def _kong() -> dict[str, tuple[Callable[[], DokployMCPError], str]]:
    from dokploy_mcp.kong import errors as k

    return {
        "kong.errors.GatewayError": (lambda: k.GatewayError("odd", url=URL), "gateway at"),
        "kong.errors.GatewayUnreachableError": (
            lambda: k.GatewayUnreachableError("connection refused", url=URL),
            "dokploy_monitor_health",
        ),
        "kong.errors.GatewayAuthError": (
            lambda: k.GatewayAuthError(
                "refused", url=URL, status=401, message="Invalid API key", code=None, refused_by="kong"
            ),
            "dokploy_regenerate_keys",
        ),
        "kong.errors.GatewayResponseError": (
            lambda: k.GatewayResponseError("bad answer", url=URL, status=502),
            "dokploy_get_logs",
        ),
    }


def _postgres() -> dict[str, tuple[Callable[[], DokployMCPError], str]]:
    from dokploy_mcp.postgres import errors as p

    return {
        "postgres.errors.ConnectionStringError": (lambda: p.ConnectionStringError("no host"), "Invalid target"),
        "postgres.errors.DatabaseError": (lambda: p.DatabaseError("odd", target=TARGET), "Database error"),
        "postgres.errors.DatabaseConnectionError": (
            lambda: p.DatabaseConnectionError("refused", target=TARGET),
            "check host, port",
        ),
        "postgres.errors.DatabaseQueryError": (
            lambda: p.DatabaseQueryError("syntax error", sqlstate="42601", target=TARGET),
            "refused the statement",
        ),
        "postgres.errors.ReadOnlyViolationError": (
            lambda: p.ReadOnlyViolationError("cannot execute INSERT", sqlstate="25006", target=TARGET),
            "read-only transaction",
        ),
        "postgres.errors.DatabaseTimeoutError": (
            lambda: p.DatabaseTimeoutError("canceled", timeout_ms=500, target=TARGET),
            "longer than 500 ms",
        ),
        "postgres.errors.PartlyAppliedError": (
            lambda: p.PartlyAppliedError("statement 2 of 3 failed", target=TARGET, applied=1, total=3),
            "stopped after 1 of 3 statements",
        ),
        "postgres.errors.CopyFailedError": (
            lambda: p.CopyFailedError("unique violation", target=TARGET, table="public.t", kept=1000),
            "copy stopped in table public.t",
        ),
        "postgres.errors.RoleNotPermittedError": (
            lambda: p.RoleNotPermittedError("not a member", role="admin", target=TARGET),
            "Cannot switch to role 'admin'",
        ),
        "postgres.errors.SqlRefused": (lambda: p.SqlRefused("writes"), "Invalid sql"),
        "postgres.errors.SqlTooComplex": (lambda: p.SqlTooComplex("too deep"), "Invalid sql"),
    }


def _supabase() -> dict[str, tuple[Callable[[], DokployMCPError], str]]:
    from dokploy_mcp.dokploy.errors import DokployAPIError
    from dokploy_mcp.supabase import errors as s

    return {
        "supabase.errors.StackNotFoundError": (
            lambda: s.StackNotFoundError("no compose 'shop/x'"),
            "No such stack: no compose 'shop/x' (next: call dokploy_list_instances)",
        ),
        "supabase.errors.NotASupabaseStackError": (
            lambda: s.NotASupabaseStackError("shop/worker is a compose"),
            "Not a Supabase stack",
        ),
        "supabase.errors.ConcurrentChangeError": (lambda: s.ConcurrentChangeError("changed"), "nothing was written"),
        "supabase.errors.EnvWriteError": (lambda: s.EnvWriteError("differs", stored="A=1"), "did not store"),
        "supabase.errors.TemplateUnavailableError": (
            lambda: s.TemplateUnavailableError("Dokploy's catalogue", DokployAPIError(**api())),
            "call again with template: a folder",
        ),
        "supabase.errors.DeployFailedError": (
            lambda: s.DeployFailedError("ended error", status="error"),
            "The deploy failed",
        ),
        "supabase.errors.KeyStepError": (lambda: s.KeyStepError("verify", "refused"), "The key change stopped"),
    }


def _backups() -> dict[str, tuple[Callable[[], DokployMCPError], str]]:
    from dokploy_mcp.backups import errors as b
    from dokploy_mcp.postgres import errors as p

    return {
        "backups.errors.BackupError": (lambda: b.BackupError("odd", location="a.dkbk"), "Backup (a.dkbk): odd"),
        "backups.errors.BackupKeyError": (
            lambda: b.BackupKeyError("none set", setting="DOKPLOY_MCP_BACKUP_KEY"),
            "set DOKPLOY_MCP_BACKUP_KEY",
        ),
        "backups.errors.BackupIntegrityError": (
            lambda: b.BackupIntegrityError("chunk 3 fails", reason="authentication", chunk=3),
            "Nothing was restored from it",
        ),
        "backups.errors.BackupNotFoundError": (lambda: b.BackupNotFoundError("no such id"), "No such backup"),
        "backups.errors.BackupStorageError": (
            lambda: b.BackupStorageError("bucket missing", store="s3", cause="NoSuchBucket"),
            "The backup store (s3) failed",
        ),
        "postgres.errors.PgToolError": (
            lambda: p.PgToolError("15 is older than the server's 17", tool="pg_dump"),
            "pg_dump cannot do this",
        ),
    }


def _base() -> dict[str, tuple[Callable[[], DokployMCPError], str]]:
    from dokploy_mcp.bootstrap import BootstrapError
    from dokploy_mcp.confirm import ConfirmationError

    return {
        "errors.DokployMCPError": (lambda: DokployMCPError("odd"), "The call failed"),
        "errors.ConfigurationError": (
            lambda: errors.ConfigurationError("DOKPLOY_URL is unset", setting="DOKPLOY_URL"),
            "Configuration",
        ),
        "errors.InputError": (lambda: errors.InputError("too long", field="stack"), "Invalid stack"),
        "confirm.ConfirmationError": (
            lambda: ConfirmationError("the token expired", reason="expired"),
            "Not confirmed",
        ),
        "bootstrap.BootstrapError": (lambda: BootstrapError("Dokploy is down"), "Bootstrap cannot go on"),
        "errors.JobStoppedError": (lambda: errors.JobStoppedError("cancel_job asked"), "Stopped: cancel_job"),
        "errors.JobNotFoundError": (
            lambda: errors.JobNotFoundError(
                "no job job_1", job_id="job_1", next_step=NextStep(tool="job_status", arguments={})
            ),
            "(next: call job_status)",
        ),
    }


SAMPLES = {**_base(), **_dokploy(), **_kong(), **_postgres(), **_supabase(), **_backups()}


def _import_everything() -> None:
    for module in pkgutil.walk_packages(dokploy_mcp.__path__, prefix="dokploy_mcp."):
        if not module.name.endswith(".__main__"):  # running it would start the CLI
            importlib.import_module(module.name)


def _subclasses(cls: type[DokployMCPError]) -> Iterator[type[DokployMCPError]]:
    yield cls
    for sub in cls.__subclasses__():
        yield from _subclasses(sub)


def _name(cls: type) -> str:
    return f"{cls.__module__.removeprefix('dokploy_mcp.')}.{cls.__qualname__}"


def tree() -> list[str]:
    _import_everything()
    return sorted(
        {_name(cls) for cls in _subclasses(DokployMCPError) if cls.__module__.startswith("dokploy_mcp")},
    )


def test_every_error_class_of_the_package_has_a_sample() -> None:
    found = tree()
    assert len(found) >= 30
    assert sorted(SAMPLES) == found


def test_the_errors_docstring_lists_every_class() -> None:
    doc = errors.__doc__ or ""
    missing = [name for name in tree() if name.rsplit(".", 1)[1] not in doc]
    assert missing == []


@pytest.mark.parametrize("name", sorted(SAMPLES))
def test_each_class_gets_its_own_explanation(name: str) -> None:
    make, fragment = SAMPLES[name]
    exc = make()
    assert _name(type(exc)) == name
    message = explain(exc)
    assert message != str(exc)
    assert fragment in message


def test_a_next_step_is_spelled_out_with_its_arguments() -> None:
    step = NextStep(tool="connect", arguments={"target": "shop/supabase"})
    message = explain(DokployMCPError("the database did not answer", next_step=step))
    assert message.endswith('(next: call connect with {"target": "shop/supabase"})')
