"""What a demanding new user meets: wrong rooms, clashing names, stale codes, clear words."""

from __future__ import annotations

from datetime import timedelta

from core import grammar
from core.effects import CreateRoom, Reply
from tests.conftest import form_trio
from tests.helpers import Harness, code_in, notices, replies


def _rooms(h: Harness) -> dict[str, int]:
    """The rooms created so far, as ``trio`` or ``alice+bob`` → room id (the latest wins)."""
    return {"trio" if e.purpose == "trio" else "+".join(e.members): e.room
            for e in h.log if isinstance(e, CreateRoom)}


def _error(effects: list[object]) -> str:
    errors = [e.text for e in effects if isinstance(e, Reply) and e.error]
    assert errors, f"expected an error reply, got {effects}"
    return errors[0]


async def test_a_trio_named_in_a_room_of_another_trio_is_refused(h: Harness) -> None:
    await form_trio(h)
    await h.say("alice", "trio new Other")
    room = _rooms(h)["trio"]
    out = await h.say("alice", "trio leave #other confirm", room=room)
    assert "belongs to “Les Trois”" in _error(out)
    assert "Les Trois" in replies(await h.say("alice", "trio list"))[0]
    named = await h.say("alice", "turn #les-trois", room=room)
    assert not any(isinstance(e, Reply) and e.error for e in named)


async def test_a_trio_mate_cannot_act_in_the_line_of_the_two_others(h: Harness) -> None:
    await form_trio(h)
    out = await h.say("carol", "ledger", room=_rooms(h)["alice+bob"])
    assert "two other members" in _error(out)
    assert "Ledger" not in " ".join(replies(out))


async def test_commands_in_a_closed_line_say_it_is_closed(h: Harness) -> None:
    await form_trio(h)
    line = _rooms(h)["alice+carol"]
    await h.say("carol", "trio leave confirm")
    await h.say("alice", "trio invite")  # a new code: the trio is forming again
    out = await h.say("alice", "trio info", room=line)
    assert "closed" in _error(out)


async def test_two_trios_with_one_name_are_told_apart_by_number(h: Harness) -> None:
    await form_trio(h)  # alice, bob and carol in “Les Trois”
    code = code_in(replies(await h.say("dave", "trio new Les Trois"))[0])
    await h.say("bob", f"trio join {code}")
    out = await h.say("bob", "turn #les-trois")
    text = _error(out)
    assert "2 trios called “Les Trois”" in text and "Dave" in text
    listing = replies(await h.say("bob", "trio list"))[0]
    assert "#les-trois" not in listing and "#1," in listing and "#2," in listing
    assert "Dave" in replies(await h.say("bob", "trio info #2"))[0]


async def test_a_second_trio_with_the_same_name_gets_a_number(h: Harness) -> None:
    await h.say("alice", "trio new Les Trois")
    again = replies(await h.say("alice", "trio new les   TROIS confirm"))[0]
    assert "already have a trio called “les TROIS”, so this one is “les TROIS 2”" in again
    assert "(#les-trois-2)" in again
    await h.say("alice", "trio new confirm")
    second = replies(await h.say("alice", "trio new confirm"))[0]
    assert "“Trio of Alice 2” (#trio-of-alice-2)" in second
    assert "#les-trois-2" in replies(await h.say("alice", "trio info #les-trois-2"))[0]


async def test_a_stale_invite_code_says_why_it_does_not_work(h: Harness) -> None:
    expired = code_in(replies(await h.say("alice", "trio new Les Trois"))[0])
    await h.advance(timedelta(days=4))
    out = await h.say("bob", f"trio join {expired}")
    assert "expired on 2026-01-08" in _error(out) and "fresh code" in _error(out)
    revoked = code_in(replies(await h.say("alice", "trio invite"))[0])
    await h.say("alice", f"trio revoke {revoked}")
    assert "was cancelled" in _error(await h.say("bob", f"trio join {revoked}"))
    used = code_in(replies(await h.say("alice", "trio invite"))[0])
    await h.say("bob", f"trio join {used}")
    assert "already took your seat" in _error(await h.say("bob", f"trio join {used}"))
    assert "already used" in _error(await h.say("carol", f"trio join {used}"))
    last = code_in(replies(await h.say("alice", "trio invite"))[0])
    await h.say("carol", f"trio join {last}")
    fourth = _error(await h.say("dave", f"trio join {last}"))
    assert "“Les Trois” is already complete" in fourth and "fresh code" not in fourth
    assert "does not work" in _error(await h.say("dave", "trio join ABCD-EFGH-JKLM-NPQR"))


