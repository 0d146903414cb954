"""The backup stores: a local directory, and S3 through real boto3 over HTTP to moto's server (tests/s3_server.py).

Both stores are held to the same behaviour (round trip in odd-sized pieces, nothing visible before commit, nothing
left after abort, limits, listing, deletion, refused keys); S3 adds multipart uploads, its configuration errors and
its failures, each of which must say what to fix without quoting a credential.
"""

from __future__ import annotations

import hashlib
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from dokploy_mcp.backups.errors import BackupNotFoundError, BackupStorageError
from dokploy_mcp.backups.s3store import MIN_PART_SIZE, S3Store, check_endpoint, parse_s3_url
from dokploy_mcp.backups.storage import BackupStore, LocalStore, ObjectWriter, open_store
from dokploy_mcp.errors import ConfigurationError, InputError
from tests import s3_server
from tests.s3_server import (
    FAKE_ACCESS_KEY_ID,
    FAKE_SECRET_ACCESS_KEY,
    S3Bucket,
    iam_checks,
    s3_bucket,  # noqa: F401  (a fixture)
    user_without_rights,
)

ODD_SIZES = (1, 7, 4093, 65_537, 1_000_003, 3, 262_147)
BAD_KEYS = [
    "",
    "/etc/passwd",
    "../outside",
    "a/../../b",
    "a/./b",
    "a\\b",
    "a//b",
    "a/",
    ".hidden",
    "a/.x.partial",
    "a\x00b",
    "a\nb",
    "x" * 600,
    "a/" + "y" * 201,
]


