"""The database file: pragmas, migrations, refusing a newer schema, the outbox."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Generator
from pathlib import Path

import pytest

from core.errors import StorageError
from core.storage.db import SCHEMA_VERSION, Database, SqliteDatabase, Tx


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


async def test_an_inline_transaction_commits_what_it_returns_from(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "t.sqlite3")

    async def body(tx: Tx) -> int:
        await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('a', 1)")
        async with tx.savepoint():
            await tx.many("INSERT INTO processed_events (event_id, at) VALUES (?, 2)",
                          [("b",), ("c",)])
        return int(await tx.value("SELECT count(*) FROM processed_events"))

    assert await db.inline(body) == 3
    async with db.read() as tx:
        assert await tx.value("SELECT count(*) FROM processed_events") == 3
    await db.close()


@pytest.mark.parametrize("short", [False, True])
async def test_an_inline_transaction_that_raises_leaves_nothing(tmp_path: Path,
                                                                short: bool) -> None:
    db = await Database.open(tmp_path / "t.sqlite3")

    async def body(tx: Tx) -> None:
        await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('a', 1)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        await db.inline(body, short=short)
    async with db.transaction() as tx:  # and no transaction was left open
        assert await tx.value("SELECT count(*) FROM processed_events") == 0
    # the next one runs where it ran (a short one: still on the caller's thread)
    ran_here = await _insert_on_which_thread(db, "b", short=short) == threading.get_ident()
    assert ran_here == short
    async with db.read() as tx:
        assert await tx.value("SELECT group_concat(event_id) FROM processed_events") == "b"
    await db.close()


async def test_an_inline_transaction_that_awaits_anything_else_is_rolled_back(
        tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "t.sqlite3")

    class Elsewhere:
        def __await__(self) -> Generator[None, None, None]:
            yield  # suspends, as a future of the event loop would

    async def body(tx: Tx) -> None:
        await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('a', 1)")
        await Elsewhere()

    with pytest.raises(StorageError, match="besides the database"):
        await db.inline(body)
    async with db.transaction() as tx:
        assert await tx.value("SELECT count(*) FROM processed_events") == 0
    await db.close()


async def _insert_on_which_thread(db: Database, event_id: str, *, short: bool) -> int:
    """Insert one processed event in an inline transaction; the thread that ran it."""

    async def body(tx: Tx) -> int:
        await tx.run("INSERT INTO processed_events (event_id, at) VALUES (?, 1)", (event_id,))
        return threading.get_ident()

    return await db.inline(body, short=short)


async def test_a_short_inline_write_runs_on_the_callers_thread_and_commits(
        tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "t.sqlite3")
    assert await _insert_on_which_thread(db, "a", short=True) == threading.get_ident()
    assert await _insert_on_which_thread(db, "b", short=False) != threading.get_ident()
    async with db.read() as tx:  # another connection sees both committed
        assert await tx.value("SELECT count(*) FROM processed_events") == 2
    await db.close()


async def test_inline_reads_run_here_each_in_a_snapshot_of_its_own_even_after_one_failed(
        tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "t.sqlite3")

    async def seen(tx: Tx) -> tuple[int, int]:
        return await tx.value("SELECT count(*) FROM processed_events"), threading.get_ident()

    async def fails(tx: Tx) -> None:
        await tx.all("SELECT event_id FROM processed_events")
        raise LookupError("the body fails after a statement")

    assert await db.read_inline(seen) == (0, threading.get_ident())
    with pytest.raises(LookupError):
        await db.read_inline(fails)
    await _insert_on_which_thread(db, "a", short=False)
    assert await db.read_inline(seen) == (1, threading.get_ident()), "a new snapshot, here"
    await db.close()


async def test_a_short_write_the_file_lock_stops_waits_on_the_write_connections_thread(
        tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    db = await Database.open(path)
    other = sqlite3.connect(path, isolation_level=None)  # another process, say
    other.execute("BEGIN IMMEDIATE")
    writing = asyncio.create_task(_insert_on_which_thread(db, "a", short=True))
    await asyncio.sleep(0.2)  # the event loop runs meanwhile: the write waits elsewhere
    assert not writing.done()
    other.execute("COMMIT")
    other.close()
    assert await writing != threading.get_ident()
    async with db.read() as tx:
        assert await tx.value("SELECT count(*) FROM processed_events") == 1
    await db.close()


async def test_short_writes_reach_the_database_file_by_a_checkpoint_of_their_own(
        tmp_path: Path) -> None:
    path = tmp_path / "t.sqlite3"
    db = await Database.open(path)
    assert isinstance(db, SqliteDatabase)
    db.near_checkpoint = 3
    assert await db.checkpoint()  # the schema is in the file

    def in_file() -> int:  # the rows in the database file itself, not in its WAL
        with contextlib.closing(sqlite3.connect(f"file:{path}?immutable=1", uri=True)) as raw:
            return int(raw.execute("SELECT count(*) FROM processed_events").fetchone()[0])

    for n in range(2):
        await _insert_on_which_thread(db, f"e{n}", short=True)
    await asyncio.sleep(0.1)
    assert in_file() == 0, "a short write's commit does not checkpoint"
    await _insert_on_which_thread(db, "e2", short=True)
    for _ in range(200):
        if in_file() == 3:
            break
        await asyncio.sleep(0.01)
    assert in_file() == 3, "the third one has the write connection checkpoint them"
    await db.close()


async def test_migration_8_numbers_existing_rows_per_trio(tmp_path: Path) -> None:
    from core.storage.db import MIGRATIONS, _statements
    path = tmp_path / "t.sqlite3"
    with sqlite3.connect(path) as raw:
        before = [(n, script) for n, script in MIGRATIONS if n < 8]
        for _, script in before:
            for statement in _statements(script):
                raw.execute(statement)
        raw.execute(f"PRAGMA user_version = {before[-1][0]}")
        raw.execute("INSERT INTO trios (id, name, state, created_at, patience_s, relance, "
                    "proposal_ttl_s) VALUES (1, 'A', 'active', 0, 1, 'off', 1), "
                    "(2, 'B', 'active', 0, 1, 'off', 1)")
        for pid, trio in ((1, 1), (2, 2), (3, 1), (4, 2)):
            raw.execute("INSERT INTO proposals (id, trio_id, author, text, created_at, "
                        "expires_at, state) VALUES (?, ?, 'x', 't', 0, 1, 'open')", (pid, trio))
            raw.execute("INSERT INTO mentorships (id, trio_id, mentor, mentee, skill, state, "
                        "created_at) VALUES (?, ?, 'x', 'y', 's', 'recognised', 0)", (pid, trio))
            raw.execute("INSERT INTO sessions (id, mentorship_id, minutes, logged_by, "
                        "created_at) VALUES (?, ?, 60, 'x', 0)", (pid, pid))
    db = await Database.open(path)
    async with db.transaction() as tx:
        for table in ("proposals", "mentorships", "sessions"):
            rows = await tx.all(f"SELECT id, number FROM {table} ORDER BY id")
            assert [tuple(r) for r in rows] == [(1, 1), (2, 1), (3, 2), (4, 2)], table
    await db.close()


def test_effects_are_stored_as_asdict_would_write_them() -> None:
    """to_json skips asdict's deep copy; what it writes is the same, and reads back."""
    import json
    from dataclasses import asdict

    from core.effects import (
        Attachment,
        CloseRoom,
        CreateRoom,
        Notify,
        Post,
        Reply,
        ReportToModerators,
        choice,
        from_json,
        to_json,
    )
    from core.i18n import _

    effects = [
        Reply("@a:x", None, "e1", _("in {d}", d="3h"), True, False, "origin",
              (choice("Yes", "yes"), choice("No", "no", "danger")),
              Attachment("export.json", "{}"), "fr"),
        Notify("@b:x", "text", sent_by="@a:x"), Post(3, "posted"),
        CreateRoom(1, 2, "pair", ("@a:x", "@b:x"), "name", "topic", realm="9"),
        CloseRoom(1, "reason"), ReportToModerators("report", 4),
    ]
    for effect in effects:
        expected = json.dumps({"kind": effect.kind, **asdict(effect)}, separators=(",", ":"))
        assert to_json(effect) == expected
        assert from_json(to_json(effect)) == effect
