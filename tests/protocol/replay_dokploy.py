"""A loopback HTTP double of Dokploy that answers from the real recordings in tests/fixtures.

Used where respx cannot reach: a ``dokploy-mcp`` subprocess talking over real HTTP. It replays exactly what the
real Dokploy v0.30.2 answered, including the recorded 401 for a wrong API key (``project.all--bad-api-key``).
"""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.dokploy.recordings import TEST_API_KEY, Recording, load


def _respond(recording: Recording) -> Response:
    content = b"" if recording.response_body == "" else json.dumps(recording.response_body).encode()
    response = Response(content, status_code=recording.status, media_type=recording.content_type)
    for value in recording.response_headers.get("set-cookie", []):
        response.headers.append("set-cookie", value)
    return response


def replay_app(names: list[str]) -> Starlette:
    """An app serving the named recordings; a request without the recorded key gets the recorded 401."""
    by_route = {(rec.method, rec.path): rec for rec in map(load, names)}
    unauthorized = load("project.all--bad-api-key")

    async def handle(request: Request) -> Response:
        recording = by_route.get((request.method, request.url.path))
        if recording is None:
            return JSONResponse({"message": "Not found", "code": "NOT_FOUND"}, status_code=404)
        needs_key = "x-api-key" in recording.headers
        if needs_key and request.headers.get("x-api-key") != TEST_API_KEY:
            return _respond(unauthorized)
        return _respond(recording)

    return Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST"])])
