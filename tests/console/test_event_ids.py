"""Console event ids: a line replayed after a crash is applied once, a different line is
never dropped as a duplicate, two consoles on one database never share ids; and no input
(a huge duration, bytes that are not UTF-8) crashes the console."""

from __future__ import annotations

import io
import sqlite3
from pathlib import Path

import pytest

from bots.console import opened
from bots.console.app import Options, run
from tests.console.scenario import Collect, play, script

FORM = script("rhythm.txt")[:5]
LINE = "alice@trio-1/alice+bob"


class Killed(BaseException):
    """Stands for a kill -9."""


def _messages(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT coalesce(sum(messages), 0) FROM line_state").fetchone()[0])


def _trios(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM trios").fetchone()[0])


async def _killed_after_commit(db: Path, line: str) -> None:
    """Play ``line``; the process dies after its commit, before its counter is stored."""
    sink = Collect()
    with pytest.raises(Killed):
        async with opened(db, sink) as console:
            bind = console.bindings.bind

            async def dying(key: str, ref: str) -> None:
                if key.startswith("seq"):
                    raise Killed
                await bind(key, ref)

            console.bindings.bind = dying  # type: ignore[method-assign]
            await console.feed(line)


@pytest.mark.parametrize("first, then", [
    (f"{LINE}: first message", f"{LINE}: a different message"),
    ("alice: trio new Second", "alice: trio new Third confirm"),
    (f"{LINE}: first message", "alice: trio new Third"),
])
async def test_a_different_line_after_a_crash_is_applied(tmp_path: Path, first: str,
                                                         then: str) -> None:
    db = tmp_path / "db.sqlite3"
    await play(db, FORM)
    messages, trios = _messages(db), _trios(db)
    await _killed_after_commit(db, first)
    assert (_messages(db), _trios(db)) != (messages, trios), "the first line was committed"
    messages, trios = _messages(db), _trios(db)
    await play(db, [then])
    assert (_messages(db), _trios(db)) != (messages, trios), f"{then!r} was dropped"


@pytest.mark.parametrize("line", [f"{LINE}: first message", "alice: trio new Second confirm"])
async def test_the_same_line_replayed_after_a_crash_is_applied_once(tmp_path: Path,
                                                                    line: str) -> None:
    db = tmp_path / "db.sqlite3"
    await play(db, FORM)
    await _killed_after_commit(db, line)
    messages, trios = _messages(db), _trios(db)
    await play(db, [line, line])  # replayed once (a no-op), then typed again (applied)
    assert (_messages(db) - messages) + (_trios(db) - trios) == 1


async def test_two_consoles_on_one_database_drop_no_line(tmp_path: Path) -> None:
    db = tmp_path / "db.sqlite3"
    await play(db, FORM)
    before = _messages(db)
    async with opened(db, Collect()) as one, opened(db, Collect()) as two:
        for _ in range(4):
            await one.feed(f"{LINE}: from the first console")
            await two.feed(f"{LINE}: from the second console")
    assert _messages(db) - before == 8
    async with opened(db, Collect()) as again:  # a restart takes the first slot back
        assert again.slot.number == 0 and again.slot.seq > 0


async def test_bad_input_gets_a_clear_error_and_never_a_crash(tmp_path: Path) -> None:
    p = await play(tmp_path / "db.sqlite3", [":advance 99999999999999999999d",
                                             ":advance -99999999999999999999999999m"])
    for out in (p.after(":advance 99999999999999999999d"),
                p.after(":advance -99999999999999999999999999m")):
        assert [r["kind"] for r in out] == ["console_error"]

    scripted = tmp_path / "bad.txt"
    scripted.write_bytes(b"alice: offer caf\xe9\nalice: offer tea\n\xff\xfe\nalice: skills\n")
    out, err = io.StringIO(), io.StringIO()
    code = await run(Options(db=tmp_path / "s.sqlite3", script=scripted, jsonl=True),
                     stdout=out, stderr=err)
    assert code == 0 and "Traceback" not in err.getvalue()
    assert out.getvalue().count("not valid UTF-8") == 2
    assert "tea" in out.getvalue().split("not valid UTF-8")[-1]

    piped = io.TextIOWrapper(io.BytesIO(b"bob: offer caf\xe9\nbob: offer tea\nbob: skills\n"),
                             encoding="utf-8")
    out = io.StringIO()
    code = await run(Options(db=tmp_path / "p.sqlite3", jsonl=True), stdin=piped, stdout=out,
                     stderr=err)
    assert code == 0 and out.getvalue().count("not valid UTF-8") == 1

