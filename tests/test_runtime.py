"""The shared runtime: many concurrent submitters, group commit, the scheduler."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from core.clock import FakeClock
from core.effects import Notify, Reply
from core.errors import StorageError
from core.events import CommandReceived, Event, LineMessage
from core.ids import MemberId, RoomId
from core.runtime import Runtime
from core.service import Twinome
from core.storage.db import Database
from tests.helpers import Harness, code_in, replies


async def formed_trios(h: Harness, count: int) -> list[tuple[list[str], list[int]]]:
    """``count`` active trios: their members and their pair lines' room ids."""
    trios = []
    for t in range(count):
        a, b, c = f"a{t}", f"b{t}", f"c{t}"
        code = code_in(replies(await h.say(a, f"trio new T{t}"))[0])
        await h.say(b, f"trio join {code}")
        code = code_in(replies(await h.say(a, "trio invite"))[0])
        await h.say(c, f"trio join {code}")
        async with h.core.db.read() as tx:
            rows = await tx.all("SELECT r.id FROM rooms r JOIN trios t ON t.id = r.trio_id "
                                "WHERE t.name = ? AND r.purpose = 'pair' ORDER BY r.id", (f"T{t}",))
        trios.append(([a, b, c], [r[0] for r in rows]))
    return trios


async def test_a_thousand_events_from_two_hundred_tasks_are_each_applied_once(
        h: Harness) -> None:
    trios = await formed_trios(h, 10)
    rng = random.Random(4)
    events: list[Event] = []
    for i in range(1000):
        members, lines = rng.choice(trios)
        who = MemberId(rng.choice(members))
        if i % 4 == 0:
            events.append(CommandReceived(f"c{i}", who, None, "trio list"))
        else:
            async with h.core.db.read() as tx:
                mine = [r for r in lines if await tx.value(
                    "SELECT 1 FROM rooms WHERE id = ? AND ? IN (member_a, member_b)", (r, who))]
            events.append(LineMessage(f"l{i}", who, RoomId(rng.choice(mine))))
    duplicates = [rng.choice(events) for _ in range(100)]  # the platform delivered these twice
    work = events + duplicates
    rng.shuffle(work)
    async with h.core.db.read() as tx:
        before = await tx.value("SELECT coalesce(sum(messages), 0) FROM line_state")

    runtime = Runtime(h.core)
    async with runtime:
        async def submitter(mine: list[Event]) -> list[bool]:
            results = []
            for event in mine:
                applied = await runtime.submit(event)
                results.append(event.event_id in applied.fresh)
            return results

        chunks = [work[i::200] for i in range(200)]
        outcomes = await asyncio.gather(*(submitter(c) for c in chunks))

    fresh_count = sum(sum(o) for o in outcomes)
    assert fresh_count == 1000, "each distinct event applied exactly once, duplicates skipped"
    assert runtime.batches < 1100 / 2, "concurrent single events were committed together"
    async with h.core.db.read() as tx:
        after = await tx.value("SELECT coalesce(sum(messages), 0) FROM line_state")
        processed = await tx.value(
            "SELECT count(*) FROM processed_events WHERE event_id LIKE 'c%' OR event_id LIKE 'l%'")
    lines_sent = sum(1 for e in events if isinstance(e, LineMessage))
    assert after - before == lines_sent and processed == 1000
    answers = Counter(d.effect.in_reply_to for d in await h.core.pending(limit=5000)
                      if isinstance(d.effect, Reply))
    commands = [e.event_id for e in events if isinstance(e, CommandReceived)]
    assert all(answers[c] == 1 for c in commands) and len(answers) == len(commands)
    assert not [d for d in await h.core.pending(limit=5000)
                if isinstance(d.effect, Reply) and d.effect.error]


