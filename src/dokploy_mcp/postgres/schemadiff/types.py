"""Schemas, extensions, enums, domains and sequences."""

from __future__ import annotations

from .changes import Context, Phase
from .models import Composite, Domain, Enum, Sequence, SequenceParams
from .quoting import ident, literal, qualified

__all__ = [
    "diff_composites",
    "diff_domains",
    "diff_enums",
    "diff_extensions",
    "diff_schemas",
    "diff_sequences",
    "sequence_options",
]


def diff_schemas(ctx: Context) -> None:
    source = {s.name: s for s in ctx.source.schemas}
    target = {s.name: s for s in ctx.target.schemas}
    for name in source.keys() - target.keys():
        ctx.plan.add(Phase.SCHEMA, "create", "schema", ident(name), f"CREATE SCHEMA {ident(name)}")
        ctx.created.add(f"SCHEMA {ident(name)}")
    for name in sorted(target.keys() - source.keys()):
        ctx.plan.add(
            Phase.DROP_SCHEMA,
            "drop",
            "schema",
            ident(name),
            f"DROP SCHEMA {ident(name)}",
            destructive=True,
            reason="drops the schema",
        )


def diff_extensions(ctx: Context) -> None:
    source = {e.name: e for e in ctx.source.extensions}
    target = {e.name: e for e in ctx.target.extensions}
    for name, ext in sorted(source.items()):
        old = target.get(name)
        if old is None:
            sql = f"CREATE EXTENSION IF NOT EXISTS {ident(name)} WITH SCHEMA {ident(ext.schema)}"
            ctx.plan.add(Phase.EXTENSION, "create", "extension", ident(name), f"{sql} VERSION {literal(ext.version)}")
            ctx.created.add(f"EXTENSION {ident(name)}")
            continue
        if old.schema != ext.schema:
            sql = f"ALTER EXTENSION {ident(name)} SET SCHEMA {ident(ext.schema)}"
            ctx.plan.add(Phase.EXTENSION, "alter", "extension", ident(name), sql)
        if old.version != ext.version:
            sql = f"ALTER EXTENSION {ident(name)} UPDATE TO {literal(ext.version)}"
            ctx.plan.add(Phase.EXTENSION, "alter", "extension", ident(name), sql)
    for name in sorted(target.keys() - source.keys()):
        ctx.plan.add(
            Phase.DROP_EXTENSION,
            "drop",
            "extension",
            ident(name),
            f"DROP EXTENSION {ident(name)}",
            destructive=True,
            reason="drops the extension and the objects it created",
        )


def diff_enums(ctx: Context) -> None:
    source = {(e.schema, e.name): e for e in ctx.source.enums}
    target = {(e.schema, e.name): e for e in ctx.target.enums}
    for key, enum in sorted(source.items()):
        old = target.get(key)
        name = qualified(*key)
        if old is None:
            ctx.plan.add(Phase.ENUM, "create", "enum", name, _create_enum(enum, name))
            ctx.created.add(f"TYPE {name}")
        elif old.labels != enum.labels:
            additions = _enum_additions(old.labels, enum.labels)
            if additions is None:
                _recreate_enum(ctx, enum, name)
            for sql in additions or ():
                ctx.plan.add(Phase.ENUM, "alter", "enum", name, f"ALTER TYPE {name} ADD VALUE {sql}")
    for key in sorted(target.keys() - source.keys()):
        ctx.plan.add(Phase.DROP_ENUM, "drop", "enum", qualified(*key), f"DROP TYPE {qualified(*key)}")


def _create_enum(enum: Enum, name: str) -> str:
    return f"CREATE TYPE {name} AS ENUM ({', '.join(literal(label) for label in enum.labels)})"


def _enum_additions(old: tuple[str, ...], new: tuple[str, ...]) -> list[str] | None:
    """``ADD VALUE`` clauses that turn ``old`` into ``new``, or None when labels were removed or reordered."""
    kept = [label for label in new if label in old]
    if kept != list(old):
        return None
    clauses: list[str] = []
    for i, label in enumerate(new):
        if label in old:
            continue
        if i > 0:
            clauses.append(f"{literal(label)} AFTER {literal(new[i - 1])}")
        elif kept:
            clauses.append(f"{literal(label)} BEFORE {literal(kept[0])}")
        else:
            clauses.append(literal(label))
    return clauses


