from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import stat
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dokploy_mcp import redact
from dokploy_mcp.cli import _overrides, build_parser
from dokploy_mcp.config import Settings, load_settings
from dokploy_mcp.confirm import (
    MAX_TOKEN_CHARS,
    SECRET_FILE_NAME,
    ConfirmationError,
    Confirmer,
    _create_secret,
    canonical_json,
    state_digest,
    stored_secret,
    token_id,
    token_secret,
)
from dokploy_mcp.errors import ConfigurationError


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


ARGS = {"stack": "prod/supabase", "set": {"SITE_URL": "https://app.example.com"}, "redeploy": True}
STATE = "SITE_URL=http://localhost:3000\n"


def test_token_for_same_call_and_state_is_accepted() -> None:
    confirmer = Confirmer()
    issued = confirmer.issue("dokploy_update_env", ARGS, STATE)
    confirmer.verify(issued.token, "dokploy_update_env", ARGS, STATE)


def test_argument_order_and_the_token_argument_itself_do_not_matter() -> None:
    confirmer = Confirmer()
    issued = confirmer.issue("dokploy_update_env", ARGS, STATE)
    reordered = {"redeploy": True, "set": {"SITE_URL": "https://app.example.com"}, "stack": "prod/supabase"}
    confirmer.verify(issued.token, "dokploy_update_env", {**reordered, "confirm_token": issued.token}, STATE)


def test_wrong_token_is_refused_as_malformed() -> None:
    with pytest.raises(ConfirmationError) as info:
        Confirmer().verify("not-a-token", "dokploy_update_env", ARGS, STATE)
    assert info.value.reason == "malformed"


def test_token_reused_with_other_arguments_is_refused() -> None:
    confirmer = Confirmer()
    issued = confirmer.issue("dokploy_update_env", ARGS, STATE)
    other = {**ARGS, "set": {"SITE_URL": "https://evil.example.com"}}
    with pytest.raises(ConfirmationError) as info:
        confirmer.verify(issued.token, "dokploy_update_env", other, STATE)
    assert info.value.reason == "mismatch"


def test_token_for_another_tool_is_refused() -> None:
    confirmer = Confirmer()
    issued = confirmer.issue("dokploy_update_env", ARGS, STATE)
    with pytest.raises(ConfirmationError) as info:
        confirmer.verify(issued.token, "manage_domain", ARGS, STATE)
    assert info.value.reason == "mismatch"


def test_retry_after_the_state_changed_is_refused() -> None:
    confirmer = Confirmer()
    issued = confirmer.issue("dokploy_update_env", ARGS, STATE)
    with pytest.raises(ConfirmationError) as info:
        confirmer.verify(issued.token, "dokploy_update_env", ARGS, "SITE_URL=https://app.example.com\n")
    assert info.value.reason == "mismatch"


def test_expired_token_is_refused_after_ten_minutes() -> None:
    clock = Clock()
    confirmer = Confirmer(clock=clock)
    issued = confirmer.issue("dokploy_update_env", ARGS, STATE)
    clock.now += 599
    confirmer.verify(issued.token, "dokploy_update_env", ARGS, STATE)
    clock.now += 2
    with pytest.raises(ConfirmationError) as info:
        confirmer.verify(issued.token, "dokploy_update_env", ARGS, STATE)
    assert info.value.reason == "expired"


def test_forged_token_with_a_later_expiry_is_refused() -> None:
    clock = Clock()
    confirmer = Confirmer(clock=clock)
    issued = confirmer.issue("dokploy_update_env", ARGS, STATE)
    version, expires, nonce, mac = issued.token.split(".")
    forged = f"{version}.{int(expires) + 3600}.{nonce}.{mac}"
    clock.now += 3000
    with pytest.raises(ConfirmationError) as info:
        confirmer.verify(forged, "dokploy_update_env", ARGS, STATE)
    assert info.value.reason == "mismatch"


def test_token_from_another_process_key_is_refused() -> None:
    issued = Confirmer().issue("dokploy_update_env", ARGS, STATE)
    with pytest.raises(ConfirmationError) as info:
        Confirmer().verify(issued.token, "dokploy_update_env", ARGS, STATE)
    assert info.value.reason == "mismatch"


@given(st.text(alphabet="0123456789abcdefABCDEF-_.v", max_size=80))
def test_no_guessed_token_is_ever_accepted(guess: str) -> None:
    confirmer = Confirmer(key=b"k" * 32)
    with pytest.raises(ConfirmationError):
        confirmer.verify(guess, "dokploy_update_env", ARGS, STATE)


