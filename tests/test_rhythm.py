"""Away, back, quiet hours and time zones, and how they pause the turn clocks."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.clock import FakeClock
from core.effects import Reply
from core.rhythm import parse_away, parse_window, zone_name
from tests.helpers import Harness, notices, replies
from tests.test_turns import DAY, HOUR, lines_of, state, turn_of


async def member(h: Harness, who: str) -> dict[str, object]:
    async with h.core.db.transaction() as tx:
        row = await tx.one("SELECT * FROM members WHERE id = ?", (who,))
    assert row is not None
    return dict(row)


async def error_of(h: Harness, who: str, text: str) -> str:
    out = await h.say(who, text)
    assert len(out) == 1 and isinstance(out[0], Reply) and out[0].error, out
    assert "went wrong" not in out[0].text
    return out[0].text


async def test_away_pauses_the_waiting_time(h: Harness) -> None:
    rooms = await lines_of(h)
    await h.write("alice", rooms["alice+bob"])
    await h.advance(48 * HOUR)
    told = await h.say("bob", "away")
    assert "until you type !back" in replies(told)[0]
    assert notices(await h.advance(5 * DAY), "bob") == []
    back = await h.say("bob", "back")
    assert "waits for your reply in 1 line" in replies(back)[0]
    assert notices(back, "alice") == ["Bob is back."]
    assert notices(await h.advance(24 * HOUR - timedelta(minutes=1)), "bob") == []
    out = await h.advance(timedelta(minutes=1))
    assert len(notices(out, "bob")) == 1 and "Alice" in notices(out, "bob")[0]


async def test_an_away_with_an_end_resumes_by_itself_even_after_a_restart(
        db_target: str | Path) -> None:
    path, clock = db_target, FakeClock()
    first = await Harness.open(path, clock)
    rooms = await lines_of(first)
    await first.write("alice", rooms["alice+bob"])
    await first.advance(48 * HOUR)
    told = await first.say("bob", "away for 5d family visit")
    mates = notices(told, "alice") + notices(told, "carol")
    assert len(mates) == 2 and all("Bob is away until" in t and "family visit" in t for t in mates)
    await first.close()
    second = await Harness.open(path, clock)
    try:
        assert "Bob is away until" in await turn_of(second, "alice")
        out = await second.advance(5 * DAY)
        assert notices(out, "bob") and "away time is over" in notices(out, "bob")[0]
        assert "away" not in await turn_of(second, "alice")
        assert notices(await second.advance(24 * HOUR - timedelta(minutes=1)), "bob") == []
        assert len(notices(await second.advance(timedelta(minutes=1)), "bob")) == 1
        assert notices(await second.advance(9 * DAY), "bob") == []
    finally:
        await second.close()


async def test_owing_while_away_starts_counting_at_back(h: Harness) -> None:
    rooms = await lines_of(h)
    await h.say("bob", "away")
    await h.write("alice", rooms["alice+bob"])
    turn = await turn_of(h, "alice")
    assert "Bob owes you a reply (for less than a minute, paused while away)" in turn
    assert "Bob is away until back" in turn
    assert notices(await h.advance(10 * DAY), "bob") == []
    assert (await state(h, rooms["alice+bob"], "bob"))["accrued_s"] == 0
    await h.say("bob", "back")
    assert notices(await h.advance(72 * HOUR - timedelta(seconds=1)), "bob") == []
    assert len(notices(await h.advance(timedelta(seconds=1)), "bob")) == 1


async def test_away_shows_in_turn_with_its_note_and_back_clears_it(h: Harness) -> None:
    await lines_of(h)
    await h.say("carol", "timezone Europe/Paris")
    await h.say("bob", "away until 2026-02-01 exams")
    text = await turn_of(h, "carol")
    assert "Bob is away until Sun 01 Feb 2026, 01:00 (Europe/Paris): “exams”" in text
    assert (await member(h, "bob"))["away_until"] == int(
        datetime(2026, 2, 1, tzinfo=UTC).timestamp())
    await h.say("bob", "back")
    assert "away" not in await turn_of(h, "carol")
    assert "not away" in replies(await h.say("bob", "back"))[0]


async def test_away_until_a_date_is_midnight_in_my_time_zone(h: Harness) -> None:
    await h.say("alice", "timezone Pacific/Auckland")
    out = replies(await h.say("alice", "away until 2026-03-01"))[0]
    assert "until Sun 01 Mar 2026, 00:00 (Pacific/Auckland)" in out
    until = (await member(h, "alice"))["away_until"]
    assert until == int(datetime(2026, 2, 28, 11, 0, tzinfo=UTC).timestamp())


async def test_quiet_hours_and_time_zone_are_stored_and_shown(h: Harness) -> None:
    out = replies(await h.say("alice", "quiet 22:00-08:00"))[0]
    assert "22:00–08:00 (UTC)" in out and "!timezone" in out
    out = replies(await h.say("alice", "timezone europe/paris"))[0]
    assert "Europe/Paris" in out and "22:00–08:00 (Europe/Paris)" in out and "10:00" in out
    row = await member(h, "alice")
    assert (row["tz"], row["quiet_start"], row["quiet_end"]) == ("Europe/Paris", 1320, 480)
    assert "off" in replies(await h.say("alice", "quiet off"))[0]
    assert (await member(h, "alice"))["quiet_start"] is None


async def test_turn_shows_who_is_in_quiet_hours(h: Harness) -> None:
    await lines_of(h)
    await h.say("bob", "quiet 08:00-12:00")  # the fake clock reads 09:00 UTC
    assert "Bob is in quiet hours until 12:00 (UTC)" in await turn_of(h, "alice")


async def test_quiet_off_releases_held_notices(h: Harness) -> None:
    rooms = await lines_of(h)
    await h.say("bob", "quiet 08:00-20:00")
    await h.write("alice", rooms["alice+bob"])
    out = await h.advance(72 * HOUR)
    assert notices(out, "bob") == []  # held: 09:00 is inside bob's quiet hours
    await h.say("bob", "quiet off")
    assert len(notices(await h.advance(timedelta(seconds=1)), "bob")) == 1


@pytest.mark.parametrize(("command", "words"), [
    ("away for 0d", "out of range"),
    ("away for 400d", "out of range"),
    ("away for soon", "could not read"),
    ("away for", "when?"),
    ("away until 2025-12-01", "already begun"),
    ("away until 2026-01-05", "already begun"),
    ("away until 2027-06-01", "more than a year"),
    ("away until garbage", "not a date"),
    ("quiet 25:00-08:00", "not a time of day"),
    ("quiet 22:00", "not a quiet window"),
    ("quiet 22:00-22:00", "differ"),
    ("timezone Mars/Olympus", "not a time zone"),
    ("timezone ../../etc/passwd", "not a time zone"),
])
async def test_bad_inputs_get_friendly_errors(h: Harness, command: str, words: str) -> None:
    await h.say("alice", "help")
    assert words in await error_of(h, "alice", command)
    row = await member(h, "alice")
    assert (row["away_since"], row["quiet_start"], row["tz"]) == (None, None, "UTC")


def test_parsers() -> None:
    now = datetime(2026, 1, 5, 9, tzinfo=UTC)
    assert parse_away(None, "UTC", now) == (None, None)
    assert parse_away("moving house", "UTC", now) == (None, "moving house")
    assert parse_away("for 3d see you", "UTC", now) == (now + timedelta(days=3), "see you")
    assert parse_window("22:00–7:30") == (1320, 450)
    assert zone_name("UTC") == "UTC"
    with pytest.raises(Exception, match="not a time zone"):
        zone_name("Europe/Parsi")
