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
from core.ids import MemberId
from core.model import Trio
from core.storage.db import Row
from core.textrules import MAX_SKILL, slug
from core.timeutil import ts

MAX_SKILLS = 20
"""How many skills one list (offers, wants) may hold."""
MAX_ACTIVE = 30
"""How many offered or recognised mentorships one trio may hold at once."""

_LISTS = {"offer": "what you can mentor on", "want": "what you would like to learn"}


def skill_arg(value: str) -> str:
    """A skill as typed, refused if longer than a profile entry may be."""
    if len(value) > MAX_SKILL:
        raise ParseError(f"The skill is too long ({len(value)} characters; at most {MAX_SKILL}).",
                         hint='Name it in a few words, like "bread baking".')
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
        ctx.reply(f"“{skill}” is already in {_LISTS[kind]}.")
        return False
    if len(have) >= MAX_SKILLS:
        raise Conflict(f"You already list {MAX_SKILLS} skills in {_LISTS[kind]}, the most I keep.",
                       hint=f"Drop one first: {ctx.prefix}skills remove <skill>")
    await ctx.tx.run("INSERT INTO skills (member_id, kind, skill) VALUES (?, ?, ?)",
                     (ctx.actor, kind, skill))
    return True


async def offer(ctx: Ctx, inv: Invocation) -> None:
    """``offer <skill>``."""
    skill = inv.args["skill"]
    if await _add_skill(ctx, "offer", skill):
        ctx.reply(f"Added “{skill}” to {_LISTS['offer']}, in all your trios. To mentor a "
                  f"trio-mate: {ctx.prefix}mentor offer @name {typed(skill)}")


async def want(ctx: Ctx, inv: Invocation) -> None:
    """``want <skill>``."""
    skill = inv.args["skill"]
    if await _add_skill(ctx, "want", skill):
        ctx.reply(f"Added “{skill}” to {_LISTS['want']}, in all your trios. If a trio-mate "
                  f"can teach you: {ctx.prefix}mentor ask @name {typed(skill)}")


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
        ctx.reply(f"You have listed no skills yet. Add one with {p}offer cooking (you can "
                  f"mentor it) or {p}want guitar (you would like to learn it).")
        return
    ctx.reply("\n".join([
        "Your skills (shared by all your trios):",
        "You can mentor: " + (", ".join(offers) or "nothing listed yet"),
        "You would like to learn: " + (", ".join(wants) or "nothing listed yet"),
        f"Add with {p}offer <skill> or {p}want <skill>; drop one with {p}skills remove <skill>.",
    ]))


async def _remove_skill(ctx: Ctx, skill: str | None) -> None:
    if skill is None:
        raise ParseError("Which skill should I remove?",
                         hint=f"Usage: {ctx.prefix}skills remove <skill>")
    gone = await ctx.tx.changes("DELETE FROM skills WHERE member_id = ? AND skill = ?",
                                (ctx.actor, skill))
    if not gone:
        raise NotFound(f"“{skill}” is not on your lists.",
                       hint=f"{ctx.prefix}skills shows what you listed.")
    ctx.reply(f"Removed “{skill}” from your skills.")


# --- Mentorships ----------------------------------------------------------------------


