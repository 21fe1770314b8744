"""Opening and closing a trio's lines: the trio room and one pair line per pair."""

from __future__ import annotations

from itertools import combinations

from core import queries
from core.context import Ctx
from core.effects import CloseRoom, CreateRoom, InviteToRoom, RemoveFromRoom
from core.i18n import _, join
from core.ids import MemberId, RoomId
from core.model import Room, Trio
from core.timeutil import ts

CHARTER = _("""The twinome charter
1. Each of you talks with the two others: about 20% in the open, 80% in private.
2. Between each pair runs an unbroken chain of private messages. Nobody knows what the two others say to each other in private: that is what keeps the frame stable.
3. Respect each other's rhythm: after writing, wait calmly for the reply before writing again. Respect silences when someone is busy in real life.
4. No romance, no pressure: trust, kindness, and real availability for private exchange.
5. Mentoring barter: each of you may mentor another on what the mentee recognises you for.
6. Two allies: a public action is first validated in private by the two others.
7. In a hard time, the two others prepare a support plan for the third.""")


async def _new_room(ctx: Ctx, trio: Trio, purpose: str, pair: tuple[MemberId, ...]) -> RoomId:
    a, b = [*sorted(pair), None, None][:2]
    return RoomId(
        await ctx.tx.insert(
            "INSERT INTO rooms (trio_id, purpose, member_a, member_b, state, created_at) "
            "VALUES (?, ?, ?, ?, 'open', ?)",
            (trio.id, purpose, a, b, ts(ctx.now)),
        )
    )


async def open_pair(ctx: Ctx, trio: Trio, a: MemberId, b: MemberId, third: MemberId) -> None:
    """Create the private line of ``a`` and ``b``, and greet them in it."""
    x, y = sorted((a, b))
    names = await queries.names(ctx.tx, [x, y, third])
    room = await _new_room(ctx, trio, "pair", (x, y))
    ctx.emit(CreateRoom(
        room, trio.id, "pair", (x, y), _("{trio}: {a} + {b}", trio=trio.name, a=names[x], b=names[y]),
        _("The private line of {a} and {b} in the twinome “{trio}”. {third} is not here and "
          "never sees it.", a=names[x], b=names[y], trio=trio.name, third=names[third]),
        realm=trio.realm,
    ))
    ctx.post(room, _(
        "This is your private line, {a} and {b}. {third} never sees it. Write when you like, "
        "then wait calmly for the reply: {p}turn shows who owes whom.",
        a=names[x], b=names[y], third=names[third], p=ctx.prefix))


async def open_all(ctx: Ctx, trio: Trio, members: list[MemberId], newcomer: MemberId) -> None:
    """The trio just became active: create or complete its trio room and pair lines."""
    names = await queries.names(ctx.tx, members)
    room = await queries.trio_room(ctx.tx, trio.id)
    if room is None:
        room_id = await _new_room(ctx, trio, "trio", ())
        listing = join(", ", [names[m] for m in members])
        ctx.emit(CreateRoom(room_id, trio.id, "trio", tuple(members), trio.name,
                            _("The twinome “{trio}”: {names}. Type {p}help for commands.",
                              trio=trio.name, names=listing, p=ctx.prefix),
                            realm=trio.realm))
    else:
        room_id = room.id
        ctx.emit(InviteToRoom(room_id, newcomer))
    for a, b in combinations(members, 2):
        if await queries.pair_line(ctx.tx, trio.id, a, b) is None:
            third = next(m for m in members if m not in (a, b))
            await open_pair(ctx, trio, a, b, third)
    ctx.post(room_id, _("Welcome, {names}: your twinome “{trio}” is complete.",
                        names=join(", ", [names[m] for m in members]), trio=trio.name)
             + "\n\n" + CHARTER)


async def close(ctx: Ctx, room: Room, reason: str) -> None:
    """Close a line: the bot says why and leaves; its turn state is dropped."""
    await ctx.tx.run("UPDATE rooms SET state = 'closed' WHERE id = ?", (room.id,))
    await ctx.tx.run("DELETE FROM line_state WHERE room_id = ?", (room.id,))
    await ctx.cancel_prefix(f"remind:{room.id}:")
    ctx.emit(CloseRoom(room.id, reason))


async def member_leaves(ctx: Ctx, trio: Trio, member: MemberId, reason: str) -> None:
    """Close the leaver's pair lines and take them out of the trio room."""
    for room in await queries.open_rooms(ctx.tx, trio.id):
        if member in room.pair:
            await close(ctx, room, reason)
        elif room.purpose == "trio":
            await ctx.tx.run(
                "DELETE FROM line_state WHERE room_id = ? AND member_id = ?", (room.id, member)
            )
            await ctx.cancel(f"remind:{room.id}:{member}")
            ctx.emit(RemoveFromRoom(room.id, member, reason))
