"""The storage contract: what the features ask of :class:`Tx` and :class:`Database`, run
against every backend (SQLite files and a real PostgreSQL server), with the same SQL."""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from core.clock import FakeClock
from core.errors import StorageError
from core.ids import MemberId
from core.service import Twinome
from core.storage.db import SCHEMA_VERSION, Database, Tx, among, contains
from tests.pgserver import PgServer


@pytest.fixture
async def db(target: str | Path) -> AsyncIterator[Database]:
    opened = await Database.open(target)
    yield opened
    await opened.close()


async def _trio(tx: Tx, name: str = "A") -> int:
    return await tx.insert(
        "INSERT INTO trios (name, state, created_at, patience_s, relance, proposal_ttl_s) "
        "VALUES (?, 'forming', 1, 60, 'off', 60)", (name,))


async def test_rows_read_by_name_and_by_index(db: Database) -> None:
    async with db.transaction() as tx:
        first = await _trio(tx, "A")
        second = await _trio(tx, "B")
        assert second > first > 0
        row = await tx.one("SELECT id, name FROM trios WHERE id = ?", (first,))
        assert row is not None
        assert (row["id"], row["name"], row[0], row[1]) == (first, "A", first, "A")
        assert tuple(row) == (first, "A") and dict(row) == {"id": first, "name": "A"}
        assert [r["name"] for r in await tx.all("SELECT name FROM trios ORDER BY id")] == ["A", "B"]
        assert await tx.value("SELECT count(*) FROM trios") == 2
        assert await tx.value("SELECT name FROM trios WHERE id = ?", (-1,)) is None
        assert await tx.one("SELECT * FROM trios WHERE id = ?", (-1,)) is None


async def test_one_query_reads_give_a_value_or_the_rows(db: Database) -> None:
    await db.write("INSERT INTO meta (key, value) VALUES ('a', '1'), ('b', '2')")
    assert await db.read_value("SELECT value FROM meta WHERE key = ?", ("b",)) == "2"
    assert await db.read_value("SELECT value FROM meta WHERE key = ?", ("none",)) is None
    rows = await db.read_all("SELECT key, value FROM meta WHERE key IN ('a', 'b') ORDER BY key")
    assert [tuple(r) for r in rows] == [("a", "1"), ("b", "2")] and rows[1]["value"] == "2"


