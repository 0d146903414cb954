"""Sealed backup streams: round trips, every kind of tampering caught before output, key settings, bounded buffers.

``spec_seal`` and ``spec_chunks`` write and read the format from the module docstring alone (with ``cryptography``
and ``zstandard``, not the module's code), so the docstring is held to be enough for an independent reader.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import itertools
import json
import os
import stat
import unicodedata
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import zstandard
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr

from dokploy_mcp import redact
from dokploy_mcp.backups.errors import BackupIntegrityError, BackupKeyError
from dokploy_mcp.backups.sealing import (
    KEY_FILE_SETTING,
    KEY_SETTING,
    PASSPHRASE_SETTING,
    KeyMaterial,
    Sealer,
    SealInfo,
    load_key,
    open_sealed,
    read_header,
    verify_sealed,
)

RAW = bytes(range(32))
KEY = KeyMaterial.raw(RAW)
OTHER = KeyMaterial.raw(bytes(range(1, 33)))
PASSPHRASE = "correct horse battery staple"
SMALL = 256  # a chunk size that gives many chunks from little data
MAGIC = b"\x89DKMCPB\n"  # from the docstring, on purpose not imported
HEADER = 68
PREFIX = 5
TAG = 16


def seal(data: bytes, key: KeyMaterial = KEY, *, chunk_size: int = SMALL, step: int = 1000) -> tuple[bytes, SealInfo]:
    out = bytearray()
    sealer = Sealer(key, out.extend, chunk_size=chunk_size)
    for start in range(0, len(data), step):
        sealer.write(data[start : start + step])
    info = sealer.close()
    return bytes(out), info


def opened(blob: bytes, key: KeyMaterial = KEY) -> bytes:
    return b"".join(open_sealed(key, io.BytesIO(blob)))


def records(blob: bytes) -> list[tuple[int, int]]:
    """``(start, end)`` of each record, read by the format's framing alone."""
    found: list[tuple[int, int]] = []
    offset = HEADER
    while offset < len(blob):
        end = offset + PREFIX + int.from_bytes(blob[offset + 1 : offset + PREFIX], "big")
        found.append((offset, end))
        offset = end
    return found


