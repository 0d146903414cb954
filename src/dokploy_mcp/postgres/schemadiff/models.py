"""What the catalog query answers, as frozen typed records; :func:`parse_catalog` reads its JSON."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from pydantic import TypeAdapter, ValidationError

from dokploy_mcp.errors import InputError

__all__ = [
    "Attribute",
    "Catalog",
    "Column",
    "Composite",
    "Constraint",
    "DefaultAcl",
    "Domain",
    "DomainCheck",
    "Enum",
    "Extension",
    "Function",
    "Grant",
    "Index",
    "Policy",
    "Schema",
    "Sequence",
    "SequenceParams",
    "Table",
    "Trigger",
    "View",
    "parse_catalog",
]


# An object's ``acl`` is None when unknown (a catalog built by hand): its privileges are then not compared.


@dataclass(frozen=True)
class Grant:
    """One privilege of one grantee (``PUBLIC`` for everyone) on one object."""

    grantee: str
    privilege: str
    grantable: bool = False


@dataclass(frozen=True)
class Schema:
    name: str
    owner: str = ""
    comment: str | None = None
    acl: tuple[Grant, ...] | None = None


@dataclass(frozen=True)
class Extension:
    name: str
    schema: str
    version: str
    comment: str | None = None


@dataclass(frozen=True)
class Enum:
    schema: str
    name: str
    labels: tuple[str, ...]
    owner: str = ""
    comment: str | None = None
    acl: tuple[Grant, ...] | None = None


@dataclass(frozen=True)
class DomainCheck:
    name: str
    definition: str
    comment: str | None = None


@dataclass(frozen=True)
class Domain:
    schema: str
    name: str
    base: str
    default: str | None = None
    not_null: bool = False
    collation: str | None = None
    checks: tuple[DomainCheck, ...] = ()
    owner: str = ""
    comment: str | None = None
    acl: tuple[Grant, ...] | None = None


@dataclass(frozen=True)
class Attribute:
    name: str
    type: str
    collation: str | None = None
    comment: str | None = None


@dataclass(frozen=True)
class Composite:
    """A composite type (``CREATE TYPE ... AS (...)``)."""

    schema: str
    name: str
    attributes: tuple[Attribute, ...] = ()
    owner: str = ""
    comment: str | None = None
    acl: tuple[Grant, ...] | None = None


@dataclass(frozen=True)
class SequenceParams:
    """A sequence's parameters; numbers as text (they may pass what JSON numbers hold exactly)."""

    type: str = "bigint"
    start: str = "1"
    increment: str = "1"
    min: str = "1"
    max: str = "9223372036854775807"
    cache: str = "1"
    cycle: bool = False


@dataclass(frozen=True)
class IdentitySequence(SequenceParams):
    schema: str = ""
    name: str = ""


@dataclass(frozen=True)
class Sequence(SequenceParams):
    schema: str = ""
    name: str = ""
    owner: str = ""
    persistence: str = "p"
    comment: str | None = None
    acl: tuple[Grant, ...] | None = None
    owned_by: tuple[str, str, str] | None = None
    #: The value nextval last returned (None: never called, or not readable); read, never compared.
    last_value: str | None = None

    @property
    def params(self) -> SequenceParams:
        return SequenceParams(self.type, self.start, self.increment, self.min, self.max, self.cache, self.cycle)


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    not_null: bool = False
    type_schema: str = "pg_catalog"
    type_name: str = ""
    default: str | None = None
    #: Functions of the catalog's schemas the default calls (schema, name, argument types).
    default_calls: tuple[tuple[str, str, str], ...] = ()
    #: PostgreSQL 18 names its NOT NULL constraints.
    not_null_name: str | None = None
    generated: str | None = None
    generated_kind: str = ""
    identity: str = ""
    identity_sequence: IdentitySequence | None = None
    collation: str | None = None
    local: bool = True
    comment: str | None = None
    acl: tuple[Grant, ...] = ()


