"""The process-wide scrubber: known secrets and secret-shaped text never reach an answer or a log line."""

from __future__ import annotations

import logging
import secrets
import threading

import pytest

from dokploy_mcp.redact import MASK, ScrubbingFilter, remember, scrub


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