async def test_named_parameters_repeat_and_mix_with_literals(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.run("INSERT INTO meta (key, value) VALUES (:k, :v)", {"k": "a:b?", "v": "x"})
        row = await tx.one("SELECT key, value, ':not' AS lit, '?' AS q FROM meta "
                           "WHERE key = :k AND (value = :v OR key = :k)", {"k": "a:b?", "v": "x"})
        assert row is not None and tuple(row) == ("a:b?", "x", ":not", "?")


async def test_upserts_do_nothing_or_update(db: Database) -> None:
    async with db.transaction() as tx:
        sql = "INSERT INTO processed_events (event_id, at) VALUES (?, ?) ON CONFLICT DO NOTHING"
        assert await tx.changes(sql, ("e", 1)) == 1
        assert await tx.changes(sql, ("e", 2)) == 0
        upsert = ("INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) "
                  "DO UPDATE SET value = excluded.value || meta.value")
        await tx.run(upsert, ("k", "1"))
        await tx.run(upsert, ("k", "2"))
        assert await tx.value("SELECT value FROM meta WHERE key = 'k'") == "21"
        assert await tx.value("SELECT at FROM processed_events WHERE event_id = 'e'") == 1


async def test_returning_gives_every_written_row(db: Database) -> None:
    async with db.transaction() as tx:
        rows = await tx.all(
            "INSERT INTO processed_events (event_id, at) VALUES (?, ?), (?, ?), (?, ?) "
            "ON CONFLICT (event_id) DO NOTHING RETURNING event_id", ("a", 1, "b", 1, "a", 1))
        assert sorted(r[0] for r in rows) == ["a", "b"]
        ids = await tx.all("INSERT INTO outbox (platform, effect, created_at) VALUES "
                           "('x', 'e1', 1), ('x', 'e2', 1) RETURNING id, effect")
        assert sorted(r["effect"] for r in ids) == ["e1", "e2"]


async def test_many_and_changes_count_rows(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.many("INSERT INTO processed_events (event_id, at) VALUES (?, ?)",
                      [(f"e{i}", i) for i in range(5)])
        await tx.many("INSERT INTO processed_events (event_id, at) VALUES (?, ?)", [])
        assert await tx.changes("DELETE FROM processed_events WHERE at < ?", (2,)) == 2
        assert await tx.changes("UPDATE processed_events SET at = 0 WHERE at >= 3") == 2
    assert await db.write("DELETE FROM processed_events") == 3


async def test_portable_helpers_in_lists_and_contains(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.many("INSERT INTO meta (key, value) VALUES (?, ?)",
                      [("a", "hello Bob"), ("b", "bob%"), ("c", "none")])
        listed, params = among("k", ["a", "c"])
        assert [r[0] for r in await tx.all(
            f"SELECT key FROM meta WHERE key IN {listed} ORDER BY key", params)] == ["a", "c"]
        listed, params = among("k", [])
        assert await tx.all(f"SELECT key FROM meta WHERE key IN {listed}", params) == []
        found = await tx.all(f"SELECT key FROM meta WHERE {contains('value')} ORDER BY key",
                             ("Bob",))
        assert [r[0] for r in found] == ["a"]  # exact: case counts, % is a character
        assert [r[0] for r in await tx.all(
            f"SELECT key FROM meta WHERE {contains('value')}", ("%",))] == ["b"]


async def test_aggregates_come_back_as_plain_numbers(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.many("INSERT INTO processed_events (event_id, at) VALUES (?, ?)",
                      [("a", 1), ("b", 2)])
        total = await tx.value("SELECT sum(at) FROM processed_events")
        assert total == 3 and type(total) is int
        assert await tx.value("SELECT avg(at) FROM processed_events") == 1.5
        assert await tx.value("SELECT min(at) FROM processed_events WHERE at > 5") is None


async def test_a_savepoint_rolls_back_alone(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('kept', 1)")
        with pytest.raises(RuntimeError):
            async with tx.savepoint():
                await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('dropped', 1)")
                raise RuntimeError("boom")
        async with tx.savepoint():
            await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('inner', 1)")
    async with db.read() as tx:
        rows = await tx.all("SELECT event_id FROM processed_events ORDER BY event_id")
    assert [r[0] for r in rows] == ["inner", "kept"]


async def test_a_failed_statement_in_a_savepoint_leaves_the_transaction_usable(
        db: Database) -> None:
    async with db.transaction() as tx:
        await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('a', 1)")
        with pytest.raises(Exception):  # noqa: B017 - each driver raises its own
            async with tx.savepoint():
                await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('a', 1)")
        await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('b', 1)")
    async with db.read() as tx:
        assert await tx.value("SELECT count(*) FROM processed_events") == 2


async def test_a_transaction_that_raises_leaves_nothing(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as tx:
            await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('a', 1)")
            raise RuntimeError("boom")

    async def body(tx: Tx) -> None:
        await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('b', 1)")
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        await db.inline(body)
    with pytest.raises(RuntimeError):
        await db.inline(body, short=True)
    async with db.transaction() as tx:
        assert await tx.value("SELECT count(*) FROM processed_events") == 0


async def test_inline_and_atomic_commit_what_they_return_from(db: Database) -> None:
    async def body(tx: Tx) -> int:
        await tx.run("INSERT INTO processed_events (event_id, at) VALUES (?, 1)",
                     (f"e{await tx.value('SELECT count(*) FROM processed_events')}",))
        return int(await tx.value("SELECT count(*) FROM processed_events"))

    assert await db.inline(body) == 1
    assert await db.atomic(body) == 2
    assert await db.inline(body, short=True) == 3


async def test_concurrent_transactions_are_serialised(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.run("INSERT INTO meta (key, value) VALUES ('n', '0')")

    async def bump() -> None:
        async with db.transaction() as tx:
            n = int(await tx.value("SELECT value FROM meta WHERE key = 'n'"))
            await asyncio.sleep(0)  # another task runs meanwhile: it must wait its turn
            await tx.run("UPDATE meta SET value = ? WHERE key = 'n'", (str(n + 1),))

    await asyncio.gather(*(bump() for _ in range(20)))
    async with db.read() as tx:
        assert await tx.value("SELECT value FROM meta WHERE key = 'n'") == "20"


async def test_two_writers_on_one_database_each_apply_once(target: str | Path) -> None:
    """Two processes' worth of databases: read-then-write transactions that overlap still
    give the result of one after the other (SQLite waits; PostgreSQL retries)."""
    one, two = await Database.open(target), await Database.open(target)
    try:
        async with one.transaction() as tx:
            await tx.run("INSERT INTO meta (key, value) VALUES ('n', '0')")
        runs = 0

        async def bump(tx: Tx) -> None:
            nonlocal runs
            runs += 1
            n = int(await tx.value("SELECT value FROM meta WHERE key = 'n'"))
            await asyncio.sleep(0.02)  # both read before either writes
            await tx.run("UPDATE meta SET value = ? WHERE key = 'n'", (str(n + 1),))

        await asyncio.gather(*(db.atomic(bump) for db in (one, two) for _ in range(3)))
        async with one.read() as tx:
            assert await tx.value("SELECT value FROM meta WHERE key = 'n'") == "6"
        assert runs >= 6
    finally:
        await one.close()
        await two.close()


async def test_a_read_does_not_wait_for_an_open_write(db: Database) -> None:
    async with db.transaction() as tx:
        await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('old', 1)")
    writing, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as tx:
            await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('new', 1)")
            writing.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await writing.wait()
    async with asyncio.timeout(2), db.read() as tx:
        assert [r[0] for r in await tx.all("SELECT event_id FROM processed_events")] == ["old"]
    release.set()
    await task
    async with db.read() as tx:
        assert await tx.value("SELECT count(*) FROM processed_events") == 2


async def test_reopening_does_not_migrate_twice(target: str | Path) -> None:
    async with await Database.open(target) as db, db.transaction() as tx:
        await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('x', 1)")
    async with await Database.open(target) as db, db.read() as tx:
        assert await tx.value("SELECT count(*) FROM processed_events") == 1
        assert await tx.value("SELECT value FROM meta WHERE key = 'instance'")


async def test_a_database_newer_than_the_code_is_refused(target: str | Path) -> None:
    await (await Database.open(target)).close()
    if isinstance(target, Path):
        with sqlite3.connect(target) as raw:
            raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    else:
        raw_pg = await asyncpg.connect(target)
        await raw_pg.execute("UPDATE twinome_schema SET version = $1", SCHEMA_VERSION + 1)
        await raw_pg.close()
    with pytest.raises(StorageError, match="newer than this Twinome"):
        await Database.open(target)


async def test_both_backends_end_with_the_same_schema(tmp_path: Path, pg_url: str) -> None:
    """Same tables, same columns in the same order: the migrations agree."""
    async with await Database.open(tmp_path / "t.sqlite3") as lite, lite.read() as tx:
        tables = [r[0] for r in await tx.all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")]
        lite_columns = {t: [r["name"] for r in await tx.all(f"PRAGMA table_info({t})")]
                        for t in tables}
    async with await Database.open(pg_url) as pg, pg.read() as tx:
        rows = await tx.all(
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name <> 'twinome_schema' "
            "ORDER BY table_name, ordinal_position")
    pg_columns: dict[str, list[str]] = {}
    for r in rows:
        pg_columns.setdefault(r[0], []).append(r[1])
    assert pg_columns == lite_columns


async def test_a_wrong_url_is_a_storage_error(pg_server: PgServer) -> None:
    with pytest.raises(StorageError, match="Cannot reach"):
        await Database.open(f"postgresql://postgres@127.0.0.1:{pg_server.port}/absent")


_AWKWARD = ["it's", "back\\slash\\'", "-- not a comment", "$1 ? :name", "é 😀 ünï", "", "a\nb"]


async def test_written_values_come_back_exactly(db: Database) -> None:
    # Every kind of value the features write comes back unchanged, in the same transaction
    # and after it (a negative number after a minus sign included).
    names = {f"m{i}": text for i, text in enumerate(_AWKWARD)} | {"none": None}
    read = "SELECT id, display_name FROM members WHERE id IN ({})".format(", ".join(
        f"'{key}'" for key in names))
    async with db.transaction() as tx:
        await tx.many("INSERT INTO members (id, created_at, display_name) VALUES (?, 0, ?)",
                      [(key, text) for key, text in names.items() if text is not None])
        await tx.run("INSERT INTO members (id, created_at, display_name) VALUES (:k, 0, :v)",
                     {"k": "none", "v": None})
        await tx.many("INSERT INTO processed_events (event_id, at) VALUES (?, ?)",
                      [("neg", -5), ("big", 2**62), ("zero", 0)])
        await tx.run("UPDATE processed_events SET at = at -? WHERE event_id = ?", (-7, "neg"))
        await tx.run("UPDATE processed_events SET at = at + ? WHERE event_id = ?", (True, "zero"))
        inside = dict(tuple(r) for r in await tx.all(read))
    async with db.read() as tx:
        after = dict(tuple(r) for r in await tx.all(read))
        ats = dict(tuple(r) for r in await tx.all("SELECT event_id, at FROM processed_events"))
    assert inside == names == after
    assert ats == {"neg": 2, "big": 2**62, "zero": 1}


async def test_a_write_refused_at_any_point_leaves_nothing(db: Database) -> None:
    # A refused write fails the transaction: nothing before or after it is committed.
    with pytest.raises(Exception):  # noqa: B017 - each backend raises its own
        async with db.transaction() as tx:
            await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('a', 1)")
            await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('a', 2)")
            await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('b', 2)")
    async with db.read() as tx:
        assert await tx.value("SELECT count(*) FROM processed_events") == 0


async def test_dropped_notices_are_counted_with_the_drop_and_taken_back_once_told(
        db: Database) -> None:
    core = Twinome(db, FakeClock())
    async with db.transaction() as tx:
        for member in ("discord:1", "discord:2", "matrix:@a"):
            await tx.run("INSERT INTO members (id, display_name, created_at) VALUES (?, ?, 1)",
                         (member, member))
        ids = [await tx.insert("INSERT INTO outbox (platform, effect, created_at) "
                               "VALUES ('discord', '{}', 1)") for _ in range(3)]
    await core.done(ids, dropped=[MemberId("discord:1")] * 2 + [MemberId("matrix:@a")])
    assert await core.pending("discord") == []
    assert await core.dropped_notices("discord:") == {"discord:1": 2}
    await core.done([], dropped=[MemberId("discord:1")])  # one more, dropped while telling
    await core.told_dropped(MemberId("discord:1"), 2)
    assert await core.dropped_notices("discord:") == {"discord:1": 1}
    await core.told_dropped(MemberId("discord:1"), 5)
    assert await core.dropped_notices("discord:") == {}
    async with db.read() as tx:
        assert await tx.value("SELECT notices_dropped FROM members WHERE id = 'discord:1'") == 0


_META = "INSERT INTO meta (key, value) VALUES (?, ?)"
_TRIO = ("INSERT INTO trios (name, state, created_at, patience_s, relance, proposal_ttl_s) "
         "VALUES (:name, 'forming', 1, 60, 'off', 60)")


@pytest.mark.parametrize("count", [1, 2, 5, 40])  # one statement, a few, more than are joined
async def test_writes_sent_together_all_land(db: Database, count: int) -> None:
    async with db.transaction() as tx:
        await tx.run(_META, ("gone", "x"))
        await tx.together((_META, [(f"k{i}", str(i)) for i in range(count)]),
                          (_TRIO, [{"name": "T"}]),
                          ("DELETE FROM meta WHERE key = ?", [("gone",)]),
                          ("DELETE FROM trios WHERE name = ?", []))
    async with db.read() as tx:
        kept = {r[0]: r[1] for r in await tx.all("SELECT key, value FROM meta WHERE key LIKE 'k%' "
                                                 "OR key = 'gone'")}
        assert kept == {f"k{i}": str(i) for i in range(count)}
        assert await tx.value("SELECT count(*) FROM trios WHERE name = 'T'") == 1


async def test_writes_sent_together_fail_together(db: Database) -> None:
    await db.write(_META, ("taken", "1"))
    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
        async with db.transaction() as tx:
            await tx.together((_META, [("new", "2")]), (_TRIO, [{"name": "T"}]),
                              (_META, [("taken", "3")]))  # the key is taken: refused
    async with db.read() as tx:
        assert await tx.value("SELECT count(*) FROM meta WHERE key IN ('new', 'taken')") == 1
        assert await tx.value("SELECT count(*) FROM trios") == 0


TRICKY = ["it's", "''", "back\\slash \\' \\\\", "$1 ? :name -- not a comment", "ünïcödé 🙂",
          "line\nbreak\ttab", "/* not a comment */", "; COMMIT; DROP TABLE meta; --", ""]


@pytest.mark.parametrize("value", TRICKY)
async def test_a_transactions_first_write_keeps_its_values_exactly(db: Database,
                                                                   value: str) -> None:
    # On PostgreSQL the first write of a transaction goes with its BEGIN, its values
    # written in as literals: every text must come back as it was, and count as one row.
    async with db.transaction() as tx:
        assert await tx.changes(_META + " ON CONFLICT (key) DO NOTHING", (value, value)) == 1
        assert await tx.changes(_META + " ON CONFLICT (key) DO NOTHING", (value, "again")) == 0
    for _ in range(2):  # the next transactions begin as usual
        async with db.transaction() as tx:
            await tx.run("UPDATE meta SET value = value || :v WHERE key = :v", {"v": value})
    async with db.read() as tx:
        assert await tx.value("SELECT value FROM meta WHERE key = ?", (value,)) == value * 3


async def test_a_first_write_that_fails_leaves_the_next_transaction_clean(db: Database) -> None:
    await db.write(_META, ("taken", "1"))
    with pytest.raises((sqlite3.IntegrityError, asyncpg.UniqueViolationError)):
        async with db.transaction() as tx:
            await tx.run(_META, ("taken", "2"))  # refused, with the BEGIN on PostgreSQL
    async with db.transaction():  # a transaction that runs nothing: nothing to commit
        pass
    async with db.transaction() as tx:
        await tx.run(_META, ("next", "3"))
    async with db.read() as tx:
        rows = await tx.all("SELECT key, value FROM meta WHERE key IN ('taken', 'next') "
                            "ORDER BY key")
    assert [tuple(r) for r in rows] == [("next", "3"), ("taken", "1")]


async def test_the_databases_clock_is_in_unix_milliseconds(db: Database) -> None:
    # Leases are written in it: the same unit as the processes' own clocks, and close to
    # this machine's (the server runs here).
    before = int(time.time() * 1000)
    said = await db.clock_ms()
    after = int(time.time() * 1000)
    assert isinstance(said, int) and before - 1000 <= said <= after + 1000
