"""Grants per (object, grantee, privilege) and default privileges (``ALTER DEFAULT PRIVILEGES``)."""

from __future__ import annotations

from collections.abc import Iterator

from .changes import Context, Phase
from .models import Catalog, Composite, DefaultAcl, Enum, Grant, Table, View
from .quoting import ident, qualified
from .routines import function_target

__all__ = ["builtin_acl", "diff_default_privileges", "diff_grants"]

_TABLE_PRIVILEGES = ("SELECT", "INSERT", "UPDATE", "DELETE", "TRUNCATE", "REFERENCES", "TRIGGER")
_OBJECT_WORDS = {"r": "TABLES", "S": "SEQUENCES", "f": "FUNCTIONS", "T": "TYPES", "n": "SCHEMAS"}

Acl = dict[tuple[str, str], bool]  # (grantee, privilege) -> with grant option


def builtin_acl(objtype: str, owner: str, version: int) -> tuple[Grant, ...]:
    """PostgreSQL's privileges for a new object of ``objtype`` with no default privileges set (acldefault)."""
    if objtype == "r":
        privileges = _TABLE_PRIVILEGES + (("MAINTAIN",) if version >= 170000 else ())
        return tuple(Grant(owner, p) for p in privileges)
    if objtype == "S":
        return tuple(Grant(owner, p) for p in ("SELECT", "UPDATE", "USAGE"))
    if objtype == "f":
        return (Grant(owner, "EXECUTE"), Grant("PUBLIC", "EXECUTE"))
    if objtype == "T":
        return (Grant(owner, "USAGE"), Grant("PUBLIC", "USAGE"))
    if objtype == "n":
        return (Grant(owner, "CREATE"), Grant(owner, "USAGE"))
    return ()


def _acl(grants: tuple[Grant, ...] | set[Grant]) -> Acl:
    return {(g.grantee, g.privilege): g.grantable for g in grants}


def _initial(catalog: Catalog, objtype: str, owner: str, schema: str | None) -> Acl:
    """The privileges a new object gets in ``catalog``'s database: built-in or default, plus the schema's."""
    acl: Acl = {}
    rows = [d for d in catalog.default_acls if d.role == owner and d.objtype == objtype]
    global_rows = [d for d in rows if d.schema is None]
    acl.update(_acl(global_rows[0].acl if global_rows else builtin_acl(objtype, owner, catalog.version)))
    for row in rows:
        if row.schema is not None and row.schema == schema:
            acl.update(_acl(row.acl))
    return acl


def _comparable(ctx: Context, acl: Acl) -> Acl:
    """``acl`` without the privileges one of the two servers lacks: MAINTAIN exists from PostgreSQL 17, and every
    owner has it there by default, so between 15 and 18 it would be granted where it cannot be, or revoked from the
    owner for nothing."""
    if min(ctx.source.version, ctx.target.version) >= 170000:
        return acl
    return {key: grantable for key, grantable in acl.items() if key[1] != "MAINTAIN"}


def _statements(old: Acl, new: Acl) -> Iterator[tuple[str, str, list[str]]]:
    """("GRANT" / "GRANT OPTION" / "REVOKE" / "REVOKE OPTION", grantee, privileges) that turn ``old`` into ``new``."""
    steps: dict[tuple[str, str], list[str]] = {}
    # In the new list's order: pg_dump prints an object's grants in the order they were made.
    for (grantee, privilege), grantable in new.items():
        current = old.get((grantee, privilege))
        if current is None or (grantable and not current):
            steps.setdefault(("GRANT OPTION" if grantable else "GRANT", grantee), []).append(privilege)
        elif current and not grantable:
            steps.setdefault(("REVOKE OPTION", grantee), []).append(privilege)
    for grantee, privilege in sorted(old.keys() - new.keys()):
        steps.setdefault(("REVOKE", grantee), []).append(privilege)
    for (step, grantee), privileges in steps.items():
        yield step, grantee, privileges


def _grantee(name: str) -> str:
    return "PUBLIC" if name == "PUBLIC" else ident(name)


def _grant_sql(step: str, grantee: str, privileges: str, on: str) -> str:
    if step == "GRANT":
        return f"GRANT {privileges} ON {on} TO {_grantee(grantee)}"
    if step == "GRANT OPTION":
        return f"GRANT {privileges} ON {on} TO {_grantee(grantee)} WITH GRANT OPTION"
    if step == "REVOKE OPTION":
        return f"REVOKE GRANT OPTION FOR {privileges} ON {on} FROM {_grantee(grantee)}"
    return f"REVOKE {privileges} ON {on} FROM {_grantee(grantee)}"


