"""Progress and safe points, shared by every long flow (deploys, the wizard, key repair, env and domain changes).

A flow awaits ``progress(message)`` between its steps; the tool layer turns each message into an MCP progress
notification and a step of the job it runs in. The points where a flow may stop without leaving anything half
done are marked with :func:`safe_point`: when the job the flow runs in was asked to stop, that is where it stops,
by raising :class:`~dokploy_mcp.errors.JobStoppedError`, and the flow's undo takes over. Undo runs through
:func:`shielded`, which neither a stop request nor a cancellation can interrupt, and which is bounded in time.

The job is found through a context variable, so that the deploy poller in the Dokploy client layer can offer a safe
point at every poll without knowing about jobs. Outside a job both functions are plain.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextvars import ContextVar

import anyio

from dokploy_mcp.errors import JobStoppedError

Progress = Callable[[str], Awaitable[None]]

#: The longest an undo may take (restore an env, put a domain back, wait for the redeploy of the previous env).
UNDO_SECONDS = 50.0

logger = logging.getLogger(__name__)

#: Set by the job a flow runs in: returns the reason when the job was asked to stop, else None.
stop_reason: ContextVar[Callable[[], str | None] | None] = ContextVar("dokploy_mcp_stop_reason", default=None)
_undoing: ContextVar[bool] = ContextVar("dokploy_mcp_undoing", default=False)


async def safe_point() -> None:
    """Stop here (raise JobStoppedError) when the job this flow runs in was asked to stop; never during an undo."""
    reason = stop_reason.get()
    if reason is None or _undoing.get():
        return
    why = reason()
    if why is not None:
        raise JobStoppedError(f"the job was stopped ({why}) before it finished")


async def shielded(action: Callable[[], Awaitable[object]], *, what: str, seconds: float = UNDO_SECONDS) -> bool:
    """Run an undo ``action`` to its end, shielded from cancellation and from stop requests, for at most ``seconds``.

    True when it finished; False when the time ran out (the action was cancelled then, and that is logged). The
    action's own errors propagate. A flow calls this from ``except BaseException`` so that a cancelled call cannot
    cancel its restore.
    """
    token = _undoing.set(True)
    try:
        with anyio.move_on_after(seconds, shield=True) as scope:
            await action()
    finally:
        _undoing.reset(token)
    if scope.cancelled_caught:
        logger.error("%s did not finish within %.0f s and was abandoned", what, seconds)
        return False
    return True
