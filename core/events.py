"""Inbound events: what an adapter tells the core happened on its platform."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.ids import MemberId, RoomId


@dataclass(frozen=True)
class CommandReceived:
    """A member typed a command (prefix already stripped) in a room or their direct chat.

    ``room`` is None for the member's direct chat with the bot. ``event_id`` must be
    unique per platform event: the core applies each one exactly once.
    """

    event_id: str
    actor: MemberId
    room: RoomId | None
    text: str
    display_name: str | None = None


@dataclass(frozen=True)
class LineMessage:
    """A member wrote in a trio room or pair line; only who, where and when are kept."""

    event_id: str
    actor: MemberId
    room: RoomId
    at: datetime | None = None


Event = CommandReceived | LineMessage
