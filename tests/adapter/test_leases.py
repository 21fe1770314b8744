"""Leases on the outbox's lanes are written in the database's clock: a process whose own
clock runs far ahead or behind still sees another's live lease as live, and a lapsed one
as lapsed (PostgreSQL: several processes, perhaps on several machines)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from bots.adapter.bindings import Bindings
from bots.adapter.pump import Pump
from core.clock import FakeClock
from core.effects import Notify, lane_of, to_json
from core.ids import MemberId
from core.service import Twinome
from core.storage.db import Database
from tests.adapter.fakes import FakeCarrier

MINUTE = 60_000


@pytest.fixture
async def core(pg_url: str) -> AsyncIterator[Twinome]:
    async with await Database.open(pg_url) as db:
        yield Twinome(db, FakeClock())


async def leased_by_another(core: Twinome, lasts_ms: int) -> None:
    """A notice to alice waits in her lane, leased by another process until ``lasts_ms``
    from now on the database's clock (negative: it lapsed that long ago)."""
    effect = Notify(MemberId("alice"), "hello")
    async with core.db.transaction() as tx:
        await tx.run("INSERT INTO outbox (platform, effect, created_at, lane) "
                     "VALUES ('fake', ?, 0, ?)", (to_json(effect), lane_of(effect)))
    now = await core.db.clock_ms()
    await core.claim("fake", "another", now - MINUTE, now + lasts_ms)


def pump_off_by(core: Twinome, carrier: FakeCarrier, off_ms: int) -> Pump:
    """A pump whose process's clock is ``off_ms`` away from the true time."""
    return Pump(core, carrier, Bindings(core, "fake"),
                wall_ms=lambda: int(time.time() * 1000) + off_ms)


@pytest.mark.parametrize("off_ms", [10 * MINUTE, -10 * MINUTE, 0])
async def test_a_live_lease_stays_its_holders_whatever_this_clock_says(
        core: Twinome, off_ms: int) -> None:
    await leased_by_another(core, MINUTE)
    carrier = FakeCarrier()
    await pump_off_by(core, carrier, off_ms).run_once()
    assert carrier.server.posted == []  # the other process carries it out


@pytest.mark.parametrize("off_ms", [10 * MINUTE, -10 * MINUTE, 0])
async def test_a_lapsed_lease_is_taken_over_whatever_this_clock_says(
        core: Twinome, off_ms: int) -> None:
    await leased_by_another(core, -1000)
    carrier = FakeCarrier()
    await pump_off_by(core, carrier, off_ms).run_once()
    assert [text for _, text in carrier.server.posted] == ["hello"]
