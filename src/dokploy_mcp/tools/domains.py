"""Toolset ``deploy``: a Supabase stack's public domain: list it (read-only), add, update or remove it."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.resolve import Elicit, Resolve
from pydantic import BaseModel, Field

from dokploy_mcp.dokploy.deployments import DeployReport
from dokploy_mcp.jobs import Job
from dokploy_mcp.registry import Handler, ToolSpec
from dokploy_mcp.services import stacks
from dokploy_mcp.supabase.stack import domain_url
from dokploy_mcp.tools.args import (
    MAX_ADDRESS_CHARS,
    MAX_HOST_CHARS,
    ConfirmToken,
    RedeployArg,
    StackArg,
    WaitArg,
)
from dokploy_mcp.tools.confirming import Answer, ConfirmForm, NotAsked, ask_about, verdict
from dokploy_mcp.tools.context import ToolContext, runtime
from dokploy_mcp.tools.jobrun import JobView, WaitS, run_as_job
from dokploy_mcp.tools.shaping import EnvChangeView, env_change_view, progress_reporter

if TYPE_CHECKING:
    from dokploy_mcp.dokploy.models import Domain


class DomainView(BaseModel):
    domain_id: str
    host: str
    url: str
    https: bool
    certificate_type: str | None
    service: str | None
    port: int | None


Change = Literal["add", "update", "remove"]


class DomainList(BaseModel):
    stack: str
    domains: list[DomainView]


class DomainResult(BaseModel):
    stack: str
    action: Change
    status: Literal["confirm", "declined", "dry_run", "applied", "running"] = Field(
        description="running: the change and its redeploy go on as `job`; declined: the person said no"
    )
    applied: bool = Field(description="false for dry runs, previews and declined removals")
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


async def list_domains(ctx: ToolContext, stack: StackArg) -> DomainList:
    """List the public domains of a Supabase stack: host, URL, https, certificate and the service they route to."""
    listing = stacks.DomainRequest(action="list")
    outcome = await stacks.manage_domain(runtime(ctx), stack, listing, progress_reporter(ctx))
    return DomainList(stack=outcome.address, domains=[_domain_view(d) for d in outcome.domains])


async def _ask_removal(
    ctx: Context[Any, Any], stack: str, action: str, domain_id: str | None, confirm_token: str | None
) -> Elicit[ConfirmForm] | NotAsked:
    if action != "remove":
        return NotAsked("harmless")
    return await ask_about(ctx, lambda rt: stacks.removal_preview(rt, stack, domain_id), token=confirm_token)


async def manage_domain(
    ctx: ToolContext,
    stack: StackArg,
    action: Annotated[
        Change,
        Field(description="add the kong domain; update its host or https; remove one (list_domains lists them)"),
    ],
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
        Field(max_length=MAX_ADDRESS_CHARS, description="for update/remove when the stack has several: which one"),
    ] = None,
    dry_run: Annotated[bool, Field(description="for add/update: show what would change, change nothing")] = False,
    redeploy: RedeployArg = False,
    wait_seconds: WaitArg = 900,
    confirm_token: Annotated[
        ConfirmToken, Field(description="for remove, if no person was asked: the token from the preview")
    ] = None,
    wait_s: WaitS = None,
    person: Annotated[Answer | None, Resolve(_ask_removal)] = None,
) -> DomainResult:
    """Add, update or remove the public domain of a Supabase stack (kong, port 8000), keeping API_EXTERNAL_URL,
    SUPABASE_PUBLIC_URL and SUPABASE_HOST in step. Remove is confirmed first; changes apply after a redeploy."""
    confirmed = verdict(ctx, person)
    if not confirmed.go:
        return DomainResult(stack=stack, action=action, status="declined", applied=False, notes=[confirmed.said or ""])
    request = stacks.DomainRequest(
        action=action,
        host=host,
        https=https,
        domain_id=domain_id,
        dry_run=dry_run,
        redeploy=redeploy,
        wait_seconds=wait_seconds,
        confirm_token=confirm_token,
        person=confirmed.by == "person",
    )
    if dry_run:
        return _domain_result(await stacks.manage_domain(runtime(ctx), stack, request, progress_reporter(ctx)), action)
    return await _domain_job(ctx, stack, request, action, wait_s)


async def _domain_job(
    ctx: ToolContext, stack: str, request: stacks.DomainRequest, action: Change, wait_s: int | None
) -> DomainResult:
    rt = runtime(ctx)

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


def _domain_result(outcome: stacks.DomainOutcome, action: Change) -> DomainResult:
    assert outcome.status != "listed"
    result = DomainResult(
        stack=outcome.address,
        action=action,
        status=outcome.status,
        applied=outcome.status == "applied",
        domains=[_domain_view(d) for d in outcome.domains],
        env_changes=[env_change_view(c, reveal=False) for c in outcome.env_changes],
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


def _spec(name: str, title: str, handler: Handler, *, read_only: bool = False, destructive: bool = False) -> ToolSpec:
    # None is idempotent: each call that changes Dokploy writes, deploys or signs anew.
    return ToolSpec(name, title, "deploy", handler, read_only=read_only, destructive=destructive, idempotent=False)


SPECS = [
    _spec("list_domains", "List a Supabase stack's domains", list_domains, read_only=True),
    _spec("manage_domain", "Manage a Supabase stack's domain", manage_domain, destructive=True),
]
