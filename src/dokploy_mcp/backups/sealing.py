"""Sealed backup streams: zstd-compressed, then AES-256-GCM in authenticated chunks.

Format version 1. All integers are unsigned big-endian. A sealed file is a 68-byte header, then chunk records::

    header
    off  size  field
    0    8     magic 89 44 4B 4D 43 50 42 0A  (b"\\x89DKMCPB\\n")
    8    1     format version: 1
    9    1     kdf: 0 = raw key, 1 = scrypt
    10   1     scrypt log2(N): 14..20              (0 when kdf = 0)
    11   1     scrypt r: 1..32, with 128*N*r <= 1 GiB  (0 when kdf = 0)
    12   1     scrypt p: 1..16                     (0 when kdf = 0)
    13   3     reserved, zero
    16   4     chunk size C: 64 .. 64 MiB
    20   16    file id, random
    36   16    scrypt salt, random                 (zero when kdf = 0)
    52   16    header tag: first 16 bytes of HMAC-SHA256(mac key, header[0:52])

    record (repeated)
    1    final flag: 0 = another record follows, 1 = the last record
    4    L = length of the sealed chunk (plaintext length + 16)
    L    AES-256-GCM(enc key, nonce, plaintext, aad): ciphertext then the 16-byte tag

Keys: ``master`` is the raw 32-byte key, or scrypt(UTF-8 of the NFC-normalised passphrase, salt, N, r, p, 32 bytes).
``okm = HKDF-SHA256(ikm=master, salt=file id, info=b"dokploy-mcp backup v1", length=64)``; ``enc key = okm[:32]``,
``mac key = okm[32:]``. For chunk ``i`` (0, 1, 2, ...): ``nonce = 4 zero bytes || u64 i`` and
``aad = SHA-256(all 68 header bytes) || u64 i || final flag byte``.

Rules: at least one record; exactly one has the final flag, and it ends the file. A non-final chunk holds exactly C
bytes of plaintext, the final one 0..C. The plaintexts, in order, are one zstd frame (RFC 8878): the backup.

A reader checks, in order: magic (``not-a-backup``), version (``unsupported-version``), ranges and zeros
(``header-tampered``), the header tag (``authentication``: wrong key or tampered header, which cannot be told apart),
then per record its flag and length, its tag (``authentication``: changed, reordered, duplicated or from another
file), the end before a final record (``truncated``) or bytes after it (``trailing-data``), and last the zstd frame
(``corrupt-compression``). It gives out no plaintext of a chunk before its tag, nor of the final one before the end
of the stream, is checked. A raw key on a passphrase file (or the reverse) is a :class:`BackupKeyError`.

Keys, exactly one of: ``DOKPLOY_MCP_BACKUP_KEY`` (64 hex characters, or base64 of 32 bytes),
``DOKPLOY_MCP_BACKUP_KEY_FILE`` (a file holding the same; refused when missing, empty, over 1 KiB, not a regular
file, or writable by anyone, but not when readable by others: Docker and Kubernetes mount secrets 0444 / 0644),
``DOKPLOY_MCP_BACKUP_PASSPHRASE`` (12 characters or more). A raw key has a ``fingerprint`` for manifests (16 hex of
HMAC-SHA256(key, b"dokploy-mcp backup key id")); a passphrase has none: what it derives depends on each file's salt.

Throughput, measured on 2 vCPUs with pg_dump output (COPY rows): sealing at zstd level 1 does ~290 MB per CPU-second
(ratio 2.9), at level 3 ~160 (ratio 2.7), where pg_dump itself gives ~200 MB/s: level 3 would slow the dump by half,
so the default is 1. ``threads=1`` (zstd's own worker) overlaps compression with the rest: +0-15%. Opening does
~450-550 MB per CPU-second.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import stat
import string
import struct
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Literal

import zstandard
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt
from pydantic import SecretStr

from dokploy_mcp import redact
from dokploy_mcp.backups.errors import BackupIntegrityError, BackupKeyError

__all__ = [
    "HeaderInfo",
    "KeyMaterial",
    "SealInfo",
    "Sealer",
    "VerifyInfo",
    "load_key",
    "open_sealed",
    "read_header",
    "verify_sealed",
]

KEY_SETTING = "DOKPLOY_MCP_BACKUP_KEY"
KEY_FILE_SETTING = "DOKPLOY_MCP_BACKUP_KEY_FILE"
PASSPHRASE_SETTING = "DOKPLOY_MCP_BACKUP_PASSPHRASE"
HOW_TO_MAKE_A_KEY = (
    'make one with `python -c "import secrets; print(secrets.token_hex(32))"` or `openssl rand -hex 32` and keep it '
    "safe: a backup cannot be restored without it"
)

MAGIC = b"\x89DKMCPB\n"
FORMAT_VERSION = 1
HEADER_SIZE = 68
DEFAULT_CHUNK_SIZE = 1 << 20
MIN_CHUNK_SIZE = 64
MAX_CHUNK_SIZE = 64 << 20
DEFAULT_LEVEL = 1  # see Throughput in the module docstring
KEY_SIZE = 32
MIN_PASSPHRASE = 12
MAX_KEY_FILE = 1024
SCRYPT_LOG2_N = (14, 20)
SCRYPT_MAX_R = 32
SCRYPT_MAX_P = 16
SCRYPT_MAX_MEMORY = 1 << 30
_HEAD = struct.Struct(">8sBBBBB3sI16s16s")  # header[0:52]; the 16-byte tag follows
_RECORD = struct.Struct(">BI")
_TAG = 16
_HKDF_INFO = b"dokploy-mcp backup v1"
_FINGERPRINT_LABEL = b"dokploy-mcp backup key id"
_URLSAFE = str.maketrans("-_", "+/")  # base64 in either alphabet
# Compressed bytes go into zstd 256 bytes at a time: zstd expands 4 bytes (an RLE block) to 128 KiB, so this bounds
# what one call returns to 8 MiB, where a whole chunk could return gigabytes (a column of zeros). Costs ~20% of speed.
_FEED = 256
_PIECE = 1 << 20  # size of the plaintext pieces open_sealed yields
_SLICE = 1 << 20  # input handed to the compressor per call, so that a huge write() stays within bounded buffers


class KeyMaterial:
    """A raw 32-byte key or a passphrase. Its repr and str never show the secret."""

    __slots__ = ("_scrypt", "_secret", "fingerprint", "kind")

    def __init__(self, kind: Literal["raw", "passphrase"], secret: bytes, scrypt: tuple[int, int, int]) -> None:
        self.kind: Literal["raw", "passphrase"] = kind
        self._secret = secret
        self._scrypt = scrypt
        self.fingerprint: str | None = (
            hmac.new(secret, _FINGERPRINT_LABEL, hashlib.sha256).hexdigest()[:16] if kind == "raw" else None
        )

    @classmethod
    def raw(cls, key: bytes) -> KeyMaterial:
        if len(key) != KEY_SIZE:
            raise ValueError(f"a backup key is {KEY_SIZE} bytes")
        return cls("raw", bytes(key), (0, 0, 0))

    @classmethod
    def from_passphrase(cls, passphrase: str, *, log2_n: int = 15, r: int = 8, p: int = 1) -> KeyMaterial:
        """Raises ValueError for scrypt parameters a reader would refuse; the caller checks the passphrase's length."""
        if _scrypt_problem(log2_n, r, p):
            raise ValueError(f"scrypt parameters out of range: log2(N)={log2_n} r={r} p={p}")
        return cls("passphrase", unicodedata.normalize("NFC", passphrase).encode(), (log2_n, r, p))

    def __repr__(self) -> str:
        return f"KeyMaterial(kind={self.kind!r}, fingerprint={self.fingerprint!r})"

    __str__ = __repr__

    def _master(self, header: HeaderInfo) -> bytes:
        if header.kdf == "raw":
            return self._secret
        assert header.scrypt_n is not None and header.scrypt_r is not None and header.scrypt_p is not None
        salt = bytes.fromhex(header.salt or "")
        kdf = Scrypt(salt=salt, length=KEY_SIZE, n=header.scrypt_n, r=header.scrypt_r, p=header.scrypt_p)
        return kdf.derive(self._secret)


