"""The logs of one service of a stack (``dokploy_get_logs``): its replicas read through Dokploy, parsed, merged in
time order, filtered and capped.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from dokploy_mcp.dokploy.logtext import Mask
from dokploy_mcp.dokploy.models import Compose
from dokploy_mcp.monitoring.containers import ServiceContainer, compose_layout, stack_containers
from dokploy_mcp.monitoring.filters import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_LINES,
    check_caps,
    contains,
    in_window,
    select,
    show,
)
from dokploy_mcp.monitoring.levels import parse_level
from dokploy_mcp.monitoring.loglines import UNTRUSTED, group_records, merge_records, parse_docker_logs
from dokploy_mcp.monitoring.reading import check_tail, read_containers, resolve_service, safe_search
from dokploy_mcp.monitoring.window import parse_since, parse_until

if TYPE_CHECKING:
    # Only for annotations: the tool layer imports the result models at start-up, and the client pulls in httpx.
    from dokploy_mcp.dokploy.client import DokployClient

__all__ = ["LogsResult", "service_logs"]


class LogsResult(BaseModel):
    """The logs of one service of a stack (all its replicas merged in time order)."""

    service: str
    containers: list[ServiceContainer] = Field(description="the containers read (several when the service scales)")
    lines: list[str] = Field(description="<time> <text>, oldest first; continuation lines belong to the line above")
    matched: int = Field(description="lines that passed the filters, before the caps")
    truncated: bool = False
    truncated_reason: str | None = None
    since: str = Field(description="the window start sent to Dokploy: all or <n>[smhd]")
    notes: list[str] = Field(default_factory=list)
    untrusted: str = UNTRUSTED


async def service_logs(
    client: DokployClient,
    compose: Compose,
    service: str,
    *,
    mask: Mask,
    tail: int = DEFAULT_MAX_LINES,
    since: str | datetime | None = "all",
    until: str | datetime | None = None,
    search: str | None = None,
    level: str | None = None,
    max_lines: int = DEFAULT_MAX_LINES,
    max_bytes: int = DEFAULT_MAX_BYTES,
    server_search: bool = False,
    now: datetime | None = None,
) -> LogsResult:
    """The last ``tail`` log lines of one service (by compose service name), cleaned, filtered and capped.

    ``search`` is a literal, case-insensitive text: a record (line plus its continuation lines) is kept when one
    of its lines holds it. ``level`` keeps records at that level or above. With ``server_search``, the part of the
    search Dokploy accepts is sent along to trim the transfer (see :mod:`dokploy_mcp.monitoring.reading` for what
    that loses).

    Raises:
        InputError: an unknown service or an invalid argument (the field is named).
        DokployError: Dokploy failed.
    """
    check_tail(tail, "tail")
    check_caps(max_lines, max_bytes)
    minimum = parse_level(level)
    window = parse_since(since, now=now)
    end = parse_until(until, now=now)
    services, _ = compose_layout(compose)
    name = resolve_service(service, services)
    containers = [c for c in await stack_containers(client, compose) if c.service == name and c.container_id]
    result = LogsResult(service=name, containers=containers, lines=[], matched=0, since=window.server)
    if not containers:
        result.notes.append(
            f"no container runs service {name!r}: the stack was never deployed, or its containers were removed"
        )
        return result
    word = safe_search(search) if (server_search and search) else None
    raws, failures = await read_containers(
        client, compose, containers, tail=tail, since=window.server, server_search=word
    )
    if failures:
        # One service's logs are whole or not at all: the first error Dokploy answered, as it is.
        raise next(iter(failures.values()))
    records = merge_records(
        [group_records(parse_docker_logs(raws[i], name, mask=mask)) for i in range(len(containers))]
    )
    windowed = [record for record in records if in_window(record, window.cutoff, end)]
    result.lines, result.matched, result.truncated_reason = show(
        select(windowed, minimum, contains(search)), max_lines, max_bytes
    )
    result.truncated = result.truncated_reason is not None
    stopped = [c.name for c in containers if not c.running]
    if stopped:
        result.notes.append(f"not running: {', '.join(stopped)} (its last lines are shown)")
    return result
