"""The mentoring barter: skills on the profile, and mentorships inside a trio.

Theory of operation. A mentorship (mentor, mentee, skill) lives in one trio and counts
only once the *mentee* has recognised the mentor's legitimacy and the mentor agreed.
``waits_for`` says whose answer an ``offered`` one waits for::

    mentee  mentor ask             ->  offered, waits for the mentor
    mentor  mentor offer           ->  offered, waits for the mentee
    the one it waits for: mentor accept (or ask / offer back)  offered  ->  recognised
    either  mentor end, or leaves  offered | recognised  ->  ended

Nobody is made a mentor without saying yes: until then it is not in the ledger.

Two people have at most one active mentorship per skill in a trio, in one direction.
Sessions and the ledger built from them are in :mod:`core.ledger`.
"""

from __future__ import annotations

from core import features_hooks, queries
from core.context import CommandHandler, Ctx, JobHandler
from core.effects import Choice, choice
from core.errors import Conflict, NotFound, ParseError
from core.grammar import Invocation
from core.i18n import Message, _, join
from core.ids import MemberId
from core.model import Trio
from core.storage.db import Row
from core.textrules import MAX_SKILL, slug
from core.timeutil import ts

MAX_SKILLS = 20
"""How many skills one list (offers, wants) may hold."""
MAX_ACTIVE = 30
"""How many offered or recognised mentorships one trio may hold at once."""

_STATES = {"offered": _("offered"), "recognised": _("recognised"), "ended": _("ended")}


def state_word(state: str) -> Message:
    """A mentorship's state (``offered``, ``recognised``, ``ended``) in words."""
    return _STATES[state]


def skill_arg(value: str) -> str:
    """A skill as typed, refused if longer than a profile entry may be."""
    if len(value) > MAX_SKILL:
        raise ParseError(_("The skill is too long ({n} characters; at most {most}).",
                           n=len(value), most=MAX_SKILL),
                         hint=_('Name it in a few words, like "bread baking".'))
    return value


def typed(skill: str) -> str:
    """A skill as it must be typed in a command (quoted when it has several words)."""
    return f'"{skill}"' if " " in skill else skill


def mention(member: str) -> str:
    """How to name a member after ``@`` in a command."""
    return member if member.startswith("@") else "@" + member


def tag(trio: Trio) -> str:
    """The ``#name`` that picks this trio in a command."""
    return "#" + slug(trio.name)


async def tell(ctx: Ctx, member: str, text: str, choices: tuple[Choice, ...] = ()) -> None:
    """A private notice about the actor's doing, unless the member forgot their data.

    The actor is its sender: between two people with a block it never arrives.
    """
    if not member.startswith("former:"):
        await ctx.notify(MemberId(member), text, sender=ctx.actor, choices=choices)


# --- Skills (profile) ---------------------------------------------------------------


async def _add_skill(ctx: Ctx, kind: str, skill: str) -> bool:
    """Add ``skill`` to one of the actor's lists; False if it was already there."""
    skill = skill_arg(skill)
    have = await ctx.tx.all("SELECT skill FROM skills WHERE member_id = ? AND kind = ?",
                            (ctx.actor, kind))
    if skill in {r[0] for r in have}:
        ctx.reply(_("“{skill}” is already in what you can mentor on.", skill=skill)
                  if kind == "offer" else
                  _("“{skill}” is already in what you would like to learn.", skill=skill))
        return False
    if len(have) >= MAX_SKILLS:
        raise Conflict(
            _("You already list {most} skills in what you can mentor on, the most I keep.",
              most=MAX_SKILLS) if kind == "offer" else
            _("You already list {most} skills in what you would like to learn, the most I keep.",
              most=MAX_SKILLS),
            hint=_("Drop one first: {p}skills remove <skill>", p=ctx.prefix))
    await ctx.tx.run("INSERT INTO skills (member_id, kind, skill) VALUES (?, ?, ?)",
                     (ctx.actor, kind, skill))
    return True


async def offer(ctx: Ctx, inv: Invocation) -> None:
    """``offer <skill>``."""
    skill = inv.args["skill"]
    if await _add_skill(ctx, "offer", skill):
        ctx.reply(_("Added “{skill}” to what you can mentor on, in all your trios. To mentor a "
                    "trio-mate: {p}mentor offer @name {typed}",
                    skill=skill, p=ctx.prefix, typed=typed(skill)))