@pytest.mark.parametrize(
    "token",
    [
        "v1." + "9" * 5_000 + ".mac",  # crashed int() before (Python refuses > 4,300 digits)
        "v1.\u0661\u0662\u0663.mac",  # non-ASCII digits that str.isdigit() accepts
        "v1.1." + "A" * 200,
        "x" * 10_000,
    ],
)
def test_oversized_or_odd_tokens_are_refused_as_malformed(token: str) -> None:
    with pytest.raises(ConfirmationError) as caught:
        Confirmer().verify(token, "execute_sql", {})
    assert caught.value.reason == "malformed"


# -- single use -----------------------------------------------------------------------------------------------------


def test_every_preview_gives_a_token_of_its_own() -> None:
    confirmer = Confirmer(clock=Clock())
    first, second = (confirmer.issue("execute_sql", ARGS, STATE).token for _ in range(2))
    assert first != second and len(first) <= MAX_TOKEN_CHARS
    confirmer.verify(first, "execute_sql", ARGS, STATE)
    confirmer.verify(second, "execute_sql", ARGS, STATE)


def test_a_token_is_used_once_in_the_process() -> None:
    confirmer = Confirmer()
    issued = confirmer.issue("execute_sql", ARGS, STATE)
    first = confirmer.verify(issued.token, "execute_sql", ARGS, STATE)
    with pytest.raises(ConfirmationError) as info:
        confirmer.verify(issued.token, "execute_sql", ARGS, STATE)
    assert info.value.reason == "used" and "already used" in str(info.value)
    assert first == token_id(issued.token)


def test_a_released_token_may_be_tried_again() -> None:
    confirmer = Confirmer()
    issued = confirmer.issue("execute_sql", ARGS, STATE)
    confirmer.release(confirmer.verify(issued.token, "execute_sql", ARGS, STATE))
    confirmer.verify(issued.token, "execute_sql", ARGS, STATE)


def test_a_forged_token_is_a_mismatch_not_a_replay() -> None:
    confirmer = Confirmer()
    issued = confirmer.issue("execute_sql", ARGS, STATE)
    confirmer.verify(issued.token, "execute_sql", ARGS, STATE)
    with pytest.raises(ConfirmationError) as info:
        confirmer.verify(issued.token, "execute_sql", {**ARGS, "redeploy": False}, STATE)
    assert info.value.reason == "mismatch"


def test_a_second_spelling_of_a_used_token_is_refused() -> None:
    confirmer = Confirmer()
    issued = confirmer.issue("execute_sql", ARGS, STATE)
    confirmer.verify(issued.token, "execute_sql", ARGS, STATE)
    version, expires, nonce, mac = issued.token.split(".")
    for other in (f"{version}.0{expires}.{nonce}.{mac}", f"  {issued.token}\n"):
        with pytest.raises(ConfirmationError) as info:
            confirmer.verify(other, "execute_sql", ARGS, STATE)
        assert info.value.reason in {"malformed", "used"}


def test_used_tokens_are_forgotten_once_expired() -> None:
    clock = Clock()
    confirmer = Confirmer(clock=clock)
    old = confirmer.issue("execute_sql", ARGS, STATE)
    confirmer.verify(old.token, "execute_sql", ARGS, STATE)
    clock.now += 601
    fresh = confirmer.issue("execute_sql", ARGS, STATE)
    confirmer.verify(fresh.token, "execute_sql", ARGS, STATE)
    assert set(confirmer._used) == {token_id(fresh.token)}
    with pytest.raises(ConfirmationError) as info:
        confirmer.verify(old.token, "execute_sql", ARGS, STATE)
    assert info.value.reason == "expired"


# -- the deployment's secret ----------------------------------------------------------------------------------------

SECRET = "s" * 16 + secrets.token_hex(16)


def settings(tmp_path: Path, **overrides: Any) -> Settings:
    return load_settings(state_dir=str(tmp_path / "state"), **overrides)


def test_the_secret_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOKPLOY_MCP_SECRET", f"  {SECRET}\n")
    assert token_secret(settings(tmp_path)) == SECRET.encode()
    assert not (tmp_path / "state").exists()  # nothing generated
    assert SECRET not in redact.scrub(f"the secret is {SECRET}")


