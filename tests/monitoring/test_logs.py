"""Log reading, parsing, masking, filtering and aggregation: real recordings and realistic multi-service samples."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anyio
import httpx
import pytest
import respx
from pydantic import SecretStr

from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.errors import DokployAPIError
from dokploy_mcp.dokploy.models import Compose, Deployment
from dokploy_mcp.errors import InputError
from dokploy_mcp.monitoring.logs import (
    MAX_LINE_CHARS,
    UNTRUSTED,
    Aggregate,
    LogLine,
    LogsResult,
    aggregate,
    detect_level,
    last_deployment,
    message_of,
    normalize_message,
    parse_docker_logs,
    parse_since,
    parse_until,
    safe_search,
    service_logs,
    validate_since,
)
from dokploy_mcp.supabase.operations import secret_masker
from tests.dokploy.recordings import BASE_URL, TEST_API_KEY, load, replay
from tests.monitoring import samples

pytestmark = pytest.mark.anyio

MASK = secret_masker(samples.ENV)
SECRETS = [samples.POSTGRES_PASSWORD, samples.JWT_SECRET, samples.SERVICE_ROLE_KEY]
NOW = datetime(2026, 11, 22, 15, 10, tzinfo=UTC)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def parsed(service: str) -> list[LogLine]:
    return parse_docker_logs(samples.LOGS[service], service, mask=MASK)


# -- a Dokploy that serves the samples -------------------------------------------------------------------------------


class SampleDokploy:
    """Answers docker.getContainersByAppNameMatch, compose.readLogs (tail applied) and deployment.allByCompose."""

    def __init__(
        self,
        rows: list[dict[str, Any]],
        logs: dict[str, str],
        *,
        deployments: list[Deployment] | None = None,
        failing: frozenset[str] = frozenset(),
        delay: float = 0.0,
    ) -> None:
        self.rows = rows
        self.logs = logs
        self.deployments = deployments or []
        self.failing = failing
        self.delay = delay
        self.requests: list[tuple[str, dict[str, str]]] = []
        self.in_flight = 0
        self.max_in_flight = 0

    async def handle(self, request: httpx.Request) -> httpx.Response:
        procedure = request.url.path.removeprefix("/api/")
        params = dict(request.url.params)
        self.requests.append((procedure, params))
        if procedure == "docker.getContainersByAppNameMatch":
            return httpx.Response(200, json=self.rows)
        if procedure == "deployment.allByCompose":
            return httpx.Response(200, json=[d.model_dump(by_alias=True) for d in self.deployments])
        if procedure == "compose.readLogs":
            container = params["containerId"]
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            try:
                await anyio.sleep(self.delay)
            finally:
                self.in_flight -= 1
            if container in self.failing:
                return httpx.Response(500, json={"message": "Command failed: docker container logs", "code": "x"})
            lines = self.logs.get(container, "").splitlines(keepends=True)
            return httpx.Response(200, json="".join(lines[-int(params.get("tail", "100")) :]))
        return httpx.Response(404, json={"message": f"no {procedure}"})

    def read_calls(self) -> list[dict[str, str]]:
        return [params for procedure, params in self.requests if procedure == "compose.readLogs"]


def sample_dokploy(style: str = "v2", **options: Any) -> SampleDokploy:
    replicas = options.pop("replicas", None)
    rows = samples.container_rows(style, replicas=replicas)
    logs = {row["containerId"]: samples.LOGS[row["name"].split("-" if style == "v2" else "_")[-2]] for row in rows}
    logs.update(options.pop("logs", {}))
    return SampleDokploy(rows, logs, **options)


def client_for(double: SampleDokploy) -> DokployClient:
    return DokployClient(
        base_url=BASE_URL,
        api_key=SecretStr(TEST_API_KEY),
        max_retries=0,
        transport=httpx.MockTransport(double.handle),
    )


@pytest.fixture
def router() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE_URL, assert_all_called=True, assert_all_mocked=True) as mock:
        yield mock


@pytest.fixture
async def recorded_client(router: respx.MockRouter) -> AsyncIterator[DokployClient]:
    async with DokployClient(base_url=BASE_URL, api_key=SecretStr(TEST_API_KEY), max_retries=0) as made:
        yield made


def recorded_compose(name: str) -> Compose:
    return Compose.model_validate(load(name).response_body)


# -- parsing ----------------------------------------------------------------------------------------------------------


def test_recorded_busybox_logs_parse_with_their_nanosecond_timestamps() -> None:
    raw = load("compose.readLogs").response_body
    lines = parse_docker_logs(raw, "web", mask=MASK)
    assert [line.text for line in lines] == ["hello world"] * 3
    assert lines[0].timestamp == datetime(2026, 11, 22, 14, 50, 2, 276713, tzinfo=UTC)
    assert [line.level for line in lines] == [None] * 3
    assert lines[0].render() == "2026-11-22T14:50:02.276Z hello world"
    assert lines[0].render(with_service=True) == "2026-11-22T14:50:02.276Z web | hello world"


def test_lines_without_a_timestamp_inherit_the_previous_one() -> None:
    raw = (
        samples.DEAD_CONTAINER
        + "2026-11-22T15:00:00.5+02:00 first\n"
        + "no timestamp here\n"
        + "2026-11-22T13:00:01Z second\n"
    )
    lines = parse_docker_logs(raw, "db", mask=MASK)
    assert [(line.timestamp, line.text) for line in lines] == [
        (None, samples.DEAD_CONTAINER.strip()),
        (datetime(2026, 11, 22, 13, 0, 0, 500000, tzinfo=UTC), "first"),
        (datetime(2026, 11, 22, 13, 0, 0, 500000, tzinfo=UTC), "no timestamp here"),
        (datetime(2026, 11, 22, 13, 0, 1, tzinfo=UTC), "second"),
    ]
    assert lines[0].level == "error"
    assert not any(line.continuation for line in lines)


def test_a_javascript_stack_trace_is_one_record() -> None:
    lines = parsed("functions")
    trace = [line for line in lines if line.timestamp and line.timestamp >= at("2026-11-22T15:01:20.1Z")][:3]
    assert [line.continuation for line in trace] == [False, True, True]
    assert trace[0].text == "TypeError: Cannot read properties of undefined (reading 'id')"  # colours gone
    assert [line.level for line in trace] == ["error"] * 3
    assert trace[1].text.startswith("    at Object.handler")


def test_an_elixir_crash_report_is_one_record() -> None:
    lines = parsed("realtime")
    crash = [line for line in lines if "GenServer" in line.text or line.continuation]
    assert crash[0].text.endswith("GenServer #PID<0.3124.0> terminating") and not crash[0].continuation
    assert [line.continuation for line in crash[1:]] == [True] * 4
    assert crash[1].text.startswith("** (DBConnection.ConnectionError)")
    assert crash[-1].text == "Last message: {:continue, :db_connect}"
    assert {line.level for line in crash} == {"error"}


def test_postgres_detail_and_statement_lines_belong_to_their_error() -> None:
    lines = parsed("db")
    assert [(line.level, line.continuation) for line in lines] == [
        ("info", False),
        ("info", False),
        ("error", False),
        ("error", True),  # DETAIL
        ("error", False),
        ("error", True),  # DETAIL
        ("error", False),
        ("error", True),  # STATEMENT
        ("info", False),
    ]


def test_an_indented_line_long_after_the_previous_one_starts_a_new_record() -> None:
    raw = "2026-11-22T15:00:00Z Error: boom\n2026-11-22T15:00:00.1Z     at f (x.js:1:1)\n2026-11-22T15:05:00Z   idle\n"
    lines = parse_docker_logs(raw, "functions", mask=MASK)
    assert [line.continuation for line in lines] == [False, True, False]
    assert lines[2].level is None


def test_a_trace_at_the_top_of_the_tail_is_a_continuation_without_a_level() -> None:
    raw = "2026-11-22T15:00:00Z     at f (x.js:1:1)\n2026-11-22T15:00:01Z ok\n"
    first, _ = parse_docker_logs(raw, "functions", mask=MASK)
    assert first.continuation and first.level is None


def test_blank_lines_are_dropped() -> None:
    lines = parsed("analytics")
    assert len(lines) == 3
    assert all(line.text.strip() for line in lines)


def test_very_long_lines_are_cut_with_a_marker() -> None:
    long_line = next(line for line in parsed("storage") if "slow request" in line.text)
    assert len(long_line.text) < MAX_LINE_CHARS + 60
    whole = len(samples.STORAGE.splitlines()[2]) - len("2026-11-22T15:02:00.000000000Z ")
    assert long_line.text.endswith(f"… [line cut: {whole} characters]")
    assert long_line.level == "warning"  # detected on the whole line, before the cut
    short = parse_docker_logs("2026-11-22T15:00:00Z " + "y" * 50, "x", mask=MASK, max_line_chars=10)
    assert short[0].text == "yyyyyyyyyy … [line cut: 50 characters]"


def test_no_secret_of_the_stack_survives_in_any_sample_line() -> None:
    texts = [line.text for service in samples.LOGS for line in parsed(service)]
    joined = "\n".join(texts)
    for secret in SECRETS:
        assert secret in "".join(samples.LOGS.values())  # the samples really hold them
        assert secret not in joined
    assert "postgresql://supabase_admin:••••@db:5432/_supabase" not in joined  # masked by value first...
    assert "postgresql://supabase_admin:•••• (32 chars)@db:5432/_supabase" in joined
    assert "JWT_SECRET=•••• (32 chars)" in joined
    assert '"authorization":"Bearer •••• (' in joined


# -- level detection --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("service", "expected"),
    [
        ("auth", ["info", "info", "warning", "info", "error", "info", "error"]),
        ("kong", ["warning", "warning", "info", "warning", "error", "error"]),
        ("rest", ["error", None, None, None, None, "warning"]),
        ("realtime", ["info", "error", "error", "error", "error", "error", "error", "info"]),
        ("storage", ["info", "error", "warning"]),
        ("functions", [None, None, "error", "error", "error", None]),
        ("analytics", ["error", "error", "info"]),
        ("studio", [None, "error"]),
        ("imgproxy", ["info"]),
        ("vector", ["info", "warning"]),
    ],
)
def test_levels_of_the_supabase_services(service: str, expected: list[str | None]) -> None:
    assert [line.level for line in parsed(service)] == expected


@pytest.mark.parametrize(
    ("message", "level"),
    [
        ('{"level":"debug","msg":"x"}', "debug"),
        ('{"level":"fatal","msg":"x"}', "error"),
        ('{"level":60,"msg":"x"}', "error"),
        ('{"level":20,"msg":"x"}', "debug"),
        ('{"severity":"WARNING","message":"x"}', "warning"),
        ('{"msg":"ERROR: relation does not exist"}', "error"),  # no level field: the message decides
        ("2026-11-22 15:00:00.000 UTC [7] WARNING:  there is no transaction in progress", "warning"),
        ("2026-11-22 15:00:00.000 UTC [7] DEBUG2:  x", "debug"),
        ("2026-11-22 15:00:00.000 UTC [7] PANIC:  could not write to file", "error"),
        ("2026-11-22 15:00:00.000 UTC [7] NOTICE:  extension exists, skipping", "info"),
        ('15:00:00.000 [warning] Replication slot "x" lagging', "warning"),
        ('15:00:00.000 [info] executing "ERROR:  x" in a query text', "info"),  # the earliest marker wins
        ("2026/11/22 15:00:00 [crit] 1#0: *1 SSL_do_handshake() failed", "error"),
        ('time="2026-11-22T15:00:00Z" level=warning msg="slow"', "warning"),
        ("panic: runtime error: invalid memory address", "error"),
        ("Uncaught (in promise) TypeError: x is not a function", "error"),
        ("worker boot error: failed to load module", "error"),
        ("Warning: something deprecated", "warning"),
        ("error: connect ECONNREFUSED 172.22.0.4:5432", "error"),
        ('127.0.0.1 - - [22/Nov/2026:15:00:00 +0000] "POST /token HTTP/1.1" 200 10 "-" "x"', "info"),
        ("listening on :8080", None),
        ("the errors counter is at 0", None),
    ],
)
def test_detect_level(message: str, level: str | None) -> None:
    assert detect_level(message) == level


# -- normalisation ----------------------------------------------------------------------------------------------------


def test_errors_differing_only_by_ids_and_times_normalise_alike() -> None:
    auth = [line.text for line in parsed("auth") if line.level == "error"]
    assert len(auth) == 2 and auth[0] != auth[1]
    assert normalize_message(auth[0]) == normalize_message(auth[1])
    assert (
        normalize_message(auth[0]) == "<n>: invalid JWT: invalid JWT: unable to parse or verify signature, token "
        "signature is invalid"
    )
    analytics = [line.text for line in parsed("analytics") if line.level == "error"]
    assert normalize_message(analytics[0]) == normalize_message(analytics[1])
    db = [line.text for line in parsed("db") if line.level == "error" and not line.continuation]
    assert normalize_message(db[0]) == normalize_message(db[1]) != normalize_message(db[2])


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (
            "request 0b5c1c9e-6a3e-4f1a-9a55-0c7b2ad0f3c1 failed at 2026-11-22T15:00:00.123Z",
            "request 8f3c2a1e-1b2c-4d5e-8f90-123456789abc failed at 2026-11-22T16:42:01Z",
        ),
        ("connect to 172.22.0.4:5432 refused after 3 tries", "connect to 10.0.0.12:6543 refused after 10 tries"),
        ("container 1757721eff9f exited", "container a91bc0de3344 exited"),
        ('user "alice" not found', 'user "bob" not found'),
        ("mail to a.b@example.com bounced", "mail to zed@example.org bounced"),
        ("token •••• (32 chars) rejected", "token •••• (JWT, 180 chars) rejected"),
        ("took 1.7ms (queue=96.8ms)", "took 12ms (queue=0.1ms)"),
        ("session Xy7kPq2LmN8vRt4WzA9b expired", "session Qw3eRt5yUi7oPa1sDf2g expired"),
    ],
)
def test_normalize_message_replaces_variable_parts(a: str, b: str) -> None:
    assert normalize_message(a) == normalize_message(b)


def test_normalize_message_keeps_what_tells_errors_apart() -> None:
    assert normalize_message('Failed. {"code":"PGRST002","hint":null}') == 'Failed. {"code":"<v>","hint":null}'
    assert normalize_message("FATAL 28P01 (invalid_password)") != normalize_message("FATAL 57P03 (cannot_connect_now)")
    assert normalize_message('"GET /rest/v1/todos?id=eq.5 HTTP/1.1" 502 ') == "GET /rest/v1/todos 502"
    assert normalize_message('"GET /rest/v1/items/17 HTTP/1.1" 503 ') == "GET /rest/v1/items/<n> 503"
    assert len(normalize_message("word " * 200)) == 300


def test_message_of_reads_json_msg_and_error() -> None:
    assert message_of('{"msg":"400: invalid JWT","error":"bad signature"}') == "400: invalid JWT: bad signature"
    assert message_of('{"msg":"x","error":{"message":"rls"}}') == "x: rls"
    assert message_of("[1, 2]") == "[1, 2]"
    assert message_of("{not json}") == "{not json}"


# -- arguments --------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("since", "server"),
    [
        ("all", "all"),
        ("", "all"),
        (None, "all"),
        ("5m", "5m"),
        ("2d", "2d"),
        ("30s", "30s"),
        ("15 min", "900s"),
        ("90 minutes", "5400s"),
        ("1h30m", "5400s"),
        ("1.5h", "5400s"),
        ("2w", "1209600s"),
        ("2 hours", "7200s"),
    ],
)
def test_since_durations_become_what_dokploy_accepts(since: str | None, server: str) -> None:
    window = parse_since(since, now=NOW)
    assert window.server == server and window.cutoff is None
    if since is not None:
        assert validate_since(since) == server


def test_since_as_a_time_becomes_seconds_plus_an_exact_cutoff() -> None:
    window = parse_since("2026-11-22T15:00:00Z", now=NOW)
    assert window.server == "601s" and window.cutoff == at("2026-11-22T15:00:00Z")
    naive = parse_since("2026-11-22T14:00:00", now=NOW)
    assert naive.cutoff == at("2026-11-22T14:00:00Z") and naive.server == "4201s"
    assert parse_since(datetime(2026, 11, 22, 15, 9, 30, tzinfo=UTC), now=NOW).server == "31s"


@pytest.mark.parametrize("since", ["yesterday", "5x", "0m", "0 minutes", "-5m", "2026-11-23T00:00:00Z", "m5"])
def test_bad_since_names_the_field(since: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_since(since, now=NOW)
    assert raised.value.field == "since"


@pytest.mark.parametrize(
    "since", ["99999999999d", "366d", "53w", "9" * 5000 + "d", "9" * 400 + " days", "1h" * 9000, "0s", "0.5s"]
)
def test_since_durations_out_of_range_name_the_field_and_the_range(since: str) -> None:
    # "99999999999d" overflowed the date arithmetic; 5,000 digits broke int(); 400 digits make an infinite float.
    with pytest.raises(InputError) as raised:
        parse_since(since, now=NOW)
    assert raised.value.field == "since"
    assert "1s to 365d" in str(raised.value)
    assert len(str(raised.value)) < 400  # the argument is quoted back cut short


def test_since_durations_up_to_a_year_are_accepted() -> None:
    assert parse_since("365d", now=NOW).server == "365d"
    assert parse_since("0000000365d", now=NOW).server == "365d"
    assert parse_since("52w", now=NOW).server == f"{52 * 7 * 86400}s"
    assert parse_since("1s", now=NOW).server == "1s"


def test_since_a_time_older_than_any_duration_reads_everything_and_cuts_exactly() -> None:
    window = parse_since("2020-01-01T00:00:00Z", now=NOW)
    assert window.server == "all" and window.cutoff == at("2020-01-01T00:00:00Z")
    ancient = parse_since("0001-01-01T00:00:00Z", now=NOW)
    assert ancient.server == "all" and ancient.cutoff == datetime.min.replace(tzinfo=UTC)


@pytest.mark.parametrize("field", ["since", "until"])
def test_times_at_the_ends_of_the_calendar_are_an_input_error(field: str) -> None:
    # Year 1 with a positive offset is before datetime.min in UTC: converting it overflowed.
    parse = parse_since if field == "since" else parse_until
    with pytest.raises(InputError) as raised:
        parse("0001-01-01T00:00:00+01:00", now=NOW)
    assert raised.value.field == field


@pytest.mark.parametrize("until", ["99999999999d", "366d", "9" * 5000 + "s"])
def test_until_durations_out_of_range_name_the_field_and_the_range(until: str) -> None:
    with pytest.raises(InputError) as raised:
        parse_until(until, now=NOW)
    assert raised.value.field == "until"
    assert "1s to 365d" in str(raised.value)


def test_docker_timestamps_at_the_ends_of_the_calendar_are_kept_as_text() -> None:
    [line] = parse_docker_logs("0001-01-01T00:00:00.000000000+01:00 first\n", "web", mask=MASK)
    assert line.timestamp is None and "first" in line.text


def test_until_is_a_time_or_how_long_ago() -> None:
    assert parse_until(None, now=NOW) is None
    assert parse_until("now", now=NOW) is None
    assert parse_until("10m", now=NOW) == NOW - timedelta(minutes=10)
    assert parse_until("2026-11-22T15:01:00Z", now=NOW) == at("2026-11-22T15:01:00Z")
    with pytest.raises(InputError) as raised:
        parse_until("soonish", now=NOW)
    assert raised.value.field == "until"


@pytest.mark.parametrize(
    ("search", "word"),
    [
        ("hello world", "hello world"),
        ("invalid JWT", "invalid JWT"),
        ('relation "public.todos" does not exist', "does not exist"),
        ("user@example.com", "example.com"),
        ("/rest/v1/todos?id=eq.5", "todos"),
        ("a/b", None),
        ("   ", None),
        ("???", None),
    ],
)
def test_safe_search_keeps_a_part_dokploy_accepts(search: str, word: str | None) -> None:
    assert safe_search(search) == word
    if word is not None:
        assert word.casefold() in search.casefold()


# -- service_logs on the recordings -----------------------------------------------------------------------------------


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


# -- service_logs on the samples --------------------------------------------------------------------------------------


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


# -- aggregate --------------------------------------------------------------------------------------------------------


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
    assert counts == {
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
    assert summary.per_service["meta"].note == "no container (never deployed, or removed)"
    assert summary.per_service["db"].containers == [
        f"{samples.APP_NAME}{'_' if style == 'v1' else '-'}db{'_' if style == 'v1' else '-'}1: Up 5 minutes (healthy)"
    ]
    top = {(e.message, e.count, tuple(e.services)) for e in summary.top_errors[:3]}
    assert top == {
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


def test_results_serialise_to_json() -> None:
    line = parsed("db")[2]
    dumped = json.loads(LogsResult(service="db", containers=[], lines=[], matched=0, since="all").model_dump_json())
    assert dumped["untrusted"] == UNTRUSTED
    assert line.render().startswith("2026-11-22T15:00:05.200Z")


@pytest.mark.parametrize(
    "line",
    [
        '{"a":' * 50_000 + "1" + "}" * 50_000,  # raised RecursionError out of the JSON decoder
        '{"msg": "' + "ab-" * 3_000 + '"}',
        '"GET /' + "ab-" * 3_000 + ' HTTP/1.1" 404 ',
        "a@" * 5_000,
    ],
)
def test_hostile_lines_are_levelled_and_normalised_as_text(line: str) -> None:
    """A line a client or an attacker chose (a request path in kong's access log) is read as text, quickly."""
    assert detect_level(line) in (None, "error", "warning", "info", "debug")
    assert len(normalize_message(line)) <= 300
