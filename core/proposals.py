"""Proposals: ``propose <text>`` and the private ``vote <id> yes|no``.

Theory of operation. A member of an active trio proposes a public action: one ``open``
row in ``proposals`` that expires after the trio's ``proposal_ttl_s``. Each of the two
others is asked privately to vote; a vote is one row in ``votes`` and cannot be changed.

    open --(both approve)--------------> validated
    open --(one declines)--------------> declined
    open --(expiry job, or a member leaves)--> expired
    open --(its author withdraws it)--------> expired, with ``withdrawn_at`` set

Only the author may withdraw (``propose withdraw [id]``); the voters, who were asked
privately, are told privately that no vote is needed, and nothing is announced.

Only the outcome is ever announced (in the trio room, where the author reads it); no message says
who voted what, nor how many votes were cast. A vote from anyone who is not one of the
two others gets the same "no such proposal" answer as a wrong number, so the proposal's
existence is not revealed. Leaving a trio cancels its open proposals: the two votes they
need can no longer come from the same three people.

Blocks inside a trio. The voters of a proposal are the author's trio-mates with no block
between them and the author (:func:`voters`, read afresh at every vote): a proposal needs
only the approval of the ally who can still be asked, and the author is told who that is.
Nobody can be asked when both are blocked; then the proposal is refused at once.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core import features_hooks, queries
from core.context import CommandHandler, Ctx, JobHandler
from core.effects import choice
from core.errors import Conflict, Forbidden, NotFound
from core.grammar import Invocation
from core.i18n import Message, _
from core.ids import MemberId, TrioId
from core.model import Trio
from core.storage.db import Row
from core.textrules import quote
from core.timeutil import dt, ts

EXPIRE_JOB = "proposal_expire"
MAX_OPEN = 10  # open proposals per author and trio


def _job_key(proposal_id: int) -> str:
    return f"proposal:{proposal_id}"


async def voters(ctx: Ctx, trio_id: int, author: MemberId) -> list[MemberId]:
    """The author's trio-mates who vote: everyone but the author and those with a block."""
    return [m for m in await queries.members(ctx.tx, trio_id)
            if m != author and not await queries.blocked_between(ctx.tx, m, author)]


async def propose(ctx: Ctx, inv: Invocation) -> None:
    """``propose <text>``: ask the two others for their private approval."""
    trio = await ctx.active_trio(inv)
    open_now = await ctx.tx.value(
        "SELECT count(*) FROM proposals WHERE trio_id = ? AND author = ? AND state = 'open'",
        (trio.id, ctx.actor),
    )
    if int(open_now) >= MAX_OPEN:
        raise Conflict(_("You already have {n} proposals waiting for a decision here.",
                         n=open_now),
                       hint=_("Let those be decided (or expire) before proposing more."))
    text: str = inv.args["text"]
    others = await voters(ctx, trio.id, ctx.actor)
    if not others:
        raise Conflict(_("Nobody in “{trio}” can validate a proposal of yours: with a block "
                         "between you and both allies, I cannot ask either.", trio=trio.name))
    expires = ctx.now + timedelta(seconds=trio.proposal_ttl_s)
    row = await ctx.tx.one(
        "INSERT INTO proposals (trio_id, author, text, created_at, expires_at, state, number) "
        "VALUES (?, ?, ?, ?, ?, 'open', (SELECT coalesce(max(number), 0) + 1 FROM proposals "
        "WHERE trio_id = ?)) RETURNING id, number",
        (trio.id, ctx.actor, text, ts(ctx.now), ts(expires), trio.id),
    )
    assert row is not None
    pid = row["number"]
    await ctx.schedule(EXPIRE_JOB, _job_key(row["id"]), expires, {"proposal": row["id"]})
    names = await queries.names(ctx.tx, [ctx.actor, *others])
    for voter in others:
        which = await trio_tag(ctx, voter, trio)
        await ctx.notify(voter, sender=ctx.actor, text=(
            _("{who} proposes, in “{trio}”: {text}", who=names[ctx.actor], trio=trio.name,
              text=quote(text)) + "\n"
            + _("As an ally, do you approve? Your vote stays private: only the outcome is "
                "announced. Answer before {deadline}.", deadline=expires)
        ), choices=(choice(_("Approve"), f"vote {which}{pid} yes", "success"),
                    choice(_("Decline"), f"vote {which}{pid} no", "danger")))
    within = expires - ctx.now
    ctx.reply(
        _("Proposal #{number} is open. {a} is asked to validate it privately within {within}; "
          "only the outcome will be announced.", number=pid, a=names[others[0]], within=within)
        if len(others) == 1 else
        _("Proposal #{number} is open. {a} and {b} are asked to validate it privately within "
          "{within}; only the outcome will be announced.",
          number=pid, a=names[others[0]], b=names[others[1]], within=within))


