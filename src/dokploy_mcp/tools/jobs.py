"""Toolset ``core``: the jobs long calls run as (deploy waits, key repair, env and domain redeploys)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from dokploy_mcp.jobs import Job
from dokploy_mcp.registry import ToolSpec
from dokploy_mcp.tools.context import ToolContext, runtime
from dokploy_mcp.tools.jobrun import JobView, WaitS, call_wait, reporter, view

#: The newest jobs a listing shows; an older one is still read by its id.
MAX_LISTED = 50

JobIdArg = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^job_[0-9a-f]+$", description="the job_id a long call answered with"),
]


class JobReport(BaseModel):
    jobs: list[JobView] = Field(description="the job asked for, or the last hour's jobs, newest first (at most 50)")
    result: dict[str, Any] | None = Field(
        default=None, description="the finished job's result: what the call that started it would have answered"
    )


def _report(job: Job) -> JobReport:
    result = job.result.model_dump(mode="json") if job.finished and job.result is not None else None
    return JobReport(jobs=[view(job)], result=result)


async def job_status(
    ctx: ToolContext,
    job_id: Annotated[
        str | None,
        Field(max_length=64, pattern=r"^job_[0-9a-f]+$", description="the job to report; default: list recent jobs"),
    ] = None,
    wait_s: WaitS = None,
) -> JobReport:
    """Report a job started by a long call (wait for it, then its final result), or list this server's recent
    jobs. Finished results are kept for an hour."""
    jobs = runtime(ctx).jobs
    if job_id is None:
        return JobReport(jobs=[view(job) for job in jobs.recent()[:MAX_LISTED]])
    job = jobs.get(job_id)
    await job.wait(call_wait(ctx, wait_s), reporter(ctx))
    return _report(job)


async def cancel_job(ctx: ToolContext, job_id: JobIdArg, wait_s: WaitS = None) -> JobReport:
    """Stop a running job at its next safe point and undo what it did; waits for the undo within the call budget
    and reports what is left."""
    job = runtime(ctx).jobs.stop(job_id, "cancel_job was called")
    await job.wait(call_wait(ctx, wait_s), reporter(ctx))
    return _report(job)


SPECS = [
    ToolSpec(
        name="job_status",
        title="Report a job",
        toolset="core",
        handler=job_status,
        read_only=True,
        open_world=False,
        about_jobs=True,
    ),
    ToolSpec(
        name="cancel_job",
        title="Stop a job and undo it",
        toolset="core",
        handler=cancel_job,
        read_only=False,
        about_jobs=True,
        destructive=False,
        idempotent=True,
        open_world=True,
    ),
]
