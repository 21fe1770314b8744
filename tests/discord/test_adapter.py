"""The Twinome Discord adapter end to end: the real discord.py client, the fake Discord,
the real core on a real SQLite file."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.discord.conftest import Bots
from tests.discord.fakediscord import FakeDiscord
from tests.discord.twinome import World, make_world

MESSAGE_CONTENT = 1 << 15


@pytest.fixture
async def world(server: FakeDiscord, bots: Bots, tmp_path: Path) -> AsyncIterator[World]:
    made = await make_world(server, bots, tmp_path / "twinome.sqlite3")
    try:
        yield made
    finally:
        await bots.stop_all()
        await made.db.close()


async def test_forming_a_trio_by_code_makes_private_channel_and_pair_threads(world: World) -> None:
    server = world.server
    channel = await world.form_trio()
    alice, bob, carol, dave = world.alice, world.bob, world.carol, world.dave
    assert [server.can_see(u, channel) for u in (alice, bob, carol, dave)] == [
        True, True, True, False]
    overwrites = server.overwrites(channel)
    assert overwrites[world.guild.id].deny & (1 << 10)
    for user in (alice, bob, carol, server.bot):
        assert overwrites[user.id].allow & (1 << 10)
    threads = server.threads_of(channel)
    assert len(threads) == 3
    for thread in threads:
        assert thread.type == 12 and thread.invitable is False
        assert len([m for m in server.thread_members(thread) if m != server.bot.id]) == 2
    ab = world.pair(alice, bob)
    assert [server.can_see(u, ab) for u in (alice, bob, carol, dave)] == [
        True, True, False, False]
    assert not server.identified_intents[0] & MESSAGE_CONTENT
