"""Turn-taking in each line: who owes whom a reply, relances and kind reminders.

Theory of operation. Each (line, member) has a row in ``line_state``. A member *owes* a
reply when someone else wrote after their last message; ``owes_since`` is the first such
message. When A writes (:func:`write`, pure):

* A's debt is paid: ``owes_since`` clears. A's reminder job, if any, is left in place:
  when it fires it finds nothing owed (deleting it at each reply would rewrite a job row
  and both its index entries, for most messages of a busy line);
* in a pair line, the other member, if they did not owe yet, starts owing now, with a
  reminder job (``remind:{room}:{member}``) due when their waiting time reaches the
  trio's patience. A job of theirs still there from an earlier debt, due sooner, is left
  as it is, for the same reason: it fires, finds the debt younger than the patience and
  plants itself again when it will be due. The trio room is the open 20%: nobody owes a
  reply there and no reminder is sent for it (only the relance note below applies);
* if someone has not written since A's previous message, A is *relancing* (``spoke_seq``
  orders the messages of a line, even within one second). With relance ``gentle`` A is
  told privately, once per streak, who has not answered yet; the streak ends when A
  writes after everyone else has answered.

Waiting time accrues only while the member is not away: ``accrued_s`` holds what was
counted before the last pause and ``accrual_from`` when counting (re)started, NULL while
paused. ``away`` and ``back`` call :func:`pause` and :func:`resume`. The reminder job
re-checks everything when it fires, so a stale job can only be late, never wrong: one
kind reminder per streak, held through quiet hours by ``ctx.notify``.

Line messages arrive in batches: :func:`on_line_messages` reads every affected line with
one query, applies the events in memory, then writes back with one statement per table.
Counters for ``stats``: ``messages``; ``initiations`` (a message into a line where nobody
owed anything); ``replies`` and ``reply_total_s`` (messages that paid a debt, and how long
after ``owes_since``).
"""

from __future__ import annotations

import functools
import itertools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from core import queries
from core.context import CommandHandler, Ctx, JobHandler
from core.effects import Notify
from core.events import LineMessage
from core.features_hooks import on_member_left
from core.i18n import _, _n, join, pick
from core.ids import MemberId, RoomId, TrioId
from core.model import Trio
from core.quiet import quiet_until
from core.storage.db import Plan, Row, Tx, among
from core.timeutil import dt, ts


@dataclass(slots=True)
class Seat:
    """One member's turn state in one line, with what notices to them need.

    The fields follow the columns of :data:`_LOAD` after the line's own.
    """

    member: MemberId
    name: str
    away: bool = False
    tz: str = "UTC"
    quiet_start: int | None = None
    quiet_end: int | None = None
    last_spoke_at: int | None = None
    spoke_seq: int = 0
    owes_since: int | None = None
    accrued_s: int = 0
    accrual_from: int | None = None
    reminded: bool = False
    relanced: bool = False
    messages: int = 0
    initiations: int = 0
    replies: int = 0
    reply_total_s: int = 0
    language: str | None = None  # chosen, else the platform's locale
    blocker: bool = False  # has blocked someone (who: see _blocks_among)
    stamp: str | None = None  # the versions of the rows it was read from (see Fixed)

    def waited(self, now: int) -> int:
        """Seconds of waiting counted in this streak (time away does not count)."""
        if self.owes_since is None:
            return 0
        running = 0 if self.accrual_from is None else max(0, now - self.accrual_from)
        return self.accrued_s + running


