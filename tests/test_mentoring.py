"""The mentoring barter through the real core and a real SQLite file."""

from __future__ import annotations

import re

from core.effects import Effect, Reply
from core.mentoring import MAX_SKILLS
from tests.conftest import form_trio
from tests.helpers import Harness, notices


def errors(effects: list[Effect]) -> list[str]:
    """The texts of the error replies among ``effects``."""
    return [e.text for e in effects if isinstance(e, Reply) and e.error]


def ok(effects: list[Effect]) -> str:
    """The one successful reply among ``effects``."""
    assert not errors(effects), errors(effects)
    found = [e.text for e in effects if isinstance(e, Reply)]
    assert len(found) == 1, found
    return found[0]


def row_of(ledger: str, name: str) -> str:
    """The ledger line of one person."""
    return next(line for line in ledger.splitlines() if line.startswith(f"• {name}:"))


async def logged(h: Harness, who: str, text: str) -> int:
    """``who`` logs a session; returns its id."""
    reply = ok(await h.say(who, f"session log {text}"))
    match = re.search(r"Logged session (\d+)", reply)
    assert match, reply
    return int(match.group(1))


async def test_ask_recognises_the_mentor_who_accepts_before_it_counts(h: Harness) -> None:
    await form_trio(h)
    out = await h.say("alice", "mentor ask @bob python")
    assert "You recognise Bob as a mentor on “python” (mentorship 1)" in ok(out)
    assert "I asked Bob" in ok(out)
    told = notices(out, "bob")
    assert told and "Alice asks you to mentor them on “python”" in told[0]
    assert "!mentor accept #les-trois 1" in told[0]  # a choice: Bob is asked, not enrolled
    assert "!offer python" in told[0]  # not listed in Bob's offers: still allowed, with a tip
    assert "mentorship 1" not in ok(await h.say("carol", "ledger"))  # not before Bob's yes
    early = await h.say("alice", "session log @bob python 45m")
    assert errors(early) and "has not agreed" in errors(early)[0]
    again = await h.say("alice", "mentor ask @bob python")
    assert errors(again) and "already asked Bob" in errors(again)[0]
    wrong = await h.say("carol", "mentor accept")
    assert errors(wrong) and "no mentoring offer" in errors(wrong)[0]
    yes = await h.say("bob", "mentor accept")
    assert "You mentor Alice on “python”" in ok(yes)
    assert any("Bob agreed to mentor you" in t for t in notices(yes, "alice"))
    ledger = ok(await h.say("carol", "ledger"))
    assert "Bob → Alice on “python” (recognised; mentorship 1)" in ledger
    await logged(h, "bob", "@alice python 45m")
    again = await h.say("alice", "mentor ask @bob python")
    assert errors(again) and "already mentors" in errors(again)[0]


async def test_an_offer_back_agrees_to_a_request(h: Harness) -> None:
    await form_trio(h)
    await h.say("alice", "mentor ask @bob python")
    out = await h.say("bob", "mentor offer @alice python")
    assert "You mentor Alice on “python”" in ok(out)
    assert "(recognised; mentorship 1)" in ok(await h.say("carol", "ledger"))


async def test_offer_needs_the_mentees_accept(h: Harness) -> None:
    await form_trio(h)
    out = await h.say("carol", 'mentor offer @alice "bread baking"')
    assert "counts once Alice accepts" in ok(out)
    told = notices(out, "alice")
    assert told and "!mentor accept #les-trois 1" in told[0]
    early = await h.say("carol", 'session log @alice "bread baking" 1h')
    assert errors(early) and "has not accepted" in errors(early)[0]
    assert "offered, waiting for Alice to accept" in ok(await h.say("bob", "ledger"))
    wrong = await h.say("bob", "mentor accept")
    assert errors(wrong) and "no mentoring offer" in errors(wrong)[0]
    out = await h.say("alice", "mentor accept")
    assert "You recognise Carol as your mentor on “bread baking”" in ok(out)
    assert any("accepted your offer" in t for t in notices(out, "carol"))
    await logged(h, "carol", '@alice "bread baking" 1h')


