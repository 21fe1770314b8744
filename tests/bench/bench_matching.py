"""Matching benchmark (a script, not a test): ``python tests/bench/bench_matching.py``.

For lobbies of 1,000 and 10,000 seekers (random but plausible profiles: a few skills
offered and wanted among 40, one to three of six languages, time zones around the
world, one of five communities), prints on one core:

- the time :func:`core.matching.propose` takes (target: 10,000 seekers in under 2 s);
- the share of seekers placed in barter-complete trios (each member can mentor another
  on something that other wants), next to two baselines measured in the same run: a
  random grouping (shuffle, cut in threes) and a greedy one (take the oldest seeker, add
  the first two compatible partners found, in lobby order) — both keep only their
  barter-complete trios that also respect the hard rules. Target: more than either.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from core.matching import Seeker, complete, propose

SKILLS = [f"skill{i}" for i in range(40)]
LANGUAGES = ["en", "fr", "es", "de", "pt", "ar"]


def lobby(n: int, seed: int) -> list[Seeker]:
    rng = random.Random(seed)
    out = []
    for i in range(n):
        offers = frozenset(rng.sample(SKILLS, rng.randint(1, 3)))
        wants = frozenset(rng.sample([s for s in SKILLS if s not in offers], rng.randint(1, 3)))
        langs = frozenset(rng.sample(LANGUAGES[:3] if rng.random() < 0.8 else LANGUAGES,
                                     rng.randint(1, 2)))
        out.append(Seeker(f"s{i}", offers, wants, langs, float(rng.choice(range(-8, 10))),
                          f"c{rng.randint(1, 5)}", rng.randint(0, 10**6)))
    return out


def allowed(trio: tuple[Seeker, ...], spread: float) -> bool:
    """The hard rules besides barter: a shared language, close time zones."""
    offsets = [s.utc_offset_h for s in trio]
    return (len(trio) == 3 and bool(trio[0].languages & trio[1].languages & trio[2].languages)
            and max(offsets) - min(offsets) <= spread)


def random_baseline(seekers: list[Seeker], spread: float) -> int:
    pool = list(seekers)
    random.Random(1).shuffle(pool)
    trios = [tuple(pool[i:i + 3]) for i in range(0, len(pool) - 2, 3)]
    return 3 * sum(1 for t in trios if allowed(t, spread) and complete(t))


def greedy_baseline(seekers: list[Seeker], spread: float, window: int = 30) -> int:
    """Oldest first; the first two partners in lobby order that keep the rules and barter."""
    order = sorted(seekers, key=lambda s: s.since)
    placed: set[str] = set()
    count = 0
    for i, a in enumerate(order):
        if a.id in placed:
            continue
        near = [b for b in order[i + 1:i + 1 + window] if b.id not in placed]
        found = next(((b, c) for j, b in enumerate(near) for c in near[j + 1:]
                      if allowed((a, b, c), spread) and complete((a, b, c))), None)
        if found:
            placed.update((a.id, found[0].id, found[1].id))
            count += 3
    return count


def main(args: argparse.Namespace) -> None:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else "?"
    print(f"Twinome matching benchmark (CPUs usable: {cpus})")
    for n in args.sizes:
        seekers = lobby(n, seed=n)
        began = time.perf_counter()
        found = propose(seekers, spread=args.spread)
        elapsed = time.perf_counter() - began
        ours = 3 * len(found)
        by_id = {s.id: s for s in seekers}
        assert all(complete([by_id[m] for m in p.members]) for p in found)
        rand = random_baseline(seekers, args.spread)
        greedy = greedy_baseline(seekers, args.spread)
        verdict = "PASS" if ours > max(rand, greedy) else "FAIL"
        timing = "PASS" if n < 10_000 or elapsed < 2.0 else "FAIL"
        print(f"{n:>6,} seekers: {elapsed:6.2f} s ({timing} for the 2 s target at 10,000); "
              f"placed in barter-complete trios: Twinome {ours / n:.1%}, greedy "
              f"{greedy / n:.1%}, random {rand / n:.1%} ({verdict}); "
              f"full cycles {sum(p.cycle for p in found) / max(len(found), 1):.0%} of trios")


def _args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    p.add_argument("--sizes", type=int, nargs="+", default=[1000, 10_000])
    p.add_argument("--spread", type=float, default=6.0)
    p.add_argument("--cores", type=int, default=1, help="pin to this many CPUs (0: no pin)")
    return p.parse_args()


if __name__ == "__main__":
    options = _args()
    if options.cores and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, set(sorted(os.sched_getaffinity(0))[: options.cores]))
    main(options)
