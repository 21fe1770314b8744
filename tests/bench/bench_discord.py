"""Discord benchmark (a script, not a test): ``python tests/bench/bench_discord.py [--rounds N]``.

Starts the project's fake Discord (tests/discord/fakediscord) on 127.0.0.1 and measures the
interaction round trip: from the server dispatching INTERACTION_CREATE for a slash command
over the gateway websocket to the bot's callback arriving over REST. Rounds are sequential.

The floor is a bare discord.py bot (``discord.Client`` + ``CommandTree``) answering
``/ping`` with an ephemeral "pong". Another bot (the Twinome adapter) is measured in the
same run by adding a `Contender` to `contenders()`: `measure()` takes any factory that
builds a not-yet-started ``discord.Client`` for a given server.
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

with warnings.catch_warnings():
    warnings.filterwarnings("ignore", "'audioop' is deprecated", DeprecationWarning)
    import discord

from bots.discord.bot import TwinomeClient, core_settings
from bots.discord.config import DiscordConfig
from core.clock import SystemClock
from core.service import Twinome
from core.storage.db import Database
from tests.discord.barebot import BareBot
from tests.discord.fakediscord import FakeDiscord, pointed_at
from tests.discord.harness import start_client, stop_client

WARMUP = 5
ClientFactory = Callable[[FakeDiscord], discord.Client | Awaitable[discord.Client]]


@dataclass
class Stats:
    """Round-trip figures of one contender, in milliseconds."""

    rounds: int
    p50: float
    p90: float
    mean: float
    worst: float


@dataclass
class Contender:
    """A bot to measure: how to build it and which command to send it."""

    name: str
    factory: ClientFactory
    command: str
    options: dict[str, Any]


def stats_of(samples: list[float]) -> Stats:
    """p50/p90/mean/max of round trips given in seconds."""
    ms = sorted(s * 1000 for s in samples)
    p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
    return Stats(len(ms), statistics.median(ms), p90, statistics.fmean(ms), ms[-1])


async def measure(client_factory: ClientFactory, command: str, options: dict[str, Any],
                  rounds: int) -> Stats:
    """Start a fresh fake Discord and the client, then time `rounds` sequential commands."""
    server = await FakeDiscord.start()
    try:
        with pointed_at(server):
            guild = await server.add_guild("Bench")
            user = await server.add_user("bencher")
            await server.add_member(guild, user)
            made = client_factory(server)
            client = await made if inspect.isawaitable(made) else made
            task = await start_client(client, server.bot_token)
            try:
                samples = await _rounds(server, guild, user, command, options, rounds)
            finally:
                await stop_client(client, task)
    finally:
        await server.close()
    if server.unknown_routes or server.errors or server.unanswered_interactions:
        raise RuntimeError(f"the run was not clean: {server.unknown_routes} {server.errors}")
    return stats_of(samples)


async def _rounds(server: FakeDiscord, guild: Any, user: Any, command: str,
                  options: dict[str, Any], rounds: int) -> list[float]:
    """Warm up, then time each slash command until the bot has answered it."""
    for _ in range(WARMUP):
        await server.slash(user, guild, command, options)
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await server.slash(user, guild, command, options)
        samples.append(time.perf_counter() - started)
    return samples


def contenders() -> list[Contender]:
    """The bots measured in one run; the floor comes first."""
    return [Contender("bare discord.py /ping", lambda server: BareBot(), "ping", {}),
            Contender("twinome /trio list", twinome_client, "trio list", {})]


async def twinome_client(server: FakeDiscord) -> discord.Client:
    """The Twinome adapter on a fresh core and database file, syncing to the bench guild."""
    folder = tempfile.TemporaryDirectory()
    path = Path(folder.name) / "bench.sqlite3"
    config = DiscordConfig(database=path, guild_ids=tuple(server.store.guilds), token="unused",
                           category_name="Trios")
    db = await Database.open(path)
    return TwinomeBench(Twinome(db, SystemClock(), core_settings()), config, folder)


class TwinomeBench(TwinomeClient):
    """The Twinome client, closing its database and folder when it closes."""

    def __init__(self, core: Twinome, config: DiscordConfig,
                 folder: tempfile.TemporaryDirectory[str]) -> None:
        super().__init__(core, config, guild_ready_timeout=0.05)
        self._folder = folder

    async def close(self) -> None:
        await super().close()
        await self.core.db.close()
        self._folder.cleanup()


def print_table(results: list[tuple[str, Stats]]) -> None:
    """Print the figures, with each p50 relative to the floor's."""
    floor = results[0][1].p50
    print(f"{'bot':<28}{'rounds':>7}{'p50 ms':>9}{'p90 ms':>9}{'mean ms':>9}"
          f"{'max ms':>9}{'x floor':>9}")
    for name, s in results:
        print(f"{name:<28}{s.rounds:>7}{s.p50:>9.2f}{s.p90:>9.2f}{s.mean:>9.2f}"
              f"{s.worst:>9.2f}{s.p50 / floor:>9.2f}")


async def main(rounds: int) -> None:
    """Measure every contender in turn and print the table."""
    results = []
    for contender in contenders():
        stats = await measure(contender.factory, contender.command, contender.options, rounds)
        results.append((contender.name, stats))
    print_table(results)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    asyncio.run(main(parser.parse_args().rounds))
