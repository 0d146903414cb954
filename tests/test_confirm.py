from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dokploy_mcp.confirm import ConfirmationError, Confirmer


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
    version, expires, mac = issued.token.split(".")
    forged = f"{version}.{int(expires) + 3600}.{mac}"
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
