"""Random command lines thrown at the parser and the service: no crash, one reply each.

The service runs on one real SQLite file for the whole test, so the state grows as
hypothesis plays: trios form, people leave, proposals open and expire. Every command must
get exactly one reply to its event, and never the generic "something went wrong" one
(that reply means an unexpected exception, i.e. a bug); no job may fail either.

Both languages are played: command lines are written with the English or the French
names and choice words (accents or not), and two of the members read French.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import grammar
from core.clock import FakeClock
from core.effects import Post, Reply
from core.errors import UserError
from core.events import CommandReceived, LineMessage
from core.i18n import render
from core.ids import MemberId, RoomId
from core.service import Twinome
from core.storage.db import Database
from core.textrules import fold
from tests.helpers import code_in

USERS = ["alice", "bob", "carol", "dave", "erin"]
FRENCH = ["carol", "erin"]  # they read French; the others English
LANGS = ["en", "fr"]
WORDS = [*sorted({w for c in grammar.COMMANDS for lang in LANGS for w in c.words_in(lang)}),
         "tiro", "ledgr", "votee", "TRIO", "reglages", "DONNÉES", "nouvau", "aied"]
ARGS = [
    "@alice", "@bob", "@carol", "@dave", "@erin", "@nobody", "@", "alice", "#1", "#2", "#les-trois",
    "#nope", "#", "1", "2", "3", "0", "-1", "#1", "99999999999999", "3d", "1h30", "45m", "0m",
    "400d", "for", "until", "2026-12-01", "2026-13-45", "1999-01-01", "yes", "no", "YES", "confirm",
    "remove", "ready", "accept", "decline", "22:00-08:00", "8:00-8:00", "25:00-01:00", "off",
    "Europe/Paris", "Mars/Olympus", "gentle", "patience", "relance", "proposal_expiry", "python",
    '"bread baking"', '"', "“", "K7GQ-2M4X-PA9D-RT3W", "twinome://join/AAAA",
    "oui", "non", "NON", "confirmer", "retirer", "prêt", "pret", "accepter", "refuser", "douce",
    "expiration", "langue", "fr", "en", "français", "klingon", "3j", "2 semaines", "1h30",
    "jusqu'au", "pendant", "exprter", "nouvau", "oubliier",
]
SORRY = "went wrong on my side"

token = st.one_of(st.sampled_from(ARGS), st.sampled_from(WORDS),
                  st.text(max_size=12), st.text(alphabet=st.characters(), min_size=1, max_size=4))
head = st.one_of(
    st.sampled_from([c.name_in(lang) for c in grammar.COMMANDS for lang in LANGS]),
    st.sampled_from(WORDS), st.text(max_size=8),
)
_BY_NAME = {
    "duration": ["1h", "45m", "1h30", "0m", "99w"],
    "hours": ["22:00-08:00", "off", "7:00-7:00", "24:00-01:00"],
    "zone": ["Europe/Paris", "America/New_York", "Mars/Olympus", "UTC"],
    "value": ["2d", "gentle", "off", "1m", "12h", "2j", "douce", "non", "fr"],
    "when": ["for 2d moving", "until 2026-12-01", "for 400d", "until 2020-01-01", "soon",
             "3j déménagement", "2 semaines"],
    "text": ["ready", "call her on Sunday", "a reading club thread", "prêt", "l'appeler dimanche"],
    "code": ["K7GQ-2M4X-PA9D-RT3W", "nope", "fr", "en", "français", "klingon"],
}


def _value(arg: grammar.Arg) -> st.SearchStrategy[str]:
    """A plausible value for one argument, or now and then a wrong one."""
    if arg.kind is grammar.Kind.USER:
        good: st.SearchStrategy[str] = st.sampled_from([f"@{u}" for u in USERS] + ["@nobody"])
    elif arg.kind is grammar.Kind.INT:
        good = st.integers(min_value=1, max_value=6).map(str)
    elif arg.kind is grammar.Kind.CHOICE:
        good = st.sampled_from([w for c in arg.choices for w in (c, grammar.choice_in(c, "fr"))])
    elif arg.kind in (grammar.Kind.SKILL, grammar.Kind.SKILL_REST):
        good = st.sampled_from(["python", '"bread baking"', "cooking"])
    else:
        good = st.sampled_from(_BY_NAME.get(arg.name, ["something kind"]))
    return st.one_of(good, good, good, token)


@st.composite
def command_line(draw: st.DrawFn) -> str:
    """A command of the grammar with mostly well-formed arguments."""
    command = draw(st.sampled_from(grammar.COMMANDS))
    name = command.name_in(draw(st.sampled_from(LANGS)))
    parts = [draw(st.sampled_from([name, fold(name), name.upper()]))]
    if command.needs_trio and draw(st.booleans()):
        parts.append(draw(st.sampled_from(["#les-trois", "#1", "#nope"])))
    for arg in command.args:
        if arg.required or draw(st.booleans()):
            parts.append(draw(_value(arg)))
    return draw(st.sampled_from(["", "!"])) + " ".join(parts)


noise = st.builds(
    lambda prefix, h, rest, sep: prefix + sep.join([h, *rest]),
    st.sampled_from(["", "", "!", "/"]), head, st.lists(token, max_size=5),
    st.sampled_from([" ", " ", "  ", "\t", " \u00a0"]),
)
line = st.one_of(command_line(), command_line(), noise)
action = st.one_of(
    st.tuples(st.just("say"), st.sampled_from(USERS), st.sampled_from([None, None, None, 1, 2, 3, 4, 99]),
              line),
    st.tuples(st.just("write"), st.sampled_from(USERS), st.sampled_from([1, 2, 3, 4, 6]), st.none()),
    st.tuples(st.just("wait"), st.none(), st.integers(min_value=1, max_value=5 * 24 * 60), st.none()),
)


@given(st.one_of(line, st.text(max_size=300)))
@settings(max_examples=300, deadline=None)
def test_parser_raises_only_parse_errors(text: str) -> None:
    try:
        inv = grammar.parse(text.lstrip("!/"))
    except UserError:
        return
    assert inv.command.name in grammar.BY_NAME


@given(st.one_of(command_line(), line))
@settings(max_examples=300, deadline=None)
def test_errors_are_said_in_both_languages(text: str) -> None:
    """Whatever the line, its error renders in English and in French (no missing placeholder)."""
    try:
        grammar.parse(text.lstrip("!/"))
    except UserError as err:
        for lang in LANGS:  # a placeholder missing from a translation would raise here
            assert render(err.message, lang)
            render(err.hint or "", lang)


class Failures(logging.Handler):
    """Collects the errors the core logs (a failed command or job)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(record.getMessage())


