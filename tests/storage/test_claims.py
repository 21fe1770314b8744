"""The claim rules by which several processes share one outbox and the due jobs, on both
backends: a lane leased by another live owner is passed over, a lapsed lease is taken
over, a lane keeps its order whoever carries it, an empty lane is let go; a due job
fires once, whichever process takes it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.clock import FakeClock
from core.effects import Notify, lane_of, to_json
from core.ids import MemberId
from core.service import Twinome
from core.storage.db import Database
from core.timeutil import ts

A, B = "owner-a", "owner-b"  # two processes' owner ids


@pytest.fixture
async def core(target: str | Path) -> AsyncIterator[Twinome]:
    async with await Database.open(target) as db:
        yield Twinome(db, FakeClock())


async def queue(core: Twinome, *members: str) -> list[int]:
    """Write a notice to each member (one lane each: their direct chat); returns the ids."""
    ids = []
    async with core.db.transaction() as tx:
        for member in members:
            effect = Notify(MemberId(member), f"to {member}")
            ids.append(await tx.insert(
                "INSERT INTO outbox (platform, effect, created_at, lane) "
                "VALUES ('fake', ?, 0, ?)", (to_json(effect), lane_of(effect))))
    return ids


async def mine(core: Twinome, owner: str) -> list[str]:
    """Who the effects ``owner`` may carry out are for, in the order it reads them."""
    return [d.effect.to for d in await core.pending("fake", owner=owner)
            if isinstance(d.effect, Notify)]


async def test_a_lane_leased_by_another_owner_is_passed_over(core: Twinome) -> None:
    await queue(core, "ann", "ben")
    assert await core.claim("fake", A, now=0, until=1000) is None
    assert await core.claim("fake", B, now=500, until=1500) == 1000  # a look when A's ends
    assert await mine(core, A) == ["ann", "ben"]
    assert await mine(core, B) == []
    await queue(core, "cat", "ann")  # a new lane is free; ann's is still A's
    await core.claim("fake", B, now=600, until=1600)
    assert await mine(core, B) == ["cat"]
    assert await mine(core, A) == ["ann", "ben", "ann"]


async def test_a_lapsed_lease_is_taken_over_and_its_lane_keeps_its_order(
        core: Twinome) -> None:
    await queue(core, "ann", "ben", "ann", "ann")
    await core.claim("fake", A, now=0, until=1000)
    await core.renew("fake", A, until=2000)  # A works on: its leases last longer
    await core.claim("fake", B, now=1999, until=3000)
    assert await mine(core, B) == []
    assert await core.claim("fake", B, now=2000, until=3000) is None  # A died: lapsed
    assert await mine(core, B) == ["ann", "ben", "ann", "ann"]  # from the oldest, in order
    assert await mine(core, A) == []
    await core.renew("fake", A, until=9000)  # a late renewal brings nothing back
    assert await mine(core, A) == []


async def test_an_empty_lane_is_let_go_and_unread_effects_are_told(core: Twinome) -> None:
    first = await queue(core, "ann", "ben")
    await core.claim("fake", A, now=0, until=1000)
    read = await core.pending("fake", owner=A)
    await core.done([first[0]])  # ann's effect carried out; ben's waits (a retry, say)
    assert not await core.release("fake", A, after=read[-1].id)
    await core.claim("fake", B, now=1, until=1001)
    assert await mine(core, B) == []  # ben's lane is still A's: it has an effect waiting
    await queue(core, "ann")
    await core.claim("fake", B, now=2, until=1002)
    assert await mine(core, B) == ["ann"]  # ann's lane was let go, so B took it
    await queue(core, "ben")
    assert await core.release("fake", A, after=read[-1].id)  # A must read again
    assert await core.release("fake", A) is False  # stopping: every lane let go
    await core.claim("fake", B, now=3, until=1003)
    assert await mine(core, B) == ["ben", "ann", "ben"]


async def test_a_caller_carries_only_the_lanes_it_could_lease(core: Twinome) -> None:
    await queue(core, "ann")
    await core.claim("fake", A, now=0, until=1000)
    lanes = ["dm:ann", "dm:ben"]
    assert await core.claim_lanes("fake", B, lanes, now=10, until=1010) == {"dm:ben"}
    assert await core.claim_lanes("fake", A, lanes, now=20, until=1020) == {"dm:ann"}
    assert await core.claim_lanes("fake", A, lanes, now=1010, until=2010) == set(lanes)


async def test_due_jobs_fire_once_however_many_processes_take_them(
        target: str | Path) -> None:
    """Two processes' worth of cores fire the same due jobs at once: each job once."""
    one, two = await Database.open(target), await Database.open(target)
    try:
        clock = FakeClock()
        cores = [Twinome(one, clock), Twinome(two, clock)]
        until = ts(clock.now())
        async with one.transaction() as tx:
            for i in range(30):
                await tx.run("INSERT INTO members (id, created_at, away_until) VALUES (?, 0, ?)",
                             (f"m{i}", until))
                await tx.run("INSERT INTO jobs (due_at, kind, key, payload) "
                             "VALUES (?, 'away_end', ?, ?)",
                             (until, f"away:{i}", json.dumps({"member": f"m{i}", "until": until})))

        async def fire(core: Twinome) -> int:
            fired = 0
            while (due := await core.next_due()) is not None and due <= clock.now():
                fired += (await core.fire_due(limit=4)).fired
                await asyncio.sleep(0)
            return fired

        counts = await asyncio.gather(*(fire(core) for core in cores))
        assert sum(counts) == 30
        sent = [d.effect.to for d in await cores[0].pending() if isinstance(d.effect, Notify)]
        assert sorted(sent) == sorted(f"m{i}" for i in range(30))
    finally:
        await one.close()
        await two.close()
