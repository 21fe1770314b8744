"""The connections to PostgreSQL over time: the server restarts under a running bot
(nothing is lost, nothing is applied twice, the bot carries on) or in the middle of a
read (run again), and a transaction begun ahead by the previous COMMIT. A server of its
own, so the restart disturbs no other test."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from core.errors import StorageError
from core.events import CommandReceived, LineMessage
from core.ids import MemberId, RoomId
from core.runtime import Runtime
from core.storage.db import Database, Tx
from tests.conftest import form_trio
from tests.helpers import Harness, shown
from tests.pgserver import PgServer, binaries


@pytest.fixture(scope="module")
def server() -> Iterator[PgServer]:
    found = binaries()
    if found is None:
        pytest.fail("PostgreSQL is not installed (apt-get install -y postgresql)")
    started = PgServer(found)
    started.start()
    yield started
    started.stop()


@pytest.fixture
async def h(server: PgServer) -> AsyncIterator[Harness]:
    harness = await Harness.open(await server.create())
    yield harness
    await harness.close()


async def _pair_line(h: Harness) -> tuple[int, str, str]:
    async with h.core.db.read() as tx:
        row = await tx.one("SELECT id, member_a, member_b FROM rooms WHERE purpose = 'pair' "
                           "ORDER BY id LIMIT 1")
    assert row is not None
    return row[0], row[1], row[2]


async def _count(h: Harness) -> tuple[int, int]:
    """Line messages counted in the pair lines' turn state, and event ids recorded."""
    async with h.core.db.read() as tx:
        messages = await tx.value("SELECT coalesce(sum(messages), 0) FROM line_state")
        seen = await tx.value("SELECT count(*) FROM processed_events WHERE event_id LIKE 'r-%'")
    return int(messages), int(seen)


async def test_events_across_a_server_restart_are_applied_once(
        server: PgServer, h: Harness) -> None:
    await form_trio(h)
    room, a, b = await _pair_line(h)
    before, _ = await _count(h)
    runtime = Runtime(h.core)
    tasks, each = 4, 60
    applied = 0  # events whose batch committed
    quarter, restarted = asyncio.Event(), asyncio.Event()

    async def submitter(k: int) -> None:
        nonlocal applied
        for i in range(each):
            who = MemberId(a if (i + k) % 2 else b)
            done = await runtime.submit(LineMessage(f"r-{k}-{i}", who, RoomId(room)))
            applied += len(done.fresh)
            if applied >= tasks * each // 4:
                quarter.set()
            if i == each // 3:
                await restarted.wait()  # a third before the restart, the rest across and after

    async def restart() -> None:
        await quarter.wait()
        await asyncio.to_thread(server.restart)
        restarted.set()

    async with runtime:
        await asyncio.wait_for(asyncio.gather(restart(), *(submitter(k) for k in range(tasks))),
                               timeout=60)
        # The bot's next command works, through the same runtime.
        done = await runtime.submit(CommandReceived("after", MemberId(a), None, "trio info"))
    assert done.fresh == {"after"}
    after, seen = await _count(h)
    assert seen == tasks * each
    assert after - before == tasks * each  # each message counted once in the turn state
    answer = [shown(d.effect) for d in done.replies]
    assert len(answer) == 1 and "Les Trois" in answer[0]


async def test_a_write_begun_by_the_last_commit_sees_what_others_committed_since(
        server: PgServer) -> None:
    url = await server.create()
    db = await Database.open(url)
    other = await asyncpg.connect(url)
    try:
        await db.write("INSERT INTO meta (key, value) VALUES ('mine', '1')")  # begins the next
        await other.execute("INSERT INTO meta (key, value) VALUES ('theirs', '2')")
        async with db.transaction() as tx:
            assert await tx.value("SELECT value FROM meta WHERE key = 'theirs'") == "2"
            await tx.run("UPDATE meta SET value = '3' WHERE key = 'theirs'")
        assert await other.fetchval("SELECT value FROM meta WHERE key = 'theirs'") == "3"
    finally:
        await other.close()
        await db.close()


async def test_a_read_whose_connection_drops_midway_runs_again(server: PgServer) -> None:
    db = await Database.open(await server.create())
    runs = 0

    async def body(tx: Tx) -> str:
        nonlocal runs
        runs += 1
        instance = await tx.value("SELECT value FROM meta WHERE key = 'instance'")
        if runs == 1:
            await asyncio.to_thread(server.restart)  # its connection is gone under it
        return f"{instance}/{await tx.value('SELECT count(*) FROM trios')}"

    try:
        async with db.read() as tx:
            instance = await tx.value("SELECT value FROM meta WHERE key = 'instance'")
        assert await db.read_inline(body) == f"{instance}/0"
        assert runs == 2
        assert await db.read_value("SELECT value FROM meta WHERE key = 'instance'") == instance
    finally:
        await db.close()


async def test_a_read_block_whose_connection_drops_midway_fails_plainly(
        server: PgServer) -> None:
    db = await Database.open(await server.create())
    try:
        with pytest.raises(StorageError, match="Lost the database"):
            async with db.read() as tx:
                await tx.value("SELECT 1")
                await asyncio.to_thread(server.restart)
                await tx.value("SELECT 1")  # a block cannot be run again: it says so
        assert await db.read_value("SELECT 2") == 2  # the next read has a connection
    finally:
        await db.close()
