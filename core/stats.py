"""``stats``: a trio's rhythm in counts and times, never in words.

Nobody knows what the two others say to each other in private, so even the message count
of their pair line is withheld: a member sees the lines they are in (the trio room and
their own two pair lines), and totals over those lines only. The answer is always
private, because it is this member's view. Numbers come from ``line_state`` (filled by
turn tracking) and the confirmed sessions of the ledger.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

from core import queries
from core.context import CommandHandler, Ctx, JobHandler
from core.grammar import Invocation
from core.ids import MemberId
from core.model import Room, Trio
from core.textrules import format_duration

GUIDELINE_PRIVATE = 0.8
FAR = 0.15  # how far from 80 % private the share may drift before a kind remark
MIN_FOR_REMARK = 10  # messages before a remark means anything


def _minutes(total: int) -> str:
    return format_duration(timedelta(minutes=total)) if total else "none"


class _Counts:
    """Per-member reply and initiation counters over the lines one member may see."""

    def __init__(self) -> None:
        self.initiations: dict[MemberId, int] = defaultdict(int)
        self.replies: dict[MemberId, int] = defaultdict(int)
        self.reply_s: dict[MemberId, int] = defaultdict(int)


async def _line(ctx: Ctx, room: Room, counts: _Counts,
                names: dict[MemberId, str]) -> tuple[str, int, int]:
    """One line's text, its message count and the actor's; adds to the running counts."""
    rows = await ctx.tx.all(
        "SELECT member_id, messages, initiations, replies, reply_total_s FROM line_state "
        "WHERE room_id = ? ORDER BY member_id", (room.id,))
    per = {MemberId(r["member_id"]): r for r in rows}
    for who, r in per.items():
        counts.initiations[who] += r["initiations"]
        counts.replies[who] += r["replies"]
        counts.reply_s[who] += r["reply_total_s"]
    total = sum(r["messages"] for r in per.values())
    order = [m for m in names if m in per or room.purpose == "trio" or m in room.pair]
    detail = ", ".join(f"{names[m]} {per[m]['messages'] if m in per else 0}" for m in order)
    if room.purpose == "trio":
        label = "trio room"
    else:
        label = "your line with " + " + ".join(names.get(m, m) for m in room.pair if m != ctx.actor)
    mine = per[ctx.actor]["messages"] if ctx.actor in per else 0
    return f"• {label}: {total}" + (f" ({detail})" if total else ""), total, mine


def _share(private: int, shared: int, others: list[str]) -> list[str]:
    """The actor's private/shared split against the 20/80 guideline, kindly."""
    total = private + shared
    if not total:
        return ["Your share: no messages yet (the guideline: about 80% private, 20% shared)."]
    p = private / total
    out = [f"Your share: {round(p * 100)}% in your private lines, {100 - round(p * 100)}% in the "
           f"trio room (guideline: about 80% private, 20% shared)."]
    if total < MIN_FOR_REMARK:
        out.append("It is early days: the balance settles with time.")
    elif p < GUIDELINE_PRIVATE - FAR:
        out.append(f"A twinome lives mostly one-on-one: a few words in your private lines with "
                   f"{' or '.join(others) or 'the others'} would bring you closer to the balance.")
    elif p > GUIDELINE_PRIVATE + FAR:
        out.append("Your private lines are alive. A word in the trio room now and then keeps "
                   "the three of you together.")
    else:
        out.append("That is close to the guideline. Well balanced.")
    return out


async def _ledger(ctx: Ctx, trio: Trio, names: dict[MemberId, str]) -> list[str]:
    """Confirmed mentoring time given and received per person, former members included."""
    given: dict[str, int] = defaultdict(int)
    received: dict[str, int] = defaultdict(int)
    rows = await ctx.tx.all(
        "SELECT m.mentor, m.mentee, sum(s.minutes) AS minutes FROM sessions s "
        "JOIN mentorships m ON m.id = s.mentorship_id WHERE m.trio_id = ? "
        "AND s.confirmed_at IS NOT NULL GROUP BY m.mentor, m.mentee", (trio.id,))
    if not rows:
        return ["Mentoring: no confirmed sessions yet."]
    for r in rows:
        given[r["mentor"]] += r["minutes"]
        received[r["mentee"]] += r["minutes"]
    people: list[str] = [*names]
    people += sorted({*given, *received} - set(people))
    out = ["Mentoring (confirmed time given / received):"]
    for who in people:
        label = names.get(MemberId(who)) or await queries.name(ctx.tx, who)
        out.append(f"• {label}: gave {_minutes(given[who])}, received {_minutes(received[who])}")
    return out


def _rhythm(counts: _Counts, names: dict[MemberId, str]) -> list[str]:
    """Average reply times and who starts conversations, over the lines shown."""
    out = ["Average reply time:"]
    for m, name in names.items():
        n = counts.replies[m]
        avg = format_duration(timedelta(seconds=counts.reply_s[m] / n)) if n else "no replies yet"
        out.append(f"• {name}: {avg}" + (f" ({n} {'reply' if n == 1 else 'replies'})" if n else ""))
    starts = ", ".join(f"{name} {counts.initiations[m]}" for m, name in names.items())
    out.append(f"Who starts a conversation: {starts}")
    return out


async def stats(ctx: Ctx, inv: Invocation) -> None:
    """``stats``: counts and times for the lines the actor is in, and the ledger."""
    trio = await ctx.trio(inv)
    members = await queries.members(ctx.tx, trio.id)
    names = await queries.names(ctx.tx, members)
    names[ctx.actor] = "you"
    counts = _Counts()
    out = [f"Statistics for “{trio.name}” (counts and times only)", "Messages:"]
    private = shared = seen = 0
    rooms = [r for r in await queries.open_rooms(ctx.tx, trio.id)
             if r.purpose == "trio" or ctx.actor in r.pair]
    for room in rooms:
        line, total, mine = await _line(ctx, room, counts, names)
        out.append(line)
        seen += total
        if room.purpose == "trio":
            shared += mine
        else:
            private += mine
    if not rooms:
        out.append("• no lines yet: they open when the trio has its three members")
    else:
        out.append(f"• all the lines you are in: {seen}")
    others = [names[m] for m in members if m != ctx.actor]
    if len(others) == 2 and rooms:
        out.append(f"The line of {others[0]} and {others[1]} is theirs alone: not even its "
                   f"count is shown.")
    out += _rhythm(counts, names)
    out += await _ledger(ctx, trio, names)
    out += _share(private, shared, others)
    ctx.reply("\n".join(out), private=True)


COMMANDS: dict[str, CommandHandler] = {"stats": stats}
JOBS: dict[str, JobHandler] = {}
