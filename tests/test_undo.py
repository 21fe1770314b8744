"""Taking things back: each withdraw/end by its owner works and by anyone else is refused;
cancel words ask instead of acting; a session logged twice and a second forming trio ask."""

from __future__ import annotations

from datetime import timedelta

from core.effects import CreateRoom, Effect, Notify, Post, Reply, ReportToModerators
from tests.conftest import form_trio
from tests.helpers import Harness, code_in, notices, posts, replies


def lines(h: Harness) -> dict[str, int]:
    """Room ids by name: ``trio`` and ``alice+bob``-style pair lines."""
    return {("trio" if e.purpose == "trio" else "+".join(sorted(e.members))): e.room
            for e in h.log if isinstance(e, CreateRoom)}


def answer(out: list[Effect]) -> Reply:
    """The one reply among ``out``."""
    found = [e for e in out if isinstance(e, Reply)]
    assert len(found) == 1, out
    return found[0]


def commands(reply: Reply) -> list[str]:
    """The commands a reply offers as choices."""
    return [c.command for c in reply.choices]


async def count(h: Harness, sql: str) -> int:
    async with h.core.db.read() as tx:
        return int(await tx.value(sql))


# --- sos end ---------------------------------------------------------------------------


async def test_sos_end_by_its_member_closes_it_and_tells_the_allies(h: Harness) -> None:
    await form_trio(h)
    rooms = lines(h)
    await h.say("alice", "sos rough week")
    out = await h.say("alice", "sos end")
    told = posts(out, rooms["bob+carol"])
    assert len(told) == 1 and "Alice ended their SOS" in told[0]
    assert "ended" in answer(out).text and not answer(out).error
    assert not [e for e in out if isinstance(e, Post) and e.room != rooms["bob+carol"]]
    assert not await h.advance(timedelta(hours=25)), "no plan reminder after the end"
    assert await count(h, "SELECT count(*) FROM sos") == 0


async def test_sos_end_by_an_ally_is_refused(h: Harness) -> None:
    await form_trio(h)
    await h.say("alice", "sos rough week")
    refused = answer(await h.say("bob", "sos end"))
    assert refused.error and "Only Alice can end" in refused.text
    assert await count(h, "SELECT count(*) FROM sos") == 1
    none = answer(await h.say("alice", "sos end #les-trois"))
    assert not none.error
    assert answer(await h.say("alice", "sos end")).error  # nothing left to end


# --- propose withdraw ------------------------------------------------------------------


async def test_propose_withdraw_by_its_author_tells_the_voters(h: Harness) -> None:
    await form_trio(h)
    await h.say("alice", "propose a reading thread")
    out = await h.say("alice", "propose withdraw")
    assert "withdrew proposal #1" in answer(out).text
    for voter in ("bob", "carol"):
        assert "no vote is needed" in notices(out, voter)[0]
    assert not [e for e in out if isinstance(e, Post)], "nothing announced"
    late = answer(await h.say("bob", "vote 1 yes"))
    assert late.error and "withdrew" in late.text
    assert not await h.advance(timedelta(hours=49)), "its expiry is cancelled"


async def test_propose_withdraw_by_a_voter_is_refused(h: Harness) -> None:
    await form_trio(h)
    await h.say("alice", "propose a reading thread")
    refused = answer(await h.say("bob", "propose withdraw 1"))
    assert refused.error and "Only Alice" in refused.text
    assert answer(await h.say("bob", "propose withdraw")).error  # bob has none
    await h.say("alice", "propose a second thing")
    which = answer(await h.say("alice", "propose withdraw"))
    assert which.error and len(which.choices) == 2
    assert not answer(await h.say("alice", which.choices[1].command)).error


# --- session withdraw ------------------------------------------------------------------


async def mentored(h: Harness) -> None:
    """Alice recognises Bob as her mentor in python, and Bob accepts."""
    await form_trio(h)
    await h.say("alice", "mentor ask @bob python")
    await h.say("bob", "mentor accept")


