"""Matchmaking: ``seek``, ``unseek``, ``languages`` and ``match accept|decline``.

Theory of operation. ``seek`` puts the member in the ``lobby`` of their platform, noting
their realm (``Settings.realm_of``: on Discord, the server they seek from), and plants
one ``match_run`` job for that platform, due now (one job however many seek at once; it
plants itself again :data:`RUN_EVERY` while anyone waits). The
job reads the oldest :data:`WINDOW` seekers without an open proposal (memory stays
bounded), asks the pure :func:`core.matching.propose` for trios (never across realms),
and records each, with its realm, as a
``match_proposals`` row with three ``match_seats``; each member is told who the two others
are and who can mentor whom (nothing more of anyone's profile), with Accept and Decline.

A proposal is *open* until the three accept (the trio forms exactly as invitations form
one: the seating rules, then rooms, pair lines and charter), one declines (the decliner
leaves the lobby; the two others stay and are matched again), or it expires after
:data:`Settings.proposal_ttl`-like ``match_ttl`` (those who never answered leave the lobby).
The same three are never proposed again. A block made meanwhile cancels the proposal.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core import matching, queries, trios
from core.context import CommandHandler, Ctx, JobHandler
from core.effects import choice
from core.errors import Conflict, NotFound, ParseError
from core.grammar import Invocation
from core.i18n import _, _n, join, pick, render
from core.ids import MemberId
from core.quiet import zone
from core.storage.db import among
from core.timeutil import dt, ts

WINDOW = 10_000  # oldest seekers read per run
MATCH_TTL = timedelta(hours=48)
RUN_EVERY = timedelta(hours=6)  # the lobby is looked at again this often while people wait
RUN_JOB, EXPIRE_JOB = "match_run", "match_expire"
DEFAULT_LANGUAGES = "en"


def _run_key(platform: str) -> str:
    return f"{RUN_JOB}:{platform}"


async def languages(ctx: Ctx, inv: Invocation) -> None:
    """``languages fr en``: the languages you can talk in (for matchmaking)."""
    codes = (inv.args.get("codes") or "").replace(",", " ").lower().split()
    bad = [c for c in codes if not (c.isascii() and c.isalpha() and 2 <= len(c) <= 3)]
    if bad or not codes:
        raise ParseError(_("“{code}” is not a language code.", code=bad[0] if bad else ""),
                         hint=_("Use two-letter codes: {p}languages fr en", p=ctx.prefix))
    shown = " ".join(dict.fromkeys(codes))
    await ctx.tx.run("UPDATE members SET languages = ? WHERE id = ?", (shown, ctx.actor))
    ctx.reply(_("Your languages: {codes}. Matchmaking only proposes people who share one.",
                codes=shown))


async def seek(ctx: Ctx, inv: Invocation) -> None:
    """``seek``: join the lobby with your profile; say what is used and what is missing."""
    mine = await queries.trios_of(ctx.tx, ctx.actor)
    if len(mine) >= ctx.settings.max_trios:
        raise Conflict(_n("You are already in {n} trio, the most this community allows.",
                          "You are already in {n} trios, the most this community allows.",
                          len(mine)),
                       hint=_("Leave one first with {p}trio leave.", p=ctx.prefix))
    since = await ctx.tx.value("SELECT since FROM lobby WHERE member_id = ?", (ctx.actor,))
    if since is not None:
        raise Conflict(_("You are already looking for companions (since {since}).",
                         since=dt(since)),
                       hint=_("{p}unseek stops looking.", p=ctx.prefix))
    community = ctx.settings.community_of(ctx.actor)
    realm = ctx.settings.realm_of(ctx.actor)
    await ctx.tx.run("INSERT INTO lobby (member_id, platform, community, since, realm) "
                     "VALUES (?, ?, ?, ?, ?)",
                     (ctx.actor, ctx.platform, community, ts(ctx.now), realm))
    ctx.reply(await _profile_text(ctx))
    await ctx.schedule(RUN_JOB, _run_key(ctx.platform), ctx.now, {"platform": ctx.platform})


async def _profile_text(ctx: Ctx) -> str:
    """What ``seek`` uses of the profile, and what is missing, in one notice."""
    rows = await ctx.tx.all("SELECT kind, skill FROM skills WHERE member_id = ? ORDER BY skill",
                            (ctx.actor,))
    offers = [r["skill"] for r in rows if r["kind"] == "offer"]
    wants = [r["skill"] for r in rows if r["kind"] == "want"]
    me = await ctx.tx.one("SELECT tz, languages FROM members WHERE id = ?", (ctx.actor,))
    langs = (me["languages"] if me else None) or DEFAULT_LANGUAGES
    tz = me["tz"] if me else "UTC"
    nothing = _("nothing yet")
    text: str = _("You are looking for companions. I use: you offer {offers}; you want "
                  "{wants}; languages {langs}; time zone {tz}.",
                  offers=join(", ", offers) if offers else nothing,
                  wants=join(", ", wants) if wants else nothing, langs=langs, tz=tz)
    p = ctx.prefix
    missing = []
    if not offers:
        missing.append(_("something you can mentor ({p}offer <skill>)", p=p))
    if not wants:
        missing.append(_("something you would like to learn ({p}want <skill>)", p=p))
    if not me or not me["languages"]:
        missing.append(_("your languages ({p}languages fr en; English assumed)", p=p))
    if tz == "UTC":
        missing.append(_("your time zone ({p}timezone Europe/Paris; UTC assumed)", p=p))
    if missing:
        text += " " + _("Missing: {items}.", items=join("; ", missing))
    if not offers or not wants:
        text += " " + _("Without an offer and a want nobody can be matched with you.")
    return text + " " + _("I will propose a trio when I find two people you complement.")


async def unseek(ctx: Ctx, inv: Invocation) -> None:
    """``unseek``: leave the lobby (an open proposal to you is declined)."""
    gone = await ctx.tx.changes("DELETE FROM lobby WHERE member_id = ?", (ctx.actor,))
    for row in await _open_of(ctx, ctx.actor):
        await _decline(ctx, row["id"], ctx.actor)
    if not gone:
        raise NotFound(_("You were not looking for companions."),
                       hint=_("{p}seek starts looking.", p=ctx.prefix))
    ctx.reply(_("You stopped looking for companions. Nothing else changed."))


async def match(ctx: Ctx, inv: Invocation) -> None:
    """``match accept|decline``: answer the trio proposed to you."""
    rows = await _open_of(ctx, ctx.actor)
    wanted = inv.args.get("id")
    if wanted is not None:
        rows = [r for r in rows if r["id"] == wanted]
    if not rows:
        raise NotFound(_("No proposed trio is waiting for your answer."),
                       hint=_("{p}seek to look for companions.", p=ctx.prefix))
    pid = rows[0]["id"]
    if inv.args["answer"] == "decline":
        await _decline(ctx, pid, ctx.actor)
        await ctx.tx.run("DELETE FROM lobby WHERE member_id = ?", (ctx.actor,))
        ctx.reply(_("You declined proposed trio #{id}. Nobody learns who declined. "
                    "{p}seek to look again.", id=pid, p=ctx.prefix))
        await ctx.schedule(RUN_JOB, _run_key(ctx.platform), ctx.now, {"platform": ctx.platform})
        return
    await ctx.tx.run("UPDATE match_seats SET accepted = 1 WHERE proposal_id = ? AND member_id = ?",
                     (pid, ctx.actor))
    seats = await ctx.tx.all("SELECT member_id, accepted FROM match_seats WHERE proposal_id = ? "
                             "ORDER BY member_id", (pid,))
    if not all(s["accepted"] for s in seats):
        ctx.reply(_("You accepted proposed trio #{id}. It forms when the two others accept "
                    "too.", id=pid))
        return
    await _form(ctx, pid, [MemberId(s["member_id"]) for s in seats])


async def _open_of(ctx: Ctx, member: MemberId) -> list[Any]:
    return await ctx.tx.all(
        "SELECT p.id FROM match_proposals p JOIN match_seats s ON s.proposal_id = p.id "
        "WHERE s.member_id = ? AND p.state = 'open' ORDER BY p.id", (member,))


async def _others(ctx: Ctx, pid: int, member: MemberId) -> list[MemberId]:
    rows = await ctx.tx.all("SELECT member_id FROM match_seats WHERE proposal_id = ? "
                            "AND member_id != ? ORDER BY member_id", (pid, member))
    return [MemberId(r[0]) for r in rows]


async def _decline(ctx: Ctx, pid: int, member: MemberId) -> None:
    await ctx.tx.run("UPDATE match_proposals SET state = 'declined' WHERE id = ?", (pid,))
    await ctx.cancel(f"{EXPIRE_JOB}:{pid}")
    for other in await _others(ctx, pid, member):
        await ctx.notify(other, _("Proposed trio #{id} will not form: someone declined. You "
                                  "are still looking; I will propose other companions.", id=pid))


async def _form(ctx: Ctx, pid: int, members: list[MemberId]) -> None:
    """All three accepted: the trio forms as invitations form one."""
    await ctx.tx.run("UPDATE match_proposals SET state = 'formed' WHERE id = ?", (pid,))
    await ctx.cancel(f"{EXPIRE_JOB}:{pid}")
    await ctx.tx.run("DELETE FROM lobby WHERE member_id IN (?, ?, ?)", tuple(members))
    names = await queries.names(ctx.tx, members)
    realm = await ctx.tx.value("SELECT realm FROM match_proposals WHERE id = ?", (pid,))
    name = render(_("Trio of {names}", names=", ".join(names[m] for m in members)),
                  await _room_language(ctx, members))
    trio = await trios.form(ctx, members, name, realm)
    if trio is None:
        await ctx.tx.run("UPDATE match_proposals SET state = 'declined' WHERE id = ?", (pid,))
        gone = _("Proposed trio #{id} cannot form after all. You can {p}seek again.", id=pid,
                 p=ctx.prefix)
        for m in members:
            if m != ctx.actor:
                await ctx.notify(m, gone)
        ctx.reply(gone)
        return
    ctx.reply(_("Everyone accepted: your twinome “{name}” is formed. Your trio room and your "
                "two private lines are open.", name=trio.name))


async def _room_language(ctx: Ctx, members: list[MemberId]) -> str:
    """The language a matched trio's rooms will speak, in which its name is stored once: the
    one its three members share, else the bot's default (as :func:`core.trios.form` does)."""
    default = ctx.settings.default_language
    theirs = await queries.languages(ctx.tx, members)
    spoken = {pick(theirs.get(m), default) for m in members}
    return spoken.pop() if len(spoken) == 1 else pick(default)


