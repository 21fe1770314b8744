"""Support: an SOS reaches only the allies' line; the plan reaches the member."""

from __future__ import annotations

from datetime import timedelta

from core.effects import CreateRoom, Effect, Notify, Post, Reply
from tests.conftest import form_trio
from tests.helpers import Harness, notices, posts, replies


def lines(h: Harness) -> dict[str, int]:
    """Room ids by name: ``trio`` and ``alice+bob``-style pair lines (open ones last win)."""
    found: dict[str, int] = {}
    for e in h.log:
        if isinstance(e, CreateRoom):
            found["trio" if e.purpose == "trio" else "+".join(sorted(e.members))] = e.room
    return found


def texts(effects: list[Effect]) -> list[str]:
    """Every text the bot sent, whatever its kind."""
    return [e.text for e in effects if isinstance(e, Reply | Notify | Post)]


def reaching(effects: list[Effect], member: str, rooms: dict[str, int]) -> list[Effect]:
    """The effects ``member`` can see: their replies and notices, posts in their rooms."""
    theirs = {rid for name, rid in rooms.items() if name == "trio" or member in name.split("+")}
    return [e for e in effects
            if (isinstance(e, Reply | Notify) and e.to == member)
            or (isinstance(e, Post) and e.room in theirs)]


async def test_sos_alerts_only_the_allies_line(h: Harness) -> None:
    await form_trio(h)
    rooms = lines(h)
    out = await h.say("alice", "sos rough week, cannot sleep")
    alert = posts(out, rooms["bob+carol"])
    assert len(alert) == 1
    assert "Alice" in alert[0] and "rough week, cannot sleep" in alert[0]
    assert "!plan <text>" in alert[0] and "!plan ready" in alert[0]
    seen = reaching(out, "alice", rooms)
    assert len(seen) == 1 and isinstance(seen[0], Reply)
    assert seen[0].private and not seen[0].error and "alerted" in seen[0].text
    assert "rough week" not in seen[0].text
    assert not [e for e in out if isinstance(e, Notify)]


async def test_plan_steps_then_ready_reach_the_member(h: Harness) -> None:
    await form_trio(h)
    rooms = lines(h)
    allies = rooms["bob+carol"]
    await h.say("alice", "sos")
    empty = await h.say("carol", "plan ready", room=allies)
    assert [e for e in empty if isinstance(e, Reply) and e.error and e.private]
    assert "no step yet" in replies(empty)[0]
    out = await h.say("bob", "plan call her on Sunday", room=allies)
    assert any("Step 1" in t and "call her on Sunday" in t for t in posts(out, allies))
    assert reaching(out, "alice", rooms) == []
    out = await h.say("carol", "plan cook dinner on Tuesday")  # from her direct chat
    assert any("Step 2" in t for t in posts(out, allies))
    assert "step 2" in replies(out)[0]
    again = await h.say("bob", "plan  Cook dinner on tuesday", room=allies)  # said already
    assert "step 2 of the plan for Alice already" in replies(again)[0]
    out = await h.say("carol", "plan READY", room=allies)
    assert notices(out, "alice") == []  # one ally is not both: the other is asked
    assert any("Carol thinks the plan for Alice is ready. Bob, if you agree" in t
               for t in posts(out, allies))
    assert "already" in replies(await h.say("carol", "plan ready", room=allies))[0]
    out = await h.say("bob", "plan ready", room=allies)
    plan = notices(out, "alice")
    assert len(plan) == 1
    assert "1. Bob: “call her on Sunday”\n2. Carol: “cook dinner on Tuesday”" in plan[0]
    assert "Bob and Carol" in plan[0]
    assert any("ready" in t for t in posts(out, allies))
    assert [e for e in reaching(out, "alice", rooms) if not isinstance(e, Notify)] == []
    assert posts(await h.advance(timedelta(days=3)), allies) == []  # no reminder once ready


async def test_allies_reminded_once_after_a_day(h: Harness) -> None:
    await form_trio(h)
    rooms = lines(h)
    await h.say("alice", "sos")
    assert posts(await h.advance(timedelta(hours=23)), rooms["bob+carol"]) == []
    out = await h.advance(timedelta(hours=1))
    reminder = posts(out, rooms["bob+carol"])
    assert len(reminder) == 1
    assert "reminder" in reminder[0] and "Alice" in reminder[0]
    assert reaching(out, "alice", rooms) == []
    assert posts(await h.advance(timedelta(days=5)), rooms["bob+carol"]) == []


async def test_reminder_counts_steps_already_written(h: Harness) -> None:
    await form_trio(h)
    allies = lines(h)["bob+carol"]
    await h.say("alice", "sos")
    await h.say("bob", "plan send her a song", room=allies)
    out = await h.advance(timedelta(hours=24))
    assert "1 step so far" in posts(out, allies)[0]


