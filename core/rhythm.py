"""Each person's rhythm: ``turn`` status, ``away`` / ``back``, quiet hours and time zone.

Being away pauses the turn clocks of :mod:`core.turns` (no reminder, no waiting time);
an away with an end ends by itself through a durable ``away_end`` job. Quiet hours and
the time zone are stored on the member; ``ctx.notify`` holds notices through the window.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, datetime, time, timedelta
from typing import Any

from core import queries, turns
from core.context import CommandHandler, Ctx, JobHandler
from core.errors import ParseError
from core.grammar import Invocation, suggest
from core.ids import MemberId
from core.quiet import quiet_until, zone
from core.storage.db import Row
from core.textrules import format_duration, parse_clock, parse_date, parse_duration, quote
from core.timeutil import dt, ts

MAX_AWAY = timedelta(days=365)
MIN_AWAY = timedelta(hours=1)


def local(when: datetime, tz: str) -> str:
    """A moment as read on a clock in ``tz``: ``Tue 01 Dec 2026, 00:00 (Europe/Paris)``."""
    return f"{when.astimezone(zone(tz)):%a %d %b %Y, %H:%M} ({tz})"


def clock(minutes: int) -> str:
    """Minutes after midnight as ``HH:MM``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def is_away(row: Row, now: datetime) -> bool:
    """Whether a ``members`` row is away at ``now``."""
    until = row["away_until"]
    return row["away_since"] is not None and (until is None or until > ts(now))


def parse_away(text: str | None, tz: str, now: datetime) -> tuple[datetime | None, str | None]:
    """Read ``[for 3d | until 2026-12-01] [note]`` into (end or None, note or None)."""
    if not text:
        return None, None
    words = text.split(maxsplit=2)
    head = words[0].casefold()
    if head not in ("for", "until"):
        return None, text
    example = "e.g. away for 3d moving house, or away until 2026-12-01"
    if len(words) < 2:
        raise ParseError(f"Away {head} when?", hint=example.capitalize() + ".")
    note = words[2] if len(words) > 2 else None
    if head == "for":
        delta = parse_duration(words[1], least=MIN_AWAY, most=MAX_AWAY, what="time away")
        return now + delta, note
    day = parse_date(words[1])
    today = now.astimezone(zone(tz)).date()
    if (day - today).days > MAX_AWAY.days + 1:  # checked before any arithmetic that may overflow
        raise ParseError(f"{day} is more than a year away.",
                         hint="Away lasts at most 365 days; you can always renew it later.")
    if day <= today:
        raise ParseError(f"{day} has already begun where you are ({tz}).",
                         hint=f"Give a date in the future, {example}.")
    end = datetime.combine(day, time(0), tzinfo=zone(tz)).astimezone(UTC)
    if end <= now:
        raise ParseError(f"{day} has already begun where you are ({tz}).",
                         hint=f"Give a date in the future, {example}.")
    if end - now > MAX_AWAY:
        raise ParseError(f"{day} is more than a year away.",
                         hint="Away lasts at most 365 days; you can always renew it later.")
    return end, note


def parse_window(text: str) -> tuple[int, int]:
    """Read ``22:00-08:00`` into minutes after midnight (start, end)."""
    match = re.fullmatch(r"(\S+?)\s*[-–]\s*(\S+)", text.strip())
    if match is None:
        raise ParseError(f"“{text}” is not a quiet window.",
                         hint="Write it like 22:00-08:00, or quiet off.")
    start, end = (parse_clock(part) for part in match.groups())
    if start == end:
        raise ParseError("A quiet window needs a start and an end that differ.",
                         hint="Write it like 22:00-08:00, or quiet off.")
    return start.hour * 60 + start.minute, end.hour * 60 + end.minute


def zone_name(text: str) -> str:
    """The canonical name of the time zone ``text`` names, forgiving letter case."""
    try:
        return zone(text).key
    except ParseError as err:
        known = zoneinfo.available_timezones()
        same = [z for z in known if z.casefold() == text.casefold()]
        if len(same) == 1:
            return same[0]
        guess = suggest(text, sorted(known))
        raise ParseError(err.message, hint=(f"Did you mean {guess}? " if guess else "")
                         + (err.hint or "")) from None


async def _me(ctx: Ctx, member: MemberId | None = None) -> Row:
    row = await ctx.tx.one("SELECT * FROM members WHERE id = ?", (member or ctx.actor,))
    assert row is not None, "the service creates the member before any command"
    return row


