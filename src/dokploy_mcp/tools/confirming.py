"""A person confirms destructive calls, where the client can ask (DESIGN §2 "Confirmation").

A confirm_token proves only that the model saw a preview: the model can call again with it at once. Elicitation
asks the *person*: each destructive tool has a resolver (the SDK's ``Resolve``) that, before the tool body runs,
works out whether this call destroys anything and, if it does, returns an ``Elicit`` with the masked preview. The
SDK asks live (2025-11-25, over the back channel) or through the input-required round trip (2026-07-28), and hands
the tool the person's answer. Nothing has changed while the question is open, and the wait is outside the call
budget (the budget guards the tool body).

``DOKPLOY_MCP_CONFIRM``: ``auto`` asks the person when the client can, else falls back to tokens; ``human`` refuses
destructive calls the person cannot confirm; ``token`` never asks (scripted clients).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Literal

from mcp.server.elicitation import AcceptedElicitation, CancelledElicitation, DeclinedElicitation
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.resolve import Elicit
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

from dokploy_mcp.audit import current_call
from dokploy_mcp.errors import DokployMCPError
from dokploy_mcp.runtime import Runtime

#: First protocol revision that elicits through the input-required round trip rather than the back channel.
_ROUND_TRIP_VERSION = "2026-07-28"


class ConfirmForm(BaseModel):
    confirm: bool = Field(description="true to go ahead; false changes nothing")


@dataclass(frozen=True)
class NotAsked:
    """Why the person was not asked: nothing destructive, no need to look (the token flow decides), the token flow,
    or a preview that could not be made."""

    why: Literal["harmless", "unread", "token", "cannot_ask", "no_preview"]


#: Spelled as the union (not the SDK's alias) so that ``Answer | None`` still tells the SDK to hand over the whole
#: outcome, decline and cancel included, rather than refusing the call itself.
Answer = AcceptedElicitation[ConfirmForm] | DeclinedElicitation | CancelledElicitation
#: How a call was confirmed, as the audit log and the results say it.
Confirmed = Literal["person", "token", "none"]


def _runtime(ctx: Context[Any, Any]) -> Runtime:
    runtime: Runtime = ctx.request_context.lifespan_context
    return runtime


def can_ask(ctx: Context[Any, Any]) -> bool:
    """Whether this client can show a form to its person now."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    version = ctx.protocol_version
    if version is not None and is_version_at_least(version, _ROUND_TRIP_VERSION):
        return True
    return bool(ctx.session.can_send_request)


def ask(ctx: Context[Any, Any], preview: str | None, *, token: str | None) -> Elicit[ConfirmForm] | NotAsked:
    """The question for the person, or why there is none. ``preview`` None: the call destroys nothing."""
    if preview is None:
        return NotAsked("harmless")
    mode = _runtime(ctx).settings.confirm
    if mode == "token":
        return NotAsked("token")
    if not can_ask(ctx):
        return NotAsked("cannot_ask" if mode == "human" else "token")
    if mode == "auto" and token is not None:
        return NotAsked("token")
    return Elicit(preview, ConfirmForm)


async def ask_about(
    ctx: Context[Any, Any], preview: Callable[[Runtime], Awaitable[str | None]], *, token: str | None
) -> Elicit[ConfirmForm] | NotAsked:
    """:func:`ask`, with a preview read from Dokploy or the database first; when that read fails, no question (the
    call itself meets the same problem and words it). The preview is read only where a question could follow:
    in token mode, or when the client cannot ask and nobody insists on a person, the token flow decides alone."""
    mode = _runtime(ctx).settings.confirm
    if mode == "token" or (mode == "auto" and (token is not None or not can_ask(ctx))):
        return NotAsked("token" if token is not None else "unread")
    try:
        text = await preview(_runtime(ctx))
    except DokployMCPError:
        return NotAsked("no_preview")
    return ask(ctx, text, token=token)


@dataclass(frozen=True)
class Verdict:
    """What the person (or the mode) decided: go ahead as confirmed by whom, or stop and say why."""

    go: bool
    by: Confirmed
    said: str | None = None


def verdict(ctx: Context[Any, Any], answer: Answer | None) -> Verdict:
    """The person's answer, or the token flow; ToolError where ``human`` mode cannot get a person's answer. The
    audit trail's entry of this call records who confirmed."""
    decided = _verdict(ctx, answer)
    call = current_call.get()
    if call is not None:
        call.confirmed = decided.by
    return decided


def _verdict(ctx: Context[Any, Any], answer: Answer | None) -> Verdict:
    if answer is None:
        return Verdict(go=True, by="token")
    if isinstance(answer, AcceptedElicitation):
        data = answer.data
        if isinstance(data, NotAsked):
            return _not_asked(ctx, data)
        if isinstance(data, ConfirmForm) and data.confirm:
            return Verdict(go=True, by="person")
        return Verdict(go=False, by="person", said="the person did not confirm: nothing was changed")
    if answer.action == "decline":
        return Verdict(go=False, by="person", said="the person declined: nothing was changed")
    return Verdict(go=False, by="person", said="the person cancelled the question: nothing was changed")


def _not_asked(ctx: Context[Any, Any], why: NotAsked) -> Verdict:
    if why.why in ("harmless", "unread"):
        # Unread: the service asks for a token itself where the call is destructive; nothing is confirmed yet.
        return Verdict(go=True, by="none")
    human = _runtime(ctx).settings.confirm == "human"
    if human:
        reason = (
            "this client cannot ask its person (no elicitation)"
            if why.why == "cannot_ask"
            else "the preview for the person could not be made"
        )
        raise ToolError(
            f"Not confirmed: {reason}, and this server acts on destructive calls only when a person confirms "
            "(DOKPLOY_MCP_CONFIRM=human). Use a client that supports elicitation, or ask the operator"
        )
    return Verdict(go=True, by="token")
