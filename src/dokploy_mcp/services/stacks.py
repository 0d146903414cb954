"""Flows over the stacks on Dokploy: list the Supabase stacks, open any compose by its address, check a stack's
configuration, change its env, its public domain, and regenerate its keys.

:func:`update_env` plans the change (a masked diff), writes it unless it is a dry run, and redeploys when asked;
:func:`manage_domain` is the whole domain change (plan, confirm a removal, apply the domain, write the URL variables,
restore the domain if that write fails, read the result back, redeploy); :func:`regenerate_keys` confirms, then runs
``supabase.regenerate`` (which restores the previous env on failure). The tools only map their arguments and shape
what comes back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from dokploy_mcp.dokploy.deployments import DeployReport, deploy_and_wait, report
from dokploy_mcp.dokploy.errors import DokployNotFoundError
from dokploy_mcp.errors import DokployMCPError, InputError
from dokploy_mcp.progress import UNDO_SECONDS, Progress, safe_point, shielded
from dokploy_mcp.supabase import domains as dom
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.envupdate import plan_env_update
from dokploy_mcp.supabase.errors import KeyStepError, StackNotFoundError
from dokploy_mcp.supabase.inventory import ServerInventory, list_instances
from dokploy_mcp.supabase.operations import (
    deploy_stack,
    is_stop,
    log_masker,
    put_back_env,
    put_back_step,
    save_env_and_maybe_redeploy,
    secret_masker,
    write_env,
)
from dokploy_mcp.supabase.regenerate import RegenerateOutcome, regenerate
from dokploy_mcp.supabase.secrets import is_secret
from dokploy_mcp.supabase.stack import domain_url, open_stack, parse_address, resolve
from dokploy_mcp.supabase.validate import ValidationReport, validate_env, validate_stack

if TYPE_CHECKING:
    from dokploy_mcp.dokploy.client import DokployClient
    from dokploy_mcp.dokploy.models import Compose, Domain
    from dokploy_mcp.errors import DokployMCPError
    from dokploy_mcp.runtime import Runtime
    from dokploy_mcp.supabase.env import EnvChange
    from dokploy_mcp.supabase.regenerate import RegenerateOutcome
    from dokploy_mcp.supabase.stack import StackRef, SupabaseStack

logger = logging.getLogger(__name__)

DomainAction = Literal["list", "add", "update", "remove"]
KeysMode = Literal["resign", "rotate"]
#: listed: nothing asked; confirm: a removal waits for its token; dry_run: shown, not done; applied: done.
DomainStatus = Literal["listed", "confirm", "dry_run", "applied"]
#: unchanged: the env already says this; dry_run: shown, not written; confirm: overwrites or removes a secret and
#: waits for its token; saved: written (and redeployed when asked).
EnvStatus = Literal["unchanged", "dry_run", "confirm", "saved"]


async def list_stacks(rt: Runtime, server: str | None) -> list[ServerInventory]:
    """Every Supabase stack on the configured Dokploy servers, or on ``server`` alone, server by server."""
    if server is not None and server not in rt.servers.servers:
        known = ", ".join(sorted(rt.servers.servers))
        raise InputError(f"no Dokploy server named {server!r}; configured: {known}", field="server")
    return await list_instances(rt.servers, rt.dokploy, server)


async def validate_config(rt: Runtime, stack: str | None, env_text: str | None) -> ValidationReport:
    """Check a stack as Dokploy holds it, or raw env text offline: exactly one of the two."""
    if (stack is None) == (env_text is None):
        raise InputError("give exactly one of stack or env_text", field="stack" if stack is None else "env_text")
    if env_text is not None:
        return validate_env(EnvFile.parse(env_text))
    assert stack is not None
    client, found = await open_stack(stack, rt.servers, rt.dokploy)
    return validate_stack(found, await client.settings_get_web_server_settings())


async def open_compose(rt: Runtime, stack: str) -> tuple[DokployClient, StackRef, Compose]:
    """Resolve ``stack`` to any compose (Supabase or not): the client of its server, its reference and the compose."""
    ref = await resolve(parse_address(stack, rt.servers), rt.servers, rt.dokploy)
    client = await rt.dokploy(ref.server)
    try:
        compose = await client.compose_one(ref.compose_id)
    except DokployNotFoundError:
        # Listed a moment ago and gone now: the same answer as for an address that names nothing.
        raise StackNotFoundError(f"compose {ref.compose_id} of {ref.path} no longer exists") from None
    return client, ref, compose


def compose_masker(compose: Compose) -> Callable[[str], str]:
    """Masks the compose's secret values (from its env) in text read from the stack, such as log lines."""
    return secret_masker(EnvFile.parse(compose.env or ""))


