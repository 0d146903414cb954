"""YAML documents from text: the one place PyYAML is loaded, on first use (``tools/list`` does not need it).

Used for the Dokploy servers file (settings) and for compose files (their service names).
"""

from __future__ import annotations

from typing import Any

__all__ = ["YamlSyntaxError", "load"]


class YamlSyntaxError(ValueError):
    """The text is not valid YAML; ``str(err)`` is one line: where and what (PyYAML's own text spans several)."""


def load(text: str) -> Any:
    """The document in ``text`` (safe loader: plain data only). :class:`YamlSyntaxError` when it does not parse;
    a document nested past Python's recursion limit raises :class:`RecursionError`, as PyYAML does."""
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(_problem(exc)) from None


def _problem(exc: Any) -> str:
    import yaml

    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        what = ": ".join(part for part in (exc.context, exc.problem) if part)
        return f"line {mark.line + 1}, column {mark.column + 1}: {what}"
    return " ".join(str(exc).split())
