"""The fake Discord server: an aiohttp app on 127.0.0.1 and the API tests drive it with.

Theory of operation. One `FakeDiscord` owns an in-memory `Store` (state.py) and serves,
on a free local port, the REST API under `/api/v10` (rest.py, commands.py, and the
interaction callback/webhook routes in interactions.py) and the gateway websocket at
`/gateway` (gateway.py). `pointed_at(server)` sets discord.py's two class-level URLs so a
real `discord.Client` logs in, identifies and resumes against it. Tests change the world
through async methods (`add_guild`, `add_member`...; people's actions such as
`user_message`, `slash` and `click` live in people.py): each updates the
store and dispatches the gateway events Discord would send (events.py), filtered by the
session's intents and by what the bot can see. Interaction helpers then wait until the bot
has answered over REST and return an `InteractionResult` view of the answer. A middleware
records every request, answers Discord-shaped JSON errors (never 5xx), adds rate-limit
headers, can inject a 429 once, and records unknown routes and internal errors, which
tests assert stay empty.

Several processes may run the one bot (Discord shards): each may log in with a token of
its own from `token_for(name)`, all of the same bot, so every request and gateway session
records which `caller` made it. `shards` is the count `/gateway/bot` recommends, and
`add_guild(..., shard=(id, count))` makes a guild whose id that shard holds.
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
from typing import Any

import discord
import yarl
from aiohttp import web

from tests.discord.fakediscord import payloads
from tests.discord.fakediscord.commands import CommandRoutes
from tests.discord.fakediscord.events import Events
from tests.discord.fakediscord.gateway import Gateway, Json, Session
from tests.discord.fakediscord.interactions import (
    InteractionRecord,
    InteractionResult,
    Interactions,
)
from tests.discord.fakediscord.messages import Messages
from tests.discord.fakediscord.people import DM_CONTEXT, People
from tests.discord.fakediscord.rest import Rest
from tests.discord.fakediscord.state import (
    BOT_DEFAULT,
    DM,
    EVERYONE_DEFAULT,
    GUILD_TEXT,
    Channel,
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
log = logging.getLogger(__name__)


@dataclass
class RecordedRequest:
    """One HTTP request the server received, with its answer's status."""

    method: str
    path: str
    route: str
    query: str
    status: int = 0
    caller: str | None = None  # the name of the token it came with (see token_for)
    body: Any = None
    files: list[str] = field(default_factory=list)


class FakeDiscord(People):
    """A local Discord API and gateway for one bot application; see the module docstring."""

    def __init__(self, bot_name: str = "Twinome", interaction_window: float = 3.0) -> None:
        self.store = Store()
        self.bot_token = secrets.token_urlsafe(32)
        self.tokens = {self.bot_token: "bot"}  # every token of the bot, by the caller it names
        self.shards = 1  # the shard count /gateway/bot recommends
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
        self._holds: dict[str, tuple[asyncio.Event, Callable[[Any], bool]]] = {}
        self.held = asyncio.Event()  # set once a held request has been carried out
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
        entry = RecordedRequest(request.method, request.path, route, request.query_string,
                                caller=self.caller_of(_bot_token(request)))
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
            if _needs_auth(request.path) and self.caller_of(_bot_token(request)) is None:
                raise ApiError(401, 0, "401: Unauthorized")
            retry_after = self._rate_limits.pop(route, None)
            if retry_after is not None:
                return _rate_limited(retry_after)
            response = await handler(request)
            hold = self._holds.get(route)
            body = request.get(BODY_KEY)
            if hold is not None and hold[1](body.payload if isinstance(body, Body) else None):
                del self._holds[route]  # done on "Discord", but the bot hears nothing yet
                self.held.set()
                await hold[0].wait()
            return response
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

    def hold_after(self, route: str,
                   which: Callable[[Any], bool] = lambda payload: True) -> asyncio.Event:
        """Carry out the next request on ``route`` whose JSON payload ``which`` picks, then
        keep its answer from the bot until the returned event is set (``held`` is set
        meanwhile): a bot stopped then has made the call without knowing it."""
        release = asyncio.Event()
        self._holds[route] = (release, which)
        return release

    def rate_limit_once(self, route: str, retry_after: float = 0.3) -> None:
        """Answer the next request on `route` (e.g. "POST /channels/{channel_id}/messages") 429."""
        self._rate_limits[route] = retry_after

    # -- gateway host ---------------------------------------------------------------------

    def token_for(self, caller: str) -> str:
        """Another token of the same bot, naming ``caller`` in what it is used for."""
        token = secrets.token_urlsafe(32)
        self.tokens[token] = caller
        return token

    def caller_of(self, token: object) -> str | None:
        """The caller a bot token names, None for a wrong one."""
        return self.tokens.get(token) if isinstance(token, str) else None

    def ready_payload(self, session: Session) -> Json:
        """READY: the bot user, unavailable guilds, session id and resume URL."""
        return {"v": 10, "user": payloads.user_json(self.bot), "session_type": "normal",
                "guilds": [{"id": str(g.id), "unavailable": True} for g in self._bot_guilds()
                           if session.holds(g.id)],
                "session_id": session.id, "resume_gateway_url": self.gateway_url + "/resume",
                "shard": list(session.shard),
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
                        bot_permissions: int = BOT_DEFAULT,
                        shard: tuple[int, int] | None = None) -> Guild:
        """A guild with @everyone, the bot's managed role, the bot, its owner and #general
        (its id held by ``shard``, ``(id, count)``, if given)."""
        owner = owner or await self.add_user(f"{name} owner")
        number = self.store.ids.next() if shard is None else self.store.ids.next_on(*shard)
        guild = Guild(number, name, owner.id)
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

    async def add_bot(self, guild: Guild) -> None:
        """The bot is added (back) to the guild, with its managed role: GUILD_CREATE reaches
        the sessions holding it (none while the bot is stopped)."""
        role = next(r for r in guild.roles.values() if r.managed)
        guild.members[self.bot.id] = Member(self.bot.id, guild.id, [role.id])
        await self.events.guild_create(guild, joined=True)

    async def remove_bot(self, guild: Guild) -> None:
        """The bot is removed from the guild (kicked, or the guild deleted): it is no longer
        a member, and GUILD_DELETE (without ``unavailable``) reaches the sessions holding it."""
        del guild.members[self.bot.id]
        await self.gateway.dispatch("GUILD_DELETE", lambda s: {"id": str(guild.id)})

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

def _route_key(request: web.Request) -> str:
    """"METHOD /template" of the matched route, e.g. "POST /channels/{channel_id}/messages"."""
    route = request.match_info.route
    resource = route.resource
    canonical = resource.canonical if resource is not None else request.path
    if canonical.startswith(API):
        canonical = canonical[len(API):]
    return f"{request.method} {canonical}"


def _bot_token(request: web.Request) -> str | None:
    """The token of a request's ``Authorization: Bot …`` header, if any."""
    given = request.headers.get("Authorization", "")
    return given.removeprefix("Bot ") if given.startswith("Bot ") else None


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
