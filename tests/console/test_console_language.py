"""The console's own words in its language (``--language``), or in the typing member's."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

from bots import cli
from bots.console import opened
from bots.console.app import BANNER, Options, run
from core.i18n import render
from tests.console.scenario import Collect, Played

LINES = ["alice: help", "this is not a line", ":advnce 1d", ":help", ":rooms",
         "alice@trio-9: hello", "bob@dm:alice: hi", "alice: trio new $code"]


async def played(db: Path, lines: list[str], language: str = "en") -> Played:
    collect, out = Collect(), Played()
    async with opened(db, collect, language=language) as console:
        for line in lines:
            await console.feed(line)
            out.steps.append((line, collect.take()))
    return out


def text(p: Played, line: str) -> str:
    return "\n".join(r["text"] or "" for r in p.after(line))


async def test_a_french_console_says_its_own_words_in_french(tmp_path: Path) -> None:
    p = await played(tmp_path / "db.sqlite3", LINES, "fr")
    assert text(p, "this is not a line").startswith("Je n’ai pas su lire cette ligne.")
    assert text(p, ":advnce 1d") == ("Directive de console inconnue: « :advnce ». "
                                     "Vouliez-vous dire :advance? Tapez :help.")
    helped = text(p, ":help")
    assert helped.startswith("Lignes de la console:") and "cette aide" in helped
    assert "Les commandes du bot: tapez « alice: aide »." in helped
    assert "There is no room" not in text(p, "alice@trio-9: hello")
    assert text(p, "alice@trio-9: hello") == "Il n’y a pas de salon nommé « trio-9 ». Salons: dm:alice."
    assert "discussion privée de alice avec le bot: seule cette personne" in text(p, "bob@dm:alice: hi")
    assert "$code remplace le dernier code" in text(p, "alice: trio new $code")


async def test_the_french_help_keeps_its_columns(tmp_path: Path) -> None:
    p = await played(tmp_path / "db.sqlite3", [":help"], "fr")
    rows = text(p, ":help").splitlines()[1:-1]
    assert len(rows) == 10
    assert all(len(row) > 29 and row[28] == " " and row[29] != " " for row in rows), rows


async def test_the_human_output_and_the_clock_in_french(tmp_path: Path) -> None:
    script = tmp_path / "script.txt"
    script.write_text("alice: help\n:advance 1d\nalice@trio-1: hello\n", encoding="utf-8")
    out, err = io.StringIO(), io.StringIO()
    options = Options(db=tmp_path / "db.sqlite3", script=script, language="fr")
    assert await run(options, io.StringIO(), out, err) == 0
    shown = out.getvalue()
    assert "discussion privée « Twinome (alice) » pour alice (chiffré de bout en bout)" in shown
    assert "bot → alice:" in shown
    assert " à " in shown.split("⏱", 1)[1].splitlines()[0]  # “3 janv. 2026 à 00:00 UTC”
    assert "Il n’y a pas de salon nommé « trio-1 »" in shown
    english = io.StringIO()
    assert await run(Options(db=tmp_path / "en.sqlite3", script=script), io.StringIO(),
                     english, io.StringIO()) == 0
    assert "dm room “Twinome (alice)” for alice (end-to-end encrypted)" in english.getvalue()
    assert "There is no room called “trio-1”" in english.getvalue()


async def test_a_member_who_chose_french_is_answered_in_french(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    await played(db, ["alice: help", "bob: help"])
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE members SET language = 'fr' WHERE id = 'alice'")
    p = await played(db, ["alice@trio-9: hi", "bob@trio-9: hi", "this is not a line"])
    assert text(p, "alice@trio-9: hi").startswith("Il n’y a pas de salon nommé « trio-9 »")
    assert text(p, "bob@trio-9: hi").startswith("There is no room called “trio-9”")
    assert text(p, "this is not a line").startswith("I could not read that line")


async def test_errors_on_the_terminal_and_the_banner_in_french(tmp_path: Path) -> None:
    err = io.StringIO()
    missing = Options(script=tmp_path / "none.txt", language="fr")
    assert await run(missing, io.StringIO(), io.StringIO(), err) == 2
    assert err.getvalue().startswith("twinome console: impossible de lire ")
    assert render(BANNER, "fr").startswith("Console Twinome. Tapez des lignes comme")
    assert render(BANNER, "en") == BANNER


def test_the_command_line_takes_a_language() -> None:
    args = cli._parser().parse_args(["console", "--language", "fr", "--demo"])
    assert args.language == "fr"
    assert cli._parser().parse_args(["console"]).language == "en"


async def test_choices_are_shown_as_commands_in_the_readers_language(tmp_path: Path) -> None:
    lines = ["bob: help", "carol: help", "alice: trio new Duo", "alice: trio invite @bob",
             "alice: trio invite @carol"]
    db = tmp_path / "db.sqlite3"
    await played(db, lines[:2])
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE members SET language = 'fr' WHERE id = 'bob'")
    p = await played(db, lines[2:])
    to_bob = text(p, "alice: trio invite @bob").split("→")[-1]
    to_carol = text(p, "alice: trio invite @carol").split("→")[-1]
    assert "!trio accepter " in to_bob and "!trio refuser " in to_bob
    assert "!trio accept " in to_carol and "accepter" not in to_carol
