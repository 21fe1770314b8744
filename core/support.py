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
from core.ids import MemberId, TrioId
from core.model import Room, Trio
from core.storage.db import Row
from core.textrules import quote, slug
from core.timeutil import ts

REMIND_JOB = "sos_remind"


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
        raise Conflict(f"The lines of “{trio.name}” are not open yet.",
                       hint="They open when the trio has its three members.")
    note = inv.args.get("note")
    if await _open_sos(ctx, trio, ctx.actor) is not None:
        if note:
            ctx.post(line.id, f"{names[ctx.actor]} adds a note for you: {quote(note)}",
                     sender=ctx.actor)
        ctx.reply(f"{names[a]} and {names[b]} are already on it: they are preparing a support "
                  f"plan for you, and I will send it to you when it is ready."
                  + (" I passed your new note to them." if note else ""), private=True)
        return
    sos_id = await ctx.tx.run(
        "INSERT INTO sos (trio_id, member_id, note, created_at) VALUES (?, ?, ?, ?)",
        (trio.id, ctx.actor, note, ts(ctx.now)),
    )
    who = names[ctx.actor]
    said = f" Their note: {quote(note)}." if note else ""
    p = ctx.prefix
    ctx.post(line.id, (
        f"{who} is going through a hard time and asked for your support.{said}\n"
        f"Prepare a support plan for {who} here, together: add each step with {p}plan <text>, "
        f"written to {who} (e.g. {p}plan I will call you on Sunday). When you both typed "
        f"{p}plan ready, I send it to {who}. {who} never sees this line."
    ), sender=ctx.actor)
    await ctx.schedule(REMIND_JOB, _job_key(sos_id), ctx.now + ctx.settings.plan_reminder,
                       {"sos": sos_id})
    ctx.reply(f"{names[a]} and {names[b]} are alerted. They will prepare a support plan for you "
              f"in their own line, and I will send it to you as soon as it is ready. Take care "
              f"of yourself meanwhile.", private=True)


async def sos_end(ctx: Ctx, inv: Invocation) -> None:
    """``sos end``: the member takes back their SOS; the allies stop preparing the plan."""
    trio = await ctx.active_trio(inv)
    row = await _open_sos(ctx, trio, ctx.actor)
    if row is None:
        others = await ctx.tx.all("SELECT member_id FROM sos WHERE trio_id = ? AND "
                                  "ready_at IS NULL ORDER BY id", (trio.id,))
        if others:
            who = await queries.name(ctx.tx, others[0]["member_id"])
            raise Forbidden(f"Only {who} can end the SOS {who} sent.",
                            hint="If you think it is over, ask them in your line together.")
        raise NotFound(f"You have no open SOS in “{trio.name}”.",
                       hint=f"{ctx.prefix}sos tells your allies you are going through a hard time.")
    await ctx.cancel(_job_key(row["id"]))
    await ctx.tx.run("DELETE FROM sos WHERE id = ?", (row["id"],))
    line = await _allies_line(ctx, trio.id, ctx.actor)
    who = await queries.name(ctx.tx, ctx.actor)
    if line is not None:
        ctx.post(line.id, f"{who} ended their SOS: no need to prepare the plan any more. You can "
                          f"still be there for {who} in your lines.", sender=ctx.actor)
    ctx.reply("Your SOS is ended: your allies know they need not prepare a plan. Send "
              f"{ctx.prefix}sos again whenever you need them.", private=True)


async def _target_sos(ctx: Ctx, trio: Trio) -> Row:
    """The open SOS a ``plan`` command by an ally is about."""
    rows = await ctx.tx.all(
        "SELECT * FROM sos WHERE trio_id = ? AND member_id != ? AND ready_at IS NULL ORDER BY id",
        (trio.id, ctx.actor),
    )
    if ctx.room is not None and ctx.room.purpose != "pair":
        raise Forbidden("Support plans are prepared in the allies' private line, not here.",
                        hint="Type it in your pair line with the other ally.")
    if ctx.room is not None:
        here = [r for r in rows if r["member_id"] not in ctx.room.pair]
        if rows and not here:
            other = await queries.name(ctx.tx, rows[0]["member_id"])
            raise Forbidden(f"The plan for {other} is prepared in your line with your other ally, "
                            f"not here: {other} sees this line.")
        rows = here
    if not rows:
        mine = await _open_sos(ctx, trio, ctx.actor)
        if mine is not None:
            raise NotFound("Your allies are preparing the plan for you; I will send it to you "
                           "when it is ready.")
        raise NotFound(f"Nobody in “{trio.name}” is waiting for a support plan right now.",
                       hint=f"A member asks for support with {ctx.prefix}sos.")
    if len(rows) > 1:
        raise Conflict("Two of your trio-mates are waiting for a support plan: which one?",
                       hint="Type the command in your line with the other ally.")
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
        raise Conflict("Your line with your other ally is closed, so the plan cannot go on.")
    text: str = inv.args["text"]
    if text.strip().casefold() == "ready":
        await _ready(ctx, trio, row, line)
        return
    names = await queries.names(ctx.tx, [ctx.actor, member])
    steps = await _steps(ctx, row["id"])
    same = [i for i, step in enumerate(steps, 1) if _same(step, text)]
    if same:
        raise Conflict(f"That is step {same[0]} of the plan for {names[member]} already.")
    await ctx.tx.run(
        "INSERT INTO plan_steps (sos_id, author, text, created_at) VALUES (?, ?, ?, ?)",
        (row["id"], ctx.actor, text, ts(ctx.now)),
    )
    await ctx.tx.run("UPDATE sos SET first_ready = NULL WHERE id = ?", (row["id"],))
    count = len(steps) + 1
    ctx.post(line.id, f"Step {count} of the plan for {names[member]}, from {names[ctx.actor]}: "
                      f"{quote(text)}. Add more with {ctx.prefix}plan <text>; when it is complete: "
                      f"{ctx.prefix}plan ready", sender=ctx.actor)
    if ctx.room is None or ctx.room.id != line.id:  # typed elsewhere: say where it went
        ctx.reply(f"Added as step {count} of the plan for {names[member]} (posted in your line "
                  f"with your other ally).")


