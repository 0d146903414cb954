"""Turn an expected failure into one message that names the cause and the next step.

The one place errors become words (see :mod:`dokploy_mcp.errors` for the tree): the tool boundary
(:mod:`dokploy_mcp.registry`), the tools that keep failures inside a result, and the CLI (``doctor``, ``bootstrap``)
call it, so the model and a human read the same advice. Families with facts worth spelling out (Dokploy, Kong,
PostgreSQL, the template) have their own wording; every other class leads with its ``what`` and ends with its
``next_step``. Messages never contain a secret: the errors themselves never hold one.
"""

from __future__ import annotations

import json

from dokploy_mcp.backups import errors as b
from dokploy_mcp.dokploy import errors as d
from dokploy_mcp.errors import DokployMCPError, InputError
from dokploy_mcp.kong import errors as k
from dokploy_mcp.postgres import errors as p
from dokploy_mcp.supabase.errors import TemplateUnavailableError


def explain(exc: DokployMCPError) -> str:
    if isinstance(exc, InputError):
        return f"Invalid {exc.field}: {exc}"
    if isinstance(exc, d.DokployError):
        return _explain_dokploy(exc)
    if isinstance(exc, p.DatabaseError):
        return _explain_database(exc)
    if isinstance(exc, k.GatewayError):
        return _explain_gateway(exc)
    if isinstance(exc, b.BackupError):
        return _explain_backup(exc)
    if isinstance(exc, p.PgToolError):
        detail = f" ({exc.detail})" if exc.detail else ""
        return f"{exc.tool} cannot do this: {exc}{detail}"
    if isinstance(exc, TemplateUnavailableError):
        return (
            f"Dokploy could not get the Supabase template from {exc.source} ({explain(exc.cause)}). When the Dokploy "
            "host cannot reach the internet, call again with template: a folder on this machine with the "
            "template's docker-compose.yml and template.toml (imported offline), or a mirror's URL"
        )
    return f"{exc.what}: {exc}{_next(exc)}"


def _next(exc: DokployMCPError) -> str:
    step = exc.next_step
    if step is None:
        return ""
    arguments = f" with {json.dumps(step.arguments, sort_keys=True)}" if step.arguments else ""
    return f" (next: call {step.tool}{arguments})"


def _explain_dokploy(exc: d.DokployError) -> str:
    where = f"Dokploy server {exc.server!r}"
    if isinstance(exc, d.DokployTimeoutError):
        return (
            f"{where} did not answer within {exc.timeout:g} s ({exc}); check that it is up, or raise "
            "DOKPLOY_MCP_TIMEOUT for slow servers"
        )
    if isinstance(exc, d.DokployTransportError):
        return (
            f"Cannot reach {where} at {exc.url} ({exc}); check the URL (it is Dokploy's own address, port 3000 "
            "by default) and that this machine can reach it"
        )
    if isinstance(exc, d.DokployAPIError):
        return _explain_dokploy_answer(exc, where)
    if isinstance(exc, d.DokployRestoreError):
        return (
            f"{exc}. Check the database before trying again: a restore whose connection was lost may still be running "
            "on the Dokploy server (its log is in Dokploy's UI)"
        )
    if isinstance(exc, d.DokployProtocolError):
        return (
            f"{where} sent an answer past the limits this server reads ({exc}); a real Dokploy never does: check that "
            "the URL reaches Dokploy itself and not something else, and look at that server or what sits in front "
            "of it"
        )
    if isinstance(exc, d.DokployResponseError):
        return (
            f"{where} sent an answer this server does not understand ({exc}); this Dokploy may not be the supported "
            "version"
        )
    return f"{where}: {exc}"


