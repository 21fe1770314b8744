"""A bare discord.py bot against the fake Discord: login, commands, components, channels, gateway."""

from __future__ import annotations

from tests.discord.barebot import BareBot
from tests.discord.conftest import Bots
from tests.discord.fakediscord import FakeDiscord

MESSAGE_CONTENT = 1 << 15


async def test_login_ready_and_command_sync(server: FakeDiscord, bots: Bots) -> None:
    guild = await server.add_guild("Home")
    bot = await bots.start(BareBot())
    assert bot.user is not None and bot.user.id == server.bot.id
    assert [g.id for g in bot.guilds] == [guild.id]
    routes = [r.route for r in server.requests]
    assert "GET /users/@me" in routes and "GET /oauth2/applications/@me" in routes
    assert len(server.identified_intents) == 1
    assert not server.identified_intents[0] & MESSAGE_CONTENT
    stored = {c.name: c.id for c in server.store.global_commands}
    assert {c.name: c.id for c in bot.synced} == stored
    assert set(stored) == {"ping", "slow", "panel", "sos", "export", "trio"}
