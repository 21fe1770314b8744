"""Each person's rhythm: ``turn`` status, ``away`` / ``back``, quiet hours and time zone.

Being away pauses the turn clocks of :mod:`core.turns` (no reminder, no waiting time);
an away with an end ends by itself through a durable ``away_end`` job. Quiet hours and
the time zone are stored on the member; ``ctx.notify`` holds notices through the window.
"""

from __future__ import annotations

import re
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from core import queries, turns, when
from core.context import CommandHandler, Ctx, JobHandler
from core.errors import ParseError
from core.grammar import Invocation, suggest
from core.i18n import Local, Text, _, _n, join
from core.ids import MemberId
from core.quiet import quiet_until, zone
from core.storage.db import Row
from core.textrules import fold, inert, parse_clock, parse_duration
from core.timeutil import dt, ts

MAX_AWAY = timedelta(days=365)
MIN_AWAY = timedelta(hours=1)


def clock(minutes: int) -> str:
    """Minutes after midnight as ``HH:MM``."""
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def is_away(row: Row, now: datetime) -> bool:
    """Whether a ``members`` row is away at ``now``."""
    until = row["away_until"]
    return row["away_since"] is not None and (until is None or until > ts(now))


_FOR = {"for", "pour", "pendant", "during"}
_UNTIL = {"until", "till", "til", "untill", "jusqu'au", "jusqu'a", "jusqu’au", "jusqu’a",
          "jusque"}
_OFF = {"off", "none", "non", "aucune", "aucun"}
RETRY = timedelta(minutes=15)  # an away changed this soon after it began is a correction


def parse_away(text: str | None, tz: str, now: datetime) -> tuple[datetime | None, str | None]:
    """Read ``[for] 3d | 2 days | a week`` or ``until monday | 1 dec | 2026-12-01``, then a note.

    A line that starts like a duration but is not one (``3``, ``2x``, ``for a while``) is
    asked about rather than taken as an open-ended away with a strange note.
    """
    if not text or not text.strip():
        return None, None
    ws = when.words(text)
    if not ws:
        return None, text.strip()
    head = fold(ws[0][0])
    today = now.astimezone(zone(tz)).date()
    if head in _UNTIL:
        return _until(text, ws[1:], tz, now, today)
    body = ws[1:] if head in _FOR else ws
    span = when.duration(body)
    if span is not None:
        used = span[1]
        delta = parse_duration(" ".join(w for w, _at in body[:used]), least=MIN_AWAY,
                               most=MAX_AWAY, what=_("time away"))
        return now + delta, _note(text, body, used)
    if body and re.fullmatch(r"\d{4}-\d{2}-\d{2}", body[0][0]) and head not in _FOR:
        return _until(text, body, tz, now, today)
    if head in _FOR or when.looks_like_duration(body):
        raise _unsure(body, "for" if head in _FOR else "")
    found = when.day(body, today)
    if found is not None:
        said = " ".join(w for w, _at in body[:found[1]])
        raise ParseError(_("Away until {day}, or away starting {day}?", day=said),
                         hint=_("For an away that ends then, type away until {day}. "
                                "To start one later, type away on the day itself.", day=said))
    return None, text.strip()


def _note(text: str, ws: when.Words, used: int) -> str | None:
    """What follows the first ``used`` words of ``ws`` in ``text``: the away note, if any."""
    if used >= len(ws):
        return None
    return text[ws[used - 1][1]:].strip(" ,;:-–—") or None


def _example() -> Text:
    """How an away is written, as hints end."""
    return _("Write it like away 3d, away for 2 weeks, or away until monday; a note can "
             "follow.")


def _unsure(body: when.Words, head: str) -> ParseError:
    """The question asked when a duration was meant but cannot be read."""
    said = " ".join(w for w, _at in body[:2]) if body else ""
    if not said:
        return ParseError(_("Away for how long, or until when?"), hint=_example())
    first = body[0][0]
    guess: str = ""
    if first.isdigit() and len(first) < 4:
        guess = (_("Did you mean away for {n}d (days) or {n}h (hours)? ", n=first) if head
                 else _("Did you mean away {n}d (days) or {n}h (hours)? ", n=first))
    return ParseError(_("How long is “{said}”? I could not read it as a time away, and I'd "
                        "rather ask than guess.", said=said), hint=guess + _example())


