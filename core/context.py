"""The context a command or job handler works in: one transaction, one clock reading."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from core import queries
from core.config import Settings
from core.effects import Attachment, Choice, Effect, Notify, Post, Reply, choices_json
from core.errors import Conflict, Forbidden, NotFound
from core.grammar import Invocation, suggest
from core.i18n import _, _n, join, pick, render
from core.ids import MemberId, RoomId, TrioId
from core.model import Room, Trio
from core.quiet import quiet_until
from core.storage.db import Params, Tx
from core.textrules import fold, slug
from core.timeutil import ts


@dataclass
class Ctx:
    """Everything a handler may touch; effects it adds are committed with its writes."""

    tx: Tx
    now: datetime
    settings: Settings
    actor: MemberId = field(default_factory=lambda: MemberId(""))
    room: Room | None = None
    event_id: str = ""
    private: bool = False
    platform: str = "console"
    origin: str | None = None
    language: str = ""  # the actor's language ("" where there is no actor: the default)
    effects: list[Effect] = field(default_factory=list)
    earliest_job: datetime | None = None
    # Set by a handler that deleted personal data: once the transaction commits, the core
    # checkpoints and truncates the WAL (old page images leave the disk), and does so again
    # once the effects queued so far are delivered (their outbox rows deleted).
    scrub: bool = False
    # Writes left to go with the effects' own (see write_last).
    last_writes: list[tuple[str, Sequence[Params]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.language = self.language or pick(self.settings.default_language)

    @property
    def prefix(self) -> str:
        return self.settings.prefix

    def reply(self, text: str, *, private: bool | None = None, error: bool = False,
              choices: tuple[Choice, ...] = (), attachment: Attachment | None = None) -> None:
        """Answer the command where it was typed (privately if the command is private).

        A private answer is said in the actor's language; one the whole room reads, in the
        trio's (``core.telling`` says it once the effect is stashed).
        """
        private = self.private if private is None else private
        room = self.room.id if self.room else None
        if room is not None and not private:
            self.effects.append(Reply(self.actor, room, self.event_id, text, private, error,
                                      self.origin, choices, attachment))
            return
        self.effects.append(Reply(self.actor, room, self.event_id, render(text, self.language),
                                  private, error, self.origin, rendered(choices, self.language),
                                  attachment, self.language))

    def post(self, room: RoomId, text: str, choices: tuple[Choice, ...] = (), *,
             sender: MemberId | None = None) -> None:
        """A bot notice in a trio room or pair line (``sender``: whose words it relays)."""
        self.effects.append(Post(room, text, choices, sender))

    def emit(self, effect: Effect) -> None:
        """Any other effect."""
        self.effects.append(effect)

    async def notify(self, member: MemberId, text: str, *, sender: MemberId | None = None,
                     choices: tuple[Choice, ...] = ()) -> None:
        """A private notice, held until the member's quiet hours end.

        ``sender`` is the person whose words or doings the notice relays: between two
        people where one blocked the other, it never reaches the member.
        """
        if sender is not None and await queries.blocked_between(self.tx, sender, member):
            return
        row = await self.tx.one(
            "SELECT tz, quiet_start, quiet_end, coalesce(language, locale) FROM members "
            "WHERE id = ?", (member,)
        )
        lang = pick(row[3] if row else None, self.settings.default_language)
        text, choices = render(text, lang), rendered(choices, lang)
        until = quiet_until(row["tz"], row["quiet_start"], row["quiet_end"], self.now) if row else None
        if until is None:
            self.effects.append(Notify(member, text, choices, sender, lang))
            return
        await self.tx.run(
            "INSERT INTO held_notices (member_id, text, created_at, choices, sent_by) "
            "VALUES (?, ?, ?, ?, ?)",
            (member, text, ts(self.now), choices_json(choices), sender),
        )
        await self.schedule("release_held", f"held:{member}", until, {"member": member})

    async def schedule(self, kind: str, key: str, due: datetime, payload: dict[str, Any]) -> None:
        """Run job ``kind`` at ``due``; a job with the same key is replaced."""
        await self.tx.run(
            "INSERT INTO jobs (due_at, kind, key, payload, platform) VALUES (?, ?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET due_at = excluded.due_at, kind = excluded.kind, "
            "payload = excluded.payload, platform = excluded.platform",
            (ts(due), kind, key, json.dumps(payload), self.platform),
        )
        self.planted(due)

    def write_last(self, *writes: tuple[str, Sequence[Params]]) -> None:
        """Writes sent with the outbox rows of the effects, once the handler is done (each
        statement once per parameter set, as :meth:`Tx.together`, in one round trip where
        the backend can). They must not depend on one another, and nothing read after
        them may depend on them: what is read after a handler, before its effects are
        written, is rooms, trios and members (see ``Twinome._stash``)."""
        self.last_writes.extend(writes)

    async def flush(self, *more: tuple[str, Sequence[Params]]) -> None:
        """Send the writes left by :meth:`write_last` now, with ``more`` that do not
        depend on them either."""
        writes, self.last_writes = self.last_writes, []
        await self.tx.together(*writes, *more)

    def planted(self, due: datetime) -> None:
        """Note a job planted for ``due`` (the runtime's scheduler may need to wake earlier)."""
        if self.earliest_job is None or due < self.earliest_job:
            self.earliest_job = due

    async def cancel(self, key: str) -> None:
        """Forget the job with this key, if any."""
        await self.tx.run("DELETE FROM jobs WHERE key = ?", (key,))

    async def cancel_prefix(self, prefix: str) -> None:
        """Forget every job whose key starts with ``prefix``."""
        await self.tx.run("DELETE FROM jobs WHERE key >= ? AND key < ?", (prefix, prefix + "\uffff"))

    async def trio(self, inv: Invocation) -> Trio:
        """The trio a command applies to: the room's, the ``#named`` one, or the only one."""
        if self.room is not None:
            return await self._room_trio(self.room, inv)
        mine = await queries.trios_of(self.tx, self.actor)
        if inv.trio is not None:
            return await self._named(inv.trio, mine)
        if len(mine) == 1:
            return mine[0]
        if not mine:
            raise NotFound(
                _("You are not in a trio yet."),
                hint=_("Start one with {p}trio new, or join with {p}trio join <code>.",
                       p=self.prefix),
            )
        names = tags(mine)
        raise Conflict(
            _n("You are in {n} trio; which one?", "You are in {n} trios; which one?", len(mine)),
            hint=_("Name it: {p}{command} {tag} … (yours: {tags}).", p=self.prefix,
                   command=inv.command.name, tag=names[mine[0].id],
                   tags=join(", ", names.values())),
        )

    async def _room_trio(self, room: Room, inv: Invocation) -> Trio:
        """The trio of the room the command was typed in, if the actor belongs there."""
        trio = await queries.trio(self.tx, room.trio_id)
        if not await queries.is_member(self.tx, trio.id, self.actor):
            raise Forbidden(_("Only the members of this trio can do that here."))
        if room.pair and self.actor not in room.pair:
            raise Forbidden(_("This line belongs to two other members: only they act here."),
                            hint=_("Type the command in your direct chat with me."))
        if not room.open:
            raise Conflict(_("This line is closed."),
                           hint=_("Type the command in your direct chat with me."))
        if inv.trio is not None and not _names(trio, inv.trio):
            raise Conflict(
                _("This room belongs to “{name}”, not to “{wanted}”.", name=trio.name,
                  wanted=inv.trio),
                hint=_("For another trio, type it in your direct chat with me: "
                       "{p}{command} #{wanted} …", p=self.prefix, command=inv.command.name,
                       wanted=inv.trio.lstrip("#")),
            )
        return trio

    async def _named(self, wanted: str, mine: list[Trio]) -> Trio:
        """The one trio of ``mine`` that ``#wanted`` names (by name or number)."""
        found = [t for t in mine if _names(t, wanted)]
        if len(found) == 1:
            return found[0]
        if not found:
            raise NotFound(_("You have no trio called “{wanted}”.", wanted=wanted),
                           hint=_did_you_mean(wanted, mine))
        which = []
        for t in found:
            names = await queries.member_names(self.tx, t.id)
            which.append(f"#{t.id} (" + join(", ", names.values()) + ")")
        raise Conflict(_n("You have {n} trio called “{name}”.", "You have {n} trios called “{name}”.",
                          len(found), name=found[0].name),
                       hint=_("Name it by its number: {which}.", which=join("; ", which)))

    async def active_trio(self, inv: Invocation) -> Trio:
        """Like :meth:`trio`, but the trio must have its three members."""
        trio = await self.trio(inv)
        if trio.state != "active":
            raise Conflict(
                _("“{name}” is still forming: it needs three members first.", name=trio.name),
                hint=_("Invite someone with {p}trio invite.", p=self.prefix),
            )
        return trio

    async def member_arg(self, text: str, trio: Trio | None = None) -> MemberId:
        """The member a ``@mention`` names: among the trio first, then anyone known."""
        found = await queries.find_member(self.tx, text, trio.id if trio else None)
        if found is None:
            candidate = self.settings.read_user(text)
            if trio is None and candidate is not None:
                return candidate
            unknown = (_("I don't know anyone called {who} in “{name}”.", who=text, name=trio.name)
                       if trio else _("I don't know anyone called {who}.", who=text))
            raise NotFound(unknown, hint=_("Write their name as @name, as it appears in the trio."))
        return found


def rendered(choices: tuple[Choice, ...], lang: str) -> tuple[Choice, ...]:
    """Choices whose labels are said in ``lang``."""
    return tuple(replace(c, label=render(c.label, lang)) for c in choices)


def _names(trio: Trio, wanted: str) -> bool:
    """Whether ``#wanted`` names this trio, by number or by name (accents and case aside)."""
    wanted = wanted.lstrip("#")
    return str(trio.id) == wanted or fold(slug(trio.name)) == fold(slug(wanted))


def tags(trios: list[Trio]) -> dict[TrioId, str]:
    """The ``#name`` that picks each trio; its ``#number`` where two share a name."""
    count = Counter(fold(slug(t.name)) for t in trios)
    return {t.id: f"#{slug(t.name)}" if count[fold(slug(t.name))] == 1 else f"#{t.id}"
            for t in trios}


def _did_you_mean(wanted: str, mine: list[Trio]) -> str:
    """The hint for a ``#name`` that picks none of ``mine``: the closest tag, then them all."""
    named = tags(mine)
    by_fold = {fold(tag.lstrip("#")): tag for tag in named.values()}
    guess = suggest(fold(slug(wanted.lstrip("#"))), sorted(by_fold))
    listing = _("Your trios: {tags}.", tags=join(", ", named.values()) if named else _("none yet"))
    return _("Did you mean {tag}?", tag=by_fold[guess]) + " " + listing if guess else listing


CommandHandler = Callable[[Ctx, Invocation], Awaitable[None]]
JobHandler = Callable[[Ctx, dict[str, Any]], Awaitable[None]]
