"""A lone line message sent as one statement (a plan, ``Database.at_once``) where another
process writes too: what the plan relied on of its line is checked when it runs, so a
change made in between by another process (a command, a line message, a closed room, a
block) is never written over. The plan then fails whole, and the message is applied as an
ordinary transaction that reads the line afresh: the outcome is what one process alone
would have given. PostgreSQL only (the one backend with plans); two cores on one database.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from core.clock import FakeClock
from core.effects import Notify
from core.events import CommandReceived, LineMessage
from core.ids import MemberId, RoomId
from tests.helpers import Harness, notices
from tests.test_turns import lines_of, state

_ids = itertools.count()


@pytest.fixture
async def two(pg_url: str) -> AsyncIterator[tuple[Harness, Harness]]:
    """Two bot processes on one database, on one clock: ``a`` carries every effect out,
    ``b`` only applies events."""
    clock = FakeClock()
    a = await Harness.open(pg_url, clock)
    b = await Harness.open(pg_url, clock)
    yield a, b
    await a.close()
    await b.close()


async def by_b(b: Harness, who: str, text: str) -> None:
    """``who`` gives a command that process ``b`` takes."""
    await b.core.handle([CommandReceived(f"b{next(_ids)}", MemberId(who), None, text,
                                         who.capitalize())])


def replans(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Why plans failed, since the last call (each then ran as an ordinary transaction)."""
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("not planned")]
    caplog.clear()
    return said


@pytest.fixture
def plans(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="twinome.core")
    return caplog


async def _known(a: Harness, room: int) -> None:
    """``a`` knows the line: alice wrote there (bob owes her a reply)."""
    await a.write("alice", room)
    assert (await state(a, room, "bob"))["owes_since"] is not None


async def test_a_plan_relies_on_the_line_it_knows(two: tuple[Harness, Harness],
                                                  plans: pytest.LogCaptureFixture) -> None:
    a, _ = two
    ab = (await lines_of(a))["alice+bob"]
    await _known(a, ab)
    replans(plans)
    await a.write("bob", ab)  # pays his debt
    out = await a.write("bob", ab)  # again before alice answered: a relance note
    assert replans(plans) == []  # both planned, nothing read again
    assert (await state(a, ab, "bob"))["messages"] == 2
    assert len(notices(out, "bob")) == 1 and "has not answered yet" in notices(out, "bob")[0]


async def test_a_line_message_of_another_process_is_not_written_over(
        two: tuple[Harness, Harness], plans: pytest.LogCaptureFixture) -> None:
    a, b = two
    ab = (await lines_of(a))["alice+bob"]
    await _known(a, ab)
    await b.write("bob", ab)  # process b: bob pays; alice owes him now
    replans(plans)
    out = await a.write("alice", ab)  # a knew bob as owing: she would relance, unpaid
    assert replans(plans) != []  # the plan saw the line had changed
    alice, bob = await state(a, ab, "alice"), await state(a, ab, "bob")
    assert (alice["messages"], alice["replies"], alice["owes_since"]) == (2, 1, None)
    assert (bob["messages"], bob["replies"]) == (1, 1) and bob["owes_since"] is not None
    assert notices(out, "alice") == []  # she answered bob: no relance


async def test_a_patience_changed_by_another_process_is_the_one_told(
        two: tuple[Harness, Harness], plans: pytest.LogCaptureFixture) -> None:
    a, b = two
    ab = (await lines_of(a))["alice+bob"]
    await _known(a, ab)
    for who in ("alice", "bob", "carol"):
        await by_b(b, who, "trio settings patience 1d")
    out = await a.write("alice", ab)  # a relance: its note says the trio's patience
    assert replans(plans) != []
    told = notices(out, "alice")
    assert len(told) == 1 and "more than 1d," in told[0], told


async def test_an_absence_taken_through_another_process_holds_the_debt(
        two: tuple[Harness, Harness], plans: pytest.LogCaptureFixture) -> None:
    a, b = two
    ab = (await lines_of(a))["alice+bob"]
    await _known(a, ab)
    await a.write("bob", ab)  # alice owes now; a knows bob as present
    await by_b(b, "bob", "away for 3d")
    await a.write("bob", ab)  # away, he writes again: a relance
    await a.write("alice", ab)  # paid; bob owes again, while away: his wait does not run
    assert replans(plans) != []
    bob = await state(a, ab, "bob")
    assert bob["owes_since"] is not None and bob["accrual_from"] is None


async def test_a_block_made_through_another_process_silences_the_relance(
        two: tuple[Harness, Harness], plans: pytest.LogCaptureFixture) -> None:
    a, b = two
    ab = (await lines_of(a))["alice+bob"]
    await _known(a, ab)
    await by_b(b, "bob", "block @alice")
    out = await a.write("alice", ab)  # she writes again before bob answered
    assert replans(plans) != []
    assert [e for e in out if isinstance(e, Notify) and e.to == "alice"] == []


async def test_a_line_closed_by_another_process_is_left_alone(
        two: tuple[Harness, Harness], plans: pytest.LogCaptureFixture) -> None:
    a, b = two
    ab = (await lines_of(a))["alice+bob"]
    await _known(a, ab)
    async with b.core.db.transaction() as tx:  # process b closes the line
        await tx.run("UPDATE rooms SET state = 'closed' WHERE id = ?", (ab,))
    await a.write("bob", ab)
    assert replans(plans) != []
    assert (await state(a, ab, "bob"))["messages"] == 0  # not tracked: the line is closed


@pytest.mark.parametrize("first", ["a", "b"])
async def test_an_event_applied_by_either_process_is_applied_once(
        two: tuple[Harness, Harness], first: str) -> None:
    a, b = two
    ab = RoomId((await lines_of(a))["alice+bob"])
    await _known(a, ab)  # a's next message in the line is planned
    event = LineMessage(f"twice-{first}", MemberId("bob"), ab)
    order: list[Callable[[], Awaitable[object]]] = [
        lambda: a.core.handle([event]), lambda: b.core.handle([event])]
    if first == "b":
        order.reverse()
    done = [await run() for run in order]
    assert [len(applied.fresh) for applied in done] == [1, 0]  # type: ignore[attr-defined]
    assert (await state(a, ab, "bob"))["messages"] == 1
    again = await a.core.handle([event])  # and again by a, its line known
    assert again.fresh == frozenset() and (await state(a, ab, "bob"))["messages"] == 1
