"""Safety: ``block``, ``unblock`` and ``report``.

A block is the blocker's own record: it is never announced to the blocked person, keeps
the two from being matched, and stops the bot relaying the blocked person's invitations
and notices to the blocker. It does not take anyone out of a trio: leaving is ``trio
leave``, and harm is for ``report``. Where each rule is enforced, once for every path:

* seating: :func:`core.trios.seat` asks :func:`core.seating.refused` (both ways, against
  every seated member), for codes, invitations and matchmaking alike;
* relayed words and doings: ``ctx.notify(..., sender=)``, also when a held notice is
  released; a composite notice (the support plan) keeps only the parts of the others;
* inside a trio they share: turn reminders and relance notes between the two stop
  (:mod:`core.turns`), and a proposal needs only the ally without a block
  (:func:`core.proposals.voters`), its author being told who was asked.

A report is stored in ``safety_reports`` (reporter, reported, trio, the reason as typed,
when; :mod:`core.privacy` says what export and forget do with it) and goes to the
moderators as one :class:`~core.effects.ReportToModerators`: who reported whom, the trios
they share, and the reason. No message body is ever added; the reporter quotes one in
the reason if they wish. The row is marked delivered once the adapter's carrier posted
it; where no moderators' room is configured it stays undelivered, and operators read it
with ``twinome reports``. The reporter is told it is recorded, never that it was sent.
"""

from __future__ import annotations

from contextlib import suppress
from datetime import timedelta

from core import queries
from core.context import CommandHandler, Ctx, JobHandler
from core.effects import ReportToModerators, from_json
from core.errors import Conflict, Forbidden, NotFound
from core.grammar import Invocation
from core.i18n import Message, _, _n, join
from core.ids import MemberId
from core.model import Trio
from core.storage.db import Row, Tx, contains
from core.textrules import inert, slug
from core.timeutil import ts

REPORTS_PER_DAY = 5
REPORT_WINDOW = timedelta(days=1)


async def shared_trios(ctx: Ctx, a: MemberId, b: MemberId) -> list[Trio]:
    """The trios (forming or active) both members sit in."""
    theirs = {t.id for t in await queries.trios_of(ctx.tx, b)}
    return [t for t in await queries.trios_of(ctx.tx, a) if t.id in theirs]


def _discreet(ctx: Ctx, text: str) -> str:
    """``text``, with a tip when the command was typed where others could read it."""
    if ctx.room is None:
        return text
    return text + "\n" + _("Tip: type safety commands in your direct chat with me; there, "
                           "nobody else sees them.")


def _not_yourself(doing: str) -> Message:
    """Why a safety command cannot name its own author."""
    if doing == "block":
        return _("You cannot block yourself.")
    if doing == "unblock":
        return _("You cannot unblock yourself.")
    return _("You cannot report yourself.")


async def _other(ctx: Ctx, inv: Invocation, doing: str) -> MemberId:
    """The person a safety command names (the room's trio first); never the actor."""
    target = None
    if ctx.room is not None:
        with suppress(NotFound):
            target = await ctx.member_arg(inv.args["user"], await queries.trio(ctx.tx, ctx.room.trio_id))
    target = target or await ctx.member_arg(inv.args["user"])
    if target == ctx.actor:
        raise Conflict(_not_yourself(doing),
                       hint=_("Name the other person: {usage}",
                              usage=inv.command.usage(ctx.prefix)))
    return target


