"""Test helpers: a real core on a real SQLite file, driven like a chat would drive it."""

from __future__ import annotations

import asyncio
import itertools
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

from bots.adapter.text import with_choices
from core.clock import FakeClock
from core.config import Settings
from core.effects import Effect, Notify, Post, Reply
from core.events import CommandReceived, LineMessage
from core.ids import MemberId, RoomId
from core.service import Twinome
from core.storage.db import Database

_ids = itertools.count(1)


@dataclass
class Harness:
    """A core with a fake clock; every call returns the effects it produced."""

    core: Twinome
    clock: FakeClock
    log: list[Effect] = field(default_factory=list)

    @classmethod
    async def open(cls, path: Path | str, clock: FakeClock | None = None,
                   settings: Settings | None = None) -> Harness:
        clock = clock or FakeClock()
        db = await Database.open(path)
        return cls(Twinome(db, clock, settings), clock)

    async def close(self) -> None:
        await self.core.db.close()

    async def _flush(self) -> list[Effect]:
        items = await self.core.pending()
        await self.core.done([i.id for i in items])
        effects = [i.effect for i in items]
        self.log += effects
        return effects

    async def outbox(self) -> list[Effect]:
        """What the core wrote to the outbox since the last look, now carried out."""
        return await self._flush()

    async def say(self, who: str, text: str, room: int | None = None) -> list[Effect]:
        """``who`` types the command ``text`` (no prefix) in ``room`` or their direct chat."""
        event = CommandReceived(f"ev{next(_ids)}", MemberId(who), None if room is None else RoomId(room),
                                text, who.capitalize())
        await self.core.handle([event])
        return await self._flush()

    async def write(self, who: str, room: int) -> list[Effect]:
        """``who`` writes an ordinary message in a line."""
        await self.core.handle([LineMessage(f"ev{next(_ids)}", MemberId(who), RoomId(room))])
        return await self._flush()

    async def speaks(self, who: str, lang: str | None, trio: int | None = None) -> None:
        """Set ``who``'s language (and, with ``trio``, that trio's) straight in the database."""
        async with self.core.db.transaction() as tx:
            await tx.run("INSERT INTO members (id, created_at, language) VALUES (?, 0, ?) "
                         "ON CONFLICT (id) DO UPDATE SET language = excluded.language", (who, lang))
            if trio is not None:
                await tx.run("UPDATE trios SET language = ? WHERE id = ?", (lang, trio))

    async def advance(self, delta: timedelta) -> list[Effect]:
        """Move the clock and run every job that came due."""
        self.clock.advance(delta)
        out: list[Effect] = []
        while True:
            before = len(out)
            await self.core.fire_due()
            out += await self._flush()
            due = await self.core.next_due()
            if len(out) == before and (due is None or due > self.clock.now()):
                return out


def shown(effect: Reply | Notify | Post) -> str:
    """An effect's text as a text platform shows it: its choices as the commands to type."""
    return with_choices(effect.text, effect.choices, "!")


def replies(effects: list[Effect]) -> list[str]:
    """The texts of the replies among ``effects``."""
    return [shown(e) for e in effects if isinstance(e, Reply)]


def notices(effects: list[Effect], to: str) -> list[str]:
    """The texts of private notices to ``to``."""
    return [shown(e) for e in effects if isinstance(e, Notify) and e.to == to]


def posts(effects: list[Effect], room: int) -> list[str]:
    """The texts the bot posted in ``room``."""
    return [shown(e) for e in effects if isinstance(e, Post) and e.room == room]


def code_in(text: str) -> str:
    """The invite code in a reply (in any language)."""
    found = re.search(r"\b[A-Z0-9]{4}(?:-[A-Z0-9]{4}){3}\b", text)
    assert found, f"no invite code in {text!r}"
    return found.group()


async def until(check: Callable[[], Awaitable[Any]], what: str, within: float = 30) -> None:
    """Wait until ``check`` holds (looking every 20 ms)."""
    try:
        async with asyncio.timeout(within):
            while True:
                if await check():
                    return
                await asyncio.sleep(0.02)
    except TimeoutError:
        raise AssertionError(f"timed out: {what}") from None
