"""Data rights: ``privacy export`` (everything held about a member) and ``privacy forget``.

Theory of operation. :data:`MEMBER_DATA` lists every column of the schema that holds a
member id, with what export and forget do with it; a test fails when the schema grows a
member column this list does not cover. Export runs one query per section of
:data:`_EXPORT`; forget first takes the member out of each trio with
:func:`core.trios.leave` (lines close, the others are told), then runs :data:`_FORGET`.

Decisions. The ledger belongs to the others too: mentorships and sessions stay, with the
member's id replaced by one fresh ``former:<hex>`` id (shown as "a former member"), and
the notes of the sessions *they* logged are erased. Closed pair lines keep their row with
the same former id. Plan steps they wrote for an ally's SOS are deleted, not anonymised:
they are their own words, and a step promised by someone who left cannot be carried out;
the ally keeps the other friend's steps. Blocks *against* them stay: they are the
blockers' data and must survive a forget-and-return; an export never reveals them.
Failed-code records (a rate limit) are deleted too: a new account would reset them
anyway, and invite codes carry 80 random bits. Safety reports they made stay for the
moderators, who must be able to act on harm done to others, with their id replaced by the
former id; the reason (their own words) is erased once the report reached the moderators'
room, and kept until then, or the report would be lost. A report still queued is rewritten
to say "Reported by: a former member". Reports *about* them stay as they are: like blocks,
they are the reporters' data.

Copies. Effects still waiting in the outbox for them (notices, replies, room
invitations) are dropped. Notices to others that relay their words or doings (``sent_by``:
held for quiet hours, or queued in the outbox) are deleted; the others' notices that only
name them are rewritten to say "a former member". Proposals of theirs cancelled by the
leave are announced without their text. A trio named after them by default ("Trio of
Bob", "Trio of Bob 2"), or one only they were left in, gets a neutral name ("Trio 7").
The notices forget itself sends to the trio-mates ("Bob left the trio") name them once.

On disk. Forget sets ``ctx.scrub``: the WAL is checkpointed and truncated after the
commit, and again once the effects queued until then are delivered (then the bindings of
their closed pair lines go too), so with ``secure_delete`` nothing of them stays in any
database file.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import replace
from typing import Any

from core import keys, queries, trios
from core.context import CommandHandler, Ctx, JobHandler
from core.effects import (
    Attachment,
    CloseRoom,
    Effect,
    InviteToRoom,
    Notify,
    Post,
    Reply,
    ReportToModerators,
    choice,
    from_json,
    to_json,
)
from core.grammar import Invocation
from core.i18n import LANGUAGES, Message, _, join, pick, render
from core.ids import MemberId
from core.safety import reported_by
from core.storage.db import Row, Tx, contains
from core.timeutil import dt

FORMER_PREFIX = "former:"

MEMBER_DATA: dict[tuple[str, str], str] = {
    ("members", "id"): "export: profile; forget: deleted",
    ("skills", "member_id"): "export: skills; forget: deleted",
    ("blocks", "blocker"): "export: blocks_you_made; forget: deleted",
    ("blocks", "blocked"): "export: never (the blocker's data); forget: kept",
    ("trio_members", "member_id"): "export: trios; forget: trio leave",
    ("setting_requests", "member_id"): "export: setting_requests; forget: deleted",
    ("invites", "created_by"): "export: invites_you_created; forget: revoked if open, unlinked",
    ("invites", "invitee"): "export: invites_to_you; forget: deleted",
    ("invites", "used_by"): "export: invites_you_used; forget: unlinked",
    ("redeem_failures", "member_id"): "export: failed_invite_codes; forget: deleted",
    ("rooms", "member_a"): "export: pair_lines; forget: former id (lines closed)",
    ("rooms", "member_b"): "export: pair_lines; forget: former id (lines closed)",
    ("line_state", "member_id"): "export: line_activity; forget: deleted",
    ("mentorships", "mentor"): "export: mentorships; forget: former id",
    ("mentorships", "mentee"): "export: mentorships; forget: former id",
    ("sessions", "logged_by"): "export: sessions; forget: former id, their note erased",
    ("sos", "member_id"): "export: sos_you_raised; forget: deleted with its plan",
    ("plan_steps", "author"): "export: plan_steps_you_wrote; forget: deleted",
    ("proposals", "author"): "export: proposals_you_made; forget: deleted with its votes",
    ("votes", "voter"): "export: votes_you_cast; forget: deleted",
    ("confirmations", "member_id"): "export: pending_confirmations; forget: deleted",
    ("held_notices", "member_id"): "export: held_notices; forget: deleted",
    ("held_notices", "sent_by"): "export: never (notices to others); forget: deleted",
    ("safety_reports", "reporter"): "export: reports_you_sent; forget: former id, the reason "
                                    "erased once delivered (kept for the moderators until then)",
    ("safety_reports", "reported"): "export: never (the reporter's data); forget: kept",
    ("lobby", "member_id"): "export: looking_for_companions; forget: deleted",
    ("match_seats", "member_id"): "export: proposed_trios; forget: deleted",
}
"""Every (table, column) holding a member id, and how export and forget treat it."""

_WHO = ("blocked", "invitee", "used_by", "mentor", "mentee", "logged_by", "with_member",
        "for_member", "reported")
_TIMES = ("created_at", "joined_at", "expires_at", "at", "away_since", "away_until",
          "last_spoke_at", "owes_since", "accrual_from", "confirmed_at", "ready_at", "due_at", "delivered_at")
_JOBS_OF = ("(key LIKE :k_end ESCAPE '\\' OR key LIKE :k_mid ESCAPE '\\' "
            f"OR {contains('payload', ':json')})")
_INVITE = ("SELECT i.code, i.trio_id, t.name AS trio, i.invitee, i.created_at, i.expires_at, "
           "i.state, i.used_by FROM invites i JOIN trios t ON t.id = i.trio_id WHERE ")

_EXPORT: tuple[tuple[str, str], ...] = (
    ("skills", "SELECT kind, skill FROM skills WHERE member_id = :m ORDER BY kind, skill"),
    ("blocks_you_made",
     "SELECT blocked, created_at FROM blocks WHERE blocker = :m ORDER BY created_at, blocked"),
    ("trios",
     "SELECT t.id, t.name, t.state, tm.joined_at FROM trio_members tm JOIN trios t "
     "ON t.id = tm.trio_id WHERE tm.member_id = :m ORDER BY t.id"),
    ("setting_requests",
     "SELECT trio_id, key, value FROM setting_requests WHERE member_id = :m "
     "ORDER BY trio_id, key"),
    ("invites_you_created", _INVITE + "i.created_by = :m ORDER BY i.created_at, i.code"),
    ("invites_to_you", _INVITE + "i.invitee = :m ORDER BY i.created_at, i.code"),
    ("invites_you_used", _INVITE + "i.used_by = :m ORDER BY i.created_at, i.code"),
    ("pair_lines",
     "SELECT id, trio_id, state, created_at, CASE WHEN member_a = :m THEN member_b "
     "ELSE member_a END AS with_member FROM rooms WHERE purpose = 'pair' "
     "AND (member_a = :m OR member_b = :m) ORDER BY id"),
    ("line_activity",
     "SELECT l.room_id, r.trio_id, r.purpose, l.messages, l.initiations, l.replies, "
     "l.reply_total_s, l.last_spoke_at, l.owes_since, l.accrued_s, l.accrual_from, "
     "l.reminded, l.relanced FROM line_state l JOIN rooms r ON r.id = l.room_id "
     "WHERE l.member_id = :m ORDER BY l.room_id"),
    ("mentorships",
     "SELECT id, trio_id, mentor, mentee, skill, state, created_at FROM mentorships "
     "WHERE mentor = :m OR mentee = :m ORDER BY id"),
    ("sessions",
     "SELECT s.id, s.mentorship_id, m.skill, m.mentor, m.mentee, s.minutes, s.note, "
     "s.logged_by, s.created_at, s.confirmed_at, s.withdrawn_at FROM sessions s JOIN mentorships m "
     "ON m.id = s.mentorship_id WHERE m.mentor = :m OR m.mentee = :m OR s.logged_by = :m "
     "ORDER BY s.id"),
    ("sos_you_raised",
     "SELECT id, trio_id, note, created_at, ready_at FROM sos WHERE member_id = :m ORDER BY id"),
    ("plan_steps_you_wrote",
     "SELECT p.id, p.sos_id, s.member_id AS for_member, p.text, p.created_at "
     "FROM plan_steps p JOIN sos s ON s.id = p.sos_id WHERE p.author = :m ORDER BY p.id"),
    ("proposals_you_made",
     "SELECT id, trio_id, text, state, created_at, expires_at, withdrawn_at FROM proposals "
     "WHERE author = :m ORDER BY id"),
    ("votes_you_cast",
     "SELECT v.proposal_id, p.text AS proposal, v.approve FROM votes v "
     "JOIN proposals p ON p.id = v.proposal_id WHERE v.voter = :m ORDER BY v.proposal_id"),
    ("held_notices",
     "SELECT text, created_at FROM held_notices WHERE member_id = :m ORDER BY id"),
    ("pending_confirmations",
     "SELECT action, trio_id, expires_at FROM confirmations WHERE member_id = :m"),
    ("failed_invite_codes", "SELECT at FROM redeem_failures WHERE member_id = :m ORDER BY at"),
    ("reports_you_sent",
     "SELECT r.id, r.reported, t.name AS trio, r.reason, r.created_at, r.delivered_at "
     "FROM safety_reports r LEFT JOIN trios t ON t.id = r.trio_id WHERE r.reporter = :m "
     "ORDER BY r.id"),
    ("looking_for_companions", "SELECT platform, community, since FROM lobby WHERE member_id = :m"),
    ("proposed_trios",
     "SELECT p.id, p.state, p.created_at, p.expires_at, s.accepted FROM match_seats s "
     "JOIN match_proposals p ON p.id = s.proposal_id WHERE s.member_id = :m ORDER BY p.id"),
    ("scheduled", f"SELECT kind, due_at FROM jobs WHERE {_JOBS_OF} ORDER BY due_at"),
    ("direct_chat", "SELECT platform, ref FROM platform_refs WHERE key = :dm"),
    ("platform_bindings",
     "SELECT platform, key, ref FROM platform_refs WHERE key = :dm "
     "OR (key NOT LIKE 'room:%' AND (key LIKE :k_end ESCAPE '\\' OR key LIKE :k_mid "
     "ESCAPE '\\')) OR key IN (SELECT 'room:' || r.id FROM rooms r WHERE r.member_a = :m OR r.member_b = :m "
     "OR (r.purpose = 'trio' AND r.trio_id IN "
     "(SELECT trio_id FROM trio_members WHERE member_id = :m))) ORDER BY platform, key"),
)

_FORGET: tuple[str, ...] = (
    "DELETE FROM skills WHERE member_id = :m",
    "DELETE FROM blocks WHERE blocker = :m",
    "DELETE FROM setting_requests WHERE member_id = :m",
    "DELETE FROM invites WHERE invitee = :m",
    "UPDATE invites SET state = 'revoked' WHERE created_by = :m AND state = 'open'",
    "UPDATE invites SET created_by = NULL WHERE created_by = :m",
    "UPDATE invites SET used_by = NULL WHERE used_by = :m",
    "DELETE FROM plan_steps WHERE author = :m",
    "DELETE FROM sos WHERE member_id = :m",
    "DELETE FROM votes WHERE voter = :m",
    "DELETE FROM proposals WHERE author = :m",
    "UPDATE sessions SET note = NULL WHERE logged_by = :m AND note IS NOT NULL",
    "UPDATE sessions SET logged_by = :former WHERE logged_by = :m",
    "UPDATE mentorships SET mentor = :former WHERE mentor = :m",
    "UPDATE mentorships SET mentee = :former WHERE mentee = :m",
    "UPDATE rooms SET member_a = :former WHERE member_a = :m",
    "UPDATE rooms SET member_b = :former WHERE member_b = :m",
    "DELETE FROM line_state WHERE member_id = :m",
    "DELETE FROM held_notices WHERE member_id = :m",
    "DELETE FROM confirmations WHERE member_id = :m",
    f"DELETE FROM jobs WHERE {_JOBS_OF}",
    "DELETE FROM redeem_failures WHERE member_id = :m",
    "UPDATE safety_reports SET reason = NULL WHERE reporter = :m AND delivered_at IS NOT NULL",
    "UPDATE safety_reports SET reporter = :former WHERE reporter = :m",
    "DELETE FROM platform_refs WHERE key = :dm OR (key NOT LIKE 'room:%' AND (key LIKE "
    ":k_end ESCAPE '\\' OR key LIKE :k_mid ESCAPE '\\'))",
    "DELETE FROM lobby WHERE member_id = :m",
    "UPDATE match_proposals SET state = 'declined' WHERE state = 'open' AND id IN "
    "(SELECT proposal_id FROM match_seats WHERE member_id = :m)",
    "UPDATE match_proposals SET explanation = '' WHERE id IN "
    "(SELECT proposal_id FROM match_seats WHERE member_id = :m)",
    "DELETE FROM match_seats WHERE member_id = :m",
    "DELETE FROM members WHERE id = :m",
)


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _params(member: MemberId, former: str = "") -> dict[str, str]:
    """Named parameters shared by every export and forget statement."""
    return {"m": member, "former": former, "dm": keys.dm_key(member), "json": json.dumps(member),
            "k_end": f"%:{_like(member)}", "k_mid": f"%:{_like(member)}:%"}


def _iso(value: Any) -> Any:
    return dt(value).isoformat() if isinstance(value, int) else value


async def _plain(tx: Tx, row: Row, member: MemberId) -> dict[str, Any]:
    """A row as JSON-ready values: readable times, people as id and name."""
    out: dict[str, Any] = {}
    for key, value in dict(row).items():
        if key in _TIMES:
            value = _iso(value)
        elif key in _WHO and value is not None:
            value = {"id": value,
                     "name": "you" if value == member else await queries.name(tx, value)}
        out[key] = value
    return out


async def export(tx: Tx, member: MemberId) -> dict[str, Any]:
    """Everything held about ``member``, section by section."""
    params = _params(member)
    profile = await tx.one("SELECT * FROM members WHERE id = :m", params)
    doc: dict[str, Any] = {
        "about": "All the data Twinome holds about you. No message bodies are ever stored: "
                 "only who wrote in which line and when, and the commands you typed.",
        "member": member,
        "profile": None if profile is None else await _plain(tx, profile, member),
    }
    for section, sql in _EXPORT:
        doc[section] = [await _plain(tx, r, member) for r in await tx.all(sql, params)]
    for trio in doc["trios"]:
        trio["members"] = ", ".join(r[0] for r in await tx.all(
            "SELECT coalesce(o.display_name, o.id) FROM trio_members x JOIN members o "
            "ON o.id = x.member_id WHERE x.trio_id = ? ORDER BY x.member_id", (trio["id"],)))
    return doc


async def privacy_export(ctx: Ctx, inv: Invocation) -> None:
    """``privacy export``: a JSON document, privately, as a file."""
    doc = await export(ctx.tx, ctx.actor)
    doc["exported_at"] = ctx.now.isoformat()
    name = f"twinome-export-{ctx.now:%Y-%m-%d}.json"
    ctx.reply(_("Here is all the data I hold about you, as a JSON file ({file}). Keep it "
                "safe: it is personal.", file=name), private=True,
              attachment=Attachment(name, json.dumps(doc, indent=2, ensure_ascii=False)))


def _default_name(name: str) -> re.Pattern[str]:
    """The names a trio gets after its maker, in any language: "Trio of Bob", "Trio of Bob 2"."""
    said = {render(_("Trio of {name}", name=name), lang) for lang in LANGUAGES}
    either = "|".join(re.escape(form) for form in sorted(said))
    return re.compile(rf"(?:{either})(?: \d+)?", re.IGNORECASE)


async def _leave_all(ctx: Ctx, member: MemberId) -> list[str]:
    """Take ``member`` out of every trio; a trio named after them, or that only they were
    left in (whatever they named it), gets a neutral name."""
    default = _default_name(await queries.name(ctx.tx, member))
    left = []
    for trio in await queries.trios_of(ctx.tx, member):
        alone = await queries.members(ctx.tx, trio.id) == [member]
        if default.fullmatch(trio.name) or alone:
            await ctx.tx.run("UPDATE trios SET name = ? WHERE id = ?", (f"Trio {trio.id}", trio.id))
            trio = await queries.trio(ctx.tx, trio.id)
        await trios.leave(ctx, trio, member)
        left.append(trio.name)
    return left


def _former() -> Message:
    """How the bot names someone who asked to be forgotten."""
    return _("a former member")


def _rewrite(text: str, member: MemberId, name: str, former: str) -> str:
    """``text`` with the member's name and id replaced by ``former`` ("a former member")."""
    text = text.replace(f"{name} ({member})", former)
    for word in (name, member):
        if word:
            text = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", lambda _m: former, text)
    return text


