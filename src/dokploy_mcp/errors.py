"""Expected failures of the domain layer.

Every failure that a caller can act on is a subclass of :class:`DokployMCPError`. The domain layer
(``dokploy/``, ``postgres/``, ``supabase/``) raises only these and knows nothing of MCP; the one place that
turns them into messages for the model is :mod:`dokploy_mcp.registry`. Anything else that escapes a tool is a
bug and is logged with its traceback.

Hierarchy::

    DokployMCPError
    ├── ConfigurationError          a setting is missing or wrong (names the setting)
    ├── InputError                  an argument is invalid (names the field)
    ├── ConfirmationError           a destructive call's confirm_token is missing, wrong, expired or stale
    ├── dokploy.errors.DokployError     (see that module)
    └── postgres.errors.DatabaseError   (see that module)
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


# A tool call that moves a caller on: the fix a finding proposes, or where a problem is looked at next. (A comment,
# not a docstring: pydantic would put a docstring into every output schema that holds one.)
class NextStep(BaseModel):
    tool: str
    arguments: dict[str, Any]
    placeholders: list[str] = Field(
        default_factory=list, description="arguments holding example values that must be replaced before the call"
    )


class DokployMCPError(Exception):
    """Base of every expected failure. ``str(err)`` is safe to show: it never holds a secret."""


class ConfigurationError(DokployMCPError):
    """A setting is missing or invalid.

    ``setting`` names the environment variable or flag to fix, so the message can say exactly what to do.
    """

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class InputError(DokployMCPError):
    """An argument is invalid. ``field`` names it; the message says what a valid value looks like."""

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field
