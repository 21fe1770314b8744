"""The console itself: its lines, its errors, its two outputs, and the ``twinome`` command."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bots import cli
from bots.console.app import Options, run
from bots.console.output import HumanSink, wants_colour
from tests.console.scenario import SCRIPTS, dm, kinds, no_failures, play, script

ROOT = Path(__file__).resolve().parents[2]
FORM = script("rhythm.txt")[:5]


async def test_bad_lines_get_a_clear_console_error(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", [
        "bob: trio join $code", "alice: trio new Les Trois", "bob: trio join $code",
        "alice@trio-9: hello", "carol@trio-1: hello", "bob@dm:alice: hi", "this is not a line",
        ":advance soon", ":advance 400d", ":advnce 1d", "alice@trio-1:no-space", "alice:   ",
    ])
    assert kinds(p.after("bob: trio join $code", 0), "console_error")
    assert not kinds(p.after("bob: trio join $code", 1), "console_error")
    for line, words in [
        ("alice@trio-9: hello", "no room called"), ("bob@dm:alice: hi", "direct chat"),
        ("this is not a line", "user@room"), (":advance soon", "could not read"),
        (":advance 400d", "out of range"), (":advnce 1d", "Did you mean :advance"),
        ("alice@trio-1:no-space", "user@room"), ("alice:   ", "Nothing to say"),
    ]:
        out = p.after(line)
        assert [r["kind"] for r in out] == ["console_error"], line
        assert words in out[0]["text"], (line, out[0]["text"])
    assert p.after(":advance 400d")  # and the clock did not move
    assert "trio-1" not in {r["room"] for r in p.records if r["kind"] == "room_created"}


async def test_prefixes_in_rooms_and_direct_chats(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", [
        *FORM, "alice: !turn", "alice: /turn", "alice@trio-1: /turn", "alice@trio-1: !turn",
        "alice@dm:alice: turn", ":rooms", ":help",
    ])
    no_failures(p.records)
    for line in ("alice: !turn", "alice: /turn", "alice@dm:alice: turn"):
        assert [r["room"] for r in p.after(line)] == ["dm:alice"], line
    for line in ("alice@trio-1: /turn", "alice@trio-1: !turn"):
        out = p.after(line)
        assert out and out[0]["kind"] == "notice" and out[0]["to"] == "alice", line
    rooms = {r["room"]: r["audience"] for r in p.after(":rooms")}
    assert rooms["trio-1"] == ["alice", "bob", "carol"] and rooms["trio-1/bob+carol"] == ["bob", "carol"]
    assert ":advance" in p.after(":help")[0]["text"]


async def test_the_same_pair_twice_keeps_stable_names(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", [
        *FORM, "carol: trio leave confirm", "alice: trio invite", "dave: trio join $code",
        "dave: trio leave confirm", "alice: trio invite", "carol: trio join $code",
        "carol@trio-1/alice+carol: back again", ":rooms",
    ])
    no_failures(p.records)
    back = kinds(p.after("carol: trio join $code", 1), "room_created")
    assert {r["room"] for r in back} == {"trio-1/alice+carol", "trio-1/bob+carol"}
    assert kinds(p.after("carol@trio-1/alice+carol: back again"), "message")
    rooms = {r["room"]: r["audience"] for r in p.after(":rooms")}
    assert rooms["trio-1/alice+carol"] == ["alice", "carol"]
    assert [n for n in rooms if n.startswith("trio-1/alice+carol~")], "the old line is archived"


async def test_human_output_shows_who_sees_what(tmp_path: Path) -> None:
    out: list[str] = []
    sink = HumanSink(out.append, colour=False, echo=True)
    await play(tmp_path / "db.sqlite3", [*FORM, "alice@trio-1/alice+bob: hello there",
                                         "alice@trio-1/alice+bob: again", "carol: sos"], sink)
    text = "\n".join(out)
    assert "[trio-1/alice+bob] bot → alice, bob: This is your private line" in text
    assert "[dm:alice] bot → alice: Bob has not answered yet" in text
    assert "[trio-1/alice+bob] bot → alice, bob: Carol is going through a hard time" in text
    assert "» alice@trio-1/alice+bob: hello there" in text and text.count("hello there") == 1
    assert "\x1b[" not in text
    coloured: list[str] = []
    await play(tmp_path / "db.sqlite3", ["alice: turn"], HumanSink(coloured.append, colour=True,
                                                                   echo=False))
    assert coloured and all(line.startswith("\x1b[") for line in coloured)


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_colour_only_on_a_terminal_without_no_color() -> None:
    assert wants_colour(Tty(), {}) and not wants_colour(Tty(), {"NO_COLOR": "1"})
    assert not wants_colour(io.StringIO(), {})


async def test_demo_plays_cleanly() -> None:
    out, err = io.StringIO(), io.StringIO()
    assert await run(Options(demo=True, jsonl=True), io.StringIO(), out, err) == 0
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    no_failures(records)
    assert len([r for r in records if r["kind"] == "room_created" and r["purpose"] != "dm"]) == 4
    assert not [r for r in records if r["kind"] == "error"]
    human = io.StringIO()
    assert await run(Options(demo=True), io.StringIO(), human, err) == 0
    assert "[trio-1] bot → alice, bob, carol:" in human.getvalue() and not err.getvalue()


async def test_unreadable_script_and_database(tmp_path: Path) -> None:
    err = io.StringIO()
    assert await run(Options(script=tmp_path / "none.txt"), io.StringIO(), io.StringIO(), err) == 2
    assert "cannot read" in err.getvalue()
    bad = tmp_path / "bad.sqlite3"
    bad.write_bytes(b"this is not a database" * 100)
    err = io.StringIO()
    status = await run(Options(db=bad, script=SCRIPTS / "sos.txt"), io.StringIO(), io.StringIO(), err)
    assert status == 2 and "cannot use the database" in err.getvalue()


def test_cli_subprocess_plays_a_script_as_jsonl(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "bots", "console", "--db", str(tmp_path / "cli.sqlite3"),
         "--script", str(SCRIPTS / "formation.txt"), "--jsonl"],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=60, check=False,
    )
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in done.stdout.splitlines()]
    no_failures(records)
    trio = [r for r in records if r["kind"] == "room_created" and r["purpose"] == "trio"]
    assert [(r["room"], r["members"], r["encrypted"]) for r in trio] == [
        ("trio-1", ["alice", "bob", "carol"], True), ("trio-2", ["dave", "erin", "frank"], True)]
    assert all({"kind", "room", "to", "text"} <= set(r) for r in records)
    assert not done.stderr


def test_help_lists_the_subcommands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--help"])
    assert exited.value.code == 0
    shown = capsys.readouterr().out
    assert all(word in shown for word in ("console", "matrix", "demo"))


def test_missing_optional_dependencies_say_how_to_install(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setitem(cli._TARGETS, "matrix", "tests.console.needs_absent_package")
    assert cli.main(["matrix", "--help"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "pip install -e '.[matrix]'" in err


def test_subcommands_get_their_arguments(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(cli._TARGETS, "demo", "tests.console.echo_main")
    assert cli.main(["demo", "--port", "8008"]) == len(["--port", "8008"])


async def test_jobs_fire_at_their_own_time_during_an_advance(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", script("quiet.txt"))
    no_failures(p.records)
    joined = p.after("carol: trio join $code")
    assert dm(joined, "alice") and not dm(joined, "bob"), "held through Bob's quiet hours"
    assert not dm(p.after(":advance 9h"), "bob")
    out = p.after(":advance 2h")
    assert [(r["kind"], r["room"]) for r in out] == [
        ("clock", None), ("notice", "dm:bob"), ("clock", None)]
    assert out[0]["text"] == "2026-01-06 08:00 UTC" and out[2]["text"] == "2026-01-06 09:00 UTC"
    assert "Carol (carol) joined" in out[1]["text"]