def _until(text: str, rest: when.Words, tz: str, now: datetime,
           today: date) -> tuple[datetime, str | None]:
    """The end and note of ``until <day> [note]``."""
    if not rest:
        raise ParseError(_("Away until when?"), hint=_example())
    found = when.day(rest, today)
    if found is None:
        raise ParseError(_("“{word}” is not a date I can read.", word=rest[0][0]),
                         hint=_("Write it like away until monday, until 1 dec or until "
                                "2026-12-01."))
    day, used = found
    if (day - today).days > MAX_AWAY.days + 1:  # checked before any arithmetic that may overflow
        raise _too_far(day)
    if day <= today:  # checked before combining: year 1 has no room for an offset
        raise _begun(day, tz)
    end = datetime.combine(day, time(0), tzinfo=zone(tz)).astimezone(UTC)
    if end <= now:
        raise _begun(day, tz)
    if end - now > MAX_AWAY:
        raise _too_far(day)
    return end, _note(text, rest, used)


def _too_far(day: date) -> ParseError:
    return ParseError(_("{day} is more than a year away.", day=day),
                      hint=_("Away lasts at most 365 days; you can always renew it later."))


def _begun(day: date, tz: str) -> ParseError:
    return ParseError(_("{day} has already begun where you are ({tz}).", day=day, tz=tz),
                      hint=_("Give a date in the future, e.g. away until monday."))


def parse_window(text: str) -> tuple[int, int]:
    """Read ``22:00-08:00``, ``22h-8h``, ``22-8``, ``10pm to 7am``, ``de 22 h à 8 h`` into
    minutes (start, end)."""
    spaced = re.sub(r"(\d)\s+(h|heures?|am|pm)\b", r"\1\2", text.strip(), flags=re.IGNORECASE)
    spaced = re.sub(r"(\dh|heures?)\s+(\d\d)\b", r"\1\2", spaced, flags=re.IGNORECASE)
    spaced = re.sub(r"^(?:from|de)\s+", "", spaced, flags=re.IGNORECASE)
    match = re.fullmatch(r"(\S+?)(?:\s*[-–]\s*|\s+(?:to|till|until|a|à)\s+)(\S+)",
                         spaced, re.IGNORECASE)
    if match is None:
        raise ParseError(_("“{text}” is not a quiet window.", text=text), hint=_window_hint())
    start, end = (parse_clock(part) for part in match.groups())
    if start == end:
        raise ParseError(_("A quiet window needs a start and an end that differ."),
                         hint=_window_hint())
    return start.hour * 60 + start.minute, end.hour * 60 + end.minute


def _window_hint() -> Text:
    return _("Write it like 22:00-08:00, or quiet off.")


_OFFSET = re.compile(r"(?:utc|gmt)?\s*([+−-])\s*(\d{1,2})(?:[:h]?(\d{2}))?")


def zone_name(text: str) -> str:
    """The canonical name of the time zone ``text`` names: any case, a city, or ``UTC+1``."""
    text = " ".join(text.split())
    try:
        return zone(text).key
    except ParseError as err:
        fixed = _fixed_offset(text)
        if fixed is not None:
            return fixed
        known = sorted(zoneinfo.available_timezones())
        same = [z for z in known if fold(z) == fold(text)]
        cities = [z for z in known if _city(z) == _city(text)]
        if len(same) == 1 or len(cities) == 1:
            return (same or cities)[0]
        guess = (join(" " + _("or") + " ", cities[:3]) if cities
                 else suggest(text, known) or _by_city(text, known))
        hint: str = _("Did you mean {guess}? ", guess=guess) if guess else ""
        raise ParseError(err.message, hint=hint + (err.hint or "")) from None


