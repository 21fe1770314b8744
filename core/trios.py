"""Trio life: forming by invite code or direct invitation, activation, leaving, settings."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from core import features_hooks, invites, lines, queries, seating, turns
from core.context import CommandHandler, Ctx, JobHandler, tags
from core.effects import choice
from core.errors import Conflict, Forbidden, NotFound, ParseError
from core.grammar import Invocation
from core.i18n import LANGUAGES, Text, _, _n, join, language_code, pick, render
from core.ids import MemberId
from core.model import Trio
from core.storage.db import Row
from core.textrules import parse_duration, slug
from core.timeutil import dt, ts

SEATS = 3


async def _check_cap(ctx: Ctx, member: MemberId) -> None:
    mine = await queries.trios_of(ctx.tx, member)
    if len(mine) >= ctx.settings.max_trios:
        raise Conflict(
            _n("You are already in {n} trio, the most this community allows.",
               "You are already in {n} trios, the most this community allows.", len(mine)),
            hint=_("Leave one first with {p}trio leave.", p=ctx.prefix),
        )


def _code_text(ctx: Ctx, code: str, expires: int) -> str:
    link = ctx.settings.invite_link.format(code=code)
    return _("Invite code: {code}\nLink: {link}\nIt works once and expires {when}. "
             "The person types {p}trio join {code}", code=code, link=link, when=dt(expires),
             p=ctx.prefix)


async def _fresh_name(ctx: Ctx, wanted: str | None, renamed: Trio | None = None) -> str:
    """The new trio's name, numbered if the actor already has one so called (``#name`` stays clear)."""
    taken = {slug(t.name) for t in await queries.trios_of(ctx.tx, ctx.actor) if t != renamed}
    # A name is stored, so it is said once, in the language of whoever starts the trio.
    base = wanted or render(_("Trio of {name}", name=await queries.name(ctx.tx, ctx.actor)),
                            ctx.language)
    name, number = base, 1
    while slug(name) in taken:
        number += 1
        name = f"{base} {number}"
    return name


async def trio_new(ctx: Ctx, inv: Invocation) -> None:
    """``trio new [name] [confirm]``: a second forming trio is asked about first."""
    await _check_cap(ctx, ctx.actor)
    if inv.args.get("confirm") is None and await _ask_another(ctx, inv.args.get("name")):
        return
    name = await _fresh_name(ctx, inv.args.get("name"))
    s = ctx.settings
    trio_id = await ctx.tx.insert(
        "INSERT INTO trios (name, state, created_at, patience_s, relance, proposal_ttl_s, "
        "platform, realm, language) VALUES (?, 'forming', ?, ?, ?, ?, ?, ?, ?)",
        (name, ts(ctx.now), int(s.patience.total_seconds()), s.relance,
         int(s.proposal_ttl.total_seconds()), ctx.platform, s.realm_of(ctx.actor), ctx.language),
    )
    await ctx.tx.run(
        "INSERT INTO trio_members (trio_id, member_id, joined_at) VALUES (?, ?, ?)",
        (trio_id, ctx.actor, ts(ctx.now)),
    )
    expires = ctx.now + s.invite_ttl
    code = await invites.create(ctx.tx, trio_id, ctx.actor, None, ctx.now, expires)
    wanted = inv.args.get("name")
    text = (_("Your trio “{name}” (#{tag}) is forming. Share this with two people you trust:",
              name=name, tag=slug(name))
            + "\n" + _code_text(ctx, code, ts(expires))
            + "\n" + _("Or invite someone directly: {p}trio invite @name", p=ctx.prefix))
    if wanted and wanted != name:
        text = _("You already have a trio called “{wanted}”, so this one is “{name}”.",
                 wanted=wanted, name=name) + " " + text
    if not wanted:
        text = text + "\n" + _("Give it a name of your own with {p}trio rename <name>", p=ctx.prefix)
    ctx.reply(text)


async def _ask_another(ctx: Ctx, wanted: str | None) -> bool:
    """While a trio of the actor is still forming, ask (True) before starting another:
    a second ``trio new`` is most often meant to name the first."""
    forming = [t for t in await queries.trios_of(ctx.tx, ctx.actor) if t.state == "forming"]
    if not forming:
        return False
    listing = join(", ", [_("“{name}” ({n}/3)", name=t.name,
                             n=len(await queries.members(ctx.tx, t.id))) for t in forming])
    again = "trio new" + (f" {wanted}" if wanted else "") + " confirm"
    renames = tuple(choice(_("Rename “{old}” to “{new}”", old=t.name, new=wanted),
                           f"trio rename #{t.id} {wanted}")
                    for t in forming[-3:]) if wanted else ()
    ask = (_("Rename it, or really start another trio?") if wanted
           else _("Start another trio anyway?"))
    ctx.reply(_("You already have a trio still forming: {listing}. {ask}", listing=listing, ask=ask),
              choices=(*renames, choice(_("Start another"), again, "secondary")))
    return True


