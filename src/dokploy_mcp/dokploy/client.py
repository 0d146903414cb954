"""Async client for the Dokploy REST API (v0.30.2): :class:`DokployClient`.

The client is put together from one class per concern. The HTTP side, with its limits (one deadline per call,
retries of GETs only, a size and a depth cap, no secret passing through), is
:class:`~dokploy_mcp.dokploy.transport.DokployTransport`; :mod:`~dokploy_mcp.dokploy.typed` checks the shape of
the answers. Each group of endpoints, whose typed methods (``compose_one``, ``domain_update``...) send exactly the
fields of Dokploy's OpenAPI document and return trimmed models from :mod:`dokploy_mcp.dokploy.models`, has its own
module: settings, users, projects, compose, lifecycle (deploys, deployments, containers, logs), domains, backups.
"""

from __future__ import annotations

from dokploy_mcp.dokploy.backups import BackupEndpoints
from dokploy_mcp.dokploy.compose import ComposeEndpoints
from dokploy_mcp.dokploy.domains import DomainEndpoints
from dokploy_mcp.dokploy.lifecycle import LifecycleEndpoints
from dokploy_mcp.dokploy.projects import ProjectEndpoints
from dokploy_mcp.dokploy.settings import SettingsEndpoints
from dokploy_mcp.dokploy.users import UserEndpoints

__all__ = ["DokployClient"]


class DokployClient(
    SettingsEndpoints,
    UserEndpoints,
    ProjectEndpoints,
    ComposeEndpoints,
    LifecycleEndpoints,
    DomainEndpoints,
    BackupEndpoints,
):
    """One Dokploy server, reached over its REST API.

    Use it as an async context manager, or call :meth:`aclose`. Requests of one client run at most
    ``max_concurrency`` at a time. GETs are retried with exponential backoff on 429/502/503/504 and on connection
    failures, honouring ``Retry-After`` up to ``max_retry_after`` seconds; POSTs are never retried. ``timeout`` is
    the deadline of each whole call, retries included (see :mod:`dokploy_mcp.dokploy.transport`).

    Every method raises a :class:`~dokploy_mcp.dokploy.errors.DokployError` subclass on failure:
    ``DokployTransportError`` / ``DokployTimeoutError`` when Dokploy cannot be reached or the deadline passed, a
    ``DokployAPIError`` subclass when it answers an error status, ``DokployResponseError`` when its answer has the
    wrong shape (``DokployProtocolError`` when it is past the size or depth cap).
    """

    def __repr__(self) -> str:
        return f"DokployClient(name={self.name!r}, base_url={self.base_url!r})"
