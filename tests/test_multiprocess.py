"""Two bot processes on one PostgreSQL database do the work of one, exactly once.

Real parts: a throwaway PostgreSQL server (whatever backend the rest of the run uses),
worker processes (:mod:`tests.worker`: a Runtime and a Pump each, a fake platform that
posts a key once), 16 trios seeded through the core. The same 1,000 events (commands and
line messages; on four trios, both processes at once, 40 of them given to both) are
applied by one process on one copy of the seed, and by two on another; then a clock jump
makes the trios' reminders due; then the slow one of the two dies by SIGKILL while it
holds lanes, and the other takes them over once its lease lapses. Both copies must end
with the same tables and the same effects posted, each once, in each lane's order.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from core import keys
from core.ids import RoomId
from core.timeutil import ts
from tests.conftest import form_trio
from tests.helpers import Harness, until
from tests.pgserver import PgServer

LEASE = 2.0  # seconds: how long the dead process's lanes wait for their takeover
T0 = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(days=4)  # past the trios' patience: reminders are due
TRIOS, SHARED = 16, 4  # the last SHARED trios get events from both processes at once
ROOT = Path(__file__).resolve().parents[1]
Raw = dict[str, Any]


@pytest.fixture
async def started() -> AsyncIterator[list[Worker]]:
    """The workers a test starts, killed at its end if they still run (a failed test)."""
    workers: list[Worker] = []
    yield workers
    for worker in workers:
        if worker.proc.returncode is None:
            worker.kill()
            await worker.proc.wait()


async def test_two_processes_apply_fire_and_deliver_once(
        pg_server: PgServer, tmp_path: Path, started: list[Worker]) -> None:
    seed = await pg_server.create()
    trios = await seed_trios(seed)
    one, two, tail = plan(trios)
    files = {name: tmp_path / f"{name}.json" for name in ("one", "two", "both", "tail")}
    for name, streams in (("one", one), ("two", two), ("both", one + two), ("tail", tail)):
        files[name].write_text(json.dumps(streams), "utf-8")
    alone, shared = await clone(pg_server, seed), await clone(pg_server, seed)
    posted_alone, posted_shared = (await pg_server.create(empty=True),
                                   await pg_server.create(empty=True))

    solo = await Worker.start("solo", alone, posted_alone, tmp_path, started)
    await solo.run(files["both"])
    await solo.clock(T1)
    await until(lambda: nothing_due(alone), "the solo process fires the due jobs")
    await solo.run(files["tail"])
    await until(lambda: outbox_empty(alone), "the solo process delivers everything")
    await solo.quit()

    first = await Worker.start("first", shared, posted_shared, tmp_path, started)
    slow = await Worker.start("slow", shared, posted_shared, tmp_path, started, delay=0.05)
    await asyncio.gather(first.run(files["one"]), slow.run(files["two"]))
    assert not await nothing_due(shared), "reminders come due at the jump"
    await first.clock(T1)
    await slow.clock(T1)
    await until(lambda: nothing_due(shared), "the two processes fire the due jobs")
    await slow.run(files["tail"])
    await until(lambda: leased_effects(shared, slow.owner), "the slow one holds lanes")
    slow.kill()
    held = await leased_effects(shared, slow.owner)
    assert held, "it died holding lanes with effects not marked done"
    await until(lambda: outbox_empty(shared), "the survivor takes the lanes over",
                within=3 * LEASE + 15)
    await first.quit()

    assert await dump(shared) == await dump(alone)
    posted = await deliveries(posted_shared)
    assert posted == await deliveries(posted_alone)  # each effect once, none lost
    assert sum(posted.values()) > 300
    for where in (posted_alone, posted_shared):
        await assert_lanes_in_order(where)
    assert await workers(posted_shared) == {"first", "slow"}
    # Sent twice: only what the dead one may have sent before its death, then the survivor.
    twice = await resent(posted_shared)
    assert all(senders == ["slow", "first"] for senders in twice.values()), twice
    assert len(twice) <= held


class Worker:
    """A bot process of :mod:`tests.worker`, steered through its stdin."""

    def __init__(self, name: str, proc: asyncio.subprocess.Process, owner: str,
                 clock_file: Path, errors: Path) -> None:
        self.name = name
        self.proc = proc
        self.owner = owner
        self.clock_file = clock_file
        self.errors = errors

    @classmethod
    async def start(cls, name: str, url: str, platform: str, folder: Path,
                    started: list[Worker], *, delay: float = 0.0) -> Worker:
        clock_file = folder / f"{name}.clock"
        clock_file.write_text(T0.isoformat(), "utf-8")
        config = folder / f"{name}.config.json"
        config.write_text(json.dumps({"name": name, "url": url, "platform": platform,
                                      "clock": str(clock_file), "lease": LEASE,
                                      "delay": delay}), "utf-8")
        errors = folder / f"{name}.stderr"
        with errors.open("wb") as sink:
            proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "tests.worker", str(config), cwd=ROOT,
                stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, stderr=sink,
                env={**os.environ, "PYTHONPATH": str(ROOT)})
        worker = cls(name, proc, "", clock_file, errors)
        started.append(worker)
        worker.owner = (await worker.answer("ready")).split()[1]
        return worker

    async def answer(self, word: str) -> str:
        """The next line the worker says, which must start with ``word``."""
        assert self.proc.stdout is not None
        async with asyncio.timeout(40):
            line = (await self.proc.stdout.readline()).decode().strip()
        assert line.startswith(word), f"{self.name} said {line!r}: {self.errors.read_text()}"
        return line

    async def tell(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        await self.proc.stdin.drain()

    async def run(self, streams: Path) -> None:
        """Have it apply a file of event streams; returns once they are durable."""
        await self.tell(f"go {streams}")
        await self.answer("applied")

    async def clock(self, when: datetime) -> None:
        self.clock_file.write_text(when.isoformat(), "utf-8")

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)

    async def quit(self) -> None:
        await self.tell("quit")
        async with asyncio.timeout(20):
            assert await self.proc.wait() == 0, self.errors.read_text()


async def seed_trios(url: str) -> list[tuple[list[str], list[tuple[int, str, str]]]]:
    """Form the trios and bind their rooms on the fake platform; each trio's members and
    pair lines (room, member, member)."""
    h = await Harness.open(url)
    try:
        for i in range(TRIOS):
            await form_trio(h, f"m{i}a", f"m{i}b", f"m{i}c")
        async with h.core.db.transaction() as tx:
            rooms = await tx.all("SELECT id, trio_id, member_a, member_b FROM rooms "
                                 "WHERE purpose = 'pair' ORDER BY id")
            await tx.many("INSERT INTO platform_refs (platform, key, ref) VALUES (?, ?, ?)",
                          [("console", keys.room_key(RoomId(r)), f"fake-{r}") for (r,) in
                           await tx.all("SELECT id FROM rooms")])
    finally:
        await h.close()
    trios: dict[int, list[tuple[int, str, str]]] = {}
    for room, trio, a, b in rooms:
        trios.setdefault(trio, []).append((room, a, b))
    return [(sorted({m for _, a, b in pairs for m in (a, b)}), pairs)
            for _, pairs in sorted(trios.items())]


def plan(trios: list[tuple[list[str], list[tuple[int, str, str]]]]
         ) -> tuple[list[list[Raw]], list[list[Raw]], list[list[Raw]]]:
    """The streams of events of each process, and a tail for the second one.

    A trio's conversation is one stream, in order, given to one process: its outcome
    depends on the order. On the shared trios both processes act at once, with events
    whose outcome does not (one member writing in one line, people asking for help), and
    40 events go to both.
    """
    rng = random.Random(12)
    ids = iter(range(1, 10_000))

    def event(actor: str, room: int | None, text: str | None) -> Raw:
        return {"id": f"mp{next(ids)}", "actor": actor, "room": room, "text": text}

    one: list[list[Raw]] = []
    two: list[list[Raw]] = []
    for i, (members, pairs) in enumerate(trios[:-SHARED]):
        stream = []
        for _ in range(50):
            room, a, b = rng.choice(pairs)
            roll = rng.random()
            stream.append(event(rng.choice((a, b)), room, None) if roll < 0.8 else
                          event(rng.choice(members), None, "help") if roll < 0.9 else
                          event(a, room, "turn"))
        (one if i % 2 else two).append(stream)
    for members, pairs in trios[-SHARED:]:
        room, a, b = pairs[0]
        c = next(m for m in members if m not in (a, b))
        for mine, helper in ((one, b), (two, c)):
            stream = [event(a, room, None) for _ in range(40)]
            stream += [event(helper, None, "help") for _ in range(10)]
            rng.shuffle(stream)
            mine.append(stream)
    doubled = rng.sample([e for s in one[-SHARED:] for e in s], 40)
    for e in doubled:
        stream = rng.choice(two[-SHARED:])
        stream.insert(rng.randrange(len(stream) + 1), e)
    tail = [[event(rng.choice(members), None, "help")] for members, _ in trios for _ in range(2)]
    assert len({e["id"] for s in one + two for e in s}) == 1000
    return one, two, tail


async def clone(server: PgServer, url: str) -> str:
    """A new database holding what ``url`` holds."""
    name = f"{url.rsplit('/', 1)[1]}_{random.randrange(1 << 30)}"
    admin = await asyncpg.connect(server.url("postgres"))
    try:
        await admin.execute(f"CREATE DATABASE {name} TEMPLATE {url.rsplit('/', 1)[1]}")
    finally:
        await admin.close()
    return server.url(name)


async def query(url: str, sql: str, *args: Any) -> list[Any]:
    conn = await asyncpg.connect(url)
    try:
        return list(await conn.fetch(sql, *args))
    finally:
        await conn.close()


async def nothing_due(url: str) -> bool:
    return not (await query(url, "SELECT count(*) FROM jobs WHERE due_at <= $1", ts(T1)))[0][0]


async def outbox_empty(url: str) -> bool:
    return not (await query(url, "SELECT count(*) FROM outbox"))[0][0]


async def leased_effects(url: str, owner: str) -> int:
    """How many effects not marked done are in lanes ``owner`` leases."""
    return int((await query(
        url, "SELECT count(*) FROM lane_leases l JOIN outbox o "
        "ON o.platform = l.platform AND o.lane = l.lane WHERE l.owner = $1", owner))[0][0])


async def dump(url: str) -> dict[str, list[str]]:
    """Every table's rows but the outbox and the leases (ids aside: they are drawn in
    the order of commits), sorted."""
    columns = await query(
        url, "SELECT table_name, column_name FROM information_schema.columns WHERE "
        "table_schema = 'public' AND column_name <> 'id' AND table_name NOT IN "
        "('twinome_schema', 'outbox', 'lane_leases') ORDER BY table_name, ordinal_position")
    tables: dict[str, list[str]] = {}
    for table, column in columns:
        tables.setdefault(table, []).append(column)
    return {table: sorted(str(tuple(r)) for r in await query(
        url, f"SELECT {', '.join(names)} FROM {table}")) for table, names in tables.items()}


async def deliveries(url: str) -> Counter[str]:
    """What the fake platform posted (where, in reply to what, the text), each time."""
    return Counter(r[0] for r in await query(url, "SELECT what FROM deliveries"))


async def resent(url: str) -> dict[str, list[str]]:
    """The keys the platform was sent more than once, with who sent them, in order."""
    return {r[0]: list(r[1]) for r in await query(
        url, "SELECT key, array_agg(worker ORDER BY n) FROM sends GROUP BY key "
        "HAVING count(*) > 1")}


async def workers(url: str) -> set[str]:
    return {r[0] for r in await query(url, "SELECT DISTINCT worker FROM deliveries")}


async def assert_lanes_in_order(url: str) -> None:
    """Within each lane, effects were first posted in the order they were written."""
    lanes: dict[str, list[int]] = {}
    for lane, key in await query(url, "SELECT lane, key FROM deliveries ORDER BY n"):
        lanes.setdefault(lane, []).append(int(key.rsplit("-", 1)[1]))
    assert all(ids == sorted(ids) for ids in lanes.values())
