"""Turn a fresh Dokploy into one this server can use, without a click: admin, organisation, API key, key file.

The flow (reference: dokploy-api.md §1.4): wait for ``/api/health``; create the first admin through better-auth's
sign-up (or sign in when an admin exists: Dokploy refuses the sign-up with 400 for another e-mail, better-auth
with 422 for the owner's own); read the organisation with ``user.get``; create an API key with
Dokploy's rate limit OFF (the default allows 5 REST calls a day); check that the key works; write it to a file
with mode 600. Running it again with a key file whose key still works changes nothing.
"""

from __future__ import annotations

import functools
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import anyio
from pydantic import SecretStr

from dokploy_mcp.config import KEY_FILE_LIMIT
from dokploy_mcp.dokploy.client import DokployClient
from dokploy_mcp.dokploy.errors import DokployAPIError, DokployAuthError, DokployTransportError
from dokploy_mcp.errors import DokployMCPError, InputError
from dokploy_mcp.redact import remember
from dokploy_mcp.settingfiles import read_setting_file

logger = logging.getLogger(__name__)

DEFAULT_KEY_NAME = "dokploy-mcp"
#: Sign-up looks up the server's public IP and waits for its timeouts on a host without internet (~60 s measured).
SIGN_UP_TIMEOUT = 180.0
_ADMIN_EXISTS = "Admin is already created"
#: better-auth's code for a sign-up whose e-mail has an account: ``USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL`` from the
#: release Dokploy v0.30.2 ships (recorded); ``USER_ALREADY_EXISTS`` from older better-auth releases (not recorded;
#: accepting it costs only a sign-in attempt).
_EMAIL_TAKEN_CODES = frozenset({"USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", "USER_ALREADY_EXISTS"})


class BootstrapError(DokployMCPError):
    """Bootstrap cannot go on; the message says what to pass or fix."""

    what = "Bootstrap cannot go on"


@dataclass(frozen=True)
class BootstrapResult:
    url: str
    key_file: Path
    version: str
    admin_created: bool
    key_created: bool
    organization_id: str | None


def default_key_file() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "dokploy-mcp" / "api-key"


