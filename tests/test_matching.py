"""The pure matching function: every rule, and properties over random lobbies."""

from __future__ import annotations

from itertools import combinations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.matching import Proposal, Seeker, complete, explain, propose


def s(name: str, offers: str, wants: str, langs: str = "en", tz: float = 0.0,
      since: int = 0, community: str | None = None, realm: str | None = None) -> Seeker:
    return Seeker(name, frozenset(offers.split()), frozenset(wants.split()),
                  frozenset(langs.split()), tz, community, since, realm)


CYCLE = [s("ana", "spanish", "drawing"), s("bo", "python", "spanish"),
         s("cy", "drawing", "python")]


def members(found: list[Proposal]) -> list[set[str]]:
    return [set(p.members) for p in found]


def test_a_barter_cycle_is_proposed_and_explained() -> None:
    (found,) = propose(CYCLE)
    assert set(found.members) == {"ana", "bo", "cy"} and found.cycle
    text = explain(found, {"ana": "Ana", "bo": "Bo", "cy": "Cy"})
    assert "Ana can mentor Bo in spanish" in text and "Cy can mentor Ana in drawing" in text


def test_each_hard_rule_keeps_a_trio_apart() -> None:
    pair = frozenset(("ana", "bo"))
    assert propose(CYCLE, blocked={pair}) == []
    assert propose(CYCLE, together={pair}) == []
    assert propose(CYCLE, proposed={frozenset(("ana", "bo", "cy"))}) == []
    no_common = [CYCLE[0], CYCLE[1], s("cy", "drawing", "python", langs="fr")]
    assert propose(no_common) == []
    far = [CYCLE[0], CYCLE[1], s("cy", "drawing", "python", tz=9)]
    assert propose(far, spread=6) == [] and propose(far, spread=10) != []
    nobody_mentors_cy_wants = [CYCLE[0], CYCLE[1], s("cy", "cooking", "chess")]
    assert propose(nobody_mentors_cy_wants) == []
    elsewhere = [CYCLE[0], CYCLE[1], s("cy", "drawing", "python", realm="guild 2")]
    assert propose(elsewhere) == []


def test_each_realm_is_matched_on_its_own() -> None:
    here = [s(x.id, " ".join(x.offers), " ".join(x.wants), realm="g1") for x in CYCLE]
    there = [s(x.id + "2", " ".join(x.offers), " ".join(x.wants), realm="g2") for x in CYCLE]
    mixed = [here[0], there[1], here[2], there[0], here[1], there[2]]
    assert sorted(map(sorted, members(propose(mixed)))) == [
        ["ana", "bo", "cy"], ["ana2", "bo2", "cy2"]]


def test_the_oldest_seeker_is_placed_first() -> None:
    young = s("dee", "drawing", "python", since=50)
    found = propose([*CYCLE[:2], s("cy", "drawing", "python", since=10), young])
    assert members(found) == [{"ana", "bo", "cy"}]


def test_different_communities_are_preferred() -> None:
    lobby = [s("ana", "spanish", "drawing", community="a.org"),
             s("bo", "python", "spanish", community="b.org"),
             s("cy", "drawing", "python", community="a.org", since=1),
             s("dee", "drawing", "python", community="c.org", since=2)]
    assert members(propose(lobby)) == [{"ana", "bo", "dee"}]


SKILLS = st.sampled_from(["a", "b", "c", "d", "e", "f"])
LOBBY = st.lists(st.builds(
    lambda o, w, la, tz, since, realm: (o, w, la, tz, since, realm),
    st.frozensets(SKILLS, min_size=1, max_size=2), st.frozensets(SKILLS, min_size=1, max_size=2),
    st.frozensets(st.sampled_from(["en", "fr", "es"]), min_size=1, max_size=2),
    st.integers(-10, 12), st.integers(0, 100), st.sampled_from([None, "g1", "g2"])),
    min_size=3, max_size=30)


@settings(max_examples=150, deadline=None)
@given(LOBBY, st.data())
def test_no_proposal_ever_breaks_a_hard_rule(raw: list[tuple[object, ...]], data: st.DataObject) -> None:
    lobby = [Seeker(f"p{i}", o, w, la, float(tz), None, since, realm)  # type: ignore[arg-type]
             for i, (o, w, la, tz, since, realm) in enumerate(raw)]
    ids = [x.id for x in lobby]
    pairs = [frozenset(p) for p in combinations(ids, 2)]
    blocked = set(data.draw(st.lists(st.sampled_from(pairs), max_size=10)))
    together = set(data.draw(st.lists(st.sampled_from(pairs), max_size=10)))
    found = propose(lobby, blocked=blocked, together=together, spread=6)
    seen: set[str] = set()
    by_id = {x.id: x for x in lobby}
    for proposal in found:
        trio = [by_id[m] for m in proposal.members]
        assert len(set(proposal.members)) == 3
        assert not seen & set(proposal.members), "nobody in two proposals"
        seen |= set(proposal.members)
        for a, b in combinations(proposal.members, 2):
            assert frozenset((a, b)) not in blocked and frozenset((a, b)) not in together
        assert trio[0].realm == trio[1].realm == trio[2].realm, "never across realms"
        assert trio[0].languages & trio[1].languages & trio[2].languages
        assert complete(trio)
        offsets = [t.utc_offset_h for t in trio]
        assert max(offsets) - min(offsets) <= 6