@dataclass(frozen=True)
class EnvRequest:
    """What ``dokploy_update_env`` was asked, as the tool received it."""

    set_values: Mapping[str, str] = field(default_factory=dict)
    unset: Sequence[str] = ()
    generate: Sequence[str] = ()
    dry_run: bool = False
    redeploy: bool = False
    wait_seconds: float = 900
    confirm_token: str | None = None
    #: A person confirmed this call (elicitation): no token is needed.
    person: bool = False


@dataclass
class EnvOutcome:
    """What ``update_env`` did: the changes of effective values (secrets in clear: the tool masks them), the plan's
    notes, and the redeploy when one ran."""

    address: str
    status: EnvStatus
    changes: list[EnvChange]
    notes: list[str] = field(default_factory=list)
    redeploy: DeployReport | None = None
    confirm_token: str | None = None


async def update_env(rt: Runtime, stack: str, request: EnvRequest, progress: Progress) -> EnvOutcome:
    """Set, unset or generate variables of a Supabase stack's env: the plan, then (unless a dry run, or nothing
    changes) the write, and the redeploy when asked."""
    client, found = await open_stack(stack, rt.servers, rt.dokploy)
    plan = plan_env_update(found.env, set_values=request.set_values, unset=request.unset, generate=request.generate)
    outcome = EnvOutcome(
        address=found.ref.address,
        status="dry_run" if plan.changed else "unchanged",
        changes=list(plan.changes),
        notes=plan.notes,
    )
    if request.dry_run or not plan.changed:
        return outcome
    lost = secrets_lost(plan.changes)
    if lost and not request.person:
        token = _confirm_env(rt, found, request, stack)
        if token is not None:
            outcome.status, outcome.confirm_token = "confirm", token
            outcome.notes.append(f"overwrites or removes the secret value of {', '.join(lost)}: confirm to go on")
            return outcome
    outcome.redeploy = await save_env_and_maybe_redeploy(
        client, found, plan.after, redeploy=request.redeploy, wait_seconds=request.wait_seconds, progress=progress
    )
    outcome.status = "saved"
    return outcome


def secrets_lost(changes: Sequence[EnvChange]) -> list[str]:
    """The secret-class variables whose current value a change overwrites or removes (a new one loses nothing)."""
    return [c.key for c in changes if is_secret(c.key) and c.kind in ("changed", "removed") and c.old]


async def env_preview(rt: Runtime, stack: str, request: EnvRequest) -> str | None:
    """What an env change destroys, in words for the person asked to confirm it; None when it destroys nothing."""
    _, found = await open_stack(stack, rt.servers, rt.dokploy)
    plan = plan_env_update(found.env, set_values=request.set_values, unset=request.unset, generate=request.generate)
    lost = secrets_lost(plan.changes) if plan.changed else []
    if not lost:
        return None
    return (
        f"Change the env of the Supabase stack {found.ref.path}: this overwrites or removes the current value of "
        f"{', '.join(lost)}. The old value is not kept anywhere by this server and cannot be restored from it."
        + (" Then the stack is redeployed." if request.redeploy else "")
    )


def _confirm_env(rt: Runtime, found: SupabaseStack, request: EnvRequest, stack: str) -> str | None:
    """A new token when the request has none; None once its token checks out. Bound to the env as it is now."""
    arguments = {
        "stack": found.ref.address,
        "set": dict(request.set_values),
        "unset": list(request.unset),
        "generate": list(request.generate),
        "redeploy": request.redeploy,
    }
    state = found.compose.env or ""
    if request.confirm_token is None:
        return rt.confirmer.issue("dokploy_update_env", arguments, state).token
    rt.confirmer.verify(request.confirm_token, "dokploy_update_env", arguments, state)
    return None


@dataclass(frozen=True)
class DomainRequest:
    """What ``manage_domain`` was asked, as the tool received it (the confirmation token binds these values)."""

    action: DomainAction
    host: str | None = None
    https: bool | None = None
    domain_id: str | None = None
    dry_run: bool = False
    redeploy: bool = False
    wait_seconds: float = 900
    confirm_token: str | None = None
    #: A person confirmed this call (elicitation): no token is needed.
    person: bool = False


