"""The console adapter: named people typing against the real core and a real database.

Theory of operation. Each input line becomes one core event (a command, or an ordinary
message of which only who/where/when is passed on), submitted to the shared runtime
(:class:`core.runtime.Runtime`), which applies it in one transaction. The console then
drains its delivery pump (:class:`bots.adapter.pump.Pump` with the console's carrier):
each effect is printed, then marked done; effects left pending by a run that died are
printed first at the next start.
Event ids are ``console:s<slot>:<n>``. The *slot* is this console's own: a console holds
an exclusive lock on a file beside the database (``<db>.console<slot>.lock``), the lowest
free one, so two consoles on one database never share ids, and a console restarted after
a crash takes its slot (and its counter) back, the dead one's lock having gone with it.
``n`` counts the lines of the slot; it is stored once a line's effects are shown. Before
a line is submitted, the console stores ``n`` with a fingerprint of the line (an HMAC of
who typed what where, keyed by a secret kept in the lock file, never in the database;
overwritten by the next line). After a crash between the commit and the counter update,
the first line typed again is compared with it: the same line gets the same id (the core
sees a duplicate: applied exactly once); a different line gets the next number if the
first was applied (it is never dropped as a duplicate).
The clock is a fake one, stored beside the rooms, that moves only with ``:advance``;
jobs that come due on the way fire at their due time, in order (the console drives the
runtime's jobs itself instead of running its scheduler task). A new database's clock
starts where the caller says (the command line passes the real time, to the minute) and
is stored at once; a database the console used before keeps its stored clock (one used
before clocks were stored at the start keeps the fixed day it always ran from).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import hmac
import os
import secrets
import tempfile
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from bots.adapter.bindings import Bindings
from bots.adapter.pump import Pump
from bots.console import inputs
from bots.console.carrier import PLATFORM, ConsoleCarrier
from bots.console.output import Shown, Sink
from bots.console.rooms import RoomBook, dm_name
from core import queries
from core.clock import FakeClock
from core.config import Settings
from core.errors import ParseError, StorageError
from core.events import CommandReceived, Event, LineMessage
from core.i18n import _, join, moment, pick, render
from core.ids import MemberId, RoomId
from core.runtime import Runtime
from core.service import Twinome
from core.storage.db import Database, is_url
from core.textrules import parse_duration
from core.timeutil import dt, ts

_MAX_STEPS = 10_000
_SLOTS = 64


@dataclass(frozen=True)
class Slot:
    """This console's own numbering: its slot, its fingerprint key, where its line stands."""

    number: int = 0
    key: bytes = b""
    seq: int = 0
    inflight: tuple[int, str] | None = None  # (n, fingerprint) of a line maybe cut short

    @property
    def seq_key(self) -> str:
        return "seq" if self.number == 0 else f"seq{self.number}"

    @property
    def inflight_key(self) -> str:
        return f"inflight{self.number}"