async def _scrub_copies(tx: Tx, member: MemberId, name: str, default: str) -> int:
    """Purge or rewrite every copy of the member in other people's pending notices.

    Held notices and queued outbox effects that relay the member's words or doings
    (``sent_by``) are deleted; those that only name them are rewritten ("a former member",
    in the language the copy is written in: ``default`` is the bot's). Effects addressed to
    the member themselves are dropped. Returns how many were dropped.
    """
    await tx.run("DELETE FROM held_notices WHERE sent_by = ?", (member,))
    rows = await tx.all("SELECT h.id, h.text, coalesce(m.language, m.locale) AS lang "
                        "FROM held_notices h LEFT JOIN members m ON m.id = h.member_id "
                        f"WHERE {contains('h.text')} OR {contains('h.text')}",
                        (member, name or member))
    for row in rows:
        former = render(_former(), pick(row["lang"], default))
        await tx.run("UPDATE held_notices SET text = ? WHERE id = ?",
                     (_rewrite(row["text"], member, name, former), row["id"]))
    needles = {json.dumps(member)[1:-1], json.dumps(name)[1:-1] if name else member}
    rows = await tx.all("SELECT id, effect FROM outbox WHERE "
                        + " OR ".join([contains("effect")] * len(needles)), tuple(needles))
    dropped = 0
    for row in rows:
        effect = from_json(row["effect"])
        mine = (isinstance(effect, Reply | Notify) and effect.to == member) or (
            isinstance(effect, InviteToRoom) and effect.member == member)
        if mine or getattr(effect, "sent_by", None) == member:
            dropped += await tx.changes("DELETE FROM outbox WHERE id = ?", (row["id"],))
        elif isinstance(effect, ReportToModerators):  # the moderators still need the account
            lang = pick(default)
            by = render(reported_by(""), lang)
            lines = [render(reported_by(_former()), lang)
                     if line.startswith(by) and member in line else line
                     for line in effect.text.split("\n")]
            if lines != effect.text.split("\n"):
                await tx.run("UPDATE outbox SET effect = ? WHERE id = ?",
                             (to_json(replace(effect, text="\n".join(lines))), row["id"]))
        elif isinstance(effect, Reply | Notify | Post | CloseRoom):
            if isinstance(effect, CloseRoom):
                text = effect.reason
                lang = pick((await queries.room_languages(tx, [effect.room])).get(effect.room),
                            default)
            else:
                text, lang = effect.text, pick(effect.lang, default)
            new = _rewrite(text, member, name, render(_former(), lang))
            if new != text:
                changed: Effect = (replace(effect, reason=new) if isinstance(effect, CloseRoom)
                                   else replace(effect, text=new))
                await tx.run("UPDATE outbox SET effect = ? WHERE id = ?",
                             (to_json(changed), row["id"]))
    return dropped


