"""Core benchmarks (a script, not a test): ``python tests/bench/bench_core.py [--trios N]``.

Prints, measured in the same run on the same machine:

1. line messages per second with durable turn tracking, through ``Twinome.handle`` in
   batches (committed to a WAL file with synchronous=NORMAL, outbox drained as an adapter
   would), over many trios;
2. the floor: a bare aiosqlite insert-and-commit loop with the same pragmas;
3. their ratio, and PASS/FAIL against SPEC section 7 (>= 5,000/s and >= 0.7x the floor);
4. scale: a database of ``--trios`` active trios (members, rooms, turn state, reminder
   jobs, skills, mentorships and sessions, filled with bulk SQL), then p50/p99 latency of
   ``turn``, ``trio info`` and ``ledger`` through ``Twinome.handle`` (target p99 < 5 ms).

By default the process is pinned to one CPU ("on one core"); ``--cores 0`` leaves it free.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiosqlite

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core import features
from core.clock import FakeClock
from core.events import CommandReceived, Event, LineMessage
from core.ids import MemberId, RoomId
from core.service import Twinome
from core.storage.db import Database

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
T0 = int(START.timestamp())
PATIENCE = 72 * 3600
ZONES = ("UTC", "Europe/Paris", "America/New_York", "Asia/Tokyo", "Africa/Lagos")
SKILLS = ("cooking", "python", "guitar", "drawing", "running", "spanish", "gardening", "chess")


# Building a realistic database quickly ---------------------------------------------------

def member(i: int) -> str:
    return f"@m{i}:bench.example"


def trio_members(t: int) -> list[str]:
    """Trio ``t`` (1-based): three members; one trio in ten shares a member with the previous."""
    seats = [member(3 * t), member(3 * t + 1), member(3 * t + 2)]
    if t % 10 == 0 and t > 1:
        seats[2] = member(3 * (t - 1))
    return seats


def trio_room(t: int) -> int:
    return 4 * t - 3


def rooms_of(t: int) -> Iterator[tuple[int, str, list[str]]]:
    """(room id, purpose, members) of trio ``t``: the trio room and the three pair lines."""
    a, b, c = trio_members(t)
    yield trio_room(t), "trio", [a, b, c]
    for k, pair in enumerate(((a, b), (a, c), (b, c)), start=1):
        yield trio_room(t) + k, "pair", sorted(pair)


def tables(trios: int, seed: int = 7) -> Iterator[tuple[str, list[str], Iterable[tuple[object, ...]]]]:
    """The rows of ``trios`` active trios and what lives around them: (table, columns,
    rows), in an order the foreign keys accept (shared with ``bench_postgres.py``)."""
    rng = random.Random(seed)
    people = range(3, 3 * trios + 3)
    yield "members", ["id", "display_name", "tz", "quiet_start", "quiet_end", "away_since",
                      "away_until", "away_note", "created_at"], (
        (member(i), f"Member {i}", ZONES[i % len(ZONES)],
         1320 if i % 4 == 0 else None, 480 if i % 4 == 0 else None,
         T0 - 3600 if i % 20 == 0 else None, T0 + 86400 * 3 if i % 40 == 0 else None,
         "travelling" if i % 20 == 0 else None, T0 - 90 * 86400) for i in people)
    yield "skills", ["member_id", "kind", "skill"], (
        (member(i), kind, SKILLS[(i + shift) % len(SKILLS)])
        for i in people for kind, shift in (("offer", 0), ("want", 3)))
    yield "trios", ["id", "name", "state", "created_at", "patience_s", "relance",
                    "proposal_ttl_s"], (
        (t, f"Trio {t}", "active", T0 - 60 * 86400, PATIENCE,
         "off" if t % 7 == 0 else "gentle", 48 * 3600) for t in range(1, trios + 1))
    yield "trio_members", ["trio_id", "member_id", "joined_at"], (
        (t, m, T0 - 60 * 86400 + k) for t in range(1, trios + 1)
        for k, m in enumerate(trio_members(t)))
    yield "rooms", ["id", "trio_id", "purpose", "member_a", "member_b", "state", "created_at"], (
        (room, t, purpose, *(seats if purpose == "pair" else (None, None)), "open",
         T0 - 60 * 86400) for t in range(1, trios + 1) for room, purpose, seats in rooms_of(t))
    seats, jobs = _turn_state(trios, rng)
    yield "line_state", ["room_id", "member_id", "last_spoke_at", "spoke_seq", "owes_since",
                         "accrued_s", "accrual_from", "reminded", "relanced", "messages",
                         "initiations", "replies", "reply_total_s"], seats
    yield "jobs", ["due_at", "kind", "key", "payload"], jobs
    yield "mentorships", ["id", "trio_id", "mentor", "mentee", "skill", "state", "created_at"], (
        (t, t, trio_members(t)[0], trio_members(t)[1], SKILLS[t % len(SKILLS)], "recognised",
         T0 - 30 * 86400) for t in range(1, trios + 1))
    yield "sessions", ["mentorship_id", "minutes", "note", "logged_by", "created_at",
                       "confirmed_at"], (
        (t, 30 + 15 * k, None, trio_members(t)[0], T0 - (20 - k) * 86400,
         None if k == 2 else T0 - (19 - k) * 86400) for t in range(1, trios + 1)
        for k in range(3))


def populate(path: Path, trios: int, seed: int = 7) -> dict[str, int]:
    """Fill a migrated database with ``trios`` active trios and what lives around them."""
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("BEGIN")
    counts: dict[str, int] = {}
    for table, columns, rows in tables(trios, seed):
        marks = ", ".join("?" * len(columns))
        cur = conn.executemany(f"INSERT OR IGNORE INTO {table} ({', '.join(columns)}) "
                               f"VALUES ({marks})", rows)
        counts[table] = counts.get(table, 0) + cur.rowcount
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
    return counts


def _turn_state(trios: int, rng: random.Random) -> tuple[list[tuple[object, ...]],
                                                         list[tuple[object, ...]]]:
    """Plausible line_state rows (last writer owes nothing, the others owe) and their jobs."""
    seats: list[tuple[object, ...]] = []
    jobs: list[tuple[object, ...]] = []
    for t in range(1, trios + 1):
        for room, _, people in rooms_of(t):
            order = rng.sample(people, len(people))
            last = T0 - rng.randint(60, 6 * 86400)
            for seq, who in enumerate(order, start=1):
                spoke = last - (len(order) - seq) * rng.randint(60, 86400)
                owes = None if seq == len(order) else last
                reminded = int(owes is not None and T0 - owes > PATIENCE)
                n = rng.randint(5, 400)
                seats.append((room, who, spoke, seq, owes, 0, owes, reminded, 0, n, n // 5,
                              n // 2, (n // 2) * rng.randint(600, 40000)))
                if owes is not None and not reminded:
                    jobs.append((owes + PATIENCE, "remind", f"remind:{room}:{who}",
                                 f'{{"room": {room}, "member": "{who}"}}'))
    return seats, jobs


async def fresh_core(path: Path, trios: int) -> tuple[Twinome, FakeClock, dict[str, int]]:
    """A migrated, populated database and a core on it."""
    db = await Database.open(path)
    await db.close()
    counts = populate(path, trios)
    clock = FakeClock(START)
    return Twinome(await Database.open(path), clock), clock, counts


# 1-3: throughput ---------------------------------------------------------------------------

async def line_rate(folder: Path, trios: int, messages: int, batch: int) -> float:
    """Line messages per second through ``Twinome.handle`` with durable turn tracking."""
    core, clock, _ = await fresh_core(folder / f"lines-{batch}.sqlite3", trios)
    rng = random.Random(11)
    rooms = [(room, people) for t in range(1, trios + 1) for room, _, people in rooms_of(t)]

    def batches(first: int, count: int) -> list[list[Event]]:
        """Made before the clock starts: an adapter hands the core ready events."""
        out: list[list[Event]] = []
        for start in range(first, first + count, batch):
            out.append([])
            for i in range(start, min(start + batch, first + count)):
                room, people = rng.choice(rooms)
                out[-1].append(LineMessage(f"bench-{batch}-{i}", MemberId(rng.choice(people)),
                                           RoomId(room)))
        return out

    async def run(work: list[list[Event]]) -> None:
        for events in work:
            await core.handle(events)
            await core.done([d.id for d in await core.pending()])
            clock.advance(timedelta(seconds=1))

    try:
        await run(batches(0, min(2000, messages)))  # warm-up: caches, statements, zone files
        work = batches(10**7, messages)
        began = time.perf_counter()
        await run(work)
        return messages / (time.perf_counter() - began)
    finally:
        await core.db.close()


async def floor_rate(folder: Path, n: int) -> float:
    """A bare aiosqlite loop: one INSERT and one COMMIT per row, WAL, synchronous=NORMAL."""
    path = folder / f"floor-{time.perf_counter_ns()}.sqlite3"
    async with aiosqlite.connect(path) as db:
        await db.execute("PRAGMA journal_mode=WAL")
        await db.execute("PRAGMA synchronous=NORMAL")
        await db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, event TEXT, at INTEGER)")
        await db.commit()
        for i in range(200):
            await db.execute("INSERT INTO t (event, at) VALUES (?, ?)", (f"w{i}", i))
            await db.commit()
        began = time.perf_counter()
        for i in range(n):
            await db.execute("INSERT INTO t (event, at) VALUES (?, ?)", (f"e{i}", i))
            await db.commit()
        return n / (time.perf_counter() - began)


# 4: scale ---------------------------------------------------------------------------------

async def scale(folder: Path, trios: int, samples: int) -> None:
    """Build ``trios`` trios, then time ``turn``, ``trio info`` and ``ledger``."""
    began = time.perf_counter()
    core, _, counts = await fresh_core(folder / "scale.sqlite3", trios)
    built = time.perf_counter() - began
    size = (folder / "scale.sqlite3").stat().st_size / 2**20
    print(f"[4] scale: {trios:,} active trios built in {built:.1f} s ({size:.0f} MiB): "
          + ", ".join(f"{n:,} {table}" for table, n in counts.items()))
    commands = ["turn", "trio info"] + (["ledger"] if "ledger" in features.COMMANDS else [])
    if "ledger" not in commands:
        print("    ledger: not implemented yet, skipped")
    await time_commands(core, commands, trios, samples, limit_ms=5)


async def time_commands(core: Twinome, commands: list[str], trios: int, samples: int, *,
                        limit_ms: float) -> None:
    """Time each command, given by a random member of a random trio in its trio room, and
    print p50/p99 against ``limit_ms`` (the first 200 warm the caches). Closes the core."""
    rng = random.Random(5)
    timings: dict[str, list[float]] = {c: [] for c in commands}
    warm = min(200, samples)
    try:
        for i in range(samples + warm):
            command = commands[i % len(commands)]
            t = rng.randint(1, trios)
            who = MemberId(rng.choice(trio_members(t)))
            event = CommandReceived(f"scale-{i}", who, RoomId(trio_room(t)), command)
            start = time.perf_counter()
            await core.handle([event])
            elapsed = time.perf_counter() - start
            delivered = await core.pending()
            assert delivered and not getattr(delivered[0].effect, "error", False), delivered
            await core.done([d.id for d in delivered])
            if i >= warm:  # the first ones warm the caches
                timings[command].append(elapsed * 1000)
    finally:
        await core.db.close()
    for command, values in timings.items():
        p50, p99 = _percentile(values, 50), _percentile(values, 99)
        verdict = "PASS" if p99 < limit_ms else "FAIL"
        print(f"    {command:<10} n={len(values):,}  p50 {p50:.2f} ms  p99 {p99:.2f} ms  "
              f"max {max(values):.2f} ms  target p99 < {limit_ms:g} ms: {verdict}")


def _percentile(values: list[float], pct: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[pct - 1] if pct < 100 else max(values)


# Main -------------------------------------------------------------------------------------

async def main(args: argparse.Namespace) -> None:
    print(f"Twinome core benchmark: Python {platform.python_version()}, SQLite "
          f"{sqlite3.sqlite_version}, aiosqlite {aiosqlite.__version__}, {platform.machine()}, "
          f"CPUs usable: {len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else '?'}")
    with tempfile.TemporaryDirectory(prefix="twinome-bench-", dir=args.dir) as tmp:
        folder = Path(tmp)
        if not args.skip_rate:
            floor_before = await floor_rate(folder, args.floor)
            rate = await line_rate(folder, args.line_trios, args.messages, args.batch)
            floor_after = await floor_rate(folder, args.floor)
            floor = max(floor_before, floor_after)
            ratio = rate / floor
            print(f"[1] line messages with durable turn tracking: {rate:,.0f}/s "
                  f"({args.messages:,} messages in batches of {args.batch} over "
                  f"{args.line_trios:,} trios, via Twinome.handle, outbox drained)")
            print(f"[2] bare aiosqlite insert+commit floor (WAL, synchronous=NORMAL): "
                  f"{floor:,.0f}/s (before {floor_before:,.0f}/s, after {floor_after:,.0f}/s; "
                  f"the higher is used)")
            ok_rate, ok_ratio = rate >= 5000, ratio >= 0.7
            print(f"[3] ratio {ratio:.2f}x the floor; >= 5,000/s: "
                  f"{'PASS' if ok_rate else 'FAIL'}; >= 0.7x floor: {'PASS' if ok_ratio else 'FAIL'}")
            if args.batch != 1:
                single = await line_rate(folder, args.line_trios, min(args.messages, 3000), 1)
                print(f"    for reference, one message per handle() call: {single:,.0f}/s")
        if args.trios:
            await scale(folder, args.trios, args.samples)


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--trios", type=int, default=100_000, help="trios for the scale benchmark "
                   "(0 skips it)")
    p.add_argument("--samples", type=int, default=3000, help="timed commands at scale")
    p.add_argument("--line-trios", type=int, default=2000, help="trios the line messages hit")
    p.add_argument("--messages", type=int, default=50_000, help="line messages to time")
    p.add_argument("--batch", type=int, default=100, help="line messages per handle() call")
    p.add_argument("--floor", type=int, default=20_000, help="rows in the bare floor loop")
    p.add_argument("--skip-rate", action="store_true", help="only the scale benchmark")
    p.add_argument("--cores", type=int, default=1, help="pin to this many CPUs (0: no pin)")
    p.add_argument("--dir", default=None, help="where to put the temporary databases")
    return p.parse_args()


if __name__ == "__main__":
    options = _args()
    if options.cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: options.cores]))
    asyncio.run(main(options))
