"""A whole trio life, played from scripts through the console, checked on its JSON output."""

from __future__ import annotations

from pathlib import Path

from tests.console.scenario import dm, in_room, kinds, no_failures, play, script, texts

TRIO = ["alice", "bob", "carol"]
PAIRS = {"trio-1/alice+bob": ["alice", "bob"], "trio-1/alice+carol": ["alice", "carol"],
         "trio-1/bob+carol": ["bob", "carol"]}


async def test_formation_by_code_and_by_direct_invite(db_target: Path | str) -> None:
    p = await play(db_target, script("formation.txt"))
    no_failures(p.records)
    assert not kinds(p.after("bob: trio join $code"), "room_created")[1:]  # only bob's dm
    rooms = {r["room"]: r for r in kinds(p.after("carol: trio join $code"), "room_created")}
    assert rooms["trio-1"]["members"] == TRIO and rooms["trio-1"]["purpose"] == "trio"
    for name, members in PAIRS.items():
        assert rooms[name]["members"] == members and rooms[name]["purpose"] == "pair"
    assert all(r["encrypted"] is True for r in rooms.values())
    assert "charter" in texts(in_room(p.after("carol: trio join $code"), "trio-1"))
    refused = p.after("dave: trio join $code")
    assert kinds(refused, "error") and not [r for r in refused if r["room"] == "trio-1"]

    asked = dm(p.after("dave: trio invite @erin"), "erin")
    assert len(asked) == 1 and "trio accept" in asked[0]["text"]
    assert not kinds(p.after("erin: trio accept"), "room_created")
    assert "declined" in texts(dm(p.after("gina: trio decline"), "dave"))
    rooms = {r["room"]: r for r in kinds(p.after("frank: !trio accept"), "room_created")}
    assert rooms["trio-2"]["members"] == ["dave", "erin", "frank"]
    assert set(rooms) == {"trio-2", "trio-2/dave+erin", "trio-2/dave+frank", "trio-2/erin+frank"}
    assert all(r["encrypted"] for r in rooms.values())
    assert not [r for r in p.records if "gina" in (r.get("members") or []) and r["purpose"] != "dm"]
    info = in_room(p.after("erin@trio-2: !trio info"), "trio-2")
    assert info and info[0]["audience"] == ["dave", "erin", "frank"]


async def test_relance_reminder_and_away(db_target: Path | str) -> None:
    p = await play(db_target, script("rhythm.txt"))
    no_failures(p.records)
    first = p.after("alice@trio-1/alice+bob: Hello Bob, how was the concert?")
    assert [r["kind"] for r in first] == ["message"]
    assert first[0]["text"] is None and first[0]["audience"] == ["alice", "bob"]
    relance = p.after("alice@trio-1/alice+bob: Also, did you find your keys?")
    assert len(dm(relance, "alice")) == 1 and not dm(relance, "bob")
    assert not dm(p.after("alice@trio-1/alice+bob: And one more thing."), "alice")  # once
    assert not dm(p.after(":advance 2d", 0), "bob")
    reminder = dm(p.after(":advance 2d", 1), "bob")
    assert len(reminder) == 1 and "Alice" in reminder[0]["text"]
    assert not dm(p.after(":advance 4d", 0), "bob")  # one reminder per streak
    assert dm(p.after("bob: turn"), "bob")

    away = p.after("alice: away for 10d moving house")
    assert dm(away, "alice") and not kinds(away, "error")
    assert not dm(p.after(":advance 4d", 1), "alice")  # away: no reminder, no accrual
    assert not kinds(p.after("alice: back"), "error")
    after_back = dm(p.after(":advance 4d", 2), "alice")
    assert any("Carol" in r["text"] for r in after_back)


async def test_mentorship_with_confirmed_session_in_ledger(db_target: Path | str) -> None:
    p = await play(db_target, script("mentoring.txt"))
    outside = p.after('carol@trio-1: !session log @alice "bread baking" 1h')
    assert kinds(outside, "error"), "no session outside a recognised mentorship"
    no_failures(p.records)
    assert "mentor" in texts(p.after('carol@trio-1: !mentor ask @alice "bread baking"'))
    logged = p.after('alice@trio-1: !session log @carol "bread baking" 1h30 sourdough starter')
    assert not kinds(logged, "error") and dm(logged, "carol")
    before = texts(in_room(p.after("bob@trio-1: !ledger", 0), "trio-1"))
    after = texts(in_room(p.after("bob@trio-1: !ledger", 1), "trio-1"))
    assert "1h 30m" not in before.split("Who mentors whom")[0]
    assert "Alice: given 1h 30m" in after and "Carol: given none, received 1h 30m" in after
    assert "bread baking" in after


async def test_sos_is_seen_only_by_the_two_allies(db_target: Path | str) -> None:
    p = await play(db_target, script("sos.txt"))
    no_failures(p.records)
    out = p.after("alice: sos rough week at work")
    shared = [r for r in out if not r["room"].startswith("dm:")]
    assert shared and {r["room"] for r in shared} == {"trio-1/bob+carol"}
    assert all(r["audience"] == ["bob", "carol"] for r in shared)
    assert "rough week at work" in texts(shared)
    ack = dm(out, "alice")
    assert len(ack) == 1 and "rough week" not in ack[0]["text"]
    assert not [r for r in out if r["room"] in ("trio-1", "trio-1/alice+bob", "trio-1/alice+carol")]
    steps = p.after("bob@trio-1/bob+carol: !plan I will call you on Sunday evening")
    assert not [r for r in steps if "alice" in r["audience"]]
    nudged = p.after(":advance 25h")
    assert in_room(nudged, "trio-1/bob+carol") and not dm(nudged, "alice")
    first = p.after("carol@trio-1/bob+carol: !plan ready")
    assert not dm(first, "alice"), "one ally's ready is not the plan's"
    assert "Bob, if you agree" in texts(in_room(first, "trio-1/bob+carol"))
    ready = p.after("bob@trio-1/bob+carol: !plan ready")
    assert len(dm(ready, "alice")) == 1 and "ready" in texts(in_room(ready, "trio-1/bob+carol"))


