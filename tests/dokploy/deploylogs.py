"""The build logs of compose deploys under compose v1 and v2, for the tests that read them.

Recorded: ``deployment.readLogs`` (v1, done), ``deployment.readLogs--failed-deploy`` (v1, image not found),
``deployment.readLogs--compose-v2`` (v2, done). No v2 failed pull was recorded; :data:`V2_FAILED_PULL` is put
together from recorded parts and compose v2's source (see :func:`v2_failed_pull`).
"""

from __future__ import annotations

import re

from tests.dokploy.recordings import load
from tests.e2e.deploylog import UNREACHABLE_REGISTRY, registry_host

__all__ = [
    "E2E_IMAGE",
    "V1_APP",
    "V1_DONE",
    "V1_FAILED",
    "V1_IMAGE",
    "V2_APP",
    "V2_DONE",
    "V2_FAILED_PULL",
    "v2_failed_pull",
]

V1_DONE: str = load("deployment.readLogs").response_body
V1_FAILED: str = load("deployment.readLogs--failed-deploy").response_body
V2_DONE: str = load("deployment.readLogs--compose-v2").response_body

V1_APP = "compose-calculate-solid-state-application-7higpr"
V2_APP = "compose-copy-redundant-hard-drive-2ubwmt"
V1_IMAGE = "127.0.0.1:5000/does-not-exist:latest"  # the image of the recorded failed deploy
E2E_IMAGE = f"{UNREACHABLE_REGISTRY}/does-not-exist-0a1b2c:latest"  # like the e2e case's image


def v2_failed_pull(image: str) -> str:
    """A v2 build log of a failed pull of ``image`` for service ``web``.

    Header: the real v2 log up to compose's first line. Compose lines: the plain progress writer prints
    ``fmt.Fprintln(out, "", ID, Text, StatusText)``, and pullServiceImage sends ID ``web`` with Text ``Pulling``,
    then Text ``Error`` (docker/compose pkg/compose/pull.go, pkg/progress/plain.go). Daemon message: as recorded in
    ``deployment.readLogs--volume-backup-error`` for an unresolvable registry, with the host swapped. Trailer:
    Dokploy's own lines from the v1 failed log (they do not depend on the compose version).
    """
    host = registry_host(image)
    assert host is not None
    header = V2_DONE[: V2_DONE.index(" Network ")]
    trailer = V1_FAILED[V1_FAILED.index("Error: ") :]
    daemon = load("deployment.readLogs--volume-backup-error").response_body
    message = re.search(r"Error response from daemon: .*", daemon)
    assert message is not None
    return (
        header
        + " web Pulling \n web Error \n"
        + message.group(0).replace("registry-1.docker.io", host)
        + "\n"
        + trailer
    )


V2_FAILED_PULL = v2_failed_pull(E2E_IMAGE)
