"""No message body reaches the database, its WAL, the JSON output or the logs."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from bots.console import HumanSink, opened
from tests.console.scenario import Collect, no_failures, script

SECRETS = ["SECRET-PINEAPPLE-42", "CÉLESTE-秘密-7", "hunter2-passphrase-XYZZY"]
LINES = [
    *script("rhythm.txt")[:5],
    f"alice@trio-1/alice+bob: {SECRETS[0]} is what I told nobody",
    f"bob@trio-1/alice+bob: {SECRETS[1]}",
    f"carol@trio-1: in the open: {SECRETS[2]}",
    f"carol@trio-1/bob+carol: {SECRETS[0]} {SECRETS[1]}",
    ":advance 4d",
    "alice: stats",
    "alice: privacy export",
    f"bob@trio-1/bob+carol: {SECRETS[2]}",
]


def _files(db: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in db.parent.glob(db.name + "*")}


def _leaks(blobs: dict[str, bytes]) -> list[tuple[str, str]]:
    found = []
    for name, data in blobs.items():
        for secret in SECRETS:
            for encoding in ("utf-8", "utf-16-le", "utf-16-be"):
                if secret.encode(encoding) in data:
                    found.append((name, secret))
    return found


async def test_message_text_is_never_stored_or_printed_as_data(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    db = tmp_path / "console.sqlite3"
    collect = Collect()
    async with opened(db, collect) as console:
        for line in LINES:
            await console.feed(line)
        while_open = _files(db)
    assert any(name.endswith("-wal") for name in while_open), "the WAL is checked too"
    assert not _leaks(while_open)
    assert not _leaks(_files(db))
    records = collect.take()
    no_failures(records)
    assert [r for r in records if r["kind"] == "message"], "the messages were played"
    assert not _leaks({"jsonl": "\n".join(collect.lines).encode()})
    assert not _leaks({"json": str(records).encode()})
    assert not _leaks({"logs": caplog.text.encode()})


async def test_human_output_shows_a_message_only_as_its_echo(tmp_path: Path) -> None:
    out: list[str] = []
    async with opened(tmp_path / "console.sqlite3", HumanSink(out.append, colour=False,
                                                                echo=True)) as console:
        for line in LINES:
            await console.feed(line)
    shown = [line for line in out if any(s in line for s in SECRETS)]
    assert shown and all(line.startswith("» ") for line in shown)
    quiet: list[str] = []
    async with opened(tmp_path / "other.sqlite3", HumanSink(quiet.append, colour=False,
                                                              echo=False)) as console:
        for line in LINES:
            await console.feed(line)
    assert not [line for line in quiet if any(s in line for s in SECRETS)]
    assert any("alice wrote (seen by alice, bob" in line for line in quiet)