async def want(ctx: Ctx, inv: Invocation) -> None:
    """``want <skill>``."""
    skill = inv.args["skill"]
    if await _add_skill(ctx, "want", skill):
        ctx.reply(_("Added “{skill}” to what you would like to learn, in all your trios. If a "
                    "trio-mate can teach you: {p}mentor ask @name {typed}",
                    skill=skill, p=ctx.prefix, typed=typed(skill)))


async def skills_of(ctx: Ctx, member: str, kind: str) -> list[str]:
    """One of a member's skill lists, sorted."""
    rows = await ctx.tx.all(
        "SELECT skill FROM skills WHERE member_id = ? AND kind = ? ORDER BY skill LIMIT ?",
        (member, kind, MAX_SKILLS))
    return [r[0] for r in rows]


async def skills(ctx: Ctx, inv: Invocation) -> None:
    """``skills`` shows both lists; ``skills remove <skill>`` drops one from both."""
    p = ctx.prefix
    if inv.args.get("action") == "remove":
        await _remove_skill(ctx, inv.args.get("skill"))
        return
    offers, wants = await skills_of(ctx, ctx.actor, "offer"), await skills_of(ctx, ctx.actor, "want")
    if not offers and not wants:
        ctx.reply(_("You have listed no skills yet. Add one with {p}offer cooking (you can "
                    "mentor it) or {p}want guitar (you would like to learn it).", p=p))
        return
    ctx.reply(join("\n", [
        _("Your skills (shared by all your trios):"),
        _("You can mentor: {skills}", skills=", ".join(offers) or _("nothing listed yet")),
        _("You would like to learn: {skills}", skills=", ".join(wants) or _("nothing listed yet")),
        _("Add with {p}offer <skill> or {p}want <skill>; drop one with {p}skills remove <skill>.",
          p=p),
    ]))


async def _remove_skill(ctx: Ctx, skill: str | None) -> None:
    if skill is None:
        raise ParseError(_("Which skill should I remove?"),
                         hint=_("Usage: {p}skills remove <skill>", p=ctx.prefix))
    gone = await ctx.tx.changes("DELETE FROM skills WHERE member_id = ? AND skill = ?",
                                (ctx.actor, skill))
    if not gone:
        raise NotFound(_("“{skill}” is not on your lists.", skill=skill),
                       hint=_("{p}skills shows what you listed.", p=ctx.prefix))
    ctx.reply(_("Removed “{skill}” from your skills.", skill=skill))


# --- Mentorships ----------------------------------------------------------------------


async def _mate(ctx: Ctx, trio: Trio, inv: Invocation) -> MemberId:
    """The trio-mate the command names; never the actor."""
    other = await ctx.member_arg(inv.args["user"], trio)
    if other == ctx.actor:
        mates = [m for m in await queries.members(ctx.tx, trio.id) if m != ctx.actor]
        raise Conflict(_("Mentoring is between two different people: not yourself."),
                       hint=_("Name one of your trio-mates: {mates}.",
                              mates=", ".join(map(mention, mates))))
    return other


async def between(ctx: Ctx, trio: Trio, a: str, b: str, skill: str) -> list[Row]:
    """The active mentorships of ``a`` and ``b`` on ``skill``, in either direction."""
    return await ctx.tx.all(
        "SELECT * FROM mentorships WHERE trio_id = ? AND state IN ('offered', 'recognised') "
        "AND skill = ? AND ((mentor = ? AND mentee = ?) OR (mentor = ? AND mentee = ?))",
        (trio.id, skill, a, b, b, a))


async def _refuse_duplicate(ctx: Ctx, trio: Trio, rows: list[Row], mentor: str, skill: str) -> None:
    """Explain why an active mentorship in ``rows`` stands in the way."""
    row = rows[0]
    names = await queries.names(ctx.tx, [MemberId(row["mentor"]), MemberId(row["mentee"])])
    who, whom = names[MemberId(row["mentor"])], names[MemberId(row["mentee"])]
    p, number = ctx.prefix, row["number"]
    if row["mentor"] != mentor:
        raise Conflict(
            _("{who} already mentors {whom} on “{skill}” (mentorship {number}); two people do "
              "not mentor each other on the same skill.",
              who=who, whom=whom, skill=skill, number=number)
            if row["state"] == "recognised" else
            _("{who} already offered to mentor {whom} on “{skill}” (mentorship {number}); two "
              "people do not mentor each other on the same skill.",
              who=who, whom=whom, skill=skill, number=number),
            hint=_("Pick another skill, or end that one first with {p}mentor end {number}.",
                   p=p, number=number))
    if row["state"] == "offered" and waits_for(row) == "mentor":
        raise Conflict(_("{whom} already asked {who} to mentor them on “{skill}” (mentorship "
                         "{number}); it waits for {who} to accept.",
                         who=who, whom=whom, skill=skill, number=number),
                       hint=_("{who} accepts with {p}mentor accept {number}.",
                              who=who, p=p, number=number))
    if row["state"] == "offered":
        raise Conflict(_("{who} already offered to mentor {whom} on “{skill}” (mentorship "
                         "{number}); it waits for {whom} to accept.",
                         who=who, whom=whom, skill=skill, number=number),
                       hint=_("{who} accepts with {p}mentor accept {number}.",
                              who=whom, p=p, number=number))
    other = row["mentee"] if row["mentor"] == ctx.actor else row["mentor"]
    raise Conflict(_("{who} already mentors {whom} on “{skill}” (mentorship {number}).",
                     who=who, whom=whom, skill=skill, number=number),
                   hint=_("After a session, log it: {p}session log {tag} {mention} {typed} 1h",
                          p=p, tag=tag(trio), mention=mention(other), typed=typed(skill)))


