"""User-written text and display names are cleaned and quoted in one place before relaying."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st

from core.effects import CreateRoom, Effect, Notify, Post, Reply, ReportToModerators
from core.events import CommandReceived
from core.ids import MemberId
from core.textrules import MAX_NAME, clean_display_name, inert, quote
from tests.conftest import form_trio
from tests.helpers import Harness, code_in, notices

FORGED = "Twinome safety team"
NASTY = f"hi\n\n{FORGED}: type !privacy forget confirm\n@room “closed” @Everyone @here x"
PING = re.compile(r"@(room|everyone|here)\b", re.IGNORECASE)
_ids = iter(range(10**6))


def _texts(effects: list[Effect]) -> list[str]:
    return [e.text for e in effects if isinstance(e, Reply | Notify | Post | ReportToModerators)]


def _assert_inert(texts: list[str], marker: str = FORGED) -> None:
    """No line of any text starts with the relayed words, and none can ping a room."""
    assert any(marker in t for t in texts), "the text was relayed at all"
    for text in texts:
        for line in text.splitlines():
            assert not line.lstrip().startswith(marker), line
        assert not PING.search(text), text


def _safe(text: str) -> bool:
    return not any(unicodedata.category(c) in ("Cc", "Cf", "Cs") and c != "\u200d" for c in text)


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_quoted_text_is_one_visible_line_that_cannot_ping_or_close_its_quotes(text: str) -> None:
    out = inert(text)
    assert "\n" not in out and "\r" not in out and _safe(out)
    assert not PING.search(out) and "“" not in out and "”" not in out
    assert quote(text) == f"“{out}”"


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=6000))
def test_display_names_are_short_single_visible_lines(name: str) -> None:
    out = clean_display_name(name)
    if out is not None:
        assert 0 < len(out) <= MAX_NAME and out == " ".join(out.split())
        assert _safe(out) and "\u200d" not in out and not PING.search(out)


async def _rooms(h: Harness) -> dict[str, int]:
    return {e.name: e.room for e in h.log if isinstance(e, CreateRoom)}


async def test_every_relay_path_quotes_user_text(h: Harness) -> None:
    await form_trio(h)
    rooms = {e.members: e.room for e in h.log if isinstance(e, CreateRoom)}
    allies_line = rooms[("bob", "carol")]
    relayed: list[Effect] = []
    relayed += await h.say("carol", f"propose {NASTY}")
    relayed += await h.say("alice", "vote 1 no")
    relayed += await h.say("alice", f"sos {NASTY}")
    relayed += await h.say("alice", f"sos {NASTY}")  # the added note
    relayed += await h.say("bob", f"plan {NASTY}", room=allies_line)
    relayed += await h.say("carol", "plan ready", room=allies_line)
    relayed += await h.say("bob", f"away for 2d {NASTY}")
    relayed += await h.say("carol", "turn")
    await h.say("bob", "back")
    await h.say("bob", 'mentor ask @alice "bread baking"')
    await h.say("alice", "mentor accept")
    relayed += await h.say("bob", f'session log @alice "bread baking" 1h {NASTY}')
    relayed += await h.say("carol", f"report @bob {NASTY}")
    texts = _texts(relayed)
    _assert_inert(texts)
    report = next(e.text for e in relayed if isinstance(e, ReportToModerators))
    assert len(report.splitlines()) == 5 and report.splitlines()[-1].startswith("Reason")


async def test_trio_names_cannot_ping_or_close_their_quotes(h: Harness) -> None:
    out = await h.say("alice", "trio new @room “Les” @everyone Trois")
    await h.say("bob", f"trio join {code_in(_texts(out)[0])}")
    await h.say("carol", f"trio join {code_in(_texts(await h.say('alice', 'trio invite'))[0])}")
    texts = _texts(h.log)
    assert not [t for t in texts if PING.search(t)]
    assert any("＠room" in t for t in texts)


async def _say_as(h: Harness, who: str, display: str, text: str) -> list[Effect]:
    event = CommandReceived(f"named{next(_ids)}", MemberId(who), None, text, display)
    await h.core.handle([event])
    items = await h.core.pending()
    await h.core.done([i.id for i in items])
    h.log += [i.effect for i in items]
    return [i.effect for i in items]


async def test_a_stranger_named_like_a_trio_mate_shows_their_id(h: Harness) -> None:
    await h.say("alice", "trio new Duo")
    await h.say("bob", "help")
    await _say_as(h, "@mallory:evil", "Alice", "trio new Lure")
    out = await _say_as(h, "@mallory:evil", "Alice", "trio invite @bob")
    [invite] = notices(out, "bob")
    assert invite.startswith("Alice (@mallory:evil) invites you")


async def test_hostile_display_names_are_cleaned_before_any_notice(h: Harness) -> None:
    await h.say("alice", "trio new Duo")
    hostile = ("Eve joined your trio...\n\nTwinome safety team: your account will be closed. "
               "Type !privacy forget confirm\u202e\u200b\x1b[31m" + "e" * 5000)
    code = next(t for t in _texts(await h.say("alice", "trio invite")) if "Invite code" in t)
    code = code.split("Invite code: ", 1)[1].split()[0]
    out = await _say_as(h, "eve", hostile, f"trio join {code}")
    [joined] = notices(out, "alice")
    assert "\n" not in joined and "\x1b" not in joined and _safe(joined)
    name = joined.split(" (eve) joined", 1)[0]
    assert len(name) <= MAX_NAME and name.startswith("Eve joined your trio... Twinome")
