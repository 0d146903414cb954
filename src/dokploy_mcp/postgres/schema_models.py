"""What schema introspection answers: the compact overview of a database and the full detail of a table.

These models are part of ``inspect_schema``'s result; their field descriptions are what a caller reads.
:mod:`dokploy_mcp.postgres.introspect` fills them from the catalog.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

__all__ = [
    "ColumnInfo",
    "ConstraintInfo",
    "ConstraintType",
    "Identity",
    "IndexInfo",
    "PolicyCommand",
    "PolicyInfo",
    "PublicationSummary",
    "SchemaOverview",
    "SchemaSummary",
    "TableDetail",
    "TableKind",
    "TriggerInfo",
]


class SchemaSummary(BaseModel):
    name: str
    owner: str | None
    tables: int = Field(description="tables, partitioned and foreign tables (partitions counted with their parent)")
    views: int = Field(description="views and materialized views")
    functions: int = Field(description="functions and procedures, without those of extensions")


class PublicationSummary(BaseModel):
    name: str
    all_tables: bool = Field(description="FOR ALL TABLES: every table is published, `tables` stays empty")
    operations: list[str] = Field(description="published operations: insert, update, delete, truncate")
    tables: list[str]
    tables_total: int


class SchemaOverview(BaseModel):
    """The whole database, compactly. Lines use quoted identifiers where PostgreSQL would need them."""

    database: str
    server_version: str
    schemas: list[SchemaSummary]
    tables: list[str] = Field(
        description=(
            "one line per table: `schema.table ~rows size rls=on|off|forced [pol=N] cols=N [fk->schema.table,...]`; "
            "`~?` = never analyzed; `locked` instead of the size = an ACCESS EXCLUSIVE lock is held or queued; "
            "`[partitioned parts=N]` / `[foreign]` mark other kinds"
        )
    )
    views: list[str] = Field(description="`schema.view view|matview cols=N [invoker]`")
    functions: list[str] = Field(description="`schema.name(args) -> result language [secdef]`")
    extensions: list[str] = Field(description="`name version @schema`")
    publications: list[PublicationSummary] = Field(description="logical replication; supabase_realtime feeds Realtime")
    schemas_total: int
    tables_total: int
    views_total: int
    functions_total: int
    schemas_truncated: bool
    tables_truncated: bool
    views_truncated: bool
    functions_truncated: bool


TableKind = Literal["table", "partitioned table", "foreign table", "view", "materialized view"]
PolicyCommand = Literal["ALL", "SELECT", "INSERT", "UPDATE", "DELETE"]
Identity = Literal["always", "by default"]

ConstraintType = Literal[
    "primary key", "foreign key", "unique", "check", "exclusion", "constraint trigger", "not null", "other"
]


class ColumnInfo(BaseModel):
    name: str
    type: str
    nullable: bool
    default: str | None = None
    identity: Identity | None = None
    generated: str | None = Field(default=None, description="the expression of a generated column")
    comment: str | None = None


class ConstraintInfo(BaseModel):
    name: str
    type: ConstraintType
    definition: str | None = Field(description="pg_get_constraintdef; null while the table is locked")


class IndexInfo(BaseModel):
    name: str
    definition: str | None = Field(description="pg_get_indexdef; null while the table is locked")
    primary: bool
    unique: bool
    valid: bool
    size_bytes: int | None


class TriggerInfo(BaseModel):
    name: str
    definition: str | None = Field(description="pg_get_triggerdef; null while the table is locked")
    enabled: bool


class PolicyInfo(BaseModel):
    name: str
    command: PolicyCommand
    permissive: bool
    roles: list[str]
    using: str | None
    with_check: str | None


class TableDetail(BaseModel):
    name: str = Field(description="schema.table, quoted where needed")
    schema_name: str
    table: str
    kind: TableKind
    owner: str | None
    comment: str | None
    row_estimate: int | None = Field(description="pg_class.reltuples; null when never analyzed")
    size: str | None
    size_bytes: int | None = Field(
        description="table, indexes and TOAST (all partitions for a partitioned table); null while locked"
    )
    rls_enabled: bool
    rls_forced: bool
    columns: list[ColumnInfo]
    constraints: list[ConstraintInfo]
    indexes: list[IndexInfo]
    triggers: list[TriggerInfo] = Field(description="user triggers (not the internal ones of foreign keys)")
    policies: list[PolicyInfo]
    publications: list[str]
    referenced_by: list[str] = Field(description="`schema.table (constraint)` of foreign keys pointing here")
    view_definition: str | None = None
    locked_by: list[int] = Field(
        default_factory=list,
        description="pids holding or queued for an ACCESS EXCLUSIVE lock on the table (e.g. a migration)",
    )
    note: str | None = None
