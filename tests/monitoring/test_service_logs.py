"""One service's logs: read through Dokploy (the recordings and the samples), merged, filtered and capped."""

from __future__ import annotations

import json

import httpx
import pytest
import respx

from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.errors import DokployAPIError
from dokploy_mcp.errors import InputError
from dokploy_mcp.monitoring.loglines import UNTRUSTED
from dokploy_mcp.monitoring.service_logs import LogsResult, service_logs
from tests.dokploy.recordings import load, replay
from tests.monitoring import samples
from tests.monitoring.logkit import MASK, NOW, client_for, parsed, sample_dokploy
from tests.monitoring.samples import recorded_compose

pytestmark = pytest.mark.anyio


# -- on the recordings ---------------------------------------------------------------------------------------------


async def test_service_logs_replays_the_recorded_container_logs(
    router: respx.MockRouter, recorded_client: DokployClient
) -> None:
    containers = replay(router, "docker.getContainersByAppNameMatch")
    logs = replay(router, "compose.readLogs")
    result = await service_logs(
        recorded_client, recorded_compose("compose.one--redeploy-done"), "web", tail=20, mask=MASK
    )
    containers.assert_request_matches()
    logs.assert_request_matches()  # tail 20, no since ("all" is Dokploy's default), no search
    assert result.lines == [
        "2026-11-22T14:50:02.276Z hello world",
        "2026-11-22T14:50:07.277Z hello world",
        "2026-11-22T14:50:12.280Z hello world",
    ]
    assert (result.matched, result.truncated, result.since) == (3, False, "all")
    assert [c.name for c in result.containers] == ["compose-calculate-solid-state-application-7higpr_web_1"]
    assert result.untrusted == UNTRUSTED


async def test_service_logs_can_send_the_search_and_since_to_dokploy(
    router: respx.MockRouter, recorded_client: DokployClient
) -> None:
    replay(router, "docker.getContainersByAppNameMatch")
    logs = replay(router, "compose.readLogs--since-search")
    result = await service_logs(
        recorded_client,
        recorded_compose("compose.one--redeploy-done"),
        "WEB",
        tail=100,
        since="5m",
        search="hello",
        server_search=True,
        mask=MASK,
    )
    logs.assert_request_matches()
    assert result.service == "web" and result.since == "5m" and len(result.lines) == 3


async def test_service_logs_reads_again_without_the_search_when_dokploy_fails_on_it(
    router: respx.MockRouter, recorded_client: DokployClient
) -> None:
    replay(router, "docker.getContainersByAppNameMatch")
    recorded = load("compose.readLogs").response_body
    route = router.get("/api/compose.readLogs").mock(
        side_effect=[httpx.Response(500, json={"message": "Command failed"}), httpx.Response(200, json=recorded)]
    )
    result = await service_logs(
        recorded_client,
        recorded_compose("compose.one--redeploy-done"),
        "web",
        search="hello",
        server_search=True,
        mask=MASK,
    )
    assert [call.request.url.params.get("search") for call in route.calls] == ["hello", None]
    assert len(result.lines) == 3


# -- on the samples ------------------------------------------------------------------------------------------------


async def test_service_logs_of_an_unknown_service_lists_the_services() -> None:
    double = sample_dokploy()
    async with client_for(double) as client:
        with pytest.raises(InputError) as raised:
            await service_logs(client, samples.COMPOSE, "postgres", mask=MASK)
    assert raised.value.field == "service"
    assert "analytics, auth, db" in str(raised.value)
    assert double.requests == []


async def test_service_logs_of_a_service_without_container_says_so() -> None:
    double = sample_dokploy(replicas={})
    double.rows = [row for row in double.rows if "-meta-" not in row["name"]]
    async with client_for(double) as client:
        result = await service_logs(client, samples.COMPOSE, "meta", mask=MASK)
    assert result.lines == [] and result.containers == []
    assert "no container runs service 'meta'" in result.notes[0]
    assert double.read_calls() == []


@pytest.mark.parametrize("style", ["v1", "v2"])
async def test_service_logs_by_service_name_in_both_naming_styles(style: str) -> None:
    double = sample_dokploy(style)
    async with client_for(double) as client:
        result = await service_logs(client, samples.COMPOSE, "db", tail=500, mask=MASK)
    [call] = double.read_calls()
    assert call["containerId"] == samples.container_id("db") and call["tail"] == "500" and "since" not in call
    assert len(result.lines) == 9 and result.matched == 9
    assert result.lines[2].startswith("2026-11-22T15:00:05.200Z 172.22.0.9 ")
    assert isinstance(result, LogsResult) and LogsResult.model_validate_json(result.model_dump_json()) == result