async def trio_rename(ctx: Ctx, inv: Invocation) -> None:
    """``trio rename <name>``: a forming trio takes a new name (its rooms do not exist yet)."""
    trio = await ctx.trio(inv)
    if trio.state != "forming":
        raise Conflict(_("“{name}” is complete: its rooms carry its name, so it keeps it.",
                         name=trio.name))
    wanted: str = inv.args["name"]
    if slug(wanted) == slug(trio.name):
        raise Conflict(_("Your trio is already called “{name}”.", name=trio.name))
    name = await _fresh_name(ctx, wanted, trio)
    await ctx.tx.run("UPDATE trios SET name = ? WHERE id = ?", (name, trio.id))
    who = await queries.name(ctx.tx, ctx.actor)
    for m in await queries.members(ctx.tx, trio.id):
        if m != ctx.actor:
            await ctx.notify(m, _("{who} renamed your forming trio “{old}” to “{new}”.",
                                  who=who, old=trio.name, new=name))
    ctx.reply(_("“{old}” is now “{new}” (#{tag}); its invite codes still work.",
                old=trio.name, new=name, tag=slug(name)))


async def trio_invite(ctx: Ctx, inv: Invocation) -> None:
    """``trio invite [@user]``: a new code, or a personal invitation."""
    trio = await ctx.trio(inv)
    members = await queries.members(ctx.tx, trio.id)
    if len(members) >= SEATS:
        raise Conflict(_("“{name}” already has its three members.", name=trio.name))
    expires = ctx.now + ctx.settings.invite_ttl
    target = inv.args.get("user")
    if target is None:
        code = await invites.create(ctx.tx, trio.id, ctx.actor, None, ctx.now, expires)
        ctx.reply(_("A new seat offer for “{name}”.", name=trio.name) + "\n"
                  + _code_text(ctx, code, ts(expires)), private=True)
        return
    invitee = await ctx.member_arg(target)
    if invitee == ctx.actor:
        raise Conflict(_("You are already in “{name}”.", name=trio.name),
                       hint=_("Invite someone else: {p}trio invite @name", p=ctx.prefix))
    if invitee in members:
        raise Conflict(_("{who} is already in “{name}”.", who=await queries.name(ctx.tx, invitee),
                         name=trio.name))
    await _check_invitation_rate(ctx, invitee, target)
    again = await _replace_invitation(ctx, trio, invitee)
    code = await invites.create(ctx.tx, trio.id, ctx.actor, invitee, ctx.now, expires)
    if not await seating.refused(ctx.tx, trio.id, invitee):  # it could never seat them
        await queries.ensure_member(ctx.tx, invitee, None, ts(ctx.now))
        who = await queries.known_as(ctx.tx, ctx.actor, invitee)
        seated = [await queries.known_as(ctx.tx, m, invitee) for m in members]
        await ctx.notify(invitee, _(
            "{who} invites you to take a seat in the twinome “{name}” ({seated}). Nobody is "
            "added without your consent: accept or decline before {when}.",
            who=who, name=trio.name, seated=join(", ", seated), when=expires,
        ), choices=(choice(_("Accept"), f"trio accept {code}", "success"),
                    choice(_("Decline"), f"trio decline {code}", "secondary")))
    if again:
        ctx.reply(_("I asked {who} again whether they want to join “{name}”. The invitation "
                    "expires {when}. It replaces the earlier one.",
                    who=target, name=trio.name, when=expires))
    else:
        ctx.reply(_("I asked {who} whether they want to join “{name}”. The invitation expires "
                    "{when}.", who=target, name=trio.name, when=expires))