async def test_sos_needs_an_active_trio(h: Harness) -> None:
    out = await h.say("dave", "sos")
    assert isinstance(out[0], Reply) and out[0].error and "not in a trio" in out[0].text
    await h.say("erin", "trio new Forming")
    out = await h.say("erin", "sos help")
    assert isinstance(out[0], Reply) and out[0].error and "still forming" in out[0].text
    async with h.core.db.transaction() as tx:
        assert await tx.value("SELECT count(*) FROM sos") == 0


async def test_second_sos_passes_the_note_without_a_new_alert(h: Harness) -> None:
    await form_trio(h)
    rooms = lines(h)
    await h.say("alice", "sos")
    out = await h.say("alice", "sos it got worse today")
    assert "already on it" in replies(out)[0] and "new note" in replies(out)[0]
    assert posts(out, rooms["bob+carol"]) == ["Alice adds a note for you: “it got worse today”"]
    out = await h.advance(timedelta(hours=24))
    assert len(posts(out, rooms["bob+carol"])) == 1  # still one reminder, for one SOS


async def test_plan_is_refused_where_the_member_could_see_it(h: Harness) -> None:
    await form_trio(h)
    rooms = lines(h)
    await h.say("alice", "sos")
    for room in (rooms["trio"], rooms["alice+bob"]):
        out = await h.say("bob", "plan call her", room=room)
        assert len(out) == 1 and isinstance(out[0], Reply)
        assert out[0].error and out[0].private and out[0].to == "bob"
    out = await h.say("alice", "plan do it myself")
    assert replies(out) and "preparing the plan for you" in replies(out)[0]
    async with h.core.db.transaction() as tx:
        assert await tx.value("SELECT count(*) FROM plan_steps") == 0


async def test_plan_without_sos_is_a_friendly_error(h: Harness) -> None:
    await form_trio(h)
    out = await h.say("bob", "plan call her", room=lines(h)["bob+carol"])
    assert isinstance(out[0], Reply) and out[0].error
    assert "Nobody in “Les Trois” is waiting" in out[0].text


async def test_two_open_sos_are_told_apart_by_the_line(h: Harness) -> None:
    await form_trio(h)
    rooms = lines(h)
    await h.say("alice", "sos")
    await h.say("carol", "sos")
    out = await h.say("bob", "plan tea with alice")
    assert "which one" in replies(out)[0]
    out = await h.say("bob", "plan tea with alice", room=rooms["bob+carol"])
    assert "for Alice" in posts(out, rooms["bob+carol"])[0]
    out = await h.say("bob", "plan walk with carol", room=rooms["alice+bob"])
    assert "for Carol" in posts(out, rooms["alice+bob"])[0]


async def test_ready_plan_waits_for_quiet_hours(h: Harness) -> None:
    await form_trio(h)
    allies = lines(h)["bob+carol"]
    async with h.core.db.transaction() as tx:  # quiet 08:00-12:00 UTC; the clock is 09:00
        await tx.run("UPDATE members SET quiet_start = 480, quiet_end = 720 WHERE id = 'alice'")
    await h.say("alice", "sos")
    await h.say("bob", "plan lunch", room=allies)
    await h.say("bob", "plan ready", room=allies)
    out = await h.say("carol", "plan ready", room=allies)
    assert notices(out, "alice") == []
    out = await h.advance(timedelta(hours=3))
    assert len(notices(out, "alice")) == 1 and "1. Bob: “lunch”" in notices(out, "alice")[0]


async def test_member_leaving_closes_their_sos(h: Harness) -> None:
    await form_trio(h)
    allies = lines(h)["bob+carol"]
    await h.say("alice", "sos")
    out = await h.say("alice", "trio leave confirm")
    for ally in ("bob", "carol"):  # one notice each, naming who the plan was for
        [told] = notices(out, ally)
        assert "Alice left" in told and "plan you were preparing for Alice is closed" in told
    assert posts(out, allies) == []
    assert posts(await h.advance(timedelta(days=2)), allies) == []
    async with h.core.db.transaction() as tx:
        assert await tx.value("SELECT count(*) FROM sos") == 0


async def test_ally_leaving_closes_the_sos_and_says_so(h: Harness) -> None:
    await form_trio(h)
    rooms = lines(h)
    await h.say("alice", "sos")
    await h.say("bob", "plan call her", room=rooms["bob+carol"])
    out = await h.say("carol", "trio leave confirm")
    told = notices(out, "alice")
    assert any("request for support there is closed" in t and "Bob" in t for t in told)
    assert any("support plan for Alice is closed" in t for t in notices(out, "bob"))
    assert not [t for t in texts(out) if "call her" in t]
    assert posts(await h.advance(timedelta(days=2)), rooms["bob+carol"]) == []
    async with h.core.db.transaction() as tx:
        assert await tx.value("SELECT count(*) FROM plan_steps") == 0