async def test_replicas_of_a_service_are_merged_in_time_order_with_records_kept_whole() -> None:
    second = (
        "2026-11-22T15:00:12.000050000Z 15:00:12.000 [info] replica two is up\n"
        "2026-11-22T15:00:09.500000000Z 15:00:09.500 [warning] replica two is late\n"
    )
    double = sample_dokploy(replicas={"realtime": 2}, logs={samples.container_id("realtime", 2): second})
    async with client_for(double) as client:
        result = await service_logs(client, samples.COMPOSE, "realtime", mask=MASK)
    assert len(result.containers) == 2 and len(double.read_calls()) == 2
    texts = [line.split(" ", 1)[1] for line in result.lines]
    assert texts.index("15:00:09.500 [warning] replica two is late") < texts.index(
        "15:00:10.000 project=realtime-dev external_id=realtime-dev [error] Auth error: tenant `realtime-dev` not found"
    )
    crash = texts.index("15:00:12.000 [error] GenServer #PID<0.3124.0> terminating")
    # The replica-two line of 15:00:12.00005 sorts after the whole crash record, not inside it.
    assert texts[crash + 5] == "15:00:12.000 [info] replica two is up"
    assert texts[crash + 4] == "Last message: {:continue, :db_connect}"


async def test_search_keeps_whole_records_and_ignores_case() -> None:
    double = sample_dokploy()
    async with client_for(double) as client:
        result = await service_logs(client, samples.COMPOSE, "functions", search="object.HANDLER", mask=MASK)
        masked = await service_logs(client, samples.COMPOSE, "functions", search=samples.JWT_SECRET, mask=MASK)
    assert [line.split(" ", 1)[1] for line in result.lines] == [
        "TypeError: Cannot read properties of undefined (reading 'id')",
        "    at Object.handler (file:///home/deno/functions/hello/index.ts:12:27)",
        "    at async Server.<anonymous> (ext:sb_core_main_js/js/http.js:58:20)",
    ]
    assert "search" not in double.read_calls()[0]  # filtered here, not by Dokploy
    assert masked.lines == []  # a secret cannot be searched for: lines only hold its mask


async def test_level_and_time_window_filters() -> None:
    double = sample_dokploy()
    async with client_for(double) as client:
        errors = await service_logs(client, samples.COMPOSE, "db", level="error", mask=MASK)
        warnings_up = await service_logs(client, samples.COMPOSE, "kong", level="warn", mask=MASK)
        window = await service_logs(
            client,
            samples.COMPOSE,
            "db",
            since="2026-11-22T15:00:05Z",
            until="2026-11-22T15:01:00Z",
            mask=MASK,
            now=NOW,
        )
        with pytest.raises(InputError) as raised:
            await service_logs(client, samples.COMPOSE, "db", level="loud", mask=MASK)
    assert raised.value.field == "level"
    assert len(errors.lines) == 6 and all(
        ("FATAL" in x or "DETAIL" in x or "ERROR" in x or "STATEMENT" in x) for x in errors.lines
    )
    assert len(warnings_up.lines) == 5  # the [notice] line is info
    assert window.since == "596s"
    assert double.read_calls()[2]["since"] == "596s"
    assert [line[:24] for line in window.lines] == ["2026-11-22T15:00:05.200Z"] * 2 + ["2026-11-22T15:00:09.300Z"] * 2


async def test_caps_keep_the_most_recent_lines_with_a_note() -> None:
    double = sample_dokploy()
    async with client_for(double) as client:
        by_lines = await service_logs(client, samples.COMPOSE, "db", max_lines=2, mask=MASK)
        by_bytes = await service_logs(client, samples.COMPOSE, "storage", max_bytes=4096, mask=MASK)
        with pytest.raises(InputError) as raised:
            await service_logs(client, samples.COMPOSE, "db", tail=10_001, mask=MASK)
    assert raised.value.field == "tail"
    assert by_lines.truncated and by_lines.matched == 9 and len(by_lines.lines) == 2
    assert by_lines.lines[-1].endswith("LOG:  checkpoint starting: time")
    assert by_lines.truncated_reason is not None and "last 2" in by_lines.truncated_reason
    assert "2 lines" in by_lines.truncated_reason
    # The cut 4,000-character line alone fits in 4 KB only just; the lines before it do not.
    assert by_bytes.truncated and "4096 bytes" in (by_bytes.truncated_reason or "")
    assert sum(len(line.encode()) + 1 for line in by_bytes.lines) <= 4096


async def test_a_stopped_container_is_read_and_noted() -> None:
    double = sample_dokploy(replicas={})
    for row in double.rows:
        if "-rest-" in row["name"]:
            row.update(state="exited", status="Exited (1) 2 minutes ago")
    async with client_for(double) as client:
        result = await service_logs(client, samples.COMPOSE, "rest", mask=MASK)
    assert len(result.lines) == 6
    assert result.notes == [f"not running: {samples.APP_NAME}-rest-1 (its last lines are shown)"]


async def test_service_logs_raises_dokploys_error_itself() -> None:
    double = sample_dokploy(failing=frozenset({samples.container_id("db")}))
    async with client_for(double) as client:
        with pytest.raises(DokployAPIError):
            await service_logs(client, samples.COMPOSE, "db", mask=MASK)


def test_results_serialise_to_json() -> None:
    line = parsed("db")[2]
    dumped = json.loads(LogsResult(service="db", containers=[], lines=[], matched=0, since="all").model_dump_json())
    assert dumped["untrusted"] == UNTRUSTED
    assert line.render().startswith("2026-11-22T15:00:05.200Z")
