"""dokploy_update_env's plan: refusals that point to the right tool, the URL trio, generated secrets, and edits that
touch only the lines they must (on the real imported Supabase env)."""

from __future__ import annotations

import base64
import difflib
import hashlib
import hmac
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from dokploy_mcp.errors import InputError
from dokploy_mcp.supabase import envupdate
from dokploy_mcp.supabase.env import EnvFile
from dokploy_mcp.supabase.envupdate import URL_TRIO, EnvPlan, plan_env_update
from dokploy_mcp.supabase.keys import sign_key
from dokploy_mcp.supabase.variables import GENERATABLE, REQUIRED
from tests.dokploy.recordings import load

RECORDED_ENV: str = load("compose.one--supabase-imported").response_body["env"]
ENV = EnvFile.parse(RECORDED_ENV)
SECRET = ENV.get("JWT_SECRET") or ""
HOST = ENV.get("SUPABASE_HOST") or ""
OTHER_SECRET = "Zq8" * 16
SAFE = re.compile(r"[A-Za-z0-9_-]+\Z")


def changed_lines(plan: EnvPlan) -> tuple[list[str], list[str]]:
    """(removed, added) lines between the text before and after: everything else is byte for byte the same."""
    before = plan.before.render().splitlines(keepends=True)
    after = plan.after.render().splitlines(keepends=True)
    removed: list[str] = []
    added: list[str] = []
    for line in difflib.ndiff(before, after):
        if line.startswith("- "):
            removed.append(line[2:].rstrip("\n"))
        elif line.startswith("+ "):
            added.append(line[2:].rstrip("\n"))
    return removed, added


def refused(**kwargs: Any) -> InputError:
    env = kwargs.pop("env", ENV)
    with pytest.raises(InputError) as caught:
        plan_env_update(env, **kwargs)
    return caught.value


def hs(claims: dict[str, Any], secret: str, alg: str = "HS256") -> str:
    digest = {"HS256": hashlib.sha256, "HS512": hashlib.sha512}[alg]

    def part(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    head = part({"alg": alg, "typ": "JWT"}) + "." + part(claims)
    signature = hmac.new(secret.encode(), head.encode(), digest).digest()
    return head + "." + base64.urlsafe_b64encode(signature).rstrip(b"=").decode()


def fresh_claims(role: str) -> dict[str, Any]:
    now = int(datetime.now(UTC).timestamp())
    return {"role": role, "iss": "supabase", "iat": now - 60, "exp": now + 3600 * 24 * 365}


# -- JWT_SECRET and POSTGRES_PASSWORD ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        {"set_values": {"JWT_SECRET": OTHER_SECRET}},
        {"unset": ["JWT_SECRET"]},
        {"generate": ["JWT_SECRET"]},
        {"set_values": {"SITE_URL": "https://app.example.com", "JWT_SECRET": OTHER_SECRET}},
    ],
)
def test_a_jwt_secret_change_is_refused_and_points_to_regenerate_keys(change: dict[str, Any]) -> None:
    error = refused(**change)
    assert error.field == "JWT_SECRET"
    assert "dokploy_regenerate_keys" in str(error) and "rotate" in str(error)
    assert OTHER_SECRET not in str(error)


@pytest.mark.parametrize(
    "change", [{"set_values": {"POSTGRES_PASSWORD": "n3w-pg-password-long-enough"}}, {"unset": ["POSTGRES_PASSWORD"]}]
)
def test_a_postgres_password_change_is_refused_with_the_manual_steps(change: dict[str, Any]) -> None:
    error = refused(**change)
    assert error.field == "POSTGRES_PASSWORD"
    assert "ALTER USER" in str(error)
    assert "n3w-pg-password" not in str(error)


# -- ANON_KEY and SERVICE_ROLE_KEY ------------------------------------------------------------------------------------