def _city(name: str) -> str:
    """The city part of a zone name as people type it: ``america/new_york`` is ``new york``."""
    return fold(name.rsplit("/", 1)[-1].replace("_", " "))


def _by_city(text: str, known: list[str]) -> str | None:
    """The zone whose city is spelt closest to ``text`` (``Pariss``: Europe/Paris)."""
    cities = {_city(z): z for z in known if "/" in z}
    guess = suggest(_city(text), sorted(cities))
    return cities[guess] if guess else None


def _fixed_offset(text: str) -> str | None:
    """``UTC+1`` as the database names it, ``Etc/GMT-1`` (its signs are reversed)."""
    match = _OFFSET.fullmatch(fold(text))
    if match is None:
        return None
    sign, hours, minutes = match.groups()
    west = sign != "+"
    if minutes not in (None, "00") or int(hours) > (12 if west else 14):
        raise ParseError(_("“{text}” is not a whole-hour offset I can keep.", text=text),
                         hint=_("Use the zone of a city near you, like Asia/Kolkata or "
                                "America/St_Johns: it also follows summer time."))
    return "Etc/GMT" if int(hours) == 0 else f"Etc/GMT{'+' if west else '-'}{int(hours)}"


def _zone_said(name: str) -> str:
    """A zone named for its owner; a fixed offset explained (``Etc/GMT-1`` is UTC+1)."""
    match = re.fullmatch(r"Etc/GMT([+-])(\d+)", name)
    if match is None:
        return name
    offset = f"UTC{'-' if match.group(1) == '+' else '+'}{match.group(2)}"
    return _("{offset} all year ({name}: the time zone database reverses the sign; a fixed "
             "offset does not follow summer time, a city like Europe/Paris does)",
             offset=offset, name=name)


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


def _window(row: Row, now: datetime, *, done: bool = False) -> str:
    """``You have quiet hours 22:00–08:00 (Europe/Paris).``: the member's window, in their zone.

    With ``done``, said as the answer to setting it: ``Done: quiet hours …``.
    """
    start, end = row["quiet_start"], row["quiet_end"]
    if start is None or end is None:
        return _("You have no quiet hours.")
    said = {"start": clock(start), "end": clock(end), "tz": row["tz"]}
    if quiet_until(row["tz"], start, end, now) is None:
        return (_("Done: quiet hours {start}–{end} ({tz}).", **said) if done
                else _("You have quiet hours {start}–{end} ({tz}).", **said))
    return (_("Done: quiet hours {start}–{end} ({tz}), and you are in them now.", **said) if done
            else _("You have quiet hours {start}–{end} ({tz}), and you are in them now.", **said))


def _note_said(note: str | None) -> str:
    """``: “moving house”`` after an away, or nothing."""
    return _(": “{note}”", note=inert(note)) if note else ""


async def away(ctx: Ctx, inv: Invocation) -> None:
    """``away [for 3d | until monday] [note]``; trio-mates are told once per away time."""
    me = await _me(ctx)
    until, note = parse_away(inv.args.get("when"), me["tz"], ctx.now)
    was = is_away(me, ctx.now)
    since = me["away_since"] if was else ts(ctx.now)
    await ctx.tx.run("UPDATE members SET away_since = ?, away_until = ?, away_note = ? WHERE id = ?",
                     (since, None if until is None else ts(until), note, ctx.actor))
    await turns.pause(ctx, ctx.actor)
    if until is None:
        await ctx.cancel(f"away:{ctx.actor}")
    else:
        await ctx.schedule("away_end", f"away:{ctx.actor}", until,
                           {"member": ctx.actor, "until": ts(until)})
    said = _note_said(note) + "."
    # A retry or a quick correction is not news: the mates were told when the away began.
    tell = not was or ts(ctx.now) - since >= RETRY.total_seconds()
    if tell:
        await _tell_away(ctx, me, until, said, changed=was)
    p = ctx.prefix
    head = (_("You are away until you type {p}back", p=p) if until is None
            else _("You are away until {until}", until=Local(until, me["tz"])))
    told = (_("Reminders to you pause and nobody's waiting time counts against you. Your "
              "trio-mates see it in {p}turn. Type {p}back when you return.", p=p) if tell else
            _("Reminders to you pause and nobody's waiting time counts against you. Your "
              "trio-mates were told when your away began; they see the change in {p}turn. "
              "Type {p}back when you return.", p=p))
    ctx.reply(head + said + " " + told)


