"""Re-sign or rotate a Supabase stack's keys, all or nothing.

``resign`` keeps JWT_SECRET and signs new ANON_KEY / SERVICE_ROLE_KEY with it: sessions stay valid, and keys signed
earlier with the same secret keep working too (a signature cannot be revoked without changing the secret).
``rotate`` makes a new JWT_SECRET and new keys: every signed-in user is signed out, and anything else holding the
old keys (apps, edge functions, backends) stops working until it gets the new ones.

Steps: write the env, redeploy and wait, verify through kong (GoTrue health with the anon key; the admin users
route must answer the service key and refuse the anon key). When a step after the write fails, the previous env is
written back and the stack redeployed, and the outcome says exactly what happened. The env is never left half new.

Failures are kept as the errors themselves (``failure``, ``restore_failure``); the tool layer puts them into words
with :meth:`RegenerateOutcome.describe` and its ``explain``.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from pydantic import SecretStr

from dokploy_mcp.dokploy.deployments import DeployOutcome, deploy_and_wait
from dokploy_mcp.errors import DokployMCPError
from dokploy_mcp.kong import GatewayFactory
from dokploy_mcp.progress import UNDO_SECONDS, Progress, shielded
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.errors import ConcurrentChangeError, EnvWriteError, KeyStepError
from dokploy_mcp.supabase.keys import new_keys
from dokploy_mcp.supabase.operations import put_back_env, write_env
from dokploy_mcp.supabase.stack import SupabaseStack

if TYPE_CHECKING:
    from dokploy_mcp.dokploy.client import DokployClient

logger = logging.getLogger(__name__)

Mode = Literal["resign", "rotate"]
Explain = Callable[[DokployMCPError], str]

#: The steps in order; tests inject a failure at each of them.
STEPS = ("write_env", "redeploy", "verify")


@dataclass
class RegenerateOutcome:
    status: Literal["done", "rolled_back", "rollback_failed"]
    failed_step: str | None
    steps: list[str] = field(default_factory=list)
    #: Why the change failed, and why restoring the previous env failed after it (None: it did not).
    failure: DokployMCPError | None = None
    restore_failure: DokployMCPError | None = None
    deploy: DeployOutcome | None = None
    rollback_deploy: DeployOutcome | None = None
    new_env: EnvFile | None = None
    #: After a failed restore: which env Dokploy holds ("previous", "new", "other" or "unknown").
    env_state: Literal["previous", "new", "other", "unknown"] | None = None

    def describe(self, explain: Explain) -> str | None:
        """The failure (and the restore's, after it) in words, with the tool layer's ``explain``; None when done."""
        if self.failure is None:
            return None
        problem = _word(self.failure, explain)
        if self.restore_failure is not None:
            problem += f"; then restoring the previous env failed: {_word(self.restore_failure, explain)}"
        return problem


def _word(exc: DokployMCPError, explain: Explain) -> str:
    """A step's own message says it all; any other error gets the boundary's explanation."""
    return str(exc) if isinstance(exc, KeyStepError) else explain(exc)


async def regenerate(
    client: DokployClient,
    stack: SupabaseStack,
    mode: Mode,
    *,
    verify: bool = True,
    wait_seconds: float = 900,
    progress: Progress | None = None,
    gateway_factory: GatewayFactory,
) -> RegenerateOutcome:
    """Apply new keys; on any failure after the write, restore the previous env and redeploy."""
    url = _checked_url(stack, mode, verify)
    planned = 3 if verify and url is not None else 2
    values = new_keys(stack.env.get("JWT_SECRET"), rotate=mode == "rotate")
    outcome = RegenerateOutcome(status="done", failed_step=None, new_env=stack.env.apply(set=values))
    if not await _write(client, stack, outcome):
        return outcome
    step = "redeploy"
    try:
        # Inside the try: a stop at this first safe point must put the previous env back too.
        await _note(outcome, progress, "env written", of=planned)
        deployed = await deploy_and_wait(
            client,
            stack.ref.compose_id,
            redeploy=True,
            title=f"dokploy-mcp: keys {mode}",
            wait_seconds=wait_seconds,
            on_progress=progress,
        )
        outcome.deploy = deployed
        if not deployed.succeeded:
            raise KeyStepError("redeploy", f"the redeploy ended {deployed.status}")
        await _note(outcome, progress, "redeployed", of=planned)
        step = "verify"
        if verify and url is not None:
            async with gateway_factory(url, SecretStr(values["ANON_KEY"]), SecretStr(values["SERVICE_ROLE_KEY"])) as gw:
                check = await gw.verify_keys()
            if not check.ok:
                raise KeyStepError("verify", "the new keys did not pass the gateway check: " + "; ".join(check.details))
            await _note(outcome, progress, "verified through kong", of=planned)
    except DokployMCPError as exc:
        outcome.status, outcome.failed_step, outcome.failure = "rolled_back", step, exc
        await _shielded_restore(client, stack, outcome, redeploy=True)
    except BaseException:
        # Cancelled (shutdown): the restore still runs to its end, then the cancellation goes on.
        outcome.status, outcome.failed_step = "rolled_back", step
        await _shielded_restore(client, stack, outcome, redeploy=True)
        raise
    return outcome


async def _shielded_restore(
    client: DokployClient,
    stack: SupabaseStack,
    outcome: RegenerateOutcome,
    *,
    redeploy: bool,
    also_ours: str | None = None,
) -> None:
    """:func:`_restore`, which no cancellation can interrupt and which ends within the undo bound."""
    finished = await shielded(
        lambda: _restore(client, stack, outcome, redeploy=redeploy, also_ours=also_ours),
        what=f"restoring the env of {stack.ref.path}",
    )
    if not finished:
        outcome.status = "rollback_failed"
        outcome.restore_failure = KeyStepError("restore", f"the restore did not finish within {UNDO_SECONDS:.0f} s")


def _checked_url(stack: SupabaseStack, mode: Mode, verify: bool) -> str | None:
    """The stack's public URL, to verify the new keys through; KeyStepError ("plan") when the keys cannot be made or
    checked as asked."""
    if mode == "resign" and not stack.env.get("JWT_SECRET"):
        raise KeyStepError("plan", "JWT_SECRET is missing, so there is nothing to re-sign with: use mode 'rotate'")
    url = stack.public_url
    if verify and url is None:
        raise KeyStepError(
            "plan",
            "the stack has no kong domain, so the new keys cannot be verified through the gateway; add one with "
            "manage_domain, or call again with verify=false",
        )
    return url


async def _note(outcome: RegenerateOutcome, progress: Progress | None, step: str, *, of: int) -> None:
    outcome.steps.append(step)
    if progress is not None:
        # Numbered, so that progress notifications carry the total (the deploy's own messages fall in between).
        await progress(f"step {len(outcome.steps)}/{of}: {step}")


async def _write(client: DokployClient, stack: SupabaseStack, outcome: RegenerateOutcome) -> bool:
    """Write the new env; True when it is stored. A failure is recorded in ``outcome`` (and the previous env put back
    where the write may have landed)."""
    assert outcome.new_env is not None
    try:
        await write_env(client, stack, outcome.new_env)
    except BaseException as exc:
        return await _write_failed(client, stack, outcome, exc)
    return True


async def _write_failed(
    client: DokployClient, stack: SupabaseStack, outcome: RegenerateOutcome, exc: BaseException
) -> bool:
    """Record a failed write, and put the previous env back where the write may have landed. False, or the
    cancellation re-raised once the env is safe."""
    outcome.status, outcome.failed_step = "rolled_back", "write_env"
    if isinstance(exc, ConcurrentChangeError):
        # Someone else changed the env since it was read and nothing was written: writing "the previous env" back
        # now would throw their change away.
        outcome.failure = exc
        outcome.steps.append("nothing was written: the env someone else saved is left as it is")
        return False
    # The write may have landed although the call failed or was cancelled, or Dokploy stored something else: the
    # restore puts the previous env back when the stored one differs from it. What Dokploy made of our write counts
    # as ours: restoring over it is safe.
    mangled = exc.stored if isinstance(exc, EnvWriteError) else None
    await _shielded_restore(client, stack, outcome, redeploy=False, also_ours=mangled)
    if not isinstance(exc, DokployMCPError):
        raise exc
    outcome.failure = exc
    return False


async def _restore(
    client: DokployClient,
    stack: SupabaseStack,
    outcome: RegenerateOutcome,
    *,
    redeploy: bool,
    also_ours: str | None = None,
) -> None:
    """Put the previous env back if Dokploy holds the one we wrote, redeploy, and record what happened.

    An env that is neither the previous one nor ours was changed by someone else meanwhile: it is left alone, and
    the outcome says so, rather than overwriting their edit.
    """
    previous = stack.compose.env or ""
    written = outcome.new_env.render() if outcome.new_env is not None else None
    try:
        if await put_back_env(client, stack, written, also_ours) == "theirs":
            raise KeyStepError(
                "restore",
                "the env was changed by someone else meanwhile; it was left as they wrote it: check it with "
                "dokploy_validate_config",
            )
        outcome.steps.append("previous env restored")
        if redeploy:
            outcome.rollback_deploy = await deploy_and_wait(
                client,
                stack.ref.compose_id,
                redeploy=True,
                title="dokploy-mcp: keys restored",
                # Bounded: the restore runs shielded, within the undo bound; a longer redeploy is reported as such.
                wait_seconds=UNDO_SECONDS - 10,
            )
            outcome.steps.append(f"redeployed with the previous env ({outcome.rollback_deploy.status})")
    except DokployMCPError as exc:
        outcome.status = "rollback_failed"
        outcome.restore_failure = exc
        outcome.env_state = await _env_state(client, stack, previous, written)
        logger.error("restoring the env of %s failed: %s", stack.ref.path, exc)


async def _env_state(
    client: DokployClient, stack: SupabaseStack, previous: str, written: str | None
) -> Literal["previous", "new", "other", "unknown"]:
    """What Dokploy holds now, so the report says the truth after a failed restore."""
    try:
        current = ((await client.compose_one(stack.ref.compose_id)).env or "").rstrip("\r\n")
    except DokployMCPError:
        return "unknown"
    if current == previous.rstrip("\r\n"):
        return "previous"
    if written is not None and current == written.rstrip("\r\n"):
        return "new"
    return "other"
