"""Stopping the console between two lines, or killing it mid-output, loses and repeats nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots.console import opened
from bots.console.output import Shown
from tests.console.scenario import Collect, dm, kinds, no_failures, play, script

FORM = script("rhythm.txt")[:5]


class Killed(BaseException):
    """Stands for a kill -9 in the middle of printing."""


class DiesWhilePrinting(Collect):
    """A sink that dies on the first record once armed, like a process killed mid-output."""

    armed = False

    def show(self, item: Shown) -> None:
        if self.armed:
            raise Killed
        super().show(item)


def reminders(records: list[dict[str, object]], to: str) -> list[dict[str, object]]:
    return [r for r in dm(records, to) if "A gentle word" in str(r["text"])]


async def test_restart_keeps_clock_rooms_and_fires_a_due_reminder_once(tmp_path: Path) -> None:
    db = tmp_path / "console.sqlite3"
    first = await play(db, [*FORM, "alice@trio-1/alice+bob: Hello Bob", ":advance 2d", ":now"])
    no_failures(first.records)
    assert not reminders(first.records, "bob")

    second = await play(db, [
        ":now", ":advance 2d", ":advance 3d", "bob@trio-1/alice+bob: Sorry, busy week!",
        "carol@trio-1/alice+bob: hi", "alice: trio list",
    ])
    assert second.startup == []  # nothing left over, nothing printed twice
    assert second.after(":now")[0]["text"] == "2026-01-07 09:00 UTC"  # the clock survived
    assert len(reminders(second.after(":advance 2d"), "bob")) == 1
    assert not reminders(second.after(":advance 3d"), "bob")
    assert kinds(second.after("bob@trio-1/alice+bob: Sorry, busy week!"), "message")
    assert kinds(second.after("carol@trio-1/alice+bob: hi"), "console_error")
    listing = second.after("alice: trio list")[0]["text"]
    assert listing.count("•") == 1, "the first half was not applied again"
    assert not kinds(second.records, "room_created"), "rooms and direct chats are remembered"


async def test_killed_mid_output_delivers_pending_and_replay_is_a_no_op(tmp_path: Path) -> None:
    db = tmp_path / "console.sqlite3"
    await play(db, [*FORM, "alice@trio-1/alice+bob: Hello Bob"])
    sink = DiesWhilePrinting()
    with pytest.raises(Killed):
        async with opened(db, sink) as console:
            await console.feed(":advance 1d")
            sink.armed = True
            await console.feed("alice: trio new Second")

    again = await play(db, ["alice: trio new Second", "alice: trio list", ":advance 2d"])
    pending = again.startup
    assert len(pending) == 1 and "Second" in pending[0]["text"], "the outbox is delivered first"
    assert again.after("alice: trio new Second") == [], "the same line again is not re-applied"
    listing = again.after("alice: trio list")[0]["text"]
    assert listing.count("Second") == 1 and listing.count("•") == 2
    assert len(reminders(again.after(":advance 2d"), "bob")) == 1
    no_failures(again.records)


async def test_same_line_twice_in_a_row_is_two_events(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", [*FORM, "alice: trio new Second", "alice: trio new Second"])
    assert "forming" in p.after("alice: trio new Second", 1)[0]["text"]
    assert kinds(p.after("alice: trio new Second", 1), "notice")
