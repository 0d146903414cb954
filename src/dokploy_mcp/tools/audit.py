"""Toolset ``core``: the audit trail of this server's changes, read back (``DOKPLOY_MCP_AUDIT_LOG``)."""

from __future__ import annotations

import functools
from typing import Annotated, Any

import anyio
from pydantic import BaseModel, Field

from dokploy_mcp.audit import MAX_RECENT
from dokploy_mcp.monitoring.window import MAX_TIME_ARG_CHARS, parse_since
from dokploy_mcp.redact import scrub
from dokploy_mcp.registry import ToolSpec
from dokploy_mcp.tools.args import MAX_ADDRESS_CHARS
from dokploy_mcp.tools.context import ToolContext, runtime

#: A tool's name (ours are at most 40 characters).
MAX_TOOL_NAME_CHARS = 64


class AuditEntry(BaseModel):
    time: str = Field(description="when the call started (UTC)")
    tool: str
    target: str | None
    arguments: dict[str, Any] = Field(description="secrets masked")
    confirmed: str | None = Field(description="person, token or none; null while started_only")
    outcome: str | None = Field(description="ok, error: ..., cancelled...; null while started_only")
    restored: list[str] = Field(description="what was put back after a failure")
    detail: str | None = None
    finished_time: str | None = None
    started_only: bool = Field(description="no finished line: still running, or the server stopped mid-call")


class AuditReport(BaseModel):
    log: str = Field(description="the audit log's file, or stderr")
    readable: bool
    entries: list[AuditEntry] = Field(description="newest first")
    note: str | None = None


async def audit_log(
    ctx: ToolContext,
    tool: Annotated[
        str | None, Field(min_length=1, max_length=MAX_TOOL_NAME_CHARS, description="only this tool's calls")
    ] = None,
    target: Annotated[
        str | None,
        Field(min_length=1, max_length=MAX_ADDRESS_CHARS, description="only targets containing this text"),
    ] = None,
    since: Annotated[
        str | None, Field(max_length=MAX_TIME_ARG_CHARS, description="ISO time or duration (2h, 7d)")
    ] = None,
    limit: Annotated[int, Field(ge=1, le=MAX_RECENT, description="most entries")] = 50,
) -> AuditReport:
    """Show this server's recent changes, newest first: tool, target, masked arguments, how each was confirmed,
    its outcome and what was restored. started_only: the call is running, or the server stopped mid-call."""
    audit = runtime(ctx).audit
    if not audit.readable:
        note = "the audit log goes to this server's stderr (DOKPLOY_MCP_AUDIT_LOG=-): it is not readable from here"
        return AuditReport(log=audit.where, readable=False, entries=[], note=note)
    opens = parse_since(since).opens() if since is not None else None
    read = functools.partial(audit.recent, tool=tool, target=target, since=opens, limit=limit)
    try:
        # A thread: reading and parsing up to 4 MiB must not stall the other calls.
        entries = await anyio.to_thread.run_sync(read)
    except OSError as exc:
        note = scrub(f"the audit log cannot be read ({exc.strerror or exc})")
        return AuditReport(log=audit.where, readable=False, entries=[], note=note)
    return AuditReport(log=audit.where, readable=True, entries=[AuditEntry.model_validate(entry) for entry in entries])


SPECS = [
    ToolSpec(
        name="audit_log",
        title="Show the audit trail",
        toolset="core",
        handler=audit_log,
        read_only=True,
        idempotent=True,
        open_world=False,
    ),
]