def _labels() -> dict[str, Message]:
    """What each kind of record forget counts is called."""
    return {
        "profile": _("profile"), "skills": _("skills"), "blocks_you_made": _("blocks you made"),
        "trios": _("trios"), "setting_requests": _("setting requests"),
        "invites_you_created": _("invites you created"), "invites_to_you": _("invites to you"),
        "invites_you_used": _("invites you used"), "pair_lines": _("pair lines"),
        "line_activity": _("line activity"), "mentorships": _("mentorships"),
        "sessions": _("sessions"), "sos_you_raised": _("sos you raised"),
        "plan_steps_you_wrote": _("plan steps you wrote"),
        "proposals_you_made": _("proposals you made"), "votes_you_cast": _("votes you cast"),
        "held_notices": _("held notices"), "pending_confirmations": _("pending confirmations"),
        "failed_invite_codes": _("failed invite codes"),
        "reports_you_sent": _("reports you sent"),
        "looking_for_companions": _("looking for companions"),
        "proposed_trios": _("proposed trios"), "scheduled": _("scheduled"),
        "direct_chat": _("direct chat"), "platform_bindings": _("platform bindings"),
        "undelivered_notices": _("undelivered notices"),
    }


async def forget(ctx: Ctx, member: MemberId) -> dict[str, int]:
    """Delete everything about ``member``; returns how many records of each kind were held
    (by export section: ``profile``, ``skills``…, and ``undelivered_notices``)."""
    held = await export(ctx.tx, member)
    counts = {"profile": 1} if held["profile"] else {}
    counts |= {k: len(v) for k, v in held.items() if isinstance(v, list) and v}
    name = await queries.name(ctx.tx, member)
    name = "" if name == member else name
    await _leave_all(ctx, member)
    params = _params(member, FORMER_PREFIX + secrets.token_hex(8))
    for sql in _FORGET:
        await ctx.tx.run(sql, params)
    dropped = await _scrub_copies(ctx.tx, member, name, ctx.settings.default_language)
    if dropped:
        counts["undelivered_notices"] = dropped
    return counts


