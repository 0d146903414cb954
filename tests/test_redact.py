"""The process-wide scrubber: known secrets and secret-shaped text never reach an answer or a log line."""

from __future__ import annotations

import logging
import secrets
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dokploy_mcp.redact import MASK, ScrubbingFilter, mask, mask_in_text, remember, scrub


def unique(prefix: str = "s") -> str:
    # Tests share the process-wide set, so each uses values of its own instead of clearing it.
    return f"{prefix}-{secrets.token_hex(12)}"


def test_a_remembered_secret_is_masked_wherever_it_appears() -> None:
    key = unique("key")
    remember(key)
    assert scrub(f"Dokploy said: the key {key} is invalid ({key[:-1]}x)") == (
        f"Dokploy said: the key {MASK} is invalid ({key[:-1]}x)"
    )


def test_a_longer_secret_containing_a_shorter_one_is_masked_whole() -> None:
    short = unique("short")
    long = short + "-and-more"
    remember(short, long)
    assert scrub(f"<{long}>") == f"<{MASK}>"


def test_short_empty_and_common_values_are_not_remembered() -> None:
    remember("", None, "abc", "postgres", "password")
    assert scrub("connect as postgres with password abc") == "connect as postgres with password abc"


def test_secret_objects_are_unwrapped() -> None:
    from pydantic import SecretStr

    value = unique("wrapped")
    remember(SecretStr(value))
    assert value not in scrub(f"x {value} y")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # the real failed-backup answer of Dokploy (recordings/backup.manualBackupPostgres--missing-bucket.json)
        (
            "rclone rcat --s3-access-key-id=localaccesskey --s3-secret-access-key=localsecretkey --s3-region=us-east-1",
            f"rclone rcat --s3-access-key-id={MASK} --s3-secret-access-key={MASK} --s3-region=us-east-1",
        ),
        (
            "POSTGRES_PASSWORD=hunter22 JWT_SECRET='a b c' SITE_URL=x",
            f"POSTGRES_PASSWORD={MASK} JWT_SECRET='{MASK}' SITE_URL=x",
        ),
        ('{"secretAccessKey": "abc\\"def", "bucket": "b"}', f'{{"secretAccessKey": "{MASK}", "bucket": "b"}}'),
        ("postgresql://app:s3cret@db:5432/x", f"postgresql://app:{MASK}@db:5432/x"),
        ("Authorization: Bearer abcdefghijklmnop", f"Authorization: Bearer {MASK}"),
        # prose stays readable
        ("password: missing, token: expired", "password: missing, token: expired"),
        ("set x=1 and y=2", "set x=1 and y=2"),
    ],
)
def test_secret_shaped_text_is_masked(text: str, expected: str) -> None:
    assert scrub(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "a" * 1_000_000,
        "PASSWORD_" * 110_000,  # took minutes before: a keyword searched inside a long run of name characters
        '"' + "PASSWORD_" * 110_000,
        "x://" * 250_000,
        "x://:" * 200_000,  # each start tries up to 256 characters for the '@' of a password
        "x='" + 'y="' * 300_000,
        "a=" * 500_000,
        "ab-" * 330_000 + "=",
        "bearer " * 140_000,
    ],
)
def test_scrubbing_is_linear_in_the_text(text: str) -> None:
    """Liveness, not timing: about 0.2 s here; the quadratic patterns this replaced took hours on these inputs."""
    done = threading.Event()

    def work() -> None:
        scrub(text)
        done.set()

    worker = threading.Thread(target=work, daemon=True)
    worker.start()
    assert done.wait(60), "scrubbing a 1 MB text did not finish within 60 s"


def test_the_logging_filter_scrubs_message_arguments_and_tracebacks() -> None:
    key = unique("logkey")
    remember(key)
    records: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(self.format(record))

    handler = Collect()
    handler.addFilter(ScrubbingFilter())
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger(f"tests.redact.{secrets.token_hex(4)}")
    logger.addHandler(handler)
    logger.propagate = False
    logger.warning("key %s and PASSWORD=%s", key, "hunter22x")
    try:
        raise RuntimeError(f"failed with {key}")
    except RuntimeError:
        logger.exception("boom")
    text = "\n".join(records)
    assert key not in text and "hunter22x" not in text
    assert "RuntimeError: failed with ****" in text


@given(st.text(min_size=1), st.data())
def test_a_mask_depends_only_on_the_length(value: str, data: st.DataObject) -> None:
    other = data.draw(st.text(min_size=len(value), max_size=len(value)))
    assert mask(value) == mask(other)


@given(st.text(st.characters(categories=["L", "N"]), min_size=4))
def test_a_mask_never_holds_the_value(value: str) -> None:
    masked = mask(value)
    assert masked is not None
    assert value not in masked
    assert str(len(value)) in masked


def test_mask_keeps_none_and_empty() -> None:
    assert mask(None) is None
    assert mask("") == ""


def test_mask_in_text_replaces_every_occurrence_longest_first() -> None:
    text = "auth failed for abcdefgh12345678 (again abcdefgh12345678); prefix abcdefgh; short xyz"
    masked = mask_in_text(text, ["abcdefgh12345678", "abcdefgh", "xyz", ""])
    assert masked == "auth failed for •••• (16 chars) (again •••• (16 chars)); prefix •••• (8 chars); short xyz"
    assert mask_in_text(text, []) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            'connection to "postgresql://postgres:Sup3r@db:5432/x" failed',
            'connection to "postgresql://postgres:****@db:5432/x" failed',
        ),
        ("dsn postgresql://u:p@ss@h/db end", "dsn postgresql://u:****@h/db end"),
        ("password='a\\'b c' rest", "password='****' rest"),
        ("password=ab,cd host=h", "password=**** host=h"),
        ("host=h password=Sup3r user=u", "host=h password=**** user=u"),
        ("host=h password='a b c' user=u", "host=h password='****' user=u"),
        ("?user=u&password=Sup3r&sslmode=require", "?user=u&password=****&sslmode=require"),
        ("PGPASSWORD=Sup3r psql", "PGPASSWORD=**** psql"),
        ("{'password': 'Sup3r', 'user': 'u'}", "{'password': '****', 'user': 'u'}"),
        (
            "nothing secret here: password_encryption=scram-sha-256",
            "nothing secret here: password_encryption=scram-sha-256",
        ),
    ],
)
def test_connection_strings_in_free_text_lose_their_passwords(text: str, expected: str) -> None:
    # libpq's and psycopg's messages quote DSNs and key=value strings (tests/postgres shows where they come from).
    assert scrub(text) == expected