def _recreate_enum(ctx: Context, enum: Enum, name: str) -> None:
    """Labels removed or reordered: a new type, the columns converted through text, the old type dropped."""
    old_name = qualified(enum.schema, _old_enum_name(enum.name))
    reason = "labels were removed or reordered: the type is re-created and its columns converted through text"
    ctx.plan.add(
        Phase.ENUM,
        "alter",
        "enum",
        name,
        f"ALTER TYPE {name} RENAME TO {ident(_old_enum_name(enum.name))}",
        destructive=True,
        reason=reason,
    )
    ctx.plan.add(Phase.ENUM, "create", "enum", name, _create_enum(enum, name), destructive=True, reason=reason)
    ctx.plan.add(Phase.ENUM_DROP_OLD, "drop", "enum", old_name, f"DROP TYPE {old_name}")
    ctx.retyped.add((enum.schema, enum.name))
    ctx.created.add(f"TYPE {name}")


def _old_enum_name(name: str) -> str:
    return (name[:50] + "__schemadiff_old")[:63]


def diff_domains(ctx: Context) -> None:
    source = {(d.schema, d.name): d for d in ctx.source.domains}
    target = {(d.schema, d.name): d for d in ctx.target.domains}
    for key, domain in sorted(source.items()):
        old = target.get(key)
        name = qualified(*key)
        if old is not None and (old.base, old.collation) != (domain.base, domain.collation):
            ctx.plan.add(
                Phase.RECREATE_DOMAIN,
                "drop",
                "domain",
                name,
                f"DROP DOMAIN {name}",
                destructive=True,
                reason="the domain's base type changes: it is dropped and re-created",
            )
            old = None
        if old is None:
            ctx.plan.add(Phase.DOMAIN, "create", "domain", name, _create_domain(domain, name))
            ctx.created.add(f"DOMAIN {name}")
            ctx.created.update(f"CONSTRAINT {ident(c.name)} ON DOMAIN {name}" for c in domain.checks)
        else:
            _alter_domain(ctx, old, domain, name)
    for key in sorted(target.keys() - source.keys()):
        ctx.plan.add(Phase.DROP_DOMAIN, "drop", "domain", qualified(*key), f"DROP DOMAIN {qualified(*key)}")


def _create_domain(domain: Domain, name: str) -> str:
    sql = f"CREATE DOMAIN {name} AS {domain.base}"
    if domain.collation:
        sql += f" COLLATE {domain.collation}"
    if domain.default is not None:
        sql += f" DEFAULT {domain.default}"
    if domain.not_null:
        sql += " NOT NULL"
    for check in domain.checks:
        sql += f" CONSTRAINT {ident(check.name)} {check.definition}"
    return sql


def _alter_domain(ctx: Context, old: Domain, new: Domain, name: str) -> None:
    def alter(clause: str) -> None:
        ctx.plan.add(Phase.DOMAIN, "alter", "domain", name, f"ALTER DOMAIN {name} {clause}")

    if old.default != new.default:
        alter("DROP DEFAULT" if new.default is None else f"SET DEFAULT {new.default}")
    if old.not_null != new.not_null:
        alter("SET NOT NULL" if new.not_null else "DROP NOT NULL")
    old_checks = {c.name: c.definition for c in old.checks}
    new_checks = {c.name: c.definition for c in new.checks}
    for check, definition in old_checks.items():
        if new_checks.get(check) != definition:
            alter(f"DROP CONSTRAINT {ident(check)}")
    for check, definition in new_checks.items():
        if old_checks.get(check) != definition:
            alter(f"ADD CONSTRAINT {ident(check)} {definition}")
            ctx.created.add(f"CONSTRAINT {ident(check)} ON DOMAIN {name}")


def sequence_options(params: SequenceParams) -> str:
    """Every parameter of a sequence, spelled out, so none is left to the default of its type."""
    return (
        f"AS {params.type} INCREMENT BY {params.increment} MINVALUE {params.min} MAXVALUE {params.max}"
        f" START WITH {params.start} CACHE {params.cache} {'' if params.cycle else 'NO '}CYCLE"
    )


