"""PostgreSQL benchmark (a script, not a test): ``python tests/bench/bench_postgres.py``.

Starts its own throwaway PostgreSQL server (``tests/pgserver.py``, fsync on, as a
deployment runs it; ``--no-fsync`` for the tests' cheap commits) and prints, measured in
the same run:

1. single line messages submitted to :class:`core.runtime.Runtime` by 100 concurrent
   tasks (each waits until its event is durable), events/s, next to a bare asyncpg loop
   doing the minimum durable work of the same events (insert the event id, upsert the
   line's state) and committing every 100 events, the two taking turns in rounds so that
   they meet the same load (``--rounds``; target >= 0.7x, all rounds together);
2. one event at a time: p50/p99 latency and events/s, next to the same bare loop
   committing each event, taking turns in the same way (target >= 0.7x); then, for
   information, the latency of the first message of lines the process does not know
   (it knows the lines written in last from its start, see ``Twinome.know_lines``: here
   a process that knows none);
3. two OS processes, each with its own runtime on the same database and events on trios
   of its own, next to one process alone: total events/s (target: more than one);
4. scale: 100,000 active trios (the rows of ``bench_core.py``, loaded with ``COPY``),
   then p50/p99 of ``turn``, ``trio info`` and ``ledger`` through ``Twinome.handle``
   for random members (target p99 < 10 ms).

The bare loops' statements go one at a time, as the runtime's events arrive; the loop
committing every 100 is also shown with ``executemany`` (a batch known in advance), for
reference. ``--quick`` is a smoke run with small figures.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path

import asyncpg

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.clock import FakeClock
from core.events import LineMessage
from core.ids import MemberId, RoomId
from core.runtime import Runtime
from core.service import Twinome
from core.storage.db import Database
from tests.bench.bench_core import START, rooms_of, tables, time_commands
from tests.bench.bench_runtime import percentile
from tests.pgserver import PgServer, binaries

TARGET_RATIO = 0.7
TARGET_P99_MS = 10.0


# A populated database ----------------------------------------------------------------------

async def populate(url: str, trios: int) -> dict[str, int]:
    """Load ``trios`` active trios into a migrated database with COPY; the counts."""
    conn = await asyncpg.connect(url)
    counts: dict[str, int] = {}
    try:
        await conn.execute("SET session_replication_role = replica")  # no FK trigger per row
        async with conn.transaction():
            for table, columns, rows in tables(trios):
                status = await conn.copy_records_to_table(table, records=rows, columns=columns)
                counts[table] = counts.get(table, 0) + int(status.split()[-1])
            for table in ("trios", "rooms", "mentorships"):  # ids given: move the sequences on
                await conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"(SELECT max(id) FROM {table}))")
        # What a bulk load leaves the server to do (autovacuum of the new rows, a
        # checkpoint of the pages written) is done now, not while the commands are timed.
        await conn.execute("VACUUM ANALYZE")
        await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    return counts


async def open_core(url: str) -> tuple[Twinome, FakeClock]:
    clock = FakeClock(START)
    return Twinome(await Database.open(url), clock), clock


def line_events(trios: range, count: int, tag: str, seed: int) -> list[LineMessage]:
    """Ready-made line messages over the lines of ``trios`` (made before the clock starts)."""
    rng = random.Random(seed)
    rooms = [(room, people) for t in trios for room, _, people in rooms_of(t)]
    out = []
    for i in range(count):
        room, people = rng.choice(rooms)
        out.append(LineMessage(f"{tag}-{i}", MemberId(rng.choice(people)), RoomId(room)))
    return out


async def concurrently(runtime: Runtime, work: list[LineMessage], tasks: int) -> float:
    """Seconds for ``tasks`` submitters to have ``work`` applied, each waiting on its own."""
    async def submitter(mine: list[LineMessage]) -> None:
        for event in mine:
            await runtime.submit(event)

    began = time.perf_counter()
    await asyncio.gather(*(submitter(work[i::tasks]) for i in range(tasks)))
    return time.perf_counter() - began


# 1-2: one process next to the bare loop ----------------------------------------------------

async def rounds(url: str, trios: int, count: int, rounds: int, tasks: int
                 ) -> tuple[list[float], list[float], list[float], int]:
    """Twinome and the bare loop taking turns over the same line messages: ``rounds``
    rounds of ``count / rounds`` events each (which goes first alternates), so that both
    meet the same load and the same state of the disk's cache. ``tasks`` 1: one event at
    a time, the loop committing each; more: that many concurrent submitters, the loop
    committing every 100. Returns the seconds of each round for Twinome and for the loop,
    Twinome's per-event latencies (ms, one at a time only) and its transactions."""
    core, clock = await open_core(url)
    runtime = Runtime(core)
    bare = await BareLoop.open(url)
    every = 1 if tasks == 1 else 100
    try:
        async with runtime:
            tag = "s" if tasks == 1 else "c"  # ids of their own for [1] and [2]
            warm = line_events(range(1, trios + 1), 300 if tasks == 1 else 2000, f"{tag}w", 6)
            await concurrently(runtime, warm, tasks)
            await bare.run(warm, every)
            clock.advance(timedelta(seconds=1))
            work = line_events(range(1, trios + 1), count, tag, 5)
            share = count // rounds
            ours: list[float] = []
            floors: list[float] = []
            latencies: list[float] = []
            before = runtime.batches
            for r in range(rounds):
                mine = work[r * share:(r + 1) * share]

                async def twinome(mine: list[LineMessage] = mine) -> float:
                    if tasks > 1:
                        return await concurrently(runtime, mine, tasks)
                    began = time.perf_counter()
                    for event in mine:
                        start = time.perf_counter()
                        await runtime.submit(event)
                        latencies.append((time.perf_counter() - start) * 1000)
                    return time.perf_counter() - began

                if r % 2:
                    ours.append(await twinome())
                    floors.append(await bare.run(mine, every))
                else:
                    floors.append(await bare.run(mine, every))
                    ours.append(await twinome())
            return ours, floors, latencies, runtime.batches - before
    finally:
        await bare.close()
        await core.db.close()


