"""Expected failures of the PostgreSQL layer.

Hierarchy::

    DatabaseError                       target: the masked display string of the connection
    ├── DatabaseConnectionError         cannot connect or authenticate
    ├── DatabaseQueryError              the server refused the statement (sqlstate, message, detail, hint)
    │   └── ReadOnlyViolationError      sqlstate 25006: a write inside a read-only transaction
    ├── DatabaseTimeoutError            the statement ran past its statement_timeout (timeout_ms)
    └── RoleNotPermittedError           the role to switch to is missing or not granted to the user (role)

    PgToolError                         pg_dump / pg_restore missing, older than the server, or failed (tool, detail)

    InputError
    └── ConnectionStringError           a target that cannot be parsed (field="target")

Messages are scrubbed of passwords by the code that raises them (only it knows the password of the connection
at hand), so ``str(err)`` is safe to show and to log.
"""

from __future__ import annotations

from collections.abc import Sequence

from dokploy_mcp.errors import DokployMCPError, InputError

__all__ = [
    "ConnectionStringError",
    "DatabaseConnectionError",
    "DatabaseError",
    "DatabaseQueryError",
    "DatabaseTimeoutError",
    "PgToolError",
    "ReadOnlyViolationError",
    "RoleNotPermittedError",
    "SqlRefused",
    "SqlTooComplex",
    "statement_error",
]


class ConnectionStringError(InputError):
    """The ``target`` is not a connection string we can use; the message says how to fix it."""

    def __init__(self, message: str) -> None:
        super().__init__(message, field="target")


class SqlRefused(InputError):
    """The SQL cannot be run as asked: it does not parse, is not exactly one statement, or is not read-only.

    ``reasons`` lists the causes found in the parse tree (empty for parse and statement-count errors).
    """

    def __init__(self, message: str, *, reasons: Sequence[str] = (), field: str = "sql") -> None:
        super().__init__(message, field=field)
        self.reasons = list(reasons)


class SqlTooComplex(SqlRefused):
    """The SQL is too long or too deeply nested to parse safely (see "Bounded parsing" in
    :mod:`dokploy_mcp.postgres.sqlguard`): nothing was parsed."""


class DatabaseError(DokployMCPError):
    """A failure talking to one database. ``target`` is its masked display string (password as ``****``).
    ``step`` is the 1-based statement of a script that failed, where the route can tell."""

    step: int | None = None

    def __init__(self, message: str, *, target: str) -> None:
        super().__init__(message)
        self.target = target


class DatabaseConnectionError(DatabaseError):
    """No usable connection: unreachable host, refused authentication, exhausted pool, lost connection."""


class DatabaseQueryError(DatabaseError):
    """The server refused the statement.

    ``message`` is PostgreSQL's primary message; ``detail`` and ``hint`` are its optional companions.
    ``sqlstate`` is None only for refusals decided on this side (for example a COPY to or from the client).
    """

    def __init__(
        self,
        message: str,
        *,
        target: str,
        sqlstate: str | None,
        detail: str | None = None,
        hint: str | None = None,
    ) -> None:
        parts = [f"{message} (SQLSTATE {sqlstate})" if sqlstate else message]
        if detail:
            parts.append(f"DETAIL: {detail}")
        if hint:
            parts.append(f"HINT: {hint}")
        super().__init__("\n".join(parts), target=target)
        self.sqlstate = sqlstate
        self.message = message
        self.detail = detail
        self.hint = hint


class PartlyAppliedError(DatabaseError):
    """A migration run without a transaction stopped at statement ``applied + 1`` of ``total``: the ones before it
    stay applied, and no history row was written."""

    def __init__(self, message: str, *, target: str, applied: int, total: int) -> None:
        super().__init__(message, target=target)
        self.applied = applied
        self.total = total


class CopyFailedError(DatabaseError):
    """A copy between two databases stopped in ``table``: the target keeps the ``kept`` rows its checkpoint records
    (its other tables as their checkpoints say), and the same call resumes from there."""

    def __init__(self, message: str, *, target: str, table: str, kept: int, sqlstate: str | None = None) -> None:
        super().__init__(message, target=target)
        self.table = table
        self.kept = kept
        self.sqlstate = sqlstate


class ReadOnlyViolationError(DatabaseQueryError):
    """The statement tried to write inside a read-only transaction (SQLSTATE 25006)."""


class DatabaseTimeoutError(DatabaseError):
    """The statement was cancelled after ``timeout_ms`` milliseconds (statement_timeout, SQLSTATE 57014)."""

    def __init__(self, message: str, *, target: str, timeout_ms: int) -> None:
        super().__init__(message, target=target)
        self.timeout_ms = timeout_ms


class RoleNotPermittedError(DatabaseError):
    """The role asked for does not exist, or the connected user is not a member of it."""

    def __init__(
        self, message: str, *, target: str, role: str, sqlstate: str | None = None, server_message: str | None = None
    ) -> None:
        super().__init__(message, target=target)
        self.role = role
        #: PostgreSQL's own refusal, when the server (not this client) refused the switch.
        self.sqlstate = sqlstate
        self.server_message = server_message


def statement_error(
    message: str, *, target: str, sqlstate: str | None, detail: str | None, hint: str | None, timeout_ms: int
) -> DatabaseError:
    """PostgreSQL's refusal of a statement as the error it is, by SQLSTATE: cancelled at statement_timeout (57014),
    a write inside a read-only transaction (25006), or any other refusal. Both routes read the server's answer
    through it, after their own checks for a failed connection."""
    if sqlstate == "57014":
        return DatabaseTimeoutError(
            f"{message} (statement_timeout {timeout_ms} ms): narrow the query or raise timeout_ms",
            target=target,
            timeout_ms=timeout_ms,
        )
    if sqlstate == "25006":
        return ReadOnlyViolationError(message, target=target, sqlstate=sqlstate, detail=detail, hint=hint)
    return DatabaseQueryError(message, target=target, sqlstate=sqlstate, detail=detail, hint=hint)


class PgToolError(DokployMCPError):
    """``pg_dump`` or ``pg_restore`` is missing, older than the server it must read or write, or failed.

    ``tool`` is the program; ``detail`` its last lines of stderr (scrubbed) or what was found instead.
    """

    what = "PostgreSQL client program"

    def __init__(self, message: str, *, tool: str, detail: str = "", location: str | None = None) -> None:
        super().__init__(message)
        self.location = location
        self.tool = tool
        self.detail = detail
