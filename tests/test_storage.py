"""The database file: pragmas, migrations, refusing a newer schema, the outbox."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from core.errors import StorageError
from core.storage.db import SCHEMA_VERSION, Database


async def test_open_sets_wal_foreign_keys_and_version(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    db = await Database.open(path)
    async with db.transaction() as tx:
        assert await tx.value("PRAGMA foreign_keys") == 1
        assert await tx.value("PRAGMA user_version") == SCHEMA_VERSION
    await db.close()
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


async def test_reopening_does_not_migrate_twice(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    await (await Database.open(path)).close()
    db = await Database.open(path)
    async with db.transaction() as tx:
        await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('x', 1)")
    await db.close()
    db = await Database.open(path)
    async with db.transaction() as tx:
        assert await tx.value("SELECT count(*) FROM processed_events") == 1
    await db.close()


async def test_refuses_a_database_newer_than_the_code(tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    with sqlite3.connect(path) as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    with pytest.raises(StorageError, match="newer than this Twinome"):
        await Database.open(path)


async def test_savepoint_rolls_back_alone(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "t.sqlite3")
    async with db.transaction() as tx:
        await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('kept', 1)")
        with pytest.raises(RuntimeError):
            async with tx.savepoint():
                await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('dropped', 1)")
                raise RuntimeError("boom")
    async with db.transaction() as tx:
        rows = await tx.all("SELECT event_id FROM processed_events")
    assert [r[0] for r in rows] == ["kept"]
    await db.close()
