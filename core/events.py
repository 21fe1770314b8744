"""Inbound events: what an adapter tells the core happened on its platform."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.ids import MemberId, RoomId


@dataclass(frozen=True)
class Typed:
    """A command whose arguments the platform already separated (a slash command's options).

    ``name`` is a command of :mod:`core.grammar` (``trio new``); ``args`` maps argument
    names to what was given (text, or an int for a number); ``trio`` picks a trio by name.
    """

    name: str
    args: Mapping[str, Any] = field(default_factory=dict)
    trio: str | None = None


@dataclass(frozen=True)
class CommandReceived:
    """A member gave a command (prefix already stripped) in a room or their direct chat.

    ``room`` is None for the member's direct chat with the bot. ``event_id`` must be
    unique per platform event: the core applies each one exactly once. ``text`` is the
    command as typed; ``typed``, when given, is the same command with its arguments
    already separated, and the text is then not parsed. ``origin`` is where the platform
    says it was typed (a room, an interaction), handed back on the replies.
    """

    event_id: str
    actor: MemberId
    room: RoomId | None
    text: str
    display_name: str | None = None
    platform: str = "console"
    origin: str | None = None
    typed: Typed | None = None
    locale: str | None = None  # the language the platform says the member uses (``fr-FR``)


@dataclass(frozen=True)
class LineMessage:
    """A member wrote in a trio room or pair line; only who, where and when are kept."""

    event_id: str
    actor: MemberId
    room: RoomId
    at: datetime | None = None
    platform: str = "console"


Event = CommandReceived | LineMessage
