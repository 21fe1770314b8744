"""Reading a sync batch's timelines completely: gaps filled, late room keys waited for.

A ``limited`` timeline (more events happened than the sync returns, e.g. after a long
outage) is completed from ``/messages``, going back from the timeline's ``prev_batch``
to the token the batch was asked from, so no command sent meanwhile is missed.

An encrypted event nio could not decrypt may only lack a room key that a later batch
brings. It is held and retried at each batch for up to ``grace`` seconds; after that it
still counts as "someone wrote here" in a line (who and when need no key), and in a
direct chat the member is asked to send it again. While any event is held,
:meth:`Timeline.resume_from` keeps the sync token from before it, so a restart replays
it rather than losing it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import nio

from bots.adapter.carrier import Notice
from bots.matrix.calls import MatrixCallError, checked
from bots.matrix.carrier import MatrixCarrier
from bots.matrix.inbound import Incoming, Translator

log = logging.getLogger("twinome.matrix")

DECRYPT_GRACE = 10.0
GAP_PAGES = 20  # at most 2,000 missed events per room are fetched back
UNREADABLE = ("I could not decrypt your last message: my device never got its key. "
              "Please send it again.")


@dataclass
class Undecrypted:
    """An encrypted event waiting for its key, and the token of the batch it came in."""

    room_id: str
    event: Any
    since: str | None
    first_seen: float


class Timeline:
    """Turns the timelines of sync batches into core events, completely and in order."""

    def __init__(self, client: nio.AsyncClient, translator: Translator, carrier: MatrixCarrier,
                 grace: float = DECRYPT_GRACE,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.client = client
        self.translator = translator
        self.carrier = carrier
        self.grace = grace
        self.clock = clock
        self._held: list[Undecrypted] = []

    @property
    def holding(self) -> bool:
        """Whether some event still waits for its key."""
        return bool(self._held)

    def resume_from(self, next_batch: str) -> str | None:
        """The token a restart may resume from: before the oldest held event, if any."""
        return self._held[0].since if self._held else next_batch

    async def collect(self, response: Any, since: str | None) -> list[Incoming]:
        """The core events of a batch, in timeline order, room by room."""
        out: list[Incoming] = []
        for room_id, info in response.rooms.join.items():
            room = self.client.rooms.get(room_id)
            if room is None:
                continue
            events = list(info.timeline.events)
            if info.timeline.limited and since and info.timeline.prev_batch:
                events = await self._gap(room_id, info.timeline.prev_batch, since) + events
            for event in events:
                if isinstance(event, nio.MegolmEvent) and self.translator.readable(event):
                    self._held.append(Undecrypted(room_id, event, since, self.clock()))
                    continue
                item = await self.translator.translate(room, event)
                if item is not None:
                    out.append(item)
        return out

    async def _gap(self, room_id: str, start: str, until: str) -> list[Any]:
        """The events a ``limited`` timeline skipped, oldest first."""
        found: dict[str, Any] = {}
        for _ in range(GAP_PAGES):
            page = await self._page(room_id, start, until)
            if page is None:
                break
            found.update((event.event_id, event) for event in page.chunk)
            if not page.chunk or not page.end or page.end == start:
                break
            start = page.end
        return list(reversed(found.values()))

    async def _page(self, room_id: str, start: str, until: str) -> Any:
        """One page of ``/messages`` going back from ``start`` to ``until``, or None."""

        def call() -> Any:
            return self.client.room_messages(room_id, start=start, end=until, limit=100)

        try:
            return await checked("filling a timeline gap", call, nio.RoomMessagesResponse)
        except MatrixCallError as err:
            log.warning("%s; some events may be missed", err)
            return None

    async def retry(self) -> list[Incoming]:
        """Held events whose key has arrived since, or that waited long enough."""
        out: list[Incoming] = []
        still: list[Undecrypted] = []
        for held in self._held:
            room = self.client.rooms.get(held.room_id)
            if room is None:
                continue
            try:
                event = self.client.decrypt_event(held.event)
            except (nio.EncryptionError, nio.LocalProtocolError):
                if self.clock() - held.first_seen < self.grace:
                    still.append(held)
                    continue
                event = held.event
                log.warning("event %s could not be decrypted", held.event.event_id)
                await self._unreadable(held)
            item = await self.translator.translate(room, event)
            if item is not None:
                out.append(item)
        self._held = still
        return out

    async def _unreadable(self, held: Undecrypted) -> None:
        """Tell a member their direct message could not be read (best effort)."""
        owner = await self.translator.bindings.dm_owner(held.room_id)
        if owner != held.event.sender:
            return
        try:
            event_id = held.event.event_id
            await self.carrier.send_notice(held.room_id, Notice(
                UNREADABLE, f"unreadable-{event_id}", reply_to=event_id))
        except Exception as err:  # best effort, never fatal
            log.warning("could not say a message was unreadable: %s", type(err).__name__)
