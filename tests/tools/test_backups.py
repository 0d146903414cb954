"""create_backup, restore_backup, list_backups and cleanup_backups through an MCP client, on real PostgreSQL 15 and 18.

The oracle of a restore is independent of the manifest's checksums: every row of every table read back from the
source and from the restored database, as text.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import psycopg
import pytest
from mcp import Client
from psycopg import sql

from dokploy_mcp.config import load_settings
from dokploy_mcp.server import build_server
from tests.postgres.test_dumps import DATASETS, _ensure_roles, _rows_as_text
from tests.s3_server import S3Bucket, s3_bucket  # noqa: F401 - a fixture
from tests.tools.test_database import call, error

pytestmark = [pytest.mark.anyio, pytest.mark.postgres]

KEY = secrets.token_hex(32)


def run(url: str, *statements: str) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in statements:
            conn.execute(statement)


def names(store: Path, pattern: str = "*") -> list[str]:
    return sorted(path.name for path in store.glob(pattern)) if store.exists() else []


def database_exists(url: str, name: str) -> bool:
    with psycopg.connect(url) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def with_db(url: str, name: str) -> str:
    info = psycopg.conninfo.conninfo_to_dict(url)
    info["dbname"] = name
    return psycopg.conninfo.make_conninfo(**{k: str(v) for k, v in info.items() if v is not None})


def drop(url: str, name: str) -> None:
    with psycopg.connect(with_db(url, "postgres"), autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


@pytest.fixture
def store(tmp_path: Path) -> Path:
    return tmp_path / "backups"


@pytest.fixture
async def client(store: Path) -> AsyncIterator[Client]:
    settings = load_settings(confirm="token", backup_key=KEY, backup_dir=store)
    async with Client(build_server(settings)) as connected:
        yield connected


@pytest.fixture
def source(any_pg_database_url: str) -> Iterator[str]:
    _ensure_roles(any_pg_database_url)
    for name in ("unicode", "toast", "supabase_like"):
        run(any_pg_database_url, *DATASETS[name])
    yield any_pg_database_url


async def test_a_backup_restores_to_equal_tables(client: Client, source: str, store: Path) -> None:
    made = await call(client, "create_backup", target=source, wait_s=300)
    assert made["status"] == "created"
    backup_id = made["backup_id"]
    assert made["sealed_bytes"] > 0 and len(made["sha256"]) == 64
    assert names(store) == [f"{backup_id}.dkbk", f"{backup_id}.json"]
    manifest = json.loads((store / f"{backup_id}.json").read_text())
    assert KEY not in json.dumps(manifest) and manifest["encryption"]["algorithm"] == "AES-256-GCM"
    # Nothing of the data is readable in the file: it is encrypted.
    assert b"auth.users" not in (store / f"{backup_id}.dkbk").read_bytes()

    listed = await call(client, "list_backups")
    assert [item["backup_id"] for item in listed["backups"]] == [backup_id]
    assert listed["backups"][0]["verified"] is False

    restored = await call(client, "restore_backup", backup_id=backup_id, target=source, wait_s=300)
    try:
        assert restored["status"] == "restored", restored["notes"]
        assert restored["tables"] and all(table["verified"] for table in restored["tables"])
        assert _rows_as_text(with_db(source, restored["database"])) == _rows_as_text(source)
        listed = await call(client, "list_backups")
        assert listed["backups"][0]["verified"] is True
    finally:
        drop(source, restored["database"])


@pytest.fixture
def made(pg_database_url: str) -> str:
    run(pg_database_url, "DROP TABLE IF EXISTS public.made", "CREATE TABLE public.made (id int PRIMARY KEY, v text)")
    run(pg_database_url, "INSERT INTO public.made SELECT g, repeat('v', 100) FROM generate_series(1, 3000) g")
    return pg_database_url


@pytest.mark.parametrize("damage", ["flip", "truncate", "append"])
async def test_a_damaged_file_is_refused_before_any_write(client: Client, made: str, store: Path, damage: str) -> None:
    backup_id = (await call(client, "create_backup", target=made, wait_s=300))["backup_id"]
    path = store / f"{backup_id}.dkbk"
    data = bytearray(path.read_bytes())
    if damage == "flip":
        data[len(data) // 2] ^= 0x01
    elif damage == "truncate":
        del data[-100:]
    else:
        data += b"extra"
    path.write_bytes(bytes(data))
    name = f"never_{secrets.token_hex(3)}"
    text = await error(client, "restore_backup", backup_id=backup_id, target=made, database=name, wait_s=300)
    assert "Nothing was restored" in text
    assert not database_exists(made, name)


async def test_a_wrong_key_is_refused_before_any_write(made: str, store: Path) -> None:
    settings = load_settings(confirm="token", backup_key=KEY, backup_dir=store)
    async with Client(build_server(settings)) as first:
        backup_id = (await call(first, "create_backup", target=made, wait_s=300))["backup_id"]
    other = load_settings(confirm="token", backup_key=secrets.token_hex(32), backup_dir=store)
    name = f"never_{secrets.token_hex(3)}"
    async with Client(build_server(other)) as second:
        text = await error(second, "restore_backup", backup_id=backup_id, target=made, database=name, wait_s=300)
    assert "another key" in text or "wrong key" in text
    assert not database_exists(made, name)


async def test_no_key_no_backup(made: str, store: Path) -> None:
    async with Client(build_server(load_settings(confirm="token", backup_dir=store))) as bare:
        text = await error(bare, "create_backup", target=made, wait_s=60)
    assert "DOKPLOY_MCP_BACKUP_KEY" in text
    assert names(store) == []


async def test_restoring_over_a_database_is_confirmed_and_backed_up_first(client: Client, made: str) -> None:
    backup_id = (await call(client, "create_backup", target=made, wait_s=300))["backup_id"]
    run(made, "DELETE FROM public.made WHERE id > 1000")
    asked = await call(client, "restore_backup", backup_id=backup_id, target=made, over_existing=True, wait_s=300)
    assert asked["status"] == "confirm" and asked["confirm_token"]
    with psycopg.connect(made) as conn:
        assert conn.execute("SELECT count(*) FROM public.made").fetchone() == (1000,)  # nothing written yet
    done = await call(
        client,
        "restore_backup",
        backup_id=backup_id,
        target=made,
        over_existing=True,
        confirm_token=asked["confirm_token"],
        wait_s=300,
    )
    assert done["status"] == "restored", done["notes"]
    assert done["safety_backup"] and done["safety_backup"] != backup_id
    with psycopg.connect(made) as conn:
        assert conn.execute("SELECT count(*) FROM public.made").fetchone() == (3000,)
    listed = {item["backup_id"] for item in (await call(client, "list_backups"))["backups"]}
    assert {backup_id, done["safety_backup"]} <= listed


async def test_cleanup_is_a_dry_run_until_confirmed_and_keeps_the_newest(
    client: Client, made: str, store: Path
) -> None:
    ids = [(await call(client, "create_backup", target=made, wait_s=300))["backup_id"] for _ in range(3)]
    dry = await call(client, "cleanup_backups", keep_last=1)
    assert dry["status"] == "dry_run" and sorted(dry["delete"]) == sorted(ids[:2]) and ids[2] in dry["keep"]
    assert len(names(store, "*.dkbk")) == 3
    asked = await call(client, "cleanup_backups", keep_last=1, dry_run=False)
    assert asked["status"] == "confirm"
    assert len(names(store, "*.dkbk")) == 3
    done = await call(client, "cleanup_backups", keep_last=1, dry_run=False, confirm_token=asked["confirm_token"])
    assert done["status"] == "deleted"
    assert names(store) == [f"{ids[2]}.dkbk", f"{ids[2]}.json"]
    assert "at least one rule" in await error(client, "cleanup_backups")


async def test_a_stack_address_is_refused_with_the_way_to_reach_it(client: Client) -> None:
    text = await error(client, "create_backup", target="shop/supabase", wait_s=10)
    assert "127.0.0.1:54322" in text and "stack address" in text


async def test_an_unknown_backup_id_says_where_to_look(client: Client, made: str) -> None:
    assert "list_backups" in await error(client, "restore_backup", backup_id="../../etc/passwd", target=made)
    text = await error(client, "restore_backup", backup_id="20200101T000000Z-abcdef", target=made, wait_s=30)
    assert "list_backups" in text


async def test_a_backup_in_s3_restores_to_equal_tables(s3_bucket: S3Bucket, any_pg_database_url: str) -> None:  # noqa: F811
    """The same round trip with the store in S3 (moto's server on loopback, real boto3 over HTTP), on 15 and 18."""
    _ensure_roles(any_pg_database_url)
    run(any_pg_database_url, *DATASETS["supabase_like"], *DATASETS["toast"])
    settings = load_settings(
        confirm="token", backup_key=KEY, backup_s3_url=f"{s3_bucket.url}/team/db", s3_endpoint=s3_bucket.endpoint
    )
    async with Client(build_server(settings)) as s3_client:
        made = await call(s3_client, "create_backup", target=any_pg_database_url, wait_s=300)
        backup_id = made["backup_id"]
        assert made["store"] == f"{s3_bucket.url}/team/db"
        assert s3_bucket.object_keys() == [f"team/db/{backup_id}.dkbk", f"team/db/{backup_id}.json"]
        listed = await call(s3_client, "list_backups")
        assert [item["backup_id"] for item in listed["backups"]] == [backup_id]
        restored = await call(s3_client, "restore_backup", backup_id=backup_id, target=any_pg_database_url, wait_s=300)
        try:
            assert restored["status"] == "restored", restored["notes"]
            assert all(table["verified"] for table in restored["tables"])
            copy = with_db(any_pg_database_url, restored["database"])
            assert _rows_as_text(copy) == _rows_as_text(any_pg_database_url)
        finally:
            drop(any_pg_database_url, restored["database"])
        # A flipped byte in the object is caught before any write.
        s3 = s3_bucket.client()
        key = f"team/db/{backup_id}.dkbk"
        data = bytearray(s3.get_object(Bucket=s3_bucket.name, Key=key)["Body"].read())
        data[-40] ^= 0x80
        s3.put_object(Bucket=s3_bucket.name, Key=key, Body=bytes(data))
        name = f"never_{secrets.token_hex(3)}"
        text = await error(
            s3_client, "restore_backup", backup_id=backup_id, target=any_pg_database_url, database=name, wait_s=300
        )
        assert "Nothing was restored" in text
        assert not database_exists(any_pg_database_url, name)


def test_a_file_swapped_after_verification_is_refused(made: str, tmp_path: Path) -> None:
    """Between the verifying read and the restoring read, another backup made with the same key is put in its place:
    every chunk of it would authenticate, but its file id is not the manifest's."""
    from dokploy_mcp.backups.errors import BackupIntegrityError
    from dokploy_mcp.backups.sealing import KeyMaterial
    from dokploy_mcp.backups.storage import LocalStore
    from dokploy_mcp.postgres.conninfo import parse_target
    from dokploy_mcp.services import backups

    store = LocalStore(tmp_path / "swap")
    key = KeyMaterial.raw(bytes.fromhex(KEY))
    first = backups._dump_into(store, key, parse_target(made), lambda: False)
    second = backups._dump_into(store, key, parse_target(made), lambda: False)
    (tmp_path / "swap" / first.file).write_bytes((tmp_path / "swap" / second.file).read_bytes())
    with pytest.raises(BackupIntegrityError, match="changed since it was verified"):
        next(backups._chunks(store, key, first))


async def test_an_unreachable_database_is_a_clear_error_and_leaves_nothing(client: Client, store: Path) -> None:
    text = await error(client, "create_backup", target="postgresql://postgres:pw-123456@127.0.0.1:1/x", wait_s=60)
    assert "Cannot connect to the database" in text and "pw-123456" not in text
    assert names(store) == []


async def test_listing_an_empty_store_creates_nothing(client: Client, store: Path) -> None:
    listed = await call(client, "list_backups")
    assert listed["backups"] == [] and listed["store"] == str(store)
    assert names(store.parent, store.name) == []