def payload(size: int, seed: int = 1) -> bytes:
    """Incompressible-looking bytes of ``size``, the same for the same seed."""
    block = hashlib.sha256(seed.to_bytes(8, "big")).digest() * 64
    return (block * (size // len(block) + 1))[:size]


def write_in_pieces(writer: ObjectWriter, data: bytes) -> None:
    view, turn = memoryview(data), 0
    while view:
        size = ODD_SIZES[turn % len(ODD_SIZES)]
        writer.write(view[:size])
        view, turn = view[size:], turn + 1


def read_in_pieces(store: BackupStore, key: str) -> bytes:
    chunks, turn = [], 0
    with store.reader(key) as reader:
        while chunk := reader.read(ODD_SIZES[turn % len(ODD_SIZES)]):
            chunks.append(chunk)
            turn += 1
    return b"".join(chunks)


def files_under(root: Path) -> list[str]:
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def local(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "backups")


@pytest.fixture
def bucket(s3_bucket: S3Bucket) -> S3Bucket:  # noqa: F811  (the fixture imported above)
    return s3_bucket


@pytest.fixture
def s3(bucket: S3Bucket) -> S3Store:
    return S3Store(bucket.url, endpoint=bucket.endpoint, part_size=MIN_PART_SIZE)


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest) -> BackupStore:
    """Each store in turn, for the behaviour both must share."""
    fixture: BackupStore = request.getfixturevalue(request.param)
    return fixture


# -- both stores ------------------------------------------------------------------------------------------------------


def test_round_trip_in_odd_sized_pieces(store: BackupStore) -> None:
    data = payload(3 * 1024 * 1024 + 17)
    with store.writer("2026/12/05/first.sealed") as writer:
        write_in_pieces(writer, data)
    assert read_in_pieces(store, "2026/12/05/first.sealed") == data
    assert store.exists("2026/12/05/first.sealed")


def test_an_empty_object_round_trips(store: BackupStore) -> None:
    with store.writer("empty") as _:
        pass
    assert store.get_bytes("empty", limit=10) == b""
    assert [(info.key, info.size) for info in store.list()] == [("empty", 0)]


def test_nothing_is_visible_before_commit(store: BackupStore) -> None:
    writer = store.writer("pending.sealed")
    writer.write(payload(1000))
    assert not store.exists("pending.sealed")
    assert store.list() == []
    with pytest.raises(BackupNotFoundError):
        store.reader("pending.sealed")
    writer.commit()
    assert store.get_bytes("pending.sealed", limit=1000) == payload(1000)


def test_an_exception_in_the_block_aborts(store: BackupStore) -> None:
    with pytest.raises(RuntimeError, match="boom"), store.writer("broken.sealed") as writer:
        writer.write(b"half a backup")
        raise RuntimeError("boom")
    assert not store.exists("broken.sealed")
    assert store.list() == []


def test_a_committed_writer_takes_no_more(store: BackupStore) -> None:
    writer = store.writer("done")
    writer.write(b"x")
    writer.commit()
    with pytest.raises(RuntimeError, match="already committed"):
        writer.write(b"y")
    writer.abort()  # nothing to undo once committed
    assert store.get_bytes("done", limit=1) == b"x"


def test_an_overwrite_shows_the_old_object_until_commit(store: BackupStore) -> None:
    store.put_bytes("manifest.json", b"old")
    writer = store.writer("manifest.json")
    writer.write(b"new!")
    assert store.get_bytes("manifest.json", limit=100) == b"old"
    writer.commit()
    assert store.get_bytes("manifest.json", limit=100) == b"new!"


def test_get_bytes_refuses_more_than_its_limit(store: BackupStore) -> None:
    store.put_bytes("m.json", b"0123456789")
    assert store.get_bytes("m.json", limit=10) == b"0123456789"
    with pytest.raises(BackupStorageError, match="larger than the 9 bytes") as caught:
        store.get_bytes("m.json", limit=9)
    assert caught.value.cause == "too large"
    assert caught.value.location == "m.json"


def test_list_is_recursive_sorted_and_filtered_by_prefix(store: BackupStore) -> None:
    before = datetime.now(UTC) - timedelta(minutes=5)
    for key, size in [("2026/12/b.sealed", 5), ("2026/12/a.sealed", 3), ("2026/11/c.sealed", 1), ("top", 2)]:
        store.put_bytes(key, b"z" * size)
    listed = store.list()
    assert [(info.key, info.size) for info in listed] == [
        ("2026/11/c.sealed", 1),
        ("2026/12/a.sealed", 3),
        ("2026/12/b.sealed", 5),
        ("top", 2),
    ]
    for info in listed:
        assert info.modified.tzinfo is not None
        assert before <= info.modified <= datetime.now(UTC) + timedelta(minutes=5)
    assert [info.key for info in store.list("2026/12/")] == ["2026/12/a.sealed", "2026/12/b.sealed"]
    assert [info.key for info in store.list("2026/1")] == ["2026/11/c.sealed", "2026/12/a.sealed", "2026/12/b.sealed"]
    assert [info.key for info in store.list("to")] == ["top"]
    assert store.list("nothing/") == []


def test_delete_removes_and_a_missing_object_is_no_error(store: BackupStore) -> None:
    store.put_bytes("a/b", b"1")
    store.delete("a/b")
    assert not store.exists("a/b")
    assert store.list() == []
    store.delete("a/b")
    store.delete("never/there")


def test_a_missing_object_is_not_found(store: BackupStore) -> None:
    with pytest.raises(BackupNotFoundError) as caught:
        store.reader("no/such.sealed")
    assert caught.value.location == "no/such.sealed"
    with pytest.raises(BackupNotFoundError):
        store.get_bytes("no/such.sealed", limit=10)
    assert not store.exists("no/such.sealed")


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_are_refused_before_anything_happens(store: BackupStore, key: str) -> None:
    calls: list[Callable[[], object]] = [
        lambda: store.writer(key),
        lambda: store.reader(key),
        lambda: store.put_bytes(key, b"x"),
        lambda: store.get_bytes(key, limit=1),
        lambda: store.delete(key),
        lambda: store.exists(key),
    ]
    for call in calls:
        with pytest.raises(InputError) as caught:
            call()
        assert caught.value.field == "key"
    assert store.list() == []


def test_a_bad_prefix_is_refused(store: BackupStore) -> None:
    with pytest.raises(InputError) as caught:
        store.list("../")
    assert caught.value.field == "prefix"


# -- local directory --------------------------------------------------------------------------------------------------


def test_local_directory_and_files_are_private(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "new" / "backups")
    store.put_bytes("2026/x.sealed", b"secret stuff")
    assert stat.S_IMODE(os.stat(store.root).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(store.root / "2026").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(store.root / "2026" / "x.sealed").st_mode) == 0o600
    assert store.describe() == str(tmp_path / "new" / "backups")


def test_local_uncommitted_write_is_a_hidden_partial_file_removed_by_abort(local: LocalStore) -> None:
    writer = local.writer("2026/b.sealed")
    writer.write(payload(70_000))
    partial = files_under(local.root)
    assert len(partial) == 1
    name = Path(partial[0]).name
    assert name.startswith(".b.sealed.") and name.endswith(".partial")
    assert local.list() == []  # a crash here leaves only that file, which no listing shows
    writer.abort()
    assert files_under(local.root) == []


def test_local_list_ignores_hidden_files_and_links(local: LocalStore, tmp_path: Path) -> None:
    local.put_bytes("real", b"1")
    (local.root / ".old.partial").write_bytes(b"junk")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "f").write_bytes(b"not ours")
    (local.root / "linked").symlink_to(outside)
    (local.root / "file-link").symlink_to(outside / "f")
    assert [info.key for info in local.list()] == ["real"]