async def run(ctx: Ctx, payload: dict[str, Any]) -> None:
    """Job: propose trios among the platform's seekers who have no open proposal."""
    platform = payload["platform"]
    seekers = await _seekers(ctx, platform)
    if seekers:  # blocks lifted, trios left, time zones changed: look again later
        await ctx.schedule(RUN_JOB, _run_key(platform), ctx.now + RUN_EVERY, payload)
    if len(seekers) < 3:
        return
    ids = [s.id for s in seekers]
    found = matching.propose(seekers, blocked=await _pairs(ctx, ids, _BLOCKS),
                             together=await _pairs(ctx, ids, _TOGETHER),
                             proposed=await _proposed(ctx, ids),
                             spread=ctx.settings.match_spread_h)
    realms = {s.id: s.realm for s in seekers}
    for proposal in found:
        await _offer(ctx, platform, proposal, realms[proposal.members[0]])


async def _seekers(ctx: Ctx, platform: str) -> list[matching.Seeker]:
    rows = await ctx.tx.all(
        "SELECT l.member_id, l.community, l.since, l.realm, m.tz, m.languages FROM lobby l "
        "JOIN members m ON m.id = l.member_id WHERE l.platform = ? AND NOT EXISTS ("
        "SELECT 1 FROM match_seats s JOIN match_proposals p ON p.id = s.proposal_id "
        "WHERE s.member_id = l.member_id AND p.state = 'open') ORDER BY l.since LIMIT ?",
        (platform, WINDOW))
    skills = await ctx.tx.all(
        "SELECT member_id, kind, skill FROM skills WHERE member_id IN (SELECT member_id FROM "
        "lobby WHERE platform = ?)", (platform,))
    offers: dict[str, set[str]] = {}
    wants: dict[str, set[str]] = {}
    for s in skills:
        (offers if s["kind"] == "offer" else wants).setdefault(s["member_id"], set()).add(s["skill"])
    now = ctx.now
    return [matching.Seeker(
        r["member_id"], frozenset(offers.get(r["member_id"], ())),
        frozenset(wants.get(r["member_id"], ())),
        frozenset((r["languages"] or DEFAULT_LANGUAGES).split()),
        _offset(r["tz"], now), r["community"], r["since"], r["realm"]) for r in rows]


