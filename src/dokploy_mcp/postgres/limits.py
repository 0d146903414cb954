"""Bounds on SQL text, shared by the tools' argument schemas and the guard that enforces them (one source).

Kept apart from :mod:`dokploy_mcp.postgres.sqlguard` so that building the tool list does not load the guard.
"""

from __future__ import annotations

#: Longest SQL text the guard parses (characters).
MAX_SQL_CHARS = 100_000
#: Most tokens that can add a level to the parse tree (see sqlguard's "Bounded parsing").
MAX_NESTING_TOKENS = 4_000
#: Longest migration (up or down SQL) read, split and checked before it runs (characters). Each of its statements
#: is held to MAX_NESTING_TOKENS.
MAX_MIGRATION_CHARS = 1_000_000
