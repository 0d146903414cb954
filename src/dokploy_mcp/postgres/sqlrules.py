"""The SQL guard's rules as data: which functions a read-only statement may call, and what each statement is.

The rules themselves, and why they are what they are, are :mod:`dokploy_mcp.postgres.sqlguard`'s contract (its
docstring); :mod:`dokploy_mcp.postgres.sqltree` applies them to a parse tree. Nothing here imports pglast.
"""

from __future__ import annotations

import functools

__all__ = ["COMMANDS", "DML", "WHY", "WHY_BY_PREFIX", "call_refusal", "function_refusal"]

# -- functions -----------------------------------------------------------------------------------------------

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


def call_refusal(names: list[str]) -> str | None:
    """Why a call of the function named by ``names`` (schema parts first) is refused, or None when it is allowed."""
    name = names[-1]
    why = function_refusal(name)
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


def function_refusal(name: str) -> str | None:
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


# -- statements ----------------------------------------------------------------------------------------------

DML = frozenset({"InsertStmt", "UpdateStmt", "DeleteStmt", "MergeStmt"})
# The SQL command a statement node stands for, where the node's name does not say it plainly.
COMMANDS: dict[str, str] = {
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
# Why a statement is not read-only: by its node, else by the first word of the node's name.
WHY_BY_PREFIX: tuple[tuple[str, str], ...] = (
    ("Create", "changes the schema"),
    ("Alter", "changes the schema or the server"),
    ("Drop", "removes objects"),
    ("Define", "changes the schema"),
    ("Grant", "changes privileges"),
    ("Reassign", "changes ownership"),
    ("Import", "changes the schema"),
)
WHY: dict[str, str] = {
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
