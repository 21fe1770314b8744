"""Support: ``sos [note]``, ``plan <text>`` and ``plan ready``.

Theory of operation. A member of an active trio sends ``sos``: one row in ``sos`` (open
while ``ready_at`` is NULL; one open SOS per member and trio). The alert goes only to the
pair line of the two *allies* (the member never sees that line), and the member is told at
once that they are alerted. In that line the allies add steps (``plan <text>``, rows of
``plan_steps``; a step already in the plan is not added twice) and finish with ``plan
ready``. The plan is ready when both allies said so: the first one's ``plan ready`` is kept
in ``first_ready`` and the other is asked in the line (a new step clears it: the plan
changed). Then the SOS gets its ``ready_at`` and the member receives the plan privately
(held through quiet hours like every notice). A durable job
``sos:<id>`` reminds the allies once, in their line, if no plan is ready after
``settings.plan_reminder``; ``plan ready`` cancels it. The member may end their SOS
(``sos end``): its row and steps are deleted, the job cancelled, and the allies told in their
line. Only the member can end it. When anyone leaves the trio every
open SOS in it closes: its row and steps are deleted, the job cancelled, and the people
still there are told plainly.

Blocks. The plan the member receives holds only the steps of allies with no block between
them and the member, and names only those allies: a blocked ally's words never reach them.
"""

from __future__ import annotations

from typing import Any

from core import features_hooks, queries
from core.context import CommandHandler, Ctx, JobHandler
from core.errors import Conflict, Forbidden, NotFound
from core.grammar import Invocation
from core.i18n import Text, _, _n, join
from core.ids import MemberId, TrioId
from core.model import Room, Trio
from core.storage.db import Row
from core.textrules import quote, slug
from core.timeutil import ts

REMIND_JOB = "sos_remind"
READY = ("ready", "prêt", "pret", "prête", "prete")
"""The words that make ``plan <text>`` mean ``plan ready``."""


def _job_key(sos_id: int) -> str:
    return f"sos:{sos_id}"


def _allies(members: list[MemberId], member: MemberId) -> tuple[MemberId, MemberId]:
    """The two trio-mates of ``member``."""
    a, b = [m for m in members if m != member]
    return a, b


async def _allies_line(ctx: Ctx, trio_id: TrioId, member: MemberId) -> Room | None:
    """The open pair line of ``member``'s two allies, if the trio still has it."""
    members = await queries.members(ctx.tx, trio_id)
    if member not in members or len(members) != 3:
        return None
    a, b = _allies(members, member)
    return await queries.pair_line(ctx.tx, trio_id, a, b)


async def _open_sos(ctx: Ctx, trio: Trio, member: MemberId) -> Row | None:
    return await ctx.tx.one(
        "SELECT * FROM sos WHERE trio_id = ? AND member_id = ? AND ready_at IS NULL",
        (trio.id, member),
    )


async def sos(ctx: Ctx, inv: Invocation) -> None:
    """``sos [note]``: alert the two allies in their own line."""
    trio = await ctx.active_trio(inv)
    members = await queries.members(ctx.tx, trio.id)
    a, b = _allies(members, ctx.actor)
    names = await queries.names(ctx.tx, [ctx.actor, a, b])
    line = await queries.pair_line(ctx.tx, trio.id, a, b)
    if line is None:
        raise Conflict(_("The lines of “{trio}” are not open yet.", trio=trio.name),
                       hint=_("They open when the trio has its three members."))
    note = inv.args.get("note")
    if await _open_sos(ctx, trio, ctx.actor) is not None:
        if note:
            ctx.post(line.id, _("{who} adds a note for you: {note}",
                                who=names[ctx.actor], note=quote(note)), sender=ctx.actor)
        ctx.reply(_("{a} and {b} are already on it: they are preparing a support plan for you, "
                    "and I will send it to you when it is ready.", a=names[a], b=names[b])
                  + (_(" I passed your new note to them.") if note else ""), private=True)
        return
    sos_id = await ctx.tx.insert(
        "INSERT INTO sos (trio_id, member_id, note, created_at) VALUES (?, ?, ?, ?)",
        (trio.id, ctx.actor, note, ts(ctx.now)),
    )
    who = names[ctx.actor]
    said = _(" Their note: {note}.", note=quote(note)) if note else ""
    p = ctx.prefix
    ctx.post(line.id, (
        _("{who} is going through a hard time and asked for your support.", who=who) + said
        + "\n" + _("Prepare a support plan for {who} here, together: add each step with "
                   "{p}plan <text>, written to {who} (e.g. {p}plan I will call you on Sunday). "
                   "When you both typed {p}plan ready, I send it to {who}. {who} never sees "
                   "this line.", who=who, p=p)
    ), sender=ctx.actor)
    await ctx.schedule(REMIND_JOB, _job_key(sos_id), ctx.now + ctx.settings.plan_reminder,
                       {"sos": sos_id})
    ctx.reply(_("{a} and {b} are alerted. They will prepare a support plan for you in their "
                "own line, and I will send it to you as soon as it is ready. Take care of "
                "yourself meanwhile.", a=names[a], b=names[b]), private=True)


