"""Proposals: two private votes, only the outcome announced, expiry after 48 h."""

from __future__ import annotations

import re
from datetime import timedelta

from core.effects import CreateRoom, Effect, Notify, Post, Reply
from tests.conftest import form_trio
from tests.helpers import Harness, notices, posts, replies

TEXT = "a thread about our reading club"


def room_of(h: Harness, member: str) -> int:
    """The trio room of the first trio ``member`` was in."""
    return next(e.room for e in h.log
                if isinstance(e, CreateRoom) and e.purpose == "trio" and member in e.members)


def trio_room(h: Harness) -> int:
    """The trio room created when the trio formed."""
    return next(e.room for e in h.log if isinstance(e, CreateRoom) and e.purpose == "trio")


async def proposed(h: Harness, who: str = "alice") -> tuple[int, list[Effect]]:
    """``who`` proposes TEXT; the proposal id and the effects."""
    out = await h.say(who, f"propose {TEXT}")
    found = re.search(r"Proposal #(\d+) is open", replies(out)[0])
    assert found, replies(out)
    return int(found.group(1)), out


def reveals_votes(text: str) -> bool:
    """Whether an outcome names a voter or a vote."""
    return bool(re.search(r"\b(yes|no|Bob|Carol|approved|declined|voted)\b", text, re.I))


def error(out: list[Effect]) -> Reply:
    """The single private error reply of a refused command."""
    assert len(out) == 1 and isinstance(out[0], Reply), out
    assert out[0].error and out[0].private
    return out[0]


async def test_both_allies_are_asked_privately_with_the_exact_command(h: Harness) -> None:
    await form_trio(h)
    pid, out = await proposed(h)
    for voter in ("bob", "carol"):
        asked = notices(out, voter)
        assert len(asked) == 1 and TEXT in asked[0]
        assert f"!vote {pid} yes" in asked[0] and f"!vote {pid} no" in asked[0]
    assert notices(out, "alice") == []
    assert not [e for e in out if isinstance(e, Post)]
    assert "Bob and Carol" in replies(out)[0] and "2d" in replies(out)[0]


async def test_two_approvals_validate_and_only_the_outcome_is_announced(h: Harness) -> None:
    await form_trio(h)
    room = trio_room(h)
    pid, _ = await proposed(h)
    out = await h.say("bob", f"vote {pid} yes")
    assert len(out) == 1 and isinstance(out[0], Reply) and out[0].private
    assert "counted" in out[0].text
    out = await h.say("carol", f"vote {pid} yes")
    announced = posts(out, room)
    assert len(announced) == 1 and "validated" in announced[0] and "not validated" not in announced[0]
    assert notices(out, "alice") == []  # the author reads it in the trio room: once
    assert not reveals_votes(announced[0])
    assert [e.to for e in out if isinstance(e, Notify)] == []


async def test_one_decline_is_enough_and_is_not_attributed(h: Harness) -> None:
    await form_trio(h)
    room = trio_room(h)
    pid, _ = await proposed(h)
    await h.say("bob", f"vote {pid} yes")
    out = await h.say("carol", f"vote {pid} no")
    announced = posts(out, room)
    assert len(announced) == 1 and "not validated" in announced[0]
    assert not reveals_votes(announced[0])
    assert notices(out, "alice") == []


async def test_a_decline_decides_before_the_second_vote(h: Harness) -> None:
    await form_trio(h)
    pid, _ = await proposed(h)
    out = await h.say("bob", f"vote {pid} no")
    assert "not validated" in posts(out, trio_room(h))[0]
    late = error(await h.say("carol", f"vote {pid} yes"))
    assert "already decided" in late.text
    assert posts(await h.advance(timedelta(days=3)), trio_room(h)) == []  # no expiry after


async def test_expires_after_48_hours(h: Harness) -> None:
    await form_trio(h)
    room = trio_room(h)
    pid, _ = await proposed(h)
    await h.say("bob", f"vote {pid} yes")
    assert posts(await h.advance(timedelta(hours=47)), room) == []
    out = await h.advance(timedelta(hours=1))
    announced = posts(out, room)
    assert len(announced) == 1 and "expired" in announced[0]
    assert not reveals_votes(announced[0])
    assert notices(out, "alice") == []
    assert "already decided" in error(await h.say("carol", f"vote {pid} yes")).text


async def test_the_trio_expiry_setting_is_used(h: Harness) -> None:
    await form_trio(h)
    for who in ("alice", "bob", "carol"):
        await h.say(who, "trio settings proposal_expiry 12h")
    await proposed(h)
    out = await h.advance(timedelta(hours=12))
    assert any("expired" in t for t in posts(out, trio_room(h)))


async def test_author_cannot_vote(h: Harness) -> None:
    await form_trio(h)
    pid, _ = await proposed(h)
    assert "yours" in error(await h.say("alice", f"vote {pid} yes")).text


