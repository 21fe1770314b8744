"""The carrier contract: the only platform-specific part of carrying effects out.

The delivery pump resolves each effect into a call on a :class:`Carrier` with platform
references already looked up. Each call answers with an :data:`Outcome`:

* :class:`Done` — carried out (``ref`` names what it created, e.g. a new room);
* :class:`Retry` — a passing failure (rate limit, server down): try again after a delay;
* :class:`Wait` — not yet possible (a new room's invitees have not joined): the pump tries
  again when woken or after a short poll, and after its hold limit asks with ``hold``
  off, so a notice is never stuck for good;
* :class:`Failed` — it can never work (the room is gone): dropped with a warning.

A carrier never raises for an expected failure; an exception counts as :class:`Retry`.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Protocol

from core.effects import Attachment, Choice, CreateRoom
from core.ids import MemberId


@dataclass(frozen=True)
class Done:
    """Carried out; ``ref`` is the platform reference of what was created, if anything."""

    ref: str | None = None


@dataclass(frozen=True)
class Retry:
    """A passing failure: try again after ``after`` seconds."""

    reason: str
    after: float | None = None


@dataclass(frozen=True)
class Wait:
    """A condition is not met yet (e.g. invitees have not joined): try again later (after
    ``recheck`` seconds, or when woken, where the carrier knows what will change it;
    otherwise on the pump's short poll)."""

    reason: str
    recheck: float | None = None


@dataclass(frozen=True)
class Failed:
    """It can never be carried out: drop it (``tell``: a member who should hear that a
    notice of theirs was dropped; the core counts it until they are told)."""

    reason: str
    tell: MemberId | None = None


Outcome = Done | Retry | Wait | Failed


@dataclass(frozen=True)
class InRoom:
    """A trio room or pair line, by its platform reference."""

    ref: str


@dataclass(frozen=True)
class Direct:
    """A member's private place with the bot (direct chat; on Discord, maybe ephemeral)."""

    member: MemberId


@dataclass(frozen=True)
class Moderators:
    """The configured moderators' room or channel."""


Target = InRoom | Direct | Moderators


@dataclass(frozen=True)
class Notice:
    """A bot notice to send.

    ``key`` is stable across restarts (the same effect always has the same key), so a
    carrier can make a re-send after a crash a no-op. ``reply_to`` is the platform event
    the notice answers, ``origin`` where that command was given. ``hold`` asks the carrier
    to wait (:class:`Wait`) while people expected in the room have not arrived yet.
    ``lang`` is the language the text is in, for what the carrier adds (choices as commands).
    """

    text: str
    key: str
    reply_to: str | None = None
    origin: str | None = None
    private: bool = False
    error: bool = False
    choices: tuple[Choice, ...] = ()
    hold: bool = False
    attachment: Attachment | None = None  # a file to send with the text (an export)
    waited: float | None = None  # seconds it has waited for a condition so far (None: never)
    lang: str = "en"  # the language of its words: what the carrier adds says it in that too


class GuardedCarrier(ABC):
    """A carrier whose calls all go through :meth:`guard`, which turns the platform's
    expected failures (refusals, outages) into outcomes, in one place per platform."""

    platform: str

    async def send(self, target: Target, notice: Notice) -> Outcome:
        return await self.guard(self._send(target, notice))

    async def create_room(self, effect: CreateRoom, key: str) -> Outcome:
        return await self.guard(self._create(effect))

    async def invite(self, ref: str, member: MemberId) -> Outcome:
        return await self.guard(self._invite(ref, member))

    async def remove(self, ref: str, member: MemberId, reason: str) -> Outcome:
        return await self.guard(self._remove(ref, member, reason))

    async def close(self, ref: str, notice: Notice) -> Outcome:
        return await self.guard(self._close(ref, notice))

    @abstractmethod
    async def guard(self, call: Awaitable[Outcome]) -> Outcome:
        """The outcome of ``call``, with the platform's expected failures mapped."""

    @abstractmethod
    async def _send(self, target: Target, notice: Notice) -> Outcome: ...

    @abstractmethod
    async def _create(self, effect: CreateRoom) -> Outcome: ...

    @abstractmethod
    async def _invite(self, ref: str, member: MemberId) -> Outcome: ...

    @abstractmethod
    async def _remove(self, ref: str, member: MemberId, reason: str) -> Outcome: ...

    @abstractmethod
    async def _close(self, ref: str, notice: Notice) -> Outcome: ...


class Carrier(Protocol):
    """Carries effects out on one platform."""

    platform: str

    async def send(self, target: Target, notice: Notice) -> Outcome:
        """Post a notice."""
        ...

    async def create_room(self, effect: CreateRoom, key: str) -> Outcome:
        """Create a trio room or pair line with its members; Done(ref) names it."""
        ...

    async def invite(self, ref: str, member: MemberId) -> Outcome:
        """Bring a member into a room."""
        ...

    async def remove(self, ref: str, member: MemberId, reason: str) -> Outcome:
        """Take a member out of a room."""
        ...

    async def close(self, ref: str, notice: Notice) -> Outcome:
        """Say why (the notice), then stop using the room."""
        ...