async def _mates(ctx: Ctx, member: MemberId) -> list[Row]:
    """Everyone who shares a trio with ``member``, once each."""
    return await ctx.tx.all(
        "SELECT DISTINCT m.id, m.tz FROM trio_members a "
        "JOIN trios t ON t.id = a.trio_id AND t.state != 'dissolved' "
        "JOIN trio_members b ON b.trio_id = a.trio_id AND b.member_id != a.member_id "
        "JOIN members m ON m.id = b.member_id WHERE a.member_id = ? ORDER BY m.id", (member,))


async def _release_held(ctx: Ctx, member: MemberId) -> None:
    """Quiet hours changed: let held notices go out now if the new window allows it."""
    if await ctx.tx.value("SELECT 1 FROM held_notices WHERE member_id = ? LIMIT 1", (member,)):
        await ctx.schedule("release_held", f"held:{member}", ctx.now, {"member": member})


def _window(row: Row, now: datetime) -> str:
    """The member's quiet window in words, in their own time zone."""
    start, end = row["quiet_start"], row["quiet_end"]
    if start is None or end is None:
        return "no quiet hours"
    inside = quiet_until(row["tz"], start, end, now) is not None
    return (f"quiet hours {clock(start)}–{clock(end)} ({row['tz']})"
            + (", and you are in them now" if inside else ""))


async def away(ctx: Ctx, inv: Invocation) -> None:
    """``away [for 3d | until 2026-12-01] [note]``."""
    me = await _me(ctx)
    until, note = parse_away(inv.args.get("when"), me["tz"], ctx.now)
    since = me["away_since"] if is_away(me, ctx.now) else ts(ctx.now)
    await ctx.tx.run("UPDATE members SET away_since = ?, away_until = ?, away_note = ? WHERE id = ?",
                     (since, None if until is None else ts(until), note, ctx.actor))
    await turns.pause(ctx, ctx.actor)
    if until is None:
        await ctx.cancel(f"away:{ctx.actor}")
    else:
        await ctx.schedule("away_end", f"away:{ctx.actor}", until,
                           {"member": ctx.actor, "until": ts(until)})
    name = me["display_name"] or ctx.actor
    said = f": {quote(note)}." if note else "."
    for mate in await _mates(ctx, ctx.actor):
        when = "until they are back" if until is None else f"until {local(until, mate['tz'])}"
        await ctx.notify(mate["id"], f"{name} is away {when}{said} Reminders to them pause "
                                     f"meanwhile; no need to wait for a reply.", sender=ctx.actor)
    when = (f"until you type {ctx.prefix}back" if until is None
            else f"until {local(until, me['tz'])}")
    ctx.reply(f"You are away {when}{said} Reminders to you pause and nobody's waiting time "
              f"counts against you. Your trio-mates see it in {ctx.prefix}turn. "
              f"Type {ctx.prefix}back when you return.")


async def _end_away(ctx: Ctx, member: MemberId) -> int:
    """Clear ``member``'s away time; returns in how many lines someone waits for them."""
    await ctx.tx.run("UPDATE members SET away_since = NULL, away_until = NULL, away_note = NULL "
                     "WHERE id = ?", (member,))
    await ctx.cancel(f"away:{member}")
    return await turns.resume(ctx, member)


def _welcome(waiting: int, prefix: str) -> str:
    if not waiting:
        return "Nobody is waiting for a reply from you."
    lines = "line" if waiting == 1 else "lines"
    return f"Someone waits for your reply in {waiting} {lines}: {prefix}turn shows where."


async def back(ctx: Ctx, inv: Invocation) -> None:
    """``back``."""
    me = await _me(ctx)
    if not is_away(me, ctx.now):
        ctx.reply("You were not away, so there is nothing to end. Welcome all the same!")
        return
    waiting = await _end_away(ctx, ctx.actor)
    name = me["display_name"] or ctx.actor
    for mate in await _mates(ctx, ctx.actor):
        await ctx.notify(mate["id"], f"{name} is back.", sender=ctx.actor)
    ctx.reply(f"Welcome back! Reminders resume. {_welcome(waiting, ctx.prefix)}")


async def away_end(ctx: Ctx, payload: dict[str, Any]) -> None:
    """Job: an away time with an end is over (unless it was changed since)."""
    member = MemberId(payload["member"])
    row = await ctx.tx.one("SELECT away_until FROM members WHERE id = ?", (member,))
    if row is None or row["away_until"] != payload["until"]:
        return
    waiting = await _end_away(ctx, member)
    await ctx.notify(member, f"Your away time is over: welcome back. Reminders resume. "
                             f"{_welcome(waiting, ctx.prefix)}")


