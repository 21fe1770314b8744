"""The console's rooms: stable names bound to the core's rooms, and who is in each.

Names are ``trio-<trio id>`` for a trio room, ``trio-<trio id>/<a>+<b>`` (sorted) for a
pair line and ``dm:<user>`` for a member's direct chat with the bot. They are bound in
the core's ``platform_refs`` (platform ``console``), so they survive a restart.
Membership follows the effects carried out (created, invited, removed, closed); after a
restart it is seeded from the core, then the effects still pending bring it up to date.
"""

from __future__ import annotations

from core.effects import CreateRoom
from core.ids import MemberId, RoomId
from core.service import Twinome

PLATFORM = "console"


def room_key(room: RoomId) -> str:
    """The core key a console room name is bound to."""
    return f"room:{room}"


def dm_name(user: str) -> str:
    """The name of a member's direct chat with the bot."""
    return f"dm:{user}"


class RoomBook:
    """Room names and memberships, as the console has carried them out."""

    def __init__(self, core: Twinome) -> None:
        self._core = core
        self._names: dict[RoomId, str] = {}
        self._members: dict[RoomId, set[str]] = {}
        self._dms: set[str] = set()

    async def load(self) -> None:
        """Read the names bound by earlier runs (a console database stays small)."""
        async with self._core.db.transaction() as tx:
            rows = await tx.all(
                "SELECT key, ref FROM platform_refs WHERE platform = ? AND key LIKE 'room:%' "
                "ORDER BY ref LIMIT 10000", (PLATFORM,))
        for row in rows:
            self._names[RoomId(int(row["key"].split(":", 1)[1]))] = row["ref"]

    async def created(self, effect: CreateRoom) -> str:
        """Name and bind a room the core asked for; returns its name."""
        if effect.purpose == "pair":
            a, b = sorted(effect.members)
            name = f"trio-{effect.trio}/{a}+{b}"
        else:
            name = f"trio-{effect.trio}"
        key = room_key(effect.room)
        holder = await self._core.key_of(PLATFORM, name)
        if holder is not None and holder != key:
            # An earlier room of the same pair (closed since) keeps an archived name.
            old = RoomId(int(holder.split(":", 1)[1]))
            archived = f"{name}~{old}"
            await self._core.bind(PLATFORM, holder, archived)
            self._names[old] = archived
        await self._core.bind(PLATFORM, key, name)
        self._names[effect.room] = name
        self._members[effect.room] = set(effect.members)
        return name

    def name(self, room: RoomId) -> str:
        """The console name of a core room."""
        return self._names.get(room, f"room-{room}")

    async def resolve(self, name: str) -> RoomId | None:
        """The core room a console name is bound to."""
        key = await self._core.key_of(PLATFORM, name)
        if key is None or not key.startswith("room:"):
            return None
        return RoomId(int(key.split(":", 1)[1]))

    async def members(self, room: RoomId) -> set[str]:
        """Who is in a room now."""
        if room not in self._members:
            self._members[room] = {str(m) for m in await self._core.room_members(room)}
        return self._members[room]

    async def joined(self, room: RoomId, member: MemberId) -> None:
        """A member was brought into a room."""
        (await self.members(room)).add(member)

    async def left(self, room: RoomId, member: MemberId) -> None:
        """A member was taken out of a room."""
        (await self.members(room)).discard(member)

    def closed(self, room: RoomId) -> None:
        """The bot left a room: nobody can write there through it any more."""
        self._members[room] = set()

    async def ensure_dm(self, user: str) -> bool:
        """Open a member's direct chat on first contact; True if it is new."""
        if user in self._dms:
            return False
        self._dms.add(user)
        if await self._core.ref_of(PLATFORM, dm_name(user)) is not None:
            return False
        await self._core.bind(PLATFORM, dm_name(user), dm_name(user))
        return True

    async def listing(self) -> list[tuple[str, list[str]]]:
        """Known rooms and who is in them, by name."""
        return sorted([(name, sorted(await self.members(room)))
                       for room, name in self._names.items()])
