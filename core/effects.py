"""Effects: what the core asks an adapter to do, as plain frozen dataclasses.

The core never talks to a platform. It returns effects, stores them in an outbox in the
same transaction as the state change, and an adapter carries them out in order. Every
effect turns into a JSON object and back, so the outbox survives a restart.

A notice may offer :class:`Choice` s (accept or decline, vote yes or no, confirm): each is
a command the reader can give. Text platforms show them as commands to type; Discord
shows them as buttons. Effects for a room or a member's direct chat travel in a *lane*
(:func:`lane_of`) whose order the adapters keep.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, ClassVar, Literal

from core import keys
from core.ids import MemberId, RoomId, TrioId

Purpose = Literal["trio", "pair"]


@dataclass(frozen=True)
class Choice:
    """One answer the reader may pick: ``command`` (no prefix) is what picking it gives.

    ``id`` is stable (the same choice made again has the same id), so a button rendered
    from it keeps working after a restart.
    """

    id: str
    label: str
    command: str
    style: Literal["primary", "secondary", "danger", "success"] = "primary"


def choice(label: str, command: str,
           style: Literal["primary", "secondary", "danger", "success"] = "primary") -> Choice:
    """A choice whose id is its command (the same choice offered again keeps its id)."""
    return Choice(command, label, command, style)


@dataclass(frozen=True)
class Attachment:
    """A file that goes with a reply (an export), for carriers to send as a file.

    ``content`` is text (JSON): the console writes it to a file and shows the path, Matrix
    uploads it encrypted as an ``m.file``, Discord sends it as a file.
    """

    filename: str
    content: str
    mimetype: str = "application/json"


@dataclass(frozen=True)
class Reply:
    """Answer a command where it was typed; ``private`` replies reach only ``to``."""

    kind: ClassVar[str] = "reply"
    to: MemberId
    room: RoomId | None
    in_reply_to: str
    text: str
    private: bool = False
    error: bool = False
    origin: str | None = None
    choices: tuple[Choice, ...] = ()
    attachment: Attachment | None = None
    lang: str = ""  # the language its words were said in (for an adapter's own words)


@dataclass(frozen=True)
class Notify:
    """A private notice to one member, in their direct chat with the bot."""

    kind: ClassVar[str] = "notify"
    to: MemberId
    text: str
    choices: tuple[Choice, ...] = ()
    sent_by: MemberId | None = None  # whose words or doings it relays (forget purges them)
    lang: str = ""  # the language its words were said in (for an adapter's own words)


@dataclass(frozen=True)
class Post:
    """A notice from the bot in a trio room or pair line."""

    kind: ClassVar[str] = "post"
    room: RoomId
    text: str
    choices: tuple[Choice, ...] = ()
    sent_by: MemberId | None = None  # whose words or doings it relays (forget purges them)
    lang: str = ""  # the language its words were said in (for an adapter's own words)


@dataclass(frozen=True)
class CreateRoom:
    """Create a trio room or pair line holding exactly ``members`` and the bot."""

    kind: ClassVar[str] = "create_room"
    room: RoomId
    trio: TrioId
    purpose: Purpose
    members: tuple[MemberId, ...]
    name: str
    topic: str
    encrypted: bool = True
    realm: str | None = None  # the trio's realm (a Discord server id), where the room goes


@dataclass(frozen=True)
class InviteToRoom:
    """Bring a member who accepted a seat into an existing room."""

    kind: ClassVar[str] = "invite"
    room: RoomId
    member: MemberId


@dataclass(frozen=True)
class RemoveFromRoom:
    """Take a member out of a room (they left the trio or forgot their data)."""

    kind: ClassVar[str] = "remove"
    room: RoomId
    member: MemberId
    reason: str


@dataclass(frozen=True)
class CloseRoom:
    """The room has no purpose any more: say why, then the bot leaves it."""

    kind: ClassVar[str] = "close_room"
    room: RoomId
    reason: str


@dataclass(frozen=True)
class ReportToModerators:
    """A safety report for the configured moderators' room or channel."""

    kind: ClassVar[str] = "report"
    text: str
    report: int | None = None  # its row in safety_reports (marked delivered once carried out)