async def _tell_away(ctx: Ctx, me: Row, until: datetime | None, said: str, *,
                     changed: bool) -> None:
    """Tell each trio-mate, once, that the actor is away (or that the away changed)."""
    name = me["display_name"] or ctx.actor
    for mate in await _mates(ctx, ctx.actor):
        if until is None:
            head = (_("{name} is now away until they are back", name=name) if changed
                    else _("{name} is away until they are back", name=name))
        else:
            end = Local(until, mate["tz"])
            head = (_("{name} is now away until {until}", name=name, until=end) if changed
                    else _("{name} is away until {until}", name=name, until=end))
        await ctx.notify(mate["id"], head + said + " " + _(
            "Reminders to them pause meanwhile; no need to wait for a reply."), sender=ctx.actor)


async def _end_away(ctx: Ctx, member: MemberId) -> int:
    """Clear ``member``'s away time; returns in how many lines someone waits for them."""
    await ctx.tx.run("UPDATE members SET away_since = NULL, away_until = NULL, away_note = NULL "
                     "WHERE id = ?", (member,))
    await ctx.cancel(f"away:{member}")
    return await turns.resume(ctx, member)


def _welcome(waiting: int, prefix: str) -> str:
    if not waiting:
        return _("Nobody is waiting for a reply from you.")
    return _n("Someone waits for your reply in {n} line: {p}turn shows where.",
              "Someone waits for your reply in {n} lines: {p}turn shows where.", waiting, p=prefix)


async def back(ctx: Ctx, inv: Invocation) -> None:
    """``back``."""
    me = await _me(ctx)
    if not is_away(me, ctx.now):
        ctx.reply(_("You were not away, so there is nothing to end. Welcome all the same!"))
        return
    waiting = await _end_away(ctx, ctx.actor)
    name = me["display_name"] or ctx.actor
    for mate in await _mates(ctx, ctx.actor):
        await ctx.notify(mate["id"], _("{name} is back.", name=name), sender=ctx.actor)
    ctx.reply(_("Welcome back! Reminders resume.") + " " + _welcome(waiting, ctx.prefix))


async def away_end(ctx: Ctx, payload: dict[str, Any]) -> None:
    """Job: an away time with an end is over (unless it was changed since)."""
    member = MemberId(payload["member"])
    row = await ctx.tx.one("SELECT away_until FROM members WHERE id = ?", (member,))
    if row is None or row["away_until"] != payload["until"]:
        return
    waiting = await _end_away(ctx, member)
    await ctx.notify(member, _("Your away time is over: welcome back. Reminders resume.") + " "
                     + _welcome(waiting, ctx.prefix))


async def quiet(ctx: Ctx, inv: Invocation) -> None:
    """``quiet 22:00-08:00`` or ``quiet off``."""
    raw = inv.args["hours"]
    window = None if fold(raw.strip()) in _OFF else parse_window(raw)
    start, end = window or (None, None)
    await ctx.tx.run("UPDATE members SET quiet_start = ?, quiet_end = ? WHERE id = ?",
                     (start, end, ctx.actor))
    await _release_held(ctx, ctx.actor)
    me = await _me(ctx)
    if window is None:
        ctx.reply(_("Quiet hours are off: notices reach you at any time."))
        return
    now = ctx.now.astimezone(zone(me["tz"])).strftime("%H:%M")
    text = (_window(me, ctx.now, done=True) + " "
            + _("Notices to you wait until the window ends. It is {time} for you now.", time=now))
    if me["tz"] == "UTC":
        text += "\n" + _("Not on UTC? Set your time zone: {p}timezone Europe/Paris",
                         p=ctx.prefix)
    ctx.reply(text)


