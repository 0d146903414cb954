"""What every HTTP client of this package shares, whichever service it talks to.

The clients of different services (Dokploy, a stack's Kong gateway) may not import each other, so the pieces they
have in common live here, below both: the ``User-Agent`` they send, the lifecycle of the connection pool each one
owns, and how a TLS failure is told apart from other connection failures. httpx is named for type checking only:
importing this module loads no HTTP library.
"""

from __future__ import annotations

import ssl
from types import TracebackType
from typing import TYPE_CHECKING, Self

from dokploy_mcp import __version__

if TYPE_CHECKING:
    import httpx

__all__ = ["USER_AGENT", "PooledClient", "is_tls_failure"]

#: The ``User-Agent`` of every request this server sends.
USER_AGENT = f"dokploy-mcp/{__version__}"


class PooledClient:
    """Base of a client that owns an httpx connection pool in ``_http``.

    Use it as an async context manager, or call :meth:`aclose`.
    """

    _http: httpx.AsyncClient

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool. The client cannot be used afterwards."""
        await self._http.aclose()


def is_tls_failure(exc: BaseException) -> bool:
    """Whether ``exc`` was caused, at any depth, by a TLS failure: never worth a retry, and worth saying so."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLError):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
