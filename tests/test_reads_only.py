"""Commands flagged ``reads_only`` in the grammar write nothing, so an adapter may answer
them from a read (``Twinome.answer_reading``) without the writer and without recording
the event; every other command stays on the durable path.

Each flagged command is run through the core's read path on a populated database, by
every kind of member, in every place (their direct chat, the trio room, a pair line, with
and without a ``#trio``): the read transaction refuses any write (SQLite's ``query_only``,
PostgreSQL's READ ONLY), so a flagged command that wrote would get no answer from it; and
every table is the same afterwards.
"""

from __future__ import annotations

from typing import Any

import pytest

from core.events import CommandReceived, Typed
from core.grammar import COMMANDS
from core.ids import MemberId, RoomId
from core.storage.db import Tx
from tests.conftest import form_trio
from tests.helpers import Harness

READS_ONLY = [c for c in COMMANDS if c.reads_only]
OTHERS = [c for c in COMMANDS if not c.reads_only]
PEOPLE = ("alice", "bob", "carol", "dave", "erin")  # erin: a second, forming trio


async def populate(h: Harness) -> dict[str, int]:
    """A lived-in database: an active trio with lines, turns, a session, a proposal,
    skills, an away note, a second trio forming, a member with no trio; its rooms."""
    await form_trio(h)
    rooms = await _rooms(h)
    await h.write("alice", rooms["ab"])
    await h.write("bob", rooms["ab"])
    await h.write("carol", rooms["bc"])
    await h.write("alice", rooms["trio"])
    for who, text in [("alice", "offer python"), ("bob", "want python"),
                      ("bob", "away for 3d moving"), ("carol", "timezone Europe/Paris"),
                      ("alice", "propose a reading club"), ("erin", "trio new Erin's"),
                      ("dave", "hello")]:
        await h.say(who, text)
    await h.say("alice", "session log @bob python 1h confirm", rooms["ab"])
    await h.say("bob", "session confirm 1", rooms["ab"])
    await h.say("alice", "trio new Second confirm")
    return rooms


async def _rooms(h: Harness) -> dict[str, int]:
    """The first trio's room and pair lines by who is in them (``ab``: alice and bob)."""
    async with h.core.db.read() as tx:
        rows = await tx.all("SELECT id, purpose, member_a, member_b FROM rooms ORDER BY id")
    found = {}
    for r in rows:
        if r["purpose"] == "pair":
            found["".join(sorted(m[0] for m in (r["member_a"], r["member_b"])))] = r["id"]
        else:
            found.setdefault("trio", r["id"])
    return found


async def dump(h: Harness) -> dict[str, list[Any]]:
    """Every row of every table."""
    db = h.core.db
    sql = ("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
           if db.backend == "sqlite" else
           "SELECT table_name FROM information_schema.tables WHERE table_schema = "
           "current_schema()")
    async with db.read() as tx:
        tables = sorted(r[0] for r in await tx.all(sql))
        return {t: sorted(map(repr, map(tuple, await tx.all(f"SELECT * FROM {t}"))))
                for t in tables}


def places(rooms: dict[str, int], who: str) -> list[RoomId | None]:
    """Where ``who`` may give a command: their direct chat, the trio room, pair lines."""
    out: list[RoomId | None] = [None]
    if who in ("alice", "bob", "carol"):
        out += [RoomId(rooms["trio"])] + [RoomId(r) for k, r in rooms.items()
                                          if len(k) == 2 and who[0] in k]
    return out


def given(command: str, who: str, room: RoomId | None, n: int, *, trio: str | None = None,
          args: dict[str, Any] | None = None) -> CommandReceived:
    """A typed command as Discord gives it (display name and locale as stored)."""
    return CommandReceived(f"discord:r{n}", MemberId(who), room, command,
                           who.capitalize(), platform="discord", origin=str(n),
                           typed=Typed(command, args or {}, trio))


@pytest.mark.parametrize("command", READS_ONLY, ids=lambda c: c.name)
async def test_a_command_flagged_reads_only_writes_nothing(h: Harness, command: Any) -> None:
    rooms = await populate(h)
    before = await dump(h)
    n = 0
    for who in PEOPLE:
        for room in places(rooms, who):
            for trio in (None, "Les-Trois", "#1", "nowhere"):
                n += 1
                event = given(command.name, who, room, n, trio=trio)
                answered = await h.core.answer_reading(event)
                assert answered, f"{command.name} by {who} in {room} #{trio}: not from a read"
                assert all(r.in_reply_to == event.event_id and r.origin == str(n)
                           for r in answered)
    assert await dump(h) == before


async def test_flagged_commands_with_arguments_write_nothing(h: Harness) -> None:
    await populate(h)
    before = await dump(h)
    for n, (name, args) in enumerate([("help", {"command": "trio new"}),
                                      ("help", {"command": "nonsense"}),
                                      ("help", {"command": "sos"})]):
        assert await h.core.answer_reading(given(name, "alice", None, n, args=args))
    assert await dump(h) == before


async def test_the_read_answer_is_the_durable_one(h: Harness) -> None:
    rooms = await populate(h)
    for n, (name, room) in enumerate([("turn", rooms["ab"]), ("trio list", None),
                                      ("ledger", rooms["trio"]), ("trio info", None)]):
        read = await h.core.answer_reading(given(name, "alice", RoomId(room) if room else None,
                                                 1000 + n))
        await h.core.handle([given(name, "alice", RoomId(room) if room else None, 2000 + n)])
        stored = [d.effect for d in await h.core.pending("discord")]
        await h.core.done([d.id for d in await h.core.pending()])
        assert read is not None
        assert [r.text for r in read] == [getattr(e, "text", None) for e in stored]


@pytest.mark.parametrize("command", OTHERS, ids=lambda c: c.name)
async def test_every_other_command_takes_the_durable_path(h: Harness, command: Any) -> None:
    await populate(h)
    assert await h.core.answer_reading(given(command.name, "alice", None, 1)) is None


async def test_a_member_to_create_or_update_takes_the_durable_path(h: Harness) -> None:
    await populate(h)
    assert await h.core.answer_reading(given("trio list", "zoe", None, 1)) is None  # new
    renamed = CommandReceived("discord:r2", MemberId("alice"), None, "trio list", "Alicia",
                              platform="discord", typed=Typed("trio list", {}, None))
    assert await h.core.answer_reading(renamed) is None
    relocated = CommandReceived("discord:r3", MemberId("alice"), None, "trio list", "Alice",
                                platform="discord", typed=Typed("trio list", {}, None),
                                locale="fr")
    assert await h.core.answer_reading(relocated) is None
    assert await h.core.answer_reading(given("trio list", "alice", None, 4))


async def test_a_write_in_a_read_transaction_fails(h: Harness) -> None:
    async def body(tx: Tx) -> None:
        await tx.run("UPDATE members SET display_name = 'X' WHERE id = 'alice'")

    await form_trio(h)
    with pytest.raises(Exception):  # noqa: B017 - each backend raises its own error
        await h.core.db.read_inline(body)
    async with h.core.db.read() as tx:
        assert await tx.value("SELECT display_name FROM members WHERE id = 'alice'") == "Alice"
