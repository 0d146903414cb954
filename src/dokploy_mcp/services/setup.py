"""The setup flow: from nothing to a deployed, checked Supabase stack on one of the configured Dokploy servers.

The steps, and resuming after a failed one, are ``supabase.wizard``'s; this service picks the server, hands the
wizard its client and the runtime's kong gateway, and confirms first when the call would take over a deployed stack
this wizard did not create (``adopt``): the wizard may sign new keys, replace JWT_SECRET, move the domain and
redeploy it. The result keeps its errors as errors: the tool words them.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from dokploy_mcp.progress import Progress
from dokploy_mcp.supabase.wizard import WizardResult, dns_safe, run_wizard, stack_to_adopt
from dokploy_mcp.supabase.wizard_input import WizardInput

if TYPE_CHECKING:
    from dokploy_mcp.runtime import Runtime

TOOL = "dokploy_setup_wizard"


async def setup_stack(
    rt: Runtime,
    server: str | None,
    spec: WizardInput,
    progress: Progress,
    *,
    confirm_token: str | None = None,
    person: bool = False,
) -> WizardResult:
    """Run the setup wizard on ``server`` (a name from the instances file; None: the default one)."""
    client = await rt.dokploy(server)
    if spec.adopt and not person:
        adopted = await stack_to_adopt(client, spec)
        if adopted is not None:
            arguments = {"server": server, **{k: v for k, v in asdict(spec).items() if k != "reveal"}}
            state = adopted.env or ""
            if confirm_token is None:
                token = rt.confirmer.issue(TOOL, arguments, state).token
                return WizardResult(
                    status="confirm",
                    project=dns_safe(spec.project),
                    compose_id=adopted.compose_id,
                    steps_done=[],
                    confirm_token=token,
                    warnings=[ADOPT_WARNING],
                    resume="call dokploy_setup_wizard again with the same arguments and this confirm_token",
                )
            rt.confirmer.verify(confirm_token, TOOL, arguments, state)
    return await run_wizard(
        client, rt.servers.get(server).name, spec, progress=progress, gateway_factory=rt.gateway_factory
    )


ADOPT_WARNING = (
    "adopting a deployed stack this wizard did not create: if its keys are broken or its JWT_SECRET weak, new keys "
    "(or a new JWT_SECRET, which signs every user out) are written; its domain is pointed at the one given and it "
    "is redeployed"
)


async def adoption_preview(rt: Runtime, server: str | None, spec: WizardInput) -> str | None:
    """What adopting does, in words for the person asked to confirm it; None when nothing deployed is taken over."""
    if not spec.adopt:
        return None
    adopted = await stack_to_adopt(await rt.dokploy(server), spec)
    if adopted is None:
        return None
    return f"Take over the deployed Supabase stack {spec.project}/{adopted.name}? This is {ADOPT_WARNING}."
