"""``privacy forget`` through the console: while it still runs, no database file on disk
(main file, ``-wal``, ``-shm``) holds a byte of the person's name, words or notes."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bots.console import opened
from tests.console.scenario import Collect, dm

# Every piece of text the person gives, each a word found nowhere else.
WORDS = {
    "name": "xavierq",  # the console calls them "Xavierq"
    "offer": "zebracooking",
    "want": "quokkaguitar",
    "away note": "marmotmoving",
    "sos note": "ocelotweek",
    "plan step": "pangolinstep",
    "proposal": "narwhalidea",
    "session note": "axolotlnote",
    "trio name": "wombatclub",
    "report reason": "lemurreason",
}
SCRIPT = [
    "alice: trio new Les Trois",
    "xavierq: trio join $code",
    "alice: trio invite",
    "carol: trio join $code",
    "xavierq: offer zebracooking",
    "xavierq: want quokkaguitar",
    "xavierq: mentor ask @alice cooking",
    "alice: mentor accept",
    "xavierq: session log @alice cooking 1h axolotlnote",
    "carol: sos hard days",
    "xavierq@trio-1/carol+xavierq: hi",
    "xavierq: plan pangolinstep",
    "xavierq: propose a narwhalidea",
    "xavierq: away for 3d marmotmoving",
    "xavierq: sos ocelotweek",
    "xavierq: trio new wombatclub",
    "carol: timezone UTC",
    "carol: quiet 00:00-23:59",  # carol's notices are held: copies of xavierq's words wait
    "xavierq: report @alice lemurreason",
    "xavierq: trio new",  # "Trio of Xavierq"
]


def _on_disk(path: Path) -> dict[str, bytes]:
    """Every file of the database, as bytes, lowercased."""
    files = [path, *(Path(f"{path}{suffix}") for suffix in ("-wal", "-shm", "-journal"))]
    return {f.name: f.read_bytes().lower() for f in files if f.exists()}


def _found(files: dict[str, bytes], words: dict[str, str]) -> list[str]:
    return [f"{what} in {name}" for name, data in files.items()
            for what, word in words.items() if word.encode() in data]


async def test_forget_leaves_nothing_in_any_database_file_while_running(tmp_path: Path) -> None:
    path = tmp_path / "console.sqlite3"
    sink = Collect()
    async with opened(path, sink) as console:
        for line in SCRIPT:
            await console.feed(line)
            errors = [r["text"] for r in sink.take() if r["kind"] in ("error", "console_error")]
            assert not errors, (line, errors)
        before = await asyncio.to_thread(_on_disk, path)
        held = {w for w in WORDS.values() if w and any(w.encode() in d for d in before.values())}
        assert held >= {"xavierq", "zebracooking", "marmotmoving", "ocelotweek", "pangolinstep",
                        "narwhalidea", "axolotlnote", "wombatclub"}, held  # the test can fail
        sink.take()
        await console.feed("xavierq: privacy forget confirm")
        out = sink.take()
        assert any("I forgot you" in (r["text"] or "") for r in dm(out, "xavierq"))
        # Still running: the console has the database open, the reader connection too.
        left = _found(await asyncio.to_thread(_on_disk, path), WORDS)
        assert not left, f"still on disk after forget: {left}"
        await console.feed("alice: turn")  # and it keeps working on the scrubbed files
        assert not _found(await asyncio.to_thread(_on_disk, path), WORDS)
