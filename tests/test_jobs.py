"""The job runner and the undo guard, without MCP: keeping results, de-duplication, limits, stops, shutdown."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest
from pydantic import BaseModel

from dokploy_mcp.errors import DokployMCPError, InputError, JobNotFoundError, JobStoppedError
from dokploy_mcp.jobs import KEEP_SECONDS, MAX_RUNNING, Job, Jobs, job_key
from dokploy_mcp.progress import safe_point, shielded

pytestmark = pytest.mark.anyio


class Answer(BaseModel):
    value: str


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_a_finished_job_is_kept_for_an_hour_then_forgotten() -> None:
    clock = Clock()
    async with Jobs(clock=clock) as jobs:

        async def work(job: Job) -> Answer:
            return Answer(value="ok")

        job = jobs.start("t", "k", work, summary="s")
        assert await job.wait(10)
        clock.now += KEEP_SECONDS - 1
        assert jobs.get(job.job_id).result == Answer(value="ok")
        clock.now += 2
        with pytest.raises(JobNotFoundError) as caught:
            jobs.get(job.job_id)
    assert caught.value.job_id == job.job_id


async def test_the_key_holds_no_argument_in_clear() -> None:
    key = job_key("dokploy_update_env", {"set": {"DB_PASSWORD": "hunter2-secret"}})
    assert "hunter2" not in key and len(key) == 64
    assert key != job_key("dokploy_update_env", {"set": {"DB_PASSWORD": "other"}})


async def test_more_than_the_limit_of_running_jobs_is_refused() -> None:
    release = anyio.Event()

    async def work(job: Job) -> Answer:
        await release.wait()
        return Answer(value="ok")

    async with Jobs() as jobs:
        for n in range(MAX_RUNNING):
            jobs.start("t", f"k{n}", work, summary="s")
        with pytest.raises(InputError, match="cancel_job"):
            jobs.start("t", "one more", work, summary="s")
        # The same call as a running one is not a new job, so it is not refused.
        assert jobs.start("t", "k0", work, summary="s") in jobs.running
        release.set()


async def test_a_stop_takes_effect_at_the_next_safe_point_and_the_undo_runs() -> None:
    undone: list[str] = []
    reached = anyio.Event()
    go_on = anyio.Event()

    async def work(job: Job) -> Answer:
        try:
            await job.progress("step 1")
            reached.set()
            await go_on.wait()  # not a safe point: the stop waits for the next one
            await job.progress("step 2")
            return Answer(value="finished")
        except BaseException:
            await shielded(lambda: _note(undone, "undone"), what="undo")
            raise

    async with Jobs() as jobs:
        job = jobs.start("t", "k", work, summary="s")
        await reached.wait()
        assert jobs.stop(job.job_id, "asked").status == "stopping"
        go_on.set()
        assert await job.wait(10)
    assert job.status == "stopped" and job.steps == ["step 1", "step 2"]
    assert undone == ["undone"]
    assert job.error is not None and "asked" in job.error


async def _note(into: list[str], text: str) -> None:
    await anyio.lowlevel.checkpoint()
    into.append(text)


async def test_an_undo_survives_the_cancellation_that_started_it_and_is_bounded() -> None:
    finished: list[str] = []

    async def slow_undo() -> None:
        await anyio.sleep(0.05)
        finished.append("restored")

    with anyio.CancelScope() as scope:
        try:
            scope.cancel()
            await anyio.sleep(1)
        finally:
            assert await shielded(slow_undo, what="undo")
    assert finished == ["restored"]

    async def endless() -> None:
        await anyio.sleep(3600)

    assert await shielded(endless, what="undo", seconds=0.05) is False


async def test_safe_points_do_not_stop_an_undo() -> None:
    async def work(job: Job) -> Answer:
        async def undo() -> None:
            await safe_point()
            await job.progress("undo step")

        jobs.stop(job.job_id, "asked")
        assert await shielded(undo, what="undo")
        await safe_point()
        return Answer(value="not reached")

    async with Jobs() as jobs:
        job = jobs.start("t", "k", work, summary="s")
        await job.wait(10)
    assert job.status == "stopped" and job.steps == ["undo step"]


async def test_shutdown_cancels_a_job_that_never_reaches_a_safe_point_after_the_grace() -> None:
    undone: list[str] = []

    async def work(job: Job) -> Answer:
        try:
            await anyio.sleep(3600)
        except BaseException:
            await shielded(lambda: _note(undone, "undone"), what="undo")
            raise
        return Answer(value="never")

    jobs = Jobs(grace_seconds=0.05)
    async with jobs:
        job = jobs.start("t", "k", work, summary="s")
        await anyio.lowlevel.checkpoint()
    assert job.finished and job.status == "stopped"
    assert undone == ["undone"]


async def test_a_failure_is_described_and_a_bug_is_not_shown() -> None:
    async def fails(job: Job) -> Answer:
        raise DokployMCPError("Dokploy said no")

    async def bug(job: Job) -> Answer:
        raise KeyError("internal detail")

    async with Jobs(describe=lambda exc: f"described: {exc}") as jobs:
        failed = jobs.start("t", "a", fails, summary="s")
        broken = jobs.start("t", "b", bug, summary="s")
        await failed.wait(10)
        await broken.wait(10)
    assert failed.status == "failed" and failed.error == "described: Dokploy said no"
    assert broken.status == "failed" and broken.error is not None
    assert "internal detail" not in broken.error and "KeyError" in broken.error


async def test_numbered_steps_set_the_total_and_progress_only_increases() -> None:
    seen: list[tuple[float, int | None]] = []

    async def listener(value: float, total: int | None, message: str) -> None:
        seen.append((value, total))

    go = anyio.Event()

    async def work(job: Job) -> Answer:
        await go.wait()
        for message in ["step 1/3: a", "deployment x: running", "deployment x: done", "step 2/3: b", "step 3/3: c"]:
            await job.progress(message)
        return Answer(value="ok")

    async with Jobs() as jobs:
        job = jobs.start("t", "k", work, summary="s")
        async with anyio.create_task_group() as group:
            group.start_soon(job.wait, 10, listener)
            await anyio.sleep(0.01)
            go.set()
    values = [value for value, _ in seen]
    assert values == sorted(values) and len(set(values)) == len(values)
    assert values[0] == 1 and values[-1] == 3 and all(total == 3 for _, total in seen)


async def test_a_stopped_job_raises_job_stopped_at_its_safe_point() -> None:
    async def work(job: Job) -> Answer:
        jobs.stop(job.job_id, "cancel_job was called")
        with pytest.raises(JobStoppedError, match="cancel_job was called"):
            await safe_point()
        raise JobStoppedError("stopped")

    async with Jobs() as jobs:
        job = jobs.start("t", "k", work, summary="s")
        await job.wait(10)
    assert job.status == "stopped"
