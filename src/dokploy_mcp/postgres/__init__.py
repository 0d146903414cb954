"""PostgreSQL access: parse connection targets, run bounded statements on a lazily opened pool."""

from dokploy_mcp.postgres.client import Column, Database, QueryResult, ServerInfo, to_json_value
from dokploy_mcp.postgres.conninfo import ConnInfo, mask_secrets, parse_target
from dokploy_mcp.postgres.errors import (
    ConnectionStringError,
    DatabaseConnectionError,
    DatabaseError,
    DatabaseQueryError,
    DatabaseTimeoutError,
    ReadOnlyViolationError,
    RoleNotPermittedError,
)

__all__ = [
    "Column",
    "ConnInfo",
    "ConnectionStringError",
    "Database",
    "DatabaseConnectionError",
    "DatabaseError",
    "DatabaseQueryError",
    "DatabaseTimeoutError",
    "QueryResult",
    "ReadOnlyViolationError",
    "RoleNotPermittedError",
    "ServerInfo",
    "mask_secrets",
    "parse_target",
    "to_json_value",
]