def test_local_root_that_cannot_be_a_directory(tmp_path: Path) -> None:
    (tmp_path / "plain").write_bytes(b"")
    with pytest.raises(BackupStorageError, match="DOKPLOY_MCP_BACKUP_DIR") as caught:
        LocalStore(tmp_path / "plain" / "backups")
    assert caught.value.store == "local"


def test_local_key_under_a_file_fails_with_storage_error(local: LocalStore) -> None:
    local.put_bytes("a", b"file")
    with pytest.raises(BackupStorageError, match="cannot create a file in"):
        local.writer("a/b")
    with pytest.raises(BackupNotFoundError):
        local.reader("a/b")


def test_open_store_chooses_by_settings(tmp_path: Path) -> None:
    assert open_store(directory=tmp_path, s3_url=None, s3_endpoint=None).kind == "local"
    assert open_store(directory=tmp_path, s3_url="", s3_endpoint="http://127.0.0.1:1").kind == "local"
    store = open_store(directory=tmp_path, s3_url="s3://my-bucket/team/db", s3_endpoint="http://127.0.0.1:1")
    assert store.kind == "s3"
    assert store.describe() == "s3://my-bucket/team/db"


def test_importing_the_stores_does_not_load_boto3(tmp_path: Path) -> None:
    code = (
        "import sys; from pathlib import Path\n"
        "from dokploy_mcp.backups import retention, storage\n"
        f"storage.open_store(directory=Path({str(tmp_path)!r}), s3_url=None, s3_endpoint=None).list()\n"
        "print('boto3' in sys.modules, 'botocore' in sys.modules)"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert run.stdout.strip() == "False False"
    from dokploy_mcp.backups import storage

    assert storage.S3Store is S3Store  # still reachable there, once asked for


# -- S3: configuration ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("s3://my-bucket", ("my-bucket", "")),
        ("s3://my-bucket/", ("my-bucket", "")),
        ("S3://my.bucket.2026/team/db/", ("my.bucket.2026", "team/db")),
        ("  s3://abc/x  ", ("abc", "x")),
    ],
)
def test_s3_urls_that_parse(url: str, expected: tuple[str, str]) -> None:
    assert parse_s3_url(url) == expected


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("https://my-bucket/x", "must start with s3://"),
        ("s3://", "not a valid bucket name"),
        ("s3://ab", "not a valid bucket name"),
        ("s3://My-Bucket", "not a valid bucket name"),
        ("s3://my_bucket", "not a valid bucket name"),
        ("s3://-bucket", "not a valid bucket name"),
        ("s3://my..bucket", "not a valid bucket name"),
        ("s3://" + "b" * 64, "not a valid bucket name"),
        ("s3://192.168.1.10", "IP address"),
        ("s3://xn--bucket", "reserves"),
        ("s3://bucket-s3alias", "reserves"),
        ("s3://my-bucket:9000/x", "DOKPLOY_MCP_S3_ENDPOINT"),
        ("s3://my-bucket/a/../b", "unusable prefix"),
        ("s3://my-bucket/a//b", "unusable prefix"),
        ("s3://my-bucket/x?versionId=1", "query"),
    ],
)
def test_s3_urls_that_are_refused(url: str, says: str) -> None:
    with pytest.raises(ConfigurationError, match="DOKPLOY_MCP_BACKUP_S3_URL") as caught:
        parse_s3_url(url)
    assert says in str(caught.value)
    assert caught.value.setting == "DOKPLOY_MCP_BACKUP_S3_URL"


