"""The console's rooms: stable names bound to the core's rooms, and who is in each.

Names are ``trio-<trio id>`` for a trio room, ``trio-<trio id>/<a>+<b>`` (sorted) for a
pair line and ``dm:<user>`` for a member's direct chat with the bot. They are bound
through the shared :class:`bots.adapter.bindings.Bindings` (platform ``console``), so they
survive a restart. Membership follows the effects carried out (created, invited,
removed, closed); after a restart it is seeded from the core, then the effects still
pending bring it up to date.
"""

from __future__ import annotations

from bots.adapter.bindings import Bindings
from core import keys
from core.effects import CreateRoom
from core.ids import MemberId, RoomId
from core.service import Twinome


def dm_name(user: str) -> str:
    """The name of a member's direct chat with the bot."""
    return f"dm:{user}"


class RoomBook:
    """Room names and memberships, as the console has carried them out."""

    def __init__(self, core: Twinome, bindings: Bindings) -> None:
        self._core = core
        self._bindings = bindings
        self._names: dict[RoomId, str] = {}
        self._members: dict[RoomId, set[str]] = {}
        self._dms: set[str] = set()

    async def load(self) -> None:
        """Read the names bound by earlier runs (a console database stays small)."""
        for room, name in await self._bindings.rooms():
            self._names[room] = name

    async def created(self, effect: CreateRoom) -> str:
        """Name a room the core asked for (the pump binds it); returns its name."""
        if effect.purpose == "pair":
            a, b = sorted(effect.members)
            name = f"trio-{effect.trio}/{a}+{b}"
        else:
            name = f"trio-{effect.trio}"
        holder = await self._bindings.core_room(name)
        if holder is not None and holder != effect.room:
            # An earlier room of the same pair (closed since) keeps an archived name.
            archived = f"{name}~{holder}"
            await self._bindings.bind(keys.room_key(holder), archived)
            self._names[holder] = archived
        self._names[effect.room] = name
        self._members[effect.room] = set(effect.members)
        return name

    def name(self, room: RoomId) -> str:
        """The console name of a core room."""
        return self._names.get(room, f"room-{room}")

    async def resolve(self, name: str) -> RoomId | None:
        """The core room a console name is bound to."""
        return await self._bindings.core_room(name)

    async def members(self, room: RoomId) -> set[str]:
        """Who is in a room now."""
        if room not in self._members:
            self._members[room] = {str(m) for m in await self._core.room_members(room)}
        return self._members[room]

    async def members_of(self, name: str) -> set[str]:
        """Who is in the room of this name now."""
        room = await self.resolve(name)
        return set() if room is None else await self.members(room)

    async def joined(self, name: str, member: MemberId) -> None:
        """A member was brought into a room."""
        (await self.members_of(name)).add(member)

    async def left(self, name: str, member: MemberId) -> None:
        """A member was taken out of a room."""
        (await self.members_of(name)).discard(member)

    async def closed(self, name: str) -> None:
        """The bot left a room: nobody can write there through it any more."""
        room = await self.resolve(name)
        if room is not None:
            self._members[room] = set()

    async def ensure_dm(self, user: str) -> bool:
        """Open a member's direct chat on first contact; True if it is new."""
        if user in self._dms:
            return False
        self._dms.add(user)
        if await self._bindings.dm(user) is not None:
            return False
        await self._bindings.bind(keys.dm_key(user), dm_name(user))
        return True

    async def listing(self) -> list[tuple[str, list[str]]]:
        """Known rooms, direct chats included, and who is in them, by name."""
        found = [(name, sorted(await self.members(room))) for room, name in self._names.items()]
        for key, name in await self._core.refs(self._bindings.platform, keys.dm_key("")):
            owner = keys.dm_owner(key)
            if owner is not None:
                found.append((name, [str(owner)]))
        return sorted(found)
