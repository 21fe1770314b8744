"""Each effect's words in its reader's language, just before it goes to the outbox.

A private reply or notice is said in its member's language; a reply the whole room
reads, a post, a room's name and topic, and the reason a room closes or someone leaves it, in the language of the room's
trio; a report to the moderators in the bot's default language (see ``core.i18n``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from core import queries
from core.context import rendered
from core.effects import (
    CloseRoom,
    CreateRoom,
    Effect,
    Notify,
    Post,
    RemoveFromRoom,
    Reply,
    ReportToModerators,
)
from core.i18n import Text, pick, render
from core.ids import MemberId, RoomId
from core.storage.db import Tx


async def in_their_language(tx: Tx, effects: Sequence[Effect], default: str) -> list[Effect]:
    """``effects`` with every translatable text rendered for its reader."""
    people = await queries.languages(tx, [e.to for e in effects if isinstance(e, Reply | Notify)
                                          and not e.lang])
    rooms = await queries.room_languages(tx, [room for e in effects if _translatable(e)
                                              and (room := _room_of(e)) is not None])
    out: list[Effect] = []
    for e in effects:
        if not _translatable(e):
            out.append(e)
        elif _for_the_room(e):
            assert isinstance(e, Reply) and e.room is not None
            lang = e.lang or pick(rooms.get(e.room), default)
            out.append(replace(e, text=render(e.text, lang), choices=rendered(e.choices, lang),
                               lang=lang))
        elif isinstance(e, Reply | Notify):
            lang = e.lang or pick(people.get(MemberId(e.to)), default)
            out.append(replace(e, text=render(e.text, lang), choices=rendered(e.choices, lang),
                               lang=lang))
        elif isinstance(e, Post):
            lang = pick(rooms.get(e.room), default)
            out.append(replace(e, text=render(e.text, lang), choices=rendered(e.choices, lang),
                               lang=lang))
        elif isinstance(e, CreateRoom):
            lang = pick(rooms.get(e.room), default)
            out.append(replace(e, name=render(e.name, lang), topic=render(e.topic, lang)))
        elif isinstance(e, RemoveFromRoom | CloseRoom):
            out.append(replace(e, reason=render(e.reason, pick(rooms.get(e.room), default))))
        elif isinstance(e, ReportToModerators):
            out.append(replace(e, text=render(e.text, pick(default))))
        else:
            out.append(e)
    return out


def _room_of(effect: Effect) -> RoomId | None:
    """The room whose trio's language an effect is said in, if it is said in one."""
    if isinstance(effect, Post | CreateRoom | RemoveFromRoom | CloseRoom):
        return effect.room
    return effect.room if _for_the_room(effect) and isinstance(effect, Reply) else None


def _for_the_room(effect: Effect) -> bool:
    """Whether an effect is an answer the whole room reads (said in the trio's language)."""
    return isinstance(effect, Reply) and effect.room is not None and not effect.private


def _translatable(effect: Effect) -> bool:
    """Whether an effect carries words still to be said in someone's language."""
    if isinstance(effect, Reply | Notify | Post) and not effect.lang:
        return True
    texts = [getattr(effect, f, None) for f in ("text", "name", "topic", "reason")]
    labels = [c.label for c in getattr(effect, "choices", ())]
    return any(isinstance(t, Text) for t in texts + labels)
