"""Typed methods that have no recording (nobody called them on the recording server): each runs against a double
built from openapi.json's request schema, which answers 400 the way Dokploy does when the body does not validate,
and otherwise what Dokploy's source returns for the procedure."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest
import respx

from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.errors import DokployValidationError
from tests.dokploy.openapi_contract import body_problems, operation
from tests.dokploy.recordings import load

pytestmark = pytest.mark.anyio


def openapi_double(router: respx.MockRouter, procedure: str, answer: Any) -> respx.Route:
    """A POST route for ``procedure`` that validates the body against the OpenAPI request schema."""
    op = operation("POST", f"/api/{procedure}")
    assert op is not None, procedure

    def handle(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        problems = body_problems(op, body)
        if problems:
            field_errors: dict[str, list[str]] = {}
            for problem in problems:
                name, _, message = problem.removeprefix("body").lstrip(".").partition(": ")
                field_errors.setdefault(name or "body", []).append(message)
            return httpx.Response(
                400,
                json={
                    "message": "Input validation failed",
                    "code": "BAD_REQUEST",
                    "data": {"zodError": {"formErrors": [], "fieldErrors": field_errors}},
                },
            )
        return httpx.Response(200, json=answer(body) if callable(answer) else answer)

    return router.post(f"/api/{procedure}").mock(side_effect=handle)


def _settings_with(body: dict[str, Any]) -> dict[str, Any]:
    # settings.updateServerIp returns the updated web server settings row.
    return {**load("settings.getWebServerSettings").response_body, "serverIp": body["serverIp"]}


async def test_update_server_ip_against_openapi_double(router: respx.MockRouter, client: DokployClient) -> None:
    route = openapi_double(router, "settings.updateServerIp", _settings_with)

    settings = await client.settings_update_server_ip("203.0.113.10")

    assert json.loads(route.calls.last.request.content) == {"serverIp": "203.0.113.10"}
    assert settings is not None
    assert settings.server_ip == "203.0.113.10"


async def test_update_server_ip_on_cloud_returns_nothing_against_openapi_double(
    router: respx.MockRouter, client: DokployClient
) -> None:
    openapi_double(router, "settings.updateServerIp", True)

    assert await client.settings_update_server_ip("203.0.113.10") is None


async def test_mounts_create_writes_a_compose_file_mount_against_openapi_double(
    router: respx.MockRouter, client: DokployClient
) -> None:
    route = openapi_double(router, "mounts.create", True)

    created = await client.mounts_create("cmp-1", file_path="/volumes/api/kong.yml", content="_format_version: '2.1'")

    assert created is True
    assert json.loads(route.calls.last.request.content) == {
        "type": "file",
        "serviceType": "compose",
        "serviceId": "cmp-1",
        "filePath": "/volumes/api/kong.yml",
        "content": "_format_version: '2.1'",
        "mountPath": "/",
    }


async def test_the_openapi_double_refuses_a_body_the_schema_refuses(
    router: respx.MockRouter, client: DokployClient
) -> None:
    openapi_double(router, "mounts.create", True)

    with pytest.raises(DokployValidationError) as caught:
        await client.mutate("mounts.create", {"type": "file", "serviceId": "cmp-1"})

    assert "mountPath" in str(caught.value)
