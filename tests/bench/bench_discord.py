"""Discord benchmark (a script, not a test):
``python tests/bench/bench_discord.py [--rounds N] [--runs K]``.

Starts the project's fake Discord (tests/discord/fakediscord) on 127.0.0.1 and measures the
interaction round trip: from the server dispatching INTERACTION_CREATE for a slash command
over the gateway websocket to the bot's callback arriving over REST. Rounds are sequential.

The floor is a bare discord.py bot (``discord.Client`` + ``CommandTree``) answering
``/ping`` with an ephemeral "pong". The Twinome adapter is measured in the same run on
``/trio list`` (a command that only reads: answered from a read transaction) and, for
information, on ``/timezone`` (a command that writes: the durable path, its reply made
durable before it is sent). Each bot has a fake server of its own, all running at once,
and their rounds are interleaved (one round of each in turn, discord.py pointed at that
bot's server for it): on a shared machine the load moves all the time, and interleaved
rounds meet the same load. ``--runs`` repeats the whole run with fresh servers and bots;
the table gives, for each bot, the median over the runs of its p50 and of its p50's
ratio to the floor's in the same run, and likewise for the CPU time of the whole process
per round (server, client, threads: everything runs in this process), which other
processes' load stretches less than wall time. Another bot is measured by adding a
`Contender` to `contenders()`: a factory that builds a not-yet-started
``discord.Client`` for a given server, and the command to send it.
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
from dataclasses import dataclass, field
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
    cpu: float = 0.0  # CPU time of the whole process (server, bot, threads) per round


@dataclass
class Contender:
    """A bot to measure: how to build it and which command to send it."""

    name: str
    factory: ClientFactory
    command: str
    options: dict[str, Any]


def stats_of(samples: list[float], cpu: float = 0.0) -> Stats:
    """p50/p90/mean/max of round trips given in seconds (and the CPU seconds they took)."""
    ms = sorted(s * 1000 for s in samples)
    p90 = ms[min(len(ms) - 1, round(0.9 * (len(ms) - 1)))]
    return Stats(len(ms), statistics.median(ms), p90, statistics.fmean(ms), ms[-1],
                 cpu * 1000 / max(len(ms), 1))


@dataclass
class Stand:
    """One contender running: its fake server, its client, and what was measured."""

    contender: Contender
    server: FakeDiscord
    client: discord.Client
    task: asyncio.Task[None]
    guild: Any
    user: Any
    samples: list[float] = field(default_factory=list)
    cpu: float = 0.0  # CPU seconds of all timed rounds

    async def round(self) -> None:
        """One slash command, until the bot has answered it (discord.py pointed here)."""
        with pointed_at(self.server):
            await self.server.slash(self.user, self.guild, self.contender.command,
                                    self.contender.options)

    async def timed(self) -> None:
        """One round, timed."""
        cpu, started = time.process_time(), time.perf_counter()
        await self.round()
        self.samples.append(time.perf_counter() - started)
        self.cpu += time.process_time() - cpu


async def open_stand(contender: Contender) -> Stand:
    """Start a fresh fake Discord and the contender's client, and warm it up."""
    server = await FakeDiscord.start()
    try:
        with pointed_at(server):
            guild = await server.add_guild("Bench")
            user = await server.add_user("bencher")
            await server.add_member(guild, user)
            made = contender.factory(server)
            client = await made if inspect.isawaitable(made) else made
            task = await start_client(client, server.bot_token)
    except BaseException:
        await server.close()
        raise
    stand = Stand(contender, server, client, task, guild, user)
    for _ in range(WARMUP):
        await stand.round()
    return stand


async def close_stand(stand: Stand) -> Stats:
    """Stop the client and its server; the figures (the run must have been clean)."""
    server = stand.server
    try:
        with pointed_at(server):
            await stop_client(stand.client, stand.task)
    finally:
        await server.close()
    if server.unknown_routes or server.errors or server.unanswered_interactions:
        raise RuntimeError(f"the run was not clean: {server.unknown_routes} {server.errors}")
    return stats_of(stand.samples, stand.cpu)


async def measure_run(rounds: int) -> list[tuple[str, Stats]]:
    """One run: every contender at once, their rounds interleaved."""
    stands: list[Stand] = []
    try:
        for contender in contenders():
            stands.append(await open_stand(contender))
        for _ in range(rounds):
            for stand in stands:
                await stand.timed()
    finally:
        results = [(stand.contender.name, await close_stand(stand)) for stand in stands]
    return results


def contenders() -> list[Contender]:
    """The bots measured in one run; the floor comes first."""
    return [Contender("bare discord.py /ping", lambda server: BareBot(), "ping", {}),
            Contender("twinome /trio list (reads)", twinome_client, "trio list", {}),
            Contender("twinome /timezone (writes)", twinome_client, "timezone",
                      {"zone": "Europe/Paris"})]


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


def print_table(runs: list[list[tuple[str, Stats]]]) -> None:
    """Print each run's p50s and ratios, then the medians over the runs."""
    names = [name for name, _ in runs[0]]
    print(f"{'run':<6}" + "".join(f"{name[:30]:>32}" for name in names))
    ratios: dict[str, list[float]] = {name: [] for name in names}
    p50s: dict[str, list[float]] = {name: [] for name in names}
    for n, results in enumerate(runs, 1):
        floor = results[0][1].p50
        cells = []
        for name, s in results:
            ratios[name].append(s.p50 / floor)
            p50s[name].append(s.p50)
            cells.append(f"{s.p50:.2f} ms {s.p50 / floor:.2f}x cpu {s.cpu:.2f}")
        print(f"{n:<6}" + "".join(f"{cell:>32}" for cell in cells))
    print()
    print(f"{'bot':<30}{'runs':>6}{'p50 ms':>9}{'p90 ms':>9}{'x floor':>9}{'cpu ms':>9}"
          f"{'x floor':>9}   (medians over runs)")
    for name in names:
        p90 = statistics.median(s.p90 for results in runs for n, s in results if n == name)
        cpu = statistics.median(s.cpu for results in runs for n, s in results if n == name)
        cpus = statistics.median(s.cpu / results[0][1].cpu for results in runs
                                 for n, s in results if n == name)
        print(f"{name:<30}{len(runs):>6}{statistics.median(p50s[name]):>9.2f}{p90:>9.2f}"
              f"{statistics.median(ratios[name]):>9.2f}{cpu:>9.2f}{cpus:>9.2f}")


async def main(rounds: int, runs: int) -> None:
    """Measure every contender, ``runs`` times, and print the table."""
    print_table([await measure_run(rounds) for _ in range(runs)])


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=200)
    parser.add_argument("--runs", type=int, default=5)
    arguments = parser.parse_args()
    asyncio.run(main(arguments.rounds, arguments.runs))
