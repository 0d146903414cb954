"""Write operations on a Supabase stack that several tools share: save the env safely, redeploy, restore.

Dokploy has no compare-and-swap for a compose's env, so a write re-reads the env just before it and refuses when
someone changed it since the caller read it; after the write it reads the env back and checks it is exactly what
was written. A tool that must be all-or-nothing restores the previous env when a later step fails.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Literal

import anyio

from dokploy_mcp.dokploy.deployments import DeployReport, deploy_and_wait, report
from dokploy_mcp.dokploy.logtext import clean_log_text
from dokploy_mcp.errors import DokployMCPError, JobStoppedError
from dokploy_mcp.progress import UNDO_SECONDS, Progress, safe_point, shielded
from dokploy_mcp.redact import mask_in_text
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.errors import ConcurrentChangeError, EnvWriteError
from dokploy_mcp.supabase.secrets import is_secret
from dokploy_mcp.supabase.stack import SupabaseStack

if TYPE_CHECKING:
    # Annotations only: these modules are imported at start-up, and the clients pull in httpx.
    from dokploy_mcp.dokploy.client import DokployClient

logger = logging.getLogger(__name__)


def secret_masker(*envs: EnvFile) -> Callable[[str], str]:
    """Masks every secret value of these envs in free text (deploy logs, error messages)."""
    values = [value for env in envs for key, value in env.as_dict().items() if is_secret(key) and value]
    return lambda text: mask_in_text(text, values)


def log_masker(*envs: EnvFile) -> Callable[[str], str]:
    """For a deployment's build log: the same cleaning as container logs (ANSI, control characters, URL passwords,
    tokens) plus these envs' secrets, so every log a tool shows goes through one piece of code."""
    mask = secret_masker(*envs)
    return lambda text: clean_log_text(text, mask=mask)


async def write_env(client: DokployClient, stack: SupabaseStack, new_env: EnvFile) -> None:
    """Save ``new_env`` if the stored env is still the one ``stack`` was read with; verify by reading back."""
    current = await client.compose_one(stack.ref.compose_id)
    if (current.env or "") != (stack.compose.env or ""):
        raise ConcurrentChangeError(
            f"the env of {stack.ref.path} changed since it was read (someone else edited it); nothing was written: "
            "call the tool again to work on the current env"
        )
    text = new_env.render()
    await client.compose_save_environment(stack.ref.compose_id, text)
    stored = await client.compose_one(stack.ref.compose_id)
    # Compared without trailing newlines: they carry no value, and a store that trims them loses nothing.
    if (stored.env or "").rstrip("\r\n") != text.rstrip("\r\n"):
        raise EnvWriteError(
            f"Dokploy stored a different env for {stack.ref.path} than the one written; check it with "
            "dokploy_validate_config before redeploying",
            stored=stored.env or "",
        )


async def save_env_and_maybe_redeploy(
    client: DokployClient,
    stack: SupabaseStack,
    new_env: EnvFile,
    *,
    redeploy: bool,
    wait_seconds: float,
    progress: Progress | None = None,
) -> DeployReport | None:
    """Write ``new_env`` and redeploy when asked. Stopped (cancel_job, shutdown) after the write started, it puts the
    previous env back, and redeploys it when the redeploy had started, before the stop goes on."""
    deploying = False
    try:
        await write_env(client, stack, new_env)
        await _step(progress, "env saved")
        await safe_point()
        if not redeploy:
            return None
        deploying = True
        return await deploy_stack(
            client,
            stack,
            title="dokploy-mcp: env update",
            wait_seconds=wait_seconds,
            progress=progress,
            also_mask=new_env,
        )
    except BaseException as exc:
        if is_stop(exc):
            await undo_env_change(client, stack, new_env, redeploy=deploying, progress=progress)
        raise


async def deploy_stack(
    client: DokployClient,
    stack: SupabaseStack,
    *,
    title: str,
    wait_seconds: float,
    progress: Progress | None = None,
    redeploy: bool = True,
    also_mask: EnvFile | None = None,
) -> DeployReport:
    """(Re)deploy the stack and wait for the outcome; the log tail is masked with the stack's secrets (and those of
    ``also_mask``, an env just written)."""
    outcome = await deploy_and_wait(
        client,
        stack.ref.compose_id,
        redeploy=redeploy,
        title=title,
        wait_seconds=wait_seconds,
        on_progress=progress,
    )
    return report(outcome, log_masker(stack.env, *([also_mask] if also_mask is not None else [])))


def is_stop(exc: BaseException) -> bool:
    """Whether ``exc`` stops a flow from outside (cancel_job, shutdown, a cancelled task) rather than a failed step."""
    return isinstance(exc, JobStoppedError | anyio.get_cancelled_exc_class())


#: What :func:`put_back_env` found: the previous env was still there, it put it back, or someone else's is there.
PutBack = Literal["unchanged", "restored", "theirs"]
_PUT_BACK_STEPS: dict[PutBack, str] = {
    "unchanged": "the env is the previous one",
    "restored": "previous env restored",
    "theirs": "the env was changed by someone else meanwhile and is left as they wrote it",
}


async def put_back_env(client: DokployClient, stack: SupabaseStack, *ours: str | None) -> PutBack:
    """Put back the env ``stack`` was read with when Dokploy holds one of ``ours`` (what was written, or what
    Dokploy made of it); an env someone else wrote meanwhile is left alone. EnvWriteError when the put-back env does
    not read back."""
    previous = (stack.compose.env or "").rstrip("\r\n")
    current = ((await client.compose_one(stack.ref.compose_id)).env or "").rstrip("\r\n")
    if current == previous:
        return "unchanged"
    if current not in {text.rstrip("\r\n") for text in ours if text is not None}:
        return "theirs"
    await client.compose_save_environment(stack.ref.compose_id, stack.compose.env or "")
    stored = ((await client.compose_one(stack.ref.compose_id)).env or "").rstrip("\r\n")
    if stored != previous:
        raise EnvWriteError(
            f"Dokploy did not store the previous env of {stack.ref.path} when it was put back; check it with "
            "dokploy_validate_config",
            stored=stored,
        )
    return "restored"


def put_back_step(found: PutBack) -> str:
    return _PUT_BACK_STEPS[found]


async def undo_env_change(
    client: DokployClient, stack: SupabaseStack, written: EnvFile, *, redeploy: bool, progress: Progress | None
) -> None:
    """Undo a stopped env write (and the redeploy that may have started with it), shielded and bounded in time;
    each thing done is reported as a step. A failure of the undo is logged and reported, never raised over the
    stop that caused it."""

    async def undo() -> None:
        found = await put_back_env(client, stack, written.render())
        await _step(progress, put_back_step(found))
        if redeploy and found == "restored":
            outcome = await deploy_and_wait(
                client,
                stack.ref.compose_id,
                redeploy=True,
                title="dokploy-mcp: undo",
                wait_seconds=UNDO_SECONDS - 10,
            )
            await _step(progress, f"redeployed with the previous env ({outcome.status})")

    try:
        await shielded(undo, what=f"undoing the env change of {stack.ref.path}")
    except DokployMCPError as exc:
        logger.error("undoing the env change of %s failed: %s", stack.ref.path, exc)
        message = f"undo failed: {exc}"
        await shielded(lambda: _step(progress, message), what="reporting the undo")


async def _step(progress: Progress | None, message: str) -> None:
    if progress is not None:
        await progress(message)
