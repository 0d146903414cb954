"""The differ: :func:`diff` between two catalogs, :func:`object_changes` for a migration's dry run."""

from __future__ import annotations

from collections.abc import Mapping

from .changes import Context, ObjectChanges, SchemaDiff
from .comments import diff_comments
from .dependents import diff_constraints, diff_indexes, diff_policies, diff_triggers
from .models import Catalog
from .owners import diff_owners
from .privileges import diff_default_privileges, diff_grants
from .remap import narrow, rename_schemas
from .routines import diff_functions, diff_views
from .tables import diff_tables
from .types import diff_composites, diff_domains, diff_enums, diff_extensions, diff_schemas, diff_sequences

__all__ = ["diff", "object_changes"]

# In this order: each step may use what the earlier ones decided (what is re-created, which tables change, which
# functions are dropped).
_STEPS = (
    diff_schemas,
    diff_extensions,
    diff_enums,
    diff_domains,
    diff_sequences,
    diff_composites,
    diff_functions,
    diff_tables,
    diff_views,
    diff_constraints,
    diff_indexes,
    diff_triggers,
    diff_policies,
    diff_owners,
    diff_grants,
    diff_default_privileges,
    diff_comments,
)


def diff(source: Catalog, target: Catalog, *, schema_map: Mapping[str, str] | None = None) -> SchemaDiff:
    """The DDL that, run on the database ``target`` describes, makes it equal to ``source``.

    ``schema_map={"a": "b"}`` compares source schema ``a`` with target schema ``b`` (and only those); the DDL names
    ``b``.
    """
    if schema_map:
        source = rename_schemas(narrow(source, schema_map.keys()), schema_map)
        target = narrow(target, set(schema_map.values()))
    ctx = Context(source, target)
    for step in _STEPS:
        step(ctx)
    return ctx.plan.diff()


def object_changes(before: Catalog, after: Catalog) -> ObjectChanges:
    """What turned ``before`` into ``after``: objects created, altered and dropped, each ``"kind name"``."""
    result = ObjectChanges()
    lists = {"create": result.created, "alter": result.altered, "drop": result.dropped}
    seen: set[tuple[str, str]] = set()
    for change in diff(after, before).changes:
        item = f"{change.kind} {change.name}"
        if (change.action, item) in seen:
            continue
        seen.add((change.action, item))
        lists[change.action].append(item)
    return result