async def block(ctx: Ctx, inv: Invocation) -> None:
    """``block @user``: never matched together, their invitations never reach you."""
    target = await _other(ctx, inv, "block")
    added = await ctx.tx.changes(
        "INSERT INTO blocks (blocker, blocked, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        (ctx.actor, target, ts(ctx.now)),
    )
    name = await queries.known_as(ctx.tx, target, ctx.actor)
    if not added:
        ctx.reply(_("You had already blocked {name}. Nothing changed.", name=name), private=True)
        return
    await _drop_invitations(ctx, target)
    text: str = _("You blocked {name}. You will never be matched together, and their "
                  "invitations and notices will not reach you. They are not told.", name=name)
    shared = await shared_trios(ctx, ctx.actor, target)
    if shared:
        names = join(", ", [_("“{trio}”", trio=t.name) for t in shared])
        text += "\n" + _(
            "You are both in {trios}: a block does not remove anyone from a trio. If you want "
            "to step away, {p}trio leave #{tag} is there; if they harmed you, {p}report {user} "
            "<what happened> alerts the moderators.",
            trios=names, p=ctx.prefix, tag=slug(shared[0].name), user=inv.args["user"])
    ctx.reply(_discreet(ctx, text), private=True)


async def _drop_invitations(ctx: Ctx, blocked: MemberId) -> None:
    """Quietly withdraw open personal invitations between blocker and blocked."""
    await ctx.tx.run(
        "UPDATE invites SET state = 'revoked' WHERE state = 'open' AND "
        "((created_by = ? AND invitee = ?) OR (created_by = ? AND invitee = ?))",
        (blocked, ctx.actor, ctx.actor, blocked),
    )


async def unblock(ctx: Ctx, inv: Invocation) -> None:
    """``unblock @user``."""
    typed = inv.args["user"]
    candidates = {await _other(ctx, inv, "unblock")}
    raw = ctx.settings.read_user(typed)
    if raw is not None:
        candidates.add(raw)
    removed = 0
    for target in candidates:
        removed += await ctx.tx.changes(
            "DELETE FROM blocks WHERE blocker = ? AND blocked = ?", (ctx.actor, target)
        )
    if not removed:
        raise NotFound(_("You have not blocked {user}.", user=typed),
                       hint=_("A block is removed with the same @name you blocked."))
    name = await queries.known_as(ctx.tx, next(iter(candidates)), ctx.actor)
    ctx.reply(_("You unblocked {name}. Their invitations can reach you again.", name=name),
              private=True)


async def _check_rate(ctx: Ctx) -> None:
    since = ts(ctx.now - REPORT_WINDOW)
    sent = int(await ctx.tx.value(
        "SELECT count(*) FROM safety_reports WHERE reporter = ? AND created_at > ?",
        (ctx.actor, since)))
    if sent >= REPORTS_PER_DAY:
        raise Forbidden(
            _n("You have sent {n} report in the last day, the most I pass on at once.",
               "You have sent {n} reports in the last day, the most I pass on at once.", sent),
            hint=_("The moderators have them. If you are in danger now, contact them directly, "
                   "and {p}block the person to stop hearing from them.", p=ctx.prefix),
        )


def _label(name: str, member: MemberId) -> str:
    """An account as the moderators read it: its name and its id (a forgotten one's too)."""
    if member.startswith("former:"):
        return _("a former member") + " (" + member + ")"
    return member if name == member else f"{name} ({member})"


def _state(trio: Trio) -> str:
    """A trio's state, in words."""
    if trio.state == "active":
        return _("active")
    if trio.state == "forming":
        return _("forming")
    return trio.state


def reported_by(who: str) -> Message:
    """The line of a report naming the reporter (:mod:`core.privacy` rewrites it on forget)."""
    return _("Reported by: {who}", who=who)


async def report_text(ctx: Ctx, reported: MemberId, reason: str | None) -> str:
    """The moderators' message: accounts, shared trios, and the reason as typed.

    ``reason`` is None once the reporter asked to be forgotten. The words are said in the
    bot's default language (:mod:`core.telling`).
    """
    names = await queries.names(ctx.tx, [ctx.actor, reported])
    shared = await shared_trios(ctx, ctx.actor, reported)
    trios = join("; ", [_("“{trio}” (#{tag}, id {id}, {state})", trio=t.name, tag=slug(t.name),
                          id=t.id, state=_state(t)) for t in shared])
    why = (_("Reason, as typed by the reporter: “{reason}”", reason=inert(reason))
           if reason is not None else
           _("Reason, as typed by the reporter: “(erased: the reporter asked to be forgotten)”"))
    return join("\n", [
        _("Safety report"),
        _("Reported: {who}", who=_label(names[reported], reported)),
        reported_by(_label(names[ctx.actor], ctx.actor)),
        _("Shared trios: {trios}", trios=trios if shared else _("none")),
        why,
    ])


