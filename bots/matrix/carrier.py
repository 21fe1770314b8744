"""The Matrix carrier: effects carried out with one matrix-nio client.

The shared delivery pump (:mod:`bots.adapter.pump`) keeps order, retries and bindings;
this module only knows Matrix. What can stop a notice for now (:class:`Wait`):

* a room the bot just created or joined is not in nio's state until a sync shows it;
* a notice that asks for ``hold`` in a room whose invited members have not joined yet:
  trio rooms and pair lines show history only from joining, so a notice sent before
  would never reach them. :meth:`MatrixCarrier.observe` learns joins from each sync and
  says when the pump should look again; after its hold limit the pump sends anyway.

Every notice is an ``m.notice`` with HTML and ``"m.mentions": {}``: user-chosen text in
it (a trio named ``@room``) pings nobody. A reply relates to the command
(``m.in_reply_to``). The effect's idempotency key is the Matrix transaction id, so a
re-send after a kill posts nothing twice. A long text (``privacy export``, ``help``) is
sent as several notices cut by :func:`bots.matrix.render.split_notice`; part ``i`` uses
the key plus ``-part<i>``, and only the first part replies to the command.
Log lines name rooms and error codes, never text.
"""

from __future__ import annotations

import io
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial
from typing import Any

import aiohttp
import nio

from bots.adapter.bindings import Bindings
from bots.adapter.carrier import (
    Done,
    Failed,
    GuardedCarrier,
    InRoom,
    Moderators,
    Notice,
    Outcome,
    Retry,
    Target,
    Wait,
)
from bots.adapter.text import with_choices
from bots.matrix import rooms
from bots.matrix.calls import MatrixCallError, checked
from bots.matrix.config import MatrixConfig
from bots.matrix.render import split_notice, to_html
from core import keys
from core.effects import Attachment, CreateRoom
from core.ids import MemberId

log = logging.getLogger("twinome.matrix")

PLATFORM = "matrix"
FRESH_LIMIT = 120.0  # seconds a room the bot just made may stay unseen by sync