async def test_concurrent_handle_calls_wait_their_turn_instead_of_failing(h: Harness) -> None:
    calls = [h.core.handle([CommandReceived(f"g{i}", MemberId(f"u{i}"), None, f"trio new G{i}")])
             for i in range(5)]
    results = await asyncio.gather(*calls, return_exceptions=True)
    assert not [r for r in results if isinstance(r, BaseException)]
    async with h.core.db.read() as tx:
        assert await tx.value("SELECT count(*) FROM trios") == 5


async def test_reads_do_not_wait_for_an_open_write_transaction(h: Harness) -> None:
    await h.say("alice", "help")
    async with h.core.db.transaction() as tx:
        await tx.run("DELETE FROM outbox")  # not committed yet
        seen = await asyncio.wait_for(h.core.pending(), timeout=2)
    assert seen == []  # already carried out by the harness
    await h.core.handle([CommandReceived("r1", MemberId("alice"), None, "help")])
    async with h.core.db.transaction() as tx:
        await tx.run("DELETE FROM outbox")
        still = await asyncio.wait_for(h.core.pending(), timeout=2)
        assert [d.effect.kind for d in still] == ["reply"], "only committed data is read"


async def reminder_setup(path: Path | str, clock: FakeClock) -> None:
    """Alice writes to Bob in their line; Bob's reminder is due after the patience."""
    h = await Harness.open(path, clock)
    await formed_trios(h, 1)
    async with h.core.db.read() as tx:
        line = await tx.value("SELECT id FROM rooms WHERE member_a = 'a0' AND member_b = 'b0'")
    await h.write("a0", line)
    await h.close()


async def notified_by_scheduler(core: Twinome, *, move: Callable[[], None] | None = None,
                                within: float = 5) -> list[str]:
    """Run a runtime on ``core`` until its first commit that wrote effects (after ``move``
    moved the fake clock and woke the scheduler); to whom the notices then queued go."""
    woken = asyncio.Event()
    runtime = Runtime(core)
    runtime.on_effects(woken.set)
    async with runtime:
        if move is not None:
            move()
            runtime.wake()
        await asyncio.wait_for(woken.wait(), timeout=within)
    return [d.effect.to for d in await core.pending() if isinstance(d.effect, Notify)]


async def test_the_scheduler_fires_a_due_reminder_with_no_inbound_traffic(
        db_target: str | Path) -> None:
    clock = FakeClock()
    path = db_target
    await reminder_setup(path, clock)
    async with await Database.open(path) as db:
        notified = await notified_by_scheduler(Twinome(db, clock), move=lambda: clock.advance(
            timedelta(hours=73)))  # a fake clock moved; a real one is caught by the sleep itself
    assert notified == ["b0"]


class _Flaky(Twinome):
    """A core whose first look at the jobs fails (the database went away for a moment)."""

    failed = False

    async def next_due(self) -> datetime | None:
        if not self.failed:
            self.failed = True
            raise StorageError("the database is unreachable")
        return await super().next_due()


