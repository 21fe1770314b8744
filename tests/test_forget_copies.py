"""``privacy forget`` reaches every derived copy: notices held for quiet hours, effects
queued in the outbox, and trio names made from the person's name."""

from __future__ import annotations

from datetime import timedelta

from core.effects import CloseRoom, Notify, Reply
from core.events import CommandReceived
from core.ids import MemberId
from tests.conftest import form_trio
from tests.helpers import Harness, code_in, replies

WORDS = ("narwhal idea", "ocelot week", "axolotl note", "marmot move", "pangolin plan")


async def _queue(h: Harness, who: str, text: str) -> None:
    """``who`` types ``text``; its effects stay in the outbox (not delivered yet)."""
    await h.core.handle([CommandReceived(f"q-{who}-{text}", MemberId(who), None, text,
                                         who.capitalize())])


def _text(effect: object) -> str:
    if isinstance(effect, CloseRoom):
        return effect.reason
    return getattr(effect, "text", "")


async def _held(h: Harness) -> list[tuple[str, str]]:
    async with h.core.db.read() as tx:
        return [(r[0], r[1]) for r in await tx.all("SELECT member_id, text FROM held_notices")]


async def test_forget_purges_queued_and_held_copies_of_their_words_and_name(h: Harness) -> None:
    await form_trio(h)  # alice, bob, carol
    await h.say("alice", "timezone UTC")
    await h.say("alice", "quiet 00:00-23:59")  # alice's notices wait: held copies
    await h.say("bob", "mentor ask @carol cooking")
    await h.say("carol", "mentor accept")
    await h.say("bob", "sos pangolin plan")
    # Carol's words, on their way to the others, some held, some queued in the outbox.
    for text in ("propose a narwhal idea", "sos ocelot week", "away for 2d marmot move",
                 "session log @bob cooking 1h axolotl note", "plan my plan for bob",
                 "trio settings patience 2d"):
        await _queue(h, "carol", text)
    queued = [d.effect for d in await h.core.pending()]
    held = await _held(h)
    copies = [_text(e) for e in queued] + [t for _, t in held]
    assert any("narwhal" in t for t in copies), copies  # the test can fail
    assert any("narwhal" in t for _, t in held) and any("Carol" in t for _, t in held), held

    await _queue(h, "carol", "privacy forget confirm")
    left: list[str] = []
    for d in await h.core.pending():
        text = _text(d.effect)
        if isinstance(d.effect, Reply | Notify) and d.effect.to == "carol":
            continue
        if "left the trio" in text or "left “" in text:  # forget's own announcement
            assert not any(w in text for w in WORDS), text
            continue
        left.append(text)
    left += [t for _, t in await _held(h)]
    for text in left:
        assert "Carol" not in text and "carol" not in text, text
        assert not any(w in text for w in WORDS), text

    # And nothing of it is delivered later, when the held notices are released.
    out = await h.say("alice", "turn") + await h.advance(timedelta(days=2))
    for effect in out:
        text = _text(effect)
        if "left the trio" in text or "left “" in text:
            continue
        assert "Carol" not in text and not any(w in text for w in WORDS), text


async def test_forget_gives_neutral_names_to_trios_named_after_them(h: Harness) -> None:
    first = code_in(replies(await h.say("carol", "trio new"))[0])  # "Trio of Carol"
    second = code_in(replies(await h.say("carol", "trio new confirm"))[0])  # "Trio of Carol 2"
    await h.say("carol", "trio new wombat club confirm")  # only carol: her naming alone
    await h.say("alice", "trio new Trio of Carolyn")  # someone else's name, not hers
    await h.say("carol", "trio new Les Trois confirm")
    await h.say("alice", f"trio join {first}")
    await h.say("bob", f"trio join {second}")
    await h.say("bob", "trio new shared confirm")
    async with h.core.db.read() as tx:
        before = {r[0] for r in await tx.all("SELECT name FROM trios")}
    assert {"Trio of Carol", "Trio of Carol 2", "wombat club"} <= before
    await h.say("carol", "privacy forget confirm")
    async with h.core.db.read() as tx:
        after = {r[0] for r in await tx.all("SELECT name FROM trios")}
    assert not any("carol" in n.lower() and n != "Trio of Carolyn" for n in after), after
    assert "wombat club" not in after and "Les Trois" not in after
    assert {"Trio of Carolyn", "shared"} <= after