async def _check_invitation_rate(ctx: Ctx, invitee: MemberId, typed: str) -> None:
    """Refuse a personal invitation past the daily limits, per inviter and per invitee."""
    s, since = ctx.settings, ts(ctx.now - ctx.settings.invitation_window)
    sent = int(await ctx.tx.value(
        "SELECT count(*) FROM invites WHERE created_by = ? AND invitee IS NOT NULL "
        "AND created_at > ?", (ctx.actor, since)))
    if sent >= s.invitations_sent:
        raise Forbidden(_n("You have sent {n} personal invitation today, the most I pass on "
                           "in a day.", "You have sent {n} personal invitations today, the most "
                           "I pass on in a day.", sent),
                        hint=_("Share an invite code instead ({p}trio invite), or invite again "
                               "tomorrow.", p=ctx.prefix))
    received = int(await ctx.tx.value(
        "SELECT count(*) FROM invites WHERE invitee = ? AND created_at > ?", (invitee, since)))
    if received >= s.invitations_received:
        raise Forbidden(_("{who} has received several invitations today already; I pass on no "
                          "more until tomorrow.", who=typed),
                        hint=_("If they know you, share an invite code with them "
                               "({p}trio invite).", p=ctx.prefix))


async def _replace_invitation(ctx: Ctx, trio: Trio, invitee: MemberId) -> bool:
    """Withdraw an open invitation of ``invitee`` to this trio: one at a time is enough."""
    return bool(await ctx.tx.changes(
        "UPDATE invites SET state = 'revoked' WHERE trio_id = ? AND invitee = ? "
        "AND state = 'open' AND expires_at > ?", (trio.id, invitee, ts(ctx.now))))


async def _failed_redemption(ctx: Ctx, message: str) -> None:
    """Count a wrong or stale code and say so, without raising (the count must stay)."""
    await ctx.tx.run("INSERT INTO redeem_failures (member_id, at) VALUES (?, ?)",
                     (ctx.actor, ts(ctx.now)))
    ctx.reply(message, error=True)


async def _rate_limited(ctx: Ctx) -> bool:
    since = ts(ctx.now - ctx.settings.redeem_window)
    failures = await ctx.tx.value(
        "SELECT count(*) FROM redeem_failures WHERE member_id = ? AND at > ?", (ctx.actor, since)
    )
    return int(failures) >= ctx.settings.redeem_failures