async def test_several_offers_need_an_id_and_ask_recognises_an_offer(h: Harness) -> None:
    await form_trio(h)
    await h.say("bob", "mentor offer @alice python")
    await h.say("carol", "mentor offer @alice guitar")
    both = await h.say("alice", "mentor accept")
    assert errors(both) and "2 mentoring offers" in errors(both)[0]
    assert "Bob mentors Alice on “python”" in errors(both)[0] and "!mentor accept #les-trois 1" in errors(both)[0]
    assert "Carol as your mentor on “guitar”" in ok(await h.say("alice", "mentor accept 2"))
    # Asking for what was offered is recognition too: the offer becomes recognised.
    assert "Bob as your mentor on “python” (mentorship 1)" in ok(await h.say("alice", "mentor ask @bob python"))
    ledger = ok(await h.say("alice", "ledger"))
    assert "offered" not in ledger and ledger.count("(recognised") == 2


async def test_confirmed_session_enters_the_ledger(h: Harness) -> None:
    await form_trio(h)
    await h.say("alice", "mentor ask @bob python")
    await h.say("bob", "mentor accept")
    out = await h.say("bob", "session log @alice python 1h30 closures")
    sid = int(re.findall(r"session (\d+)", ok(out))[0])
    told = notices(out, "alice")
    assert told and f"!session confirm #les-trois {sid}" in told[0] and "closures" in told[0]
    out = await h.say("alice", f"session confirm {sid}")
    assert "in the ledger now" in ok(out)
    assert any("Alice confirmed session" in t for t in notices(out, "bob"))
    # The mentee may log too; the mentor confirms.
    sid2 = await logged(h, "alice", "@bob python 1h")
    ok(await h.say("bob", f"session confirm {sid2}"))
    ledger = ok(await h.say("carol", "ledger"))
    assert row_of(ledger, "Bob") == "• Bob: given 2h 30m, received none, balance +2h 30m"
    assert row_of(ledger, "Alice") == "• Alice: given none, received 2h 30m, balance -2h 30m"
    assert row_of(ledger, "Carol") == "• Carol: given none, received none, balance even"
    assert "Bob → Alice on “python” (recognised, 2h 30m confirmed; mentorship 1)" in ledger


async def test_unconfirmed_session_does_not_count(h: Harness) -> None:
    await form_trio(h)
    await h.say("alice", "mentor ask @bob python")
    await h.say("bob", "mentor accept")
    sid = await logged(h, "bob", "@alice python 2h")
    ledger = ok(await h.say("alice", "ledger"))
    assert row_of(ledger, "Bob") == "• Bob: given none, received none, balance even"
    assert f"session {sid}: 2h of “python”" in ledger and "Alice confirms with" in ledger
    assert "No confirmed session yet" in ledger


async def test_no_session_outside_a_recognised_mentorship(h: Harness) -> None:
    await form_trio(h)
    out = await h.say("alice", "session log @bob python 1h")
    assert errors(out)
    assert "no recognised mentorship" in errors(out)[0]
    assert "!mentor ask @bob python" in errors(out)[0] and "!mentor offer @bob python" in errors(out)[0]
    # A mentorship on another skill does not cover this one.
    await h.say("alice", "mentor ask @bob chess")
    await h.say("bob", "mentor accept")
    assert errors(await h.say("alice", "session log @bob python 1h"))
    # Nor does one with another person.
    assert errors(await h.say("carol", "session log @bob chess 1h"))


async def test_only_the_other_party_confirms_once(h: Harness) -> None:
    await form_trio(h)
    await h.say("alice", "mentor ask @bob python")
    await h.say("bob", "mentor accept")
    sid = await logged(h, "bob", "@alice python 1h")
    own = await h.say("bob", f"session confirm {sid}")
    assert errors(own) and "You logged" in errors(own)[0] and "Alice confirms it" in errors(own)[0]
    third = await h.say("carol", f"session confirm {sid}")
    assert errors(third) and "Only Bob and Alice" in errors(third)[0]
    ok(await h.say("alice", f"session confirm {sid}"))
    twice = await h.say("alice", f"session confirm {sid}")
    assert errors(twice) and "already confirmed" in errors(twice)[0]
    unknown = await h.say("alice", "session confirm 999")
    assert errors(unknown) and "no session 999" in errors(unknown)[0]
    ledger = ok(await h.say("alice", "ledger"))
    assert row_of(ledger, "Bob") == "• Bob: given 1h, received none, balance +1h"


