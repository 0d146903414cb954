"""Run one SQL statement through pg-meta: the route to a stack whose PostgreSQL is not reachable.

:class:`~dokploy_mcp.postgres.pgmeta.PgMetaClient` sends a text and reads its rows; this module decides the text.
pg-meta runs a text without parameters through PostgreSQL's *simple* protocol, where every statement in it runs and
only the last result with rows comes back; with parameters it uses the extended protocol, which refuses more than
one statement, so parameters cannot be combined with the transaction wrapper below: this route refuses them and
points to the direct route.

So one call sends one text::

    BEGIN READ ONLY;                                  -- BEGIN; when writing
    SET LOCAL statement_timeout = <timeout_ms>;
    DO $dokploy_mcp$ ... $dokploy_mcp$;               -- a confirm token's use mark, when there is one
    SET LOCAL "<name>"."<part>" = E'<value>';         -- local_settings, then "request"."jwt"."claims"
    SET LOCAL ROLE "<role>";                          -- role
    <the statement>
    ;
    ROLLBACK;                                         -- COMMIT; when writing

Every wrapper statement returns no rows, and the statement is proven to be exactly one by the parser before
anything is sent (the composed text is parsed again and must hold exactly the wrappers plus that one statement), so
the rows pg-meta answers are the statement's own. The use mark (:class:`~dokploy_mcp.postgres.statement.UseMark`)
is ours, added after the statement was proven single and counted among the wrappers; in the same transaction, it
commits with the statement or not at all. A read-only call ends with ROLLBACK, not COMMIT: a READ ONLY
transaction still queues ``pg_notify`` and writes temporary tables, and nothing of it should ever commit.

The parser reads string literals the way PostgreSQL does with ``standard_conforming_strings = on``. A server (or a
role, or a database) set to ``off`` reads a backslash in a plain ``'...'`` literal as an escape, and then
``select 'x\\' , '; COMMIT; delete ...; --'`` is one statement to the parser and three to the server. When the
statement has such a literal, the setting is read first through the same connection and the statement refused
unless it is ``on``.

A non-superuser ``connect_as`` login (see the client) is the stronger guard: READ ONLY does not stop a superuser's
``pg_terminate_backend``, ``COPY ... TO PROGRAM`` or large-object calls, PostgreSQL's privileges do.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Mapping, Sequence
from types import TracebackType
from typing import Any, Literal, Self, Unpack

from pglast import ast, parse_sql, parser

from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres.errors import DatabaseError, DatabaseQueryError, RoleNotPermittedError, SqlRefused
from dokploy_mcp.postgres.pgmeta import PgMetaClient, PgMetaRows
from dokploy_mcp.postgres.sqlguard import single_statement
from dokploy_mcp.postgres.statement import (
    Column,
    Params,
    QueryResult,
    Run,
    RunOptions,
    ScriptResult,
    require_statement,
)

__all__ = ["PgMetaResult", "PgMetaRoute"]

logger = logging.getLogger(__name__)

_UNKNOWN_TYPE = "unknown"
#: Rows a script may answer (its last statement's: a catalog read, one row).
_SCRIPT_ROWS = 10_000
_MAX_IDENTIFIER = 63
#: SET LOCAL takes no snapshot, so after BEGIN READ ONLY it may still turn the transaction read-write (the direct
#: route's set_config runs in a SELECT, after which PostgreSQL refuses that).
_GUARDED_SETTINGS = frozenset({"transaction_read_only"})

_PARAMS_REFUSED = (
    "query parameters are not available through pg-meta: its parameterised mode runs a single statement, which "
    "leaves no room for the READ ONLY transaction and statement_timeout this route wraps around the statement. "
    "Inline the values as SQL literals, or give a connection string as the target to use the direct route, "
    "which binds parameters safely"
)

_NOTE_SHAPE = (
    "pg-meta answers rows as JSON objects: no column types (type_name is 'unknown'), columns that share a name "
    "collapse into one (alias them), and an empty result has no columns"
)
_NOTE_TAG = (
    "pg-meta reports no command tag, no count of written rows and no notices or warnings: add RETURNING to see "
    "what a write changed"
)
_NOTE_VALUES = (
    "values as pg-meta renders them: bigint beyond 2^53 and numeric as strings, bytea as "
    '{"type": "Buffer", "data": [...]}, NaN and infinite floats as null, dates and timestamps in '
    "PostgreSQL's text form"
)
_NOTE_STREAMING = (
    "no streaming: the statement ran to completion and pg-meta held its whole result in memory before answering; "
    "the row and byte caps are applied here, to its answer"
)
_NOTE_SUPERUSER = (
    "pg-meta's own connection is a superuser's in a Supabase stack (supabase_admin): READ ONLY stops writes, "
    "not superuser-only side effects (pg_terminate_backend, COPY ... TO PROGRAM, large objects); pass connect_as "
    "with a non-superuser login, or use the direct route with a restricted user"
)


class PgMetaResult(QueryResult):
    """A :class:`QueryResult` that came through pg-meta, with what this route cannot report.

    ``endpoint`` is the URL the SQL was posted to (no secrets); ``notes`` lists the route's limits that apply to
    this result (column types, command tag, value rendering, streaming, who ran it).
    """

    route: Literal["pg-meta"] = "pg-meta"
    endpoint: str
    notes: list[str]


# -- composing the text -------------------------------------------------------------------------------------------


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _setting_name(name: str) -> str:
    # Quoted part by part: one quoted identifier would be cut at 63 bytes as a whole and name another setting.
    return ".".join(_identifier(part) for part in name.split("."))


def _literal(value: str) -> str:
    # E'' reads backslashes the same whatever standard_conforming_strings says, so the text parses one way only.
    return "E'" + value.replace("\\", "\\\\").replace("'", "''") + "'"


def _compose(
    statement: str,
    *,
    read_only: bool,
    timeout_ms: int,
    settings: Sequence[tuple[str, str]],
    role: str | None,
    mark: str | None = None,
) -> tuple[str, int]:
    """The text sent to pg-meta and how many statements it holds."""
    parts = ["BEGIN READ ONLY;" if read_only else "BEGIN;", f"SET LOCAL statement_timeout = {int(timeout_ms)};"]
    if mark is not None:
        # As the connected login, before the settings and the role switch, as on the direct route.
        parts.append(mark + ";")
    # Settings before the role switch, as on the direct route: the target role may not be allowed to set them.
    parts.extend(f"SET LOCAL {_setting_name(name)} = {_literal(value)};" for name, value in settings)
    if role is not None:
        parts.append(f"SET LOCAL ROLE {_identifier(role)};")
    # The statement on its own lines: a trailing "-- comment" must not swallow what follows.
    parts.extend([statement, ";", "ROLLBACK;" if read_only else "COMMIT;"])
    return "\n".join(parts), len(parts) - 1


def _parse(text: str) -> tuple[Any, ...]:
    return tuple(parse_sql(text))


def _client_copy(statement: str) -> bool:
    """True for ``COPY ... FROM STDIN`` / ``TO STDOUT``: pg-meta drops the data out and fails the data in."""
    node = _parse(statement)[0].stmt
    return isinstance(node, ast.CopyStmt) and node.filename is None


def _ambiguous_literals(statement: str) -> bool:
    """True when a plain string literal holds a backslash: with standard_conforming_strings off it is an escape."""
    for token in parser.scan(statement):
        if token.name != "SCONST":
            continue
        text = statement[token.start : token.end + 1]
        # E'...' reads backslashes in both modes; $$...$$ never does; '...' and N'...' depend on the setting.
        if text[:1] in ("'", "N", "n") and "\\" in text:
            return True
    return False


# -- the route ------------------------------------------------------------------------------------------------------


class PgMetaRoute:
    """SQL through pg-meta's ``POST /query``, on a :class:`PgMetaClient`: pg-meta directly
    (:meth:`PgMetaClient.direct`), or a client built behind a stack's Kong (``/pg/query`` with the service_role key)
    by the service that opens the route.

    The route closes its client with :meth:`aclose` or ``async with``: a direct client its own HTTP client, a gateway's
    client nothing (it borrows the gateway's, which the gateway closes).
    """

    def __init__(self, client: PgMetaClient) -> None:
        self._client = client
        #: The URL the SQL is posted to (no secrets).
        self.endpoint = client.endpoint
        #: What errors name: pg-meta's address, and the ``connect_as`` login masked.
        self.target = client.target

    def __repr__(self) -> str:
        return f"PgMetaRoute(endpoint={self.endpoint!r})"

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the HTTP client if this route owns it (a gateway's client stays open)."""
        await self._client.aclose()

    # -- one statement --------------------------------------------------------------------------------------------

    async def execute(
        self,
        statement: str,
        params: Params | None = None,
        *,
        jwt_claims: Mapping[str, Any] | None = None,
        **options: Unpack[RunOptions],
    ) -> PgMetaResult:
        """Run exactly one statement in its own transaction; return at most ``max_rows`` rows.

        As :meth:`Database.execute <dokploy_mcp.postgres.client.Database.execute>`, except: ``params`` are refused
        (use the direct route); ``jwt_claims`` sets ``request.jwt.claims`` (as JSON) for the transaction, after
        ``local_settings`` (each ``SET LOCAL name = 'value'``: for a list setting such as search_path the value is one
        element); ``role`` is switched to with ``SET LOCAL ROLE``; the result's ``notes`` say what pg-meta cannot
        report.

        Raises:
            InputError: empty statement, parameters, bad limits, settings or claims that cannot be sent.
            SqlRefused: not exactly one statement (``dokploy_mcp.postgres.sqlguard.single_statement``), or a plain
                string literal with a backslash on a server whose standard_conforming_strings is off.
            DatabaseQueryError, ReadOnlyViolationError, DatabaseTimeoutError, RoleNotPermittedError: as on the
                direct route, with PostgreSQL's SQLSTATE.
            DatabaseConnectionError: pg-meta (or Kong) cannot be reached, or pg-meta cannot reach PostgreSQL.
            GatewayAuthError: Kong refused the service_role key (gateway route).
        """
        run = Run.of(options)
        _check_arguments(statement, params, run)
        settings = _settings(run.local_settings, jwt_claims)
        text, single = self._wrap(statement, run, settings)
        if _ambiguous_literals(single):
            await self._require_standard_strings()

        logger.debug(
            "pg-meta %s: a statement of %d characters (read_only=%s, role=%s, timeout_ms=%d)",
            self.endpoint,
            len(statement),
            run.read_only,
            run.role,
            run.timeout_ms,
        )
        started = time.perf_counter()
        rows, read_cap_hit = await self._post(text, run)
        duration_ms = (time.perf_counter() - started) * 1000
        logger.debug(
            "pg-meta %s: %d row(s), truncated=%s, %.1f ms",
            self.endpoint,
            len(rows.rows),
            rows.truncated_reason,
            duration_ms,
        )
        return self._result(rows, duration_ms=duration_ms, notes=self._notes(run, read_cap_hit))

    async def run_script(
        self,
        steps: Sequence[str],
        *,
        transaction: bool = True,
        commit: bool = True,
        timeout_ms: int = 30_000,
        max_bytes: int = 16_000_000,
    ) -> ScriptResult:
        """Run ``steps`` as one unit (see :class:`~dokploy_mcp.postgres.statement.StatementRunner`).

        With ``transaction``, one text: ``BEGIN; SET LOCAL statement_timeout; <steps>; COMMIT`` (ROLLBACK for a dry
        run). PostgreSQL's simple protocol stops at the first error and the transaction is never committed. Each
        step is followed by a line break before its ``;``, so a step ending in a ``--`` comment cannot swallow it.
        Without ``transaction``, one request per step, outside any transaction block (what ``CREATE INDEX
        CONCURRENTLY`` needs); a failure names its step. These texts are not single statements by design: a
        script is a write the caller asked for, and every text of ours in it is quoted by the caller.
        """
        if not steps:
            raise InputError("a script needs at least one statement", field="steps")
        Run(timeout_ms=timeout_ms, max_bytes=max_bytes).check_limits()
        started = time.perf_counter()
        budget = timeout_ms * len(steps)
        if transaction:
            text = (
                f"BEGIN;\nSET LOCAL statement_timeout = {int(timeout_ms)};\n"
                + "".join(f"{step}\n;\n" for step in steps)
                + ("COMMIT;" if commit else "ROLLBACK;")
            )
            answered, _ = await self._client.post(text, timeout_ms=budget, max_rows=_SCRIPT_ROWS, max_bytes=max_bytes)
        else:
            answered = PgMetaRows(max_rows=_SCRIPT_ROWS, max_bytes=max_bytes)
            for index, step in enumerate(steps, start=1):
                try:
                    answer, _ = await self._client.post(
                        step, timeout_ms=timeout_ms, max_rows=_SCRIPT_ROWS, max_bytes=max_bytes
                    )
                except DatabaseError as exc:
                    exc.step = index
                    raise
                if answer.names is not None:
                    answered = answer
        if answered.truncated_reason is not None:
            raise DatabaseQueryError(
                f"the script's result is larger than pg-meta's cap ({answered.truncated_reason})",
                target=self.target,
                sqlstate=None,
            )
        names = answered.names or []
        return ScriptResult(
            rows=[dict(zip(names, row, strict=True)) for row in answered.rows],
            duration_ms=round((time.perf_counter() - started) * 1000, 3),
        )

    def _result(self, rows: PgMetaRows, *, duration_ms: float, notes: list[str]) -> PgMetaResult:
        return PgMetaResult(
            columns=[Column(name=name, type_name=_UNKNOWN_TYPE) for name in rows.names or []],
            rows=rows.rows,
            row_count=len(rows.rows),
            truncated=rows.truncated_reason is not None,
            truncated_reason=rows.truncated_reason,
            status_message=None,
            rows_affected=None,
            duration_ms=round(duration_ms, 3),
            endpoint=self.endpoint,
            notes=notes,
        )

    def _wrap(self, statement: str, run: Run, settings: Sequence[tuple[str, str]]) -> tuple[str, str]:
        """The text to send and the single statement in it, proven before anything is sent."""
        # Proven before anything is sent: the text holds exactly one statement.
        single = single_statement(statement)
        if _client_copy(single):
            raise DatabaseQueryError(
                "COPY to or from the client is not supported here: use COPY ... TO/FROM a server file, or SELECT "
                "the rows instead",
                target=self.target,
                sqlstate=None,
            )
        text, expected = _compose(
            single,
            read_only=run.read_only,
            timeout_ms=run.timeout_ms,
            settings=settings,
            role=run.role,
            mark=run.mark.sql() if run.mark is not None else None,
        )
        if len(_parse(text)) != expected:
            # The wrappers around a single statement parse as wrappers plus one; anything else is a bug to stop on.
            raise SqlRefused("the statement does not stay one statement inside the transaction wrapper")
        return text, single

    async def _post(self, text: str, run: Run) -> tuple[PgMetaRows, int | None]:
        try:
            return await self._client.post(
                text, timeout_ms=run.timeout_ms, max_rows=run.max_rows, max_bytes=run.max_bytes
            )
        except RoleNotPermittedError as exc:
            if exc.role == run.role:
                raise
            # Refused inside the statement (a function switching roles), not our SET LOCAL ROLE: the statement's
            # own error, not a complaint about the role argument.
            raise DatabaseQueryError(
                f"{exc.server_message or exc} (raised inside the statement, not by the role argument)",
                target=self.target,
                sqlstate=exc.sqlstate,
            ) from None

    async def _require_standard_strings(self) -> None:
        rows, _ = await self._client.post(
            "SELECT pg_catalog.current_setting('standard_conforming_strings') AS scs",
            timeout_ms=10_000,
            max_rows=1,
            max_bytes=1_000,
        )
        value = rows.rows[0][0] if rows.rows else None
        if value != "on":
            raise SqlRefused(
                "a plain string literal holds a backslash, and this server reads it as an escape "
                f"(standard_conforming_strings = {value}): through pg-meta's simple protocol the statement could "
                "then split into several. Write the literal as E'...' (backslashes doubled) or with dollar quotes, "
                "or use the direct route"
            )

    # -- notes ------------------------------------------------------------------------------------------------------

    def _notes(self, run: Run, read_cap_hit: int | None) -> list[str]:
        role = run.role
        who = self._client.who if role is None else f"{self._client.who}, switched to role {role!r} with SET LOCAL ROLE"
        mode = (
            "in a READ ONLY transaction, rolled back"
            if run.read_only
            else "in a read-write transaction, committed when it succeeded"
        )
        notes = [f"route: pg-meta's POST /query at {self.endpoint}, as {who}, {mode}"]
        if run.read_only and self._client.superuser:
            notes.append(_NOTE_SUPERUSER)
        notes.extend([_NOTE_SHAPE, _NOTE_TAG, _NOTE_VALUES, _NOTE_STREAMING])
        if read_cap_hit is not None:
            notes.append(f"stopped reading pg-meta's answer after {read_cap_hit} bytes (the read cap for max_bytes)")
        if self._client.has_gateway and run.timeout_ms > 55_000:
            notes.append("through Kong a statement longer than about 60 s ends with Kong's own upstream timeout")
        return notes


def _check_arguments(statement: str, params: Params | None, run: Run) -> None:
    require_statement(statement)
    if params:
        raise InputError(_PARAMS_REFUSED, field="params")
    run.check_limits()
    role = run.role
    if role is not None and (not role or "\x00" in role or len(role.encode()) > _MAX_IDENTIFIER):
        # Longer names would be cut to 63 bytes by PostgreSQL's lexer, and could then name another role.
        raise InputError("role must be a role name (at most 63 bytes)", field="role")


def _settings(local_settings: Mapping[str, str] | None, jwt_claims: Mapping[str, Any] | None) -> list[tuple[str, str]]:
    settings: list[tuple[str, str]] = []
    for name, value in (local_settings or {}).items():
        parts = name.split(".") if isinstance(name, str) else [""]
        if any(not part or "\x00" in part or len(part.encode()) > _MAX_IDENTIFIER for part in parts):
            raise InputError(f"setting name {name!r} is not a setting name", field="local_settings")
        if name.lower() in _GUARDED_SETTINGS:
            raise InputError(f"{name} is the read_only argument's to set, not a local setting", field="local_settings")
        if not isinstance(value, str) or "\x00" in value:
            raise InputError(f"the value of setting {name!r} must be text without NUL", field="local_settings")
        settings.append((name, value))
    if jwt_claims is not None:
        try:
            claims = json.dumps(dict(jwt_claims), separators=(",", ":"), allow_nan=False)
        except (TypeError, ValueError) as exc:
            raise InputError(f"jwt_claims must be a JSON object: {exc}", field="jwt_claims") from None
        settings.append(("request.jwt.claims", claims))
    return settings
