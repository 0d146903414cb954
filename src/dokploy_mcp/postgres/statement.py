"""One SQL statement, whichever route runs it: how it is asked to run, and what it answers.

Both routes to a database, :class:`~dokploy_mcp.postgres.client.Database` (direct) and
:class:`~dokploy_mcp.postgres.pgmeta_route.PgMetaRoute` (through pg-meta), take the same :class:`RunOptions` with the
same defaults and checks (:class:`Run`) and answer a :class:`QueryResult`: :class:`StatementRunner` is what both
offer. Nothing here needs psycopg, so the pg-meta route does not load it.

:class:`UseMark` is the one statement of ours that either route may add to a transaction: it records a confirm
token's id in ``dokploy_mcp.used_confirmations`` in the statement's own transaction, so the statement and the mark
commit together or not at all, and a second use of the token, from any process, fails on the table's key.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypedDict, Unpack

from pydantic import BaseModel, ConfigDict, JsonValue

from dokploy_mcp.errors import InputError

__all__ = [
    "MARK_REFUSED_SQLSTATE",
    "TOKEN_USED_SQLSTATE",
    "Column",
    "Params",
    "QueryResult",
    "Run",
    "RunOptions",
    "ScriptResult",
    "StatementRunner",
    "UseMark",
    "require_statement",
]

#: Values for a statement's ``%s`` / ``%(name)s`` placeholders.
Params = Sequence[Any] | Mapping[str, Any]


class RunOptions(TypedDict, total=False):
    """How one statement runs, on either route (defaults in :class:`Run`).

    ``read_only`` runs it in a READ ONLY transaction that is rolled back; otherwise the transaction is committed.
    ``timeout_ms`` is its statement_timeout; at most ``max_rows`` rows and ``max_bytes`` bytes of them are read.
    ``role`` switches to that role for the statement. ``local_settings`` are set for the transaction only (e.g.
    ``request.jwt.claims`` so that RLS policies see a signed-in user). ``mark`` records a confirm token's use in the
    same transaction, before the role switch (as the connected login) and before the statement.
    """

    read_only: bool
    timeout_ms: int
    max_rows: int
    max_bytes: int
    role: str | None
    local_settings: Mapping[str, str] | None
    mark: UseMark | None


#: Raised by the mark when the token's id is already in the table: the token was used (by any process).
TOKEN_USED_SQLSTATE = "DMU01"
#: Raised by the mark when the login may not create or write the table.
MARK_REFUSED_SQLSTATE = "DMU02"
_TOKEN_ID = re.compile(r"[0-9a-f]{16,64}")
_TOOL = re.compile(r"[a-z_]{1,63}")

# One DO block: one statement on either route (pg-meta's parse count holds), no parameters (pg-meta's simple
# protocol takes none), and only text of ours in it (the id and tool are checked to be hex and a name). The table is
# created on first use; to_regclass first, because CREATE SCHEMA IF NOT EXISTS checks the CREATE privilege even when
# the schema exists. ON CONFLICT waits for a concurrent insert of the same id: if that commits, this one is a replay.
# Rows older than a day are purged (tokens live 10 minutes; the day absorbs clocks that disagree), a few at a time
# and never waiting on another transaction's rows (FOR UPDATE: the login needs UPDATE on the table too).
_MARK = """DO $dokploy_mcp$
BEGIN
  IF pg_catalog.to_regclass('dokploy_mcp.used_confirmations') IS NULL THEN
    BEGIN
      CREATE SCHEMA IF NOT EXISTS dokploy_mcp;
      CREATE TABLE IF NOT EXISTS dokploy_mcp.used_confirmations (
        token_id text PRIMARY KEY,
        used_at timestamptz NOT NULL DEFAULT pg_catalog.now(),
        tool text NOT NULL
      );
      COMMENT ON TABLE dokploy_mcp.used_confirmations IS
        'dokploy-mcp: ids of confirm tokens that ran a statement, so that none runs twice';
    EXCEPTION WHEN unique_violation OR duplicate_schema OR duplicate_table THEN
      NULL;  -- a concurrent first use created it
    END;
  END IF;
  INSERT INTO dokploy_mcp.used_confirmations (token_id, tool) VALUES ('{token_id}', '{tool}')
    ON CONFLICT (token_id) DO NOTHING;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'this confirm_token was already used' USING ERRCODE = '{used}';
  END IF;
  DELETE FROM dokploy_mcp.used_confirmations WHERE token_id IN (
    SELECT token_id FROM dokploy_mcp.used_confirmations
    WHERE used_at < pg_catalog.now() - interval '1 day' LIMIT 100 FOR UPDATE SKIP LOCKED);