@dataclass(frozen=True)
class HeaderInfo:
    """A sealed file's header, readable without the key. ``salt`` and ``scrypt_*`` are None for a raw key."""

    version: int
    kdf: Literal["raw", "scrypt"]
    chunk_size: int
    file_id: str
    salt: str | None
    scrypt_n: int | None
    scrypt_r: int | None
    scrypt_p: int | None
    raw: bytes = field(repr=False)


@dataclass(frozen=True)
class _Counts:
    plain_bytes: int
    compressed_bytes: int
    sealed_bytes: int
    chunks: int
    sha256: str  # of every sealed byte, header included


@dataclass(frozen=True)
class SealInfo(_Counts):
    """What :meth:`Sealer.close` wrote; ``params`` is JSON-able for a manifest and never holds the key."""

    params: dict[str, object]


@dataclass(frozen=True)
class VerifyInfo(_Counts):
    """What :func:`verify_sealed` read: every chunk authenticated and the zstd frame complete."""

    header: HeaderInfo


def load_key(
    *,
    key: str | SecretStr | None,
    key_file: Path | None,
    passphrase: str | SecretStr | None,
    scrypt_log2_n: int = 15,
    scrypt_r: int = 8,
    scrypt_p: int = 1,
) -> KeyMaterial:
    """The backup key from the three settings; exactly one must be set (an empty value counts as unset).

    Raises :class:`BackupKeyError` naming the setting; its message never holds key material.
    """
    key_text = key.get_secret_value() if isinstance(key, SecretStr) else key
    phrase = passphrase.get_secret_value() if isinstance(passphrase, SecretStr) else passphrase
    given = [
        name
        for name, value in ((KEY_SETTING, key_text), (KEY_FILE_SETTING, key_file), (PASSPHRASE_SETTING, phrase))
        if value is not None and str(value) != ""
    ]
    if not given:
        raise BackupKeyError(
            f"no backup key is set, and backups are never written unencrypted: set {KEY_SETTING} (or "
            f"{KEY_FILE_SETTING}, or {PASSPHRASE_SETTING}); {HOW_TO_MAKE_A_KEY}",
            setting=KEY_SETTING,
        )
    if len(given) > 1:
        raise BackupKeyError(
            f"{' and '.join(given)} are set at once: set exactly one backup key setting and unset the other",
            setting=given[1],
        )
    if key_text:
        return KeyMaterial.raw(_parse_key_text(key_text, KEY_SETTING))
    if key_file is not None:
        return KeyMaterial.raw(_parse_key_text(_read_key_file(key_file), KEY_FILE_SETTING))
    assert phrase is not None
    if len(unicodedata.normalize("NFC", phrase)) < MIN_PASSPHRASE:
        raise BackupKeyError(
            f"{PASSPHRASE_SETTING} is shorter than {MIN_PASSPHRASE} characters: use a longer passphrase, or a random "
            f"key in {KEY_SETTING} ({HOW_TO_MAKE_A_KEY})",
            setting=PASSPHRASE_SETTING,
        )
    return KeyMaterial.from_passphrase(phrase, log2_n=scrypt_log2_n, r=scrypt_r, p=scrypt_p)


