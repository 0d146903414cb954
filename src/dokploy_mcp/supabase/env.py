"""Round-trip-safe editing of a Dokploy compose's env text.

Dokploy keeps a compose's environment as one text blob (``compose.one`` -> ``env``) and writes it beside the
compose file as ``.env`` at deploy time, where docker compose reads it for ``${VAR}`` interpolation. Users edit
that blob by hand in Dokploy's UI, so it holds comments, blank lines, variables we know nothing about, quoting
and sometimes mistakes. :class:`EnvFile` keeps every character: ``EnvFile.parse(text).render() == text`` for every
string, and :meth:`EnvFile.set` / :meth:`EnvFile.unset` change only the lines they must.

How a line is read is :mod:`~dokploy_mcp.supabase.envparse`'s concern (docker compose's own rules); how a value
is spelled when it is written, :mod:`~dokploy_mcp.supabase.envquote`'s.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from dokploy_mcp.errors import InputError
from dokploy_mcp.supabase.envparse import KEY_PATTERN, EnvLine, EnvProblem, read_lines
from dokploy_mcp.supabase.envquote import check_value, quote_value, respell

ChangeKind = Literal["added", "changed", "removed"]


@dataclass(frozen=True, repr=False)
class EnvChange:
    key: str
    kind: ChangeKind
    old: str | None
    new: str | None

    def __repr__(self) -> str:
        return f"EnvChange(key={self.key!r}, kind={self.kind!r})"


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise InputError(
            "a variable name holds letters, digits and underscores and does not start with a digit, e.g. SITE_URL",
            field="key",
        )


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
        lines, problems = read_lines(text)
        return cls(lines, problems)

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
            pairs[index] = (respell(self._lines[index], value), pairs[index][1])
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