async def timezone(ctx: Ctx, inv: Invocation) -> None:
    """``timezone Europe/Paris``."""
    name = zone_name(inv.args["zone"])
    await ctx.tx.run("UPDATE members SET tz = ? WHERE id = ?", (name, ctx.actor))
    await _release_held(ctx, ctx.actor)
    me = await _me(ctx)
    ctx.reply(_("Your time zone is now {zone}: it is {time} there.", zone=_zone_said(name),
                time=Local(ctx.now, name)) + " " + _window(me, ctx.now))


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
    out: list[str] = [_("Turns in “{trio}”:", trio=trio.name)]
    ordered = sorted(lines.values(), key=lambda line: line.id)
    debts: list[str] = [
        "• " + _label(line, ctx.actor) + ": " + _debt(line, seat, ctx.actor, now)
        for line in ordered
        for seat in sorted(line.seats.values(), key=lambda s: (s.owes_since or 0, s.name))
        if line.waiting_on(seat.member)]
    if not lines:
        out.append(_("No lines yet: they open when the third member joins."))
    else:
        out += debts or [_("All clear: nobody owes anyone a reply.")]
    for p in people:
        me, name = p["id"] == ctx.actor, p["display_name"] or p["id"]
        if is_away(p, ctx.now):
            note = _note_said(p["away_note"]) if p["away_note"] and not (
                await queries.blocked_between(ctx.tx, ctx.actor, p["id"])) else ""
            out.append(_away_line(p, me, name, viewer_tz) + note)
        ends = quiet_until(p["tz"], p["quiet_start"], p["quiet_end"], ctx.now)
        if ends is not None:
            said = {"time": ends.astimezone(zone(p["tz"])).strftime("%H:%M"), "tz": p["tz"]}
            out.append(_("You are in quiet hours until {time} ({tz}): notices wait till then.",
                         **said) if me else
                       _("{name} is in quiet hours until {time} ({tz}): notices wait till then.",
                         name=name, **said))
    ctx.reply(join("\n", out))


def _away_line(p: Row, me: bool, name: str, viewer_tz: str) -> str:
    """``Bob is away until Tue 01 Dec 2026, 00:00 (UTC)``, as ``turn`` shows it."""
    if p["away_until"] is None:
        return _("You are away until back") if me else _("{name} is away until back", name=name)
    until = Local(dt(p["away_until"]), viewer_tz)
    return (_("You are away until {until}", until=until) if me
            else _("{name} is away until {until}", name=name, until=until))


def _label(line: turns.Line, viewer: MemberId) -> str:
    return _("Your line with {name}",
             name=" ".join(s.name for s in line.seats.values() if s.member != viewer))


def _debt(line: turns.Line, seat: turns.Seat, viewer: MemberId, now: int) -> str:
    """``Bob owes you a reply (for 2d 3h, reminder sent)``."""
    waiting = line.waiting_on(seat.member)
    notes: list[str] = [_("for {time}", time=timedelta(seconds=now - (seat.owes_since or now)))]
    if seat.reminded:
        notes.append(_("reminder sent"))
    if seat.away:
        notes.append(_("paused while away"))
    said = join(", ", notes)
    if seat.member == viewer:
        return _("you owe {to} a reply ({notes})", to=turns.names([s.name for s in waiting]),
                 notes=said)
    if [s.member for s in waiting] == [viewer]:
        return _("{name} owes you a reply ({notes})", name=seat.name, notes=said)
    to = turns.names([_("you") if s.member == viewer else s.name for s in waiting])
    return _("{name} owes {to} a reply ({notes})", name=seat.name, to=to, notes=said)


COMMANDS: dict[str, CommandHandler] = {
    "turn": turn,
    "away": away,
    "back": back,
    "quiet": quiet,
    "timezone": timezone,
}
JOBS: dict[str, JobHandler] = {"away_end": away_end}
