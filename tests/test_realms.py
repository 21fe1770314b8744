"""Realms (a Discord server, say): matchmaking and seating never cross one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from core.config import Settings
from core.effects import CreateRoom, Effect, Notify, Reply
from core.ids import MemberId
from tests.helpers import Harness, code_in, replies

REALMS = {"ana": "g1", "bo": "g1", "cy": "g2", "dee": "g2", "eli": "g1", "fay": "g2"}
PROFILES = {"ana": ("spanish", "drawing"), "bo": ("python", "spanish"),
            "cy": ("drawing", "python"), "dee": ("spanish", "drawing"),
            "eli": ("drawing", "python"), "fay": ("python", "spanish")}


def realm_of(member: MemberId) -> str | None:
    return REALMS.get(member)


@pytest.fixture
async def h(db_target: str | Path) -> AsyncIterator[Harness]:
    harness = await Harness.open(db_target, settings=Settings(realm_of=realm_of))
    yield harness
    await harness.close()


def proposed_to(effects: list[Effect], who: str) -> bool:
    return any(isinstance(e, Notify) and e.to == who and "I found two companions" in e.text
               for e in effects)


async def test_seekers_of_two_realms_are_never_matched_together(h: Harness) -> None:
    out: list[Effect] = []
    for who in ("ana", "bo", "cy", "dee"):  # ana, bo and cy complement each other
        offer, want = PROFILES[who]
        await h.say(who, f"offer {offer}")
        await h.say(who, f"want {want}")
        out += await h.say(who, "seek")
    out += await h.advance(timedelta(seconds=1))
    assert not any(proposed_to(out, who) for who in PROFILES), "no trio across two servers"
    for who in ("eli", "fay"):  # each completes a trio in their own server
        offer, want = PROFILES[who]
        await h.say(who, f"offer {offer}")
        await h.say(who, f"want {want}")
        out += await h.say(who, "seek")
    out += await h.advance(timedelta(seconds=1))
    assert all(proposed_to(out, who) for who in PROFILES)
    for who in PROFILES:
        out += await h.say(who, "match accept")
    rooms = {frozenset(e.members): e.realm for e in out
             if isinstance(e, CreateRoom) and e.purpose == "trio"}
    assert rooms == {frozenset(("ana", "bo", "eli")): "g1", frozenset(("cy", "dee", "fay")): "g2"}


async def test_a_code_of_one_realm_cannot_seat_a_member_of_another(h: Harness) -> None:
    code = code_in(replies(await h.say("ana", "trio new Les Trois"))[0])
    refused = await h.say("cy", f"trio join {code}")
    assert any(isinstance(e, Reply) and e.error and "another server" in e.text for e in refused)
    await h.say("bo", f"trio join {code}")
    code = code_in(replies(await h.say("ana", "trio invite"))[0])
    out = await h.say("eli", f"trio join {code}")
    created = [e for e in out if isinstance(e, CreateRoom)]
    assert created and all(e.realm == "g1" for e in created)


async def test_an_invitation_into_another_realm_is_refused_at_accept(h: Harness) -> None:
    await h.say("ana", "trio new Les Trois")
    await h.say("ana", "trio invite @dee")
    refused = await h.say("dee", "trio accept")
    assert any(isinstance(e, Reply) and e.error and "another server" in e.text for e in refused)


async def test_a_trio_started_where_no_realm_is_known_takes_its_first_joiners(
        h: Harness) -> None:
    # "gus" started it from a direct chat, unseen in any server: no realm is known for him
    code = code_in(replies(await h.say("gus", "trio new Les Trois"))[0])
    await h.say("bo", f"trio join {code}")  # from server g1: the trio lives there now
    code = code_in(replies(await h.say("gus", "trio invite"))[0])
    refused = await h.say("cy", f"trio join {code}")
    assert any(isinstance(e, Reply) and e.error and "another server" in e.text for e in refused)
    out = await h.say("eli", f"trio join {code}")
    created = [e for e in out if isinstance(e, CreateRoom)]
    assert created and all(e.realm == "g1" for e in created)


async def trio_of(h: Harness, a: str, b: str, c: str, name: str) -> None:
    """Form an active trio of three by invite codes."""
    code = code_in(replies(await h.say(a, f"trio new {name}"))[0])
    await h.say(b, f"trio join {code}")
    code = code_in(replies(await h.say(a, "trio invite"))[0])
    await h.say(c, f"trio join {code}")


def told_left(effects: list[Effect]) -> list[tuple[str, str]]:
    """(who, trio) of the notices saying the bot was removed from a trio's server."""
    return sorted((e.to, e.text.split("“")[1].split("”")[0]) for e in effects
                  if isinstance(e, Notify) and "I was removed from the server" in e.text)


async def test_the_members_of_trios_in_a_realm_the_bot_left_are_told_once(h: Harness) -> None:
    await trio_of(h, "ana", "bo", "eli", "Les Trois")
    await trio_of(h, "cy", "dee", "fay", "Ailleurs")
    await h.say("eli", "trio leave confirm")  # no longer of it: not told
    await h.outbox()
    assert await h.core.realms_to_watch("console") == ["g1", "g2"]  # where trios live
    await h.core.left_realm("console", "g1")
    assert told_left(await h.outbox()) == [("ana", "Les Trois"), ("bo", "Les Trois")]
    assert await h.core.realms_to_watch("console") == ["g2"]  # told, nothing waits there
    await h.core.left_realm("console", "g1")  # seen again (a restart settling it): no one
    await h.core.left_realm("discord", "g2")  # another platform's server of that name
    assert told_left(await h.outbox()) == []
    await h.core.rejoined_realms("discord", {"g1"})  # another platform's: still told
    await h.core.left_realm("console", "g1")
    assert told_left(await h.outbox()) == []
    await h.core.rejoined_realms("console", {"g1", "g7"})  # back, then removed again: told
    await h.core.left_realm("console", "g1")
    assert told_left(await h.outbox()) == [("ana", "Les Trois"), ("bo", "Les Trois")]


async def test_the_bots_departure_is_told_in_each_members_language(h: Harness) -> None:
    await trio_of(h, "ana", "bo", "eli", "Les Trois")
    await h.speaks("bo", "fr")
    await h.outbox()
    await h.core.left_realm("console", "g1")
    said = {e.to: e.text for e in await h.outbox() if isinstance(e, Notify)}
    assert "I was removed from the server where your trio “Les Trois” meets" in said["ana"]
    assert "On m’a retiré du serveur où se retrouve votre trio «\u00a0Les Trois\u00a0»" \
        in said["bo"]