def test_keys_signed_by_jwt_secret_with_the_right_roles_are_accepted() -> None:
    anon, service = sign_key(SECRET, "anon"), sign_key(SECRET, "service_role")
    plan = plan_env_update(ENV, set_values={"ANON_KEY": anon, "SERVICE_ROLE_KEY": service})
    assert plan.after.get("ANON_KEY") == anon
    assert plan.after.get("SERVICE_ROLE_KEY") == service
    assert [(c.key, c.kind) for c in plan.changes] == [("ANON_KEY", "changed"), ("SERVICE_ROLE_KEY", "changed")]
    removed, added = changed_lines(plan)
    assert [line.split("=")[0] for line in removed] == ["ANON_KEY", "SERVICE_ROLE_KEY"]
    assert added == [f"ANON_KEY={anon}", f"SERVICE_ROLE_KEY={service}"]


@pytest.mark.parametrize(
    ("variable", "token"),
    [
        ("ANON_KEY", sign_key(OTHER_SECRET, "anon")),
        ("SERVICE_ROLE_KEY", sign_key(OTHER_SECRET, "service_role")),
        ("ANON_KEY", sign_key(SECRET, "service_role")),
        ("SERVICE_ROLE_KEY", sign_key(SECRET, "anon")),
        ("ANON_KEY", ENV.get("SERVICE_ROLE_KEY") or ""),
        ("ANON_KEY", hs({k: v for k, v in fresh_claims("anon").items() if k != "role"}, SECRET)),
        ("ANON_KEY", hs(fresh_claims("anon"), SECRET, alg="HS512")),
        ("SERVICE_ROLE_KEY", hs({**fresh_claims("service_role"), "exp": 1_700_000_000}, SECRET)),
        ("ANON_KEY", "not-a-jwt-at-all-but-long-enough"),
        ("SERVICE_ROLE_KEY", "a.b.c"),
    ],
    ids=[
        "anon-other-secret",
        "service-other-secret",
        "anon-with-service-role",
        "service-with-anon-role",
        "anon-is-the-service-key",
        "no-role",
        "hs512",
        "expired",
        "not-a-jwt",
        "garbage-jwt",
    ],
)
def test_keys_inconsistent_with_jwt_secret_are_refused_without_quoting_them(variable: str, token: str) -> None:
    error = refused(set_values={variable: token})
    assert error.field == variable
    assert "dokploy_regenerate_keys" in str(error)
    assert token not in str(error)


def test_keys_are_refused_when_the_stack_has_no_jwt_secret() -> None:
    env = ENV.unset("JWT_SECRET")
    error = refused(env=env, set_values={"ANON_KEY": sign_key(SECRET, "anon")})
    assert error.field == "ANON_KEY"


# -- required variables -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", [v for v in REQUIRED if v not in {"JWT_SECRET", "POSTGRES_PASSWORD"}])
def test_required_variables_cannot_be_unset_or_emptied(variable: str) -> None:
    assert refused(unset=[variable]).field == variable
    assert refused(set_values={variable: ""}).field == variable
    assert refused(set_values={variable: "   "}).field == variable


def test_other_variables_can_be_unset_and_only_their_line_goes() -> None:
    plan = plan_env_update(ENV, unset=["OPENAI_API_KEY", "IMGPROXY_AUTO_WEBP", "NOT_THERE"])
    removed, added = changed_lines(plan)
    assert removed == ["IMGPROXY_AUTO_WEBP=true", "OPENAI_API_KEY="]
    assert added == []
    assert [(c.key, c.kind) for c in plan.changes] == [("IMGPROXY_AUTO_WEBP", "removed"), ("OPENAI_API_KEY", "removed")]
    # The comment above OPENAI_API_KEY stays.
    assert "# Add your OpenAI API key to enable SQL Editor Assistant" in plan.after.render()


# -- untouched lines --------------------------------------------------------------------------------------------------


def test_setting_a_variable_changes_its_line_only() -> None:
    plan = plan_env_update(ENV, set_values={"SITE_URL": "https://app.example.com"})
    assert changed_lines(plan) == (["SITE_URL=http://localhost:3000"], ["SITE_URL=https://app.example.com"])
    assert [(c.key, c.kind, c.old, c.new) for c in plan.changes] == [
        ("SITE_URL", "changed", "http://localhost:3000", "https://app.example.com")
    ]
    assert plan.notes == []
    assert plan.changed


