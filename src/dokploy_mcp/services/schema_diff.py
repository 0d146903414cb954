"""generate_diff's flow: read two catalogs (two databases, or two schemas of one) over their routes and diff them.

Each side is a database target as every database tool takes it (a connection string, a stack through pg-meta, or
DATABASE_URL), so a stack whose PostgreSQL is not exposed can be compared too: the catalog is one read-only query.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from dokploy_mcp.errors import InputError
from dokploy_mcp.services.database import open_route

if TYPE_CHECKING:
    from dokploy_mcp.postgres.schemadiff import Catalog, SchemaDiff
    from dokploy_mcp.runtime import Runtime

#: A catalog read may be large (hundreds of tables); it is still one row of JSON.
_CATALOG_BYTES = 64_000_000


@dataclass(frozen=True)
class DiffRequest:
    source: str | None
    target: str | None
    schemas: tuple[str, ...] | None = None
    source_schema: str | None = None
    target_schema: str | None = None
    timeout_ms: int = 30_000


@dataclass
class DiffOutcome:
    source: str
    target: str
    diff: SchemaDiff
    notes: list[str] = field(default_factory=list)


def _check(request: DiffRequest) -> None:
    if (request.source_schema is None) != (request.target_schema is None):
        raise InputError(
            "give both source_schema and target_schema to compare two schemas, or neither to compare databases",
            field="target_schema" if request.target_schema is None else "source_schema",
        )
    if request.source_schema is not None and request.schemas:
        raise InputError("schemas does not apply when comparing two schemas: leave it out", field="schemas")


async def generate_diff(rt: Runtime, request: DiffRequest) -> DiffOutcome:
    """The DDL that makes ``target`` (or ``target_schema``) like ``source`` (or ``source_schema``)."""
    from dokploy_mcp.postgres.schemadiff import diff

    _check(request)
    notes: list[str] = []
    if request.source_schema is not None and request.target_schema is not None:
        source_catalog, source_display = await _catalog(rt, request.source, [request.source_schema], notes, request)
        target_catalog, target_display = await _catalog(rt, request.target, [request.target_schema], notes, request)
        result = diff(source_catalog, target_catalog, schema_map={request.source_schema: request.target_schema})
        source_display += f" schema {request.source_schema}"
        target_display += f" schema {request.target_schema}"
    else:
        schemas = list(request.schemas) if request.schemas else None
        source_catalog, source_display = await _catalog(rt, request.source, schemas, notes, request)
        target_catalog, target_display = await _catalog(rt, request.target, schemas, notes, request)
        result = diff(source_catalog, target_catalog)
    if schemas_note := _scope_note(request):
        notes.append(schemas_note)
    return DiffOutcome(source=source_display, target=target_display, diff=result, notes=notes)


async def _catalog(
    rt: Runtime, target: str | None, schemas: list[str] | None, notes: list[str], request: DiffRequest
) -> tuple[Catalog, str]:
    from dokploy_mcp.postgres.schemadiff import read_catalog

    opened = await open_route(rt, target)
    try:
        catalog = await read_catalog(opened.runner, schemas, timeout_ms=request.timeout_ms, max_bytes=_CATALOG_BYTES)
    finally:
        await opened.aclose()
    notes.extend(note for note in opened.notes if note not in notes)
    return catalog, opened.display


def _scope_note(request: DiffRequest) -> str | None:
    if request.source_schema is not None or request.schemas:
        return None
    return (
        "compared every schema except PostgreSQL's own and the migration history; between two Supabase instances "
        "of different versions, Supabase's own schemas (auth, storage, realtime...) differ too: pass schemas to "
        'narrow the comparison, e.g. ["public"]'
    )