async def sos_end(ctx: Ctx, inv: Invocation) -> None:
    """``sos end``: the member takes back their SOS; the allies stop preparing the plan."""
    trio = await ctx.active_trio(inv)
    row = await _open_sos(ctx, trio, ctx.actor)
    if row is None:
        others = await ctx.tx.all("SELECT member_id FROM sos WHERE trio_id = ? AND "
                                  "ready_at IS NULL ORDER BY id", (trio.id,))
        if others:
            who = await queries.name(ctx.tx, others[0]["member_id"])
            raise Forbidden(_("Only {who} can end the SOS {who} sent.", who=who),
                            hint=_("If you think it is over, ask them in your line together."))
        raise NotFound(_("You have no open SOS in “{trio}”.", trio=trio.name),
                       hint=_("{p}sos tells your allies you are going through a hard time.",
                              p=ctx.prefix))
    await ctx.cancel(_job_key(row["id"]))
    await ctx.tx.run("DELETE FROM sos WHERE id = ?", (row["id"],))
    line = await _allies_line(ctx, trio.id, ctx.actor)
    who = await queries.name(ctx.tx, ctx.actor)
    if line is not None:
        ctx.post(line.id, _("{who} ended their SOS: no need to prepare the plan any more. You "
                            "can still be there for {who} in your lines.", who=who),
                 sender=ctx.actor)
    ctx.reply(_("Your SOS is ended: your allies know they need not prepare a plan. Send "
                "{p}sos again whenever you need them.", p=ctx.prefix), private=True)


async def _target_sos(ctx: Ctx, trio: Trio) -> Row:
    """The open SOS a ``plan`` command by an ally is about."""
    rows = await ctx.tx.all(
        "SELECT * FROM sos WHERE trio_id = ? AND member_id != ? AND ready_at IS NULL ORDER BY id",
        (trio.id, ctx.actor),
    )
    if ctx.room is not None and ctx.room.purpose != "pair":
        raise Forbidden(_("Support plans are prepared in the allies' private line, not here."),
                        hint=_("Type it in your pair line with the other ally."))
    if ctx.room is not None:
        here = [r for r in rows if r["member_id"] not in ctx.room.pair]
        if rows and not here:
            other = await queries.name(ctx.tx, rows[0]["member_id"])
            raise Forbidden(_("The plan for {other} is prepared in your line with your other "
                              "ally, not here: {other} sees this line.", other=other))
        rows = here
    if not rows:
        mine = await _open_sos(ctx, trio, ctx.actor)
        if mine is not None:
            raise NotFound(_("Your allies are preparing the plan for you; I will send it to "
                             "you when it is ready."))
        raise NotFound(_("Nobody in “{trio}” is waiting for a support plan right now.",
                         trio=trio.name),
                       hint=_("A member asks for support with {p}sos.", p=ctx.prefix))
    if len(rows) > 1:
        raise Conflict(_("Two of your trio-mates are waiting for a support plan: which one?"),
                       hint=_("Type the command in your line with the other ally."))
    return rows[0]


async def _steps(ctx: Ctx, sos_id: int) -> list[str]:
    rows = await ctx.tx.all("SELECT text FROM plan_steps WHERE sos_id = ? ORDER BY id", (sos_id,))
    return [r["text"] for r in rows]


