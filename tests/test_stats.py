"""``stats`` through the real core, with line messages written via the harness."""

from __future__ import annotations

from datetime import timedelta

from core.effects import CreateRoom, Reply
from tests.conftest import form_trio
from tests.helpers import Harness, code_in, replies


def _rooms(h: Harness) -> dict[tuple[str, ...], int]:
    return {e.members: e.room for e in h.log if isinstance(e, CreateRoom)}


async def _stats(h: Harness, who: str, room: int | None = None) -> str:
    out = await h.say(who, "stats", room=room)
    mine = [e for e in out if isinstance(e, Reply) and e.to == who]
    assert len(mine) == 1 and not mine[0].error, out
    assert mine[0].private, "stats are one member's view: always a private reply"
    return mine[0].text


async def _talk(h: Harness) -> dict[tuple[str, ...], int]:
    """A day of messages in every line; returns the room ids."""
    await form_trio(h)
    rooms = _rooms(h)
    trio, ab, ac = rooms[("alice", "bob", "carol")], rooms[("alice", "bob")], rooms[("alice", "carol")]
    await h.write("alice", ab)
    h.clock.advance(timedelta(hours=2))
    await h.write("bob", ab)  # bob replies after 2h
    h.clock.advance(timedelta(minutes=10))
    await h.write("alice", ab)  # alice replies after 10m
    await h.write("alice", ac)
    h.clock.advance(timedelta(hours=1))
    await h.write("carol", ac)  # carol replies after 1h
    await h.write("alice", trio)
    return rooms


async def test_stats_show_counts_and_times_of_the_actors_lines_only(h: Harness) -> None:
    rooms = await _talk(h)
    text = await _stats(h, "alice", room=rooms[("alice", "bob", "carol")])
    lines = text.split("\n")
    assert lines[0] == "Statistics for “Les Trois” (counts and times only)"
    assert "• trio room: 1 (you 1, Bob 0, Carol 0)" in lines
    assert "• your line with Bob: 3 (you 2, Bob 1)" in lines
    assert "• your line with Carol: 2 (you 1, Carol 1)" in lines
    assert "• all the lines you are in: 6" in lines
    assert "• Bob: 2h (1 reply)" in lines
    assert "• Carol: 1h (1 reply)" in lines
    assert "• you: 10m (1 reply)" in lines
    assert "Who starts a conversation: you 3, Bob 0, Carol 0" in lines
    assert any(line.startswith("Your share: 75% in your private lines, 25% in the trio room")
               for line in lines)
    assert "It is early days" in text

    # Whatever Bob and Carol say to each other changes nothing Alice can see.
    bc = rooms[("bob", "carol")]
    for _ in range(7):
        await h.write("bob", bc)
        await h.write("carol", bc)
    assert await _stats(h, "alice") == text
    assert "• your line with Carol: 14 (you 7, Carol 7)" in await _stats(h, "bob")


async def test_stats_ledger_summary_counts_confirmed_time_only(h: Harness) -> None:
    await form_trio(h)
    await h.say("bob", "mentor ask @alice cooking")
    await h.say("alice", "mentor accept")
    await h.say("alice", "session log @bob cooking 1h30")
    await h.say("bob", "session confirm 1")
    await h.say("alice", "session log @bob cooking 2h")  # not confirmed: not counted
    text = await _stats(h, "carol")
    assert "• Alice: gave 1h 30m, received none" in text
    assert "• Bob: gave none, received 1h 30m" in text
    assert "• you: gave none, received none" in text
    await h.say("bob", "privacy forget confirm")
    text = await _stats(h, "alice")
    assert "• you: gave 1h 30m, received none" in text
    assert "• a former member: gave none, received 1h 30m" in text
    assert "Bob" not in text


async def test_share_far_from_the_guideline_gets_a_kind_remark(h: Harness) -> None:
    await form_trio(h)
    rooms = _rooms(h)
    trio, ab = rooms[("alice", "bob", "carol")], rooms[("alice", "bob")]
    for _ in range(10):
        await h.write("carol", trio)
        await h.write("bob", ab)
    carol = await _stats(h, "carol")
    assert "Your share: 0% in your private lines, 100% in the trio room" in carol
    assert "a few words in your private lines with Alice or Bob" in carol
    bob = await _stats(h, "bob")
    assert "Your share: 100% in your private lines, 0% in the trio room" in bob
    assert "A word in the trio room now and then" in bob
    for _ in range(2):
        await h.write("bob", trio)
    assert "close to the guideline" in await _stats(h, "bob")


async def test_stats_of_a_forming_trio(h: Harness) -> None:
    code = code_in(replies(await h.say("alice", "trio new Duo"))[0])
    await h.say("bob", f"trio join {code}")
    text = await _stats(h, "alice")
    assert "no lines yet" in text and "theirs alone" not in text
    assert "no confirmed sessions yet" in text
    out = await h.say("dave", "stats")
    assert [e for e in out if isinstance(e, Reply) and e.error and "not in a trio" in e.text]
