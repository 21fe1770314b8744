"""Discord events to core events: who wrote in which trio channel or pair thread, and when.

Only MESSAGE_CREATE metadata is read (author, channel, time): the bot does not ask for
the Message Content intent, and keeps no body. Bots' messages (its own included) and
messages outside bound channels and threads are ignored.
"""

from __future__ import annotations

import discord

from bots.adapter.bindings import Bindings
from bots.discord.names import PLATFORM, member_id
from core.events import LineMessage


class Translator:
    """Turns a Discord message into a line message, if it was written in a line."""

    def __init__(self, bindings: Bindings) -> None:
        self.bindings = bindings

    async def line_message(self, message: discord.Message) -> LineMessage | None:
        """The core event a message is, if it is one."""
        if message.author.bot or message.guild is None:
            return None
        room = await self.bindings.core_room(str(message.channel.id))
        if room is None:
            return None
        return LineMessage(f"discord:{message.id}", member_id(message.author.id), room,
                           message.created_at, PLATFORM)
