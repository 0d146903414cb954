"""Toolset ``deploy``: find, check, configure and repair Supabase stacks on Dokploy."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit, Resolve
from pydantic import BaseModel, Field

from dokploy_mcp.dokploy.deployments import DeployReport
from dokploy_mcp.explain import explain
from dokploy_mcp.jobs import Job
from dokploy_mcp.progress import Progress
from dokploy_mcp.registry import Handler, ToolSpec
from dokploy_mcp.services import setup, stacks
from dokploy_mcp.supabase.inventory import ServerInventory
from dokploy_mcp.supabase.validate import ValidationReport
from dokploy_mcp.supabase.wizard import WizardResult
from dokploy_mcp.supabase.wizard_input import SmtpSettings, WizardInput, template_source
from dokploy_mcp.tools.args import (
    MAX_ADDRESS_CHARS,
    MAX_ENV_CHARS,
    MAX_VARIABLES,
    ConfirmToken,
    LetsEncryptArg,
    ProjectArg,
    PublicHostArg,
    RedeployArg,
    RemoteServerIdArg,
    RevealArg,
    ServerNameArg,
    SiteUrlArg,
    SmtpArg,
    StackArg,
    StackNameArg,
    TemplateArg,
    VariableName,
    WaitArg,
)
from dokploy_mcp.tools.confirming import Answer, ConfirmForm, NotAsked, ask_about, verdict
from dokploy_mcp.tools.context import ToolContext, runtime
from dokploy_mcp.tools.jobrun import JobView, WaitS, run_as_job
from dokploy_mcp.tools.shaping import EnvChangeView, env_change_view, progress_reporter

if TYPE_CHECKING:
    pass


class InstanceList(BaseModel):
    servers: list[ServerInventory]
    total: int = Field(description="Supabase stacks found on all servers")


async def dokploy_list_instances(
    ctx: ToolContext,
    server: Annotated[
        str | None,
        Field(
            max_length=MAX_ADDRESS_CHARS,
            description="only this Dokploy server (a name from the instances file); default: all",
        ),
    ] = None,
) -> InstanceList:
    """List every Supabase stack on the configured Dokploy servers: address, path, status, public URL and last
    deployment. Use an `address` from here as the `stack` argument of the other tools."""
    servers = await stacks.list_stacks(runtime(ctx), server)
    for inventory in servers:
        inventory.explain_errors(explain)
    return InstanceList(servers=servers, total=sum(len(s.stacks) for s in servers))


async def dokploy_validate_config(
    ctx: ToolContext,
    stack: Annotated[
        str | None,
        Field(
            max_length=MAX_ADDRESS_CHARS,
            description="the stack to check (address, compose id or project/compose); or give env_text instead",
        ),
    ] = None,
    env_text: Annotated[
        str | None,
        Field(
            max_length=MAX_ENV_CHARS,
            description="raw env text (KEY=VALUE lines) to check offline, without a stack; secrets are not echoed",
        ),
    ] = None,
) -> ValidationReport:
    """Check a Supabase stack's configuration: keys against JWT_SECRET, weak or example secrets, URLs vs the domain,
    SITE_URL, SMTP, missing variables, server IP, Let's Encrypt. Each finding names the tool call that fixes it."""
    return await stacks.validate_config(runtime(ctx), stack, env_text)


class EnvUpdateResult(BaseModel):
    stack: str
    status: Literal["unchanged", "dry_run", "confirm", "declined", "saved", "running"] = Field(
        description="running: the write and redeploy go on as `job`"
    )
    dry_run: bool
    saved: bool = Field(description="the new env was written to Dokploy")
    changes: list[EnvChangeView] = Field(default_factory=list)
    notes: list[str] = Field(default_factory=list)
    redeploy: DeployReport | None = None
    confirm_token: str | None = None
    job: JobView | None = None
    next_step: str | None = None


async def _ask_env(
    ctx: Context[Any, Any],
    stack: str,
    set: dict[str, str],
    unset: list[str],
    generate: list[str],
    redeploy: bool,
    dry_run: bool,
    confirm_token: str | None,
) -> Elicit[ConfirmForm] | NotAsked:
    if dry_run:
        return NotAsked("harmless")
    request = stacks.EnvRequest(set_values=set, unset=unset, generate=generate, redeploy=redeploy)
    return await ask_about(ctx, lambda rt: stacks.env_preview(rt, stack, request), token=confirm_token)


