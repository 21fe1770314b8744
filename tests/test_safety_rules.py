"""The safety promises of the specification, each tested on every path that could break it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core.effects import Effect, Notify, Reply
from tests.conftest import form_trio
from tests.helpers import Harness, code_in, notices, posts, replies


def _errors(out: list[Effect]) -> list[str]:
    return [e.text for e in out if isinstance(e, Reply) and e.error]


async def _members(h: Harness, trio: int = 1) -> set[str]:
    async with h.core.db.transaction() as tx:
        rows = await tx.all("SELECT member_id FROM trio_members WHERE trio_id = ?", (trio,))
    return {r[0] for r in rows}


async def _code(h: Harness, who: str, command: str = "trio invite") -> str:
    return code_in(next(t for t in replies(await h.say(who, command)) if "Invite code" in t))


# --- 1. Seating checks blocks both ways, on every way in -------------------------------

BLOCKS = [("alice", "mallory"), ("mallory", "alice"), ("bob", "mallory"), ("mallory", "bob")]


async def _duo(h: Harness) -> str:
    """Alice and Bob in a forming trio; returns a code Alice made before any block."""
    code = await _code(h, "alice", "trio new Les Trois")
    await h.say("bob", f"trio join {code}")
    return await _code(h, "alice")


async def _refused(h: Harness, out: list[Effect]) -> None:
    assert await _members(h) == {"alice", "bob"}
    assert not [e for e in out if isinstance(e, Notify)], "nobody is told anything"
    [error] = _errors(out)
    assert "cannot be used" in error and "block" not in error.lower()
    assert "Alice" not in error and "Bob" not in error, "never who blocked whom"


@pytest.mark.parametrize(("blocker", "blocked"), BLOCKS)
async def test_no_code_seats_two_people_with_a_block(h: Harness, blocker: str, blocked: str) -> None:
    await h.say("mallory", "help")
    old_code = await _duo(h)
    await h.say(blocker, f"block @{blocked}")
    new_code = await _code(h, "bob")
    for code in (old_code, new_code):
        await _refused(h, await h.say("mallory", f"trio join {code}"))


@pytest.mark.parametrize(("blocker", "blocked"), BLOCKS)
async def test_no_invitation_seats_two_people_with_a_block(h: Harness, blocker: str,
                                                           blocked: str) -> None:
    await h.say("mallory", "help")
    await _duo(h)
    await h.say(blocker, f"block @{blocked}")
    inviter = "bob" if blocker == "alice" or blocked == "alice" else "alice"
    out = await h.say(inviter, "trio invite @mallory")
    assert notices(out, "mallory") == [], "an invitation that could never seat is not sent"
    out = await h.say("mallory", "trio accept")
    assert await _members(h) == {"alice", "bob"} and _errors(out)
    assert "Les Trois" not in replies(await h.say("mallory", "trio list"))[0]


async def test_a_block_after_an_invitation_keeps_the_invitee_out(h: Harness) -> None:
    await h.say("mallory", "help")
    await _duo(h)
    assert notices(await h.say("bob", "trio invite @mallory"), "mallory")
    await h.say("alice", "block @mallory")  # not the inviter
    out = await h.say("mallory", "trio accept")
    assert await _members(h) == {"alice", "bob"} and _errors(out)


# --- 8. Invitations do not outlive the members they named ------------------------------


async def test_a_leavers_invitation_and_codes_die_with_the_seat(h: Harness) -> None:
    await _duo(h)
    code = await _code(h, "alice")
    invite = notices(await h.say("alice", "trio invite @carol"), "carol")
    assert invite and "(Alice (alice), Bob (bob))" in invite[0]
    out = await h.say("alice", "trio leave confirm")
    assert any("withdrawn" in t for t in notices(out, "carol"))
    out = await h.say("carol", "trio accept")
    assert _errors(out) and await _members(h) == {"bob"}
    out = await h.say("dave", f"trio join {code}")
    assert _errors(out) and await _members(h) == {"bob"}
    fresh = await _code(h, "bob")  # the one who stayed can still invite
    await h.say("dave", f"trio join {fresh}")
    assert await _members(h) == {"bob", "dave"}


async def test_a_new_member_withdraws_invitations_naming_the_old_ones(h: Harness) -> None:
    code = await _code(h, "alice", "trio new Les Trois")
    invite = notices(await h.say("alice", "trio invite @carol"), "carol")
    assert invite and "(Alice (alice))" in invite[0]
    out = await h.say("bob", f"trio join {code}")
    assert any("withdrawn" in t for t in notices(out, "carol"))
    assert any("withdrawn" in t for t in notices(out, "alice"))
    assert _errors(await h.say("carol", "trio accept"))
    assert await _members(h) == {"alice", "bob"}


# --- 12. Personal invitations are rate-limited -----------------------------------------


async def test_invitations_are_limited_per_inviter_per_day(h: Harness) -> None:
    sent = 0
    for i in range(30):
        await h.say("mallory", f"trio new Lure {i}")
        out = await h.say("mallory", f"trio invite #lure-{i} @alice")
        sent += len(notices(out, "alice"))
        await h.say("mallory", f"trio leave #lure-{i} confirm")
    assert sent <= h.core.settings.invitations_received
    sent = 0
    for i in range(30):
        await h.say("mallory", f"trio new Bait {i}")
        out = await h.say("mallory", f"trio invite #bait-{i} @person{i}")
        sent += len(notices(out, f"person{i}"))
        await h.say("mallory", f"trio leave #bait-{i} confirm")
    assert sent <= h.core.settings.invitations_sent
    assert any("tomorrow" in e for e in _errors(out))
    await h.advance(timedelta(days=1, minutes=1))
    await h.say("mallory", "trio new Again")
    assert notices(await h.say("mallory", "trio invite @alice"), "alice")


# --- 4. Held notices remember who they come from ---------------------------------------


async def test_a_block_made_during_quiet_hours_stops_held_notices(h: Harness) -> None:
    await form_trio(h)
    await h.say("alice", "quiet 08:00-12:00")  # the fake clock reads 09:00 UTC
    for command in ("propose a public thread", "away for 2d", "trio settings patience 2d"):
        assert notices(await h.say("bob", command), "alice") == []
    await h.say("alice", "block @bob")
    out = await h.advance(timedelta(hours=4))
    assert notices(out, "alice") == []
    assert not [e for e in out if isinstance(e, Notify) and "Bob" in e.text and e.to == "alice"]


# --- 2, 3. A block inside a trio: words never shown, no reminders, proposals still decidable


async def _rooms(h: Harness) -> dict[tuple[str, ...], int]:
    from core.effects import CreateRoom
    return {e.members: e.room for e in h.log if isinstance(e, CreateRoom)}


@pytest.mark.parametrize("blocked_ally", ["carol", "bob"])
async def test_a_blocked_allys_plan_steps_never_reach_the_blocker(h: Harness,
                                                                  blocked_ally: str) -> None:
    await form_trio(h)
    line = (await _rooms(h))[("bob", "carol")]
    other = "bob" if blocked_ally == "carol" else "carol"
    await h.say("alice", f"block @{blocked_ally}")
    await h.say("alice", "sos rough week")
    await h.say(blocked_ally, "plan BLOCKED-WORDS", room=line)
    await h.say(other, "plan kind words", room=line)
    out = await h.say(other, "plan ready", room=line)
    [plan] = notices(out, "alice")
    assert "BLOCKED-WORDS" not in plan and "kind words" in plan
    assert blocked_ally.capitalize() not in plan


async def test_a_plan_written_only_by_the_blocked_ally_arrives_empty(h: Harness) -> None:
    await form_trio(h)
    line = (await _rooms(h))[("bob", "carol")]
    await h.say("alice", "block @carol")
    await h.say("alice", "sos rough week")
    await h.say("carol", "plan CAROL-WORDS", room=line)
    out = await h.say("bob", "plan ready", room=line)
    [plan] = notices(out, "alice")
    assert "CAROL-WORDS" not in plan and "Carol" not in plan


@pytest.mark.parametrize(("blocker", "blocked"), [("alice", "carol"), ("carol", "alice")])
async def test_no_turn_reminder_or_relance_between_two_with_a_block(h: Harness, blocker: str,
                                                                   blocked: str) -> None:
    await form_trio(h)
    line = (await _rooms(h))[("alice", "carol")]
    await h.say(blocker, f"block @{blocked}")
    await h.write("carol", line)
    out = await h.write("carol", line)  # a relance: Alice has not answered
    assert notices(out, "carol") == []
    out = await h.advance(timedelta(days=10))
    assert notices(out, "alice") == [] and notices(out, "carol") == []
    await h.write("alice", line)
    out = await h.advance(timedelta(days=10))
    assert notices(out, "alice") == [] and notices(out, "carol") == []


async def test_reminders_about_others_still_run_beside_a_block(h: Harness) -> None:
    await form_trio(h)
    line = (await _rooms(h))[("alice", "bob")]
    await h.say("alice", "block @carol")
    await h.write("bob", line)
    out = await h.advance(timedelta(days=4))
    assert any("Bob wrote to you" in t for t in notices(out, "alice"))


@pytest.mark.parametrize(("blocker", "blocked"), [("alice", "carol"), ("carol", "alice")])
async def test_a_proposal_needs_only_the_ally_without_a_block(h: Harness, blocker: str,
                                                              blocked: str) -> None:
    await form_trio(h)
    await h.say(blocker, f"block @{blocked}")
    out = await h.say("carol", "propose PROPOSAL-WORDS")
    assert notices(out, "alice") == [] and len(notices(out, "bob")) == 1
    [told] = replies(out)
    assert "Bob is asked" in told and "Alice" not in told, "the author is told the truth"
    assert _errors(await h.say("alice", "vote 1 yes")), "the blocked ally does not vote"
    out = await h.say("bob", "vote 1 yes")
    assert any("validated" in t for t in posts(out, 1))


async def test_a_block_after_a_vote_does_not_stand_in_for_the_other_ally(h: Harness) -> None:
    await form_trio(h)
    await h.say("carol", "propose a thread")
    await h.say("alice", "vote 1 yes")
    out = await h.say("alice", "block @carol")
    out = await h.say("bob", "vote 1 yes")
    assert any("validated" in t for t in posts(out, 1))


async def test_nobody_can_be_asked_when_both_allies_are_blocked(h: Harness) -> None:
    await form_trio(h)
    await h.say("carol", "block @alice")
    await h.say("bob", "block @carol")
    out = await h.say("carol", "propose a thread")
    assert _errors(out) and not notices(out, "alice") and not notices(out, "bob")


async def test_a_blocked_trio_mates_away_note_is_not_shown(h: Harness) -> None:
    await form_trio(h)
    await h.say("alice", "block @carol")
    await h.say("carol", "away for 2d CAROL-NOTE")
    assert "CAROL-NOTE" not in replies(await h.say("alice", "turn"))[0]
    assert "CAROL-NOTE" in replies(await h.say("bob", "turn"))[0]
