"""Lookups every feature needs: trios, members, rooms and names."""

from __future__ import annotations

from collections.abc import Iterable

from core.errors import NotFound
from core.i18n import _
from core.ids import MemberId, TrioId
from core.model import Room, Trio
from core.storage.db import Row, Tx, among
from core.textrules import clean_display_name

FORMER = _("a former member")


async def trio(tx: Tx, trio_id: int) -> Trio:
    """The trio with this id."""
    row = await tx.one("SELECT * FROM trios WHERE id = ?", (trio_id,))
    if row is None:
        raise NotFound(_("That trio no longer exists."))
    return Trio.of(row)


async def is_member(tx: Tx, trio_id: int, member: MemberId) -> bool:
    """Whether ``member`` currently sits in the trio."""
    row = await tx.one(
        "SELECT 1 FROM trio_members WHERE trio_id = ? AND member_id = ?", (trio_id, member)
    )
    return row is not None


async def members(tx: Tx, trio_id: int) -> list[MemberId]:
    """The trio's members, in the order they joined."""
    rows = await tx.all(
        "SELECT member_id FROM trio_members WHERE trio_id = ? ORDER BY joined_at, member_id",
        (trio_id,),
    )
    return [MemberId(r[0]) for r in rows]


async def trios_of(tx: Tx, member: MemberId) -> list[Trio]:
    """The trios (forming or active) a member sits in."""
    rows = await tx.all(
        "SELECT t.* FROM trios t JOIN trio_members m ON m.trio_id = t.id "
        "WHERE m.member_id = ? AND t.state != 'dissolved' ORDER BY t.id",
        (member,),
    )
    return [Trio.of(r) for r in rows]


def shown(member: str, display_name: str | None) -> str:
    """How to call a member, from their stored name (None: none, or no row left: a
    former member's id, forgotten, has none)."""
    if display_name:
        return display_name
    return FORMER if member.startswith("former:") else member


async def name(tx: Tx, member: str) -> str:
    """How to call a member in a message."""
    return shown(member, await tx.value("SELECT display_name FROM members WHERE id = ?",
                                        (member,)))


async def member_names(tx: Tx, trio_id: int) -> dict[MemberId, str]:
    """The trio's members and how to call each, in the order they joined (one query:
    :func:`members`, then :func:`names`)."""
    rows = await tx.all(
        "SELECT tm.member_id, m.display_name FROM trio_members tm "
        "LEFT JOIN members m ON m.id = tm.member_id WHERE tm.trio_id = ? "
        "ORDER BY tm.joined_at, tm.member_id", (trio_id,))
    return {MemberId(r[0]): shown(r[0], r[1]) for r in rows}


async def names(tx: Tx, ids: list[MemberId]) -> dict[MemberId, str]:
    """Display names of several members (as :func:`name` says each), in one query."""
    inside, params = among("id", sorted(set(ids)))
    rows = await tx.all(f"SELECT id, display_name FROM members WHERE id IN {inside}",
                        params) if ids else []
    found = {r[0]: r[1] for r in rows}
    return {m: shown(m, found.get(m)) for m in ids}


async def shares_trio(tx: Tx, a: MemberId, b: MemberId) -> bool:
    """Whether ``a`` and ``b`` sit together in a trio (forming or active)."""
    row = await tx.one(
        "SELECT 1 FROM trio_members x JOIN trio_members y ON y.trio_id = x.trio_id "
        "JOIN trios t ON t.id = x.trio_id WHERE x.member_id = ? AND y.member_id = ? "
        "AND t.state != 'dissolved' LIMIT 1", (a, b))
    return row is not None


async def known_as(tx: Tx, member: MemberId, reader: MemberId) -> str:
    """``member``'s name as ``reader`` reads it: with the platform id unless they share a trio.

    A display name is chosen freely, so from someone the reader does not know yet it could
    pass for a trio-mate's; the id beside it cannot.
    """
    shown = await name(tx, member)
    if shown == member or member == reader or await shares_trio(tx, member, reader):
        return shown
    return f"{shown} ({member})"