async def _plan_text(ctx: Ctx, trio: Trio, sos: Row, line: Room) -> str:
    """The plan as its member receives it: only the steps and names of allies without a block."""
    member = MemberId(sos["member_id"])
    allies = [a for a in line.pair if not await queries.blocked_between(ctx.tx, a, member)]
    steps = await ctx.tx.all("SELECT author, text FROM plan_steps WHERE sos_id = ? ORDER BY id",
                             (sos["id"],))
    shown = [r for r in steps if r["author"] in allies]
    where = f"(“{trio.name}”, #{slug(trio.name)})"
    if not shown:
        return (f"Your allies marked your support plan as ready {where}. They are here for "
                f"you; write to them in your lines whenever you like.")
    names = await queries.names(ctx.tx, allies)
    listing = "\n".join(f"{i}. {names[r['author']]}: {quote(r['text'])}"
                        for i, r in enumerate(shown, 1))
    verb = "has" if len(allies) == 1 else "have"
    return (f"{' and '.join(names.values())} {verb} prepared a support plan for you {where}:\n"
            f"{listing}\nThey are here for you; write to them in your lines whenever you like.")


def _same(a: str, b: str) -> bool:
    """Whether two plan steps say the same (letter case and spacing aside)."""
    return " ".join(a.casefold().split()) == " ".join(b.casefold().split())


async def _ready(ctx: Ctx, trio: Trio, row: Row, line: Room) -> None:
    """One ally's ``plan ready``: once both said it, mark the plan ready and send it."""
    member = MemberId(row["member_id"])
    steps = await _steps(ctx, row["id"])
    who = await queries.name(ctx.tx, member)
    if not steps:
        raise Conflict(f"The plan for {who} has no step yet.",
                       hint=f"Add one first, written to {who}: "
                            f"{ctx.prefix}plan I will call you on Sunday")
    needed = {a for a in line.pair if not await queries.blocked_between(ctx.tx, a, member)}
    said = {ctx.actor, *([row["first_ready"]] if row["first_ready"] else [])}
    waiting = sorted(needed - said)
    if waiting:
        await _ask_other(ctx, row, line, who, MemberId(waiting[0]))
        return
    await ctx.tx.run("UPDATE sos SET ready_at = ? WHERE id = ?", (ts(ctx.now), row["id"]))
    await ctx.cancel(_job_key(row["id"]))
    await ctx.notify(member, await _plan_text(ctx, trio, row, line))
    ctx.post(line.id, f"The plan for {who} is ready ({len(steps)} step"
                      f"{'s' if len(steps) > 1 else ''}); I sent it to {who} privately. "
                      f"Thank you both.")
    if ctx.room is None:
        ctx.reply(f"The plan is ready and on its way to {who}.")


async def _ask_other(ctx: Ctx, row: Row, line: Room, who: str, other: MemberId) -> None:
    """The first ``plan ready``: the other ally is asked in the line, the first one told."""
    if row["first_ready"] == ctx.actor:
        raise Conflict(f"You said the plan is ready already; it goes to {who} once "
                       f"{await queries.name(ctx.tx, other)} agrees.")
    await ctx.tx.run("UPDATE sos SET first_ready = ? WHERE id = ?", (ctx.actor, row["id"]))
    names = await queries.names(ctx.tx, [ctx.actor, other])
    ctx.post(line.id, f"{names[ctx.actor]} thinks the plan for {who} is ready. "
                      f"{names[other]}, if you agree, type {ctx.prefix}plan ready and I send "
                      f"it to {who}; or add a step first.", sender=ctx.actor)
    if ctx.room is None or ctx.room.id != line.id:
        ctx.reply(f"Noted. I asked {names[other]} to say the plan is ready too; then it goes "
                  f"to {who}.")


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
    so_far = (f"It has {count} step{'s' if count > 1 else ''} so far; when it is complete: "
              f"{ctx.prefix}plan ready" if count else
              f"Add a first step with {ctx.prefix}plan <text>, then {ctx.prefix}plan ready")
    ctx.post(line.id, f"A gentle reminder: {who} asked for support and is still waiting for "
                      f"your plan. {so_far}.")


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
                await ctx.notify(ally, f"The support plan you were preparing for {left} is "
                                       f"closed with their leaving.")
        else:
            await _ally_left(ctx, trio, member, [m for m in rest if m != member], left)


async def _ally_left(ctx: Ctx, trio: Trio, member: MemberId, allies: list[MemberId],
                     left: str) -> None:
    """An ally left: the member and the remaining ally learn that the plan is closed."""
    who = await queries.name(ctx.tx, member)
    names = await queries.names(ctx.tx, allies)
    for ally in allies:
        await ctx.notify(ally, f"{left} left “{trio.name}”, so the support plan for {who} is "
                               f"closed. You can still be there for {who} in your line together.")
    still = " and ".join(names.values())
    still_text = f" {still} can still hear you in your line." if still else ""
    await ctx.notify(member, f"{left} left “{trio.name}”, so your request for support there is "
                             f"closed.{still_text} Once the trio is complete again you can send "
                             f"{ctx.prefix}sos anew.")


COMMANDS: dict[str, CommandHandler] = {"sos": sos, "sos end": sos_end, "plan": plan}
JOBS: dict[str, JobHandler] = {REMIND_JOB: remind}
