"""Which Matrix room is which core room or direct chat, cached in front of the core's table."""

from __future__ import annotations

from core.ids import MemberId, RoomId
from core.queries import room_ref
from core.service import Twinome

PLATFORM = "matrix"
CACHE_SIZE = 20_000  # entries per direction: memory stays bounded however many rooms exist


def dm_key(user_id: str) -> str:
    """The core key of a member's direct chat with the bot."""
    return f"dm:{user_id}"


class Bindings:
    """Core keys (``room:3``, ``dm:@alice:x``) to Matrix room ids and back, cached."""

    def __init__(self, core: Twinome) -> None:
        self._core = core
        self._ref: dict[str, str | None] = {}
        self._key: dict[str, str | None] = {}

    @staticmethod
    def _put(cache: dict[str, str | None], name: str, value: str | None) -> None:
        cache.pop(name, None)
        cache[name] = value
        if len(cache) > CACHE_SIZE:
            del cache[next(iter(cache))]

    async def bind(self, key: str, room_id: str) -> None:
        """Remember that ``key`` is the Matrix room ``room_id`` (durably)."""
        old = self._ref.get(key)
        await self._core.bind(PLATFORM, key, room_id)
        if old is not None:
            self._key.pop(old, None)
        self._put(self._ref, key, room_id)
        self._put(self._key, room_id, key)

    async def ref(self, key: str) -> str | None:
        """The Matrix room bound to a core key."""
        if key not in self._ref:
            self._put(self._ref, key, await self._core.ref_of(PLATFORM, key))
        return self._ref[key]

    async def key(self, room_id: str) -> str | None:
        """The core key bound to a Matrix room."""
        if room_id not in self._key:
            self._put(self._key, room_id, await self._core.key_of(PLATFORM, room_id))
        return self._key[room_id]

    async def room(self, room: RoomId) -> str | None:
        """The Matrix room of a trio room or pair line."""
        return await self.ref(room_ref(room))

    async def dm(self, member: MemberId | str) -> str | None:
        """The bound direct chat of a member, if any."""
        return await self.ref(dm_key(member))

    async def core_room(self, room_id: str) -> RoomId | None:
        """The trio room or pair line a Matrix room is, if any."""
        key = await self.key(room_id)
        if key is None or not key.startswith("room:"):
            return None
        return RoomId(int(key.removeprefix("room:")))

    async def dm_owner(self, room_id: str) -> str | None:
        """The member whose direct chat with the bot this Matrix room is, if any."""
        key = await self.key(room_id)
        return key.removeprefix("dm:") if key and key.startswith("dm:") else None
