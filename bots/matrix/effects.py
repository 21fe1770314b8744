"""Carrying out the core's effects on Matrix, from the outbox, in order.

Theory of operation. :meth:`Executor.deliver` reads the outbox and carries out each effect;
one that succeeds is marked done at once (so a crash re-sends at most the effect in
flight). Two things can stop an effect for now:

* *held*: a notice for a room whose invited members have not joined yet. Trio rooms and
  pair lines show history only from joining, so a notice sent before would never reach
  them; it waits (up to :data:`HOLD_LIMIT`) until the room's invitees have joined. A
  room the bot just created is held until the next sync shows it.
* *failed*: the homeserver said no, or was unreachable after the retries of
  :func:`bots.matrix.calls.checked`. The effect stays in the outbox and is tried again
  on the next pass; after :data:`MAX_FAILURES` passes it is dropped with a warning.

Either way the later effects for the same room wait too, so a room's notices keep
their order. Replies to a command are never held: their reader is in the room already.
Log lines name effects by kind and outbox id; no text is ever logged.

A long text (``privacy export``, ``help``) is sent as several notices, cut at line breaks
by :func:`bots.matrix.render.split_notice` so each event stays far below Matrix's 64 KiB
limit even encrypted. Only the first part is a reply to the command: the client quotes
the command once, above the start, and the parts that follow read on in order. Part
``i`` uses the effect's recorded transaction id plus ``-part<i>``, so an effect re-sent
after a failure or a kill posts none of its parts twice.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import aiohttp
import nio

from bots.matrix import rooms
from bots.matrix.bindings import Bindings
from bots.matrix.calls import MatrixCallError, checked
from bots.matrix.config import MatrixConfig
from bots.matrix.render import split_notice, to_html
from bots.matrix.session import InFlight
from core.effects import (
    CloseRoom,
    CreateRoom,
    Effect,
    InviteToRoom,
    Notify,
    Post,
    RemoveFromRoom,
    Reply,
    ReportToModerators,
    to_json,
)
from core.service import Delivery, Twinome

log = logging.getLogger("twinome.matrix")

HOLD_LIMIT = 24 * 3600.0  # seconds a notice waits for a room's invitees to join
MAX_FAILURES = 3
ORIGINS = 10_000  # command events whose room is remembered, for replies


class Held(Exception):
    """The effect cannot be carried out yet; try again on a later pass."""

    def __init__(self, room_id: str) -> None:
        super().__init__(room_id)
        self.room_id = room_id


class Executor:
    """Carries out outbox effects with one matrix-nio client."""

    def __init__(self, client: nio.AsyncClient, core: Twinome, bindings: Bindings,
                 config: MatrixConfig, clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.core = core
        self.bindings = bindings
        self.config = config
        self.clock = clock
        self.waiting = 0
        self._failures: dict[int, int] = {}
        self._fresh: dict[str, float] = {}
        self._awaiting: dict[str, set[str]] = {}
        self._awaiting_since: dict[str, float] = {}
        self._moderators: str | None = None
        self._current: str | None = None
        self._txn: str | None = None
        self._txns: dict[int, str] = {}  # transaction ids of effects tried and not yet done
        self._in_flight = InFlight(config.store_dir)
        self._origins: OrderedDict[str, str] = OrderedDict()

    def remember_origin(self, event_id: str, room_id: str) -> None:
        """Note where a command was typed, so its reply goes back there."""
        self._origins[event_id] = room_id
        if len(self._origins) > ORIGINS:
            self._origins.popitem(last=False)

    def observe(self, response: Any) -> None:
        """Learn from a sync which new rooms arrived and which invitees joined or left."""
        for room_id, info in response.rooms.join.items():
            self._fresh.pop(room_id, None)
            awaiting = self._awaiting.get(room_id)
            if not awaiting:
                continue
            for event in [*info.state, *info.timeline.events]:
                if isinstance(event, nio.RoomMemberEvent) and event.membership != "invite":
                    awaiting.discard(event.state_key)
            if not awaiting:
                del self._awaiting[room_id]

    async def deliver(self) -> None:
        """Carry out every pending effect that can be carried out now."""
        await self._query_keys()
        blocked: set[str] = set()
        waiting = 0
        for delivery in await self.core.pending(limit=1000):
            self._current = None
            self._txn = self._in_flight.begin(delivery.id, to_json(delivery.effect),
                                              self._txns.get(delivery.id))
            self._txns[delivery.id] = self._txn
            try:
                await self._carry_out(delivery.effect, blocked)
            except Held as held:
                blocked.add(held.room_id)
                waiting += 1
                continue
            except (MatrixCallError, aiohttp.ClientError, OSError, TimeoutError) as err:
                if not self._failed(delivery, err, blocked):
                    waiting += 1
                    continue
            except Exception:
                log.exception("effect %s (%s) crashed; dropped", delivery.id, delivery.effect.kind)
            self._failures.pop(delivery.id, None)
            self._txns.pop(delivery.id, None)
            await self.core.done([delivery.id])
            self._in_flight.clear()
        self._txn = None
        self.waiting = waiting

    def _failed(self, delivery: Delivery, err: Exception, blocked: set[str]) -> bool:
        """Count a failure; True when the effect is given up."""
        count = self._failures.get(delivery.id, 0) + 1
        self._failures[delivery.id] = count
        if self._current is not None:
            blocked.add(self._current)
        if count >= MAX_FAILURES:
            log.warning("effect %s (%s) dropped after %d failures: %s",
                        delivery.id, delivery.effect.kind, count, err)
            return True
        log.warning("effect %s (%s) failed (%d/%d), will retry: %s",
                    delivery.id, delivery.effect.kind, count, MAX_FAILURES, err)
        return False

    async def _carry_out(self, effect: Effect, blocked: set[str]) -> None:
        if isinstance(effect, Reply):
            await self._reply(effect, blocked)
        elif isinstance(effect, Notify):
            await self._notify(effect.to, effect.text, blocked)
        elif isinstance(effect, Post):
            room_id = await self._line(effect.room, blocked)
            if room_id is not None:
                await self.send_notice(room_id, effect.text, hold=True)
        elif isinstance(effect, CreateRoom):
            await self._create(effect)
        elif isinstance(effect, InviteToRoom):
            await self._invite(effect, blocked)
        elif isinstance(effect, RemoveFromRoom):
            await self._remove(effect, blocked)
        elif isinstance(effect, CloseRoom):
            await self._close(effect, blocked)
        elif isinstance(effect, ReportToModerators):
            await self._report(effect)

    async def _reply(self, effect: Reply, blocked: set[str]) -> None:
        origin = self._origins.get(effect.in_reply_to)
        if effect.room is not None and not effect.private:
            room_id = await self.bindings.room(effect.room)
            if room_id is None:
                log.warning("reply for unbound room %s dropped", effect.room)
                return
            await self.send_notice(room_id, effect.text, reply_to=effect.in_reply_to)
            return
        dm = await self.direct_chat(effect.to, blocked)
        if effect.room is None and not effect.private and origin is not None and origin != dm:
            await self.send_notice(origin, effect.text, reply_to=effect.in_reply_to)
            return
        typed_here = origin == dm or (origin is None and effect.room is None)
        await self.send_notice(dm, effect.text, reply_to=effect.in_reply_to if typed_here else None)

    async def _notify(self, user_id: str, text: str, blocked: set[str]) -> None:
        dm = await self.direct_chat(user_id, blocked)
        await self.send_notice(dm, text)

    async def _line(self, room: int, blocked: set[str]) -> str | None:
        """The Matrix room of a core room, checking it is not waiting behind earlier effects."""
        if f"core:{room}" in blocked:
            raise Held(f"core:{room}")  # its creation failed on this pass: keep the order
        room_id = await self.bindings.ref(f"room:{room}")
        if room_id is None:
            log.warning("effect for unbound room %s dropped", room)
            return None
        self._current = room_id
        if room_id in blocked:
            raise Held(room_id)
        return room_id

    async def direct_chat(self, user_id: str, blocked: set[str]) -> str:
        """The member's direct chat with the bot, opened first if there is none."""
        room_id = await self.bindings.dm(user_id)
        if room_id is not None and self._usable_dm(room_id, user_id):
            self._current = room_id
            if room_id in blocked:
                raise Held(room_id)
            return room_id
        stale = self.client.rooms.get(room_id) if room_id is not None else None
        if stale is not None and user_id not in stale.users:
            await self._leave_quietly(stale.room_id)  # they left it: no need to stay
        room_id = await rooms.create_direct(self.client, user_id, self.config.prefix)
        self._current = room_id
        await self.bindings.bind(f"dm:{user_id}", room_id)
        self._fresh[room_id] = self.clock()
        log.info("opened a direct chat with %s", user_id)
        return room_id

    def _usable_dm(self, room_id: str, user_id: str) -> bool:
        """A direct chat is private: the member is in it, and nobody but the bot besides."""
        if room_id in self._fresh:
            return True
        room = self.client.rooms.get(room_id)
        return room is not None and user_id in room.users and set(room.users) <= {
            user_id, self.client.user_id}

    async def _leave_quietly(self, room_id: str) -> None:
        try:
            await checked("leaving a stale direct chat", lambda: self.client.room_leave(room_id),
                          nio.RoomLeaveResponse, attempts=2)
        except MatrixCallError as err:
            log.warning("%s", err)

    async def send_notice(self, room_id: str, text: str, *, reply_to: str | None = None,
                          hold: bool = False) -> None:
        """Send ``text`` as ``m.notice`` events (HTML formatted, as many as its length needs)."""
        room = self.client.rooms.get(room_id)
        if room is None:
            if room_id in self._fresh and not self._expired(self._fresh[room_id]):
                raise Held(room_id)
            raise MatrixCallError("sending a notice", "the bot is not in that room")
        if hold and self._invitees_pending(room_id, room):
            raise Held(room_id)
        ignore = self.config.trust == "ignore"
        if room.encrypted and not ignore:
            self._trust(room)
        txn, self._txn = self._txn, None  # one notice per effect carries its transaction id
        for index, part in enumerate(split_notice(text)):
            content: dict[str, Any] = {"msgtype": "m.notice", "body": part,
                                       "format": "org.matrix.custom.html",
                                       "formatted_body": to_html(part)}
            if reply_to and index == 0:
                content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
            await self._send(room_id, content, _part_txn(txn, index), ignore)

    async def _send(self, room_id: str, content: dict[str, Any], txn: str | None,
                    ignore: bool) -> None:
        await checked("sending a notice",
                      lambda: self.client.room_send(room_id, "m.room.message", content,
                                                    tx_id=txn, ignore_unverified_devices=ignore),
                      nio.RoomSendResponse)

    def _invitees_pending(self, room_id: str, room: nio.MatrixRoom) -> bool:
        joined = set(room.users) - set(room.invited_users)
        pending = set(room.invited_users) | (self._awaiting.get(room_id, set()) - joined)
        if not pending:
            self._awaiting.pop(room_id, None)
            self._awaiting_since.pop(room_id, None)
            return False
        since = self._fresh.get(room_id) or self._awaiting_since.setdefault(room_id, self.clock())
        return not self._expired(since)

    def _expired(self, since: float) -> bool:
        return self.clock() - since > HOLD_LIMIT

    def _trust(self, room: nio.MatrixRoom) -> None:
        """Trust on first use: every device of the room's members not yet judged is verified."""
        for user_id in room.users:
            for device in self.client.device_store.active_user_devices(user_id):
                if not (device.verified or device.blacklisted or device.ignored):
                    self.client.verify_device(device)

    async def _query_keys(self) -> None:
        if self.client.should_query_keys:
            try:
                await checked("querying device keys", self.client.keys_query, nio.KeysQueryResponse)
            except MatrixCallError as err:
                log.warning("%s", err)

    async def _create(self, effect: CreateRoom) -> None:
        if await self.bindings.room(effect.room) is not None:
            return
        self._current = f"core:{effect.room}"
        room_id = await rooms.create_line(self.client, effect.name, effect.topic,
                                          list(effect.members), self.config.prefix)
        await self.bindings.bind(f"room:{effect.room}", room_id)
        self._fresh[room_id] = self.clock()
        self._awaiting[room_id] = set(effect.members)
        log.info("created the %s room %s for core room %s", effect.purpose, room_id, effect.room)

    async def _invite(self, effect: InviteToRoom, blocked: set[str]) -> None:
        room_id = await self._line(effect.room, blocked)
        if room_id is None:
            return
        try:
            await checked("inviting a member",
                          lambda: self.client.room_invite(room_id, effect.member),
                          nio.RoomInviteResponse)
        except MatrixCallError as err:
            if "already in the room" not in str(err):
                raise
        self._awaiting.setdefault(room_id, set()).add(effect.member)

    async def _remove(self, effect: RemoveFromRoom, blocked: set[str]) -> None:
        room_id = await self._line(effect.room, blocked)
        if room_id is None:
            return
        try:
            await checked("removing a member",
                          lambda: self.client.room_kick(room_id, effect.member, effect.reason),
                          nio.RoomKickResponse)
        except MatrixCallError as err:
            if "not in the room" not in str(err):
                raise
        self._awaiting.get(room_id, set()).discard(effect.member)

    async def _close(self, effect: CloseRoom, blocked: set[str]) -> None:
        room_id = await self._line(effect.room, blocked)
        if room_id is None:
            return
        if room_id not in self.client.rooms and room_id not in self._fresh:
            return  # left already (this effect is being replayed after a restart)
        await self.send_notice(room_id, effect.reason, hold=True)
        await checked("leaving a room", lambda: self.client.room_leave(room_id),
                      nio.RoomLeaveResponse)
        self._awaiting.pop(room_id, None)

    async def _report(self, effect: ReportToModerators) -> None:
        where = self.config.moderators_room
        if where is None:
            log.warning("a safety report arrived but no [matrix] moderators_room is configured")
            return
        if self._moderators is None or self._moderators not in self.client.rooms:
            joined = await checked("joining the moderators' room",
                                   lambda: self.client.join(where), nio.JoinResponse)
            self._moderators = str(joined.room_id)
            if self._moderators not in self.client.rooms:
                self._fresh[self._moderators] = self.clock()
        self._current = self._moderators
        await self.send_notice(self._moderators, effect.text)


def _part_txn(txn: str | None, index: int) -> str | None:
    """The transaction id of one part of a long notice: the effect's own one, then numbered."""
    if txn is None or index == 0:
        return txn
    return f"{txn}-part{index}"
