"""The Discord adapter: a discord.py client feeding the shared runtime, and its startup.

Theory of operation. :class:`TwinomeClient` is a ``discord.Client`` given the core and
the configuration. Its ``setup_hook`` (after login, before the gateway) starts the shared
runtime (:class:`core.runtime.Runtime`: one writer, the scheduler), registers the
persistent choice buttons and syncs the command tree (generated from the core's grammar,
:mod:`bots.discord.commands`) to the configured servers, or globally when none is
configured; ``on_ready`` starts the delivery
pump with the Discord carrier (:mod:`bots.discord.carrier`), which the runtime wakes
after every commit that wrote effects.

A slash command, a pressed button or a submitted SOS modal becomes one
``CommandReceived`` whose event id is ``discord:<interaction id>`` and whose origin is
the interaction id. Its event ids are claimed from the pump before they are submitted (a
lone command that only reads is answered from a read instead, unrecorded:
:meth:`DiscordCarrier.answer_reading`, once every message that came before it is
applied: nothing submitted waits in the runtime and no message is being translated):
once the runtime says they are durable, the replies it hands back (outbox rows) are
carried out at once in the interaction's own task, answering the interaction directly
(:mod:`bots.discord.answers`), and marked done; the pump carries the command's other
effects. The interaction is deferred first if the answer is slow to come (Discord allows
3 seconds). ``/seek`` opens a form
(:mod:`bots.discord.seeking`) whose submission gives several commands:
``discord:<id>:<n>`` for the profile changes, then ``discord:<id>`` for ``seek``,
submitted together and answered once. Before any command is submitted, the member's top
role and server are noted (:mod:`bots.discord.communities`; a command answered from a
read is not submitted, and nothing it reads needs them): matchmaking reads the role,
through ``Settings.community_of``, to mix communities, and the server, through
``Settings.realm_of``, to keep each trio within one server. A message in a trio channel or pair
thread becomes a ``LineMessage``, and a direct message to the bot a command, answered in
that DM (:mod:`bots.discord.inbound`). Event ids are Discord
snowflakes, which the core applies once: events replayed after a gateway RESUME are
no-ops.

Languages. Each interaction's locale (``fr``, ``en-US``) goes to the core with its
commands (``CommandReceived.locale``): the core speaks to a member who has not chosen a
language in their Discord's. What the adapter says itself (a form, an error of its own)
is said in the member's chosen language, else their interaction's, else the bot's
default (:meth:`TwinomeClient.language_of`). The command tree carries French names and
descriptions through discord.py's translator (:class:`bots.discord.commands.Localizer`).

Shards. With ``[discord] shard_count`` the bot is :class:`ShardedTwinomeClient`, a
``discord.AutoShardedClient`` running the configured ``shard_ids`` (:func:`make_client`
chooses). Where other processes run the other shards on the same database, each process
carries out only the effects of the servers its shards hold: the pump reads the outbox
rows whose realm (the server of the trio they are about, or where their command was
given) is one of :meth:`TwinomeClient.realms`, the servers arrived so far (a server
arriving later wakes the pump), plus the rows bound to no server (direct messages,
reports), which any process may carry: the pumps' lane leases (:mod:`bots.adapter.pump`)
make sure one does, once. As another process may write effects this one carries (a
direct message about a trio of another shard), such a pump also looks at the outbox
every :data:`POLL_OTHERS` seconds. Each process syncs the command tree to the configured
servers its shards hold (globally: the process running shard 0, which also queues again
the reports that never reached the moderators); every process fires due jobs, each job
taken by one (``FOR UPDATE SKIP LOCKED``).

A server the bot was removed from (``on_guild_remove``, or, for one of this process's
shards, a server effects wait for or trios live in but absent at startup, and every
:data:`SETTLE_EVERY` seconds after) would keep its effects waiting for good: no process
carries its realm. They are settled at once
(:meth:`core.service.Twinome.left_realm`): what is for one member alone (a private
reply, a notice) loses the realm and goes by DM or on their next interaction; the rest
(posts, rooms, public replies in its channels) is dropped, logged by kind and id. The
members of the trios living there are told by DM, once (again only after the bot was
added back, ``on_guild_join`` or found there at its start, and removed again).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import discord
from discord import app_commands

from bots.adapter.bindings import Bindings
from bots.adapter.pump import Pump
from bots.discord import commands, seeking
from bots.discord.answers import Answers, part_origin
from bots.discord.carrier import DiscordCarrier
from bots.discord.communities import Communities
from bots.discord.config import DiscordConfig
from bots.discord.inbound import Translator
from bots.discord.names import PLATFORM, member_id, read_user, user_id_of
from bots.discord.views import ChoiceButton, SosModal
from core import queries
from core.config import Settings
from core.events import CommandReceived, Typed
from core.grammar import BY_NAME, Command, command_of
from core.i18n import _, pick, render
from core.ids import MemberId
from core.runtime import Runtime
from core.service import Delivery, Twinome

log = logging.getLogger("twinome.discord")

DEFER_AFTER = 1.0  # seconds an interaction may wait for its answer before it is deferred
MAX_CHOICES = 25  # autocomplete suggestions Discord shows at most
TROUBLE = _("Something went wrong on my side; please try again in a moment.")
UNREADABLE = _("I could not read that command's options.")
POLL_OTHERS = 1.0  # seconds between looks at the outbox for what other processes wrote
SETTLE_EVERY = 60.0  # seconds between looks for servers left with effects or trios there


def intents() -> discord.Intents:
    """Only what the bot uses: servers and channels, who wrote where (no content), and
