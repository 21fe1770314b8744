"""The service layer: apply platform events and due jobs in transactions, return effects.

Theory of operation. :meth:`Twinome.handle` applies a batch of events in one write
transaction. The events' ids are first recorded in ``processed_events`` with one
statement (an event seen before is skipped: exactly once). Each command is then applied
inside its own savepoint, so a command that fails rolls back alone and becomes a
friendly error reply (a batch of one command skips the savepoint, two statements
fewer: should the command fail, the transaction is rolled back and applied again with
it); consecutive line messages are tracked together (few SQL calls for
many messages) with no savepoint: should that ever fail, the whole transaction is rolled
back and applied again with each run in a savepoint, one by one if it fails again. A batch
of line messages only (turn tracking awaits nothing but the database) runs its whole
transaction on the database's thread in one hop (:meth:`Database.inline`), a lone command
with no hop at all (``short``: on the caller's thread, see
:meth:`core.storage.db.SqliteDatabase.inline`). The effects of every
event go to the ``outbox`` in the same transaction, each stamped with the platform of
the event that caused it, and with its realm (:func:`_realms`): the realm of the trio
whose room it is about, for a reply outside a room the realm its author acts from, else
none. Only after the commit are they carried out, by the delivery pump of that
platform's adapter (:meth:`pending`, of some realms only where several processes share
the platform's servers, then :meth:`done`); an adapter that dies in between finds them
in the outbox on restart. The replies written come back as
outbox rows (``Applied.replies``), so an adapter may answer a command at once, in the
task that submitted it, instead of waiting for its pump. Jobs (reminders, expiries, held
notices) are rows in ``jobs``, stamped with the platform they were scheduled from;
:meth:`fire_due` runs the due ones the same way.

A handler that deleted personal data sets ``ctx.scrub``: after the commit the WAL is
checkpointed and truncated (with ``secure_delete`` on, nothing deleted stays on disk),
and once the effects queued until then are delivered (:meth:`done`), once more, so the
outbox pages of the notices that still named the person are wiped too.

Several processes may share one database (PostgreSQL: ``Database.shared``). Each applies
its own events; a due job is taken by one of them (``FOR UPDATE SKIP LOCKED``: the others
pass it over). The outbox is shared out by *lanes* (a room, a member's direct chat:
:func:`core.effects.lane_of`, stored with each effect): a delivery pump carries out only
the lanes its process holds a lease on (:meth:`claim`, then :meth:`pending` with its
owner id), renews the lease while it works (:meth:`renew`) and ends it once a lane is
empty (:meth:`release`), so no effect goes out from two processes at once and each lane
keeps its order. A process that dies keeps its leases until they expire; then another
takes its lanes over and carries out again, with the same idempotency keys, what it may
have carried out but not marked done. One process alone (SQLite) claims nothing.

Writes are serialised by the database (one write transaction at a time); on a backend
where another process may write the same rows at once (PostgreSQL), an event batch's
transaction is run again from the start after a conflict (:meth:`Database.atomic`). What only
reads (the outbox for a pump, bindings, the next due job) uses the read connection and
never waits for a write. :class:`core.runtime.Runtime` batches many callers' events
into few :meth:`handle` calls (group commit).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from core import features, grammar, keys, queries, safety, telling, turns
from core.basics import PRUNE_EVERY
from core.clock import Clock
from core.config import Settings
from core.context import Ctx
from core.effects import (
    Choice,
    CreateRoom,
    Effect,
    Notify,
    Post,
    Reply,
    ReportToModerators,
    coalesce,
    from_json,
    lane_of,
    to_json,
)
from core.errors import UserError
from core.events import CommandReceived, Event, LineMessage
from core.i18n import _, pick
from core.ids import MemberId, RoomId
from core.storage.db import Body, Database, NotPlanned, Tx, among
from core.textrules import clean_display_name
from core.timeutil import dt, ts

log = logging.getLogger("twinome.core")


@dataclass(frozen=True)
class Delivery:
    """An effect waiting in the outbox, with what its delivery so far has recorded."""

    id: int
    effect: Effect
    attempts: int = 0
    retry_at: int | None = None  # Unix ms
    waiting_since: int | None = None  # Unix ms


@dataclass(frozen=True)
class Applied:
    """What one :meth:`Twinome.handle` or :meth:`Twinome.fire_due` call did."""

    fresh: frozenset[str] = frozenset()  # event ids applied now (the others were seen before)
    effects: int = 0  # effects written to the outbox
    earliest_job: datetime | None = None  # the earliest job (re)scheduled, if any
    replies: tuple[Delivery, ...] = ()  # the replies written, as outbox rows, oldest first
    fired: int = 0  # due jobs run (0 while others are due: another process is running them)


class Twinome:
    """The bot's core, shared by every adapter."""

    def __init__(self, db: Database, clock: Clock, settings: Settings | None = None) -> None:
        self.db = db
        self.clock = clock
        self.settings = settings or Settings()
        self._scrub_waits: bool | None = None  # a scrub waits for deliveries (None: unknown)
        self._fixed = turns.Fixed()  # what batches of line messages know of their lines
        self.warm_lines = turns.WARM_LINES  # lines known from the start (see know_lines)
        self._delivered: list[int] = []  # carried out, deleted with the next write (done_soon)
        self._delivered_timer: asyncio.TimerHandle | None = None
        self._flushing: asyncio.Task[None] | None = None

    async def handle(self, events: Sequence[Event]) -> Applied:
        """Apply a batch of events exactly once, in one transaction."""
        # Turn tracking and a lone command await nothing but the database: they run whole
        # on its thread, a lone command on the caller's (its fast path has no catch-all:
        # anything it raises, a wrong-thread error included, redoes it guarded on the
        # ordinary path).
        lines = all(isinstance(event, LineMessage) for event in events)
        try:
            return await self._handle(events, guarded=False, inline=lines or len(events) == 1,
                                      lines=lines)
        except _FastPathFailed:  # rolled back whole; again, with savepoints
            return await self._handle(events, guarded=True, lines=lines)

    async def _handle(self, events: Sequence[Event], *, guarded: bool,
                      inline: bool = False, lines: bool = False) -> Applied:
        now = self.clock.now()
        tally = _Tally(guarded, lone=len(events) == 1)

        delivered = tuple(self._delivered[:_CHUNK])

        async def body(tx: Tx) -> frozenset[str]:
            nonlocal tally  # a body run again after a write conflict starts its tally anew
            tally = _Tally(guarded, lone=len(events) == 1)
            if delivered:  # effects carried out since the last write: done with this one
                await tx.run(_DELETE.format(marks=", ".join("?" * len(delivered))), delivered)
            # Line messages only: what the lines' previous batch read still holds (where
            # this process is the only writer).
            if lines and self.db.writes is not None:
                tally.fixed = await self._fixed.valid(tx, self.db.writes)
            elif lines and self.db.plans:  # where others write too: checked, see Fixed
                tally.fixed = self._fixed.stated()
            fresh = await self._fresh(tx, events, now)
            applied = frozenset(fresh)
            run: list[LineMessage] = []  # consecutive line messages are tracked together
            for event in events:
                if event.event_id not in fresh:
                    continue
                fresh.discard(event.event_id)  # the same id twice in one batch: once
                if isinstance(event, LineMessage) and (not run or run[-1].platform == event.platform):
                    run.append(event)
                    continue
                await self._lines(tx, run, now, tally)
                run = []
                if isinstance(event, LineMessage):
                    run.append(event)
                else:
                    await self._command(tx, event, now, tally)
            await self._lines(tx, run, now, tally)
            return applied

        applied = await self._planned(body) if lines and not guarded and len(events) == 1 \
            else None
        if applied is None:
            # A lone command is short: no hop at all. Line messages stay on the write
            # connection: their cache (turns.Fixed) checks that connection's data_version.
            applied = await (self.db.inline(body, short=len(events) == 1 and not lines)
                             if inline else self.db.atomic(body))
        if tally.fixed is not None:  # committed: the lines it kept are what is stored
            tally.fixed.settled()
        if delivered:
            gone = set(delivered)
            self._delivered = [i for i in self._delivered if i not in gone]
        await self._scrub(tally)
        return Applied(applied, tally.written, tally.earliest, tuple(tally.replies))

    async def know_lines(self) -> int:
        """Where a lone line message runs as a plan (``Database.plans``): remember the lines
        written in last (:func:`turns.warm`), so that the first message of each after a
        start costs one round trip, as the next ones, not two; how many were read."""
        if not self.db.plans or not self.warm_lines:
            return 0
        now = ts(self.clock.now())

        async def body(tx: Tx) -> int:
            return await turns.warm(tx, self._fixed, now, self.warm_lines)

        return await self.db.read_inline(body)

    async def _planned(self, body: Body[frozenset[str]]) -> frozenset[str] | None:
        """A lone line message's transaction as one statement, where the backend can
        (:meth:`Database.at_once`): its line's read rides with it, checked, or is read just
        before (one round trip, or two, instead of four); None where it cannot be (nothing
        was written: the transaction is to run as usual)."""
        if not self.db.plans:
            return None
        try:
            return await self.db.at_once(body)
        except NotPlanned as why:
            log.debug("not planned: %s", why)
            return None

    async def answer_reading(self, event: CommandReceived) -> list[Reply] | None:
        """The replies to a command that only reads (``Command.reads_only``), from one read
        transaction: no writer, nothing recorded, not even the event's id.

        Only for a platform that never delivers a command twice (the exactly-once record
        protects nothing there), and only when nothing needs writing: None (take
        :meth:`handle`) when the command is no such command, when its member is new or
        their name or locale changed (:func:`queries.ensure_member` would write), when it
        gave any effect but replies, or when it failed other than with a user error (the
        durable path applies it again, and logs).
        """
        named = _named(event)
        if named is None or not named.reads_only:
            return None
        now = self.clock.now()

        async def body(tx: Tx) -> list[Reply] | None:
            known, language = await _as_is(tx, event)
            if not known:
                return None
            room = await queries.room(tx, event.room) if event.room is not None else None
            ctx = Ctx(tx, now, self.settings, actor=event.actor, room=room,
                      event_id=event.event_id, platform=event.platform, origin=event.origin,
                      language=pick(language, self.settings.default_language),
                      private=named.private)
            try:
                inv = (grammar.read(event.text, self.settings.prefix) if event.typed is None
                       else grammar.from_typed(event.typed, self.settings.prefix))
                if not inv.command.reads_only:
                    return None
                await features.COMMANDS[inv.command.name](ctx, inv)
            except UserError as err:
                ctx = _answer(ctx, event, err.message + ("\n" + err.hint if err.hint else ""),
                              choices=err.choices)
            if ctx.earliest_job is not None or ctx.scrub or not all(
                    isinstance(e, Reply) for e in ctx.effects):
                return None
            said = await telling.in_their_language(tx, ctx.effects, self.settings.default_language)
            return [e for e in said if isinstance(e, Reply)]

        try:
            return await self.db.read_inline(body)
        except Exception:  # the durable path runs it again, and logs what failed there
            return None

    async def fire_due(self, limit: int = 100) -> Applied:
        """Run the jobs that are due now (those another process is running are left to it)."""
        now = self.clock.now()
        tally = _Tally()

        async def body(tx: Tx) -> int:
            nonlocal tally  # a body run again after a write conflict starts its tally anew
            tally = _Tally()
            # Housekeeping keeps itself scheduled; this only plants it the first time.
            await tx.run(
                "INSERT INTO jobs (due_at, kind, key, payload) "
                "VALUES (?, 'prune', 'prune', '{}') ON CONFLICT (key) DO NOTHING",
                (ts(now + PRUNE_EVERY),),
            )
            rows = await tx.all(
                "SELECT id, kind, payload, platform FROM jobs WHERE due_at <= ? "
                "ORDER BY due_at, id LIMIT ?" + tx.skip_locked,
                (ts(now), limit),
            )
            for row in rows:
                await tx.run("DELETE FROM jobs WHERE id = ?", (row["id"],))
                ctx = Ctx(tx, now, self.settings, platform=row["platform"])
                try:
                    async with tx.savepoint():
                        await features.JOBS[row["kind"]](ctx, json.loads(row["payload"]))
                except Exception:
                    tx.check()  # a conflict with another process: they all run again
                    log.exception("job %s (%s) failed; skipped", row["id"], row["kind"])
                    continue
                await self._stash(tx, ctx, now, tally)
            return len(rows)

        fired = await self.db.atomic(body)
        await self._scrub(tally)
        return Applied(frozenset(), tally.written, tally.earliest, fired=fired)

    async def resend_reports(self, platform: str) -> int:
        """Queue again the platform's reports that never reached the moderators; how many."""
        now = self.clock.now()

        async def body(tx: Tx) -> int:
            ctx = Ctx(tx, now, self.settings, platform=platform)
            count = await safety.resend(ctx)
            await self._stash(tx, ctx, now, _Tally())
            return count

        return await self.db.atomic(body)

    async def next_due(self) -> datetime | None:
        """When the nearest job is due, if any."""
        due = await self.db.read_value("SELECT min(due_at) FROM jobs")
        return None if due is None else dt(due)

    async def pending(self, platform: str | None = None, limit: int = 500, after: int = 0,
                      *, owner: str | None = None,
                      realms: Collection[str | None] | None = None) -> list[Delivery]:
        """Effects committed but not yet carried out (for one platform), oldest first;
        ``owner``: only those of the lanes it holds a lease on (:meth:`claim`); ``realms``:
        only those of these realms (None among them meaning no realm)."""
        where = ["o.id > :after"]
        params: dict[str, Any] = {"after": after, "limit": limit}
        if platform is not None:
            where.append("o.platform = :platform")
            params["platform"] = platform
        leased = ""
        if owner is not None:
            leased = " JOIN lane_leases l ON l.platform = o.platform AND l.lane = o.lane"
            where.append("l.owner = :owner")
            params["owner"] = owner
        if realms is not None:
            clause, named = _in_realms(realms)
            where.append(clause)
            params.update(named)
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT o.id, o.effect, o.attempts, o.retry_at, o.waiting_since FROM outbox o"
                f"{leased} WHERE {' AND '.join(where)} ORDER BY o.id LIMIT :limit", params)
        return [Delivery(r["id"], from_json(r["effect"]), r["attempts"], r["retry_at"],
                         r["waiting_since"]) for r in rows]

    async def claim(self, platform: str, owner: str, now: int, until: int, *,
                    realms: Collection[str | None] | None = None) -> int | None:
        """Lease to ``owner`` until ``until`` every lane of the platform's outbox that no
        live lease holds (renewing its own); returns when the first lease another owner
        holds over waiting effects ends, if any (times in Unix ms). ``realms``: only lanes
        holding effects of these realms (see :meth:`pending`).

        Claims never conflict with other writes (``serializable=False``): the upsert
        settles who holds a lane, row by row, whatever the other processes commit."""
        params: dict[str, Any] = {"platform": platform, "owner": owner, "now": now,
                                  "until": until}
        mine = _mine(realms, params)

        async def body(tx: Tx) -> int | None:
            await tx.run(_CLAIM.format(realms=mine), params)
            ends = await tx.value(_FOREIGN.format(realms=mine), params)
            return None if ends is None else int(ends)

        return await self.db.atomic(body, serializable=False)

    async def claim_lanes(self, platform: str, owner: str, lanes: Sequence[str], now: int,
                          until: int) -> set[str]:
        """Lease these lanes to ``owner`` where no live lease of another holds them; returns
        the lanes it holds now."""
        inside, names = among("lane", lanes)

        async def body(tx: Tx) -> set[str]:
            await tx.many(_CLAIM_LANE, [(platform, lane, owner, until, now) for lane in lanes])
            rows = await tx.all("SELECT lane FROM lane_leases WHERE platform = :platform "
                                f"AND owner = :owner AND lane IN {inside}",
                                {"platform": platform, "owner": owner, **names})
            return {r[0] for r in rows}

        return await self.db.atomic(body, serializable=False)

    async def renew(self, platform: str, owner: str, until: int) -> None:
        """Extend every lease ``owner`` holds on the platform's lanes to ``until`` (Unix ms)."""
        async def body(tx: Tx) -> None:
            await tx.run("UPDATE lane_leases SET expires_at = ? WHERE platform = ? "
                         "AND owner = ?", (until, platform, owner))

        await self.db.atomic(body, serializable=False)

    async def release(self, platform: str, owner: str, after: int | None = None, *,
                      realms: Collection[str | None] | None = None) -> bool:
        """End ``owner``'s leases on the lanes that hold no effect (of these ``realms``) any
        more (``after`` None: on every lane, it stops); returns whether its lanes hold
        effects (of these realms) of ids past ``after``, which the caller has not read yet."""
        params: dict[str, Any] = {"platform": platform, "owner": owner, "after": after}
        mine = _mine(realms, params)

        async def body(tx: Tx) -> bool:
            await tx.run("DELETE FROM lane_leases WHERE platform = :platform AND owner = :owner"
                         + ("" if after is None else
                            f" AND NOT EXISTS ({_IN_LANE.format(realms=mine)})"), params)
            return after is not None and await tx.value(
                _UNREAD.format(realms=mine), params) is not None

        return await self.db.atomic(body, serializable=False)

    async def done(self, ids: Sequence[int], bindings: Sequence[tuple[str, str, str]] = (),
                   reports: Sequence[int] = (), dropped: Sequence[MemberId] = ()) -> None:
        """Mark outbox effects as carried out or dropped, and record the bindings they made,
        the safety reports that reached the moderators and, for each notice dropped that its
        member should hear of, one more in their count (:meth:`dropped_notices`), at once."""
        if not ids and not bindings and not reports and not dropped:
            return
        if not bindings and not reports and not dropped and self._scrub_waits is False \
                and len(ids) <= 500:
            await self.db.write("DELETE FROM outbox WHERE id IN ("  # the usual case: one hop
                                + ", ".join("?" * len(ids)) + ")", ids, keeps_caches=True)
            return
        at = ts(self.clock.now())
        waits = self._scrub_waits is not False  # read once: a body run again sees the same

        async def body(tx: Tx) -> bool:
            if ids:
                await tx.many("DELETE FROM outbox WHERE id = ?", [(i,) for i in ids])
            if bindings:
                await tx.many(_BIND, bindings)
            if reports:
                await tx.many("UPDATE safety_reports SET delivered_at = ? WHERE id = ? "
                              "AND delivered_at IS NULL", [(at, r) for r in reports])
            if dropped:
                await tx.many("UPDATE members SET notices_dropped = notices_dropped + 1 "
                              "WHERE id = ?", [(m,) for m in dropped])
            return bool(ids) and waits and await self._scrub_due(tx)

        if await self.db.atomic(body):
            await self.db.checkpoint()

    async def done_soon(self, ids: Sequence[int]) -> None:
        """Mark carried-out effects done with the next write transaction, or on their own
        within :data:`DONE_WAIT` seconds if none comes (:meth:`flush_done` at once).

        For a caller that answered a command itself and should not hold up the next one
        with a write of its own (the next command deletes them in its transaction). Until
        then the rows stay in the outbox: the caller's pump must know to skip them, and a
        crash in between carries them out again on restart, as a crash between carrying
        out and :meth:`done` always could (only for longer).
        """
        if self._scrub_waits is not False or not ids:  # a scrub counts deliveries: at once
            await self.done(ids)
            return
        self._delivered.extend(ids)
        if self._delivered_timer is None:
            self._delivered_timer = asyncio.get_running_loop().call_later(
                DONE_WAIT, self._flush_later)

    def _flush_later(self) -> None:
        self._delivered_timer = None
        if self._flushing is None or self._flushing.done():
            self._flushing = asyncio.create_task(self.flush_done())

    async def flush_done(self) -> None:
        """Delete now the effects :meth:`done_soon` left for the next write."""
        if self._delivered_timer is not None:
            self._delivered_timer.cancel()
            self._delivered_timer = None
        while self._delivered:
            ids = self._delivered[:_CHUNK]
            try:
                await self.db.write(_DELETE.format(marks=", ".join("?" * len(ids))), ids,
                                    keeps_caches=True)
            except Exception:
                log.exception("carried-out effects could not be marked done; retrying")
                self._delivered_timer = asyncio.get_running_loop().call_later(
                    DONE_WAIT, self._flush_later)
                return
            gone = set(ids)
            self._delivered = [i for i in self._delivered if i not in gone]

    async def _scrub(self, tally: _Tally) -> None:
        """After a commit that deleted personal data: the WAL leaves the disk."""
        if tally.scrub:
            await self.flush_done()  # the deliveries counted from now on are all in the outbox
            self._scrub_waits = True
            await self.db.checkpoint()

    async def _scrub_due(self, tx: Tx) -> bool:
        """Whether every effect queued before the last scrub request is now delivered.

        The effects a forget queued (its reply, the others' notices) still name the
        member; once their rows are deleted, one more checkpoint wipes those pages too.
        """
        marker = await tx.value("SELECT value FROM meta WHERE key = ?", (_SCRUB,))
        if marker is None:
            self._scrub_waits = False
            return False
        if await tx.value("SELECT 1 FROM outbox WHERE id <= ? LIMIT 1", (int(marker),)):
            return False
        await tx.run("DELETE FROM meta WHERE key = ?", (_SCRUB,))
        # The closed lines of forgotten members are carried out (closed) by now: their
        # bindings are needed no more, and a platform may name a line after its people.
        await tx.run(
            "DELETE FROM platform_refs WHERE key IN (SELECT 'room:' || id FROM rooms "
            "WHERE state = 'closed' AND (member_a LIKE 'former:%' OR member_b LIKE 'former:%'))")
        self._scrub_waits = False
        return True

    async def dropped_notices(self, prefix: str) -> dict[MemberId, int]:
        """How many notices were dropped for each member whose id starts with ``prefix``
        and who has not been told yet (see :meth:`done`)."""
        rows = await self.db.read_all("SELECT id, notices_dropped FROM members WHERE "
                                      "notices_dropped > 0 AND id >= ? AND id < ?",
                                      (prefix, prefix + "\uffff"))
        return {MemberId(r[0]): int(r[1]) for r in rows}

    async def told_dropped(self, member: MemberId, count: int) -> None:
        """The member was told of ``count`` dropped notices: they leave the count (those
        dropped meanwhile stay, to be told next time)."""
        await self.db.write("UPDATE members SET notices_dropped = CASE WHEN notices_dropped "
                            "> ? THEN notices_dropped - ? ELSE 0 END WHERE id = ?",
                            (count, count, member), keeps_caches=True)

    async def realms_to_watch(self, platform: str) -> list[str]:
        """The realms of the platform that, if the bot is no longer in them, :meth:`left_realm`
        has work for: those effects waiting in the outbox are bound to, and those trios
        still together live in whose members were not yet told it left (a realm settled
        and told is not settled again, until effects wait for it)."""
        rows = await self.db.read_all(
            "SELECT realm FROM outbox WHERE platform = ? AND realm IS NOT NULL UNION "
            "SELECT realm FROM trios WHERE platform = ? AND realm IS NOT NULL "
            "AND state <> 'dissolved' AND NOT EXISTS (SELECT 1 FROM meta WHERE "
            "meta.key = 'realm_left:' || trios.platform || ':' || trios.realm) "
            "ORDER BY realm", (platform, platform))
        return [str(r[0]) for r in rows]

    async def left_realm(self, platform: str, realm: str) -> list[tuple[int, str]]:
        """The bot left a realm (on Discord: it was removed from a server), so its effects
        waiting there can never be carried out by the process that held it, nor by any
        other: those meant for one member alone (replies and notices in their direct
        chat's lane) lose the realm and go like any direct notice; the others (posts,
        rooms, public replies in its rooms) are dropped. Returns (id, kind) of those dropped.

        The members of the trios living there are told, privately, once (until the bot is
        back there, :meth:`rejoined_realms`): the same departure seen again (a restart
        settling it once more) tells nobody twice."""
        now = self.clock.now()

        async def body(tx: Tx) -> list[tuple[int, str]]:
            rows = await tx.all("SELECT id, effect FROM outbox WHERE platform = ? AND realm = ? "
                                "ORDER BY id", (platform, realm))
            dropped: list[tuple[int, str]] = []
            kept: list[tuple[int, str]] = []
            for row in rows:
                effect = from_json(row["effect"])
                (kept if _for_one_member(effect) else dropped).append((row["id"], effect.kind))
            await tx.many("DELETE FROM outbox WHERE id = ?", [(i,) for i, _ in dropped])
            await tx.many("UPDATE outbox SET realm = NULL WHERE id = ?", [(i,) for i, _ in kept])
            if await tx.changes("INSERT INTO meta (key, value) VALUES (?, ?) "
                                "ON CONFLICT (key) DO NOTHING",
                                (_left_key(platform, realm), str(ts(now)))):
                await self._tell_realm_left(tx, platform, realm, now)
            return dropped

        return await self.db.atomic(body)

    async def _tell_realm_left(self, tx: Tx, platform: str, realm: str, now: datetime) -> None:
        """Tell each member of the trios living in a realm the bot left that it cannot reach
        their trio there any more."""
        rows = await tx.all(
            "SELECT t.name, tm.member_id FROM trios t JOIN trio_members tm ON tm.trio_id = t.id "
            "WHERE t.platform = ? AND t.realm = ? AND t.state <> 'dissolved' "
            "ORDER BY t.id, tm.joined_at, tm.member_id", (platform, realm))
        ctx = Ctx(tx, now, self.settings, platform=platform)
        for row in rows:
            await ctx.notify(MemberId(row["member_id"]), _(
                "I was removed from the server where your trio “{trio}” meets, so I can no "
                "longer see its channel or your private lines there, nor post in them. Nothing "
                "of your trio is deleted: its members, ledger and plans are kept. If I was "
                "removed by mistake, the server's moderators can add me back.",
                trio=row["name"]))
        await self._stash(tx, ctx, now, _Tally())

    async def rejoined_realms(self, platform: str, realms: Collection[str]) -> None:
        """The bot is in these realms (added back to a server, or found in it at startup:
        added back while it was stopped): leaving one of them again is told again."""
        prefix = _left_key(platform, "")
        marks = await self.db.read_all("SELECT key FROM meta WHERE substr(key, 1, ?) = ?",
                                       (len(prefix), prefix))
        back = [(key,) for (key,) in marks if key[len(prefix):] in realms]

        async def body(tx: Tx) -> None:
            await tx.many("DELETE FROM meta WHERE key = ?", back)

        if back:
            await self.db.atomic(body)

    async def note_failure(self, outbox_id: int, attempts: int, retry_at: int) -> None:
        """Record a failed try of an effect, so a restart keeps counting (times in Unix ms)."""
        await self.db.write("UPDATE outbox SET attempts = ?, retry_at = ? WHERE id = ?",
                            (attempts, retry_at, outbox_id), keeps_caches=True)

    async def note_waiting(self, outbox_id: int, since: int) -> None:
        """Record when an effect first had to wait for a condition (Unix ms)."""
        await self.db.write("UPDATE outbox SET waiting_since = ? WHERE id = ? "
                            "AND waiting_since IS NULL", (since, outbox_id), keeps_caches=True)

    async def seen(self, event_id: str) -> bool:
        """Whether an event of this id was applied already."""
        return await self.db.read_value("SELECT 1 FROM processed_events WHERE event_id = ?",
                                        (event_id,)) is not None

    async def instance(self) -> str:
        """This database's random instance id (part of every delivery's idempotency key)."""
        return str(await self.db.read_value("SELECT value FROM meta WHERE key = 'instance'"))

    async def bind(self, platform: str, key: str, ref: str) -> None:
        """Remember that core ``key`` (``room:3``, ``dm:alice``) is ``ref`` on ``platform``."""
        await self.db.write(_BIND, (platform, key, ref))

    async def ref_of(self, platform: str, key: str) -> str | None:
        """The platform reference bound to a core key."""
        value = await self.db.read_value(
            "SELECT ref FROM platform_refs WHERE platform = ? AND key = ?", (platform, key))
        return None if value is None else str(value)

    async def key_of(self, platform: str, ref: str) -> str | None:
        """The core key bound to a platform reference."""
        value = await self.db.read_value(
            "SELECT key FROM platform_refs WHERE platform = ? AND ref = ?", (platform, ref))
        return None if value is None else str(value)

    async def refs(self, platform: str, prefix: str, limit: int = 10_000) -> list[tuple[str, str]]:
        """(key, ref) of the bindings whose key starts with ``prefix``, by key."""
        async with self.db.read() as tx:
            rows = await tx.all(
                "SELECT key, ref FROM platform_refs WHERE platform = ? AND key >= ? AND key < ? "
                "ORDER BY key LIMIT ?", (platform, prefix, prefix + "\uffff", limit))
        return [(r["key"], r["ref"]) for r in rows]

    async def room_members(self, room: RoomId) -> list[MemberId]:
        """Who belongs in a room now (the trio's members, or the pair)."""
        async with self.db.read() as tx:
            found = await queries.room(tx, room)
            if found is None or not found.open:
                return []
            if found.pair:
                return list(found.pair)
            return await queries.members(tx, found.trio_id)

    async def _fresh(self, tx: Tx, events: Sequence[Event], now: datetime) -> set[str]:
        """Record the events' ids; returns those never seen before (one statement per 500)."""
        if len(events) == 1:  # a count says it, with no rows back (see PgTx: one trip fewer)
            event_id = events[0].event_id
            return {event_id} if await tx.changes(
                "INSERT INTO processed_events (event_id, at) VALUES (?, ?) "
                "ON CONFLICT (event_id) DO NOTHING", (event_id, ts(now))) else set()
        fresh: set[str] = set()
        for start in range(0, len(events), 500):
            chunk = events[start:start + 500]
            rows = await tx.all(
                "INSERT INTO processed_events (event_id, at) VALUES "
                + ", ".join(["(?, ?)"] * len(chunk))
                + " ON CONFLICT (event_id) DO NOTHING RETURNING event_id",
                [value for e in chunk for value in (e.event_id, ts(now))],
            )
            fresh.update(r[0] for r in rows)
        return fresh

    async def _stash(self, tx: Tx, ctx: Ctx, now: datetime, tally: _Tally) -> None:
        """Write a context's effects to the outbox, under its platform, with the writes its
        handler left for them (:meth:`Ctx.write_last`)."""
        ctx.effects = await _one_notice_each(tx, ctx.effects)
        ctx.effects = await telling.in_their_language(tx, ctx.effects, self.settings.default_language)
        tally.add(ctx)
        realms = await _realms(tx, ctx.effects, self.settings)
        rows = [(ctx.platform, to_json(e), ts(now), lane_of(e), realm)
                for e, realm in zip(ctx.effects, realms, strict=True)]
        if any(isinstance(e, Reply) for e in ctx.effects):
            await ctx.flush()
            tally.replies.extend(await _insert_replies(tx, ctx.effects, rows))
        else:  # new rows of the outbox: the writes left depend on them no more than they do
            await ctx.flush((_OUTBOX, rows))
        if ctx.scrub:  # checkpoint again once what is queued up to here is delivered
            await tx.run(
                "INSERT INTO meta (key, value) VALUES (?, (SELECT CAST(coalesce(max(id), 0) "
                "AS TEXT) FROM outbox)) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (_SCRUB,))

    async def _lines(self, tx: Tx, run: list[LineMessage], now: datetime, tally: _Tally) -> None:
        """Track a run of line messages in one savepoint; if it fails, one by one."""
        if not run:
            return
        ctx = Ctx(tx, now, self.settings, platform=run[0].platform)
        if not tally.guarded:  # the fast path: no savepoint; a failure redoes the batch guarded
            try:
                await features.on_line_messages(ctx, run, tally.fixed)
                await self._stash(tx, ctx, now, tally)  # with the writes the handler left
            except Exception as err:
                tx.check()
                raise _FastPathFailed from err
            return
        try:
            async with tx.savepoint():
                await features.on_line_messages(ctx, run, tally.fixed)
                await ctx.flush()  # what fails, fails inside
        except Exception:
            tx.check()  # a conflict with another process: the whole batch runs again
            if tally.fixed is not None:  # its lines were changed in memory, not on disk
                tally.fixed.forget()
            if len(run) == 1:
                log.exception("line event %s could not be tracked", run[0].event_id)
                return
            for event in run:
                await self._lines(tx, [event], now, tally)
            return
        await self._stash(tx, ctx, now, tally)

    async def _command(self, tx: Tx, event: CommandReceived, now: datetime, tally: _Tally) -> None:
        room = await queries.room(tx, event.room) if event.room is not None else None
        ctx = Ctx(tx, now, self.settings, actor=event.actor, room=room, event_id=event.event_id,
                  platform=event.platform, origin=event.origin)
        if tally.lone and not tally.guarded:  # the fast path: no savepoint, see _Tally
            try:
                await self._run(ctx, event, now)
            except Exception as err:
                tx.check()
                raise _FastPathFailed from err
            await self._stash(tx, ctx, now, tally)
            return
        try:
            async with tx.savepoint():
                await self._run(ctx, event, now)
        except UserError as err:
            text = err.message + ("\n" + err.hint if err.hint else "")  # stays translatable
            ctx = _answer(ctx, event, text, choices=err.choices)
        except Exception:
            tx.check()  # a conflict with another process: the whole batch runs again
            # Never log the command text: it may carry a note or a plan.
            log.exception("command failed (event %s)", event.event_id)
            ctx = _answer(ctx, event, SORRY, private=True)
        await self._stash(tx, ctx, now, tally)

    async def _run(self, ctx: Ctx, event: CommandReceived, now: datetime) -> None:
        """Read a command and apply it (its errors are the caller's to turn into replies)."""
        ctx.language = pick(await queries.ensure_member(
            ctx.tx, event.actor, event.display_name, ts(now), event.locale),
            self.settings.default_language)
        named = _named(event)
        ctx.private = named is not None and named.private
        inv = (grammar.read(event.text, self.settings.prefix) if event.typed is None
               else grammar.from_typed(event.typed, self.settings.prefix))
        await features.COMMANDS[inv.command.name](ctx, inv)


async def _insert_replies(tx: Tx, effects: list[Effect],
                          rows: list[tuple[str, str, int, str, str | None]]) -> list[Delivery]:
    """Write effects to the outbox in order; returns the replies among them as outbox rows."""
    found: list[Delivery] = []
    for start in range(0, len(rows), _CHUNK):
        chunk = rows[start:start + _CHUNK]
        written = await tx.all(
            "INSERT INTO outbox (platform, effect, created_at, lane, realm) VALUES "
            + ", ".join(["(?, ?, ?, ?, ?)"] * len(chunk)) + " RETURNING id, effect",
            [value for row in chunk for value in row])
        ids: dict[str, list[int]] = {}  # RETURNING gives no order: match rows by their text
        for r in sorted(written, key=lambda r: -int(r["id"])):
            ids.setdefault(r["effect"], []).append(int(r["id"]))
        found.extend(Delivery(ids[row[1]].pop(), effect) for effect, row
                     in zip(effects[start:start + _CHUNK], chunk, strict=True)
                     if isinstance(effect, Reply))
    return sorted(found, key=lambda d: d.id)


_OUTBOX = ("INSERT INTO outbox (platform, effect, created_at, lane, realm) "
           "VALUES (?, ?, ?, ?, ?)")
# Claims (see the module's header). A lease is taken over once its holder let it lapse.
_TAKE = ("ON CONFLICT (platform, lane) DO UPDATE SET owner = excluded.owner, "
         "expires_at = excluded.expires_at WHERE lane_leases.owner = excluded.owner "
         "OR lane_leases.expires_at <= ")
# ``{realms}``: the condition on the outbox rows' realms a process carries (see _mine).
_CLAIM = ("INSERT INTO lane_leases (platform, lane, owner, expires_at) "
          "SELECT o.platform, o.lane, CAST(:owner AS TEXT), CAST(:until AS BIGINT) "
          "FROM outbox o WHERE o.platform = :platform{realms} GROUP BY o.platform, o.lane "
          + _TAKE + ":now")
_CLAIM_LANE = ("INSERT INTO lane_leases (platform, lane, owner, expires_at) "
               "VALUES (?, ?, ?, ?) " + _TAKE + "?")
_IN_LANE = ("SELECT 1 FROM outbox o WHERE o.platform = lane_leases.platform "
            "AND o.lane = lane_leases.lane{realms}")
_FOREIGN = ("SELECT min(expires_at) FROM lane_leases WHERE platform = :platform "
            f"AND owner <> :owner AND EXISTS ({_IN_LANE})")
_UNREAD = ("SELECT 1 FROM outbox o JOIN lane_leases l ON l.platform = o.platform "
           "AND l.lane = o.lane WHERE o.platform = :platform AND l.owner = :owner "
           "AND o.id > :after{realms} LIMIT 1")
_DELETE = "DELETE FROM outbox WHERE id IN ({marks})"
DONE_WAIT = 0.05  # seconds carried-out effects wait at most for a write to delete them with
_CHUNK = 240  # outbox rows in one INSERT (five parameters each)
_SCRUB = "scrub_after_outbox"  # meta key: checkpoint once outbox rows up to this id are gone
SORRY = _("Sorry, something went wrong on my side. Nothing was changed; please try again.")
_BIND = ("INSERT INTO platform_refs (platform, key, ref) VALUES (?, ?, ?) "
         "ON CONFLICT (platform, key) DO UPDATE SET ref = excluded.ref")


class _FastPathFailed(Exception):
    """Tracking a run of line messages, or a lone command, failed on the fast path (no
    savepoint)."""


@dataclass
class _Tally:
    """Running totals of one transaction: effects written, earliest job scheduled."""

    guarded: bool = True  # each run of line messages in a savepoint of its own
    lone: bool = False  # the batch is one event: unguarded, a command needs no savepoint
    written: int = 0
    earliest: datetime | None = None
    scrub: bool = False  # a handler asked for the WAL to be checkpointed after the commit
    replies: list[Delivery] = field(default_factory=list)  # replies written, as outbox rows
    fixed: turns.Fixed | None = None  # line messages only: what is known of their lines

    def add(self, ctx: Ctx) -> None:
        self.written += len(ctx.effects)
        self.scrub |= ctx.scrub
        job = ctx.earliest_job
        if job is not None and (self.earliest is None or job < self.earliest):
            self.earliest = job


def _left_key(platform: str, realm: str) -> str:
    """The ``meta`` key set once the trios of a realm the bot left were told (spelt again
    in SQL by :meth:`Twinome.realms_to_watch`)."""
    return f"realm_left:{platform}:{realm}"


def _named(event: CommandReceived) -> grammar.Command | None:
    """The command an event names, even if its arguments are wrong (its errors stay private)."""
    if event.typed is not None:
        return grammar.BY_NAME.get(event.typed.name)
    return grammar.command_of(event.text)


async def _as_is(tx: Tx, event: CommandReceived) -> tuple[bool, str | None]:
    """Whether the event's member is stored as :func:`queries.ensure_member` would leave
    them (known, same name and locale), and their language (chosen, else platform's)."""
    row = await tx.one("SELECT display_name, locale, coalesce(language, locale) FROM members "
                       "WHERE id = ?", (event.actor,))
    if row is None:
        return False, None
    name = clean_display_name(event.display_name)
    fresh = (name is None or name == row[0]) and (event.locale is None or event.locale == row[1])
    return fresh, row[2]


async def _one_notice_each(tx: Tx, effects: list[Effect]) -> list[Effect]:
    """An event's effects with at most one private notice per person (see :func:`coalesce`)."""
    notified = {e.to for e in effects if isinstance(e, Notify)}
    if not notified:
        return effects
    readers: dict[RoomId, frozenset[MemberId]] = {}
    for e in effects:
        if isinstance(e, Post) and e.room not in readers:
            room = await queries.room(tx, e.room)
            if room is not None:
                readers[e.room] = frozenset(room.pair or await queries.members(tx, room.trio_id))
    return coalesce(effects, readers)


async def _realms(tx: Tx, effects: list[Effect], settings: Settings) -> list[str | None]:
    """Each effect's realm: its room's trio's; a reply without a room goes where its author
    acts from (where the command was given, so the process that took it carries it); none
    for the others (direct notices, reports)."""
    found = await queries.room_trios(
        tx, [room for room in map(_room_of, effects) if room is not None])
    realms: list[str | None] = []
    for effect in effects:
        room = _room_of(effect)
        if isinstance(effect, CreateRoom):
            realms.append(effect.realm)
        elif room is not None:
            realms.append(found[room]["realm"] if room in found else None)
        elif isinstance(effect, Reply):
            realms.append(settings.realm_of(effect.to))
        else:
            realms.append(None)
    return realms


def _in_realms(realms: Collection[str | None]) -> tuple[str, dict[str, Any]]:
    """The condition on an outbox row's realm (``o.realm``): one of ``realms``, None among
    them meaning no realm; with its named parameters."""
    inside, params = among("realm", [realm for realm in realms if realm is not None])
    named = f"o.realm IN {inside}"
    return (f"({named} OR o.realm IS NULL)" if None in realms else named), params


def _mine(realms: Collection[str | None] | None, params: dict[str, Any]) -> str:
    """`` AND`` the realm condition of :func:`_in_realms` (its parameters added to
    ``params``), or nothing when a process carries every realm."""
    if realms is None:
        return ""
    clause, named = _in_realms(realms)
    params.update(named)
    return " AND " + clause


def _for_one_member(effect: Effect) -> bool:
    """Whether an effect is for one member alone, in their direct chat's lane (a private
    reply, a notice), which no room is needed to carry out."""
    return isinstance(effect, Reply | Notify) and lane_of(effect) == keys.dm_key(effect.to)


def _room_of(effect: Effect) -> RoomId | None:
    """The existing trio room or pair line an effect is about, if any (a room being made
    names its realm itself)."""
    if isinstance(effect, Notify | ReportToModerators | CreateRoom):
        return None
    return effect.room


def _answer(ctx: Ctx, event: CommandReceived, text: str, *, private: bool | None = None,
            choices: tuple[Choice, ...] = ()) -> Ctx:
    """A context whose only effect is an error reply to the event (its writes rolled back).

    An error is its author's business: typed in a shared room, only they see it.
    """
    private = (ctx.private or event.room is not None) if private is None else private
    reply = Reply(event.actor, event.room, event.event_id, text, private, True, event.origin,
                  choices, lang=ctx.language)
    return replace(ctx, effects=[reply], earliest_job=None, scrub=False)
