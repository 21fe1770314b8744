"""Live interactions: how a reply finds the slash command or button it answers.

A command's interaction is kept here (bounded, and only while its token lives: 15
minutes on Discord) under its id, which travels through the core as the event's
``origin`` and comes back on the Reply. The first answer is the interaction's response
when it is still unanswered, else a followup of the deferral :meth:`Answers.defer_later`
made before Discord's 3-second window closed. One lock per interaction keeps the two
from racing.

A form may give several commands in one interaction (``/seek``'s: the profile changes,
then ``seek``). The last is the interaction's own origin; the others are its parts,
``<id>:<n>`` (:func:`part_origin`). A part's plain reply is left out (the last command's
answer says what came of it); a part's error is kept and goes first in that answer, so
the member gets exactly one answer, with every error in it.

Private notices a member could not get by DM (their DMs are closed) stay in the outbox:
the carrier answers "wait" until the member's next interaction (one that came after
their DMs were found closed), and the bot wakes the pump once it is answered, so each
such notice goes out as an ephemeral followup of it, the first one saying why. Such a
notice is kept :data:`CLOSED_KEEP` at most (what it says is stale by then, and it should
not stay stored for a member who may never come back): then the carrier drops it, and the
member's next answer ends with how many were dropped (:meth:`Answers.expired`). No pass
polls for them meanwhile: the pump looks again when woken (their next interaction) or
when one is due to expire or to have its DM tried again. Here is what the carrier
learnt: whose DMs were found closed, and when (bounded; after :data:`CLOSED_RECHECK`
seconds a DM is tried again; a restart forgets it: the next notice tries a DM first),
and how many of whose notices expired. That count is the core's (``members.
notices_dropped``, raised in the transaction that drops the notice): it is read here at
startup (:meth:`Answers.load`), added to once each drop is committed, and taken back out
of the database once the member is told (the ``told`` callback), so neither a restart
nor a crash before the telling loses it. Another process sharing the database learns of
a drop only at its own startup.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass, field
from typing import Any

import discord

from core.i18n import SOURCE, _, _n, render

log = logging.getLogger("twinome.discord")

TOKEN_LIFE = 14 * 60.0  # seconds an interaction token is used (Discord: 15 minutes)
MAX_LIVE = 2000  # interactions remembered at most
MAX_CLOSED = 10_000  # members whose DMs were found closed, remembered at most
CLOSED_RECHECK = 3600.0  # seconds before a DM is tried again for such a member
CLOSED_KEEP = 7 * 86400.0  # seconds a notice waits for a member whose DMs are closed
_NONE = discord.AllowedMentions.none()
CLOSED_DMS = _("Your direct messages with me are closed, so here is what I could not "
               "send you:")


def dropped_notices(n: int) -> str:
    """What a member whose closed DMs made ``n`` notices expire is told."""
    return _n("Your direct messages with me are closed: {n} notice waited a week for you "
              "and was dropped.",
              "Your direct messages with me are closed: {n} notices waited a week for you "
              "and were dropped.", n) + " " + _("Open your direct messages with me to get "
                                                "notices as they come.")


@dataclass
class Live:
    """One interaction that may still be answered."""

    interaction: discord.Interaction
    expires: float
    private: bool
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    answered: bool = False
    deferred: bool = False
    timer: asyncio.TimerHandle | None = None
    kept: list[str] = field(default_factory=list)  # errors of parts, for the answer
    told_closed: bool = False  # the member was told their DMs are closed
    opened: float = 0.0  # when it came (the clock of :class:`Answers`)
    defer_first: bool = False  # deferred before any answer, however quick (a test's choice)


def part_origin(interaction_id: int, part: int) -> str:
    """The origin of one part of an interaction that gives several commands."""
    return f"{interaction_id}:{part}"


def whole_origin(origin: str | None) -> str | None:
    """The interaction an origin belongs to (itself, or the one it is a part of)."""
    return None if origin is None else origin.partition(":")[0]


class Answers:
    """The live interactions by id, and the members whose DMs were found closed."""

    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 told: Callable[[int, int], Awaitable[None]] | None = None) -> None:
        self.clock = clock
        self.told = told  # stores that a member was told of so many dropped notices
        self._live: OrderedDict[str, Live] = OrderedDict()
        self._closed: OrderedDict[int, float] = OrderedDict()  # user id -> when found closed
        self._expired: OrderedDict[int, int] = OrderedDict()  # user id -> notices dropped
        self._tasks: set[asyncio.Task[None]] = set()

    def open(self, interaction: discord.Interaction, *, private: bool) -> Live:
        """Remember an interaction; ``private`` says how to defer it if it comes to that."""
        now = self.clock()
        live = Live(interaction, now + TOKEN_LIFE, private, opened=now)
        self._live[str(interaction.id)] = live
        while len(self._live) > MAX_LIVE:
            _, old = self._live.popitem(last=False)
            if old.timer is not None:
                old.timer.cancel()
        return live

    def get(self, origin: str | None) -> Live | None:
        """The live interaction an origin names, if its token still lives."""
        if origin is None:
            return None
        live = self._live.get(origin)
        if live is not None and live.expires < self.clock():
            del self._live[origin]
            return None
        return live

    def take_part(self, origin: str | None, text: str, *, error: bool) -> bool:
        """Whether a part's reply is dealt with here: kept if an error, else left out."""
        if origin is None or ":" not in origin:
            return False
        live = self.get(whole_origin(origin))
        if live is None or live.answered:
            return not error  # an error still reaches the member, elsewhere or as a followup
        if error:
            live.kept.append(text)
        return True

    def defer_later(self, live: Live, after: float) -> None:
        """Defer the interaction after ``after`` seconds unless it is answered by then
        (``after`` 0: at once, even before an answer that is ready at once)."""
        if after <= 0:
            live.defer_first = True
            self._spawn(self.defer(live))
            return
        loop = asyncio.get_running_loop()
        live.timer = loop.call_later(after, lambda: self._spawn(self.defer(live)))

    def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def defer(self, live: Live) -> None:
        """Acknowledge the interaction now (Discord shows "thinking…"); the answer follows."""
        async with live.lock:
            await self._defer(live)

    @staticmethod
    async def _defer(live: Live) -> None:
        if live.answered or live.deferred or live.interaction.response.is_done():
            return
        try:
            await live.interaction.response.defer(ephemeral=live.private, thinking=True)
            live.deferred = True
        except discord.HTTPException as err:
            log.warning("deferring interaction %s failed: %s", live.interaction.id, err.status)

    async def answer(self, live: Live, text: str, *, ephemeral: bool,
                     view: discord.ui.View | None = None, lang: str = SOURCE) -> None:
        """Answer the interaction (errors kept from its parts first): its response if
        still open, else followups; then, privately, in ``lang``, how many of the member's
        notices expired, if any did."""
        async with live.lock:
            if live.defer_first:
                await self._defer(live)
            await self._answer(live, text, ephemeral=ephemeral, view=view)
            user_id = live.interaction.user.id
            dropped = self._expired.pop(user_id, 0)
            if dropped:
                await self._follow(live, render(dropped_notices(dropped), lang), True, None)
                await self._told(user_id, dropped)

    async def _told(self, user_id: int, dropped: int) -> None:
        """Store that a member was told (if that fails, they are told again after a restart)."""
        if self.told is None:
            return
        try:
            await self.told(user_id, dropped)
        except Exception:
            log.exception("that %s was told of dropped notices could not be stored", user_id)

    async def _answer(self, live: Live, text: str, *, ephemeral: bool,
                      view: discord.ui.View | None) -> None:
        parts = split("\n\n".join([*live.kept, text]))
        live.kept.clear()
        if live.timer is not None:
            live.timer.cancel()
        for index, part in enumerate(parts):
            last = view if index == len(parts) - 1 else None
            if index == 0 and not live.interaction.response.is_done():
                await self._respond(live, part, ephemeral, last)
                continue
            if index == 0 and live.deferred and not live.answered and ephemeral \
                    and not live.private:
                # a public "thinking…" keeps its publicity: make way for a private answer
                with contextlib.suppress(discord.NotFound):
                    await live.interaction.delete_original_response()
            await self._follow(live, part, ephemeral, last)
        live.answered = True

    @staticmethod
    async def _respond(live: Live, text: str, ephemeral: bool,
                       view: discord.ui.View | None) -> None:
        response = live.interaction.response
        if view is None:
            await response.send_message(text, ephemeral=ephemeral, allowed_mentions=_NONE)
        else:
            await response.send_message(text, ephemeral=ephemeral, allowed_mentions=_NONE,
                                        view=view)

    @staticmethod
    async def _follow(live: Live, text: str, ephemeral: bool,
                      view: discord.ui.View | None) -> None:
        followup = live.interaction.followup
        if view is None:
            await followup.send(text, ephemeral=ephemeral, allowed_mentions=_NONE)
        else:
            await followup.send(text, ephemeral=ephemeral, allowed_mentions=_NONE, view=view)

    def found_closed(self, user_id: int) -> None:
        """Remember that a member's DMs refused a notice (bounded)."""
        self._closed.pop(user_id, None)
        self._closed[user_id] = self.clock()
        while len(self._closed) > MAX_CLOSED:
            self._closed.popitem(last=False)

    def expired(self, user_id: int, count: int = 1) -> None:
        """Count notices dropped after waiting :data:`CLOSED_KEEP` for the member (bounded
        here; the database keeps them all, and :meth:`load` reads them at the next start)."""
        self._expired[user_id] = self._expired.pop(user_id, 0) + count
        while len(self._expired) > MAX_CLOSED:
            self._expired.popitem(last=False)

    def load(self, counts: Mapping[int, int]) -> None:
        """Take the counts of dropped notices members were not told of yet (at startup)."""
        for user_id, count in counts.items():
            self.expired(user_id, count)

    def dms_closed(self, user_id: int) -> bool:
        """Whether a member's DMs were found closed lately (then no DM is tried)."""
        since = self._closed.get(user_id)
        if since is not None and self.clock() - since > CLOSED_RECHECK:
            del self._closed[user_id]
            return False
        return since is not None

    def reachable(self, user_id: int) -> Live | None:
        """The member's newest answered interaction whose token lives, if it came after
        their DMs were found closed (their next interaction)."""
        now, since = self.clock(), self._closed.get(user_id, 0.0)
        for live in reversed(self._live.values()):
            if live.opened < since:
                return None
            if live.interaction.user.id == user_id and live.answered and live.expires > now:
                return live
        return None

    async def follow_closed(self, live: Live, text: str, view: discord.ui.View | None = None,
                            lang: str = SOURCE) -> None:
        """Hand a member, ephemerally, a notice their closed DMs refused (saying why once,
        in ``lang``, the notice's language)."""
        async with live.lock:
            if not live.told_closed:
                text = f"{render(CLOSED_DMS, lang)}\n\n{text}"
            parts = split(text)
            for index, part in enumerate(parts):
                await self._follow(live, part, True, view if index == len(parts) - 1 else None)
            live.told_closed = True


MAX_MESSAGE = 2000  # Discord's limit on a message's content


def split(text: str, limit: int = MAX_MESSAGE) -> list[str]:
    """The text in parts Discord accepts, cut at line ends where possible."""
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit)
        if cut <= 0:
            cut = limit
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n")
    parts.append(text)
    return parts