async def test_mentor_end(h: Harness) -> None:
    await form_trio(h)
    none = await h.say("alice", "mentor end")
    assert errors(none) and "no mentorship going" in errors(none)[0]
    await h.say("alice", "mentor ask @bob python")
    await h.say("bob", "mentor accept")
    await h.say("alice", "mentor ask @carol guitar")
    await h.say("carol", "mentor accept")
    sid = await logged(h, "alice", "@bob python 1h")
    ok(await h.say("bob", f"session confirm {sid}"))
    several = await h.say("alice", "mentor end")
    assert errors(several) and "2 mentorships" in errors(several)[0]
    stranger = await h.say("carol", "mentor end 1")
    assert errors(stranger) and "no mentorship numbered 1" in errors(stranger)[0]
    out = await h.say("bob", "mentor end 1")  # the mentor may end it too
    assert "Ended mentorship 1" in ok(out)
    assert any("Bob ended mentorship 1" in t for t in notices(out, "alice"))
    again = await h.say("alice", "mentor end 1")
    assert errors(again) and "already ended" in errors(again)[0]
    after = await h.say("alice", "session log @bob python 1h")
    assert errors(after) and "no recognised mentorship" in errors(after)[0]
    ledger = ok(await h.say("alice", "ledger"))
    assert row_of(ledger, "Bob") == "• Bob: given 1h, received none, balance +1h"
    assert "(ended, 1h confirmed; mentorship 1)" in ledger
    # With one left, no id is needed; after it, the same pair may start again.
    assert "Ended mentorship 2" in ok(await h.say("carol", "mentor end"))
    assert "mentorship 3" in ok(await h.say("alice", "mentor ask @bob python"))


async def test_leaving_ends_mentorships_and_keeps_confirmed_history(h: Harness) -> None:
    await form_trio(h)
    await h.say("alice", "mentor ask @carol guitar")
    await h.say("carol", "mentor accept")
    await h.say("carol", "mentor offer @bob knitting")
    done = await logged(h, "carol", "@alice guitar 2h")
    ok(await h.say("alice", f"session confirm {done}"))
    waiting_on_carol = await logged(h, "alice", "@carol guitar 1h")
    by_carol = await logged(h, "carol", "@alice guitar 30m")
    await h.say("carol", "trio leave confirm")
    ledger = ok(await h.say("alice", "ledger"))
    assert row_of(ledger, "Carol") == "• Carol: given 2h, received none, balance +2h"
    assert "Carol → Alice on “guitar” (ended, 2h confirmed; mentorship 1)" in ledger
    assert "knitting" not in ledger  # the offer ended with nothing confirmed
    assert f"session {waiting_on_carol}:" not in ledger  # Carol can no longer confirm it
    assert f"session {by_carol}:" in ledger  # Alice still can
    ok(await h.say("alice", f"session confirm {by_carol}"))
    assert row_of(ok(await h.say("bob", "ledger")), "Carol").startswith("• Carol: given 2h 30m")
    gone = await h.say("carol", "session confirm 1")
    assert errors(gone)


async def test_former_member_shows_as_such(h: Harness) -> None:
    await form_trio(h)
    await h.say("alice", "mentor ask @carol guitar")
    await h.say("carol", "mentor accept")
    sid = await logged(h, "carol", "@alice guitar 1h")
    ok(await h.say("alice", f"session confirm {sid}"))
    await h.say("carol", "trio leave confirm")
    async with h.core.db.transaction() as tx:  # what `privacy forget` does to Carol's ids
        await tx.run("UPDATE mentorships SET mentor = 'former:7' WHERE mentor = 'carol'")
        await tx.run("UPDATE sessions SET logged_by = 'former:7' WHERE logged_by = 'carol'")
        await tx.run("DELETE FROM members WHERE id = 'carol'")
    ledger = ok(await h.say("alice", "ledger"))
    assert "• a former member: given 1h, received none, balance +1h" in ledger
    assert "a former member → Alice on “guitar”" in ledger
    assert "carol" not in ledger.lower()


