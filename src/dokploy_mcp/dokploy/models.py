"""Trimmed shapes of what Dokploy v0.30.2 returns, keeping only what operating Supabase stacks needs.

Each model ignores the many columns it does not name, so a Dokploy release that adds columns does not break it.
Fields are optional wherever a recording shows ``null`` or one endpoint omits what another returns: ``project.all``
lists composes with only id, name and status, while ``environment.one`` adds description and serverId.

Text that can hold secrets (``env``, file mount contents, generated template envs, S3 keys) is kept out of
``repr()``, so a logged or printed model does not leak it.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator
from pydantic.alias_generators import to_camel, to_pascal

from dokploy_mcp import yamltext

__all__ = [
    "ApiKey",
    "AuthSession",
    "Backup",
    "BackupFile",
    "Compose",
    "ComposeSummary",
    "Container",
    "CurrentUser",
    "DeployResult",
    "Deployment",
    "Destination",
    "Domain",
    "Environment",
    "ImportResult",
    "Mount",
    "ProcessedTemplate",
    "Project",
    "ProjectCreated",
    "Template",
    "TemplateDomain",
    "TemplateMount",
    "TemplateOutput",
    "UserAccount",
    "VolumeBackup",
    "WebServerSettings",
]

# Service lists of an environment other than compose: counted, not modelled, so that a caller can tell whether a
# project is really empty before project.remove (which deletes rows but leaves containers running).
_OTHER_SERVICE_KEYS = ("applications", "mariadb", "mongo", "mysql", "postgres", "redis", "libsql")


class DokployModel(BaseModel):
    """Base of the trimmed models: camelCase on the wire, snake_case in Python, unknown fields dropped."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, alias_generator=to_camel)


class WebServerSettings(DokployModel):
    """Server-wide settings (``settings.getWebServerSettings``). ``server_ip`` drives sslip.io hosts; the Let's
    Encrypt e-mail is the ACME account for every https domain."""

    server_ip: str | None = None
    host: str | None = None
    https: bool | None = None
    certificate_type: str | None = None
    lets_encrypt_email: str | None = None
    updated_at: str | None = None

    @property
    def can_issue_certificates(self) -> bool:
        """Whether Let's Encrypt has an account to issue under: without the e-mail, Traefik issues no certificate."""
        return bool((self.lets_encrypt_email or "").strip())


#: What to tell a caller who asks for https while :attr:`WebServerSettings.can_issue_certificates` is false.
LETS_ENCRYPT_EMAIL_MISSING = (
    "Dokploy's Let's Encrypt e-mail is not set, so no certificate can be issued for the domain: set it in Dokploy "
    "(Settings, Web Server, Let's Encrypt e-mail); this server never rewrites Traefik's configuration"
)


class UserAccount(DokployModel):
    """The person behind the API key."""

    id: str
    email: str | None = None
    first_name: str | None = None
    last_name: str | None = None


class CurrentUser(DokployModel):
    """``user.get``: the caller's membership. ``id`` is the member row, ``user.id`` the person."""

    id: str
    user_id: str | None = None
    organization_id: str
    role: str
    user: UserAccount | None = None


class AuthSession(DokployModel):
    """``/api/auth/sign-up/email`` and ``sign-in/email``: the signed-in user. The session itself is a cookie that the
    client keeps in its jar; the body's token is never stored."""

    user: UserAccount


class ApiKey(DokployModel):
    """``user.createApiKey``: the new key. ``key`` is shown by Dokploy this once only."""

    id: str
    name: str | None = None
    key: SecretStr
    enabled: bool | None = None
    rate_limit_enabled: bool | None = None
    expires_at: str | None = None


class Deployment(DokployModel):
    """One deploy (or backup) run. ``status`` is running, done, error or cancelled; ``log_path`` is on the host."""

    deployment_id: str
    title: str | None = None
    description: str | None = None
    status: str | None = None
    log_path: str | None = None
    compose_id: str | None = None
    application_id: str | None = None
    backup_id: str | None = None
    server_id: str | None = None
    error_message: str | None = None
    created_at: str | None = None
    started_at: str | None = None
    finished_at: str | None = None


