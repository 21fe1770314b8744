"""Mentoring sessions and the trio's ledger: a time bank of confirmed sessions.

A session is logged by either party of a recognised mentorship (see
:mod:`core.mentoring`) and waits for the *other* party's confirmation; nothing
unconfirmed counts; whoever logged a session may withdraw it until it is confirmed (its
row stays, with ``withdrawn_at``, so its number is never given to another). The same
session logged again within :data:`DUPLICATE_WINDOW` (a retry after an error) is not
logged twice unless the person confirms it. A confirmed session of d minutes credits the mentor d (given) and
debits the mentee d (received). Every query is scoped to one trio through the indexes on
``mentorships (trio_id, state)`` and ``sessions (mentorship_id)``, so ``ledger`` costs
the same on a database of any size. Members who forgot their data appear under their
``former:`` id, which :func:`core.queries.name` renders as "a former member".
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from core import queries
from core.context import CommandHandler, Ctx, JobHandler
from core.effects import choice
from core.errors import Conflict, Forbidden, NotFound, ParseError
from core.grammar import Invocation
from core.ids import MemberId
from core.mentoring import between, mention, skill_arg, tag, tell, typed, waits_for
from core.model import Trio
from core.storage.db import Row, Tx
from core.textrules import parse_duration, quote
from core.timeutil import ts

SESSION_LEAST = timedelta(minutes=5)
SESSION_MOST = timedelta(hours=12)
MAX_PENDING = 20
"""How many unconfirmed sessions one mentorship may hold."""
SHOWN = 12
"""How many mentorships and pending sessions ``ledger`` lists."""
IMBALANCE = 60
"""Minutes of surplus from which the ledger kindly points out an imbalance."""
DUPLICATE_WINDOW = timedelta(minutes=10)
"""How recent an identical session must be for a new one to be asked about first."""


def hm(minutes: int) -> str:
    """Human form of a number of minutes: ``4h 30m``, ``4h``, ``45m``."""
    h, m = divmod(abs(minutes), 60)
    return " ".join(p for p in (f"{h}h" if h else "", f"{m}m" if m or not h else "") if p)


def _amount(minutes: int) -> str:
    return hm(minutes) if minutes else "none"


def _signed(minutes: int) -> str:
    if not minutes:
        return "even"
    return ("+" if minutes > 0 else "-") + hm(minutes)


def _minutes(raw: str) -> int:
    """A session length typed like ``45m`` or ``1h30``, within the allowed bounds."""
    try:
        length = parse_duration(raw, least=SESSION_LEAST, most=SESSION_MOST, what="session length")
    except ParseError as err:
        raise ParseError(err.message, hint="Write it like 45m or 1h30: between 5 minutes "
                                           "and 12 hours.") from None
    return int(length.total_seconds()) // 60


# --- Sessions -------------------------------------------------------------------------


async def _recognised(ctx: Ctx, trio: Trio, other: MemberId, skill: str) -> Row:
    """The recognised mentorship of the actor and ``other`` on ``skill``, either way."""
    rows = sorted(await between(ctx, trio, ctx.actor, other, skill),
                  key=lambda r: (r["state"] != "recognised", r["id"]))
    if rows and rows[0]["state"] == "recognised":
        return rows[0]
    name, p = await queries.name(ctx.tx, other), ctx.prefix
    if rows and waits_for(rows[0]) == "mentor":
        mentor = await queries.name(ctx.tx, rows[0]["mentor"])
        raise Conflict(f"{mentor} has not agreed to mentor on “{skill}” yet (mentorship "
                       f"{rows[0]['number']}): a session counts once the mentor said yes.",
                       hint=f"{mentor} accepts with {p}mentor accept {tag(trio)} {rows[0]['number']}")
    if rows:
        mentee = await queries.name(ctx.tx, rows[0]["mentee"])
        raise Conflict(f"{mentee} has not accepted the offer on “{skill}” yet (mentorship "
                       f"{rows[0]['number']}): a session counts once the mentee recognises the mentor.",
                       hint=f"{mentee} accepts with {p}mentor accept {tag(trio)} {rows[0]['number']}")
    raise Conflict(f"You and {name} have no recognised mentorship on “{skill}” in “{trio.name}”, "
                   f"and sessions are logged only inside one.",
                   hint=f"If {name} mentors you: {p}mentor ask {mention(other)} {typed(skill)}. "
                        f"If you mentor {name}: {p}mentor offer {mention(other)} {typed(skill)} "
                        f"(then {name} accepts).")


async def session_log(ctx: Ctx, inv: Invocation) -> None:
    """``session log @m <skill> <duration> [note]``: waits for the other party's confirmation."""
    trio = await ctx.active_trio(inv)
    other = await ctx.member_arg(inv.args["user"], trio)
    if other == ctx.actor:
        raise Conflict("A session is between you and a trio-mate: name them, not yourself.",
                       hint=f"Usage: {inv.command.usage(ctx.prefix)}")
    skill = skill_arg(inv.args["skill"])
    minutes = _minutes(inv.args["duration"])
    row = await _recognised(ctx, trio, other, skill)
    if inv.args.get("confirm") is None and await _twin(ctx, trio, inv, row, minutes):
        return
    waiting = await ctx.tx.value(
        "SELECT count(*) FROM sessions WHERE mentorship_id = ? AND confirmed_at IS NULL "
        "AND withdrawn_at IS NULL", (row["id"],))
    name = await queries.name(ctx.tx, other)
    if int(waiting) >= MAX_PENDING:
        raise Conflict(f"{waiting} sessions of this mentorship already wait for confirmation.",
                       hint=f"Ask {name} to confirm them first ({ctx.prefix}ledger lists them).")
    note = inv.args.get("note")
    number = await ctx.tx.one(
        "INSERT INTO sessions (mentorship_id, minutes, note, logged_by, created_at, number) "
        "VALUES (?, ?, ?, ?, ?, (SELECT coalesce(max(s.number), 0) + 1 FROM sessions s "
        "JOIN mentorships m ON m.id = s.mentorship_id WHERE m.trio_id = ?)) RETURNING number",
        (row["id"], minutes, note, ctx.actor, ts(ctx.now), trio.id))
    assert number is not None
    sid = int(number[0])
    who, whom = await queries.name(ctx.tx, row["mentor"]), await queries.name(ctx.tx, row["mentee"])
    what = f"{hm(minutes)} of “{skill}”, {who} mentoring {whom}"
    ctx.reply(f"Logged session {sid}: {what}. It enters the ledger once {name} confirms it.")
    actor = await queries.name(ctx.tx, ctx.actor)
    about = f" Note: {quote(note)}" if note else ""
    await tell(ctx, other, (
        f"{actor} logged session {sid} in “{trio.name}”: {what}.{about}\n"
        f"If it is right, confirm it."),
        (choice("Confirm", f"session confirm {tag(trio)} {sid}", "success"),))


