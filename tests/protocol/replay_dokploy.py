"""A loopback HTTP double of Dokploy that answers from the real recordings in tests/fixtures.

Used where respx cannot reach: a ``dokploy-mcp`` subprocess talking over real HTTP. It replays exactly what the
real Dokploy v0.30.2 answered, including 401 for a wrong API key (recording ``project.all--bad-api-key``).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

RECORDINGS = Path(__file__).resolve().parent.parent / "fixtures" / "dokploy" / "recordings"
RECORDED_KEY = "test-api-key"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RECORDINGS / f"{name}.json").read_text())
    return data


def _respond(recording: dict[str, Any]) -> Response:
    answer = recording["response"]
    body = answer["body"]
    if body == "":
        return Response(status_code=answer["status"], media_type=answer["content_type"])
    return Response(json.dumps(body), status_code=answer["status"], media_type=answer["content_type"])


def replay_app(recordings: list[str]) -> Starlette:
    """An app serving the named recordings; requests with a wrong key get the recorded 401."""
    by_route = {}
    for name in recordings:
        recording = load(name)
        request = recording["request"]
        by_route[(request["method"], request["path"])] = recording
    unauthorized = load("project.all--bad-api-key")

    async def handle(request: Request) -> Response:
        recording = by_route.get((request.method, request.url.path))
        if recording is None:
            return JSONResponse({"message": "Not found", "code": "NOT_FOUND"}, status_code=404)
        needs_key = "x-api-key" in recording["request"]["headers"]
        if needs_key and request.headers.get("x-api-key") != RECORDED_KEY:
            return _respond(unauthorized)
        return _respond(recording)

    return Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST"])])