async def test_imbalance_note(h: Harness) -> None:
    await form_trio(h)
    await h.say("carol", "want knitting")
    for mentee in ("alice", "bob"):
        await h.say(mentee, "mentor ask @carol guitar")
        await h.say("carol", "mentor accept")
        sid = await logged(h, "carol", f"@{mentee} guitar 2h")
        ok(await h.say(mentee, f"session confirm {sid}"))
    ledger = ok(await h.say("alice", "ledger"))
    assert ("Carol has given 4h and received none — what could you offer Carol? "
            "(Carol would like to learn: knitting.)") in ledger
    own = ok(await h.say("carol", "ledger"))
    assert "You have given 4h and received none" in own
    # Once Carol receives about as much, the note gives way.
    await h.say("carol", "mentor ask @alice knitting")
    await h.say("alice", "mentor accept")
    sid = await logged(h, "alice", "@carol knitting 3h")
    ok(await h.say("carol", f"session confirm {sid}"))
    ledger = ok(await h.say("bob", "ledger"))
    assert "what could you offer Carol" not in ledger
    assert "The barter is balanced" in ledger  # Alice: 3h given, 2h received, within the margin


async def test_bad_inputs_get_friendly_errors(h: Harness) -> None:
    await form_trio(h)
    await h.say("alice", "mentor ask @bob python")
    await h.say("bob", "mentor accept")
    for duration, words in (("0m", "out of range"), ("20h", "out of range"),
                            ("garbage", "could not read")):
        out = await h.say("bob", f"session log @alice python {duration}")
        assert errors(out) and words in errors(out)[0] and "45m" in errors(out)[0]
    unknown = await h.say("alice", "mentor ask @zed python")
    assert errors(unknown) and "don't know anyone called @zed" in errors(unknown)[0]
    self_ = await h.say("alice", "mentor offer @alice python")
    assert errors(self_) and "not yourself" in errors(self_)[0] and "@bob" in errors(self_)[0]
    long_skill = "x" * 45
    for text in (f"offer {long_skill}", f"mentor ask @bob {long_skill}",
                 f"session log @bob {long_skill} 1h"):
        out = await h.say("alice", text)
        assert errors(out) and "too long" in errors(out)[0], text
    outsider = await h.say("dave", "mentor ask @bob python")
    assert errors(outsider) and "not in a trio" in errors(outsider)[0]
    nothing_logged = ok(await h.say("alice", "ledger"))
    assert "Waiting for confirmation" not in nothing_logged


async def test_skills_on_the_profile(h: Harness) -> None:
    assert "no skills yet" in ok(await h.say("alice", "skills"))
    assert "Added “cooking”" in ok(await h.say("alice", "offer Cooking"))
    assert "already" in ok(await h.say("alice", "offer cooking"))
    ok(await h.say("alice", 'want "public speaking"'))
    listing = ok(await h.say("alice", "skills"))
    assert "You can mentor: cooking" in listing and "learn: public speaking" in listing
    assert "Removed" in ok(await h.say("alice", "skills remove public speaking"))
    assert "learn: nothing listed yet" in ok(await h.say("alice", "skills"))
    missing = await h.say("alice", "skills remove juggling")
    assert errors(missing) and "not on your lists" in errors(missing)[0]
    bare = await h.say("alice", "skills remove")
    assert errors(bare) and "Which skill" in errors(bare)[0]
    for i in range(MAX_SKILLS - 1):
        ok(await h.say("alice", f"offer skill{i}"))
    full = await h.say("alice", "offer one-too-many")
    assert errors(full) and f"{MAX_SKILLS} skills" in errors(full)[0]


async def test_mentorships_and_sessions_are_numbered_per_trio(h: Harness) -> None:
    await form_trio(h)
    await form_trio(h, "dave", "erin", "frank")
    for mentee, mentor in (("alice", "bob"), ("dave", "erin")):
        assert "(mentorship 1)" in ok(await h.say(mentee, f"mentor ask @{mentor} python"))
        await h.say(mentor, "mentor accept 1")
        assert await logged(h, mentor, f"@{mentee} python 1h") == 1
    assert "Confirmed session 1" in ok(await h.say("dave", "session confirm 1"))
    assert "(recognised, 1h confirmed; mentorship 1)" in ok(await h.say("frank", "ledger"))
    assert "1h confirmed" not in ok(await h.say("carol", "ledger"))  # the other trio's #1
    assert "Ended mentorship 1" in ok(await h.say("alice", "mentor end 1"))
