"""Toolset ``deploy``: find, check, configure and repair Supabase stacks on Dokploy."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Literal

from pydantic import BaseModel, Field

from dokploy_mcp.dokploy.deployments import DeployReport
from dokploy_mcp.explain import explain
from dokploy_mcp.jobs import Job
from dokploy_mcp.progress import Progress
from dokploy_mcp.registry import Handler, ToolSpec
from dokploy_mcp.services import setup, stacks
from dokploy_mcp.supabase.inventory import ServerInventory
from dokploy_mcp.supabase.secrets import shown
from dokploy_mcp.supabase.stack import domain_url
from dokploy_mcp.supabase.validate import ValidationReport
from dokploy_mcp.supabase.wizard import SmtpSettings, WizardInput, WizardResult, template_source
from dokploy_mcp.tools.args import (
    MAX_ADDRESS_CHARS,
    MAX_ENV_CHARS,
    MAX_HOST_CHARS,
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
from dokploy_mcp.tools.context import ToolContext, runtime
from dokploy_mcp.tools.jobrun import JobView, WaitS, run_as_job

if TYPE_CHECKING:
    from dokploy_mcp.dokploy.models import Domain
    from dokploy_mcp.supabase.env import EnvChange


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


class EnvChangeView(BaseModel):
    variable: str
    change: Literal["added", "changed", "removed"]
    old: str | None = Field(description="masked when secret, unless reveal")
    new: str | None = Field(description="masked when secret, unless reveal")


class EnvUpdateResult(BaseModel):
    stack: str
    status: Literal["unchanged", "dry_run", "saved", "running"] = Field(
        description="running: the write and redeploy go on as `job`"
    )
    dry_run: bool
    saved: bool = Field(description="the new env was written to Dokploy")
    changes: list[EnvChangeView]
    notes: list[str]
    redeploy: DeployReport | None = None
    job: JobView | None = None
    next_step: str | None = None


async def dokploy_update_env(
    ctx: ToolContext,
    stack: StackArg,
    set: Annotated[
        dict[VariableName, Annotated[str, Field(max_length=MAX_ENV_CHARS)]],
        Field(
            max_length=MAX_VARIABLES,
            description="variables to set, {NAME: value}; comments and other variables are kept",
        ),
    ] = {},  # noqa: B006 - pydantic copies defaults, and the SDK builds the schema from this signature
    unset: Annotated[list[VariableName], Field(max_length=MAX_VARIABLES, description="variables to remove")] = [],  # noqa: B006
    generate: Annotated[
        list[VariableName],
        Field(
            max_length=MAX_VARIABLES,
            description="variables to set to a fresh random secret, e.g. DASHBOARD_PASSWORD (masked unless reveal)",
        ),
    ] = [],  # noqa: B006
    dry_run: Annotated[bool, Field(description="only show the diff; change nothing")] = False,
    redeploy: RedeployArg = False,
    wait_seconds: WaitArg = 900,
    reveal: RevealArg = False,
    wait_s: WaitS = None,
) -> EnvUpdateResult:
    """Set, unset or generate variables of a Supabase stack's env with a masked diff; dry_run previews. Keys and
    JWT_SECRET are refused here (use dokploy_regenerate_keys); URL variables are kept in step."""
    request = stacks.EnvRequest(
        set_values=set, unset=unset, generate=generate, dry_run=dry_run, redeploy=redeploy, wait_seconds=wait_seconds
    )
    rt = runtime(ctx)

    async def work(progress: Progress) -> EnvUpdateResult:
        return _env_result(await stacks.update_env(rt, stack, request, progress), dry_run, redeploy, reveal)

    if dry_run:
        return await work(_progress(ctx))
    return await run_as_job(
        ctx,
        "dokploy_update_env",
        {"stack": stack, "reveal": reveal, **asdict(request)},
        lambda job: work(job.progress),
        wait_s=wait_s,
        summary=f"env update of {stack}" + (" and redeploy" if redeploy else ""),
        running=lambda job: EnvUpdateResult(
            stack=stack,
            status="running",
            dry_run=False,
            saved=False,
            changes=[],
            notes=[],
            job=job,
            next_step=job.next_call,
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
        changes=[_view(change, reveal) for change in outcome.changes],
        notes=notes,
        redeploy=outcome.redeploy,
        next_step=_env_next_step(outcome, redeploy),
    )


def _env_next_step(outcome: stacks.EnvOutcome, redeploy: bool) -> str | None:
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


def _view(change: EnvChange, reveal: bool) -> EnvChangeView:
    return EnvChangeView(
        variable=change.key,
        change=change.kind,
        old=shown(change.key, change.old, reveal),
        new=shown(change.key, change.new, reveal),
    )


def _progress(ctx: ToolContext) -> Callable[[str], Awaitable[None]]:
    step = 0

    async def report(message: str) -> None:
        nonlocal step
        step += 1
        await ctx.report_progress(step, None, message)

    return report


class DomainView(BaseModel):
    domain_id: str
    host: str
    url: str
    https: bool
    certificate_type: str | None
    service: str | None
    port: int | None


class DomainResult(BaseModel):
    stack: str
    action: Literal["list", "add", "update", "remove"]
    status: Literal["listed", "confirm", "dry_run", "applied", "running"] = Field(
        description="running: the change and its redeploy go on as `job`"
    )
    applied: bool = Field(description="false for list, dry runs and previews")
    domains: list[DomainView] = Field(
        default_factory=list, description="the stack's domains after the action (before it, for previews)"
    )
    env_changes: list[EnvChangeView] = Field(
        default_factory=list, description="URL variables changed to match the domain"
    )
    notes: list[str] = Field(default_factory=list)
    confirm_token: str | None = Field(
        default=None, description="for remove: call again with this token (valid 10 minutes) to remove"
    )
    redeploy: DeployReport | None = None
    job: JobView | None = None
    next_step: str | None = None


def _domain_view(domain: Domain) -> DomainView:
    return DomainView(
        domain_id=domain.domain_id,
        host=domain.host,
        url=domain_url(domain),
        https=domain.https,
        certificate_type=domain.certificate_type,
        service=domain.service_name,
        port=domain.port,
    )


async def manage_domain(
    ctx: ToolContext,
    stack: StackArg,
    action: Annotated[
        Literal["list", "add", "update", "remove"],
        Field(description="list the domains; add the kong domain; update its host or https; remove one"),
    ] = "list",
    host: Annotated[
        str | None,
        Field(
            max_length=MAX_HOST_CHARS,
            description="for add/update: the host name, e.g. api.example.com (no scheme or path)",
        ),
    ] = None,
    https: Annotated[
        bool | None,
        Field(description="for add/update: https with Let's Encrypt (add: default true)"),
    ] = None,
    domain_id: Annotated[
        str | None,
        Field(
            max_length=MAX_ADDRESS_CHARS, description="for update/remove when the stack has several domains: which one"
        ),
    ] = None,
    dry_run: Annotated[bool, Field(description="for add/update: show what would change, change nothing")] = False,
    redeploy: RedeployArg = False,
    wait_seconds: WaitArg = 900,
    confirm_token: Annotated[
        ConfirmToken, Field(description="for remove: the token from the preview (call without it first)")
    ] = None,
    wait_s: WaitS = None,
) -> DomainResult:
    """List, add, update or remove the public domain of a Supabase stack (kong, port 8000), keeping API_EXTERNAL_URL,
    SUPABASE_PUBLIC_URL and SUPABASE_HOST in step. Remove asks for confirmation; changes apply after a redeploy."""
    request = stacks.DomainRequest(
        action=action,
        host=host,
        https=https,
        domain_id=domain_id,
        dry_run=dry_run,
        redeploy=redeploy,
        wait_seconds=wait_seconds,
        confirm_token=confirm_token,
    )
    if action == "list" or dry_run:
        return _domain_result(await stacks.manage_domain(runtime(ctx), stack, request, _progress(ctx)), action)
    return await _domain_job(ctx, stack, request, wait_s)


async def _domain_job(ctx: ToolContext, stack: str, request: stacks.DomainRequest, wait_s: int | None) -> DomainResult:
    rt, action = runtime(ctx), request.action

    async def work(job: Job) -> DomainResult:
        return _domain_result(await stacks.manage_domain(rt, stack, request, job.progress), action)

    return await run_as_job(
        ctx,
        "manage_domain",
        {"stack": stack, **asdict(request)},
        work,
        wait_s=wait_s,
        summary=f"domain {action} of {stack}" + (" and redeploy" if request.redeploy else ""),
        running=lambda job: DomainResult(
            stack=stack, action=action, status="running", applied=False, job=job, next_step=job.next_call
        ),
    )


def _domain_result(outcome: stacks.DomainOutcome, action: stacks.DomainAction) -> DomainResult:
    result = DomainResult(
        stack=outcome.address,
        action=action,
        status=outcome.status,
        applied=outcome.status == "applied",
        domains=[_domain_view(d) for d in outcome.domains],
        env_changes=[_view(c, reveal=False) for c in outcome.env_changes],
        notes=outcome.notes,
        confirm_token=outcome.confirm_token,
        redeploy=outcome.redeploy,
    )
    # A redeploy that ran is its own outcome; otherwise the status says what to do next.
    result.next_step = None if outcome.redeploy is not None else _DOMAIN_NEXT_STEPS.get(outcome.status)
    return result


#: What to do after manage_domain, by the outcome's status (an applied change with its redeploy needs nothing).
_DOMAIN_NEXT_STEPS = {
    "confirm": "call manage_domain again with the same arguments and this confirm_token to remove",
    "dry_run": "call again without dry_run to apply",
    "applied": "the domain takes effect after a redeploy: call again with redeploy=true or redeploy later",
}


class KeyView(BaseModel):
    variable: str
    value: str | None = Field(description="ANON_KEY is public and shown; the others are masked unless reveal")


class RegenerateResult(BaseModel):
    stack: str
    mode: Literal["resign", "rotate"]
    status: Literal["preview", "running", "done", "rolled_back", "rollback_failed"] = Field(
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
        ConfirmToken, Field(description="the token from the preview; without it nothing changes")
    ] = None,
    reveal: RevealArg = False,
    wait_s: WaitS = None,
) -> RegenerateResult:
    """Repair a Supabase stack's keys: sign new ones (resign) or rotate JWT_SECRET too, write the env, redeploy and
    verify through kong; any failure restores the previous env. Call without confirm_token to preview."""
    request = stacks.KeysRequest(mode=mode, verify=verify, wait_seconds=wait_seconds, confirm_token=confirm_token)
    rt = runtime(ctx)
    changes = ["ANON_KEY", "SERVICE_ROLE_KEY"] + (["JWT_SECRET"] if mode == "rotate" else [])

    async def work(progress: Progress) -> RegenerateResult:
        return _keys_result(await stacks.regenerate_keys(rt, stack, request, progress), mode, changes, reveal)

    if confirm_token is None:
        return await work(_progress(ctx))
    return await run_as_job(
        ctx,
        "dokploy_regenerate_keys",
        {"stack": stack, "reveal": reveal, **asdict(request)},
        lambda job: work(job.progress),
        wait_s=wait_s,
        summary=f"keys {mode} of {stack}",
        running=lambda job: RegenerateResult(
            stack=stack,
            mode=mode,
            status="running",
            changes=changes,
            warnings=[_KEY_WARNINGS[mode]],
            steps=job.steps_done,
            job=job,
            next_step=job.next_call,
        ),
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


#: The wizard's deploy may pull every Supabase image: it runs as a job, so it may wait long (cancel_job stops it).
WIZARD_DEPLOY_WAIT_SECONDS = 3600


class WizardAnswer(WizardResult):
    status: Literal["ready", "deployed_unverified", "failed", "running"] = Field(  # type: ignore[assignment]
        description="running: the setup goes on as `job`"
    )
    job: JobView | None = None


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
) -> WizardAnswer:
    """Deploy Supabase on Dokploy end to end (project, template, env fixes, domain, deploy, kong probe); returns
    URLs and credentials. Runs as a job; call again with the same project to resume."""
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
    )
    rt = runtime(ctx)

    async def work(job: Job) -> WizardAnswer:
        result = await setup.setup_stack(rt, server, spec, job.progress)
        result.explain_errors(explain)
        return WizardAnswer.model_validate(result.model_dump())

    return await run_as_job(
        ctx,
        "dokploy_setup_wizard",
        {**asdict(spec), "server": server},
        work,
        wait_s=wait_s,
        summary=f"Supabase setup of {project}/{stack_name}",
        running=lambda job: WizardAnswer(
            status="running", project=project, steps_done=job.steps_done, job=job, resume=job.next_call
        ),
    )


def _spec(name: str, title: str, handler: Handler, *, read_only: bool = False, destructive: bool = False) -> ToolSpec:
    # None is idempotent: each call that changes Dokploy writes, deploys or signs anew.
    return ToolSpec(name, title, "deploy", handler, read_only=read_only, destructive=destructive, idempotent=False)


SPECS = [
    _spec("dokploy_setup_wizard", "Deploy a Supabase stack on Dokploy", dokploy_setup_wizard),
    _spec("dokploy_list_instances", "List Supabase stacks", dokploy_list_instances, read_only=True),
    _spec(
        "dokploy_validate_config", "Validate a Supabase stack's configuration", dokploy_validate_config, read_only=True
    ),
    _spec("dokploy_update_env", "Update a Supabase stack's env", dokploy_update_env),
    _spec("dokploy_regenerate_keys", "Regenerate a Supabase stack's keys", dokploy_regenerate_keys, destructive=True),
    _spec("manage_domain", "Manage a Supabase stack's domain", manage_domain, destructive=True),
]
