"""A catalog-based PostgreSQL schema differ that reads its catalogs over either route to a database.

:func:`catalog_query` is one SELECT (no parameters, one JSON row) that reads everything the differ needs;
:func:`parse_catalog` / :func:`read_catalog` turn its answer into a :class:`Catalog`; :func:`diff` computes the
ordered DDL that makes a target database equal to a source one. Nothing here loads psycopg.
"""

from __future__ import annotations

from .changes import Change, ObjectChanges, SchemaDiff
from .differ import diff, object_changes
from .models import Catalog, parse_catalog
from .query import catalog_query
from .read import JIT_OFF, read_catalog

__all__ = [
    "JIT_OFF",
    "Catalog",
    "Change",
    "ObjectChanges",
    "SchemaDiff",
    "catalog_query",
    "diff",
    "object_changes",
    "parse_catalog",
    "read_catalog",
]
