"""Runtime benchmark (a script, not a test): ``python tests/bench/bench_runtime.py``.

Prints, measured in the same run on one core:

1. single line messages submitted to :class:`core.runtime.Runtime` by 100 concurrent
   tasks (each waits until its event is durable before sending the next), events/s,
   next to a bare aiosqlite loop doing the minimum durable work per event (record the
   event id, upsert the line state) and committing every 100 events (target >= 0.9x);
2. one event at a time with nothing else running: p50/p99 latency and events/s, next
   to the same bare loop committing each event (target >= 0.5x).

The line messages hit a realistic database (``--line-trios`` active trios, built as in
``bench_core.py``); every event does the core's full work: exactly-once record, turn
tracking, relance notices written to the outbox.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import aiosqlite

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.events import LineMessage
from core.ids import MemberId, RoomId
from core.runtime import Runtime
from tests.bench.bench_core import fresh_core, rooms_of


def events(trios: int, count: int, tag: str, seed: int) -> list[LineMessage]:
    """Ready-made line messages over the trios' lines (made before the clock starts)."""
    rng = random.Random(seed)
    rooms = [(room, people) for t in range(1, trios + 1) for room, _, people in rooms_of(t)]
    out = []
    for i in range(count):
        room, people = rng.choice(rooms)
        out.append(LineMessage(f"{tag}-{i}", MemberId(rng.choice(people)), RoomId(room)))
    return out


async def concurrent_rate(folder: Path, trios: int, count: int, tasks: int) -> tuple[float, int]:
    """Events/s with ``tasks`` submitters, and how many transactions it took."""
    core, clock, _ = await fresh_core(folder / "concurrent.sqlite3", trios)
    runtime = Runtime(core)
    work = events(trios, count, "c", 3)
    warm = events(trios, 2000, "w", 4)
    try:
        async with runtime:
            async def submitter(mine: list[LineMessage]) -> None:
                for event in mine:
                    await runtime.submit(event)

            await asyncio.gather(*(submitter(warm[i::tasks]) for i in range(tasks)))
            clock.advance(timedelta(seconds=1))
            before = runtime.batches
            began = time.perf_counter()
            await asyncio.gather(*(submitter(work[i::tasks]) for i in range(tasks)))
            elapsed = time.perf_counter() - began
            return count / elapsed, runtime.batches - before
    finally:
        await core.db.close()


async def serial_latency(folder: Path, trios: int, count: int) -> tuple[float, list[float]]:
    """Events/s and per-event latencies (ms) with one event at a time."""
    core, clock, _ = await fresh_core(folder / "serial.sqlite3", trios)
    runtime = Runtime(core)
    work = events(trios, count, "s", 5)
    try:
        async with runtime:
            for event in events(trios, 500, "sw", 6):
                await runtime.submit(event)
            clock.advance(timedelta(seconds=1))
            latencies = []
            began = time.perf_counter()
            for event in work:
                start = time.perf_counter()
                await runtime.submit(event)
                latencies.append((time.perf_counter() - start) * 1000)
            elapsed = time.perf_counter() - began
            return count / elapsed, latencies
    finally:
        await core.db.close()


async def floor(folder: Path, count: int, every: int) -> float:
    """A bare aiosqlite loop: record the id, upsert the line state, commit every ``every``."""
    path = folder / f"floor-{every}-{time.perf_counter_ns()}.sqlite3"
    async with aiosqlite.connect(path, isolation_level=None) as db:
        for pragma in ("PRAGMA journal_mode=WAL", "PRAGMA synchronous=NORMAL"):
            await db.execute(pragma)
        await db.execute("CREATE TABLE seen (event_id TEXT PRIMARY KEY, at INTEGER)")
        await db.execute("CREATE TABLE line (room INTEGER, member TEXT, spoke INTEGER, "
                         "messages INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (room, member))")

        async def loop(tag: str, n: int) -> None:
            await db.execute("BEGIN")
            for i in range(n):
                await db.execute("INSERT INTO seen VALUES (?, ?)", (f"{tag}{i}", i))
                await db.execute(
                    "INSERT INTO line (room, member, spoke, messages) VALUES (?, ?, ?, 1) "
                    "ON CONFLICT (room, member) DO UPDATE SET spoke = excluded.spoke, "
                    "messages = messages + 1", (i % 4000, f"m{i % 3}", i))
                if (i + 1) % every == 0:
                    await db.execute("COMMIT")
                    await db.execute("BEGIN")
            await db.execute("COMMIT")

        await loop("w", 1000)
        began = time.perf_counter()
        await loop("e", count)
        return count / (time.perf_counter() - began)


def percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1]


async def main(args: argparse.Namespace) -> None:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"Twinome runtime benchmark (CPUs usable: {cpus})")
    with tempfile.TemporaryDirectory(prefix="twinome-bench-") as tmp:
        folder = Path(tmp)
        bare_100 = max(await floor(folder, args.events, 100), await floor(folder, args.events, 100))
        rate, batches = await concurrent_rate(folder, args.line_trios, args.events, args.tasks)
        ratio = rate / bare_100
        print(f"[1] {args.tasks} concurrent tasks, single events: {rate:,.0f}/s "
              f"({args.events:,} events in {batches:,} transactions)")
        print(f"    bare aiosqlite loop committing every 100 events: {bare_100:,.0f}/s")
        print(f"    ratio {ratio:.2f}x; target >= 0.9x: {'PASS' if ratio >= 0.9 else 'FAIL'}")
        bare_1 = max(await floor(folder, args.serial, 1), await floor(folder, args.serial, 1))
        serial, latencies = await serial_latency(folder, args.line_trios, args.serial)
        ratio = serial / bare_1
        print(f"[2] one event at a time: {serial:,.0f}/s, latency p50 "
              f"{percentile(latencies, 50):.3f} ms, p99 {percentile(latencies, 99):.3f} ms")
        print(f"    bare aiosqlite loop committing each event: {bare_1:,.0f}/s")
        print(f"    ratio {ratio:.2f}x; target >= 0.5x: {'PASS' if ratio >= 0.5 else 'FAIL'}")


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--line-trios", type=int, default=2000, help="trios the events hit")
    p.add_argument("--events", type=int, default=20_000, help="events for [1]")
    p.add_argument("--tasks", type=int, default=100, help="concurrent submitters for [1]")
    p.add_argument("--serial", type=int, default=5_000, help="events for [2]")
    p.add_argument("--cores", type=int, default=1, help="pin to this many CPUs (0: no pin)")
    return p.parse_args()


if __name__ == "__main__":
    options = _args()
    if options.cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: options.cores]))
    asyncio.run(main(options))
