"""One SQL statement, whichever route runs it: how it is asked to run, and what it answers.

Both routes to a database, :class:`~dokploy_mcp.postgres.client.Database` (direct) and
:class:`~dokploy_mcp.postgres.pgmeta_route.PgMetaRoute` (through pg-meta), take the same :class:`RunOptions` with the
same defaults and checks (:class:`Run`) and answer a :class:`QueryResult`: :class:`StatementRunner` is what both
offer. Nothing here needs psycopg, so the pg-meta route does not load it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypedDict, Unpack

from pydantic import BaseModel, ConfigDict, JsonValue

from dokploy_mcp.errors import InputError

__all__ = ["Column", "Params", "QueryResult", "Run", "RunOptions", "StatementRunner", "require_statement"]

#: Values for a statement's ``%s`` / ``%(name)s`` placeholders.
Params = Sequence[Any] | Mapping[str, Any]


class RunOptions(TypedDict, total=False):
    """How one statement runs, on either route (defaults in :class:`Run`).

    ``read_only`` runs it in a READ ONLY transaction that is rolled back; otherwise the transaction is committed.
    ``timeout_ms`` is its statement_timeout; at most ``max_rows`` rows and ``max_bytes`` bytes of them are read.
    ``role`` switches to that role for the statement. ``local_settings`` are set for the transaction only (e.g.
    ``request.jwt.claims`` so that RLS policies see a signed-in user).
    """

    read_only: bool
    timeout_ms: int
    max_rows: int
    max_bytes: int
    role: str | None
    local_settings: Mapping[str, str] | None


@dataclass(frozen=True)
class Run:
    """:class:`RunOptions` with their defaults filled in."""

    read_only: bool = True
    timeout_ms: int = 30_000
    max_rows: int = 1_000
    max_bytes: int = 1_000_000
    role: str | None = None
    local_settings: Mapping[str, str] | None = None

    @classmethod
    def of(cls, options: RunOptions) -> Run:
        return cls(**options)

    def check_limits(self) -> None:
        """Refuse limits no statement can run within."""
        if self.timeout_ms < 1:
            raise InputError("timeout_ms must be at least 1", field="timeout_ms")
        if self.max_rows < 0:
            raise InputError("max_rows must not be negative", field="max_rows")
        if self.max_bytes < 1:
            raise InputError("max_bytes must be at least 1", field="max_bytes")


def require_statement(statement: str) -> None:
    """Refuse a statement that is only whitespace."""
    if not statement.strip():
        raise InputError("the statement is empty", field="statement")


class Column(BaseModel):
    """One result column: its name and its PostgreSQL type as ``format_type`` would show it."""

    model_config = ConfigDict(frozen=True)

    name: str
    type_name: str


class QueryResult(BaseModel):
    """The outcome of one statement, with JSON-safe rows.

    ``truncated_reason`` says which cap stopped the reading. ``status_message`` is the command tag
    (``"INSERT 0 1"``); it is None when a read-only statement was cut short at a cap. ``rows_affected`` is
    set for INSERT, UPDATE, DELETE, MERGE and COPY only.
    """

    model_config = ConfigDict(frozen=True)

    columns: list[Column]
    rows: list[list[JsonValue]]
    row_count: int
    truncated: bool
    truncated_reason: Literal["max_rows", "max_bytes"] | None
    status_message: str | None
    rows_affected: int | None
    duration_ms: float
    #: NOTICE / WARNING / INFO messages the statement raised (``SEVERITY: message``), at most 20.
    notices: list[str] = []


class StatementRunner(Protocol):
    """What both routes offer: :class:`~dokploy_mcp.postgres.client.Database` and pg-meta's ``PgMetaRoute``."""

    target: str

    async def execute(self, statement: str, params: Params | None = None, **options: Unpack[RunOptions]) -> QueryResult:
        """Run exactly one statement in its own transaction (see :class:`RunOptions`)."""
        ...