def write_key_file(path: Path, key: SecretStr) -> None:
    """Write the key with mode 600, atomically: a reader sees the old key or the new one, never half a key."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".api-key-")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(key.get_secret_value() + "\n")
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _validate_inputs(email: str | None, password: SecretStr | None, key_name: str) -> tuple[str, SecretStr]:
    if not email or "@" not in email:
        raise InputError(
            "an admin e-mail is needed to create or sign in the Dokploy admin: pass --email or set DOKPLOY_ADMIN_EMAIL",
            field="email",
        )
    if password is None:
        raise InputError(
            "the admin password is needed: set DOKPLOY_ADMIN_PASSWORD or pass --password-file", field="password"
        )
    if not 8 <= len(password.get_secret_value()) <= 128:
        raise InputError("the admin password must be 8 to 128 characters (better-auth's rule)", field="password")
    if not 1 <= len(key_name) <= 32:
        raise InputError("the API key name must be 1 to 32 characters", field="key_name")
    return email, password


async def _existing_key_works(url: str, key_file: Path, request_timeout: float) -> str | None:
    """The Dokploy version when ``key_file`` holds a key this server accepts, else None."""
    if not await anyio.Path(key_file).exists():
        return None
    # Through the settings reader: a FIFO or device there must not block bootstrap, nor bytes that are not UTF-8
    # end it with a traceback.
    read = functools.partial(
        read_setting_file,
        key_file,
        label="the key file",
        setting="--key-file",
        limit=KEY_FILE_LIMIT,
        hint="name the file the key is written to (or remove what is there)",
    )
    text = (await anyio.to_thread.run_sync(read)).strip()
    if not text:
        return None
    remember(text)
    async with DokployClient(base_url=url, api_key=SecretStr(text), timeout=request_timeout) as client:
        try:
            return await client.settings_get_dokploy_version()
        except DokployAuthError:
            logger.warning("the key in %s is refused (wrong, expired or rate limited); creating a new one", key_file)
            return None


async def wait_for_health(
    client: DokployClient,
    wait_seconds: float,
    *,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    clock: Callable[[], float] = time.monotonic,
    interval: float = 2.0,
) -> None:
    """Poll ``/api/health`` until it answers ok; a server still starting refuses connections, which is expected."""
    deadline = clock() + wait_seconds
    last = "no answer yet"
    while True:
        try:
            if await client.health():
                return
            last = "/api/health did not answer ok"
        except DokployTransportError as exc:
            last = str(exc)
        if clock() >= deadline:
            raise BootstrapError(
                f"Dokploy at {client.base_url} was not healthy within {wait_seconds:g} s ({last}); check that it "
                "runs and that the URL is its own address (port 3000)"
            )
        await sleep(interval)


async def bootstrap(
    *,
    url: str,
    email: str | None,
    password: SecretStr | None,
    key_file: Path,
    name: str = "Admin",
    key_name: str = DEFAULT_KEY_NAME,
    wait_seconds: float = 300.0,
    request_timeout: float = 30.0,
    server_ip: str | None = None,
    sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> BootstrapResult:
    # No retries inside the client: the health poll below is the retry loop, with its own deadline.
    async with DokployClient(base_url=url, api_key=None, timeout=request_timeout, max_retries=0) as probe:
        await wait_for_health(probe, wait_seconds, sleep=sleep, clock=clock)
        base_url = probe.base_url

    version = await _existing_key_works(base_url, key_file, request_timeout)
    if version is not None:
        return BootstrapResult(
            base_url, key_file, version, admin_created=False, key_created=False, organization_id=None
        )

    email, password = _validate_inputs(email, password, key_name)
    # One client for the whole session: better-auth's session cookie lives in its cookie jar.
    async with DokployClient(base_url=base_url, api_key=None, timeout=request_timeout) as session:
        admin_created = await _sign_up_or_in(session, email, password, name)
        member = await session.user_get()
        created = await session.user_create_api_key(name=key_name, organization_id=member.organization_id)
    remember(created.key)
    if created.rate_limit_enabled:
        raise BootstrapError(
            "Dokploy created the key with its rate limit on (5 REST calls a day) although it was asked not to; "
            "delete it in Dokploy (Settings, Profile, API keys) and create one with rate limiting off"
        )
    async with DokployClient(base_url=base_url, api_key=created.key, timeout=request_timeout) as client:
        version = await client.settings_get_dokploy_version()
        if server_ip:
            await client.settings_update_server_ip(server_ip)
    write_key_file(key_file, created.key)
    return BootstrapResult(
        base_url,
        key_file,
        version,
        admin_created=admin_created,
        key_created=True,
        organization_id=member.organization_id,
    )


async def _sign_up_or_in(session: DokployClient, email: str, password: SecretStr, name: str) -> bool:
    """Create the first admin, or sign in when one exists. True when this call created the admin."""
    try:
        await session.auth_sign_up_email(email=email, password=password, name=name, request_timeout=SIGN_UP_TIMEOUT)
        return True
    except DokployAPIError as exc:
        email_taken = _email_taken(exc)
        if not email_taken and not _admin_exists(exc):
            raise BootstrapError(f"Dokploy refused to create the admin ({_label(exc)}: {exc.message})") from exc
    try:
        await session.auth_sign_in_email(email=email, password=password)
    except DokployAuthError as exc:
        # A taken e-mail means the account is there, so what does not match is the password.
        if email_taken:
            which = "this e-mail has an account but the password does not sign in"
        else:
            which = "these credentials do not sign in"
        raise BootstrapError(
            f"an admin already exists on this Dokploy and {which} ({_label(exc)}): pass the existing admin's "
            "e-mail and password (DOKPLOY_ADMIN_EMAIL / DOKPLOY_ADMIN_PASSWORD)"
        ) from None
    return False


def _email_taken(exc: DokployAPIError) -> bool:
    """better-auth refused the sign-up because the e-mail has an account (a re-run with the owner's own e-mail).

    better-auth answers this before Dokploy's own "admin exists" check, so the owner never sees the 400.
    """
    return exc.status == 422 and exc.code in _EMAIL_TAKEN_CODES


def _label(exc: DokployAPIError) -> str:
    return f"{exc.status} {exc.code}" if exc.code else str(exc.status)


def _admin_exists(exc: DokployAPIError) -> bool:
    """Dokploy refused the sign-up because it has its admin already (a sign-up with another e-mail)."""
    return exc.status == 400 and _ADMIN_EXISTS.lower() in exc.message.lower()


def client_config_snippet(result: BootstrapResult, command: str = "dokploy-mcp") -> dict[str, object]:
    """The MCP client configuration (Claude Desktop / Cursor shape) for the bootstrapped server."""
    return {
        "mcpServers": {
            "dokploy": {
                "command": command,
                "env": {"DOKPLOY_URL": result.url, "DOKPLOY_API_KEY_FILE": str(result.key_file.resolve())},
            }
        }
    }
