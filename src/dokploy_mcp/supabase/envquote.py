"""Writing a value into env text: which values a line can carry, and how to spell them.

Dokploy itself reads the env text before docker compose does: at deploy time it parses it with the npm ``dotenv``
package and writes each variable back as a fresh line (``KEY=value``; newer Dokploy versions ``KEY="escaped"``).
That parser cuts unquoted values at any ``#`` and does not unescape ``\\"`` or ``\\\\`` in double quotes, so
:func:`quote_value` prefers spellings both parsers read the same way (plain, then single quotes, and escapes in
double quotes only when the value leaves no other choice), and the reader
(:mod:`~dokploy_mcp.supabase.envparse`) reports the constructs on which they disagree. No spelling makes a ``$``
safe under every Dokploy version (the older ones write the value unquoted, so docker compose interpolates it):
secrets we generate never contain one.
"""

from __future__ import annotations

import re

from dokploy_mcp.errors import InputError
from dokploy_mcp.supabase.envparse import EnvLine, is_space, lstrip_space

# Characters every .env reader takes literally in an unquoted value, so quote_value need not quote them.
_PLAIN = re.compile(r"[A-Za-z0-9_\-.,/:@+=%~^*?!\[\]{}]*\Z")

# Control characters (C0, DEL, C1) and the Unicode line and paragraph separators. Each reader of a value takes them
# its own way: NUL ends a C string, CR, LF and NEL end a line for docker compose or Python, U+2028/U+2029 end one for
# Dokploy's JavaScript parser, and escape sequences act on whoever reads the text in a terminal.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_CONTROL_BUT_TAB = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_LINE_BREAKS = frozenset("\n\r\x85\u2028\u2029")


def control_character(text: str, *, allow_tab: bool = False) -> str | None:
    """The first control character (or Unicode line separator) in ``text``, described without quoting it (e.g.
    "a NUL character (U+0000)"); None when there is none. Tab counts unless ``allow_tab``."""
    match = (_CONTROL_BUT_TAB if allow_tab else _CONTROL).search(text)
    if match is None:
        return None
    char = match.group(0)
    if char in _LINE_BREAKS:
        kind = "a line break"
    else:
        kind = {"\0": "a NUL character", "\t": "a tab"}.get(char, "a control character")
    return f"{kind} (U+{ord(char):04X})"


def check_value(key: str, value: str) -> None:
    """Refuse a value no env line can carry as it is: one that is not a string, or that holds a control character
    other than tab (a line break, NUL, an escape sequence...).

    Raises:
        InputError: (field ``key``) naming the character, never quoting the value (it may be a secret).
    """
    if not isinstance(value, str):
        raise InputError(f"the value of {key} must be a string", field=key)
    found = control_character(value, allow_tab=True)
    if found is not None:
        raise InputError(
            f"the value of {key} holds {found}, which an env line cannot carry: use printable text (tab is allowed)",
            field=key,
        )


def _unquoted_ok(value: str) -> bool:
    """True when docker compose and Dokploy's parser both read ``value`` back unchanged without quotes."""
    if value == "":
        return True
    return (
        value[0] not in "'\"`"
        and not is_space(value[0])
        and not is_space(value[-1])
        and "#" not in value
        and "$" not in value
        and value.isprintable()
    )


def _single_quote_ok(value: str) -> bool:
    # A trailing backslash would escape the closing quote.
    return "'" not in value and not value.endswith("\\")


def _double_quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"').replace("$", "$$") + '"'


def quote_value(value: str) -> str:
    """The shortest spelling of ``value`` that docker compose reads back as exactly ``value``.

    Plain when every character is one all .env readers take literally; single quotes (no escapes, no
    interpolation) when the value has ``$``, blanks, ``#``, quotes or anything else; double quotes when it holds
    a single quote or ends with a backslash, escaping only ``\\``, ``"`` and ``$`` (as ``$$``). Raises InputError
    for control characters but tab (line breaks, NUL), which no env line can carry (see :func:`check_value`).
    """
    check_value("value", value)
    if _PLAIN.match(value):
        return value
    if _single_quote_ok(value):
        return f"'{value}'"
    return _double_quoted(value)


def respell(line: EnvLine, value: str) -> str:
    """``line.raw`` with its value replaced by ``value``, keeping the line's quote style where it fits."""
    assert line.value_span is not None
    start, end = line.value_span
    suffix = line.raw[end:]
    if line.quote == "'" and _single_quote_ok(value):
        token = f"'{value}'"
    elif line.quote == '"':
        token = _double_quoted(value)
    elif line.quote is None and _unquoted_ok(value):
        token = value
        # An empty value before an inline comment would make docker compose read the comment as the value.
        if token == "" and lstrip_space(suffix):
            token = "''"
    else:
        token = quote_value(value)
    return line.raw[:start] + token + suffix
