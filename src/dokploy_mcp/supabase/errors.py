"""Expected failures of the Supabase domain package (see :mod:`dokploy_mcp.errors` for the whole tree).

Each carries its facts as attributes, so the tool boundary (:func:`dokploy_mcp.explain.explain`) can word them and
a caller can act on them without parsing the message.
"""

from __future__ import annotations

from dokploy_mcp.errors import DokployMCPError, NextStep

#: Where a caller finds the stacks that do exist.
LIST_STACKS = NextStep(tool="dokploy_list_instances", arguments={})


class StackNotFoundError(DokployMCPError):
    """No compose matches the address; the message lists what exists."""

    what = "No such stack"

    def __init__(self, message: str) -> None:
        super().__init__(message, next_step=LIST_STACKS)


class NotASupabaseStackError(DokployMCPError):
    """The compose exists but is not made from the Supabase template."""

    what = "Not a Supabase stack"

    def __init__(self, message: str) -> None:
        super().__init__(message, next_step=LIST_STACKS)


class ConcurrentChangeError(DokployMCPError):
    """The env changed between the caller's read and this write; nothing was written."""

    what = "The stack's env changed during the call, so nothing was written"


class EnvWriteError(DokployMCPError):
    """Dokploy did not store the env that was written; ``stored`` is what it holds instead (never shown)."""

    what = "Dokploy did not store the env as written"

    def __init__(self, message: str, *, stored: str) -> None:
        super().__init__(message)
        self.stored = stored


class TemplateUnavailableError(DokployMCPError):
    """Dokploy could not fetch the Supabase template from ``source`` (its catalogue, or a mirror) because of
    ``cause``, Dokploy's own error: the host may not reach the internet (template_dir imports offline)."""

    what = "The Supabase template is unavailable"

    def __init__(self, source: str, cause: DokployMCPError) -> None:
        super().__init__(f"Dokploy could not get the Supabase template from {source} ({cause})")
        self.source = source
        self.cause = cause


class DeployFailedError(DokployMCPError):
    """A deploy the flow waited for ended in ``status`` (error, cancelled, timeout); its log tail is in the result."""

    what = "The deploy failed"

    def __init__(self, message: str, *, status: str) -> None:
        super().__init__(message)
        self.status = status


class KeyStepError(DokployMCPError):
    """A step of a key change (plan, redeploy, verify, restore) failed; ``step`` names it, the message says why."""

    what = "The key change stopped"

    def __init__(self, step: str, message: str) -> None:
        super().__init__(message)
        self.step = step
