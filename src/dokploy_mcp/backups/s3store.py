"""Backups as objects in S3 or S3-compatible storage (MinIO, R2, ...), for :mod:`dokploy_mcp.backups.storage`.

``s3://bucket/prefix`` comes from ``DOKPLOY_MCP_BACKUP_S3_URL``, the endpoint of storage that is not AWS from
``DOKPLOY_MCP_S3_ENDPOINT`` (then requests are path-style, as MinIO and moto want). Credentials come from boto3's own
conventions (environment, ``~/.aws``, an instance role) and never appear in a message: every error is scrubbed of
the credentials in use before it leaves. Uploads hold one multipart part in memory at a time (8 MiB by default); an
upload that fails or is aborted is aborted on the server too. boto3 is imported when a store is built, not before.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Callable
from datetime import UTC
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from dokploy_mcp import redact
from dokploy_mcp.backups.errors import BackupNotFoundError, BackupStorageError
from dokploy_mcp.backups.objects import (
    BackupStore,
    ObjectInfo,
    ObjectReader,
    ObjectWriter,
    check_key,
    check_prefix,
    is_valid_key,
    too_large_error,
)
from dokploy_mcp.errors import ConfigurationError, InputError

__all__ = ["DEFAULT_PART_SIZE", "MIN_PART_SIZE", "S3Store", "check_endpoint", "parse_s3_url"]

logger = logging.getLogger(__name__)

S3_URL_SETTING = "DOKPLOY_MCP_BACKUP_S3_URL"
S3_ENDPOINT_SETTING = "DOKPLOY_MCP_S3_ENDPOINT"
CREDENTIALS_FIX = (
    "set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or a profile (boto3's conventions: the environment, ~/.aws, "
    "an instance role)"
)
MIN_PART_SIZE = 5 * 1024 * 1024  # S3's minimum for every part but the last
DEFAULT_PART_SIZE = 8 * 1024 * 1024
MAX_PART_SIZE = 5 * 1024 * 1024 * 1024
MAX_PARTS = 10_000
MAX_CAUSE_CHARS = 300
_NOT_FOUND = frozenset({"NoSuchKey", "404", "NotFound"})
_BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
_T = TypeVar("_T")


def _url_error(why: str) -> ConfigurationError:
    return ConfigurationError(
        f"{S3_URL_SETTING} {why}; it looks like s3://bucket or s3://bucket/prefix", setting=S3_URL_SETTING
    )


def _check_bucket(bucket: str) -> None:
    rules = "3 to 63 lowercase letters, digits, '.' and '-', starting and ending with a letter or digit"
    if not _BUCKET.fullmatch(bucket) or ".." in bucket:
        raise _url_error(f"names the bucket {bucket[:70]!r}, which is not a valid bucket name ({rules})")
    try:
        ipaddress.ip_address(bucket)
    except ValueError:
        pass
    else:
        raise _url_error(f"names the bucket {bucket!r}, which is formatted as an IP address")
    if bucket.startswith(("xn--", "sthree-")) or bucket.endswith(("-s3alias", "--ol-s3")):
        raise _url_error(f"names the bucket {bucket!r}, which uses a prefix or suffix S3 reserves")


def parse_s3_url(url: str) -> tuple[str, str]:
    """``(bucket, prefix)`` of ``s3://bucket/prefix`` (prefix without slashes at its ends, maybe empty)."""
    text = url.strip()
    if text[:5].lower() != "s3://":
        raise _url_error("must start with s3://")
    if "?" in text or "#" in text:
        raise _url_error("must not hold a query ('?') or a fragment ('#')")
    bucket, _, prefix = text[5:].partition("/")
    # Never echoed: what sits before an '@' may be a secret.
    if "@" in bucket:
        raise _url_error(f"must not hold credentials: {CREDENTIALS_FIX}")
    if ":" in bucket:
        raise _url_error(f"must not hold a port: the address of S3-compatible storage goes in {S3_ENDPOINT_SETTING}")
    _check_bucket(bucket)
    prefix = prefix.strip("/")
    if prefix:
        try:
            check_key(prefix, field="prefix")
        except InputError as exc:
            raise _url_error(f"has an unusable prefix ({exc})") from None
    return bucket, prefix