async def test_the_scheduler_outlives_a_failed_look_at_the_jobs(
        db_target: str | Path, caplog: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    await reminder_setup(db_target, clock)
    clock.advance(timedelta(hours=73))
    async with await Database.open(db_target) as db:
        core = _Flaky(db, clock)
        notified = await notified_by_scheduler(core, within=10)  # looked again, and fired
    assert core.failed and notified == ["b0"]
    assert "the scheduler could not look at the jobs" in caplog.text


async def test_a_job_due_while_the_bot_was_down_fires_at_start(db_target: str | Path) -> None:
    clock = FakeClock()
    path = db_target
    await reminder_setup(path, clock)
    clock.advance(timedelta(days=4))  # the bot was down when it came due
    async with await Database.open(path) as db:
        notified = await notified_by_scheduler(Twinome(db, clock))
        async with db.read() as tx:
            assert await tx.value("SELECT count(*) FROM jobs WHERE kind = 'remind'") == 0
    assert notified == ["b0"]


async def test_a_batch_that_plants_a_job_wakes_the_sleeping_scheduler(
        db_target: str | Path) -> None:
    async with await Database.open(db_target) as db:
        runtime = Runtime(Twinome(db, FakeClock()))
        async with runtime:
            await asyncio.sleep(0.05)  # no job at all: the scheduler sleeps (up to a minute)
            assert runtime.looks == 1
            await runtime.submit(CommandReceived("q1", MemberId("alice"), None, "help"))
            await asyncio.sleep(0.05)
            assert runtime.looks == 1, "a batch that planted no job leaves it asleep"
            await runtime.submit(CommandReceived("q2", MemberId("alice"), None, "away for 3d"))
            await asyncio.sleep(0.05)
            assert runtime.looks == 2, "the end of the away time woke it to look again"


async def test_events_submitted_together_keep_their_order(h: Harness) -> None:
    runtime = Runtime(h.core)
    async with runtime:
        await runtime.submit_many([
            CommandReceived("o1", MemberId("alice"), None, "trio new First"),
            CommandReceived("o2", MemberId("alice"), None, "trio new Second confirm"),
        ])
    async with h.core.db.read() as tx:
        names = [r[0] for r in await tx.all("SELECT name FROM trios ORDER BY id")]
    assert names == ["First", "Second"]


async def test_each_submitter_gets_the_replies_to_its_own_events_as_outbox_rows(
        h: Harness) -> None:
    runtime = Runtime(h.core)
    woken: list[int] = []
    runtime.on_effects(lambda: woken.append(1))
    async with runtime:
        mine, theirs = await asyncio.gather(
            runtime.submit_many([CommandReceived("r1", MemberId("alice"), None, "help"),
                                 CommandReceived("r2", MemberId("alice"), None, "trio list")],
                                carries=True),
            runtime.submit(CommandReceived("r3", MemberId("bob"), None, "trio list")))
    pending = {d.id: d.effect for d in await h.core.pending()}
    assert [d.effect.in_reply_to for d in mine.replies if isinstance(d.effect, Reply)] \
        == ["r1", "r2"]
    assert [d.effect.to for d in theirs.replies if isinstance(d.effect, Reply)] == ["bob"]
    assert all(pending[d.id] == d.effect for d in (*mine.replies, *theirs.replies))
    assert woken, "bob's reply is nobody's to carry: the listeners are woken for it"


async def test_a_batch_of_replies_its_submitter_carries_wakes_no_listener(h: Harness) -> None:
    runtime = Runtime(h.core)
    woken: list[int] = []
    runtime.on_effects(lambda: woken.append(1))
    async with runtime:
        applied = await runtime.submit_many(
            [CommandReceived("c1", MemberId("alice"), None, "trio list")], carries=True)
        assert len(applied.replies) == 1 and not woken
        await runtime.submit_many(
            [CommandReceived("c2", MemberId("alice"), None, "trio new Les Trois")], carries=True)
        assert not woken, "only its reply"
        await runtime.submit_many(
            [CommandReceived("c1", MemberId("alice"), None, "trio list")], carries=True)
        assert not woken, "a replayed event writes nothing"


async def test_a_lone_command_that_fails_is_answered_and_changes_nothing(h: Harness) -> None:
    runtime = Runtime(h.core)
    async with runtime:
        applied = await runtime.submit(CommandReceived("e1", MemberId("zed"), None,
                                                       "vote 9 yes"))
        again = await runtime.submit(CommandReceived("e1", MemberId("zed"), None,
                                                     "vote 9 yes"))
    [reply] = [d.effect for d in applied.replies]
    assert isinstance(reply, Reply) and reply.error and reply.to == "zed"
    assert applied.fresh == {"e1"} and not again.fresh, "applied once, redone or not"
    assert len(await h.core.pending()) == 1
    async with h.core.db.read() as tx:
        assert await tx.value("SELECT count(*) FROM members WHERE id = 'zed'") == 0
