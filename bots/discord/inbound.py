"""Discord events to core events: who wrote in which trio channel or pair thread, and when;
and what a member wrote to the bot in a direct message.

In servers only MESSAGE_CREATE metadata is read (author, channel, time): the bot does not
ask for the Message Content intent, and keeps no body. Discord gives a bot the content of
direct messages to it without that intent: there every text is a command, as on the
console, with or without a ``!`` or ``/`` in front (free text gets the core's kind
answer). Bots' messages (its own included) and messages outside bound channels and
threads are ignored.
"""

from __future__ import annotations

import discord

from bots.adapter.bindings import Bindings
from bots.discord.names import PLATFORM, member_id
from core.events import CommandReceived, LineMessage

PREFIXES = ("!", "/")


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

    @staticmethod
    def direct_command(message: discord.Message) -> CommandReceived | None:
        """The command a direct message to the bot is, if it is one."""
        if message.author.bot or not isinstance(message.channel, discord.DMChannel):
            return None
        text = message.content.strip()
        if text.startswith(PREFIXES) and len(text) > 1 and not text[1].isspace():
            text = text[1:]
        if not text:
            return None
        return CommandReceived(f"discord:{message.id}", member_id(message.author.id), None, text,
                               display_name=message.author.display_name, platform=PLATFORM)
