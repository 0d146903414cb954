"""Turn an expected failure into one message that names the cause and the next step.

Used by the tool boundary (:mod:`dokploy_mcp.registry`) and by ``dokploy-mcp doctor``, so the model and a human
read the same advice. Messages never contain a secret: the errors themselves never hold one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dokploy_mcp.errors import ConfigurationError, DokployMCPError, InputError

if TYPE_CHECKING:
    from dokploy_mcp.dokploy.errors import DokployError
    from dokploy_mcp.postgres.errors import DatabaseError


def explain(exc: DokployMCPError) -> str:
    # Imported here so that importing the registry at start-up does not pull in the clients' modules.
    from dokploy_mcp.dokploy.errors import DokployError
    from dokploy_mcp.postgres.errors import DatabaseError
    from dokploy_mcp.supabase.wizard import TemplateUnavailableError

    if isinstance(exc, ConfigurationError):
        return f"Configuration: {exc}"
    if isinstance(exc, InputError):
        return f"Invalid {exc.field}: {exc}"
    if isinstance(exc, DokployError):
        return _explain_dokploy(exc)
    if isinstance(exc, DatabaseError):
        return _explain_database(exc)
    if isinstance(exc, TemplateUnavailableError):
        return (
            f"Dokploy could not get the Supabase template from {exc.source} ({explain(exc.cause)}). When the Dokploy "
            "host cannot reach the internet, call again with template_dir (a folder on this machine with the "
            "template's docker-compose.yml and template.toml, imported offline) or template_mirror"
        )
    return str(exc)


def _explain_dokploy(exc: DokployError) -> str:
    from dokploy_mcp.dokploy import errors as d

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
    if isinstance(exc, d.DokployAPIError):
        return f"{where} failed on {exc.path} with {exc.status}: {exc.message}; check Dokploy's own logs for the cause"
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


def _explain_database(exc: DatabaseError) -> str:
    from dokploy_mcp.postgres import errors as p

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
    if isinstance(exc, p.DatabaseQueryError):
        return f"The database refused the statement{target}: {exc}"
    return f"Database error{target}: {exc}"
