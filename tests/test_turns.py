"""Turn-taking: relances, reminders after the trio's patience, `turn`, durability."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core import turns
from core.clock import FakeClock
from core.effects import CreateRoom, Notify, Reply
from core.events import CommandReceived, LineMessage
from core.ids import MemberId, RoomId, TrioId
from core.turns import Line, Seat, write
from tests.conftest import form_trio
from tests.helpers import Harness, notices, replies

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


async def lines_of(h: Harness) -> dict[str, int]:
    """Form alice+bob+carol; returns room ids by ``trio`` and ``alice+bob``-style names."""
    await form_trio(h)
    return {("trio" if e.purpose == "trio" else "+".join(e.members)): e.room
            for e in h.log if isinstance(e, CreateRoom)}


async def state(h: Harness, room: int, member: str) -> dict[str, int]:
    async with h.core.db.transaction() as tx:
        row = await tx.one("SELECT * FROM line_state WHERE room_id = ? AND member_id = ?",
                           (room, member))
    return dict(row) if row else {}


async def remind_at(h: Harness, room: int, member: str) -> datetime | None:
    """When ``member``'s reminder job in ``room`` is due, if there is one."""
    async with h.core.db.read() as tx:
        due = await tx.value("SELECT due_at FROM jobs WHERE key = ?", (f"remind:{room}:{member}",))
    return None if due is None else datetime.fromtimestamp(due, UTC)


async def turn_of(h: Harness, who: str) -> str:
    return replies(await h.say(who, "turn"))[0]


def line(purpose: str, *members: str, relance: str = "gentle") -> Line:
    return Line(RoomId(1), TrioId(1), "T", purpose, 3600, relance,
                {MemberId(m): Seat(MemberId(m), m.title()) for m in members})


# The pure rule -------------------------------------------------------------------------

def test_pair_rule_relance_once_per_streak_and_debts() -> None:
    pair = line("pair", "a", "b")
    first = write(pair, MemberId("a"), 100)
    assert first.silent == [] and [s.member for s in first.owing] == ["b"]
    assert pair.seats[MemberId("b")].owes_since == 100
    again = write(pair, MemberId("a"), 100)  # same second: order still known
    assert [s.member for s in again.silent] == ["b"] and again.owing == []
    assert write(pair, MemberId("a"), 101).silent == []  # once per streak
    answer = write(pair, MemberId("b"), 150)
    assert answer.paid and pair.seats[MemberId("b")].owes_since is None
    assert pair.seats[MemberId("a")].owes_since == 150
    assert write(pair, MemberId("a"), 150).silent == []  # b answered: not a relance
    assert [s.member for s in write(pair, MemberId("a"), 151).silent] == ["b"]  # new streak


def test_trio_room_owes_nothing_and_relances_only_before_anyone_answered() -> None:
    room = line("trio", "a", "b", "c")
    assert write(room, MemberId("a"), 10).owing == []  # the open 20%: nobody owes a reply
    relance = write(room, MemberId("a"), 10)
    assert [s.member for s in relance.silent] == ["b", "c"]
    write(room, MemberId("b"), 10)
    assert write(room, MemberId("a"), 10).silent == []  # b answered: not a relance
    assert all(s.owes_since is None for s in room.seats.values())
    assert room.waiting_on(MemberId("c")) == []


def test_relance_off_tells_nobody() -> None:
    pair = line("pair", "a", "b", relance="off")
    write(pair, MemberId("a"), 1)
    assert write(pair, MemberId("a"), 2).silent == []


def test_counters_for_stats() -> None:
    pair = line("pair", "a", "b")
    write(pair, MemberId("a"), 0)
    write(pair, MemberId("a"), 10)  # a relance: neither initiation nor reply
    write(pair, MemberId("b"), 3600)
    a, b = pair.seats[MemberId("a")], pair.seats[MemberId("b")]
    assert (a.messages, a.initiations, a.replies) == (2, 1, 0)
    assert (b.messages, b.initiations, b.replies, b.reply_total_s) == (1, 0, 1, 3600)


# Through the service -------------------------------------------------------------------

async def test_relance_once_per_streak(h: Harness) -> None:
    rooms = await lines_of(h)
    ab = rooms["alice+bob"]
    assert await h.write("alice", ab) == []
    told = notices(await h.write("alice", ab), "alice")
    assert len(told) == 1 and "Bob has not answered yet" in told[0] and "Carol" not in told[0]
    assert told[0].count("Bob") == 2  # "Bob has not answered…" and "send Bob one kind reminder"
    assert notices(await h.write("alice", ab), "alice") == []
    await h.advance(HOUR)
    assert await h.write("bob", ab) == []
    assert notices(await h.write("alice", ab), "alice") == []
    assert len(notices(await h.write("alice", ab), "alice")) == 1  # a new streak


