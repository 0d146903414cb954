"""Sizes a reader can hold: no module of ``src/`` above 600 lines, no function above 60.

Ruff holds complexity (C901, 12) and statements (PLR0915, 40) from pyproject; it has no rule for lines, so this
test counts them: from the ``def`` line to the last line of the body (decorators excluded; signature and docstring
included, since a reader reads them too).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "dokploy_mcp"
MAX_MODULE_LINES = 600
MAX_FUNCTION_LINES = 60


def function_lengths(source: str) -> list[tuple[str, int]]:
    """``(qualified name, lines)`` of every function and method in ``source``, nested ones included."""
    found: list[tuple[str, int]] = []

    def visit(node: ast.AST, prefix: str) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef):
                name = f"{prefix}{child.name}"
                assert child.end_lineno is not None
                found.append((name, child.end_lineno - child.lineno + 1))
                visit(child, f"{name}.")
            elif isinstance(child, ast.ClassDef):
                visit(child, f"{prefix}{child.name}.")
            else:
                visit(child, prefix)

    visit(ast.parse(source), "")
    return found


def modules() -> list[Path]:
    return sorted(SRC.rglob("*.py"))


def test_the_walk_finds_the_functions_it_must_judge() -> None:
    source = "class A:\n    @staticmethod\n    def f(x):\n        def g():\n            return 1\n\n        return g\n"
    source += "async def h():\n    pass\n"
    assert function_lengths(source) == [("A.f", 5), ("A.f.g", 2), ("h", 2)]


@pytest.mark.parametrize("path", modules(), ids=lambda path: str(path.relative_to(SRC)))
def test_no_module_is_too_long(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_MODULE_LINES, f"{path.relative_to(SRC)} has {lines} lines: split it by concern"


def test_no_function_is_too_long() -> None:
    long = [
        f"{path.relative_to(SRC)}: {name} ({lines} lines)"
        for path in modules()
        for name, lines in function_lengths(path.read_text(encoding="utf-8"))
        if lines > MAX_FUNCTION_LINES
    ]
    assert long == [], f"functions over {MAX_FUNCTION_LINES} lines: split them"
