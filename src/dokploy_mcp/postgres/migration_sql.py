"""A migration's SQL, read before anything runs: its statements as the Supabase CLI splits and stores them, and
what each one does that a caller must know (destroys data, cannot run in a transaction, ends the transaction).

The CLI (``supabase db push``, 2.117.0) splits a file at top-level semicolons, keeps each piece from just after the
previous semicolon (leading comments included), strips trailing semicolons and surrounding whitespace, and drops
empty pieces; a trailing piece that holds only a comment is kept. It stores that list in
``supabase_migrations.schema_migrations.statements``. The pieces here are cut where PostgreSQL's own parser (pglast)
ends each statement, which agrees with the CLI's splitter on ordinary SQL and stays right where a naive splitter
would not (``BEGIN ATOMIC`` bodies, dollar quotes, nested comments).

The checksum is the sha256 of those statements joined with ``\\n;\\n``: computed the same way from a file, from our
history and, in SQL, from a row the CLI wrote, so that drift is found whoever applied the migration.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from pglast import ast, parse_sql, scan
from pglast.parser import ParseError

from dokploy_mcp.postgres.errors import SqlRefused
from dokploy_mcp.postgres.limits import MAX_MIGRATION_CHARS, MAX_NESTING_TOKENS
from dokploy_mcp.postgres.sqltree import command, destructive_reasons

__all__ = ["CHECKSUM_SEPARATOR", "MigrationScript", "Statement", "analyse", "checksum_of"]

#: What joins the statements before hashing; the SQL side (``history``) uses the same.
CHECKSUM_SEPARATOR = "\n;\n"
#: The CLI's marker (first line of a file) for a migration that runs outside a transaction.
NO_TRANSACTION_MARKER = "-- pg-delta: transaction=false"
_FLAT_TOKENS = frozenset({"IDENT", "SCONST", "ICONST", "FCONST", "SQL_COMMENT", "C_COMMENT", "ASCII_59", "ASCII_44"})
#: Server version from which ALTER TYPE ... ADD VALUE may run inside a transaction block.
_ENUM_IN_TRANSACTION = 120000


@dataclass(frozen=True)
class Statement:
    """One piece of the migration: its text as the CLI stores it, and what it is."""

    text: str
    #: False for a piece that holds only comments (the CLI keeps it; nothing runs).
    runs: bool
    command: str = ""
    destructive: tuple[str, ...] = ()
    #: Why it cannot run inside a transaction block, if it cannot.
    outside_transaction: str | None = None


@dataclass(frozen=True)
class MigrationScript:
    statements: tuple[Statement, ...]
    #: The file asks (first line) to run outside a transaction, as the CLI's marker says.
    marked_no_transaction: bool = False
    #: Statements that end or open a transaction themselves (refused: the migration is the transaction).
    transaction_control: tuple[str, ...] = field(default=())

    @property
    def history(self) -> list[str]:
        """The statements as the CLI stores them."""
        return [statement.text for statement in self.statements]

    @property
    def runnable(self) -> list[str]:
        return [statement.text for statement in self.statements if statement.runs]

    @property
    def checksum(self) -> str:
        return checksum_of(self.history)

    @property
    def destructive(self) -> list[str]:
        return [reason for statement in self.statements for reason in statement.destructive]

    @property
    def outside_transaction(self) -> list[str]:
        return [s.outside_transaction for s in self.statements if s.outside_transaction is not None]


def checksum_of(statements: list[str]) -> str:
    return hashlib.sha256(CHECKSUM_SEPARATOR.join(statements).encode("utf-8")).hexdigest()


def analyse(sql: str, *, field_name: str = "sql", server_version_num: int | None = None) -> MigrationScript:
    """The migration's statements and what they do; :class:`SqlRefused` (naming ``field_name``) when it cannot be
    read: too long, too deeply nested, not valid SQL, or empty."""
    _check_bounds(sql, field_name)
    try:
        parsed = parse_sql(sql)
    except ParseError as exc:
        raise SqlRefused(_parse_error(sql, exc), field=field_name) from None
    if not parsed:
        raise SqlRefused(f"{field_name} holds no statement, only whitespace or comments", field=field_name)
    statements: list[Statement] = []
    control: list[str] = []
    previous_end = 0
    for raw in parsed:
        start = int(raw.stmt_location or 0)
        length = int(raw.stmt_len or 0)
        end = start + length if length else len(sql)
        # The piece runs to the statement's own semicolon, as the CLI cuts it; the leading comments come with it.
        piece_end = _after_semicolon(sql, end)
        text = _trim(sql[previous_end:piece_end])
        previous_end = piece_end
        stmt = raw.stmt
        if isinstance(stmt, ast.TransactionStmt):
            control.append(command(stmt))
        statements.append(
            Statement(
                text=text,
                runs=True,
                command=command(stmt),
                destructive=tuple(_destructive(stmt)),
                outside_transaction=_outside_transaction(stmt, server_version_num),
            )
        )
    rest = _trim(sql[previous_end:])
    if rest:
        statements.append(Statement(text=rest, runs=False, command="comment"))
    first_line = sql.lstrip("\ufeff").split("\n", 1)[0].rstrip("\r")
    return MigrationScript(
        statements=tuple(statements),
        marked_no_transaction=first_line == NO_TRANSACTION_MARKER,
        transaction_control=tuple(control),
    )


def _trim(piece: str) -> str:
    # The CLI's trim: trailing semicolons first, then whitespace on both sides.
    return piece.rstrip(";").strip()


def _after_semicolon(sql: str, end: int) -> int:
    """Just past the semicolon that ends the statement ending at ``end`` (or ``end`` itself for the last one)."""
    if end < len(sql) and sql[end] == ";":
        return end + 1
    return end


def _check_bounds(sql: str, field_name: str) -> None:
    if len(sql) > MAX_MIGRATION_CHARS:
        raise SqlRefused(
            f"{field_name} is {len(sql):,} characters long, more than {MAX_MIGRATION_CHARS:,}: split the migration",
            field=field_name,
        )
    try:
        tokens = scan(sql)
    except ParseError as exc:
        raise SqlRefused(_parse_error(sql, exc), field=field_name) from None
    # The parser's depth grows within a statement, not across them: bound each statement, as the SQL guard does.
    nesting = 0
    for token in tokens:
        if token.name == "ASCII_59":
            nesting = 0
        elif token.name not in _FLAT_TOKENS:
            nesting += 1
            if nesting > MAX_NESTING_TOKENS:
                raise SqlRefused(
                    f"{field_name} has a statement too large or too deeply nested to check safely (more than "
                    f"{MAX_NESTING_TOKENS:,} operators, brackets and keywords): split it",
                    field=field_name,
                )


def _parse_error(sql: str, exc: Exception) -> str:
    message = str(exc.args[0]) if exc.args else str(exc)
    position = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(position, int) and 0 <= position <= len(sql):
        line = sql.count("\n", 0, position) + 1
        return f"the SQL does not parse: {message} at line {line}; fix it and call again"
    return f"the SQL does not parse: {message}; fix it and call again"


def _destructive(stmt: Any) -> list[str]:
    """What the SQL guard calls destructive, plus what a migration must not do unasked: change existing rows."""
    reasons = destructive_reasons(stmt)
    if isinstance(stmt, ast.DeleteStmt) and stmt.whereClause is not None:
        reasons.append(f"DELETE FROM {_relation(stmt.relation)} removes rows")
    if isinstance(stmt, ast.UpdateStmt) and stmt.whereClause is not None:
        reasons.append(f"UPDATE {_relation(stmt.relation)} rewrites rows")
    return reasons


def _relation(rel: Any) -> str:
    return ".".join(part for part in (getattr(rel, "schemaname", None), getattr(rel, "relname", None)) if part)


def _outside_transaction(stmt: Any, server_version_num: int | None) -> str | None:
    """Why PostgreSQL refuses ``stmt`` inside a transaction block, or None."""
    if isinstance(stmt, ast.IndexStmt) and stmt.concurrent:
        return "CREATE INDEX CONCURRENTLY cannot run inside a transaction block"
    if isinstance(stmt, ast.DropStmt) and stmt.concurrent:
        return "DROP INDEX CONCURRENTLY cannot run inside a transaction block"
    if isinstance(stmt, ast.ReindexStmt) and any(
        getattr(option, "defname", None) == "concurrently" for option in stmt.params or ()
    ):
        return "REINDEX CONCURRENTLY cannot run inside a transaction block"
    if isinstance(stmt, ast.VacuumStmt) and stmt.is_vacuumcmd:
        return "VACUUM cannot run inside a transaction block"
    if isinstance(stmt, ast.CreatedbStmt | ast.DropdbStmt):
        return f"{command(stmt)} cannot run inside a transaction block"
    if isinstance(stmt, ast.AlterSystemStmt | ast.CreateTableSpaceStmt | ast.DropTableSpaceStmt):
        return f"{command(stmt)} cannot run inside a transaction block"
    if isinstance(stmt, ast.CreateSubscriptionStmt | ast.DropSubscriptionStmt):
        return f"{command(stmt)} (with its replication slot) cannot run inside a transaction block"
    if (
        isinstance(stmt, ast.AlterEnumStmt)
        and stmt.newVal is not None
        and stmt.oldVal is None
        and server_version_num is not None
        and server_version_num < _ENUM_IN_TRANSACTION
    ):
        return "ALTER TYPE ... ADD VALUE cannot run inside a transaction block before PostgreSQL 12"
    if isinstance(stmt, ast.AlterDatabaseStmt) and any(
        getattr(option, "defname", None) == "tablespace" for option in stmt.options or ()
    ):
        return "ALTER DATABASE ... SET TABLESPACE cannot run inside a transaction block"
    return None


def enum_value_note(script: MigrationScript) -> str | None:
    """ALTER TYPE ... ADD VALUE in a transaction: the new value cannot be used before the transaction commits."""
    if any(
        statement.command in ("ALTER TYPE", "ALTER ENUM") and "ADD VALUE" in statement.text.upper()
        for statement in script.statements
    ):
        return (
            "ALTER TYPE ... ADD VALUE runs inside the migration's transaction: the new value cannot be used by a later "
            "statement of the same migration (PostgreSQL refuses 'unsafe use of new value'); use it in a next one"
        )
    return None