async def dokploy_update_env(
    ctx: ToolContext,
    stack: StackArg,
    set: Annotated[
        dict[VariableName, Annotated[str, Field(max_length=MAX_ENV_CHARS)]],
        Field(
            max_length=MAX_VARIABLES,
            description="{NAME: value} to set; other lines are kept",
        ),
    ] = {},  # noqa: B006 - pydantic copies defaults, and the SDK builds the schema from this signature
    unset: Annotated[list[VariableName], Field(max_length=MAX_VARIABLES, description="variables to remove")] = [],  # noqa: B006
    generate: Annotated[
        list[VariableName],
        Field(
            max_length=MAX_VARIABLES,
            description="variables to give a new random secret, e.g. DASHBOARD_PASSWORD",
        ),
    ] = [],  # noqa: B006
    dry_run: Annotated[bool, Field(description="only show the diff; change nothing")] = False,
    redeploy: RedeployArg = False,
    wait_seconds: WaitArg = 900,
    reveal: RevealArg = False,
    wait_s: WaitS = None,
    confirm_token: Annotated[ConfirmToken, Field(description="to overwrite a secret: the preview's token")] = None,
    person: Annotated[Answer | None, Resolve(_ask_env)] = None,
) -> EnvUpdateResult:
    """Set, unset or generate variables of a Supabase stack's env (masked diff; dry_run previews; overwriting a
    secret is confirmed first). Keys and JWT_SECRET: dokploy_regenerate_keys."""
    confirmed = verdict(ctx, person)
    if not confirmed.go:
        return EnvUpdateResult(stack=stack, status="declined", dry_run=False, saved=False, notes=[confirmed.said or ""])
    request = stacks.EnvRequest(
        set_values=set,
        unset=unset,
        generate=generate,
        dry_run=dry_run,
        redeploy=redeploy,
        wait_seconds=wait_seconds,
        confirm_token=confirm_token,
        person=confirmed.by == "person",
    )
    rt = runtime(ctx)

    async def work(progress: Progress) -> EnvUpdateResult:
        return _env_result(await stacks.update_env(rt, stack, request, progress), dry_run, redeploy, reveal)

    if dry_run:
        return await work(progress_reporter(ctx))
    return await run_as_job(
        ctx,
        "dokploy_update_env",
        {"stack": stack, "reveal": reveal, **asdict(request)},
        lambda job: work(job.progress),
        wait_s=wait_s,
        summary=f"env update of {stack}" + (" and redeploy" if redeploy else ""),
        running=lambda job: EnvUpdateResult(
            stack=stack, status="running", dry_run=False, saved=False, job=job, next_step=job.next_call
        ),
    )


def _env_result(outcome: stacks.EnvOutcome, dry_run: bool, redeploy: bool, reveal: bool) -> EnvUpdateResult:
    notes = outcome.notes
    if outcome.status == "unchanged":
        notes.append("nothing to change: the env already has these values")
    return EnvUpdateResult(
        stack=outcome.address,
        status=outcome.status,
        dry_run=dry_run,
        saved=outcome.status == "saved",
        changes=[env_change_view(change, reveal) for change in outcome.changes],
        notes=notes,
        redeploy=outcome.redeploy,
        confirm_token=outcome.confirm_token,
        next_step=_env_next_step(outcome, redeploy),
    )


def _env_next_step(outcome: stacks.EnvOutcome, redeploy: bool) -> str | None:
    if outcome.status == "confirm":
        return "call dokploy_update_env again with the same arguments and this confirm_token"
    if outcome.status != "saved":
        return None
    if not redeploy:
        return (
            "the change is saved but not applied: the stack reads its env when it is deployed; call again with "
            "redeploy=true, or redeploy later"
        )
    if outcome.redeploy is not None and outcome.redeploy.status != "done":
        return "the redeploy did not finish in done: read log_tail, then dokploy_get_logs for the services"
    return None


#: The wizard's deploy may pull every Supabase image: it runs as a job, so it may wait long (cancel_job stops it).
WIZARD_DEPLOY_WAIT_SECONDS = 3600


