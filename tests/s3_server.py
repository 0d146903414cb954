"""moto's S3 in server mode on loopback: real boto3 over real HTTP, for the tests of the S3 backup store.

One server per test run, started when a test first asks for it and stopped when the process exits. It runs in a
thread of this process (``moto.server.ThreadedMotoServer``), on 127.0.0.1 and a port the kernel picks (port 0, so
no other process can take it between choosing and binding). Without moto the :func:`s3_bucket` fixture skips with a
``REAL PART MISSING`` reason, and fails under ``CI=true``.

moto accepts any credentials until IAM checks are switched on (:func:`iam_checks`), which is how the tests get a
refused key or an access denied. The fixture gives boto3 invented credentials through its own environment variables
and hides the developer's ``~/.aws`` and the EC2 instance metadata, so nothing real is ever used.
"""

from __future__ import annotations

import atexit
import functools
import logging
import secrets
import threading
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest

from tests.conftest import require_real_part

HOST = "127.0.0.1"
REGION = "us-east-1"
FAKE_ACCESS_KEY_ID = "AKIAMOTOFAKEKEY4TEST"
FAKE_SECRET_ACCESS_KEY = "moto-fake-secret-9f3Kq7ZxVb2LwP8dTnR4"
START_TIMEOUT = 20.0

# ThreadedMotoServer.start() waits forever when the server thread dies before it is ready, so the start runs in
# a thread of its own that is given up after START_TIMEOUT.
_lock = threading.Lock()
_endpoint: str | None = None
_failure: MotoUnavailable | None = None


class MotoUnavailable(RuntimeError):
    """moto[server] is missing or its server did not start; the message says which."""


def _start() -> str:
    try:
        from moto.server import ThreadedMotoServer
    except ImportError as exc:
        raise MotoUnavailable(f"moto[server] is not importable ({exc}); it is in the test extra") from exc
    # Every request would be logged at INFO by werkzeug; the tests' own assertions say what matters.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = ThreadedMotoServer(ip_address=HOST, port=0, verbose=False)
    starter = threading.Thread(target=server.start, daemon=True, name="moto-start")
    starter.start()
    starter.join(START_TIMEOUT)
    if starter.is_alive():
        raise MotoUnavailable(f"moto's server did not start on {HOST} within {START_TIMEOUT:.0f} s")
    host, port = server.get_host_and_port()
    atexit.register(server.stop)
    return f"http://{host}:{port}"


def endpoint() -> str:
    """The URL of this run's moto server, started on first use (MotoUnavailable when it cannot be)."""
    global _endpoint, _failure
    with _lock:
        if _failure is not None:
            raise _failure  # tried once this run: every test would wait for the same failure again
        if _endpoint is None:
            try:
                _endpoint = _start()
            except MotoUnavailable as exc:
                _failure = exc
                raise
        return _endpoint


def require_endpoint() -> str:
    """:func:`endpoint`, or a skip with a ``REAL PART MISSING`` reason (a failure under ``CI=true``)."""
    try:
        return endpoint()
    except MotoUnavailable as exc:
        require_real_part(False, "moto S3 server", str(exc))
        raise AssertionError("unreachable") from exc  # require_real_part skipped or failed


@functools.cache
def client(endpoint_url: str, *, access_key: str = FAKE_ACCESS_KEY_ID, secret_key: str = FAKE_SECRET_ACCESS_KEY) -> Any:
    """A boto3 S3 client of its own (explicit credentials, path-style), for setting up and checking from tests.

    Kept for the run: a new boto3 session reads its service models again, which costs a few tenths of a second."""
    import boto3  # type: ignore[import-untyped]
    from botocore.config import Config  # type: ignore[import-untyped]

    session = boto3.session.Session(aws_access_key_id=access_key, aws_secret_access_key=secret_key, region_name=REGION)
    return session.client("s3", endpoint_url=endpoint_url, config=Config(s3={"addressing_style": "path"}))


def use_fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    """boto3's environment for the test: the invented keys, one region, and nothing from the developer's machine."""
    for name in ("AWS_SESSION_TOKEN", "AWS_PROFILE", "AWS_REGION", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", FAKE_ACCESS_KEY_ID)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET_ACCESS_KEY)
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/dokploy-mcp-tests/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/dokploy-mcp-tests/aws-credentials")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@dataclass(frozen=True)
class S3Bucket:
    """A fresh bucket on the moto server: ``endpoint`` (http://127.0.0.1:port), ``name``, ``url`` (s3://name)."""

    endpoint: str
    name: str

    @property
    def url(self) -> str:
        return f"s3://{self.name}"

    def client(self) -> Any:
        return client(self.endpoint)

    def pending_uploads(self) -> list[str]:
        """Keys of multipart uploads started and neither completed nor aborted."""
        answer = self.client().list_multipart_uploads(Bucket=self.name)
        return [str(upload["Key"]) for upload in answer.get("Uploads", [])]

    def object_keys(self) -> list[str]:
        answer = self.client().list_objects_v2(Bucket=self.name)
        return sorted(str(item["Key"]) for item in answer.get("Contents", []))


def _set_auth(endpoint_url: str, initial_free_requests: str) -> None:
    # moto's own API: IAM checks start after this many more requests ("inf": never).
    request = urllib.request.Request(
        f"{endpoint_url}/moto-api/reset-auth",
        data=initial_free_requests.encode(),
        method="POST",
        headers={"Content-Type": "application/octet-stream"},
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()


@contextmanager
def iam_checks(endpoint_url: str) -> Iterator[None]:
    """moto checks signatures and IAM policies inside the block (an unknown key is refused), not outside it."""
    _set_auth(endpoint_url, "0")
    try:
        yield
    finally:
        _set_auth(endpoint_url, "inf")


def user_without_rights(endpoint_url: str) -> tuple[str, str]:
    """Access key and secret of a new moto IAM user with no policy at all: it may do nothing on S3."""
    import boto3

    session = boto3.session.Session(
        aws_access_key_id=FAKE_ACCESS_KEY_ID, aws_secret_access_key=FAKE_SECRET_ACCESS_KEY, region_name=REGION
    )
    iam = session.client("iam", endpoint_url=endpoint_url)
    name = f"nobody-{secrets.token_hex(4)}"
    iam.create_user(UserName=name)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return str(key["AccessKeyId"]), str(key["SecretAccessKey"])


def _empty_and_delete(bucket: S3Bucket) -> None:
    s3 = bucket.client()
    for upload in s3.list_multipart_uploads(Bucket=bucket.name).get("Uploads", []):
        s3.abort_multipart_upload(Bucket=bucket.name, Key=upload["Key"], UploadId=upload["UploadId"])
    for key in bucket.object_keys():
        s3.delete_object(Bucket=bucket.name, Key=key)
    s3.delete_bucket(Bucket=bucket.name)


@pytest.fixture
def s3_bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Bucket]:
    """A fresh, empty bucket on this run's moto server, with boto3's environment set to invented credentials."""
    use_fake_credentials(monkeypatch)
    bucket = S3Bucket(require_endpoint(), f"test-{secrets.token_hex(6)}")
    bucket.client().create_bucket(Bucket=bucket.name)
    yield bucket
    _empty_and_delete(bucket)