class _Object:
    """One object that has privileges, as both catalogs see it."""

    def __init__(
        self, target: str, objtype: str, owner: str, schema: str | None, acl: tuple[Grant, ...] | None
    ) -> None:
        self.target, self.objtype, self.owner, self.schema, self.acl = target, objtype, owner, schema, acl


def _objects(catalog: Catalog) -> dict[str, _Object]:
    found: list[_Object] = [_Object(f"SCHEMA {ident(s.name)}", "n", s.owner, None, s.acl) for s in catalog.schemas]
    found += [_Object(f"TABLE {qualified(t.schema, t.name)}", "r", t.owner, t.schema, t.acl) for t in catalog.tables]
    found += [_Object(f"TABLE {qualified(v.schema, v.name)}", "r", v.owner, v.schema, v.acl) for v in catalog.views]
    found += [
        _Object(f"SEQUENCE {qualified(s.schema, s.name)}", "S", s.owner, s.schema, s.acl) for s in catalog.sequences
    ]
    found += [_Object(function_target(f), "f", f.owner, f.schema, f.acl) for f in catalog.functions]
    types: list[Enum | Composite] = [*catalog.enums, *catalog.composites]
    found += [_Object(f"TYPE {qualified(e.schema, e.name)}", "T", e.owner, e.schema, e.acl) for e in types]
    found += [_Object(f"DOMAIN {qualified(d.schema, d.name)}", "T", d.owner, d.schema, d.acl) for d in catalog.domains]
    return {o.target: o for o in found}


def _columns(catalog: Catalog) -> dict[tuple[str, str], tuple[Grant, ...]]:
    found: dict[tuple[str, str], tuple[Grant, ...]] = {}
    relations: list[Table | View] = [*catalog.tables, *catalog.views]
    for relation in relations:
        for column in relation.columns:
            found[(qualified(relation.schema, relation.name), ident(column.name))] = column.acl
    return found


def diff_grants(ctx: Context) -> None:
    target = _objects(ctx.target)
    for key, obj in _objects(ctx.source).items():
        existing = target.get(key)
        if obj.acl is None:
            continue
        if existing is None or existing.acl is None or key in ctx.created:
            old = _initial(ctx.target, obj.objtype, obj.owner, obj.schema)
        else:
            old = _acl(existing.acl)
        name = key.split(" ", 1)[1]
        for step, grantee, privileges in _statements(_comparable(ctx, old), _comparable(ctx, _acl(obj.acl))):
            sql = _grant_sql(step, grantee, ", ".join(privileges), key)
            ctx.plan.add(Phase.GRANT, "alter", "grant", name, sql)
    target_columns = _columns(ctx.target)
    for (table, column), acl in _columns(ctx.source).items():
        fresh = f"COLUMN {table}.{column}" in ctx.created
        old = {} if fresh else _acl(target_columns.get((table, column), ()))
        for step, grantee, privileges in _statements(_comparable(ctx, old), _comparable(ctx, _acl(acl))):
            listed = ", ".join(f"{p} ({column})" for p in privileges)
            sql = _grant_sql(step, grantee, listed, f"TABLE {table}")
            ctx.plan.add(Phase.GRANT, "alter", "grant", f"{table}.{column}", sql)


def _default_acls(catalog: Catalog, schemas: set[str]) -> dict[tuple[str, str | None, str], DefaultAcl]:
    return {(d.role, d.schema, d.objtype): d for d in catalog.default_acls if d.schema is None or d.schema in schemas}


def diff_default_privileges(ctx: Context) -> None:
    schemas = {s.name for s in ctx.source.schemas}
    source = _default_acls(ctx.source, schemas)
    target = _default_acls(ctx.target, schemas)
    for key in sorted(source.keys() | target.keys(), key=str):
        role, schema, objtype = key
        words = _OBJECT_WORDS.get(objtype)
        if words is None:
            continue
        new, old = source.get(key), target.get(key)
        if schema is None:
            new_acl = _acl(new.acl if new else builtin_acl(objtype, role, ctx.source.version))
            old_acl = _acl(old.acl if old else builtin_acl(objtype, role, ctx.target.version))
        else:
            new_acl, old_acl = _acl(new.acl if new else ()), _acl(old.acl if old else ())
        prefix = f"ALTER DEFAULT PRIVILEGES FOR ROLE {ident(role)}"
        if schema is not None:
            prefix += f" IN SCHEMA {ident(schema)}"
        for step, grantee, privileges in _statements(_comparable(ctx, old_acl), _comparable(ctx, new_acl)):
            sql = f"{prefix} {_grant_sql(step, grantee, ', '.join(privileges), words)}"
            ctx.plan.add(Phase.DEFAULT_PRIVILEGES, "alter", "default privileges", ident(role), sql)
