"""The Twinome adapter against the fake Discord: a world of people and a bot on a real core."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bots.discord.bot import TwinomeClient, core_settings
from bots.discord.communities import Communities
from bots.discord.config import DiscordConfig
from core.clock import FakeClock
from core.config import Settings
from core.service import Twinome
from core.storage.db import Database
from tests.discord.conftest import Bots
from tests.discord.fakediscord import FakeDiscord
from tests.discord.fakediscord.interactions import InteractionResult
from tests.discord.fakediscord.state import Channel, Guild, User

CODE = re.compile(r"[A-Z0-9]{4}(?:-[A-Z0-9]{4}){3}")


@dataclass
class World:
    """A server with alice, bob, carol and dave, and the bot on a real database."""

    server: FakeDiscord
    bots: Bots
    guild: Guild
    people: dict[str, User]
    db: Database
    clock: FakeClock
    core: Twinome
    config: DiscordConfig
    bot: TwinomeClient
    communities: Communities

    def __getattr__(self, name: str) -> User:
        try:
            return self.__dict__["people"][name]
        except KeyError:
            raise AttributeError(name) from None

    async def restart(self, **options: Any) -> TwinomeClient:
        """Stop the bot and start a new one on the same database."""
        await self.bots.stop(self.bot)
        return await self.start(**options)

    async def start(self, **options: Any) -> TwinomeClient:
        """Start a new bot on the same database (the last one stopped)."""
        self.bot = await self.bots.start(new_client(self.core, self.config,
                                                    communities=self.communities, **options))
        return self.bot

    async def slash(self, who: User, name: str, options: dict[str, Any] | None = None,
                    channel: Channel | None = None) -> InteractionResult:
        """A slash command by ``who`` (in #general unless a channel is given)."""
        return await self.server.slash(who, self.guild, name, options, channel=channel)

    async def settle(self) -> None:
        """Wait until the bot has carried out every effect written so far."""
        await self.bot.pump.drain()

    async def form_trio(self, name: str = "Les Trois") -> Channel:
        """alice starts a trio, bob and carol join by code; returns the trio channel."""
        made = await self.slash(self.alice, "trio new", {"name": name})
        for who in (self.bob, self.carol):
            code = CODE.search(made.content)
            assert code is not None, made.content
            joined = await self.slash(who, "trio join", {"code": code.group(0)})
            assert "error" not in joined.content.lower(), joined.content
            if who is self.bob:
                made = await self.slash(self.alice, "trio invite")
        await self.server.wait_until(self.lines_made)
        return self.trio_channels()[0]

    def lines_made(self) -> bool:
        """Whether the trio channel and its three pair threads, two members each, are made."""
        channels = self.trio_channels()
        threads = self.server.threads_of(channels[0]) if len(channels) == 1 else []
        return len(threads) == 3 and all(
            len(set(self.server.thread_members(t)) - {self.server.bot.id}) == 2 for t in threads)

    def trio_channels(self) -> list[Channel]:
        """The text channels in the Trios category."""
        categories = [c for c in self.server.channels_in(self.guild) if c.type == 4]
        ids = {c.id for c in categories}
        return [c for c in self.server.channels_in(self.guild)
                if c.type == 0 and c.parent_id in ids]

    def pair(self, a: User, b: User) -> Channel:
        """The pair thread of two members."""
        channel = self.trio_channels()[0]
        want = sorted([a.id, b.id])
        for thread in self.server.threads_of(channel):
            if sorted(m for m in self.server.thread_members(thread)
                      if m != self.server.bot.id) == want:
                return thread
        raise LookupError("no such pair thread")


def new_client(core: Twinome, config: DiscordConfig, **options: Any) -> TwinomeClient:
    """The bot as the tests run it (a short guild-ready wait)."""
    return TwinomeClient(core, config, guild_ready_timeout=0.05, **options)


async def make_world(server: FakeDiscord, bots: Bots, path: Path | str, *, globally: bool = False,
                     settings: Settings | None = None, **options: Any) -> World:
    """Build the server's people and start the bot on a database at ``path`` (its commands
    synced to the server, or ``globally``; the core's ``settings`` made Discord's)."""
    guild = await server.add_guild("Home")
    people = {}
    for name in ("alice", "bob", "carol", "dave"):
        people[name] = await server.add_user(name)
        await server.add_member(guild, people[name])
    db = await Database.open(path)
    clock = FakeClock(datetime.now(UTC))  # line messages carry Discord's (real) times
    communities = Communities()
    core = Twinome(db, clock, core_settings(settings, communities))
    config = DiscordConfig(database=path, guild_ids=() if globally else (guild.id,), token="unused",
                           category_name="Trios", moderators_channel_id=None)
    bot = await bots.start(new_client(core, config, communities=communities, **options))
    return World(server, bots, guild, people, db, clock, core, config, bot, communities)