def test_unknown_variables_and_comments_are_left_as_they_are() -> None:
    text = (
        "# my notes\n"
        "MY_APP_FLAG='keep  me'   # inline comment\n"
        "export LEGACY=1\n"
        "\n"
        "SITE_URL=http://localhost:3000 # where users land\n"
        "   # indented comment\n"
        'WEIRD_VALUE="a#b"\n'
    )
    env = EnvFile.parse(text)
    plan = plan_env_update(env, set_values={"SITE_URL": "https://app.example.com", "NEW_ONE": "x"})
    assert (
        plan.after.render()
        == text.replace("SITE_URL=http://localhost:3000 #", "SITE_URL=https://app.example.com #") + "NEW_ONE=x\n"
    )


def test_a_new_variable_is_appended_and_the_rest_is_unchanged() -> None:
    plan = plan_env_update(ENV, set_values={"MY_FEATURE_FLAG": "on"})
    after = plan.after.render()
    assert after.startswith(RECORDED_ENV)
    assert after[len(RECORDED_ENV) :] == "\nMY_FEATURE_FLAG=on"
    assert [(c.key, c.kind) for c in plan.changes] == [("MY_FEATURE_FLAG", "added")]


def test_setting_the_current_value_changes_nothing() -> None:
    plan = plan_env_update(ENV, set_values={"SITE_URL": "http://localhost:3000"})
    assert not plan.changed
    assert plan.changes == []
    assert plan.after.render() == RECORDED_ENV


# -- URL trio ---------------------------------------------------------------------------------------------------------


def trio(plan: EnvPlan) -> dict[str, str | None]:
    return {name: plan.after.get(name) for name in URL_TRIO}


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("API_EXTERNAL_URL", "https://api.example.com"),
        ("API_EXTERNAL_URL", "https://api.example.com/"),
        ("SUPABASE_PUBLIC_URL", "https://api.example.com"),
        ("SUPABASE_HOST", "api.example.com"),
    ],
)
def test_changing_one_url_variable_moves_the_other_two(variable: str, value: str) -> None:
    plan = plan_env_update(ENV, set_values={variable: value})
    assert trio(plan) == {
        "SUPABASE_HOST": "api.example.com",
        "API_EXTERNAL_URL": "https://api.example.com",
        "SUPABASE_PUBLIC_URL": "https://api.example.com",
    }
    followers = [name for name in URL_TRIO if name != variable]
    assert plan.notes == [f"{name} set to match {variable}" for name in followers]
    removed, added = changed_lines(plan)
    assert sorted(line.split("=")[0] for line in removed) == sorted(URL_TRIO)
    assert sorted(line.split("=")[0] for line in added) == sorted(URL_TRIO)
    assert {c.key for c in plan.changes} == set(URL_TRIO)


def test_supabase_host_keeps_the_scheme_the_urls_have() -> None:
    http_env = ENV.apply(set={"API_EXTERNAL_URL": f"http://{HOST}", "SUPABASE_PUBLIC_URL": f"http://{HOST}"})
    plan = plan_env_update(http_env, set_values={"SUPABASE_HOST": "api.example.com"})
    assert plan.after.get("API_EXTERNAL_URL") == "http://api.example.com"
    assert plan.after.get("SUPABASE_PUBLIC_URL") == "http://api.example.com"


def test_several_url_variables_that_agree_are_accepted() -> None:
    plan = plan_env_update(
        ENV,
        set_values={
            "SUPABASE_HOST": "API.example.com",
            "API_EXTERNAL_URL": "http://api.example.com/",
            "SUPABASE_PUBLIC_URL": "http://api.example.com",
        },
    )
    # The URL decides the scheme: a change to http together with the host is consistent.
    assert plan.after.get("API_EXTERNAL_URL") == "http://api.example.com"
    assert plan.after.get("SUPABASE_PUBLIC_URL") == "http://api.example.com"
    # Host names compare without case; the host is written as the URL spells it.
    assert plan.after.get("SUPABASE_HOST") == "api.example.com"
    assert plan.notes == []