async def trio_join(ctx: Ctx, inv: Invocation) -> None:
    """``trio join <code>``."""
    if await _rate_limited(ctx):
        minutes = int(ctx.settings.redeem_window.total_seconds() // 60)
        raise Forbidden(_("Too many codes that did not work. For safety, wait a little."),
                        hint=_n("Try again in about {n} minute.", "Try again in about {n} minutes.",
                                minutes))
    invite = await invites.find(ctx.tx, inv.args["code"])
    problem = _unusable(ctx, invite)
    if invite is None or problem:
        await _failed_redemption(ctx, problem)
        return
    await seat(ctx, invite["trio_id"], invite["code"])


def _unusable(ctx: Ctx, invite: Any) -> str:
    """Why this invite cannot seat the actor now, with what to do ("" if it can)."""
    fresh = "\n" + _("Ask a member of the trio for a fresh code ({p}trio invite).", p=ctx.prefix)
    if invite is None:
        return _("That invite code does not work: check that it is typed in full.") + fresh
    if invite["invitee"] is not None and invite["invitee"] != ctx.actor:
        return _("That invite code was made for someone else.") + fresh
    if invite["used_by"] == ctx.actor:
        return _("You already took your seat in “{name}” with that code.", name=invite["name"])
    if invite["trio_state"] == "dissolved":
        return _("That invite code belonged to a trio that no longer exists.")
    if invite["trio_state"] == "active":
        return _("“{name}” is already complete: a trio never has more than three members.",
                 name=invite["name"])
    if invite["state"] == "used":
        return _("That invite code was already used: each code seats one person.") + fresh
    if invite["state"] != "open":
        return _("That invite code was cancelled.") + fresh
    if invite["expires_at"] <= ts(ctx.now):
        return _("That invite code expired on {when}.", when=dt(invite["expires_at"])) + fresh
    return ""


async def _invitations(ctx: Ctx) -> list[Row]:
    """The open personal invitations to the actor, oldest first (none from blocked people)."""
    return await ctx.tx.all(
        "SELECT i.*, t.name FROM invites i JOIN trios t ON t.id = i.trio_id "
        f"WHERE i.invitee = ? AND i.state = 'open' AND i.expires_at > ? AND {seating.VISIBLE_INVITATION} "
        "ORDER BY i.created_at",
        (ctx.actor, ts(ctx.now)),
    )


async def _addressed(ctx: Ctx, inv: Invocation) -> Any:
    """The personal invitation a ``trio accept/decline [code]`` refers to."""
    rows = await _invitations(ctx)
    code = inv.args.get("code")
    if code:
        rows = [r for r in rows if r["code"] == invites.normalise(code)]
    if not rows:
        raise NotFound(_("You have no pending invitation with that code.") if code
                       else _("You have no pending invitation."),
                       hint=_("Invitations expire after a while; ask for a new one."))
    if len(rows) > 1:
        listing = join("; ", [_("“{name}”: {code}", name=r["name"], code=r["code"]) for r in rows])
        raise Conflict(_n("You have {n} invitation: {listing}.",
                          "You have {n} invitations: {listing}.", len(rows), listing=listing),
                       hint=_("Add the code: {p}{command} <code>", p=ctx.prefix,
                              command=inv.command.name))
    return rows[0]


async def trio_accept(ctx: Ctx, inv: Invocation) -> None:
    """``trio accept [code]``."""
    invite = await _addressed(ctx, inv)
    await seat(ctx, invite["trio_id"], invite["code"])


async def trio_decline(ctx: Ctx, inv: Invocation) -> None:
    """``trio decline [code]``."""
    invite = await _addressed(ctx, inv)
    await ctx.tx.run("UPDATE invites SET state = 'declined' WHERE code = ?", (invite["code"],))
    ctx.reply(_("You declined the invitation to “{name}”. Nobody will insist.",
                name=invite["name"]))
    if invite["created_by"]:
        who = await queries.known_as(ctx.tx, ctx.actor, invite["created_by"])
        await ctx.notify(invite["created_by"], _("{who} declined the invitation to “{name}”.",
                                                 who=who, name=invite["name"]),
                         sender=ctx.actor)


async def seat(ctx: Ctx, trio_id: int, code: str) -> None:
    """Give the actor a seat: checks, membership, then activation on the third seat.

    Every way into a trio goes through here, so the rules of :mod:`core.seating` hold on all.
    """
    trio = await queries.trio(ctx.tx, trio_id)
    members = await queries.members(ctx.tx, trio.id)
    if ctx.actor in members:
        raise Conflict(_("You are already in “{name}”.", name=trio.name))
    if trio.state != "forming" or len(members) >= SEATS:
        raise Conflict(_("“{name}” is full: a trio never has more than three members.",
                         name=trio.name))
    if trio.platform != ctx.platform:
        raise Forbidden(_("“{name}” lives on another platform ({platform}): its rooms cannot "
                          "hold you here.", name=trio.name, platform=trio.platform),
                        hint=_("Join it from an account on that platform."))
    realm = ctx.settings.realm_of(ctx.actor)  # None: no realms here, or not known yet
    if trio.realm is not None and realm is not None and trio.realm != realm:
        raise Forbidden(_("“{name}” lives on another server: its rooms cannot hold you here.",
                          name=trio.name), hint=_("Join it from that server."))
    if await seating.refused(ctx.tx, trio.id, ctx.actor):
        raise Forbidden(_("This code cannot be used."),
                        hint=_("Ask for another way in, or start a trio: {p}trio new", p=ctx.prefix))
    await _check_cap(ctx, ctx.actor)
    if trio.realm is None and realm is not None:
        # Started where no realm was known (a DM by someone not seen in a server yet): it
        # lives where its first member from a server joins it, and seats no one from another.
        await ctx.tx.run("UPDATE trios SET realm = ? WHERE id = ?", (realm, trio.id))
        trio = replace(trio, realm=realm)
    labels = {m: await queries.known_as(ctx.tx, ctx.actor, m) for m in members}  # before seating
    await ctx.tx.run("UPDATE invites SET state = 'used', used_by = ? WHERE code = ?",
                     (ctx.actor, code))
    await ctx.tx.run(
        "INSERT INTO trio_members (trio_id, member_id, joined_at) VALUES (?, ?, ?)",
        (trio.id, ctx.actor, ts(ctx.now)),
    )
    members.append(ctx.actor)
    for m in members[:-1]:
        await ctx.notify(m, _("{who} joined your trio “{name}” ({n}/3).", who=labels[m],
                              name=trio.name, n=len(members)))
    if len(members) < SEATS:
        await seating.seats_changed(ctx, trio)
        ctx.reply(_("You joined “{name}” ({n}/3). The lines open when the third person joins.",
                    name=trio.name, n=len(members)))
        return
    await ctx.tx.run("UPDATE trios SET state = 'active' WHERE id = ?", (trio.id,))
    await ctx.tx.run("UPDATE invites SET state = 'revoked' WHERE trio_id = ? AND state = 'open'",
                     (trio.id,))
    await lines.open_all(ctx, trio, members, ctx.actor)
    ctx.reply(_("You joined “{name}”: it is complete. Your trio room and your two private "
                "lines are open.", name=trio.name))


async def form(ctx: Ctx, members: list[MemberId], name: str,
               realm: str | None = None) -> Trio | None:
    """Seat three people at once (matchmaking): the seating rules, then rooms and charter.

    Each is seated through :func:`core.seating.refused`, the rule every way in obeys. None,
    with nothing changed, when the rules no longer allow it (a block made since the
    proposal, a trio cap reached meanwhile).
    """
    s = ctx.settings
    language = await _shared_language(ctx, members)
    try:
        async with ctx.tx.savepoint():
            trio_id = await ctx.tx.insert(
                "INSERT INTO trios (name, state, created_at, patience_s, relance, "
                "proposal_ttl_s, platform, realm, language) "
                "VALUES (?, 'forming', ?, ?, ?, ?, ?, ?, ?)",
                (name, ts(ctx.now), int(s.patience.total_seconds()), s.relance,
                 int(s.proposal_ttl.total_seconds()), ctx.platform, realm, language))
            for m in members:
                full = len(await queries.trios_of(ctx.tx, m)) >= s.max_trios
                if full or await seating.refused(ctx.tx, trio_id, m):
                    raise _NoSeat
                await ctx.tx.run("INSERT INTO trio_members (trio_id, member_id, joined_at) "
                                 "VALUES (?, ?, ?)", (trio_id, m, ts(ctx.now)))
            await ctx.tx.run("UPDATE trios SET state = 'active' WHERE id = ?", (trio_id,))
    except _NoSeat:
        return None
    trio = await queries.trio(ctx.tx, trio_id)
    await lines.open_all(ctx, trio, members, members[-1])
    for m in members:
        if m != ctx.actor:
            await ctx.notify(m, _("Everyone accepted: your twinome “{name}” is formed. Your trio "
                                  "room and your two private lines are open.", name=trio.name))
    return trio


async def _shared_language(ctx: Ctx, members: list[MemberId]) -> str | None:
    """The language all of ``members`` read the bot in, if they share one (else None: the
    rooms speak the bot's default until the trio agrees on a language)."""
    theirs = await queries.languages(ctx.tx, members)
    spoken = {_spoken(theirs.get(m)) for m in members}
    return spoken.pop() if len(spoken) == 1 else None


def _spoken(lang: str | None) -> str | None:
    """The language the bot speaks that ``lang`` names (``fr``, ``fr-FR``), if any."""
    code = (lang or "").split("-")[0].split("_")[0].casefold()
    return code if code in LANGUAGES else None


class _NoSeat(Exception):
    """A seating rule refused one of the three (the savepoint undoes the others)."""


async def trio_revoke(ctx: Ctx, inv: Invocation) -> None:
    """``trio revoke <code>``."""
    trio = await ctx.trio(inv)
    code = invites.normalise(inv.args["code"])
    changed = await ctx.tx.changes(
        "UPDATE invites SET state = 'revoked' WHERE code = ? AND trio_id = ? AND state = 'open'",
        (code, trio.id),
    )
    if not changed:
        raise NotFound(_("“{name}” has no open invite with that code.", name=trio.name),
                       hint=_("{p}trio info lists the open ones.", p=ctx.prefix))
    ctx.reply(_("The code {code} no longer works.", code=code))


async def trio_uninvite(ctx: Ctx, inv: Invocation) -> None:
    """``trio uninvite @user``: whoever sent a personal invitation withdraws it."""
    trio = await ctx.trio(inv)
    invitee = await ctx.member_arg(inv.args["user"])
    rows = await ctx.tx.all(
        "SELECT code, created_by FROM invites WHERE trio_id = ? AND invitee = ? AND "
        "state = 'open' AND expires_at > ?", (trio.id, invitee, ts(ctx.now)))
    typed = inv.args["user"]
    if not rows:
        raise NotFound(_("{who} has no open invitation to “{name}”.", who=typed, name=trio.name),
                       hint=_("{p}trio info lists the open ones.", p=ctx.prefix))
    mine = [r for r in rows if r["created_by"] == ctx.actor]
    if not mine:
        who = await queries.name(ctx.tx, rows[0]["created_by"]) if rows[0]["created_by"] else None
        raise Forbidden(_("Only {sender} can withdraw the invitation of {who}.", sender=who,
                          who=typed) if who else
                        _("Only the person who sent it can withdraw the invitation of {who}.",
                          who=typed))
    await ctx.tx.run("UPDATE invites SET state = 'revoked' WHERE code = ?", (mine[0]["code"],))
    if not await seating.refused(ctx.tx, trio.id, invitee):  # they were told of it: tell again
        who = await queries.known_as(ctx.tx, ctx.actor, invitee)
        await ctx.notify(invitee, _("{who} withdrew the invitation to “{name}”.", who=who,
                                    name=trio.name), sender=ctx.actor)
    ctx.reply(_("You withdrew the invitation of {who} to “{name}”.", who=typed, name=trio.name))


async def trio_leave(ctx: Ctx, inv: Invocation) -> None:
    """``trio leave [confirm]``."""
    trio = await ctx.trio(inv)
    if inv.args.get("confirm") != "confirm":
        others = len(await queries.members(ctx.tx, trio.id)) - 1
        what = {0: _("You are its only member, so it will be dissolved."),
                1: _("The other member can welcome two new people.")}.get(
            others, _("Your private lines in it close and the two others can welcome a new third."))
        ctx.reply(_("Leave “{name}”? {what}", name=trio.name, what=what), private=True,
                  choices=(choice(_("Leave"), f"trio leave #{trio.id} confirm", "danger"),))
        return
    await leave(ctx, trio, ctx.actor)
    ctx.reply(_("You left “{name}”. Take care.", name=trio.name), private=True)


LEFT = _("left the trio")
"""Why a member leaves, said after their name (the default of :func:`leave`)."""


async def leave(ctx: Ctx, trio: Trio, member: MemberId, why: str = LEFT) -> None:
    """Take a member out of a trio; the others go back to forming (or it dissolves).

    ``why`` follows the member's name in what the others read ("Bob left the trio."): a
    message, or the English of one (its catalog entry says it in the room's language).
    """
    why = why if isinstance(why, Text) else _(why)
    who = await queries.name(ctx.tx, member)
    await ctx.tx.run("DELETE FROM trio_members WHERE trio_id = ? AND member_id = ?",
                     (trio.id, member))
    await ctx.tx.run("DELETE FROM setting_requests WHERE trio_id = ? AND member_id = ?",
                     (trio.id, member))
    await lines.member_leaves(ctx, trio, member, _("{who} {why}.", who=who, why=why))
    await features_hooks.member_left(ctx, trio, member)
    codes = await seating.seats_changed(ctx, trio, member)
    rest = await queries.members(ctx.tx, trio.id)
    if not rest:
        await ctx.tx.run("UPDATE trios SET state = 'dissolved' WHERE id = ?", (trio.id,))
        await ctx.tx.run("UPDATE invites SET state = 'revoked' WHERE trio_id = ? AND state = 'open'",
                         (trio.id,))
        for room in await queries.open_rooms(ctx.tx, trio.id):
            await lines.close(ctx, room, _("The trio “{name}” is dissolved.", name=trio.name))
        return
    await ctx.tx.run("UPDATE trios SET state = 'forming' WHERE id = ?", (trio.id,))
    seats = _("a new third") if len(rest) == 2 else _("two new people")
    told: str = _("{who} {why} “{name}”. The trio is forming again: welcome {seats} with "
             "{p}trio invite #{tag}.", who=who, why=why, name=trio.name, seats=seats,
             p=ctx.prefix, tag=slug(trio.name))
    if codes:
        told += " " + _("The invite codes {who} made no longer work.", who=who)
    for m in rest:
        await ctx.notify(m, told)


_STATES = {"forming": _("forming"), "active": _("active"), "dissolved": _("dissolved")}
"""A trio's state as a person reads it."""


async def trio_list(ctx: Ctx, inv: Invocation) -> None:
    """``trio list``."""
    mine = await queries.trios_of(ctx.tx, ctx.actor)
    picks = tags(mine)
    out: list[str] = []
    for t in mine:
        names = await queries.member_names(ctx.tx, t.id)
        out.append(_("• {name} ({tag}, {state}): {members}", name=t.name, tag=picks[t.id],
                     state=_STATES.get(t.state, t.state), members=join(", ", names.values())))
    out += [_("• invitation to “{name}”: {p}trio accept {code}", name=r["name"], p=ctx.prefix,
              code=r["code"]) for r in await _invitations(ctx)]
    if not out:
        ctx.reply(_("You are in no trio yet. Start one with {p}trio new, or join with "
                    "{p}trio join <code>.", p=ctx.prefix))
        return
    ctx.reply(_("Your trios:") + "\n" + join("\n", out))


async def trio_info(ctx: Ctx, inv: Invocation) -> None:
    """``trio info``."""
    trio = await ctx.trio(inv)
    names = await queries.member_names(ctx.tx, trio.id)
    lines_: list[str] = []
    for room in await queries.open_rooms(ctx.tx, trio.id):
        if room.purpose == "trio":
            lines_.append(_("trio room"))
        elif ctx.actor in room.pair:
            lines_.append(_("your line with {names}", names=join(
                " + ", [names[m] for m in room.pair if m != ctx.actor])))
    open_codes = await ctx.tx.all(
        "SELECT code, invitee FROM invites WHERE trio_id = ? AND state = 'open' AND expires_at > ? "
        "ORDER BY created_at", (trio.id, ts(ctx.now)))
    codes = [_("{code} (for {who})", code=r["code"],
               who=await queries.known_as(ctx.tx, r["invitee"], ctx.actor))
             if r["invitee"] else r["code"] for r in open_codes]
    ctx.reply(join("\n", [
        _("“{name}” (#{tag}) — {state}, {n}/3", name=trio.name, tag=slug(trio.name),
          state=_STATES.get(trio.state, trio.state), n=len(names)),
        _("Members: {names}", names=join(", ", names.values())),
        _("Lines: {lines}", lines=join(", ", lines_) if lines_
          else _("none yet (they open with the third member)")),
        _("Settings: patience {patience}, relance {relance}, proposal_expiry {expiry}, "
          "language {language}", **{key: _shown(key, _current(ctx, trio, key))
                                     for key in ("patience", "relance", "language")},
          expiry=_shown("proposal_expiry", _current(ctx, trio, "proposal_expiry"))),
        _("Open invite codes: {codes}", codes=join(", ", codes) if codes else _("none")),
    ]))


async def trio_charter(ctx: Ctx, inv: Invocation) -> None:
    """``trio charter``."""
    ctx.reply(lines.CHARTER)


_DURATIONS = {
    "patience": ("patience_s", timedelta(hours=1), timedelta(days=30)),
    "proposal_expiry": ("proposal_ttl_s", timedelta(hours=1), timedelta(days=14)),
}
_KEYS = {"patience": _("patience"), "relance": _("relance"),
         "proposal_expiry": _("proposal_expiry"), "language": _("language")}
"""Each setting's name as a person reads it (and may type it: French names are aliases)."""
_RELANCE = {"gentle": "gentle", "douce": "gentle", "off": "off", "non": "off"}
_RELANCE_SAID = {"gentle": _("gentle"), "off": _("off")}
LANGUAGE_NAMES = {"en": _("English"), "fr": _("French")}
"""Each language the bot speaks, named in the reader's language."""


def _setting_value(ctx: Ctx, key: str, raw: str) -> str:
    """The stored form of the value typed for ``key`` (a relance word, a language code,
    a number of seconds)."""
    if key == "relance":
        if raw.casefold() not in _RELANCE:
            raise ParseError(_("relance is gentle or off."),
                             hint=_("e.g. {p}trio settings relance off", p=ctx.prefix))
        return _RELANCE[raw.casefold()]
    if key == "language":
        code = language_code(raw)
        if code is None:
            spoken = join(", ", [_("{code} ({name})", code=c, name=LANGUAGE_NAMES.get(c, c))
                                 for c in LANGUAGES])
            raise ParseError(_("I don't speak “{word}”. The languages I speak: {languages}.",
                               word=raw, languages=spoken),
                             hint=_("e.g. {p}trio settings language fr", p=ctx.prefix))
        return code
    least, most = _DURATIONS[key][1:]
    return str(int(parse_duration(raw, least=least, most=most, what=_KEYS[key]).total_seconds()))


def _shown(key: str, value: str | int) -> object:
    """A setting's value as a person reads it (a message argument): ``2d``, ``gentle``."""
    if key == "relance":
        return _RELANCE_SAID.get(str(value), str(value))
    if key == "language":
        return LANGUAGE_NAMES.get(str(value), str(value))
    return timedelta(seconds=int(value))


def _typed(key: str, value: str) -> str:
    """A setting's value as the others type it to agree, in either language: ``48h``, ``fr``."""
    if key == "relance":
        return _RELANCE_SAID[value]
    if key == "language":
        return value
    hours, minutes = divmod(int(value) // 60, 60)
    return f"{hours}h{minutes:02d}" if minutes else f"{hours}h"


def _current(ctx: Ctx, trio: Trio, key: str) -> str:
    """The trio's value of ``key``, in the stored form (its rooms' language, if it has none)."""
    return {"patience": str(trio.patience_s), "relance": trio.relance,
            "proposal_expiry": str(trio.proposal_ttl_s),
            "language": pick(trio.language, ctx.settings.default_language)}[key]


async def _not_yet_agreed(ctx: Ctx, trio: Trio, key: str, value: str) -> list[MemberId]:
    """Record the actor's request; the members who have not asked for the same value."""
    await ctx.tx.run(
        "INSERT INTO setting_requests (trio_id, key, value, member_id) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (trio_id, key, member_id) DO UPDATE SET value = excluded.value",
        (trio.id, key, value, ctx.actor),
    )
    agreeing = {r[0] for r in await ctx.tx.all(
        "SELECT member_id FROM setting_requests WHERE trio_id = ? AND key = ? AND value = ?",
        (trio.id, key, value))}
    return [m for m in await queries.members(ctx.tx, trio.id) if m not in agreeing]


async def trio_settings(ctx: Ctx, inv: Invocation) -> None:
    """``trio settings [key value]``: a change needs every member to ask for it."""
    trio = await ctx.trio(inv)
    key, raw = inv.args.get("key"), inv.args.get("value")
    if key is None:
        await trio_info(ctx, inv)
        return
    tag = "#" + slug(trio.name)
    said = _KEYS[key]
    if raw is None:
        ctx.reply(_("{key} is {value} in “{name}”. To change it: {p}trio settings {tag} {key} "
                    "<value>", key=said, value=_shown(key, _current(ctx, trio, key)),
                    name=trio.name, p=ctx.prefix, tag=tag))
        return
    value = _setting_value(ctx, key, raw)
    shown = _shown(key, value)
    if value == _current(ctx, trio, key):
        raise Conflict(_("{key} is already {value} in “{name}”.", key=said, value=shown,
                         name=trio.name))
    missing = await _not_yet_agreed(ctx, trio, key, value)
    if missing:
        names = list((await queries.names(ctx.tx, missing)).values())
        who = await queries.name(ctx.tx, ctx.actor)
        for m in missing:
            await ctx.notify(m, _("{who} would like to set {key} to {value} in “{name}”. If you "
                                  "agree: {p}trio settings {tag} {key} {typed}", who=who, key=said,
                                  value=shown, name=trio.name, p=ctx.prefix, tag=tag,
                                  typed=_typed(key, value)),
                             sender=ctx.actor)
        others = (_("{a} and {b}", a=names[0], b=names[1]) if len(names) == 2
                  else join(", ", names))
        ctx.reply(_n("Noted. {key} becomes {value} when {names} asks for the same.",
                     "Noted. {key} becomes {value} when {names} ask for the same.",
                     len(names), key=said, value=shown, names=others))
        return
    column = _DURATIONS[key][0] if key in _DURATIONS else key
    stored: Any = int(value) if key in _DURATIONS else value
    await ctx.tx.run(f"UPDATE trios SET {column} = ? WHERE id = ?", (stored, trio.id))
    await ctx.tx.run("DELETE FROM setting_requests WHERE trio_id = ? AND key = ?", (trio.id, key))
    if key == "patience":
        await turns.patience_changed(ctx, trio.id)
    ctx.reply(_("Agreed by all: {key} is now {value} in “{name}”.", key=said, value=shown,
                name=trio.name))
    room = await queries.trio_room(ctx.tx, trio.id)
    if room is not None and ctx.room != room:
        ctx.post(room.id, _("Agreed by all: {key} is now {value}.", key=said, value=shown))


COMMANDS: dict[str, CommandHandler] = {
    "trio new": trio_new,
    "trio rename": trio_rename,
    "trio invite": trio_invite,
    "trio join": trio_join,
    "trio accept": trio_accept,
    "trio decline": trio_decline,
    "trio revoke": trio_revoke,
    "trio uninvite": trio_uninvite,
    "trio leave": trio_leave,
    "trio list": trio_list,
    "trio info": trio_info,
    "trio charter": trio_charter,
    "trio settings": trio_settings,
}
JOBS: dict[str, JobHandler] = {}