def _parse_key_text(text: str, setting: str) -> bytes:
    text = text.strip()
    hex_digits = bool(text) and all(char in string.hexdigits for char in text)
    try:
        key = bytes.fromhex(text) if hex_digits else base64.b64decode(text.translate(_URLSAFE), validate=True)
    except (binascii.Error, ValueError):
        key = b""
    if len(text) == 2 * KEY_SIZE and not hex_digits:
        problem = f"has {len(text)} characters, but not all hex digits"
    elif hex_digits and len(text) != 2 * KEY_SIZE:
        problem = f"has {len(text)} hex characters, a backup key has {2 * KEY_SIZE}"
    elif not key:
        problem = f"is neither {2 * KEY_SIZE} hex characters nor base64"
    elif len(key) != KEY_SIZE:
        problem = f"decodes (as base64) to {len(key)} bytes, a backup key has {KEY_SIZE}"
    else:
        return key
    raise BackupKeyError(f"{setting} {problem}; {HOW_TO_MAKE_A_KEY}", setting=setting)


def _read_key_file(path: Path) -> str:
    def refuse(problem: str) -> BackupKeyError:
        return BackupKeyError(f"{KEY_FILE_SETTING} names {path}, which {problem}", setting=KEY_FILE_SETTING)

    try:
        info = path.stat()
        if not stat.S_ISREG(info.st_mode):
            raise refuse("is not a regular file")
        if info.st_mode & stat.S_IWOTH:
            raise refuse("anyone can write to: `chmod 600` it (or 400), then check that the key is still yours")
        with path.open("rb") as handle:
            data = handle.read(MAX_KEY_FILE + 1)
    except FileNotFoundError:
        raise refuse(f"does not exist; {HOW_TO_MAKE_A_KEY}") from None
    except OSError as exc:
        raise refuse(f"cannot be read ({exc.strerror})") from None
    if len(data) > MAX_KEY_FILE:
        raise refuse(f"is over {MAX_KEY_FILE} bytes: it should hold one key of {2 * KEY_SIZE} hex characters")
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise refuse(f"is not text: it should hold one key of {2 * KEY_SIZE} hex characters") from None
    if not text.strip():
        raise refuse(f"is empty; {HOW_TO_MAKE_A_KEY}")
    redact.remember(text.strip())
    return text