async def trio_tag(ctx: Ctx, member: MemberId, trio: Trio) -> str:
    """``#<trio id> `` where ``member`` is in several trios (a number alone is ambiguous)."""
    return "" if len(await queries.trios_of(ctx.tx, member)) < 2 else f"#{trio.id} "


async def _votable(ctx: Ctx, trio: Trio, pid: int) -> Row:
    """The trio's proposal number ``pid`` if the actor is one of its voters; else NotFound."""
    row = await ctx.tx.one("SELECT * FROM proposals WHERE trio_id = ? AND number = ?",
                           (trio.id, pid))
    if row is None or not await queries.is_member(ctx.tx, row["trio_id"], ctx.actor) or (
            row["author"] != ctx.actor
            and ctx.actor not in await voters(ctx, row["trio_id"], MemberId(row["author"]))):
        raise NotFound(_("There is no proposal #{number} for you to vote on.", number=pid),
                       hint=_("Check the number in the message that asked for your vote."))
    if row["author"] == ctx.actor:
        raise Forbidden(_("Proposal #{number} is yours: your two allies vote on it.", number=pid))
    if row["state"] != "open":
        raise Conflict(_("Proposal #{number} is already decided: {outcome}.",
                         number=pid, outcome=_outcome(row)))
    return row


async def vote(ctx: Ctx, inv: Invocation) -> None:
    """``vote <id> yes|no``: one private vote; the outcome as soon as it is known."""
    pid: int = inv.args["id"]
    row = await _votable(ctx, await ctx.trio(inv), pid)
    approve = inv.args["vote"] == "yes"
    added = await ctx.tx.changes(
        "INSERT INTO votes (proposal_id, voter, approve) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (row["id"], ctx.actor, int(approve)),
    )
    if not added:
        raise Conflict(_("You already voted on proposal #{number}; a vote cannot be changed.",
                         number=pid),
                       hint=_("The outcome will be announced in the trio room."))
    tip = ("" if ctx.room is None else
           _(" (Tip: vote in your direct chat with me, where nobody else sees it.)"))
    if not approve:
        await _decide(ctx, row, "declined")
    elif set(await voters(ctx, row["trio_id"], row["author"])) <= await _approvals(ctx, row["id"]):
        await _decide(ctx, row, "validated")
    else:
        ctx.reply(_("Your vote on proposal #{number} is counted, privately. The outcome will "
                    "be announced in the trio room.", number=pid) + tip, private=True)
        return
    ctx.reply(_("Your vote on proposal #{number} is counted, privately; the outcome is now "
                "announced in the trio room.", number=pid) + tip, private=True)


async def _approvals(ctx: Ctx, pid: int) -> set[str]:
    """Who approved proposal ``pid``."""
    rows = await ctx.tx.all("SELECT voter FROM votes WHERE proposal_id = ? AND approve = 1", (pid,))
    return {r[0] for r in rows}


_OUTCOME = {
    "validated": _("it is validated, you can go ahead"),
    "declined": _("it is not validated"),
    "expired": _("it expired without being validated"),
}


def _outcome(row: Row) -> Message:
    """How a closed proposal ended, in words."""
    return _("its author withdrew it") if row["withdrawn_at"] is not None else _OUTCOME[row["state"]]


async def propose_withdraw(ctx: Ctx, inv: Invocation) -> None:
    """``propose withdraw [id]``: the author takes back an open proposal; voters are told."""
    trio = await ctx.trio(inv)
    row = await _withdrawable(ctx, trio, inv.args.get("id"))
    pid = row["number"]  # what people read; the row id stays internal
    await ctx.tx.run("UPDATE proposals SET state = 'expired', withdrawn_at = ? WHERE id = ?",
                     (ts(ctx.now), row["id"]))
    await ctx.cancel(_job_key(row["id"]))
    who = await queries.name(ctx.tx, ctx.actor)
    for voter in await voters(ctx, trio.id, ctx.actor):
        await ctx.notify(voter, _("{who} withdrew proposal #{number} in “{trio}”, {text}: no "
                                  "vote is needed.", who=who, number=pid, trio=trio.name,
                                  text=quote(row["text"])), sender=ctx.actor)
    ctx.reply(_("You withdrew proposal #{number}, {text}. Your allies are told that no vote is "
                "needed.", number=pid, text=quote(row["text"])))