async def plan(ctx: Ctx, inv: Invocation) -> None:
    """``plan <text>`` adds a step; ``plan ready`` sends the plan to the member."""
    ctx.private = True  # errors and replies never show in a line the member may see
    trio = await ctx.active_trio(inv)
    row = await _target_sos(ctx, trio)
    member = MemberId(row["member_id"])
    line = await _allies_line(ctx, trio.id, member)
    if line is None:
        raise Conflict(_("Your line with your other ally is closed, so the plan cannot go on."))
    text: str = inv.args["text"]
    if text.strip().casefold() in READY:
        await _ready(ctx, trio, row, line)
        return
    names = await queries.names(ctx.tx, [ctx.actor, member])
    steps = await _steps(ctx, row["id"])
    same = [i for i, step in enumerate(steps, 1) if _same(step, text)]
    if same:
        raise Conflict(_("That is step {number} of the plan for {who} already.",
                         number=same[0], who=names[member]))
    await ctx.tx.run(
        "INSERT INTO plan_steps (sos_id, author, text, created_at) VALUES (?, ?, ?, ?)",
        (row["id"], ctx.actor, text, ts(ctx.now)),
    )
    await ctx.tx.run("UPDATE sos SET first_ready = NULL WHERE id = ?", (row["id"],))
    count = len(steps) + 1
    ctx.post(line.id, _("Step {number} of the plan for {who}, from {author}: {step}. Add more "
                        "with {p}plan <text>; when it is complete: {p}plan ready",
                        number=count, who=names[member], author=names[ctx.actor],
                        step=quote(text), p=ctx.prefix), sender=ctx.actor)
    if ctx.room is None or ctx.room.id != line.id:  # typed elsewhere: say where it went
        ctx.reply(_("Added as step {number} of the plan for {who} (posted in your line with "
                    "your other ally).", number=count, who=names[member]))


async def _plan_text(ctx: Ctx, trio: Trio, sos: Row, line: Room) -> Text:
    """The plan as its member receives it: only the steps and names of allies without a block."""
    member = MemberId(sos["member_id"])
    allies = [a for a in line.pair if not await queries.blocked_between(ctx.tx, a, member)]
    steps = await ctx.tx.all("SELECT author, text FROM plan_steps WHERE sos_id = ? ORDER BY id",
                             (sos["id"],))
    shown = [r for r in steps if r["author"] in allies]
    where = _("(“{trio}”, {tag})", trio=trio.name, tag="#" + slug(trio.name))
    if not shown:
        return _("Your allies marked your support plan as ready {where}. They are here for "
                 "you; write to them in your lines whenever you like.", where=where)
    names = await queries.names(ctx.tx, allies)
    listing = "\n".join(f"{i}. {names[r['author']]}: {quote(r['text'])}"
                        for i, r in enumerate(shown, 1))
    said = (_("{a} has prepared a support plan for you {where}:", a=names[allies[0]],
              where=where) if len(allies) == 1 else
            _("{a} and {b} have prepared a support plan for you {where}:",
              a=names[allies[0]], b=names[allies[1]], where=where))
    return (said + "\n" + listing + "\n"
            + _("They are here for you; write to them in your lines whenever you like."))


def _same(a: str, b: str) -> bool:
    """Whether two plan steps say the same (letter case and spacing aside)."""
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


async def _ready(ctx: Ctx, trio: Trio, row: Row, line: Room) -> None:
    """One ally's ``plan ready``: once both said it, mark the plan ready and send it."""
    member = MemberId(row["member_id"])
    steps = await _steps(ctx, row["id"])
    who = await queries.name(ctx.tx, member)
    if not steps:
        raise Conflict(_("The plan for {who} has no step yet.", who=who),
                       hint=_("Add one first, written to {who}: {p}plan I will call you on "
                              "Sunday", who=who, p=ctx.prefix))
    needed = {a for a in line.pair if not await queries.blocked_between(ctx.tx, a, member)}
    said = {ctx.actor, *([row["first_ready"]] if row["first_ready"] else [])}
    waiting = sorted(needed - said)
    if waiting:
        await _ask_other(ctx, row, line, who, MemberId(waiting[0]))
        return
    await ctx.tx.run("UPDATE sos SET ready_at = ? WHERE id = ?", (ts(ctx.now), row["id"]))
    await ctx.cancel(_job_key(row["id"]))
    await ctx.notify(member, await _plan_text(ctx, trio, row, line))
    ctx.post(line.id, _n("The plan for {who} is ready ({n} step); I sent it to {who} "
                         "privately. Thank you both.",
                         "The plan for {who} is ready ({n} steps); I sent it to {who} "
                         "privately. Thank you both.", len(steps), who=who))
    if ctx.room is None:
        ctx.reply(_("The plan is ready and on its way to {who}.", who=who))


