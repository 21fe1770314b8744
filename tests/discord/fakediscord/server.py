"""The fake Discord server: an aiohttp app on 127.0.0.1 and the API tests drive it with.

Theory of operation. One `FakeDiscord` owns an in-memory `Store` (state.py) and serves,
on a free local port, the REST API under `/api/v10` (rest.py, commands.py, and the
interaction callback/webhook routes in interactions.py) and the gateway websocket at
`/gateway` (gateway.py). `pointed_at(server)` sets discord.py's two class-level URLs so a
real `discord.Client` logs in, identifies and resumes against it. Tests change the world
through async methods (`add_guild`, `user_message`, `slash`, `click`...): each updates the
store and dispatches the gateway events Discord would send (events.py), filtered by the
session's intents and by what the bot can see. Interaction helpers then wait until the bot
has answered over REST and return an `InteractionResult` view of the answer. A middleware
records every request, answers Discord-shaped JSON errors (never 5xx), adds rate-limit
headers, can inject a 429 once, and records unknown routes and internal errors, which
tests assert stay empty.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import discord
import yarl
from aiohttp import web

from tests.discord.fakediscord import payloads
from tests.discord.fakediscord.commands import CommandRoutes, OptionBuilder, find_command, nest
from tests.discord.fakediscord.events import Events
from tests.discord.fakediscord.gateway import Gateway, Json, Session
from tests.discord.fakediscord.interactions import (
    InteractionRecord,
    InteractionResult,
    Interactions,
)
from tests.discord.fakediscord.messages import Messages, walk_components
from tests.discord.fakediscord.rest import Rest
from tests.discord.fakediscord.state import (
    BOT_DEFAULT,
    DM,
    EVERYONE_DEFAULT,
    GUILD_TEXT,
    SEND_MESSAGES,
    SEND_MESSAGES_IN_THREADS,
    Channel,
    Command,
    Guild,
    Member,
    Message,
    Overwrite,
    Role,
    Store,
    User,
)
from tests.discord.fakediscord.web import BODY_KEY, ApiError, Body, error_response, json_response

API = "/api/v10"
DM_CONTEXT: Literal["dm"] = "dm"
Where = Guild | Literal["dm"]
log = logging.getLogger(__name__)


@dataclass
class RecordedRequest:
    """One HTTP request the server received, with its answer's status."""

    method: str
    path: str
    route: str
    query: str
    status: int = 0
    body: Any = None
    files: list[str] = field(default_factory=list)


