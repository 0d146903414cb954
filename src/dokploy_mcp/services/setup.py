"""The setup flow: from nothing to a deployed, checked Supabase stack on one of the configured Dokploy servers.

The steps, and resuming after a failed one, are ``supabase.wizard``'s; this service picks the server and hands the
wizard its client and the runtime's kong gateway. The result keeps its errors as errors: the tool words them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dokploy_mcp.progress import Progress
from dokploy_mcp.supabase.wizard import WizardInput, WizardResult, run_wizard

if TYPE_CHECKING:
    from dokploy_mcp.runtime import Runtime


async def setup_stack(rt: Runtime, server: str | None, spec: WizardInput, progress: Progress) -> WizardResult:
    """Run the setup wizard on ``server`` (a name from the instances file; None: the default one)."""
    client = await rt.dokploy(server)
    return await run_wizard(
        client, rt.servers.get(server).name, spec, progress=progress, gateway_factory=rt.gateway_factory
    )
