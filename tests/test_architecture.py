"""The layer picture in the README's "Architecture" section, held against the code's own imports.

The table is read from README.md (one source: the picture a reader sees is the one the test holds). Every module of
``src/dokploy_mcp`` must belong to a layer; every import, function-local and TYPE_CHECKING ones included, must point
to a lower layer, or stay within its own package at the same layer. Sibling domain packages do not import each
other, no toolset module imports another, and there is no cycle.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "dokploy_mcp"
PACKAGE = "dokploy_mcp"
#: Shared helpers of the tool layer, which every toolset module may import.
TOOL_HELPERS = frozenset({"tools", "tools.args", "tools.context", "tools.jobrun", "tools.shaping", "tools.confirming"})


@dataclass(frozen=True)
class Edge:
    source: str
    target: str
    line: int


def layers_from_readme() -> dict[str, int]:
    """``name -> layer number`` from the table of the README's Architecture section. A name ending in ``/`` is a
    package and everything in it (``supabase/``); any other is exactly one module (``postgres.client``)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Architecture", 1)[1].split("\n## ", 1)[0]
    table: dict[str, int] = {}
    for row in re.finditer(r"^\| L(\d)[^|]*\|[^|]*\| ([^|]+) \|$", section, flags=re.MULTILINE):
        for name in re.findall(r"`([^`]+)`", row.group(2)):
            table[name] = int(row.group(1))
    return table


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC).with_suffix("").parts
    name = ".".join(part for part in parts if part != "__init__")
    return name or PACKAGE


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in sorted(SRC.rglob("*.py"))}


def resolve(name: str, known: dict[str, Path]) -> str | None:
    """The module of this project that ``dokploy_mcp.<name>`` names (a submodule, or the package it is in)."""
    if not (name == PACKAGE or name.startswith(PACKAGE + ".")):
        return None
    relative = name.removeprefix(PACKAGE).removeprefix(".") or PACKAGE
    while relative not in known and "." in relative:
        relative = relative.rsplit(".", 1)[0]
    return relative if relative in known else PACKAGE


def edges(known: dict[str, Path]) -> list[Edge]:
    found: list[Edge] = []
    for source, path in known.items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets: list[str] = []
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif node.module and node.level == 0:
                # `from dokploy_mcp import redact` names a module; `from dokploy_mcp.x import Y` names x (or x.Y).
                targets = [f"{node.module}.{alias.name}" for alias in node.names]
            for target in targets:
                resolved = resolve(target, known)
                if resolved is not None and resolved != source:
                    found.append(Edge(source, resolved, node.lineno))
    return found


def layer_of(module: str, table: dict[str, int]) -> int | None:
    if module in table:
        return table[module]
    packages = [name for name in table if name.endswith("/") and (module + ".").startswith(name[:-1] + ".")]
    return table[max(packages, key=len)] if packages else None


def package_of(module: str) -> str:
    return module.split(".", 1)[0]


def test_the_readme_table_names_every_layer() -> None:
    assert sorted(set(layers_from_readme().values())) == [0, 1, 2, 3, 4, 5]


def test_every_module_belongs_to_a_layer() -> None:
    table = layers_from_readme()
    assert [module for module in modules() if layer_of(module, table) is None] == []


def _violation(edge: Edge, table: dict[str, int]) -> str | None:
    source_layer, target_layer = layer_of(edge.source, table), layer_of(edge.target, table)
    assert source_layer is not None and target_layer is not None
    where = f"{edge.source}:{edge.line} -> {edge.target} (L{source_layer} -> L{target_layer})"
    if target_layer > source_layer:
        return f"{where}: points up"
    if target_layer < source_layer:
        return None
    same_package = package_of(edge.source) == package_of(edge.target)
    if source_layer == 2 and not same_package:
        return f"{where}: sibling domain packages do not import each other"
    is_tool = edge.source.startswith("tools.") and edge.source not in TOOL_HELPERS
    if is_tool and edge.target.startswith("tools.") and edge.target not in TOOL_HELPERS:
        return f"{where}: a tool module imports another tool module"
    if source_layer in (1, 3) and not same_package and edge.target not in ("confirm", "runtime", "jobs", "audit"):
        return f"{where}: clients of different packages do not import each other"
    return None


def test_imports_point_only_down() -> None:
    table = layers_from_readme()
    known = modules()
    problems = [problem for edge in edges(known) if (problem := _violation(edge, table)) is not None]
    assert problems == []


def test_there_is_no_cycle() -> None:
    known = modules()
    graph: dict[str, set[str]] = {module: set() for module in known}
    for edge in edges(known):
        graph[edge.source].add(edge.target)
    cycles = _strongly_connected(graph)
    assert [sorted(cycle) for cycle in cycles if len(cycle) > 1] == []


def _strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's algorithm, iteratively (the graph is small, but recursion limits are not the point here)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[set[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work: list[tuple[str, list[str]]] = [(root, sorted(graph[root]))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, pending = work[-1]
            if pending:
                child = pending.pop()
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, sorted(graph[child])))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: set[str] = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                components.append(component)
    return components


def test_the_checker_sees_an_upward_import() -> None:
    """The rules can fail: an edge from the base layer up to a tool is reported."""
    table = layers_from_readme()
    assert _violation(Edge("errors", "tools.database", 1), table) is not None
    assert _violation(Edge("supabase.stack", "monitoring.logs", 1), table) is not None
    assert _violation(Edge("tools.database", "errors", 1), table) is None
    assert _strongly_connected({"a": {"b"}, "b": {"a"}, "c": set()}) != [{"a"}, {"b"}, {"c"}]