async def _check_cap(ctx: Ctx, trio: Trio) -> None:
    count = await ctx.tx.value(
        "SELECT count(*) FROM mentorships WHERE trio_id = ? AND state IN ('offered', 'recognised')",
        (trio.id,))
    if int(count) >= MAX_ACTIVE:
        raise Conflict(_("“{trio}” already has {most} mentorships going, the most I keep.",
                         trio=trio.name, most=MAX_ACTIVE),
                       hint=_("End one that is over with {p}mentor end <id>.", p=ctx.prefix))


async def _create(ctx: Ctx, trio: Trio, mentor: str, mentee: str, skill: str,
                  waits_for: str) -> int:
    """A new ``offered`` mentorship, waiting for the answer of ``waits_for``; its number."""
    await _check_cap(ctx, trio)
    row = await ctx.tx.one(
        "INSERT INTO mentorships (trio_id, mentor, mentee, skill, state, created_at, waits_for, "
        "number) VALUES (?, ?, ?, ?, 'offered', ?, ?, (SELECT coalesce(max(number), 0) + 1 "
        "FROM mentorships WHERE trio_id = ?)) RETURNING number",
        (trio.id, mentor, mentee, skill, ts(ctx.now), waits_for, trio.id))
    assert row is not None
    return int(row[0])


def waits_for(row: Row) -> str:
    """Whose answer an ``offered`` mentorship waits for: ``mentee`` or ``mentor``."""
    return str(row["waits_for"] or "mentee")


async def mentor_ask(ctx: Ctx, inv: Invocation) -> None:
    """``mentor ask @m <skill>``: the mentee's recognition; it counts once the mentor agrees."""
    trio = await ctx.active_trio(inv)
    mentor = await _mate(ctx, trio, inv)
    skill = skill_arg(inv.args["skill"])
    rows = await between(ctx, trio, mentor, ctx.actor, skill)
    if rows and rows[0]["mentor"] == mentor and rows[0]["state"] == "offered" \
            and waits_for(rows[0]) == "mentee":
        await _recognise(ctx, trio, rows[0])
        return
    if rows:
        await _refuse_duplicate(ctx, trio, rows, mentor, skill)
    mid = await _create(ctx, trio, mentor, ctx.actor, skill, "mentor")
    t = tag(trio)
    name, who = await queries.name(ctx.tx, mentor), await queries.name(ctx.tx, ctx.actor)
    ctx.reply(_("You recognise {name} as a mentor on “{skill}” (mentorship {number}). I asked "
                "{name} whether they agree; it counts from their yes.",
                name=name, skill=skill, number=mid))
    listed = skill in await skills_of(ctx, mentor, "offer")
    await tell(ctx, mentor, (
        _("{who} asks you to mentor them on “{skill}” in “{trio}”: they recognise you on it "
          "(mentorship {number}). Accept if you would like to; no pressure either way.",
          who=who, skill=skill, trio=trio.name, number=mid)
        + ("" if listed else _(" (To show it on your profile: {p}offer {typed})",
                               p=ctx.prefix, typed=typed(skill)))),
        (choice(_("Accept"), f"mentor accept {t} {mid}", "success"),
         choice(_("No, thanks"), f"mentor end {t} {mid}", "secondary")))


