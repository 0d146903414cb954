"""The SQL guard's function rules, checked against a real server: what it allows is immutable, stable or reviewed."""

from __future__ import annotations

import psycopg
from psycopg import sql

from dokploy_mcp.postgres.sqlguard import classify
from dokploy_mcp.postgres.sqlrules import _read_only_builtins

# Volatile pg_catalog functions reviewed as safe to allow in a read-only statement.
REVIEWED_SAFE = {
    # trigger functions, access-method and language handlers: not callable from a query
    *(
        f"RI_FKey_{action}"
        for action in (
            "cascade_del",
            "cascade_upd",
            "check_ins",
            "check_upd",
            "noaction_del",
            "noaction_upd",
            "restrict_del",
            "restrict_upd",
            "setdefault_del",
            "setdefault_upd",
            "setnull_del",
            "setnull_upd",
        )
    ),
    "suppress_redundant_updates_trigger",
    "tsvector_update_trigger",
    "tsvector_update_trigger_column",
    "unique_key_recheck",
    "amvalidate",
    "bernoulli",
    "system",
    "brinhandler",
    "bthandler",
    "ginhandler",
    "gisthandler",
    "hashhandler",
    "spghandler",
    "heap_tableam_handler",
    "plpgsql_call_handler",
    "plpgsql_inline_handler",
    "plpgsql_validator",
    "dsnowball_init",
    "dsnowball_lexize",
    # clocks, randomness, sequences read, session facts
    "clock_timestamp",
    "timeofday",
    "random",
    "gen_random_uuid",
    "currval",
    "lastval",
    "current_query",
    "currtid2",
    "txid_status",
    # server facts and sizes (read)
    "pg_blocking_pids",
    "pg_safe_snapshot_blocking_pids",
    "pg_collation_actual_version",
    "pg_database_collation_actual_version",
    "pg_control_checkpoint",
    "pg_control_init",
    "pg_control_recovery",
    "pg_control_system",
    "pg_current_logfile",
    "pg_current_wal_flush_lsn",
    "pg_current_wal_insert_lsn",
    "pg_current_wal_lsn",
    "pg_database_size",
    "pg_indexes_size",
    "pg_relation_size",
    "pg_table_size",
    "pg_tablespace_size",
    "pg_total_relation_size",
    "pg_hba_file_rules",
    "pg_ident_file_mappings",
    "pg_show_all_file_settings",
    "pg_is_in_recovery",
    "pg_is_wal_replay_paused",
    "pg_jit_available",
    "pg_last_committed_xact",
    "pg_last_wal_receive_lsn",
    "pg_last_wal_replay_lsn",
    "pg_last_xact_replay_timestamp",
    "pg_lock_status",
    "pg_notification_queue_usage",
    "pg_partition_ancestors",
    "pg_partition_tree",
    "pg_prepared_xact",
    "pg_sequence_last_value",
    "pg_stat_have_stats",
    "pg_xact_commit_timestamp",
    "pg_xact_commit_timestamp_origin",
    "pg_xact_status",
    "pg_sleep",
    "pg_sleep_for",
    "pg_sleep_until",
}


def test_volatile_catalog_functions_are_refused_or_known_safe(pg_server_url: str) -> None:
    """Deny by default, checked against the server: every volatile pg_catalog function the guard allows is
    on this reviewed list. A new server version adding one makes this fail until it is reviewed."""
    with psycopg.connect(pg_server_url) as conn:
        names = [
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT proname FROM pg_proc WHERE provolatile = 'v'"
                " AND pronamespace = 'pg_catalog'::regnamespace"
            )
        ]
    assert len(names) > 150
    allowed = set()
    for name in names:
        call = sql.SQL("SELECT {}()").format(sql.Identifier(name)).as_string(None)
        if classify(call).read_only:
            allowed.add(name)
    unreviewed = {name for name in allowed - REVIEWED_SAFE if not name.startswith(("pg_get_", "pg_stat_get_"))}
    assert unreviewed == set()
    assert "pg_terminate_backend" in names and "pg_terminate_backend" not in allowed


def test_listed_built_ins_are_immutable_or_stable_on_this_server(pg_server_url: str) -> None:
    """The shipped list of read-only built-ins, checked against a real server: every listed name that this server
    has is immutable or stable in each of its pg_catalog overloads (the list may hold names of newer versions)."""
    listed = _read_only_builtins()
    assert len(listed) > 1500
    with psycopg.connect(pg_server_url) as conn:
        verdicts: dict[str, bool] = dict(
            conn.execute(
                "SELECT proname, bool_and(provolatile IN ('i', 's')) FROM pg_proc"
                " WHERE pronamespace = 'pg_catalog'::regnamespace AND prokind IN ('f', 'a', 'w') GROUP BY proname"
            ).fetchall()
        )
    present = listed & verdicts.keys()
    assert len(present) > 1500
    assert sorted(name for name in present if not verdicts[name]) == []
    assert "lower" in listed and "set_config" not in listed and "pg_terminate_backend" not in listed