async def test_no_relance_when_the_trio_turned_it_off(h: Harness) -> None:
    rooms = await lines_of(h)
    for who in ("alice", "bob", "carol"):
        await h.say(who, "trio settings relance off")
    await h.write("alice", rooms["alice+bob"])
    out = await h.write("alice", rooms["alice+bob"])
    assert out == []
    assert "you owe" not in await turn_of(h, "alice")


async def test_reminder_after_patience_exactly_once_per_streak(h: Harness) -> None:
    rooms = await lines_of(h)
    ab = rooms["alice+bob"]
    await h.write("alice", ab)
    assert notices(await h.advance(71 * HOUR), "bob") == []
    out = await h.advance(2 * HOUR)
    sent = notices(out, "bob")
    assert len(sent) == 1 and "Alice" in sent[0] and "3d" in sent[0]
    assert notices(out, "alice") == []
    await h.write("alice", ab)  # writing again does not restart bob's streak
    assert notices(await h.advance(10 * DAY), "bob") == []
    assert "reminder sent" in await turn_of(h, "alice")
    await h.write("bob", ab)
    await h.write("alice", ab)
    assert len(notices(await h.advance(73 * HOUR), "bob")) == 1  # a new streak, a new one


async def test_answering_cancels_the_reminder_and_the_writer_then_waits(h: Harness) -> None:
    rooms = await lines_of(h)
    ab = rooms["alice+bob"]
    await h.write("alice", ab)
    await h.advance(24 * HOUR)
    await h.write("bob", ab)
    out = await h.advance(71 * HOUR)
    assert notices(out, "bob") == [] and notices(out, "alice") == []
    assert len(notices(await h.advance(2 * HOUR), "alice")) == 1  # alice now owes bob


async def test_trio_room_relance_note_but_no_debt_and_no_reminder(h: Harness) -> None:
    rooms = await lines_of(h)
    await h.write("alice", rooms["trio"])
    relance = notices(await h.write("alice", rooms["trio"]), "alice")
    assert len(relance) == 1 and "Nobody has answered yet in the trio room" in relance[0]
    assert "reminder" not in relance[0]
    assert notices(await h.write("alice", rooms["trio"]), "alice") == []  # once per streak
    out = await h.advance(5 * DAY)
    assert [e for e in out if isinstance(e, Notify)] == []  # no reminder for the trio room
    assert (await state(h, rooms["trio"], "bob")).get("owes_since") is None


async def test_strangers_and_closed_or_unknown_rooms_are_ignored(h: Harness) -> None:
    rooms = await lines_of(h)
    assert await h.write("dave", rooms["alice+bob"]) == []
    assert await h.write("carol", rooms["alice+bob"]) == []  # the third is not in the pair line
    assert await h.write("alice", 9999) == []
    assert await state(h, rooms["alice+bob"], "carol") == {}
    assert await state(h, rooms["alice+bob"], "dave") == {}
    await h.say("carol", "trio leave confirm")
    assert await h.write("carol", rooms["alice+carol"]) == []
    assert await state(h, rooms["alice+carol"], "carol") == {}
    assert notices(await h.advance(5 * DAY), "alice") == []


async def test_counters_and_no_body_in_line_state(h: Harness) -> None:
    rooms = await lines_of(h)
    ab = rooms["alice+bob"]
    await h.write("alice", ab)
    await h.advance(2 * HOUR)
    await h.write("bob", ab)
    bob = await state(h, ab, "bob")
    assert (bob["messages"], bob["replies"], bob["reply_total_s"], bob["initiations"]) == (1, 1, 7200, 0)
    alice = await state(h, ab, "alice")
    assert (alice["messages"], alice["initiations"], alice["owes_since"] is not None) == (1, 1, True)


async def test_a_line_message_is_applied_once(h: Harness) -> None:
    rooms = await lines_of(h)
    event = LineMessage("dup-1", MemberId("alice"), RoomId(rooms["alice+bob"]))
    await h.core.handle([event, event])
    await h.core.handle([event])
    assert (await state(h, rooms["alice+bob"], "alice"))["messages"] == 1


