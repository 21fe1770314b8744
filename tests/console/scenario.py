"""Play console scripts in-process with ``--jsonl`` output and look at what each line did."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bots.console import JsonSink, Sink, opened

SCRIPTS = Path(__file__).parent / "scripts"
Record = dict[str, Any]


def script(name: str) -> list[str]:
    """The lines of a scenario script."""
    return (SCRIPTS / name).read_text("utf-8").splitlines()


class Collect(JsonSink):
    """A ``--jsonl`` sink whose lines are parsed back into records."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        super().__init__(self.lines.append)

    def take(self) -> list[Record]:
        out = [json.loads(line) for line in self.lines]
        self.lines.clear()
        return out


@dataclass
class Played:
    """What every line of a script showed, in order (``startup`` before the first)."""

    steps: list[tuple[str, list[Record]]] = field(default_factory=list)
    startup: list[Record] = field(default_factory=list)

    @property
    def records(self) -> list[Record]:
        return self.startup + [r for _, out in self.steps for r in out]

    def after(self, line: str, nth: int = 0) -> list[Record]:
        """The records shown by the ``nth`` line equal to ``line``."""
        found = [out for typed, out in self.steps if typed.strip() == line.strip()]
        assert len(found) > nth, f"line not played: {line!r}"
        return found[nth]


async def play(db: Path | str, lines: list[str], sink: Sink | None = None,
               language: str = "en") -> Played:
    """Play ``lines`` on the database ``db`` (``language``: the bot's default); the console
    is closed at the end."""
    collect = Collect()
    played = Played()
    async with opened(db, sink or collect, language=language) as console:
        played.startup = collect.take()
        for line in lines:
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            keep = await console.feed(line)
            played.steps.append((line, collect.take()))
            if not keep:
                break
    return played


def kinds(records: list[Record], kind: str) -> list[Record]:
    """The records of one kind."""
    return [r for r in records if r["kind"] == kind]


def in_room(records: list[Record], room: str) -> list[Record]:
    """Notices and errors shown in ``room``."""
    return [r for r in records if r["room"] == room and r["kind"] in ("notice", "error")]


def dm(records: list[Record], user: str) -> list[Record]:
    """Notices and errors shown to ``user`` in their direct chat."""
    return in_room(records, f"dm:{user}")


def texts(records: list[Record]) -> str:
    """All texts, joined, for loose checks."""
    return "\n".join(r["text"] or "" for r in records)


def no_failures(records: list[Record]) -> None:
    """No console error and no bot-side failure anywhere."""
    bad = [r for r in records if r["kind"] == "console_error"
           or "went wrong on my side" in (r["text"] or "")]
    assert not bad, bad