@dataclass
class DomainOutcome:
    """What ``manage_domain`` did: the stack's domains after it (before it, unless applied) and the URL variables."""

    address: str
    status: DomainStatus
    domains: list[Domain]
    env_changes: list[EnvChange] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    confirm_token: str | None = None
    redeploy: DeployReport | None = None


async def manage_domain(rt: Runtime, stack: str, request: DomainRequest, progress: Progress) -> DomainOutcome:
    """List, add, update or remove the kong domain of a Supabase stack, keeping its URL variables in step."""
    client, found = await open_stack(stack, rt.servers, rt.dokploy)
    outcome = DomainOutcome(address=found.ref.address, status="listed", domains=list(found.compose.domains))
    if request.action == "list":
        return outcome
    change = _plan(found, request)
    outcome.notes.extend(change.notes)
    if change.env_plan is not None:
        outcome.env_changes = list(change.env_plan.changes)
        outcome.notes.extend(change.env_plan.notes)
    note = await dom.certificate_note(client, bool(change.https))
    if note is not None:
        outcome.notes.append(note)
    if request.action == "remove" and not request.person:
        token = _confirm_removal(rt, found, change, request)
        if token is not None:
            outcome.status, outcome.confirm_token = "confirm", token
            return outcome
    elif request.dry_run:
        outcome.status = "dry_run"
        return outcome
    outcome.domains, outcome.redeploy = await _apply(client, found, change, request, progress)
    outcome.status = "applied"
    return outcome


async def removal_preview(rt: Runtime, stack: str, domain_id: str | None) -> str:
    """What removing a stack's domain does, in words for the person asked to confirm it."""
    _, found = await open_stack(stack, rt.servers, rt.dokploy)
    change = dom.plan_remove(found, domain_id)
    assert change.before is not None
    return (
        f"Remove the domain {domain_url(change.before)} (id {change.before.domain_id}) of the Supabase stack "
        f"{found.ref.path}? " + " ".join(change.notes) + ". Adding it back later gives it a new id."
    )


def _plan(found: SupabaseStack, request: DomainRequest) -> dom.DomainChange:
    if request.action == "add":
        if request.host is None:
            raise InputError("action 'add' needs host, e.g. api.example.com", field="host")
        return dom.plan_add(found, request.host, True if request.https is None else request.https)
    if request.action == "update":
        if request.host is None and request.https is None:
            raise InputError("action 'update' needs host or https (or both)", field="host")
        return dom.plan_update(found, request.domain_id, request.host, request.https)
    return dom.plan_remove(found, request.domain_id)


def _confirm_removal(rt: Runtime, found: SupabaseStack, change: dom.DomainChange, request: DomainRequest) -> str | None:
    """A new token when the request has none (the removal waits for it); None once the request's token checks out."""
    assert change.before is not None
    arguments = {
        "stack": found.ref.address,
        "action": request.action,
        "domain_id": change.before.domain_id,
        "redeploy": request.redeploy,
        "wait_seconds": request.wait_seconds,
    }
    # The token is bound to the domain as it is now: if someone changes it in between, the token no longer fits.
    state = change.before.model_dump_json()
    if request.confirm_token is None:
        return rt.confirmer.issue("manage_domain", arguments, state).token
    rt.confirmer.verify(request.confirm_token, "manage_domain", arguments, state)
    return None


async def _apply(
    client: DokployClient, found: SupabaseStack, change: dom.DomainChange, request: DomainRequest, progress: Progress
) -> tuple[list[Domain], DeployReport | None]:
    """Apply the domain, then the URL variables, then redeploy when asked: the domains afterwards and the redeploy.

    A domain whose URL variables were not written would send auth and storage links to the old URL, so a failed
    env write puts the domain back; a stop (cancel_job, shutdown) at any step puts both back, and redeploys the
    old ones when the redeploy had started. The undo runs shielded from cancellation and bounded in time.
    """
    state = _Applied()
    try:
        state.now = await dom.apply_domain(client, found, change)
        await progress("domain applied")
        if change.env_plan is not None and change.env_plan.changed:
            state.env = change.env_plan.after
            await write_env(client, found, change.env_plan.after)
            await progress("URL variables written")
        state.complete = True
        await safe_point()
        refreshed = await client.compose_one(found.ref.compose_id)
        if not request.redeploy:
            return list(refreshed.domains), None
        state.deploying = True
        deployed = await deploy_stack(
            client, found, title="dokploy-mcp: domain", wait_seconds=request.wait_seconds, progress=progress
        )
        return list(refreshed.domains), deployed
    except BaseException as exc:
        if is_stop(exc) or not state.complete:
            await _undo_domain(client, found, change, state, progress)
        raise


