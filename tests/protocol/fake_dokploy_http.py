"""The stateful Dokploy double (:class:`tests.fake_dokploy.FakeDokploy`) behind a real HTTP listener.

A ``dokploy-mcp`` subprocess cannot use an in-process httpx transport: this ASGI app hands each request to the
double's transport, so the subprocess talks to the same double the in-memory tests use. ``logs`` answers
``compose.readLogs`` (the double has no docker), and ``served`` is set once a log read has been answered, so a test
knows the server is now working on those lines.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.dokploy.recordings import BASE_URL
from tests.fake_dokploy import FakeDokploy


def fake_dokploy_app(fake: FakeDokploy, logs: Callable[[str], str], served: threading.Event) -> Starlette:
    async def handle(request: Request) -> Response:
        if request.url.path == "/api/compose.readLogs":
            text = logs(request.query_params.get("containerId", ""))
            served.set()
            return JSONResponse(text)
        forwarded = httpx.Request(
            request.method,
            f"{BASE_URL}{request.url.path}",
            params=list(request.query_params.multi_items()),
            headers=[(k, v) for k, v in request.headers.items() if k.lower() not in {"host", "content-length"}],
            content=await request.body(),
        )
        answer = fake.transport.handle_request(forwarded)
        answer.read()
        media = answer.headers.get("content-type")
        return Response(answer.content, status_code=answer.status_code, media_type=media)

    return Starlette(routes=[Route("/{path:path}", handle, methods=["GET", "POST"])])