def mixed(size: int, seed: int = 0) -> bytes:
    """Half random, half text rows: compressible in parts, like a dump with bytea columns."""
    rows = b"".join(b"%d\tuser %d\t2024-01-%02d\tshipped\n" % (n, n % 97, n % 28 + 1) for n in range(size // 60 + 1))
    noise = hashlib.shake_256(seed.to_bytes(4, "big")).digest(size // 2)
    return (noise + rows)[:size]


def rejected(blob: bytes, key: KeyMaterial = KEY) -> BackupIntegrityError:
    """The error verify_sealed raises for ``blob``; open_sealed must raise the same one, having yielded only a
    prefix of what was sealed."""
    with pytest.raises(BackupIntegrityError) as verified:
        verify_sealed(key, io.BytesIO(blob))
    pieces = open_sealed(key, io.BytesIO(blob))
    with pytest.raises(BackupIntegrityError) as streamed:
        for _ in pieces:
            pass
    assert (streamed.value.reason, streamed.value.chunk) == (verified.value.reason, verified.value.chunk)
    return verified.value


def spec_keys(key: bytes, header: bytes) -> tuple[bytes, bytes]:
    okm = HKDF(algorithm=hashes.SHA256(), length=64, salt=header[20:36], info=b"dokploy-mcp backup v1").derive(key)
    return okm[:32], okm[32:]


def spec_seal(key: bytes, chunks: list[bytes], *, chunk_size: int = SMALL) -> bytes:
    head = MAGIC + bytes([1, 0, 0, 0, 0]) + bytes(3) + chunk_size.to_bytes(4, "big") + os.urandom(16) + bytes(16)
    enc_key, mac_key = spec_keys(key, head)
    header = head + hmac.new(mac_key, head, hashlib.sha256).digest()[:16]
    digest = hashlib.sha256(header).digest()
    out = [header]
    for index, chunk in enumerate(chunks):
        final = index == len(chunks) - 1
        aad = digest + index.to_bytes(8, "big") + bytes([final])
        sealed = AESGCM(enc_key).encrypt(bytes(4) + index.to_bytes(8, "big"), chunk, aad)
        out.append(bytes([final]) + len(sealed).to_bytes(4, "big") + sealed)
    return b"".join(out)


def spec_chunks(key: bytes, blob: bytes) -> list[bytes]:
    header = blob[:HEADER]
    assert header[:8] == MAGIC and header[8:10] == b"\x01\x00"
    enc_key, mac_key = spec_keys(key, header)
    assert hmac.new(mac_key, header[:52], hashlib.sha256).digest()[:16] == header[52:]
    digest = hashlib.sha256(header).digest()
    chunks = []
    for index, (start, end) in enumerate(records(blob)):
        final = blob[start]
        aad = digest + index.to_bytes(8, "big") + bytes([final])
        chunks.append(AESGCM(enc_key).decrypt(bytes(4) + index.to_bytes(8, "big"), blob[start + PREFIX : end], aad))
    assert final == 1
    return chunks


def cut(data: bytes, size: int) -> list[bytes]:
    return [data[start : start + size] for start in range(0, len(data), size)] or [b""]


# Round trips


@pytest.mark.parametrize(
    ("data", "chunk_size"),
    [(b"", SMALL), (b"x", SMALL), (mixed(3 << 20), 1 << 20), (b"row\tvalue\n" * 800_000, 1 << 20), (mixed(9000), 64)],
    ids=["empty", "one-byte", "3MiB-mixed-1MiB-chunks", "8MB-text", "tiny-chunks"],
)
def test_round_trip_and_the_counts_it_reports(data: bytes, chunk_size: int) -> None:
    blob, info = seal(data, chunk_size=chunk_size, step=65536)
    assert opened(blob) == data
    assert (info.plain_bytes, info.sealed_bytes, info.chunks) == (len(data), len(blob), len(records(blob)))
    assert info.sha256 == hashlib.sha256(blob).hexdigest()
    verified = verify_sealed(KEY, io.BytesIO(blob))
    assert (verified.plain_bytes, verified.sealed_bytes, verified.chunks, verified.sha256) == (
        len(data),
        len(blob),
        info.chunks,
        info.sha256,
    )
    assert verified.compressed_bytes == info.compressed_bytes
    chunks = spec_chunks(RAW, blob)
    assert all(len(chunk) == chunk_size for chunk in chunks[:-1]) and 0 < len(chunks[-1]) <= chunk_size
    assert zstandard.ZstdDecompressor().decompressobj().decompress(b"".join(chunks)) == data


def test_three_chunks_at_least_for_3mib_of_random_data_with_1mib_chunks() -> None:
    blob, info = seal(os.urandom(3 << 20), chunk_size=1 << 20, step=1 << 16)
    assert info.chunks >= 3 and [blob[start] for start, _ in records(blob)] == [0] * (info.chunks - 1) + [1]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    data=st.binary(max_size=6000),
    splits=st.lists(st.integers(min_value=0, max_value=6000), max_size=12),
    chunk_size=st.sampled_from([64, 100, 1000, 1 << 20]),
)
def test_any_bytes_written_in_any_pieces_come_back(data: bytes, splits: list[int], chunk_size: int) -> None:
    out = bytearray()
    sealer = Sealer(KEY, out.extend, chunk_size=chunk_size)
    bounds = [0, *sorted(min(split, len(data)) for split in splits), len(data)]
    for start, end in itertools.pairwise(bounds):
        sealer.write(memoryview(data)[start:end])
        assert sealer.buffered <= chunk_size
    sealer.close()
    assert opened(bytes(out)) == data


def test_a_source_that_returns_short_reads() -> None:
    data = mixed(20_000)
    blob, _ = seal(data)
    stream = io.BytesIO(blob)
    sizes = iter(range(1 << 30))

    def trickle(size: int) -> bytes:
        return stream.read(min(size, next(sizes) % 7 + 1))

    assert b"".join(open_sealed(KEY, trickle)) == data


def test_the_module_reads_what_the_docstring_describes() -> None:
    data = mixed(5000)
    blob = spec_seal(RAW, cut(zstandard.ZstdCompressor().compress(data), SMALL))
    assert opened(blob) == data
    assert verify_sealed(KEY, io.BytesIO(blob)).plain_bytes == len(data)


def test_each_seal_has_its_own_file_id_so_the_same_data_seals_differently() -> None:
    first, first_info = seal(b"same")
    second, second_info = seal(b"same")
    assert first != second and first_info.params["file_id"] != second_info.params["file_id"]
    assert read_header(io.BytesIO(first)).file_id == first_info.params["file_id"]


def test_passphrase_round_trip_and_its_header() -> None:
    key = load_key(key=None, key_file=None, passphrase=PASSPHRASE, scrypt_log2_n=14)
    blob, info = seal(mixed(3000), key)
    assert opened(blob, key) == mixed(3000)
    header = read_header(io.BytesIO(blob))
    assert (header.kdf, header.scrypt_n, header.scrypt_r, header.scrypt_p) == ("scrypt", 1 << 14, 8, 1)
    assert info.params["kdf"] == {"name": "scrypt", "salt": header.salt, "n": 1 << 14, "r": 8, "p": 1}
    assert info.params["key_fingerprint"] is None and key.fingerprint is None
    decomposed = load_key(key=None, key_file=None, passphrase=unicodedata.normalize("NFD", "é" * 12))
    composed = load_key(key=None, key_file=None, passphrase=unicodedata.normalize("NFC", "é" * 12))
    assert opened(seal(b"nfc", decomposed)[0], composed) == b"nfc"


def test_params_are_json_for_a_manifest_and_hold_no_key() -> None:
    _, info = seal(b"data")
    text = json.dumps(info.params)
    assert RAW.hex() not in text and base64.b64encode(RAW).decode() not in text
    assert info.params["algorithm"] == "AES-256-GCM" and info.params["compression"] == "zstd"
    assert info.params["key_fingerprint"] == KEY.fingerprint and info.params["kdf"] == {"name": "raw"}
    assert (info.params["version"], info.params["chunk_size"]) == (1, SMALL)


def test_close_twice_returns_the_same_info_and_write_after_close_is_refused() -> None:
    sealer = Sealer(KEY, lambda _: None)
    sealer.write(b"abc")
    assert sealer.close() is sealer.close()
    with pytest.raises(ValueError, match="closed"):
        sealer.write(b"more")


@pytest.mark.parametrize("options", [{"chunk_size": 63}, {"chunk_size": (64 << 20) + 1}, {"level": 0}, {"level": 23}])
def test_sealer_refuses_parameters_out_of_range(options: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        Sealer(KEY, lambda _: None, **options)


# Tampering: every change is caught, by verify_sealed and open_sealed alike


@pytest.fixture(scope="module")
def sealed() -> tuple[bytes, bytes]:
    """Random data (so that compression keeps it at about its size) in 8 chunks or so: (data, blob)."""
    data = hashlib.shake_256(b"seed").digest(7 * SMALL + 100)
    return data, seal(data)[0]


def flip(blob: bytes, offset: int, mask: int = 0x01) -> bytes:
    return blob[:offset] + bytes([blob[offset] ^ mask]) + blob[offset + 1 :]


def test_every_bit_of_the_header_is_covered(sealed: tuple[bytes, bytes]) -> None:
    _, blob = sealed
    reasons = {rejected(flip(blob, offset, 1 << bit)).reason for offset in range(HEADER) for bit in range(8)}
    assert reasons == {"not-a-backup", "unsupported-version", "header-tampered", "authentication"}


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (0, "not-a-backup"),
        (8, "unsupported-version"),
        (9, "header-tampered"),
        (13, "header-tampered"),
        (16, "header-tampered"),
        (19, "authentication"),
        (25, "authentication"),
        (40, "header-tampered"),
        (60, "authentication"),
    ],
    ids=["magic", "version", "kdf", "reserved", "chunk-size-range", "chunk-size", "file-id", "salt-of-raw", "tag"],
)
def test_a_changed_header_field_and_its_reason(sealed: tuple[bytes, bytes], offset: int, reason: str) -> None:
    error = rejected(flip(sealed[1], offset, 0x80))
    assert (error.reason, error.chunk) == (reason, None)


def test_version_two_is_unsupported_not_tampered(sealed: tuple[bytes, bytes]) -> None:
    blob = sealed[1]
    assert rejected(blob[:8] + b"\x02" + blob[9:]).reason == "unsupported-version"


@pytest.mark.parametrize("where", [0, 3, -1], ids=["first", "middle", "final"])
def test_a_flipped_bit_in_a_chunk_body(sealed: tuple[bytes, bytes], where: int) -> None:
    spans = records(sealed[1])
    index = range(len(spans))[where]
    start, end = spans[index]
    for offset in (start + PREFIX, (start + end) // 2, end - 1):
        error = rejected(flip(sealed[1], offset))
        assert (error.reason, error.chunk) == ("authentication", index)


def test_a_flipped_bit_in_any_length_prefix_or_flag(sealed: tuple[bytes, bytes]) -> None:
    for index, (start, _) in enumerate(records(sealed[1])):
        for offset in range(start, start + PREFIX):
            for bit in range(8):
                error = rejected(flip(sealed[1], offset, 1 << bit))
                assert error.reason in {"authentication", "truncated"} and error.chunk == index


def test_an_impossible_record_length_is_refused_before_reading_it(sealed: tuple[bytes, bytes]) -> None:
    blob = sealed[1]
    start, _ = records(blob)[1]
    huge = blob[: start + 1] + b"\xff\xff\xff\xf0" + blob[start + PREFIX :] + bytes(1 << 16)
    stream = io.BytesIO(huge)
    asked: list[int] = []

    def read(size: int) -> bytes:
        asked.append(size)
        return stream.read(size)

    error = rejected(huge)
    assert (error.reason, error.chunk) == ("authentication", 1) and "malformed" in str(error)
    with pytest.raises(BackupIntegrityError):
        verify_sealed(KEY, read)
    assert max(asked) <= SMALL + TAG


def test_truncated_at_every_record_boundary_and_within_records(sealed: tuple[bytes, bytes]) -> None:
    blob = sealed[1]
    spans = records(blob)
    for index, (start, end) in enumerate(spans):
        for cut_at in (start, start + 1, start + PREFIX, start + PREFIX + 1, end - 1):
            error = rejected(blob[:cut_at])
            assert (error.reason, error.chunk) == ("truncated", index), cut_at
    for cut_at in (0, 1, 7, 8, 40, HEADER - 1):
        assert rejected(blob[:cut_at]).reason == "truncated"


def test_a_file_ending_after_a_non_final_chunk_is_truncated_not_complete(sealed: tuple[bytes, bytes]) -> None:
    blob = sealed[1]
    start, _ = records(blob)[-1]
    assert rejected(blob[:start]).reason == "truncated"


def test_swapped_duplicated_or_dropped_chunks(sealed: tuple[bytes, bytes]) -> None:
    blob = sealed[1]
    parts = [blob[start:end] for start, end in records(blob)]
    head = blob[:HEADER]
    swapped = head + b"".join([*parts[:2], parts[3], parts[2], *parts[4:]])
    duplicated = head + b"".join([*parts[:3], parts[2], *parts[3:]])
    dropped = head + b"".join([*parts[:2], *parts[3:]])
    final_first = head + b"".join([parts[-1], *parts[:-1]])
    for tampered, index in ((swapped, 2), (duplicated, 3), (dropped, 2), (final_first, 0)):
        error = rejected(tampered)
        assert (error.reason, error.chunk) == ("authentication", index)


def test_chunks_from_another_backup_with_the_same_key(sealed: tuple[bytes, bytes]) -> None:
    blob = sealed[1]
    other, _ = seal(sealed[0])
    start, end = records(blob)[1]
    error = rejected(blob[:start] + other[start:end] + blob[end:])
    assert (error.reason, error.chunk) == ("authentication", 1)


@pytest.mark.parametrize("extra", [b"\x00", b"garbage", b"\x01\x00\x00\x00\x10" + bytes(16)])
def test_trailing_data_after_the_final_chunk(sealed: tuple[bytes, bytes], extra: bytes) -> None:
    blob = sealed[1]
    error = rejected(blob + extra)
    assert (error.reason, error.chunk) == ("trailing-data", len(records(blob)) - 1)


def test_a_copy_of_the_final_record_appended_is_trailing_data(sealed: tuple[bytes, bytes]) -> None:
    blob = sealed[1]
    start, end = records(blob)[-1]
    assert rejected(blob + blob[start:end]).reason == "trailing-data"


def test_wrong_raw_key(sealed: tuple[bytes, bytes]) -> None:
    error = rejected(sealed[1], OTHER)
    assert (error.reason, error.chunk) == ("authentication", None)
    assert "wrong key or tampered" in str(error)


def test_wrong_passphrase() -> None:
    key = load_key(key=None, key_file=None, passphrase=PASSPHRASE, scrypt_log2_n=14)
    blob, _ = seal(b"secret rows", key)
    wrong = load_key(key=None, key_file=None, passphrase=PASSPHRASE + "!")
    error = rejected(blob, wrong)
    assert (error.reason, error.chunk) == ("authentication", None)
    assert PASSPHRASE not in str(error)


def test_a_key_of_the_other_kind_names_the_setting_to_use() -> None:
    phrase_key = load_key(key=None, key_file=None, passphrase=PASSPHRASE, scrypt_log2_n=14)
    with pytest.raises(BackupKeyError) as raised:
        verify_sealed(KEY, io.BytesIO(seal(b"x", phrase_key)[0]))
    assert raised.value.setting == PASSPHRASE_SETTING
    with pytest.raises(BackupKeyError) as raised:
        verify_sealed(phrase_key, io.BytesIO(seal(b"x")[0]))
    assert raised.value.setting == KEY_SETTING


@pytest.mark.parametrize("blob", [b"PGDMP\x01\x0e", zstandard.ZstdCompressor().compress(b"x" * 100), b"-- dump\n" * 20])
def test_not_a_backup(blob: bytes) -> None:
    assert rejected(blob).reason == "not-a-backup"


@pytest.mark.parametrize(
    "payload",
    [
        b"not zstd at all",
        zstandard.ZstdCompressor().compress(b"abc" * 500)[:-3],
        zstandard.ZstdCompressor().compress(b"abc") * 2,
        zstandard.ZstdCompressor().compress(b"abc") + b"\0",
    ],
    ids=["garbage", "frame-cut-short", "two-frames", "frame-then-zero"],
)
def test_authentic_chunks_that_are_not_one_zstd_frame(payload: bytes) -> None:
    error = rejected(spec_seal(RAW, cut(payload, 64), chunk_size=64))
    assert error.reason == "corrupt-compression"


@settings(max_examples=150, deadline=None)
@given(position=st.integers(min_value=0), mask=st.integers(min_value=1, max_value=255))
def test_any_changed_byte_is_caught(sealed: tuple[bytes, bytes], position: int, mask: int) -> None:
    blob = sealed[1]
    rejected(flip(blob, position % len(blob), mask))


@settings(max_examples=80, deadline=None)
@given(length=st.integers(min_value=0))
def test_any_truncation_is_caught(sealed: tuple[bytes, bytes], length: int) -> None:
    blob = sealed[1]
    assert rejected(blob[: length % len(blob)]).reason == "truncated"


# No output from a chunk before it authenticated


def yielded_before_error(pieces: Iterator[bytes]) -> bytes:
    out = bytearray()
    with pytest.raises(BackupIntegrityError):
        for piece in pieces:
            out += piece
    return bytes(out)


def test_open_sealed_gives_nothing_of_a_tampered_chunk() -> None:
    data = mixed(40_000, seed=3)
    blob, _ = seal(data)
    chunks = spec_chunks(RAW, blob)
    spans = records(blob)
    for index in (0, 1, len(spans) // 2, len(spans) - 1):
        start, end = spans[index]
        out = yielded_before_error(open_sealed(KEY, io.BytesIO(flip(blob, (start + end) // 2))))
        before = zstandard.ZstdDecompressor().decompressobj().decompress(b"".join(chunks[:index]))
        assert data.startswith(out) and len(out) <= len(before), index


def test_nothing_is_given_out_for_a_wrong_key_or_trailing_data() -> None:
    blob, info = seal(
        b"one chunk that decompresses to more than one piece\n" * 100_000, chunk_size=1 << 20, step=1 << 20
    )
    assert info.chunks == 1 and info.plain_bytes > 4 << 20
    assert yielded_before_error(open_sealed(OTHER, io.BytesIO(blob))) == b""
    assert yielded_before_error(open_sealed(KEY, io.BytesIO(blob + b"x"))) == b""
    assert yielded_before_error(open_sealed(KEY, io.BytesIO(flip(blob, HEADER + PREFIX)))) == b""


# Bounded buffers


def test_64mib_through_small_writes_keeps_buffers_within_a_chunk() -> None:
    chunk_size = 1 << 20
    sizes: list[int] = []
    sealer = Sealer(KEY, lambda data: sizes.append(len(data)), chunk_size=chunk_size)
    largest = 0
    for _ in range((64 << 20) // (16 << 10)):
        sealer.write(os.urandom(16 << 10))  # incompressible, so compressed bytes arrive with every write
        largest = max(largest, sealer.buffered)
    info = sealer.close()
    assert 0 < largest <= chunk_size and sealer.buffered == 0
    assert max(sizes) <= PREFIX + chunk_size + TAG and len(sizes) == info.chunks + 1 >= 60


def test_one_huge_write_is_sealed_chunk_by_chunk() -> None:
    sizes: list[int] = []
    sealer = Sealer(KEY, lambda data: sizes.append(len(data)), chunk_size=4096)
    sealer.write(hashlib.shake_256(b"huge").digest(8 << 20))
    assert sealer.buffered <= 4096 and max(sizes) <= PREFIX + 4096 + TAG
    assert len(sizes) > 2000


def test_open_sealed_yields_bounded_pieces_of_data_that_compresses_enormously() -> None:
    blob, info = seal(bytes(128 << 20), chunk_size=1 << 20, step=4 << 20)
    assert info.chunks == 1  # 128 MiB of zeros fit in one chunk: one decompress call would return all of it
    sizes = [len(piece) for piece in open_sealed(KEY, io.BytesIO(blob))]
    assert sum(sizes) == 128 << 20 and max(sizes) <= 9 << 20


# Key settings


def test_no_key_set_says_how_to_make_one() -> None:
    for empty in (None, ""):
        with pytest.raises(BackupKeyError) as raised:
            load_key(key=empty, key_file=None, passphrase=empty)
        assert raised.value.setting == KEY_SETTING
        assert "secrets.token_hex(32)" in str(raised.value) and "openssl rand -hex 32" in str(raised.value)


@pytest.mark.parametrize(
    "given",
    [
        {"key": RAW.hex(), "passphrase": PASSPHRASE},
        {"key": RAW.hex(), "key_file": Path("/k")},
        {"key_file": Path("/k"), "passphrase": PASSPHRASE},
        {"key": RAW.hex(), "key_file": Path("/k"), "passphrase": "p"},
    ],
)
def test_two_keys_set_is_refused_naming_them(given: dict[str, object]) -> None:
    arguments: dict[str, object] = {"key": None, "key_file": None, "passphrase": None, **given}
    with pytest.raises(BackupKeyError) as raised:
        load_key(**arguments)  # type: ignore[arg-type]
    names = {"key": KEY_SETTING, "key_file": KEY_FILE_SETTING, "passphrase": PASSPHRASE_SETTING}
    for name in given:
        assert names[name] in str(raised.value)
    assert raised.value.setting in {names[name] for name in given}
    assert RAW.hex() not in str(raised.value) and PASSPHRASE not in str(raised.value)


@pytest.mark.parametrize(
    ("text", "expect"),
    [
        ("g" + RAW.hex()[1:], "not all hex"),
        (RAW.hex()[:32], "32 hex characters"),
        (RAW.hex() + "00", "66 hex"),
        (base64.b64encode(RAW[:16]).decode(), "16 bytes"),
        ("not a key !", "neither"),
        ("é" * 10, "neither"),
    ],
    ids=["bad-hex", "short-hex", "long-hex", "short-base64", "words", "non-ascii"],
)
def test_unusable_keys_name_the_setting_and_never_show_the_key(text: str, expect: str) -> None:
    with pytest.raises(BackupKeyError) as raised:
        load_key(key=text, key_file=None, passphrase=None)
    assert raised.value.setting == KEY_SETTING and expect in str(raised.value)
    assert text not in str(raised.value) and text[:16] not in str(raised.value)


@pytest.mark.parametrize(
    "text",
    [
        RAW.hex(),
        RAW.hex().upper(),
        f"  {RAW.hex()}\n",
        base64.b64encode(RAW).decode(),
        base64.urlsafe_b64encode(RAW).decode(),
    ],
)
def test_key_in_hex_or_base64(text: str) -> None:
    assert load_key(key=text, key_file=None, passphrase=None).fingerprint == KEY.fingerprint
    assert load_key(key=SecretStr(text), key_file=None, passphrase=None).fingerprint == KEY.fingerprint


def test_key_file_holding_the_key(tmp_path: Path) -> None:
    path = tmp_path / "backup.key"
    path.write_text(RAW.hex() + "\n")
    path.chmod(0o444)  # as Docker mounts secrets: readable by all is accepted
    key = load_key(key=None, key_file=path, passphrase=None)
    assert key.kind == "raw" and key.fingerprint == KEY.fingerprint
    assert RAW.hex() not in redact.scrub(f"leaked {RAW.hex()}")


def write_file(path: Path, data: bytes, mode: int = 0o600) -> Path:
    path.write_bytes(data)
    path.chmod(mode)
    return path


KEY_FILES: dict[str, tuple[Callable[[Path], Path], str]] = {
    "missing": (lambda tmp: tmp / "nope.key", "does not exist"),
    "empty": (lambda tmp: write_file(tmp / "k", b""), "is empty"),
    "blank": (lambda tmp: write_file(tmp / "k", b"  \n"), "is empty"),
    "oversized": (lambda tmp: write_file(tmp / "k", RAW.hex().encode() * 20), "over 1024 bytes"),
    "directory": (lambda tmp: tmp, "not a regular file"),
    "world-writable": (lambda tmp: write_file(tmp / "k", RAW.hex().encode(), 0o666), "anyone can write"),
    "binary": (lambda tmp: write_file(tmp / "k", b"\xff" * 32), "not text"),
    "short": (lambda tmp: write_file(tmp / "k", RAW.hex()[:40].encode()), "40 hex characters"),
}


@pytest.mark.parametrize("case", sorted(KEY_FILES))
def test_unusable_key_files_name_the_setting(tmp_path: Path, case: str) -> None:
    make, expect = KEY_FILES[case]
    path = make(tmp_path)
    with pytest.raises(BackupKeyError) as raised:
        load_key(key=None, key_file=path, passphrase=None)
    assert raised.value.setting == KEY_FILE_SETTING and expect in str(raised.value)
    assert RAW.hex()[:16] not in str(raised.value)
    if case == "world-writable":
        assert path.stat().st_mode & stat.S_IWOTH  # refused, and left as it was


def test_short_passphrase_is_refused_without_showing_it() -> None:
    with pytest.raises(BackupKeyError) as raised:
        load_key(key=None, key_file=None, passphrase=SecretStr("short phrase"[:11]))
    assert raised.value.setting == PASSPHRASE_SETTING and "12 characters" in str(raised.value)
    assert "short phras" not in str(raised.value)


def test_scrypt_parameters_a_reader_would_refuse_are_refused_when_sealing() -> None:
    with pytest.raises(ValueError):
        load_key(key=None, key_file=None, passphrase=PASSPHRASE, scrypt_log2_n=12)
    with pytest.raises(ValueError):
        load_key(key=None, key_file=None, passphrase=PASSPHRASE, scrypt_log2_n=20, scrypt_r=16)


def test_key_material_never_shows_its_secret() -> None:
    phrase_key = load_key(key=None, key_file=None, passphrase=PASSPHRASE)
    for key, secret in ((KEY, RAW.hex()), (phrase_key, PASSPHRASE)):
        for text in (repr(key), str(key), f"{key}", f"{key!r}"):
            assert secret not in text and secret[:12] not in text and key.kind in text
    assert KEY.fingerprint is not None and len(KEY.fingerprint) == 16
    assert KEY.fingerprint != OTHER.fingerprint and KEY.fingerprint not in RAW.hex()
    assert not hasattr(KEY, "__dict__")  # nothing beyond the slots, so vars() cannot show it either