async def report(ctx: Ctx, inv: Invocation) -> None:
    """``report @user <reason>``: to the moderators, never to the person reported."""
    target = await _other(ctx, inv, "report")
    await _check_rate(ctx)
    reason = inv.args["reason"]
    shared = await shared_trios(ctx, ctx.actor, target)
    trio = ctx.room.trio_id if ctx.room is not None else (shared[0].id if shared else None)
    report_id = await ctx.tx.insert(
        "INSERT INTO safety_reports (reporter, reported, trio_id, reason, platform, created_at) "
        "VALUES (?, ?, ?, ?, ?, ?)", (ctx.actor, target, trio, reason, ctx.platform, ts(ctx.now)))
    ctx.emit(ReportToModerators(await report_text(ctx, target, reason), report_id))
    name = await queries.known_as(ctx.tx, target, ctx.actor)
    blocked = await ctx.tx.one(
        "SELECT 1 FROM blocks WHERE blocker = ? AND blocked = ?", (ctx.actor, target))
    text: str = _("Thank you. Your report about {name} is recorded, with the trios you share "
                  "and your reason, nothing else; the moderators will see it. {name} is not "
                  "told.", name=name)
    if blocked is None:
        text += "\n" + _("To stop hearing from them meanwhile: {p}block {user}",
                         p=ctx.prefix, user=inv.args["user"])
    ctx.reply(_discreet(ctx, text), private=True)


async def resend(ctx: Ctx, limit: int = 100) -> int:
    """Queue again the reports of ``ctx.platform`` that never reached the moderators.

    Called when an adapter starts with a moderators' room: reports made while there was
    none (or while it was unreachable) reach it then. One already queued is left alone.
    """
    waiting = [from_json(r[0]) for r in await ctx.tx.all(
        f"SELECT effect FROM outbox WHERE platform = ? AND {contains('effect')}",
        (ctx.platform, '"kind":"report"'))]
    queued = {e.report for e in waiting if isinstance(e, ReportToModerators)}
    rows = await ctx.tx.all(
        "SELECT id, reporter, reported, reason FROM safety_reports WHERE platform = ? "
        "AND delivered_at IS NULL ORDER BY id LIMIT ?", (ctx.platform, limit))
    count = 0
    for row in rows:
        if row["id"] in queued:
            continue
        ctx.actor = MemberId(row["reporter"])
        ctx.emit(ReportToModerators(
            await report_text(ctx, MemberId(row["reported"]), row["reason"] or None), row["id"]))
        count += 1
    return count


COMMANDS: dict[str, CommandHandler] = {"block": block, "unblock": unblock, "report": report}
JOBS: dict[str, JobHandler] = {}


_STORED = ("SELECT r.id, r.reporter, r.reported, r.trio_id, t.name AS trio, r.reason, "
           "r.platform, r.created_at, r.delivered_at, a.display_name AS reporter_name, "
           "b.display_name AS reported_name FROM safety_reports r "
           "LEFT JOIN trios t ON t.id = r.trio_id LEFT JOIN members a ON a.id = r.reporter "
           "LEFT JOIN members b ON b.id = r.reported ")


async def stored_reports(tx: Tx, since: int, limit: int = 500) -> tuple[list[Row], list[Row]]:
    """For the operators (``twinome reports``): the reports that never reached a moderators'
    room, oldest first, then those delivered and made since ``since`` (Unix s), newest first."""
    waiting = await tx.all(_STORED + "WHERE r.delivered_at IS NULL ORDER BY r.id")
    recent = await tx.all(_STORED + "WHERE r.delivered_at IS NOT NULL AND r.created_at >= ? "
                          "ORDER BY r.id DESC LIMIT ?", (since, limit))
    return waiting, recent