_UPSERT = ("INSERT INTO line (room, member, spoke, messages) VALUES ($1, $2, $3, 1) "
           "ON CONFLICT (room, member) DO UPDATE SET spoke = excluded.spoke, "
           "messages = line.messages + 1")


class BareLoop:
    """The floor: a bare asyncpg connection doing the minimum durable work of each of the
    same line messages as Twinome's (insert its id, upsert its line's state: the same
    lines, so its writes land on as many pages), in tables of its own."""

    def __init__(self, conn: asyncpg.Connection) -> None:
        self.conn = conn

    @classmethod
    async def open(cls, url: str) -> BareLoop:
        conn = await asyncpg.connect(url)
        await conn.execute("DROP TABLE IF EXISTS seen, line")
        await conn.execute("CREATE TABLE seen (event_id TEXT PRIMARY KEY, at BIGINT)")
        await conn.execute("CREATE TABLE line (room BIGINT, member TEXT, spoke BIGINT, "
                           "messages BIGINT NOT NULL DEFAULT 0, PRIMARY KEY (room, member))")
        return cls(conn)

    async def close(self) -> None:
        await self.conn.close()

    async def run(self, events: list[LineMessage], every: int, *, many: bool = False) -> float:
        """Seconds for ``events``, committing every ``every`` (``many``: each commit's
        statements sent with ``executemany``)."""
        conn = self.conn
        began = time.perf_counter()
        for start in range(0, len(events), every):
            chunk = [(e.event_id, int(e.room), str(e.actor), start + k)
                     for k, e in enumerate(events[start:start + every])]
            async with conn.transaction():
                if many:
                    await conn.executemany("INSERT INTO seen VALUES ($1, $2)",
                                           [(i, at) for i, _, _, at in chunk])
                    await conn.executemany(_UPSERT, [(r, m, at) for _, r, m, at in chunk])
                    continue
                for event_id, room, member, at in chunk:
                    await conn.execute("INSERT INTO seen VALUES ($1, $2)", event_id, at)
                    await conn.execute(_UPSERT, room, member, at)
        return time.perf_counter() - began


