"""What the log tests share: the stack's mask, a fixed now, the samples parsed, and a Dokploy that serves them."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import anyio
import httpx
from pydantic import SecretStr

from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.models import Deployment
from dokploy_mcp.monitoring.loglines import LogLine, parse_docker_logs
from dokploy_mcp.supabase.operations import secret_masker
from tests.dokploy.recordings import BASE_URL, TEST_API_KEY
from tests.monitoring import samples

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
