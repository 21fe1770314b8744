"""The carrier contract: every carrier under the shared pump keeps the same promises.

Each test runs against the console's carrier and the fake platform's, both wrapped in
:class:`Steered` so a test can make one notice fail or one room hold its notices back.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from bots.adapter.bindings import Bindings
from bots.adapter.pump import HOLD_LIMIT, LEASE, MAX_FAILURES, Pump
from bots.console.carrier import ConsoleCarrier
from bots.console.output import Shown
from bots.console.rooms import RoomBook
from core.clock import FakeClock
from core.effects import CreateRoom, Effect, Notify, Post, Reply, to_json
from core.ids import MemberId, RoomId, TrioId
from core.service import Delivery, Twinome
from core.storage.db import Database
from tests.adapter.fakes import FakeCarrier, Steered

ALICE, BOB = MemberId("alice"), MemberId("bob")


class Recorder:
    """A console sink that keeps (room, text) of every notice shown."""

    def __init__(self) -> None:
        self.shown: list[tuple[str | None, str | None]] = []

    def echo(self, line: str) -> None:
        return None

    def show(self, item: Shown) -> None:
        if item.kind in ("notice", "error", "report", "closed"):
            self.shown.append((item.room, item.text))


class Dies(BaseException):
    """Stands for a kill -9 between carrying an effect out and marking it done."""


class DyingCore(Twinome):
    """A core whose next ``done`` kills the process once armed, and whose next outbox read
    may be one taken earlier (``stale``: a pass that read before another task finished)."""

    armed = False
    stale: list[Delivery] | None = None

    async def pending(self, platform: str | None = None, limit: int = 500, after: int = 0,
                      *, owner: str | None = None, realms: Any = None) -> list[Delivery]:
        page, self.stale = self.stale, None
        if page is not None and after == 0:
            return page
        return await super().pending(platform, limit, after, owner=owner, realms=realms)

    async def done(self, ids: Any, bindings: Any = (), reports: Any = (),
                   dropped: Any = ()) -> None:
        if self.armed:
            raise Dies
        await super().done(ids, bindings, reports, dropped)


@dataclass
class Rig:
    """A pump over one real carrier kind, with a wall clock the test moves."""

    core: DyingCore
    make: Callable[[Twinome, Bindings], Any]
    seen: Callable[[], list[tuple[str | None, str | None]]]
    steered: Steered
    pump: Pump
    now: list[int] = field(default_factory=lambda: [0])

    async def queue(self, *effects: Effect) -> None:
        async with self.core.db.transaction() as tx:
            await tx.many("INSERT INTO outbox (platform, effect, created_at) VALUES (?, ?, 0)",
                          [(self.steered.platform, to_json(e)) for e in effects])

    def texts(self) -> list[str | None]:
        return [text for _, text in self.seen()]

    def restart(self) -> None:
        """A new process: a new carrier and pump (nothing in memory), the same database."""
        bindings = Bindings(self.core, self.steered.platform)
        old = self.steered  # what the test steers is the platform's, not the process's
        self.steered = Steered(self.make(self.core, bindings), old.fail, old.closed, old.keys)
        self.pump = Pump(self.core, self.steered, bindings, wall_ms=lambda: self.now[0],
                         database_clock=False)  # the test's clock makes leases lapse
        if self.core.db.shared:  # the dead process's lane leases lapse before the new one
            self.now[0] += int(LEASE * 1000)  # can take its lanes over (PostgreSQL)

    async def pending(self) -> int:
        return len(await self.core.pending(self.steered.platform))


def console_kind(record: Recorder) -> Callable[[Twinome, Bindings], Any]:
    def make(core: Twinome, bindings: Bindings) -> Any:
        return ConsoleCarrier(RoomBook(core, bindings), record, "!")
    return make


@pytest.fixture(params=["console", "fake"])
async def rig(request: pytest.FixtureRequest, db_target: str | Path) -> AsyncIterator[Rig]:
    async with await Database.open(db_target) as db:
        core = DyingCore(db, FakeClock())
        if request.param == "console":
            record = Recorder()
            make = console_kind(record)

            def seen() -> list[tuple[str | None, str | None]]:
                return record.shown
        else:
            fake = FakeCarrier()

            def make(core: Twinome, bindings: Bindings) -> Any:
                return FakeCarrier(fake.server)

            def seen() -> list[tuple[str | None, str | None]]:
                return [(w, t) for w, t in fake.server.posted]
        now = [1_000_000]
        bindings = Bindings(core, "console" if request.param == "console" else "fake")
        steered = Steered(make(core, bindings))
        pump = Pump(core, steered, bindings, wall_ms=lambda: now[0], database_clock=False)
        yield Rig(core, make, seen, steered, pump, now)


def a_room(number: int = 1) -> CreateRoom:
    return CreateRoom(RoomId(number), TrioId(1), "pair", (ALICE, BOB), "A + B", "your line")


async def test_each_room_keeps_its_order(rig: Rig) -> None:
    await rig.queue(a_room(1), Post(RoomId(1), "one"), Notify(ALICE, "private"),
                    Post(RoomId(1), "two"), a_room(2), Post(RoomId(2), "other"),
                    Post(RoomId(1), "three"))
    await rig.pump.drain()
    texts = rig.texts()
    assert [t for t in texts if t in ("one", "two", "three")] == ["one", "two", "three"]
    assert set(texts) == {"one", "two", "three", "private", "other"}
    assert await rig.pending() == 0


async def test_a_passing_failure_holds_its_room_then_is_retried(rig: Rig) -> None:
    rig.steered.fail["one"] = 1
    await rig.queue(a_room(1), Post(RoomId(1), "one"), Post(RoomId(1), "two"),
                    Notify(ALICE, "elsewhere"))
    await rig.pump.run_once()
    assert rig.texts() == ["elsewhere"], "the room waits; other lanes go on"
    await rig.pump.run_once()
    assert rig.texts() == ["elsewhere"], "not before the retry delay"
    rig.now[0] += 1500
    await rig.pump.run_once()
    assert rig.texts() == ["elsewhere", "one", "two"]


async def test_repeated_failures_give_up_and_free_the_room(rig: Rig) -> None:
    rig.steered.fail["doomed"] = 99
    await rig.queue(a_room(1), Post(RoomId(1), "doomed"), Post(RoomId(1), "after"))
    for _ in range(MAX_FAILURES - 1):
        await rig.pump.run_once()
        rig.now[0] += 10_000
    rig.restart()  # failures counted so far survive a restart
    await rig.pump.run_once()
    await rig.pump.run_once()
    assert rig.texts() == ["after"] and await rig.pending() == 0
    assert rig.steered.keys.count(rig.steered.keys[0]) == MAX_FAILURES


async def test_a_held_notice_waits_then_goes_once_released(rig: Rig) -> None:
    await rig.queue(a_room(1))
    await rig.pump.drain()
    ref = await rig.pump.bindings.room(RoomId(1))
    assert ref is not None
    rig.steered.closed.add(ref)
    await rig.queue(Post(RoomId(1), "welcome"), Post(RoomId(1), "second"))
    await rig.pump.run_once()
    assert rig.texts() == [] and rig.pump.waiting == 2
    rig.steered.closed.discard(ref)
    rig.pump.wake()
    await rig.pump.run_once()
    assert rig.texts() == ["welcome", "second"] and rig.pump.waiting == 0


async def test_a_notice_held_too_long_goes_anyway_even_across_a_restart(rig: Rig) -> None:
    await rig.queue(a_room(1))
    await rig.pump.drain()
    ref = await rig.pump.bindings.room(RoomId(1))
    assert ref is not None
    rig.steered.closed.add(ref)
    await rig.queue(Post(RoomId(1), "welcome"))
    await rig.pump.run_once()
    rig.restart()
    rig.now[0] += int(HOLD_LIMIT * 1000) + 1
    await rig.pump.run_once()
    assert rig.texts() == ["welcome"]


async def test_a_crash_between_carrying_out_and_done_resends_with_the_same_key(
        rig: Rig) -> None:
    await rig.queue(a_room(1))
    await rig.pump.drain()
    await rig.queue(Post(RoomId(1), "only once"))
    rig.core.armed = True
    with pytest.raises(Dies):
        await rig.pump.drain()
    rig.core.armed = False
    rig.restart()
    await rig.pump.drain()
    assert await rig.pending() == 0
    keys = rig.steered.keys
    assert len(keys) == 2 and keys[0] == keys[1], "the re-send carries the same key"
    if rig.steered.platform == "fake":
        assert rig.texts() == ["only once"], "so a platform that dedupes by key shows it once"


async def test_claimed_replies_are_left_to_their_caller_who_carries_them_once(rig: Rig) -> None:
    rig.pump.claim(["cmd1"])
    await rig.queue(Reply(ALICE, None, "cmd1", "your answer"), Notify(ALICE, "and then"))
    await rig.pump.run_once()
    assert rig.texts() == [], "the reply is its caller's; the notice waits behind it"
    replies = [d for d in await rig.core.pending(rig.steered.platform)
               if isinstance(d.effect, Reply)]
    await rig.pump.carry(replies, ["cmd1"])
    assert rig.texts() == ["your answer"]
    assert rig.pump.woken, "the notice held behind the claim is the pump's again"
    await rig.pump.run_once()
    assert rig.texts() == ["your answer", "and then"] and await rig.pending() == 0


async def test_a_pass_that_read_a_claimed_reply_before_it_was_carried_skips_it(
        rig: Rig) -> None:
    rig.pump.claim(["cmd1"])
    await rig.queue(Reply(ALICE, None, "cmd1", "only once"))
    read_early = await rig.core.pending(rig.steered.platform)
    await rig.pump.carry(read_early, ["cmd1"])
    rig.core.stale = read_early  # that pass goes on after the claim ended
    await rig.pump.run_once()
    assert rig.texts() == ["only once"] and len(rig.steered.keys) == 1
    assert await rig.pending() == 0


async def test_a_claimed_reply_that_cannot_go_now_is_retried_by_the_pump(rig: Rig) -> None:
    rig.steered.fail["busy"] = 1
    rig.pump.claim(["cmd1"])
    await rig.queue(Reply(ALICE, None, "cmd1", "busy"))
    await rig.pump.carry(await rig.core.pending(rig.steered.platform), ["cmd1"])
    assert rig.texts() == [] and rig.pump.woken
    rig.now[0] += 1500
    await rig.pump.run_once()
    assert rig.texts() == ["busy"] and await rig.pending() == 0
