"""Serving over stdio with the shutdown the jobs need.

The SDK's ``run("stdio")`` leaves SIGTERM to Python's default (the process dies at once), which would cut a running
job off in the middle of its work: an env written and never redeployed, or never put back. Here, SIGTERM (or
SIGINT) with no job running ends the process within seconds; with jobs running, they are asked to stop at their
next safe point and undo what they did, for up to a minute, and a second signal exits at once after logging what
was left. Closing stdin shuts down the same way, through the runtime's exit.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
from typing import Any

import anyio
from anyio import CancelScope
from anyio.abc import TaskGroup
from mcp.server import MCPServer

from dokploy_mcp.jobs import Jobs

logger = logging.getLogger(__name__)

#: After the last job is done (or none ran), the process ends within this long even if stdin's reader thread blocks.
EXIT_SECONDS = 3.0


async def serve_stdio(server: MCPServer[Any], jobs: Jobs) -> None:
    async with anyio.create_task_group() as group:
        group.start_soon(_handle_signals, jobs, group)
        await server.run_stdio_async()
        group.cancel_scope.cancel()


async def _handle_signals(jobs: Jobs, group: TaskGroup) -> None:
    with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
        stopping = False
        async for signum in signals:
            name = signal.Signals(signum).name
            if stopping:
                _exit_now(jobs, name)
            stopping = True
            if jobs.running:
                logger.warning(
                    "%s: asking %d running job(s) to stop and undo; send it again to exit at once",
                    name,
                    len(jobs.running),
                )
                # In its own task, so that this loop still hears the second signal.
                group.start_soon(_stop_then_exit, jobs, group.cancel_scope, name)
            else:
                logger.info("%s: no job is running, exiting", name)
                _leave(group.cancel_scope)


async def _stop_then_exit(jobs: Jobs, scope: CancelScope, name: str) -> None:
    await jobs.shutdown(f"the server got {name}")
    _leave(scope)


def _leave(scope: CancelScope) -> None:
    # stdin is read in a worker thread that a cancellation cannot interrupt: the timer ends the process if the
    # reader keeps it alive.
    timer = threading.Timer(EXIT_SECONDS, os._exit, (0,))
    timer.daemon = True
    timer.start()
    scope.cancel()


def _exit_now(jobs: Jobs, name: str) -> None:
    for job in jobs.running:
        logger.error(
            "second %s: exiting now; job %s (%s) was left %s after: %s",
            name,
            job.job_id,
            job.tool,
            job.status,
            "; ".join(job.steps) or "no step",
        )
    logging.shutdown()
    os._exit(128 + signal.SIGTERM)