def test_the_secret_from_a_file(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET + "\n")
    assert token_secret(settings(tmp_path, secret_file=str(path))) == SECRET.encode()


def test_the_secret_file_flag(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    args = build_parser().parse_args(["serve", "--secret-file", str(path), "--state-dir", str(tmp_path)])
    assert token_secret(load_settings(**_overrides(args))) == SECRET.encode()


@pytest.mark.parametrize("where", ["env", "file"])
def test_a_short_secret_is_refused_naming_the_setting(tmp_path: Path, where: str) -> None:
    path = tmp_path / "short.txt"
    path.write_text("too-short")
    chosen = settings(tmp_path, secret="too-short") if where == "env" else settings(tmp_path, secret_file=str(path))
    with pytest.raises(ConfigurationError) as info:
        token_secret(chosen)
    assert "at least 32" in str(info.value)
    assert info.value.setting == ("DOKPLOY_MCP_SECRET" if where == "env" else "DOKPLOY_MCP_SECRET_FILE")


def test_both_secret_settings_are_refused(tmp_path: Path) -> None:
    path = tmp_path / "secret.txt"
    path.write_text(SECRET)
    with pytest.raises(ConfigurationError, match="keep one"):
        token_secret(settings(tmp_path, secret=SECRET, secret_file=str(path)))


def test_a_missing_secret_file_is_a_configuration_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError) as info:
        token_secret(settings(tmp_path, secret_file=str(tmp_path / "nowhere")))
    assert info.value.setting == "DOKPLOY_MCP_SECRET_FILE"


def test_a_generated_secret_is_kept_private_and_read_back(tmp_path: Path) -> None:
    generated = token_secret(settings(tmp_path))
    state = tmp_path / "state"
    path = state / SECRET_FILE_NAME
    assert len(generated) == 64 and path.read_bytes().strip() == generated
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(state.stat().st_mode) == 0o700
    assert sorted(p.name for p in state.iterdir()) == [SECRET_FILE_NAME]  # no staged file left behind
    # A restarted server reads what it wrote.
    assert token_secret(settings(tmp_path)) == generated
    assert generated.decode() not in redact.scrub(f"secret {generated.decode()}")


def test_a_process_that_loses_the_race_reads_the_winners_secret(tmp_path: Path) -> None:
    path = tmp_path / SECRET_FILE_NAME
    path.write_text(SECRET + "\n")
    _create_secret(path)  # as a second process would, having looked a moment before the first one wrote
    assert path.read_text() == SECRET + "\n"
    assert [p.name for p in tmp_path.iterdir()] == [SECRET_FILE_NAME]
    assert stored_secret(tmp_path) == SECRET.encode()


def test_an_unwritable_state_dir_says_what_to_set(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(ConfigurationError) as info:
        stored_secret(blocker / "state")
    assert info.value.setting == "DOKPLOY_MCP_STATE_DIR" and "DOKPLOY_MCP_SECRET" in str(info.value)


def test_a_corrupt_generated_secret_is_refused(tmp_path: Path) -> None:
    (tmp_path / SECRET_FILE_NAME).write_text("short\n")
    with pytest.raises(ConfigurationError, match="delete it"):
        stored_secret(tmp_path)


def test_servers_sharing_a_secret_accept_each_others_tokens() -> None:
    key = SECRET.encode()
    issued = Confirmer(key).issue("execute_sql", ARGS, STATE)
    Confirmer(key).verify(issued.token, "execute_sql", ARGS, STATE)
    with pytest.raises(ConfirmationError) as info:
        Confirmer(b"o" * 32).verify(issued.token, "execute_sql", ARGS, STATE)
    assert info.value.reason == "mismatch"


def test_the_token_key_is_derived_not_the_secret_itself() -> None:
    # The SDK seals request state under the same secret (through its own derivation): the MAC key must differ.
    secret = SECRET.encode()
    issued = Confirmer(secret).issue("execute_sql", ARGS, STATE)
    _, expires, nonce, mac = issued.token.split(".")
    message = {"tool": "execute_sql", "args": ARGS, "state": state_digest(STATE), "exp": int(expires), "nonce": nonce}

    def mac_under(key: bytes) -> str:
        raw = hmac.new(key, canonical_json(message).encode(), hashlib.sha256).digest()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    derived = hmac.new(secret, b"dokploy-mcp/confirm_token/v1", hashlib.sha256).digest()
    assert mac == mac_under(derived)
    assert mac != mac_under(secret)
