"""The errors of the PostgreSQL layer: their messages, their hierarchy, and which one a SQLSTATE is."""

from __future__ import annotations

import pytest

from dokploy_mcp.errors import DokployMCPError
from dokploy_mcp.postgres.errors import (
    DatabaseError,
    DatabaseQueryError,
    DatabaseTimeoutError,
    ReadOnlyViolationError,
    RoleNotPermittedError,
    statement_error,
)


def test_query_error_message_carries_sqlstate_detail_and_hint() -> None:
    err = DatabaseQueryError(
        'duplicate key value violates unique constraint "t_pkey"',
        target="postgresql://u:****@h/db",
        sqlstate="23505",
        detail="Key (id)=(1) already exists.",
        hint="Use another id.",
    )
    assert str(err) == (
        'duplicate key value violates unique constraint "t_pkey" (SQLSTATE 23505)\n'
        "DETAIL: Key (id)=(1) already exists.\nHINT: Use another id."
    )
    assert (err.sqlstate, err.detail, err.hint, err.target) == (
        "23505",
        "Key (id)=(1) already exists.",
        "Use another id.",
        "postgresql://u:****@h/db",
    )


def test_database_errors_belong_to_the_domain_hierarchy() -> None:
    target = "postgresql://h/db"
    assert isinstance(ReadOnlyViolationError("x", target=target, sqlstate="25006"), DatabaseQueryError)
    assert DatabaseTimeoutError("x", target=target, timeout_ms=5).timeout_ms == 5
    assert RoleNotPermittedError("x", target=target, role="r").role == "r"
    assert isinstance(RoleNotPermittedError("x", target=target, role="r"), DokployMCPError)


@pytest.mark.parametrize(
    ("sqlstate", "kind"),
    [
        ("57014", DatabaseTimeoutError),
        ("25006", ReadOnlyViolationError),
        ("42P01", DatabaseQueryError),
        (None, DatabaseQueryError),
    ],
)
def test_a_refusal_becomes_the_error_its_sqlstate_names(sqlstate: str | None, kind: type[DatabaseError]) -> None:
    err = statement_error("refused", target="t", sqlstate=sqlstate, detail="d", hint="h", timeout_ms=250)
    assert type(err) is kind
    assert err.target == "t"
    if sqlstate == "57014":
        assert str(err) == "refused (statement_timeout 250 ms): narrow the query or raise timeout_ms"
    else:
        assert isinstance(err, DatabaseQueryError) and (err.sqlstate, err.detail, err.hint) == (sqlstate, "d", "h")