class Console:
    """Plays input lines against a :class:`Twinome` and shows the effects to a sink."""

    def __init__(self, core: Twinome, clock: FakeClock, sink: Sink, slot: Slot) -> None:
        self.core = core
        self.clock = clock
        self.sink = sink
        self.lang = pick(core.settings.default_language)
        self.bindings = Bindings(core, PLATFORM)
        self.rooms = RoomBook(core, self.bindings)
        self.carrier = ConsoleCarrier(self.rooms, sink, core.settings.prefix, self.lang)
        self.runtime = Runtime(core)
        self.pump = Pump(core, self.carrier, self.bindings, flush_every=1)
        self.slot = slot
        self._seq = slot.seq
        self._inflight = slot.inflight if slot.inflight and slot.inflight[0] >= slot.seq else None
        self._shown_at: datetime | None = None

    async def start(self) -> None:
        """Deliver what a previous run left in the outbox, then anything already due."""
        await self.runtime.start(scheduler=False)
        await self.rooms.load()
        await self.pump.resend_reports()  # the console always shows its moderators' room
        await self.deliver()
        await self._fire_until(self.clock.now())

    async def stop(self) -> None:
        """Stop the runtime's writer."""
        await self.runtime.stop()

    async def feed(self, line: str) -> bool:
        """Play one input line; False once the console is asked to quit."""
        line = line.rstrip("\r\n")
        if any("\udc80" <= ch <= "\udcff" for ch in line):  # undecodable bytes, escaped
            self.complain(_("This line is not valid UTF-8, so it was skipped. Save the script "
                            "as UTF-8 and try again."))
            return True
        if not line.strip() or line.lstrip().startswith("#"):
            return True
        self.sink.echo(line)
        try:
            item = inputs.read(line)
        except inputs.InputError as err:
            self._complain(err.text)
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
            self.sink.show(Shown("info", None, render(inputs.help_text(), self.lang)))
        elif item.name == "now":
            self._show_clock()
        elif item.name == "rooms":
            rooms = await self.rooms.listing()
            for name, members in rooms:
                self.sink.show(Shown("info", name, ", ".join(members) or render(
                    _("(closed)"), self.lang), audience=tuple(members)))
            if not rooms:
                self.sink.show(Shown("info", None, render(_(
                    "No rooms yet: a direct chat opens when someone first writes to the bot, "
                    "a trio's rooms when it has its three members."), self.lang)))
        else:
            await self._advance(item.arg)
        return True

    async def _advance(self, arg: str) -> None:
        if not arg:
            self._complain(_("How far? Give a duration, e.g. :advance 3d, :advance 2h or "
                             ":advance 1d12h."))
            return
        try:
            delta = parse_duration(arg, least=timedelta(minutes=1),
                                   most=timedelta(days=366), what="duration")
        except ParseError as err:
            self._complain(join(" ", [err.message, *([err.hint] if err.hint else [])]))
            return
        target = self.clock.now() + delta
        await self._fire_until(target)
        self.clock.set(target)
        await self._save_clock()
        if self._shown_at != target:
            self._show_clock()

    async def _say(self, say: inputs.Say) -> None:
        text = await self._expand(say.user, say.text)
        if text is None:
            return
        user = MemberId(say.user)
        if say.room is None or say.room == dm_name(say.user):
            await self.carrier.open_dm(say.user)
            command = text[1:] if text[:1] in "!/" else text
            await self._apply(lambda eid: CommandReceived(
                eid, user, None, command, say.user.capitalize(), PLATFORM, dm_name(say.user)),
                self._fingerprint(say.user, None, command))
            return
        room = await self._enter(say.user, say.room)
        if room is None:
            return
        if text[:1] in "!/":
            await self._apply(lambda eid: CommandReceived(
                eid, user, room, text[1:], say.user.capitalize(), PLATFORM, say.room),
                self._fingerprint(say.user, room, text))
            return
        audience = sorted(await self.rooms.members(room))
        self.sink.show(Shown("message", say.room, None, audience=tuple(audience), sender=say.user))
        await self._apply(lambda eid: LineMessage(eid, user, room, platform=PLATFORM),
                          self._fingerprint(say.user, room, text))

    async def _enter(self, user: str, name: str) -> RoomId | None:
        """The room ``user`` may write in under ``name``, or None after saying why not."""
        lang = await self.language_of(user)
        if name.startswith("dm:"):
            self.complain(_("{name} is {owner}'s direct chat with the bot; only they write "
                            "there (as “{owner}: …”).", name=name, owner=name[3:]), lang)
            return None
        room = await self.rooms.resolve(name)
        if room is None:
            names = [n for n, _members in await self.rooms.listing()]
            known = ", ".join(names) if names else _("none yet")
            self.complain(_("There is no room called “{name}”. Rooms: {known}.", name=name,
                            known=known), lang)
            return None
        if user not in await self.rooms.members(room):
            self.complain(_("{user} is not in {name}, so cannot write there.", user=user,
                            name=name), lang)
            return None
        return room

    async def _expand(self, user: str, text: str) -> str | None:
        if "$code" not in text:
            return text
        if self.carrier.last_code is None:
            self.complain(_("$code stands for the last invite code shown, but none was shown "
                            "yet."), await self.language_of(user))
            return None
        return text.replace("$code", self.carrier.last_code)

    def _fingerprint(self, user: str, room: RoomId | None, text: str) -> str:
        """Who typed what where, keyed by the slot's secret (the text is never stored)."""
        basis = f"{user}\x00{room}\x00{text}".encode()
        return hmac.new(self.slot.key, basis, hashlib.sha256).hexdigest()[:16]

    def _event_id(self, n: int) -> str:
        return f"console:s{self.slot.number}:{n}"

    async def _apply(self, make: Callable[[str], Event], fingerprint: str) -> None:
        n = self._seq
        if self._inflight is not None:  # the first line after a crash: the same one again?
            was, self._inflight = self._inflight, None
            if was[0] == n and was[1] != fingerprint and await self.core.seen(self._event_id(n)):
                n = self._seq = n + 1  # that line was applied; this one is another
        await self.bindings.bind(self.slot.inflight_key,
                                 f"{self.slot.inflight_key}:{n}:{fingerprint}")
        await self.runtime.submit(make(self._event_id(n)))
        await self.deliver()
        # Counted only once shown: a line replayed after a crash before here is a no-op.
        self._seq = n + 1
        await self.bindings.bind(self.slot.seq_key, f"{self.slot.seq_key}:{self._seq}")
        await self._fire_until(self.clock.now())

    # -- time ----------------------------------------------------------------

    async def _fire_until(self, target: datetime) -> None:
        """Fire every job due up to ``target``, each at its own due time."""
        for _step in range(_MAX_STEPS):
            due = await self.core.next_due()
            if due is None or due > target:
                return
            if due > self.clock.now():
                self.clock.set(due)
                await self._save_clock()
            if (await self.runtime.fire_due()).effects and self._shown_at != self.clock.now():
                self._show_clock()  # what follows happened at this time
            await self.deliver()
        self._complain(_("Jobs keep coming due; stopped firing them for now."))

    async def _save_clock(self) -> None:
        await self.bindings.bind("clock", f"clock:{ts(self.clock.now())}")

    def _show_clock(self) -> None:
        self._shown_at = self.clock.now()
        self.sink.show(Shown("clock", None, moment(self._shown_at, self.lang)))

    # -- output --------------------------------------------------------------

    async def deliver(self) -> None:
        """Carry out every pending effect, oldest first, marking each done once shown."""
        await self.pump.drain()

    def complain(self, text: str, lang: str | None = None) -> None:
        """Show a console error (a line the console could not take), in ``lang`` or its own."""
        self.sink.show(Shown("console_error", None, render(text, lang or self.lang)))

    async def language_of(self, user: str) -> str:
        """The language of the member typing: theirs if they chose one, else the console's."""
        async with self.core.db.read() as tx:
            said = await queries.languages(tx, [MemberId(user)])
        return pick(said.get(MemberId(user)), self.lang)

    _complain = complain


