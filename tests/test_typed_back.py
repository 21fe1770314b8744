"""What the bot shows can be typed back: names as displayed, numbers as ``#3``."""

from __future__ import annotations

import re

import pytest

from core.effects import Reply
from tests.conftest import form_trio
from tests.helpers import Harness, notices, replies


async def _blocks(h: Harness) -> list[tuple[str, str]]:
    async with h.core.db.transaction() as tx:
        return [(r[0], r[1]) for r in await tx.all("SELECT blocker, blocked FROM blocks")]


def _errors(out: list[object]) -> list[str]:
    return [e.text for e in out if isinstance(e, Reply) and e.error]


@pytest.mark.parametrize("seen_before", [True, False])
@pytest.mark.parametrize("typed", ["@Mallory", "Mallory", "@MALLORY", "mallory"])
async def test_block_names_the_person_however_the_name_is_cased(h: Harness, typed: str,
                                                                seen_before: bool) -> None:
    if seen_before:
        await h.say("mallory", "help")
    await h.say("alice", f"block {typed}")
    assert await _blocks(h) == [("alice", "mallory")]
    await h.say("mallory", "trio new Lure")
    assert notices(await h.say("mallory", "trio invite @alice"), "alice") == []
    out = await h.say("alice", f"unblock {typed.upper()}")
    assert not _errors(out) and await _blocks(h) == []


async def test_a_proposal_number_typed_as_shown(h: Harness) -> None:
    await form_trio(h)
    shown = replies(await h.say("carol", "propose a thread"))[0]
    number = re.search(r"Proposal (#\d+)", shown)
    assert number is not None
    out = await h.say("alice", f"vote {number.group(1)} yes")
    assert not _errors(out), out
    out = await h.say("bob", f"vote #les-trois {number.group(1)} yes")
    assert not _errors(out), out
    assert "validated" in replies(out)[0] or "outcome" in replies(out)[0]


async def test_a_session_number_typed_with_a_hash(h: Harness) -> None:
    await form_trio(h)
    await h.say("bob", 'mentor ask @alice "bread baking"')
    await h.say("alice", "mentor accept")
    logged = replies(await h.say("bob", 'session log @alice "bread baking" 1h'))[0]
    number = re.search(r"session (\d+)", logged)
    assert number is not None
    out = await h.say("alice", f"session confirm #{number.group(1)}")
    assert not _errors(out) and "Confirmed" in replies(out)[0]
