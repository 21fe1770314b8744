"""A whole trio life in French through the console: no English reaches a French member,
and in a mixed trio each private word is in its reader's language."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.console.scenario import dm, in_room, kinds, no_failures, play, script, texts

# Words that mark an English sentence (none of them is French, nor in the script's names).
ENGLISH = re.compile(
    r"\b(the|you|your|yours|is|are|was|with|and|has|have|will|would|who|which|this|that|"
    r"there|their|when|what|not|can|cannot|don't|please|here|only|after|before|now|until|"
    r"type|invite code|trio's)\b", re.IGNORECASE)
# Words that mark a French sentence.
FRENCH = re.compile(r"\b(vous|votre|vos|sont|pour|avec|dans|êtes|été)\b", re.IGNORECASE)
SHOWN = ("notice", "error", "room_created", "info")


def said(records: list[dict[str, Any]], pattern: re.Pattern[str]) -> list[str]:
    """The bot's texts (notices, errors, room names, console lines) that match ``pattern``."""
    return [f"{r['kind']} in {r['room']}: {str(r.get('text'))[:160]!r}" for r in records
            if r["kind"] in SHOWN and pattern.search(str(r.get("text") or ""))]


async def test_a_french_trio_life_says_nothing_in_english(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", script("francais.txt"), language="fr")
    no_failures(p.records)
    english = said(p.records, ENGLISH)
    assert not english, "\n".join(english)
    assert "!tour" in texts(dm(p.after("amelie: aide"), "amelie"))
    assert len(kinds(p.after("chloe: trio rejoindre $code"), "room_created")) == 4
    assert "Amelie" in texts(dm(p.after(":advance 2d", 1), "basile"))  # the kind reminder
    assert "confirmé" in texts(p.after("chloe@trio-1: !session confirmer 1"))
    assert texts(in_room(p.after("basile: vote 1 oui"), "trio-1"))  # the outcome, posted
    assert "!tour" in texts(p.after("basile: tuor"))  # did you mean, in French


async def test_in_a_mixed_trio_each_member_reads_their_own_language(tmp_path: Path) -> None:
    lines = [line for line in script("francais.txt") if line != "chloe: langue fr"]
    p = await play(tmp_path / "db.sqlite3", lines)
    no_failures(p.records)
    for who, wrong in (("amelie", ENGLISH), ("basile", ENGLISH), ("chloe", FRENCH)):
        mine = [r for r in dm(p.records, who) if not r["text"].startswith(("amelie: ", "basile: "))]
        assert len(mine) > 5
        assert not said(mine, wrong), "\n".join(said(mine, wrong))
    room = in_room(p.records, "trio-1")  # the trio's language: its starter's, French
    assert room and not said(room, ENGLISH), "\n".join(said(room, ENGLISH))