def test_credentials_in_an_s3_url_are_refused_without_being_quoted() -> None:
    with pytest.raises(ConfigurationError, match="must not hold credentials") as caught:
        S3Store("s3://AKIAXYZ:my-very-secret@bucket/x", endpoint=None)
    assert "my-very-secret" not in str(caught.value)
    assert "AWS_ACCESS_KEY_ID" in str(caught.value)


@pytest.mark.parametrize(
    "endpoint", ["minio:9000", "ftp://minio", "http://", "https:///path", "http://minio:port", "http://minio/?x=1"]
)
def test_bad_endpoints_are_refused(endpoint: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_endpoint(endpoint)
    assert caught.value.setting == "DOKPLOY_MCP_S3_ENDPOINT"


def test_credentials_in_an_endpoint_are_refused_without_being_quoted() -> None:
    with pytest.raises(ConfigurationError, match="must not hold credentials") as caught:
        S3Store("s3://bucket", endpoint="http://minio:hunter2-secret@127.0.0.1:9000")
    assert "hunter2-secret" not in str(caught.value)
    assert check_endpoint("https://minio.example.com:9000/") == "https://minio.example.com:9000"


def test_part_size_below_the_s3_minimum_is_refused() -> None:
    with pytest.raises(ValueError, match="part_size"):
        S3Store("s3://bucket", endpoint="http://127.0.0.1:1", part_size=MIN_PART_SIZE - 1)


# -- S3: uploads ------------------------------------------------------------------------------------------------------


class CallLog:
    """Wraps a client method and records the calls, optionally failing the n-th one."""

    def __init__(self, method: Callable[..., Any], fail_on: int | None = None) -> None:
        self.method = method
        self.fail_on = fail_on
        self.sizes: list[int] = []

    def __call__(self, **arguments: Any) -> Any:
        from botocore.exceptions import ClientError  # type: ignore[import-untyped]

        self.sizes.append(len(arguments.get("Body", b"")))
        if self.fail_on is not None and len(self.sizes) == self.fail_on:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "We hit a snag"}}, "UploadPart")
        return self.method(**arguments)


def spy(store: S3Store, monkeypatch: pytest.MonkeyPatch, name: str, fail_on: int | None = None) -> CallLog:
    log = CallLog(getattr(store.client, name), fail_on)
    monkeypatch.setattr(store.client, name, log)
    return log