@dataclass(slots=True)
class Line:
    """A trio room or pair line and the seats of the members who belong in it."""

    id: RoomId
    trio_id: TrioId
    trio_name: str
    purpose: str
    patience_s: int
    relance: str
    seats: dict[MemberId, Seat] = field(default_factory=dict)

    def waiting_on(self, member: MemberId) -> list[Seat]:
        """Who wrote after ``member``'s last message and waits for their reply."""
        me = self.seats[member]
        if me.owes_since is None:
            return []
        later = [s for s in self.seats.values() if s.member != member and s.spoke_seq > me.spoke_seq]
        return sorted(later, key=lambda s: s.name)

    def where(self, viewer: MemberId) -> str:
        """The line as ``viewer`` calls it."""
        if self.purpose == "trio":
            return _("the trio room of “{trio}”", trio=self.trio_name)
        other = next((s.name for s in self.seats.values() if s.member != viewer), _("your ally"))
        return _("your line with {name} in “{trio}”", name=other, trio=self.trio_name)


@dataclass(frozen=True)
class Outcome:
    """What one message changed beyond the rows: jobs and notices to send."""

    paid: bool
    owing: list[Seat]
    silent: list[Seat]


def write(line: Line, writer: MemberId, at: int) -> Outcome:
    """Apply a message of ``writer`` at ``at`` to the line's state (no I/O)."""
    me = line.seats[writer]
    others = [s for s in line.seats.values() if s.member != writer]
    silent = sorted((s for s in others if s.spoke_seq < me.spoke_seq), key=lambda s: s.name)
    silent = silent if me.spoke_seq else []
    if line.purpose == "trio" and len(silent) < len(others):
        silent = []  # in the trio room, a relance is writing again before anyone answered
    tell = bool(silent) and line.relance == "gentle" and not me.relanced
    me.relanced = bool(silent) and (me.relanced or tell)
    me.messages += 1
    paid = me.owes_since is not None
    if me.owes_since is not None:
        me.replies += 1
        me.reply_total_s += max(0, at - me.owes_since)
    elif all(s.owes_since is None for s in others):
        me.initiations += 1
    me.owes_since, me.accrued_s, me.accrual_from, me.reminded = None, 0, None, False
    me.last_spoke_at = at
    me.spoke_seq = max(s.spoke_seq for s in line.seats.values()) + 1
    owing = []
    for s in others if line.purpose == "pair" else ():  # the trio room creates no debts
        if s.owes_since is None:
            s.owes_since, s.accrued_s, s.reminded = at, 0, False
            s.accrual_from = None if s.away else at
            owing.append(s)
    return Outcome(paid, owing, silent if tell else [])


# A seat's turn state as :data:`_LOAD` reads it (``line_state``, 0 for a member who never
# wrote there), in the order of :func:`turn_of`.
_TURN = ("ls.last_spoke_at", "coalesce(ls.spoke_seq, 0)", "ls.owes_since",
         "coalesce(ls.accrued_s, 0)", "ls.accrual_from", "coalesce(ls.reminded, 0)",
         "coalesce(ls.relanced, 0)", "coalesce(ls.messages, 0)", "coalesce(ls.initiations, 0)",
         "coalesce(ls.replies, 0)", "coalesce(ls.reply_total_s, 0)")
_BLOCKER = "EXISTS (SELECT 1 FROM blocks b WHERE b.blocker = m.id)"
_ROWS = ("r", "t", "tm", "m")  # the rows a line's read rests on, besides line_state and blocks
_FROM = """
FROM rooms r
JOIN trios t ON t.id = r.trio_id
JOIN trio_members tm ON tm.trio_id = r.trio_id
JOIN members m ON m.id = tm.member_id
LEFT JOIN line_state ls ON ls.room_id = r.id AND ls.member_id = tm.member_id
WHERE {where} AND r.state = 'open'
  AND (r.purpose = 'trio' OR tm.member_id IN (r.member_a, r.member_b))
"""
_LOAD = f"""
SELECT r.id, r.trio_id, t.name, r.purpose, t.patience_s, t.relance,
       m.id, coalesce(m.display_name, m.id),
       m.away_since IS NOT NULL AND coalesce(m.away_until > :now, TRUE),
       m.tz, m.quiet_start, m.quiet_end, {", ".join(_TURN)}, coalesce(m.language, m.locale),
       {_BLOCKER}, {{versions}}, m.away_since, m.away_until{_FROM}"""
