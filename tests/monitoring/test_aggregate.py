"""All services' logs merged, with a summary: counts, the most frequent errors, the first error after a deployment."""

from __future__ import annotations

from typing import Any

import pytest

from dokploy_mcp.dokploy.models import Deployment
from dokploy_mcp.errors import InputError
from dokploy_mcp.monitoring.aggregate import Aggregate, aggregate, last_deployment
from dokploy_mcp.monitoring.loglines import UNTRUSTED
from tests.monitoring import samples
from tests.monitoring.logkit import MASK, NOW, SECRETS, SampleDokploy, at, client_for, sample_dokploy
from tests.monitoring.samples import recorded_compose

pytestmark = pytest.mark.anyio

#: (errors, warnings, lines) per service of the samples, read in full.
SAMPLE_COUNTS = {
    "analytics": (2, 0, 3),
    "auth": (2, 1, 7),
    "db": (3, 0, 9),
    "functions": (1, 0, 6),
    "imgproxy": (0, 0, 1),
    "kong": (2, 3, 6),
    "meta": (0, 0, 0),
    "realtime": (2, 0, 8),
    "rest": (1, 1, 6),
    "storage": (1, 1, 3),
    "studio": (1, 0, 2),
    "supavisor": (0, 0, 0),
    "vector": (0, 1, 2),
}
#: The three errors the samples repeat: (normalised message, count, services).
SAMPLE_TOP_ERRORS = {
    (
        "<n>: invalid JWT: invalid JWT: unable to parse or verify signature, token signature is invalid",
        2,
        ("auth",),
    ),
    (
        '<ip> <time> [<n>] supabase_admin@_supabase FATAL: password authentication failed for user "<v>"',
        2,
        ("db",),
    ),
    (
        "<time> [error] Postgrex.Protocol (#PID<<n>>) failed to connect: ** (Postgrex.Error) FATAL 28P01 "
        '(invalid_password) password authentication failed for user "<v>"',
        2,
        ("analytics",),
    ),
}


async def run_aggregate(double: SampleDokploy, **options: Any) -> Aggregate:
    options.setdefault("deployments", [samples.OLDER_DEPLOYMENT, samples.DEPLOYMENT])
    options.setdefault("since", "all")
    async with client_for(double) as client:
        return await aggregate(client, samples.COMPOSE, mask=MASK, now=NOW, **options)


@pytest.mark.parametrize("style", ["v1", "v2"])
async def test_aggregate_summarises_every_service(style: str) -> None:
    result = await run_aggregate(sample_dokploy(style))
    summary = result.summary
    counts = {name: (s.errors, s.warnings, s.lines) for name, s in summary.per_service.items()}
    assert counts == SAMPLE_COUNTS
    assert summary.per_service["meta"].note == "no container (never deployed, or removed)"
    assert summary.per_service["db"].containers == [
        f"{samples.APP_NAME}{'_' if style == 'v1' else '-'}db{'_' if style == 'v1' else '-'}1: Up 5 minutes (healthy)"
    ]
    assert {(e.message, e.count, tuple(e.services)) for e in summary.top_errors[:3]} == SAMPLE_TOP_ERRORS
    db_error = next(e for e in summary.top_errors if e.services == ["db"])
    assert (db_error.first_seen, db_error.last_seen) == ("2026-11-22T15:00:05.200Z", "2026-11-22T15:00:09.300Z")
    assert "FATAL:  password authentication failed" in db_error.example
    # 12 kinds of error in all: the 10 most frequent are listed, the three repeated ones first.
    assert len(summary.top_errors) == 10 and [e.count for e in summary.top_errors[3:]] == [1] * 7
    # The rest error of 14:59:50 is before the deployment; the db's FATAL is the first one after it.
    first = summary.first_error_after_last_deployment
    assert first is not None and first.service == "db" and first.timestamp == at("2026-11-22T15:00:05.2Z")
    assert summary.last_deployment is not None and summary.last_deployment.deployment_id == "dep-2"
    # Merged in time order, each line tagged with its service.
    assert result.lines[0] == (
        "2026-11-22T14:59:50.000Z rest | 22/Nov/2026:14:59:50 +0000: Failed to load the schema cache. "
        '{"code":"PGRST002","details":null,"hint":null,"message":"Could not query the database for the schema cache. '
        'Retrying."}'
    )
    moments = [line[:24] for line in result.lines]
    assert moments == sorted(moments)
    assert result.matched == len(result.lines) == sum(c[2] for c in counts.values())
    assert not any(secret in "\n".join(result.lines) for secret in SECRETS)
    assert result.untrusted == UNTRUSTED
    assert Aggregate.model_validate_json(result.model_dump_json()).summary == summary


