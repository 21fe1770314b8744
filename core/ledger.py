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
from core.i18n import Message, Text, _, _n, join
from core.ids import MemberId
from core.mentoring import between, mention, skill_arg, state_word, tag, tell, typed, waits_for
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


def hm(minutes: int) -> Message:
    """Human form of a number of minutes: ``4h 30m``, ``4h``, ``45m`` (hours, never days:
    the ledger is a time bank)."""
    h, m = divmod(abs(minutes), 60)
    if h and m:
        return _("{h}h {m}m", h=h, m=m)
    return _("{h}h", h=h) if h else _("{m}m", m=m)


def _signed(minutes: int) -> Text:
    if not minutes:
        return _("even")
    return ("+" if minutes > 0 else "-") + hm(minutes)


def _minutes(raw: str) -> int:
    """A session length typed like ``45m`` or ``1h30``, within the allowed bounds."""
    try:
        length = parse_duration(raw, least=SESSION_LEAST, most=SESSION_MOST,
                                what=_("session length"))
    except ParseError as err:
        raise ParseError(err.message, hint=_("Write it like 45m or 1h30: between 5 minutes "
                                             "and 12 hours.")) from None
    return int(length.total_seconds()) // 60


# --- Sessions -------------------------------------------------------------------------


async def _recognised(ctx: Ctx, trio: Trio, other: MemberId, skill: str) -> Row:
    """The recognised mentorship of the actor and ``other`` on ``skill``, either way."""
    rows = sorted(await between(ctx, trio, ctx.actor, other, skill),
                  key=lambda r: (r["state"] != "recognised", r["id"]))
    if rows and rows[0]["state"] == "recognised":
        return rows[0]
    name, p = await queries.name(ctx.tx, other), ctx.prefix
    if rows:
        number, t = rows[0]["number"], tag(trio)
    if rows and waits_for(rows[0]) == "mentor":
        mentor = await queries.name(ctx.tx, rows[0]["mentor"])
        raise Conflict(_("{mentor} has not agreed to mentor on “{skill}” yet (mentorship "
                         "{number}): a session counts once the mentor said yes.",
                         mentor=mentor, skill=skill, number=number),
                       hint=_("{who} accepts with {p}mentor accept {tag} {number}",
                              who=mentor, p=p, tag=t, number=number))
    if rows:
        mentee = await queries.name(ctx.tx, rows[0]["mentee"])
        raise Conflict(_("{mentee} has not accepted the offer on “{skill}” yet (mentorship "
                         "{number}): a session counts once the mentee recognises the mentor.",
                         mentee=mentee, skill=skill, number=number),
                       hint=_("{who} accepts with {p}mentor accept {tag} {number}",
                              who=mentee, p=p, tag=t, number=number))
    raise Conflict(_("You and {name} have no recognised mentorship on “{skill}” in “{trio}”, "
                     "and sessions are logged only inside one.",
                     name=name, skill=skill, trio=trio.name),
                   hint=_("If {name} mentors you: {p}mentor ask {mention} {typed}. "
                          "If you mentor {name}: {p}mentor offer {mention} {typed} "
                          "(then {name} accepts).",
                          name=name, p=p, mention=mention(other), typed=typed(skill)))