# A line read as it was (see Fixed): as many seats as it had, each as it was (its rows'
# versions, its member, a block of theirs or not, its turn state) among the texts listed.
_SAME = (f"SELECT count(*) = :n AND coalesce(min(CASE WHEN {{versions}} || '|' || m.id || '|' "
         f"|| CASE WHEN {_BLOCKER} THEN '1' ELSE '0' END || '|' || "
         + " || '|' || ".join(f"coalesce(CAST({e} AS TEXT), '')" for e in _TURN)
         + " IN {listed} THEN 1 ELSE 0 END), 1) = 1" + _FROM.replace("{where}", "r.id = :room"))


@functools.lru_cache(maxsize=64)
def _load_sql(where: str, versions: str) -> str:
    """:data:`_LOAD` for ``where``, made once (the same text each time: a statement is
    looked up by its text)."""
    return _LOAD.format(where=where, versions=versions)


@functools.lru_cache(maxsize=16)
def _same_sql(versions: str, listed: str) -> str:
    return _SAME.format(versions=versions, listed=listed)


def _as_read(room: int, kept: tuple[Line, Any] | None, versions: str
             ) -> tuple[str, dict[str, Any]]:
    """The query that gives TRUE while ``room`` reads as ``kept`` (None: not open), and
    its parameters."""
    seats = [] if kept is None else list(kept[0].seats.values())
    listed, params = among("seat", [
        "|".join((s.stamp or "", s.member, "1" if s.blocker else "0",
                  *("" if v is None else str(v) for v in turn_of(s)))) for s in seats])
    return _same_sql(versions, listed), {**params, "room": room, "n": len(seats)}


def by_ids(rooms: Iterable[int]) -> tuple[str, dict[str, Any]]:
    """The ``where`` of :func:`load` for these rooms, and its parameters."""
    listed, params = among("room", sorted(rooms))
    return f"r.id IN {listed}", params


VISIBLE = "r.trio_id = :trio AND (r.purpose = 'trio' OR :viewer IN (r.member_a, r.member_b))"


async def load(tx: Tx, where: str, params: dict[str, Any], now: int) -> dict[RoomId, Line]:
    """The open lines matching ``where`` (see :func:`by_ids`, :data:`VISIBLE`), in one query."""
    rows = await tx.all(_load_sql(where, tx.versions(*_ROWS)), {**params, "now": now})
    return {room: line for room, (line, _) in _read(rows).items()}


def _read(rows: Iterable[Row]) -> dict[RoomId, tuple[Line, list[tuple[Seat, int, int | None]]]]:
    """The lines the rows of :data:`_LOAD` read, each with its seats whose member is or
    will be away (since, until)."""
    lines: dict[RoomId, tuple[Line, list[tuple[Seat, int, int | None]]]] = {}
    for row in rows:
        kept = lines.get(row[0])
        if kept is None:
            kept = lines[row[0]] = (Line(*row[:6]), [])
        seat = kept[0].seats[row[6]] = Seat(*row[6:-2])
        if row[-2] is not None:  # away, or will be
            kept[1].append((seat, row[-2], row[-1]))
    return lines


