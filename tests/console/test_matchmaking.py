"""Matchmaking through the console: a lobby of six, declines, expiry, blocks."""

from __future__ import annotations

import re
from pathlib import Path

from tests.console.scenario import Record, dm, kinds, no_failures, play, script, texts

LOBBY = script("lobby.txt")
SIX = ["ana", "bo", "cy", "dee", "eli", "fay"]
FIRST = [line for line in LOBBY if line.split(":")[0] in ("ana", "bo", "cy")]  # one cycle


def proposals(records: list[Record], user: str) -> list[str]:
    return [r["text"] for r in dm(records, user) if "I found two companions" in r["text"]]


def number(text: str) -> int:
    found = re.search(r"proposed trio #(\d+)", text)
    assert found, text
    return int(found.group(1))


async def test_a_lobby_of_six_forms_two_explained_trios(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", [*LOBBY, "ana: match accept", "bo: match accept",
                                             "cy: match accept", "dee: match accept",
                                             "eli: match accept", "fay: match accept"])
    no_failures(p.records)
    seen = {u: proposals(p.records, u) for u in SIX}
    assert all(len(v) == 1 for v in seen.values()), seen
    assert "Ana can mentor Bo in spanish" in seen["cy"][0]
    assert "Dee can mentor Fay in guitar" in seen["eli"][0] or "guitar" in seen["eli"][0]
    assert "drawing" not in seen["dee"][0], "nothing of the other trio's profiles"
    rooms = {r["room"]: r["members"] for r in kinds(p.records, "room_created")
             if r["purpose"] == "trio"}
    assert sorted(rooms.values()) == [["ana", "bo", "cy"], ["dee", "eli", "fay"]]
    assert "Accept: !match accept" in seen["ana"][0], "accept and decline offered as commands"


async def test_a_decline_returns_the_others_and_the_same_three_never_come_back(
        tmp_path: Path) -> None:
    extra = ["gus: offer spanish", "gus: want drawing", "gus: seek"]
    p = await play(tmp_path / "db.sqlite3", [*FIRST, "ana: match decline", "ana: seek", *extra])
    no_failures(p.records)
    assert not proposals(p.after("ana: seek"), "ana"), "the same three are never proposed again"
    told = texts(dm(p.after("ana: match decline"), "bo"))
    assert "will not form" in told and "Ana" not in told, "nobody learns who declined"
    again = proposals(p.after("gus: seek"), "bo")
    assert again and "Gus" in again[0], "bo and cy are matched again, with gus"
    assert not proposals(p.after("gus: seek"), "ana"), "the decliner left the lobby"


async def test_an_unanswered_proposal_expires(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", [*FIRST, "ana: match accept", ":advance 3d",
                                             "bo: match accept"])
    no_failures(p.records)
    expired = p.after(":advance 3d")
    assert "still looking" in texts(dm(expired, "ana"))
    assert "stopped looking" in texts(dm(expired, "bo"))
    assert kinds(p.after("bo: match accept"), "error")


async def test_a_block_keeps_two_people_apart(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", ["ana: block @bo", *FIRST])
    no_failures(p.records)
    assert not any(proposals(p.records, u) for u in ("ana", "bo", "cy"))


async def test_seek_says_what_it_uses_and_refuses_twice(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", ["zoe: seek", "zoe: seek", "zoe: unseek",
                                             "zoe: unseek"])
    first = texts(dm(p.after("zoe: seek"), "zoe"))
    assert "Missing" in first and "!offer" in first and "!want" in first
    assert "already looking" in texts(dm(p.after("zoe: seek", 1), "zoe"))
    assert "stopped looking" in texts(dm(p.after("zoe: unseek"), "zoe"))
    assert kinds(p.after("zoe: unseek", 1), "error")


async def test_the_lobby_is_looked_at_again_on_a_schedule(tmp_path: Path) -> None:
    first = [line for line in FIRST if not line.startswith("cy: seek")]
    p = await play(tmp_path / "db.sqlite3", ["ana: block @cy", *first, "cy: seek",
                                             "ana: unblock @cy", ":advance 7h"])
    no_failures(p.records)
    assert not proposals(p.after("cy: seek"), "ana"), "blocked when cy sought"
    assert proposals(p.after(":advance 7h"), "ana"), "the scheduled run sees the block lifted"


async def test_someone_at_their_trio_cap_cannot_seek(tmp_path: Path) -> None:
    full = [f"zoe: trio new T{i} confirm" for i in range(5)]
    p = await play(tmp_path / "db.sqlite3", [*full, "zoe: seek"])
    refused = dm(p.after("zoe: seek"), "zoe")
    assert refused and refused[0]["kind"] == "error" and "5 trios" in refused[0]["text"]


async def test_a_block_made_after_the_proposal_stops_the_trio_forming(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", [*FIRST, "ana: match accept", "bo: match accept",
                                             "cy: block @ana", "cy: match accept"])
    no_failures(p.records)
    assert not [r for r in kinds(p.records, "room_created") if r["purpose"] == "trio"]
    assert "cannot form" in texts(dm(p.after("cy: match accept"), "ana"))
