"""Keep secrets out of every answer and every log line.

Two layers, both applied by :func:`scrub`:

- **Known secrets.** Every secret this process learns (Dokploy API keys, ``DATABASE_URL`` and its password, the
  HTTP bearer token, a stack's JWT secret, keys and passwords once read) is registered with :func:`remember`. Any
  text that leaves through an error message or a log record has each of them replaced by :data:`MASK`, wherever
  it appears (Dokploy echoes input back in some errors).
- **Secret-shaped text.** Dokploy also echoes secrets it holds and we never saw: a failed manual backup answers with
  the shell command it ran, S3 secret included (``--s3-secret-access-key=...``). Values after names such as
  ``secret``, ``password``, ``token``, ``access-key-id`` or ``api-key`` (as ``name=value`` or JSON's
  ``"name": "value"``), and the password in a URL's userinfo, are masked too. This errs on the side of masking.

The set of known secrets is process-wide on purpose: log records are process-wide, and a secret learnt by one
caller's request must not leak through another's error. It only ever grows, and holds at most
:data:`MAX_SECRETS` values (the oldest are forgotten first). Values shorter than :data:`MIN_LENGTH` characters are
not registered: masking every "postgres" or "1234" would mangle ordinary text and protect nothing.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Protocol

__all__ = ["MASK", "MAX_SECRETS", "MIN_LENGTH", "ScrubbingFilter", "forget_all", "remember", "scrub"]

MASK = "****"
MIN_LENGTH = 8
MAX_SECRETS = 4096


class _HasSecret(Protocol):
    def get_secret_value(self) -> Any: ...


_lock = threading.Lock()
_known: OrderedDict[str, None] = OrderedDict()
# Rebuilt when the set changes: one alternation, longest first, so that a secret containing another is masked whole.
_pattern: re.Pattern[str] | None = None

# name=value / name: value / "name": "value", where the name says it holds a secret.
_SECRET_NAME = (
    r"(?:[A-Za-z0-9_.-]*(?:secret|passw(?:or)?d|pwd|token|api[_-]?key|access[_-]?key(?:[_-]?id)?|private[_-]?key"
    r"|credential|auth(?:orization)?)[A-Za-z0-9_.-]*)"
)
# NAME=value (env lines, shell flags, query strings) and "name": "value" (JSON); a colon after a bare word is prose
# ("password: missing") and is left alone.
_ASSIGNED = re.compile(
    rf"""(?ix)
    (?P<head>{_SECRET_NAME}\s*=\s*)
    (?P<value>"[^"\n]*"|'[^'\n]*'|[^\s,;&"'}}\]\)]+)
    """
)
_JSON_ASSIGNED = re.compile(rf'(?i)(?P<head>"{_SECRET_NAME}"\s*:\s*)(?P<value>"(?:[^"\\\n]|\\.)*")')
_URL_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.-]*://[^/\s:@]*):(?P<password>[^@\s/]+)@")
_BEARER = re.compile(r"(?i)(?P<head>\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}")


def _value(secret: str | _HasSecret | None) -> str | None:
    if secret is None:
        return None
    if isinstance(secret, str):
        return secret
    value = secret.get_secret_value()
    return value if isinstance(value, str) else None


def remember(*secrets: str | _HasSecret | None) -> None:
    """Register secret values so that :func:`scrub` masks them from now on (short and empty values are ignored)."""
    global _pattern
    fresh = [value for value in map(_value, secrets) if value is not None and len(value.strip()) >= MIN_LENGTH]
    if not fresh:
        return
    with _lock:
        changed = False
        for value in fresh:
            if value in _known:
                _known.move_to_end(value)
                continue
            _known[value] = None
            changed = True
        while len(_known) > MAX_SECRETS:
            _known.popitem(last=False)
        if changed:
            ordered = sorted(_known, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(value) for value in ordered))


def forget_all() -> None:
    """Forget every registered secret (for tests that need a clean slate)."""
    global _pattern
    with _lock:
        _known.clear()
        _pattern = None


def _mask_assigned(match: re.Match[str]) -> str:
    value = match["value"]
    if value.startswith(("'", '"')):
        return f"{match['head']}{value[0]}{MASK}{value[0]}"
    if value == MASK:
        return match.group(0)
    return match["head"] + MASK


def scrub(text: str, extra: Iterable[str | _HasSecret | None] = ()) -> str:
    """``text`` with every known secret (and each of ``extra``) and every secret-shaped value masked."""
    if not text:
        return text
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for value in sorted(
        (v for v in map(_value, extra) if v is not None and len(v) >= MIN_LENGTH), key=len, reverse=True
    ):
        text = text.replace(value, MASK)
    text = _URL_USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    text = _BEARER.sub(lambda m: m["head"] + MASK, text)
    text = _JSON_ASSIGNED.sub(_mask_assigned, text)
    return _ASSIGNED.sub(_mask_assigned, text)


class ScrubbingFilter(logging.Filter):
    """A handler filter that renders each record once and masks secrets in the result (message and traceback)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # a malformed format string must not drop the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = scrub(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True
