"""Parsing connection targets in every pasted form, and never showing their passwords."""

from __future__ import annotations

import dataclasses
from urllib.parse import quote

import pytest
from hypothesis import given
from hypothesis import strategies as st
from psycopg.conninfo import conninfo_to_dict

from dokploy_mcp.errors import InputError
from dokploy_mcp.postgres.conninfo import ConnInfo, parse_target
from dokploy_mcp.postgres.errors import ConnectionStringError

PARSED = [
    (
        "postgresql://postgres:s3cret@db.example.com:5432/postgres",
        {"host": "db.example.com", "port": 5432, "dbname": "postgres", "user": "postgres", "password": "s3cret"},
    ),
    (
        "postgres://app:pw@10.0.0.5/appdb",
        {"host": "10.0.0.5", "port": None, "dbname": "appdb", "user": "app", "password": "pw"},
    ),
    (
        "postgresql://postgres:p%40ss%2Fw%3Ar%3Fd%23x@host:6000/db?sslmode=require&application_name=ops",
        {
            "host": "host",
            "port": 6000,
            "dbname": "db",
            "user": "postgres",
            "password": "p@ss/w:r?d#x",
            "sslmode": "require",
        },
    ),
    (
        # Supabase's pooler: the tenant travels in the user name and must be kept as is.
        "postgresql://postgres.abcdefghijklmnop:pw@aws-0-eu-central-1.pooler.supabase.com:6543/postgres",
        {
            "host": "aws-0-eu-central-1.pooler.supabase.com",
            "port": 6543,
            "dbname": "postgres",
            "user": "postgres.abcdefghijklmnop",
            "password": "pw",
        },
    ),
    (
        "host=db port=5433 dbname=postgres user=supabase_admin password='it\\'s a secret' sslmode=disable",
        {"host": "db", "port": 5433, "dbname": "postgres", "user": "supabase_admin", "password": "it's a secret"},
    ),
    (
        "jdbc:postgresql://db.example.com:5432/postgres?user=postgres&password=p%40w&sslmode=require",
        {
            "host": "db.example.com",
            "port": 5432,
            "dbname": "postgres",
            "user": "postgres",
            "password": "p@w",
            "sslmode": "require",
        },
    ),
    (
        "postgresql://u:pw@[::1]:5432/db",
        {"host": "::1", "port": 5432, "dbname": "db", "user": "u", "password": "pw"},
    ),
    (
        "postgresql:///db?host=/var/run/postgresql&port=5433",
        {"host": "/var/run/postgresql", "port": 5433, "dbname": "db", "user": None, "password": None},
    ),
    (
        "postgresql+psycopg://u:pw@h/db",
        {"host": "h", "port": None, "dbname": "db", "user": "u", "password": "pw"},
    ),
]


@pytest.mark.parametrize(("text", "expected"), PARSED, ids=lambda v: v if isinstance(v, str) else "")
def test_each_accepted_form_parses(text: str, expected: dict[str, object]) -> None:
    info = parse_target(text)
    for name, value in expected.items():
        assert getattr(info, name) == value, name


def test_url_query_parameters_other_than_core_ones_land_in_params() -> None:
    info = parse_target("postgresql://u@h/db?sslmode=verify-full&application_name=ops&connect_timeout=3")
    assert info.sslmode == "verify-full"
    assert dict(info.params) == {"application_name": "ops", "connect_timeout": "3"}


@pytest.mark.parametrize(
    ("text", "password"),
    [
        ("postgresql://postgres:p@ss@db:5432/postgres", "p@ss"),
        ("postgresql://postgres:pa/ss@db:5432/postgres", "pa/ss"),
        ("postgresql://postgres:a/b?c@db/postgres", "a/b?c"),
        ("postgresql://postgres:100%off@db/postgres", "100%off"),
    ],
)
def test_unencoded_special_characters_in_a_url_password_are_understood(text: str, password: str) -> None:
    info = parse_target(text)
    assert (info.host, info.dbname, info.user, info.password) == ("db", "postgres", "postgres", password)


def test_an_at_sign_in_the_query_is_not_mistaken_for_userinfo() -> None:
    info = parse_target("postgresql://h/db?user=me@corp")
    assert (info.host, info.user, info.password) == ("h", "me@corp", None)


def test_jdbc_specific_parameters_are_translated_or_ignored() -> None:
    info = parse_target(
        "jdbc:postgresql://h:5432/db?user=u&ssl=true&ApplicationName=ops&currentSchema=app&loggerLevel=OFF"
    )
    assert info.sslmode == "verify-full"  # pgjdbc's meaning of ssl=true
    assert info.params["application_name"] == "ops"
    assert info.params["options"] == "-c search_path=app"
    assert "loggerLevel" not in info.params


def test_jdbc_without_host_means_localhost() -> None:
    info = parse_target("jdbc:postgresql:appdb")
    assert (info.host, info.dbname) == ("localhost", "appdb")


