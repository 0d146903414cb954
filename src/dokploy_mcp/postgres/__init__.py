"""PostgreSQL access: parse connection targets, run bounded statements on a lazily opened pool.

The names below are loaded on first use: tool modules import submodules of this package at start-up, and psycopg
(which the client and the target parser need) costs start-up time that no ``tools/list`` should pay.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
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

_HOME = {
    **dict.fromkeys(("Column", "Database", "QueryResult", "ServerInfo", "to_json_value"), "client"),
    **dict.fromkeys(("ConnInfo", "mask_secrets", "parse_target"), "conninfo"),
    **dict.fromkeys(
        (
            "ConnectionStringError",
            "DatabaseConnectionError",
            "DatabaseError",
            "DatabaseQueryError",
            "DatabaseTimeoutError",
            "ReadOnlyViolationError",
            "RoleNotPermittedError",
        ),
        "errors",
    ),
}

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


def __getattr__(name: str) -> Any:
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)
