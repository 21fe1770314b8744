"""The Matrix adapter: a sync loop feeding the shared runtime, and a carrier for its effects.

Theory of operation. The bot logs in (keeping its device across restarts), uploads its
device keys, and cross-signs its device. It starts the shared runtime
(:class:`core.runtime.Runtime`: one writer, the scheduler that fires due jobs) and the
delivery pump with the Matrix carrier (:mod:`bots.matrix.carrier`), each a task of its
own. Then it syncs in a loop; for each sync batch:

1. nio decrypts what it can and updates its room state; invites to direct chats are
   accepted and bound as the inviter's direct chat; the carrier learns which new rooms
   arrived and who joined (the pump is woken if that may free a held notice);
2. the batch's member messages become core events, submitted to the runtime together
   (one transaction; the core skips event ids it has seen before);
3. once they are durable, the batch's ``next_batch`` token is saved. A crash before that
   replays the batch on restart: the core dedupes the events, and the outbox keeps the
   effects not yet carried out, for the pump. matrix-nio's own token saving is off,
   since nio saves the token before the batch's callbacks have run.

A first start (no saved token) syncs once and ignores that sync's timelines: room
history from before the bot started is not replayed. A restart syncs with
``full_state`` from the saved token, so nio learns its rooms again, and fills any gap
of a ``limited`` timeline from ``/messages`` so no command sent meanwhile is missed.
An encrypted event nio could not decrypt yet (its key may come in a later batch) is held
for a few seconds (:mod:`bots.matrix.timeline`), and while it is held the saved token
stays before it.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import replace
from typing import Any

import aiohttp
import nio

from bots.adapter.bindings import Bindings
from bots.adapter.pump import Pump
from bots.matrix.calls import MatrixCallError, backoff, checked, error_code
from bots.matrix.carrier import PLATFORM, MatrixCarrier
from bots.matrix.config import MatrixConfig
from bots.matrix.crosssign import CrossSigningError, ensure_cross_signed
from bots.matrix.inbound import Translator
from bots.matrix.names import homeserver_of, invite_link, user_reader
from bots.matrix.session import CROSS_SIGNING_FILE, LoginError, SyncToken, close, login
from bots.matrix.timeline import DECRYPT_GRACE, Timeline
from core import keys
from core.config import Settings
from core.i18n import _
from core.runtime import Runtime
from core.service import Twinome

log = logging.getLogger("twinome.matrix")



def core_settings(config: MatrixConfig, base: Settings | None = None) -> Settings:
    """The core's settings for Matrix: the prefix, the language, matrix.to links, @name mentions."""
    return replace(base or Settings(), prefix=config.prefix, default_language=config.language,
                   invite_link=invite_link(config.user_id),
                   read_user=user_reader(config.server_name), community_of=homeserver_of)


def sync_filter(timeline_limit: int) -> dict[str, Any]:
    """What the bot syncs: no presence, typing or receipts; timelines up to the limit."""
    return {
        "presence": {"not_types": ["*"]},
        "room": {"ephemeral": {"not_types": ["*"]},
                 "timeline": {"limit": timeline_limit}},
    }


