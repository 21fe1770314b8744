"""Quiet hours on every edge of the wall clock: midnight, the spring gap, the autumn fold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.clock import FakeClock
from core.quiet import inside, quiet_until, zone
from tests.conftest import form_trio
from tests.helpers import Harness, notices

ZONES = ["Europe/Paris", "America/New_York", "Australia/Lord_Howe", "America/Santiago",
         "Asia/Kolkata", "Pacific/Chatham", "UTC"]
# Around the 2026 transitions of those zones (spring gaps and autumn folds, both hemispheres).
TRANSITIONS = [datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC),
               datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC),
               datetime(2026, 4, 4, 15, tzinfo=UTC), datetime(2026, 10, 3, 16, tzinfo=UTC),
               datetime(2026, 4, 5, 3, tzinfo=UTC), datetime(2026, 9, 6, 4, tzinfo=UTC),
               datetime(2026, 9, 26, 14, tzinfo=UTC), datetime(2026, 4, 4, 14, tzinfo=UTC)]


def m(clock: str) -> int:
    hours, minutes = clock.split(":")
    return int(hours) * 60 + int(minutes)


def local(tz: str, *args: int, fold: int = 0) -> datetime:
    return datetime(*args, tzinfo=zone(tz)).replace(fold=fold).astimezone(UTC)  # type: ignore[misc]


@pytest.mark.parametrize(("tz", "window", "now", "expected"), [
    # Autumn fold, Paris: 03:00 CEST goes back to 02:00 CET. A window ending at 02:30 ends
    # twice; during the second 02:xx it ends at the second 02:30, never at the first (past) one.
    ("Europe/Paris", ("22:00", "02:30"), local("Europe/Paris", 2026, 10, 25, 2, 15, fold=1),
     local("Europe/Paris", 2026, 10, 25, 2, 30, fold=1)),
    ("Europe/Paris", ("22:00", "02:30"), local("Europe/Paris", 2026, 10, 25, 2, 15, fold=0),
     local("Europe/Paris", 2026, 10, 25, 2, 30, fold=0)),
    ("Europe/Paris", ("22:00", "02:30"), local("Europe/Paris", 2026, 10, 25, 2, 45, fold=0), None),
    ("America/New_York", ("23:00", "01:30"), local("America/New_York", 2026, 11, 1, 1, 10, fold=1),
     local("America/New_York", 2026, 11, 1, 1, 30, fold=1)),
    # Spring gap, Paris: 02:00 CET jumps to 03:00 CEST; 02:30 does not exist that night.
    ("Europe/Paris", ("01:00", "02:30"), local("Europe/Paris", 2026, 3, 29, 1, 30),
     datetime(2026, 3, 29, 1, 0, tzinfo=UTC)),
    ("America/New_York", ("22:00", "02:30"), local("America/New_York", 2026, 3, 8, 1, 59),
     datetime(2026, 3, 8, 7, 0, tzinfo=UTC)),
    # Windows across midnight, on ordinary days.
    ("Europe/Paris", ("22:00", "08:00"), local("Europe/Paris", 2026, 6, 1, 23, 0),
     local("Europe/Paris", 2026, 6, 2, 8, 0)),
    ("Europe/Paris", ("22:00", "08:00"), local("Europe/Paris", 2026, 6, 2, 7, 59),
     local("Europe/Paris", 2026, 6, 2, 8, 0)),
    ("Europe/Paris", ("22:00", "08:00"), local("Europe/Paris", 2026, 6, 2, 8, 0), None),
    ("America/New_York", ("08:00", "12:00"), local("America/New_York", 2026, 6, 2, 9, 0),
     local("America/New_York", 2026, 6, 2, 12, 0)),
    # Santiago changes its clocks at midnight: the end falls on the day that starts at 01:00.
    ("America/Santiago", ("22:00", "00:30"), local("America/Santiago", 2026, 9, 5, 23, 50),
     datetime(2026, 9, 6, 4, 0, tzinfo=UTC)),
])
def test_quiet_until_on_every_edge(tz: str, window: tuple[str, str], now: datetime,
                                   expected: datetime | None) -> None:
    assert quiet_until(tz, m(window[0]), m(window[1]), now) == expected


@settings(max_examples=400, deadline=None)
@given(tz=st.sampled_from(ZONES), start=st.integers(0, 24 * 60 - 1),
       end=st.integers(0, 24 * 60 - 1), base=st.sampled_from(TRANSITIONS),
       shift=st.integers(-36 * 3600, 36 * 3600))
def test_release_is_always_later_and_outside_quiet_hours(tz: str, start: int, end: int,
                                                         base: datetime, shift: int) -> None:
    now = base + timedelta(seconds=shift)
    z = zone(tz)
    until = quiet_until(tz, start, end, now)
    if start == end or not inside(z, start, end, now):
        assert until is None
        return
    assert until is not None and until > now
    assert not inside(z, start, end, until)
    assert inside(z, start, end, until - timedelta(seconds=1)), "the earliest such moment"


async def test_held_notices_come_out_once_on_the_night_the_clock_goes_back(
        db_target: str | Path) -> None:
    clock = FakeClock(local("Europe/Paris", 2026, 10, 24, 12, 0))
    h = await Harness.open(db_target, clock)
    try:
        await form_trio(h)
        await h.say("alice", "timezone Europe/Paris")
        await h.say("alice", "quiet 22:00-02:30")
        clock.set(local("Europe/Paris", 2026, 10, 25, 2, 15, fold=1))
        out = await h.say("bob", "away for 2d")
        assert notices(out, "alice") == [], "held through quiet hours"
        due = await h.core.next_due()
        assert due is not None and due > clock.now(), "the release is in the future"
        out = await h.advance(timedelta(minutes=20))
        assert len(notices(out, "alice")) == 1 and "Bob is away" in notices(out, "alice")[0]
    finally:
        await h.close()