async def test_validated_rejected_and_expired_proposals(db_target: Path | str) -> None:
    p = await play(db_target, script("proposals.txt"))
    opened = p.after("carol@trio-1: !propose a thread about our reading club")
    assert dm(opened, "alice") and dm(opened, "bob") and not dm(opened, "carol")
    first_vote = p.after("alice: vote 1 yes")
    assert [r["room"] for r in first_vote] == ["dm:alice"], "a vote stays private"
    validated = in_room(p.after("bob: vote 1 yes"), "trio-1")
    assert len(validated) == 1 and "validated" in validated[0]["text"]
    assert "not validated" not in validated[0]["text"]
    rejected = in_room(p.after("bob: vote 2 no"), "trio-1")
    assert len(rejected) == 1 and "not validated" in rejected[0]["text"]
    assert "Bob" not in rejected[0]["text"], "only the outcome, not who voted what"
    assert kinds(p.after("carol: vote 2 yes"), "error")  # already decided
    expired = in_room(p.after(":advance 49h"), "trio-1")
    assert len(expired) == 1 and "expired" in expired[0]["text"]
    no_failures(p.records)


async def test_leave_and_a_new_third(db_target: Path | str) -> None:
    p = await play(db_target, script("leave.txt"))
    no_failures([r for r in p.records if r["kind"] != "console_error"])
    assert not kinds(p.after("carol: trio leave"), "closed")  # asks to confirm first
    out = p.after("carol: trio leave confirm")
    assert sorted(r["room"] for r in kinds(out, "closed")) == ["trio-1/alice+carol", "trio-1/bob+carol"]
    assert [(r["room"], r["to"]) for r in kinds(out, "removed")] == [("trio-1", "carol")]
    assert kinds(p.after("carol@trio-1: hello?"), "console_error")
    assert "forming" in texts(dm(p.after("alice: trio info"), "alice"))
    joined = p.after("dave: trio join $code")
    assert [(r["room"], r["to"]) for r in kinds(joined, "invited")] == [("trio-1", "dave")]
    new = {r["room"]: r["members"] for r in kinds(joined, "room_created") if r["purpose"] == "pair"}
    assert new == {"trio-1/alice+dave": ["alice", "dave"], "trio-1/bob+dave": ["bob", "dave"]}
    said = p.after("dave@trio-1/alice+dave: Hi Alice, nice to meet you!")
    assert [r["kind"] for r in said] == ["message"]


async def test_block_and_report(db_target: Path | str) -> None:
    p = await play(db_target, script("block.txt"))
    no_failures(p.records)
    blocked = p.after("mallory: trio invite @alice", 0)
    assert not dm(blocked, "alice"), "a blocked person's invitation never reaches you"
    assert not [r for r in blocked if "alice" in r["audience"]]
    report = kinds(p.after("bob: report @mallory kept sending me invitations after I said no"),
                   "report")
    assert len(report) == 1 and report[0]["room"] == "moderators"
    assert "mallory" in report[0]["text"] and "bob" in report[0]["text"]
    assert not [r for r in p.records if r["room"] == "moderators" and r["kind"] != "report"]
    assert dm(p.after("mallory: trio invite @alice", 1), "alice")  # unblocked


async def test_taking_things_back_by_their_owner_and_cancel_words(db_target: Path | str) -> None:
    p = await play(db_target, script("undo.txt"))
    no_failures(p.records)
    asked = dm(p.after("alice: trio new Les Trois"), "alice")
    assert len(asked) == 1 and "still forming" in asked[0]["text"]
    assert "!trio rename #1 Les Trois" in asked[0]["text"]
    assert "!trio new Les Trois confirm" in asked[0]["text"]
    assert "is now “Les Trois”" in texts(p.after("alice: trio rename #1 Les Trois"))

    assert kinds(p.after("bob: trio uninvite @carol"), "error")
    withdrawn = p.after("alice: trio uninvite @carol")
    assert not kinds(withdrawn, "error") and "withdrew" in texts(dm(withdrawn, "carol"))

    cancel = p.after("alice: sos cancel")
    assert [r["room"] for r in cancel] == ["dm:alice"] and "!sos end" in cancel[0]["text"]
    assert kinds(p.after("bob: sos end"), "error")
    ended = p.after("alice: sos end")
    assert "ended their SOS" in texts(in_room(ended, "trio-1/bob+carol"))
    assert not [r for r in ended if r["room"] in ("trio-1", "trio-1/alice+bob")]

    assert "propose withdraw" in texts(p.after("carol@trio-1: !propose cancel"))
    assert kinds(p.after("alice: propose withdraw 1"), "error")
    gone = p.after("carol: propose withdraw 1")
    assert "no vote is needed" in texts(dm(gone, "alice")) and dm(gone, "bob")
    assert "withdrew" in texts(kinds(p.after("alice: vote 1 yes"), "error"))

    twice = p.after("alice: session log @bob python 1h", 1)
    assert "did not log it twice" in texts(dm(twice, "alice")) and not dm(twice, "bob")
    assert kinds(p.after("bob: session withdraw 1"), "error")
    taken = p.after("alice: session withdraw 1")
    assert not kinds(taken, "error") and "nothing to confirm" in texts(dm(taken, "bob"))
    assert "!unseek" in texts(kinds(p.after("dave: seek cancel"), "error"))