async def test_a_batch_keeps_the_order_of_commands_and_messages(h: Harness) -> None:
    rooms = await lines_of(h)
    ab = RoomId(rooms["alice+bob"])
    await h.core.handle([
        LineMessage("b1", MemberId("alice"), ab),
        CommandReceived("b2", MemberId("bob"), None, "turn"),
        LineMessage("b3", MemberId("bob"), ab),
        LineMessage("b4", MemberId("bob"), ab),
    ])
    out = [d.effect for d in await h.core.pending()]
    turn = [e.text for e in out if isinstance(e, Reply)]
    assert len(turn) == 1 and "you owe Alice a reply" in turn[0]
    relance = [e for e in out if isinstance(e, Notify)]
    assert len(relance) == 1 and relance[0].to == "bob" and "Alice has not answered" in relance[0].text


async def test_turn_never_shows_the_other_pair_line(h: Harness) -> None:
    rooms = await lines_of(h)
    await h.write("bob", rooms["bob+carol"])
    await h.advance(2 * HOUR)
    await h.write("alice", rooms["alice+bob"])
    await h.advance(3 * HOUR)
    text = await turn_of(h, "alice")
    assert "Your line with Bob: Bob owes you a reply (for 3h)" in text
    assert "Carol" not in text
    carol = await turn_of(h, "carol")
    assert "Your line with Bob: you owe Bob a reply (for 5h)" in carol
    assert "Alice" not in carol


async def test_turn_shows_pair_lines_only(h: Harness) -> None:
    rooms = await lines_of(h)
    assert "All clear: nobody owes anyone a reply." in await turn_of(h, "bob")
    for who in ("alice", "bob", "carol", "alice"):
        await h.write(who, rooms["trio"])
    text = await turn_of(h, "bob")
    assert "Trio room" not in text and "All clear" in text
    await h.write("alice", rooms["alice+bob"])
    assert "Your line with Alice: you owe Alice a reply" in await turn_of(h, "bob")


async def test_turn_in_a_forming_trio(h: Harness) -> None:
    await h.say("alice", "trio new Alone")
    assert "No lines yet" in await turn_of(h, "alice")


async def test_a_leaver_is_owed_nothing(h: Harness) -> None:
    rooms = await lines_of(h)
    await h.write("carol", rooms["trio"])
    await h.say("carol", "trio leave confirm")
    assert "All clear" in await turn_of(h, "alice")
    assert notices(await h.advance(5 * DAY), "alice") == []


async def test_quiet_hours_hold_the_reminder_until_they_end(h: Harness) -> None:
    rooms = await lines_of(h)
    await h.say("bob", "quiet 22:00-08:00")
    await h.advance(14 * HOUR)  # 23:00 UTC
    await h.write("alice", rooms["alice+bob"])
    assert notices(await h.advance(72 * HOUR), "bob") == []  # due at 23:00: held
    assert notices(await h.advance(8 * HOUR + timedelta(minutes=59)), "bob") == []
    out = await h.advance(timedelta(minutes=1))
    assert len(notices(out, "bob")) == 1 and "Alice" in notices(out, "bob")[0]
    assert notices(await h.advance(3 * DAY), "bob") == []


async def test_a_reminder_fires_after_a_restart_exactly_once(db_target: str | Path) -> None:
    path, clock = db_target, FakeClock()
    first = await Harness.open(path, clock)
    rooms = await lines_of(first)
    await first.write("alice", rooms["alice+bob"])
    await first.advance(24 * HOUR)
    await first.close()
    second = await Harness.open(path, clock)
    try:
        assert notices(await second.advance(47 * HOUR), "bob") == []
        assert len(notices(await second.advance(2 * HOUR), "bob")) == 1
        assert notices(await second.advance(7 * DAY), "bob") == []
    finally:
        await second.close()


async def test_one_broken_line_event_does_not_block_its_batch(h: Harness) -> None:
    rooms = await lines_of(h)
    async with h.core.db.transaction() as tx:  # a profile the core cannot read
        await tx.run("UPDATE members SET tz = 'Mars/Olympus', quiet_start = 0, quiet_end = 60 "
                     "WHERE id = 'carol'")
    ab, trio = RoomId(rooms["alice+bob"]), RoomId(rooms["trio"])
    await h.core.handle([
        LineMessage("x1", MemberId("alice"), ab),
        LineMessage("x2", MemberId("carol"), trio),
        LineMessage("x3", MemberId("carol"), trio),  # a relance to carol: her zone breaks it
        LineMessage("x4", MemberId("bob"), ab),
    ])
    assert (await state(h, ab, "alice"))["messages"] == 1
    assert (await state(h, ab, "bob"))["replies"] == 1
    assert (await state(h, trio, "carol"))["messages"] == 1


