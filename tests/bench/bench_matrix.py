"""Matrix benchmark (a script, not a test): ``python tests/bench/bench_matrix.py [--rounds N]``.

Starts a local Synapse on 127.0.0.1, then measures, in the same run, the time from a
member sending a command in an encrypted direct chat to the member's client holding the
decrypted reply (an ``m.notice`` replying to the command):

1. through the Twinome bot (sync batch -> core transaction -> outbox -> encrypted notice,
   sync token saved after the effects);
2. through a bare matrix-nio bot in the same process that answers "ping" with "pong"
   from an event callback (the floor: no database, no outbox);

rounds alternate between the two so drift hits both alike. Prints p50 and p90 of each,
the ratio of the p50s, and PASS/FAIL against SPEC section 7 (p50 within 1.15x).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import nio

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from bots.matrix.bot import MatrixBot, core_settings
from bots.matrix.config import MatrixConfig
from bots.matrix.homeserver import Homeserver
from bots.matrix.people import Person
from bots.matrix.session import close
from core.clock import SystemClock
from core.service import Twinome
from core.storage.db import Database

TARGET = 1.15


class BareBot:
    """The floor: an encrypted matrix-nio bot that answers "ping" with a "pong" notice."""

    def __init__(self, client: nio.AsyncClient) -> None:
        self.client = client
        loose: Any = client
        loose.add_event_callback(self._on_message, nio.RoomMessageText)
        loose.add_event_callback(self._on_invite, nio.InviteMemberEvent)

    async def _on_invite(self, room: nio.MatrixRoom, event: Any) -> None:
        if event.state_key == self.client.user_id and event.membership == "invite":
            await self.client.join(room.room_id)

    async def _on_message(self, room: nio.MatrixRoom, event: Any) -> None:
        if event.sender == self.client.user_id or event.body != "ping":
            return
        content = {"msgtype": "m.notice", "body": "pong",
                   "m.relates_to": {"m.in_reply_to": {"event_id": event.event_id}}}
        await self.client.room_send(room.room_id, "m.room.message", content,
                                    ignore_unverified_devices=True)

    async def run(self) -> None:
        await self.client.sync(timeout=0, full_state=True)
        loose: Any = self.client
        await loose.sync_forever(timeout=30_000)


async def bare_bot(server: Homeserver, password: str, store: Path) -> BareBot:
    """Log the bare bot in with its own encrypted store."""
    await asyncio.to_thread(store.mkdir, parents=True, exist_ok=True)
    config = nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True)
    client = nio.AsyncClient(server.url, server.user_id("barebot"), store_path=str(store),
                             config=config)
    response = await client.login(password, device_name="bare bot")
    assert isinstance(response, nio.LoginResponse), response
    await client.keys_upload()
    return BareBot(client)


async def round_trip(person: Person, room_id: str, text: str) -> float:
    """Seconds from sending ``text`` to holding the decrypted reply to it."""
    began = time.perf_counter()
    event_id = await person.say(text, room_id)
    await person.expect(lambda s: s.reply_to == event_id, within=30)
    return time.perf_counter() - began


def summary(name: str, samples: list[float]) -> tuple[float, float]:
    """Print and return p50 and p90 in milliseconds."""
    ordered = sorted(samples)
    p50 = statistics.median(ordered) * 1000
    p90 = ordered[int(0.9 * (len(ordered) - 1))] * 1000
    print(f"  {name:34} p50 {p50:7.1f} ms   p90 {p90:7.1f} ms   (n={len(samples)})")
    return p50, p90


async def open_dm(person: Person, bot: str) -> str:
    """A direct chat of ``person`` with ``bot``."""
    person.bot = bot
    room_id = await person.open_dm()
    person.dm = ""
    return room_id


async def stop(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel the bots' tasks and wait for them to finish."""
    for task in tasks:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    tasks.clear()


async def measure(rounds: int, warmup: int, directory: Path) -> float:
    """Run the benchmark; returns the p50 ratio."""
    server = Homeserver(directory / "homeserver")
    await asyncio.to_thread(server.start)
    tasks: list[asyncio.Task[None]] = []
    try:
        passwords = {n: secrets.token_urlsafe(12) for n in ("twinome", "barebot", "member")}
        for name, password in passwords.items():
            await asyncio.to_thread(server.register, name, password)
        config = MatrixConfig(database=directory / "twinome.db", homeserver=server.url,
                              user_id=server.user_id("twinome"), store_dir=directory / "store",
                              password=passwords["twinome"])
        async with await Database.open(config.database) as db:
            bot = MatrixBot(config, Twinome(db, SystemClock(), core_settings(config)))
            tasks.append(asyncio.create_task(bot.run()))
            await asyncio.wait_for(bot.ready.wait(), 60)
            bare = await bare_bot(server, passwords["barebot"], directory / "bare")
            tasks.append(asyncio.create_task(bare.run()))
            member = await Person.login("member", server.url, server.user_id("member"),
                                        passwords["member"], directory / "member",
                                        config.user_id, lambda seen: None)
            await member.start()
            try:
                rooms = {"twinome": await open_dm(member, config.user_id),
                         "bare": await open_dm(member, server.user_id("barebot"))}
                runs: dict[str, Callable[[], Awaitable[float]]] = {
                    "twinome": lambda: round_trip(member, rooms["twinome"], "trio list"),
                    "bare": lambda: round_trip(member, rooms["bare"], "ping"),
                }
                samples: dict[str, list[float]] = {"twinome": [], "bare": []}
                for i in range(warmup + rounds):
                    for name, run in runs.items():
                        took = await run()
                        if i >= warmup:
                            samples[name].append(took)
            finally:
                await member.stop()
                await stop(tasks)
                await close(bare.client)
    finally:
        await stop(tasks)
        await asyncio.to_thread(server.stop)
    print("Command -> decrypted reply through a local Synapse, encrypted direct chats:")
    bare_p50, _ = summary("bare matrix-nio bot (ping -> pong)", samples["bare"])
    ours_p50, _ = summary("Twinome bot (trio list)", samples["twinome"])
    ratio = ours_p50 / bare_p50
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(f"  ratio of p50: {ratio:.3f}x (target <= {TARGET}x): {verdict}")
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=60, help="measured rounds per bot")
    parser.add_argument("--warmup", type=int, default=5, help="rounds not counted")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    logging.getLogger("nio").setLevel(logging.CRITICAL)
    with tempfile.TemporaryDirectory(prefix="twinome-bench-") as folder:
        ratio = asyncio.run(measure(args.rounds, args.warmup, Path(folder)))
    return 0 if ratio <= TARGET else 1


if __name__ == "__main__":
    raise SystemExit(main())