def check_endpoint(endpoint: str) -> str:
    """``endpoint`` without a trailing slash if it is an http(s) URL without credentials, else ConfigurationError."""
    text = endpoint.strip()

    def refuse(why: str) -> ConfigurationError:
        return ConfigurationError(f"{S3_ENDPOINT_SETTING} {why}", setting=S3_ENDPOINT_SETTING)

    parts = urlsplit(text)
    # Checked first and never echoed: what sits before an '@' may be a secret.
    if "@" in parts.netloc:
        raise refuse(f"must not hold credentials: {CREDENTIALS_FIX}")
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        raise refuse("must be an http:// or https:// URL such as https://minio.example.com or http://127.0.0.1:9000")
    if parts.query or parts.fragment:
        raise refuse("must not hold a query ('?') or a fragment ('#')")
    try:
        _ = parts.port  # raises for a port that is not a number
    except ValueError:
        raise refuse(f"has an invalid port: {text!r}") from None
    return text.rstrip("/")


class _S3Reader(ObjectReader):
    def __init__(self, body: Any, translate: Callable[[Exception], BackupStorageError], errors: Any) -> None:
        self._body = body
        self._translate = translate
        self._errors = errors

    def read(self, size: int = -1, /) -> bytes:
        try:
            data: bytes = self._body.read(None if size < 0 else size)
        except self._errors as exc:
            raise self._translate(exc) from None
        return data

    def close(self) -> None:
        self._body.close()


class _S3Writer(ObjectWriter):
    """One part in memory at a time; a single PUT when everything fits in one part."""

    def __init__(self, store: S3Store, key: str) -> None:
        super().__init__()
        self._store = store
        self._key = key
        self._target = {"Bucket": store.bucket, "Key": store.full_key(key)}
        self._buffer = bytearray()
        self._upload_id: str | None = None
        self._parts: list[dict[str, Any]] = []

    def _write(self, data: bytes | bytearray | memoryview) -> None:
        view = memoryview(data).cast("B")
        size = self._store.part_size
        while view:
            room = size - len(self._buffer)
            self._buffer += view[:room]
            view = view[room:]
            if len(self._buffer) >= size:
                self._send_part()

    def _send_part(self) -> None:
        store, client = self._store, self._store.client
        checksum = store.checksum_args()
        if self._upload_id is None:
            answer = store.call(
                "start the upload of", self._key, client.create_multipart_upload, **self._target, **checksum
            )
            self._upload_id = str(answer["UploadId"])
        number = len(self._parts) + 1
        if number > MAX_PARTS:
            raise BackupStorageError(
                f"{self._key!r} is larger than S3's {MAX_PARTS} parts of {store.part_size} bytes",
                store="s3",
                cause="too many parts",
                location=self._key,
            )
        part, self._buffer = self._buffer, bytearray()
        answer = store.call(
            "upload a part of", self._key, client.upload_part,
            **self._target, UploadId=self._upload_id, PartNumber=number, Body=part, **checksum,
        )  # fmt: skip
        entry = {"PartNumber": number, "ETag": answer["ETag"]}
        if "ChecksumCRC32" in answer:
            entry["ChecksumCRC32"] = answer["ChecksumCRC32"]
        self._parts.append(entry)

    def _commit(self) -> None:
        client = self._store.client
        if self._upload_id is None:
            self._store.call("upload", self._key, client.put_object, **self._target, Body=self._buffer)
            self._buffer = bytearray()
            return
        if self._buffer:
            self._send_part()
        self._store.call(
            "finish the upload of", self._key, client.complete_multipart_upload,
            **self._target, UploadId=self._upload_id, MultipartUpload={"Parts": self._parts},
        )  # fmt: skip

    def _abort(self) -> None:
        self._buffer = bytearray()
        if self._upload_id is None:
            return
        try:
            self._store.client.abort_multipart_upload(**self._target, UploadId=self._upload_id)
        except Exception as exc:
            # A lifecycle rule for incomplete multipart uploads cleans up what this could not.
            error = self._store.error(exc, "abort the upload of", self._key)
            logger.warning("%s (the unfinished upload stays until it expires)", error)