Effect = Reply | Notify | Post | CreateRoom | InviteToRoom | RemoveFromRoom | CloseRoom | ReportToModerators

_BY_KIND: dict[str, type[Effect]] = {
    cls.kind: cls
    for cls in (Reply, Notify, Post, CreateRoom, InviteToRoom, RemoveFromRoom, CloseRoom, ReportToModerators)
}


def to_json(effect: Effect) -> str:
    """Serialise an effect for the outbox (what ``asdict`` gives, without its deep copy)."""
    return _ENCODE({"kind": effect.kind, **vars(effect)})


# Effects, choices and attachments are plain dataclasses: their ``vars`` are their fields,
# in order, as ``asdict`` would give them (tuples are written as lists either way).
_ENCODE = json.JSONEncoder(separators=(",", ":"), default=vars).encode


def from_json(raw: str) -> Effect:
    """Rebuild an effect stored by :func:`to_json`."""
    data: dict[str, Any] = json.loads(raw)
    cls = _BY_KIND[data.pop("kind")]
    names = {f.name for f in fields(cls)}
    values = {k: v for k, v in data.items() if k in names}
    if "members" in values:
        values["members"] = tuple(values["members"])
    if "choices" in values:
        values["choices"] = tuple(Choice(**c) for c in values["choices"])
    if values.get("attachment") is not None:
        values["attachment"] = Attachment(**values["attachment"])
    return cls(**values)


def choices_json(choices: tuple[Choice, ...]) -> str | None:
    """Choices as stored beside a held notice (None for none)."""
    return json.dumps([asdict(c) for c in choices]) if choices else None


def choices_from(raw: str | None) -> tuple[Choice, ...]:
    """Choices stored by :func:`choices_json`."""
    return tuple(Choice(**c) for c in json.loads(raw)) if raw else ()


def lane_of(effect: Effect) -> str:
    """The ordered lane an effect travels in: its room's, or the member's direct chat's.

    Replies in a room have a lane of their own: their reader is in the room already, so
    they never wait behind the room's notices held for members who have not joined yet.
    """
    if isinstance(effect, Reply):
        if effect.room is not None and not effect.private:
            return keys.room_key(effect.room) + "/replies"
        return keys.dm_key(effect.to)
    if isinstance(effect, Notify):
        return keys.dm_key(effect.to)
    if isinstance(effect, ReportToModerators):
        return keys.MODERATORS
    return keys.room_key(effect.room)


def coalesce(effects: list[Effect], readers: dict[RoomId, frozenset[MemberId]]) -> list[Effect]:
    """One event, at most one notice per person: merge each member's private notices.

    A member's notices of one event become one (texts in order, choices together), in the
    place of the first; a notice repeating word for word a post they read in a room
    (``readers``: who is in each posted room) is dropped. Notices relaying two different
    people's doings stay apart, so forgetting one of them still purges only theirs.
    """
    posted = {(m, e.text) for e in effects if isinstance(e, Post) for m in readers.get(e.room, ())}
    merged: dict[tuple[MemberId, MemberId | None], int] = {}
    senders: dict[MemberId, MemberId | None] = {}
    out: list[Effect] = []
    for e in effects:
        if not isinstance(e, Notify):
            out.append(e)
            continue
        if (e.to, e.text) in posted:
            continue
        sender = e.sent_by or senders.get(e.to)
        senders.setdefault(e.to, sender)
        at = merged.get((e.to, sender))
        if at is None:
            merged[(e.to, sender)] = len(out)
            out.append(replace(e, sent_by=sender))
            continue
        first = out[at]
        assert isinstance(first, Notify)
        out[at] = replace(first, text=first.text + "\n\n" + e.text,
                          choices=first.choices + e.choices)
    return out
