"""Who is connected to a PostgreSQL server and what is stuck: the data behind ``monitor_connections``.

One read-only ``SELECT`` without bind parameters reads ``pg_stat_activity`` (client backends only: background
workers, autovacuum and WAL senders have slots of their own and do not count against ``max_connections``),
groups it, lists the long-running queries, the sessions idle in a transaction and the lock waits (with
``pg_blocking_pids``), and answers one JSON value. Thresholds are validated numbers embedded as literals, so the
statement runs unchanged over the direct route and over pg-meta (see :mod:`dokploy_mcp.postgres.introspect`).

Visibility: without superuser or ``pg_read_all_stats``, PostgreSQL shows the state, query, client, application,
wait event and even the backend type of the connected user's own sessions only. Other roles' sessions attached
to a database still count in ``in_use`` (a hidden parallel worker or logical WAL sender would count too) and show
up as ``hidden``; the report then says so in ``visibility_note``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from dokploy_mcp.postgres.introspect import Executor, fetch_one_json

__all__ = [
    "Alert",
    "BlockedSession",
    "BlockingSession",
    "ConnectionReport",
    "Session",
    "Thresholds",
    "connection_report",
    "connection_report_query",
]

_MAX_SESSIONS = 20
_MAX_GROUPS = 30
_QUERY_CHARS = 300
OTHERS = "(others)"
HIDDEN = "hidden"


#: A share of max_connections, in percent. The tools' argument schemas use these same types (one source of bounds).
UsePercent = Annotated[float, Field(gt=0, le=100, allow_inf_nan=False)]
#: A duration threshold in seconds, at most a year.
MAX_THRESHOLD_S = 86_400 * 365
ThresholdSeconds = Annotated[float, Field(ge=0, le=MAX_THRESHOLD_S, allow_inf_nan=False)]


class Thresholds(BaseModel):
    """When the report raises an alert. Durations in seconds; ``blocked`` is the count tolerated."""

    model_config = ConfigDict(frozen=True)

    use_percent: UsePercent = 80
    long_running_s: ThresholdSeconds = 60
    idle_in_transaction_s: ThresholdSeconds = 30
    blocked: int = Field(default=0, ge=0, le=1_000_000)


class Session(BaseModel):
    pid: int
    user: str | None
    application: str | None
    client: str | None = Field(description="client address, `local` for a Unix socket, null when hidden")
    state: str | None
    duration_s: float | None = Field(
        description="long-running: since the query started; idle in transaction: since it went idle; "
        "blocking: since its transaction started"
    )
    xact_s: float | None = Field(description="age of the session's open transaction")
    query: str | None = Field(description=f"the current or last query, cut at {_QUERY_CHARS} characters")


class BlockingSession(Session):
    blocks: list[int] = Field(description="pids waiting on this session's locks")
    root: bool = Field(description="it waits on nobody itself: ending its transaction frees the chain")
    backend_type: str | None = None


class BlockedSession(BaseModel):
    pid: int
    user: str | None
    application: str | None
    blocked_by: list[int] = Field(description="pg_blocking_pids; 0 stands for a prepared transaction")
    wait_event: str | None = Field(description="`type:event`, e.g. `Lock:transactionid`")
    duration_s: float | None = Field(description="since the waiting query started")
    query: str | None


AlertCode = Literal["connections_high", "long_running_queries", "idle_in_transaction", "blocked_sessions"]


class Alert(BaseModel):
    code: AlertCode
    severity: Literal["warning", "critical"]
    message: str
    suggested_action: str


class ConnectionReport(BaseModel):
    max_connections: int
    reserved: int = Field(description="superuser_reserved_connections + reserved_connections (PostgreSQL 16+)")
    in_use: int = Field(description="client backends, including this report's own connection")
    free_slots: int = Field(description="connections still open to roles without superuser or reserved slots")
    use_percent: float = Field(description="in_use / max_connections, in percent")
    by_state: dict[str, int]
    by_user: dict[str, int]
    by_application: dict[str, int]
    by_client: dict[str, int]
    long_running: list[Session]
    long_running_total: int
    idle_in_transaction: list[Session]
    idle_in_transaction_total: int
    blocked: list[BlockedSession]
    blocked_total: int
    blocking: list[BlockingSession]
    alerts: list[Alert]
    thresholds: Thresholds
    observed_as: str = Field(description="the role the report ran as")
    hidden_sessions: int = Field(description="sessions whose details this role may not see")
    visibility_note: str | None = None


def _seconds(expr: str) -> str:
    # greatest() skips NULLs, so a hidden start time needs the CASE to stay null rather than become 0.
    return f"CASE WHEN {expr} IS NOT NULL THEN round(greatest(extract(epoch FROM now() - {expr}), 0)::numeric, 1) END"


def _session_json(alias: str, duration: str) -> str:
    return (
        f"pg_catalog.json_build_object('pid', {alias}.pid, 'user', {alias}.usr, 'application', {alias}.app,"
        f" 'client', {alias}.client, 'state', {alias}.state, 'duration_s', {_seconds(duration)},"
        f" 'xact_s', {_seconds(f'{alias}.xact_start')}, 'query', {alias}.query)"
    )


def _interval(seconds: float) -> str:
    return f"(interval '1 second' * {float(seconds)!r})"


# -- the query -------------------------------------------------------------------------------------------------

_CLIENT = (
    "CASE WHEN s.client_port IS NULL THEN NULL WHEN s.client_addr IS NULL THEN 'local'"
    " ELSE pg_catalog.host(s.client_addr) END"
)
# The busiest keys of each dimension, counted over the client backends (a).
_GROUPS = " UNION ALL ".join(
    f"SELECT '{dim}' AS dim, {key} AS key, count(*) AS n FROM a GROUP BY 2"
    for dim, key in (
        ("state", f"coalesce(a.state, '{HIDDEN}')"),
        ("user", "coalesce(a.usr, '?')"),
        ("application", f"CASE WHEN a.app IS NULL THEN '{HIDDEN}' WHEN a.app = '' THEN '(none)' ELSE a.app END"),
        ("client", f"coalesce(a.client, '{HIDDEN}')"),
    )
)
# The client backends (a) and their groups (g); the query goes on with the sessions past the thresholds.
_SESSIONS = f"""
WITH a AS (
  SELECT s.pid, s.usename::text AS usr, s.application_name AS app, {_CLIENT} AS client, s.state,
         s.wait_event_type, s.wait_event, left(s.query, {_QUERY_CHARS}) AS query,
         s.query_start, s.state_change, s.xact_start
  FROM pg_catalog.pg_stat_activity s
  -- Another role's session shows no backend_type to an unprivileged viewer: one attached to a database counts.
  WHERE s.backend_type = 'client backend' OR (s.backend_type IS NULL AND s.datid IS NOT NULL)
), g AS (
  SELECT dim, key, n, row_number() OVER (PARTITION BY dim ORDER BY n DESC, key) AS rk FROM ({_GROUPS}) u
"""
# Blocked and blocking sessions, then the one JSON answer over all of it.
_REPORT = f"""), blk AS (
  SELECT a.*, pg_catalog.pg_blocking_pids(a.pid) AS blocked_by FROM a
  WHERE a.pid <> pg_catalog.pg_backend_pid() AND (a.wait_event_type = 'Lock' OR a.state IS NULL)
), bl AS (
  SELECT * FROM blk WHERE cardinality(blocked_by) > 0
), br AS (
  SELECT DISTINCT unnest(blocked_by) AS pid FROM bl
)
SELECT pg_catalog.json_build_object(
  'max_connections', pg_catalog.current_setting('max_connections')::int,
  'superuser_reserved', pg_catalog.current_setting('superuser_reserved_connections')::int,
  'reserved', coalesce(pg_catalog.current_setting('reserved_connections', true), '0')::int,
  'in_use', (SELECT count(*) FROM a),
  'observed_as', current_user,
  'superuser', pg_catalog.current_setting('is_superuser') = 'on',
  'read_all_stats', pg_catalog.pg_has_role(current_user, 'pg_read_all_stats', 'USAGE'),
  'hidden', (SELECT count(*) FROM a WHERE a.state IS NULL),
  'groups', (SELECT pg_catalog.json_agg(pg_catalog.json_build_array(g.dim, g.key, g.n) ORDER BY g.dim, g.rk)
             FROM g WHERE g.rk <= {_MAX_GROUPS}),
  'long_running_total', (SELECT count(*) FROM lr),
  'long_running', (SELECT pg_catalog.json_agg({_session_json("x", "x.query_start")} ORDER BY x.query_start)
                   FROM (SELECT * FROM lr ORDER BY query_start LIMIT {_MAX_SESSIONS}) x),
  'idle_in_transaction_total', (SELECT count(*) FROM it),
  'idle_in_transaction', (SELECT pg_catalog.json_agg({_session_json("x", "x.state_change")} ORDER BY x.state_change)
                          FROM (SELECT * FROM it ORDER BY state_change LIMIT {_MAX_SESSIONS}) x),
  'blocked_total', (SELECT count(*) FROM bl),
  'blocked', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'pid', x.pid, 'user', x.usr, 'application', x.app, 'blocked_by', x.blocked_by,
      'wait_event', x.wait_event_type || ':' || x.wait_event, 'duration_s', {_seconds("x.query_start")},
      'query', x.query) ORDER BY x.query_start)
    FROM (SELECT * FROM bl ORDER BY query_start LIMIT {_MAX_SESSIONS * 2}) x),
  'blocking', (SELECT pg_catalog.json_agg(pg_catalog.json_build_object(
      'pid', br.pid, 'user', s.usename, 'application', s.application_name,
      'client', CASE WHEN br.pid = 0 THEN 'prepared transaction' ELSE {_CLIENT} END,
      'state', s.state, 'backend_type', s.backend_type,
      'duration_s', {_seconds("s.xact_start")}, 'xact_s', {_seconds("s.xact_start")},
      'query', left(s.query, {_QUERY_CHARS}),
      'blocks', (SELECT pg_catalog.json_agg(b.pid ORDER BY b.pid) FROM bl b WHERE br.pid = ANY (b.blocked_by)),
      'root', NOT EXISTS (SELECT 1 FROM bl b WHERE b.pid = br.pid)) ORDER BY br.pid)
    FROM (SELECT * FROM br ORDER BY pid LIMIT {_MAX_SESSIONS * 2}) br
    LEFT JOIN pg_catalog.pg_stat_activity s ON s.pid = br.pid AND br.pid <> 0)
) AS report
"""


def connection_report_query(thresholds: Thresholds) -> str:
    """The single SELECT behind :func:`connection_report` (one row, one json column ``report``)."""
    long_cut = _interval(thresholds.long_running_s)
    idle_cut = _interval(thresholds.idle_in_transaction_s)
    return f"""{_SESSIONS}), lr AS (
  SELECT * FROM a
  WHERE a.state = 'active' AND a.pid <> pg_catalog.pg_backend_pid() AND a.query_start <= now() - {long_cut}
), it AS (
  SELECT * FROM a
  WHERE a.state IN ('idle in transaction', 'idle in transaction (aborted)') AND a.pid <> pg_catalog.pg_backend_pid()
    AND a.state_change <= now() - {idle_cut}
{_REPORT}"""


async def connection_report(execute: Executor, thresholds: Thresholds | None = None) -> ConnectionReport:
    """Read the server's connections once and judge them against ``thresholds`` (defaults: :class:`Thresholds`)."""
    limits = thresholds or Thresholds()
    data: dict[str, Any] = await fetch_one_json(execute, connection_report_query(limits), "report")
    max_connections = int(data["max_connections"])
    reserved = int(data["superuser_reserved"]) + int(data["reserved"])
    in_use = int(data["in_use"])
    use_percent = round(100 * in_use / max_connections, 1) if max_connections else 100.0
    free_slots = max(0, max_connections - reserved - in_use)
    grouped: dict[str, dict[str, int]] = {"state": {}, "user": {}, "application": {}, "client": {}}
    for dim, key, count in data["groups"] or []:
        grouped[dim][str(key)] = int(count)
    for counts in grouped.values():
        rest = in_use - sum(counts.values())
        if rest > 0:
            counts[OTHERS] = counts.get(OTHERS, 0) + rest
    long_running = [Session.model_validate(row) for row in data["long_running"] or []]
    idle = [Session.model_validate(row) for row in data["idle_in_transaction"] or []]
    blocked = [BlockedSession.model_validate(row) for row in data["blocked"] or []]
    blocking = [BlockingSession.model_validate(row) for row in data["blocking"] or []]
    report = ConnectionReport(
        max_connections=max_connections,
        reserved=reserved,
        in_use=in_use,
        free_slots=free_slots,
        use_percent=use_percent,
        by_state=grouped["state"],
        by_user=grouped["user"],
        by_application=grouped["application"],
        by_client=grouped["client"],
        long_running=long_running,
        long_running_total=int(data["long_running_total"]),
        idle_in_transaction=idle,
        idle_in_transaction_total=int(data["idle_in_transaction_total"]),
        blocked=blocked,
        blocked_total=int(data["blocked_total"]),
        blocking=blocking,
        alerts=[],
        thresholds=limits,
        observed_as=str(data["observed_as"]),
        hidden_sessions=int(data["hidden"]),
        visibility_note=_visibility_note(data),
    )
    report.alerts = _alerts(report, limits)
    return report


def _visibility_note(data: dict[str, Any]) -> str | None:
    if data["superuser"] or data["read_all_stats"]:
        return None
    who = data["observed_as"]
    return (
        f"connected as {who}, which is neither superuser nor a member of pg_read_all_stats: "
        f"{data['hidden']} session(s) of other roles count in in_use but show no state, query, application, client "
        "or wait event "
        "(listed as 'hidden'), so long-running, idle-in-transaction and blocked sessions of other roles can be "
        f"missing. For the full picture run as a superuser (supabase_admin) or GRANT pg_read_all_stats TO {who}."
    )


def _who(session: Session | BlockingSession) -> str:
    parts = [f"pid {session.pid}"]
    if session.application:
        parts.append(f"app {session.application!r}")
    if session.user:
        parts.append(f"user {session.user}")
    return ", ".join(parts)


_CONNECTIONS_ACTION = (
    "See by_application and by_client for who holds the connections (by_state.idle: held but unused). "
    "Send application traffic through the pooler (Supavisor, transaction mode, port 6543) and lower "
    "client pool sizes; end abandoned sessions with SELECT pg_terminate_backend(pid). Raise "
    "max_connections only with memory to spare (it needs a restart)."
)
# The alerts on the longest session of a kind: its message and what to do, {pid} being that session's.
_LONGEST: dict[AlertCode, tuple[str, str]] = {
    "long_running_queries": (
        "{total} {queries} running longer than {threshold:g}s; longest: {who}, {duration:g}s",
        "Check the query (EXPLAIN); cancel it with SELECT pg_cancel_backend({pid}), or end the "
        "session with SELECT pg_terminate_backend({pid}) if the cancel does not take. Cap runaway "
        "queries with ALTER ROLE <role> SET statement_timeout = '30s'.",
    ),
    "idle_in_transaction": (
        "{total} session(s) idle inside an open transaction for more than {threshold:g}s; longest: {who}, "
        "idle {duration:g}s",
        "An open transaction keeps its locks and holds back VACUUM: fix the client to COMMIT or ROLLBACK "
        "promptly; end this one with SELECT pg_terminate_backend({pid}); set a guard with ALTER ROLE "
        "<role> SET idle_in_transaction_session_timeout = '60s'.",
    ),
}
_PREPARED_ACTION = (
    " A prepared transaction (pid 0) ends only with COMMIT PREPARED or ROLLBACK PREPARED (see pg_prepared_xacts)."
)


def _alerts(report: ConnectionReport, limits: Thresholds) -> list[Alert]:
    found = (
        _connections_alert(report, limits),
        _longest_alert("long_running_queries", report.long_running, report.long_running_total, limits.long_running_s),
        _longest_alert(
            "idle_in_transaction",
            report.idle_in_transaction,
            report.idle_in_transaction_total,
            limits.idle_in_transaction_s,
        ),
        _blocked_alert(report, limits),
    )
    return [alert for alert in found if alert is not None]


def _connections_alert(report: ConnectionReport, limits: Thresholds) -> Alert | None:
    if report.use_percent < limits.use_percent:
        return None
    exhausted = report.free_slots == 0
    message = (
        f"{report.in_use} of {report.max_connections} connections in use ({report.use_percent:g}%, "
        f"threshold {limits.use_percent:g}%); {report.free_slots} left for ordinary roles ({report.reserved} reserved)"
    )
    if exhausted:
        message += "; new connections of ordinary roles are refused"
    return Alert(
        code="connections_high",
        severity="critical" if exhausted or report.use_percent >= 95 else "warning",
        message=message,
        suggested_action=_CONNECTIONS_ACTION,
    )


def _longest_alert(code: AlertCode, sessions: list[Session], total: int, threshold: float) -> Alert | None:
    """The warning about the first (longest) of ``sessions``, ``total`` of them past ``threshold`` seconds."""
    if not sessions:
        return None
    top = sessions[0]
    message, action = _LONGEST[code]
    return Alert(
        code=code,
        severity="warning",
        message=message.format(
            total=total,
            queries="query" if total == 1 else "queries",
            threshold=threshold,
            who=_who(top),
            duration=top.duration_s,
        ),
        suggested_action=action.format(pid=top.pid),
    )


def _blocked_alert(report: ConnectionReport, limits: Thresholds) -> Alert | None:
    if report.blocked_total <= limits.blocked:
        return None
    roots = [b for b in report.blocking if b.root] or report.blocking
    described = "; ".join(
        "a prepared transaction (pid 0)" if b.pid == 0 else f"{_who(b)} ({b.state or b.backend_type or 'hidden'})"
        for b in roots[:5]
    )
    terminate = ", ".join(f"SELECT pg_terminate_backend({b.pid})" for b in roots[:5] if b.pid != 0)
    action = (
        "Let the blocking transaction finish, or end it"
        + (f": {terminate}" if terminate else "")
        + ". A blocker idle in transaction means its client forgot to COMMIT."
    )
    if any(b.pid == 0 for b in roots):
        action += _PREPARED_ACTION
    return Alert(
        code="blocked_sessions",
        severity="critical" if report.blocked_total > max(5, 2 * limits.blocked) else "warning",
        message=(
            f"{report.blocked_total} session(s) waiting on locks (threshold {limits.blocked}); "
            f"blocked by {described or 'sessions this role cannot see'}"
        ),
        suggested_action=action,
    )