@pytest.mark.parametrize(
    "text",
    [
        "postgresql://postgres:[YOUR-PASSWORD]@db.abcdefghijklmnop.supabase.co:5432/postgres",
        "postgresql://postgres.abcdefghijklmnop:[YOUR-PASSWORD]@aws-0-eu-central-1.pooler.supabase.com:6543/postgres",
        "jdbc:postgresql://db.x.supabase.co:5432/postgres?user=postgres&password=[YOUR-PASSWORD]",
        "postgresql://postgres:%5BYOUR-PASSWORD%5D@db:5432/postgres",
        "host=db user=postgres password=<password>",
        "postgresql://postgres:${POSTGRES_PASSWORD}@db:5432/postgres",
        "postgresql://postgres:pw@[YOUR-HOST]:5432/postgres",
    ],
)
def test_placeholders_are_refused_with_the_fix(text: str) -> None:
    with pytest.raises(ConnectionStringError) as caught:
        parse_target(text)
    assert isinstance(caught.value, InputError)
    assert caught.value.field == "target"
    assert "placeholder" in str(caught.value)
    assert "replace it with the real value" in str(caught.value)


def test_a_real_password_with_brackets_is_not_taken_for_a_placeholder() -> None:
    assert parse_target("host=h password='p[ab]c'").password == "p[ab]c"


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("mysql://root:pw@h/db", "not a PostgreSQL connection string"),
        ("just some words", "not a connection string"),
        ("postgresql://u:pw@h:99999/db", "port"),
        ("postgresql://h1:5432,h2:5433/db", "same port"),
    ],
)
def test_unusable_targets_are_refused_with_a_clear_message(text: str, says: str) -> None:
    with pytest.raises(ConnectionStringError, match=says):
        parse_target(text)


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        ("postgresql://u:TopSecret1@h/db?foo=1", "TopSecret1"),
        ("postgresql://u:TopSecret%zz@h/db", "TopSecret"),
        ("host=h password=TopSecret trailingword", "TopSecret"),
        ("host=h password=TopSecret trailingword", "trailingword"),
        ("jdbc:postgresql://h/db?password=TopSecret&bogus=1&options=x&user=u&sslmode=nonsense", "TopSecret"),
    ],
)
def test_parse_errors_never_quote_the_password(text: str, secret: str) -> None:
    try:
        info = parse_target(text)
    except ConnectionStringError as exc:
        assert secret not in str(exc)
    else:
        # Accepted (lenient repair): then the display forms must hide it.
        assert secret not in info.masked()
        assert secret not in repr(info)


def test_masked_and_repr_never_show_the_password() -> None:
    info = parse_target("postgresql://postgres:Hunter2Secret@db:5432/postgres?sslmode=require&sslpassword=KeyPass9")
    assert info.masked() == "postgresql://postgres:****@db:5432/postgres?sslmode=require&sslpassword=****"
    for shown in (info.masked(), repr(info), str(info)):
        assert "Hunter2Secret" not in shown
        assert "KeyPass9" not in shown
    assert "Hunter2Secret" in info.to_conninfo()  # the one place it must be


def test_masked_without_password_shows_no_mask() -> None:
    assert parse_target("postgresql://postgres@db/postgres").masked() == "postgresql://postgres@db/postgres"


def test_to_conninfo_round_trips_through_libpq() -> None:
    info = parse_target("postgresql://u:p%20w'\\x@h:5433/d?sslmode=prefer&application_name=a%20b")
    values = {key: str(value) for key, value in conninfo_to_dict(info.to_conninfo()).items() if value is not None}
    assert ConnInfo.from_libpq(values) == info


def test_conninfo_is_frozen_and_hashable() -> None:
    info = parse_target("postgresql://u:pw@h/db?application_name=x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.host = "other"  # type: ignore[misc]
    with pytest.raises(TypeError):
        info.params["x"] = "y"  # type: ignore[index]
    assert hash(info) == hash(parse_target("postgresql://u:pw@h/db?application_name=x"))


MARKER = "Zx9"  # makes "the password appears in the output" unambiguous even for one-character passwords


@given(
    st.text(
        alphabet=st.one_of(
            st.sampled_from("@:/?#%&=+ '\"\\[]<>{}$."),
            st.characters(codec="utf-8", exclude_characters="\x00", exclude_categories=["Cs"]),
        ),
        max_size=40,
    )
)
def test_any_password_round_trips_percent_encoded_and_never_shows(raw: str) -> None:
    password = MARKER + raw
    info = parse_target(f"postgresql://postgres.tenant:{quote(password, safe='')}@db.example.com:6543/postgres")
    assert info.password == password
    assert (info.user, info.host, info.port, info.dbname) == ("postgres.tenant", "db.example.com", 6543, "postgres")
    assert conninfo_to_dict(info.to_conninfo())["password"] == password
    for shown in (info.masked(), repr(info)):
        assert password not in shown
        assert quote(password, safe="") not in shown
        assert MARKER not in shown
