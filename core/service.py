"""The service layer: apply platform events and due jobs in transactions, return effects.

Theory of operation. An adapter hands :meth:`Twinome.handle` a batch of events. In one
write transaction the events' ids are first recorded in ``processed_events`` with one
statement (an event seen before is skipped: exactly once). Each command is then applied
inside its own savepoint, so a command that fails rolls back alone and becomes a
friendly error reply; consecutive line messages are tracked together in one savepoint
(few SQL calls for many messages), one by one if that fails. The effects of every
event go to the ``outbox`` in the same transaction. Only after the commit does the
adapter carry them out (:meth:`pending`, then :meth:`done`); an adapter that dies in
between finds them in the outbox on restart. Jobs (reminders, expiries, held notices)
are rows in ``jobs``; :meth:`fire_due` runs the due ones the same way.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core import features, grammar, queries
from core.basics import PRUNE_EVERY
from core.clock import Clock
from core.config import Settings
from core.context import Ctx
from core.effects import Effect, Reply, from_json, to_json
from core.errors import UserError
from core.events import CommandReceived, Event, LineMessage
from core.ids import MemberId, RoomId
from core.storage.db import Database, Tx
from core.timeutil import dt, ts

log = logging.getLogger("twinome.core")


@dataclass(frozen=True)
class Delivery:
    """An effect waiting in the outbox, with its outbox id."""

    id: int
    effect: Effect


class Twinome:
    """The bot's core, shared by every adapter."""

    def __init__(self, db: Database, clock: Clock, settings: Settings | None = None) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings or Settings()

    async def handle(self, events: Sequence[Event]) -> list[Delivery]:
        """Apply a batch of events exactly once; returns the effects now in the outbox."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            fresh = await self._fresh(tx, events, now)
            run: list[LineMessage] = []  # consecutive line messages are tracked together
            for event in events:
                if event.event_id not in fresh:
                    continue
                fresh.discard(event.event_id)  # the same id twice in one batch: once
                if isinstance(event, LineMessage):
                    run.append(event)
                    continue
                await self._lines(tx, run, now)
                run = []
                await self._stash(tx, await self._command(tx, event, now), now)
            await self._lines(tx, run, now)
            return await self._outbox(tx, 500)  # read before the commit: no second transaction

    async def fire_due(self, limit: int = 100) -> list[Delivery]:
        """Run the jobs that are due now; returns the effects now in the outbox."""
        now = self.clock.now()
        async with self.db.transaction() as tx:
            # Housekeeping keeps itself scheduled; this only plants it the first time.
            await tx.run(
                "INSERT OR IGNORE INTO jobs (due_at, kind, key, payload) "
                "VALUES (?, 'prune', 'prune', '{}')",
                (ts(now + PRUNE_EVERY),),
            )
            rows = await tx.all(
                "SELECT id, kind, payload FROM jobs WHERE due_at <= ? ORDER BY due_at, id LIMIT ?",
                (ts(now), limit),
            )
            for row in rows:
                await tx.run("DELETE FROM jobs WHERE id = ?", (row["id"],))
                ctx = Ctx(tx, now, self.settings)
                try:
                    async with tx.savepoint():
                        await features.JOBS[row["kind"]](ctx, json.loads(row["payload"]))
                except Exception:
                    log.exception("job %s (%s) failed; skipped", row["id"], row["kind"])
                    continue
                await self._stash(tx, ctx.effects, now)
        return await self.pending()

    async def next_due(self) -> datetime | None:
        """When the nearest job is due, if any."""
        async with self.db.transaction() as tx:
            due = await tx.value("SELECT min(due_at) FROM jobs")
        return None if due is None else dt(due)

    async def pending(self, limit: int = 500) -> list[Delivery]:
        """Effects committed but not yet carried out, oldest first."""
        async with self.db.transaction() as tx:
            return await self._outbox(tx, limit)

    async def _outbox(self, tx: Tx, limit: int) -> list[Delivery]:
        rows = await tx.all("SELECT id, effect FROM outbox ORDER BY id LIMIT ?", (limit,))
        return [Delivery(r["id"], from_json(r["effect"])) for r in rows]

    async def done(self, ids: Sequence[int]) -> None:
        """Mark outbox effects as carried out."""
        if not ids:
            return
        async with self.db.transaction() as tx:
            await tx.many("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])

    async def bind(self, platform: str, key: str, ref: str) -> None:
        """Remember that core ``key`` (``room:3``, ``dm:alice``) is ``ref`` on ``platform``."""
        async with self.db.transaction() as tx:
            await tx.run(
                "INSERT INTO platform_refs (platform, key, ref) VALUES (?, ?, ?) "
                "ON CONFLICT (platform, key) DO UPDATE SET ref = excluded.ref",
                (platform, key, ref),
            )

    async def ref_of(self, platform: str, key: str) -> str | None:
        """The platform reference bound to a core key."""
        async with self.db.transaction() as tx:
            value = await tx.value(
                "SELECT ref FROM platform_refs WHERE platform = ? AND key = ?", (platform, key)
            )
        return None if value is None else str(value)

    async def key_of(self, platform: str, ref: str) -> str | None:
        """The core key bound to a platform reference."""
        async with self.db.transaction() as tx:
            value = await tx.value(
                "SELECT key FROM platform_refs WHERE platform = ? AND ref = ?", (platform, ref)
            )
        return None if value is None else str(value)

    async def room_members(self, room: RoomId) -> list[MemberId]:
        """Who belongs in a room now (the trio's members, or the pair)."""
        async with self.db.transaction() as tx:
            found = await queries.room(tx, room)
            if found is None or not found.open:
                return []
            if found.pair:
                return list(found.pair)
            return await queries.members(tx, found.trio_id)

    async def _fresh(self, tx: Tx, events: Sequence[Event], now: datetime) -> set[str]:
        """Record the events' ids; returns those never seen before (one statement per 500)."""
        fresh: set[str] = set()
        for start in range(0, len(events), 500):
            chunk = events[start:start + 500]
            rows = await tx.all(
                "INSERT OR IGNORE INTO processed_events (event_id, at) VALUES "
                + ", ".join(["(?, ?)"] * len(chunk)) + " RETURNING event_id",
                [value for e in chunk for value in (e.event_id, ts(now))],
            )
            fresh.update(r[0] for r in rows)
        return fresh

    async def _stash(self, tx: Tx, effects: list[Effect], now: datetime) -> None:
        if not effects:
            return
        await tx.many(
            "INSERT INTO outbox (effect, created_at) VALUES (?, ?)",
            [(to_json(e), ts(now)) for e in effects],
        )

    async def _lines(self, tx: Tx, run: list[LineMessage], now: datetime) -> None:
        """Track a run of line messages in one savepoint; if it fails, one by one."""
        if not run:
            return
        ctx = Ctx(tx, now, self.settings)
        try:
            async with tx.savepoint():
                await features.on_line_messages(ctx, run)
        except Exception:
            if len(run) == 1:
                log.exception("line event %s could not be tracked", run[0].event_id)
                return
            for event in run:
                await self._lines(tx, [event], now)
            return
        await self._stash(tx, ctx.effects, now)

    async def _command(self, tx: Tx, event: CommandReceived, now: datetime) -> list[Effect]:
        room = await queries.room(tx, event.room) if event.room is not None else None
        ctx = Ctx(tx, now, self.settings, actor=event.actor, room=room, event_id=event.event_id)
        try:
            async with tx.savepoint():
                await queries.ensure_member(tx, event.actor, event.display_name, ts(now))
                named = grammar.command_of(event.text)
                ctx.private = named is not None and named.private
                inv = grammar.parse(event.text, self.settings.prefix)
                await features.COMMANDS[inv.command.name](ctx, inv)
        except UserError as err:
            text = err.message + (f"\n{err.hint}" if err.hint else "")
            return [Reply(event.actor, event.room, event.event_id, text, ctx.private, True)]
        except Exception:
            # Never log the command text: it may carry a note or a plan.
            log.exception("command failed (event %s)", event.event_id)
            sorry = "Sorry, something went wrong on my side. Nothing was changed; please try again."
            return [Reply(event.actor, event.room, event.event_id, sorry, True, True)]
        return ctx.effects