async def find_member(tx: Tx, text: str, trio_id: int | None) -> MemberId | None:
    """The member a mention names, matched on id, then ``@``-less id, then display name."""
    raw = text.strip()
    bare = raw.lstrip("@")
    scope = "" if trio_id is None else " AND id IN (SELECT member_id FROM trio_members WHERE trio_id = ?)"
    args: tuple[object, ...] = () if trio_id is None else (trio_id,)
    for clause, value in (
        ("id = ?", raw),
        ("id = ?", bare),
        ("id = ?", "@" + bare),
        ("id LIKE ?", "@" + bare.replace("%", "").replace("_", "") + ":%"),
        ("lower(id) = lower(?)", bare),
        ("lower(id) = lower(?)", "@" + bare),
        ("lower(display_name) = lower(?)", bare),
    ):
        rows = await tx.all(f"SELECT id FROM members WHERE {clause}{scope} LIMIT 2", (value, *args))
        if len(rows) == 1:
            return MemberId(rows[0][0])
    return None


async def ensure_member(tx: Tx, member: MemberId, display_name: str | None, now: int,
                        locale: str | None = None) -> str | None:
    """Create the member on first contact; keep their display name and platform locale
    fresh. Returns the language they chose, else their platform's (None if neither)."""
    row = await tx.one(
        "INSERT INTO members (id, display_name, created_at, locale) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (id) DO UPDATE SET display_name = coalesce(excluded.display_name, "
        "members.display_name), locale = coalesce(excluded.locale, members.locale) "
        "RETURNING coalesce(language, locale)",
        (member, clean_display_name(display_name), now, locale),
    )
    return row[0] if row else None


async def languages(tx: Tx, members: Iterable[MemberId]) -> dict[MemberId, str | None]:
    """Each member's chosen language, else their platform's (None if neither)."""
    ids = sorted(set(members))
    if not ids:
        return {}
    inside, params = among("id", ids)
    rows = await tx.all(f"SELECT id, coalesce(language, locale) FROM members WHERE id IN {inside}",
                        params)
    return {MemberId(r[0]): r[1] for r in rows}


async def room_trios(tx: Tx, rooms: Iterable[int]) -> dict[int, Row]:
    """The ``language`` and ``realm`` of the trio each room belongs to, by room."""
    ids = sorted(set(rooms))
    if not ids:
        return {}
    inside, params = among("room", ids)
    rows = await tx.all("SELECT r.id, t.language, t.realm FROM rooms r JOIN trios t "
                        f"ON t.id = r.trio_id WHERE r.id IN {inside}", params)
    return {int(r[0]): r for r in rows}


async def room_languages(tx: Tx, rooms: Iterable[int]) -> dict[int, str | None]:
    """The language of the trio each room belongs to (None where the trio has not one)."""
    return {room: row["language"] for room, row in (await room_trios(tx, rooms)).items()}


async def room(tx: Tx, room_id: int) -> Room | None:
    """A room by id."""
    row = await tx.one("SELECT * FROM rooms WHERE id = ?", (room_id,))
    return Room.of(row) if row else None


async def open_rooms(tx: Tx, trio_id: TrioId) -> list[Room]:
    """The trio room and pair lines currently open."""
    rows = await tx.all(
        "SELECT * FROM rooms WHERE trio_id = ? AND state = 'open' ORDER BY id", (trio_id,)
    )
    return [Room.of(r) for r in rows]


async def trio_room(tx: Tx, trio_id: TrioId) -> Room | None:
    """The open trio room of a trio."""
    row = await tx.one(
        "SELECT * FROM rooms WHERE trio_id = ? AND purpose = 'trio' AND state = 'open'", (trio_id,)
    )
    return Room.of(row) if row else None


async def pair_line(tx: Tx, trio_id: TrioId, a: MemberId, b: MemberId) -> Room | None:
    """The open pair line of two members in a trio."""
    x, y = sorted((a, b))
    row = await tx.one(
        "SELECT * FROM rooms WHERE trio_id = ? AND purpose = 'pair' AND member_a = ? "
        "AND member_b = ? AND state = 'open'",
        (trio_id, x, y),
    )
    return Room.of(row) if row else None


async def blocked_between(tx: Tx, a: MemberId, b: MemberId) -> bool:
    """Whether either of the two blocked the other."""
    row = await tx.one(
        "SELECT 1 FROM blocks WHERE (blocker = ? AND blocked = ?) OR (blocker = ? AND blocked = ?)",
        (a, b, b, a),
    )
    return row is not None