async def _mate(ctx: Ctx, trio: Trio, inv: Invocation) -> MemberId:
    """The trio-mate the command names; never the actor."""
    other = await ctx.member_arg(inv.args["user"], trio)
    if other == ctx.actor:
        mates = [m for m in await queries.members(ctx.tx, trio.id) if m != ctx.actor]
        raise Conflict("Mentoring is between two different people: not yourself.",
                       hint="Name one of your trio-mates: " + ", ".join(map(mention, mates)) + ".")
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
    if row["mentor"] != mentor:
        verb = "mentors" if row["state"] == "recognised" else "offered to mentor"
        raise Conflict(f"{who} already {verb} {whom} on “{skill}” (mentorship {row['number']}); "
                       f"two people do not mentor each other on the same skill.",
                       hint="Pick another skill, or end that one first with "
                            f"{ctx.prefix}mentor end {row['number']}.")
    if row["state"] == "offered" and waits_for(row) == "mentor":
        raise Conflict(f"{whom} already asked {who} to mentor them on “{skill}” "
                       f"(mentorship {row['number']}); it waits for {who} to accept.",
                       hint=f"{who} accepts with {ctx.prefix}mentor accept {row['number']}.")
    if row["state"] == "offered":
        raise Conflict(f"{who} already offered to mentor {whom} on “{skill}” "
                       f"(mentorship {row['number']}); it waits for {whom} to accept.",
                       hint=f"{whom} accepts with {ctx.prefix}mentor accept {row['number']}.")
    other = row["mentee"] if row["mentor"] == ctx.actor else row["mentor"]
    raise Conflict(f"{who} already mentors {whom} on “{skill}” (mentorship {row['number']}).",
                   hint=f"After a session, log it: {ctx.prefix}session log {tag(trio)} "
                        f"{mention(other)} {typed(skill)} 1h")


async def _check_cap(ctx: Ctx, trio: Trio) -> None:
    count = await ctx.tx.value(
        "SELECT count(*) FROM mentorships WHERE trio_id = ? AND state IN ('offered', 'recognised')",
        (trio.id,))
    if int(count) >= MAX_ACTIVE:
        raise Conflict(f"“{trio.name}” already has {MAX_ACTIVE} mentorships going, the most I keep.",
                       hint=f"End one that is over with {ctx.prefix}mentor end <id>.")


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
    ctx.reply(f"You recognise {name} as a mentor on “{skill}” (mentorship {mid}). I asked "
              f"{name} whether they agree; it counts from their yes.")
    listed = skill in await skills_of(ctx, mentor, "offer")
    await tell(ctx, mentor, (
        f"{who} asks you to mentor them on “{skill}” in “{trio.name}”: they recognise you on it "
        f"(mentorship {mid}). Accept if you would like to; no pressure either way."
        + ("" if listed else f" (To show it on your profile: {ctx.prefix}offer {typed(skill)})")),
        (choice("Accept", f"mentor accept {t} {mid}", "success"),
         choice("No, thanks", f"mentor end {t} {mid}", "secondary")))


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
    ctx.reply(f"You offered to mentor {name} on “{skill}” (mentorship {mid}). It counts once "
              f"{name} accepts: a mentorship rests on the mentee's recognition.")
    await tell(ctx, mentee, (
        f"{who} offers to mentor you on “{skill}” in “{trio.name}” (mentorship {mid}). Accept "
        f"if you recognise them on it; no pressure either way."),
        (choice("Accept", f"mentor accept {t} {mid}", "success"),
         choice("No, thanks", f"mentor end {t} {mid}", "secondary")))


async def _recognise(ctx: Ctx, trio: Trio, row: Row) -> None:
    """The mentee accepts an offer: the mentorship counts from now."""
    await ctx.tx.run("UPDATE mentorships SET state = 'recognised' WHERE id = ?", (row["id"],))
    mentor = MemberId(row["mentor"])
    name, who = await queries.name(ctx.tx, mentor), await queries.name(ctx.tx, ctx.actor)
    p, t, skill = ctx.prefix, tag(trio), row["skill"]
    ctx.reply(f"You recognise {name} as your mentor on “{skill}” (mentorship {row['number']}). "
              f"After a session, either of you logs it: {p}session log {t} {mention(mentor)} "
              f"{typed(skill)} 1h")
    await tell(ctx, mentor, f"{who} accepted your offer to mentor them on “{skill}” in "
                            f"“{trio.name}” (mentorship {row['number']}).")