async def test_a_shorter_patience_applies_to_silences_already_running(h: Harness) -> None:
    rooms = await lines_of(h)
    await h.write("alice", rooms["alice+bob"])
    await h.advance(timedelta(days=1, hours=1))
    for who in ("alice", "bob", "carol"):
        await h.say(who, "trio settings patience 1d")
    out = await h.advance(timedelta(minutes=1))
    assert len(notices(out, "bob")) == 1 and "gentle word" in notices(out, "bob")[0]


async def test_a_new_debt_leaves_a_sooner_job_which_plants_itself_again(h: Harness) -> None:
    ab = (await lines_of(h))["alice+bob"]
    start = h.clock.now()
    await h.write("alice", ab)  # bob owes: his job is due in 3 days
    await h.advance(HOUR)
    await h.write("bob", ab)  # paid; his job stays
    await h.advance(HOUR)
    await h.write("alice", ab)  # bob owes again, due 2 hours later than the job still there
    assert await remind_at(h, ab, "bob") == start + timedelta(days=3)  # not moved: no write
    out = await h.advance(timedelta(days=3) - 2 * HOUR + timedelta(minutes=1))
    assert notices(out, "bob") == []  # it fired early, found 70 hours, planted itself again
    assert await remind_at(h, ab, "bob") == start + timedelta(days=3, hours=2)
    out = await h.advance(2 * HOUR)
    assert len(notices(out, "bob")) == 1 and "gentle word" in notices(out, "bob")[0]


# What batches of line messages keep of their lines between batches ------------------------

async def test_known_lines_read_as_the_database_says(h: Harness) -> None:
    rooms = await lines_of(h)
    await h.say("bob", "away for 3d")
    for who, room in (("alice", "alice+bob"), ("bob", "alice+bob"), ("carol", "trio")):
        await h.write(who, rooms[room])
    ids = [*sorted(rooms.values()), 999]  # and a room that does not exist
    now = int(h.clock.now().timestamp())
    fixed = turns.Fixed()
    async with h.core.db.transaction() as tx:
        read = await turns.lines_of(tx, ids, now, fixed)  # reads them whole, remembers them
        known = await turns.lines_of(tx, ids, now, fixed)  # only their turn state
        plain = await turns.load(tx, *turns.by_ids(ids), now)
    assert read == known == plain and len(plain) == 4
    assert plain[RoomId(rooms["alice+bob"])].seats[MemberId("bob")].away


async def test_a_command_between_line_batches_is_seen_by_the_next_batch(h: Harness) -> None:
    ac = (await lines_of(h))["alice+carol"]
    await h.write("carol", ac)  # the line is read, and known from now on
    await h.write("alice", ac)
    await h.say("carol", "away for 3d")
    await h.write("carol", ac)
    await h.write("alice", ac)  # carol owes again, but she is away: her waiting time waits
    assert (await state(h, ac, "carol"))["accrual_from"] is None


async def test_a_change_by_another_connection_is_seen_by_the_next_batch(h_sqlite: Harness) -> None:
    h = h_sqlite  # another connection writes the SQLite file itself
    ac = (await lines_of(h))["alice+carol"]
    await h.write("carol", ac)
    await h.write("alice", ac)
    await h.write("carol", ac)
    with sqlite3.connect(h.core.db.path) as other:  # another process, say
        other.execute("UPDATE members SET away_since = 1 WHERE id = 'carol'")
    await h.write("alice", ac)
    assert (await state(h, ac, "carol"))["accrual_from"] is None


async def test_a_batch_rolled_back_leaves_nothing_behind_in_the_known_lines(h: Harness) -> None:
    trio = RoomId((await lines_of(h))["trio"])
    async with h.core.db.transaction() as tx:  # a zone the core cannot read: relances to carol fail
        await tx.run("UPDATE members SET tz = 'Mars/Olympus', quiet_start = 0, quiet_end = 60 "
                     "WHERE id = 'carol'")
    await h.core.handle([LineMessage("y1", MemberId("alice"), trio)])  # the line is known now
    await h.core.handle([  # rolled back whole, then y3 alone: what they did in memory goes too
        LineMessage("y2", MemberId("carol"), trio),
        LineMessage("y3", MemberId("carol"), trio),
    ])
    await h.core.handle([LineMessage("y4", MemberId("alice"), trio)])
    assert (await state(h, trio, "carol"))["messages"] == 1
    assert (await state(h, trio, "alice"))["messages"] == 2


