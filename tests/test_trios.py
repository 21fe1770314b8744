"""Trio life through the real core and a real SQLite file."""

from __future__ import annotations

from core.effects import CloseRoom, CreateRoom, InviteToRoom, RemoveFromRoom, Reply
from tests.helpers import Harness, code_in, notices, replies


async def test_three_join_by_code_and_lines_open(h: Harness) -> None:
    code = code_in(replies(await h.say("alice", "trio new Les Trois"))[0])
    assert len(code.replace("-", "")) == 16  # 80 bits
    out = await h.say("bob", f"trio join {code}")
    assert "1/3" not in replies(out)[0] and "2/3" in replies(out)[0]
    assert any("Bob (bob) joined" in t for t in notices(out, "alice"))
    reused = await h.say("carol", f"trio join {code}")
    assert [e for e in reused if isinstance(e, Reply) and e.error]
    code2 = code_in(replies(await h.say("bob", "trio invite"))[0])
    out = await h.say("carol", f"trio join {code2}")
    rooms = [e for e in out if isinstance(e, CreateRoom)]
    assert sorted((r.purpose, r.members) for r in rooms) == [
        ("pair", ("alice", "bob")), ("pair", ("alice", "carol")), ("pair", ("bob", "carol")),
        ("trio", ("alice", "bob", "carol")),
    ]
    assert all(r.encrypted for r in rooms)
    full = await h.say("dave", f"trio join {code2}")
    assert replies(full) and "already complete" in replies(full)[0]


async def test_direct_invite_needs_consent(h: Harness) -> None:
    await h.say("carol", "help")  # carol is known to the bot
    await h.say("alice", "trio new Duo")
    out = await h.say("alice", "trio invite @carol")
    asked = notices(out, "carol")
    assert asked and "trio accept" in asked[0]
    info = replies(await h.say("alice", "trio info"))[0]
    assert "Carol" not in info.split("Members:")[1].split("\n")[0]
    out = await h.say("carol", "trio accept")
    assert "You joined" in replies(out)[0]
    assert "Carol" in replies(await h.say("alice", "trio info"))[0]


async def test_leave_then_new_third(h: Harness) -> None:
    from tests.conftest import form_trio

    await form_trio(h)
    ask = await h.say("carol", "trio leave")
    assert "confirm" in replies(ask)[0]
    out = await h.say("carol", "trio leave confirm")
    closed = [e for e in out if isinstance(e, CloseRoom)]
    assert len(closed) == 2
    assert [e for e in out if isinstance(e, RemoveFromRoom) and e.member == "carol"]
    assert "forming" in replies(await h.say("alice", "trio info"))[0]
    code = code_in(replies(await h.say("alice", "trio invite"))[0])
    out = await h.say("dave", f"trio join {code}")
    assert [e for e in out if isinstance(e, InviteToRoom) and e.member == "dave"]
    new = [e for e in out if isinstance(e, CreateRoom)]
    assert sorted(r.members for r in new) == [("alice", "dave"), ("bob", "dave")]


async def test_failed_codes_are_rate_limited(h: Harness) -> None:
    for _ in range(5):
        await h.say("mallory", "trio join AAAA-BBBB-CCCC-DDDD")
    out = await h.say("mallory", "trio join AAAA-BBBB-CCCC-DDDD")
    assert "Too many" in replies(out)[0]


async def test_invitation_from_a_blocked_person_never_reaches(h: Harness) -> None:
    await h.say("alice", "help")
    await h.say("mallory", "trio new Pushy")
    await h.say("alice", "block @mallory")
    out = await h.say("mallory", "trio invite @alice")
    assert notices(out, "alice") == []
    listing = replies(await h.say("alice", "trio list"))[0]
    assert "Pushy" not in listing
    refused = await h.say("alice", "trio accept")
    assert "no pending invitation" in replies(refused)[0]
