"""deploy_and_wait over sequences of real recordings: a first deploy, a redeploy, a failed deploy, a timeout, and
the build logs of compose v2."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.deployments import deploy_and_wait, report
from dokploy_mcp.dokploy.logtext import clean_log_text
from tests.dokploy.deploylogs import E2E_IMAGE, V2_FAILED_PULL
from tests.dokploy.recordings import load, replay
from tests.e2e.deploylog import failed_pull_problems

pytestmark = pytest.mark.anyio

COMPOSE = load("compose.deploy").body["composeId"]


class FakeTime:
    def __init__(self) -> None:
        self.now = 0.0

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def sequence(router: respx.MockRouter, *names: str) -> respx.Route:
    """deployment.allByCompose answering each recording in turn (the last one repeats)."""
    answers = [load(name).response() for name in names]
    route = router.get("/api/deployment.allByCompose", params={"composeId": COMPOSE})

    def answer(_: httpx.Request) -> httpx.Response:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    return route.mock(side_effect=answer)


async def test_first_deploy_is_followed_until_done(router: respx.MockRouter, client: DokployClient) -> None:
    sequence(
        router,
        "deployment.allByCompose--empty",
        "deployment.allByCompose--first-deploy-running",
        "deployment.allByCompose--first-deploy-done",
    )
    deploy = replay(router, "compose.deploy")
    fake, progress = FakeTime(), []

    async def record(message: str) -> None:
        progress.append(message)

    outcome = await deploy_and_wait(
        client, COMPOSE, title="first deploy", sleep=fake.sleep, clock=fake.clock, on_progress=record
    )

    assert json.loads(deploy.request.content)["title"] == "first deploy"
    done = load("deployment.allByCompose--first-deploy-done").response_body[0]
    assert outcome.succeeded
    assert outcome.deployment is not None and outcome.deployment.deployment_id == done["deploymentId"]
    assert outcome.log_tail is None
    assert progress == [f"deployment {done['deploymentId']}: running", f"deployment {done['deploymentId']}: done"]


async def test_redeploy_ignores_the_earlier_finished_deployment(
    router: respx.MockRouter, client: DokployClient
) -> None:
    # Before the call, the first deploy is already done: that row must not be mistaken for the outcome.
    sequence(
        router,
        "deployment.allByCompose--first-deploy-done",
        "deployment.allByCompose--first-deploy-done",
        "deployment.allByCompose--redeploy-running",
        "deployment.allByCompose--redeploy-done",
    )
    replay(router, "compose.redeploy")
    fake = FakeTime()

    outcome = await deploy_and_wait(client, COMPOSE, redeploy=True, sleep=fake.sleep, clock=fake.clock)

    redeployed = load("deployment.allByCompose--redeploy-done").response_body[0]
    assert outcome.status == "done"
    assert outcome.deployment is not None and outcome.deployment.deployment_id == redeployed["deploymentId"]
    assert fake.now == 4.0  # two polls without the new row finished, one poll interval each


async def test_failed_deploy_returns_error_and_the_log_tail(router: respx.MockRouter, client: DokployClient) -> None:
    sequence(
        router,
        "deployment.allByCompose--redeploy-done",
        "deployment.allByCompose--failed-deploy-running",
        "deployment.allByCompose--failed-deploy-error",
    )
    replay(router, "compose.deploy--bad-image")
    log = replay(router, "deployment.readLogs--failed-deploy")
    fake = FakeTime()

    outcome = await deploy_and_wait(
        client, COMPOSE, title="deploy with missing image", log_lines=100, sleep=fake.sleep, clock=fake.clock
    )

    assert outcome.status == "error"
    log.assert_request_matches()
    assert outcome.log_tail == log.recording.response_body
    assert "manifest unknown" in (outcome.log_tail or "")


async def test_a_deployment_that_never_finishes_times_out_with_its_log(
    router: respx.MockRouter, client: DokployClient
) -> None:
    sequence(router, "deployment.allByCompose--redeploy-done", "deployment.allByCompose--failed-deploy-running")
    replay(router, "compose.deploy--bad-image")
    replay(router, "deployment.readLogs--failed-deploy")
    fake = FakeTime()

    outcome = await deploy_and_wait(client, COMPOSE, wait_seconds=30, sleep=fake.sleep, clock=fake.clock)

    assert outcome.status == "timeout"
    assert outcome.deployment is not None and outcome.deployment.status == "running"
    assert outcome.log_tail
    assert outcome.waited_seconds >= 30


# -- compose v2 wording (what real Dokploy hosts run) ------------------------------------------------------------------


def _clean(text: str) -> str:
    return clean_log_text(text, mask=lambda raw: raw)


async def test_a_failed_v2_deploy_keeps_composes_error_lines_in_its_tail(
    router: respx.MockRouter, client: DokployClient
) -> None:
    sequence(
        router,
        "deployment.allByCompose--redeploy-done",
        "deployment.allByCompose--failed-deploy-running",
        "deployment.allByCompose--failed-deploy-error",
    )
    replay(router, "compose.deploy--bad-image")
    failed = load("deployment.allByCompose--failed-deploy-error").response_body[0]["deploymentId"]
    # The default tail (80 lines) is asked for; compose v2 ends its output with the failure, Dokploy adds its trailer.
    logs = router.get("/api/deployment.readLogs", params={"deploymentId": failed, "tail": "80"})
    logs.mock(return_value=httpx.Response(200, json=V2_FAILED_PULL))
    fake = FakeTime()

    outcome = await deploy_and_wait(client, COMPOSE, sleep=fake.sleep, clock=fake.clock)
    shown = report(outcome, _clean).log_tail

    assert outcome.status == "error"
    assert shown == V2_FAILED_PULL
    assert ' web Pulling \n web Error \nError response from daemon: Get "https://dokploy-mcp-e2e.invalid/v2/"' in shown
    assert failed_pull_problems(shown, service="web", image=E2E_IMAGE) == []


async def test_a_v2_deploy_still_running_at_the_deadline_reports_its_log_as_written(
    router: respx.MockRouter, client: DokployClient
) -> None:
    sequence(router, "deployment.allByCompose--redeploy-done", "deployment.allByCompose--failed-deploy-running")
    replay(router, "compose.deploy--bad-image")
    router.get("/api/deployment.readLogs").mock(return_value=load("deployment.readLogs--compose-v2").response())
    fake = FakeTime()

    outcome = await deploy_and_wait(client, COMPOSE, wait_seconds=10, sleep=fake.sleep, clock=fake.clock)
    shown = report(outcome, _clean).log_tail

    # v2's plain progress lines start with a space and pad with two: cleaning keeps them, and every other line.
    v2_log: str = load("deployment.readLogs--compose-v2").response_body
    assert outcome.status == "timeout"
    assert shown == v2_log
    assert " Container compose-copy-redundant-hard-drive-2ubwmt-web-1  Started\n" in shown
