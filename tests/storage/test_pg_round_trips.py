"""How many times one line message waits on PostgreSQL: a lone event's latency is mostly
round trips. Its transaction makes four, as a bare loop recording the event's id and
upserting the line state does: the BEGIN with the id's insert, the line's read, every
write of the turn rule and its notices together, the COMMIT."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator

import pytest
from asyncpg.connection import LoggedQuery

from core.effects import Notify
from core.events import LineMessage
from core.ids import MemberId, RoomId
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


async def test_a_line_message_waits_on_four_round_trips(h: Harness) -> None:
    await form_trio(h)
    async with h.core.db.read() as tx:
        room = await tx.value("SELECT id FROM rooms WHERE purpose = 'pair' AND member_a = 'alice' "
                              "AND member_b = 'bob'")
    await h.write("alice", room)  # bob owes alice a reply
    paid, _ = await _statements(h, "bob", room)  # paid; alice owes, with a reminder job
    relance, told = await _statements(h, "bob", room)  # again before alice answered
    assert (await state(h, room, "bob"))["messages"] == 2
    assert [n.to for n in told] == ["bob"]  # the relance notice, with the writes
    for seen in (paid, relance):
        assert len(seen) == 4, seen
        assert "BEGIN" in seen[0] and "processed_events" in seen[0]
        assert seen[1].lstrip().startswith("SELECT")
        assert "line_state" in seen[2] and seen[3] == "COMMIT"
    assert "jobs" in paid[2] and "outbox" in relance[2]