async def test_session_withdraw_by_its_logger_tells_the_other(h: Harness) -> None:
    await mentored(h)
    await h.say("alice", "session log @bob python 1h")
    out = await h.say("alice", "session withdraw")
    assert "withdrew session 1" in answer(out).text
    assert "nothing to confirm" in notices(out, "bob")[0]
    late = answer(await h.say("bob", "session confirm 1"))
    assert late.error and "withdrew" in late.text
    ledger = answer(await h.say("bob", "ledger")).text
    assert "Waiting for confirmation" not in ledger


async def test_session_withdraw_by_the_other_or_after_confirmation_is_refused(h: Harness) -> None:
    await mentored(h)
    await h.say("alice", "session log @bob python 1h")
    refused = answer(await h.say("bob", "session withdraw 1"))
    assert refused.error and "Only Alice" in refused.text and "do not confirm" in refused.text
    assert answer(await h.say("carol", "session withdraw 1")).error
    await h.say("bob", "session confirm 1")
    confirmed = answer(await h.say("alice", "session withdraw 1"))
    assert confirmed.error and "already confirmed" in confirmed.text


# --- trio uninvite ---------------------------------------------------------------------


async def test_trio_uninvite_by_the_inviter_withdraws_it(h: Harness) -> None:
    code = code_in(replies(await h.say("alice", "trio new Les Trois"))[0])
    await h.say("bob", f"trio join {code}")
    await h.say("erin", "help")  # erin is known to the bot
    await h.say("alice", "trio invite @erin")
    refused = answer(await h.say("bob", "trio uninvite @erin"))
    assert refused.error and "Only Alice" in refused.text
    out = await h.say("alice", "trio uninvite @erin")
    assert not answer(out).error and "withdrew the invitation" in notices(out, "erin")[0]
    assert answer(await h.say("erin", "trio accept")).error
    assert answer(await h.say("alice", "trio uninvite @erin")).error  # nothing left


# --- cancel words ----------------------------------------------------------------------


async def test_cancel_words_ask_instead_of_acting(h: Harness) -> None:
    await form_trio(h)
    rooms = lines(h)
    out = await h.say("alice", "sos cancel")
    asked = answer(out)
    assert "Did you mean !sos end?" in asked.text
    assert commands(asked) == ["sos end", 'sos "cancel"']
    assert not posts(out, rooms["bob+carol"]) and await count(h, "SELECT count(*) FROM sos") == 0
    asked = answer(await h.say("alice", "propose cancel"))
    assert commands(asked)[0] == "propose withdraw"
    assert await count(h, "SELECT count(*) FROM proposals") == 0
    asked = answer(await h.say("alice", "propose #les-trois undo the last one"))
    assert commands(asked) == ["propose withdraw #les-trois",
                               'propose #les-trois "undo the last one"']
    out = await h.say("alice", "report @bob withdraw")
    assert not [e for e in out if isinstance(e, ReportToModerators)]
    assert commands(answer(out)) == ['report @bob "withdraw"']
    assert commands(answer(await h.say("alice", "seek cancel"))) == ["unseek"]


async def test_the_words_in_quotes_are_meant(h: Harness) -> None:
    await form_trio(h)
    rooms = lines(h)
    out = await h.say("alice", 'sos "cancel"')
    assert "“cancel”" in posts(out, rooms["bob+carol"])[0]
    out = await h.say("carol", 'propose "stop single-use plastic"')
    assert "“stop single-use plastic”" in notices(out, "alice")[0]


async def test_a_session_note_and_a_plan_step_starting_with_a_cancel_word_ask(h: Harness) -> None:
    await mentored(h)
    asked = answer(await h.say("alice", "session log @bob python 1h undo"))
    assert asked.error and commands(asked)[0] == "session withdraw"
    assert await count(h, "SELECT count(*) FROM sessions") == 0
    await h.say("alice", "sos rough week")
    asked = answer(await h.say("bob", "plan stop"))
    assert asked.error and commands(asked) == ['plan "stop"']
    assert await count(h, "SELECT count(*) FROM plan_steps") == 0


# --- the same session twice ------------------------------------------------------------