async def _withdrawable(ctx: Ctx, trio: Trio, pid: int | None) -> Row:
    """The actor's open proposal ``pid`` in the trio (or their only open one)."""
    if pid is None:
        rows = await ctx.tx.all("SELECT * FROM proposals WHERE trio_id = ? AND author = ? AND "
                                "state = 'open' ORDER BY id", (trio.id, ctx.actor))
        if len(rows) == 1:
            return rows[0]
        if not rows:
            raise NotFound(_("You have no open proposal in “{trio}”.", trio=trio.name))
        raise Conflict(_("You have {n} open proposals in “{trio}”: which one?",
                         n=len(rows), trio=trio.name),
                       hint=_("{p}propose withdraw <number>", p=ctx.prefix), choices=tuple(
                           choice(_("Withdraw #{number}", number=r["number"]),
                                  f"propose withdraw #{trio.id} {r['number']}", "danger")
                           for r in rows[:5]))
    row = await ctx.tx.one("SELECT * FROM proposals WHERE number = ? AND trio_id = ?",
                           (pid, trio.id))
    if row is None:
        raise NotFound(_("There is no proposal #{number} in “{trio}”.", number=pid,
                         trio=trio.name))
    if row["author"] != ctx.actor:
        who = await queries.name(ctx.tx, row["author"])
        raise Forbidden(_("Only {who}, who made proposal #{number}, can withdraw it.",
                          who=who, number=pid),
                        hint=_("If you disagree with it, vote: {p}vote {number} no",
                               p=ctx.prefix, number=pid))
    if row["state"] != "open":
        raise Conflict(_("Proposal #{number} is already decided: {outcome}.",
                         number=pid, outcome=_outcome(row)))
    return row


async def _decide(ctx: Ctx, row: Row, state: str, why: Message | None = None, *,
                  quoted: bool = True) -> None:
    """Close the proposal and announce only its outcome, to the trio room and the author.

    ``quoted`` off: the proposal's words are not repeated (its author is leaving them).
    """
    await ctx.tx.run("UPDATE proposals SET state = ? WHERE id = ?", (state, row["id"]))
    await ctx.cancel(_job_key(row["id"]))
    author = MemberId(row["author"])
    who = await queries.name(ctx.tx, author)
    outcome = why or _OUTCOME[state]
    text = (_("Proposal #{number} by {who}, {text}: {outcome}.", number=row["number"], who=who,
              text=quote(row["text"]), outcome=outcome) if quoted else
            _("Proposal #{number} by {who}: {outcome}.", number=row["number"], who=who,
              outcome=outcome))
    room = await queries.trio_room(ctx.tx, TrioId(row["trio_id"]))
    if room is not None:  # the author reads it there: one notice, not two
        ctx.post(room.id, text, sender=author)
    elif await queries.is_member(ctx.tx, row["trio_id"], author):
        await ctx.notify(author, text)


async def expire(ctx: Ctx, payload: dict[str, Any]) -> None:
    """The vote window closed without a decision."""
    row = await ctx.tx.one("SELECT * FROM proposals WHERE id = ? AND state = 'open'",
                           (payload["proposal"],))
    if row is not None:
        await _decide(ctx, row, "expired",
                      _("it expired without being validated (open since {since})",
                        since=dt(row["created_at"])))


@features_hooks.on_member_left
async def _member_left(ctx: Ctx, trio: Trio, leaver: MemberId) -> None:
    """Someone left: the trio's open proposals are cancelled, plainly; the leaver's own
    words are not repeated (they take them with them, and a forget leaves no copy)."""
    rows = await ctx.tx.all("SELECT * FROM proposals WHERE trio_id = ? AND state = 'open'",
                            (trio.id,))
    left = await queries.name(ctx.tx, leaver)
    for row in rows:
        await _decide(ctx, row, "expired",
                      _("cancelled, because {left} left the trio before it was decided",
                        left=left),
                      quoted=row["author"] != leaver)


COMMANDS: dict[str, CommandHandler] = {"propose": propose, "propose withdraw": propose_withdraw,
                                        "vote": vote}
JOBS: dict[str, JobHandler] = {EXPIRE_JOB: expire}