@pytest.mark.parametrize(
    "values",
    [
        {"API_EXTERNAL_URL": "https://api.example.com", "SUPABASE_PUBLIC_URL": "https://other.example.com"},
        {"API_EXTERNAL_URL": "https://api.example.com", "SUPABASE_PUBLIC_URL": "http://api.example.com"},
        {"SUPABASE_HOST": "other.example.com", "API_EXTERNAL_URL": "https://api.example.com"},
        {"SUPABASE_HOST": "other.example.com", "SUPABASE_PUBLIC_URL": "https://api.example.com"},
    ],
)
def test_url_variables_that_disagree_are_refused(values: dict[str, str]) -> None:
    error = refused(set_values=values)
    assert error.field in values
    assert "disagrees" in str(error)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("API_EXTERNAL_URL", "api.example.com"),
        ("API_EXTERNAL_URL", "ftp://api.example.com"),
        ("SUPABASE_PUBLIC_URL", "https://"),
        ("API_EXTERNAL_URL", "http://[::1"),
        ("SUPABASE_HOST", "https://api.example.com"),
        ("SUPABASE_HOST", "api.example.com/path"),
        ("SUPABASE_HOST", "api example.com"),
    ],
)
def test_url_variables_must_be_urls_and_the_host_a_bare_host(variable: str, value: str) -> None:
    assert refused(set_values={variable: value}).field == variable


def test_a_url_variable_asked_to_go_is_not_written_back() -> None:
    plan = plan_env_update(ENV, set_values={"API_EXTERNAL_URL": "https://api.example.com"}, unset=["SUPABASE_HOST"])
    assert "SUPABASE_HOST" not in plan.after
    assert plan.after.get("SUPABASE_PUBLIC_URL") == "https://api.example.com"


def test_a_url_with_credentials_gives_a_host_without_them() -> None:
    plan = plan_env_update(ENV, set_values={"API_EXTERNAL_URL": "https://user:pw@api.example.com:8443"})
    assert plan.after.get("SUPABASE_HOST") == "api.example.com:8443"


# -- generate ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variable", sorted(GENERATABLE))
def test_generate_gives_a_fresh_value_of_the_right_length(variable: str) -> None:
    old = ENV.get(variable)
    plan = plan_env_update(ENV, generate=[variable])
    new = plan.after.get(variable)
    assert new is not None and new != old
    assert len(new) == GENERATABLE[variable]
    assert SAFE.match(new)
    assert [(c.key, c.kind) for c in plan.changes] == [(variable, "changed" if old is not None else "added")]
    assert plan.notes == [f"{variable} set to a new random value ({GENERATABLE[variable]} characters)"]
    assert new not in " ".join(plan.notes)
    removed, added = changed_lines(plan)
    assert [line.split("=")[0] for line in removed] == [variable]
    assert added == [f"{variable}={new}"]


def test_vault_enc_key_is_never_generated() -> None:
    # Supavisor's stored data is encrypted with it: a new key would make that data unreadable.
    assert "VAULT_ENC_KEY" not in GENERATABLE
    assert refused(generate=["VAULT_ENC_KEY"]).field == "VAULT_ENC_KEY"


def test_generate_never_returns_the_old_value(monkeypatch: pytest.MonkeyPatch) -> None:
    old = ENV.get("DASHBOARD_PASSWORD")
    answers = iter([old, old, "f" * 32])
    monkeypatch.setattr(envupdate, "generate_secret", lambda length: next(answers))
    plan = plan_env_update(ENV, generate=["DASHBOARD_PASSWORD"])
    assert plan.after.get("DASHBOARD_PASSWORD") == "f" * 32


