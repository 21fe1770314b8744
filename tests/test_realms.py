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