EXCEPTION WHEN insufficient_privilege THEN
  RAISE EXCEPTION 'cannot record the confirm_token in dokploy_mcp.used_confirmations: %', SQLERRM
    USING ERRCODE = '{refused}',
    HINT = 'the login needs CREATE on the database for the first use, or USAGE on schema dokploy_mcp and SELECT, ' ||
      'INSERT, UPDATE, DELETE on the table (see the README, Security model)';
END
$dokploy_mcp$"""


@dataclass(frozen=True)
class UseMark:
    """Record ``token_id`` as used by ``tool`` in the statement's transaction (see the module's docstring).

    A replay raises SQLSTATE :data:`TOKEN_USED_SQLSTATE`; a login that may not write the table,
    :data:`MARK_REFUSED_SQLSTATE`. A statement that fails rolls the mark back with it.
    """

    token_id: str
    tool: str

    def __post_init__(self) -> None:
        # Both go into the SQL as literals: only text that cannot close a quote.
        if not _TOKEN_ID.fullmatch(self.token_id) or not _TOOL.fullmatch(self.tool):
            raise ValueError("a use mark takes a hex token id and a tool name")

    def sql(self) -> str:
        return _MARK.format(
            token_id=self.token_id, tool=self.tool, used=TOKEN_USED_SQLSTATE, refused=MARK_REFUSED_SQLSTATE
        )


@dataclass(frozen=True)
class Run:
    """:class:`RunOptions` with their defaults filled in."""

    read_only: bool = True
    timeout_ms: int = 30_000
    max_rows: int = 1_000
    max_bytes: int = 1_000_000
    role: str | None = None
    local_settings: Mapping[str, str] | None = None
    mark: UseMark | None = None

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


class ScriptResult(BaseModel):
    """The outcome of a script (several statements, see
    :meth:`StatementRunner.run_script`): the rows of its last statement that
    answered rows, as ``{column: value}`` (pg-meta's shape, on both routes), and how long it took."""

    model_config = ConfigDict(frozen=True)

    rows: list[dict[str, JsonValue]]
    duration_ms: float
    notices: list[str] = []


class StatementRunner(Protocol):
    """What both routes offer: :class:`~dokploy_mcp.postgres.client.Database` and pg-meta's ``PgMetaRoute``.

    :meth:`execute` runs exactly one statement; :meth:`run_script` several as one unit (what migrations need):
    with ``transaction``, all of ``steps`` in one transaction, committed when ``commit`` (else rolled back: a dry
    run), the first failure rolling everything back; without it each step commits on its own (statements that
    cannot run in a transaction block) and a failure leaves the earlier ones in place. ``timeout_ms`` is each
    statement's statement_timeout.
    """

    target: str

    async def execute(self, statement: str, params: Params | None = None, **options: Unpack[RunOptions]) -> QueryResult:
        """Run exactly one statement in its own transaction (see :class:`RunOptions`)."""
        ...

    async def run_script(
        self,
        steps: Sequence[str],
        *,
        transaction: bool = True,
        commit: bool = True,
        timeout_ms: int = 30_000,
        max_bytes: int = 16_000_000,
    ) -> ScriptResult:
        """Run ``steps`` in order (see the class)."""
        ...
