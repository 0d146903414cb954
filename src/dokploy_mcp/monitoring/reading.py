"""Reading the containers' logs of a stack through Dokploy.

Dokploy's ``compose.readLogs`` runs ``docker container logs --timestamps --tail <tail> [--since <since>] <id> 2>&1``,
piped through ``grep -iF <search>`` when a search is given (Dokploy ``packages/server/src/services/docker.ts``,
``getContainerLogs``). Its input schema (the recorded OpenAPI document) allows ``tail`` 1..10000, ``since``
``all`` or ``<n>[smhd]`` and ``search`` ``[a-zA-Z0-9 ._-]{0,500}``. The tail is cut before grep, so a server-side
search never reaches further back; it also drops the lines of a stack trace that do not hold the word, and grep
exits 1 when nothing matches (which Dokploy may report as a failure). Searching is therefore done here, on whole
records; :func:`safe_search` gives the word that could be sent to Dokploy when a caller prefers to trim the
transfer.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import anyio

from dokploy_mcp.dokploy.errors import DokployAPIError, DokployError
from dokploy_mcp.dokploy.models import Compose
from dokploy_mcp.errors import InputError
from dokploy_mcp.monitoring.containers import ServiceContainer

if TYPE_CHECKING:
    # Only for annotations: the tool layer imports the result models at start-up, and the client pulls in httpx.
    from dokploy_mcp.dokploy.client import DokployClient

__all__ = ["MAX_TAIL", "check_tail", "read_containers", "resolve_service", "safe_search"]

#: Dokploy's bound on ``tail`` (compose.readLogs input schema).
MAX_TAIL = 10_000

_SEARCH_SAFE = re.compile(r"[a-zA-Z0-9 ._-]+")


def check_tail(tail: int, field: str) -> None:
    """Refuse a ``tail`` Dokploy would refuse.

    Raises:
        InputError: (``field``) a tail outside 1 .. :data:`MAX_TAIL`.
    """
    if not 1 <= tail <= MAX_TAIL:
        raise InputError(f"{field} must be between 1 and {MAX_TAIL} (Dokploy's limit), not {tail}", field=field)


def resolve_service(service: str, services: Sequence[str]) -> str:
    """The compose service ``service`` names: itself, else the one service that differs from it only by case.

    Raises:
        InputError: (field ``service``) no such service; the message lists the stack's services.
    """
    if service in services:
        return service
    folded = [name for name in services if name.casefold() == service.strip().casefold()]
    if len(folded) == 1:
        return folded[0]
    known = ", ".join(services) or "none (the compose file does not parse)"
    raise InputError(f"no service {service!r} in this stack's compose file; its services: {known}", field="service")


def safe_search(search: str) -> str | None:
    """The part of a literal search that Dokploy's ``search`` accepts (``[a-zA-Z0-9 ._-]``, grep -iF there).

    The whole search when it qualifies, else its longest run of allowed characters (3 or more), which every line
    holding the search also holds; None when there is no such run. Filtering exactly is still done here.
    """
    text = search.strip()
    if not text:
        return None
    if len(text) <= 500 and _SEARCH_SAFE.fullmatch(text):
        return text
    runs = sorted((run.strip() for run in _SEARCH_SAFE.findall(text)), key=len, reverse=True)
    best = runs[0][:500].strip() if runs else ""
    return best if len(best) >= 3 else None


def _wire_since(since: str) -> str | None:
    # "all" is Dokploy's default (compose.readLogs input schema): leave it out.
    return None if since == "all" else since


async def _read_container(
    client: DokployClient,
    compose: Compose,
    container: ServiceContainer,
    *,
    tail: int,
    since: str,
    server_search: str | None,
) -> str:
    try:
        return await client.compose_read_logs(
            compose.compose_id, container.container_id, tail=tail, since=_wire_since(since), search=server_search
        )
    except DokployAPIError as exc:
        if server_search is None or exc.status < 500:
            raise
        # grep finds nothing -> exit status 1 -> Dokploy answers a server error: read without the search instead.
        return await client.compose_read_logs(
            compose.compose_id, container.container_id, tail=tail, since=_wire_since(since)
        )


async def read_containers(
    client: DokployClient,
    compose: Compose,
    containers: Sequence[ServiceContainer],
    *,
    tail: int,
    since: str,
    server_search: str | None = None,
    concurrency: int | None = None,
) -> tuple[dict[int, str], dict[int, DokployError]]:
    """The logs of ``containers``, read concurrently (at most ``concurrency`` at once; None: all of them).

    Returns what each container answered and what Dokploy raised for each it could not read, both keyed by the
    container's index in ``containers`` and in the order the reads ended. ``since`` is Dokploy's form ("all" or
    ``<n>[smhd]``); ``server_search`` is sent along (see :func:`safe_search`), and dropped for a read Dokploy fails
    on with it.
    """
    raws: dict[int, str] = {}
    failures: dict[int, DokployError] = {}
    limit = anyio.Semaphore(max(1, len(containers) if concurrency is None else concurrency))

    async def read(index: int, container: ServiceContainer) -> None:
        async with limit:
            try:
                raws[index] = await _read_container(
                    client, compose, container, tail=tail, since=since, server_search=server_search
                )
            except DokployError as exc:  # kept out of the task group, which would wrap it in an ExceptionGroup
                failures[index] = exc

    async with anyio.create_task_group() as group:
        for index, container in enumerate(containers):
            group.start_soon(read, index, container)
    return raws, failures