async def test_non_member_and_bad_ids_get_the_same_answer(h: Harness) -> None:
    await form_trio(h)
    pid, _ = await proposed(h)
    stranger = error(await h.say("dave", f"vote {pid} yes")).text
    assert stranger.startswith("You are not in a trio yet.")  # numbers are the trio's own
    await h.say("dave", "trio new Elsewhere")
    elsewhere = error(await h.say("dave", f"vote {pid} yes")).text
    missing = error(await h.say("bob", "vote 999 yes")).text
    assert elsewhere == f"There is no proposal #{pid} for you to vote on.\n" + missing.split("\n")[1]
    assert TEXT not in stranger and TEXT not in elsewhere
    assert "not a number" in replies(await h.say("bob", "vote abc yes"))[0]
    assert "Did you mean yes?" in replies(await h.say("bob", f"vote {pid} yse"))[0]
    async with h.core.db.transaction() as tx:
        assert await tx.value("SELECT count(*) FROM votes") == 0


async def test_a_vote_cannot_be_cast_twice(h: Harness) -> None:
    await form_trio(h)
    pid, _ = await proposed(h)
    await h.say("bob", f"vote {pid} yes")
    again = error(await h.say("bob", f"vote {pid} no"))
    assert "already voted" in again.text
    out = await h.say("carol", f"vote {pid} yes")
    assert "validated" in posts(out, trio_room(h))[0]  # bob's first vote stood


async def test_voting_in_a_room_gets_a_privacy_tip(h: Harness) -> None:
    await form_trio(h)
    pid, _ = await proposed(h)
    out = await h.say("bob", f"vote {pid} yes", room=trio_room(h))
    assert len(out) == 1 and isinstance(out[0], Reply) and out[0].private
    assert "direct chat" in out[0].text


async def test_propose_needs_an_active_trio(h: Harness) -> None:
    await h.say("alice", "trio new Two")
    out = await h.say("alice", f"propose {TEXT}")
    assert isinstance(out[0], Reply) and out[0].error and "still forming" in out[0].text


async def test_a_leaving_voter_cancels_open_proposals_plainly(h: Harness) -> None:
    await form_trio(h)
    room = trio_room(h)
    pid, _ = await proposed(h)
    await h.say("bob", f"vote {pid} yes")
    out = await h.say("carol", "trio leave confirm")
    announced = posts(out, room)
    assert len(announced) == 1 and "cancelled" in announced[0] and "Carol left" in announced[0]
    assert not re.search(r"\b(yes|no|Bob|approved|voted)\b", announced[0])
    assert announced[0] not in notices(out, "alice")
    assert posts(await h.advance(timedelta(days=3)), room) == []


async def test_a_leaving_author_cancels_their_proposal(h: Harness) -> None:
    await form_trio(h)
    pid, _ = await proposed(h)
    out = await h.say("alice", "trio leave confirm")
    assert any("cancelled" in t for t in posts(out, trio_room(h)))
    assert notices(out, "alice") == []
    assert "already decided" in error(await h.say("bob", f"vote {pid} yes")).text


async def test_numbers_are_per_trio_and_a_vote_reaches_only_its_own_trio(h: Harness) -> None:
    await form_trio(h)
    await form_trio(h, "dave", "erin", "frank")
    await h.say("alice", "propose a picnic")
    await h.say("bob", "vote 1 no")  # proposal #1 of the first trio is decided
    out = await h.say("dave", "propose a concert")
    assert "Proposal #1 is open" in replies(out)[0]  # the second trio's first: #1, not #2
    out = await h.say("erin", "vote 1 yes")  # erin's trio's #1, not the closed one elsewhere
    assert "counted" in replies(out)[0]
    out = await h.say("frank", "vote #1 yes")  # typed back as the bot writes it
    assert any("Proposal #1 by Dave" in t and "validated" in t
               for t in posts(out, room_of(h, "dave")))


async def test_in_several_trios_a_vote_choice_names_the_trio(h: Harness) -> None:
    await form_trio(h)
    await form_trio(h, "dave", "bob", "erin")  # bob is in two trios now, both “Les Trois”
    out = await h.say("alice", "propose a picnic")
    [asked] = [e for e in out if isinstance(e, Notify) and e.to == "bob"]
    assert [c.command for c in asked.choices] == ["vote #1 1 yes", "vote #1 1 no"]
    [asked] = [e for e in out if isinstance(e, Notify) and e.to == "carol"]
    assert [c.command for c in asked.choices] == ["vote 1 yes", "vote 1 no"]
    await h.say("dave", "propose a concert")  # the second trio's proposal #1
    assert "counted" in replies(await h.say("bob", "vote #1 1 yes"))[0]
    out = await h.say("carol", "vote 1 yes")
    assert any("Proposal #1 by Alice" in t and "validated" in t
               for t in posts(out, room_of(h, "alice")))
    assert "which one?" in replies(await h.say("bob", "vote 1 yes"))[0]