async def mentor_offer(ctx: Ctx, inv: Invocation) -> None:
    """``mentor offer @m <skill>``: it waits for the mentee's recognition."""
    trio = await ctx.active_trio(inv)
    mentee = await _mate(ctx, trio, inv)
    skill = skill_arg(inv.args["skill"])
    rows = await between(ctx, trio, ctx.actor, mentee, skill)
    if rows and rows[0]["mentor"] == ctx.actor and rows[0]["state"] == "offered" \
            and waits_for(rows[0]) == "mentor":
        await _agree(ctx, trio, rows[0])
        return
    if rows:
        await _refuse_duplicate(ctx, trio, rows, ctx.actor, skill)
    mid = await _create(ctx, trio, ctx.actor, mentee, skill, "mentee")
    t = tag(trio)
    name, who = await queries.name(ctx.tx, mentee), await queries.name(ctx.tx, ctx.actor)
    ctx.reply(_("You offered to mentor {name} on “{skill}” (mentorship {number}). It counts "
                "once {name} accepts: a mentorship rests on the mentee's recognition.",
                name=name, skill=skill, number=mid))
    await tell(ctx, mentee, _(
        "{who} offers to mentor you on “{skill}” in “{trio}” (mentorship {number}). Accept "
        "if you recognise them on it; no pressure either way.",
        who=who, skill=skill, trio=trio.name, number=mid),
        (choice(_("Accept"), f"mentor accept {t} {mid}", "success"),
         choice(_("No, thanks"), f"mentor end {t} {mid}", "secondary")))


async def _recognise(ctx: Ctx, trio: Trio, row: Row) -> None:
    """The mentee accepts an offer: the mentorship counts from now."""
    await ctx.tx.run("UPDATE mentorships SET state = 'recognised' WHERE id = ?", (row["id"],))
    mentor = MemberId(row["mentor"])
    name, who = await queries.name(ctx.tx, mentor), await queries.name(ctx.tx, ctx.actor)
    p, t, skill = ctx.prefix, tag(trio), row["skill"]
    ctx.reply(_("You recognise {name} as your mentor on “{skill}” (mentorship {number}). "
                "After a session, either of you logs it: {p}session log {tag} {mention} "
                "{typed} 1h", name=name, skill=skill, number=row["number"], p=p, tag=t,
                mention=mention(mentor), typed=typed(skill)))
    await tell(ctx, mentor, _("{who} accepted your offer to mentor them on “{skill}” in "
                              "“{trio}” (mentorship {number}).",
                              who=who, skill=skill, trio=trio.name, number=row["number"]))


async def _agree(ctx: Ctx, trio: Trio, row: Row) -> None:
    """The mentor agrees to a mentee's request: the mentorship counts from now."""
    await ctx.tx.run("UPDATE mentorships SET state = 'recognised' WHERE id = ?", (row["id"],))
    mentee = MemberId(row["mentee"])
    name, who = await queries.name(ctx.tx, mentee), await queries.name(ctx.tx, ctx.actor)
    p, t, skill = ctx.prefix, tag(trio), row["skill"]
    ctx.reply(_("You mentor {name} on “{skill}” (mentorship {number}). After a session, "
                "either of you logs it: {p}session log {tag} {mention} {typed} 1h",
                name=name, skill=skill, number=row["number"], p=p, tag=t,
                mention=mention(mentee), typed=typed(skill)))
    await tell(ctx, mentee, _("{who} agreed to mentor you on “{skill}” in “{trio}” "
                              "(mentorship {number}). After a session, either of you logs it: "
                              "{p}session log {tag} {mention} {typed} 1h",
                              who=who, skill=skill, trio=trio.name, number=row["number"], p=p,
                              tag=t, mention=mention(ctx.actor), typed=typed(skill)))


async def mentor_accept(ctx: Ctx, inv: Invocation) -> None:
    """``mentor accept [id]``: the mentee accepts an offer, or the mentor a request."""
    trio = await ctx.active_trio(inv)
    rows = await ctx.tx.all(
        "SELECT * FROM mentorships WHERE trio_id = ? AND state = 'offered' AND ("
        "(mentee = ? AND coalesce(waits_for, 'mentee') = 'mentee') OR "
        "(mentor = ? AND waits_for = 'mentor')) ORDER BY id", (trio.id, ctx.actor, ctx.actor))
    wanted = inv.args.get("id")
    if wanted is not None:
        rows = [r for r in rows if r["number"] == wanted]
    if not rows:
        raise NotFound(
            _("You have no mentoring offer waiting in “{trio}”.", trio=trio.name)
            if wanted is None else
            _("You have no mentoring offer numbered {number} waiting in “{trio}”.",
              number=wanted, trio=trio.name),
            hint=_("To ask a trio-mate to mentor you: {p}mentor ask @name <skill>", p=ctx.prefix))
    if len(rows) > 1:
        raise Conflict(_("You have {n} mentoring offers: {listing}.",
                         n=len(rows), listing=await _listing(ctx, rows)),
                       hint=_("Add the number: {p}mentor accept {tag} {number}",
                              p=ctx.prefix, tag=tag(trio), number=rows[0]["number"]))
    if waits_for(rows[0]) == "mentor":
        await _agree(ctx, trio, rows[0])
        return
    await _recognise(ctx, trio, rows[0])


