"""The Discord carrier: effects carried out with one discord.py client.

The shared delivery pump (:mod:`bots.adapter.pump`) keeps order, retries and bindings;
this module only knows Discord.

* A trio room is a private text channel in the configured category of the trio's server
  (its realm; the first configured server when it has none or is not one of the bot's;
  with no server configured, every server the bot is in counts, the oldest first):
  the category is looked up by name, or made, in that server. @everyone may not view it, the three members and the bot may (member overwrites). A pair line is a
  private thread in that channel (not invitable) with its two members added; the bot
  unarchives a thread before posting in it. Leaving removes the member's overwrite or
  thread membership; a pair line that loses a member, or a closed one, is archived and
  locked; a closed trio channel stays, without its members' access. Creating a channel or
  thread and binding it are two steps: a try stopped between them (a crash, a lost
  answer) leaves a channel nobody knows; the next try finds it instead of making a
  second one: the unbound channel in the category with the room's topic (set once, at
  creation) and exactly its members' overwrites, or the bot's unbound private thread of
  the line's name in the trio channel, active or archived (it is unarchived, and its
  members are then added, which is idempotent).
* A reply to a slash command, a button or a form goes to that interaction while its token
  lives, once however many commands a form gave (:mod:`bots.discord.answers`):
  ephemeral when private, an error, or meant for the member's direct chat. Otherwise
  private notices go by DM; a member whose DMs are closed gets them on their next
  interaction, ephemerally: until then they wait in the outbox (a restart keeps them),
  for :data:`CLOSED_KEEP` at most; then they are dropped (the log names kind and id),
  and the member's next answer says how many (a count the database keeps until told).
* Every message has ``AllowedMentions.none()`` (a trio named ``@everyone`` pings nobody)
  and, in channels, the effect's key as an enforced nonce, so a re-send after a crash is
  not posted twice. Choices become buttons (:mod:`bots.discord.views`).
* Discord's answers: 429 and 5xx are retried by the pump (discord.py has already waited
  out the rate limits it knows of), 403 and 404 will not get better and are dropped.
  Log lines name channels, effects and status codes, never text.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
from collections.abc import Awaitable
from typing import Any

import aiohttp
import discord

from bots.adapter.bindings import Bindings
from bots.adapter.carrier import (
    Direct,
    Done,
    Failed,
    GuardedCarrier,
    InRoom,
    Moderators,
    Notice,
    Outcome,
    Retry,
    Target,
    Wait,
)
from bots.discord.answers import CLOSED_KEEP, CLOSED_RECHECK, Answers, Live, split, whole_origin
from bots.discord.config import DiscordConfig
from bots.discord.names import PLATFORM, member_id, user_id_of
from bots.discord.views import typed_choices, view_of
from core import queries
from core.effects import Attachment, CreateRoom
from core.events import CommandReceived
from core.i18n import SOURCE
from core.ids import MemberId
from core.service import Twinome

log = logging.getLogger("twinome.discord")

NONE = discord.AllowedMentions.none()
MAX_NONCE = 25
Channel = discord.TextChannel | discord.Thread

MEMBER = discord.PermissionOverwrite(view_channel=True, send_messages=True,
                                     send_messages_in_threads=True, read_message_history=True)
BOT = discord.PermissionOverwrite(view_channel=True, send_messages=True,
                                  send_messages_in_threads=True, read_message_history=True,
                                  create_private_threads=True, manage_threads=True)
HIDDEN = discord.PermissionOverwrite(view_channel=False)


def nonce_of(key: str, part: int = 0) -> str:
    """A Discord nonce (at most 25 characters) from an effect key, the same on every try."""
    raw = key if part == 0 else f"{key}-{part}"
    if len(raw) <= MAX_NONCE:
        return raw
    return "tw" + hashlib.sha256(raw.encode()).hexdigest()[: MAX_NONCE - 2]


class DiscordCarrier(GuardedCarrier):
    """Carries effects out in the configured Discord server."""

    platform = PLATFORM

    def __init__(self, client: discord.Client, core: Twinome, bindings: Bindings,
                 config: DiscordConfig, answers: Answers) -> None:
        self.client = client
        self.core = core
        self.bindings = bindings
        self.config = config
        self.answers = answers

    async def guard(self, call: Awaitable[Outcome]) -> Outcome:
        return await _guarded(call)

    # -- notices --------------------------------------------------------------------------

    async def _send(self, target: Target, notice: Notice) -> Outcome:
        if self.answers.take_part(notice.origin, notice.text, error=notice.error):
            return Done()
        live = self.answers.get(whole_origin(notice.origin))
        if live is not None and not isinstance(target, Moderators):
            try:
                await self._answer(live, notice, public=isinstance(target, InRoom))
                return Done()
            except discord.NotFound:  # the token died (a restart, or 15 minutes passed)
                log.info("interaction %s is gone; delivering elsewhere", notice.origin)
        if isinstance(target, Moderators):
            where = self.config.moderators_channel_id
            if where is None:
                return Failed("no moderators channel ([discord] moderators_channel_id)")
            channel = await self._channel(str(where))
            return Failed("the moderators channel is gone") if channel is None \
                else await self.post(channel, notice)
        if isinstance(target, InRoom):
            channel = await self._channel(target.ref)
            return Failed(f"channel {target.ref} is gone") if channel is None \
                else await self.post(channel, notice)
        return await self._direct(target, notice)

    async def _answer(self, live: Live, notice: Notice, *, public: bool) -> None:
        """Answer an interaction with a notice (ephemeral unless it is meant for the room)."""
        await self.answers.answer(live, typed_choices(notice.text, notice.choices, notice.lang),
                                  ephemeral=not public or notice.private or notice.error,
                                  view=view_of(notice.choices), lang=notice.lang)
        if notice.attachment is not None:  # a file, seen only by its reader
            await live.interaction.followup.send(file=as_file(notice.attachment), ephemeral=True)

    async def answer_reading(self, live: Live, event: CommandReceived) -> bool:
        """Answer an interaction (``live``, just opened) with its lone command, from a read,
        if it only reads: True if it is answered (nothing stored or recorded: Discord never
        delivers an interaction twice, and its answer cannot be given again once its token
        dies anyway); False if it must take the durable path (the core says so, or the
        answer could not be given at all)."""
        replies = await self.core.answer_reading(event)
        if not replies:
            return False
        for n, reply in enumerate(replies):
            notice = Notice(reply.text, "", origin=reply.origin, private=reply.private,
                            error=reply.error, choices=reply.choices,
                            attachment=reply.attachment, lang=reply.lang or SOURCE)
            outcome = await self.guard(self._answered(live, notice, reply.room is not None))
            if not isinstance(outcome, Done):
                log.warning("interaction %s could not be answered: %s", event.origin,
                            getattr(outcome, "reason", outcome))
                return n > 0  # nothing went out yet: the durable path tries again
        return True

    async def _answered(self, live: Live, notice: Notice, public: bool) -> Outcome:
        await self._answer(live, notice, public=public)
        return Done()

    async def _direct(self, target: Direct, notice: Notice) -> Outcome:
        user_id = user_id_of(target.member)
        if user_id is None:
            return Failed("not a Discord member")
        if not self.answers.dms_closed(user_id):
            user = self.client.get_user(user_id) or await self.client.fetch_user(user_id)
            dm = user.dm_channel or await user.create_dm()
            try:
                return await self.post(dm, notice)
            except discord.Forbidden:
                log.info("the DMs of %s are closed", target.member)
                self.answers.found_closed(user_id)
        waited = notice.waited or 0.0
        if waited >= CLOSED_KEEP:  # counted for them with the drop: told on their next interaction
            return Failed(f"their DMs stayed closed for {CLOSED_KEEP / 86400:.0f} days",
                          tell=target.member)
        live = self.answers.reachable(user_id)
        if live is None:  # the bot wakes the pump on their next interaction: no poll
            return Wait("their DMs are closed: it waits for their next interaction",
                        recheck=min(CLOSED_KEEP - waited, CLOSED_RECHECK))
        await self.answers.follow_closed(live, typed_choices(notice.text, notice.choices,
                                                             notice.lang),
                                         view_of(notice.choices), notice.lang)
        return Done()

    async def post(self, channel: discord.abc.Messageable, notice: Notice) -> Outcome:
        """Post a notice (in as many messages as its length needs) with its buttons."""
        if isinstance(channel, discord.Thread) and channel.archived:
            if channel.locked:
                return Failed("the thread is locked")
            await channel.edit(archived=False)
        parts = split(typed_choices(notice.text, notice.choices, notice.lang))
        view = view_of(notice.choices)
        for index, part in enumerate(parts):
            extra: dict[str, Any] = {}
            if index == len(parts) - 1 and view is not None:
                extra["view"] = view
            await channel.send(part, allowed_mentions=NONE, nonce=nonce_of(notice.key, index),
                               **extra)
        if notice.attachment is not None:
            await channel.send(file=as_file(notice.attachment),
                               nonce=nonce_of(notice.key, len(parts)))
        return Done()

    async def _channel(self, ref: str) -> Channel | discord.DMChannel | None:
        """A channel or thread by id (from the cache, else asked for)."""
        if not ref.isdigit():
            return None
        found = self.client.get_channel(int(ref))
        if found is None:
            try:
                found = await self.client.fetch_channel(int(ref))
            except discord.NotFound:
                return None
        if isinstance(found, discord.TextChannel | discord.Thread | discord.DMChannel):
            return found
        return None

    # -- rooms ----------------------------------------------------------------------------

    async def _create(self, effect: CreateRoom) -> Outcome:
        users = [user_id_of(m) for m in effect.members]
        if any(u is None for u in users):
            return Failed("a member is not a Discord account")
        ids = [u for u in users if u is not None]
        if effect.purpose == "pair":
            return await self._create_pair(effect, ids)
        category = await self._category(effect.realm)
        if category is None:
            return Failed("the configured category cannot be found or made")
        made = await self._made_before(category, effect.topic[:1024], ids)
        if made is not None:
            log.info("found the trio channel %s made for core room %s before a stop",
                     made.id, effect.room)
            return Done(str(made.id))
        guild = category.guild
        overwrites: dict[discord.Role | discord.Member | discord.Object,
                         discord.PermissionOverwrite] = {guild.default_role: HIDDEN}
        overwrites[guild.me] = BOT
        for user_id in ids:
            overwrites[discord.Object(user_id, type=discord.Member)] = MEMBER
        channel = await guild.create_text_channel(
            effect.name[:100] or "trio", category=category, topic=effect.topic[:1024],
            overwrites=overwrites, reason="a trio became active")
        log.info("created the trio channel %s for core room %s", channel.id, effect.room)
        return Done(str(channel.id))

    async def _create_pair(self, effect: CreateRoom, ids: list[int]) -> Outcome:
        async with self.core.db.read() as tx:
            room = await queries.trio_room(tx, effect.trio)
        parent_ref = None if room is None else await self.bindings.room(room.id)
        if parent_ref is None:
            return Wait("the trio channel is not made yet")
        parent = await self._channel(parent_ref)
        if not isinstance(parent, discord.TextChannel):
            return Failed("the trio channel is gone")
        name = effect.name[:100] or "pair"
        thread = await self._pair_made_before(parent, name)
        if thread is None:
            thread = await parent.create_thread(name=name, type=discord.ChannelType.private_thread,
                                                invitable=False, reason="a pair line")
        elif thread.archived:
            await thread.edit(archived=False)
        for user_id in ids:
            await thread.add_user(discord.Object(user_id))
        log.info("created the pair thread %s for core room %s", thread.id, effect.room)
        return Done(str(thread.id))

    async def _made_before(self, category: discord.CategoryChannel, topic: str,
                           ids: list[int]) -> discord.TextChannel | None:
        """A trio channel made for this room by a try that stopped before it was bound: in
        the category, with the room's topic (set once, at creation), for exactly these
        members, and bound to no room."""
        me = category.guild.me.id
        for channel in category.text_channels:
            members = {t.id for t in channel.overwrites if not isinstance(t, discord.Role)}
            if channel.topic == topic and members - {me} == set(ids) \
                    and await self.bindings.key(str(channel.id)) is None:
                return channel
        return None

    async def _pair_made_before(self, parent: discord.TextChannel,
                                name: str) -> discord.Thread | None:
        """A pair thread made for this line by a try that stopped before it was bound: the
        bot's own private thread of that name in the trio channel, bound to no line, active
        or archived since (Discord archives an idle thread; the client's cache holds only
        active ones, so archived ones are asked for)."""
        for thread in parent.threads:
            if await self._orphan(thread, parent, name):
                return thread
        try:
            async for thread in parent.archived_threads(private=True, limit=None):
                if await self._orphan(thread, parent, name):
                    return thread
        except discord.Forbidden:  # no Manage Threads there: a second thread beats none
            log.warning("cannot list the archived threads of %s", parent.id)
        return None

    async def _orphan(self, thread: discord.Thread, parent: discord.TextChannel,
                      name: str) -> bool:
        """Whether a thread is the bot's own unbound private thread named ``name``."""
        return thread.owner_id == parent.guild.me.id and thread.name == name \
            and thread.type is discord.ChannelType.private_thread \
            and await self.bindings.key(str(thread.id)) is None

    async def _category(self, realm: str | None) -> discord.CategoryChannel | None:
        """The trio channels' category in the realm's server (looked up by name, or made)."""
        guilds = [g for g in (self.client.get_guild(i) for i in self.config.guild_ids) if g] \
            if self.config.guild_ids else sorted(self.client.guilds, key=lambda g: g.id)
        home = next((g for g in guilds if str(g.id) == realm), guilds[0] if guilds else None)
        name = self.config.category_name or "Trios"
        if self.config.category_id is not None:
            found = self.client.get_channel(self.config.category_id)
            if not isinstance(found, discord.CategoryChannel):
                return None
            if home is None or found.guild.id == home.id:
                return found
            name = found.name  # another server: its category of the same name
        if home is None:
            return None
        for category in home.categories:
            if category.name == name:
                return category
        hidden: dict[discord.Role | discord.Member | discord.Object,
                     discord.PermissionOverwrite] = {home.default_role: HIDDEN, home.me: BOT}
        return await home.create_category(name, overwrites=hidden,
                                          reason="where trio channels go")

    async def _invite(self, ref: str, member: MemberId) -> Outcome:
        user_id, channel = user_id_of(member), await self._channel(ref)
        if user_id is None or channel is None:
            return Failed("no such member or channel")
        if isinstance(channel, discord.Thread):
            if channel.archived:
                await channel.edit(archived=False)
            await channel.add_user(discord.Object(user_id))
        elif isinstance(channel, discord.TextChannel):
            try:
                person = channel.guild.get_member(user_id) or \
                    await channel.guild.fetch_member(user_id)
            except discord.NotFound:
                return Failed("the member is not in the server any more")
            await channel.set_permissions(person, overwrite=MEMBER, reason="joined the trio")
        return Done()

    async def _remove(self, ref: str, member: MemberId, reason: str) -> Outcome:
        user_id, channel = user_id_of(member), await self._channel(ref)
        if user_id is None or channel is None:
            return Done()  # nothing left to take them out of
        if isinstance(channel, discord.Thread):
            if channel.archived:
                await channel.edit(archived=False)
            with contextlib.suppress(discord.NotFound):
                await channel.remove_user(discord.Object(user_id))
            await channel.edit(archived=True, locked=True)  # a pair line of two is over
        elif isinstance(channel, discord.TextChannel):
            await self._unpermit(channel, user_id, "left the trio")
        return Done()

    async def _close(self, ref: str, notice: Notice) -> Outcome:
        channel = await self._channel(ref)
        if channel is None:
            return Done()
        if isinstance(channel, discord.Thread):
            if channel.locked and channel.archived:
                return Done()  # closed already (replayed after a restart)
            posted = await self.post(channel, notice)
            if not isinstance(posted, Done):
                return posted
            await self._drop_leavers(ref, channel)
            await channel.edit(archived=True, locked=True)
            return Done()
        if isinstance(channel, discord.TextChannel):
            await self.post(channel, notice)
            me = self.client.user.id if self.client.user else None
            for target in list(channel.overwrites):
                if isinstance(target, discord.Member | discord.Object) and target.id != me:
                    await self._unpermit(channel, target.id, "the trio closed")
        return Done()

    async def _drop_leavers(self, ref: str, thread: discord.Thread) -> None:
        """Take out of a closing pair thread whoever is no longer in its trio."""
        room = await self.bindings.core_room(ref)
        if room is None:
            return
        async with self.core.db.read() as tx:
            found = await queries.room(tx, room)
            staying = set() if found is None else set(await queries.members(tx, found.trio_id))
        me = self.client.user.id if self.client.user else None
        for member in await thread.fetch_members():
            if member.id != me and member_id(member.id) not in staying:
                with contextlib.suppress(discord.NotFound):
                    await thread.remove_user(discord.Object(member.id))

    async def _unpermit(self, channel: discord.TextChannel, user_id: int, reason: str) -> None:
        """Delete a member's overwrite (they may have left the server: no Member needed)."""
        with contextlib.suppress(discord.NotFound):
            await self.client.http.delete_channel_permissions(channel.id, user_id, reason=reason)


def as_file(file: Attachment) -> discord.File:
    """An attachment as a Discord file upload."""
    return discord.File(io.BytesIO(file.content.encode("utf-8")), filename=file.filename)


async def _guarded(call: Awaitable[Outcome]) -> Outcome:
    """The outcome of a call, with Discord's refusals and outages mapped."""
    try:
        return await call
    except discord.HTTPException as err:
        if err.status == 429 or err.status >= 500:
            return Retry(f"discord answered {err.status}")
        return Failed(f"discord answered {err.status} ({err.code})")
    except (aiohttp.ClientError, OSError, TimeoutError) as err:
        return Retry(type(err).__name__)