async def privacy_forget(ctx: Ctx, inv: Invocation) -> None:
    """``privacy forget [confirm]``."""
    if inv.args.get("confirm") != "confirm":
        mine = await queries.trios_of(ctx.tx, ctx.actor)
        ask: str = _("Forget you? I would delete your profile, skills, blocks, SOS, plans, "
                     "proposals, votes and line records.")
        if mine:
            ask += " " + _("You will leave {trios}; the others are told you left.",
                           trios=join(", ", [_("“{trio}”", trio=t.name) for t in mine]))
        ask += " " + _("Mentoring you gave or received stays in the others' ledger as "
                       "“{former}”. This cannot be undone; {p}privacy export first if you "
                       "want a copy.", former=_former(), p=ctx.prefix)
        ctx.reply(ask, private=True,
                  choices=(choice(_("Forget me"), "privacy forget confirm", "danger"),))
        return
    counts = await forget(ctx, ctx.actor)
    ctx.scrub = True  # after the commit, the WAL's old page images leave the disk
    labels = _labels()
    done = join(", ", [labels.get(kind, kind.replace("_", " ")) + " " + str(n)
                       for kind, n in counts.items()])
    ctx.reply(
        _("Done: I forgot you. Deleted, or made anonymous where the others need it: {done}. "
          "Mentoring entries stay in the others' ledger as “{former}”. If you write to me "
          "again, I start afresh. Take care.", done=done, former=_former()),
        private=True,
    )


COMMANDS: dict[str, CommandHandler] = {
    "privacy export": privacy_export,
    "privacy forget": privacy_forget,
}
JOBS: dict[str, JobHandler] = {}
