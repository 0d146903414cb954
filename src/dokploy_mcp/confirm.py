"""Confirmation tokens for destructive actions (DESIGN §2, "Confirmation of destructive actions").

A destructive tool called without ``confirm_token`` changes nothing and returns a preview plus a token. The
token is an HMAC over the tool name, the canonical JSON of the other arguments, a digest of the state the action
applies to (for example the current env text), an expiry and a random nonce (so that every preview gives a token
of its own, which single use needs). Calling again with the token and the same arguments
acts, provided the state is unchanged, so it works over sessionless HTTP and on any worker of one deployment.

The key is derived from the deployment's secret (:func:`token_secret`): ``DOKPLOY_MCP_SECRET`` or
``DOKPLOY_MCP_SECRET_FILE``, else one generated once and kept in ``DOKPLOY_MCP_STATE_DIR``, so that several HTTP
workers agree and a restarted server still accepts what it issued. The same secret keys the SDK's sealed request
state (``server.build_server``); each use derives its own key from it.

A token is used once. :meth:`Confirmer.verify` reserves it in the process: a second verify of the same token
answers "used". The reservation is taken at verify, not after the action, so that two concurrent calls with one
token cannot both act; a caller whose action failed and changed nothing gives it back with
:meth:`Confirmer.release`, so the same token may be tried again. Across processes, state-bound tokens (env,
domain) stop fitting once the action changed that state; ``execute_sql``, whose state is a target that never
changes, records the token's id in the database in the statement's own transaction (``postgres.statement.UseMark``).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import json
import logging
import os
import re
import secrets
import stat
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from dokploy_mcp import redact
from dokploy_mcp.config import KEY_FILE_LIMIT, Settings, setting_name
from dokploy_mcp.errors import ConfigurationError, DokployMCPError
from dokploy_mcp.settingfiles import read_setting_file

logger = logging.getLogger(__name__)

DEFAULT_TTL_SECONDS = 600.0
_VERSION = "v2"
_NONCE = re.compile(r"[A-Za-z0-9_-]{12}")
#: Longest token accepted (a token is about 60 characters); tool schemas use the same bound.
MAX_TOKEN_CHARS = 128
# An expiry is a Unix time: 12 digits last until the year 33658.
_MAX_EXPIRY_DIGITS = 12
#: Each use of the deployment's secret derives its own key: a confirm-token MAC is never an SDK seal or vice versa.
_KEY_CONTEXT = b"dokploy-mcp/confirm_token/v1"
#: The secret keys HMACs and the SDK's request-state seal, which wants at least 32 bytes of randomness.
MIN_SECRET_LENGTH = 32
#: The generated secret's file in DOKPLOY_MCP_STATE_DIR.
SECRET_FILE_NAME = "secret"
USED_MESSAGE = "this confirm_token was already used: ask for a new preview (call the tool without confirm_token)"

Reason = Literal["malformed", "mismatch", "expired", "used"]


class ConfirmationError(DokployMCPError):
    """The confirm_token is malformed, belongs to another call or state, has expired, or was already used."""

    what = "Not confirmed"

    def __init__(self, message: str, *, reason: Reason) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class ConfirmationToken:
    token: str
    expires_at: float


def canonical_json(value: Any) -> str:
    """One spelling per value, so the same arguments always give the same MAC."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def state_digest(state: str | bytes | Mapping[str, Any] | None) -> str:
    if state is None:
        return ""
    if isinstance(state, Mapping):
        state = canonical_json(state)
    data = state.encode("utf-8") if isinstance(state, str) else state
    return hashlib.sha256(data).hexdigest()


