"""Forming a trio through the Matrix bot, and finding its rooms, for the Matrix tests."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bots.matrix.homeserver import Homeserver
from tests.matrix.botkit import Member, RunningBot, new_user

CODE = re.compile(r"\b[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4}\b")


def code_in(text: str) -> str:
    """The invite code a notice shows."""
    found = CODE.search(text)
    assert found, f"no invite code in {text!r}"
    return found.group(0)


@dataclass
class Trio:
    """Three members with their direct chats, the trio room and the pair lines."""

    alice: Member
    bob: Member
    carol: Member
    room: str
    pairs: dict[frozenset[str], str]

    def line(self, a: Member, b: Member) -> str:
        """The pair line of two members."""
        return self.pairs[frozenset((a.id, b.id))]

    @property
    def members(self) -> tuple[Member, Member, Member]:
        return self.alice, self.bob, self.carol

    async def close(self) -> None:
        for m in self.members:
            await m.user.close()


async def members(synapse: Homeserver, store: Path, bot: RunningBot | str,
                  names: tuple[str, ...] = ("alice", "bob", "carol")) -> list[Member]:
    """Fresh members, each with a direct chat with the bot already open."""
    bot_id = bot if isinstance(bot, str) else bot.user_id
    out = []
    for name in names:
        member = Member(await new_user(synapse, store, name), bot_id)
        await member.open_dm()
        out.append(member)
    return out


def read(database: Path, sql: str, params: tuple[object, ...] = ()) -> list[sqlite3.Row]:
    """Rows from the bot's database, read on a separate connection (the bot keeps writing)."""
    with contextlib.closing(sqlite3.connect(database, timeout=10)) as db:
        db.row_factory = sqlite3.Row
        return db.execute(sql, params).fetchall()


async def rooms_of(database: Path) -> tuple[str, dict[frozenset[str], str]]:
    """The Matrix ids of the last trio's room and pair lines, from the bot's bindings."""
    rows = read(database, "SELECT r.id, r.purpose, r.member_a, r.member_b, p.ref FROM rooms r "
                     "LEFT JOIN platform_refs p ON p.platform = 'matrix' "
                     "AND p.key = 'room:' || r.id "
                     "WHERE r.trio_id = (SELECT max(id) FROM trios) ORDER BY r.id")
    room, pairs = "", {}
    for row in rows:
        assert row["ref"] is not None, f"core room {row['id']} has no Matrix room"
        if row["purpose"] == "trio":
            room = row["ref"]
        else:
            pairs[frozenset((row["member_a"], row["member_b"]))] = row["ref"]
    return room, pairs


async def form_by_code(synapse: Homeserver, store: Path, bot: RunningBot | tuple[str, Path]
                       ) -> Trio:
    """Alice starts a trio, Bob and Carol join it with codes; every room is joined.

    ``bot`` is a running bot, or the user id and database file of one running elsewhere.
    """
    bot_id, database = (bot.user_id, bot.config.database) if isinstance(bot, RunningBot) else bot
    alice, bob, carol = await members(synapse, store, bot_id)
    started = await alice.ask("trio new Les Trois")
    await bob.ask(f"trio join {code_in(started.body)}")
    second = await alice.ask("trio invite")
    joined = await carol.ask(f"!trio join {code_in(second.body)}")
    assert "complete" in joined.body, joined.body
    return await settled(Trio(alice, bob, carol, *await rooms_of(database)))


async def settled(trio: Trio) -> Trio:
    """Wait until every member has joined the trio room and their pair lines."""
    everyone = [m.id for m in trio.members]
    for m in trio.members:
        await m.user.wait_for_member(trio.room, m.id, within=20)
    for pair, room_id in trio.pairs.items():
        for m in trio.members:
            if m.id in pair:
                await m.user.wait_for_member(room_id, m.id, within=20)
    assert set().union(*trio.pairs) == set(everyone)
    return trio


async def state(member: Member, room_id: str, event_type: str, state_key: str = "") -> Any:
    """A room state event's content, as a member reads it from the homeserver."""
    response = await member.user.client.room_get_state_event(room_id, event_type, state_key)
    content = getattr(response, "content", None)
    assert isinstance(content, dict), f"{event_type} in {room_id}: {response}"
    return content


async def joined(member: Member, room_id: str) -> set[str]:
    """Who has joined a room, as the homeserver says."""
    response = await member.user.client.joined_members(room_id)
    return {m.user_id for m in response.members}
