"""Replay of the real Dokploy v0.30.2 recordings in ``tests/fixtures/dokploy/recordings``.

``replay(router, name)`` mounts a respx route that answers like the recorded server did; after the call,
``assert_request_matches()`` checks that the client sent the recorded request: method, path, query parameters,
JSON body and ``x-api-key``. Bodies compare exactly, so an extra, missing or renamed field fails.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import respx

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "dokploy"
RECORDINGS = FIXTURES / "recordings"
OPENAPI = FIXTURES / "openapi.json"

BASE_URL = "http://dokploy.test:3000"
#: The key every recording was made with (the real one was replaced by this value).
TEST_API_KEY = "test-api-key"


@dataclass(frozen=True)
class Recording:
    """One recorded request/response pair."""

    name: str
    method: str
    path: str
    query: dict[str, Any] | None
    headers: dict[str, str]
    body: Any
    status: int
    content_type: str
    response_body: Any
    note: str
    #: Only the auth recordings keep response headers: their Set-Cookie lines.
    response_headers: dict[str, list[str]]

    @property
    def procedure(self) -> str:
        """``compose.one`` for ``/api/compose.one``."""
        return self.path.removeprefix("/api/")

    def expected_query(self) -> list[tuple[str, str]]:
        """The recorded query as strings, the way it travels on the wire."""
        return sorted((key, _wire(value)) for key, value in (self.query or {}).items())

    def response(self) -> httpx.Response:
        """The recorded answer. A recorded ``""`` stands for an empty body (see the recordings' README)."""
        content = b"" if self.response_body == "" else json.dumps(self.response_body).encode()
        headers = [("content-type", self.content_type)]
        headers += [(name, value) for name, values in self.response_headers.items() for value in values]
        return httpx.Response(self.status, content=content, headers=headers)


def _wire(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@cache
def load(name: str) -> Recording:
    """Load ``<name>.json`` from the fixtures."""
    raw = json.loads((RECORDINGS / f"{name}.json").read_text(encoding="utf-8"))
    request, response = raw["request"], raw["response"]
    return Recording(
        name=name,
        method=request["method"],
        path=request["path"],
        query=request["query"],
        headers=request["headers"],
        body=request["body"],
        status=response["status"],
        content_type=response["content_type"],
        response_body=response["body"],
        note=raw.get("note", ""),
        response_headers=response.get("headers") or {},
    )


def all_names() -> list[str]:
    """Every recording in the fixtures."""
    return sorted(path.stem for path in RECORDINGS.glob("*.json"))


@dataclass
class Replay:
    """A mounted recording and the route that serves it."""

    recording: Recording
    route: respx.Route

    @property
    def request(self) -> httpx.Request:
        """The last request the route received."""
        assert self.route.called, f"the client never called {self.recording.method} {self.recording.path}"
        return self.route.calls.last.request

    def assert_request_matches(self) -> None:
        """The client sent exactly the recorded request."""
        recorded, sent = self.recording, self.request
        assert sent.method == recorded.method
        assert sent.url.path == recorded.path
        assert sorted(sent.url.params.multi_items()) == recorded.expected_query()
        assert sent.headers.get("x-api-key") == recorded.headers.get("x-api-key")
        if recorded.method == "POST":
            assert sent.headers["content-type"] == "application/json"
            assert json.loads(sent.content) == recorded.body
        else:
            assert sent.content == b""


def replay(router: respx.MockRouter, name: str) -> Replay:
    """Mount recording ``name`` on ``router``: its method and path answer with the recorded status and body."""
    recording = load(name)
    route = router.route(method=recording.method, path=recording.path).mock(return_value=recording.response())
    return Replay(recording, route)


@cache
def openapi_document() -> dict[str, Any]:
    """The OpenAPI 3.1 document of Dokploy v0.30.2 (request schemas only)."""
    document: dict[str, Any] = json.loads(OPENAPI.read_text(encoding="utf-8"))
    return document