async def test_a_second_personal_invitation_replaces_the_first(h: Harness) -> None:
    await h.say("carol", "help")  # carol is known to the bot
    await h.say("alice", "trio new Duo")
    await h.say("alice", "trio invite @carol")
    again = await h.say("alice", "trio invite @carol")
    assert "asked @carol again" in replies(again)[0] and "replaces the earlier" in replies(again)[0]
    assert "You are already in “Duo”" in _error(await h.say("alice", "trio invite @alice"))
    joined = replies(await h.say("carol", "trio accept"))
    assert len(joined) == 1 and "You joined “Duo”" in joined[0]


async def test_settings_read_well(h: Harness) -> None:
    await form_trio(h)
    shown = replies(await h.say("alice", "trio settings patience"))[0]
    assert shown.startswith("patience is 3d in “Les Trois”") and "Members:" not in shown
    assert "is already 3d" in _error(await h.say("alice", "trio settings patience 72h"))
    assert "!trio settings relance off" in _error(await h.say("alice", "trio settings relance maybe"))
    first = replies(await h.say("alice", "trio settings patience 48H"))[0]
    assert first == "Noted. patience becomes 2d when Bob and Carol ask for the same."
    second = replies(await h.say("bob", "trio settings patience 2d"))[0]
    assert second == "Noted. patience becomes 2d when Carol asks for the same."
    done = await h.say("carol", "trio settings patience 2d")
    assert "Agreed by all: patience is now 2d" in replies(done)[0]


async def test_trio_info_lists_the_open_codes_that_revoke_takes(h: Harness) -> None:
    code = code_in(replies(await h.say("alice", "trio new Duo"))[0])
    await h.say("carol", "help")
    await h.say("alice", "trio invite @carol")
    info = replies(await h.say("alice", "trio info"))[0]
    assert f"Open invite codes: {code}, " in info and "(for Carol (carol))" in info
    wrong = _error(await h.say("alice", "trio revoke ABCD"))
    assert "trio info lists the open ones" in wrong
    await h.say("alice", f"trio revoke {code}")
    assert code not in replies(await h.say("alice", "trio info"))[0]


async def test_leaving_says_what_happens_for_the_people_left(h: Harness) -> None:
    await form_trio(h)
    await h.say("carol", "trio leave confirm")
    ask = replies(await h.say("bob", "trio leave"))[0]
    assert "The other member can welcome two new people" in ask
    out = await h.say("bob", "trio leave confirm")
    assert "welcome two new people" in notices(out, "alice")[0]
    alone = replies(await h.say("alice", "trio leave"))[0]
    assert "only member, so it will be dissolved" in alone and "two others" not in alone


def _sample(arg: grammar.Arg) -> str:
    """A well-formed value for a required argument."""
    if arg.kind is grammar.Kind.CHOICE:
        return arg.choices[0]
    return {grammar.Kind.USER: "@bob", grammar.Kind.INT: "1",
            grammar.Kind.WORD: "1h"}.get(arg.kind, "python")


async def test_every_help_that_promises_a_trio_name_keeps_it(h: Harness) -> None:
    await form_trio(h)
    await h.say("alice", "trio new Other")
    for command in grammar.COMMANDS:
        promised = "name the trio" in grammar.help_text(command.name)
        if not promised:
            continue
        line = " ".join([command.name, "#nope", *(_sample(a) for a in command.args if a.required)])
        out = await h.say("alice", line)
        assert "no trio called “nope”" in _error(out), line
    assert "name the trio" not in grammar.help_text("vote")  # a proposal number is enough


async def test_a_trio_name_with_spaces_in_quotes_or_with_dashes(h: Harness) -> None:
    await h.say("alice", "trio new Les Trois")
    await h.say("alice", "trio new Other")
    assert "“Les Trois”" in replies(await h.say("alice", 'trio info #"Les Trois"'))[0]
    assert "#les-trois" in _error(await h.say("alice", "trio info #Les Trois"))
    wrong = _error(await h.say("alice", "mentor accept abc"))
    assert "“abc” is not a number: [id] is the number of the offer" in wrong


async def test_a_repeated_mentor_ask_shows_the_command_to_log_a_session(h: Harness) -> None:
    await form_trio(h)
    await h.say("bob", "mentor ask @alice cooking")
    await h.say("alice", "mentor accept")
    again = _error(await h.say("bob", "mentor ask @alice cooking"))
    assert "already mentors Bob" in again
    assert "!session log #les-trois @alice cooking 1h" in again
