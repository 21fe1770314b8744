"""How many times one line message waits on PostgreSQL: a lone event's latency is mostly
round trips. Once its line was read, its whole transaction is one statement (a plan: the
id's insert, every write of the turn rule and its notices, and the check that the line
still reads as known); the first message of a line reads it first, outside the
transaction. When the plan cannot hold (another process changed the line), the message
runs as an ordinary transaction of four round trips, as a bare loop recording the event's
id and upserting the line state makes: the BEGIN with the id's insert, the line's read,
the writes together, the COMMIT."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from asyncpg.connection import LoggedQuery

from core.effects import Notify
from core.events import LineMessage
from core.ids import MemberId, RoomId
from core.runtime import Runtime
from core.storage.postgres import PgDatabase
from tests.conftest import form_trio
from tests.helpers import Harness
from tests.test_turns import state

_ids = itertools.count()


@pytest.fixture
async def h(pg_url: str) -> AsyncIterator[Harness]:
    harness = await Harness.open(pg_url)
    yield harness
    await harness.close()


async def _statements(h: Harness, who: str, room: int) -> tuple[list[str], list[Notify]]:
    """The statements the write connection ran for one line message, and its notices."""
    db = h.core.db
    assert isinstance(db, PgDatabase)
    seen: list[str] = []

    def logged(query: LoggedQuery) -> None:
        seen.append(query.query)

    conn = db._conn  # the write connection, as a whitebox
    conn.add_query_logger(logged)
    try:
        event = LineMessage(f"trip-{next(_ids)}", MemberId(who), RoomId(room))
        await h.core.handle([event])
        await asyncio.sleep(0)  # the logger is called soon after each statement
    finally:
        conn.remove_query_logger(logged)
    items = await h.core.pending()
    await h.core.done([i.id for i in items])
    return seen, [i.effect for i in items if isinstance(i.effect, Notify)]


async def _pair(h: Harness) -> int:
    await form_trio(h)
    async with h.core.db.read() as tx:
        room: int = await tx.value("SELECT id FROM rooms WHERE purpose = 'pair' AND "
                                   "member_a = 'alice' AND member_b = 'bob'")
    return room


async def test_a_line_message_is_one_statement_once_its_line_is_known(h: Harness) -> None:
    room = await _pair(h)
    first, _ = await _statements(h, "alice", room)  # bob owes alice a reply
    paid, _ = await _statements(h, "bob", room)  # paid; alice owes, with a reminder job
    relance, told = await _statements(h, "bob", room)  # again before alice answered
    assert (await state(h, room, "bob"))["messages"] == 2
    assert [n.to for n in told] == ["bob"]  # the relance notice, with the writes
    assert len(first) == 2 and first[0].lstrip().startswith("SELECT"), first  # the line
    for seen in (first[1:], paid, relance):
        assert len(seen) == 1, seen
        assert seen[0].startswith("WITH") and "BEGIN" not in seen[0]  # a transaction alone
        assert all(table in seen[0] for table in ("processed_events", "line_state",
                                                  "twinome_expect"))
    assert "jobs" in paid[0] and "outbox" in relance[0]


async def test_a_line_message_that_cannot_be_planned_waits_on_four_round_trips(
        h: Harness) -> None:
    room = await _pair(h)
    await h.write("alice", room)  # the line is known
    async with h.core.db.transaction() as tx:  # as another process would: a name changes
        await tx.run("UPDATE members SET display_name = 'Roberto' WHERE id = 'bob'")
    seen, _ = await _statements(h, "bob", room)
    assert seen[0].startswith("WITH")  # the plan, refused: what it knew of the line changed
    ordinary = seen[1:]
    assert len(ordinary) == 4, ordinary
    assert "BEGIN" in ordinary[0] and "processed_events" in ordinary[0]
    assert ordinary[1].lstrip().startswith("SELECT")
    assert "line_state" in ordinary[2] and ordinary[3] == "COMMIT"
    assert (await state(h, room, "bob"))["messages"] == 1
    again, _ = await _statements(h, "alice", room)  # the line read afresh is known again
    assert len(again) == 1


@pytest.mark.parametrize("known", [True, False])
async def test_a_process_knows_the_lines_written_in_last_from_its_start(
        h: Harness, pg_url: str, known: bool) -> None:
    room = await _pair(h)
    await h.write("alice", room)
    again = await Harness.open(pg_url, h.clock)  # the bot started again
    try:
        if not known:
            again.core.warm_lines = 0
        runtime = Runtime(again.core)
        await runtime.start(scheduler=False)  # its start reads them
        try:
            seen, _ = await _statements(again, "bob", room)
        finally:
            await runtime.stop()
    finally:
        await again.close()
    assert len(seen) == (1 if known else 2), seen  # else the line is read first
    assert (await state(h, room, "bob"))["messages"] == 1
