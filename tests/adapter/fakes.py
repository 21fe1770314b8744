"""A fake platform for the delivery pump: a carrier that keeps what it was asked, like a server."""

from __future__ import annotations

from dataclasses import dataclass, field

from bots.adapter.carrier import (
    Carrier,
    Done,
    InRoom,
    Moderators,
    Notice,
    Outcome,
    Retry,
    Target,
    Wait,
)
from core.effects import CreateRoom
from core.ids import MemberId


@dataclass
class FakePlatform:
    """Rooms and messages as a server keeps them; a key seen before is not posted again."""

    rooms: dict[str, set[str]] = field(default_factory=dict)
    posted: list[tuple[str, str]] = field(default_factory=list)  # (where, text)
    keys: set[str] = field(default_factory=set)


@dataclass
class FakeCarrier:
    """Carries effects out on a :class:`FakePlatform`."""

    server: FakePlatform = field(default_factory=FakePlatform)
    platform: str = "fake"

    async def send(self, target: Target, notice: Notice) -> Outcome:
        where = (target.ref if isinstance(target, InRoom) else "moderators"
                 if isinstance(target, Moderators) else f"dm:{target.member}")
        if notice.key not in self.server.keys:
            self.server.keys.add(notice.key)
            self.server.posted.append((where, notice.text))
        return Done()

    async def create_room(self, effect: CreateRoom, key: str) -> Outcome:
        ref = f"fake-{effect.room}"
        self.server.rooms[ref] = set(effect.members)
        return Done(ref)

    async def invite(self, ref: str, member: MemberId) -> Outcome:
        self.server.rooms[ref].add(member)
        return Done()

    async def remove(self, ref: str, member: MemberId, reason: str) -> Outcome:
        self.server.rooms[ref].discard(member)
        return Done()

    async def close(self, ref: str, notice: Notice) -> Outcome:
        return await self.send(InRoom(ref), notice)


@dataclass
class Steered:
    """Wraps a real carrier: fails or holds back what a test says, records every key handed."""

    inner: Carrier
    fail: dict[str, int] = field(default_factory=dict)  # text -> failures still to give
    closed: set[str] = field(default_factory=set)  # room refs whose held notices must wait
    keys: list[str] = field(default_factory=list)

    @property
    def platform(self) -> str:
        return self.inner.platform

    async def send(self, target: Target, notice: Notice) -> Outcome:
        self.keys.append(notice.key)
        if self.fail.get(notice.text, 0) > 0:
            self.fail[notice.text] -= 1
            return Retry("the server is busy", after=1.0)
        if notice.hold and isinstance(target, InRoom) and target.ref in self.closed:
            return Wait("not everyone is in")
        return await self.inner.send(target, notice)

    async def create_room(self, effect: CreateRoom, key: str) -> Outcome:
        return await self.inner.create_room(effect, key)

    async def invite(self, ref: str, member: MemberId) -> Outcome:
        return await self.inner.invite(ref, member)

    async def remove(self, ref: str, member: MemberId, reason: str) -> Outcome:
        return await self.inner.remove(ref, member, reason)

    async def close(self, ref: str, notice: Notice) -> Outcome:
        return await self.inner.close(ref, notice)
