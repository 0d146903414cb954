"""Prove from the parse tree that one SQL statement is read-only, and flag destructive statements.

The check runs on PostgreSQL's own grammar (pglast, libpg_query), never on the text: comments, quoting,
dollar quotes, unicode escapes (``U&"\\0073et_config"``) and letter case cannot hide a statement or a call.
pglast is imported inside the functions, so importing this module costs nothing at start-up.

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
    - or on the short reviewed list of volatile built-ins that only read or wait (:data:`_REVIEWED`: sizes, WAL
      positions, lock status, ``random()``, ``clock_timestamp()``, ``pg_sleep``..., and ``pg_get_*`` /
      ``pg_stat_get_*``), or one of Supabase's request helpers (``auth.uid()``, ``auth.role()``, ``auth.jwt()``,
      ``auth.email()``: SQL functions that read ``request.jwt.claims``);
    - and not refused by name: :data:`_DENIED` and :data:`_DENIED_PREFIXES` win over every list, compared
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

import functools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres.limits import MAX_NESTING_TOKENS, MAX_SQL_CHARS

__all__ = [
    "MAX_NESTING_TOKENS",
    "MAX_SQL_CHARS",
    "Classified",
    "SqlRefused",
    "SqlTooComplex",
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

# Volatile built-ins reviewed by hand: they only read catalogs, sizes, settings, WAL positions or statistics of the
# server, draw random numbers, tell the time, or wait.
_REVIEWED = frozenset(
    {
        "random",
        "random_normal",
        "clock_timestamp",
        "timeofday",
        "gen_random_uuid",
        "uuidv4",
        "uuidv7",
        "currval",
        "lastval",
        "pg_available_extension_versions",
        "pg_available_extensions",
        "pg_backend_pid",
        "pg_basetype",
        "pg_blocking_pids",
        "pg_char_to_encoding",
        "pg_client_encoding",
        "pg_collation_actual_version",
        "pg_collation_for",
        "pg_column_compression",
        "pg_column_is_updatable",
        "pg_column_size",
        "pg_column_toast_chunk_id",
        "pg_conf_load_time",
        "pg_config",
        "pg_control_checkpoint",
        "pg_control_init",
        "pg_control_recovery",
        "pg_control_system",
        "pg_current_logfile",
        "pg_current_snapshot",
        "pg_current_wal_flush_lsn",
        "pg_current_wal_insert_lsn",
        "pg_current_wal_lsn",
        "pg_current_xact_id_if_assigned",
        "pg_cursor",
        "pg_database_collation_actual_version",
        "pg_database_size",
        "pg_describe_object",
        "pg_encoding_max_length",
        "pg_encoding_to_char",
        "pg_extension_update_paths",
        "pg_filenode_relation",
        "pg_has_role",
        "pg_hba_file_rules",
        "pg_ident_file_mappings",
        "pg_identify_object",
        "pg_identify_object_as_address",
        "pg_index_column_has_property",
        "pg_index_has_property",
        "pg_indexam_has_property",
        "pg_indexam_progress_phasename",
        "pg_indexes_size",
        "pg_input_error_info",
        "pg_input_is_valid",
        "pg_is_in_recovery",
        "pg_is_other_temp_schema",
        "pg_is_wal_replay_paused",
        "pg_jit_available",
        "pg_last_committed_xact",
        "pg_last_wal_receive_lsn",
        "pg_last_wal_replay_lsn",
        "pg_last_xact_replay_timestamp",
        "pg_listening_channels",
        "pg_lock_status",
        "pg_mcv_list_items",
        "pg_my_temp_schema",
        "pg_notification_queue_usage",
        "pg_options_to_table",
        "pg_partition_ancestors",
        "pg_partition_root",
        "pg_partition_tree",
        "pg_postmaster_start_time",
        "pg_prepared_statement",
        "pg_prepared_xact",
        "pg_relation_filenode",
        "pg_relation_filepath",
        "pg_relation_is_publishable",
        "pg_relation_is_updatable",
        "pg_relation_size",
        "pg_safe_snapshot_blocking_pids",
        "pg_sequence_last_value",
        "pg_sequence_parameters",
        "pg_settings_get_flags",
        "pg_show_all_file_settings",
        "pg_show_all_settings",
        "pg_size_bytes",
        "pg_size_pretty",
        "pg_sleep",
        "pg_sleep_for",
        "pg_sleep_until",
        "pg_snapshot_xip",
        "pg_snapshot_xmax",
        "pg_snapshot_xmin",
        "pg_split_walfile_name",
        "pg_stat_have_stats",
        "pg_table_size",
        "pg_tablespace_databases",
        "pg_tablespace_location",
        "pg_tablespace_size",
        "pg_timezone_abbrevs",
        "pg_timezone_names",
        "pg_total_relation_size",
        "pg_trigger_depth",
        "pg_typeof",
        "pg_visible_in_snapshot",
        "pg_wal_lsn_diff",
        "pg_walfile_name",
        "pg_walfile_name_offset",
        "pg_xact_commit_timestamp",
        "pg_xact_commit_timestamp_origin",
        "pg_xact_status",
    }
)
# pg_get_* (definitions, catalog lookups) and pg_stat_get_* (statistics counters) only read.
_REVIEWED_PREFIXES = ("pg_get_", "pg_stat_get_")
# Supabase's request helpers: SQL functions that read request.jwt.claims (the schema is part of the name).
_REVIEWED_QUALIFIED = frozenset({("auth", "uid"), ("auth", "role"), ("auth", "jwt"), ("auth", "email")})
_BUILTIN_SCHEMA = "pg_catalog"

_SQL_TEXT = "runs the SQL text it is given, out of the guard's sight"
_INDEX_WRITE = "writes an index outside the transaction"
_PAGE_WRITE = "writes table pages directly"

# Functions refused by exact (lower-cased) name, with why.
_DENIED: dict[str, str] = {
    "set_config": "changes settings, including role and transaction_read_only",
    "nextval": "advances a sequence",
    "setval": "sets a sequence",
    "setseed": "changes the session's random seed",
    "txid_current": "assigns a transaction id",
    "pg_current_xact_id": "assigns a transaction id",
    "loread": "reads a large object",
    "lowrite": "writes a large object",
    "query_to_xml": _SQL_TEXT,
    "query_to_xmlschema": _SQL_TEXT,
    "query_to_xml_and_xmlschema": _SQL_TEXT,
    "cursor_to_xml": "reads a cursor",
    "cursor_to_xmlschema": "reads a cursor",
    "ts_stat": _SQL_TEXT,
    "ts_rewrite": _SQL_TEXT,
    "crosstab": _SQL_TEXT,
    "crosstab2": _SQL_TEXT,
    "crosstab3": _SQL_TEXT,
    "crosstab4": _SQL_TEXT,
    "connectby": _SQL_TEXT,
    "brin_summarize_new_values": _INDEX_WRITE,
    "brin_summarize_range": _INDEX_WRITE,
    "brin_desummarize_range": _INDEX_WRITE,
    "gin_clean_pending_list": _INDEX_WRITE,
    "heap_force_kill": _PAGE_WRITE,
    "heap_force_freeze": _PAGE_WRITE,
    "http": "sends an HTTP request",
    # pgTAP's assertions that run the SQL text they are given
    **dict.fromkeys(
        (
            "lives_ok",
            "throws_ok",
            "throws_like",
            "throws_ilike",
            "throws_matching",
            "throws_imatching",
            "results_eq",
            "results_ne",
            "set_eq",
            "set_ne",
            "set_has",
            "set_hasnt",
            "bag_eq",
            "bag_ne",
            "bag_has",
            "bag_hasnt",
            "is_empty",
            "isnt_empty",
            "row_eq",
            "performs_ok",
            "performs_within",
            "runtests",
            "do_tap",
        ),
        _SQL_TEXT,
    ),
}
# Functions refused by name prefix, with why.
_DENIED_PREFIXES: dict[str, str] = {
    "lo_": "reads or writes large objects or server files",
    "dblink": "runs SQL over a separate connection, committed outside this transaction",
    "http_": "sends an HTTP request",
    "pgr_": _SQL_TEXT,
    "binary_upgrade_": "is reserved for pg_upgrade",
}
# Why some refused pg_* functions are refused; any other unlisted pg_* function gets a generic reason.
_PG_REASONS: tuple[tuple[str, str], ...] = (
    ("pg_terminate_backend", "ends another session"),
    ("pg_cancel_backend", "cancels another session's query"),
    ("pg_reload_conf", "reloads the server configuration"),
    ("pg_rotate_logfile", "rotates the server log"),
    ("pg_stat_reset", "resets statistics"),
    ("pg_switch_wal", "switches the WAL file"),
    ("pg_create_restore_point", "writes a WAL restore point"),
    ("pg_promote", "promotes a standby"),
    ("pg_current_xact_id", "assigns a transaction id"),
    ("pg_notify", "sends a notification"),
    ("pg_read_", "reads server files"),
    ("pg_ls_", "lists server directories"),
    ("pg_stat_file", "reads server file metadata"),
    ("pg_file_", "writes server files"),
    ("pg_logical_", "uses logical replication"),
    ("pg_replication_", "changes replication state"),
    ("pg_create_", "creates a replication slot"),
    ("pg_copy_", "creates a replication slot"),
    ("pg_drop_replication_slot", "drops a replication slot"),
    ("pg_background", _SQL_TEXT),
)
_ADVISORY = "takes or releases an advisory lock that can outlive the transaction"

_DML = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"})
_COMMANDS: dict[str, str] = {
    "CreateStmt": "CREATE TABLE",
    "CreatedbStmt": "CREATE DATABASE",
    "DropdbStmt": "DROP DATABASE",
    "AlterDatabaseSetStmt": "ALTER DATABASE",
    "CreateTableAsStmt": "CREATE TABLE AS",
    "IndexStmt": "CREATE INDEX",
    "ViewStmt": "CREATE VIEW",
    "RuleStmt": "CREATE RULE",
    "CreateTrigStmt": "CREATE TRIGGER",
    "CreateFunctionStmt": "CREATE FUNCTION",
    "CreatePLangStmt": "CREATE LANGUAGE",
    "CreateTableSpaceStmt": "CREATE TABLESPACE",
    "DropTableSpaceStmt": "DROP TABLESPACE",
    "AlterTableSpaceOptionsStmt": "ALTER TABLESPACE",
    "AlterTableMoveAllStmt": "ALTER ... SET TABLESPACE",
    "AlterTSConfigurationStmt": "ALTER TEXT SEARCH CONFIGURATION",
    "AlterTSDictionaryStmt": "ALTER TEXT SEARCH DICTIONARY",
    "CreateFdwStmt": "CREATE FOREIGN DATA WRAPPER",
    "AlterFdwStmt": "ALTER FOREIGN DATA WRAPPER",
    "CreateAmStmt": "CREATE ACCESS METHOD",
    "CreateOpClassStmt": "CREATE OPERATOR CLASS",
    "CreateOpFamilyStmt": "CREATE OPERATOR FAMILY",
    "AlterOpFamilyStmt": "ALTER OPERATOR FAMILY",
    "DefineStmt": "CREATE",
    "CompositeTypeStmt": "CREATE TYPE",
    "CreateEnumStmt": "CREATE TYPE",
    "CreateRangeStmt": "CREATE TYPE",
    "CreateSeqStmt": "CREATE SEQUENCE",
    "AlterSeqStmt": "ALTER SEQUENCE",
    "RenameStmt": "ALTER ... RENAME",
    "AlterObjectSchemaStmt": "ALTER ... SET SCHEMA",
    "AlterOwnerStmt": "ALTER ... OWNER",
    "DeclareCursorStmt": "DECLARE CURSOR",
    "ClosePortalStmt": "CLOSE",
    "CheckPointStmt": "CHECKPOINT",
    "SecLabelStmt": "SECURITY LABEL",
    "CommentStmt": "COMMENT",
    "ConstraintsSetStmt": "SET CONSTRAINTS",
    "RefreshMatViewStmt": "REFRESH MATERIALIZED VIEW",
    "ReplicaIdentityStmt": "ALTER TABLE ... REPLICA IDENTITY",
    "CallStmt": "CALL",
    "DoStmt": "DO",
    "CopyStmt": "COPY",
    "LockStmt": "LOCK",
    "LoadStmt": "LOAD",
    "ListenStmt": "LISTEN",
    "UnlistenStmt": "UNLISTEN",
    "NotifyStmt": "NOTIFY",
    "PrepareStmt": "PREPARE",
    "ExecuteStmt": "EXECUTE",
    "DeallocateStmt": "DEALLOCATE",
    "DiscardStmt": "DISCARD",
    "ClusterStmt": "CLUSTER",
    "ReindexStmt": "REINDEX",
    "TruncateStmt": "TRUNCATE",
    "InsertStmt": "INSERT",
    "UpdateStmt": "UPDATE",
    "DeleteStmt": "DELETE",
    "MergeStmt": "MERGE",
    "SelectStmt": "SELECT",
    "ExplainStmt": "EXPLAIN",
    "VariableShowStmt": "SHOW",
}
_WHY_BY_PREFIX: tuple[tuple[str, str], ...] = (
    ("Create", "changes the schema"),
    ("Alter", "changes the schema or the server"),
    ("Drop", "removes objects"),
    ("Define", "changes the schema"),
    ("Grant", "changes privileges"),
    ("Reassign", "changes ownership"),
    ("Import", "changes the schema"),
)
_WHY: dict[str, str] = {
    "InsertStmt": "writes rows",
    "UpdateStmt": "writes rows",
    "DeleteStmt": "removes rows",
    "MergeStmt": "writes rows",
    "TruncateStmt": "removes rows",
    "DoStmt": "runs procedural code",
    "CallStmt": "runs a procedure",
    "TransactionStmt": "would end or change the read-only transaction",
    "ListenStmt": "changes the session",
    "UnlistenStmt": "changes the session",
    "NotifyStmt": "sends a notification",
    "PrepareStmt": "leaves a prepared statement in the session",
    "ExecuteStmt": "runs a prepared statement the guard cannot see",
    "DeallocateStmt": "changes the session",
    "DiscardStmt": "changes the session",
    "DeclareCursorStmt": "opens a cursor",
    "FetchStmt": "reads a cursor the guard cannot see",
    "ClosePortalStmt": "changes the session",
    "LockStmt": "locks tables",
    "LoadStmt": "loads a shared library into the server process",
    "VacuumStmt": "rewrites tables or their statistics, partly outside the transaction",
    "CheckPointStmt": "forces a server checkpoint",
    "ClusterStmt": "rewrites a table",
    "ReindexStmt": "rebuilds indexes",
    "RefreshMatViewStmt": "rewrites a materialized view",
    "CommentStmt": "changes the catalog",
    "SecLabelStmt": "changes the catalog",
    "RenameStmt": "changes the schema",
    "RuleStmt": "changes the schema",
    "ViewStmt": "changes the schema",
    "IndexStmt": "changes the schema",
    "CompositeTypeStmt": "changes the schema",
    "ConstraintsSetStmt": "changes the transaction",
    "ReplicaIdentityStmt": "changes the schema",
}
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


class SqlRefused(InputError):
    """The SQL cannot be run as asked: it does not parse, is not exactly one statement, or is not read-only.

    ``reasons`` lists the causes found in the parse tree (empty for parse and statement-count errors).
    """

    def __init__(self, message: str, *, reasons: Sequence[str] = (), field: str = "sql") -> None:
        super().__init__(message, field=field)
        self.reasons = list(reasons)


class SqlTooComplex(SqlRefused):
    """The SQL is too long or too deeply nested to parse safely (see "Bounded parsing"): nothing was parsed."""


def check_bounds(sql: str) -> None:
    """Refuse, before the parser sees it, a text the parser could not handle safely (see "Bounded parsing")."""
    from pglast import scan
    from pglast.parser import ParseError

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
    return _classify_node(stmt)


def require_read_only(sql: str) -> Classified:
    """Classify the one statement in ``sql``; raise :class:`SqlRefused` unless it is provably read-only."""
    result = classify(sql)
    if not result.read_only:
        raise SqlRefused(
            f"the SQL is not read-only: {'; '.join(result.reasons)}. {_READ_ONLY_HINT}", reasons=result.reasons
        )
    return result


def _check_parameters(stmt: Any, count: int) -> None:
    from pglast import ast

    used = {int(node.number or 0) for node in _walk(stmt) if isinstance(node, ast.ParamRef)}
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
    from pglast import parse_sql, scan
    from pglast.parser import ParseError

    check_bounds(sql)
    try:
        statements = parse_sql(sql)
    except ParseError as exc:
        raise SqlRefused(_parse_error_message(sql, exc)) from None
    if not statements:
        raise SqlRefused("the SQL holds no statement, only whitespace, comments or semicolons: send one statement")
    if len(statements) > 1:
        kinds = ", ".join(_command(raw.stmt) for raw in statements)
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


# -- classification ------------------------------------------------------------------------------------------


def _classify_node(stmt: Any) -> Classified:
    kind = type(stmt).__name__
    not_read_only = _read_only_reasons(stmt)
    destructive = _destructive_reasons(stmt)
    reasons = list(dict.fromkeys([*not_read_only, *destructive]))
    return Classified(
        kind=kind,
        read_only=not not_read_only,
        destructive=bool(destructive),
        reasons=reasons,
        returns_rows=_returns_rows(stmt),
    )


def _returns_rows(stmt: Any) -> bool | None:
    kind = type(stmt).__name__
    if kind == "SelectStmt":
        return stmt.intoClause is None
    if kind in ("ExplainStmt", "VariableShowStmt"):
        return True
    if kind in _DML:
        return _returning(stmt) is not None
    if kind == "FetchStmt":
        return not stmt.ismove
    if kind in ("ExecuteStmt", "CallStmt"):
        return None
    return False


def _returning(stmt: Any) -> Any:
    clause = getattr(stmt, "returningClause", None)
    if clause is not None:
        return clause
    return getattr(stmt, "returningList", None) or None


def _read_only_reasons(stmt: Any) -> list[str]:
    kind = type(stmt).__name__
    if kind == "SelectStmt":
        return _tree_reasons(stmt)
    if kind == "VariableShowStmt":
        return []
    if kind == "ExplainStmt":
        inner = stmt.query
        if type(inner).__name__ != "SelectStmt":
            verb = "EXPLAIN ANALYZE" if _explain_analyzes(stmt) else "EXPLAIN"
            runs = " runs it:" if verb == "EXPLAIN ANALYZE" else ":"
            return [f"{verb} of {_command(inner)}{runs} only EXPLAIN of a SELECT is read-only"]
        return _tree_reasons(inner)
    return [_statement_reason(stmt)]


def _statement_reason(stmt: Any) -> str:
    kind = type(stmt).__name__
    command = _command(stmt)
    if kind == "CopyStmt":
        target = "PROGRAM " if stmt.is_program else ""
        if stmt.is_from:
            return f"COPY FROM {target}writes rows" + (" and runs a program on the server" if target else "")
        if stmt.is_program:
            return "COPY TO PROGRAM runs a program on the server"
        if stmt.filename:
            return "COPY TO a file writes a file on the server"
        return "COPY is not a query: use SELECT"
    if kind == "VariableSetStmt":
        name = (stmt.name or "").lower()
        if name in ("role", "session_authorization"):
            return f"{command} switches the role"
        if name.startswith("transaction") or name == "session characteristics":
            return f"{command} changes the transaction's mode"
        return f"{command} changes session settings"
    if kind == "VacuumStmt":
        return f"{command} {_WHY[kind]}"
    why = _WHY.get(kind)
    if why is None:
        why = next((text for prefix, text in _WHY_BY_PREFIX if kind.startswith(prefix)), "is not a read-only query")
    return f"{command} {why}"


def _tree_reasons(root: Any) -> list[str]:
    """Reasons why a SELECT tree is not read-only: INTO, locking, writing WITH, refused calls."""
    from pglast import ast

    reasons: list[str] = []
    cte_queries: set[int] = set()
    for node in _walk(root):
        if isinstance(node, ast.SelectStmt):
            if node.intoClause is not None:
                reasons.append("SELECT INTO creates a table")
            if node.lockingClause:
                reasons.append("SELECT ... FOR UPDATE/SHARE locks rows")
        elif isinstance(node, ast.CommonTableExpr):
            query = node.ctequery
            if query is not None and not isinstance(query, ast.SelectStmt):
                cte_queries.add(id(query))
                why = _statement_reason(query).split(" ", 1)[-1]
                reasons.append(f"WITH {node.ctename} AS ({_command(query)} ...) {why}")
        elif isinstance(node, ast.FuncCall):
            names = [str(part.sval or "") for part in node.funcname or () if isinstance(part, ast.String)]
            if names:
                refusal = _call_refusal(names)
                if refusal is not None:
                    reasons.append(f"{'.'.join(names)}() {refusal}")
        elif isinstance(node, ast.ColumnRef):
            fields = node.fields or ()
            if len(fields) >= 2 and isinstance(fields[-1], ast.String):
                name = str(fields[-1].sval or "")
                refusal = _function_refusal(name)
                if refusal is not None:
                    reasons.append(f"{name} may call the function {name}(), which {refusal}")
        elif isinstance(node, ast.A_Indirection):
            for item in node.indirection or ():
                if isinstance(item, ast.String):
                    name = str(item.sval or "")
                    refusal = _function_refusal(name)
                    if refusal is not None:
                        reasons.append(f"(...).{name} may call the function {name}(), which {refusal}")
        elif type(node).__name__.endswith("Stmt") and id(node) not in cte_queries:
            reasons.append(f"{_statement_reason(node)} inside the query")
    return list(dict.fromkeys(reasons))


def _call_refusal(names: list[str]) -> str | None:
    """Why a call of the function named by ``names`` (schema parts first) is refused, or None when it is allowed."""
    name = names[-1]
    why = _function_refusal(name)
    if why is not None:
        return why
    schema = names[-2] if len(names) >= 2 else None
    if schema is not None and schema != _BUILTIN_SCHEMA:
        if (schema, name) in _REVIEWED_QUALIFIED:
            return None
        return f"is not a built-in function ({schema} is not pg_catalog): the guard cannot see what it does"
    # Exact case: an unquoted name is already lower-case here, and "LOWER"() would be another, unknown function.
    if name in _read_only_builtins() or name in _REVIEWED or name.startswith(_REVIEWED_PREFIXES):
        return None
    if name.endswith("_is_visible") and name.startswith("pg_"):
        return None
    return _unknown_reason(name)


def _unknown_reason(name: str) -> str:
    lowered = name.lower()
    if lowered.startswith("pg_"):
        if "advisory" in lowered:
            return _ADVISORY
        for prefix, text in _PG_REASONS:
            if lowered.startswith(prefix):
                return text
        return "is a server function not known to be read-only"
    return (
        "is not known to be read-only (only built-in immutable or stable functions and a reviewed list are; "
        "user and extension functions are not)"
    )


def _function_refusal(name: str) -> str | None:
    """Why the function ``name`` is refused by name whatever its schema (case-insensitive), or None."""
    lowered = name.lower()
    why = _DENIED.get(lowered)
    if why is not None:
        return why
    for prefix, text in _DENIED_PREFIXES.items():
        if lowered.startswith(prefix):
            return text
    return None


@functools.cache
def _read_only_builtins() -> frozenset[str]:
    from importlib import resources  # here: not needed for tools/list

    text = resources.files("dokploy_mcp.postgres").joinpath("read_only_functions.txt").read_text(encoding="utf-8")
    return frozenset(line.strip() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def _explain_analyzes(stmt: Any) -> bool:
    """Whether EXPLAIN's options turn ANALYZE on (PostgreSQL's defGetBoolean; anything unclear counts as on)."""
    from pglast import ast

    analyzes = False
    for option in stmt.options or ():
        if not isinstance(option, ast.DefElem) or (option.defname or "").lower() != "analyze":
            continue
        arg = option.arg
        if arg is None:
            value = True
        elif isinstance(arg, ast.Integer):
            value = arg.ival != 0
        elif isinstance(arg, ast.Boolean):
            value = bool(arg.boolval)
        elif isinstance(arg, ast.String):
            value = (arg.sval or "").lower() not in ("false", "off", "0", "no")
        else:
            value = True
        analyzes = analyzes or value
    return analyzes


def _destructive_reasons(stmt: Any, *, under: str = "") -> list[str]:
    from pglast import ast, enums

    kind = type(stmt).__name__
    reasons: list[str] = []
    if isinstance(stmt, ast.DropStmt):
        what = _object_type(stmt.removeType)
        names = ", ".join(_object_name(obj) for obj in stmt.objects or ())
        reasons.append(f"DROP {what} {names} cannot be undone".replace("  ", " "))
        if stmt.behavior == enums.DropBehavior.DROP_CASCADE:
            reasons.append(f"DROP {what} ... CASCADE also removes everything that depends on it")
    elif kind in ("DropdbStmt", "DropRoleStmt", "DropOwnedStmt", "DropTableSpaceStmt", "DropSubscriptionStmt"):
        reasons.append(f"{_command(stmt)} removes objects")
    elif kind == "DropUserMappingStmt":
        reasons.append("DROP USER MAPPING removes a user mapping")
    elif isinstance(stmt, ast.TruncateStmt):
        tables = ", ".join(_range_name(rel) for rel in stmt.relations or ())
        reasons.append(f"TRUNCATE {tables} removes every row")
        if stmt.behavior == enums.DropBehavior.DROP_CASCADE:
            reasons.append("TRUNCATE ... CASCADE also empties the tables that reference it")
    elif isinstance(stmt, ast.DeleteStmt | ast.UpdateStmt) and stmt.whereClause is None:
        verb = "DELETE" if isinstance(stmt, ast.DeleteStmt) else "UPDATE"
        effect = "removes" if verb == "DELETE" else "changes"
        reasons.append(f"{verb} without WHERE {effect} every row of {_range_name(stmt.relation)}")
    elif isinstance(stmt, ast.AlterTableStmt):
        table = _range_name(stmt.relation)
        types = enums.AlterTableType
        for cmd in stmt.cmds or ():
            if not isinstance(cmd, ast.AlterTableCmd):
                continue
            if cmd.subtype == types.AT_DropColumn:
                reasons.append(f"ALTER TABLE {table} DROP COLUMN {cmd.name} removes the column and its data")
            elif cmd.subtype == types.AT_DropConstraint:
                reasons.append(f"ALTER TABLE {table} DROP CONSTRAINT {cmd.name} removes the constraint")
            elif cmd.subtype == types.AT_AlterColumnType:
                reasons.append(f"ALTER TABLE {table} ALTER COLUMN {cmd.name} TYPE rewrites the column's values")
            else:
                continue
            if cmd.behavior == enums.DropBehavior.DROP_CASCADE:
                reasons.append(f"ALTER TABLE {table} ... CASCADE also removes what depends on it")
    elif isinstance(stmt, ast.AlterDomainStmt) and stmt.subtype == "X":
        reasons.append(f"ALTER DOMAIN ... DROP CONSTRAINT {stmt.name} removes the constraint")
    elif isinstance(stmt, ast.DoStmt):
        reasons.append("DO may change anything: its code is not inspected")
    elif isinstance(stmt, ast.ExplainStmt) and _explain_analyzes(stmt) and stmt.query is not None:
        reasons.extend(_destructive_reasons(stmt.query, under="EXPLAIN ANALYZE runs it: "))
    with_clause = getattr(stmt, "withClause", None) if kind in (*_DML, "SelectStmt") else None
    for cte in (with_clause.ctes or ()) if with_clause is not None else ():
        if isinstance(cte, ast.CommonTableExpr) and cte.ctequery is not None:
            reasons.extend(_destructive_reasons(cte.ctequery, under=f"WITH {cte.ctename}: "))
    return [under + reason for reason in reasons]


# -- helpers -------------------------------------------------------------------------------------------------


def _walk(root: Any) -> Iterator[Any]:
    """Every pglast node of the tree under ``root`` (itself included), in document order."""
    from pglast import ast

    stack: list[Any] = [root]
    while stack:
        item = stack.pop()
        if isinstance(item, ast.Node):
            yield item
            slots = getattr(type(item), "__slots__", ())
            stack.extend(getattr(item, name, None) for name in reversed(list(slots)))
        elif isinstance(item, list | tuple):
            stack.extend(reversed(item))


def _command(stmt: Any) -> str:
    """The SQL command a statement node stands for, e.g. ``DROP TABLE``, ``SET ROLE``, ``COMMIT``."""
    from pglast import ast

    kind = type(stmt).__name__
    if isinstance(stmt, ast.DropStmt):
        return f"DROP {_object_type(stmt.removeType)}"
    if isinstance(stmt, ast.TransactionStmt):
        name = getattr(stmt.kind, "name", str(stmt.kind)).removeprefix("TRANS_STMT_").replace("_", " ")
        return {"PREPARE": "PREPARE TRANSACTION", "COMMIT PREPARED": "COMMIT PREPARED"}.get(name, name)
    if isinstance(stmt, ast.VariableSetStmt):
        name = (stmt.name or "").lower()
        verb = "RESET" if "RESET" in getattr(stmt.kind, "name", "") else "SET"
        if name == "role":
            return f"{verb} ROLE"
        if name == "session_authorization":
            return f"{verb} SESSION AUTHORIZATION"
        if name.startswith("transaction") or name == "session characteristics":
            return "SET TRANSACTION"
        return f"{verb} {name}".strip() if name else verb
    if isinstance(stmt, ast.VacuumStmt):
        return "VACUUM" if stmt.is_vacuumcmd else "ANALYZE"
    if isinstance(stmt, ast.GrantStmt | ast.GrantRoleStmt):
        return "GRANT" if stmt.is_grant else "REVOKE"
    if isinstance(stmt, ast.FetchStmt):
        return "MOVE" if stmt.ismove else "FETCH"
    if kind in _COMMANDS:
        return _COMMANDS[kind]
    words = re.findall(r"[A-Z][a-z]*", kind.removesuffix("Stmt"))
    return " ".join(words).upper() or kind


def _object_type(value: Any) -> str:
    name = getattr(value, "name", str(value))
    return name.removeprefix("OBJECT_").replace("_", " ")


def _object_name(obj: Any) -> str:
    from pglast import ast

    if isinstance(obj, ast.String):
        return str(obj.sval)
    if isinstance(obj, list | tuple):
        return ".".join(_object_name(part) for part in obj)
    if isinstance(obj, ast.TypeName):
        return ".".join(str(part.sval) for part in obj.names or () if isinstance(part, ast.String))
    if isinstance(obj, ast.ObjectWithArgs):
        return ".".join(str(part.sval) for part in obj.objname or () if isinstance(part, ast.String)) + "()"
    return "..."


def _range_name(rel: Any) -> str:
    if rel is None:
        return "the table"
    parts = [getattr(rel, "schemaname", None), getattr(rel, "relname", None)]
    return ".".join(str(part) for part in parts if part) or "the table"
