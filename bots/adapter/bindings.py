"""Which platform reference is which core key, cached in front of the core's table.

Every adapter binds the keys of :mod:`core.keys` (trio rooms, pair lines, direct chats)
to what they are on its platform, through this one class; none runs SQL of its own.
"""

from __future__ import annotations

from core import keys
from core.ids import MemberId, RoomId
from core.service import Twinome

CACHE_SIZE = 20_000  # entries per direction: memory stays bounded however many rooms exist


class Bindings:
    """Core keys (``room:3``, ``dm:alice``) to one platform's references and back, cached."""

    def __init__(self, core: Twinome, platform: str) -> None:
        self._core = core
        self.platform = platform
        self._ref: dict[str, str | None] = {}
        self._key: dict[str, str | None] = {}

    @staticmethod
    def _put(cache: dict[str, str | None], name: str, value: str | None) -> None:
        cache.pop(name, None)
        cache[name] = value
        if len(cache) > CACHE_SIZE:
            del cache[next(iter(cache))]

    async def bind(self, key: str, ref: str) -> None:
        """Remember that ``key`` is ``ref`` (durably)."""
        await self._core.bind(self.platform, key, ref)
        self.remember(key, ref)

    def remember(self, key: str, ref: str) -> None:
        """Update the cache for a binding already written (by the pump, with its effects)."""
        old = self._ref.get(key)
        if old is not None:
            self._key.pop(old, None)
        self._put(self._ref, key, ref)
        self._put(self._key, ref, key)

    async def ref(self, key: str) -> str | None:
        """The platform reference bound to a core key."""
        if key not in self._ref:
            self._put(self._ref, key, await self._core.ref_of(self.platform, key))
        return self._ref[key]

    async def key(self, ref: str) -> str | None:
        """The core key bound to a platform reference."""
        if ref not in self._key:
            self._put(self._key, ref, await self._core.key_of(self.platform, ref))
        return self._key[ref]

    async def room(self, room: RoomId) -> str | None:
        """The platform room of a trio room or pair line."""
        return await self.ref(keys.room_key(room))

    async def dm(self, member: MemberId | str) -> str | None:
        """The bound direct chat of a member, if any."""
        return await self.ref(keys.dm_key(member))

    async def core_room(self, ref: str) -> RoomId | None:
        """The trio room or pair line a platform room is, if any."""
        key = await self.key(ref)
        return None if key is None else keys.room_of(key)

    async def dm_owner(self, ref: str) -> MemberId | None:
        """The member whose direct chat with the bot this platform room is, if any."""
        key = await self.key(ref)
        return None if key is None else keys.dm_owner(key)

    async def rooms(self) -> list[tuple[RoomId, str]]:
        """Every bound trio room and pair line (a bounded listing, for small adapters)."""
        found = []
        for key, ref in await self._core.refs(self.platform, "room:"):
            room = keys.room_of(key)
            if room is not None:
                found.append((room, ref))
        return found
