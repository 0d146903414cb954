"""Prove from the parse tree that one SQL statement is read-only, and flag destructive statements.

The check runs on PostgreSQL's own grammar (pglast, libpg_query), never on the text: comments, quoting,
dollar quotes, unicode escapes (``U&"\\0073et_config"``) and letter case cannot hide a statement or a call.
pglast is imported at the top; the service layer imports this module when it checks the first statement, so
start-up does not pay for the parser. This module is the contract and its public API;
:mod:`~dokploy_mcp.postgres.sqlrules` holds the rules' tables and :mod:`~dokploy_mcp.postgres.sqltree` applies them
to the parse tree.

One statement
    :func:`single_statement` parses the text and accepts exactly one statement (comments, whitespace and
    semicolons alone count as zero). It returns that statement's text from its first to its last token, so no
    trailing ``-- comment`` can swallow what a caller appends. The direct route also sends the text with the
    extended protocol, where the server itself refuses a second statement.

Read-only (deny by default)
    Allowed top-level statements are only:

    - ``SELECT`` / ``VALUES`` / ``TABLE`` (a SelectStmt) without ``INTO`` and without a locking clause
      (``FOR UPDATE``/``FOR NO KEY UPDATE``/``FOR SHARE``/``FOR KEY SHARE``), anywhere in the tree, and
      whose every ``WITH`` query (at any depth) is itself such a SELECT;
    - ``EXPLAIN`` of such a SELECT. ``EXPLAIN ANALYZE`` executes its statement, so it is allowed only because
      the SELECT it runs passes the same checks (EXPLAIN [ANALYZE] of INSERT/UPDATE/DELETE/MERGE or of
      anything else is refused);
    - ``SHOW``.

    Everything else is refused: DML, DDL, COPY, DO, CALL, SET/RESET (including ROLE and SESSION
    AUTHORIZATION), transaction control, LISTEN/NOTIFY/UNLISTEN, PREPARE/EXECUTE/DEALLOCATE, DECLARE/FETCH,
    DISCARD, LOCK, LOAD, VACUUM/ANALYZE, CHECKPOINT, CLUSTER, REINDEX, GRANT, COMMENT, ALTER SYSTEM...

    Inside an allowed statement every function call must be known to be read-only (allow-list, deny by default).
    A call is allowed only when it is

    - an unqualified or ``pg_catalog``-qualified built-in whose every overload is immutable or stable on
      PostgreSQL 15 to 18 (``read_only_functions.txt``, generated from real servers by
      ``tools/catalog/read_only_functions.py``), compared case-sensitively (``"LOWER"()`` is another function);
    - or on the short reviewed list of volatile built-ins that only read or wait (``_REVIEWED`` in
      :mod:`~dokploy_mcp.postgres.sqlrules`: sizes, WAL positions, lock status, ``random()``,
      ``clock_timestamp()``, ``pg_sleep``..., and ``pg_get_*`` / ``pg_stat_get_*``), or one of Supabase's request
      helpers (``auth.uid()``, ``auth.role()``, ``auth.jwt()``, ``auth.email()``: SQL functions that read
      ``request.jwt.claims``);
    - and not refused by name: ``_DENIED`` and ``_DENIED_PREFIXES`` (same module) win over every list, compared
      case-insensitively, whatever the schema (``txid_current()`` is "stable" and still assigns a transaction id;
      ``database_to_xml`` reads, ``query_to_xml`` runs SQL text).

    Anything else is "not provably read-only": user functions, extension functions (``dblink``,
    ``autoprewarm_dump_now`` of pg_prewarm, ``uuid_generate_v4``...), any function qualified with another schema.
    The caller can still run such a statement on the write path (``allow_write``), where PostgreSQL's privileges
    are the guard.

    Functional notation can call a one-argument function as a column (``(row).f``, ``t.f``); such a column
    or field named like a refused function is refused as well (an ordinary column name cannot be told from a
    function there, so only the names refused by name count).

    ``pg_sleep``, ``pg_sleep_for`` and ``pg_sleep_until`` are allowed: they hold a connection no longer
    than the statement timeout and leave nothing behind, like any slow query.

Bounded parsing
    libpg_query recurses once per level of the tree, and a chain of about 15,000 operators (``1+1+...``) overflows
    the C stack and kills the process. Before anything is parsed, :func:`check_bounds` refuses a text longer than
    :data:`MAX_SQL_CHARS` characters, or with more than :data:`MAX_NESTING_TOKENS` tokens that can add a level
    (operators, brackets, keywords: every token but names, constants, commas, closing brackets, ``.``, ``;``,
    AND and OR, which the parser keeps flat). That count bounds the depth of the tree; the limit leaves a margin
    of more than three times below the smallest crashing depth measured (``tests/postgres/test_sqlguard_bounds.py``
    parses the worst shapes at the limit in a child process). Scanning is flat and cannot recurse.

What the parse tree cannot see (the READ ONLY transaction and the role must stop it)
    Views, rules on views, foreign tables, operators and casts backed by functions, and a user function that
    shadows a built-in's name through the search_path run code the guard never sees: their writes are stopped by
    the READ ONLY transaction, but not what they do outside it (COPY ... TO PROGRAM, pg_terminate_backend,
    lo_export, dblink...). Against that the remaining guard is the role: on a *superuser login* even
    ``SET LOCAL ROLE`` is no guard, because any invoker function that runs SQL text can call
    ``set_config('role', ...)``/``SET ROLE``/``RESET ROLE`` to return to the session user, and a SECURITY DEFINER
    function owned by a superuser runs as that superuser whatever the role. Only a non-superuser *login* confines
    such code. The escape corpus (``tests/postgres/escape_corpus.py``) records these cases as known gaps.

    The parser is PostgreSQL 18's; older servers read a few numeric literals differently (``0x1F`` is
    ``0 AS x1F`` before 16), which changes a value or an alias, never a statement boundary or a call.

Parameters
    The direct route binds parameters server-side (``$n`` on the wire); the text checked is the text sent, with
    psycopg's ``%s`` placeholders already turned into ``$n``. :func:`classify` with ``params`` checks that the
    statement refers to exactly ``$1`` .. ``$n``: a ``%s`` inside a string literal or a comment is inert text
    there, and the call is refused with a clear message rather than sent with a parameter count the server rejects.

Destructive (needs confirmation)
    A statement is destructive when it can lose data or objects at once:

    - ``DROP`` of anything (DropStmt, DROP DATABASE/ROLE/TABLESPACE/SUBSCRIPTION/USER MAPPING/OWNED), noting
      ``CASCADE``;
    - ``TRUNCATE``;
    - ``DELETE`` or ``UPDATE`` without a ``WHERE`` clause (any WHERE counts, even ``WHERE true``; the check is
      syntactic), also inside ``WITH`` and under ``EXPLAIN ANALYZE`` (which executes);
    - ``ALTER TABLE`` (or VIEW, TYPE, FOREIGN TABLE...) with ``DROP COLUMN``/``DROP ATTRIBUTE``, ``DROP
      CONSTRAINT`` or ``ALTER COLUMN ... TYPE`` (a rewrite that can truncate or fail values); ``ALTER DOMAIN
      ... DROP CONSTRAINT``;
    - ``DO``: procedural code the guard cannot inspect.

    Not destructive: MERGE (its ON condition bounds it, like DELETE ... WHERE), ALTER ... RENAME/OWNER/
    SET SCHEMA, REASSIGN OWNED, CREATE OR REPLACE, DETACH PARTITION, DROP NOT NULL/DEFAULT/IDENTITY/
    EXPRESSION, CALL and EXECUTE (named code, like a function call), VACUUM FULL, CLUSTER, REFRESH.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pglast import ast, parse_sql, scan
from pglast.parser import ParseError

from dokploy_mcp.postgres.errors import SqlRefused, SqlTooComplex
from dokploy_mcp.postgres.limits import MAX_NESTING_TOKENS, MAX_SQL_CHARS
from dokploy_mcp.postgres.sqltree import command, destructive_reasons, read_only_reasons, returns_rows, walk

__all__ = [
    "MAX_NESTING_TOKENS",
    "MAX_SQL_CHARS",
    "Classified",
    "check_bounds",
    "classify",
    "require_read_only",
    "single_statement",
]


# Tokens that never add a level: names, constants, separators, closing brackets, and AND/OR (kept as flat lists).
_FLAT_TOKENS = frozenset(
    {
        "IDENT",
        "UIDENT",
        "ICONST",
        "FCONST",
        "SCONST",
        "USCONST",
        "BCONST",
        "XCONST",
        "PARAM",
        "ASCII_44",  # ,
        "ASCII_41",  # )
        "ASCII_93",  # ]
        "ASCII_46",  # .
        "ASCII_59",  # ;
        "AND",
        "OR",
        "SQL_COMMENT",
        "C_COMMENT",
    }
)
_READ_ONLY_HINT = (
    "read-only SQL is one SELECT (or VALUES/TABLE), EXPLAIN of one, or SHOW; run changes through the write "
    "path (read_only=false) instead"
)


@dataclass(frozen=True)
class Classified:
    """What the parse tree of one statement shows.

    ``kind`` is the top statement node's name (``"SelectStmt"``, ``"InsertStmt"``...). ``read_only`` is True
    only when the tree proves no side effect by the rules of this module. ``destructive`` marks statements
    that need confirmation. ``reasons`` say why it is not read-only and why it is destructive, naming the
    command or function. ``returns_rows`` is None when it depends on what the statement runs (EXECUTE, CALL).
    """

    kind: str
    read_only: bool
    destructive: bool
    reasons: list[str]
    returns_rows: bool | None


def check_bounds(sql: str) -> None:
    """Refuse, before the parser sees it, a text the parser could not handle safely (see "Bounded parsing")."""
    if not isinstance(sql, str):
        raise SqlRefused("the SQL must be a string")
    if len(sql) > MAX_SQL_CHARS:
        raise SqlTooComplex(
            f"the SQL is {len(sql):,} characters long, more than the {MAX_SQL_CHARS:,} the guard checks: "
            "split it into smaller statements"
        )
    try:
        tokens = scan(sql)
    except ParseError as exc:
        raise SqlRefused(_parse_error_message(sql, exc)) from None
    nesting = sum(1 for token in tokens if token.name not in _FLAT_TOKENS)
    if nesting > MAX_NESTING_TOKENS:
        raise SqlTooComplex(
            f"the SQL is too large or too deeply nested to check safely ({nesting:,} operators, brackets and "
            f"keywords; at most {MAX_NESTING_TOKENS:,}): split it into smaller statements, or run it with "
            "allow_write (it then needs a confirm_token, since nothing could be checked)"
        )


def single_statement(sql: str) -> str:
    """The text of the one statement in ``sql``, trimmed to its tokens and without a trailing ';'.

    Raises :class:`SqlRefused` for a parse error (with the parser's message and position), for no statement
    (only whitespace, comments or semicolons) or for several; :class:`SqlTooComplex` beyond the bounds.
    """
    return _parse_one(sql)[0]


def classify(sql: str, *, params: int | None = None) -> Classified:
    """Parse exactly one statement and classify it (see the module docstring for the rules).

    With ``params`` (the number of parameters that will be bound), the statement must refer to exactly
    ``$1`` .. ``$params``; otherwise :class:`SqlRefused` names ``params``.
    """
    _, stmt = _parse_one(sql)
    if params is not None:
        _check_parameters(stmt, params)
    not_read_only = read_only_reasons(stmt)
    destructive = destructive_reasons(stmt)
    return Classified(
        kind=type(stmt).__name__,
        read_only=not not_read_only,
        destructive=bool(destructive),
        reasons=list(dict.fromkeys([*not_read_only, *destructive])),
        returns_rows=returns_rows(stmt),
    )


def require_read_only(sql: str) -> Classified:
    """Classify the one statement in ``sql``; raise :class:`SqlRefused` unless it is provably read-only."""
    result = classify(sql)
    if not result.read_only:
        raise SqlRefused(
            f"the SQL is not read-only: {'; '.join(result.reasons)}. {_READ_ONLY_HINT}", reasons=result.reasons
        )
    return result


def _check_parameters(stmt: Any, count: int) -> None:
    used = {int(node.number or 0) for node in walk(stmt) if isinstance(node, ast.ParamRef)}
    expected = set(range(1, count + 1))
    if used == expected:
        return
    missing = sorted(expected - used)
    if missing:
        where = ", ".join(f"${number}" for number in missing[:5])
        raise SqlRefused(
            f"{count} parameter(s) given, but the statement never uses {where}: a %s inside a string literal or a "
            "comment is text, not a placeholder; put each %s where a value goes, outside quotes and comments",
            field="params",
        )
    extra = ", ".join(f"${number}" for number in sorted(used - expected)[:5])
    raise SqlRefused(
        f"the statement refers to {extra} but only {count} parameter(s) are given: pass one value per placeholder",
        field="params",
    )


# -- parsing -------------------------------------------------------------------------------------------------


def _parse_one(sql: str) -> tuple[str, Any]:
    check_bounds(sql)
    try:
        statements = parse_sql(sql)
    except ParseError as exc:
        raise SqlRefused(_parse_error_message(sql, exc)) from None
    if not statements:
        raise SqlRefused("the SQL holds no statement, only whitespace, comments or semicolons: send one statement")
    if len(statements) > 1:
        kinds = ", ".join(command(raw.stmt) for raw in statements)
        raise SqlRefused(
            f"the SQL holds {len(statements)} statements ({kinds}); send exactly one statement per call, "
            "without semicolons between statements"
        )
    raw = statements[0]
    start = int(raw.stmt_location or 0)
    length = int(raw.stmt_len or 0)
    end = start + length if length else len(sql)
    # Token positions come from PostgreSQL's own lexer; comments and the ';' are not part of the statement.
    tokens = [
        token
        for token in scan(sql)
        if start <= token.start < end and token.name not in ("SQL_COMMENT", "C_COMMENT", "ASCII_59")
    ]
    if not tokens:  # pragma: no cover - a parsed statement always has tokens
        raise SqlRefused("the SQL holds no statement: send one statement")
    text: str = sql[tokens[0].start : tokens[-1].end + 1]
    return text, raw.stmt


def _parse_error_message(sql: str, exc: Exception) -> str:
    message = str(exc.args[0]) if exc.args else str(exc)
    position = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(position, int) and 0 <= position <= len(sql):
        line = sql.count("\n", 0, position) + 1
        excerpt = sql[position : position + 30].split("\n", 1)[0]
        where = f" at character {position + 1} (line {line})"
        if excerpt:
            where += f", at {excerpt!r}"
        return f"the SQL does not parse: {message}{where}; fix the syntax and send one statement"
    return f"the SQL does not parse: {message}; fix the syntax and send one statement"