async def floor(url: str, trios: int, count: int, every: int, *, many: bool = False) -> float:
    """Events/s of the bare loop (see :class:`BareLoop`) on fresh tables, after a warm-up,
    over line messages as [1]'s."""
    bare = await BareLoop.open(url)
    try:
        await bare.run(line_events(range(1, trios + 1), min(count, 2000), "w", 6), every,
                       many=many)
        return count / await bare.run(line_events(range(1, trios + 1), count, "e", 5), every,
                                      many=many)
    finally:
        await bare.close()


# 3: processes side by side -----------------------------------------------------------------

async def worker(url: str, first: int, last: int, count: int, tasks: int, tag: str) -> None:
    """One bot process: warm up, say ``ready``, wait for ``go``, apply, print its figures."""
    core, clock = await open_core(url)
    runtime = Runtime(core)
    trios = range(first, last + 1)
    try:
        async with runtime:
            await concurrently(runtime, line_events(trios, 1000, f"{tag}w", 8), tasks)
            clock.advance(timedelta(seconds=1))
            work = line_events(trios, count, tag, 9)
            print("ready", flush=True)
            await asyncio.to_thread(sys.stdin.readline)
            elapsed = await concurrently(runtime, work, tasks)
            print(json.dumps({"events": count, "elapsed": elapsed}), flush=True)
    finally:
        await core.db.close()


