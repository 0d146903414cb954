"""A real TCP server on 127.0.0.1 for tests that need actual sockets: timeouts, dripping and endless answers."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass

import anyio
import anyio.abc

__all__ = ["LocalServer", "local_server"]


@dataclass
class LocalServer:
    """A TCP server on 127.0.0.1 that counts the connections it accepted."""

    port: int
    connections: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@asynccontextmanager
async def local_server(
    handler: Callable[[anyio.abc.SocketStream], Awaitable[None]],
) -> AsyncIterator[LocalServer]:
    async with await anyio.create_tcp_listener(local_host="127.0.0.1") as listener:
        server = LocalServer(port=listener.extra(anyio.abc.SocketAttribute.local_port))

        async def counted(stream: anyio.abc.SocketStream) -> None:
            server.connections += 1
            # A client that gives up and hangs up is what several tests provoke: not a server failure.
            with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, ConnectionError):
                await handler(stream)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(listener.serve, counted)
            yield server
            tasks.cancel_scope.cancel()