def _scrypt_problem(log2_n: int, r: int, p: int) -> bool:
    low, high = SCRYPT_LOG2_N
    in_range = low <= log2_n <= high and 1 <= r <= SCRYPT_MAX_R and 1 <= p <= SCRYPT_MAX_P
    return not (in_range and 128 * r << log2_n <= SCRYPT_MAX_MEMORY)


def _subkeys(key: KeyMaterial, header: HeaderInfo) -> tuple[bytes, bytes]:
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=bytes.fromhex(header.file_id), info=_HKDF_INFO).derive(
        key._master(header)
    )
    return okm[:KEY_SIZE], okm[KEY_SIZE:]


def _header_tag(mac_key: bytes, head: bytes) -> bytes:
    return hmac.new(mac_key, head, hashlib.sha256).digest()[:_TAG]


def _nonce(index: int) -> bytes:
    # Each file has its own keys (HKDF over a random 128-bit file id), so a counter never repeats a (key, nonce) pair
    # and, unlike random nonces, has no birthday bound on the number of chunks.
    return b"\0\0\0\0" + index.to_bytes(8, "big")


def _aad(digest: bytes, index: int, final: bool) -> bytes:
    return digest + index.to_bytes(8, "big") + (b"\x01" if final else b"\x00")


def _parse_header(data: bytes) -> HeaderInfo:
    if not data:
        raise _broken("truncated", "the backup file is empty")
    if data[: len(MAGIC)] != MAGIC[: len(data)]:
        raise _broken("not-a-backup", "this is not a dokploy-mcp backup file (its first bytes are not the magic)")
    if len(data) < HEADER_SIZE:
        raise _broken("truncated", f"the backup file ends within its header ({len(data)} of {HEADER_SIZE} bytes)")
    _, version, kdf_id, log2_n, r, p, reserved, chunk_size, file_id, salt = _HEAD.unpack(data[: _HEAD.size])
    if version != FORMAT_VERSION:
        raise _broken("unsupported-version", f"backup format version {version}; this build reads {FORMAT_VERSION}")
    bad_kdf = (log2_n, r, p, salt) != (0, 0, 0, bytes(16)) if kdf_id == 0 else _scrypt_problem(log2_n, r, p)
    if reserved != bytes(3) or not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE or kdf_id not in (0, 1) or bad_kdf:
        raise _broken("header-tampered", "the backup header holds values no writer makes: it was changed")
    if kdf_id == 0:
        return HeaderInfo(FORMAT_VERSION, "raw", chunk_size, file_id.hex(), None, None, None, None, data[:HEADER_SIZE])
    return HeaderInfo(
        FORMAT_VERSION, "scrypt", chunk_size, file_id.hex(), salt.hex(), 1 << log2_n, r, p, data[:HEADER_SIZE]
    )


