"""What a Dokploy compose build log shows, read in words that Docker Compose v1 and v2 both print.

Real Dokploy hosts run compose v2; the recordings of 2026-11-22 were made under v1. The two word things
differently (recordings ``deployment.readLogs--failed-deploy`` / ``deployment.readLogs`` under v1,
``deployment.readLogs--compose-v2`` under v2; pull wording from compose v2's ``pkg/compose/pull.go`` and
``pkg/progress/plain.go``):

- a pull: v1 ``Pulling web (host/repo:tag)...``; v2 `` web Pulling`` (the service only, no image);
- a failed pull: v1 prints the daemon's message (``manifest for host/repo:tag not found``); v2 `` web Error`` and
  the daemon's message, which for an unreachable registry names only the host (``Get "https://host/v2/": ...``);
- a container: v1 ``Creating app_web_1 ... done``; v2 ``Container app-web-1  Started``.

So a failed pull is recognised by the service, the registry host and an error line, never by the repository path.
Dokploy's own lines around compose's output ("Docker Compose Deployed", "Error: ... Docker command failed") do
not depend on the compose version. Kept apart from conftest.py so that unit tests can import it (tests/dokploy).
"""

from __future__ import annotations

import re
from collections.abc import Collection

from dokploy_mcp.monitoring.containers import service_of

__all__ = ["DEPLOYED", "UNREACHABLE_REGISTRY", "failed_pull_problems", "registry_host", "services_in_deploy_log"]

#: A registry host that never resolves (.invalid, RFC 2606): a pull from it fails alike on every Dokploy host.
UNREACHABLE_REGISTRY = "dokploy-mcp-e2e.invalid"
#: Dokploy's last line of a compose deploy that worked, the same under v1 and v2 (both recordings end with it).
DEPLOYED = "Docker Compose Deployed"
_ERROR = re.compile(r"\berror\b", re.IGNORECASE)


def registry_host(image: str) -> str | None:
    """The registry host of an image reference (``127.0.0.1:5000/x:1`` -> ``127.0.0.1:5000``); None for Docker Hub.

    Docker's rule (distribution/reference): the first path component is a host when it holds a ``.`` or a ``:``
    or is ``localhost``.
    """
    first, slash, _ = image.partition("/")
    if slash and ("." in first or ":" in first or first == "localhost"):
        return first
    return None


def _pull_started(service: str) -> re.Pattern[str]:
    name = re.escape(service)
    # v1: "Pulling web (image)..."; v2's plain progress writer: " web Pulling " (leading and trailing space).
    return re.compile(rf"^(?:Pulling {name} \(|[ \t]*{name}[ \t]+Pulling\b)", re.MULTILINE)


def failed_pull_problems(log: str, *, service: str, image: str) -> list[str]:
    """Why ``log`` does not show a failed pull of ``image`` for ``service``; an empty list when it does.

    It shows one when a line says the service's pull started, and from there on the log names the image's
    registry host and has an error line, and Dokploy did not report the deploy as deployed. ``image`` must name
    its registry host: Docker Hub's errors name the repository instead, which v1 and v2 print differently.
    """
    host = registry_host(image)
    if host is None:
        raise ValueError(f"{image!r} names no registry host; use one such as 'registry.invalid/x:latest'")
    problems: list[str] = []
    if DEPLOYED in log:
        problems.append(f"the log says {DEPLOYED!r}")
    started = _pull_started(service).search(log)
    if started is None:
        problems.append(
            f"no line starts the pull of service {service!r} (v1 'Pulling {service} (', v2 '{service} Pulling')"
        )
        return problems
    after = log[started.start() :]
    if host not in after:
        problems.append(f"the registry host {host!r} is not named from the pull on")
    if _ERROR.search(log, started.end()) is None:
        problems.append("no error line after the pull started")
    return problems


# A token that starts with the app name followed by a compose separator; quotes, spaces and "(" end it.
def _container_tokens(app_name: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w.-]){re.escape(app_name)}[-_][\w.-]+", re.IGNORECASE)


def services_in_deploy_log(log: str, app_name: str, services: Collection[str]) -> set[str]:
    """The compose services whose containers the build log names, in either naming style (``app_web_1``,
    ``app-web-1``), mapped by the server's own :func:`service_of`. Networks and volumes (``app_default``) match
    no service and are left out."""
    found: set[str] = set()
    for token in _container_tokens(app_name).findall(log):
        service, _ = service_of(token.rstrip("."), app_name, services)
        if service is not None:
            found.add(service)
    return found
