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
import threading
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TypeVar

import anyio

from dokploy_mcp.errors import JobStoppedError

Progress = Callable[[str], Awaitable[None]]

T = TypeVar("T")
#: How long a blocking step asked to stop may take to undo itself and return.
STOP_GRACE_S = 60.0
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


async def in_thread(call: Callable[[], T]) -> T:
    """A short blocking ``call`` (a driver's query) in a worker thread; a cancellation waits for it to return."""
    return await anyio.to_thread.run_sync(call)


async def stoppable_in_thread(call: Callable[[Callable[[], bool]], T], *, grace_s: float = STOP_GRACE_S) -> T:
    """A long blocking ``call(should_stop)`` in a worker thread. ``should_stop()`` turns true when this task is
    cancelled or the job it runs in is asked to stop; the call checks it now and then, undoes its own step and
    returns (or raises), and is waited for (up to ``grace_s``) before the cancellation goes on."""
    asked = threading.Event()
    finished = threading.Event()
    reason = stop_reason.get()

    def should_stop() -> bool:
        return asked.is_set() or (reason is not None and reason() is not None)

    def run() -> T:
        try:
            return call(should_stop)
        finally:
            finished.set()

    try:
        return await anyio.to_thread.run_sync(run, abandon_on_cancel=True)
    except BaseException:
        asked.set()
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(finished.wait, grace_s)
        raise
