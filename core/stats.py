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
from core.i18n import _, _n, join
from core.ids import MemberId
from core.model import Room, Trio

GUIDELINE_PRIVATE = 0.8
FAR = 0.15  # how far from 80 % private the share may drift before a kind remark
MIN_FOR_REMARK = 10  # messages before a remark means anything


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
    detail = join(", ", [names[m] + " " + str(per[m]["messages"] if m in per else 0)
                         for m in order])
    if room.purpose == "trio":
        label = _("trio room")
    else:
        label = _("your line with {names}", names=" + ".join(
            names.get(m, m) for m in room.pair if m != ctx.actor))
    mine = per[ctx.actor]["messages"] if ctx.actor in per else 0
    said = "• " + label + ": " + str(total) + (" (" + detail + ")" if total else "")
    return said, total, mine


def _share(private: int, shared: int, others: list[str]) -> list[str]:
    """The actor's private/shared split against the 20/80 guideline, kindly."""
    total = private + shared
    if not total:
        return [_("Your share: no messages yet (the guideline: about 80% private, 20% shared).")]
    p = private / total
    out: list[str] = [_("Your share: {private}% in your private lines, {shared}% in the trio room "
                        "(guideline: about 80% private, 20% shared).",
                        private=round(p * 100), shared=100 - round(p * 100))]
    if total < MIN_FOR_REMARK:
        out.append(_("It is early days: the balance settles with time."))
    elif p < GUIDELINE_PRIVATE - FAR:
        out.append(_("A twinome lives mostly one-on-one: a few words in your private lines with "
                     "{others} would bring you closer to the balance.",
                     others=join(" " + _("or") + " ", others) if others else _("the others")))
    elif p > GUIDELINE_PRIVATE + FAR:
        out.append(_("Your private lines are alive. A word in the trio room now and then keeps "
                     "the three of you together."))
    else:
        out.append(_("That is close to the guideline. Well balanced."))
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
        return [_("Mentoring: no confirmed sessions yet.")]
    for r in rows:
        given[r["mentor"]] += r["minutes"]
        received[r["mentee"]] += r["minutes"]
    people: list[str] = [*names]
    people += sorted({*given, *received} - set(people))
    out: list[str] = [_("Mentoring (confirmed time given / received):")]
    for who in people:
        label = names.get(MemberId(who)) or await queries.name(ctx.tx, who)
        gave = (_("{name}: gave {given}", name=label, given=timedelta(minutes=given[who]))
                if given[who] else _("{name}: gave none", name=label))
        got = (_("received {received}", received=timedelta(minutes=received[who]))
               if received[who] else _("received none"))
        out.append("• " + gave + ", " + got)
    return out


def _rhythm(counts: _Counts, names: dict[MemberId, str]) -> list[str]:
    """Average reply times and who starts conversations, over the lines shown."""
    out: list[str] = [_("Average reply time:")]
    for m, name in names.items():
        n = counts.replies[m]
        if n:
            out.append("• " + _n("{name}: {time} ({n} reply)", "{name}: {time} ({n} replies)", n,
                                 name=name, time=timedelta(seconds=counts.reply_s[m] / n)))
        else:
            out.append("• " + _("{name}: no replies yet", name=name))
    starts = join(", ", [name + " " + str(counts.initiations[m]) for m, name in names.items()])
    out.append(_("Who starts a conversation: {starts}", starts=starts))
    return out


async def stats(ctx: Ctx, inv: Invocation) -> None:
    """``stats``: counts and times for the lines the actor is in, and the ledger."""
    trio = await ctx.trio(inv)
    members = await queries.members(ctx.tx, trio.id)
    names = await queries.names(ctx.tx, members)
    names[ctx.actor] = _("you")
    counts = _Counts()
    out: list[str] = [_("Statistics for “{trio}” (counts and times only)", trio=trio.name),
                      _("Messages:")]
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
        out.append("• " + _("no lines yet: they open when the trio has its three members"))
    else:
        out.append("• " + _("all the lines you are in: {n}", n=seen))
    others = [names[m] for m in members if m != ctx.actor]
    if len(others) == 2 and rooms:
        out.append(_("The line of {a} and {b} is theirs alone: not even its count is shown.",
                     a=others[0], b=others[1]))
    out += _rhythm(counts, names)
    out += await _ledger(ctx, trio, names)
    out += _share(private, shared, others)
    ctx.reply(join("\n", out), private=True)


COMMANDS: dict[str, CommandHandler] = {"stats": stats}
JOBS: dict[str, JobHandler] = {}
