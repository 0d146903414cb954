"""Where a database tool's ``target`` points, and what is wrong when a connection fails.

``target`` (DESIGN §2) is a connection string (URL, libpq key=value, JDBC, Supabase pooler form), a stack address
(compose id or ``project/compose``, optionally ``server:``-prefixed), or nothing for ``DATABASE_URL``. A Supabase
stack's PostgreSQL listens only inside the stack's Docker network (``POSTGRES_HOST=db``; the template publishes no
port), so a stack is reached through pg-meta behind its kong gateway; a connection string is reached directly.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Route = Literal["direct", "pg-meta via kong"]

_CONNECTION_STRING = re.compile(r"^\s*(?:[A-Za-z][A-Za-z0-9+.\-]*://|jdbc:)|=", re.IGNORECASE)


def is_connection_string(target: str) -> bool:
    """True for URLs, JDBC and key=value strings; stack addresses have neither a scheme nor ``=``."""
    return bool(_CONNECTION_STRING.search(target))


@dataclass(frozen=True)
class Diagnosis:
    code: Literal[
        "auth_failed",
        "host_unreachable",
        "ssl_required",
        "ssl_unavailable",
        "database_missing",
        "pooler_tenant",
        "pooler_mode",
        "timeout",
        "too_many_connections",
        "unknown",
    ]
    fix: str


_RULES: tuple[tuple[re.Pattern[str], Diagnosis], ...] = tuple(
    (re.compile(pattern, re.IGNORECASE), diagnosis)
    for pattern, diagnosis in (
        (
            r"password authentication failed|authentication failed|no password supplied|"
            r"role \S+ does not exist",
            Diagnosis(
                "auth_failed",
                "check the user and password (a Supabase pooler user is postgres.<tenant id>); for a stack, the "
                "password is POSTGRES_PASSWORD of its env",
            ),
        ),
        (
            r"no pg_hba\.conf entry .*no encryption|SSL required|requires SSL|sslmode value .require. invalid",
            Diagnosis("ssl_required", "the server accepts only SSL connections: add sslmode=require to the target"),
        ),
        (
            r"server does not support SSL|SSL was required, but",
            Diagnosis("ssl_unavailable", "the server does not offer SSL: use sslmode=prefer or disable"),
        ),
        (
            r"database \S+ does not exist",
            Diagnosis("database_missing", "the database name is wrong: Supabase's is postgres"),
        ),
        (
            r"tenant or user not found|tenant_not_found",
            Diagnosis(
                "pooler_tenant",
                "the pooler does not know this user: Supavisor users are postgres.<tenant id> (POOLER_TENANT_ID of "
                "the stack's env)",
            ),
        ),
        (
            r"prepared statement .* (does not exist|already exists)|unsupported startup parameter",
            Diagnosis(
                "pooler_mode",
                "the pooler runs in transaction mode (port 6543), which breaks session features: use the session "
                "port 5432 of the pooler, or connect to PostgreSQL directly",
            ),
        ),
        (
            r"too many clients|remaining connection slots are reserved|max client connections reached",
            Diagnosis(
                "too_many_connections",
                "the server has no free connection slot: call monitor_connections to see who holds them",
            ),
        ),
        (
            r"timeout expired|timed out|no answer from",
            Diagnosis("timeout", "the server did not answer in time: check the host, the port and any firewall"),
        ),
        (
            r"could not translate host name|Name or service not known|nodename nor servname|connection refused|"
            r"No route to host|Network is unreachable|could not connect to server|connection to server at",
            Diagnosis(
                "host_unreachable",
                "nothing answers at that host and port: check them; a Supabase stack's host `db` exists only inside "
                "its Docker network (use the stack's address as target, or publish the pooler's port)",
            ),
        ),
    )
)


def diagnose(message: str) -> Diagnosis:
    """The class of a connection failure from libpq's (or the pooler's) message, with the fix to try."""
    for pattern, diagnosis in _RULES:
        if pattern.search(message):
            return diagnosis
    return Diagnosis("unknown", "read the server's message above; health_check shows this server's settings")