async def _listing(ctx: Ctx, rows: list[Row]) -> str:
    """``3 (Alice mentors Bob on “python”, recognised); …``."""
    out = []
    for r in rows:
        who, whom = await queries.name(ctx.tx, r["mentor"]), await queries.name(ctx.tx, r["mentee"])
        out.append(_("{number} ({who} mentors {whom} on “{skill}”, {state})", number=r["number"],
                     who=who, whom=whom, skill=r["skill"], state=state_word(r["state"])))
    return join("; ", out)


async def _to_end(ctx: Ctx, trio: Trio, wanted: int | None) -> Row:
    """The mentorship ``mentor end [id]`` refers to."""
    p = ctx.prefix
    if wanted is not None:
        row = await ctx.tx.one("SELECT * FROM mentorships WHERE number = ? AND trio_id = ?",
                               (wanted, trio.id))
        if row is None or ctx.actor not in (row["mentor"], row["mentee"]):
            raise NotFound(_("You have no mentorship numbered {number} in “{trio}”.",
                             number=wanted, trio=trio.name),
                           hint=_("{p}ledger lists them with their numbers.", p=p))
        if row["state"] == "ended":
            raise Conflict(_("Mentorship {number} has already ended.", number=wanted))
        return row
    rows = await ctx.tx.all(
        "SELECT * FROM mentorships WHERE trio_id = ? AND state IN ('offered', 'recognised') "
        "AND ? IN (mentor, mentee) ORDER BY id", (trio.id, ctx.actor))
    if not rows:
        raise NotFound(_("You have no mentorship going in “{trio}”.", trio=trio.name),
                       hint=_("{p}ledger shows the trio's mentorships.", p=p))
    if len(rows) > 1:
        raise Conflict(_("You are in {n} mentorships: {listing}.",
                         n=len(rows), listing=await _listing(ctx, rows)),
                       hint=_("Add the number: {p}mentor end {tag} {number}",
                              p=p, tag=tag(trio), number=rows[0]["number"]))
    return rows[0]


async def mentor_end(ctx: Ctx, inv: Invocation) -> None:
    """``mentor end [id]``: either party ends it; confirmed sessions stay in the ledger."""
    trio = await ctx.trio(inv)
    row = await _to_end(ctx, trio, inv.args.get("id"))
    await ctx.tx.run("UPDATE mentorships SET state = 'ended' WHERE id = ?", (row["id"],))
    other = row["mentee"] if row["mentor"] == ctx.actor else row["mentor"]
    who, whom = await queries.name(ctx.tx, row["mentor"]), await queries.name(ctx.tx, row["mentee"])
    what = _("mentorship {number} ({who} mentoring {whom} on “{skill}”)",
             number=row["number"], who=who, whom=whom, skill=row["skill"])
    ctx.reply(_("Ended {what}. Its confirmed sessions stay in the ledger.", what=what))
    actor = await queries.name(ctx.tx, ctx.actor)
    await tell(ctx, other, _("{actor} ended {what} in “{trio}”. Its confirmed sessions "
                             "stay in the ledger. Thank you for it.",
                             actor=actor, what=what, trio=trio.name))


@features_hooks.on_member_left
async def member_left(ctx: Ctx, trio: Trio, member: MemberId) -> None:
    """A member left: their mentorships there end; sessions waiting on them are dropped."""
    await ctx.tx.run(
        "DELETE FROM sessions WHERE confirmed_at IS NULL AND logged_by != ? AND mentorship_id IN "
        "(SELECT id FROM mentorships WHERE trio_id = ? AND ? IN (mentor, mentee))",
        (member, trio.id, member))
    await ctx.tx.run(
        "UPDATE mentorships SET state = 'ended' WHERE trio_id = ? "
        "AND state IN ('offered', 'recognised') AND ? IN (mentor, mentee)", (trio.id, member))


COMMANDS: dict[str, CommandHandler] = {
    "offer": offer,
    "want": want,
    "skills": skills,
    "mentor ask": mentor_ask,
    "mentor offer": mentor_offer,
    "mentor accept": mentor_accept,
    "mentor end": mentor_end,
}
JOBS: dict[str, JobHandler] = {}