def _offset(tz: str, now: datetime) -> float:
    """Hours east of UTC in ``tz`` now."""
    delta = now.astimezone(zone(tz)).utcoffset()
    return 0.0 if delta is None else delta.total_seconds() / 3600


_BLOCKS = "SELECT blocker, blocked FROM blocks WHERE blocker IN {ids} AND blocked IN {ids}"
_TOGETHER = ("SELECT a.member_id, b.member_id FROM trio_members a JOIN trio_members b "
             "ON b.trio_id = a.trio_id AND b.member_id > a.member_id JOIN trios t ON "
             "t.id = a.trio_id AND t.state != 'dissolved' WHERE a.member_id IN {ids} "
             "AND b.member_id IN {ids}")


async def _pairs(ctx: Ctx, ids: list[str], sql: str) -> set[frozenset[str]]:
    listed, params = among("id", ids)
    rows = await ctx.tx.all(sql.format(ids=listed), params)
    return {frozenset((r[0], r[1])) for r in rows}


async def _proposed(ctx: Ctx, ids: list[str]) -> set[frozenset[str]]:
    listed, params = among("id", ids)
    rows = await ctx.tx.all(
        "SELECT s.proposal_id, s.member_id FROM match_seats s WHERE s.proposal_id IN ("
        f"SELECT proposal_id FROM match_seats WHERE member_id IN {listed})", params)
    trios_: dict[int, set[str]] = {}
    for r in rows:
        trios_.setdefault(r[0], set()).add(r[1])
    return {frozenset(m) for m in trios_.values()}


