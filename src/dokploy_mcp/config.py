"""Settings: environment variables, an optional ``.env`` file, and CLI flags (a flag wins over the environment).

Names are a contract (DESIGN §2): ``DOKPLOY_URL``, ``DOKPLOY_API_KEY`` / ``DOKPLOY_API_KEY_FILE`` and
``DATABASE_URL`` keep the names other tools use; the server's own settings carry the ``DOKPLOY_MCP_`` prefix.
Nothing here is a module global: :class:`Settings` is built once in the CLI and passed down.

Every bad setting is one :class:`ConfigurationError` that names the variable (or flag) and the fix. Files named by
settings are checked to be regular files before they are opened: a FIFO would block start-up forever. Every secret
read here is registered with :mod:`dokploy_mcp.redact`, so that no log line or error message can show it.
"""

from __future__ import annotations

import ipaddress
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from dokploy_mcp import redact, yamltext
from dokploy_mcp.errors import ConfigurationError
from dokploy_mcp.settingfiles import file_kind, read_setting_file

if TYPE_CHECKING:
    pass

Transport = Literal["stdio", "sse", "streamable-http"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]
ConfirmMode = Literal["auto", "human", "token"]

#: Toolsets in the order the README and `dokploy-mcp tools` list them.
TOOLSETS: tuple[str, ...] = (
    "core",
    "deploy",
    "database",
    "migrations",
    "backups",
    "monitoring",
    "instances",
    "supabase",
)

DEFAULT_ALLOWED_HOSTS: tuple[str, ...] = ("127.0.0.1:*", "localhost:*", "[::1]:*")
DEFAULT_ALLOWED_ORIGINS: tuple[str, ...] = ("http://127.0.0.1:*", "http://localhost:*", "http://[::1]:*")

#: A bearer token guessed by brute force over the network must be out of reach: 32 characters of hex is 128 bits.
MIN_AUTH_TOKEN_LENGTH = 32
#: Bounds on files named by settings: a key is one line and an instances file a page; more is a mistake.
KEY_FILE_LIMIT = 64 * 1024
INSTANCES_FILE_LIMIT = 1024 * 1024

#: Field name -> the environment variable a user sets, so error messages name what to fix.
ENV_NAMES: dict[str, str] = {
    "dokploy_url": "DOKPLOY_URL",
    "dokploy_api_key": "DOKPLOY_API_KEY",
    "dokploy_api_key_file": "DOKPLOY_API_KEY_FILE",
    "database_url": "DATABASE_URL",
    "read_only": "DOKPLOY_MCP_READ_ONLY",
    "toolsets": "DOKPLOY_MCP_TOOLSETS",
    "auth_token": "DOKPLOY_MCP_AUTH_TOKEN",
    "allowed_hosts": "DOKPLOY_MCP_ALLOWED_HOSTS",
    "allowed_origins": "DOKPLOY_MCP_ALLOWED_ORIGINS",
    "instances_file": "DOKPLOY_MCP_INSTANCES_FILE",
    "secret": "DOKPLOY_MCP_SECRET",
    "secret_file": "DOKPLOY_MCP_SECRET_FILE",
    "state_dir": "DOKPLOY_MCP_STATE_DIR",
    "audit_log": "DOKPLOY_MCP_AUDIT_LOG",
    "timeout": "DOKPLOY_MCP_TIMEOUT",
    "log_level": "DOKPLOY_MCP_LOG_LEVEL",
    "transport": "DOKPLOY_MCP_TRANSPORT",
    "host": "DOKPLOY_MCP_HOST",
    "port": "DOKPLOY_MCP_PORT",
    "backup_key": "DOKPLOY_MCP_BACKUP_KEY",
    "backup_key_file": "DOKPLOY_MCP_BACKUP_KEY_FILE",
    "backup_passphrase": "DOKPLOY_MCP_BACKUP_PASSPHRASE",
    "backup_dir": "DOKPLOY_MCP_BACKUP_DIR",
    "backup_s3_url": "DOKPLOY_MCP_BACKUP_S3_URL",
    "s3_endpoint": "DOKPLOY_MCP_S3_ENDPOINT",
}
#: Field name -> its command-line flag, for the settings that have one.
FLAG_NAMES: dict[str, str] = {
    "read_only": "--read-only",
    "toolsets": "--toolsets",
    "auth_token": "--auth-token",
    "allowed_hosts": "--allowed-hosts",
    "allowed_origins": "--allowed-origins",
    "instances_file": "--instances",
    "secret_file": "--secret-file",
    "state_dir": "--state-dir",
    "audit_log": "--audit-log",
    "timeout": "--timeout",
    "log_level": "--log-level",
    "transport": "--transport",
    "host": "--host",
    "port": "--port",
    "backup_key_file": "--backup-key-file",
    "backup_dir": "--backup-dir",
    "backup_s3_url": "--backup-s3-url",
    "s3_endpoint": "--s3-endpoint",
}