class MatrixCarrier(GuardedCarrier):
    """Carries effects out on a Matrix homeserver."""

    platform = PLATFORM

    def __init__(self, client: nio.AsyncClient, bindings: Bindings, config: MatrixConfig,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.bindings = bindings
        self.config = config
        self.clock = clock
        self._fresh: dict[str, float] = {}  # rooms made or joined, not yet seen in a sync
        self._awaiting: dict[str, set[str]] = {}  # invitees of new rooms not joined yet
        self._moderators: str | None = None

    def observe(self, response: Any) -> bool:
        """Learn from a sync which rooms arrived and who joined; True if that may free a notice."""
        changed = False
        for room_id, info in response.rooms.join.items():
            changed |= self._fresh.pop(room_id, None) is not None
            awaiting = self._awaiting.get(room_id)
            if not awaiting:
                continue
            for event in [*info.state, *info.timeline.events]:
                if isinstance(event, nio.RoomMemberEvent) and event.membership != "invite":
                    awaiting.discard(event.state_key)
                    changed = True
            if not awaiting:
                del self._awaiting[room_id]
        return changed

    async def guard(self, call: Awaitable[Outcome]) -> Outcome:
        return await _guarded(call)

    async def _send(self, target: Target, notice: Notice) -> Outcome:
        if isinstance(target, Moderators):
            where = await self._moderators_room()
            if where is None:
                return Failed("no [matrix] moderators_room is configured")
            return await self.send_notice(where, notice)
        if isinstance(target, InRoom):
            return await self.send_notice(target.ref, notice)
        dm = await self.direct_chat(target.member)
        origin = notice.origin
        if origin is not None and origin != dm and not notice.private and origin in self.client.rooms:
            return await self.send_notice(origin, notice)  # typed in another room: answer there
        typed_here = origin == dm
        return await self.send_notice(dm, notice if typed_here else _unrelated(notice))

    async def direct_chat(self, user_id: str) -> str:
        """The member's direct chat with the bot, opened first if there is none."""
        room_id = await self.bindings.dm(user_id)
        if room_id is not None and self._usable_dm(room_id, user_id):
            return room_id
        stale = self.client.rooms.get(room_id) if room_id is not None else None
        if stale is not None and user_id not in stale.users:
            await self._leave_quietly(stale.room_id)  # they left it: no need to stay
        room_id = await rooms.create_direct(self.client, user_id, self.config.prefix,
                                            self.config.language)
        await self.bindings.bind(keys.dm_key(user_id), room_id)
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

    async def send_notice(self, room_id: str, notice: Notice) -> Outcome:
        """Send a notice as ``m.notice`` events (HTML, as many as its length needs)."""
        room = self.client.rooms.get(room_id)
        if room is None:
            since = self._fresh.get(room_id)
            if since is not None and self.clock() - since < FRESH_LIMIT:
                return Wait("the room is not in a sync yet")
            return Retry("the bot is not in that room")
        if notice.hold and self._invitees_pending(room_id, room):
            return Wait("invited members have not joined yet")
        ignore = self.config.trust == "ignore"
        if room.encrypted and not ignore:
            self._trust(room)
        await self._query_keys()
        text = with_choices(notice.text, notice.choices, self.config.prefix, notice.lang)
        for index, part in enumerate(split_notice(text)):
            content: dict[str, Any] = {"msgtype": "m.notice", "body": part,
                                       "format": "org.matrix.custom.html",
                                       "formatted_body": to_html(part), "m.mentions": {}}
            if notice.reply_to and index == 0:
                content["m.relates_to"] = {"m.in_reply_to": {"event_id": notice.reply_to}}
            txn = notice.key if index == 0 else f"{notice.key}-part{index}"
            await checked("sending a notice",
                          partial(self.client.room_send, room_id, "m.room.message", content,
                                  tx_id=txn, ignore_unverified_devices=ignore),
                          nio.RoomSendResponse)
        if notice.attachment is not None:
            content = await self._file(notice.attachment, encrypt=room.encrypted)
            await checked("sending a file",
                          partial(self.client.room_send, room_id, "m.room.message", content,
                                  tx_id=f"{notice.key}-file", ignore_unverified_devices=ignore),
                          nio.RoomSendResponse)
        return Done()

    async def _file(self, file: Attachment, *, encrypt: bool) -> dict[str, Any]:
        """Upload an attachment (encrypted for an encrypted room); the ``m.file`` content."""
        data = file.content.encode("utf-8")
        secret: dict[str, Any] = {}  # the key to decrypt it, sent inside the encrypted event

        async def upload() -> Any:
            response, decryption = await self.client.upload(
                io.BytesIO(data), file.mimetype, file.filename, encrypt=encrypt,
                filesize=len(data))
            secret.clear()
            secret.update(decryption or {})
            return response

        uploaded = await checked("uploading a file", upload, nio.UploadResponse)
        content: dict[str, Any] = {"msgtype": "m.file", "body": file.filename,
                                   "filename": file.filename, "m.mentions": {},
                                   "info": {"mimetype": file.mimetype, "size": len(data)}}
        if encrypt:
            content["file"] = {"url": uploaded.content_uri, **secret}
        else:
            content["url"] = uploaded.content_uri
        return content

    def _invitees_pending(self, room_id: str, room: nio.MatrixRoom) -> bool:
        joined = set(room.users) - set(room.invited_users)
        pending = set(room.invited_users) | (self._awaiting.get(room_id, set()) - joined)
        if not pending:
            self._awaiting.pop(room_id, None)
        return bool(pending)

    def _trust(self, room: nio.MatrixRoom) -> None:
        """Trust on first use: every device of the room's members not yet judged is verified."""
        for user_id in room.users:
            for device in self.client.device_store.active_user_devices(user_id):
                if not (device.verified or device.blacklisted or device.ignored):
                    self.client.verify_device(device)

    async def _query_keys(self) -> None:
        if self.client.should_query_keys:
            try:
                await checked("querying device keys", self.client.keys_query,
                              nio.KeysQueryResponse)
            except MatrixCallError as err:
                log.warning("%s", err)

    async def _create(self, effect: CreateRoom) -> Outcome:
        room_id = await rooms.create_line(self.client, effect.name, effect.topic,
                                          list(effect.members), self.config.prefix,
                                          self.config.language)
        self._fresh[room_id] = self.clock()
        self._awaiting[room_id] = set(effect.members)
        log.info("created the %s room %s for core room %s", effect.purpose, room_id, effect.room)
        return Done(room_id)

    async def _invite(self, room_id: str, member: MemberId) -> Outcome:
        try:
            await checked("inviting a member", lambda: self.client.room_invite(room_id, member),
                          nio.RoomInviteResponse)
        except MatrixCallError as err:
            if "already in the room" not in str(err):
                raise
        self._awaiting.setdefault(room_id, set()).add(member)
        return Done()

    async def _remove(self, room_id: str, member: MemberId, reason: str) -> Outcome:
        try:
            await checked("removing a member",
                          lambda: self.client.room_kick(room_id, member, reason),
                          nio.RoomKickResponse)
        except MatrixCallError as err:
            if "not in the room" not in str(err):
                raise
        self._awaiting.get(room_id, set()).discard(member)
        return Done()

    async def _close(self, room_id: str, notice: Notice) -> Outcome:
        if room_id not in self.client.rooms and room_id not in self._fresh:
            return Done()  # left already (this effect is being replayed after a restart)
        sent = await self.send_notice(room_id, notice)
        if not isinstance(sent, Done):
            return sent
        await checked("leaving a room", lambda: self.client.room_leave(room_id),
                      nio.RoomLeaveResponse)
        self._awaiting.pop(room_id, None)
        return Done()

    async def _moderators_room(self) -> str | None:
        where = self.config.moderators_room
        if where is None:
            return None
        if self._moderators is None or self._moderators not in self.client.rooms:
            joined = await checked("joining the moderators' room",
                                   lambda: self.client.join(where), nio.JoinResponse)
            self._moderators = str(joined.room_id)
            if self._moderators not in self.client.rooms:
                self._fresh[self._moderators] = self.clock()
        return self._moderators


def _unrelated(notice: Notice) -> Notice:
    """The notice without its reply relation (it is read somewhere else than the command)."""
    return replace(notice, reply_to=None)


async def _guarded(call: Awaitable[Outcome]) -> Outcome:
    """The outcome of a call, with the homeserver's refusals and outages as a retry."""
    try:
        return await call
    except (MatrixCallError, aiohttp.ClientError, OSError, TimeoutError) as err:
        return Retry(str(err) if isinstance(err, MatrixCallError) else type(err).__name__)
