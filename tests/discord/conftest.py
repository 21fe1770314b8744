"""Fixtures: a fake Discord server per test (checked for unknown routes) and bot runners."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import discord
import pytest

from tests.discord.fakediscord import FakeDiscord, pointed_at
from tests.discord.harness import start_client, stop_client

if TYPE_CHECKING:
    from tests.discord.twinome import World

ClientT = TypeVar("ClientT", bound=discord.Client)


@pytest.fixture
async def server() -> AsyncIterator[FakeDiscord]:
    """A fake Discord that discord.py points at; at the end no unknown route, error or
    unanswered interaction may have happened."""
    fake = await FakeDiscord.start()
    try:
        with pointed_at(fake):
            yield fake
    finally:
        await fake.close()
    assert fake.unknown_routes == []
    assert fake.errors == []
    assert fake.unanswered_interactions == []


class Bots:
    """Starts clients against the server and stops whatever is still running at the end."""

    def __init__(self, server: FakeDiscord) -> None:
        self.server = server
        self.running: dict[discord.Client, asyncio.Task[None]] = {}

    async def start(self, client: ClientT) -> ClientT:
        """Log the client in with the bot token and wait until it is ready."""
        self.running[client] = await start_client(client, self.server.bot_token)
        return client

    async def stop(self, client: discord.Client) -> None:
        """Close the client and wait for it."""
        await stop_client(client, self.running.pop(client))

    async def stop_all(self) -> None:
        """Close every client still running."""
        for client in list(self.running):
            await self.stop(client)


@pytest.fixture
async def bots(server: FakeDiscord) -> AsyncIterator[Bots]:
    """A bot starter bound to the test's server."""
    runner = Bots(server)
    yield runner
    await runner.stop_all()


@pytest.fixture
async def world(server: FakeDiscord, bots: Bots, db_target: Path | str) -> AsyncIterator[World]:
    """Twinome's Discord bot and the test's people on the server, closed at the end."""
    from tests.discord.twinome import make_world

    made = await make_world(server, bots, db_target)
    try:
        yield made
    finally:
        await bots.stop_all()
        await made.db.close()