async def test_aggregate_filters_by_level_pattern_services_and_window() -> None:
    double = sample_dokploy()
    errors = await run_aggregate(double, level="error", services=["db", "realtime"])
    assert {line.split(" ")[1] for line in errors.lines} == {"db", "realtime"}
    assert len(errors.lines) == 6 + 6
    assert set(errors.summary.per_service) == {"db", "realtime"}
    everything = await run_aggregate(sample_dokploy(), services=[])
    assert len(everything.summary.per_service) == 13
    assert {call["containerId"] for call in double.read_calls()} == {
        samples.container_id("db"),
        samples.container_id("realtime"),
    }
    pattern = await run_aggregate(sample_dokploy(), pattern=r"password\s+authentication")
    assert {line.split(" ")[1] for line in pattern.lines} == {"db", "analytics"}
    assert len(pattern.lines) == 4 + 2  # the db FATAL records keep their DETAIL lines
    assert pattern.summary.per_service["auth"].errors == 2  # the summary covers the window, not the filters
    window = await run_aggregate(sample_dokploy(), since="2026-11-22T15:01:00Z", until="2026-11-22T15:01:59Z")
    assert window.since == "541s" and window.until == "2026-11-22T15:01:59.000Z"
    assert all("2026-11-22T15:01" in line[:24] for line in window.lines)
    assert window.summary.per_service["db"].errors == 1
    assert window.summary.first_error_after_last_deployment is not None  # looked for in everything read


async def test_aggregate_argument_errors_name_their_field() -> None:
    cases: list[tuple[dict[str, Any], str]] = [
        ({"services": ["postgres"]}, "service"),
        ({"pattern": "(unclosed"}, "pattern"),
        ({"level": "chatty"}, "level"),
        ({"tail_per_service": 0}, "tail_per_service"),
        ({"max_lines": 0}, "max_lines"),
        ({"max_bytes": 10}, "max_bytes"),
        ({"since": "later"}, "since"),
    ]
    for options, field in cases:
        with pytest.raises(InputError) as raised:
            await run_aggregate(sample_dokploy(), **options)
        assert raised.value.field == field, options


async def test_aggregate_notes_a_service_it_cannot_read_and_reads_the_others() -> None:
    double = sample_dokploy(failing=frozenset({samples.container_id("auth")}))
    result = await run_aggregate(double)
    note = result.summary.per_service["auth"].note
    assert note == (
        f"logs could not be read: {samples.APP_NAME}-auth-1: Dokploy server 'default' answered 500 x to "
        "/compose.readLogs: Command failed: docker container logs"
    )
    assert result.summary.per_service["auth"].lines == 0
    assert result.summary.per_service["db"].lines == 9


async def test_aggregate_reads_containers_concurrently_within_the_bound() -> None:
    double = sample_dokploy(delay=0.02)
    await run_aggregate(double, concurrency=3)
    assert len(double.read_calls()) == len(samples.LOGS)
    assert 1 < double.max_in_flight <= 3


async def test_aggregate_caps_and_truncation_note() -> None:
    result = await run_aggregate(sample_dokploy(), max_lines=10)
    assert result.truncated and len(result.lines) == 10 and result.matched == 53
    assert result.truncated_reason is not None and "53 lines matched" in result.truncated_reason
    assert result.lines[-1].startswith("2026-11-22T15:05:00.000Z db |")


async def test_aggregate_finds_the_deployments_itself() -> None:
    # compose.one lists them (the recorded redeploy); a compose without them is looked up with allByCompose.
    redeployed = recorded_compose("compose.one--redeploy-done")
    assert last_deployment(redeployed.deployments).title == "redeploy"  # type: ignore[union-attr]
    double = sample_dokploy(deployments=[samples.OLDER_DEPLOYMENT, samples.DEPLOYMENT])
    result = await run_aggregate(double, deployments=None, since="1h")
    assert "deployment.allByCompose" in [procedure for procedure, _ in double.requests]
    assert result.summary.last_deployment is not None and result.summary.last_deployment.deployment_id == "dep-2"
    assert {call["since"] for call in double.read_calls()} == {"1h"}


async def test_no_error_after_the_deployment_and_no_deployment() -> None:
    quiet = {samples.container_id("imgproxy"): samples.IMGPROXY}
    double = SampleDokploy(samples.container_rows("v2", ["imgproxy"]), quiet)
    result = await run_aggregate(double, deployments=[])
    assert result.summary.last_deployment is None
    assert result.summary.first_error_after_last_deployment is None
    assert result.summary.top_errors == []
    assert result.notes == []
    note = (
        "the logs read may not reach back to the start of the last deployment (2026-11-22T15:00:00.000Z): its "
        "first error may be earlier; widen since or raise tail_per_service to look for it"
    )
    rows = samples.container_rows("v2", ["imgproxy"])
    narrow = await run_aggregate(SampleDokploy(rows, quiet), since="5m")  # opens at 15:05, after the deploy
    assert narrow.notes == [note]
    chatty = {samples.container_id("imgproxy"): samples.IMGPROXY * 3}
    assert (await run_aggregate(SampleDokploy(rows, chatty), tail_per_service=2)).notes == [note]
    assert (await run_aggregate(SampleDokploy(rows, chatty), tail_per_service=4)).notes == []
    assert (await run_aggregate(SampleDokploy(rows, quiet), since="1h")).notes == []


async def test_aggregate_of_a_stack_without_containers() -> None:
    result = await run_aggregate(SampleDokploy([], {}))
    assert result.lines == [] and result.matched == 0
    assert "no container of the chosen services exists" in result.notes[0]
    assert all(s.note == "no container (never deployed, or removed)" for s in result.summary.per_service.values())


def test_last_deployment_ignores_backup_runs_and_undated_rows() -> None:
    backup = Deployment(deployment_id="b", backup_id="bk", started_at="2026-11-22T16:00:00Z")
    undated = Deployment(deployment_id="u")
    assert last_deployment([samples.DEPLOYMENT, backup, undated, samples.OLDER_DEPLOYMENT]) == samples.DEPLOYMENT
    assert last_deployment([]) is None
