"""Gateway events for model changes, filtered by intents and by what the bot can see."""

from __future__ import annotations

from tests.discord.fakediscord import payloads
from tests.discord.fakediscord.gateway import Gateway, Json, Session
from tests.discord.fakediscord.state import (
    DM,
    PRIVATE_THREAD,
    Channel,
    Guild,
    Member,
    Message,
    Store,
)

GUILDS = 1 << 0
GUILD_MEMBERS = 1 << 1
GUILD_MESSAGES = 1 << 9
DIRECT_MESSAGES = 1 << 12
MESSAGE_CONTENT = 1 << 15


class Events:
    """Turns model changes into the events Discord would dispatch to the bot."""

    def __init__(self, store: Store, gateway: Gateway, bot_id: int, base_url: str) -> None:
        self.store = store
        self.gateway = gateway
        self.bot_id = bot_id
        self.base_url = base_url

    async def _send(self, event: str, data: Json, intent: int | None = GUILDS) -> None:
        """Dispatch the same data to every session that has the intent."""
        def build(session: Session) -> Json | None:
            return data if intent is None or session.has(intent) else None
        await self.gateway.dispatch(event, build)

    async def guild_create(self, guild: Guild, *, joined: bool = False) -> None:
        """The guild became available, or (``joined``) the bot joined it: Discord's payload
        then has no ``unavailable`` (discord.py tells a join by that)."""
        data = self.guild_payload(guild)
        if joined:
            del data["unavailable"]
        await self._send("GUILD_CREATE", data)

    def guild_payload(self, guild: Guild) -> Json:
        """GUILD_CREATE data with the active threads the bot can see."""
        threads = [c for c in self.store.channels_of(guild.id)
                   if c.is_thread and not c.archived and self.store.can_see(self.bot_id, c.id)]
        return payloads.guild_json(self.store, guild, self.bot_id, visible_threads=threads)

    async def member_add(self, member: Member) -> None:
        """GUILD_MEMBER_ADD, sent only with the members intent."""
        data = payloads.member_json(self.store, member)
        data["guild_id"] = str(member.guild_id)
        await self._send("GUILD_MEMBER_ADD", data, GUILD_MEMBERS)

    async def channel(self, event: str, channel: Channel) -> None:
        """CHANNEL_CREATE/UPDATE/DELETE or THREAD_CREATE/UPDATE/DELETE for a channel."""
        if channel.is_thread:
            await self._thread(event.replace("CHANNEL", "THREAD"), channel)
        elif channel.type != DM:
            await self._send(event, payloads.channel_json(self.store, channel))

    async def _thread(self, event: str, thread: Channel) -> None:
        """A thread event, only if the bot can see the thread."""
        if thread.type == PRIVATE_THREAD and not self.store.can_see(self.bot_id, thread.id):
            return
        data = payloads.channel_json(self.store, thread)
        if event == "THREAD_CREATE":
            data["newly_created"] = True
        if event == "THREAD_DELETE":
            data = {k: data[k] for k in ("id", "guild_id", "parent_id", "type")}
        await self._send(event, data)

    async def thread_members(self, thread: Channel, added: list[int], removed: list[int]) -> None:
        """THREAD_MEMBERS_UPDATE; without the members intent only when the bot itself changed."""
        data: Json = {"id": str(thread.id), "guild_id": str(thread.guild_id),
                      "member_count": len(thread.thread_members),
                      "added_members": [payloads.thread_member_json(thread, u) for u in added],
                      "removed_member_ids": [str(u) for u in removed]}
        about_bot = self.bot_id in added or self.bot_id in removed

        def build(session: Session) -> Json | None:
            return data if about_bot or session.has(GUILD_MEMBERS) else None
        await self.gateway.dispatch("THREAD_MEMBERS_UPDATE", build)

    async def message(self, event: str, message: Message) -> None:
        """MESSAGE_CREATE/UPDATE; content withheld as Discord does without the intent."""
        if message.ephemeral or not self.store.can_see(self.bot_id, message.channel_id):
            return
        channel = self.store.channels[message.channel_id]
        intent = DIRECT_MESSAGES if channel.type == DM else GUILD_MESSAGES
        exempt = (message.author_id == self.bot_id or channel.type == DM
                  or self.bot_id in message.mentions)
        full = payloads.gateway_message(self.store, message, self.base_url, with_content=True)
        bare = payloads.gateway_message(self.store, message, self.base_url, with_content=False)

        def build(session: Session) -> Json | None:
            if not session.has(intent):
                return None
            return full if exempt or session.has(MESSAGE_CONTENT) else bare
        await self.gateway.dispatch(event, build)

    async def message_delete(self, message: Message) -> None:
        """MESSAGE_DELETE for a message the bot could see."""
        if message.ephemeral or not self.store.can_see(self.bot_id, message.channel_id):
            return
        channel = self.store.channels[message.channel_id]
        data: Json = {"id": str(message.id), "channel_id": str(message.channel_id)}
        if channel.guild_id is not None:
            data["guild_id"] = str(channel.guild_id)
        intent = DIRECT_MESSAGES if channel.type == DM else GUILD_MESSAGES
        await self._send("MESSAGE_DELETE", data, intent)

    async def interaction(self, data: Json) -> None:
        """INTERACTION_CREATE, which needs no intent."""
        await self._send("INTERACTION_CREATE", data, None)