class Fuzz:
    """One core on one database, driven by hypothesis' actions."""

    def __init__(self, core: Twinome, clock: FakeClock) -> None:
        self.core = core
        self.clock = clock
        self.ids = itertools.count(1)

    async def say(self, who: str, room: int | None, text: str) -> list[Reply]:
        """The replies to a command; a post in the room it was typed in counts as one.

        (A plan step typed in the allies' own line is answered by the step posted there.)
        """
        event_id = f"fuzz{next(self.ids)}"
        await self.core.handle([CommandReceived(event_id, MemberId(who),
                                                None if room is None else RoomId(room), text,
                                                who.capitalize())])
        effects = await self.flush()
        replies = [e for e in effects if isinstance(e, Reply) and e.in_reply_to == event_id]
        if not replies and room is not None:
            replies = [Reply(MemberId(who), RoomId(room), event_id, e.text)
                       for e in effects if isinstance(e, Post) and e.room == room][:1]
        return replies

    async def flush(self) -> list[object]:
        items = await self.core.pending()
        await self.core.done([i.id for i in items])
        return [i.effect for i in items]

    async def act(self, kind: str, who: str | None, where: int | None, text: str | None) -> None:
        if kind == "say":
            assert who is not None and text is not None
            replies = await self.say(who, where, text)
            assert len(replies) == 1, (text, replies)
            assert SORRY not in replies[0].text, (text, replies[0].text)
        elif kind == "write":
            assert who is not None and where is not None
            await self.core.handle([LineMessage(f"fuzz{next(self.ids)}", MemberId(who),
                                                RoomId(where))])
            await self.flush()
        else:
            assert where is not None
            self.clock.advance(timedelta(minutes=where))
            for _ in range(1000):
                await self.core.fire_due()
                await self.flush()
                due = await self.core.next_due()
                if due is None or due > self.clock.now():
                    break

    async def speakers(self) -> None:
        """Some members read French."""
        async with self.core.db.transaction() as tx:
            for who in FRENCH:
                await tx.run("INSERT INTO members (id, created_at, language) VALUES (?, 0, 'fr') "
                             "ON CONFLICT (id) DO UPDATE SET language = 'fr'", (who,))

    async def form_trio(self) -> None:
        code = code_in((await self.say("alice", None, "trio new Les Trois"))[0].text)
        await self.say("bob", None, f"trio join {code}")
        code = code_in((await self.say("alice", None, "trio invite"))[0].text)
        await self.say("carol", None, f"trio join {code}")


def test_service_survives_random_commands(db_target: str | Path) -> None:
    failures = Failures()
    logging.getLogger("twinome").addHandler(failures)
    try:
        with asyncio.Runner() as runner:
            db = runner.run(Database.open(db_target))
            clock = FakeClock()
            fuzz = Fuzz(Twinome(db, clock), clock)
            runner.run(fuzz.speakers())
            runner.run(fuzz.form_trio())

            @given(st.lists(action, min_size=1, max_size=8))
            @settings(max_examples=400, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow])
            def play(actions: list[tuple[str, str | None, int | None, str | None]]) -> None:
                for act in actions:
                    runner.run(fuzz.act(*act))
                assert not failures.seen, failures.seen

            try:
                play()
            finally:
                runner.run(db.close())  # an open connection would keep pytest from exiting
    finally:
        logging.getLogger("twinome").removeHandler(failures)