def processes(url: str, trios: int, count: int, tasks: int, n: int, tag: str) -> float:
    """Total events/s of ``n`` bot processes started together, ``count`` events each, each
    on its own share of the trios; timed from the start signal to the last one's end."""
    share = trios // n
    started = [subprocess.Popen(
        [sys.executable, __file__, "--worker", url, str(k * share + 1), str((k + 1) * share),
         str(count), str(tasks), f"{tag}{k}"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for k in range(n)]
    try:
        for proc in started:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        began = time.perf_counter()
        for proc in started:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in started:
            assert proc.stdout is not None
            json.loads(proc.stdout.readline())
        elapsed = time.perf_counter() - began
        return n * count / elapsed
    finally:
        for proc in started:
            if proc.wait(timeout=60) != 0:
                raise RuntimeError(f"a worker process failed ({proc.returncode})")


# 4: scale ----------------------------------------------------------------------------------

async def scale(url: str, trios: int, samples: int) -> None:
    """Build ``trios`` trios, then time ``turn``, ``trio info`` and ``ledger``."""
    began = time.perf_counter()
    counts = await populate(url, trios)
    print(f"[4] scale: {trios:,} active trios loaded in {time.perf_counter() - began:.1f} s: "
          + ", ".join(f"{n:,} {table}" for table, n in counts.items()))
    core, _ = await open_core(url)
    await time_commands(core, ["turn", "trio info", "ledger"], trios, samples,
                        limit_ms=TARGET_P99_MS)


# Main --------------------------------------------------------------------------------------

def verdict(ratio: float) -> str:
    return f"ratio {ratio:.2f}x; target >= {TARGET_RATIO}x: " + (
        "PASS" if ratio >= TARGET_RATIO else "FAIL")


async def one_process(server: PgServer, args: argparse.Namespace) -> str:
    """[1] and [2]; returns the URL of the populated line database, for [3]."""
    url = await server.create()
    await populate(url, args.line_trios)
    many = await floor(url, args.line_trios, args.events, 100, many=True)
    ours, floors, _, batches = await rounds(url, args.line_trios, args.events, args.rounds,
                                            args.tasks)
    print(f"[1] {args.tasks} concurrent tasks, single events: "
          f"{_rate(args.events, args.rounds, ours)} ({batches:,} transactions)")
    print(f"    bare asyncpg loop committing every 100 events, rounds taking turns with it: "
          f"{_rate(args.events, args.rounds, floors)} (with executemany: {many:,.0f}/s)")
    _ratios(ours, floors)
    ours, floors, latencies, _ = await rounds(url, args.line_trios, args.serial, args.rounds, 1)
    print(f"[2] one event at a time: {_rate(args.serial, args.rounds, ours)}, latency p50 "
          f"{percentile(latencies, 50):.3f} ms, p99 {percentile(latencies, 99):.3f} ms")
    print(f"    bare asyncpg loop committing each event, rounds taking turns with it: "
          f"{_rate(args.serial, args.rounds, floors)}")
    _ratios(ours, floors)
    cold = await unknown_lines(url, args.line_trios, min(args.serial, 1000))
    print(f"    the first message of a line not known (no line known at the start): latency "
          f"p50 {percentile(cold, 50):.3f} ms, p99 {percentile(cold, 99):.3f} ms")
    return url


async def unknown_lines(url: str, trios: int, count: int) -> list[float]:
    """Latencies (ms) of ``count`` line messages one at a time, each in a line the process
    has not seen yet, on a runtime that knew no line at its start."""
    core, clock = await open_core(url)
    core.warm_lines = 0
    seen: set[int] = set()
    latencies: list[float] = []
    try:
        async with Runtime(core) as runtime:
            clock.advance(timedelta(seconds=2))
            for event in line_events(range(1, trios + 1), 4 * count, "u", 11):
                if int(event.room) in seen or len(latencies) == count:
                    continue
                seen.add(int(event.room))
                start = time.perf_counter()
                await runtime.submit(event)
                latencies.append((time.perf_counter() - start) * 1000)
    finally:
        await core.db.close()
    return latencies


def _rate(count: int, rounds: int, seconds: list[float]) -> str:
    return f"{count // rounds * len(seconds) / sum(seconds):,.0f}/s"


def _ratios(ours: list[float], floors: list[float]) -> None:
    """Each round's ratio, and the verdict over all rounds together."""
    each = sorted(f / o for o, f in zip(ours, floors, strict=True))
    print(f"    ratio per round: {', '.join(f'{r:.2f}' for r in each)}")
    print(f"    {verdict(sum(floors) / sum(ours))} (all rounds together)")


async def main(server: PgServer, args: argparse.Namespace) -> None:
    url = await one_process(server, args)
    one = await asyncio.to_thread(processes, url, args.line_trios, 2 * args.per_process,
                                  args.tasks, 1, "one")
    two = await asyncio.to_thread(processes, url, args.line_trios, args.per_process,
                                  args.tasks, 2, "two")
    print(f"[3] two processes on one database: {two:,.0f}/s in all "
          f"({args.per_process:,} events each, {args.tasks} tasks each, trios of their own)")
    print(f"    one process alone, same events: {one:,.0f}/s")
    print(f"    ratio {two / one:.2f}x; target > 1x: {'PASS' if two > one else 'FAIL'}")
    if args.trios:
        await scale(await server.create(), args.trios, args.samples)


def _args(argv: Iterable[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--quick", action="store_true", help="a smoke run: small figures")
    p.add_argument("--line-trios", type=int, default=2000, help="trios the events hit")
    p.add_argument("--events", type=int, default=20_000, help="events for [1]")
    p.add_argument("--tasks", type=int, default=100, help="concurrent submitters")
    p.add_argument("--serial", type=int, default=3000, help="events for [2]")
    p.add_argument("--rounds", type=int, default=10, help="rounds taking turns in [1] and [2]")
    p.add_argument("--per-process", type=int, default=10_000, help="events per process in [3]")
    p.add_argument("--trios", type=int, default=100_000, help="trios for [4] (0 skips it)")
    p.add_argument("--samples", type=int, default=3000, help="timed commands in [4]")
    p.add_argument("--no-fsync", action="store_true", help="a server that does not fsync")
    args = p.parse_args(None if argv is None else list(argv))
    if args.quick:
        args.line_trios, args.events, args.serial, args.rounds = 200, 1000, 200, 2
        args.per_process, args.trios, args.samples = 500, 1000, 150
    return args


def run() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--worker":
        url, first, last, count, tasks, tag = sys.argv[2:]
        asyncio.run(worker(url, int(first), int(last), int(count), int(tasks), tag))
        return
    args = _args()
    found = binaries()
    if found is None:
        sys.exit("PostgreSQL is not installed (apt-get install -y postgresql)")
    server = PgServer(found, durable=not args.no_fsync)
    server.start()
    print(f"Twinome PostgreSQL benchmark (server with fsync {'off' if args.no_fsync else 'on'}; "
          f"CPUs usable: {len(os.sched_getaffinity(0))})", flush=True)
    try:
        asyncio.run(main(server, args))
    finally:
        server.stop()


if __name__ == "__main__":
    run()
