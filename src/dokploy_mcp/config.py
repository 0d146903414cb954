"""Settings: environment variables, an optional ``.env`` file, and CLI flags (a flag wins over the environment).

Names are a contract (DESIGN §2): ``DOKPLOY_URL``, ``DOKPLOY_API_KEY`` / ``DOKPLOY_API_KEY_FILE`` and
``DATABASE_URL`` keep the names other tools use; the server's own settings carry the ``DOKPLOY_MCP_`` prefix.
Nothing here is a module global: :class:`Settings` is built once in the CLI and passed down.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from dokploy_mcp.errors import ConfigurationError

Transport = Literal["stdio", "sse", "streamable-http"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

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
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})

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
    "timeout": "DOKPLOY_MCP_TIMEOUT",
    "log_level": "DOKPLOY_MCP_LOG_LEVEL",
    "transport": "DOKPLOY_MCP_TRANSPORT",
    "host": "DOKPLOY_MCP_HOST",
    "port": "DOKPLOY_MCP_PORT",
}

_SERVER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$")


def _comma_list(value: Any) -> Any:
    if isinstance(value, str):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


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
    log_level: LogLevel = "INFO"
    transport: Transport = "stdio"
    host: str = "127.0.0.1"
    port: int = Field(default=8000, ge=1, le=65535)

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

    @field_validator("dokploy_url", "database_url", "auth_token", "dokploy_api_key", mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        # An exported-but-empty variable (`DOKPLOY_URL=`) means "not set", not "set to nothing".
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @property
    def is_loopback_bind(self) -> bool:
        return self.host in LOOPBACK_HOSTS


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


def validate_dokploy_url(url: str, *, setting: str, where: str | None = None) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise ConfigurationError(
            f"{where or setting} must be an http(s) URL of the Dokploy server such as http://203.0.113.10:3000, "
            f"got {url!r}",
            setting=setting,
        )
    return url.strip().rstrip("/")


def _read_key_file(path: Path, *, setting: str, where: str | None = None) -> SecretStr:
    label = where or setting
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigurationError(
            f"{label} names {str(path)!r}, which cannot be read ({exc.strerror}); "
            "point it at the file written by `dokploy-mcp bootstrap`",
            setting=setting,
        ) from None
    if not text:
        raise ConfigurationError(f"{label} names {str(path)!r}, which is empty", setting=setting)
    return SecretStr(text)


def load_dokploy_servers(settings: Settings, environ: dict[str, str] | None = None) -> DokployServers:
    """Resolve the Dokploy servers: the instances file when given, else one ``default`` server from the env."""
    import os

    env = os.environ if environ is None else environ
    if settings.instances_file is None:
        url = validate_dokploy_url(settings.dokploy_url, setting="DOKPLOY_URL") if settings.dokploy_url else None
        if settings.dokploy_api_key is not None:
            key: SecretStr | None = settings.dokploy_api_key
            source = "DOKPLOY_API_KEY"
        elif settings.dokploy_api_key_file is not None:
            key = _read_key_file(settings.dokploy_api_key_file, setting="DOKPLOY_API_KEY_FILE")
            source = "DOKPLOY_API_KEY_FILE"
        else:
            key, source = None, "DOKPLOY_API_KEY or DOKPLOY_API_KEY_FILE"
        server = DokployServerConfig(name="default", url=url, api_key=key, api_key_source=source)
        return DokployServers(default="default", servers={"default": server})
    return _load_instances_file(settings.instances_file, env)


def _load_instances_file(path: Path, env: Any) -> DokployServers:
    import yaml

    setting = "DOKPLOY_MCP_INSTANCES_FILE"
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigurationError(f"{setting}: cannot read {str(path)!r} ({exc.strerror})", setting=setting) from None
    except yaml.YAMLError as exc:
        raise ConfigurationError(f"{setting}: {str(path)!r} is not valid YAML ({exc})", setting=setting) from None
    if isinstance(raw, dict) and isinstance(raw.get("servers"), dict):
        for name, entry in raw["servers"].items():
            if isinstance(entry, dict) and "api_key" in entry:
                raise ConfigurationError(
                    f"{setting}: server {name!r} has an api_key in the file; keys never live in the instances "
                    "file: use api_key_env (a variable's name) or api_key_file (a path) instead",
                    setting=setting,
                )
    try:
        parsed = _InstancesFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "top level"
        raise ConfigurationError(
            f"{setting}: {str(path)!r} at {where}: {first['msg']} "
            "(expected `default: NAME` and `servers: {NAME: {url: ..., api_key_env: VAR}}`)",
            setting=setting,
        ) from None
    if not parsed.servers:
        raise ConfigurationError(f"{setting}: {str(path)!r} lists no servers", setting=setting)
    servers: dict[str, DokployServerConfig] = {}
    for name, entry in parsed.servers.items():
        if not _SERVER_NAME.match(name):
            raise ConfigurationError(
                f"{setting}: server name {name!r} must be letters, digits, '-' or '_' (it is used as `name:` "
                "in stack addresses)",
                setting=setting,
            )
        url = validate_dokploy_url(entry.url, setting=setting, where=f"{setting}: servers.{name}.url")
        if entry.api_key_env and entry.api_key_file:
            raise ConfigurationError(
                f"{setting}: server {name!r} sets both api_key_env and api_key_file; keep one", setting=setting
            )
        key: SecretStr | None = None
        if entry.api_key_env:
            value = env.get(entry.api_key_env, "").strip()
            key = SecretStr(value) if value else None
            source = entry.api_key_env
        elif entry.api_key_file:
            key_path = Path(entry.api_key_file).expanduser()
            if not key_path.is_absolute():
                key_path = path.parent / key_path
            key = _read_key_file(key_path, setting=setting, where=f"{setting}: servers.{name}.api_key_file")
            source = f"the file {str(key_path)!r}"
        else:
            source = f"api_key_env for server {name!r} in {setting}"
        servers[name] = DokployServerConfig(name=name, url=url, api_key=key, api_key_source=source)
    if parsed.default is not None:
        default = parsed.default
        if default not in servers:
            raise ConfigurationError(
                f"{setting}: default {default!r} is not one of the servers ({', '.join(servers)})", setting=setting
            )
    elif len(servers) == 1:
        default = next(iter(servers))
    else:
        raise ConfigurationError(
            f"{setting}: several servers are listed; say which one is used by default with `default: NAME`",
            setting=setting,
        )
    return DokployServers(default=default, servers=servers)


def load_settings(**overrides: Any) -> Settings:
    """Build :class:`Settings`; flags passed as ``overrides`` win over the environment.

    Raises :class:`ConfigurationError` naming the variable to fix, never a pydantic traceback.
    """
    try:
        settings = Settings(**{k: v for k, v in overrides.items() if v is not None})
    except ValidationError as exc:
        first = exc.errors()[0]
        field = str(first["loc"][0]) if first["loc"] else ""
        env_name = ENV_NAMES.get(field, field)
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigurationError(f"invalid {env_name}: {message}", setting=env_name) from None
    if not settings.is_loopback_bind and settings.transport != "stdio" and settings.auth_token is None:
        raise ConfigurationError(
            f"refusing to serve {settings.transport} on {settings.host} without a bearer token: set "
            "DOKPLOY_MCP_AUTH_TOKEN (or --auth-token), or bind 127.0.0.1",
            setting="DOKPLOY_MCP_AUTH_TOKEN",
        )
    return settings