async def session_log(ctx: Ctx, inv: Invocation) -> None:
    """``session log @m <skill> <duration> [note]``: waits for the other party's confirmation."""
    trio = await ctx.active_trio(inv)
    other = await ctx.member_arg(inv.args["user"], trio)
    if other == ctx.actor:
        raise Conflict(_("A session is between you and a trio-mate: name them, not yourself."),
                       hint=_("Usage: {usage}", usage=inv.command.usage(ctx.prefix)))
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
        raise Conflict(_("{n} sessions of this mentorship already wait for confirmation.",
                         n=waiting),
                       hint=_("Ask {name} to confirm them first ({p}ledger lists them).",
                              name=name, p=ctx.prefix))
    note = inv.args.get("note")
    number = await ctx.tx.one(
        "INSERT INTO sessions (mentorship_id, minutes, note, logged_by, created_at, number) "
        "VALUES (?, ?, ?, ?, ?, (SELECT coalesce(max(s.number), 0) + 1 FROM sessions s "
        "JOIN mentorships m ON m.id = s.mentorship_id WHERE m.trio_id = ?)) RETURNING number",
        (row["id"], minutes, note, ctx.actor, ts(ctx.now), trio.id))
    assert number is not None
    sid = int(number[0])
    who, whom = await queries.name(ctx.tx, row["mentor"]), await queries.name(ctx.tx, row["mentee"])
    what = _("{length} of “{skill}”, {who} mentoring {whom}",
             length=hm(minutes), skill=skill, who=who, whom=whom)
    ctx.reply(_("Logged session {number}: {what}. It enters the ledger once {name} confirms it.",
                number=sid, what=what, name=name))
    actor = await queries.name(ctx.tx, ctx.actor)
    about = _(" Note: {note}", note=quote(note)) if note else ""
    await tell(ctx, other, (
        _("{actor} logged session {number} in “{trio}”: {what}.",
          actor=actor, number=sid, trio=trio.name, what=what) + about + "\n"
        + _("If it is right, confirm it.")),
        (choice(_("Confirm"), f"session confirm {tag(trio)} {sid}", "success"),))


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
    what = _("session {number} ({length} of “{skill}”)",
             number=twin["number"], length=hm(minutes), skill=mentorship["skill"])
    ago = int((ctx.now.timestamp() - twin["created_at"]) // 60)
    when = _("just now") if ago < 1 else _n("{n} minute ago", "{n} minutes ago", ago)
    if twin["logged_by"] == ctx.actor or twin["confirmed_at"] is not None:
        ctx.reply(_("You logged the same {what} {when}, so I did not log it twice. Was this "
                    "another session?", what=what, when=when)
                  if twin["logged_by"] == ctx.actor else
                  _("{who} logged the same {what} {when}, so I did not log it twice. Was this "
                    "another session?", who=await queries.name(ctx.tx, twin["logged_by"]),
                    what=what, when=when),
                  choices=(choice(_("Log it again"), again, "secondary"),))
        return True
    who = await queries.name(ctx.tx, twin["logged_by"])
    ctx.reply(_("{who} logged the same {what} {when}: confirm it rather than logging it twice.",
                who=who, what=what, when=when),
              choices=(choice(_("Confirm session {number}", number=twin["number"]),
                              f"session confirm {tag(trio)} {twin['number']}", "success"),
                       choice(_("Log another"), again, "secondary")))
    return True


async def session_withdraw(ctx: Ctx, inv: Invocation) -> None:
    """``session withdraw [id]``: whoever logged a session takes it back before it is confirmed."""
    trio = await ctx.trio(inv)
    row = await _withdrawable(ctx, trio, inv.args.get("id"))
    await ctx.tx.run("UPDATE sessions SET withdrawn_at = ? WHERE id = ?", (ts(ctx.now), row["id"]))
    who, whom = await queries.name(ctx.tx, row["mentor"]), await queries.name(ctx.tx, row["mentee"])
    what = _session(row, who, whom)
    ctx.reply(_("You withdrew {what}: it will not count.", what=what))
    other = row["mentee"] if row["mentor"] == ctx.actor else row["mentor"]
    actor = await queries.name(ctx.tx, ctx.actor)
    await tell(ctx, other, _("{actor} withdrew {what} in “{trio}”: nothing to confirm.",
                             actor=actor, what=what, trio=trio.name))


def _session(row: Row, who: str, whom: str) -> Message:
    """``session 3 (1h of “python”, Bob mentoring Alice)``."""
    return _("session {number} ({length} of “{skill}”, {who} mentoring {whom})",
             number=row["number"], length=hm(row["minutes"]), skill=row["skill"],
             who=who, whom=whom)


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
            raise NotFound(_("You have no session waiting for confirmation in “{trio}”.",
                             trio=trio.name),
                           hint=_("{p}ledger lists the sessions.", p=ctx.prefix))
        raise Conflict(_("You logged {n} sessions waiting for confirmation: which one?",
                         n=len(rows)),
                       hint=_("{p}session withdraw <number>", p=ctx.prefix), choices=tuple(
                           choice(_("Withdraw session {number} ({length})",
                                    number=r["number"], length=hm(r["minutes"])),
                                  f"session withdraw {tag(trio)} {r['number']}", "danger")
                           for r in rows[-5:]))
    row = await ctx.tx.one(select + "WHERE s.number = ? AND m.trio_id = ?", (sid, trio.id))
    if row is None or row["trio_id"] != trio.id or row["withdrawn_at"] is not None:
        raise NotFound(_("There is no session {number} to withdraw in “{trio}”.",
                         number=sid, trio=trio.name),
                       hint=_("{p}ledger lists the sessions.", p=ctx.prefix))
    if row["logged_by"] != ctx.actor:
        who = await queries.name(ctx.tx, row["logged_by"])
        raise Forbidden(_("Only {who}, who logged session {number}, can withdraw it.",
                          who=who, number=sid),
                        hint=_("If it is wrong, simply do not confirm it."))
    if row["confirmed_at"] is not None:
        raise Conflict(_("Session {number} is already confirmed: it is in the ledger.",
                         number=sid))
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
        raise Conflict(_("{who} withdrew session {number}: there is nothing to confirm.",
                         who=who, number=sid))
    if row is None or row["trio_id"] != trio.id:
        raise NotFound(_("There is no session {number} in “{trio}”.", number=sid, trio=trio.name),
                       hint=_("{p}ledger lists the sessions waiting for confirmation.", p=p))
    who, whom = await queries.name(ctx.tx, row["mentor"]), await queries.name(ctx.tx, row["mentee"])
    what = _session(row, who, whom)
    if ctx.actor not in (row["mentor"], row["mentee"]):
        raise Forbidden(_("Only {who} and {whom} can confirm {what}.",
                          who=who, whom=whom, what=what))
    if row["confirmed_at"] is not None:
        raise Conflict(_("Session {number} ({length} of “{skill}”, {who} mentoring {whom}) is "
                         "already confirmed.", number=sid, length=hm(row["minutes"]),
                         skill=row["skill"], who=who, whom=whom),
                       hint=_("{p}ledger shows it in the totals.", p=p))
    if row["logged_by"] == ctx.actor:
        other = row["mentee"] if row["mentor"] == ctx.actor else row["mentor"]
        raise Forbidden(_("You logged {what} yourself, so {other} confirms it.",
                          what=what, other=await queries.name(ctx.tx, other)),
                        hint=_("They got a notice with the command to type."))
    await ctx.tx.run("UPDATE sessions SET confirmed_at = ? WHERE id = ? AND confirmed_at IS NULL",
                     (ts(ctx.now), row["id"]))
    ctx.reply(_("Confirmed {what}: it is in the ledger now.", what=what))
    actor = await queries.name(ctx.tx, ctx.actor)
    await tell(ctx, row["logged_by"], _("{actor} confirmed {what} in “{trio}”.",
                                        actor=actor, what=what, trio=trio.name))


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


async def accounts(tx: Tx, trio_id: int) -> dict[str, Account]:
    """Per person, current members first (in joining order), their confirmed time."""
    out = {}
    for r in await tx.all(
        "SELECT tm.member_id, mb.display_name FROM trio_members tm "
        "LEFT JOIN members mb ON mb.id = tm.member_id WHERE tm.trio_id = ? "
        "ORDER BY tm.joined_at, tm.member_id", (trio_id,)):
        out[r[0]] = Account(queries.shown(r[0], r[1]), member=True)
    for r in await tx.all(
        "SELECT s.member_id, s.skill FROM skills s JOIN trio_members tm ON tm.member_id = "
        "s.member_id WHERE tm.trio_id = ? AND s.kind = 'want' ORDER BY s.member_id, s.skill",
        (trio_id,)):
        account = out[r[0]]
        account.wants = f"{account.wants}, {r[1]}" if account.wants else r[1]
    for r in await tx.all(
        "SELECT m.mentor, a.display_name, m.mentee, b.display_name, sum(s.minutes) "
        "FROM mentorships m JOIN sessions s ON s.mentorship_id = m.id "
        "LEFT JOIN members a ON a.id = m.mentor LEFT JOIN members b ON b.id = m.mentee "
        "WHERE m.trio_id = ? AND s.confirmed_at IS NOT NULL "
        "GROUP BY m.mentor, m.mentee, a.display_name, b.display_name", (trio_id,)):
        out.setdefault(r[0], Account(queries.shown(r[0], r[1]))).given += r[4]
        out.setdefault(r[2], Account(queries.shown(r[2], r[3]))).received += r[4]
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


async def _graph(ctx: Ctx, trio: Trio, name: Names) -> list[Text]:
    """Who mentors whom on what: mentorships going, and ended ones with confirmed time."""
    rows = await ctx.tx.all(
        "SELECT * FROM (SELECT m.id, m.number, m.mentor, m.mentee, m.skill, m.state, "
        "(SELECT coalesce(sum(s.minutes), 0) FROM sessions s WHERE s.mentorship_id = m.id "
        "AND s.confirmed_at IS NOT NULL) AS confirmed FROM mentorships m WHERE m.trio_id = ? "
        "AND (m.state != 'offered' OR coalesce(m.waits_for, 'mentee') = 'mentee')) AS g "
        "WHERE state != 'ended' OR confirmed > 0 ORDER BY state = 'ended', id LIMIT ?",
        (trio.id, SHOWN + 1))
    if not rows:
        return []
    out: list[Text] = [_("Who mentors whom:")]
    for r in rows[:SHOWN]:
        state: Text = state_word(r["state"])
        if r["state"] == "offered":
            state = _("offered, waiting for {name} to accept", name=await name(r["mentee"]))
        if r["confirmed"]:
            state += _(", {length} confirmed", length=hm(r["confirmed"]))
        out.append(_("• {mentor} → {mentee} on “{skill}” ({state}; mentorship {number})",
                     mentor=await name(r["mentor"]), mentee=await name(r["mentee"]),
                     skill=r["skill"], state=state, number=r["number"]))
    if len(rows) > SHOWN:
        out.append(_("• … and more"))
    return out


async def _pending(ctx: Ctx, trio: Trio, name: Names) -> list[Text]:
    """Sessions logged but not yet confirmed (they do not count yet)."""
    rows = await ctx.tx.all(
        "SELECT s.id, s.number, s.minutes, s.logged_by, m.mentor, m.mentee, m.skill FROM mentorships m "
        "JOIN sessions s ON s.mentorship_id = m.id "
        "WHERE m.trio_id = ? AND s.confirmed_at IS NULL AND s.withdrawn_at IS NULL "
        "ORDER BY s.id LIMIT ?",
        (trio.id, SHOWN + 1))
    if not rows:
        return []
    out: list[Text] = [_("Waiting for confirmation (not counted yet):")]
    for r in rows[:SHOWN]:
        confirmer = r["mentee"] if r["logged_by"] == r["mentor"] else r["mentor"]
        out.append(_("• session {number}: {length} of “{skill}”, {who} mentoring {whom}; "
                     "{confirmer} confirms with {p}session confirm {tag} {number}",
                     number=r["number"], length=hm(r["minutes"]), skill=r["skill"],
                     who=await name(r["mentor"]), whom=await name(r["mentee"]),
                     confirmer=await name(confirmer), p=ctx.prefix, tag=tag(trio)))
    if len(rows) > SHOWN:
        out.append(_("• … and more"))
    return out


async def _notes(ctx: Ctx, trio: Trio, books: dict[str, Account]) -> list[Text]:
    """A kind word on imbalance: who gave much and received little."""
    p = ctx.prefix
    if not any(a.given for a in books.values()):
        return [_("No confirmed session yet. After meeting, log one with {p}session log "
                  "{tag} @name <skill> 1h; the other person confirms it.", p=p, tag=tag(trio))]
    out: list[Text] = []
    for member, a in books.items():
        if not a.member or a.balance < IMBALANCE or a.received * 2 > a.given:
            continue
        if member == ctx.actor:
            out.append(_(
                "You have given {given} and received none — what would you like to learn from "
                "your trio-mates? ({p}want <skill>, then {p}mentor ask @name <skill>)",
                given=hm(a.given), p=p) if not a.received else _(
                "You have given {given} and received only {received} — what would you like to "
                "learn from your trio-mates? ({p}want <skill>, then {p}mentor ask @name <skill>)",
                given=hm(a.given), received=hm(a.received), p=p))
            continue
        note: Text = _(
            "{name} has given {given} and received none — what could you offer {name}?",
            name=a.name, given=hm(a.given)) if not a.received else _(
            "{name} has given {given} and received only {received} — what could you offer "
            "{name}?", name=a.name, given=hm(a.given), received=hm(a.received))
        if a.wants:
            note += _(" ({name} would like to learn: {wants}.)", name=a.name, wants=a.wants)
        out.append(note)
    return out or [_("The barter is balanced: everyone gives and receives. Lovely.")]


def _row(a: Account) -> Message:
    """``• Bob: given 2h, received none, balance +2h``."""
    given, received, balance = hm(a.given), hm(a.received), _signed(a.balance)
    if a.given and a.received:
        return _("• {name}: given {given}, received {received}, balance {balance}",
                 name=a.name, given=given, received=received, balance=balance)
    if a.given:
        return _("• {name}: given {given}, received none, balance {balance}",
                 name=a.name, given=given, balance=balance)
    if a.received:
        return _("• {name}: given none, received {received}, balance {balance}",
                 name=a.name, received=received, balance=balance)
    return _("• {name}: given none, received none, balance even", name=a.name)


async def ledger(ctx: Ctx, inv: Invocation) -> None:
    """``ledger``: time given and received per person, the barter graph, what awaits."""
    trio = await ctx.trio(inv)
    books = await accounts(ctx.tx, trio.id)
    name = _namer(ctx.tx, books)
    out: list[Text] = [_("Ledger of “{trio}” (confirmed sessions; the mentor gives, the mentee "
                         "receives):", trio=trio.name)]
    out += [_row(a) for a in books.values()]
    out += await _graph(ctx, trio, name)
    out += await _pending(ctx, trio, name)
    out += await _notes(ctx, trio, books)
    ctx.reply(join("\n", out))


COMMANDS: dict[str, CommandHandler] = {
    "session log": session_log,
    "session confirm": session_confirm,
    "session withdraw": session_withdraw,
    "ledger": ledger,
}
JOBS: dict[str, JobHandler] = {}