def test_s3_large_upload_goes_in_parts_while_writing(
    s3: S3Store,
    bucket: S3Bucket,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data = payload(2 * MIN_PART_SIZE + 1_234_567, seed=2)
    parts = spy(s3, monkeypatch, "upload_part")
    puts = spy(s3, monkeypatch, "put_object")
    writer = s3.writer("big/one.sealed")
    write_in_pieces(writer, data)
    # Two full parts left while writing: memory holds at most one part.
    assert parts.sizes == [MIN_PART_SIZE, MIN_PART_SIZE]
    assert bucket.pending_uploads() == ["big/one.sealed"]
    assert not s3.exists("big/one.sealed")
    writer.commit()
    assert parts.sizes == [MIN_PART_SIZE, MIN_PART_SIZE, 1_234_567]
    assert puts.sizes == []
    assert bucket.pending_uploads() == []
    assert bucket.client().head_object(Bucket=bucket.name, Key="big/one.sealed")["ETag"].endswith('-3"')
    assert read_in_pieces(s3, "big/one.sealed") == data


def test_s3_exactly_one_part_round_trips(s3: S3Store) -> None:
    data = payload(MIN_PART_SIZE, seed=3)
    with s3.writer("exact") as writer:
        writer.write(data)
    assert s3.get_bytes("exact", limit=MIN_PART_SIZE) == data


def test_s3_small_upload_is_one_put(s3: S3Store, monkeypatch: pytest.MonkeyPatch) -> None:
    starts = spy(s3, monkeypatch, "create_multipart_upload")
    puts = spy(s3, monkeypatch, "put_object")
    with s3.writer("small") as writer:
        write_in_pieces(writer, payload(MIN_PART_SIZE - 1))
    assert starts.sizes == []
    assert puts.sizes == [MIN_PART_SIZE - 1]


def test_s3_abort_leaves_no_object_and_no_pending_upload(s3: S3Store, bucket: S3Bucket) -> None:
    with pytest.raises(RuntimeError, match="stop"), s3.writer("aborted.sealed") as writer:
        write_in_pieces(writer, payload(MIN_PART_SIZE + 10))
        assert bucket.pending_uploads() == ["aborted.sealed"]
        raise RuntimeError("stop")
    assert bucket.pending_uploads() == []
    assert bucket.object_keys() == []


def test_s3_failed_part_aborts_the_upload(s3: S3Store, bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    spy(s3, monkeypatch, "upload_part", fail_on=2)
    writer = s3.writer("failing.sealed")
    with pytest.raises(BackupStorageError, match="cannot upload a part of") as caught:
        write_in_pieces(writer, payload(3 * MIN_PART_SIZE))
    assert caught.value.cause == "InternalError: We hit a snag"
    assert bucket.pending_uploads() == []
    assert bucket.object_keys() == []
    with pytest.raises(RuntimeError, match="already aborted"):
        writer.write(b"more")


def test_s3_prefix_scopes_every_key(bucket: S3Bucket) -> None:
    store = S3Store(f"{bucket.url}/team/db/", endpoint=bucket.endpoint)
    assert store.describe() == f"{bucket.url}/team/db"
    store.put_bytes("2026/m.json", b"{}")
    bucket.client().put_object(Bucket=bucket.name, Key="elsewhere", Body=b"not ours")
    bucket.client().put_object(Bucket=bucket.name, Key="team/db/x/../y", Body=b"no key of ours looks so")
    assert bucket.object_keys() == ["elsewhere", "team/db/2026/m.json", "team/db/x/../y"]
    assert [(info.key, info.size) for info in store.list()] == [("2026/m.json", 2)]
    assert store.get_bytes("2026/m.json", limit=2) == b"{}"


# -- S3: failures say what to fix, never a secret ---------------------------------------------------------------------


def assert_no_secret(error: BackupStorageError, *secrets: str) -> None:
    for secret in (FAKE_SECRET_ACCESS_KEY, *secrets):
        for text in (str(error), repr(error), error.cause, repr(error.args)):
            assert secret not in text


def test_s3_missing_bucket_names_it(bucket: S3Bucket) -> None:
    store = S3Store("s3://no-such-bucket-here/x", endpoint=bucket.endpoint)
    with pytest.raises(BackupStorageError) as caught:
        store.put_bytes("m.json", b"{}")
    message = str(caught.value)
    assert "'no-such-bucket-here' does not exist" in message
    assert "DOKPLOY_MCP_BACKUP_S3_URL" in message
    assert caught.value.store == "s3"
    assert caught.value.cause.startswith("NoSuchBucket")
    assert_no_secret(caught.value)
    with pytest.raises(BackupStorageError, match="does not exist"):
        store.list()


def test_s3_without_credentials_says_how_to_give_them(bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    store = S3Store(bucket.url, endpoint=bucket.endpoint)
    with pytest.raises(BackupStorageError, match="AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile") as caught:
        store.put_bytes("m.json", b"{}")
    assert "NoCredentialsError" in caught.value.cause


def test_s3_wrong_credentials_are_reported_without_them(bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    wrong_secret = "wrong-secret-Lk29xQpV7mN3bR8s"
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAWRONGKEY00000000")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", wrong_secret)
    store = S3Store(bucket.url, endpoint=bucket.endpoint)
    with iam_checks(bucket.endpoint), pytest.raises(BackupStorageError) as caught:
        store.put_bytes("m.json", b"{}")
    assert "refused the credentials (InvalidAccessKeyId)" in str(caught.value)
    assert "AWS_ACCESS_KEY_ID" in str(caught.value)
    assert_no_secret(caught.value, wrong_secret, "AKIAWRONGKEY00000000")
    assert wrong_secret not in repr(store)


def test_s3_access_denied_names_the_permissions(bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    access_key, secret_key = user_without_rights(bucket.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", access_key)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret_key)
    store = S3Store(bucket.url, endpoint=bucket.endpoint)
    with iam_checks(bucket.endpoint), pytest.raises(BackupStorageError, match="access denied") as caught:
        store.list()
    assert "s3:PutObject" in str(caught.value)
    assert caught.value.cause.startswith("AccessDenied")
    assert_no_secret(caught.value, secret_key)


def test_s3_unreachable_endpoint_names_the_setting(bucket: S3Bucket) -> None:
    endpoint = f"http://127.0.0.1:{closed_port()}"
    store = S3Store(bucket.url, endpoint=endpoint)
    with pytest.raises(BackupStorageError) as caught:
        store.put_bytes("m.json", b"{}")
    assert f"the S3 endpoint {endpoint} does not answer: check DOKPLOY_MCP_S3_ENDPOINT" in str(caught.value)
    assert "EndpointConnectionError" in caught.value.cause
    assert_no_secret(caught.value)


def test_s3_errors_are_scrubbed_of_every_credential_in_use(bucket: S3Bucket, monkeypatch: pytest.MonkeyPatch) -> None:
    from botocore.exceptions import ClientError

    token = "session-token-Qm4Zr8Xw2Pk6Ty1V"
    monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    store = S3Store(bucket.url, endpoint=bucket.endpoint)
    # A server that echoes what it was sent: each credential must be masked wherever it appears.
    echoed = f"key {FAKE_ACCESS_KEY_ID} secret {FAKE_SECRET_ACCESS_KEY} token {token}"
    error = store.error(ClientError({"Error": {"Code": "AccessDenied", "Message": echoed}}, "PutObject"), "upload", "k")
    assert_no_secret(error, token, FAKE_ACCESS_KEY_ID)
    assert "AccessDenied" in error.cause and "****" in error.cause


def test_a_missing_moto_skips_locally_and_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    def unavailable() -> str:
        raise s3_server.MotoUnavailable("moto went missing")

    monkeypatch.setattr(s3_server, "endpoint", unavailable)
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="REAL PART MISSING: moto S3 server: moto went missing"):
        s3_server.require_endpoint()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true"):
        s3_server.require_endpoint()