def _explain_dokploy_answer(exc: d.DokployAPIError, where: str) -> str:
    if isinstance(exc, d.DokployRateLimitedError):
        after = f" after {exc.retry_after:g} s" if exc.retry_after is not None else " later"
        return f"{where} is rate limiting requests (429 on {exc.path}); try again{after}"
    if isinstance(exc, d.DokployAuthError):
        if exc.status == 403:
            return (
                f"{where} refused {exc.path} (403: {exc.message}); the API key's user lacks the permission: use a "
                "key of an owner or admin"
            )
        return (
            f"{where} answered 401 on {exc.path}: the API key is wrong or expired, or it was created with "
            "Dokploy's default rate limit (5 REST calls a day); create a key with rate limiting off "
            "(`dokploy-mcp bootstrap` does) and set it in DOKPLOY_API_KEY or DOKPLOY_API_KEY_FILE"
        )
    if isinstance(exc, d.DokployNotFoundError):
        return (
            f"{where} answered 404 on {exc.path}: {exc.message}; the id does not exist (list the stacks with "
            "dokploy_list_instances to get valid ids), or this Dokploy is not the supported version"
        )
    if isinstance(exc, d.DokployValidationError):
        fields = "; ".join(f"{name}: {', '.join(msgs)}" for name, msgs in exc.field_errors.items())
        detail = fields or exc.message
        return f"{where} rejected the input of {exc.path} ({detail}); correct these fields and call again"
    return f"{where} failed on {exc.path} with {exc.status}: {exc.message}; check Dokploy's own logs for the cause"


def _explain_gateway(exc: k.GatewayError) -> str:
    if isinstance(exc, k.GatewayUnreachableError):
        return f"{exc}; the stack may be stopped or its domain not resolving yet: check it with dokploy_monitor_health"
    if isinstance(exc, k.GatewayAuthError):
        who = "Kong refused the key" if exc.refused_by == "kong" else "the service behind Kong refused the key"
        return (
            f"{who} ({exc.status} at {exc.url}: {exc}); the stack's ANON_KEY / SERVICE_ROLE_KEY may not be signed "
            "with its JWT_SECRET: check with dokploy_validate_config, re-sign with dokploy_regenerate_keys"
        )
    if isinstance(exc, k.GatewayResponseError):
        status = f" {exc.status}" if exc.status is not None else ""
        return f"The Supabase gateway answered{status} at {exc.url}: {exc}; dokploy_get_logs shows the service's side"
    return f"The Supabase gateway at {exc.url} failed: {exc}"


def _explain_database(exc: p.DatabaseError) -> str:
    target = f" ({exc.target})" if exc.target else ""
    if isinstance(exc, p.DatabaseConnectionError):
        return (
            f"Cannot connect to the database{target}: {exc}; check host, port, user and password, and that the "
            "database accepts connections from this machine"
        )
    if isinstance(exc, p.DatabaseTimeoutError):
        return (
            f"The statement ran longer than {exc.timeout_ms} ms and was cancelled{target}; narrow it or raise the "
            "timeout"
        )
    if isinstance(exc, p.ReadOnlyViolationError):
        return f"The statement tried to write in a read-only transaction{target}: {exc}"
    if isinstance(exc, p.RoleNotPermittedError):
        return f"Cannot switch to role {exc.role!r}{target}: {exc}"
    if isinstance(exc, p.PartlyAppliedError):
        return f"The migration stopped after {exc.applied} of {exc.total} statements{target}: {exc}"
    if isinstance(exc, p.CopyFailedError):
        return f"The copy stopped in table {exc.table}{target}: {exc}"
    if isinstance(exc, p.DatabaseQueryError):
        return f"The database refused the statement{target}: {exc}"
    return f"Database error{target}: {exc}"


def _explain_backup(exc: b.BackupError) -> str:
    where = f" ({exc.location})" if exc.location else ""
    if isinstance(exc, b.BackupKeyError):
        return (
            f"No usable backup key: {exc}. Backups are always encrypted: set {exc.setting} "
            "(32 random bytes as hex, e.g. `openssl rand -hex 32`), keep a copy apart from the backups, and call again"
        )
    if isinstance(exc, b.BackupIntegrityError):
        return (
            f"The backup{where} is not what was written ({exc.reason}): {exc}. Nothing was restored from it; "
            "restore another backup (list_backups) or check the key it was made with"
        )
    if isinstance(exc, b.BackupStorageError):
        return f"The backup store ({exc.store}) failed{where}: {exc}"
    return f"{exc.what}{where}: {exc}{_next(exc)}"
