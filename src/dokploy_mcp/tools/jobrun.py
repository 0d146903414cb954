"""Long tool calls as jobs: start the flow as a job (or join the one already running for the same call), wait for
it within the call budget, and answer with its result, or with the job when it is still running.

The job's work ends in the tool's own result model, so ``job_status`` hands back exactly what the call would have.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, TypeVar

import anyio
from mcp.server.mcpserver.exceptions import ToolError
from pydantic import BaseModel, Field

from dokploy_mcp.audit import AuditCall, AuditLog, current_call, failure_outcome
from dokploy_mcp.jobs import Job, JobStatus, Listener, job_key
from dokploy_mcp.redact import scrub
from dokploy_mcp.tools.context import ToolContext, runtime

R = TypeVar("R", bound=BaseModel)

#: The largest ``wait_s`` any call accepts; the call budget caps it further.
MAX_WAIT_S = 600

WaitS = Annotated[
    int | None,
    Field(
        ge=0,
        le=MAX_WAIT_S,
        description="seconds before answering with the running job (max: the call budget)",
    ),
]


class JobView(BaseModel):
    job_id: str
    tool: str
    status: JobStatus
    summary: str
    steps_done: list[str]
    current_step: str | None
    total_steps: int | None
    started_at: str
    finished_at: str | None
    error: str | None
    next_call: str | None


def view(job: Job) -> JobView:
    return JobView(
        job_id=job.job_id,
        tool=job.tool,
        status=job.status,
        summary=job.summary,
        # Steps quote Dokploy's words (a deployment's status, an error): data, scrubbed like every answer.
        steps_done=[scrub(step) for step in job.steps],
        current_step=scrub(job.current_step) if job.current_step is not None else None,
        total_steps=job.total,
        started_at=job.started_at,
        finished_at=job.finished_at,
        error=job.error,
        next_call=_next_call(job),
    )


def _next_call(job: Job) -> str | None:
    if job.finished:
        return None
    return (
        f'job_status {{"job_id": "{job.job_id}"}} to wait for it and get its result; '
        f'cancel_job {{"job_id": "{job.job_id}"}} to stop it and undo what it did'
    )


def call_wait(ctx: ToolContext, wait_s: int | None) -> float:
    """How long this call may wait: the caller's ``wait_s`` within the server's call budget."""
    budget = runtime(ctx).settings.call_budget
    return budget if wait_s is None else min(float(wait_s), budget)


def reporter(ctx: ToolContext) -> Listener:
    """Forwards a job's steps to this call's client as progress notifications."""

    async def report(done: float, total: int | None, message: str) -> None:
        await ctx.report_progress(done, total, message)

    return report


async def run_as_job(
    ctx: ToolContext,
    tool: str,
    arguments: Mapping[str, Any],
    work: Callable[[Job], Awaitable[R]],
    *,
    wait_s: int | None,
    summary: str,
    running: Callable[[JobView], R],
    total: int | None = None,
) -> R:
    """Run ``work`` as a job (or join the same call's running job) and answer within the budget: its result when it
    finished, ``running(view)`` when it goes on. A failed or stopped job is answered as the tool's error."""
    rt = runtime(ctx)
    # A call cancelled before its job starts must leave no job behind: the start itself has no await to stop at.
    await anyio.lowlevel.checkpoint_if_cancelled()
    call = current_call.get()
    job = rt.jobs.start(
        tool, job_key(tool, arguments), _audited_work(rt.audit, call, work), summary=summary, total=total
    )
    await job.wait(call_wait(ctx, wait_s), reporter(ctx))
    reply = answer(job, running)
    if call is not None and not job.finished:
        call.detached = True  # no await since the job was seen running: the job writes the last line
    return reply


def _audited_work(
    audit: AuditLog, call: AuditCall | None, work: Callable[[Job], Awaitable[R]]
) -> Callable[[Job], Awaitable[R]]:
    """``work``, writing the audit entry's last line when it ends after its call answered."""
    if call is None:
        return work

    async def audited(job: Job) -> R:
        try:
            result = await work(job)
        except BaseException as exc:
            if call.detached:
                audit.finished(call.entry_id, failure_outcome(exc), confirmed=call.confirmed, restored=_restored(job))
            raise
        if call.detached:
            status = getattr(result, "status", None)
            outcome = f"{'stopped' if job.stopped_at_safe_point else 'ok'}" + (f": {status}" if status else "")
            audit.finished(call.entry_id, outcome, confirmed=call.confirmed, restored=_restored(job))
        return result

    return audited


def _restored(job: Job) -> list[str]:
    """The steps of a job's undo: what it put back."""
    return [step for step in job.steps if any(word in step for word in ("restored", "put back", "previous"))]


def answer(job: Job, running: Callable[[JobView], R]) -> R:
    if not job.finished:
        return running(view(job))
    if job.status in ("done", "stopped") and job.result is not None:
        return job.result  # type: ignore[return-value] # the work of this tool returned its own result model
    raise ToolError(f"{job.error or 'the job ended ' + job.status} (job {job.job_id})")
