"""Reading a catalog over either route to a database."""

from __future__ import annotations

from collections.abc import Sequence

from dokploy_mcp.postgres.errors import DatabaseQueryError
from dokploy_mcp.postgres.statement import StatementRunner

from .models import Catalog, parse_catalog
from .query import catalog_query

__all__ = ["JIT_OFF", "read_catalog"]

#: The catalog query is costly enough for the planner to JIT-compile it on servers with jit on (PostgreSQL's
#: default), which takes several times longer than running it: measured 0.95 s against 0.17 s for 500 tables.
JIT_OFF = "SET LOCAL jit = off"


async def read_catalog(
    runner: StatementRunner,
    schemas: Sequence[str] | None = None,
    *,
    timeout_ms: int = 30_000,
    max_bytes: int = 64 * 1024 * 1024,
) -> Catalog:
    """Run the catalog query read-only on ``runner`` and parse its answer."""
    result = await runner.execute(
        catalog_query(schemas),
        read_only=True,
        timeout_ms=timeout_ms,
        max_rows=1,
        max_bytes=max_bytes,
        local_settings={"jit": "off"},
    )
    if result.truncated or not result.rows or not result.rows[0]:
        raise DatabaseQueryError(
            f"the catalog was cut short ({result.truncated_reason or 'no row'}): raise max_bytes or name fewer schemas",
            target=runner.target,
            sqlstate=None,
        )
    return parse_catalog(result.rows[0][0])