@dataclass
class _Applied:
    """How far a domain change got: what to undo."""

    now: Domain | None = None
    env: EnvFile | None = None
    complete: bool = False
    deploying: bool = False


async def _undo_domain(
    client: DokployClient, found: SupabaseStack, change: dom.DomainChange, state: _Applied, progress: Progress
) -> None:
    async def undo() -> None:
        if state.env is not None:
            await progress(put_back_step(await put_back_env(client, found, state.env.render())))
        await dom.restore_domain(client, found, change, state.now)
        await progress("domain put back")
        if state.deploying:
            outcome = await deploy_and_wait(
                client, found.ref.compose_id, redeploy=True, title="dokploy-mcp: undo", wait_seconds=UNDO_SECONDS - 10
            )
            await progress(f"redeployed with the previous domain ({outcome.status})")

    try:
        await shielded(undo, what=f"undoing the domain change of {found.ref.path}")
    except DokployMCPError as exc:
        logger.error("undoing the domain change of %s failed: %s", found.ref.path, exc)


@dataclass(frozen=True)
class KeysRequest:
    """What ``dokploy_regenerate_keys`` was asked, as the tool received it (the confirmation token binds these)."""

    mode: KeysMode
    verify: bool = True
    wait_seconds: float = 900
    confirm_token: str | None = None
    #: A person confirmed this call (elicitation): no token is needed.
    person: bool = False


@dataclass
class KeysOutcome:
    """What ``regenerate_keys`` did. ``env`` is the env whose keys the stack now holds (None: nothing ran yet, or
    nothing was changed); ``env_state`` says which env Dokploy holds after a failed restore. A failure stays an error
    in ``regenerated`` until the tool words it (:meth:`describe`)."""

    address: str
    status: Literal["preview", "done", "rolled_back", "rollback_failed"]
    steps: list[str] = field(default_factory=list)
    failed_step: str | None = None
    #: What ``supabase.regenerate`` came to, with its failures (None for a preview).
    regenerated: RegenerateOutcome | None = None
    env: EnvFile | None = None
    redeploy: DeployReport | None = None
    confirm_token: str | None = None
    env_state: Literal["previous", "new", "other", "unknown"] | None = None
    nothing_changed: bool = False

    def describe(self, explain: Callable[[DokployMCPError], str]) -> str | None:
        """What went wrong, in the words of the tool layer's ``explain``; None when nothing did."""
        return self.regenerated.describe(explain) if self.regenerated is not None else None


async def regenerate_keys(rt: Runtime, stack: str, request: KeysRequest, progress: Progress) -> KeysOutcome:
    """Preview (a token), or with the token: new keys written, redeployed, verified; any failure restores the env."""
    client, found = await open_stack(stack, rt.servers, rt.dokploy)
    arguments = {"stack": stack, "mode": request.mode, "verify": request.verify, "wait_seconds": request.wait_seconds}
    # Bound to the env as it is now: a token issued before someone else's edit no longer fits.
    state = found.compose.env or ""
    address = found.ref.address
    if request.person:
        pass
    elif request.confirm_token is None:
        token = rt.confirmer.issue("dokploy_regenerate_keys", arguments, state).token
        return KeysOutcome(address=address, status="preview", confirm_token=token)
    else:
        rt.confirmer.verify(request.confirm_token, "dokploy_regenerate_keys", arguments, state)
    try:
        outcome = await regenerate(
            client,
            found,
            request.mode,
            verify=request.verify,
            wait_seconds=request.wait_seconds,
            progress=progress,
            gateway_factory=rt.gateway_factory,
        )
    except KeyStepError as exc:
        return KeysOutcome(
            address=address,
            status="rolled_back",
            steps=["nothing was changed"],
            failed_step=exc.step,
            regenerated=RegenerateOutcome(status="rolled_back", failed_step=exc.step, failure=exc),
            nothing_changed=True,
        )
    masker = log_masker(found.env, *([outcome.new_env] if outcome.new_env else []))
    holds_new = outcome.status == "done" or outcome.env_state == "new"
    return KeysOutcome(
        address=address,
        status=outcome.status,
        steps=outcome.steps,
        failed_step=outcome.failed_step,
        regenerated=outcome,
        env=outcome.new_env if holds_new and outcome.new_env else found.env,
        redeploy=report(outcome.deploy, masker) if outcome.deploy else None,
        env_state=outcome.env_state,
    )
