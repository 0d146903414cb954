"""Containers of a stack matched to compose services: both compose naming styles, the real recordings, the fake."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
import respx

from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.monitoring.containers import (
    ServiceContainer,
    compose_layout,
    containers_by_service,
    parse_status,
    service_of,
    stack_containers,
)
from tests.dokploy.recordings import load, replay
from tests.fake_dokploy import FakeDokploy
from tests.monitoring import samples
from tests.monitoring.samples import recorded_compose

pytestmark = pytest.mark.anyio

SUPABASE_SERVICES = [
    "analytics",
    "auth",
    "db",
    "functions",
    "imgproxy",
    "kong",
    "meta",
    "realtime",
    "rest",
    "storage",
    "studio",
    "supavisor",
    "vector",
]
RECORDED_APP = "compose-calculate-solid-state-application-7higpr"


# -- service_of -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (f"{RECORDED_APP}_web_1", ("web", 1)),  # compose v1, as recorded
        (f"{RECORDED_APP}-web-1", ("web", 1)),  # compose v2
        (f"{RECORDED_APP}-web-3", ("web", 3)),  # a scaled service
        (f"/{RECORDED_APP}_web_2", ("web", 2)),  # docker API names start with a slash
        (f"{RECORDED_APP.upper()}-web-1", ("web", 1)),
        (f"{RECORDED_APP}_web.1.x3ybn5k2cw9qdo0yoiqa3hx2a", ("web", 1)),  # swarm stack task
        (f"{RECORDED_APP}-worker-1", (None, None)),  # no such service
        (f"{RECORDED_APP}-2-web-1", (None, None)),  # another app whose name starts like this one
        (f"{RECORDED_APP}-web", (None, None)),  # no replica number
        (f"{RECORDED_APP}-web-x", (None, None)),
        ("other-app-web-1", (None, None)),
        (RECORDED_APP, (None, None)),
    ],
)
def test_service_of_strips_the_app_name_and_the_replica(name: str, expected: tuple[str | None, int | None]) -> None:
    assert service_of(name, RECORDED_APP, ["web", "db"]) == expected


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("app-my-api-1", ("my-api", 1)),
        ("app_my-api_1", ("my-api", 1)),
        ("app-my_worker-2", ("my_worker", 2)),
        ("app_my_worker_2", ("my_worker", 2)),
        ("app-web-1-1", ("web-1", 1)),  # a service literally named web-1
        ("app-web-1", ("web", 1)),
        ("app_web_1_1", (None, None)),  # "web_1" is no service
    ],
)
def test_service_names_may_hold_dashes_and_underscores(name: str, expected: tuple[str | None, int | None]) -> None:
    assert service_of(name, "app", ["my-api", "my_worker", "web", "web-1"]) == expected


@pytest.mark.parametrize(
    ("recording", "started"),
    [
        ("deployment.readLogs", re.compile(r"^Creating (\S+) \.\.\. done\r?$", re.MULTILINE)),  # compose v1
        ("deployment.readLogs--compose-v2", re.compile(r"^ Container (\S+)  Started$", re.MULTILINE)),  # compose v2
    ],
)
def test_the_containers_real_deploys_started_map_to_their_service(recording: str, started: re.Pattern[str]) -> None:
    # The names compose itself printed on a real Dokploy host, one log per compose version, with that log's app name.
    log: str = load(recording).response_body
    app = re.search(r"App Name: (\S+)", log)
    assert app is not None
    names = started.findall(log)
    assert names == [f"{app.group(1)}{'-web-1' if recording.endswith('v2') else '_web_1'}"]
    assert service_of(names[0], app.group(1), ["web"]) == ("web", 1)
    assert service_of(names[0], app.group(1), ["db"]) == (None, None)


def test_every_supabase_service_is_found_in_both_naming_styles() -> None:
    for separator in "_-":
        for service in SUPABASE_SERVICES:
            name = f"{samples.APP_NAME}{separator}{service}{separator}1"
            assert service_of(name, samples.APP_NAME, SUPABASE_SERVICES) == (service, 1)


def test_an_explicit_container_name_maps_to_its_service() -> None:
    explicit = {"supabase-db": "db"}
    assert service_of("supabase-db", "app", ["db"], explicit) == ("db", None)
    assert service_of("/supabase-db", "app", ["db"], explicit) == ("db", None)
    assert service_of("supabase-kong", "app", ["db", "kong"], explicit) == (None, None)


# -- status text ------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ("Up 13 seconds", (13.0, None, None)),  # recorded
        ("Up Less than a second", (0.0, None, None)),  # recorded (after-start)
        ("Exited (137) Less than a second ago", (None, None, 137)),  # recorded (stopped)
        ("Up 1 second", (1.0, None, None)),
        ("Up About a minute (healthy)", (60.0, "healthy", None)),
        ("Up 5 minutes (unhealthy)", (300.0, "unhealthy", None)),
        ("Up About an hour (health: starting)", (3600.0, "starting", None)),
        ("Up 3 hours", (10800.0, None, None)),
        ("Up 2 days", (172800.0, None, None)),
        ("Up 3 weeks (Paused)", (1814400.0, None, None)),
        ("Restarting (1) 5 seconds ago", (None, None, 1)),
        ("Exited (0) 3 minutes ago", (None, None, 0)),
        ("Created", (None, None, None)),
        ("", (None, None, None)),
        ("No status", (None, None, None)),
        # A broken or hostile Dokploy: thousands of digits made int() raise instead of the status not parsing.
        ("Up " + "9" * 5000 + " years", (None, None, None)),
        ("Exited (" + "9" * 5000 + ") 3 minutes ago", (None, None, None)),
    ],
)
def test_parse_status_reads_dockers_wording(status: str, expected: tuple[float | None, str | None, int | None]) -> None:
    assert parse_status(status) == expected


# -- the compose file -------------------------------------------------------------------------------------------------


def test_compose_layout_lists_the_services_of_the_supabase_template() -> None:
    services, explicit = compose_layout(recorded_compose("compose.one--supabase-imported"))
    assert services == SUPABASE_SERVICES
    assert explicit == {}


def test_compose_layout_reads_container_names_and_survives_a_broken_file() -> None:
    base = recorded_compose("compose.one--redeploy-done")
    named = base.model_copy(update={"compose_file": "services:\n  db:\n    image: x\n    container_name: my-db\n"})
    assert compose_layout(named) == (["db"], {"my-db": "db"})
    for broken in ("services: [unclosed", "just text", "services: 3", ""):
        assert compose_layout(base.model_copy(update={"compose_file": broken})) == ([], {})


# -- stack_containers on the recordings -------------------------------------------------------------------------------


async def test_stack_containers_replays_the_recorded_v1_container(
    router: respx.MockRouter, recorded_client: DokployClient
) -> None:
    compose = recorded_compose("compose.one--redeploy-done")
    recorded = replay(router, "docker.getContainersByAppNameMatch")
    containers = await stack_containers(recorded_client, compose)
    recorded.assert_request_matches()
    assert containers == [
        ServiceContainer(
            service="web",
            container_id="1757721eff9f",
            name=f"{RECORDED_APP}_web_1",
            state="running",
            status="Up 13 seconds",
            replica=1,
            uptime_s=13.0,
        )
    ]
    assert containers[0].running


async def test_stack_containers_reports_a_stopped_container_and_its_exit_code(
    router: respx.MockRouter, recorded_client: DokployClient
) -> None:
    replay(router, "docker.getContainersByAppNameMatch--stopped")
    [container] = await stack_containers(recorded_client, recorded_compose("compose.one--stopped"))
    assert (container.service, container.state, container.exit_code, container.uptime_s) == ("web", "exited", 137, None)
    assert not container.running


async def test_stack_containers_of_a_removed_compose_is_empty(
    router: respx.MockRouter, recorded_client: DokployClient
) -> None:
    replay(router, "docker.getContainersByAppNameMatch--after-delete")
    assert await stack_containers(recorded_client, recorded_compose("compose.one--redeploy-done")) == []


async def test_stack_containers_makes_one_call_for_a_whole_supabase_stack_in_v1_naming(
    router: respx.MockRouter, recorded_client: DokployClient
) -> None:
    rows = samples.container_rows("v1", SUPABASE_SERVICES, replicas={"realtime": 2})
    rows.append({"containerId": "abcdef123456", "name": f"{samples.APP_NAME}_oldservice_1", "state": "exited"})
    route = router.get("/api/docker.getContainersByAppNameMatch").mock(return_value=httpx.Response(200, json=rows))
    containers = await stack_containers(recorded_client, samples.COMPOSE)
    assert route.call_count == 1
    assert dict(route.calls.last.request.url.params) == {"appName": samples.APP_NAME, "appType": "docker-compose"}
    assert [(c.service, c.replica) for c in containers] == [
        *[(s, 1) for s in SUPABASE_SERVICES if s < "realtime"],
        ("realtime", 1),
        ("realtime", 2),
        *[(s, 1) for s in SUPABASE_SERVICES if s > "realtime"],
        (None, None),  # unmatched containers come last
    ]
    assert containers[-1].status == "" and containers[-1].uptime_s is None
    assert all(c.health == "healthy" and c.uptime_s == 300.0 for c in containers[:-1])
    grouped = containers_by_service(containers, SUPABASE_SERVICES)
    assert list(grouped) == SUPABASE_SERVICES
    assert [c.replica for c in grouped["realtime"]] == [1, 2]
    assert sum(len(v) for v in grouped.values()) == len(containers) - 1


async def test_containers_by_service_keeps_services_without_a_container() -> None:
    web = ServiceContainer("web", "1", "app-web-1", "running", "Up 1 second", 1, 1.0)
    stray = ServiceContainer(None, "2", "app-x-1", "running", "Up 1 second", 1, 1.0)
    assert containers_by_service([web, stray], ["db", "web"]) == {"db": [], "web": [web]}
    assert containers_by_service([web, stray]) == {"web": [web]}


async def test_stack_containers_uses_the_compose_container_names_and_its_server(
    router: respx.MockRouter, recorded_client: DokployClient
) -> None:
    compose = recorded_compose("compose.one--redeploy-done").model_copy(
        update={
            "compose_file": "services:\n  db:\n    image: postgres\n    container_name: supabase-db\n  web:\n"
            "    image: busybox\n",
            "server_id": "srv-1",
        }
    )
    rows: list[dict[str, Any]] = [
        {"containerId": "a1", "name": "supabase-db", "state": "running", "status": "Up 2 hours"},
        {"containerId": "b2", "name": f"{RECORDED_APP}-web-1", "state": "running", "status": "Up 2 hours"},
    ]
    route = router.get("/api/docker.getContainersByAppNameMatch").mock(return_value=httpx.Response(200, json=rows))
    containers = await stack_containers(recorded_client, compose)
    assert route.calls.last.request.url.params["serverId"] == "srv-1"
    assert [(c.service, c.replica) for c in containers] == [("db", None), ("web", 1)]


# -- stack_containers on the stateful fake (compose v2 naming) ---------------------------------------------------------


async def test_stack_containers_of_a_deployed_supabase_stack_on_the_fake() -> None:
    fake = FakeDokploy(deploy_polls=0)
    view = fake.add_supabase_stack(deployed=True)
    async with fake.client() as made:
        compose = await made.compose_one(view["composeId"])
        containers = await stack_containers(made, compose)
    assert sorted(c.service for c in containers if c.service) == SUPABASE_SERVICES
    assert all(c.name == f"{compose.app_name}-{c.service}-1" and c.replica == 1 for c in containers)
    assert all(c.running and c.uptime_s == 13.0 for c in containers)
