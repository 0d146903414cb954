"""Jobs: long work that runs in the server process, beyond the tool call that started it.

A client gives up on a call after its request timeout (60 s by default in the TypeScript SDK), while a deploy, a
key repair or a backup takes minutes. So a long flow runs as a :class:`Job` in the runtime's task group: the call
waits for it up to the call budget and then answers with the job, and ``job_status`` waits for it or reads its
final result later. Cancelling or timing out the call only detaches it; a job stops only through :meth:`Jobs.stop`
(``cancel_job``) or shutdown, at its next safe point (:func:`dokploy_mcp.progress.safe_point`), and then runs its own
undo. The same call while its job runs gets that job back (``key`` is a digest of the tool and its arguments).

Jobs live in this process: a server restarted, or another worker behind a load balancer, does not know them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import re
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, Literal

import anyio
from anyio.abc import TaskGroup
from pydantic import BaseModel

from dokploy_mcp.errors import DokployMCPError, InputError, JobNotFoundError, JobStoppedError, NextStep
from dokploy_mcp.progress import UNDO_SECONDS, safe_point, stop_reason

logger = logging.getLogger(__name__)

JobStatus = Literal["running", "stopping", "done", "failed", "stopped"]
#: A waiting caller's progress reporter: (progress, total steps or None, message); progress only increases.
Listener = Callable[[float, int | None, str], Awaitable[None]]
Describe = Callable[[DokployMCPError], str]

#: Finished jobs are kept at least this long, so that their result can be read after the call gave up.
KEEP_SECONDS = 3600.0
#: How many jobs may run at once: each holds Dokploy deploys or database work, so more is a runaway client.
MAX_RUNNING = 16
#: Shutdown gives running jobs this long to reach a safe point and undo what they did.
SHUTDOWN_GRACE_SECONDS = 60.0
#: A progress notification that cannot be sent within this long is dropped: a slow client must not stall a job.
NOTIFY_SECONDS = 2.0
_NUMBERED_STEP = re.compile(r"^step (\d{1,4})/(\d{1,4})\b")


def job_key(tool: str, arguments: Mapping[str, Any]) -> str:
    """The identity of a call for de-duplication: a digest, since the arguments may hold secrets."""
    text = json.dumps({"tool": tool, "arguments": arguments}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(eq=False)
class Job:
    """One long flow: what it is, how far it got, and how it ended."""

    job_id: str
    tool: str
    key: str
    summary: str
    total: int | None = None
    status: JobStatus = "running"
    steps: list[str] = field(default_factory=list)
    started_at: str = field(default_factory=lambda: _now())
    finished_at: str | None = None
    result: BaseModel | None = None
    error: str | None = None
    stop_reason: str | None = None
    #: The flow met a safe point after the stop request: whatever it returns is what its undo left.
    stopped_at_safe_point: bool = False
    finished_monotonic: float | None = None
    #: Where a flow that numbers its steps ("step 3/9: stack") stands; its other messages count in between.
    position: float = 0.0
    _done: anyio.Event = field(default_factory=anyio.Event)
    _scope: anyio.CancelScope | None = None
    _listeners: list[Listener] = field(default_factory=list)

    @property
    def finished(self) -> bool:
        return self._done.is_set()

    @property
    def current_step(self) -> str | None:
        return self.steps[-1] if self.steps and not self.finished else None

    def requested_stop(self) -> str | None:
        # Asked by safe_point, which raises when this is not None: the flow stops (and undoes) from here on.
        if self.stop_reason is not None:
            self.stopped_at_safe_point = True
        return self.stop_reason

    async def progress(self, message: str) -> None:
        """A step is done: record it, tell the callers waiting on the job, then stop here if asked to."""
        self.steps.append(message)
        self._advance(message)
        for listener in list(self._listeners):
            # A caller that went away or reads slowly loses the notification, never the job.
            with anyio.move_on_after(NOTIFY_SECONDS):
                try:
                    await listener(self.position, self.total, message)
                except Exception:  # a notification is best effort by nature
                    logger.debug("a progress notification of job %s was not delivered", self.job_id)
        await safe_point()

    def _advance(self, message: str) -> None:
        numbered = _NUMBERED_STEP.match(message)
        if numbered is not None and int(numbered[2]) >= int(numbered[1]) > self.position:
            self.position, self.total = float(numbered[1]), int(numbered[2])
        elif self.total is None:
            self.position += 1
        else:
            # Between two numbered steps (a deploy's status, say): closer to the next one, never reaching it.
            self.position += (math.floor(self.position) + 1 - self.position) / 10

    async def wait(self, seconds: float, listener: Listener | None = None) -> bool:
        """Wait up to ``seconds`` for the job to finish, forwarding its progress to ``listener``; True if it did.
        Cancelling the wait only detaches the caller."""
        if listener is not None:
            self._listeners.append(listener)
        try:
            with anyio.move_on_after(max(seconds, 0.0)):
                await self._done.wait()
        finally:
            if listener is not None:
                self._listeners.remove(listener)
        return self.finished


Work = Callable[[Job], Awaitable[BaseModel]]


class Jobs:
    """The jobs of this process, run in a task group that lives as long as the server."""

    def __init__(
        self,
        describe: Describe = str,
        *,
        keep_seconds: float = KEEP_SECONDS,
        grace_seconds: float = SHUTDOWN_GRACE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._describe = describe
        self._keep = keep_seconds
        self._grace = grace_seconds
        self._clock = clock
        self._jobs: dict[str, Job] = {}
        self._group: TaskGroup | None = None

    async def __aenter__(self) -> Jobs:
        group = anyio.create_task_group()
        await group.__aenter__()
        self._group = group
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> bool | None:
        group, self._group = self._group, None
        if group is None:
            return None
        with anyio.CancelScope(shield=True):
            await self.shutdown("the server is shutting down")
        return await group.__aexit__(exc_type, exc, tb)

    @property
    def running(self) -> list[Job]:
        return [job for job in self._jobs.values() if not job.finished]

    def recent(self) -> list[Job]:
        """Every job still kept, newest first."""
        self._prune()
        return sorted(self._jobs.values(), key=lambda job: job.started_at, reverse=True)

    def get(self, job_id: str) -> Job:
        self._prune()
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFoundError(
                f"no job {job_id!r} in this server process (jobs are kept for an hour after they finish, and a "
                "restarted server or another worker does not know them)",
                job_id=job_id,
                next_step=NextStep(tool="job_status", arguments={}),
            )
        return job

    def start(self, tool: str, key: str, work: Work, *, summary: str, total: int | None = None) -> Job:
        """Start ``work`` as a job, or return the job already running for the same key."""
        for job in self.running:
            if job.key == key:
                return job
        if self._group is None:
            raise RuntimeError("jobs are not accepted: the job runner is not running")
        if len(self.running) >= MAX_RUNNING:
            raise InputError(
                f"{MAX_RUNNING} jobs are already running in this server: wait for one with job_status, or stop one "
                "with cancel_job",
                field="job",
            )
        job = Job(job_id="job_" + secrets.token_hex(6), tool=tool, key=key, summary=summary, total=total)
        self._jobs[job.job_id] = job
        self._group.start_soon(self._run, job, work, name=f"job {job.job_id} ({tool})")
        return job

    def stop(self, job_id: str, reason: str) -> Job:
        """Ask a job to stop at its next safe point and undo what it did."""
        job = self.get(job_id)
        if not job.finished and job.stop_reason is None:
            job.stop_reason = reason
            job.status = "stopping"
            logger.info("job %s (%s) asked to stop: %s", job.job_id, job.tool, reason)
        return job

    async def shutdown(self, reason: str) -> None:
        """Ask every running job to stop, give them the grace period, then cancel what is left (its undo still runs,
        shielded); what was left is logged."""
        running = self.running
        if not running:
            return
        logger.warning("stopping %d running job(s): %s", len(running), reason)
        for job in running:
            self.stop(job.job_id, reason)
        with anyio.move_on_after(self._grace):
            for job in running:
                await job._done.wait()
        for job in self.running:
            logger.error(
                "job %s (%s) did not reach a safe point within %.0f s and is cancelled; steps done: %s",
                job.job_id,
                job.tool,
                self._grace,
                "; ".join(job.steps) or "none",
            )
            if job._scope is not None:
                job._scope.cancel()
        with anyio.move_on_after(UNDO_SECONDS + 5):
            for job in running:
                await job._done.wait()
        for job in running:
            logger.warning("job %s (%s) ended %s: %s", job.job_id, job.tool, job.status, job.error or "ok")

    async def _run(self, job: Job, work: Work) -> None:
        token = stop_reason.set(job.requested_stop)
        try:
            with anyio.CancelScope() as scope:
                job._scope = scope
                await self._finish(job, work)
            if scope.cancelled_caught:
                job.status, job.error = "stopped", "cancelled at shutdown before it reached a safe point"
        finally:
            stop_reason.reset(token)
            job.finished_at = _now()
            job.finished_monotonic = self._clock()
            job._done.set()

    async def _finish(self, job: Job, work: Work) -> None:
        try:
            job.result = await work(job)
            # A flow that turns a stop into its own outcome (keys: rolled back) still ends as stopped.
            job.status = "stopped" if job.stopped_at_safe_point else "done"
        except JobStoppedError as exc:
            job.status, job.error = "stopped", self._describe(exc)
        except DokployMCPError as exc:
            job.status, job.error = "failed", self._describe(exc)
        except Exception as exc:
            logger.exception("job %s (%s) failed unexpectedly", job.job_id, job.tool)
            job.status = "failed"
            job.error = (
                f"{job.tool} failed with an internal error ({type(exc).__name__}): this is a bug in dokploy-mcp; "
                "the details are in the server's log"
            )

    def _prune(self) -> None:
        now = self._clock()
        for job_id, job in list(self._jobs.items()):
            if job.finished_monotonic is not None and now - job.finished_monotonic > self._keep:
                del self._jobs[job_id]


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