async def quiet(ctx: Ctx, inv: Invocation) -> None:
    """``quiet 22:00-08:00`` or ``quiet off``."""
    raw = inv.args["hours"]
    window = None if raw.casefold() == "off" else parse_window(raw)
    start, end = window or (None, None)
    await ctx.tx.run("UPDATE members SET quiet_start = ?, quiet_end = ? WHERE id = ?",
                     (start, end, ctx.actor))
    await _release_held(ctx, ctx.actor)
    me = await _me(ctx)
    if window is None:
        ctx.reply("Quiet hours are off: notices reach you at any time.")
        return
    text = (f"Done: {_window(me, ctx.now)}. Notices to you wait until the window ends. "
            f"It is {ctx.now.astimezone(zone(me['tz'])):%H:%M} for you now.")
    if me["tz"] == "UTC":
        text += f"\nNot on UTC? Set your time zone: {ctx.prefix}timezone Europe/Paris"
    ctx.reply(text)


async def timezone(ctx: Ctx, inv: Invocation) -> None:
    """``timezone Europe/Paris``."""
    name = zone_name(inv.args["zone"])
    await ctx.tx.run("UPDATE members SET tz = ? WHERE id = ?", (name, ctx.actor))
    await _release_held(ctx, ctx.actor)
    me = await _me(ctx)
    ctx.reply(f"Your time zone is now {name}: it is {local(ctx.now, name)} there. "
              f"You have {_window(me, ctx.now)}.")


async def turn(ctx: Ctx, inv: Invocation) -> None:
    """``turn``: who owes whom a reply in the lines the actor can see, and who is away."""
    trio = await ctx.trio(inv)
    now = ts(ctx.now)
    lines = {room: line for room, line in (await turns.load(
        ctx.tx, turns.VISIBLE, {"trio": trio.id, "viewer": ctx.actor}, now)).items()
        if line.purpose == "pair"}  # the trio room is open space: nobody owes a reply there
    people = await ctx.tx.all(
        "SELECT m.* FROM trio_members tm JOIN members m ON m.id = tm.member_id "
        "WHERE tm.trio_id = ? ORDER BY tm.joined_at, m.id", (trio.id,))
    viewer_tz = next((p["tz"] for p in people if p["id"] == ctx.actor), "UTC")
    out = [f"Turns in “{trio.name}”:"]
    ordered = sorted(lines.values(), key=lambda line: line.id)
    debts = [f"• {_label(line, ctx.actor)}: {_debt(line, seat, ctx.actor, now)}"
             for line in ordered
             for seat in sorted(line.seats.values(), key=lambda s: (s.owes_since or 0, s.name))
             if line.waiting_on(seat.member)]
    if not lines:
        out.append("No lines yet: they open when the third member joins.")
    else:
        out += debts or ["All clear: nobody owes anyone a reply."]
    for p in people:
        who = "You are" if p["id"] == ctx.actor else f"{p['display_name'] or p['id']} is"
        if is_away(p, ctx.now):
            until = ("until back" if p["away_until"] is None
                     else f"until {local(dt(p['away_until']), viewer_tz)}")
            note = f": {quote(p['away_note'])}" if p["away_note"] and not (
                await queries.blocked_between(ctx.tx, ctx.actor, p["id"])) else ""
            out.append(f"{who} away {until}{note}")
        ends = quiet_until(p["tz"], p["quiet_start"], p["quiet_end"], ctx.now)
        if ends is not None:
            out.append(f"{who} in quiet hours until {ends.astimezone(zone(p['tz'])):%H:%M} "
                       f"({p['tz']}): notices wait till then.")
    ctx.reply("\n".join(out))


def _label(line: turns.Line, viewer: MemberId) -> str:
    return "Your line with " + " ".join(s.name for s in line.seats.values() if s.member != viewer)


def _debt(line: turns.Line, seat: turns.Seat, viewer: MemberId, now: int) -> str:
    """``Bob owes you a reply (for 2d 3h, reminder sent)``."""
    waiting = line.waiting_on(seat.member)
    to = " and ".join("you" if s.member == viewer else s.name for s in waiting)
    who = "you owe" if seat.member == viewer else f"{seat.name} owes"
    notes = [f"for {format_duration(timedelta(seconds=now - (seat.owes_since or now)))}"]
    if seat.reminded:
        notes.append("reminder sent")
    if seat.away:
        notes.append("paused while away")
    return f"{who} {to} a reply ({', '.join(notes)})"


COMMANDS: dict[str, CommandHandler] = {
    "turn": turn,
    "away": away,
    "back": back,
    "quiet": quiet,
    "timezone": timezone,
}
JOBS: dict[str, JobHandler] = {"away_end": away_end}
