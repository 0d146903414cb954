"""The e2e suite's reading of build logs (tests/e2e/deploylog.py), run here on the real compose v1 and v2 logs.

The e2e suite needs a real Dokploy, which CI does not have: these cases keep its helpers honest without one. The
logs are in tests/dokploy/deploylogs.py: three recorded ones and a v2 failed pull put together from recorded parts.
"""

from __future__ import annotations

import re

import pytest

from tests.dokploy.deploylogs import (
    E2E_IMAGE,
    V1_APP,
    V1_DONE,
    V1_FAILED,
    V1_IMAGE,
    V2_APP,
    V2_DONE,
    V2_FAILED_PULL,
    v2_failed_pull,
)
from tests.e2e.deploylog import DEPLOYED, failed_pull_problems, registry_host, services_in_deploy_log


def test_the_v2_failed_pull_never_names_the_repository_path() -> None:
    # What broke the e2e case under v2: its old assertion looked for the repository path.
    assert "does-not-exist" not in V2_FAILED_PULL
    assert "does-not-exist" in V1_FAILED


@pytest.mark.parametrize(
    ("log", "image"),
    [
        pytest.param(V1_FAILED, V1_IMAGE, id="v1-recorded"),
        pytest.param(V2_FAILED_PULL, E2E_IMAGE, id="v2"),
        pytest.param(v2_failed_pull(V1_IMAGE), V1_IMAGE, id="v2-local-registry"),
    ],
)
def test_a_failed_pull_is_recognised_in_both_wordings(log: str, image: str) -> None:
    assert failed_pull_problems(log, service="web", image=image) == []


def test_a_failed_pull_is_recognised_without_the_repository_path() -> None:
    # The v1 log with its repository path renamed still counts: the path is not what the check reads.
    renamed = V1_FAILED.replace("does-not-exist", "something-else")
    assert failed_pull_problems(renamed, service="web", image=V1_IMAGE) == []


@pytest.mark.parametrize("log", [V1_DONE, V2_DONE], ids=["v1", "v2"])
def test_a_deploy_that_worked_is_no_failed_pull(log: str) -> None:
    problems = failed_pull_problems(log, service="web", image=V1_IMAGE)
    assert f"the log says {DEPLOYED!r}" in problems
    assert any("no line starts the pull of service 'web'" in p for p in problems)


@pytest.mark.parametrize("log", [V1_FAILED, V2_FAILED_PULL], ids=["v1", "v2"])
def test_a_failed_pull_of_another_service_or_registry_does_not_count(log: str) -> None:
    assert failed_pull_problems(log, service="db", image=E2E_IMAGE) != []
    assert failed_pull_problems(log, service="we", image=E2E_IMAGE) != []  # a prefix of the service is not it
    other = failed_pull_problems(log, service="web", image="registry.example.com/x:latest")
    assert other == ["the registry host 'registry.example.com' is not named from the pull on"]


@pytest.mark.parametrize(("log", "image"), [(V1_FAILED, V1_IMAGE), (V2_FAILED_PULL, E2E_IMAGE)], ids=["v1", "v2"])
def test_a_pull_without_an_error_line_does_not_count(log: str, image: str) -> None:
    started = re.search(r"Pulling web \(| web Pulling", log)
    assert started is not None
    quiet = log[: started.start()] + re.sub(r"(?i)\berror\b", "problem", log[started.start() :])
    assert failed_pull_problems(quiet, service="web", image=image) == ["no error line after the pull started"]


def test_an_image_without_a_registry_host_is_refused() -> None:
    with pytest.raises(ValueError, match="names no registry host"):
        failed_pull_problems(V1_FAILED, service="web", image="busybox:latest")


@pytest.mark.parametrize(
    ("image", "host"),
    [
        ("127.0.0.1:5000/does-not-exist:latest", "127.0.0.1:5000"),
        ("dokploy-mcp-e2e.invalid/x/y:1", "dokploy-mcp-e2e.invalid"),
        ("localhost/x", "localhost"),
        ("busybox", None),
        ("library/busybox:1.36", None),
        ("supabase/gotrue:v2", None),
    ],
)
def test_registry_host_follows_dockers_rule(image: str, host: str | None) -> None:
    assert registry_host(image) == host


@pytest.mark.parametrize(
    ("log", "app"),
    [(V1_DONE, V1_APP), (V2_DONE, V2_APP)],
    ids=["v1 <app>_web_1", "v2 <app>-web-1"],
)
def test_the_container_of_the_service_is_found_in_either_naming(log: str, app: str) -> None:
    assert services_in_deploy_log(log, app, ["web"]) == {"web"}
    # The network "<app>_default" and the volume "<app>_data" are no services, nor is the app of the other log.
    assert services_in_deploy_log(log, app, ["default", "data"]) == set()
    assert services_in_deploy_log(log, V2_APP if app == V1_APP else V1_APP, ["web"]) == set()


def test_a_failed_deploy_names_no_container() -> None:
    assert services_in_deploy_log(V1_FAILED, V1_APP, ["web"]) == set()
    assert services_in_deploy_log(V2_FAILED_PULL, V2_APP, ["web"]) == set()
