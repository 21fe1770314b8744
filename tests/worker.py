"""One bot process for the several-process test (``python -m tests.worker CONFIG``).

It runs what a bot runs, a :class:`Runtime` (writer and scheduler) and a delivery
:class:`Pump`, on a shared PostgreSQL database, with two stand-ins: a clock read from a
file the test moves (a jump wakes the scheduler), and a fake platform kept in a database
of its own, which, like Matrix with its transaction ids, posts a key once however often
it is sent (``sends`` keeps every try, by whom).

The test steers it through stdin, one command a line, and reads its answers on stdout:
``go FILE`` submits the streams of events in FILE (each stream in order, the streams at
once) and answers ``applied``; ``quit`` stops it cleanly. At start it answers
``ready OWNER`` (its pump's owner id, whose leases the test looks for).
"""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from bots.adapter.bindings import Bindings
from bots.adapter.carrier import Done, InRoom, Moderators, Notice, Outcome, Target
from bots.adapter.pump import Pump
from core.effects import CreateRoom
from core.events import CommandReceived, Event, LineMessage
from core.ids import MemberId, RoomId
from core.runtime import Runtime
from core.service import Twinome
from core.storage.db import Database

PLATFORM = "console"  # the seeded trios' platform
PLATFORM_SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (n BIGSERIAL, key TEXT PRIMARY KEY, lane TEXT NOT NULL,
                                       what TEXT NOT NULL, worker TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS sends (n BIGSERIAL, key TEXT NOT NULL, worker TEXT NOT NULL);
"""


class FileClock:
    """The time written in a file (ISO 8601), read at each look."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def now(self) -> datetime:
        return datetime.fromisoformat(self.path.read_text("utf-8").strip())


class PlatformCarrier:
    """Posts notices on the fake platform: once per key, each in its lane's order."""

    platform = PLATFORM

    def __init__(self, conn: Any, worker: str, delay: float) -> None:
        self.conn = conn
        self.worker = worker
        self.delay = delay  # seconds each send takes (a slow process keeps its lanes longer)

    async def send(self, target: Target, notice: Notice) -> Outcome:
        where = (target.ref if isinstance(target, InRoom) else "moderators"
                 if isinstance(target, Moderators) else f"dm:{target.member}")
        lane = where + ("/replies" if isinstance(target, InRoom) and notice.reply_to else "")
        await asyncio.sleep(self.delay)
        await self.conn.execute("INSERT INTO sends (key, worker) VALUES ($1, $2)",
                                notice.key, self.worker)
        await self.conn.execute(
            "INSERT INTO deliveries (key, lane, what, worker) VALUES ($1, $2, $3, $4) "
            "ON CONFLICT (key) DO NOTHING",
            notice.key, lane, f"{where}|{notice.reply_to}|{notice.text}", self.worker)
        return Done()

    async def create_room(self, effect: CreateRoom, key: str) -> Outcome:
        return Done(f"fake-{effect.room}")

    async def invite(self, ref: str, member: MemberId) -> Outcome:
        return Done()

    async def remove(self, ref: str, member: MemberId, reason: str) -> Outcome:
        return Done()

    async def close(self, ref: str, notice: Notice) -> Outcome:
        return await self.send(InRoom(ref), notice)


def event_of(raw: dict[str, Any]) -> Event:
    """An event as the test wrote it."""
    room = None if raw["room"] is None else RoomId(raw["room"])
    if raw["text"] is None:
        assert room is not None
        return LineMessage(raw["id"], MemberId(raw["actor"]), room)
    return CommandReceived(raw["id"], MemberId(raw["actor"]), room, raw["text"],
                           raw["actor"].capitalize())


async def submit(runtime: Runtime, path: Path) -> None:
    """Apply every stream of a file: each in its order, all streams at once."""
    streams = json.loads(await asyncio.to_thread(path.read_text, "utf-8"))

    async def one(stream: list[dict[str, Any]]) -> None:
        for raw in stream:
            await runtime.submit(event_of(raw))

    await asyncio.gather(*(one(stream) for stream in streams))


async def watch(clock: FileClock, runtime: Runtime, pump: Pump) -> None:
    """Wake the scheduler when the test moves the clock."""
    seen = clock.now()
    while True:
        await asyncio.sleep(0.05)
        if clock.now() != seen:
            seen = clock.now()
            runtime.wake()
            pump.wake()


def say(line: str) -> None:
    print(line, flush=True)


async def main(config: dict[str, Any]) -> None:
    clock = FileClock(Path(config["clock"]))
    platform = await asyncpg.connect(config["platform"])
    await platform.execute(PLATFORM_SCHEMA)
    db = await Database.open(config["url"])
    core = Twinome(db, clock)
    runtime = Runtime(core)
    pump = Pump(core, PlatformCarrier(platform, config["name"], config["delay"]),
                Bindings(core, PLATFORM), lease=config["lease"])
    runtime.on_effects(pump.wake)
    await runtime.start()
    await pump.start()
    watcher = asyncio.create_task(watch(clock, runtime, pump))
    say(f"ready {pump.owner}")
    loop = asyncio.get_running_loop()
    while line := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
        command, _, arg = line.partition(" ")
        if command == "go":
            await submit(runtime, Path(arg))
            say("applied")
        elif command == "quit":
            break
    watcher.cancel()
    await runtime.stop()
    await pump.stop()
    await db.close()
    await platform.close()


if __name__ == "__main__":
    asyncio.run(main(json.loads(Path(sys.argv[1]).read_text("utf-8"))))
