"""The console's carrier: every effect becomes records shown to the sink."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path

from bots.adapter.carrier import Direct, Done, Moderators, Notice, Outcome, Target
from bots.adapter.text import with_choices
from bots.console.output import Shown, Sink
from bots.console.rooms import RoomBook, dm_name
from core.effects import Attachment, CreateRoom
from core.i18n import _, render
from core.ids import MemberId

PLATFORM = "console"
MODERATORS = "moderators"
_CODE = re.compile(r"\b[A-HJ-NP-Z2-9]{4}(?:-[A-HJ-NP-Z2-9]{4}){3}\b")


class ConsoleCarrier:
    """Shows what the bot does as :class:`Shown` records; remembers the last invite code."""

    platform = PLATFORM

    def __init__(self, rooms: RoomBook, sink: Sink, prefix: str, lang: str = "en",
                 files: Path | None = None) -> None:
        self.rooms = rooms
        self.sink = sink
        self.prefix = prefix
        self.lang = lang  # the console's own words (the bot's default language)
        self.files = files or Path(tempfile.gettempdir()) / "twinome-exports"
        self.last_code: str | None = None

    def _show(self, shown: Shown) -> None:
        found = _CODE.findall(shown.text or "")
        if found:
            self.last_code = found[-1]
        self.sink.show(shown)

    async def send(self, target: Target, notice: Notice) -> Outcome:
        text = with_choices(notice.text, notice.choices, self.prefix, notice.lang)
        if notice.attachment is not None:
            text += "\n" + render(_("File: {path}", path=self._write(target, notice.attachment)),
                                  notice.lang)
        kind = "error" if notice.error else "notice"
        if isinstance(target, Moderators):
            self._show(Shown("report", MODERATORS, text, audience=(MODERATORS,)))
        elif isinstance(target, Direct):
            await self.open_dm(target.member)
            self._show(Shown(kind, dm_name(target.member), text, to=target.member,
                             audience=(target.member,)))
        else:
            self._show(await self._in_room(kind, target.ref, text))
        return Done()

    def _write(self, target: Target, file: Attachment) -> Path:
        """Write an attachment where only this user can read it; returns its path."""
        who = target.member if isinstance(target, Direct) else "room"
        self.files.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.files / re.sub(r"[^A-Za-z0-9._-]", "_", f"{who}-{file.filename}")
        path.touch(mode=0o600)
        path.write_text(file.content, "utf-8")
        return path

    async def open_dm(self, user: str) -> None:
        """Show a member's direct chat opening, the first time it is needed."""
        if await self.rooms.ensure_dm(user):
            said = render(_("{user}'s direct chat with the bot", user=user), self.lang)
            self._show(Shown("room_created", dm_name(user), said,
                             audience=(user,), members=(user,), purpose="dm", encrypted=True,
                             title=f"Twinome ({user})"))

    async def create_room(self, effect: CreateRoom, key: str) -> Outcome:
        name = await self.rooms.created(effect)
        members = tuple(sorted(effect.members))
        self._show(Shown("room_created", name, effect.topic, audience=members, members=members,
                         purpose=effect.purpose, encrypted=effect.encrypted, title=effect.name))
        return Done(name)

    async def invite(self, ref: str, member: MemberId) -> Outcome:
        await self.rooms.joined(ref, member)
        said = render(_("{member} is brought in", member=member), self.lang)
        self._show(await self._in_room("invited", ref, said, to=member))
        return Done()

    async def remove(self, ref: str, member: MemberId, reason: str) -> Outcome:
        said = render(_("{member} is taken out: {reason}", member=member, reason=reason), self.lang)
        self._show(await self._in_room("removed", ref, said, to=member))
        await self.rooms.left(ref, member)
        return Done()

    async def close(self, ref: str, notice: Notice) -> Outcome:
        said = render(_("the bot leaves: {reason}", reason=notice.text), self.lang)
        self._show(await self._in_room("closed", ref, said))
        await self.rooms.closed(ref)
        return Done()

    async def _in_room(self, kind: str, name: str, text: str, to: str | None = None) -> Shown:
        audience = tuple(sorted(await self.rooms.members_of(name)))
        return Shown(kind, name, text, to=to, audience=audience)