def _pack_header(key: KeyMaterial, chunk_size: int) -> tuple[HeaderInfo, bytes, bytes]:
    """A fresh header for ``key``: its info, the encryption key and the header digest for the AAD."""
    file_id = os.urandom(16)
    log2_n, r, p = key._scrypt
    salt = os.urandom(16) if key.kind == "passphrase" else bytes(16)
    kdf_id = 1 if key.kind == "passphrase" else 0
    head = _HEAD.pack(MAGIC, FORMAT_VERSION, kdf_id, log2_n, r, p, bytes(3), chunk_size, file_id, salt)
    info = _parse_header(head + bytes(_TAG))
    enc_key, mac_key = _subkeys(key, info)
    data = head + _header_tag(mac_key, head)
    return _parse_header(data), enc_key, hashlib.sha256(data).digest()


class Sealer:
    """Compresses and seals what is written to it, handing the sealed bytes to ``sink`` as they are made.

    Holds at most ``chunk_size`` compressed bytes between calls (``buffered``), whatever is written.
    ``threads`` > 0 lets zstd compress on that many threads of its own (see the module's notes on throughput).
    """

    def __init__(
        self,
        key: KeyMaterial,
        sink: Callable[[bytes], object],
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        level: int = DEFAULT_LEVEL,
        threads: int = 0,
    ) -> None:
        if not MIN_CHUNK_SIZE <= chunk_size <= MAX_CHUNK_SIZE:
            raise ValueError(f"chunk_size must be within {MIN_CHUNK_SIZE}..{MAX_CHUNK_SIZE}")
        if not 1 <= level <= zstandard.MAX_COMPRESSION_LEVEL:
            raise ValueError(f"zstd level must be within 1..{zstandard.MAX_COMPRESSION_LEVEL}")
        self._sink = sink
        self._chunk_size = chunk_size
        self._header, enc_key, self._digest = _pack_header(key, chunk_size)
        self._aead = AESGCM(enc_key)
        self._compressor = zstandard.ZstdCompressor(level=level, threads=threads).compressobj()
        self._buffer = bytearray()
        self._hash = hashlib.sha256()
        self._index = 0
        self._plain = self._compressed = self._sealed = 0
        self._params: dict[str, object] = _params(self._header, key, level)
        self._info: SealInfo | None = None
        self._put(self._header.raw)

    @property
    def buffered(self) -> int:
        """Compressed bytes held back, waiting for a full chunk (at most ``chunk_size`` between calls)."""
        return len(self._buffer)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if self._info is not None:
            raise ValueError("write to a Sealer that is closed")
        with memoryview(data) as view, view.cast("B") as octets:
            for start in range(0, len(octets), _SLICE):
                piece = octets[start : start + _SLICE]
                self._plain += len(piece)
                self._buffer += self._compressor.compress(piece)
                self._drain()

    def close(self) -> SealInfo:
        """Ends the zstd frame and writes the final chunk. A second call returns the same info."""
        if self._info is None:
            self._buffer += self._compressor.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH)
            self._drain()
            self._seal(self._buffer, final=True)
            self._buffer.clear()
            self._info = SealInfo(
                self._plain, self._compressed, self._sealed, self._index, self._hash.hexdigest(), self._params
            )
        return self._info

    def _drain(self) -> None:
        # Keeps 1..chunk_size bytes back: only close() knows which chunk is the final one.
        size = self._chunk_size
        full = (len(self._buffer) - 1) // size
        if full <= 0:
            return
        with memoryview(self._buffer) as view:
            for start in range(0, full * size, size):
                self._seal(view[start : start + size], final=False)
        del self._buffer[: full * size]

    def _seal(self, chunk: bytes | bytearray | memoryview, *, final: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._index), chunk, _aad(self._digest, self._index, final))
        self._put(_RECORD.pack(int(final), len(sealed)) + sealed)
        self._compressed += len(chunk)
        self._index += 1

    def _put(self, data: bytes) -> None:
        self._hash.update(data)
        self._sealed += len(data)
        self._sink(data)