async def _ask_other(ctx: Ctx, row: Row, line: Room, who: str, other: MemberId) -> None:
    """The first ``plan ready``: the other ally is asked in the line, the first one told."""
    if row["first_ready"] == ctx.actor:
        raise Conflict(_("You said the plan is ready already; it goes to {who} once {other} "
                         "agrees.", who=who, other=await queries.name(ctx.tx, other)))
    await ctx.tx.run("UPDATE sos SET first_ready = ? WHERE id = ?", (ctx.actor, row["id"]))
    names = await queries.names(ctx.tx, [ctx.actor, other])
    ctx.post(line.id, _("{first} thinks the plan for {who} is ready. {other}, if you agree, "
                        "type {p}plan ready and I send it to {who}; or add a step first.",
                        first=names[ctx.actor], who=who, other=names[other], p=ctx.prefix),
             sender=ctx.actor)
    if ctx.room is None or ctx.room.id != line.id:
        ctx.reply(_("Noted. I asked {other} to say the plan is ready too; then it goes to "
                    "{who}.", other=names[other], who=who))


async def remind(ctx: Ctx, payload: dict[str, Any]) -> None:
    """No plan yet after the reminder delay: one gentle word in the allies' line."""
    row = await ctx.tx.one("SELECT * FROM sos WHERE id = ? AND ready_at IS NULL",
                           (payload["sos"],))
    if row is None:
        return
    member = MemberId(row["member_id"])
    line = await _allies_line(ctx, row["trio_id"], member)
    if line is None:
        return
    who = await queries.name(ctx.tx, member)
    count = len(await _steps(ctx, row["id"]))
    so_far = (_n("It has {n} step so far; when it is complete: {p}plan ready",
                 "It has {n} steps so far; when it is complete: {p}plan ready",
                 count, p=ctx.prefix) if count else
              _("Add a first step with {p}plan <text>, then {p}plan ready", p=ctx.prefix))
    ctx.post(line.id, _("A gentle reminder: {who} asked for support and is still waiting for "
                        "your plan. {so_far}.", who=who, so_far=so_far))


@features_hooks.on_member_left
async def _member_left(ctx: Ctx, trio: Trio, leaver: MemberId) -> None:
    """Someone left: every open SOS in the trio closes, and those still there are told."""
    rows = await ctx.tx.all("SELECT * FROM sos WHERE trio_id = ? AND ready_at IS NULL",
                            (trio.id,))
    if not rows:
        return
    rest = [m for m in await queries.members(ctx.tx, trio.id) if m != leaver]
    left = await queries.name(ctx.tx, leaver)
    for row in rows:
        await ctx.cancel(_job_key(row["id"]))
        await ctx.tx.run("DELETE FROM sos WHERE id = ?", (row["id"],))
        member = MemberId(row["member_id"])
        if member == leaver:
            for ally in rest:  # merged with the other notices of the leaving, one each
                await ctx.notify(ally, _("The support plan you were preparing for {left} is "
                                         "closed with their leaving.", left=left))
        else:
            await _ally_left(ctx, trio, member, [m for m in rest if m != member], left)


async def _ally_left(ctx: Ctx, trio: Trio, member: MemberId, allies: list[MemberId],
                     left: str) -> None:
    """An ally left: the member and the remaining ally learn that the plan is closed."""
    who = await queries.name(ctx.tx, member)
    names = await queries.names(ctx.tx, allies)
    for ally in allies:
        await ctx.notify(ally, _("{left} left “{trio}”, so the support plan for {who} is "
                                 "closed. You can still be there for {who} in your line "
                                 "together.", left=left, trio=trio.name, who=who))
    still = join(_(" and "), list(names.values()))
    still_text = _n(" {still} can still hear you in your line.",
                    " {still} can still hear you in your line.", len(names),
                    still=still) if names else ""
    await ctx.notify(member, _("{left} left “{trio}”, so your request for support there is "
                               "closed.", left=left, trio=trio.name) + still_text
                     + _(" Once the trio is complete again you can send {p}sos anew.",
                         p=ctx.prefix))


COMMANDS: dict[str, CommandHandler] = {"sos": sos, "sos end": sos_end, "plan": plan}
JOBS: dict[str, JobHandler] = {REMIND_JOB: remind}