class FakeDiscord:
    """A local Discord API and gateway for one bot application; see the module docstring."""

    def __init__(self, bot_name: str = "Twinome", interaction_window: float = 3.0) -> None:
        self.store = Store()
        self.bot_token = secrets.token_urlsafe(32)
        self.bot = self._new_user(bot_name, bot=True)
        self.app_owner = self._new_user(f"{bot_name} developer")
        self.application_id = self.store.ids.next()
        self.gateway = Gateway(self)
        self.events = Events(self.store, self.gateway, self.bot.id, "")
        self.messages = Messages(self.store, self.events)
        self.interactions = Interactions(self, interaction_window)
        self.requests: list[RecordedRequest] = []
        self.unknown_routes: list[str] = []
        self.errors: list[str] = []
        self._rate_limits: dict[str, float] = {}
        self._runner: web.AppRunner | None = None
        self.port = 0

    # -- lifecycle ------------------------------------------------------------------------

    @classmethod
    async def start(cls, bot_name: str = "Twinome", interaction_window: float = 3.0) -> FakeDiscord:
        """Start a server on a free port of 127.0.0.1."""
        server = cls(bot_name, interaction_window)
        await server._serve()
        return server

    async def _serve(self) -> None:
        """Build the app and bind it."""
        app = web.Application(middlewares=[self._middleware])
        routes = Rest(self).routes() + CommandRoutes(self).routes() + self.interactions.routes()
        app.router.add_routes([web.route(r.method, API + r.path, r.handler, **r.kwargs)
                               for r in routes if isinstance(r, web.RouteDef)])
        app.router.add_get("/gateway", self.gateway.handle)
        app.router.add_get("/gateway/resume", self.gateway.handle)
        app.router.add_get("/attachments/{channel_id}/{attachment_id}/{filename}", self._file)
        app.router.add_route("*", "/{tail:.*}", self._unknown_route)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        sockets = self._runner.addresses
        self.port = int(sockets[0][1])
        self.events.base_url = self.base_url

    async def close(self) -> None:
        """Close sockets and stop serving; interactions never answered count as unanswered."""
        self.interactions.closed = True
        await self.gateway.close()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:PORT."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_base(self) -> str:
        """The value for `discord.http.Route.BASE`."""
        return self.base_url + API

    @property
    def gateway_url(self) -> str:
        """The value for `DiscordWebSocket.DEFAULT_GATEWAY`."""
        return f"ws://127.0.0.1:{self.port}/gateway"

    # -- middleware -----------------------------------------------------------------------

    @web.middleware
    async def _middleware(self, request: web.Request,
                          handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
                          ) -> web.StreamResponse:
        """Record, authenticate, inject 429s, turn errors into Discord JSON errors."""
        route = _route_key(request)
        entry = RecordedRequest(request.method, request.path, route, request.query_string)
        self.requests.append(entry)
        response = await self._answer(request, handler, route)
        body = request.get(BODY_KEY)
        if isinstance(body, Body):
            entry.body, entry.files = body.payload, [f.filename for f in body.files]
        entry.status = response.status
        if request.path.startswith(API) and not isinstance(response, web.WebSocketResponse):
            response.headers.update(_rate_limit_headers(route))
        return response

    async def _answer(self, request: web.Request,
                      handler: Callable[[web.Request], Awaitable[web.StreamResponse]],
                      route: str) -> web.StreamResponse:
        """Run the handler, or answer 401/429/an error instead."""
        try:
            if _needs_auth(request.path) and \
                    request.headers.get("Authorization") != f"Bot {self.bot_token}":
                raise ApiError(401, 0, "401: Unauthorized")
            retry_after = self._rate_limits.pop(route, None)
            if retry_after is not None:
                return _rate_limited(retry_after)
            return await handler(request)
        except ApiError as error:
            return error_response(error)
        except Exception as error:
            log.exception("fake discord failed on %s %s", request.method, request.path)
            self.errors.append(f"{request.method} {request.path}: {error!r}")
            return error_response(ApiError(400, 0, f"fake discord failed: {error!r}"))

    async def _unknown_route(self, request: web.Request) -> web.Response:
        """Anything not implemented: 404, recorded so the test fails."""
        self.unknown_routes.append(f"{request.method} {request.path}")
        return json_response({"message": "404: Not Found", "code": 0}, 404)

    async def _file(self, request: web.Request) -> web.Response:
        """Serve an attachment's bytes."""
        for message in self.store.messages.values():
            for attachment in message.attachments:
                if str(attachment.id) == request.match_info["attachment_id"]:
                    return web.Response(body=attachment.data,
                                        content_type=attachment.content_type
                                        or "application/octet-stream")
        return json_response({"message": "404: Not Found", "code": 0}, 404)

    def rate_limit_once(self, route: str, retry_after: float = 0.3) -> None:
        """Answer the next request on `route` (e.g. "POST /channels/{channel_id}/messages") 429."""
        self._rate_limits[route] = retry_after

    # -- gateway host ---------------------------------------------------------------------

    def ready_payload(self, session: Session) -> Json:
        """READY: the bot user, unavailable guilds, session id and resume URL."""
        return {"v": 10, "user": payloads.user_json(self.bot), "session_type": "normal",
                "guilds": [{"id": str(g.id), "unavailable": True} for g in self._bot_guilds()],
                "session_id": session.id, "resume_gateway_url": self.gateway_url + "/resume",
                "application": {"id": str(self.application_id), "flags": 0},
                "private_channels": [], "relationships": [], "presences": [],
                "guild_join_requests": [], "geo_ordered_rtc_regions": [], "user_settings": {}}

    def guild_payloads(self) -> list[Json]:
        """GUILD_CREATE data for every guild the bot is in."""
        return [self.events.guild_payload(g) for g in self._bot_guilds()]

    def member_chunk(self, request: Json) -> Json:
        """GUILD_MEMBERS_CHUNK for an op 8 request (query prefix or user ids)."""
        guild = self.store.guilds[int(request["guild_id"])]
        wanted = {int(u) for u in request.get("user_ids") or []}
        query = str(request.get("query") or "").lower()
        members = [m for m in guild.members.values()
                   if (not wanted or m.user_id in wanted)
                   and self.store.users[m.user_id].name.lower().startswith(query)]
        limit = int(request.get("limit") or 0)
        members = members[:limit] if limit else members
        return {"guild_id": str(guild.id), "chunk_index": 0, "chunk_count": 1,
                "members": [payloads.member_json(self.store, m) for m in members],
                "not_found": [str(u) for u in wanted - set(guild.members)],
                "nonce": request.get("nonce")}

    def application_json(self) -> Json:
        """The bot's application object."""
        return {"id": str(self.application_id), "name": self.bot.name, "icon": None,
                "description": "", "bot_public": True, "bot_require_code_grant": False,
                "owner": payloads.user_json(self.app_owner), "verify_key": "0" * 64,
                "flags": 0, "team": None, "summary": "", "rpc_origins": [],
                "bot": payloads.user_json(self.bot), "interactions_endpoint_url": None,
                "redirect_uris": [], "tags": [],
                "approximate_guild_count": len(self._bot_guilds())}

    @property
    def identified_intents(self) -> list[int]:
        """The intents of every IDENTIFY received, in order."""
        return self.gateway.identified_intents

    # -- world building -------------------------------------------------------------------

    def _new_user(self, name: str, *, bot: bool = False) -> User:
        """Create a user without any event."""
        user = User(self.store.ids.next(), name, bot=bot)
        self.store.users[user.id] = user
        return user

    async def add_user(self, name: str, bot: bool = False, dms_closed: bool = False) -> User:
        """A new user, in no guild yet."""
        user = self._new_user(name, bot=bot)
        user.dms_closed = dms_closed
        return user

    async def add_guild(self, name: str, owner: User | None = None,
                        bot_permissions: int = BOT_DEFAULT) -> Guild:
        """A guild with @everyone, the bot's managed role, the bot, its owner and #general."""
        owner = owner or await self.add_user(f"{name} owner")
        guild = Guild(self.store.ids.next(), name, owner.id)
        self.store.guilds[guild.id] = guild
        guild.roles[guild.id] = Role(guild.id, guild.id, "@everyone", EVERYONE_DEFAULT)
        bot_role = Role(self.store.ids.next(), guild.id, self.bot.name, bot_permissions,
                        managed=True, position=1)
        guild.roles[bot_role.id] = bot_role
        guild.members[owner.id] = Member(owner.id, guild.id, [])
        guild.members[self.bot.id] = Member(self.bot.id, guild.id, [bot_role.id])
        self.new_channel(guild, "general", GUILD_TEXT)
        await self.events.guild_create(guild)
        return guild

    async def add_role(self, guild: Guild, name: str, permissions: int = 0) -> Role:
        """A new role in the guild."""
        role = Role(self.store.ids.next(), guild.id, name, permissions, position=len(guild.roles))
        guild.roles[role.id] = role
        await self.gateway.dispatch("GUILD_ROLE_CREATE", lambda s: {
            "guild_id": str(guild.id), "role": payloads.role_json(role)})
        return role

    async def add_member(self, guild: Guild, user: User, roles: Sequence[Role] = ()) -> Member:
        """The user joins the guild (GUILD_MEMBER_ADD with the members intent)."""
        member = Member(user.id, guild.id, [r.id for r in roles])
        guild.members[user.id] = member
        await self.events.member_add(member)
        return member

    async def add_channel(self, guild: Guild, name: str,
                          overwrites: Sequence[Overwrite] = ()) -> Channel:
        """A text channel created by a guild admin (CHANNEL_CREATE dispatched)."""
        channel = self.new_channel(guild, name, GUILD_TEXT,
                                   overwrites={o.id: o for o in overwrites})
        await self.events.channel("CHANNEL_CREATE", channel)
        return channel

    def new_channel(self, guild: Guild, name: str, kind: int, *, parent_id: int | None = None,
                    topic: str | None = None, overwrites: dict[int, Overwrite] | None = None
                    ) -> Channel:
        """Store a new guild channel (no event)."""
        channel = Channel(self.store.ids.next(), kind, name, guild.id, parent_id,
                          position=len(self.store.channels_of(guild.id)), topic=topic,
                          overwrites=overwrites or {})
        self.store.channels[channel.id] = channel
        return channel

    def new_thread(self, parent: Channel, name: str, kind: int, *, owner_id: int) -> Channel:
        """Store a new thread under a channel (no event)."""
        thread = Channel(self.store.ids.next(), kind, name[:100], parent.guild_id, parent.id,
                         owner_id=owner_id)
        self.store.channels[thread.id] = thread
        return thread

    def remove_channel(self, channel: Channel) -> None:
        """Forget a channel, its threads and their messages."""
        doomed = {channel.id} | {c.id for c in self.store.channels.values()
                                 if c.parent_id == channel.id and c.is_thread}
        for channel_id in doomed:
            self.store.channels.pop(channel_id, None)
        for message in self.store.messages.values():
            if message.channel_id in doomed:
                message.deleted = True

    def dm_channel_of(self, user: User) -> Channel:
        """The DM channel between the bot and the user (created when first needed)."""
        channel = self.store.dm_between(self.bot.id, user.id)
        if channel is None:
            channel = Channel(self.store.ids.next(), DM, recipients=[self.bot.id, user.id])
            self.store.channels[channel.id] = channel
        return channel

    def shares_guild(self, user_id: int) -> bool:
        """Whether the user is in a guild with the bot (Discord's condition for bot DMs)."""
        return any(user_id in g.members for g in self._bot_guilds())

    def _bot_guilds(self) -> list[Guild]:
        """The guilds the bot is a member of."""
        return [g for g in self.store.guilds.values() if self.bot.id in g.members]

    # -- inspection -----------------------------------------------------------------------

    def can_see(self, user: User | int, channel: Channel | int) -> bool:
        """Whether the user can view the channel, by Discord's rules (see state.py)."""
        return self.store.can_see(_id(user), _id(channel))

    def messages_in(self, channel: Channel | int, include_ephemeral: bool = False) -> list[Message]:
        """The channel's messages, oldest first (ephemeral ones only if asked)."""
        return [m for m in self.store.messages_of(_id(channel))
                if include_ephemeral or not m.ephemeral]

    def channels_in(self, guild: Guild) -> list[Channel]:
        """The guild's channels and categories (not threads)."""
        return [c for c in self.store.channels_of(guild.id) if not c.is_thread]

    def threads_of(self, channel: Channel | int) -> list[Channel]:
        """The threads under a channel."""
        return [c for c in self.store.channels.values() if c.is_thread and c.parent_id == _id(channel)]

    def thread_members(self, thread: Channel | int) -> list[int]:
        """The user ids of a thread's members."""
        return list(self.store.channels[_id(thread)].thread_members)

    def overwrites(self, channel: Channel | int) -> dict[int, Overwrite]:
        """A channel's permission overwrites by role or member id."""
        return dict(self.store.channels[_id(channel)].overwrites)

    def channel(self, channel_id: int) -> Channel:
        """A channel by id."""
        return self.store.channels[channel_id]

    def message_json(self, message: Message) -> Json:
        """A message as REST returns it."""
        return payloads.message_json(self.store, message, self.base_url)

    @property
    def unanswered_interactions(self) -> list[InteractionRecord]:
        """Interactions the bot answered late or never (Discord's 3-second window)."""
        return self.interactions.unanswered()

    # -- connection control ---------------------------------------------------------------

    async def drop_connection(self, code: int | None = 4000) -> int:
        """Close the bot's sockets like a network failure; it should RESUME. Returns how many."""
        return await self.gateway.drop(code)

    def hold_gateway(self) -> None:
        """Make new gateway connections wait before HELLO (a longer outage)."""
        self.gateway.open_gate.clear()

    def release_gateway(self) -> None:
        """Let held gateway connections proceed."""
        self.gateway.open_gate.set()

    def fail_next_resume(self) -> None:
        """Answer the next RESUME with op 9 (session invalid), so the client re-identifies."""
        self.gateway.fail_next_resume = True

    async def wait_until(self, condition: Callable[[], bool], within: float = 5.0) -> None:
        """Wait until a condition holds (polled every few milliseconds)."""
        async with asyncio.timeout(within):
            while True:
                if condition():
                    return
                await asyncio.sleep(0.005)

    # -- people acting --------------------------------------------------------------------

    async def user_message(self, user: User, channel: Channel, content: str = "hello") -> Message:
        """The user writes in a channel they can see (content withheld per the bot's intents)."""
        perms = self.store.permissions(user.id, channel.id)
        need = SEND_MESSAGES_IN_THREADS if channel.is_thread else SEND_MESSAGES
        if not perms & need:
            raise PermissionError(f"{user.name} cannot write in {channel.name or channel.id}")
        if channel.is_thread and channel.archived:
            if channel.locked:
                raise PermissionError("the thread is locked")
            channel.archived = False
            await self.events.channel("CHANNEL_UPDATE", channel)
        message = self.messages.build(channel.id, user.id, Body({"content": content}))
        return await self.messages.post(message)

    async def slash(self, user: User, where: Where, name: str,
                    options: dict[str, Any] | None = None, *, channel: Channel | None = None,
                    within: float = 5.0) -> InteractionResult:
        """Invoke a synced slash command (`"group sub"` names too) and wait for the answer."""
        place, guild = self._place(user, where, channel)
        _, data = self._command_data(user, place, guild, name, options or {}, None)
        record = self.interactions.new(2, user.id, place.id, self._base(user, place))
        record.payload["data"] = data
        return await self._run(record, f"/{name}", within)

    async def autocomplete(self, user: User, where: Where, name: str, focused: str,
                           options: dict[str, Any], *, channel: Channel | None = None,
                           within: float = 5.0) -> list[Json]:
        """Type into option `focused` of a command and return the bot's choices."""
        place, guild = self._place(user, where, channel)
        _, data = self._command_data(user, place, guild, name, options, focused)
        record = self.interactions.new(4, user.id, place.id, self._base(user, place))
        record.payload["data"] = data
        result = await self._run(record, f"autocomplete /{name}", within)
        return result.choices or []

    async def click(self, user: User, message: Message, custom_id: str,
                    values: list[str] | None = None, *, within: float = 5.0) -> InteractionResult:
        """Click a button (or pick select `values`) on a message and wait for the answer."""
        message = self.store.messages[message.id]
        component = next((c for c in walk_components(message.components)
                          if c.get("custom_id") == custom_id), None)
        if component is None or component.get("disabled"):
            raise LookupError(f"no enabled component {custom_id!r} on message {message.id}")
        self._check_can_use(user, message)
        channel = self.store.channels[message.channel_id]
        payload = self._base(user, channel)
        payload["message"] = self.message_json(message)
        data: Json = {"custom_id": custom_id, "component_type": component["type"]}
        if values is not None:
            data["values"] = values
        payload["data"] = data
        record = self.interactions.new(3, user.id, channel.id, payload, source=message)
        return await self._run(record, f"click {custom_id}", within)

    async def submit_modal(self, user: User, custom_id: str, values: dict[str, str], *,
                           within: float = 5.0) -> InteractionResult:
        """Submit the modal the bot last opened for this user with this custom_id."""
        opener = next((r for r in reversed(self.interactions.records.values())
                       if r.user_id == user.id and r.modal and r.modal["custom_id"] == custom_id),
                      None)
        if opener is None or opener.modal is None:
            raise LookupError(f"the bot opened no modal {custom_id!r} for {user.name}")
        unused = set(values) - {c.get("custom_id") for c in walk_components(opener.modal["components"])}
        if unused:
            raise ValueError(f"the modal has no inputs {sorted(unused)}")
        channel = self.store.channels[opener.channel_id]
        payload = self._base(user, channel)
        source = self.store.messages.get(opener.source_message_id or 0)
        if source is not None:
            payload["message"] = self.message_json(source)
        payload["data"] = {"custom_id": custom_id,
                           "components": _modal_answers(opener.modal["components"], values)}
        record = self.interactions.new(5, user.id, channel.id, payload, source=source)
        return await self._run(record, f"modal {custom_id}", within)

    def _place(self, user: User, where: Where, channel: Channel | None) -> tuple[Channel, Guild | None]:
        """The channel an interaction happens in, which the user must be able to see."""
        if where == DM_CONTEXT:
            return self.dm_channel_of(user), None
        assert isinstance(where, Guild)
        place = channel or next(c for c in self.channels_in(where) if c.type == GUILD_TEXT)
        if place.guild_id != where.id:
            raise ValueError("the channel is not in that guild")
        if not self.can_see(user, place):
            raise PermissionError(f"{user.name} cannot see {place.name}")
        return place, where

    def _command_data(self, user: User, place: Channel, guild: Guild | None, name: str,
                      options: dict[str, Any], focused: str | None) -> tuple[Command, Json]:
        """The `data` of an application command interaction, with typed, nested options."""
        commands = list(self.store.global_commands)
        if guild is not None:
            commands = self.store.guild_commands.get(guild.id, []) + commands
        else:
            commands = [c for c in commands if _usable_in_dm(c)]
        invocation = find_command(commands, name)
        required = invocation.command.data.get("default_member_permissions")
        perms = self.store.permissions(user.id, place.id)
        if guild is not None and required is not None and int(required) & perms != int(required):
            raise PermissionError(f"{user.name} may not use /{name}")
        builder = OptionBuilder(self.store, guild, {place.id: perms})
        leaf = builder.build(invocation.leaf_options, options, focused)
        data: Json = {"id": str(invocation.command.id), "name": invocation.command.name,
                      "type": 1, "options": nest(invocation.path, leaf)}
        if builder.resolved:
            data["resolved"] = builder.resolved
        if invocation.command.guild_id is not None:
            data["guild_id"] = str(invocation.command.guild_id)
        return invocation.command, data

    def _check_can_use(self, user: User, message: Message) -> None:
        """Only the interaction's user sees an ephemeral message; others need the channel."""
        if message.ephemeral:
            owner = (message.interaction_metadata or {}).get("user", {}).get("id")
            if owner != str(user.id):
                raise PermissionError(f"{user.name} cannot see that ephemeral message")
        elif not self.can_see(user, message.channel_id):
            raise PermissionError(f"{user.name} cannot see that message")

    def _base(self, user: User, channel: Channel) -> Json:
        """The fields every interaction carries, for a user in a channel."""
        channel_data = payloads.channel_json(self.store, channel)
        channel_data["permissions"] = str(self.store.permissions(user.id, channel.id))
        guild_id = channel.guild_id
        payload: Json = {
            "application_id": str(self.application_id), "version": 1, "locale": user.locale,
            "app_permissions": str(self.store.permissions(self.bot.id, channel.id)),
            "entitlements": [], "attachment_size_limit": 26214400,
            "channel_id": str(channel.id), "channel": channel_data,
            "context": 0 if guild_id else 1,
            "authorizing_integration_owners": {"0": str(guild_id or 0)}}
        if guild_id is None:
            payload["user"] = payloads.user_json(user)
            return payload
        member = payloads.member_json(self.store, self.store.guilds[guild_id].members[user.id])
        member["permissions"] = channel_data["permissions"]
        payload.update(guild_id=str(guild_id), guild_locale="en-US", member=member,
                       guild={"id": str(guild_id), "locale": "en-US", "features": []})
        return payload

    async def _run(self, record: InteractionRecord, what: str, within: float) -> InteractionResult:
        """Dispatch INTERACTION_CREATE and wait until the bot has answered."""
        await self.events.interaction(record.payload)
        try:
            async with asyncio.timeout(within):
                await record.done.wait()
        except TimeoutError:
            raise TimeoutError(f"the bot did not answer {what} within {within}s "
                               f"(callback type {record.callback_type})") from None
        return InteractionResult(record, self)