def _params(header: HeaderInfo, key: KeyMaterial, level: int) -> dict[str, object]:
    kdf: dict[str, object] = {"name": header.kdf}
    if header.kdf == "scrypt":
        kdf.update(salt=header.salt, n=header.scrypt_n, r=header.scrypt_r, p=header.scrypt_p)
    params: dict[str, object] = {"format": "dokploy-mcp sealed", "version": header.version, "kdf": kdf}
    params.update(algorithm="AES-256-GCM", compression="zstd", level=level, chunk_size=header.chunk_size)
    params.update(file_id=header.file_id, key_fingerprint=key.fingerprint)
    return params


Source = BinaryIO | Callable[[int], bytes]


def read_header(source: Source) -> HeaderInfo:
    """The header of a sealed stream (its first 68 bytes), checked for shape; authenticating it needs the key."""
    return _parse_header(_read_exactly(_reader(source), HEADER_SIZE))


def open_sealed(key: KeyMaterial, source: Source) -> Iterator[bytes]:
    """The backup's bytes in pieces of about 1 MiB, each given only once the chunks it comes from authenticated.

    Raises :class:`BackupIntegrityError` (``reason``, ``chunk``) where the stream stops being what this key sealed,
    after what came before it was given out: run :func:`verify_sealed` first when nothing may be written unless all
    is sound.
    """
    yield from _inflated(_Unsealer(key, source))


def verify_sealed(key: KeyMaterial, source: Source) -> VerifyInfo:
    """Reads the whole stream as :func:`open_sealed` does, keeping nothing; raises as it does."""
    read = _Unsealer(key, source)
    plain = sum(len(piece) for piece in _inflated(read))
    return VerifyInfo(plain, read.compressed_bytes, read.sealed_bytes, read.chunks, read.hash.hexdigest(), read.header)


def _reader(source: Source) -> Callable[[int], bytes]:
    return source if callable(source) else source.read


def _read_exactly(read: Callable[[int], bytes], size: int) -> bytes:
    """``size`` bytes, or fewer at the end of the stream (pipes and sockets return short reads)."""
    pieces: list[bytes] = []
    remaining = size
    while remaining > 0:
        piece = read(remaining)
        if not piece:
            break
        if len(piece) > remaining:
            raise ValueError("the backup source returned more bytes than asked for")
        pieces.append(piece)
        remaining -= len(piece)
    return b"".join(pieces)


