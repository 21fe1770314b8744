"""Block, unblock and report through the real core and a real SQLite file."""

from __future__ import annotations

from datetime import timedelta

from core.effects import CreateRoom, Effect, Notify, Post, Reply, ReportToModerators
from tests.conftest import form_trio
from tests.helpers import Harness, notices, replies


def _private_replies(effects: list[Effect], to: str) -> list[Reply]:
    return [e for e in effects if isinstance(e, Reply) and e.to == to and e.private]


def _error(effects: list[Effect]) -> str:
    """The text of the one error reply among ``effects``."""
    errors = [e.text for e in effects if isinstance(e, Reply) and e.error]
    assert len(errors) == 1, effects
    return errors[0]


async def _blocks(h: Harness) -> list[tuple[str, str]]:
    async with h.core.db.transaction() as tx:
        rows = await tx.all("SELECT blocker, blocked FROM blocks ORDER BY blocker, blocked")
    return [(r[0], r[1]) for r in rows]


async def test_block_stops_invitations_and_unblock_restores_them(h: Harness) -> None:
    await h.say("bob", "trio new Duo")
    out = await h.say("alice", "block @bob")
    assert _private_replies(out, "alice")[0].text.startswith("You blocked Bob (bob).")
    assert not [e for e in out if isinstance(e, Notify | Post)], "a block is never announced"
    out = await h.say("bob", "trio invite @alice")
    assert notices(out, "alice") == []
    assert "I asked @alice" in replies(out)[0]  # bob is not told about the block
    out = await h.say("alice", "unblock @bob")
    assert "You unblocked Bob" in _private_replies(out, "alice")[0].text
    out = await h.say("bob", "trio invite @alice")
    assert notices(out, "alice") and "trio accept" in notices(out, "alice")[0]


async def test_block_someone_the_bot_has_never_seen(h: Harness) -> None:
    out = await h.say("alice", "block @mallory")
    assert "You blocked mallory" in replies(out)[0]
    assert await _blocks(h) == [("alice", "mallory")]
    await h.say("mallory", "trio new Lure")
    out = await h.say("mallory", "trio invite @alice")
    assert notices(out, "alice") == []
    again = await h.say("alice", "block @mallory")
    assert "already blocked" in replies(again)[0]
    assert await _blocks(h) == [("alice", "mallory")]


async def test_block_withdraws_a_pending_invitation_quietly(h: Harness) -> None:
    await h.say("alice", "help")
    await h.say("bob", "trio new Duo")
    assert notices(await h.say("bob", "trio invite @alice"), "alice")
    out = await h.say("alice", "block @bob")
    assert notices(out, "bob") == []
    listing = replies(await h.say("alice", "trio list"))[0]
    assert "Duo" not in listing


async def test_blocking_oneself_is_a_friendly_error(h: Harness) -> None:
    out = await h.say("alice", "block @alice")
    assert len(out) == 1 and "cannot block yourself" in _error(out)
    assert await _blocks(h) == []
    out = await h.say("alice", "report @alice spam")
    assert "cannot report yourself" in _error(out)


async def test_block_inside_a_trio_points_to_leave_and_report(h: Harness) -> None:
    await form_trio(h)
    trio_room = next(e.room for e in h.log if isinstance(e, CreateRoom) and e.purpose == "trio")
    out = await h.say("alice", "block @bob", room=trio_room)
    text = _private_replies(out, "alice")[0].text
    assert "does not remove anyone from a trio" in text
    assert "direct chat" in text  # typed where others read: a tip to be discreet
    assert "trio leave" in text and "report @bob" in text
    assert [e for e in out if not isinstance(e, Reply)] == []
    info = replies(await h.say("alice", "trio info"))[0]
    assert "Bob" in info  # still in the trio


async def test_unblock_someone_not_blocked(h: Harness) -> None:
    await h.say("bob", "help")
    out = await h.say("alice", "unblock @bob")
    assert "have not blocked" in _error(out)


async def test_report_reaches_moderators_with_only_accounts_trio_and_reason(h: Harness) -> None:
    await form_trio(h)
    await h.say("dave", "help")
    out = await h.say("alice", "report @bob He said: “leave or else”  (twice)")
    reports = [e for e in out if isinstance(e, ReportToModerators)]
    assert len(reports) == 1
    async with h.core.db.transaction() as tx:
        trio_id = await tx.value("SELECT id FROM trios")
    assert reports[0].text.split("\n") == [
        "Safety report",
        "Reported: Bob (bob)",
        "Reported by: Alice (alice)",
        f"Shared trios: “Les Trois” (#les-trois, id {trio_id}, active)",
        'Reason, as typed by the reporter: “He said: "leave or else"  (twice)”',  # quoted, inert
    ]
    ack = _private_replies(out, "alice")
    assert len(ack) == 1 and "moderators" in ack[0].text and "not told" in ack[0].text
    assert [e for e in out if not isinstance(e, Reply | ReportToModerators)] == []
    out = await h.say("alice", "report @dave spam invitations")
    text = next(e for e in out if isinstance(e, ReportToModerators)).text
    assert "Shared trios: none" in text


async def test_reports_are_rate_limited_per_day(h: Harness) -> None:
    await h.say("bob", "help")
    for i in range(5):
        out = await h.say("alice", f"report @bob incident {i}")
        assert [e for e in out if isinstance(e, ReportToModerators)]
    out = await h.say("alice", "report @bob incident 5")
    assert not [e for e in out if isinstance(e, ReportToModerators)]
    assert "5 reports" in _error(out)
    out = await h.say("carol", "report @bob incident")  # the limit is per reporter
    assert [e for e in out if isinstance(e, ReportToModerators)]
    await h.advance(timedelta(days=1, minutes=1))
    out = await h.say("alice", "report @bob incident 6")
    assert [e for e in out if isinstance(e, ReportToModerators)]


async def test_in_a_trio_room_a_name_means_the_trio_mate_first(h: Harness) -> None:
    await form_trio(h, "alice", "sam", "carol")
    await h.say("SAM", "help")  # another account, also shown as “Sam”
    trio_room = next(e.room for e in h.log if isinstance(e, CreateRoom) and e.purpose == "trio")
    await h.say("alice", "block Sam", room=trio_room)
    assert await _blocks(h) == [("alice", "sam")]


async def test_relayed_notices_from_a_blocked_trio_mate_never_reach(h: Harness) -> None:
    await form_trio(h)
    await h.say("alice", "block @bob")
    out = await h.say("bob", "propose a public thread")
    assert notices(out, "alice") == [] and len(notices(out, "carol")) == 1
    out = await h.say("bob", "away for 2d travelling")
    assert notices(out, "alice") == [] and len(notices(out, "carol")) == 1
    out = await h.say("bob", "trio settings patience 2d")
    assert notices(out, "alice") == [] and len(notices(out, "carol")) == 1
    await h.say("alice", "unblock @bob")
    out = await h.say("bob", "back")
    assert len(notices(out, "alice")) == 1
