"""The console adapter: named people typing against the real core and a real database.

Theory of operation. Each input line becomes one core event (a command, or an ordinary
message of which only who/where/when is passed on), applied by ``Twinome.handle`` in
one transaction. The console then carries out the outbox: prints each effect, then marks
it done; effects left pending by a run that died are printed first at the next start.
Event ids are ``console:<n>:<digest>``: ``n`` is a counter stored once the event's
effects are shown, and the digest names who typed where (and the command, never a
message text), so the same line typed again after a crash in between gets the same id
and is not applied twice, while any other line is applied as usual.
The clock is a fake one, stored beside the rooms, that moves only with ``:advance``;
jobs that come due on the way fire at their due time, in order.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from pathlib import Path

from bots.console import inputs
from bots.console.output import Shown, Sink
from bots.console.rooms import PLATFORM, RoomBook, dm_name
from core.clock import FakeClock
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
)
from core.errors import ParseError
from core.events import CommandReceived, Event, LineMessage
from core.ids import MemberId, RoomId
from core.service import Twinome
from core.storage.db import Database
from core.textrules import parse_duration
from core.timeutil import dt, show, ts

MODERATORS = "moderators"
_CODE = re.compile(r"\b[A-HJ-NP-Z2-9]{4}(?:-[A-HJ-NP-Z2-9]{4}){3}\b")
_MAX_STEPS = 10_000


class Console:
    """Plays input lines against a :class:`Twinome` and shows the effects to a sink."""

    def __init__(self, core: Twinome, clock: FakeClock, sink: Sink, seq: int) -> None:
        self.core = core
        self.clock = clock
        self.sink = sink
        self.rooms = RoomBook(core)
        self._seq = seq
        self._last_code: str | None = None
        self._shown_at: datetime | None = None

    async def start(self) -> None:
        """Deliver what a previous run left in the outbox, then anything already due."""
        await self.rooms.load()
        await self.deliver()
        await self._fire_until(self.clock.now())

    async def feed(self, line: str) -> bool:
        """Play one input line; False once the console is asked to quit."""
        line = line.rstrip("\r\n")
        if not line.strip() or line.lstrip().startswith("#"):
            return True
        self.sink.echo(line)
        try:
            item = inputs.read(line)
        except inputs.InputError as err:
            self._complain(str(err))
            return True
        if isinstance(item, inputs.Directive):
            return await self._directive(item)
        await self._say(item)
        return True

    # -- input ---------------------------------------------------------------

    async def _directive(self, item: inputs.Directive) -> bool:
        if item.name == "quit":
            return False
        if item.name == "help":
            self.sink.show(Shown("info", None, inputs.help_text()))
        elif item.name == "now":
            self._show_clock()
        elif item.name == "rooms":
            rooms = await self.rooms.listing()
            for name, members in rooms:
                self.sink.show(Shown("info", name, ", ".join(members) or "(closed)",
                                     audience=tuple(members)))
            if not rooms:
                self.sink.show(Shown("info", None, "No rooms yet: they open when a trio has "
                                                   "its three members."))
        else:
            await self._advance(item.arg)
        return True

    async def _advance(self, arg: str) -> None:
        try:
            delta = parse_duration(arg or "?", least=timedelta(minutes=1),
                                   most=timedelta(days=366), what="duration")
        except ParseError as err:
            self._complain(err.message + (f" {err.hint}" if err.hint else ""))
            return
        target = self.clock.now() + delta
        await self._fire_until(target)
        self.clock.set(target)
        await self._save_clock()
        if self._shown_at != target:
            self._show_clock()

    async def _say(self, say: inputs.Say) -> None:
        text = self._expand(say.text)
        if text is None:
            return
        user = MemberId(say.user)
        if say.room is None or say.room == dm_name(say.user):
            await self._show_new_dm(say.user)
            command = text[1:] if text[:1] in "!/" else text
            await self._apply(CommandReceived(self._event_id(say.user, None, command), user,
                                              None, command, say.user.capitalize()))
            return
        room = await self._enter(say.user, say.room)
        if room is None:
            return
        if text[:1] in "!/":
            await self._apply(CommandReceived(self._event_id(say.user, room, text[1:]), user,
                                              room, text[1:], say.user.capitalize()))
            return
        audience = sorted(await self.rooms.members(room))
        self.sink.show(Shown("message", say.room, None, audience=tuple(audience), sender=say.user))
        await self._apply(LineMessage(self._event_id(say.user, room, None), user, room))

    async def _enter(self, user: str, name: str) -> RoomId | None:
        """The room ``user`` may write in under ``name``, or None after saying why not."""
        if name.startswith("dm:"):
            self._complain(f"{name} is {name[3:]}'s direct chat with the bot; only they write "
                           f"there (as “{name[3:]}: …”).")
            return None
        room = await self.rooms.resolve(name)
        if room is None:
            known = ", ".join(n for n, _ in await self.rooms.listing()) or "none yet"
            self._complain(f"There is no room called “{name}”. Rooms: {known}.")
            return None
        if user not in await self.rooms.members(room):
            self._complain(f"{user} is not in {name}, so cannot write there.")
            return None
        return room

    def _expand(self, text: str) -> str | None:
        if "$code" not in text:
            return text
        if self._last_code is None:
            self._complain("$code stands for the last invite code shown, but none was shown yet.")
            return None
        return text.replace("$code", self._last_code)

    def _event_id(self, user: str, room: RoomId | None, command: str | None) -> str:
        """``console:<n>:<digest>``; a message's digest never covers its text."""
        basis = f"{user}\x00{room}\x00{'' if command is None else command}"
        digest = hashlib.sha256(basis.encode()).hexdigest()[:12]
        return f"console:{self._seq}:{digest}"

    async def _apply(self, event: Event) -> None:
        await self.core.handle([event])
        await self.deliver()
        # Counted only once shown: a line replayed after a crash before here is a no-op.
        self._seq += 1
        await self.core.bind(PLATFORM, "seq", f"seq:{self._seq}")
        await self._fire_until(self.clock.now())

    # -- time ----------------------------------------------------------------

    async def _fire_until(self, target: datetime) -> None:
        """Fire every job due up to ``target``, each at its own due time."""
        for _ in range(_MAX_STEPS):
            due = await self.core.next_due()
            if due is None or due > target:
                return
            if due > self.clock.now():
                self.clock.set(due)
                await self._save_clock()
            if await self.core.fire_due() and self._shown_at != self.clock.now():
                self._show_clock()  # what follows happened at this time
            await self.deliver()
        self._complain("Jobs keep coming due; stopped firing them for now.")

    async def _save_clock(self) -> None:
        await self.core.bind(PLATFORM, "clock", f"clock:{ts(self.clock.now())}")

    def _show_clock(self) -> None:
        self._shown_at = self.clock.now()
        self.sink.show(Shown("clock", None, show(self._shown_at)))

    # -- output --------------------------------------------------------------

    async def deliver(self) -> None:
        """Carry out every pending effect, oldest first, then mark them done."""
        while batch := await self.core.pending():
            for item in batch:
                for shown in await self._render(item.effect):
                    self._remember_code(shown.text)
                    self.sink.show(shown)
            await self.core.done([item.id for item in batch])

    async def _render(self, effect: Effect) -> list[Shown]:
        if isinstance(effect, Reply):
            kind = "error" if effect.error else "notice"
            if effect.private or effect.room is None:
                return await self._to_dm(effect.to, Shown(kind, dm_name(effect.to), effect.text,
                                                           to=effect.to, audience=(effect.to,)))
            return [await self._in_room(kind, effect.room, effect.text)]
        if isinstance(effect, Notify):
            return await self._to_dm(effect.to, Shown("notice", dm_name(effect.to), effect.text,
                                                      to=effect.to, audience=(effect.to,)))
        if isinstance(effect, Post):
            return [await self._in_room("notice", effect.room, effect.text)]
        if isinstance(effect, ReportToModerators):
            return [Shown("report", MODERATORS, effect.text, audience=(MODERATORS,))]
        return [await self._room_change(effect)]

    async def _room_change(self, effect: Effect) -> Shown:
        if isinstance(effect, CreateRoom):
            name = await self.rooms.created(effect)
            members = tuple(sorted(effect.members))
            return Shown("room_created", name, effect.topic, audience=members, members=members,
                         purpose=effect.purpose, encrypted=effect.encrypted, title=effect.name)
        if isinstance(effect, InviteToRoom):
            await self.rooms.joined(effect.room, effect.member)
            return await self._in_room("invited", effect.room,
                                       f"{effect.member} is brought in", to=effect.member)
        if isinstance(effect, RemoveFromRoom):
            shown = await self._in_room("removed", effect.room,
                                        f"{effect.member} is taken out: {effect.reason}",
                                        to=effect.member)
            await self.rooms.left(effect.room, effect.member)
            return shown
        assert isinstance(effect, CloseRoom), effect
        shown = await self._in_room("closed", effect.room, f"the bot leaves: {effect.reason}")
        self.rooms.closed(effect.room)
        return shown

    async def _in_room(self, kind: str, room: RoomId, text: str, to: str | None = None) -> Shown:
        audience = tuple(sorted(await self.rooms.members(room)))
        return Shown(kind, self.rooms.name(room), text, to=to, audience=audience)

    async def _to_dm(self, user: str, shown: Shown) -> list[Shown]:
        opened = await self._new_dm(user)
        return [*opened, shown]

    async def _new_dm(self, user: str) -> list[Shown]:
        if not await self.rooms.ensure_dm(user):
            return []
        return [Shown("room_created", dm_name(user), f"{user}'s direct chat with the bot",
                      audience=(user,), members=(user,), purpose="dm", encrypted=True,
                      title=f"Twinome ({user})")]

    async def _show_new_dm(self, user: str) -> None:
        for shown in await self._new_dm(user):
            self.sink.show(shown)

    def _remember_code(self, text: str | None) -> None:
        found = _CODE.findall(text or "")
        if found:
            self._last_code = found[-1]

    def _complain(self, text: str) -> None:
        self.sink.show(Shown("console_error", None, text))


async def _load_state(core: Twinome) -> tuple[FakeClock, int]:
    clock_ref = await core.ref_of(PLATFORM, "clock")
    seq_ref = await core.ref_of(PLATFORM, "seq")
    clock = FakeClock(dt(int(clock_ref.split(":", 1)[1])) if clock_ref else None)
    return clock, int(seq_ref.split(":", 1)[1]) if seq_ref else 0


@asynccontextmanager
async def opened(path: str | Path, sink: Sink) -> AsyncIterator[Console]:
    """A console on the database at ``path``, started, closed on exit."""
    db = await Database.open(path)
    try:
        probe = Twinome(db, FakeClock())
        clock, seq = await _load_state(probe)
        console = Console(Twinome(db, clock), clock, sink, seq)
        await console.start()
        yield console
    finally:
        await db.close()


async def play(path: str | Path, lines: Iterable[str], sink: Sink) -> None:
    """Play ``lines`` on the database at ``path`` (stops early at ``:quit``)."""
    async with opened(path, sink) as console:
        for line in lines:
            if not await console.feed(line):
                return