async def test_the_same_session_logged_again_asks_first(h: Harness) -> None:
    await mentored(h)
    await h.say("alice", "session log @bob python 1h30 closures")
    out = await h.say("alice", "session log @bob python 1h30 closures")
    asked = answer(out)
    assert "did not log it twice" in asked.text and not notices(out, "bob")
    assert await count(h, "SELECT count(*) FROM sessions") == 1
    again = commands(asked)[0]
    assert again.endswith(" confirm")
    assert "Logged session 2" in answer(await h.say("alice", again)).text
    await h.advance(timedelta(minutes=11))
    later = answer(await h.say("alice", "session log @bob python 1h30"))
    assert "Logged session 3" in later.text, "outside the window: another session"


async def test_the_other_party_logging_it_too_is_offered_to_confirm(h: Harness) -> None:
    await mentored(h)
    await h.say("alice", "session log @bob python 45m")
    asked = answer(await h.say("bob", "session log @alice python 45m"))
    assert "Alice logged the same session 1" in asked.text
    assert commands(asked)[0] == "session confirm #les-trois 1"
    assert "Confirmed session 1" in answer(await h.say("bob", commands(asked)[0])).text


# --- a second forming trio -------------------------------------------------------------


async def test_a_second_trio_new_while_one_is_forming_asks(h: Harness) -> None:
    first = answer(await h.say("alice", "trio new"))
    assert "Trio of Alice" in first.text and "trio rename" in first.text
    asked = answer(await h.say("alice", "trio new Les Copains"))
    assert "still forming" in asked.text and "“Trio of Alice” (1/3)" in asked.text
    assert [c.label for c in asked.choices] == ["Rename “Trio of Alice” to “Les Copains”",
                                                "Start another"]
    assert await count(h, "SELECT count(*) FROM trios") == 1
    out = await h.say("alice", asked.choices[0].command)
    assert "is now “Les Copains”" in answer(out).text
    async with h.core.db.read() as tx:
        assert [r[0] for r in await tx.all("SELECT name FROM trios")] == ["Les Copains"]
    assert "Les Copains" in answer(await h.say("alice", "trio info")).text  # no "which one?"


async def test_start_another_makes_a_second_trio(h: Harness) -> None:
    await h.say("alice", "trio new Les Trois")
    asked = answer(await h.say("alice", "trio new Les Copains"))
    assert commands(asked)[1] == "trio new Les Copains confirm"
    assert "“Les Copains” (#les-copains) is forming" in answer(
        await h.say("alice", commands(asked)[1])).text
    assert await count(h, "SELECT count(*) FROM trios") == 2
    unnamed = answer(await h.say("alice", "trio new"))
    assert commands(unnamed) == ["trio new confirm"]


async def test_rename_tells_the_other_member_and_refuses_a_complete_trio(h: Harness) -> None:
    code = code_in(replies(await h.say("alice", "trio new"))[0])
    await h.say("bob", f"trio join {code}")
    out = await h.say("bob", "trio rename Les Deux")
    assert "Bob renamed your forming trio “Trio of Alice” to “Les Deux”" in notices(out, "alice")[0]
    await form_trio(h, "dave", "erin", "frank")
    refused = answer(await h.say("dave", "trio rename Autre"))
    assert refused.error and "keeps it" in refused.text
    assert isinstance(refused, Reply) and not [e for e in out if isinstance(e, Notify)
                                               and e.to == "bob"]


async def test_withdrawals_use_the_numbers_people_read_in_each_trio(h: Harness) -> None:
    await form_trio(h)
    await form_trio(h, "dave", "erin", "frank")
    await h.say("dave", "propose a picnic")  # trio 2's proposal #1 (the second row overall)
    await h.say("alice", "propose a reading club")  # trio 1's proposal #1
    out = await h.say("alice", "propose withdraw 1")
    assert any("withdrew proposal #1" in t and "reading club" in t for t in replies(out))
    async with h.core.db.read() as tx:
        states = dict(await tx.all("SELECT text, state FROM proposals"))
    assert states == {"a picnic": "open", "a reading club": "expired"}
