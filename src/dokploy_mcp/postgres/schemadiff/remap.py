"""Two-schema mode: a catalog narrowed to some schemas, and a source catalog renamed into the target's schemas."""

from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping
from typing import Any, TypeVar

from .models import Catalog, Schema
from .quoting import remap_schema

__all__ = ["narrow", "rename_schemas"]

T = TypeVar("T")

# Fields that hold SQL text, in which qualified names are rewritten.
_SQL_FIELDS = frozenset(
    {
        "definition",
        "default",
        "generated",
        "type",
        "base",
        "using",
        "check",
        "partition_key",
        "partition_bound",
        "result",
        "arguments",
        "identity",
        "types",
    }
)
# Fields that hold (schema, name, ...) tuples.
_NAME_TUPLES = frozenset({"parents", "depends_on", "owned_by", "calls", "default_calls"})
_LISTS = (
    "extensions",
    "composites",
    "enums",
    "domains",
    "sequences",
    "tables",
    "views",
    "constraints",
    "indexes",
    "functions",
    "triggers",
    "policies",
)


def narrow(catalog: Catalog, schemas: Collection[str]) -> Catalog:
    """``catalog`` with only the objects of ``schemas`` (and the default privileges of every schema)."""
    changes: dict[str, Any] = {
        "schemas": tuple(s for s in catalog.schemas if s.name in schemas),
        "default_acls": tuple(d for d in catalog.default_acls if d.schema is None or d.schema in schemas),
    }
    for name in _LISTS:
        changes[name] = tuple(o for o in getattr(catalog, name) if o.schema in schemas)
    return dataclasses.replace(catalog, **changes)


def _text(text: str, mapping: Mapping[str, str]) -> str:
    for old, new in mapping.items():
        text = remap_schema(text, old, new)
    return text


def _value(field: str, value: Any, mapping: Mapping[str, str]) -> Any:
    if isinstance(value, str):
        if field in ("schema", "type_schema"):
            return mapping.get(value, value)
        return _text(value, mapping) if field in _SQL_FIELDS else value
    if isinstance(value, tuple):
        if field in _NAME_TUPLES and value and isinstance(value[0], str):
            return (mapping.get(value[0], value[0]), *value[1:])
        return tuple(_value(field, item, mapping) for item in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return _object(value, mapping)
    return value


def _object(obj: T, mapping: Mapping[str, str]) -> T:
    assert dataclasses.is_dataclass(obj) and not isinstance(obj, type)
    if isinstance(obj, Schema):
        return dataclasses.replace(obj, name=mapping.get(obj.name, obj.name))
    changes = {f.name: _value(f.name, getattr(obj, f.name), mapping) for f in dataclasses.fields(obj)}
    return dataclasses.replace(obj, **changes)


def rename_schemas(catalog: Catalog, mapping: Mapping[str, str]) -> Catalog:
    """``catalog`` as if its schemas were named as ``mapping`` says, names in its SQL text included."""
    return _object(catalog, mapping)
