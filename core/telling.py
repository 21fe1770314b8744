"""Each effect's words in its reader's language, just before it goes to the outbox.

A private reply or notice is said in its member's language; a reply the whole room
reads, a post, a room's name and topic, and the reason a room closes or someone leaves
it, in the language of the room's trio; a report to the moderators in the bot's default
language (see ``core.i18n``). Words already said in a language keep it.
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
    pending = [e for e in effects if _translatable(e)]
    if not pending:  # all said already (a private reply is said as it is made): no lookups
        return list(effects)
    people = await queries.languages(tx, [e.to for e in pending if isinstance(e, Reply | Notify)
                                          and not e.lang and _room_of(e) is None])
    rooms = await queries.room_languages(tx, [room for e in pending
                                              if (room := _room_of(e)) is not None])

    def language(e: Effect) -> str:
        room = _room_of(e)
        if isinstance(e, Reply | Notify) and e.lang:
            return e.lang
        if room is not None:
            return pick(rooms.get(room), default)
        if isinstance(e, Reply | Notify):
            return pick(people.get(MemberId(e.to)), default)
        return pick(default)  # a report to the moderators

    return [_said(e, language(e)) if _translatable(e) else e for e in effects]


def _said(e: Effect, lang: str) -> Effect:
    """An effect with its words said in ``lang``."""
    if isinstance(e, Reply | Notify | Post):
        return replace(e, text=render(e.text, lang), choices=rendered(e.choices, lang), lang=lang)
    if isinstance(e, CreateRoom):
        return replace(e, name=render(e.name, lang), topic=render(e.topic, lang))
    if isinstance(e, RemoveFromRoom | CloseRoom):
        return replace(e, reason=render(e.reason, lang))
    if isinstance(e, ReportToModerators):
        return replace(e, text=render(e.text, lang))
    return e


def _room_of(effect: Effect) -> RoomId | None:
    """The room whose trio's language an effect is said in: posts, rooms, and a reply the
    whole room reads (a private reply is said in its reader's language)."""
    if isinstance(effect, Post | CreateRoom | RemoveFromRoom | CloseRoom):
        return effect.room
    if isinstance(effect, Reply) and not effect.private:
        return effect.room
    return None


def _translatable(effect: Effect) -> bool:
    """Whether an effect carries words still to be said in someone's language."""
    if isinstance(effect, Reply | Notify | Post) and not effect.lang:
        return True
    texts = [getattr(effect, f, None) for f in ("text", "name", "topic", "reason")]
    labels = [c.label for c in getattr(effect, "choices", ())]
    return any(isinstance(t, Text) for t in texts + labels)