class MatrixBot:
    """Runs the core on Matrix until cancelled."""

    def __init__(self, config: MatrixConfig, core: Twinome, *, timeline_limit: int = 100,
                 max_wait: float = 30.0, decrypt_grace: float = DECRYPT_GRACE) -> None:
        self.config = config
        self.core = core
        self.timeline_limit = timeline_limit
        self.max_wait = max_wait
        self.decrypt_grace = decrypt_grace
        self.ready = asyncio.Event()
        self.tokens = SyncToken(config.store_dir)
        self.bindings = Bindings(core, PLATFORM)
        self.translator = Translator(self.bindings, config.user_id, config.prefix)
        self.runtime = Runtime(core)
        self._client: nio.AsyncClient | None = None
        self._carrier: MatrixCarrier | None = None
        self._pump: Pump | None = None
        self._timeline: Timeline | None = None

    @property
    def client(self) -> nio.AsyncClient:
        """The logged-in matrix-nio client."""
        if self._client is None:
            raise RuntimeError("the bot is not running")
        return self._client

    @property
    def timeline(self) -> Timeline:
        """What reads the batches' timelines."""
        if self._timeline is None:
            raise RuntimeError("the bot is not running")
        return self._timeline

    @property
    def carrier(self) -> MatrixCarrier:
        """What carries out the effects on Matrix."""
        if self._carrier is None:
            raise RuntimeError("the bot is not running")
        return self._carrier

    @property
    def pump(self) -> Pump:
        """What reads the outbox and hands effects to the carrier."""
        if self._pump is None:
            raise RuntimeError("the bot is not running")
        return self._pump

    async def run(self) -> None:
        """Log in, catch up, then sync and serve until cancelled."""
        self._client = await login(self.config)
        try:
            self._carrier = MatrixCarrier(self.client, self.bindings, self.config)
            self._pump = Pump(self.core, self.carrier, self.bindings)
            self._timeline = Timeline(self.client, self.translator, self.carrier,
                                      self.decrypt_grace)
            await self._cross_sign()
            await self._serve()
        finally:
            if self._pump is not None:
                await self._pump.stop()
            await self.runtime.stop()
            await close(self.client)

    async def _serve(self) -> None:
        """Catch up, start the runtime and the pump, then sync until cancelled."""
        since = self.tokens.load()
        resumed = since is not None
        await self.runtime.start()
        self.runtime.on_effects(self.pump.wake)
        first = await self._sync(since, full_state=True, wait=0)
        await self._batch(first, since, history=resumed)
        since = first.next_batch
        await self.pump.start()  # after the first sync: nio knows the bot's rooms now
        await self._join_moderators()
        if self.config.moderators_room is not None:
            await self.pump.resend_reports()
        log.info("ready as %s (device %s), %s", self.config.user_id, self.client.device_id,
                 "resumed where it stopped" if resumed else "first start: history skipped")
        self.ready.set()
        while True:
            response = await self._sync(since, full_state=False, wait=self._wait())
            await self._batch(response, since, history=True)
            since = response.next_batch

    async def _cross_sign(self) -> None:
        path = self.config.store_dir / CROSS_SIGNING_FILE
        try:
            await ensure_cross_signed(self.client, self.config.password, path)
        except CrossSigningError as err:
            log.warning("the bot's device is not cross-signed (%s); Element users will not "
                        "be able to exchange encrypted messages with it", err)

    async def _join_moderators(self) -> None:
        where = self.config.moderators_room
        if where is None or where in self.client.rooms:
            return
        try:
            await checked("joining the moderators' room", lambda: self.client.join(where),
                          nio.JoinResponse, attempts=2)
        except MatrixCallError as err:
            log.warning("%s", err)

    async def _sync(self, since: str | None, *, full_state: bool, wait: int) -> Any:
        """One sync, retried with backoff for as long as the homeserver is unreachable."""
        attempt = 0
        while True:
            try:
                response = await self.client.sync(
                    timeout=wait, since=since, full_state=full_state,
                    sync_filter=sync_filter(self.timeline_limit))
            except (aiohttp.ClientError, OSError, TimeoutError) as err:
                detail = f"connection problem ({type(err).__name__})"
            else:
                if isinstance(response, nio.SyncResponse):
                    return response
                if error_code(response) in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
                    raise LoginError(_("The homeserver no longer accepts the bot's access "
                                       "token."))
                detail = str(response)
            delay = backoff(attempt, 1.0)
            log.warning("sync failed: %s; retrying in %.0fs", detail, delay)
            await asyncio.sleep(delay)
            attempt += 1

    def _wait(self) -> int:
        """How long the next sync may wait for events, in milliseconds."""
        wait = self.max_wait
        if self.pump.waiting or self.timeline.holding:
            wait = min(wait, 2.0)
        return int(wait * 1000)

    async def _batch(self, response: Any, since: str | None, *, history: bool) -> None:
        """Handle one sync batch; the token is saved only once its events are durable."""
        if self.carrier.observe(response):
            self.pump.wake()
        await self._keys()
        await self._accept_invites(response)
        incoming = await self.timeline.collect(response, since) if history else []
        incoming += await self.timeline.retry()
        if incoming:
            await self.runtime.submit_many(item.event for item in incoming)
        await self._to_device()
        token = self.timeline.resume_from(response.next_batch)
        if token is not None:
            self.tokens.save(token)

    async def _keys(self) -> None:
        """Keep one-time keys topped up and device lists fresh."""
        try:
            if self.client.should_upload_keys:
                await checked("uploading keys", self.client.keys_upload, nio.KeysUploadResponse)
            if self.client.should_query_keys:
                await checked("querying keys", self.client.keys_query, nio.KeysQueryResponse)
        except MatrixCallError as err:
            log.warning("%s", err)

    async def _to_device(self) -> None:
        """Send the to-device messages nio queued (key shares, Olm session repairs)."""
        if not self.client.outgoing_to_device_messages:
            return
        try:
            answers = await self.client.send_to_device_messages()
        except (aiohttp.ClientError, OSError, TimeoutError) as err:
            log.warning("sending to-device messages failed: %s", type(err).__name__)
            return
        for answer in answers:
            if not isinstance(answer, nio.ToDeviceResponse):
                log.warning("a to-device message was refused: %s", answer)

    async def _accept_invites(self, response: Any) -> None:
        """Join direct chats (and the moderators' room) the bot is invited to."""
        for room_id, info in response.rooms.invite.items():
            invite = next((e for e in info.invite_state if isinstance(e, nio.InviteMemberEvent)
                           and e.state_key == self.config.user_id and e.membership == "invite"),
                          None)
            if invite is None:
                continue
            direct = bool(invite.content.get("is_direct"))
            if not direct and not self._is_moderators(room_id, info.invite_state):
                log.info("declining an invite to a room that is not a direct chat")
                await self._quietly(lambda r=room_id: self.client.room_leave(r), nio.RoomLeaveResponse)
                continue
            if await self._quietly(lambda r=room_id: self.client.join(r), nio.JoinResponse) and direct:
                await self.bindings.bind(keys.dm_key(invite.sender), room_id)
                log.info("joined the direct chat of %s", invite.sender)

    def _is_moderators(self, room_id: str, state: list[Any]) -> bool:
        where = self.config.moderators_room
        aliases = {getattr(e, "canonical_alias", None) for e in state}
        return where is not None and (where == room_id or where in aliases)

    async def _quietly(self, call: Any, ok: type) -> bool:
        try:
            await checked("answering an invite", call, ok, attempts=3)
        except MatrixCallError as err:
            log.warning("%s", err)
            return False
        return True