class Fixed:
    """The lines batches of line messages worked on, kept whole between batches.

    A line's trio (name, patience, relance), purpose and members (names, time zones, quiet
    hours, absences) change only through commands and jobs, never through line messages;
    its turn state changes only through line messages, which write back what they changed
    in memory. So after a batch of line messages commits, the :class:`Line` objects it
    worked on hold exactly what is stored, and the next batch may use them instead of
    reading them again (absences are re-dated at each batch: one may end with time). Who
    blocked whom among the members of the lines checked so far is kept too (a block is
    made or lifted by a command).

    This holds only across consecutive batches of line messages that all committed:
    :meth:`valid`, called at the start of each such batch's transaction, forgets
    everything unless the previous batch that used it said it committed (:meth:`settled`)
    and no other write transaction ran since (the database counts them, see
    ``Database.writes``) and no other connection committed (``Tx.version``). A run of
    line messages rolled back alone (a savepoint) must :meth:`forget` what it changed.
    Rooms not known yet are read whole, once (:func:`lines_of`).

    Where other processes write too (``Database.plans``), :meth:`stated` keeps it across
    batches that committed, and nothing is trusted without a check: a :class:`Plan`
    relies on the lines it knows, reads the others outside its transaction
    (:meth:`Plan.peek`), and states for each that it still reads as kept
    (:meth:`Plan.expect`: each row it rests on unchanged, by the versions of
    :meth:`Tx.versions`, and each seat's turn state as kept), which its one statement
    checks; an ordinary transaction reads every line afresh.
    """

    MAX_ROOMS = 50_000  # past this many rooms, those used least recently are dropped

    def __init__(self) -> None:
        # room -> (the line, its seats whose member is or will be away, with since/until);
        # None: the room is not open
        self.rooms: dict[int, tuple[Line, list[tuple[Seat, int, int | None]]] | None] = {}
        self.blocks: set[frozenset[MemberId]] = set()  # blocked pairs among the members of…
        self.checked: set[int] = set()  # …these rooms (a block is made by a command)
        self._writes = -1
        self._version: Any = None
        self._settled = False
        self.stating = False  # see stated
        self._handed: set[int] = set()  # rooms lines_of gave out since stated

    async def valid(self, tx: Tx, writes: int) -> Fixed:
        """This cache, emptied unless the transaction ``writes`` directly follows the last
        batch that used it, that batch committed and no other connection committed since."""
        version = await tx.version()
        if writes != self._writes + 1 or version != self._version or not self._settled:
            self.forget()
        self._trim()
        self._writes, self._version, self._settled = writes, version, False
        return self

    def stated(self) -> Fixed:
        """This cache where other processes write too: without the lines the last batch
        that used it worked on, unless it committed (they may hold what it changed in
        memory only); from now on its lines are checked, not trusted (see above)."""
        if not self._settled:
            for room in self._handed:
                self.rooms.pop(room, None)
        self._handed.clear()
        self._trim()
        self.stating, self._settled = True, False
        return self

    def settled(self) -> None:
        """The batch that last used this cache committed: its lines are what is stored."""
        self._settled = True

    def keep(self, rooms: Iterable[int], rows: Iterable[Row]) -> None:
        """Remember ``rooms`` as the rows of :data:`_LOAD` read them (a room without rows
        is not open)."""
        read = _read(rows)
        for room in rooms:
            self.rooms[room] = read.get(RoomId(room))

    def _trim(self) -> None:
        """Past :attr:`MAX_ROOMS`, drop the rooms used least recently, down to nine tenths
        (the rooms are kept in the order of their last use, see :func:`lines_of`)."""
        extra = len(self.rooms) - self.MAX_ROOMS
        if extra > 0:
            for room in list(itertools.islice(self.rooms, extra + self.MAX_ROOMS // 10)):
                del self.rooms[room]

    def handed(self, rooms: Iterable[int]) -> None:
        """Note lines given to a batch, which may change them in memory (see stated)."""
        self._handed.update(rooms)

    def forget(self) -> None:
        """Forget every line (what was changed in memory was rolled back in the database)."""
        self.rooms.clear()
        self.blocks.clear()
        self.checked.clear()
        self._handed.clear()


WARM_LINES = 10_000  # lines a process where others write too knows from its start


async def warm(tx: Tx, fixed: Fixed, now: int, limit: int = WARM_LINES) -> int:
    """Remember the ``limit`` lines written in last (where other processes write too: a
    plan checks what it relies on), so that a bot just started answers the first message
    of each with one round trip, as the next ones; how many were read."""
    where = ("r.id IN (SELECT room_id FROM line_state GROUP BY room_id "
             "ORDER BY coalesce(max(last_spoke_at), 0) DESC LIMIT :limit)")
    rows = await tx.all(_load_sql(where, tx.versions(*_ROWS)), {"now": now, "limit": limit})
    fresh = {row[0] for row in rows} - fixed.rooms.keys()  # a line known already is newer
    fixed.keep(fresh, [row for row in rows if row[0] in fresh])
    return len(fresh)


async def lines_of(tx: Tx, rooms: list[int], now: int, fixed: Fixed | None) -> dict[RoomId, Line]:
    """The open lines among ``rooms``; with ``fixed``, rooms read before cost no query,
    the others are read whole (one query for all) and remembered (where it is only
    :meth:`Fixed.stated`: a plan states what it relies on, an ordinary transaction reads
    every room afresh)."""
    if fixed is None:
        return await load(tx, *by_ids(rooms), now)
    known = fixed.rooms
    planned = isinstance(tx, Plan)
    missing = [room for room in rooms if not (room in known and (planned or not fixed.stating))]
    versions = tx.versions(*_ROWS)
    if missing:
        where, params = by_ids(missing)
        read = tx.peek if isinstance(tx, Plan) else tx.all
        fixed.keep(missing, await read(_load_sql(where, versions), {**params, "now": now}))
    lines: dict[RoomId, Line] = {}
    if fixed.stating:
        fixed.handed(rooms)
    for room in rooms:
        kept = known[room] = known.pop(room)  # used last: the last to be dropped
        if isinstance(tx, Plan):  # before the turn rule changes it
            tx.expect(*_as_read(room, kept, versions))
        if kept is None:
            continue
        line, absences = kept
        for seat, _since, until in absences:
            seat.away = until is None or until > now
        lines[line.id] = line
    return lines


_SAVE = """
INSERT INTO line_state (room_id, member_id, last_spoke_at, spoke_seq, owes_since, accrued_s,
    accrual_from, reminded, relanced, messages, initiations, replies, reply_total_s)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (room_id, member_id) DO UPDATE SET last_spoke_at = excluded.last_spoke_at,
    spoke_seq = excluded.spoke_seq, owes_since = excluded.owes_since,
    accrued_s = excluded.accrued_s, accrual_from = excluded.accrual_from,
    reminded = excluded.reminded, relanced = excluded.relanced, messages = excluded.messages,
    initiations = excluded.initiations, replies = excluded.replies,
    reply_total_s = excluded.reply_total_s
"""
_SCHEDULE = (  # a job due sooner is left as it is (see the module's header)
    "INSERT INTO jobs (due_at, kind, key, payload, platform) VALUES (?, 'remind', ?, ?, ?) "
    "ON CONFLICT (key) DO UPDATE SET due_at = excluded.due_at, kind = excluded.kind, "
    "payload = excluded.payload, platform = excluded.platform "
    "WHERE jobs.due_at > excluded.due_at"
)


def saved(seats: Iterable[tuple[RoomId, Seat]]) -> tuple[str, list[tuple[Any, ...]]]:
    """The statement that writes seats back to ``line_state``, with its rows."""
    return _SAVE, [(room, s.member, *turn_of(s)) for room, s in seats]


def turn_of(s: Seat) -> tuple[int | None, ...]:
    """A seat's turn state as ``line_state`` stores it (its columns after the keys)."""
    return (s.last_spoke_at, s.spoke_seq, s.owes_since, s.accrued_s, s.accrual_from,
            int(s.reminded), int(s.relanced), s.messages, s.initiations, s.replies,
            s.reply_total_s)


async def save(tx: Tx, seats: Iterable[tuple[RoomId, Seat]]) -> None:
    """Write seats back to ``line_state`` in one statement."""
    await tx.many(*saved(seats))


def job_key(room: RoomId, member: MemberId) -> str:
    """The key of the reminder job of ``member`` in ``room`` (lines cancel by its prefix)."""
    return f"remind:{room}:{member}"


class Jobs:
    """Reminder jobs to add or cancel, applied at the end with one statement each."""

    def __init__(self) -> None:
        self._plan: dict[str, tuple[int, str] | None] = {}

    def due(self, room: RoomId, member: MemberId, at: int) -> None:
        """Remind ``member`` in ``room`` at ``at``."""
        self._plan[job_key(room, member)] = (at, json.dumps({"room": room, "member": member}))

    def drop(self, room: RoomId, member: MemberId) -> None:
        """No reminder for ``member`` in ``room``."""
        self._plan[job_key(room, member)] = None

    def writes(self, ctx: Ctx) -> list[tuple[str, list[tuple[Any, ...]]]]:
        """The statements that write the plan to the ``jobs`` table, with their rows (as
        :meth:`Ctx.schedule` would, in bulk; each key once: they do not depend on one
        another), the earliest job planted told to ``ctx``."""
        drop = [(key,) for key, job in self._plan.items() if job is None]
        add = [(job[0], key, job[1], ctx.platform)
               for key, job in self._plan.items() if job is not None]
        if add:
            ctx.planted(dt(min(row[0] for row in add)))
        return [("DELETE FROM jobs WHERE key = ?", drop), (_SCHEDULE, add)]

    async def apply(self, ctx: Ctx) -> None:
        """Write the plan to the ``jobs`` table."""
        await ctx.tx.together(*self.writes(ctx))


async def tell(ctx: Ctx, seat: Seat, text: str) -> None:
    """A private notice to the seat's member, in their language; only notices held for
    quiet hours cost a query."""
    if quiet_until(seat.tz, seat.quiet_start, seat.quiet_end, ctx.now) is None:
        ctx.emit(Notify(seat.member, text, lang=pick(seat.language,
                                                     ctx.settings.default_language)))
    else:
        await ctx.notify(seat.member, text)


def names(said: Sequence[str]) -> str:
    """``Alice``, ``Alice and Bob``, ``Alice, Bob and Carol``."""
    if len(said) < 2:
        return join("", said)
    return _("{names} and {last}", names=join(", ", said[:-1]), last=said[-1])


def relance_text(line: Line, writer: MemberId, silent: Sequence[Seat]) -> str:
    """The kind private word to someone who writes again before the others answered."""
    if line.purpose == "trio":
        return _("Nobody has answered yet in {where}. No need to write again: the trio room is "
                 "open space, nobody owes a reply there.", where=line.where(writer))
    return _n("{names} has not answered yet in your private line in “{trio}”. No need to write "
              "again: silences are allowed. If it lasts more than {patience}, I will send "
              "{names} one kind reminder, so you never have to chase.",
              "{names} have not answered yet in your private line in “{trio}”. No need to write "
              "again: silences are allowed. If it lasts more than {patience}, I will send them "
              "one kind reminder, so you never have to chase.",
              len(silent), names=names([s.name for s in silent]), trio=line.trio_name,
              patience=timedelta(seconds=line.patience_s))


def reminder_text(line: Line, seat: Seat, waiting: Sequence[Seat], now: int, prefix: str) -> str:
    """The one kind reminder to someone whose silence passed the trio's patience."""
    return _n("A gentle word: {names} wrote to you in {where} {ago} ago and is looking forward "
              "to your reply. No pressure, answer when you can. If life is busy, {p}away for 3d "
              "lets them know (add a note if you like).",
              "A gentle word: {names} wrote to you in {where} {ago} ago and are looking forward "
              "to your reply. No pressure, answer when you can. If life is busy, {p}away for 3d "
              "lets them know (add a note if you like).",
              len(waiting), names=names([s.name for s in waiting]),
              where=line.where(seat.member), p=prefix,
              ago=timedelta(seconds=max(0, now - (seat.owes_since or now))))


async def on_line_messages(ctx: Ctx, events: Sequence[LineMessage],
                           fixed: Fixed | None = None) -> None:
    """A batch of line messages: one read, the turn rule in memory, one write per table
    (``fixed``: what is known of the lines already, see :class:`Fixed`)."""
    now = ts(ctx.now)
    lines = await lines_of(ctx.tx, sorted({int(e.room) for e in events}), now, fixed)
    dirty: dict[tuple[RoomId, MemberId], Seat] = {}
    jobs = Jobs()
    blocked: set[frozenset[MemberId]] | None = None  # read once, when a relance first needs it
    for event in events:
        line = lines.get(event.room)
        if line is None or event.actor not in line.seats:
            continue  # not a member, or the line is closed or unknown: nothing to track
        at = now if event.at is None else ts(event.at)
        me = line.seats[event.actor]
        out = write(line, event.actor, at)  # a paid debt's job is left to lapse (see above)
        dirty[(line.id, event.actor)] = me
        for seat in out.owing:
            dirty[(line.id, seat.member)] = seat
            if seat.accrual_from is not None:
                jobs.due(line.id, seat.member, at + line.patience_s)
        if blocked is None and out.silent and (me.blocker or any(s.blocker for s in out.silent)):
            blocked = await _blocks_among(ctx.tx, lines.values(), fixed)  # a pair blocked?
        silent = [s for s in out.silent if frozenset((s.member, event.actor)) not in (blocked or ())]
        if silent:
            await tell(ctx, line.seats[event.actor], relance_text(line, event.actor, silent))
    # Each seat once, each job key once, in two tables: writes that do not depend on one
    # another, nor anything after them, sent with the relance notices.
    ctx.write_last(saved((room, seat) for (room, _), seat in dirty.items()), *jobs.writes(ctx))


async def _blocks_among(tx: Tx, lines: Iterable[Line],
                        fixed: Fixed | None = None) -> set[frozenset[MemberId]]:
    """The pairs with a block between them among the members of ``lines`` (at least), in
    one query; with ``fixed`` (unless only stated), only for the lines it has not
    checked yet."""
    if fixed is not None and fixed.stating:
        fixed = None  # a block between two members is no row a line's read rests on
    if fixed is not None:
        lines = [line for line in lines if line.id not in fixed.checked]
        if not lines:
            return fixed.blocks
    people, params = among("p", sorted({m for line in lines for m in line.seats}))
    rows = await tx.all(
        f"SELECT blocker, blocked FROM blocks WHERE blocker IN {people} AND blocked IN {people}",
        params)
    found = {frozenset((MemberId(r[0]), MemberId(r[1]))) for r in rows}
    if fixed is None:
        return found
    fixed.blocks |= found
    fixed.checked.update(line.id for line in lines)
    return fixed.blocks


async def remind(ctx: Ctx, payload: dict[str, Any]) -> None:
    """Job: a silence may have passed the trio's patience; send the one kind reminder."""
    room, member, now = RoomId(payload["room"]), MemberId(payload["member"]), ts(ctx.now)
    line = (await load(ctx.tx, *by_ids([room]), now)).get(room)
    if line is None or member not in line.seats or line.purpose != "pair":
        return
    seat = line.seats[member]
    if seat.owes_since is None or seat.reminded or seat.away:
        return  # answered, already reminded, or paused (``back`` reschedules)
    waiting = line.waiting_on(member)
    left = line.patience_s - seat.waited(now)
    if left > 0 or not waiting:
        if waiting:
            await ctx.schedule("remind", job_key(room, member), dt(now + left), payload)
        return
    waiting = [s for s in waiting if not await queries.blocked_between(ctx.tx, s.member, member)]
    if not waiting:
        return  # only someone with a block between them is waiting: no reminder, ever
    seat.reminded = True
    await save(ctx.tx, [(room, seat)])
    await ctx.notify(member, reminder_text(line, seat, waiting, now, ctx.prefix))


async def patience_changed(ctx: Ctx, trio_id: int) -> None:
    """The trio's patience changed: pending reminders re-check at once (and reschedule)."""
    await ctx.tx.run(
        "UPDATE jobs SET due_at = CASE WHEN due_at < ? THEN due_at ELSE ? END WHERE key IN (SELECT 'remind:' || ls.room_id "
        "|| ':' || ls.member_id FROM line_state ls JOIN rooms r ON r.id = ls.room_id "
        "WHERE r.trio_id = ? AND r.state = 'open' AND ls.owes_since IS NOT NULL)",
        (ts(ctx.now), ts(ctx.now), trio_id))


async def pause(ctx: Ctx, member: MemberId) -> None:
    """``member`` is away: waiting time stops accruing and their reminders are cancelled."""
    await ctx.tx.run(
        "DELETE FROM jobs WHERE key IN (SELECT 'remind:' || room_id || ':' || member_id "
        "FROM line_state WHERE member_id = ? AND owes_since IS NOT NULL)", (member,))
    await ctx.tx.run(
        "UPDATE line_state SET accrued_s = accrued_s + CASE WHEN accrual_from < ? "
        "THEN ? - accrual_from ELSE 0 END, accrual_from = NULL WHERE member_id = ? "
        "AND owes_since IS NOT NULL AND accrual_from IS NOT NULL",
        (ts(ctx.now), ts(ctx.now), member))


async def resume(ctx: Ctx, member: MemberId) -> int:
    """``member`` is back: waiting time accrues again and reminders are rescheduled.

    Returns in how many lines someone is waiting for them.
    """
    now = ts(ctx.now)
    rows = await ctx.tx.all(
        "SELECT ls.room_id, ls.accrued_s, ls.reminded, t.patience_s FROM line_state ls "
        "JOIN rooms r ON r.id = ls.room_id JOIN trios t ON t.id = r.trio_id "
        "WHERE ls.member_id = ? AND ls.owes_since IS NOT NULL AND ls.accrual_from IS NULL "
        "AND r.state = 'open'", (member,))
    await ctx.tx.run(
        "UPDATE line_state SET accrual_from = ? WHERE member_id = ? AND owes_since IS NOT NULL "
        "AND accrual_from IS NULL", (now, member))
    jobs = Jobs()
    for row in rows:
        if not row["reminded"]:
            jobs.due(RoomId(row["room_id"]), member,
                     now + max(0, row["patience_s"] - row["accrued_s"]))
    await jobs.apply(ctx)
    return int(await ctx.tx.value(
        "SELECT count(*) FROM line_state WHERE member_id = ? AND owes_since IS NOT NULL",
        (member,)))


@on_member_left
async def _forget_debts_to_leaver(ctx: Ctx, trio: Trio, member: MemberId) -> None:
    """Someone left: in the trio room, nobody owes a reply to them alone any more."""
    room = await queries.trio_room(ctx.tx, trio.id)
    if room is None:
        return
    line = (await load(ctx.tx, *by_ids([room.id]), ts(ctx.now))).get(room.id)
    if line is None:
        return
    jobs, cleared = Jobs(), []
    for seat in line.seats.values():
        if seat.owes_since is not None and not line.waiting_on(seat.member):
            seat.owes_since, seat.accrued_s, seat.accrual_from = None, 0, None
            cleared.append((line.id, seat))
            jobs.drop(line.id, seat.member)
    if cleared:
        await save(ctx.tx, cleared)
    await jobs.apply(ctx)


COMMANDS: dict[str, CommandHandler] = {}
JOBS: dict[str, JobHandler] = {"remind": remind}