def _modal_answers(components: list[Json], values: dict[str, str]) -> list[Json]:
    """The submitted components of a modal, mirroring its layout (rows or labels)."""
    answers: list[Json] = []
    for component in components:
        if component.get("type") == 1:
            answers.append({"type": 1, "components": _modal_answers(component["components"], values)})
        elif component.get("type") == 18:
            inner = _modal_answers([component["component"]], values)[0]
            answers.append({"type": 18, "component": inner})
        elif component.get("type") == 4:
            custom_id = component["custom_id"]
            if component.get("required", True) and not values.get(custom_id):
                raise ValueError(f"the modal input {custom_id!r} is required")
            answers.append({"type": 4, "custom_id": custom_id, "value": values.get(custom_id, "")})
    return answers


def _usable_in_dm(command: Command) -> bool:
    """Whether a global command may be used in the bot's DMs."""
    contexts = command.data.get("contexts")
    if contexts is not None:
        return 1 in contexts
    return command.data.get("dm_permission") is not False


def _route_key(request: web.Request) -> str:
    """"METHOD /template" of the matched route, e.g. "POST /channels/{channel_id}/messages"."""
    route = request.match_info.route
    resource = route.resource
    canonical = resource.canonical if resource is not None else request.path
    if canonical.startswith(API):
        canonical = canonical[len(API):]
    return f"{request.method} {canonical}"