class Confirmer:
    """Issues and checks confirmation tokens, and remembers which it accepted. One instance per server process.

    ``key`` is the deployment's secret (:func:`token_secret`); without one a random key lives as long as the
    instance (tests, a throwaway runtime).
    """

    def __init__(
        self,
        key: bytes | None = None,
        *,
        ttl_seconds: float = DEFAULT_TTL_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        secret = key if key is not None else secrets.token_bytes(32)
        self._key = hmac.new(secret, _KEY_CONTEXT, hashlib.sha256).digest()
        self._ttl = ttl_seconds
        self._clock = clock
        #: Token id -> its expiry: accepted tokens, forgotten once they could not verify anyway.
        self._used: dict[str, int] = {}
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Confirmer(ttl_seconds={self._ttl})"

    def _mac(self, tool: str, arguments: Mapping[str, Any], state: str, expires: int, nonce: str) -> str:
        message = canonical_json(
            {"tool": tool, "args": dict(arguments), "state": state, "exp": expires, "nonce": nonce}
        )
        digest = hmac.new(self._key, message.encode("utf-8"), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")

    def issue(
        self, tool: str, arguments: Mapping[str, Any], state: str | bytes | Mapping[str, Any] | None = None
    ) -> ConfirmationToken:
        """A token for exactly this call on exactly this state, valid for the TTL."""
        expires = int(self._clock() + self._ttl)
        nonce = secrets.token_urlsafe(9)
        mac = self._mac(tool, _without_token(arguments), state_digest(state), expires, nonce)
        return ConfirmationToken(token=f"{_VERSION}.{expires}.{nonce}.{mac}", expires_at=float(expires))

    def verify(
        self,
        token: str,
        tool: str,
        arguments: Mapping[str, Any],
        state: str | bytes | Mapping[str, Any] | None = None,
    ) -> str:
        """The token's id, now reserved as used; :class:`ConfirmationError` unless ``token`` was issued for this
        call and state, is current, and was not used before in this process.

        Give the id back with :meth:`release` when the action failed and changed nothing.
        """
        expires, nonce, mac = _parse(token)
        expected = self._mac(tool, _without_token(arguments), state_digest(state), expires, nonce)
        # The MAC is checked before the expiry so that a forged token never learns anything from the answer.
        if not hmac.compare_digest(expected, mac):
            raise ConfirmationError(
                "confirm_token does not match this call: the arguments differ from the preview, the state changed "
                "since the preview (for example the action already ran), or the server's secret changed; call the "
                "tool without confirm_token to preview again",
                reason="mismatch",
            )
        now = self._clock()
        if now > expires:
            raise ConfirmationError(
                "confirm_token has expired (tokens last 10 minutes); call the tool without confirm_token to preview "
                "again",
                reason="expired",
            )
        identifier = token_id(token)
        with self._lock:
            # Bounded: a token past its expiry fails above whatever this says, so it need not be remembered.
            for stale in [key for key, until in self._used.items() if until < now]:
                del self._used[stale]
            if identifier in self._used:
                raise ConfirmationError(USED_MESSAGE, reason="used")
            self._used[identifier] = expires
        return identifier

    def release(self, identifier: str) -> None:
        """Forget that the token with this id was used: its action failed and changed nothing."""
        with self._lock:
            self._used.pop(identifier, None)


def _parse(token: str) -> tuple[int, str, str]:
    """The expiry, nonce and MAC of a token in its one canonical spelling, else a "malformed" refusal."""
    parts = token.strip().split(".") if len(token) <= MAX_TOKEN_CHARS else []
    if (
        len(parts) != 4
        or parts[0] != _VERSION
        or not _NONCE.fullmatch(parts[2])
        or not (parts[1].isascii() and parts[1].isdigit())
        or len(parts[1]) > _MAX_EXPIRY_DIGITS
        # One spelling per token: with leading zeros the same token would have a second id, and a second use.
        or parts[1] != str(int(parts[1]))
    ):
        raise ConfirmationError(
            "confirm_token is not a token this server issued; call the tool without confirm_token to get a "
            "preview and a fresh token",
            reason="malformed",
        )
    return int(parts[1]), parts[2], parts[3]


def token_id(token: str) -> str:
    """A token's id: what is remembered of a used token (in the process, and by ``execute_sql`` in the database).

    A digest, not the token: the id alone cannot be presented as a token. Only meaningful for a token that
    :meth:`Confirmer.verify` accepted, which has one spelling.
    """
    return hashlib.sha256(token.strip().encode("utf-8")).hexdigest()[:32]


# -- the deployment's secret ----------------------------------------------------------------------------------------


def _secret_text(text: str, *, label: str, setting: str) -> bytes:
    value = text.strip()
    # Remembered before it is checked, so that even a refused secret is masked wherever it might be echoed.
    redact.remember(value)
    if len(value) < MIN_SECRET_LENGTH:
        raise ConfigurationError(
            f"{label} is too short ({len(value)} characters): use at least {MIN_SECRET_LENGTH} random characters "
            "(for example `openssl rand -hex 32`), the same on every worker of one deployment",
            setting=setting,
        )
    return value.encode("utf-8")


def configured_secret(settings: Settings) -> bytes | None:
    """The secret ``DOKPLOY_MCP_SECRET`` or ``DOKPLOY_MCP_SECRET_FILE`` gives, None when neither is set."""
    named, named_file = setting_name("secret"), setting_name("secret_file")
    if settings.secret is not None and settings.secret_file is not None:
        raise ConfigurationError(f"{named} and {named_file} are both set: keep one", setting="DOKPLOY_MCP_SECRET")
    if settings.secret is not None:
        return _secret_text(settings.secret.get_secret_value(), label=named, setting="DOKPLOY_MCP_SECRET")
    if settings.secret_file is None:
        return None
    hint = "point it at a file holding at least 32 random characters (mode 600)"
    setting = "DOKPLOY_MCP_SECRET_FILE"
    text = read_setting_file(settings.secret_file, label=named_file, setting=setting, limit=KEY_FILE_LIMIT, hint=hint)
    return _secret_text(text, label=named_file, setting=setting)


def token_secret(settings: Settings) -> bytes:
    """``DOKPLOY_MCP_SECRET`` / ``DOKPLOY_MCP_SECRET_FILE``, else the secret generated once in the state directory."""
    configured = configured_secret(settings)
    return configured if configured is not None else stored_secret(settings.state_dir)


def stored_secret(state_dir: Path) -> bytes:
    """The secret kept in ``state_dir``, generated (mode 0600, directory 0700) when there is none yet.

    Several processes may start at once: each writes a complete file under a name of its own and hard-links it
    into place, which fails when another got there first; every process then reads the one that won.
    """
    path = state_dir / SECRET_FILE_NAME
    setting = "DOKPLOY_MCP_STATE_DIR"
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not os.path.lexists(path):
            _create_secret(path)
    except OSError as exc:
        raise ConfigurationError(
            f"cannot keep the generated token secret in {str(path)!r} ({exc.strerror or exc}): make "
            f"{setting} (--state-dir) a writable directory, or set DOKPLOY_MCP_SECRET",
            setting=setting,
        ) from None
    hint = "delete it to have a new one generated (tokens issued under it stop working), or set DOKPLOY_MCP_SECRET"
    label = f"the generated token secret in {setting}"
    text = read_setting_file(path, label=label, setting=setting, limit=KEY_FILE_LIMIT, hint=hint).strip()
    redact.remember(text)
    if len(text) < MIN_SECRET_LENGTH:
        raise ConfigurationError(f"{label} names {str(path)!r}, which is too short; {hint}", setting=setting)
    if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        logger.warning("the token secret %s can be read by other users: chmod 600 it", path)
    return text.encode("utf-8")


def _create_secret(path: Path) -> None:
    staged = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(staged, flags, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(secrets.token_bytes(32).hex() + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        # Unlike os.replace, a link never overwrites: a process that lost the race keeps the winner's secret.
        with contextlib.suppress(FileExistsError):
            os.link(staged, path)
    finally:
        staged.unlink(missing_ok=True)
    _sync_directory(path.parent)


def _sync_directory(directory: Path) -> None:
    # The new name survives a crash only once the directory is on disk too.
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _without_token(arguments: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in arguments.items() if k != "confirm_token"}