def test_generate_of_several_variables_gives_each_its_own_value() -> None:
    plan = plan_env_update(ENV, generate=["LOGFLARE_PUBLIC_ACCESS_TOKEN", "LOGFLARE_PRIVATE_ACCESS_TOKEN"])
    public = plan.after.get("LOGFLARE_PUBLIC_ACCESS_TOKEN")
    private = plan.after.get("LOGFLARE_PRIVATE_ACCESS_TOKEN")
    assert public and private and public != private


def test_generate_the_same_variable_twice_is_one_change() -> None:
    plan = plan_env_update(ENV, generate=["SECRET_KEY_BASE", "SECRET_KEY_BASE"])
    assert [c.key for c in plan.changes] == ["SECRET_KEY_BASE"]


@pytest.mark.parametrize("variable", ["SITE_URL", "ANON_KEY", "SMTP_PASS", "MY_OWN_SECRET"])
def test_generate_refuses_variables_it_does_not_know(variable: str) -> None:
    error = refused(generate=[variable])
    assert error.field == variable
    assert "DASHBOARD_PASSWORD" in str(error)


def test_generate_and_set_of_one_variable_is_refused() -> None:
    assert refused(set_values={"DASHBOARD_PASSWORD": "x" * 32}, generate=["DASHBOARD_PASSWORD"]).field == (
        "DASHBOARD_PASSWORD"
    )


# -- set and unset together: replace ----------------------------------------------------------------------------------


def test_set_and_unset_of_one_variable_drops_its_duplicates_and_writes_it_once() -> None:
    text = "SITE_URL=http://old.example.com\n# keep\nOTHER=1\nSITE_URL=https://app.example.com\nLAST=2\n"
    env = EnvFile.parse(text)
    plan = plan_env_update(env, set_values={"SITE_URL": "https://app.example.com"}, unset=["SITE_URL"])
    assert plan.after.render() == "# keep\nOTHER=1\nSITE_URL=https://app.example.com\nLAST=2\n"
    assert plan.changes == []
    assert plan.changed
    assert plan.notes == ["SITE_URL: 1 other line(s) removed; it is written once"]


def test_set_and_unset_of_a_required_variable_replaces_it() -> None:
    text = "SITE_URL=http://localhost:3000\nSITE_URL=http://localhost:3001"
    plan = plan_env_update(EnvFile.parse(text), set_values={"SITE_URL": "https://app.example.com"}, unset=["SITE_URL"])
    assert plan.after.render() == "SITE_URL=https://app.example.com"
    assert [(c.key, c.kind) for c in plan.changes] == [("SITE_URL", "changed")]


def test_set_and_unset_of_a_single_line_variable_is_a_plain_set() -> None:
    plan = plan_env_update(ENV, set_values={"SITE_URL": "https://app.example.com"}, unset=["SITE_URL"])
    assert changed_lines(plan) == (["SITE_URL=http://localhost:3000"], ["SITE_URL=https://app.example.com"])
    assert plan.notes == []


def test_the_plan_keeps_the_env_it_started_from() -> None:
    plan = plan_env_update(ENV, set_values={"SITE_URL": "https://app.example.com"}, generate=["DASHBOARD_PASSWORD"])
    assert plan.before is ENV
    assert plan.before.render() == RECORDED_ENV
    assert {c.key for c in plan.changes} == {"SITE_URL", "DASHBOARD_PASSWORD"}


@pytest.mark.parametrize(
    "change", [{"set_values": {"BAD NAME": "x"}}, {"unset": ["BAD NAME"]}, {"generate": ["BAD NAME"]}]
)
def test_invalid_variable_names_are_refused_by_name(change: dict[str, Any]) -> None:
    error = refused(**change)
    assert error.field == "BAD NAME"
    assert "'BAD NAME'" in str(error)


def test_expiry_of_an_accepted_key_is_in_the_future() -> None:
    # sign_key's default lifetime gives keys that the plan accepts; a key issued long ago and now expired is not.
    old = sign_key(SECRET, "anon", issued_at=datetime.now(UTC) - timedelta(days=400), lifetime=timedelta(days=365))
    assert refused(set_values={"ANON_KEY": old}).field == "ANON_KEY"