direct messages to the bot."""
    wanted = discord.Intents.none()
    wanted.guilds = True
    wanted.guild_messages = True
    wanted.dm_messages = True  # commands typed to the bot (DM content needs no privilege)
    return wanted


def core_settings(base: Settings | None = None,
                  communities: Communities | None = None) -> Settings:
    """The core's settings for Discord: ``/`` commands, ``<@id>`` mentions, join lines,
    members' top roles as their communities and their servers as their realms (give the
    client the same ``communities``)."""
    settings = replace(base or Settings(), prefix="/", invite_link="/trio join code:{code}",
                       read_user=read_user)
    return settings if communities is None else replace(
        settings, community_of=communities.of, realm_of=communities.realm_of)


class TwinomeClient(discord.Client):
    """The bot on Discord; see the module docstring."""

    def __init__(self, core: Twinome, config: DiscordConfig, *, runtime: Runtime | None = None,
                 defer_after: float = DEFER_AFTER, scheduler: bool = True,
                 communities: Communities | None = None, **options: Any) -> None:
        super().__init__(intents=intents(), **options)
        self.core = core
        self.config = config
        self.defer_after = defer_after
        self.scheduler = scheduler
        self._own_runtime = runtime is None
        self.runtime = runtime or Runtime(core)
        self.bindings = Bindings(core, PLATFORM)
        self.answers = Answers(told=self._told_dropped)
        self.communities = communities or Communities()
        self.carrier = DiscordCarrier(self, core, self.bindings, config, self.answers)
        self.pump = Pump(core, self.carrier, self.bindings,
                         realms=self.realms if config.some_shards else None,
                         on_dropped=self._dropped)
        self.translator = Translator(self.bindings)
        self.tree: app_commands.CommandTree[TwinomeClient] = app_commands.CommandTree(self)
        for command in commands.build(self.run_command, self.complete_trio, self.complete_skill):
            self.tree.add_command(command)
        self.tree.on_error = self._command_failed  # type: ignore[method-assign]
        self._pumping = False
        self._polling: asyncio.Task[None] | None = None
        self._settling: asyncio.Task[None] | None = None
        self._inbound = 0  # messages being turned into events, not yet submitted

    def realms(self) -> list[str | None]:
        """The realms whose effects this process carries: its servers, and None (effects
        bound to no server: every process may take them, the lane leases share them out)."""
        return [*(str(guild.id) for guild in self.guilds), None]

    # -- lifecycle ------------------------------------------------------------------------

    async def setup_hook(self) -> None:
        self.add_dynamic_items(ChoiceButton)
        if self._own_runtime:
            await self.runtime.start(scheduler=self.scheduler)
        dropped = await self.core.dropped_notices(f"{PLATFORM}:")
        self.answers.load({user_id: n for member, n in dropped.items()
                           if (user_id := user_id_of(member)) is not None})
        self.runtime.on_effects(self.pump.wake)
        await self.tree.set_translator(commands.Localizer())
        if not self.config.guild_ids and self.config.holds_direct:
            await self.tree.sync()  # global: every server, which Discord may take a while to show
        for guild_id in filter(self.config.holds, self.config.guild_ids):
            guild = discord.Object(guild_id)
            self.tree.copy_global_to(guild=guild)
            try:
                await self.tree.sync(guild=guild)
            except (discord.NotFound, discord.Forbidden) as err:  # removed from it, say
                log.warning("the commands could not be synced to server %s (%s)", guild_id,
                            err.status)

    async def on_ready(self) -> None:
        if not self._pumping:
            self._pumping = True
            # A server it was removed from and added back to while stopped (no GUILD_CREATE
            # came as a join): a new removal from it is to be told.
            await self.core.rejoined_realms(PLATFORM, {str(guild.id) for guild in self.guilds})
            await self._settle_left(await self._servers_left())
            self._settling = asyncio.create_task(self._settle_now_and_then())
            await self.pump.start()
            if self.config.moderators_channel_id is not None and self.config.holds_direct:
                await self.pump.resend_reports()  # once, by the process carrying reports
            log.info("ready as %s in %d server(s)", self.user, len(self.guilds))
            if self.config.some_shards:
                self._polling = asyncio.create_task(self._poll_others())
        self.pump.wake()

    async def on_guild_available(self, guild: discord.Guild) -> None:
        self.pump.wake()  # its effects may wait in the outbox

    async def on_guild_join(self, guild: discord.Guild) -> None:
        await self.core.rejoined_realms(PLATFORM, {str(guild.id)})
        self.pump.wake()

    def _dropped(self, members: Sequence[MemberId]) -> None:
        """Notices for these members were dropped (stored): each hears of it next time."""
        for member in members:
            user_id = user_id_of(member)
            if user_id is not None:
                self.answers.expired(user_id)

    async def _told_dropped(self, user_id: int, count: int) -> None:
        await self.core.told_dropped(member_id(user_id), count)

    async def on_guild_remove(self, guild: discord.Guild) -> None:
        await self._settle_left([str(guild.id)])

    async def _servers_left(self) -> list[str]:
        """The servers of this process's shards that effects wait for or trios live in, but
        that the bot is no longer in: removed while it was stopped (no GUILD_DELETE will
        come), or effects written for one after it was settled (a job's post, say)."""
        held = {str(guild.id) for guild in self.guilds}  # unavailable ones included
        return [realm for realm in await self.core.realms_to_watch(PLATFORM)
                if realm.isdigit() and self.config.holds(int(realm)) and realm not in held]

    async def _settle_left(self, realms: Sequence[str]) -> None:
        """The bot left these servers: no process will carry their effects out. Those for
        one member alone go by DM (or their next interaction); the others are dropped."""
        for realm in realms:
            for outbox_id, kind in await self.core.left_realm(PLATFORM, realm):
                log.warning("effect %s (%s) dropped: the bot is no longer in its server",
                            outbox_id, kind)
        if realms:
            self.pump.wake()

    async def _settle_now_and_then(self) -> None:
        """Settle, every :data:`SETTLE_EVERY` seconds, what was written for servers the bot
        left since it last looked (no process would ever carry it out)."""
        while True:
            await asyncio.sleep(SETTLE_EVERY)
            try:
                await self._settle_left(await self._servers_left())
            except Exception:  # the database unreachable for a while, say: next time
                log.exception("could not settle the effects of servers the bot left")

    async def _poll_others(self) -> None:
        """Wake the pump now and then for the effects other processes wrote."""
        while True:
            await asyncio.sleep(POLL_OTHERS)
            self.pump.wake()

    async def close(self) -> None:
        for task in (self._polling, self._settling):
            if task is not None:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
        self._polling = self._settling = None
        await self.pump.stop()
        self._pumping = False
        if self._own_runtime:
            await self.runtime.stop()
        await super().close()

    # -- inbound --------------------------------------------------------------------------

    async def on_message(self, message: discord.Message) -> None:
        command = self.translator.direct_command(message)
        if command is not None:
            await self._carried([command])
            return
        self._inbound += 1  # until submitted: a command answered from a read waits for it
        try:
            event = await self.translator.line_message(message)
            if event is not None:
                await self.runtime.submit(event)
        finally:
            self._inbound -= 1

    async def run_command(self, interaction: discord.Interaction, command: Command,
                          values: dict[str, Any], trio: str | None) -> None:
        """A slash command: its typed options go to the core as they are."""
        if command.name == "sos" and values.get("note") is None:
            await interaction.response.send_modal(SosModal(trio, await self.language_of(interaction)))
            return
        if command.name == "seek":
            profile = await seeking.read_profile(self.core.db, member_id(interaction.user.id))
            await interaction.response.send_modal(
                seeking.SeekModal(profile, await self.language_of(interaction)))
            return
        args = {name: _plain(value) for name, value in values.items()}
        await self._submit(interaction, [Typed(command.name, args, trio)],
                           private=command.private)

    async def run_choice(self, interaction: discord.Interaction, command: str) -> None:
        """A pressed button: its command, given by whoever pressed it."""
        known = command_of(command)
        await self._submit(interaction, [command], private=known is None or known.private)

    async def run_sos(self, interaction: discord.Interaction, note: str | None,
                      trio: str | None) -> None:
        """The SOS modal was submitted."""
        await self._submit(interaction, [Typed("sos", {"note": note}, trio)], private=True)

    async def run_seek(self, interaction: discord.Interaction, form: seeking.SeekForm) -> None:
        """The seek form was submitted: its profile changes, then ``seek``, answered once."""
        profile = await seeking.read_profile(self.core.db, member_id(interaction.user.id))
        await self._submit(interaction, seeking.steps(form, profile), private=True)

    async def _submit(self, interaction: discord.Interaction, given: Sequence[Typed | str],
                      *, private: bool) -> None:
        """Submit the commands an interaction gives; the last one's answer answers it."""
        user = interaction.user
        channel = interaction.channel_id
        room = None if channel is None else await self.bindings.core_room(str(channel))
        live = self.answers.open(interaction, private=private or room is None)
        self.answers.defer_later(live, self.defer_after)
        last = len(given) - 1
        events = [CommandReceived(
            f"discord:{interaction.id}" + ("" if n == last else f":{n + 1}"),
            member_id(user.id), room, _text(command), display_name=user.display_name,
            platform=PLATFORM, typed=None if isinstance(command, str) else command,
            origin=str(interaction.id) if n == last else part_origin(interaction.id, n + 1),
            locale=interaction.locale.value)
            for n, command in enumerate(given)]
        try:
            if (len(events) > 1 or self._inbound or not self.runtime.idle
                    or not await self.carrier.answer_reading(live, events[0])):
                self.communities.note(user)  # what the core's writes read (a read needs none)
                await self._carried(events)
        except Exception:
            log.exception("interaction %s could not be applied", interaction.id)
            await self.answers.answer(live, render(TROUBLE, self.fallback_language(interaction)),
                                      ephemeral=True)
        if self.answers.dms_closed(user.id):
            self.pump.wake()  # the notices their DMs refused can go with this interaction

    async def _carried(self, events: Sequence[CommandReceived]) -> None:
        """Submit commands, then carry their replies here once durable (no pump pass)."""
        ids = [event.event_id for event in events]
        self.pump.claim(ids)
        replies: Sequence[Delivery] = ()
        try:
            replies = (await self.runtime.submit_many(events, carries=True)).replies
        finally:
            await self.pump.carry(replies, ids)

    async def _command_failed(self, interaction: discord.Interaction,
                              error: app_commands.AppCommandError) -> None:
        log.warning("interaction %s failed: %s", interaction.id, type(error).__name__)
        if not interaction.response.is_done():
            message = UNREADABLE if isinstance(error, app_commands.TransformerError) else TROUBLE
            lang = self.fallback_language(interaction)
            try:
                lang = await self.language_of(interaction)
            except Exception:  # the database is what failed: the interaction still says so
                log.exception("the language of interaction %s could not be read", interaction.id)
            await interaction.response.send_message(render(message, lang), ephemeral=True)

    # -- languages ------------------------------------------------------------------------

    async def language_of(self, interaction: discord.Interaction) -> str:
        """The language to speak to whoever interacted: the one they chose, else their
        Discord's, else the bot's default."""
        chosen = await self.core.db.read_value("SELECT language FROM members WHERE id = ?",
                                               (member_id(interaction.user.id),))
        return pick(chosen, interaction.locale.value, self.core.settings.default_language)

    def fallback_language(self, interaction: discord.Interaction) -> str:
        """The language of whoever interacted without asking the database: their Discord's,
        else the bot's default."""
        return pick(interaction.locale.value, self.core.settings.default_language)

    # -- autocomplete ---------------------------------------------------------------------

    async def complete_trio(self, interaction: discord.Interaction,
                            current: str) -> list[app_commands.Choice[str]]:
        """The member's trios whose name holds what they typed."""
        async with self.core.db.read() as tx:
            trios = await queries.trios_of(tx, member_id(interaction.user.id))
        wanted = current.casefold().lstrip("#")
        return [app_commands.Choice(name=f"{t.name} (#{t.id})"[:100], value=str(t.id))
                for t in trios if wanted in t.name.casefold()][:MAX_CHOICES]

    async def complete_skill(self, interaction: discord.Interaction,
                             current: str) -> list[app_commands.Choice[str]]:
        """Skills that fit: the named person's offers, else the member's own skills."""
        other = getattr(interaction.namespace, "user", None)
        whose = member_id(other.id) if isinstance(other, discord.abc.User) \
            else member_id(interaction.user.id)
        rows = await self.core.db.read_all("SELECT DISTINCT skill FROM skills WHERE "
                                           "member_id = ? ORDER BY skill LIMIT 200", (whose,))
        wanted = current.casefold()
        return [app_commands.Choice(name=r[0][:100], value=r[0][:100])
                for r in rows if wanted in str(r[0])][:MAX_CHOICES]


class ShardedTwinomeClient(TwinomeClient, discord.AutoShardedClient):
    """The bot running some of its shards (``[discord] shard_ids`` of ``shard_count``)."""


def make_client(core: Twinome, config: DiscordConfig, **options: Any) -> TwinomeClient:
    """The bot for this configuration: sharded if ``shard_count`` is set, else one connection."""
    if not config.sharded:
        return TwinomeClient(core, config, **options)
    ids = None if config.shard_ids is None else list(config.shard_ids)
    return ShardedTwinomeClient(core, config, shard_count=config.shard_count, shard_ids=ids,
                                **options)


def _text(command: Typed | str) -> str:
    """A command as it would be typed (grammar text is given as it is)."""
    if isinstance(command, str):
        return command
    return commands.render(BY_NAME[command.name], command.args, command.trio)


def _plain(value: Any) -> Any:
    """An option's value as the core reads it: a user is their member id."""
    if isinstance(value, discord.abc.User):
        return str(member_id(value.id))
    return value


