"""Toolset ``deploy``: repair a Supabase stack's keys (re-sign, or rotate JWT_SECRET too), confirmed first."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit, Resolve
from pydantic import BaseModel, Field

from dokploy_mcp.dokploy.deployments import DeployReport
from dokploy_mcp.explain import explain
from dokploy_mcp.progress import Progress
from dokploy_mcp.registry import Handler, ToolSpec
from dokploy_mcp.services import stacks
from dokploy_mcp.supabase.secrets import shown
from dokploy_mcp.tools.args import (
    ConfirmToken,
    RevealArg,
    StackArg,
    WaitArg,
)
from dokploy_mcp.tools.confirming import Answer, ConfirmForm, NotAsked, ask, verdict
from dokploy_mcp.tools.context import ToolContext, runtime
from dokploy_mcp.tools.jobrun import JobView, WaitS, run_as_job
from dokploy_mcp.tools.shaping import progress_reporter

if TYPE_CHECKING:
    pass


class KeyView(BaseModel):
    variable: str
    value: str | None = Field(description="ANON_KEY is public and shown; the others are masked unless reveal")


class RegenerateResult(BaseModel):
    stack: str
    mode: Literal["resign", "rotate"]
    status: Literal["preview", "declined", "running", "done", "rolled_back", "rollback_failed"] = Field(
        description="running: the change goes on as `job`; its undo runs if it fails or is cancelled"
    )
    changes: list[str] = Field(description="the variables that change")
    warnings: list[str]
    steps: list[str] = Field(description="what was done, in order")
    failed_step: str | None = None
    problem: str | None = None
    keys: list[KeyView] = Field(default_factory=list, description="the keys now in the stack's env")
    redeploy: DeployReport | None = None
    confirm_token: str | None = Field(default=None, description="call again with this token (valid 10 minutes)")
    job: JobView | None = None
    next_step: str | None = None


async def _ask_keys(
    ctx: Context[Any, Any], stack: str, mode: str, confirm_token: str | None
) -> Elicit[ConfirmForm] | NotAsked:
    rotate = mode == "rotate"
    preview = (
        f"{'Rotate' if rotate else 'Re-sign'} the keys of the Supabase stack {stack}: new ANON_KEY and "
        f"SERVICE_ROLE_KEY{' and a new JWT_SECRET' if rotate else ''} are written to its env, then it is "
        f"redeployed. {_KEY_WARNINGS['rotate' if rotate else 'resign']}. If a step fails, the previous env is "
        "restored."
    )
    return ask(ctx, preview, token=confirm_token)


async def dokploy_regenerate_keys(
    ctx: ToolContext,
    stack: StackArg,
    mode: Annotated[
        Literal["resign", "rotate"],
        Field(
            description="resign: new ANON_KEY and SERVICE_ROLE_KEY signed with the current JWT_SECRET (sessions "
            "stay valid); rotate: new JWT_SECRET and keys (signs every user out, breaks anything holding old keys)"
        ),
    ] = "resign",
    verify: Annotated[
        bool, Field(description="check the new keys through the stack's kong gateway after the redeploy")
    ] = True,
    wait_seconds: WaitArg = 900,
    confirm_token: Annotated[
        ConfirmToken, Field(description="if no person was asked: the token from the preview")
    ] = None,
    reveal: RevealArg = False,
    wait_s: WaitS = None,
    person: Annotated[Answer | None, Resolve(_ask_keys)] = None,
) -> RegenerateResult:
    """Repair a Supabase stack's keys: sign new ones (resign) or rotate JWT_SECRET too, write the env, redeploy and
    verify through kong; any failure restores the previous env. Confirmed first (the person, or a preview token)."""
    confirmed = verdict(ctx, person)
    if not confirmed.go:
        return _unchanged(stack, mode, "declined", problem=confirmed.said)
    request = stacks.KeysRequest(
        mode=mode,
        verify=verify,
        wait_seconds=wait_seconds,
        confirm_token=confirm_token,
        person=confirmed.by == "person",
    )
    rt = runtime(ctx)

    async def work(progress: Progress) -> RegenerateResult:
        return _keys_result(await stacks.regenerate_keys(rt, stack, request, progress), mode, _changes(mode), reveal)

    if confirm_token is None and not request.person:
        return await work(progress_reporter(ctx))
    return await run_as_job(
        ctx,
        "dokploy_regenerate_keys",
        {"stack": stack, "reveal": reveal, **asdict(request)},
        lambda job: work(job.progress),
        wait_s=wait_s,
        summary=f"keys {mode} of {stack}",
        running=lambda job: _unchanged(stack, mode, "running", job=job),
    )


def _changes(mode: str) -> list[str]:
    return ["ANON_KEY", "SERVICE_ROLE_KEY"] + (["JWT_SECRET"] if mode == "rotate" else [])


def _unchanged(
    stack: str,
    mode: stacks.KeysMode,
    status: Literal["declined", "running"],
    *,
    problem: str | None = None,
    job: JobView | None = None,
) -> RegenerateResult:
    """The answer before anything is known of the outcome: declined by the person, or running as ``job``."""
    return RegenerateResult(
        stack=stack,
        mode=mode,
        status=status,
        changes=_changes(mode),
        warnings=[_KEY_WARNINGS[mode]],
        steps=job.steps_done if job is not None else [],
        problem=problem,
        job=job,
        next_step=job.next_call if job is not None else None,
    )


def _keys_result(
    outcome: stacks.KeysOutcome, mode: stacks.KeysMode, changes: list[str], reveal: bool
) -> RegenerateResult:
    result = RegenerateResult(
        stack=outcome.address,
        mode=mode,
        status=outcome.status,
        changes=changes,
        warnings=[_KEY_WARNINGS[mode]],
        steps=outcome.steps,
        failed_step=outcome.failed_step,
        problem=outcome.describe(explain),
        redeploy=outcome.redeploy,
        confirm_token=outcome.confirm_token,
    )
    env = outcome.env
    if env is not None:
        result.keys = [KeyView(variable=name, value=shown(name, env.get(name), reveal)) for name in changes]
    result.next_step = _keys_next_step(outcome)
    return result


_KEY_WARNINGS = {
    "rotate": "rotate signs out every user (their sessions are signed with the old JWT_SECRET) and breaks every app, "
    "edge function or backend that holds the old anon or service-role key until it gets the new ones",
    "resign": "resign keeps JWT_SECRET: sessions stay valid, and the old keys keep working too (they are signed with "
    "the same secret); rotate if an old key leaked",
}
#: After a failed restore, what to do depends on which env Dokploy holds.
_KEYS_RESTORE_FAILED = {
    "new": "the stack's env holds the NEW keys (consistent with each other) but the restore failed: "
    "redeploy the stack to apply them, then check it with dokploy_validate_config",
    "previous": "the previous env is in place but its redeploy failed: redeploy the stack, then check it "
    "with dokploy_validate_config",
}


def _keys_next_step(outcome: stacks.KeysOutcome) -> str | None:
    if outcome.status == "preview":
        return "call dokploy_regenerate_keys again with the same arguments and this confirm_token"
    if outcome.status == "rolled_back" and not outcome.nothing_changed:
        return "the previous env is back in place; fix the problem above and call again"
    if outcome.status == "rollback_failed":
        return _KEYS_RESTORE_FAILED.get(
            outcome.env_state or "",
            "the env is not the one this tool wrote nor the previous one: check it with dokploy_validate_config "
            "before anything else",
        )
    return None


def _spec(name: str, title: str, handler: Handler, *, read_only: bool = False, destructive: bool = False) -> ToolSpec:
    # None is idempotent: each call that changes Dokploy writes, deploys or signs anew.
    return ToolSpec(name, title, "deploy", handler, read_only=read_only, destructive=destructive, idempotent=False)


SPECS = [
    _spec("dokploy_regenerate_keys", "Regenerate a Supabase stack's keys", dokploy_regenerate_keys, destructive=True),
]