@dataclass(frozen=True)
class Table:
    schema: str
    name: str
    kind: str = "r"
    columns: tuple[Column, ...] = ()
    owner: str = ""
    options: tuple[str, ...] | None = None
    comment: str | None = None
    acl: tuple[Grant, ...] | None = None
    persistence: str = "p"
    rls: bool = False
    force_rls: bool = False
    replica_identity: str = "d"
    replica_index: str | None = None
    partition_key: str | None = None
    partition_bound: str | None = None
    parents: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class View:
    schema: str
    name: str
    definition: str
    kind: str = "v"
    columns: tuple[Column, ...] = ()
    owner: str = ""
    options: tuple[str, ...] | None = None
    comment: str | None = None
    acl: tuple[Grant, ...] | None = None
    depends_on: tuple[tuple[str, str], ...] = ()
    #: Functions of the catalog's schemas the view calls: (schema, name, argument types).
    calls: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class Constraint:
    schema: str
    table: str
    name: str
    type: str
    definition: str
    comment: str | None = None
    calls: tuple[tuple[str, str, str], ...] = ()
    #: The index behind a primary key, unique or exclusion constraint, and its comment.
    index: str | None = None
    index_comment: str | None = None


@dataclass(frozen=True)
class Index:
    schema: str
    table: str
    name: str
    definition: str
    comment: str | None = None
    calls: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class Function:
    schema: str
    name: str
    definition: str
    kind: str = "f"
    types: str = ""
    identity: str = ""
    arguments: str = ""
    result: str | None = None
    language: str = "sql"
    owner: str = ""
    comment: str | None = None
    acl: tuple[Grant, ...] | None = None


@dataclass(frozen=True)
class Trigger:
    schema: str
    table: str
    name: str
    definition: str
    enabled: str = "O"
    comment: str | None = None


@dataclass(frozen=True)
class Policy:
    schema: str
    table: str
    name: str
    permissive: bool = True
    command: str = "*"
    roles: tuple[str, ...] = ("PUBLIC",)
    using: str | None = None
    check: str | None = None
    comment: str | None = None
    calls: tuple[tuple[str, str, str], ...] = ()


@dataclass(frozen=True)
class DefaultAcl:
    """``ALTER DEFAULT PRIVILEGES`` of ``role`` for objects of ``objtype`` (r, S, f, T, n) in ``schema`` (None: all)."""

    role: str
    objtype: str
    schema: str | None = None
    acl: tuple[Grant, ...] = ()


@dataclass(frozen=True)
class Catalog:
    """Everything the differ reads about a database's schemas."""

    version: int = 150000
    #: The role that read the catalog: objects the DDL creates belong to it until an ALTER ... OWNER.
    user: str = ""
    schemas: tuple[Schema, ...] = ()
    extensions: tuple[Extension, ...] = ()
    enums: tuple[Enum, ...] = ()
    domains: tuple[Domain, ...] = ()
    composites: tuple[Composite, ...] = ()
    sequences: tuple[Sequence, ...] = ()
    tables: tuple[Table, ...] = ()
    views: tuple[View, ...] = ()
    constraints: tuple[Constraint, ...] = ()
    indexes: tuple[Index, ...] = ()
    functions: tuple[Function, ...] = ()
    triggers: tuple[Trigger, ...] = ()
    policies: tuple[Policy, ...] = ()
    default_acls: tuple[DefaultAcl, ...] = ()

    @cached_property
    def table_map(self) -> dict[tuple[str, str], Table]:
        return {(t.schema, t.name): t for t in self.tables}

    @cached_property
    def view_map(self) -> dict[tuple[str, str], View]:
        return {(v.schema, v.name): v for v in self.views}


_ADAPTER: TypeAdapter[Catalog] = TypeAdapter(Catalog)


def parse_catalog(value: Any) -> Catalog:
    """The ``catalog`` column as either route returns it (a dict, or JSON text) as a :class:`Catalog`."""
    if isinstance(value, str | bytes):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise InputError(f"the catalog is not JSON: {exc}", field="catalog") from exc
    if not isinstance(value, dict):
        raise InputError("the catalog is not a JSON object", field="catalog")
    known = {k: v for k, v in value.items() if k in _FIELDS}
    try:
        return _ADAPTER.validate_python(known)
    except ValidationError as exc:
        raise InputError(f"the catalog does not have the expected shape: {exc}", field="catalog") from exc


_FIELDS = frozenset(Catalog.__dataclass_fields__)
