"""Comments (``COMMENT ON ... IS ...``) on every kind of object the differ knows."""

from __future__ import annotations

from .changes import Context, Phase
from .models import Catalog
from .quoting import ident, literal, qualified
from .routines import function_target, view_target

__all__ = ["diff_comments"]


def _comments(catalog: Catalog) -> dict[str, str | None]:
    """COMMENT ON target -> comment, for every object of ``catalog``."""
    found: dict[str, str | None] = {}
    found.update((f"SCHEMA {ident(s.name)}", s.comment) for s in catalog.schemas)
    found.update((f"EXTENSION {ident(e.name)}", e.comment) for e in catalog.extensions)
    found.update((f"TYPE {qualified(e.schema, e.name)}", e.comment) for e in catalog.enums)
    for c in catalog.composites:
        name = qualified(c.schema, c.name)
        found[f"TYPE {name}"] = c.comment
        found.update((f"COLUMN {name}.{ident(a.name)}", a.comment) for a in c.attributes)
    for d in catalog.domains:
        name = qualified(d.schema, d.name)
        found[f"DOMAIN {name}"] = d.comment
        found.update((f"CONSTRAINT {ident(c.name)} ON DOMAIN {name}", c.comment) for c in d.checks)
    found.update((f"SEQUENCE {qualified(s.schema, s.name)}", s.comment) for s in catalog.sequences)
    for t in catalog.tables:
        name = qualified(t.schema, t.name)
        found[f"TABLE {name}"] = t.comment
        found.update((f"COLUMN {name}.{ident(c.name)}", c.comment) for c in t.columns)
    for v in catalog.views:
        name = qualified(v.schema, v.name)
        found[view_target(v)] = v.comment
        found.update((f"COLUMN {name}.{ident(c.name)}", c.comment) for c in v.columns)
    found.update(
        (f"CONSTRAINT {ident(c.name)} ON {qualified(c.schema, c.table)}", c.comment) for c in catalog.constraints
    )
    found.update((f"INDEX {qualified(i.schema, i.name)}", i.comment) for i in catalog.indexes)
    found.update(
        (f"INDEX {qualified(c.schema, c.index)}", c.index_comment) for c in catalog.constraints if c.index is not None
    )
    found.update((function_target(f), f.comment) for f in catalog.functions)
    found.update((f"TRIGGER {ident(t.name)} ON {qualified(t.schema, t.table)}", t.comment) for t in catalog.triggers)
    found.update((f"POLICY {ident(p.name)} ON {qualified(p.schema, p.table)}", p.comment) for p in catalog.policies)
    return found


def diff_comments(ctx: Context) -> None:
    target = _comments(ctx.target)
    for key, comment in _comments(ctx.source).items():
        old = None if key in ctx.created else target.get(key)
        if old == comment:
            continue
        sql = f"COMMENT ON {key} IS {'NULL' if comment is None else literal(comment)}"
        ctx.plan.add(Phase.COMMENT, "alter", "comment", key, sql)
