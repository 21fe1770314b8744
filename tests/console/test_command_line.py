"""The ``twinome`` command and the console's own directives, clock and line editing."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bots import cli
from bots.console import opened
from tests.console.scenario import Collect, kinds, play

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "NO_COLOR": "1", "TERM": "xterm"}
START = datetime(2027, 3, 14, 15, 9, tzinfo=UTC)


def test_bare_twinome_shows_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main([]) == 0
    shown = capsys.readouterr()
    assert "usage: twinome" in shown.out and "console" in shown.out and "demo" in shown.out
    assert "error" not in shown.out + shown.err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["--version"])
    assert exited.value.code == 0
    assert capsys.readouterr().out.strip() == f"twinome {cli.version()}"
    assert cli.version()[0].isdigit()


async def test_advance_without_a_duration_asks_how_far(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", [":advance", ":now"])
    [error] = kinds(p.after(":advance"), "console_error")
    assert "How far?" in error["text"] and "?”" not in error["text"]
    assert p.after(":now")[0]["text"] == "2026-01-05 09:00 UTC", "the clock did not move"


async def test_rooms_lists_the_direct_chats(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", [":rooms", "alice: help", "bob: turn", ":rooms"])
    assert "No rooms yet" in p.after(":rooms")[0]["text"]
    listed = [(r["room"], r["text"]) for r in p.after(":rooms", 1)]
    assert listed == [("dm:alice", "alice"), ("dm:bob", "bob")]


async def test_a_new_database_starts_its_clock_where_it_is_told(tmp_path: Path) -> None:

    db = tmp_path / "db.sqlite3"
    async with opened(db, Collect(), start=START) as console:
        assert console.clock.now() == START
        await console.feed(":advance 1h")
    async with opened(db, Collect(), start=START + timedelta(days=30)) as console:
        assert console.clock.now() == START + timedelta(hours=1), "the stored clock is kept"


async def test_a_database_used_before_keeps_its_day(tmp_path: Path) -> None:

    db = tmp_path / "db.sqlite3"
    await play(db, ["alice: help"])  # played without a start: the fixed day, never stored
    async with opened(db, Collect(), start=START) as console:
        assert console.clock.now() == datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_the_command_starts_a_new_console_at_the_real_time(tmp_path: Path) -> None:
    script = tmp_path / "now.txt"
    script.write_text(":now\n")
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    done = subprocess.run(
        [sys.executable, "-m", "bots", "console", "--db", str(tmp_path / "c.sqlite3"),
         "--script", str(script), "--jsonl"],
        capture_output=True, text=True, env=ENV, cwd=tmp_path, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    [clock] = [json.loads(line) for line in done.stdout.splitlines()]
    shown = datetime.strptime(clock["text"], "%Y-%m-%d %H:%M UTC").replace(tzinfo=UTC)
    assert before <= shown <= datetime.now(UTC)


def _terminal(tmp_path: Path) -> tuple[subprocess.Popen[bytes], int]:
    """``twinome console`` on a pseudo-terminal, as a person would run it."""
    leader, follower = os.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "bots", "console", "--db", str(tmp_path / "t.sqlite3")],
        stdin=follower, stdout=follower, stderr=follower, env=ENV, cwd=tmp_path,
        start_new_session=True)
    os.close(follower)
    return process, leader


def _read(leader: int, until: bytes, within: float = 30) -> bytes:
    seen = b""
    deadline = time.monotonic() + within
    while until not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([leader], [], [], 0.1)
        if ready:
            try:
                seen += os.read(leader, 65536)
            except OSError:
                break
    assert until in seen, seen
    return seen


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_the_up_arrow_recalls_the_last_line_and_ctrl_c_stops(tmp_path: Path) -> None:
    process, leader = _terminal(tmp_path)
    try:
        _read(leader, b"> ")
        os.write(leader, b":now\r")
        _read(leader, b"UTC\r\n> ")
        time.sleep(0.2)  # readline takes the terminal once it shows the prompt
        os.write(leader, b"\x1b[A\r")  # the up arrow, then Enter: the same line again
        again = _read(leader, b"UTC")
        assert b"^[[A" not in again and b":now" in again
        process.send_signal(signal.SIGINT)
        assert process.wait(30) == 130
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(leader)
