"""Reading a Dokploy compose's env text into lines, the way docker compose reads it.

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

Every line comes back with its raw text and line ending, so joining them gives the text back unchanged; what
docker compose would refuse, or read differently than it looks, comes back as an :class:`EnvProblem`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

LineKind = Literal["assignment", "comment", "blank", "invalid"]
Quote = Literal["'", '"']

#: The portable (POSIX) form of a variable name: what :meth:`EnvFile.set` accepts; other keys are reported.
KEY_PATTERN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")

# compose-go's isSpace: the blanks skipped around keys and values; never a line break.
_BLANKS = frozenset("\t\v\f\r \x85\xa0")
_EXPORT = re.compile(r"export[\t\n\f\r ]+")
_KEY_PUNCTUATION = frozenset("_.-[]")
_BOM = "\ufeff"
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


def is_space(char: str) -> bool:
    """Go's unicode.IsSpace, which compose-go uses to trim values (Python's isspace also counts \\x1c-\\x1f)."""
    return char in "\t\n\v\f\r \x85\xa0" or (char > "\xff" and char.isspace())


def _rstrip_space(text: str) -> str:
    end = len(text)
    while end and is_space(text[end - 1]):
        end -= 1
    return text[:end]


def lstrip_space(text: str) -> str:
    start = 0
    while start < len(text) and is_space(text[start]):
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


_BAD_KEY_CHARACTER = (
    "a variable name may only hold letters, digits and _ . - [ ]; docker compose refuses the whole env file"
)
_NOT_A_STATEMENT = (
    "neither KEY=value, a comment nor blank: docker compose refuses the whole env file; make it a '# comment' or "
    "remove it"
)
_NOTHING_BEFORE_EQUALS = "nothing before the '=': docker compose refuses the whole env file"
_SPACE_IN_KEY = "a variable name with a space inside: docker compose refuses the whole env file"


def _skip_spaces(content: str, pos: int) -> int:
    while pos < len(content) and is_space(content[pos]):
        pos += 1
    return pos


def _separator(content: str, pos: int) -> int | None:
    """Where the ``=`` or ``:`` after the key starting at ``pos`` is: -1 when the line has none, None when a
    character no key may hold comes first (blanks are skipped: a key with a space inside is refused later)."""
    for offset in range(pos, len(content)):
        char = content[offset]
        if char in _BLANKS:
            continue
        if char in "=:":
            return offset
        if not (char.isalnum() or char in _KEY_PUNCTUATION):
            return None
    return -1


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
        pos = _skip_spaces(content, 1 if index == 0 and content.startswith(_BOM) else 0)
        if pos == len(content):
            return self._simple(index, "blank")
        if content[pos] == "#":
            return self._simple(index, "comment")
        match = _EXPORT.match(content, pos)
        exported = match is not None
        if match is not None:
            pos = match.end()
            while pos < len(content) and content[pos] in _BLANKS:
                pos += 1
        separator = _separator(content, pos)
        if separator is None:
            return self._invalid(index, None, "invalid_key", _BAD_KEY_CHARACTER, exported)
        if separator < 0:
            return self._without_separator(index, _rstrip_space(content[pos:]), exported)
        key_written = content[pos:separator]
        key = _rstrip_space(key_written)
        if not key:
            return self._invalid(index, None, "invalid_line", _NOTHING_BEFORE_EQUALS, exported)
        if any(is_space(c) for c in key):
            return self._invalid(index, None, "invalid_key", _SPACE_IN_KEY, exported)
        return self._assignment(index, key, key_written != key, separator, exported)

    def _without_separator(self, index: int, word: str, exported: bool) -> int:
        """A line with neither ``=`` nor ``:``: a lone key (docker compose's "take it from my environment"), or
        nothing it can read."""
        if word and not any(is_space(c) for c in word):
            return self._invalid(
                index,
                word,
                "missing_equals",
                f"{word} has no '=': docker compose would take it from its own environment, which is empty "
                f"under Dokploy (whose env parser drops the line); write {word}=value",
                exported,
            )
        return self._invalid(index, None, "invalid_line", _NOT_A_STATEMENT, exported)

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
        rest = lstrip_space(self.physical[last][0][close + 1 :])
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


def read_lines(text: str) -> tuple[list[EnvLine], list[EnvProblem]]:
    """Read any text into its lines (joined, they give ``text`` back) and its problems, by line; never raises."""
    parser = _Parser(text)
    parser.run()
    return parser.lines, parser.problems
