"""Every recorded error answer of Dokploy maps to the right error class, with status, path, message, code and field
messages read from the recording; and the error classes say what failed without ever holding the key."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import respx

from dokploy_mcp import redact
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.errors import (
    DokployAPIError,
    DokployAuthError,
    DokployError,
    DokployNotFoundError,
    DokployProtocolError,
    DokployRateLimitedError,
    DokployResponseError,
    DokployTimeoutError,
    DokployTransportError,
    DokployValidationError,
)
from dokploy_mcp.errors import DokployMCPError
from tests.dokploy.conftest import ClientFactory
from tests.dokploy.recordings import Recording, all_names, load, replay

pytestmark = pytest.mark.anyio

# The class each recorded error answer must become. Stated by hand, not derived, so the mapping is really tested.
EXPECTED_CLASS: dict[str, type[DokployAPIError]] = {
    "application.saveEnvironment--missing-fields": DokployValidationError,
    "auth.sign-in.email--wrong-password": DokployAuthError,
    "auth.sign-up.email--admin-exists": DokployAPIError,
    "auth.sign-up.email--same-email-exists": DokployAPIError,
    "backup.listBackupFiles--empty-search": DokployValidationError,
    "backup.manualBackupCompose": DokployAPIError,
    "backup.manualBackupPostgres--missing-bucket": DokployAPIError,
    "backup.one--after-compose-delete": DokployNotFoundError,
    "compose.delete--not-found": DokployNotFoundError,
    "compose.deployTemplate--supabase-offline": DokployAPIError,
    "compose.loadServices--cache-before-deploy": DokployNotFoundError,
    "compose.loadServices--supabase-cache": DokployNotFoundError,
    "compose.one--not-found": DokployNotFoundError,
    "compose.readLogs--missing-container-id": DokployValidationError,
    "deployment.readLogs--not-found": DokployNotFoundError,
    "destination.testConnection--aws-provider-virtual-host": DokployAPIError,
    "destination.testConnection--missing-bucket": DokployAPIError,
    "destination.testConnection--unreachable": DokployAPIError,
    "domain.create--missing-host": DokployValidationError,
    "postgres.deploy": DokployAPIError,
    "project.all--bad-api-key": DokployAuthError,
    "project.all--no-api-key": DokployAuthError,
    "project.all--rate-limited-key": DokployAuthError,
    "project.create--missing-name": DokployValidationError,
    "project.create--no-content-type": DokployAPIError,
    "project.create--wrong-method-get": DokployNotFoundError,
    "project.one--not-found": DokployNotFoundError,
    "rollback.rollback--not-found": DokployAPIError,
    "user.createApiKey--no-metadata": DokployValidationError,
}

# Error recordings of routes the client has a typed method for: the typed method itself must raise.
TYPED_CALLS: dict[str, Callable[[DokployClient, Recording], Awaitable[Any]]] = {
    "backup.manualBackupCompose": lambda c, r: c.backup_manual_backup_compose(r.body["backupId"]),
    "backup.one--after-compose-delete": lambda c, r: c.backup_one((r.query or {})["backupId"]),
    "compose.delete--not-found": lambda c, r: c.compose_delete(r.body["composeId"], delete_volumes=True),
    "compose.deployTemplate--supabase-offline": lambda c, r: c.compose_deploy_template(
        r.body["environmentId"], r.body["id"]
    ),
    "compose.loadServices--cache-before-deploy": lambda c, r: c.compose_load_services(
        (r.query or {})["composeId"], (r.query or {})["type"]
    ),
    "compose.loadServices--supabase-cache": lambda c, r: c.compose_load_services(
        (r.query or {})["composeId"], (r.query or {})["type"]
    ),
    "compose.one--not-found": lambda c, r: c.compose_one((r.query or {})["composeId"]),
    "deployment.readLogs--not-found": lambda c, r: c.deployment_read_logs((r.query or {})["deploymentId"], tail=None),
    "project.all--bad-api-key": lambda c, r: c.project_all(),
    "project.all--no-api-key": lambda c, r: c.project_all(),
    "project.all--rate-limited-key": lambda c, r: c.project_all(),
    "project.one--not-found": lambda c, r: c.project_one((r.query or {})["projectId"]),
}


def _generic_call(dokploy: DokployClient, recording: Recording) -> Awaitable[Any]:
    if recording.method == "GET":
        return dokploy.query(recording.procedure, recording.query)
    return dokploy.mutate(recording.procedure, recording.body if isinstance(recording.body, dict) else {})


def test_every_recorded_error_answer_has_an_expected_class() -> None:
    errors = {name for name in all_names() if load(name).status >= 400}
    assert errors == set(EXPECTED_CLASS)


@pytest.mark.parametrize("name", sorted(EXPECTED_CLASS))
async def test_recorded_error_answer_becomes_the_expected_error(
    name: str, router: respx.MockRouter, make_client: ClientFactory
) -> None:
    mounted = replay(router, name)
    recording = mounted.recording
    body = recording.response_body
    dokploy = make_client(api_key=recording.headers.get("x-api-key"))
    call = TYPED_CALLS.get(name, _generic_call)

    with pytest.raises(DokployAPIError) as caught:
        await call(dokploy, recording)

    error = caught.value
    assert type(error) is EXPECTED_CLASS[name]
    assert error.status == recording.status
    assert error.path == "/" + recording.procedure
    # Dokploy's words, minus the secrets some of them carry (destination.testConnection echoes the S3 secret).
    assert error.message == redact.scrub(body["message"].strip())
    assert error.code == body.get("code")
    assert error.server == dokploy.name
    assert error.message in str(error)
    assert "fake-secret-key-for-fixtures" not in str(error)
    if isinstance(error, DokployValidationError):
        zod = body["data"]["zodError"]
        assert error.field_errors == zod["fieldErrors"]
        assert error.form_errors == zod["formErrors"]
        for field in zod["fieldErrors"]:
            assert field in str(error)
    # The recorded request is reproduced, except where the recording sent what the client never sends.
    if recording.headers.get("content-type", "application/json") == "application/json" and "cookie" not in (
        recording.headers
    ):
        mounted.assert_request_matches()


async def test_415_comes_from_a_non_json_body_which_the_client_never_sends(
    router: respx.MockRouter, client: DokployClient
) -> None:
    mounted = replay(router, "project.create--no-content-type")

    with pytest.raises(DokployAPIError):
        await client.mutate("project.create", {"name": "x"})

    assert mounted.request.headers["content-type"] == "application/json"
    assert json.loads(mounted.request.content) == {"name": "x"}


async def test_validation_error_falls_back_to_issues_without_zod_error(
    router: respx.MockRouter, client: DokployClient
) -> None:
    payload = {
        "message": "Input validation failed",
        "code": "BAD_REQUEST",
        "issues": [
            {"code": "invalid_type", "path": ["metadata", "organizationId"], "message": "expected string"},
            {"code": "custom", "path": [], "message": "at least one field"},
        ],
    }
    router.post("/api/user.createApiKey").respond(400, json=payload)

    with pytest.raises(DokployValidationError) as caught:
        await client.mutate("user.createApiKey", {"name": "x"})

    assert caught.value.field_errors == {"metadata.organizationId": ["expected string"]}
    assert caught.value.form_errors == ["at least one field"]


async def test_an_error_body_that_is_not_json_keeps_the_status_and_reason(
    router: respx.MockRouter, client: DokployClient
) -> None:
    router.post("/api/compose.deploy").respond(500, text="<html>Internal Server Error</html>")

    with pytest.raises(DokployAPIError) as caught:
        await client.compose_deploy("c1")

    assert type(caught.value) is DokployAPIError
    assert caught.value.status == 500
    assert caught.value.message == "Internal Server Error"
    assert caught.value.code is None


async def test_403_is_an_auth_error(router: respx.MockRouter, client: DokployClient) -> None:
    router.get("/api/compose.one").respond(403, json={"message": "Forbidden", "code": "FORBIDDEN"})

    with pytest.raises(DokployAuthError) as caught:
        await client.compose_one("c1")

    assert caught.value.status == 403
    assert "permission" in str(caught.value)


async def test_a_redirect_names_the_url_to_configure(router: respx.MockRouter, client: DokployClient) -> None:
    router.get("/api/project.all").respond(301, headers={"location": "https://dokploy.test/api/project.all"})

    with pytest.raises(DokployAPIError) as caught:
        await client.project_all()

    assert caught.value.status == 301
    assert "https://dokploy.test/api/project.all" in caught.value.message


async def test_a_2xx_body_that_is_not_json_is_a_response_error(router: respx.MockRouter, client: DokployClient) -> None:
    router.get("/api/project.all").respond(200, text="<html>login</html>", headers={"content-type": "text/html"})

    with pytest.raises(DokployResponseError) as caught:
        await client.project_all()

    assert caught.value.path == "/project.all"
    assert "not JSON" in str(caught.value)


async def test_a_body_of_the_wrong_shape_is_a_response_error_that_does_not_quote_it(
    router: respx.MockRouter, client: DokployClient
) -> None:
    # compose.one without composeId/appName, and an env full of secrets that must not reach the message.
    router.get("/api/compose.one").respond(200, json={"name": "x", "env": "JWT_SECRET=very-secret-value"})

    with pytest.raises(DokployResponseError) as caught:
        await client.compose_one("c1")

    message = str(caught.value)
    assert "composeId" in message
    assert "very-secret-value" not in message


async def test_a_list_answer_of_the_wrong_type_is_a_response_error(
    router: respx.MockRouter, client: DokployClient
) -> None:
    router.get("/api/project.all").respond(200, json={"projects": []})

    with pytest.raises(DokployResponseError, match="expected a list"):
        await client.project_all()


def test_every_dokploy_error_is_a_domain_error() -> None:
    for cls in (
        DokployTransportError,
        DokployTimeoutError,
        DokployAPIError,
        DokployAuthError,
        DokployNotFoundError,
        DokployValidationError,
        DokployRateLimitedError,
        DokployResponseError,
        DokployProtocolError,
    ):
        assert issubclass(cls, DokployError)
        assert issubclass(cls, DokployMCPError)
        assert cls.__doc__
    assert issubclass(DokployTimeoutError, DokployTransportError)
    # Callers that treat a malformed answer as "not Dokploy" (health) treat an answer past the limits the same way.
    assert issubclass(DokployProtocolError, DokployResponseError)


def test_error_messages_name_the_server_the_path_and_the_cause() -> None:
    api = DokployNotFoundError(server="prod", status=404, path="/compose.one", message="Compose not found", code="X")
    timeout = DokployTimeoutError(server="prod", url="https://d.example", path="/project.all", timeout=2.5)
    transport = DokployTransportError("Connection refused", server="prod", url="https://d.example")
    limited = DokployRateLimitedError(server="prod", status=429, path="/project.all", message="slow", retry_after=3)
    shape = DokployResponseError("expected a list", server="prod", path="/project.all")

    assert str(api) == "Dokploy server 'prod' answered 404 X to /compose.one: Compose not found"
    assert (
        str(timeout)
        == "Cannot reach Dokploy server 'prod' at https://d.example: no answer to /project.all within 2.5 s"
    )
    assert (timeout.timeout, timeout.url, timeout.path) == (2.5, "https://d.example", "/project.all")
    assert str(transport) == "Cannot reach Dokploy server 'prod' at https://d.example: Connection refused"
    assert str(limited).endswith("(retry after 3 s)")
    assert str(shape) == "Unexpected answer from Dokploy server 'prod' to /project.all: expected a list"


async def test_the_key_is_scrubbed_from_messages_dokploy_echoes(
    router: respx.MockRouter, make_client: ClientFactory
) -> None:
    key = "sk-live-0123456789abcdef"
    dokploy = make_client(api_key=key)
    router.post("/api/destination.testConnection").respond(
        400, json={"message": f"rclone failed: --key={key}", "code": "BAD_REQUEST", "data": {"zodError": None}}
    )

    with pytest.raises(DokployAPIError) as caught:
        await dokploy.mutate("destination.testConnection", {})

    assert key not in str(caught.value)
    assert key not in caught.value.message
    assert redact.MASK in caught.value.message
