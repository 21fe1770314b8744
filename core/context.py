"""The context a command or job handler works in: one transaction, one clock reading."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core import queries
from core.config import Settings
from core.effects import Effect, Notify, Post, Reply
from core.errors import Conflict, Forbidden, NotFound
from core.grammar import Invocation
from core.ids import MemberId, RoomId
from core.model import Room, Trio
from core.quiet import quiet_until
from core.storage.db import Tx
from core.textrules import slug
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
    effects: list[Effect] = field(default_factory=list)

    @property
    def prefix(self) -> str:
        return self.settings.prefix

    def reply(self, text: str, *, private: bool | None = None, error: bool = False) -> None:
        """Answer the command where it was typed (privately if the command is private)."""
        private = self.private if private is None else private
        room = self.room.id if self.room else None
        self.effects.append(Reply(self.actor, room, self.event_id, text, private, error))

    def post(self, room: RoomId, text: str) -> None:
        """A bot notice in a trio room or pair line."""
        self.effects.append(Post(room, text))

    def emit(self, effect: Effect) -> None:
        """Any other effect."""
        self.effects.append(effect)

    async def notify(self, member: MemberId, text: str) -> None:
        """A private notice, held until the member's quiet hours end."""
        row = await self.tx.one(
            "SELECT tz, quiet_start, quiet_end FROM members WHERE id = ?", (member,)
        )
        until = quiet_until(row["tz"], row["quiet_start"], row["quiet_end"], self.now) if row else None
        if until is None:
            self.effects.append(Notify(member, text))
            return
        await self.tx.run(
            "INSERT INTO held_notices (member_id, text, created_at) VALUES (?, ?, ?)",
            (member, text, ts(self.now)),
        )
        await self.schedule("release_held", f"held:{member}", until, {"member": member})

    async def schedule(self, kind: str, key: str, due: datetime, payload: dict[str, Any]) -> None:
        """Run job ``kind`` at ``due``; a job with the same key is replaced."""
        await self.tx.run(
            "INSERT INTO jobs (due_at, kind, key, payload) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET due_at = excluded.due_at, kind = excluded.kind, "
            "payload = excluded.payload",
            (ts(due), kind, key, json.dumps(payload)),
        )

    async def cancel(self, key: str) -> None:
        """Forget the job with this key, if any."""
        await self.tx.run("DELETE FROM jobs WHERE key = ?", (key,))

    async def cancel_prefix(self, prefix: str) -> None:
        """Forget every job whose key starts with ``prefix``."""
        await self.tx.run("DELETE FROM jobs WHERE key >= ? AND key < ?", (prefix, prefix + "\uffff"))

    async def trio(self, inv: Invocation) -> Trio:
        """The trio a command applies to: the room's, the ``#named`` one, or the only one."""
        if self.room is not None:
            trio = await queries.trio(self.tx, self.room.trio_id)
            if not await queries.is_member(self.tx, trio.id, self.actor):
                raise Forbidden("Only the members of this trio can do that here.")
            return trio
        mine = await queries.trios_of(self.tx, self.actor)
        if inv.trio is not None:
            wanted = inv.trio.lstrip("#")
            for t in mine:
                if str(t.id) == wanted or slug(t.name) == slug(wanted):
                    return t
            names = ", ".join(f"#{slug(t.name)}" for t in mine) or "none yet"
            raise NotFound(f"You have no trio called “{inv.trio}”.", hint=f"Your trios: {names}.")
        if len(mine) == 1:
            return mine[0]
        if not mine:
            raise NotFound(
                "You are not in a trio yet.",
                hint=f"Start one with {self.prefix}trio new, or join with {self.prefix}trio join <code>.",
            )
        names = ", ".join(f"#{slug(t.name)}" for t in mine)
        raise Conflict(
            f"You are in {len(mine)} trios; which one?",
            hint=f"Name it: {self.prefix}{inv.command.name} #{slug(mine[0].name)} … (yours: {names}).",
        )

    async def active_trio(self, inv: Invocation) -> Trio:
        """Like :meth:`trio`, but the trio must have its three members."""
        trio = await self.trio(inv)
        if trio.state != "active":
            raise Conflict(
                f"“{trio.name}” is still forming: it needs three members first.",
                hint=f"Invite someone with {self.prefix}trio invite.",
            )
        return trio

    async def member_arg(self, text: str, trio: Trio | None = None) -> MemberId:
        """The member a ``@mention`` names: among the trio first, then anyone known."""
        found = await queries.find_member(self.tx, text, trio.id if trio else None)
        if found is None:
            candidate = self.settings.read_user(text)
            if trio is None and candidate is not None:
                return candidate
            where = f" in “{trio.name}”" if trio else ""
            raise NotFound(f"I don't know anyone called {text}{where}.",
                           hint="Write their name as @name, as it appears in the trio.")
        return found


CommandHandler = Callable[[Ctx, Invocation], Awaitable[None]]
JobHandler = Callable[[Ctx, dict[str, Any]], Awaitable[None]]
