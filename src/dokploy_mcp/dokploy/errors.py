"""Failures of a call to a Dokploy server.

Every class here is a :class:`~dokploy_mcp.errors.DokployMCPError`, so the tool layer turns it into a message for
the model; nothing here knows about MCP. ``str(err)`` names the server, the procedure and Dokploy's own message, and
never holds the API key (the client scrubs it from anything Dokploy echoes back).

Hierarchy::

    DokployError                      attr server: the instance name ("default", "prod", ...)
    ├── DokployTransportError         no usable answer: connect refused, DNS, TLS, broken protocol; attr url
    │   └── DokployTimeoutError       no answer within the timeout; attr timeout (seconds)
    ├── DokployAPIError               Dokploy answered an error status; attrs status, path, message, code
    │   ├── DokployAuthError          401 / 403 (401 also means an API key whose rate limit is used up)
    │   ├── DokployNotFoundError      404 (also what Dokploy answers when the HTTP method is wrong)
    │   ├── DokployValidationError    400 with per-field messages; attrs field_errors, form_errors
    │   └── DokployRateLimitedError   429 from a proxy in front of Dokploy; attr retry_after
    └── DokployResponseError          2xx, but the body is not what the procedure returns; attr path
        └── DokployProtocolError      any status: the answer breaks a limit the client reads within (larger than
                                      the size cap, nested deeper than the depth cap, or compressed although
                                      none was asked for); attrs path, reason
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import NotRequired, TypedDict, Unpack

from dokploy_mcp.errors import DokployMCPError

__all__ = [
    "APIErrorFields",
    "DokployAPIError",
    "DokployAuthError",
    "DokployError",
    "DokployNotFoundError",
    "DokployProtocolError",
    "DokployRateLimitedError",
    "DokployResponseError",
    "DokployTimeoutError",
    "DokployTransportError",
    "DokployValidationError",
]


class DokployError(DokployMCPError):
    """Base of every failure of a Dokploy call. ``server`` names the configured instance that failed."""

    def __init__(self, message: str, *, server: str) -> None:
        super().__init__(message)
        self.server = server


class DokployTransportError(DokployError):
    """No usable HTTP answer came back: the connection was refused, the name did not resolve, TLS failed, or the
    peer broke the HTTP protocol. ``url`` is the server's base URL (it never carries the key)."""

    def __init__(self, message: str, *, server: str, url: str) -> None:
        super().__init__(f"Cannot reach Dokploy server {server!r} at {url}: {message}", server=server)
        self.url = url
        self.reason = message


class DokployTimeoutError(DokployTransportError):
    """Dokploy did not answer within ``timeout`` seconds."""

    def __init__(self, *, server: str, url: str, path: str, timeout: float) -> None:
        super().__init__(f"no answer to {path} within {timeout:g} s", server=server, url=url)
        self.path = path
        self.timeout = timeout


class APIErrorFields(TypedDict):
    """The keyword arguments of :class:`DokployAPIError`, which every subclass takes too."""

    server: str
    status: int
    path: str
    message: str
    code: NotRequired[str | None]


class DokployAPIError(DokployError):
    """Dokploy answered with an error status.

    ``status`` is the HTTP status, ``path`` the procedure path (``"/compose.one"``), ``message`` Dokploy's own text
    and ``code`` its tRPC code (``"NOT_FOUND"``, ``"BAD_REQUEST"``...) when it sent one.
    """

    def __init__(self, *, server: str, status: int, path: str, message: str, code: str | None = None) -> None:
        label = f"{status} {code}" if code else str(status)
        super().__init__(f"Dokploy server {server!r} answered {label} to {path}: {message}", server=server)
        self.status = status
        self.path = path
        self.message = message
        self.code = code