async def test_a_block_read_for_one_batch_still_holds_in_the_next(h: Harness) -> None:
    rooms = await lines_of(h)
    ab, ac = RoomId(rooms["alice+bob"]), RoomId(rooms["alice+carol"])
    await h.say("alice", "block @carol")
    await h.core.handle([LineMessage("z1", MemberId("carol"), ac),
                         LineMessage("z2", MemberId("bob"), ab),
                         LineMessage("z3", MemberId("bob"), ab)])  # bob relances: blocks read
    out = await h.core.handle([LineMessage("z4", MemberId("carol"), ac)])
    assert out.effects == 0  # carol relances alice, who blocked her: not a word


_REFUSE = {  # a write of carol's line state refused by the database itself
    "sqlite": [f"CREATE TRIGGER refuse_{op} BEFORE {op} ON line_state "
               "WHEN NEW.member_id = 'carol' BEGIN SELECT RAISE(ABORT, 'refused'); END"
               for op in ("INSERT", "UPDATE")],
    "postgres": ["CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS "
                 "$$ BEGIN RAISE EXCEPTION 'refused'; END $$",
                 "CREATE TRIGGER refuse BEFORE INSERT OR UPDATE ON line_state FOR EACH ROW "
                 "WHEN (NEW.member_id = 'carol') EXECUTE FUNCTION refuse()"],
}


async def test_a_message_whose_write_is_refused_fails_alone(h: Harness) -> None:
    # The batch's fast path (no savepoint) fails as a whole: it is run again guarded, and
    # only the refused event is lost, on both backends.
    rooms = await lines_of(h)
    async with h.core.db.transaction() as tx:
        for statement in _REFUSE[h.core.db.backend]:
            await tx.run(statement)
    await h.core.handle([LineMessage("ok", MemberId("alice"), RoomId(rooms["alice+bob"])),
                         LineMessage("no", MemberId("carol"), RoomId(rooms["bob+carol"]))])
    assert (await state(h, rooms["alice+bob"], "alice"))["messages"] == 1
    assert (await state(h, rooms["bob+carol"], "carol")).get("messages", 0) == 0
    assert (await state(h, rooms["bob+carol"], "bob")).get("owes_since") is None


@pytest.mark.parametrize("blocker, blocked", [("alice", "carol"), ("carol", "alice")])
async def test_no_relance_note_between_a_blocked_pair_whoever_blocked(
        h: Harness, blocker: str, blocked: str) -> None:
    rooms = await lines_of(h)
    ac, ab = RoomId(rooms["alice+carol"]), RoomId(rooms["alice+bob"])
    await h.say(blocker, f"block @{blocked}")
    for room in (ac, ab):  # alice writes twice in each line before any answer
        await h.write("alice", room)
    assert notices(await h.write("alice", ac), "alice") == []
    assert len(notices(await h.write("alice", ab), "alice")) == 1  # bob's line: told


async def test_the_lines_written_in_last_are_known_first(h: Harness) -> None:
    rooms = await lines_of(h)
    for room in ("alice+carol", "trio", "alice+bob"):  # the last two written in last
        await h.write("alice", rooms[room])
        h.clock.advance(timedelta(minutes=1))
    now = int(h.clock.now().timestamp())
    fixed = turns.Fixed()
    async with h.core.db.read() as tx:
        assert await turns.warm(tx, fixed, now, limit=2) == 2
        assert set(fixed.rooms) == {rooms["trio"], rooms["alice+bob"]}
        assert await turns.warm(tx, fixed, now, limit=3) == 1  # the one more; none twice
        plain = await turns.load(tx, *turns.by_ids(list(fixed.rooms)), now)
    assert {room: kept[0] for room, kept in fixed.rooms.items() if kept} == plain


async def test_past_its_size_the_known_lines_used_least_recently_go(h: Harness) -> None:
    rooms = await lines_of(h)
    a, b, c = rooms["alice+bob"], rooms["alice+carol"], rooms["trio"]
    now = int(h.clock.now().timestamp())
    fixed = turns.Fixed()
    fixed.MAX_ROOMS = 2
    async with h.core.db.read() as tx:
        for used in ([a], [b], [a], [c]):  # b is the one used least recently
            await turns.lines_of(tx, used, now, fixed)
    assert set(fixed.rooms) == {a, b, c}
    fixed.stated()  # between two batches
    assert set(fixed.rooms) == {a, c}