class _Unsealer:
    """Reads a sealed stream: the header at once, then the chunks' plaintexts as they authenticate."""

    def __init__(self, key: KeyMaterial, source: Source) -> None:
        self._read = _reader(source)
        self.hash = hashlib.sha256()
        self.sealed_bytes = self.compressed_bytes = self.chunks = 0
        self.header = _parse_header(self._take(HEADER_SIZE))
        _check_kind(key, self.header)
        enc_key, mac_key = _subkeys(key, self.header)
        raw = self.header.raw
        if not hmac.compare_digest(raw[-_TAG:], _header_tag(mac_key, raw[:-_TAG])):
            raise _broken("authentication", "the header does not authenticate: wrong key or tampered header")
        self._aead = AESGCM(enc_key)
        self._digest = hashlib.sha256(raw).digest()

    def plaintexts(self) -> Iterator[bytes]:
        index = 0
        while True:
            final, sealed = self._record(index)
            try:
                plain = self._aead.decrypt(_nonce(index), sealed, _aad(self._digest, index, final))
            except InvalidTag:
                problem = "was tampered with, reordered or duplicated, or comes from another backup"
                raise _broken("authentication", f"chunk {index} does not authenticate: it {problem}", index) from None
            if final and self._take(1):
                raise _broken("trailing-data", f"bytes follow the final chunk ({index}): they were appended", index)
            self.chunks += 1
            self.compressed_bytes += len(plain)
            yield plain
            if final:
                return
            index += 1

    def _record(self, index: int) -> tuple[bool, bytes]:
        prefix = self._take(_RECORD.size)
        if len(prefix) < _RECORD.size:
            where = "within the record of" if prefix else "before"
            raise _broken("truncated", f"the backup ends {where} chunk {index}, without a final chunk", index)
        flag, length = _RECORD.unpack(prefix)
        size = self.header.chunk_size + _TAG
        if flag > 1 or not _TAG <= length <= size or (flag == 0 and length != size):
            problem = f"has a malformed record (flag {flag}, length {length}): it was tampered with"
            raise _broken("authentication", f"chunk {index} {problem}", index)
        sealed = self._take(length)
        if len(sealed) < length:
            raise _broken("truncated", f"the backup ends within chunk {index} ({len(sealed)} of {length} bytes)", index)
        return flag == 1, sealed

    def _take(self, size: int) -> bytes:
        data = _read_exactly(self._read, size)
        self.hash.update(data)
        self.sealed_bytes += len(data)
        return data


def _check_kind(key: KeyMaterial, header: HeaderInfo) -> None:
    if (header.kdf == "scrypt") != (key.kind == "passphrase"):
        made, given, setting = ("passphrase", "raw key", PASSPHRASE_SETTING)
        if header.kdf == "raw":
            made, given, setting = ("raw key", "passphrase", KEY_SETTING)
        message = f"this backup was sealed with a {made}, and the key set is a {given}: set {setting} to the one used"
        raise BackupKeyError(message, setting=setting)


def _inflated(unsealer: _Unsealer) -> Iterator[bytes]:
    inflater = zstandard.ZstdDecompressor().decompressobj()
    pieces: list[bytes] = []
    held = 0
    index = 0
    for index, plain in enumerate(unsealer.plaintexts()):
        with memoryview(plain) as view:
            for start in range(0, len(view), _FEED):
                piece = _inflate(inflater, view[start : start + _FEED], index)
                pieces.append(piece)
                held += len(piece)
                if held >= _PIECE:
                    yield b"".join(pieces)
                    pieces.clear()
                    held = 0
    if not inflater.eof:
        raise _corrupt(index, "the compressed data ends before its zstd frame does")
    if held:
        yield b"".join(pieces)


def _inflate(inflater: zstandard.ZstdDecompressionObj, data: memoryview, index: int) -> bytes:
    if inflater.eof:
        raise _corrupt(index, "compressed data follows the end of the zstd frame")
    try:
        piece = inflater.decompress(data)
    except zstandard.ZstdError as exc:
        raise _corrupt(index, f"zstd cannot decompress it ({exc})") from None
    if inflater.eof and inflater.unused_data:
        raise _corrupt(index, "compressed data follows the end of the zstd frame")
    return piece


def _corrupt(index: int, problem: str) -> BackupIntegrityError:
    return _broken("corrupt-compression", f"chunk {index} authenticates, but {problem}", index)


def _broken(reason: str, message: str, index: int | None = None) -> BackupIntegrityError:
    return BackupIntegrityError(message, reason=reason, chunk=index)