async def _load_state(core: Twinome, number: int, key: bytes,
                      start: datetime | None) -> tuple[FakeClock, Slot]:
    bindings = Bindings(core, PLATFORM)
    clock_ref = await bindings.ref("clock")
    if clock_ref:
        clock = FakeClock(dt(int(clock_ref.split(":", 1)[1])))
    elif start is not None and not await core.refs(PLATFORM, "", limit=1):  # a new database
        clock = FakeClock(start)
        await bindings.bind("clock", f"clock:{ts(start)}")
    else:
        clock = FakeClock()
    slot = Slot(number, key)
    seq_ref = await bindings.ref(slot.seq_key)
    inflight_ref = await bindings.ref(slot.inflight_key)
    inflight = None
    if inflight_ref:
        _key, n, fingerprint = inflight_ref.split(":", 2)
        inflight = (int(n), fingerprint)
    return clock, Slot(number, key, int(seq_ref.split(":", 1)[1]) if seq_ref else 0, inflight)


@contextlib.contextmanager
def _claimed_slot(path: str | Path) -> Iterator[tuple[int, bytes]]:
    """The lowest console slot of this database no running console holds, and its key.

    The lock files lie beside a SQLite file; for a PostgreSQL URL, in the temporary folder
    under a digest of the URL (consoles on other machines are not seen: a console is a
    tool for one machine).
    """
    if is_url(path):
        digest = hashlib.sha256(str(path).encode()).hexdigest()[:16]
        path = Path(tempfile.gettempdir()) / f"twinome-{digest}"
    for number in range(_SLOTS):
        name = f"{path}.console.lock" if number == 0 else f"{path}.console{number}.lock"
        fd = os.open(name, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            continue
        try:
            key = os.read(fd, 64).strip()
            if len(key) < 32:
                key = secrets.token_hex(16).encode()
                os.ftruncate(fd, 0)
                os.pwrite(fd, key, 0)
            yield number, key
            return
        finally:
            os.close(fd)  # the lock goes with it (and with the process, if it dies)
    raise StorageError(f"{_SLOTS} consoles already run on {path}.")


@asynccontextmanager
async def opened(path: str | Path, sink: Sink, start: datetime | None = None,
                 language: str = "en") -> AsyncIterator[Console]:
    """A console on the database at ``path``, started, closed on exit.

    ``start`` is where the clock of a new database starts (None: a fixed day, for tests);
    ``language`` is the bot's default language, and the console's own.
    """
    db = await Database.open(path)
    try:
        with _claimed_slot(path) as (number, key):
            clock, slot = await _load_state(Twinome(db, FakeClock()), number, key, start)
            settings = Settings(default_language=language)
            console = Console(Twinome(db, clock, settings), clock, sink, slot)
            try:
                await console.start()
                yield console
            finally:
                await console.stop()
    finally:
        await db.close()


async def play(path: str | Path, lines: Iterable[str], sink: Sink, language: str = "en") -> None:
    """Play ``lines`` on the database at ``path`` (stops early at ``:quit``)."""
    async with opened(path, sink, language=language) as console:
        for line in lines:
            if not await console.feed(line):
                return
