"""Owners: ``ALTER ... OWNER TO`` where the source's owner differs from the target's (or from the role that runs
the DDL, for objects it creates)."""

from __future__ import annotations

from .changes import Context, Phase
from .models import Catalog, Composite, Enum
from .quoting import ident, qualified
from .routines import function_target, view_target

__all__ = ["diff_owners"]


def _owners(catalog: Catalog) -> dict[str, tuple[str, str]]:
    """``ALTER`` target (e.g. ``TABLE public.t``) -> (owner, the GRANT/COMMENT target the diff may have created)."""
    found: dict[str, tuple[str, str]] = {}
    for s in catalog.schemas:
        found[f"SCHEMA {ident(s.name)}"] = (s.owner, f"SCHEMA {ident(s.name)}")
    for t in catalog.tables:
        found[f"TABLE {qualified(t.schema, t.name)}"] = (t.owner, f"TABLE {qualified(t.schema, t.name)}")
    for v in catalog.views:
        found[view_target(v)] = (v.owner, view_target(v))
    for q in catalog.sequences:
        if q.owned_by is None:  # an owned sequence follows its table's owner
            found[f"SEQUENCE {qualified(q.schema, q.name)}"] = (q.owner, f"SEQUENCE {qualified(q.schema, q.name)}")
    for f in catalog.functions:
        found[function_target(f)] = (f.owner, function_target(f))
    types: list[Enum | Composite] = [*catalog.enums, *catalog.composites]
    for e in types:
        found[f"TYPE {qualified(e.schema, e.name)}"] = (e.owner, f"TYPE {qualified(e.schema, e.name)}")
    for d in catalog.domains:
        found[f"DOMAIN {qualified(d.schema, d.name)}"] = (d.owner, f"DOMAIN {qualified(d.schema, d.name)}")
    return found


def diff_owners(ctx: Context) -> None:
    target = _owners(ctx.target)
    for key, (owner, created_key) in _owners(ctx.source).items():
        if not owner:
            continue
        existing = target.get(key)
        current = ctx.target.user if existing is None or created_key in ctx.created else existing[0]
        if current and current != owner:
            sql = f"ALTER {key} OWNER TO {ident(owner)}"
            ctx.plan.add(Phase.OWNER, "alter", "owner", key.split(" ", 1)[1] if " " in key else key, sql)