_INSTANCES = "DOKPLOY_MCP_INSTANCES_FILE"
_SERVER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,62}")
# What an HTTP header carries unchanged. A key or token with a space, a line break or non-ASCII text would be refused
# by the HTTP client at the first call, far from the setting that caused it.
_HEADER_SAFE = re.compile(r"[\x21-\x7e]+")
_RANGE_ERRORS = frozenset({"greater_than", "greater_than_equal", "less_than", "less_than_equal"})


def default_state_dir() -> Path:
    """``$XDG_STATE_HOME/dokploy-mcp``, else ``~/.local/state/dokploy-mcp`` (created with mode 0700 on first write)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "dokploy-mcp"


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def setting_name(field: str) -> str:
    """How a message names a setting: its variable, and its flag when it has one."""
    env_name = ENV_NAMES.get(field, field)
    flag = FLAG_NAMES.get(field)
    return f"{env_name} ({flag})" if flag else env_name


def is_loopback_host(host: str) -> bool:
    """True for the names and addresses only this machine reaches: ``localhost``, 127.0.0.0/8 and ::1."""
    name = host.strip().removeprefix("[").removesuffix("]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """Every setting of the server. Build it with :func:`load_settings` to get contract-shaped errors."""

    model_config = SettingsConfigDict(
        env_prefix="DOKPLOY_MCP_",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        populate_by_name=True,
        case_sensitive=False,
    )

    dokploy_url: str | None = Field(default=None, validation_alias="DOKPLOY_URL")
    dokploy_api_key: SecretStr | None = Field(default=None, validation_alias="DOKPLOY_API_KEY")
    dokploy_api_key_file: Path | None = Field(default=None, validation_alias="DOKPLOY_API_KEY_FILE")
    database_url: SecretStr | None = Field(default=None, validation_alias="DATABASE_URL")

    read_only: bool = False
    toolsets: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(TOOLSETS))
    auth_token: SecretStr | None = None
    allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_ALLOWED_HOSTS))
    allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=lambda: list(DEFAULT_ALLOWED_ORIGINS))
    instances_file: Path | None = None
    timeout: float = Field(default=30.0, gt=0, le=3600)
    # Below the 60 s request timeout most clients use, with room for the answer; long work runs on as a job.
    call_budget: float = Field(default=45.0, ge=0.5, le=3600)
    #: auto: ask the person (elicitation) when the client can, else a token; human: only a person; token: tokens.
    confirm: ConfirmMode = "auto"
    #: Keys confirmation tokens and the SDK's sealed request state: the same on every worker of one deployment.
    secret: SecretStr | None = None
    secret_file: Path | None = None
    #: Where the server keeps what must survive a restart (the token secret, the audit log by default).
    state_dir: Path = Field(default_factory=lambda: default_state_dir())
    #: The audit trail of every change (JSON lines): a file, by default ``<state_dir>/audit.jsonl``; ``-`` is stderr.
    audit_log: str | None = None
    log_level: LogLevel = "INFO"
    transport: Transport = "stdio"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)
    # Backups are always encrypted: one of the three key settings is needed before the first backup is written.
    backup_key: SecretStr | None = Field(default=None, repr=False)
    backup_key_file: Path | None = None
    backup_passphrase: SecretStr | None = Field(default=None, repr=False)
    #: Our backups' local directory, by default ``<state_dir>/backups``; unused when ``backup_s3_url`` is set.
    backup_dir: Path | None = None
    #: ``s3://bucket/prefix``: store our backups in S3-compatible storage (credentials by boto3's conventions).
    backup_s3_url: str | None = Field(default=None, max_length=1024)
    #: The S3 endpoint for storage that is not AWS (MinIO, R2, ...), e.g. ``https://minio.example.com``.
    s3_endpoint: str | None = Field(default=None, max_length=1024)

    @field_validator("toolsets", "allowed_hosts", "allowed_origins", mode="before")
    @classmethod
    def _split_commas(cls, value: Any) -> Any:
        return _comma_list(value)

    @field_validator("toolsets")
    @classmethod
    def _known_toolsets(cls, value: list[str]) -> list[str]:
        names = [name.lower() for name in value]
        if not names or names == ["all"]:
            return list(TOOLSETS)
        unknown = [name for name in names if name not in TOOLSETS]
        if unknown:
            raise ValueError(f"unknown toolset(s) {', '.join(unknown)}; choose from: all, {', '.join(TOOLSETS)}")
        # Keep the catalogue's order so the tool list does not depend on how the user spelled the selection.
        return [name for name in TOOLSETS if name in names]

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value

    @field_validator(
        "dokploy_url",
        "database_url",
        "auth_token",
        "dokploy_api_key",
        "secret",
        "backup_key",
        "backup_passphrase",
        "backup_s3_url",
        "s3_endpoint",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # An exported-but-empty variable (`DOKPLOY_URL=`) means "not set", not "set to nothing".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @property
    def is_loopback_bind(self) -> bool:
        return is_loopback_host(self.host)

    @property
    def backup_directory(self) -> Path:
        return self.backup_dir if self.backup_dir is not None else self.state_dir / "backups"


class DokployServerConfig(BaseModel):
    """One Dokploy server the tools can address (``server:`` prefix in stack paths)."""

    model_config = ConfigDict(frozen=True)

    name: str
    url: str | None
    api_key: SecretStr | None = Field(default=None, repr=False)
    #: Where the key comes from, for messages ("set DOKPLOY_PROD_API_KEY"); never the key itself.
    api_key_source: str

    @property
    def configured(self) -> bool:
        return self.url is not None and self.api_key is not None


@dataclass(frozen=True)
class DokployServers:
    default: str
    servers: dict[str, DokployServerConfig]

    def get(self, name: str | None) -> DokployServerConfig:
        key = name or self.default
        try:
            return self.servers[key]
        except KeyError:
            known = ", ".join(sorted(self.servers)) or "none"
            raise ConfigurationError(
                f"no Dokploy server named {key!r}; configured servers: {known}",
                setting="DOKPLOY_MCP_INSTANCES_FILE",
            ) from None


class _InstanceEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str
    api_key_env: str | None = None
    api_key_file: str | None = None


class _InstancesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default: str | None = None
    servers: dict[str, _InstanceEntry]


def validate_dokploy_url(
    url: str, *, setting: str, where: str | None = None, credentials_go: str = "DOKPLOY_API_KEY"
) -> str:
    """``url`` checked, without its trailing slash. Messages name ``where`` (or ``setting``) and never a password.

    Credentials in the URL are refused rather than masked: the URL is shown by ``doctor`` and in answers, and an
    API key is the only credential Dokploy's API takes.
    """
    label = where or setting
    text = url.strip()
    shown = redact.scrub(text)
    if not text.isprintable() or any(char.isspace() for char in text):
        raise ConfigurationError(f"{label} must be a URL without spaces or control characters", setting=setting)
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError as exc:
        raise ConfigurationError(
            f"{label} is not a valid URL ({exc}): got {shown!r}; write it like http://203.0.113.10:3000 or "
            "http://[2001:db8::1]:3000",
            setting=setting,
        ) from None
    if "@" in parts.netloc:
        raise ConfigurationError(
            f"{label} must not hold credentials (user:password@): put credentials in {credentials_go}, not in the URL",
            setting=setting,
        )
    if parts.scheme not in {"http", "https"} or not parts.hostname or port == 0:
        raise ConfigurationError(
            f"{label} must be an http(s) URL of the Dokploy server such as http://203.0.113.10:3000, got {shown!r}",
            setting=setting,
        )
    if parts.query or parts.fragment or "?" in text or "#" in text:
        raise ConfigurationError(
            f"{label} must be the Dokploy server's address alone, without a ?query or #fragment", setting=setting
        )
    return text.rstrip("/")


def _api_key(value: str, *, label: str, setting: str) -> SecretStr:
    text = value.strip()
    # Remembered before it is checked, so that even a refused key is masked wherever it might be echoed.
    redact.remember(text)
    if not _HEADER_SAFE.fullmatch(text):
        raise ConfigurationError(
            f"{label} must hold the API key alone: it has spaces, line breaks or non-ASCII characters, which the "
            "x-api-key header cannot carry",
            setting=setting,
        )
    return SecretStr(text)


def _read_key_file(path: Path, *, setting: str, where: str | None = None) -> SecretStr:
    label = where or setting
    hint = "point it at the file written by `dokploy-mcp bootstrap`"
    text = read_setting_file(path, label=label, setting=setting, limit=KEY_FILE_LIMIT, hint=hint).strip()
    if not text:
        raise ConfigurationError(f"{label} names {str(path)!r}, which is empty; {hint}", setting=setting)
    return _api_key(text, label=label, setting=setting)


def load_dokploy_servers(settings: Settings, environ: Mapping[str, str] | None = None) -> DokployServers:
    """Resolve the Dokploy servers: the instances file when given, else one ``default`` server from the env."""
    if settings.instances_file is not None:
        return _load_instances_file(settings.instances_file, os.environ if environ is None else environ)
    url = validate_dokploy_url(settings.dokploy_url, setting="DOKPLOY_URL") if settings.dokploy_url else None
    key, source = _env_api_key(settings)
    server = DokployServerConfig(name="default", url=url, api_key=key, api_key_source=source)
    return DokployServers(default="default", servers={"default": server})


def _env_api_key(settings: Settings) -> tuple[SecretStr | None, str]:
    if settings.dokploy_api_key is not None:
        key = settings.dokploy_api_key.get_secret_value()
        return _api_key(key, label="DOKPLOY_API_KEY", setting="DOKPLOY_API_KEY"), "DOKPLOY_API_KEY"
    if settings.dokploy_api_key_file is not None:
        return _read_key_file(settings.dokploy_api_key_file, setting="DOKPLOY_API_KEY_FILE"), "DOKPLOY_API_KEY_FILE"
    return None, "DOKPLOY_API_KEY or DOKPLOY_API_KEY_FILE"


def _load_instances_file(path: Path, env: Mapping[str, str]) -> DokployServers:
    parsed = _parse_instances_file(path)
    servers = {name: _instance_server(name, entry, path, env) for name, entry in parsed.servers.items()}
    return DokployServers(default=_default_server(parsed.default, servers), servers=servers)


def _read_instances_yaml(path: Path) -> Any:
    hint = "point it at the YAML file of Dokploy servers"
    text = read_setting_file(path, label=_INSTANCES, setting=_INSTANCES, limit=INSTANCES_FILE_LIMIT, hint=hint)
    try:
        return yamltext.load(text)
    except yamltext.YamlSyntaxError as exc:
        raise ConfigurationError(f"{_INSTANCES}: {str(path)!r} is not valid YAML ({exc})", setting=_INSTANCES) from None
    except RecursionError:
        raise ConfigurationError(f"{_INSTANCES}: {str(path)!r} is nested too deeply", setting=_INSTANCES) from None


def _parse_instances_file(path: Path) -> _InstancesFile:
    raw = _read_instances_yaml(path)
    if isinstance(raw, dict) and isinstance(raw.get("servers"), dict):
        for name, entry in raw["servers"].items():
            if isinstance(entry, dict) and "api_key" in entry:
                raise ConfigurationError(
                    f"{_INSTANCES}: server {name!r} has an api_key in the file; keys never live in the instances "
                    "file: use api_key_env (a variable's name) or api_key_file (a path) instead",
                    setting=_INSTANCES,
                )
    try:
        parsed = _InstancesFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise ConfigurationError(
            f"{_INSTANCES}: {str(path)!r} at {where}: {first['msg']} "
            "(expected `default: NAME` and `servers: {NAME: {url: ..., api_key_env: VAR}}`)",
            setting=_INSTANCES,
        ) from None
    if not parsed.servers:
        raise ConfigurationError(f"{_INSTANCES}: {str(path)!r} lists no servers", setting=_INSTANCES)
    return parsed


def _instance_server(name: str, entry: _InstanceEntry, path: Path, env: Mapping[str, str]) -> DokployServerConfig:
    if not _SERVER_NAME.fullmatch(name):
        raise ConfigurationError(
            f"{_INSTANCES}: server name {name!r} must be letters, digits, '-' or '_' (it is used as `name:` "
            "in stack addresses)",
            setting=_INSTANCES,
        )
    url = validate_dokploy_url(
        entry.url,
        setting=_INSTANCES,
        where=f"{_INSTANCES}: servers.{name}.url",
        credentials_go="the variable named by api_key_env",
    )
    if entry.api_key_env and entry.api_key_file:
        raise ConfigurationError(
            f"{_INSTANCES}: server {name!r} sets both api_key_env and api_key_file; keep one", setting=_INSTANCES
        )
    key, source = _instance_key(name, entry, path, env)
    return DokployServerConfig(name=name, url=url, api_key=key, api_key_source=source)


def _instance_key(name: str, entry: _InstanceEntry, path: Path, env: Mapping[str, str]) -> tuple[SecretStr | None, str]:
    if entry.api_key_env:
        value = env.get(entry.api_key_env, "")
        if not value.strip():
            return None, entry.api_key_env
        label = f"{entry.api_key_env} (api_key_env of server {name!r} in {_INSTANCES})"
        return _api_key(value, label=label, setting=entry.api_key_env), entry.api_key_env
    if entry.api_key_file:
        key_path = Path(entry.api_key_file).expanduser()
        if not key_path.is_absolute():
            key_path = path.parent / key_path
        where = f"{_INSTANCES}: servers.{name}.api_key_file"
        return _read_key_file(key_path, setting=_INSTANCES, where=where), f"the file {str(key_path)!r}"
    return None, f"api_key_env for server {name!r} in {_INSTANCES}"


def _default_server(default: str | None, servers: dict[str, DokployServerConfig]) -> str:
    if default is not None:
        if default not in servers:
            raise ConfigurationError(
                f"{_INSTANCES}: default {default!r} is not one of the servers ({', '.join(servers)})",
                setting=_INSTANCES,
            )
        return default
    if len(servers) == 1:
        return next(iter(servers))
    raise ConfigurationError(
        f"{_INSTANCES}: several servers are listed; say which one is used by default with `default: NAME`",
        setting=_INSTANCES,
    )


def _bounds(field: str) -> str | None:
    """The range a numeric setting allows, in words, from the constraints declared on its field (one source)."""
    limits: dict[str, Any] = {}
    for constraint in Settings.model_fields[field].metadata if field in Settings.model_fields else ():
        limits.update({k: getattr(constraint, k) for k in ("ge", "gt", "le", "lt") if hasattr(constraint, k)})
    if "ge" in limits and "le" in limits:
        return f"from {limits['ge']} to {limits['le']}"
    words = {"ge": "at least", "gt": "more than", "le": "at most", "lt": "less than"}
    parts = [f"{words[k]} {v}" for k, v in limits.items()]
    return " and ".join(parts) or None


def _invalid_setting(exc: ValidationError) -> ConfigurationError:
    first = exc.errors()[0]
    field = str(first["loc"][0]) if first["loc"] else ""
    env_name = ENV_NAMES.get(field, field)
    message = first["msg"].removeprefix("Value error, ")
    bounds = _bounds(field)
    # Only numeric settings have bounds, so the value given can be quoted back: it is never a secret.
    if first["type"] in _RANGE_ERRORS and bounds:
        message = f"must be {bounds}, got {first['input']!r}"
    elif bounds and first["type"].endswith("_parsing"):
        message = f"{message}: give a number {bounds}, got {first['input']!r}"
    return ConfigurationError(f"invalid {setting_name(field)}: {message}", setting=env_name)


def _refuse_special_dotenv() -> None:
    # pydantic-settings reads a FIFO named .env too (for `<(...)` tricks), and would wait for a writer forever.
    try:
        mode = Path(".env").stat().st_mode
    except (OSError, ValueError):
        return
    if stat.S_ISFIFO(mode) or stat.S_ISCHR(mode) or stat.S_ISSOCK(mode):
        raise ConfigurationError(
            f"the .env file in the working directory is {file_kind(mode)}, not a regular file: replace it with a "
            "file of KEY=value lines or remove it",
            setting=".env",
        )


def _dotenv_error(exc: UnicodeDecodeError | OSError) -> ConfigurationError:
    if isinstance(exc, UnicodeDecodeError):
        why = f"is not UTF-8 text (bad byte at offset {exc.start}): save it as UTF-8"
    else:
        why = f"cannot be read ({exc.strerror or exc}): fix its permissions"
    return ConfigurationError(f"the .env file in the working directory {why}, or remove it", setting=".env")


def _check_http_auth(settings: Settings) -> None:
    if settings.transport == "stdio":
        return
    named = setting_name("auth_token")
    token = settings.auth_token.get_secret_value() if settings.auth_token is not None else None
    if token is not None and not _HEADER_SAFE.fullmatch(token):
        raise ConfigurationError(
            f"invalid {named}: use letters, digits and punctuation only (no spaces, line breaks or non-ASCII): "
            "clients send it in an HTTP header",
            setting="DOKPLOY_MCP_AUTH_TOKEN",
        )
    if settings.is_loopback_bind:
        return
    strong = f"at least {MIN_AUTH_TOKEN_LENGTH} random characters (for example `openssl rand -hex 32`)"
    if token is None:
        raise ConfigurationError(
            f"refusing to serve {settings.transport} on {settings.host!r} without a bearer token: set {named} to "
            f"{strong}, or bind 127.0.0.1",
            setting="DOKPLOY_MCP_AUTH_TOKEN",
        )
    if len(token) < MIN_AUTH_TOKEN_LENGTH:
        raise ConfigurationError(
            f"{named} is too short ({len(token)} characters) to serve {settings.transport} on {settings.host!r}: "
            f"use {strong}, or bind 127.0.0.1",
            setting="DOKPLOY_MCP_AUTH_TOKEN",
        )


def _remember_secrets(settings: Settings) -> None:
    # DATABASE_URL's password alone is registered where the URL is parsed (postgres.conninfo.parse_setting): parsing
    # needs psycopg, which settings (the base layer) do not import.
    redact.remember(
        settings.auth_token,
        settings.dokploy_api_key,
        settings.database_url,
        settings.secret,
        settings.backup_key,
        settings.backup_passphrase,
    )


def load_settings(**overrides: Any) -> Settings:
    """Build :class:`Settings`; flags passed as ``overrides`` win over the environment.

    Raises :class:`ConfigurationError` naming the variable to fix, never a pydantic traceback.
    """
    _refuse_special_dotenv()
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        raise _invalid_setting(exc) from None
    except (UnicodeDecodeError, OSError) as exc:
        raise _dotenv_error(exc) from None
    _remember_secrets(settings)
    _check_http_auth(settings)
    return settings