class S3Store(BackupStore):
    """Backups as objects under ``s3://bucket/prefix``; credentials by boto3's conventions, never in messages."""

    kind: Literal["s3"] = "s3"

    def __init__(self, url: str, *, endpoint: str | None, part_size: int = DEFAULT_PART_SIZE) -> None:
        self.bucket, self.prefix = parse_s3_url(url)
        self.endpoint = check_endpoint(endpoint) if endpoint else None
        if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
            raise ValueError(f"part_size must be from {MIN_PART_SIZE} to {MAX_PART_SIZE} bytes, not {part_size}")
        self.part_size = part_size
        # Imported here: start-up and tools/list must not pay for boto3.
        import boto3  # type: ignore[import-untyped]
        from botocore.config import Config  # type: ignore[import-untyped]
        from botocore.exceptions import BotoCoreError, ClientError  # type: ignore[import-untyped]

        self._errors: tuple[type[Exception], ...] = (BotoCoreError, ClientError)
        self._secrets: list[str] = []
        config = Config(
            connect_timeout=10,
            read_timeout=60,
            retries={"mode": "standard", "max_attempts": 3},
            # MinIO, moto and most self-hosted S3 answer only path-style requests.
            s3={"addressing_style": "path"} if self.endpoint else None,
            user_agent_extra="dokploy-mcp",
        )
        try:
            session = boto3.session.Session()
            self.client: Any = session.client("s3", endpoint_url=self.endpoint, config=config)
            self._learn_secrets(session)
        except self._errors as exc:
            raise self.error(exc, "connect to", None) from None

    def _learn_secrets(self, session: Any) -> None:
        credentials = session.get_credentials()
        if credentials is None:
            return
        frozen = credentials.get_frozen_credentials()
        self._secrets = [value for value in (frozen.access_key, frozen.secret_key, frozen.token) if value]
        redact.remember(frozen.secret_key, frozen.token)

    def __repr__(self) -> str:
        return f"S3Store({self.describe()!r}, endpoint={self.endpoint!r})"

    def describe(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}" if self.prefix else f"s3://{self.bucket}"

    def full_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def checksum_args(self) -> dict[str, str]:
        # As boto3's own transfers do; AWS_REQUEST_CHECKSUM_CALCULATION=when_required turns it off for old S3 clones.
        return (
            {"ChecksumAlgorithm": "CRC32"}
            if self.client.meta.config.request_checksum_calculation == "when_supported"
            else {}
        )

    def call(self, action: str, key: str | None, operation: Callable[..., _T], **arguments: Any) -> _T:
        """``operation(**arguments)``, its failures as BackupStorageError."""
        try:
            return operation(**arguments)
        except self._errors as exc:
            raise self.error(exc, action, key) from None

    def error(self, exc: Exception, action: str, key: str | None) -> BackupStorageError:
        """``exc`` from botocore as a BackupStorageError that says what to fix; scrubbed of every credential."""
        fix, cause = self._explain(exc)
        where = f"s3://{self.bucket}/{self.full_key(key)}" if key else self.describe()
        return BackupStorageError(
            redact.scrub(f"cannot {action} {where}: {fix}", extra=self._secrets),
            store="s3",
            cause=redact.scrub(cause, extra=self._secrets)[:MAX_CAUSE_CHARS],
            location=key,
        )

    def _explain(self, exc: Exception) -> tuple[str, str]:
        from botocore import exceptions as bx  # type: ignore[import-untyped]

        if isinstance(exc, bx.ClientError):
            details = exc.response.get("Error", {})
            code, text = str(details.get("Code", "")), str(details.get("Message", ""))
            return self._fix_for_code(code), f"{code}: {text}" if text else code
        cause = f"{exc.__class__.__name__}: {exc}"
        if isinstance(exc, bx.NoCredentialsError | bx.PartialCredentialsError | bx.CredentialRetrievalError):
            return f"no usable S3 credentials: {CREDENTIALS_FIX}", cause
        if isinstance(exc, bx.ProfileNotFound):
            return "the AWS profile named by AWS_PROFILE does not exist: fix AWS_PROFILE or ~/.aws/config", cause
        if isinstance(exc, bx.ConnectionError | bx.HTTPClientError):
            if self.endpoint:
                return f"the S3 endpoint {self.endpoint} does not answer: check {S3_ENDPOINT_SETTING}", cause
            return f"AWS S3 does not answer: check the network, or set {S3_ENDPOINT_SETTING} for other S3", cause
        return "see the cause", cause

    def _fix_for_code(self, code: str) -> str:
        at = f" at {self.endpoint}" if self.endpoint else ""
        if code == "NoSuchBucket":
            return f"the bucket {self.bucket!r} does not exist{at}: create it, or fix {S3_URL_SETTING}"
        if code in {"AccessDenied", "AllAccessDisabled", "403"}:
            return (
                "access denied: the credentials need s3:ListBucket, s3:GetObject, s3:PutObject, s3:DeleteObject and "
                "s3:AbortMultipartUpload on it"
            )
        if code in {"InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken", "ExpiredToken"}:
            return f"S3 refused the credentials ({code}): {CREDENTIALS_FIX}"
        if code in {"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"}:
            return "the bucket is in another region: set AWS_REGION (or AWS_DEFAULT_REGION) to the bucket's region"
        return f"S3 answered {code or 'an error'}"

    def writer(self, key: str) -> ObjectWriter:
        self.full_key(key)
        return _S3Writer(self, key)

    def _get(self, key: str) -> dict[str, Any]:
        try:
            answer: dict[str, Any] = self.client.get_object(Bucket=self.bucket, Key=self.full_key(key))
        except self._errors as exc:
            if _code(exc) in _NOT_FOUND:
                raise BackupNotFoundError(f"no backup object {key!r} in {self.describe()}", location=key) from None
            raise self.error(exc, "read", key) from None
        return answer

    def reader(self, key: str) -> ObjectReader:
        return _S3Reader(self._get(key)["Body"], lambda exc: self.error(exc, "read", key), self._errors)

    def put_bytes(self, key: str, data: bytes) -> None:
        self.call("upload", key, self.client.put_object, Bucket=self.bucket, Key=self.full_key(key), Body=data)

    def get_bytes(self, key: str, *, limit: int) -> bytes:
        answer = self._get(key)
        with _S3Reader(answer["Body"], lambda exc: self.error(exc, "read", key), self._errors) as reader:
            if int(answer.get("ContentLength", 0)) > limit:
                raise too_large_error(key, limit, "s3")
            data = reader.read(limit + 1)
        if len(data) > limit:
            raise too_large_error(key, limit, "s3")
        return data

    def list(self, prefix: str = "") -> list[ObjectInfo]:
        check_prefix(prefix)
        root = f"{self.prefix}/" if self.prefix else ""
        found: list[ObjectInfo] = []
        try:
            for page in self.client.get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=root + prefix):
                for item in page.get("Contents", []):
                    key = str(item["Key"])[len(root) :]
                    if is_valid_key(key):  # what is not a valid key was not written here
                        found.append(ObjectInfo(key, int(item["Size"]), item["LastModified"].astimezone(UTC)))
        except self._errors as exc:
            raise self.error(exc, "list", None) from None
        return sorted(found, key=lambda info: info.key)

    def delete(self, key: str) -> None:
        self.call("delete", key, self.client.delete_object, Bucket=self.bucket, Key=self.full_key(key))

    def exists(self, key: str) -> bool:
        try:
            self.client.head_object(Bucket=self.bucket, Key=self.full_key(key))
        except self._errors as exc:
            if _code(exc) in _NOT_FOUND:
                return False
            raise self.error(exc, "look up", key) from None
        return True


def _code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""
