"""What several deploy-toolset modules show alike: an env change (masked) and progress messages of a direct call."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from pydantic import BaseModel, Field

from dokploy_mcp.supabase.env import EnvChange
from dokploy_mcp.supabase.secrets import shown
from dokploy_mcp.tools.context import ToolContext


class EnvChangeView(BaseModel):
    variable: str
    change: Literal["added", "changed", "removed"]
    old: str | None = Field(description="masked when secret, unless reveal")
    new: str | None = Field(description="masked when secret, unless reveal")


def env_change_view(change: EnvChange, reveal: bool) -> EnvChangeView:
    return EnvChangeView(
        variable=change.key,
        change=change.kind,
        old=shown(change.key, change.old, reveal),
        new=shown(change.key, change.new, reveal),
    )


def progress_reporter(ctx: ToolContext) -> Callable[[str], Awaitable[None]]:
    step = 0

    async def report(message: str) -> None:
        nonlocal step
        step += 1
        await ctx.report_progress(step, None, message)

    return report
