"""The one shape of a progress callback, shared by every long flow (deploys, the wizard, key rotation).

A flow awaits ``progress(message)`` between its steps; the tool layer turns each message into an MCP progress
notification. It lives in the base layer because clients (the deploy poller), domain flows and services all take one.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

Progress = Callable[[str], Awaitable[None]]
