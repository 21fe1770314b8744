"""The fairness and "say less" rules of conversation, played in the console."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.console.scenario import dm, in_room, kinds, no_failures, play

TRIO = ["alice: trio new Les Trois", "bob: trio join $code", "alice: trio invite",
        "carol: trio join $code"]


async def test_the_trio_room_owes_nothing_and_turn_shows_pair_lines(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", [
        *TRIO, "alice@trio-1: hello all", "alice@trio-1: anyone?", ":advance 5d", "bob: turn"])
    no_failures(p.records)
    relance = dm(p.after("alice@trio-1: anyone?"), "alice")
    assert len(relance) == 1 and "nobody owes a reply there" in relance[0]["text"]
    assert not [r for r in p.after(":advance 5d") if r["kind"] == "notice"]  # no reminder
    turn = dm(p.after("bob: turn"), "bob")[0]["text"]
    assert "Trio room" not in turn and "All clear" in turn


async def test_each_trio_numbers_its_own_proposals(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", [
        *TRIO, "alice: propose a picnic", "bob: vote 1 no",
        "dave: trio new Autre", "erin: trio join $code", "dave: trio invite",
        "frank: trio join $code", "dave: propose a concert", "erin: vote 1 yes",
        "frank: vote #1 yes"])
    no_failures(p.records)
    assert "Proposal #1 is open" in dm(p.after("dave: propose a concert"), "dave")[0]["text"]
    assert "counted" in dm(p.after("erin: vote 1 yes"), "erin")[0]["text"]
    outcome = in_room(p.after("frank: vote #1 yes"), "trio-2")
    assert len(outcome) == 1 and "Proposal #1 by Dave" in outcome[0]["text"]
    assert not dm(p.after("frank: vote #1 yes"), "dave"), "the outcome reaches Dave once"


async def test_a_forget_sends_each_trio_mate_one_notice(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", [
        *TRIO, 'bob: mentor ask @carol cooking', "carol: mentor accept", "carol: sos hard days",
        "carol: propose a picnic", "carol: privacy forget confirm"])
    no_failures(p.records)
    out = p.after("carol: privacy forget confirm")
    for mate in ("alice", "bob"):
        assert len(dm(out, mate)) == 1, dm(out, mate)
    assert not in_room(out, "trio-1/alice+bob")


async def test_a_mentor_is_asked_before_it_counts(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", [
        *TRIO, "carol: mentor ask @alice bread", "bob: ledger", "alice: mentor accept",
        "bob: ledger"])
    no_failures(p.records)
    asked = dm(p.after("carol: mentor ask @alice bread"), "alice")
    assert len(asked) == 1 and "!mentor accept #les-trois 1" in asked[0]["text"]
    assert "mentorship 1" not in dm(p.after("bob: ledger", 0), "bob")[0]["text"]
    assert "Alice → Carol on “bread” (recognised" in dm(p.after("bob: ledger", 1), "bob")[0]["text"]


async def test_an_error_in_the_trio_room_is_shown_to_its_author_only(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", [*TRIO, "bob@trio-1: !mentor ask @bob cooking"])
    out = p.after("bob@trio-1: !mentor ask @bob cooking")
    [error] = kinds(out, "error")
    assert error["room"] == "dm:bob" and error["audience"] == ["bob"]
    assert not in_room(out, "trio-1")


async def test_help_is_grouped_with_each_commands_syntax(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", ["alice: help"])
    text = dm(p.after("alice: help"), "alice")[0]["text"]
    for goal in ("Start a trio:", "Mentoring:", "Hard times:", "Privacy and safety:",
                 "Matchmaking:"):
        assert goal in text
    assert "!session log <@user> <skill> <duration> [note] [confirm] —" in text


async def test_an_export_is_a_file_not_a_wall_of_json(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", ["alice: offer bread", "alice: privacy export"])
    no_failures(p.records)
    [shown] = dm(p.after("alice: privacy export"), "alice")
    assert "{" not in shown["text"]
    found = re.search(r"File: (\S+)", shown["text"])
    assert found is not None
    path = Path(found.group(1))
    assert path.name.startswith("alice-twinome-export-")
    mode, doc = _read(path)
    assert mode & 0o077 == 0 and doc["skills"]


def _read(path: Path) -> tuple[int, dict[str, object]]:
    """A written file's permission bits and JSON document."""
    doc: dict[str, object] = json.loads(path.read_text("utf-8"))
    return path.stat().st_mode, doc