async def _agree(ctx: Ctx, trio: Trio, row: Row) -> None:
    """The mentor agrees to a mentee's request: the mentorship counts from now."""
    await ctx.tx.run("UPDATE mentorships SET state = 'recognised' WHERE id = ?", (row["id"],))
    mentee = MemberId(row["mentee"])
    name, who = await queries.name(ctx.tx, mentee), await queries.name(ctx.tx, ctx.actor)
    p, t, skill = ctx.prefix, tag(trio), row["skill"]
    ctx.reply(f"You mentor {name} on “{skill}” (mentorship {row['number']}). After a session, "
              f"either of you logs it: {p}session log {t} {mention(mentee)} {typed(skill)} 1h")
    await tell(ctx, mentee, f"{who} agreed to mentor you on “{skill}” in “{trio.name}” "
                            f"(mentorship {row['number']}). After a session, either of you logs it: "
                            f"{p}session log {t} {mention(ctx.actor)} {typed(skill)} 1h")


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
        which = f" numbered {wanted}" if wanted is not None else ""
        raise NotFound(f"You have no mentoring offer{which} waiting in “{trio.name}”.",
                       hint=f"To ask a trio-mate to mentor you: {ctx.prefix}mentor ask @name <skill>")
    if len(rows) > 1:
        raise Conflict(f"You have {len(rows)} mentoring offers: {await _listing(ctx, rows)}.",
                       hint=f"Add the number: {ctx.prefix}mentor accept {tag(trio)} {rows[0]['number']}")
    if waits_for(rows[0]) == "mentor":
        await _agree(ctx, trio, rows[0])
        return
    await _recognise(ctx, trio, rows[0])


async def _listing(ctx: Ctx, rows: list[Row]) -> str:
    """``3 (Alice mentors Bob on “python”, recognised); …``."""
    out = []
    for r in rows:
        who, whom = await queries.name(ctx.tx, r["mentor"]), await queries.name(ctx.tx, r["mentee"])
        out.append(f"{r['number']} ({who} mentors {whom} on “{r['skill']}”, {r['state']})")
    return "; ".join(out)


async def _to_end(ctx: Ctx, trio: Trio, wanted: int | None) -> Row:
    """The mentorship ``mentor end [id]`` refers to."""
    p = ctx.prefix
    if wanted is not None:
        row = await ctx.tx.one("SELECT * FROM mentorships WHERE number = ? AND trio_id = ?",
                               (wanted, trio.id))
        if row is None or ctx.actor not in (row["mentor"], row["mentee"]):
            raise NotFound(f"You have no mentorship numbered {wanted} in “{trio.name}”.",
                           hint=f"{p}ledger lists them with their numbers.")
        if row["state"] == "ended":
            raise Conflict(f"Mentorship {wanted} has already ended.")
        return row
    rows = await ctx.tx.all(
        "SELECT * FROM mentorships WHERE trio_id = ? AND state IN ('offered', 'recognised') "
        "AND ? IN (mentor, mentee) ORDER BY id", (trio.id, ctx.actor))
    if not rows:
        raise NotFound(f"You have no mentorship going in “{trio.name}”.",
                       hint=f"{p}ledger shows the trio's mentorships.")
    if len(rows) > 1:
        raise Conflict(f"You are in {len(rows)} mentorships: {await _listing(ctx, rows)}.",
                       hint=f"Add the number: {p}mentor end {tag(trio)} {rows[0]['number']}")
    return rows[0]


async def mentor_end(ctx: Ctx, inv: Invocation) -> None:
    """``mentor end [id]``: either party ends it; confirmed sessions stay in the ledger."""
    trio = await ctx.trio(inv)
    row = await _to_end(ctx, trio, inv.args.get("id"))
    await ctx.tx.run("UPDATE mentorships SET state = 'ended' WHERE id = ?", (row["id"],))
    other = row["mentee"] if row["mentor"] == ctx.actor else row["mentor"]
    who, whom = await queries.name(ctx.tx, row["mentor"]), await queries.name(ctx.tx, row["mentee"])
    what = f"mentorship {row['number']} ({who} mentoring {whom} on “{row['skill']}”)"
    ctx.reply(f"Ended {what}. Its confirmed sessions stay in the ledger.")
    actor = await queries.name(ctx.tx, ctx.actor)
    await tell(ctx, other, f"{actor} ended {what} in “{trio.name}”. Its confirmed sessions "
                           f"stay in the ledger. Thank you for it.")


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