def diff_sequences(ctx: Context) -> None:
    source = {(s.schema, s.name): s for s in ctx.source.sequences}
    target = {(s.schema, s.name): s for s in ctx.target.sequences}
    for key, seq in sorted(source.items()):
        old = target.get(key)
        name = qualified(*key)
        if old is None:
            unlogged = "UNLOGGED " if seq.persistence == "u" else ""
            sql = f"CREATE {unlogged}SEQUENCE {name} {sequence_options(seq.params)}"
            ctx.plan.add(Phase.SEQUENCE, "create", "sequence", name, sql)
            ctx.created.add(f"SEQUENCE {name}")
        else:
            _alter_sequence(ctx, old, seq, name)
        if seq.owned_by is not None and (old is None or old.owned_by != seq.owned_by):
            owner = ".".join(ident(part) for part in seq.owned_by)
            ctx.plan.add(Phase.SEQUENCE_OWNED, "alter", "sequence", name, f"ALTER SEQUENCE {name} OWNED BY {owner}")
    for key in sorted(target.keys() - source.keys()):
        name = qualified(*key)
        # IF EXISTS: a sequence owned by a column dropped earlier in the script went with it.
        ctx.plan.add(
            Phase.DROP_SEQUENCE,
            "drop",
            "sequence",
            name,
            f"DROP SEQUENCE IF EXISTS {name}",
            destructive=True,
            reason="drops the sequence and its current value",
        )


def _alter_sequence(ctx: Context, old: Sequence, new: Sequence, name: str) -> None:
    if old.params != new.params:
        sql = f"ALTER SEQUENCE {name} {sequence_options(new.params)}"
        current = int(old.last_value if old.last_value is not None else old.start)
        if not int(new.min) <= current <= int(new.max):
            # The current value would fall outside the new bounds, which ALTER SEQUENCE refuses.
            used = old.last_value is not None
            sql += f" RESTART WITH {new.start}"
            reason = "the sequence's current value is outside its new bounds: it restarts" if used else None
            ctx.plan.add(Phase.SEQUENCE, "alter", "sequence", name, sql, destructive=used, reason=reason)
        else:
            ctx.plan.add(Phase.SEQUENCE, "alter", "sequence", name, sql)
    if old.persistence != new.persistence:
        mode = "UNLOGGED" if new.persistence == "u" else "LOGGED"
        ctx.plan.add(Phase.SEQUENCE, "alter", "sequence", name, f"ALTER SEQUENCE {name} SET {mode}")
    if old.owned_by is not None and new.owned_by is None:
        ctx.plan.add(Phase.SEQUENCE_OWNED, "alter", "sequence", name, f"ALTER SEQUENCE {name} OWNED BY NONE")


def _create_composite(composite: Composite, name: str) -> str:
    attributes = ", ".join(
        f"{ident(a.name)} {a.type}" + (f" COLLATE {a.collation}" if a.collation else "") for a in composite.attributes
    )
    return f"CREATE TYPE {name} AS ({attributes})"


def diff_composites(ctx: Context) -> None:
    source = {(c.schema, c.name): c for c in ctx.source.composites}
    target = {(c.schema, c.name): c for c in ctx.target.composites}
    for key, composite in sorted(source.items()):
        old = target.get(key)
        name = qualified(*key)
        if old is None:
            ctx.plan.add(Phase.COMPOSITE, "create", "type", name, _create_composite(composite, name))
            ctx.created.add(f"TYPE {name}")
            ctx.created.update(f"COLUMN {name}.{ident(a.name)}" for a in composite.attributes)
            continue
        before = {a.name: a for a in old.attributes}
        after = {a.name: a for a in composite.attributes}
        clauses = [f"DROP ATTRIBUTE {ident(a)}" for a in before if a not in after]
        for attribute in composite.attributes:
            was = before.get(attribute.name)
            spelled = f"{attribute.type}" + (f" COLLATE {attribute.collation}" if attribute.collation else "")
            if was is None:
                clauses.append(f"ADD ATTRIBUTE {ident(attribute.name)} {spelled}")
                ctx.created.add(f"COLUMN {name}.{ident(attribute.name)}")
            elif (was.type, was.collation) != (attribute.type, attribute.collation):
                clauses.append(f"ALTER ATTRIBUTE {ident(attribute.name)} TYPE {spelled}")
        for clause in clauses:
            ctx.plan.add(Phase.COMPOSITE, "alter", "type", name, f"ALTER TYPE {name} {clause}")
    for key in sorted(target.keys() - source.keys()):
        ctx.plan.add(Phase.DROP_ENUM, "drop", "type", qualified(*key), f"DROP TYPE {qualified(*key)}")