class DokployAuthError(DokployAPIError):
    """401 or 403: the key is missing, wrong, expired, lacks the permission, or has used up its rate limit.

    Dokploy answers a plain 401 "Unauthorized" for all of these. A key created without ``rateLimitEnabled: false``
    allows only 5 REST calls a day, so a key that worked a moment ago can start failing this way.
    """

    def __str__(self) -> str:
        hint = (
            "check the API key; a key created with Dokploy's default rate limit allows only 5 REST calls a day"
            if self.status == 401
            else "the API key's user lacks the permission for this call"
        )
        return f"{super().__str__()} ({hint})"


class DokployNotFoundError(DokployAPIError):
    """404: the object does not exist, or the procedure was called with the wrong HTTP method."""


class DokployValidationError(DokployAPIError):
    """400 with Dokploy's input validation details.

    ``field_errors`` maps each input field to its messages (``data.zodError.fieldErrors``, or the ``issues`` list
    when no zodError came back); ``form_errors`` holds messages that belong to no single field.
    """

    def __init__(
        self,
        *,
        field_errors: Mapping[str, Sequence[str]],
        form_errors: Sequence[str] = (),
        **fields: Unpack[APIErrorFields],
    ) -> None:
        super().__init__(**fields)
        self.field_errors: dict[str, list[str]] = {name: list(msgs) for name, msgs in field_errors.items()}
        self.form_errors: list[str] = list(form_errors)

    def __str__(self) -> str:
        parts = [f"{name}: {'; '.join(msgs)}" for name, msgs in self.field_errors.items()]
        parts.extend(self.form_errors)
        base = super().__str__()
        return f"{base} ({', '.join(parts)})" if parts else base


class DokployRateLimitedError(DokployAPIError):
    """429 from whatever sits in front of Dokploy (Dokploy itself answers 401 for a used-up key).

    ``retry_after`` is the wait in seconds the answer asked for, when it said.
    """

    def __init__(self, *, retry_after: float | None = None, **fields: Unpack[APIErrorFields]) -> None:
        super().__init__(**fields)
        self.retry_after = retry_after

    def __str__(self) -> str:
        base = super().__str__()
        return f"{base} (retry after {self.retry_after:g} s)" if self.retry_after is not None else base


class DokployResponseError(DokployError):
    """Dokploy answered 2xx, but the body is not what the procedure returns (not JSON, or the wrong shape).

    This usually means a Dokploy version this server does not support, or something other than Dokploy answering.
    """

    def __init__(self, message: str, *, server: str, path: str) -> None:
        super().__init__(f"Unexpected answer from Dokploy server {server!r} to {path}: {message}", server=server)
        self.path = path
        self.reason = message


class DokployProtocolError(DokployResponseError):
    """The answer breaks a limit the client reads within, whatever its status: it is larger than the size cap, its
    JSON is nested deeper than the depth cap, or it is compressed although the client asked for no compression.

    The client stops reading at the limit and keeps nothing of the answer: a broken or hostile server cannot make it
    buffer without end or recurse until it fails. ``reason`` says which limit, e.g. ``"is nested deeper than 64
    levels"``.
    """

    def __str__(self) -> str:
        return f"Dokploy's answer to {self.path} (server {self.server!r}) {self.reason}"


class DokployRestoreError(DokployError):
    """The restore failed, or ended without Dokploy saying it succeeded.

    ``reason`` says what happened; ``last_lines`` are the last log lines received (scrubbed), ``close_code`` the
    WebSocket close code when the connection ended before Dokploy reported the end. A restore whose connection was
    lost may still be running on the server.
    """

    what = "Restore failed"

    def __init__(
        self, reason: str, *, server: str, last_lines: Sequence[str] = (), close_code: int | None = None
    ) -> None:
        tail = f". Last log lines: {' | '.join(last_lines[-5:])}" if last_lines else ""
        super().__init__(f"Restore on Dokploy server {server!r} failed: {reason}{tail}", server=server)
        self.reason = reason
        self.last_lines = tuple(last_lines)
        self.close_code = close_code
