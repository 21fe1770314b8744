"""Matchmaking as a pure function: seekers in, proposed trios out (no I/O).

Theory of operation. A proposal is three seekers such that, in this order of importance:

1. they are in the same realm (on Discord: the same server; None where the platform has
   no realms) — hard rule: the lobby is split by realm before anything else;
2. nobody blocked anybody, and no two of them were already proposed together (a decline
   or an expiry is final for those three) — hard rules;
3. they share a language — hard rule;
4. *barter flows*: each can mentor at least one of the two others on something that other
   wants — hard rule; a full cycle round the triangle scores best;
5. their time zones are within ``spread`` hours of each other — hard rule;
6. diversity: no two of them already share a trio (hard rule), and people from different
   communities (Matrix homeservers, Discord roles) score better.

Fairness: seekers are taken oldest first, and each is placed in the best trio found among
a bounded number of candidates, so nobody waits forever while newer seekers are matched,
and the cost stays linear in the lobby. Skills are bit masks (one bit per skill), so
"can X mentor Y" is one ``&``. A seeker is in at most one proposal per run; the caller
leaves out those who already have an open proposal.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from core.i18n import _, join

CANDIDATES = 24  # partners looked at per seeker (bounds the work per seeker)


@dataclass(frozen=True)
class Seeker:
    """Someone in the lobby, as the matching sees them."""

    id: str
    offers: frozenset[str]
    wants: frozenset[str]
    languages: frozenset[str]
    utc_offset_h: float = 0.0
    community: str | None = None
    since: int = 0  # when they started looking (older first)
    realm: str | None = None  # where on the platform they seek (a Discord server id)


@dataclass(frozen=True)
class Proposal:
    """Three seekers and who can mentor whom on what (for the explanation)."""

    members: tuple[str, str, str]
    flows: tuple[tuple[str, str, str], ...]  # (mentor, mentee, skill)
    cycle: bool


@dataclass
class _Index:
    """Bit masks of skills and who wants what, for quick candidate lookups."""

    bits: dict[str, int] = field(default_factory=dict)
    offer: dict[str, int] = field(default_factory=dict)
    want: dict[str, int] = field(default_factory=dict)
    wanting: dict[str, list[Seeker]] = field(default_factory=lambda: defaultdict(list))
    offering: dict[str, list[Seeker]] = field(default_factory=lambda: defaultdict(list))
    cursor: dict[tuple[str, str], int] = field(default_factory=dict)

    def mask(self, skills: Iterable[str]) -> int:
        out = 0
        for skill in skills:
            out |= 1 << self.bits.setdefault(skill, len(self.bits))
        return out


def mentors(index: _Index, x: Seeker, y: Seeker) -> bool:
    """Whether ``x`` can mentor ``y`` on something ``y`` wants."""
    return bool(index.offer[x.id] & index.want[y.id])


def propose(seekers: Sequence[Seeker], *, blocked: set[frozenset[str]] | None = None,
            together: set[frozenset[str]] | None = None,
            proposed: set[frozenset[str]] | None = None, spread: float = 6.0) -> list[Proposal]:
    """Trios to propose among ``seekers`` (see the module docstring for the rules).

    ``blocked`` holds pairs with a block between them, ``together`` pairs who already share
    a trio, ``proposed`` trios already proposed once.
    """
    blocked, together, proposed = blocked or set(), together or set(), proposed or set()
    realms: dict[str | None, list[Seeker]] = defaultdict(list)
    for s in seekers:
        realms[s.realm].append(s)
    return [p for group in realms.values()
            for p in _propose_in(group, blocked, together, proposed, spread)]


def _propose_in(seekers: Sequence[Seeker], blocked: set[frozenset[str]],
                together: set[frozenset[str]], proposed: set[frozenset[str]],
                spread: float) -> list[Proposal]:
    """Trios among seekers of one realm, oldest seekers placed first."""
    index = _Index()
    for s in sorted(seekers, key=lambda s: (s.since, s.id)):  # index lists in lobby order
        index.offer[s.id] = index.mask(s.offers)
        index.want[s.id] = index.mask(s.wants)
        for skill in s.wants:
            index.wanting[skill].append(s)
        for skill in s.offers:
            index.offering[skill].append(s)
    placed: set[str] = set()
    out: list[Proposal] = []
    for a in sorted(seekers, key=lambda s: (s.since, s.id)):
        if a.id in placed:
            continue
        best = _best_for(a, index, placed, blocked, together, proposed, spread)
        if best is not None:
            out.append(best)
            placed.update(best.members)
    return out


def _compatible(x: Seeker, y: Seeker, blocked: set[frozenset[str]],
                together: set[frozenset[str]], spread: float) -> bool:
    pair = frozenset((x.id, y.id))
    return (x.id != y.id and x.realm == y.realm and pair not in blocked and pair not in together
            and bool(x.languages & y.languages) and abs(x.utc_offset_h - y.utc_offset_h) <= spread)


def _partners(a: Seeker, index: _Index, placed: set[str]) -> list[Seeker]:
    """Seekers with a mentoring tie to ``a``, oldest first (a bounded number per skill)."""
    seen: dict[str, Seeker] = {}
    for kind, skills in (("wanting", a.offers), ("offering", a.wants)):
        for skill in sorted(skills):
            for s in _unplaced(index, kind, skill, placed, CANDIDATES * 2):
                seen.setdefault(s.id, s)
    fresh = [s for s in seen.values() if s.id != a.id]
    fresh.sort(key=lambda s: (s.since, s.id))
    return fresh


def _unplaced(index: _Index, kind: str, skill: str, placed: set[str], limit: int) -> list[Seeker]:
    """The first ``limit`` seekers of one index list not placed yet.

    The list is in lobby order; placed seekers at its head are skipped for good (the
    cursor moves past them), so a whole run reads each list about once.
    """
    people = (index.wanting if kind == "wanting" else index.offering)[skill]
    start = index.cursor.get((kind, skill), 0)
    while start < len(people) and people[start].id in placed:
        start += 1
    index.cursor[(kind, skill)] = start
    out = []
    for s in people[start:]:
        if s.id not in placed:
            out.append(s)
            if len(out) >= limit:
                break
    return out


def _best_for(a: Seeker, index: _Index, placed: set[str], blocked: set[frozenset[str]],
              together: set[frozenset[str]], proposed: set[frozenset[str]],
              spread: float) -> Proposal | None:
    near = [s for s in _partners(a, index, placed) if _compatible(a, s, blocked, together, spread)]
    near = near[:CANDIDATES]
    best: tuple[float, Proposal] | None = None
    for i, b in enumerate(near):
        for c in near[i + 1:]:
            if not _compatible(b, c, blocked, together, spread):
                continue
            if not (a.languages & b.languages & c.languages):
                continue
            if frozenset((a.id, b.id, c.id)) in proposed:
                continue
            found = _barter(index, (a, b, c))
            if found is None:
                continue
            score = _score(found, (a, b, c))
            if best is None or score > best[0]:
                best = (score, found)
        if best is not None and best[1].cycle:
            break  # good enough: a full cycle with one of the oldest partners
    return None if best is None else best[1]


def _barter(index: _Index, trio: tuple[Seeker, Seeker, Seeker]) -> Proposal | None:
    """The mentoring flows of a trio, if each member can mentor another; else None."""
    flows: list[tuple[str, str, str]] = []
    for x in trio:
        mine = [(x, y) for y in trio if y is not x and mentors(index, x, y)]
        if not mine:
            return None
        for _x, y in mine:
            skill = min(x.offers & y.wants)
            flows.append((x.id, y.id, skill))
    a, b, c = trio
    cycle = (mentors(index, a, b) and mentors(index, b, c) and mentors(index, c, a)) or (
        mentors(index, a, c) and mentors(index, c, b) and mentors(index, b, a))
    return Proposal((a.id, b.id, c.id), tuple(flows), cycle)


def _score(found: Proposal, trio: tuple[Seeker, Seeker, Seeker]) -> float:
    communities = {s.community for s in trio if s.community is not None}
    known = sum(1 for s in trio if s.community is not None)
    diverse = len(communities) == known  # every known community differs
    offsets = [s.utc_offset_h for s in trio]
    return (10.0 * found.cycle + 3.0 * diverse + 0.5 * len(found.flows)
            - 0.1 * (max(offsets) - min(offsets)))


def explain(found: Proposal, names: dict[str, str]) -> str:
    """One sentence on who can mentor whom (only that, nothing else of anyone's profile)."""
    parts, seen = [], set()
    for mentor, mentee, skill in found.flows:
        if mentor in seen:
            continue
        seen.add(mentor)
        parts.append(_("{mentor} can mentor {mentee} in {skill}", mentor=names[mentor],
                       mentee=names[mentee], skill=skill))
    if len(parts) == 1:
        return _("{flow}.", flow=parts[0])
    return _("{flows} and {last}.", flows=join(", ", parts[:-1]), last=parts[-1])


def complete(trio: Sequence[Seeker]) -> bool:
    """Whether each member can mentor another member on something wanted."""
    return all(any(x is not y and x.offers & y.wants for y in trio) for x in trio)