class WizardAnswer(WizardResult):
    status: Literal["ready", "deployed_unverified", "failed", "confirm", "declined", "running"] = Field(  # type: ignore[assignment]
        description="running: the setup goes on as `job`; confirm: adopting a deployed stack waits for its token"
    )
    job: JobView | None = None


async def _ask_adopt(
    ctx: Context[Any, Any], project: str, stack_name: str, server: str | None, adopt: bool, confirm_token: str | None
) -> Elicit[ConfirmForm] | NotAsked:
    if not adopt:
        return NotAsked("harmless")
    spec = WizardInput(project=project, stack_name=stack_name, adopt=True)
    return await ask_about(ctx, lambda rt: setup.adoption_preview(rt, server, spec), token=confirm_token)


async def dokploy_setup_wizard(
    ctx: ToolContext,
    project: ProjectArg,
    stack_name: StackNameArg = "supabase",
    domain: PublicHostArg = None,
    https: LetsEncryptArg = True,
    site_url: SiteUrlArg = None,
    smtp: SmtpArg = None,
    server: ServerNameArg = None,
    server_id: RemoteServerIdArg = None,
    template: TemplateArg = None,
    reveal: RevealArg = False,
    wait_s: WaitS = None,
    adopt: Annotated[bool, Field(description="take over a same-named stack not made by this wizard")] = False,
    confirm_token: Annotated[ConfirmToken, Field(description="to adopt a deployed stack: the preview's token")] = None,
    person: Annotated[Answer | None, Resolve(_ask_adopt)] = None,
) -> WizardAnswer:
    """Deploy Supabase on Dokploy end to end (project, template, env, domain, deploy, kong probe); returns URLs and
    credentials. A job; the same project again resumes."""
    confirmed = verdict(ctx, person)
    if not confirmed.go:
        return WizardAnswer(status="declined", project=project, steps_done=[], problem=confirmed.said)
    mirror, folder = template_source(template)
    spec = WizardInput(
        project=project,
        stack_name=stack_name,
        domain=domain,
        https=https,
        site_url=site_url,
        smtp=SmtpSettings.from_url(smtp) if smtp else None,
        server_id=server_id,
        template_mirror=mirror,
        template_dir=folder,
        wait_seconds=WIZARD_DEPLOY_WAIT_SECONDS,
        reveal=reveal,
        adopt=adopt,
    )
    return await _wizard_job(ctx, server, spec, confirm_token, confirmed.by == "person", wait_s)


async def _wizard_job(
    ctx: ToolContext, server: str | None, spec: WizardInput, token: str | None, person: bool, wait_s: int | None
) -> WizardAnswer:
    rt = runtime(ctx)

    async def work(job: Job) -> WizardAnswer:
        result = await setup.setup_stack(rt, server, spec, job.progress, confirm_token=token, person=person)
        result.explain_errors(explain)
        return WizardAnswer.model_validate(result.model_dump())

    return await run_as_job(
        ctx,
        "dokploy_setup_wizard",
        {**asdict(spec), "server": server, "token": token, "person": person},
        work,
        wait_s=wait_s,
        summary=f"Supabase setup of {spec.project}/{spec.stack_name}",
        running=lambda job: WizardAnswer(
            status="running", project=spec.project, steps_done=job.steps_done, job=job, resume=job.next_call
        ),
    )


def _spec(name: str, title: str, handler: Handler, *, read_only: bool = False, destructive: bool = False) -> ToolSpec:
    # None is idempotent: each call that changes Dokploy writes, deploys or signs anew.
    return ToolSpec(name, title, "deploy", handler, read_only=read_only, destructive=destructive, idempotent=False)


SPECS = [
    # Destructive: with adopt it may re-sign keys or replace JWT_SECRET of a deployed stack (confirmed first).
    _spec("dokploy_setup_wizard", "Deploy a Supabase stack on Dokploy", dokploy_setup_wizard, destructive=True),
    _spec("dokploy_list_instances", "List Supabase stacks", dokploy_list_instances, read_only=True),
    _spec(
        "dokploy_validate_config", "Validate a Supabase stack's configuration", dokploy_validate_config, read_only=True
    ),
    _spec("dokploy_update_env", "Update a Supabase stack's env", dokploy_update_env, destructive=True),
]
