"""The delivery pump: carries one platform's outbox out through its carrier, in order.

Theory of operation. A pass reads the platform's pending effects oldest first and hands
each to the carrier (:mod:`bots.adapter.carrier`), with the platform references looked
up in :class:`bots.adapter.bindings.Bindings`. Effects travel in lanes (a room, a
member's direct chat: :func:`core.effects.lane_of`): once an effect of a lane cannot be
carried out now, the later effects of that lane wait too, so each room keeps its order.

Outcomes: *done* effects are marked done in batches (with the bindings they made, in the
same transaction); a *retry* counts a failure in the outbox row (a restart keeps
counting) and the lane waits until the retry time; after :data:`MAX_FAILURES` the effect
is given up with a warning; a *wait* records since when (in the row, so a restart does
not reset it) and after :data:`HOLD_LIMIT` the effect is carried out without the hold;
*failed* effects are dropped with a warning (a safety report that could not reach a
moderators' room stays stored as undelivered; a carried-out one is marked delivered with
its row's deletion; a dropped notice its member should hear of is counted for them in
the same transaction, :meth:`core.service.Twinome.done`, so a restart still tells them).
Log lines name effects by kind and id only.

Each effect's idempotency key (``tw<database instance>-<outbox id>``) never changes, so
a carrier that passes it to its platform (a Matrix transaction id, a Discord nonce)
makes a re-send after a crash between carrying out and marking done a no-op.

A caller that must answer a command quickly (a Discord interaction, which expects an
answer within seconds) claims the command's event ids before submitting it
(:meth:`claim`), then carries the replies the runtime hands back itself (:meth:`carry`):
the reply is durable before it is sent, as always, but goes out at once, without waiting
for a pass to read it back. While claimed, a pass leaves those replies (and the later
effects of their lanes) alone, so nothing is carried out twice and each lane keeps its
order; the claim ends after the carry, and the pump is woken if it held anything back
behind a claimed reply, or could not carry one out.
A pass that read the outbox before the carry marked its rows done still knows them
(the last :data:`MAX_CARRIED` carried ids) and skips them.

Several processes on one database (``Database.shared``, PostgreSQL) share the outbox by
lanes: a pass first leases the lanes of the waiting effects that no other live process
holds (:meth:`core.service.Twinome.claim`, under this pump's random owner id), reads only
the effects of its own lanes, renews its leases once half of one is gone (it stops
carrying out before one could lapse), and at its end lets go of the lanes it emptied; if
its lanes got effects it has not read meanwhile, it passes again. A pass that saw lanes
leased by another looks again when that lease ends: if the other process died, its lanes
are taken over then, and what it carried out but did not mark done goes out again under
the same idempotency key. An idle pump still looks every half lease, for the effects of a
process that died before it claimed them. A caller carrying its replies leases their
lanes first, and leaves to the pumps those another process holds. Alone on a database
(SQLite), a pump claims nothing: no write beyond its marks.

Leases are written in the database's clock (``Database.clock_ms``), not each process's:
processes on machines whose clocks disagree still agree on when a lease ends. A pump
measures how far its own clock is from the database's when it first claims, and again
every :data:`SKEW_EVERY` seconds, and reckons the database's time from its own between.

The pump runs as a task (:meth:`start`) that sleeps until woken (the runtime wakes it
when a commit wrote effects; a carrier when a condition may have changed), until the
earliest retry, or for :data:`POLL` seconds while something waits on a condition the
carrier cannot watch (a :class:`Wait` without ``recheck``). :meth:`drain` runs
passes in the caller's task instead (the console, tests).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import replace

from bots.adapter.bindings import Bindings
from bots.adapter.carrier import (
    Carrier,
    Direct,
    Done,
    Failed,
    InRoom,
    Moderators,
    Notice,
    Outcome,
    Retry,
    Wait,
)
from core import keys
from core.effects import (
    CloseRoom,
    CreateRoom,
    Effect,
    InviteToRoom,
    Notify,
    Post,
    RemoveFromRoom,
    Reply,
    ReportToModerators,
    lane_of,
)
from core.i18n import SOURCE
from core.ids import MemberId, RoomId
from core.service import Delivery, Twinome

log = logging.getLogger("twinome.delivery")

MAX_FAILURES = 3
HOLD_LIMIT = 24 * 3600.0  # seconds an effect may wait for a condition before it goes anyway
POLL = 2.0  # seconds between passes while something waits for a condition
FLUSH_EVERY = 50  # done effects marked in one transaction
PAGE = 200
MAX_CARRIED = 1000  # outbox ids carried by callers that a pass still recognises
LEASE = 60.0  # seconds a lease on lanes lasts unless renewed (a dead process's lanes wait so long)
SKEW_EVERY = 600.0  # seconds between two measures of this clock against the database's


def backoff(attempt: int) -> float:
    """Seconds before retry number ``attempt`` (1, 2, …) when the platform gave no delay."""
    return float(min(2 ** attempt, 300))


class Pump:
    """Carries out the outbox of one platform through its carrier."""

    def __init__(self, core: Twinome, carrier: Carrier, bindings: Bindings, *,
                 flush_every: int = FLUSH_EVERY, lease: float = LEASE,
                 wall_ms: Callable[[], int] = lambda: int(time.time() * 1000),
                 database_clock: bool = True,
                 realms: Callable[[], Collection[str | None]] | None = None,
                 on_dropped: Callable[[Sequence[MemberId]], None] | None = None) -> None:
        self.core = core
        self.carrier = carrier
        self.bindings = bindings
        self.platform = carrier.platform
        self.flush_every = flush_every
        self.wall_ms = wall_ms
        self.owner = secrets.token_hex(8)  # whose leases this pump's are (a new one each start)
        self.lease_ms = int(lease * 1000)
        self._lease_until = 0  # when this pump's leases end unless renewed (Unix ms, leases' clock)
        # Leases in the database's clock (False: in ``wall_ms``, for a test that moves it).
        self.database_clock = database_clock
        self._skew = 0  # the database's clock minus this one's (ms), last measured…
        self._skew_at: float | None = None  # …at this monotonic time
        self.realms = realms  # which realms' effects to carry (see Twinome.pending); None: all
        self.on_dropped = on_dropped  # told who is owed word of a dropped notice, once stored
        self.waiting = 0  # effects held back at the end of the last pass
        self._polls = False  # the last pass met a wait that only a poll would see end
        self.passes = 0  # passes run so far (for tests)
        self._instance: str | None = None
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._next_retry: int | None = None
        self._done: list[int] = []
        self._binds: list[tuple[str, str, str]] = []
        self._reports: list[int] = []  # safety reports carried out (reached the moderators)
        self._dropped: list[MemberId] = []  # members to tell of a notice dropped (one each)
        self._claimed: set[str] = set()  # event ids whose replies a caller carries out
        self._held_for_claim = False  # a pass left an effect alone because of a claim
        self._carried: OrderedDict[int, None] = OrderedDict()  # outbox ids a caller carried

    def wake(self) -> None:
        """Run a pass soon (new effects, or a condition that may have changed)."""
        self._wake.set()

    @property
    def woken(self) -> bool:
        """Whether a pass is asked for and has not begun yet."""
        return self._wake.is_set()

    async def start(self) -> None:
        """Run passes in a task of their own until :meth:`stop`."""
        self._task = asyncio.create_task(self._loop(), name=f"twinome-pump-{self.platform}")

    async def stop(self) -> None:
        """Stop the task (an effect in flight is carried out again on the next start)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.core.flush_done()
        if self.core.db.shared:  # another process may take this one's lanes at once
            try:
                await self.core.release(self.platform, self.owner)
            except Exception:  # they lapse on their own
                log.exception("the leases on %s lanes could not be let go", self.platform)

    async def resend_reports(self) -> None:
        """Queue again the reports that never reached the moderators (call when there is a room)."""
        if await self.core.resend_reports(self.platform):
            self.wake()

    def claim(self, event_ids: Iterable[str]) -> None:
        """Leave the replies to these events to the caller, who carries them (:meth:`carry`)."""
        self._claimed.update(event_ids)

    async def carry(self, replies: Sequence[Delivery], event_ids: Iterable[str]) -> None:
        """Carry out claimed replies now, in the caller's task, then end the claim."""
        try:
            if self._instance is None:
                self._instance = await self.core.instance()
            held = await self._lease_lanes(replies)
            for delivery in replies:
                if held is not None and lane_of(delivery.effect) not in held:
                    self._held_for_claim = True  # another process's lane: its pump's job
                elif await self._deliver(delivery):
                    self._carried[delivery.id] = None
                else:
                    self._held_for_claim = True  # it waits or is retried: the pump's job now
            await self._flush(soon=held is None)
            if held and await self.core.release(self.platform, self.owner,
                                                max(d.id for d in replies)):
                self._held_for_claim = True  # their lanes hold more: a pass carries it
        finally:
            while len(self._carried) > MAX_CARRIED:
                self._carried.popitem(last=False)
            self._claimed.difference_update(event_ids)
            if self._held_for_claim:
                self._held_for_claim = False
                self.wake()

    async def _lease_lanes(self, replies: Sequence[Delivery]) -> set[str] | None:
        """Lease the lanes of replies a caller carries; the lanes now held (None: alone on
        the database, every lane is this process's)."""
        if not self.core.db.shared:
            return None
        now = await self._lease_clock()
        lanes = sorted({lane_of(d.effect) for d in replies})
        return await self.core.claim_lanes(self.platform, self.owner, lanes, now,
                                           now + self.lease_ms)

    async def drain(self, passes: int = 10) -> None:
        """Run passes until one makes no progress (for callers that own the timing)."""
        for _ in range(passes):
            if not await self.run_once():
                return

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                await self.run_once()
            except Exception:  # the database hiccuped: keep the pump alive, try again later
                log.exception("a delivery pass failed")
                self._next_retry = self.wall_ms() + 1000
            with contextlib.suppress(TimeoutError):  # not wait_for: it may swallow a cancel
                async with asyncio.timeout(self._timeout()):
                    await self._wake.wait()

    def _timeout(self) -> float | None:
        """How long to sleep: until the next retry, a poll while waiting, or until woken."""
        delays = []
        if self._next_retry is not None:
            delays.append(max(self._next_retry - self.wall_ms(), 0) / 1000)
        if self._polls:
            delays.append(POLL)
        if self.core.db.shared:  # effects of a process that died before it claimed them
            delays.append(self.lease_ms / 2000)
        return min(delays) if delays else None

    async def run_once(self) -> bool:
        """One pass over the pending effects; True if any was carried out or dropped."""
        if self._instance is None:
            self._instance = await self.core.instance()
        blocked: set[str] = set()
        claimed_lanes: set[str] = set()  # lanes held back behind a claimed reply
        progress = False
        self.passes += 1
        self.waiting = 0
        self._polls = False
        self._next_retry = None
        realms = None if self.realms is None else self.realms()
        owner = await self._claim(realms)
        after = 0
        lapsing = False  # the leases could lapse before the next effect is carried out
        while page := await self.core.pending(self.platform, PAGE, after, owner=owner,
                                              realms=realms):
            for delivery in page:
                if owner is not None and not await self._still_leased():
                    lapsing = True
                    break
                after = delivery.id
                lane = lane_of(delivery.effect)
                if delivery.id in self._carried:
                    continue  # read before its caller marked it done
                if self._claimed and _claimed(delivery.effect, self._claimed):
                    claimed_lanes.add(lane)  # its caller carries it out
                    blocked.add(lane)
                    continue
                if lane in blocked:
                    self._held_for_claim |= lane in claimed_lanes
                    self.waiting += 1
                    continue
                if delivery.retry_at is not None and delivery.retry_at > self.wall_ms():
                    self._retry_at(delivery.retry_at)
                    blocked.add(lane)
                    self.waiting += 1
                    continue
                if await self._deliver(delivery):
                    progress = True
                else:
                    blocked.add(lane)
                    self.waiting += 1
            if lapsing or len(page) < PAGE:
                break
        await self._flush()
        if owner is not None and (
                await self.core.release(self.platform, owner, after, realms=realms)
                or lapsing):
            self.wake()  # effects came into its lanes meanwhile, or the leases need renewing
        return progress

    async def _claim(self, realms: Collection[str | None] | None) -> str | None:
        """Lease the free lanes with waiting effects (of these realms); the owner id the
        pass reads as (None: alone on the database, the pass reads every lane)."""
        if not self.core.db.shared:
            return None
        now = await self._lease_clock()
        self._lease_until = now + self.lease_ms
        ends = await self.core.claim(self.platform, self.owner, now, self._lease_until,
                                     realms=realms)
        if ends is not None:  # another's lease ends then: its lanes, if it died
            self._retry_at(ends - self._skew)
        return self.owner

    async def _lease_clock(self) -> int:
        """Now in the clock leases are written in: the database's, as this process reckons
        it from its own (measured again every :data:`SKEW_EVERY` seconds)."""
        if self.database_clock and (self._skew_at is None
                                    or time.monotonic() - self._skew_at > SKEW_EVERY):
            before = self.wall_ms()
            database = await self.core.db.clock_ms()
            self._skew = database - (before + self.wall_ms()) // 2
            self._skew_at = time.monotonic()
        return self.wall_ms() + self._skew

    async def _still_leased(self) -> bool:
        """Whether this pass may go on carrying out its lanes: the leases are renewed once
        half of one is gone; False once they may have lapsed (another may hold them)."""
        now = self.wall_ms() + self._skew
        if now < self._lease_until - self.lease_ms // 2:
            return True
        if now >= self._lease_until:
            return False
        until = now + self.lease_ms
        await self.core.renew(self.platform, self.owner, until)
        self._lease_until = until
        return True

    async def _deliver(self, delivery: Delivery) -> bool:
        """Carry one effect out; True if it is done with (carried out or given up)."""
        force = delivery.waiting_since is not None and (
            self.wall_ms() - delivery.waiting_since > HOLD_LIMIT * 1000)
        try:
            outcome = await self._carry(delivery, force)
        except Exception as err:  # a carrier bug or an unexpected platform answer
            log.exception("effect %s (%s) raised", delivery.id, delivery.effect.kind)
            outcome = Retry(type(err).__name__)
        if isinstance(outcome, Done):
            await self._finished(delivery, outcome)
            return True
        if isinstance(outcome, Failed):
            log.warning("effect %s (%s) dropped: %s", delivery.id, delivery.effect.kind,
                        outcome.reason)
            if outcome.tell is not None:
                self._dropped.append(outcome.tell)
            await self._finished(delivery, None)
            return True
        if isinstance(outcome, Wait):
            if outcome.recheck is None:
                self._polls = True
            else:
                self._retry_at(self.wall_ms() + int(outcome.recheck * 1000))
            if delivery.waiting_since is None:
                await self.core.note_waiting(delivery.id, self.wall_ms())
            return False
        return await self._failed(delivery, outcome)

    async def _failed(self, delivery: Delivery, outcome: Retry) -> bool:
        attempts = delivery.attempts + 1
        if attempts >= MAX_FAILURES:
            log.warning("effect %s (%s) dropped after %d failures: %s", delivery.id,
                        delivery.effect.kind, attempts, outcome.reason)
            await self._finished(delivery, None)
            return True
        delay = outcome.after if outcome.after is not None else backoff(attempts)
        retry_at = self.wall_ms() + int(delay * 1000)
        log.warning("effect %s (%s) failed (%d/%d), retrying in %.1fs: %s", delivery.id,
                    delivery.effect.kind, attempts, MAX_FAILURES, delay, outcome.reason)
        await self.core.note_failure(delivery.id, attempts, retry_at)
        self._retry_at(retry_at)
        return False

    def _retry_at(self, when: int) -> None:
        if self._next_retry is None or when < self._next_retry:
            self._next_retry = when

    async def _finished(self, delivery: Delivery, done: Done | None) -> None:
        self._done.append(delivery.id)
        effect = delivery.effect
        if done is not None and done.ref is not None and isinstance(effect, CreateRoom):
            key = keys.room_key(effect.room)
            self._binds.append((self.platform, key, done.ref))
            self.bindings.remember(key, done.ref)
            await self._flush()  # a new room's binding is made durable at once
            return
        if done is not None and isinstance(effect, ReportToModerators) and effect.report:
            self._reports.append(effect.report)  # a Failed one stays undelivered, stored
        if len(self._done) >= self.flush_every or self._dropped:  # the member hears at once
            await self._flush()

    async def _flush(self, *, soon: bool = False) -> None:
        """Mark what was carried out done; ``soon``: plain deliveries may wait for the
        core's next write (a caller answering a command does not delay the next one),
        and passes meanwhile skip them as carried."""
        if self._done or self._binds:
            done, binds, reports, dropped = self._done, self._binds, self._reports, self._dropped
            self._done, self._binds, self._reports, self._dropped = [], [], [], []
            if soon and not binds and not reports and not dropped:
                self._carried.update((i, None) for i in done)
                await self.core.done_soon(done)
                return
            await self.core.done(done, binds, reports, dropped)
            if dropped and self.on_dropped is not None:
                self.on_dropped(dropped)  # after the commit: a telling never precedes it

    def key(self, delivery: Delivery) -> str:
        """The effect's idempotency key, the same across restarts."""
        return f"tw{self._instance}-{delivery.id}"

    async def _carry(self, delivery: Delivery, force: bool) -> Outcome:
        effect = delivery.effect
        key = self.key(delivery)
        if isinstance(effect, CreateRoom):
            if await self.bindings.room(effect.room) is not None:
                return Done()  # created before a restart, bound, not yet marked done
            return await self.carrier.create_room(effect, key)
        if isinstance(effect, ReportToModerators):
            return await self.carrier.send(Moderators(), Notice(effect.text, key))
        if isinstance(effect, Reply | Notify):
            room = _public_room(effect)
            if room is None:
                waited = None if delivery.waiting_since is None else max(
                    self.wall_ms() - delivery.waiting_since, 0) / 1000
                return await self.carrier.send(Direct(effect.to),
                                               replace(_notice(effect, key), waited=waited))
        else:
            room = effect.room
        ref = await self.bindings.room(room)
        if ref is None:
            return Failed(f"core room {room} has no {self.platform} room")
        return await self._in_room(effect, ref, key, force)

    async def _in_room(self, effect: Effect, ref: str, key: str, force: bool) -> Outcome:
        if isinstance(effect, Reply | Notify):
            return await self.carrier.send(InRoom(ref), _notice(effect, key))
        if isinstance(effect, Post):
            return await self.carrier.send(InRoom(ref), Notice(effect.text, key,
                                                               choices=effect.choices,
                                                               hold=not force,
                                                               lang=_lang(effect.lang)))
        if isinstance(effect, InviteToRoom):
            return await self.carrier.invite(ref, effect.member)
        if isinstance(effect, RemoveFromRoom):
            return await self.carrier.remove(ref, effect.member, effect.reason)
        if isinstance(effect, CloseRoom):
            return await self.carrier.close(ref, Notice(effect.reason, key, hold=not force))
        raise TypeError(f"no route for {effect.kind}")


def _notice(effect: Reply | Notify, key: str) -> Notice:
    """The notice a reply or a private notice is."""
    if isinstance(effect, Notify):
        return Notice(effect.text, key, choices=effect.choices, private=True,
                      lang=_lang(effect.lang))
    return Notice(effect.text, key, reply_to=effect.in_reply_to, origin=effect.origin,
                  private=effect.private, error=effect.error, choices=effect.choices,
                  attachment=effect.attachment, lang=_lang(effect.lang))


def _lang(said_in: str) -> str:
    """The language an effect's words were said in (English for one stored before it was kept)."""
    return said_in or SOURCE


def _claimed(effect: Effect, claimed: set[str]) -> bool:
    """Whether an effect is a reply a caller claimed."""
    return isinstance(effect, Reply) and effect.in_reply_to in claimed


def _public_room(effect: Reply | Notify) -> RoomId | None:
    """The trio room or pair line a reply is shown in, if it is shown in one."""
    if isinstance(effect, Reply) and effect.room is not None and not effect.private:
        return effect.room
    return None
