"""REST routes for users, guilds, channels, permission overwrites, threads and messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aiohttp import web

from tests.discord.fakediscord import payloads
from tests.discord.fakediscord.state import (
    CREATE_PRIVATE_THREADS,
    CREATE_PUBLIC_THREADS,
    DM,
    GUILD_CATEGORY,
    GUILD_TEXT,
    MANAGE_CHANNELS,
    MANAGE_ROLES,
    MANAGE_THREADS,
    PRIVATE_THREAD,
    PUBLIC_THREAD,
    READ_MESSAGE_HISTORY,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    Channel,
    Guild,
    Message,
    Overwrite,
    now_iso,
)
from tests.discord.fakediscord.web import (
    ApiError,
    invalid,
    json_response,
    missing_access,
    missing_permissions,
    no_content,
    payload_dict,
    read_body,
    snowflake,
    unknown,
)

if TYPE_CHECKING:
    from tests.discord.fakediscord.server import FakeDiscord

MANAGE_MESSAGES = 1 << 13


class Rest:
    """The bot-authenticated REST API."""

    def __init__(self, server: FakeDiscord) -> None:
        self.server = server
        self.store = server.store
        self.events = server.events
        self.messages = server.messages

    @property
    def bot_id(self) -> int:
        """The bot user's id."""
        return self.server.bot.id

    def routes(self) -> list[web.RouteDef]:
        """The route table; literal paths come before the parametrised ones."""
        return [
            web.get("/users/@me", self.me),
            web.post("/users/@me/channels", self.open_dm),
            web.get("/users/{user_id}", self.get_user),
            web.get("/oauth2/applications/@me", self.application),
            web.get("/applications/@me", self.application),
            web.get("/gateway", self.gateway_url),
            web.get("/gateway/bot", self.gateway_url),
            web.get("/guilds/{guild_id}", self.get_guild),
            web.get("/guilds/{guild_id}/channels", self.guild_channels),
            web.post("/guilds/{guild_id}/channels", self.create_channel),
            web.get("/guilds/{guild_id}/members/{user_id}", self.get_member),
            web.get("/guilds/{guild_id}/roles", self.guild_roles),
            web.get("/channels/{channel_id}", self.get_channel),
            web.patch("/channels/{channel_id}", self.edit_channel),
            web.delete("/channels/{channel_id}", self.delete_channel),
            web.put("/channels/{channel_id}/permissions/{overwrite_id}", self.put_overwrite),
            web.delete("/channels/{channel_id}/permissions/{overwrite_id}", self.delete_overwrite),
            web.post("/channels/{channel_id}/threads", self.create_thread),
            web.get("/channels/{channel_id}/threads/archived/private", self.archived_private),
            web.get("/channels/{channel_id}/thread-members", self.list_thread_members),
            web.get("/channels/{channel_id}/thread-members/{user_id}", self.get_thread_member),
            web.put("/channels/{channel_id}/thread-members/{user_id}", self.add_thread_member),
            web.delete("/channels/{channel_id}/thread-members/{user_id}",
                       self.remove_thread_member),
            web.post("/channels/{channel_id}/typing", self.typing),
            web.get("/channels/{channel_id}/messages", self.history),
            web.post("/channels/{channel_id}/messages", self.send_message),
            web.get("/channels/{channel_id}/messages/{message_id}", self.get_message),
            web.patch("/channels/{channel_id}/messages/{message_id}", self.edit_message),
            web.delete("/channels/{channel_id}/messages/{message_id}", self.delete_message),
        ]

    # -- lookups and checks ---------------------------------------------------------------

    def _guild(self, request: web.Request) -> Guild:
        """The guild in the path, if the bot is in it."""
        guild = self.store.guilds.get(snowflake(request, "guild_id"))
        if guild is None or self.bot_id not in guild.members:
            raise unknown("Guild", 10004)
        return guild

    def _channel(self, request: web.Request, *, need: int = 0) -> Channel:
        """The channel in the path, if the bot can see it and has `need` there."""
        channel = self.store.channels.get(snowflake(request, "channel_id"))
        if channel is None:
            raise unknown("Channel", 10003)
        perms = self.store.permissions(self.bot_id, channel.id)
        if not perms:
            raise missing_access()
        if perms & need != need:
            raise missing_permissions()
        return channel

    def _message(self, request: web.Request, channel: Channel) -> Message:
        """The message in the path, in that channel."""
        message = self.store.messages.get(snowflake(request, "message_id"))
        if message is None or message.deleted or message.channel_id != channel.id or message.ephemeral:
            raise unknown("Message", 10008)
        return message

    def _thread(self, request: web.Request) -> Channel:
        """The thread in the path."""
        thread = self._channel(request)
        if not thread.is_thread:
            raise invalid("not a thread")
        return thread

    def _user_param(self, request: web.Request) -> int:
        """A user id path parameter, `@me` meaning the bot."""
        raw = request.match_info["user_id"]
        return self.bot_id if raw == "@me" else snowflake(request, "user_id")

    def _json(self, data: Any, status: int = 200) -> web.Response:
        """A JSON response."""
        return json_response(data, status)

    def _channel_json(self, channel: Channel) -> dict[str, Any]:
        """A channel as the API returns it."""
        return payloads.channel_json(self.store, channel)

    # -- users, application, gateway ------------------------------------------------------

    async def me(self, request: web.Request) -> web.Response:
        """GET /users/@me: the bot user."""
        data = payloads.user_json(self.server.bot)
        data.update(verified=True, mfa_enabled=False, locale="en-US")
        return self._json(data)

    async def get_user(self, request: web.Request) -> web.Response:
        """GET /users/{id}."""
        user = self.store.users.get(snowflake(request, "user_id"))
        if user is None:
            raise unknown("User", 10013)
        return self._json(payloads.user_json(user))

    async def application(self, request: web.Request) -> web.Response:
        """GET /oauth2/applications/@me: the bot's application."""
        return self._json(self.server.application_json())

    async def gateway_url(self, request: web.Request) -> web.Response:
        """GET /gateway and /gateway/bot."""
        return self._json({"url": self.server.gateway_url, "shards": self.server.shards,
                           "session_start_limit": {"total": 1000, "remaining": 1000,
                                                   "reset_after": 0, "max_concurrency": 1}})

    async def open_dm(self, request: web.Request) -> web.Response:
        """POST /users/@me/channels: the DM channel with a user (created if needed)."""
        payload = payload_dict(await read_body(request))
        try:
            user = self.store.users[int(payload.get("recipient_id", 0))]
        except (KeyError, ValueError):
            raise invalid("recipient_id: unknown user") from None
        channel = self.server.dm_channel_of(user)
        return self._json(self._channel_json(channel))

    # -- guilds and channels --------------------------------------------------------------

    async def get_guild(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}."""
        return self._json(self.events.guild_payload(self._guild(request)))

    async def guild_roles(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/roles."""
        return self._json([payloads.role_json(r) for r in self._guild(request).roles.values()])

    async def guild_channels(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/channels: channels, not threads."""
        guild = self._guild(request)
        return self._json([self._channel_json(c) for c in self.store.channels_of(guild.id)
                           if not c.is_thread])

    async def get_member(self, request: web.Request) -> web.Response:
        """GET /guilds/{id}/members/{user}."""
        member = self._guild(request).members.get(snowflake(request, "user_id"))
        if member is None:
            raise unknown("Member", 10007)
        return self._json(payloads.member_json(self.store, member))

    async def create_channel(self, request: web.Request) -> web.Response:
        """POST /guilds/{id}/channels: a text channel or category, with overwrites."""
        guild = self._guild(request)
        payload = payload_dict(await read_body(request))
        base = self.store.base_permissions(guild, self.bot_id)
        if not base & MANAGE_CHANNELS:
            raise missing_permissions()
        overwrites = self._overwrites(guild, payload.get("permission_overwrites"))
        if overwrites and not base & MANAGE_ROLES:
            raise missing_permissions()
        kind = int(payload.get("type") or GUILD_TEXT)
        if kind not in (GUILD_TEXT, GUILD_CATEGORY):
            raise invalid("type: only text channels and categories are supported here")
        parent = self._parent(guild, payload.get("parent_id"))
        if overwrites is None:
            overwrites = dict(parent.overwrites) if parent else {}
        channel = self.server.new_channel(
            guild, _channel_name(str(payload.get("name") or ""), kind), kind,
            parent_id=parent.id if parent else None, topic=payload.get("topic"),
            overwrites=overwrites)
        await self.events.channel("CHANNEL_CREATE", channel)
        return self._json(self._channel_json(channel), 201)

    def _overwrites(self, guild: Guild, raw: Any) -> dict[int, Overwrite] | None:
        """Parse `permission_overwrites`; None when absent."""
        if raw is None:
            return None
        result = {}
        for item in raw:
            overwrite = Overwrite(id=int(item["id"]), type=int(item.get("type", 0)),
                                  allow=int(item.get("allow") or 0), deny=int(item.get("deny") or 0))
            known = guild.roles if overwrite.type == 0 else guild.members
            if overwrite.id not in known:
                raise invalid(f"permission_overwrites: unknown id {overwrite.id}")
            result[overwrite.id] = overwrite
        return result

    def _parent(self, guild: Guild, raw: Any) -> Channel | None:
        """The category named by `parent_id`, if any."""
        if raw is None:
            return None
        parent = self.store.channels.get(int(raw))
        if parent is None or parent.guild_id != guild.id or parent.type != GUILD_CATEGORY:
            raise invalid("parent_id: not a category of this guild")
        return parent

    async def get_channel(self, request: web.Request) -> web.Response:
        """GET /channels/{id}."""
        return self._json(self._channel_json(self._channel(request)))

    async def edit_channel(self, request: web.Request) -> web.Response:
        """PATCH /channels/{id}: channel fields, or a thread's archived/locked/name."""
        channel = self._channel(request)
        payload = payload_dict(await read_body(request))
        if channel.is_thread:
            self._edit_thread(channel, payload)
        elif channel.type != DM:
            self._edit_guild_channel(channel, payload)
        await self.events.channel("CHANNEL_UPDATE", channel)
        return self._json(self._channel_json(channel))

    def _edit_guild_channel(self, channel: Channel, payload: dict[str, Any]) -> None:
        """Apply a PATCH to a text channel or category."""
        if not self.store.permissions(self.bot_id, channel.id) & MANAGE_CHANNELS:
            raise missing_permissions()
        guild = self.store.guilds[channel.guild_id or 0]
        if "name" in payload:
            channel.name = _channel_name(str(payload["name"]), channel.type)
        if "topic" in payload:
            channel.topic = payload["topic"]
        if "parent_id" in payload:
            parent = self._parent(guild, payload["parent_id"])
            channel.parent_id = parent.id if parent else None
        if "permission_overwrites" in payload:
            channel.overwrites = self._overwrites(guild, payload["permission_overwrites"]) or {}

    def _edit_thread(self, thread: Channel, payload: dict[str, Any]) -> None:
        """Apply a PATCH to a thread (owner or MANAGE_THREADS)."""
        manage = self.store.permissions(self.bot_id, thread.id) & MANAGE_THREADS
        if not manage and thread.owner_id != self.bot_id:
            raise missing_permissions()
        if thread.locked and not manage:
            raise ApiError(400, 50083, "Thread is archived")
        if "name" in payload:
            thread.name = str(payload["name"])
        if "locked" in payload:
            thread.locked = bool(payload["locked"])
        if "invitable" in payload and thread.type == PRIVATE_THREAD:
            thread.invitable = bool(payload["invitable"])
        if "auto_archive_duration" in payload:
            thread.auto_archive_duration = int(payload["auto_archive_duration"])
        if "archived" in payload and bool(payload["archived"]) != thread.archived:
            thread.archived = bool(payload["archived"])
            thread.archive_timestamp = now_iso()

    async def delete_channel(self, request: web.Request) -> web.Response:
        """DELETE /channels/{id}: the channel, its threads and messages go."""
        channel = self._channel(request)
        need = MANAGE_THREADS if channel.is_thread else MANAGE_CHANNELS
        if not self.store.permissions(self.bot_id, channel.id) & need:
            raise missing_permissions()
        data = self._channel_json(channel)
        await self.events.channel("CHANNEL_DELETE", channel)
        self.server.remove_channel(channel)
        return self._json(data)

    async def put_overwrite(self, request: web.Request) -> web.Response:
        """PUT /channels/{id}/permissions/{overwrite}."""
        channel = self._channel(request, need=MANAGE_ROLES)
        payload = payload_dict(await read_body(request))
        guild = self.store.guilds[channel.guild_id or 0]
        raw = dict(payload, id=snowflake(request, "overwrite_id"))
        channel.overwrites.update(self._overwrites(guild, [raw]) or {})
        await self.events.channel("CHANNEL_UPDATE", channel)
        return no_content()

    async def delete_overwrite(self, request: web.Request) -> web.Response:
        """DELETE /channels/{id}/permissions/{overwrite}."""
        channel = self._channel(request, need=MANAGE_ROLES)
        channel.overwrites.pop(snowflake(request, "overwrite_id"), None)
        await self.events.channel("CHANNEL_UPDATE", channel)
        return no_content()

    # -- threads --------------------------------------------------------------------------

    async def create_thread(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/threads: a thread without a starter message."""
        payload = payload_dict(await read_body(request))
        kind = int(payload.get("type") or PRIVATE_THREAD)
        need = CREATE_PRIVATE_THREADS if kind == PRIVATE_THREAD else CREATE_PUBLIC_THREADS
        parent = self._channel(request, need=need)
        if parent.type != GUILD_TEXT or kind not in (PUBLIC_THREAD, PRIVATE_THREAD):
            raise invalid("type: threads need a text channel parent and type 11 or 12")
        thread = self.server.new_thread(parent, str(payload.get("name") or "thread"), kind,
                                        owner_id=self.bot_id)
        if "invitable" in payload and kind == PRIVATE_THREAD:
            thread.invitable = bool(payload["invitable"])
        thread.auto_archive_duration = int(payload.get("auto_archive_duration") or 10080)
        thread.thread_members[self.bot_id] = now_iso()
        await self.events.channel("CHANNEL_CREATE", thread)
        await self.events.thread_members(thread, [self.bot_id], [])
        return self._json(self._channel_json(thread), 201)

    async def archived_private(self, request: web.Request) -> web.Response:
        """GET /channels/{id}/threads/archived/private: newest archived first, ``before``
        an archive time, ``limit``; needs MANAGE_THREADS and READ_MESSAGE_HISTORY."""
        parent = self._channel(request, need=MANAGE_THREADS | READ_MESSAGE_HISTORY)
        before = request.query.get("before")
        limit = int(request.query.get("limit") or 50)
        found = sorted((t for t in self.server.threads_of(parent)
                        if t.type == PRIVATE_THREAD and t.archived
                        and (before is None or t.archive_timestamp < before)),
                       key=lambda t: t.archive_timestamp, reverse=True)
        page = found[:limit]
        return self._json({"threads": [self._channel_json(t) for t in page],
                           "members": [payloads.thread_member_json(t, self.bot_id) for t in page
                                       if self.bot_id in t.thread_members],
                           "has_more": len(found) > limit})

    async def list_thread_members(self, request: web.Request) -> web.Response:
        """GET /channels/{thread}/thread-members."""
        thread = self._thread(request)
        return self._json([payloads.thread_member_json(thread, u) for u in thread.thread_members])

    async def get_thread_member(self, request: web.Request) -> web.Response:
        """GET /channels/{thread}/thread-members/{user}."""
        thread = self._thread(request)
        user_id = self._user_param(request)
        if user_id not in thread.thread_members:
            raise unknown("Member", 10007)
        return self._json(payloads.thread_member_json(thread, user_id))

    async def add_thread_member(self, request: web.Request) -> web.Response:
        """PUT /channels/{thread}/thread-members/{user}: the thread must not be archived."""
        thread = self._thread(request)
        user_id = self._user_param(request)
        if thread.archived:
            raise ApiError(400, 50083, "Thread is archived")
        if user_id not in self.store.guilds[thread.guild_id or 0].members:
            raise unknown("Member", 10007)
        if user_id not in thread.thread_members:
            thread.thread_members[user_id] = now_iso()
            await self.events.thread_members(thread, [user_id], [])
        return no_content()

    async def remove_thread_member(self, request: web.Request) -> web.Response:
        """DELETE /channels/{thread}/thread-members/{user}: owner or MANAGE_THREADS."""
        thread = self._thread(request)
        user_id = self._user_param(request)
        allowed = (user_id == self.bot_id or thread.owner_id == self.bot_id
                   or self.store.permissions(self.bot_id, thread.id) & MANAGE_THREADS)
        if not allowed:
            raise missing_permissions()
        if thread.archived:
            raise ApiError(400, 50083, "Thread is archived")
        if thread.thread_members.pop(user_id, None) is not None:
            await self.events.thread_members(thread, [], [user_id])
        return no_content()

    # -- messages -------------------------------------------------------------------------

    async def typing(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/typing."""
        self._channel(request, need=0)
        return no_content()

    async def history(self, request: web.Request) -> web.Response:
        """GET /channels/{id}/messages: newest first, with limit/before/after."""
        channel = self._channel(request, need=READ_MESSAGE_HISTORY)
        found = [m for m in self.store.messages_of(channel.id) if not m.ephemeral]
        before, after = request.query.get("before"), request.query.get("after")
        if before:
            found = [m for m in found if m.id < int(before)]
        if after:
            found = [m for m in found if m.id > int(after)]
        limit = int(request.query.get("limit", "50"))
        newest = list(reversed(found))[:limit]
        return self._json([self.server.message_json(m) for m in newest])

    async def send_message(self, request: web.Request) -> web.Response:
        """POST /channels/{id}/messages: DMs, channels and threads, with files and replies."""
        channel = self._channel(request)
        body = await read_body(request)
        await self._check_can_send(channel)
        payload = payload_dict(body)
        if payload.get("enforce_nonce") and payload.get("nonce") is not None:
            earlier = self.messages.find_nonce(channel.id, self.bot_id, payload["nonce"])
            if earlier is not None:
                return self._json(self.server.message_json(earlier))
        message = self.messages.build(channel.id, self.bot_id, body)
        if payload.get("message_reference"):
            self._reply(message, channel, payload["message_reference"])
        await self.messages.post(message)
        return self._json(self.server.message_json(message))

    async def _check_can_send(self, channel: Channel) -> None:
        """Refuse closed DMs and missing permissions; unarchive a thread as Discord does."""
        if channel.type == DM:
            other = next(u for u in channel.recipients if u != self.bot_id)
            if self.store.users[other].dms_closed or not self.server.shares_guild(other):
                raise ApiError(403, 50007, "Cannot send messages to this user")
            return
        perms = self.store.permissions(self.bot_id, channel.id)
        need = SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES
        if not perms & need:
            raise missing_permissions()
        if channel.is_thread and channel.archived:
            if channel.locked and not perms & MANAGE_THREADS:
                raise ApiError(400, 50083, "Thread is archived")
            channel.archived = False
            channel.archive_timestamp = now_iso()
            await self.events.channel("CHANNEL_UPDATE", channel)

    def _reply(self, message: Message, channel: Channel, reference: dict[str, Any]) -> None:
        """Make the message a reply, refusing an unknown target unless told not to fail."""
        target = self.store.messages.get(int(reference.get("message_id") or 0))
        if target is None or target.deleted:
            if reference.get("fail_if_not_exists", True):
                raise invalid("message_reference: Unknown message")
            return
        message.type = 19
        message.reference = {"type": 0, "message_id": str(target.id),
                             "channel_id": str(target.channel_id),
                             "guild_id": _opt(channel.guild_id)}

    async def get_message(self, request: web.Request) -> web.Response:
        """GET /channels/{id}/messages/{message}."""
        channel = self._channel(request, need=READ_MESSAGE_HISTORY)
        return self._json(self.server.message_json(self._message(request, channel)))

    async def edit_message(self, request: web.Request) -> web.Response:
        """PATCH /channels/{id}/messages/{message}: only the bot's own messages."""
        channel = self._channel(request)
        message = self._message(request, channel)
        if message.author_id != self.bot_id:
            raise ApiError(403, 50005, "Cannot edit a message authored by another user")
        self.messages.edit(message, await read_body(request))
        await self.messages.updated(message)
        return self._json(self.server.message_json(message))

    async def delete_message(self, request: web.Request) -> web.Response:
        """DELETE /channels/{id}/messages/{message}: own messages, or MANAGE_MESSAGES."""
        channel = self._channel(request)
        message = self._message(request, channel)
        own = message.author_id == self.bot_id
        if not own and not self.store.permissions(self.bot_id, channel.id) & MANAGE_MESSAGES:
            raise missing_permissions()
        message.deleted = True
        await self.events.message_delete(message)
        return no_content()


def _channel_name(name: str, kind: int) -> str:
    """Discord's channel names: 1-100 characters, text channels lowercased with dashes."""
    if not 1 <= len(name) <= 100:
        raise invalid("name: Must be between 1 and 100 in length.")
    return name.lower().replace(" ", "-") if kind == GUILD_TEXT else name


def _opt(value: int | None) -> str | None:
    """A snowflake as a string, or None."""
    return None if value is None else str(value)
