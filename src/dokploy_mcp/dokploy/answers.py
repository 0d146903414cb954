"""What one answer of Dokploy means: its JSON, read within a depth cap, and the error an error status stands for.

Nothing here sends a request or scrubs by itself: the transport (:mod:`dokploy_mcp.dokploy.transport`) reads the
answer and passes its scrubber in, so every text taken from Dokploy is masked before it reaches an exception.
"""

from __future__ import annotations

import email.utils
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from dokploy_mcp.dokploy.errors import (
    APIErrorFields,
    DokployAPIError,
    DokployAuthError,
    DokployNotFoundError,
    DokployRateLimitedError,
    DokployValidationError,
)

if TYPE_CHECKING:
    import httpx

__all__ = ["MAX_JSON_DEPTH", "Answer", "TooDeep", "api_error", "error_payload", "load_json", "retry_after_seconds"]

#: The deepest nesting of JSON arrays and objects accepted in an answer. Dokploy's deepest real answers (a project
#: with its environments, composes and their domains) stay under 10.
MAX_JSON_DEPTH = 64


@dataclass(frozen=True)
class Answer:
    """One HTTP answer, its body read in full (never more than the transport's size cap)."""

    status: int
    reason: str
    headers: httpx.Headers
    body: bytearray


class TooDeep(Exception):
    """Raised by :func:`load_json` for JSON nested deeper than MAX_JSON_DEPTH."""


def _nested_deeper_than(value: Any, limit: int) -> bool:
    # An explicit stack instead of recursion: the walk itself must not be what a deep answer breaks.
    pending: list[tuple[Any, int]] = [(value, 1)]
    while pending:
        item, depth = pending.pop()
        if depth > limit:
            return True
        children = item.values() if isinstance(item, dict) else item
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def load_json(body: bytes | bytearray) -> Any:
    """Decoded JSON. Raises ValueError when ``body`` is not JSON, :class:`TooDeep` when it nests too deep."""
    try:
        value = json.loads(body)
    except RecursionError:
        # The C decoder gives up at the interpreter's recursion limit: deeper than MAX_JSON_DEPTH in any case.
        raise TooDeep from None
    if isinstance(value, dict | list) and _nested_deeper_than(value, MAX_JSON_DEPTH):
        raise TooDeep
    return value


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """The wait a ``Retry-After`` header asks for (seconds or an HTTP date), or None when it says nothing usable."""
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    if not math.isfinite(seconds):
        return None
    return max(0.0, seconds)


def error_payload(answer: Answer) -> dict[str, Any]:
    """The JSON object of an error answer, or ``{}`` when there is none (empty, not JSON, not an object).

    Raises :class:`TooDeep` like :func:`load_json`: an error body is held to the same cap as any other.
    """
    try:
        payload = load_json(answer.body)
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}


def _error_message(answer: Answer, payload: Mapping[str, Any]) -> str:
    """Dokploy's own message, else what the status line or a redirect says (unscrubbed: the caller scrubs)."""
    raw = payload.get("message")
    if isinstance(raw, str) and raw.strip():
        return raw.strip()
    if 300 <= answer.status < 400:
        return f"redirected to {answer.headers.get('location', '?')}; configure that URL instead"
    return answer.reason or f"HTTP {answer.status}"


def _validation_details(payload: Mapping[str, Any]) -> tuple[dict[str, list[str]], list[str]] | None:
    """Field and form messages of a Dokploy 400, or None when the 400 is not an input validation failure."""
    data = payload.get("data")
    zod = data.get("zodError") if isinstance(data, dict) else None
    if isinstance(zod, dict):
        raw_fields = zod.get("fieldErrors")
        fields = {
            str(name): [str(msg) for msg in msgs]
            for name, msgs in (raw_fields.items() if isinstance(raw_fields, dict) else ())
            if isinstance(msgs, list)
        }
        raw_form = zod.get("formErrors")
        form = [str(msg) for msg in raw_form] if isinstance(raw_form, list) else []
        return fields, form
    issues = payload.get("issues")
    if not isinstance(issues, list) or not issues:
        return None
    fields = {}
    form = []
    for issue in issues:
        if not isinstance(issue, dict):
            continue
        message = str(issue.get("message", "invalid"))
        path = issue.get("path")
        if isinstance(path, list) and path:
            fields.setdefault(".".join(str(part) for part in path), []).append(message)
        else:
            form.append(message)
    return fields, form


def api_error(
    answer: Answer, payload: Mapping[str, Any], *, server: str, path: str, scrub: Callable[[str], str]
) -> DokployAPIError:
    """The error an error status stands for, every text of Dokploy's in it passed through ``scrub``."""
    status = answer.status
    raw_code = payload.get("code")
    common: APIErrorFields = {
        "server": server,
        "status": status,
        "path": path,
        "message": scrub(_error_message(answer, payload)),
        "code": scrub(raw_code) if isinstance(raw_code, str) else None,
    }
    if status in {401, 403}:
        return DokployAuthError(**common)
    if status == 404:
        return DokployNotFoundError(**common)
    if status == 429:
        return DokployRateLimitedError(**common, retry_after=retry_after_seconds(answer.headers))
    if status == 400:
        details = _validation_details(payload)
        if details is not None:
            fields, form = details
            return DokployValidationError(
                **common,
                field_errors={scrub(name): [scrub(m) for m in msgs] for name, msgs in fields.items()},
                form_errors=[scrub(m) for m in form],
            )
    return DokployAPIError(**common)