class Domain(DokployModel):
    """A routed host. Compose domains become Traefik labels, so they take effect on the next deploy."""

    domain_id: str
    host: str
    https: bool = False
    port: int | None = None
    path: str | None = None
    service_name: str | None = None
    domain_type: str | None = None
    certificate_type: str | None = None
    custom_cert_resolver: str | None = None
    internal_path: str | None = None
    strip_path: bool | None = None
    enabled: bool | None = None
    compose_id: str | None = None
    application_id: str | None = None
    created_at: str | None = None


class Mount(DokployModel):
    """A mount of a service. Compose file mounts are written under ``files/`` at ``file_path``."""

    mount_id: str
    type: str
    file_path: str | None = None
    content: str | None = Field(default=None, repr=False)
    mount_path: str | None = None
    host_path: str | None = None
    volume_name: str | None = None
    service_type: str | None = None
    compose_id: str | None = None


class Destination(DokployModel):
    """An S3-compatible backup target. Dokploy returns the secret key in clear; it is kept as a SecretStr."""

    destination_id: str
    name: str
    provider: str | None = None
    access_key: str | None = None
    secret_access_key: SecretStr | None = Field(default=None, repr=False)
    bucket: str | None = None
    region: str | None = None
    endpoint: str | None = None
    additional_flags: list[str] | None = None
    organization_id: str | None = None
    server_id: str | None = None
    created_at: str | None = None


class Backup(DokployModel):
    """A scheduled backup. For a database inside a compose, ``backup_type`` is "compose" and ``service_name`` the
    compose service (``db`` for Supabase); ``deployments`` lists its runs when the endpoint includes them."""

    backup_id: str
    app_name: str | None = None
    schedule: str | None = None
    enabled: bool | None = None
    database: str | None = None
    prefix: str | None = None
    service_name: str | None = None
    destination_id: str | None = None
    keep_latest_count: int | None = None
    backup_type: str | None = None
    database_type: str | None = None
    compose_id: str | None = None
    metadata: dict[str, Any] | None = None
    destination: Destination | None = None
    deployments: list[Deployment] = Field(default_factory=list)


