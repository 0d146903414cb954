"""Expected failures: one tree, rooted here.

Every failure that a caller can act on is a subclass of :class:`DokployMCPError`. Domain and client code raises only
these and knows nothing of MCP; each error carries its facts as attributes (the setting, the field, the HTTP status,
the cause, the next tool call), and :func:`dokploy_mcp.explain.explain`, called at the tool boundary and by the CLI,
is the one place that turns them into words. Anything else that escapes a tool is a bug and is logged with its
traceback. ``tests/test_errors.py`` walks this tree and holds every class to a specific explanation.

The whole tree (module: class, what it means)::

    errors.DokployMCPError                        base; ``what`` names the kind, ``next_step`` the call to make next
    ├── errors.ConfigurationError                 a setting is missing or wrong (``setting``)
    ├── bootstrap.BootstrapError                  `dokploy-mcp bootstrap` cannot go on (Dokploy down, admin refused)
    ├── errors.InputError                         an argument is invalid (``field``)
    │   ├── postgres.errors.SqlRefused            the SQL guard refuses a statement (``reasons``)
    │   │   └── SqlTooComplex                     too long or too deep to parse safely; nothing was parsed
    │   └── postgres.errors.ConnectionStringError a DSN / target does not parse
    ├── confirm.ConfirmationError                 a confirm_token is missing, wrong, expired or stale (``reason``)
    ├── errors.JobStoppedError                    a job was asked to stop (cancel_job, shutdown); its undo follows
    ├── errors.JobNotFoundError                   no job with this id in this process (``job_id``)
    ├── dokploy.errors.DokployError               Dokploy's API (``server``)
    │   ├── DokployTransportError                 no answer: DNS, refused, TLS (``url``)
    │   │   └── DokployTimeoutError               no answer in time (``timeout``, ``path``)
    │   ├── DokployAPIError                       an HTTP error answer (``status``, ``path``, ``message``)
    │   │   ├── DokployAuthError                  401 / 403
    │   │   ├── DokployNotFoundError              404
    │   │   ├── DokployValidationError            400 with field errors (``field_errors``)
    │   │   └── DokployRateLimitedError           429 (``retry_after``)
    │   ├── DokployRestoreError                   Dokploy's restore failed or its outcome is unknown (``last_lines``)
    │   └── DokployResponseError                  an answer of the wrong shape
    │       └── DokployProtocolError              an answer past the reader's limits (size, depth)
    ├── kong.errors.GatewayError                  a stack's Kong gateway (``url``)
    │   ├── GatewayUnreachableError               no answer
    │   ├── GatewayAuthError                      a key is refused
    │   └── GatewayResponseError                  an error or unexpected answer (``status``)
    ├── postgres.errors.DatabaseError             PostgreSQL (``target``)
    │   ├── DatabaseConnectionError               cannot connect
    │   ├── DatabaseQueryError                    the server refused a statement (``sqlstate``)
    │   │   └── ReadOnlyViolationError            a write in a read-only transaction
    │   ├── DatabaseTimeoutError                  statement timeout (``timeout_ms``)
    │   ├── PartlyAppliedError                    a non-transactional migration stopped midway (``applied``)
    │   ├── CopyFailedError                       a copy stopped in a table; resumable (``table``, ``kept``)
    │   └── RoleNotPermittedError                 SET ROLE refused (``role``)
    ├── backups.errors.BackupError                backups (``location``)
    │   ├── BackupKeyError                        no backup key set, or the key setting is unusable (``setting``)
    │   ├── BackupIntegrityError                  checksum, authentication, truncation, order (``reason``, ``chunk``)
    │   ├── BackupNotFoundError                   no backup with this id or key
    │   └── BackupStorageError                    the directory or S3 failed (``store``, ``cause``)
    ├── postgres.errors.PgToolError               pg_dump / pg_restore missing, too old or failed (``tool``)
    └── supabase.errors                           Supabase stacks
        ├── StackNotFoundError                    no compose at the address
        ├── NotASupabaseStackError                a compose, not from the Supabase template
        ├── ConcurrentChangeError                 the env changed under the call; nothing written
        ├── EnvWriteError                         Dokploy stored another env than the one written
        ├── TemplateUnavailableError              the template could not be fetched (``source``, ``cause``)
        ├── DeployFailedError                     a deploy ended badly (``status``)
        └── KeyStepError                          a step of a key change failed (``step``)
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, Field


# A tool call that moves a caller on: the fix a finding proposes, or where a problem is looked at next. (A comment,
# not a docstring: pydantic would put a docstring into every output schema that holds one.)
class NextStep(BaseModel):
    tool: str
    arguments: dict[str, Any]
    placeholders: list[str] = Field(
        default_factory=list, description="arguments holding example values that must be replaced before the call"
    )


class DokployMCPError(Exception):
    """Base of every expected failure. ``str(err)`` is safe to show: it never holds a secret.

    ``what`` (per class) names the kind of failure in a few words, for the explanation's lead; ``next_step`` is the
    tool call that moves the caller on, when there is one.
    """

    what: ClassVar[str] = "The call failed"

    def __init__(self, message: str, *, next_step: NextStep | None = None) -> None:
        super().__init__(message)
        self.next_step = next_step


class ConfigurationError(DokployMCPError):
    """A setting is missing or invalid.

    ``setting`` names the environment variable or flag to fix, so the message can say exactly what to do.
    """

    what = "Configuration"

    def __init__(self, message: str, *, setting: str | None = None) -> None:
        super().__init__(message)
        self.setting = setting


class InputError(DokployMCPError):
    """An argument is invalid. ``field`` names it; the message says what a valid value looks like."""

    what = "Invalid argument"

    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


class JobStoppedError(DokployMCPError):
    """The job a flow runs in was asked to stop (``cancel_job`` or shutdown) and stopped at a safe point.

    A domain error on purpose: the flows that restore on a failed step restore on a stop the same way.
    """

    what = "Stopped"


class JobNotFoundError(DokployMCPError):
    """No job with this id in this process: jobs live in the server process that started them, for an hour after
    they finish."""

    what = "No such job"

    def __init__(self, message: str, *, job_id: str, next_step: NextStep | None = None) -> None:
        super().__init__(message, next_step=next_step)
        self.job_id = job_id
