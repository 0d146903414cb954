"""Round-trip-safe editing of a Dokploy compose's env text.

Dokploy keeps a compose's environment as one text blob (``compose.one`` -> ``env``) and writes it beside the
compose file as ``.env`` at deploy time, where docker compose reads it for ``${VAR}`` interpolation. Users edit
that blob by hand in Dokploy's UI, so it holds comments, blank lines, variables we know nothing about, quoting
and sometimes mistakes. :class:`EnvFile` keeps every character: ``EnvFile.parse(text).render() == text`` for every
string, and :meth:`EnvFile.set` / :meth:`EnvFile.unset` change only the lines they must.

How a line is read follows docker compose's own parser (compose-spec/compose-go, ``dotenv/parser.go``, v2):

- Lines end at ``\\n``; a ``\\r`` before it belongs to the line ending (CRLF files are kept CRLF). A UTF-8 BOM at
  the start is skipped. Leading blanks are skipped; a line whose first character is ``#`` is a comment.
- ``export KEY=value``: the ``export`` prefix is dropped. ``KEY: value`` (YAML style) is also an assignment.
- A key holds letters, digits and ``_ . - [ ]``; blanks around the key and after ``=`` are skipped. A key with
  any other character, a key with a space inside or a line with nothing before ``=`` makes docker compose refuse
  the whole file. A lone ``KEY`` (no ``=``) asks for KEY from docker compose's own environment.
- Unquoted values run to the end of the line, are cut at the first `` #`` (space, hash: an inline comment) and
  lose trailing blanks; ``#`` without a space before it is part of the value.
- ``'single'`` quoted values are literal; ``"double"`` quoted values understand ``\\n \\r \\t \\a \\b \\f \\v
  \\\\ \\" \\$`` and ``\\0`` + three octal digits. In both, a backslash keeps the next character from closing the
  value. Quoted values may run over several lines. Text after the closing quote that is not a ``#`` comment is
  read by docker compose as the next assignment.
- In unquoted and double-quoted values docker compose substitutes ``$VAR`` / ``${VAR}`` and reads ``$$`` as a
  literal ``$``. ``EnvLine.value`` resolves ``$$`` (and ``\\$``) but leaves references as written: the process
  environment of a deploy is not ours to know, and Dokploy's own ``${{project.X}}`` references must stay visible.
- When a key is assigned twice, the last assignment wins.

Dokploy itself reads the blob before docker compose does: at deploy time it parses it with the npm ``dotenv``
package and writes each variable back as a fresh line (``KEY=value``; newer Dokploy versions ``KEY="escaped"``).
That parser cuts unquoted values at any ``#`` and does not unescape ``\\"`` or ``\\\\`` in double quotes, so
:func:`quote_value` prefers spellings both parsers read the same way (plain, then single quotes, and escapes in
double quotes only when the value leaves no other choice) and :meth:`EnvFile.problems` reports the constructs on
which they disagree. No spelling makes a ``$`` safe under every Dokploy version (the older ones write the value
unquoted, so docker compose interpolates it): secrets we generate never contain one.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from dokploy_mcp.errors import InputError

LineKind = Literal["assignment", "comment", "blank", "invalid"]
Quote = Literal["'", '"']
ChangeKind = Literal["added", "changed", "removed"]

#: What :meth:`EnvFile.set` accepts as a variable name: the portable POSIX form.
KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# compose-go's isSpace: the blanks skipped around keys and values; never a line break.
_BLANKS = frozenset("\t\v\f\r \x85\xa0")
_EXPORT = re.compile(r"export[\t\n\f\r ]+")
_KEY_PUNCTUATION = frozenset("_.-[]")
_BOM = "\ufeff"
# Characters every .env reader takes literally in an unquoted value, so quote_value need not quote them.
_PLAIN = re.compile(r"[A-Za-z0-9_\-.,/:@+=%~^*?!\[\]{}]*\Z")
_ESCAPE = re.compile(r'\\(?:[abcfnrtv$"\\]|0[0-9]{0,3})')
_SIMPLE_ESCAPES = {
    "a": "\a",
    "b": "\b",
    "f": "\f",
    "n": "\n",
    "r": "\r",
    "t": "\t",
    "v": "\v",
    '"': '"',
    "\\": "\\",
    # compose-go turns \$ into $$, which interpolation then reads as one literal $.
    "$": "$$",
    # compose-go's regex matches \c but Go cannot unquote it, so it stays as written.
    "c": "\\c",
}


def _is_space(char: str) -> bool:
    """Go's unicode.IsSpace, which compose-go uses to trim values (Python's isspace also counts \\x1c-\\x1f)."""
    return char in "\t\n\v\f\r \x85\xa0" or (char > "\xff" and char.isspace())


def _rstrip_space(text: str) -> str:
    end = len(text)
    while end and _is_space(text[end - 1]):
        end -= 1
    return text[:end]


def _lstrip_space(text: str) -> str:
    start = 0
    while start < len(text) and _is_space(text[start]):
        start += 1
    return text[start:]


def _expand_escapes(text: str) -> str:
    def replace(match: re.Match[str]) -> str:
        escape = match.group(0)
        if escape[1] != "0":
            return _SIMPLE_ESCAPES[escape[1]]
        # compose-go rewrites \0NNN to \NNN and lets Go unquote it: only three octal digits up to 0o377 make a
        # character; anything else comes back as the rewritten text.
        digits = escape[2:]
        if len(digits) == 3 and all(d in "01234567" for d in digits) and int(digits, 8) <= 0o377:
            return chr(int(digits, 8))
        return "\\" + digits

    return _ESCAPE.sub(replace, text)


def _has_reference(text: str) -> bool:
    """True when docker compose would substitute something in ``text`` (a ``$`` that is not ``$$``)."""
    return "$" in text.replace("$$", "")


def _resolve_dollars(text: str) -> str:
    return text.replace("$$", "$")


@dataclass(frozen=True, repr=False)
class EnvLine:
    """One line of the env text (several physical lines when a quoted value spans them).

    ``value`` is the decoded value as docker compose reads it (see the module docstring) for assignments, and
    None otherwise. ``value_span`` is where the value is written in ``raw``, quotes included. ``ending`` is the
    line break that follows ``raw`` ("\\n", "\\r\\n", or "" for a last line without one).
    """

    number: int
    raw: str
    kind: LineKind
    key: str | None = None
    value: str | None = None
    exported: bool = False
    quote: Quote | None = None
    value_span: tuple[int, int] | None = None
    ending: str = ""

    def __repr__(self) -> str:
        # raw and value may hold secrets; a repr ends up in logs and tracebacks.
        return f"EnvLine(number={self.number}, kind={self.kind!r}, key={self.key!r})"


@dataclass(frozen=True)
class EnvProblem:
    """Something in the env text that docker compose refuses, reads differently than it looks, or that Dokploy's
    parser reads differently. ``message`` never quotes a value."""

    line: int
    key: str | None
    code: str
    message: str


@dataclass(frozen=True, repr=False)
class EnvChange:
    key: str
    kind: ChangeKind
    old: str | None
    new: str | None

    def __repr__(self) -> str:
        return f"EnvChange(key={self.key!r}, kind={self.kind!r})"


def _physical_lines(text: str) -> list[tuple[str, str]]:
    """``text`` as (content, ending) pairs; joining them gives ``text`` back."""
    parts = text.split("\n")
    pairs: list[tuple[str, str]] = []
    for index, part in enumerate(parts):
        if index == len(parts) - 1:
            if part:
                pairs.append((part, ""))
        elif part.endswith("\r"):
            pairs.append((part[:-1], "\r\n"))
        else:
            pairs.append((part, "\n"))
    return pairs


class _Parser:
    def __init__(self, text: str) -> None:
        self.physical = _physical_lines(text)
        self.lines: list[EnvLine] = []
        self.problems: list[EnvProblem] = []

    def run(self) -> None:
        index = 0
        while index < len(self.physical):
            index = self._statement(index)
        self._duplicates()
        self.problems.sort(key=lambda problem: problem.line)

    def _problem(self, index: int, key: str | None, code: str, message: str) -> None:
        self.problems.append(EnvProblem(line=index + 1, key=key, code=code, message=message))

    def _simple(self, index: int, kind: LineKind, key: str | None = None, exported: bool = False) -> int:
        content, ending = self.physical[index]
        self.lines.append(EnvLine(number=index + 1, raw=content, kind=kind, key=key, exported=exported, ending=ending))
        return index + 1

    def _invalid(self, index: int, key: str | None, code: str, message: str, exported: bool = False) -> int:
        self._problem(index, key, code, message)
        return self._simple(index, "invalid", key=key, exported=exported)

    def _statement(self, index: int) -> int:
        content = self.physical[index][0]
        pos = 1 if index == 0 and content.startswith(_BOM) else 0
        while pos < len(content) and _is_space(content[pos]):
            pos += 1
        if pos == len(content):
            return self._simple(index, "blank")
        if content[pos] == "#":
            return self._simple(index, "comment")
        exported = False
        match = _EXPORT.match(content, pos)
        if match:
            exported = True
            pos = match.end()
            while pos < len(content) and content[pos] in _BLANKS:
                pos += 1
        key_start = pos
        separator = -1
        for offset in range(pos, len(content)):
            char = content[offset]
            if char in _BLANKS:
                continue
            if char in "=:":
                separator = offset
                break
            if not (char.isalnum() or char in _KEY_PUNCTUATION):
                return self._invalid(
                    index,
                    None,
                    "invalid_key",
                    "a variable name may only hold letters, digits and _ . - [ ]; docker compose refuses the whole "
                    "env file",
                    exported,
                )
        if separator < 0:
            word = _rstrip_space(content[key_start:])
            if word and not any(_is_space(c) for c in word):
                return self._invalid(
                    index,
                    word,
                    "missing_equals",
                    f"{word} has no '=': docker compose would take it from its own environment, which is empty "
                    f"under Dokploy (whose env parser drops the line); write {word}=value",
                    exported,
                )
            return self._invalid(
                index,
                None,
                "invalid_line",
                "neither KEY=value, a comment nor blank: docker compose refuses the whole env file; make it a "
                "'# comment' or remove it",
                exported,
            )
        key_written = content[key_start:separator]
        key = _rstrip_space(key_written)
        if not key:
            return self._invalid(
                index,
                None,
                "invalid_line",
                "nothing before the '=': docker compose refuses the whole env file",
                exported,
            )
        if any(_is_space(c) for c in key):
            return self._invalid(
                index,
                None,
                "invalid_key",
                "a variable name with a space inside: docker compose refuses the whole env file",
                exported,
            )
        return self._assignment(index, key, key_written != key, separator, exported)

    def _assignment(self, index: int, key: str, space_before: bool, separator: int, exported: bool) -> int:
        content, ending = self.physical[index]
        colon = content[separator] == ":"
        start = separator + 1
        while start < len(content) and content[start] in _BLANKS:
            start += 1
        if not KEY_PATTERN.match(key):
            self._problem(
                index,
                key,
                "nonstandard_key",
                f"{key} is not a portable variable name (letters, digits and _, not starting with a digit): "
                "shells and some .env readers reject it",
            )
        if colon:
            self._problem(
                index, key, "colon_separator", f"'{key}: value' is YAML style; other .env readers expect {key}=value"
            )
        elif space_before or (start > separator + 1 and start < len(content)):
            self._problem(
                index,
                key,
                "space_around_equals",
                f"spaces around '=': docker compose accepts them, shells and other .env readers do not; write "
                f"{key}=value",
            )
        if start < len(content) and content[start] in "'\"":
            return self._quoted(index, key, start, exported)
        text = content[start:]
        cut = text.find(" #")
        written = _rstrip_space(text if cut < 0 else text[:cut])
        if "#" in written:
            self._problem(
                index,
                key,
                "hash_in_value",
                f"the unquoted value of {key} holds '#': Dokploy's env parser (and older docker compose) cut the "
                "value there; quote it",
            )
        if _has_reference(written):
            self._problem(index, key, "interpolation", _interpolation_message(key))
        self.lines.append(
            EnvLine(
                number=index + 1,
                raw=content,
                kind="assignment",
                key=key,
                value=_resolve_dollars(written),
                exported=exported,
                value_span=(start, start + len(written)),
                ending=ending,
            )
        )
        return index + 1

    def _quoted(self, index: int, key: str, start: int, exported: bool) -> int:
        content = self.physical[index][0]
        quote: Quote = "'" if content[start] == "'" else '"'
        found = self._scan_quoted(index, start + 1, quote)
        if found is None:
            self._problem(
                index,
                key,
                "unterminated_quote",
                f"the quoted value of {key} is never closed: docker compose refuses the whole env file",
            )
            self.lines.append(
                EnvLine(
                    number=index + 1,
                    raw=content,
                    kind="invalid",
                    key=key,
                    exported=exported,
                    quote=quote,
                    value_span=(start, len(content)),
                    ending=self.physical[index][1],
                )
            )
            return index + 1
        last, close, inner = found
        raw = "".join(c + e for c, e in self.physical[index:last]) + self.physical[last][0]
        close_in_raw = len(raw) - len(self.physical[last][0]) + close
        rest = _lstrip_space(self.physical[last][0][close + 1 :])
        if rest and not rest.startswith("#"):
            self._problem(
                index,
                key,
                "text_after_quote",
                f"text follows the closing quote of {key}: docker compose reads it as another assignment; move it "
                "to its own line or make it a '# comment'",
            )
        if quote == '"':
            expanded = _expand_escapes(inner)
            if _has_reference(expanded):
                self._problem(index, key, "interpolation", _interpolation_message(key))
            value = _resolve_dollars(expanded)
        else:
            value = inner
        self.lines.append(
            EnvLine(
                number=index + 1,
                raw=raw,
                kind="assignment",
                key=key,
                value=value,
                exported=exported,
                quote=quote,
                value_span=(start, close_in_raw + 1),
                ending=self.physical[last][1],
            )
        )
        return last + 1

    def _scan_quoted(self, index: int, pos: int, quote: str) -> tuple[int, int, str] | None:
        """Find the closing quote: (physical line, position in it, the text between with escaped quotes resolved)."""
        chars: list[str] = []
        escaped = False
        for line in range(index, len(self.physical)):
            content, ending = self.physical[line]
            text = content + ending
            for offset in range(pos if line == index else 0, len(text)):
                char = text[offset]
                if escaped:
                    escaped = False
                    # An escaped quote loses its backslash; any other escaped character keeps it (compose-go).
                    if char != quote:
                        chars.append("\\")
                    chars.append(char)
                elif char == "\\":
                    escaped = True
                elif char == quote:
                    return line, offset, "".join(chars)
                else:
                    chars.append(char)
        return None

    def _duplicates(self) -> None:
        first: dict[str, int] = {}
        for line in self.lines:
            if line.kind != "assignment" or line.key is None:
                continue
            if line.key in first:
                self.problems.append(
                    EnvProblem(
                        line=line.number,
                        key=line.key,
                        code="duplicate_key",
                        message=f"{line.key} is assigned again (first on line {first[line.key]}); docker compose "
                        "uses the last assignment",
                    )
                )
            else:
                first[line.key] = line.number


def _interpolation_message(key: str) -> str:
    return (
        f"the value of {key} holds '$', which docker compose reads as a variable reference; write '$$' for a "
        "literal '$' or use single quotes"
    )


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise InputError(
            "a variable name holds letters, digits and underscores and does not start with a digit, e.g. SITE_URL",
            field="key",
        )


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
        and not _is_space(value[0])
        and not _is_space(value[-1])
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


def _respell(line: EnvLine, value: str) -> str:
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
        if token == "" and _lstrip_space(suffix):
            token = "''"
    else:
        token = quote_value(value)
    return line.raw[:start] + token + suffix


class EnvFile:
    """An immutable, round-trip-safe view of env text. Edits return a new EnvFile."""

    __slots__ = ("_effective", "_lines", "_problems")

    def __init__(self, lines: Iterable[EnvLine], problems: Iterable[EnvProblem] = ()) -> None:
        self._lines = tuple(lines)
        self._problems = tuple(problems)
        effective: dict[str, int] = {}
        for index, line in enumerate(self._lines):
            if line.kind == "assignment" and line.key is not None:
                # dict keeps the first insertion's position, so keys() stays in order of first appearance.
                effective[line.key] = index
        self._effective = effective

    @classmethod
    def parse(cls, text: str) -> EnvFile:
        """Read any text; never raises. What docker compose would refuse is in :meth:`problems`."""
        parser = _Parser(text)
        parser.run()
        return cls(parser.lines, parser.problems)

    def render(self) -> str:
        return "".join(line.raw + line.ending for line in self._lines)

    @property
    def lines(self) -> tuple[EnvLine, ...]:
        return self._lines

    def problems(self) -> list[EnvProblem]:
        return list(self._problems)

    def get(self, key: str) -> str | None:
        """The value docker compose uses for ``key`` (its last assignment), or None when it is not assigned."""
        index = self._effective.get(key)
        return None if index is None else self._lines[index].value

    def keys(self) -> list[str]:
        return list(self._effective)

    def as_dict(self) -> dict[str, str]:
        return {key: self._lines[index].value or "" for key, index in self._effective.items()}

    def __contains__(self, key: object) -> bool:
        return key in self._effective

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EnvFile):
            return NotImplemented
        return self.render() == other.render()

    def __hash__(self) -> int:
        return hash(self.render())

    def __repr__(self) -> str:
        return f"EnvFile({len(self._lines)} lines, {len(self._effective)} variables)"

    # -- edits --------------------------------------------------------------------------------------------------

    def set(self, key: str, value: str) -> EnvFile:
        """Set ``key`` to ``value`` with the smallest change to the text.

        The value part of the key's last assignment is rewritten (``export``, spacing, inline comment and, where
        it can still say the value exactly, the quote style stay); a new key is appended as ``KEY=value`` in the
        file's line-ending style.
        """
        return self.apply(set={key: value})

    def unset(self, key: str) -> EnvFile:
        """Remove every line that assigns ``key`` (including broken ones), and nothing else."""
        return self.apply(unset=[key])

    def apply(self, set: Mapping[str, str] | None = None, unset: Iterable[str] = ()) -> EnvFile:
        """Unset then set several variables at once; validates everything before changing anything."""
        to_set = dict(set or {})
        to_unset = list(dict.fromkeys(unset))
        for key in to_unset:
            _check_key(key)
        for key, value in to_set.items():
            _check_key(key)
            check_value(key, value)
            if key in to_unset:
                raise InputError(f"{key} is both set and unset; keep one", field=key)
        result = self
        for key in to_unset:
            result = result._without(key)
        for key, value in to_set.items():
            result = result._with(key, value)
        expected = self.as_dict()
        for key in to_unset:
            expected.pop(key, None)
        expected.update(to_set)
        actual = result.as_dict()
        if actual != expected:
            # Only a line docker compose cannot read (an unclosed quote swallowing the lines after it) can make an
            # edit land somewhere else than asked; refuse rather than write a file that says something else.
            key = next(k for k in [*expected, *actual] if expected.get(k) != actual.get(k))
            broken = [p for p in self._problems if p.code == "unterminated_quote"]
            where = f" (line {broken[0].line}: {broken[0].message})" if broken else ""
            raise InputError(
                f"the env text has a line docker compose cannot read{where}; fix it before changing {key}",
                field=key,
            )
        return result

    def _with(self, key: str, value: str) -> EnvFile:
        pairs = [(line.raw, line.ending) for line in self._lines]
        index = self._effective.get(key)
        if index is not None:
            if self._lines[index].value == value:
                # Same value: keep its spelling rather than re-quote it.
                return self
            pairs[index] = (_respell(self._lines[index], value), pairs[index][1])
        else:
            style = self._line_ending_style()
            line = f"{key}={quote_value(value)}"
            if not pairs:
                pairs.append((line, ""))
            elif pairs[-1][1] == "":
                pairs[-1] = (pairs[-1][0], style)
                pairs.append((line, ""))
            else:
                pairs.append((line, style))
        return EnvFile.parse("".join(raw + ending for raw, ending in pairs))

    def _without(self, key: str) -> EnvFile:
        kept = [(line.raw, line.ending) for line in self._lines if line.key != key]
        if len(kept) == len(self._lines):
            return self
        # Keep a text without a final line break without one.
        if kept and self._lines and self._lines[-1].ending == "":
            kept[-1] = (kept[-1][0], "")
        return EnvFile.parse("".join(raw + ending for raw, ending in kept))

    def _line_ending_style(self) -> str:
        endings = Counter(line.ending for line in self._lines if line.ending)
        return endings.most_common(1)[0][0] if endings else "\n"


def diff(old: EnvFile, new: EnvFile) -> list[EnvChange]:
    """Changes of effective values: old's variables in their order, then the added ones in new's order."""
    before, after = old.as_dict(), new.as_dict()
    changes: list[EnvChange] = []
    for key, value in before.items():
        if key not in after:
            changes.append(EnvChange(key=key, kind="removed", old=value, new=None))
        elif after[key] != value:
            changes.append(EnvChange(key=key, kind="changed", old=value, new=after[key]))
    changes.extend(
        EnvChange(key=key, kind="added", old=None, new=value) for key, value in after.items() if key not in before
    )
    return changes