class BackupFile(BaseModel):
    """One entry of ``backup.listBackupFiles``: rclone's ``lsjson``, so PascalCase on the wire. ``path`` is relative to
    the bucket and is what a restore takes; folders have ``is_dir`` and size 0. Dokploy lists with ``--no-modtime``,
    so ``mod_time`` is usually empty: the timestamp in the file name is the backup's time."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, alias_generator=to_pascal)

    path: str
    name: str
    size: int = 0
    mod_time: str | None = None
    is_dir: bool = False
    tier: str | None = None


class VolumeBackup(DokployModel):
    """A scheduled ``tar`` of a named Docker volume, uploaded to a destination. For a compose, ``volume_name`` is the
    full Docker name (``<appName>_<volume>``) and ``service_name`` the service stopped during the copy when
    ``turn_off`` is set. ``volumeBackups.one`` nests the whole compose, env included: it is dropped, not kept."""

    volume_backup_id: str
    name: str
    volume_name: str
    prefix: str | None = None
    service_type: str | None = None
    app_name: str | None = None
    service_name: str | None = None
    turn_off: bool | None = None
    cron_expression: str | None = None
    keep_latest_count: int | None = None
    enabled: bool | None = None
    compose_id: str | None = None
    destination_id: str | None = None
    created_at: str | None = None


class ComposeSummary(DokployModel):
    """A compose as an environment lists it. ``project.all`` gives only id, name and status; ``environment.one``
    adds description, serverId and createdAt. Neither gives appName or the env: use ``compose.one`` for those."""

    compose_id: str
    name: str
    compose_status: str | None = None
    app_name: str | None = None
    server_id: str | None = None
    description: str | None = None
    created_at: str | None = None


class Environment(DokployModel):
    """An environment of a project. Services are created in an environment, not in a project.

    ``compose`` is empty and ``other_service_count`` zero when the endpoint does not list services (as in
    ``project.create`` and ``compose.one``).
    """

    environment_id: str
    name: str
    description: str | None = None
    is_default: bool | None = None
    project_id: str | None = None
    env: str | None = Field(default=None, repr=False)
    compose: list[ComposeSummary] = Field(default_factory=list)
    other_service_count: int = 0
    project: Project | None = None

    @model_validator(mode="before")
    @classmethod
    def _count_other_services(cls, data: Any) -> Any:
        if isinstance(data, dict) and "otherServiceCount" not in data and "other_service_count" not in data:
            lists = (data.get(key) for key in _OTHER_SERVICE_KEYS)
            count = sum(len(value) for value in lists if isinstance(value, list))
            data = {**data, "otherServiceCount": count}
        return data


class Project(DokployModel):
    """A project: only a name and a description (keep any display name in the description)."""

    project_id: str
    name: str
    description: str | None = None
    organization_id: str | None = None
    env: str | None = Field(default=None, repr=False)
    created_at: str | None = None
    environments: list[Environment] = Field(default_factory=list)


class ProjectCreated(DokployModel):
    """``project.create``: the project and the ``production`` environment Dokploy creates with it."""

    project: Project
    environment: Environment


class Compose(DokployModel):
    """A compose service, the Dokploy home of a Supabase stack.

    ``env`` is the whole KEY=VALUE text blob. The relation lists (deployments, domains, mounts, backups) are filled
    by ``compose.one`` and ``compose.delete``; create, update and deployTemplate return the bare row, so they are
    empty there. ``compose.one`` lists deployments oldest first.
    """

    compose_id: str
    name: str
    app_name: str
    description: str | None = None
    env: str | None = Field(default=None, repr=False)
    compose_file: str | None = Field(default=None, repr=False)
    source_type: str | None = None
    compose_type: str | None = None
    compose_status: str | None = None
    compose_path: str | None = None
    command: str | None = None
    create_env_file: bool | None = None
    environment_id: str | None = None
    server_id: str | None = None
    created_at: str | None = None
    environment: Environment | None = None
    deployments: list[Deployment] = Field(default_factory=list)
    domains: list[Domain] = Field(default_factory=list)
    mounts: list[Mount] = Field(default_factory=list)
    backups: list[Backup] = Field(default_factory=list)

    def service_specs(self) -> dict[str, Any]:
        """The ``services:`` mapping of the compose file, by service name; empty when the file does not parse or
        has none (a compose file is the user's text: it may be anything)."""
        try:
            document = yamltext.load(self.compose_file or "")
        except (yamltext.YamlSyntaxError, RecursionError):
            return {}
        services = document.get("services") if isinstance(document, dict) else None
        return {str(name): spec for name, spec in services.items()} if isinstance(services, dict) else {}


class DeployResult(DokployModel):
    """``compose.deploy`` / ``redeploy``: the job was queued, nothing more. Poll deployments for the outcome."""

    success: bool
    message: str | None = None
    compose_id: str | None = None


class ImportResult(DokployModel):
    """``compose.import``: whether the template replaced the compose file, env, mounts and domains."""

    success: bool
    message: str | None = None


class TemplateDomain(DokployModel):
    """A domain a template would create."""

    service_name: str
    port: int | None = None
    host: str


class TemplateMount(DokployModel):
    """A file mount a template would create."""

    file_path: str
    content: str = Field(default="", repr=False)


class TemplateOutput(DokployModel):
    """What processing a template produced. ``envs`` holds the freshly generated secrets."""

    envs: list[str] = Field(default_factory=list, repr=False)
    mounts: list[TemplateMount] = Field(default_factory=list)
    domains: list[TemplateDomain] = Field(default_factory=list)


class ProcessedTemplate(DokployModel):
    """``compose.processTemplate``: the dry run of a template import; nothing is saved."""

    compose: str = Field(repr=False)
    template: TemplateOutput


class Template(DokployModel):
    """An entry of the template catalogue (``<baseUrl>/meta.json``)."""

    id: str
    name: str | None = None
    description: str | None = None
    version: str | None = None
    logo: str | None = None
    links: dict[str, Any] | None = None
    tags: list[str] = Field(default_factory=list)


class Container(DokployModel):
    """A container of a compose as ``docker ps`` shows it. ``name`` carries the compose project and service."""

    container_id: str
    name: str
    state: str | None = None
    status: str | None = None


Environment.model_rebuild()
