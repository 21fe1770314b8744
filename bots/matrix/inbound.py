"""Matrix timeline events to core events: commands and "someone wrote in this line".

A member's text starting with the prefix (``!`` by default, ``/`` too) is a command; in
the member's direct chat with the bot every text is one, prefix or not. Any other member
message in a trio room or pair line, readable or not (``m.room.encrypted`` that could not
be decrypted still says who wrote and when), is a line message. The bot's own events and
every ``m.notice`` are ignored. Bodies are read only to parse commands; none is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import nio

from bots.adapter.bindings import Bindings
from bots.matrix.carrier import PLATFORM
from bots.matrix.render import html_to_text, strip_reply_fallback
from core.events import CommandReceived, Event, LineMessage
from core.ids import MemberId

HTML = "org.matrix.custom.html"


@dataclass(frozen=True)
class Incoming:
    """A core event and the Matrix room it came from."""

    event: Event
    room_id: str


def when(event: Any) -> datetime:
    """The origin server time of a Matrix event."""
    return datetime.fromtimestamp(event.server_timestamp / 1000, UTC)


def command_text(event: Any) -> str:
    """What a member typed: reply quotes dropped, pills written as user ids."""
    formatted = getattr(event, "formatted_body", None)
    if getattr(event, "format", None) == HTML and formatted and "matrix.to/#/@" in formatted:
        return html_to_text(formatted).strip()
    return strip_reply_fallback(event.body or "").strip()


class Translator:
    """Turns one room's timeline events into core events."""

    def __init__(self, bindings: Bindings, bot_user_id: str, prefix: str) -> None:
        self.bindings = bindings
        self._me = bot_user_id
        self._prefixes = tuple(dict.fromkeys((prefix, "/")))

    def readable(self, event: Any) -> bool:
        """Whether an event is a member's message (as opposed to the bot's, a notice or state)."""
        if getattr(event, "sender", self._me) == self._me:
            return False
        if isinstance(event, nio.RoomMessageNotice):
            return False
        return isinstance(event, nio.RoomMessage | nio.MegolmEvent)

    async def translate(self, room: nio.MatrixRoom, event: Any) -> Incoming | None:
        """The core event a timeline event is, if it is one."""
        if not self.readable(event):
            return None
        actor = MemberId(event.sender)
        name = _display_name(room, event.sender)
        text = command_text(event) if isinstance(event, nio.RoomMessageText) else None
        if await self.bindings.dm_owner(room.room_id) == event.sender:
            if not text:
                return None
            return Incoming(CommandReceived(event.event_id, actor, None, self._unprefixed(text),
                                            name, PLATFORM, room.room_id), room.room_id)
        line = await self.bindings.core_room(room.room_id)
        if text is not None and self._is_command(text):
            command = CommandReceived(event.event_id, actor, line, text[1:].lstrip(), name,
                                      PLATFORM, room.room_id)
            return Incoming(command, room.room_id)
        if line is None:
            return None
        return Incoming(LineMessage(event.event_id, actor, line, when(event), PLATFORM),
                        room.room_id)

    def _is_command(self, text: str) -> bool:
        return text.startswith(self._prefixes) and len(text) > 1 and not text[1].isspace()

    def _unprefixed(self, text: str) -> str:
        return text[1:].lstrip() if text.startswith(self._prefixes) else text


def _display_name(room: nio.MatrixRoom, user_id: str) -> str | None:
    user = room.users.get(user_id)
    name = getattr(user, "display_name", None)
    return name if isinstance(name, str) and name and name != user_id else None