def _needs_auth(path: str) -> bool:
    """Bot-token routes: the API except interaction callbacks and webhooks."""
    if not path.startswith(API):
        return False
    rest = path[len(API):]
    return not rest.startswith(("/interactions/", "/webhooks/"))


def _rate_limit_headers(route: str) -> dict[str, str]:
    """Generous X-RateLimit-* headers for a route's bucket."""
    bucket = hashlib.sha1(route.encode()).hexdigest()[:16]
    return {"X-RateLimit-Limit": "50", "X-RateLimit-Remaining": "49",
            "X-RateLimit-Reset": f"{time.time() + 1:.3f}", "X-RateLimit-Reset-After": "1.000",
            "X-RateLimit-Bucket": bucket}


def _rate_limited(retry_after: float) -> web.Response:
    """A 429 as Discord's edge sends it (discord.py retries only with a Via header)."""
    response = json_response({"message": "You are being rate limited.",
                              "retry_after": retry_after, "global": False}, 429)
    response.headers.update({"Via": "1.1 google", "Retry-After": f"{retry_after:.3f}",
                             "X-RateLimit-Scope": "user"})
    return response


def _id(thing: Any) -> int:
    """The id of a model object, or the int itself."""
    return thing if isinstance(thing, int) else int(thing.id)


@contextlib.contextmanager
def pointed_at(server: FakeDiscord) -> Iterator[None]:
    """Point discord.py (process-wide) at the server, restoring the real URLs after."""
    old_base = discord.http.Route.BASE
    old_gateway = discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY
    discord.http.Route.BASE = server.api_base
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(server.gateway_url)
    try:
        yield
    finally:
        discord.http.Route.BASE = old_base
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = old_gateway


__all__ = ["DM_CONTEXT", "FakeDiscord", "InteractionResult", "RecordedRequest", "pointed_at"]
