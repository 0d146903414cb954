"""Keep secrets out of every answer and every log line.

Masks shown in tool results (:data:`SHOWN_MASK`, :func:`mask`, :func:`mask_in_text`, :func:`mask_url_credentials`)
say a value is withheld and how long it is; they live here, below every domain package, because env values, deploy
logs and container logs are all masked the same way. The rest of this module is the scrubber.

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
not registered, nor a few values too common to mean anything (``postgres``, ``password``...): masking every
"postgres" would mangle ordinary text and protect nothing. Every pattern is linear in the length of the text.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any, Protocol

__all__ = [
    "MASK",
    "MAX_SECRETS",
    "MIN_LENGTH",
    "SHOWN_MASK",
    "ScrubbingFilter",
    "forget_all",
    "mask",
    "mask_in_text",
    "mask_url_credentials",
    "remember",
    "scrub",
]

MASK = "****"
MIN_LENGTH = 8
MAX_SECRETS = 4096
# Values too common to be worth masking: every "postgres" in every message would turn into ****.
_COMMON = frozenset({"postgres", "password", "changeme", "supabase", "localhost", "12345678", "postgresql"})


class _HasSecret(Protocol):
    def get_secret_value(self) -> Any: ...


_lock = threading.Lock()
_known: OrderedDict[str, None] = OrderedDict()
# Rebuilt when the set changes: one alternation, longest first, so that a secret containing another is masked whole.
_pattern: re.Pattern[str] | None = None

# A name that says it holds a secret. Checked on a name already found, never scanned for: scanning for a keyword
# inside a long run of name characters backtracks quadratically.
_SECRET_NAME = re.compile(
    r"(?i)secret|passw(?:or)?d|pwd|token|api[_-]?key|access[_-]?key|private[_-]?key|credential|auth"
)
# NAME=value (env lines, shell flags, query strings) and "name": "value" (JSON); a colon after a bare word is prose
# ("password: missing") and is left alone. Names start where a run of name characters starts and are at most 100
# characters long, so each position is tried a bounded number of times: linear in the text.
# A quoted value may hold its own quote escaped with a backslash (libpq: password='a\'b c'), and a bare value runs
# to whitespace, a quote or '&': a comma or bracket may be part of a password (password=ab,cd), and masking the
# punctuation after a value costs nothing.
_QUOTED = r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'"""
_ASSIGNED = re.compile(
    rf"""(?x)
    (?<![A-Za-z0-9_.-])(?P<head>(?P<name>[A-Za-z0-9_.-]{{1,100}})\s{{0,10}}=\s{{0,10}})
    (?P<value>{_QUOTED}|[^\s&"']+)
    """
)
# "name": "value" as JSON writes it, and 'name': 'value' as Python's repr of a dict does.
_JSON_ASSIGNED = re.compile(
    rf"""(?P<head>(?P<q>["'])(?P<name>[A-Za-z0-9_.-]{{1,100}})(?P=q)\s{{0,10}}:\s{{0,10}})(?P<value>{_QUOTED})"""
)
# Names that contain a secret word but hold none: PostgreSQL's setting names the hash method.
_NOT_SECRET_NAMES = frozenset({"password_encryption"})
# The password of scheme://user:password@: it may hold '@' or '/' (an unencoded one), so it runs to the last '@'
# before whitespace, at most 256 characters on: linear, and erring towards masking too much.
_URL_USERINFO = re.compile(
    r"(?<![A-Za-z0-9+.-])(?P<head>[A-Za-z][A-Za-z0-9+.-]{0,30}://[^/\s:@?#]*):(?P<password>\S{1,256})@"
)
_BEARER = re.compile(r"(?i)(?P<head>\bbearer\s+)[A-Za-z0-9._~+/=-]{8,}")

#: What a tool result shows in place of a value it withholds, followed by the value's length. Distinct from
#: :data:`MASK` on purpose: a reader can tell a value withheld by design (a secret env variable) from one scrubbed
#: out of an error or a log record.
SHOWN_MASK = "••••"


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
    fresh = [
        value
        for value in map(_value, secrets)
        if value is not None and len(value.strip()) >= MIN_LENGTH and value.lower() not in _COMMON
    ]
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
    name = match["name"]
    if not _SECRET_NAME.search(name) or name.lower() in _NOT_SECRET_NAMES:
        return match.group(0)
    value = match["value"]
    if value.startswith(("'", '"')):
        return f"{match['head']}{value[0]}{MASK}{value[0]}"
    if value == MASK:
        return match.group(0)
    return match["head"] + MASK


def scrub(text: str, extra: Iterable[str | _HasSecret | None] = ()) -> str:
    """``text`` with every known secret, each of ``extra`` and every secret-shaped value masked.

    ``extra`` are the secrets this very text may quote (the password of the connection that failed, a client's own
    key): they are masked whatever their length, since a short password echoed back is still a password; only the
    process-wide registry skips short values, which would mask ordinary words in every message."""
    if not text:
        return text
    pattern = _pattern
    if pattern is not None:
        text = pattern.sub(MASK, text)
    for value in sorted((v for v in map(_value, extra) if v), key=len, reverse=True):
        text = text.replace(value, MASK)
    text = _URL_USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    text = _BEARER.sub(lambda m: m["head"] + MASK, text)
    text = _JSON_ASSIGNED.sub(_mask_assigned, text)
    return _ASSIGNED.sub(_mask_assigned, text)


# -- masks in tool results --------------------------------------------------------------------------------------------
# Here, below every domain package, because env values, deploy logs and container logs all show secrets the same way.


def mask(value: str | None) -> str | None:
    """A stand-in that tells a value exists and how long it is, and nothing else.

    Never a character of the value, not even the first few: a prefix narrows a search, and several masks of one
    value must not add up to the value."""
    if value is None:
        return None
    if value == "":
        return ""
    return f"{SHOWN_MASK} ({len(value)} chars)"


def mask_url_credentials(text: str) -> str:
    """``text`` with the password of every ``scheme://user:password@`` replaced by :data:`SHOWN_MASK`."""
    return _URL_USERINFO.sub(lambda m: f"{m['head']}:{SHOWN_MASK}@", text)


def mask_in_text(text: str, secrets: Iterable[str]) -> str:
    """Replace every occurrence of each given secret value in arbitrary text with its :func:`mask`.

    Values shorter than :data:`MIN_LENGTH` are left alone: they would match ordinary words and numbers everywhere
    and are too short to be worth protecting that way."""
    values = sorted({value for value in secrets if value and len(value) >= MIN_LENGTH}, key=len, reverse=True)
    if not values:
        return text
    # Longest first: when one secret contains another, the whole of it is replaced, not a part.
    pattern = re.compile("|".join(re.escape(value) for value in values))
    return pattern.sub(lambda m: mask(m.group(0)) or "", text)


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