async def _offer(ctx: Ctx, platform: str, proposal: matching.Proposal,
                 realm: str | None) -> None:
    members = [MemberId(m) for m in proposal.members]
    names = await queries.names(ctx.tx, members)
    why = matching.explain(proposal, {str(k): v for k, v in names.items()})
    expires = ctx.now + MATCH_TTL
    pid = await ctx.tx.insert(
        "INSERT INTO match_proposals (platform, explanation, created_at, expires_at, state, "
        "realm) VALUES (?, ?, ?, ?, 'open', ?)", (platform, str(why), ts(ctx.now), ts(expires), realm))
    await ctx.tx.many("INSERT INTO match_seats (proposal_id, member_id) VALUES (?, ?)",
                      [(pid, m) for m in members])
    await ctx.schedule(EXPIRE_JOB, f"{EXPIRE_JOB}:{pid}", expires, {"proposal": pid})
    for m in members:
        others = [await queries.known_as(ctx.tx, o, m) for o in members if o != m]
        await ctx.notify(m, _(
            "I found two companions for a twinome: {a} and {b} (proposed trio #{id}). {why} "
            "It forms if all three of you accept before {until}.", a=others[0], b=others[1],
            id=pid, why=why, until=expires),
            choices=(choice(_("Accept"), f"match accept {pid}", "success"),
                     choice(_("Decline"), f"match decline {pid}", "secondary")))


async def expire(ctx: Ctx, payload: dict[str, Any]) -> None:
    """Job: a proposal nobody completed in time; who never answered leaves the lobby."""
    pid = payload["proposal"]
    changed = await ctx.tx.changes("UPDATE match_proposals SET state = 'expired' WHERE id = ? "
                                   "AND state = 'open'", (pid,))
    if not changed:
        return
    seats = await ctx.tx.all("SELECT member_id, accepted FROM match_seats WHERE proposal_id = ?",
                             (pid,))
    for seat in seats:
        member = MemberId(seat["member_id"])
        if seat["accepted"]:
            await ctx.notify(member, _("Proposed trio #{id} expired: not everyone answered in "
                                       "time. You are still looking; I will propose others.",
                                       id=pid))
        else:
            await ctx.tx.run("DELETE FROM lobby WHERE member_id = ?", (member,))
            await ctx.notify(member, _("Proposed trio #{id} expired without your answer, so I "
                                       "stopped looking for you. {p}seek to look again.",
                                       id=pid, p=ctx.prefix))
    platform = await ctx.tx.value("SELECT platform FROM match_proposals WHERE id = ?", (pid,))
    await ctx.schedule(RUN_JOB, _run_key(platform), ctx.now, {"platform": platform})


COMMANDS: dict[str, CommandHandler] = {
    "languages": languages,
    "seek": seek,
    "unseek": unseek,
    "match": match,
}
JOBS: dict[str, JobHandler] = {RUN_JOB: run, EXPIRE_JOB: expire}