async def _twin(ctx: Ctx, trio: Trio, inv: Invocation, mentorship: Row, minutes: int) -> bool:
    """Ask first (True) if the same session was logged a moment ago: a retry counts once."""
    twin = await ctx.tx.one(
        "SELECT id, number, logged_by, created_at, confirmed_at FROM sessions WHERE mentorship_id = ? "
        "AND minutes = ? AND withdrawn_at IS NULL AND created_at > ? ORDER BY id DESC LIMIT 1",
        (mentorship["id"], minutes, ts(ctx.now - DUPLICATE_WINDOW)))
    if twin is None:
        return False
    note = inv.args.get("note")
    again = (f"session log {tag(trio)} {inv.args['user']} {typed(mentorship['skill'])} "
             f"{inv.args['duration']}" + (f' "{note}"' if note else "") + " confirm")
    what = f"session {twin['number']} ({hm(minutes)} of “{mentorship['skill']}”)"
    ago = int((ctx.now.timestamp() - twin["created_at"]) // 60)
    when = "just now" if ago < 1 else f"{ago} minute{'s' if ago > 1 else ''} ago"
    if twin["logged_by"] == ctx.actor or twin["confirmed_at"] is not None:
        who = "You" if twin["logged_by"] == ctx.actor else await queries.name(ctx.tx, twin["logged_by"])
        ctx.reply(f"{who} logged the same {what} {when}, so I did not log it twice. Was this "
                  f"another session?", choices=(choice("Log it again", again, "secondary"),))
        return True
    who = await queries.name(ctx.tx, twin["logged_by"])
    ctx.reply(f"{who} logged the same {what} {when}: confirm it rather than logging it twice.",
              choices=(choice(f"Confirm session {twin['number']}",
                              f"session confirm {tag(trio)} {twin['number']}", "success"),
                       choice("Log another", again, "secondary")))
    return True


async def session_withdraw(ctx: Ctx, inv: Invocation) -> None:
    """``session withdraw [id]``: whoever logged a session takes it back before it is confirmed."""
    trio = await ctx.trio(inv)
    row = await _withdrawable(ctx, trio, inv.args.get("id"))
    await ctx.tx.run("UPDATE sessions SET withdrawn_at = ? WHERE id = ?", (ts(ctx.now), row["id"]))
    who, whom = await queries.name(ctx.tx, row["mentor"]), await queries.name(ctx.tx, row["mentee"])
    what = f"session {row['number']} ({hm(row['minutes'])} of “{row['skill']}”, {who} mentoring {whom})"
    ctx.reply(f"You withdrew {what}: it will not count.")
    other = row["mentee"] if row["mentor"] == ctx.actor else row["mentor"]
    actor = await queries.name(ctx.tx, ctx.actor)
    await tell(ctx, other, f"{actor} withdrew {what} in “{trio.name}”: nothing to confirm.")


async def _withdrawable(ctx: Ctx, trio: Trio, sid: int | None) -> Row:
    """The unconfirmed session ``sid`` the actor logged in the trio (or their only one)."""
    select = ("SELECT s.*, m.mentor, m.mentee, m.skill, m.trio_id FROM sessions s "
              "JOIN mentorships m ON m.id = s.mentorship_id ")
    if sid is None:
        rows = await ctx.tx.all(select + "WHERE m.trio_id = ? AND s.logged_by = ? AND "
                                "s.confirmed_at IS NULL AND s.withdrawn_at IS NULL ORDER BY s.id",
                                (trio.id, ctx.actor))
        if len(rows) == 1:
            return rows[0]
        if not rows:
            raise NotFound(f"You have no session waiting for confirmation in “{trio.name}”.",
                           hint=f"{ctx.prefix}ledger lists the sessions.")
        raise Conflict(f"You logged {len(rows)} sessions waiting for confirmation: which one?",
                       hint=f"{ctx.prefix}session withdraw <number>", choices=tuple(
                           choice(f"Withdraw session {r['number']} ({hm(r['minutes'])})",
                                  f"session withdraw {tag(trio)} {r['number']}", "danger")
                           for r in rows[-5:]))
    row = await ctx.tx.one(select + "WHERE s.number = ? AND m.trio_id = ?", (sid, trio.id))
    if row is None or row["trio_id"] != trio.id or row["withdrawn_at"] is not None:
        raise NotFound(f"There is no session {sid} to withdraw in “{trio.name}”.",
                       hint=f"{ctx.prefix}ledger lists the sessions.")
    if row["logged_by"] != ctx.actor:
        who = await queries.name(ctx.tx, row["logged_by"])
        raise Forbidden(f"Only {who}, who logged session {sid}, can withdraw it.",
                        hint="If it is wrong, simply do not confirm it.")
    if row["confirmed_at"] is not None:
        raise Conflict(f"Session {sid} is already confirmed: it is in the ledger.")
    return row


async def session_confirm(ctx: Ctx, inv: Invocation) -> None:
    """``session confirm <id>``: only the party who did not log it may confirm."""
    trio = await ctx.trio(inv)
    sid = inv.args["id"]
    row = await ctx.tx.one(
        "SELECT s.*, m.mentor, m.mentee, m.skill, m.trio_id FROM sessions s "
        "JOIN mentorships m ON m.id = s.mentorship_id WHERE m.trio_id = ? AND s.number = ?",
        (trio.id, sid))
    p = ctx.prefix
    if row is not None and row["trio_id"] == trio.id and row["withdrawn_at"] is not None:
        who = await queries.name(ctx.tx, row["logged_by"])
        raise Conflict(f"{who} withdrew session {sid}: there is nothing to confirm.")
    if row is None or row["trio_id"] != trio.id:
        raise NotFound(f"There is no session {sid} in “{trio.name}”.",
                       hint=f"{p}ledger lists the sessions waiting for confirmation.")
    who, whom = await queries.name(ctx.tx, row["mentor"]), await queries.name(ctx.tx, row["mentee"])
    what = f"session {sid} ({hm(row['minutes'])} of “{row['skill']}”, {who} mentoring {whom})"
    if ctx.actor not in (row["mentor"], row["mentee"]):
        raise Forbidden(f"Only {who} and {whom} can confirm {what}.")
    if row["confirmed_at"] is not None:
        raise Conflict(f"{what[0].upper()}{what[1:]} is already confirmed.",
                       hint=f"{p}ledger shows it in the totals.")
    if row["logged_by"] == ctx.actor:
        other = row["mentee"] if row["mentor"] == ctx.actor else row["mentor"]
        raise Forbidden(f"You logged {what} yourself, so {await queries.name(ctx.tx, other)} "
                        f"confirms it.", hint="They got a notice with the command to type.")
    await ctx.tx.run("UPDATE sessions SET confirmed_at = ? WHERE id = ? AND confirmed_at IS NULL",
                     (ts(ctx.now), row["id"]))
    ctx.reply(f"Confirmed {what}: it is in the ledger now.")
    actor = await queries.name(ctx.tx, ctx.actor)
    await tell(ctx, row["logged_by"], f"{actor} confirmed {what} in “{trio.name}”.")


# --- The ledger -----------------------------------------------------------------------


@dataclass
class Account:
    """One person's confirmed time in a trio: minutes given and received."""

    name: str
    given: int = 0
    received: int = 0
    member: bool = False
    wants: str = ""

    @property
    def balance(self) -> int:
        return self.given - self.received


def _shown(member: str, display_name: str | None) -> str:
    """How to call someone, from a row that joined ``members`` (as :func:`queries.name`)."""
    if display_name:
        return display_name
    return queries.FORMER if member.startswith("former:") else member


async def accounts(tx: Tx, trio_id: int) -> dict[str, Account]:
    """Per person, current members first (in joining order), their confirmed time."""
    out = {}
    for r in await tx.all(
        "SELECT tm.member_id, mb.display_name, (SELECT group_concat(skill, ', ') FROM skills "
        "WHERE member_id = tm.member_id AND kind = 'want') AS wants FROM trio_members tm "
        "LEFT JOIN members mb ON mb.id = tm.member_id WHERE tm.trio_id = ? "
        "ORDER BY tm.joined_at, tm.member_id", (trio_id,)):
        out[r[0]] = Account(_shown(r[0], r[1]), member=True, wants=r[2] or "")
    for r in await tx.all(
        "SELECT m.mentor, a.display_name, m.mentee, b.display_name, sum(s.minutes) "
        "FROM mentorships m JOIN sessions s ON s.mentorship_id = m.id "
        "LEFT JOIN members a ON a.id = m.mentor LEFT JOIN members b ON b.id = m.mentee "
        "WHERE m.trio_id = ? AND s.confirmed_at IS NOT NULL GROUP BY m.mentor, m.mentee",
        (trio_id,)):
        out.setdefault(r[0], Account(_shown(r[0], r[1]))).given += r[4]
        out.setdefault(r[2], Account(_shown(r[2], r[3]))).received += r[4]
    return out


Names = Callable[[str], Awaitable[str]]


def _namer(tx: Tx, books: dict[str, Account]) -> Names:
    """A name lookup that knows the ledger's people and asks the database for others."""
    cache = {member: a.name for member, a in books.items()}

    async def name(member: str) -> str:
        if member not in cache:
            cache[member] = await queries.name(tx, member)
        return cache[member]

    return name


async def _graph(ctx: Ctx, trio: Trio, name: Names) -> list[str]:
    """Who mentors whom on what: mentorships going, and ended ones with confirmed time."""
    rows = await ctx.tx.all(
        "SELECT * FROM (SELECT m.id, m.number, m.mentor, m.mentee, m.skill, m.state, "
        "(SELECT coalesce(sum(s.minutes), 0) FROM sessions s WHERE s.mentorship_id = m.id "
        "AND s.confirmed_at IS NOT NULL) AS confirmed FROM mentorships m WHERE m.trio_id = ? "
        "AND (m.state != 'offered' OR coalesce(m.waits_for, 'mentee') = 'mentee')) "
        "WHERE state != 'ended' OR confirmed > 0 ORDER BY state = 'ended', id LIMIT ?",
        (trio.id, SHOWN + 1))
    if not rows:
        return []
    out = ["Who mentors whom:"]
    for r in rows[:SHOWN]:
        state = r["state"]
        if state == "offered":
            state = f"offered, waiting for {await name(r['mentee'])} to accept"
        time = f", {hm(r['confirmed'])} confirmed" if r["confirmed"] else ""
        out.append(f"• {await name(r['mentor'])} → {await name(r['mentee'])} on “{r['skill']}” "
                   f"({state}{time}; mentorship {r['number']})")
    if len(rows) > SHOWN:
        out.append("• … and more")
    return out


async def _pending(ctx: Ctx, trio: Trio, name: Names) -> list[str]:
    """Sessions logged but not yet confirmed (they do not count yet)."""
    rows = await ctx.tx.all(
        "SELECT s.id, s.number, s.minutes, s.logged_by, m.mentor, m.mentee, m.skill FROM mentorships m "
        "JOIN sessions s ON s.mentorship_id = m.id "
        "WHERE m.trio_id = ? AND s.confirmed_at IS NULL AND s.withdrawn_at IS NULL "
        "ORDER BY s.id LIMIT ?",
        (trio.id, SHOWN + 1))
    if not rows:
        return []
    out = ["Waiting for confirmation (not counted yet):"]
    for r in rows[:SHOWN]:
        confirmer = r["mentee"] if r["logged_by"] == r["mentor"] else r["mentor"]
        out.append(f"• session {r['number']}: {hm(r['minutes'])} of “{r['skill']}”, "
                   f"{await name(r['mentor'])} mentoring {await name(r['mentee'])}; "
                   f"{await name(confirmer)} confirms with "
                   f"{ctx.prefix}session confirm {tag(trio)} {r['number']}")
    if len(rows) > SHOWN:
        out.append("• … and more")
    return out


async def _notes(ctx: Ctx, trio: Trio, books: dict[str, Account]) -> list[str]:
    """A kind word on imbalance: who gave much and received little."""
    p = ctx.prefix
    if not any(a.given for a in books.values()):
        return [f"No confirmed session yet. After meeting, log one with {p}session log "
                f"{tag(trio)} @name <skill> 1h; the other person confirms it."]
    out = []
    for member, a in books.items():
        if not a.member or a.balance < IMBALANCE or a.received * 2 > a.given:
            continue
        got = "received none" if not a.received else f"received only {hm(a.received)}"
        if member == ctx.actor:
            out.append(f"You have given {hm(a.given)} and {got} — what would you like to learn "
                       f"from your trio-mates? ({p}want <skill>, then {p}mentor ask @name <skill>)")
            continue
        hint = f" ({a.name} would like to learn: {a.wants}.)" if a.wants else ""
        out.append(f"{a.name} has given {hm(a.given)} and {got} — what could you offer "
                   f"{a.name}?{hint}")
    return out or ["The barter is balanced: everyone gives and receives. Lovely."]


async def ledger(ctx: Ctx, inv: Invocation) -> None:
    """``ledger``: time given and received per person, the barter graph, what awaits."""
    trio = await ctx.trio(inv)
    books = await accounts(ctx.tx, trio.id)
    name = _namer(ctx.tx, books)
    out = [f"Ledger of “{trio.name}” (confirmed sessions; the mentor gives, the mentee receives):"]
    out += [f"• {a.name}: given {_amount(a.given)}, received {_amount(a.received)}, "
            f"balance {_signed(a.balance)}" for a in books.values()]
    out += await _graph(ctx, trio, name)
    out += await _pending(ctx, trio, name)
    out += await _notes(ctx, trio, books)
    ctx.reply("\n".join(out))


COMMANDS: dict[str, CommandHandler] = {
    "session log": session_log,
    "session confirm": session_confirm,
    "session withdraw": session_withdraw,
    "ledger": ledger,
}
JOBS: dict[str, JobHandler] = {}
