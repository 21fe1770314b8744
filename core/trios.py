"""Trio life: forming by invite code or direct invitation, activation, leaving, settings."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core import features_hooks, invites, lines, queries, seating, turns
from core.context import CommandHandler, Ctx, JobHandler, tags
from core.effects import choice
from core.errors import Conflict, Forbidden, NotFound, ParseError
from core.grammar import Invocation
from core.ids import MemberId
from core.model import Trio
from core.storage.db import Row
from core.textrules import format_duration, parse_duration, slug
from core.timeutil import dt, show, ts

SEATS = 3


async def _check_cap(ctx: Ctx, member: MemberId) -> None:
    mine = await queries.trios_of(ctx.tx, member)
    if len(mine) >= ctx.settings.max_trios:
        raise Conflict(
            f"You are already in {len(mine)} trios, the most this community allows.",
            hint=f"Leave one first with {ctx.prefix}trio leave.",
        )


def _code_text(ctx: Ctx, code: str, expires: int) -> str:
    link = ctx.settings.invite_link.format(code=code)
    return (f"Invite code: {code}\nLink: {link}\nIt works once and expires {show(dt(expires))}. "
            f"The person types {ctx.prefix}trio join {code}")


async def _fresh_name(ctx: Ctx, wanted: str | None, renamed: Trio | None = None) -> str:
    """The new trio's name, numbered if the actor already has one so called (``#name`` stays clear)."""
    taken = {slug(t.name) for t in await queries.trios_of(ctx.tx, ctx.actor) if t != renamed}
    base = wanted or f"Trio of {await queries.name(ctx.tx, ctx.actor)}"
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
    trio_id = await ctx.tx.run(
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
    renamed = (f"You already have a trio called “{wanted}”, so this one is “{name}”. "
               if wanted and wanted != name else "")
    unnamed = "" if wanted else f"\nGive it a name of your own with {ctx.prefix}trio rename <name>"
    ctx.reply(
        renamed
        + f"Your trio “{name}” (#{slug(name)}) is forming. Share this with two people you trust:\n"
        + _code_text(ctx, code, ts(expires))
        + f"\nOr invite someone directly: {ctx.prefix}trio invite @name" + unnamed
    )


async def _ask_another(ctx: Ctx, wanted: str | None) -> bool:
    """While a trio of the actor is still forming, ask (True) before starting another:
    a second ``trio new`` is most often meant to name the first."""
    forming = [t for t in await queries.trios_of(ctx.tx, ctx.actor) if t.state == "forming"]
    if not forming:
        return False
    listing = ", ".join([f"“{t.name}” ({len(await queries.members(ctx.tx, t.id))}/3)"
                         for t in forming])
    again = "trio new" + (f" {wanted}" if wanted else "") + " confirm"
    renames = tuple(choice(f"Rename “{t.name}” to “{wanted}”", f"trio rename #{t.id} {wanted}")
                    for t in forming[-3:]) if wanted else ()
    ask = "Rename it, or really start another trio?" if wanted else "Start another trio anyway?"
    ctx.reply(f"You already have a trio still forming: {listing}. {ask}",
              choices=(*renames, choice("Start another", again, "secondary")))
    return True


async def trio_rename(ctx: Ctx, inv: Invocation) -> None:
    """``trio rename <name>``: a forming trio takes a new name (its rooms do not exist yet)."""
    trio = await ctx.trio(inv)
    if trio.state != "forming":
        raise Conflict(f"“{trio.name}” is complete: its rooms carry its name, so it keeps it.")
    wanted: str = inv.args["name"]
    if slug(wanted) == slug(trio.name):
        raise Conflict(f"Your trio is already called “{trio.name}”.")
    name = await _fresh_name(ctx, wanted, trio)
    await ctx.tx.run("UPDATE trios SET name = ? WHERE id = ?", (name, trio.id))
    who = await queries.name(ctx.tx, ctx.actor)
    for m in await queries.members(ctx.tx, trio.id):
        if m != ctx.actor:
            await ctx.notify(m, f"{who} renamed your forming trio “{trio.name}” to “{name}”.")
    ctx.reply(f"“{trio.name}” is now “{name}” (#{slug(name)}); its invite codes still work.")


async def trio_invite(ctx: Ctx, inv: Invocation) -> None:
    """``trio invite [@user]``: a new code, or a personal invitation."""
    trio = await ctx.trio(inv)
    members = await queries.members(ctx.tx, trio.id)
    if len(members) >= SEATS:
        raise Conflict(f"“{trio.name}” already has its three members.")
    expires = ctx.now + ctx.settings.invite_ttl
    target = inv.args.get("user")
    if target is None:
        code = await invites.create(ctx.tx, trio.id, ctx.actor, None, ctx.now, expires)
        ctx.reply(f"A new seat offer for “{trio.name}”.\n" + _code_text(ctx, code, ts(expires)),
                  private=True)
        return
    invitee = await ctx.member_arg(target)
    if invitee == ctx.actor:
        raise Conflict(f"You are already in “{trio.name}”.",
                       hint=f"Invite someone else: {ctx.prefix}trio invite @name")
    if invitee in members:
        raise Conflict(f"{await queries.name(ctx.tx, invitee)} is already in “{trio.name}”.")
    await _check_invitation_rate(ctx, invitee, target)
    again = await _replace_invitation(ctx, trio, invitee)
    code = await invites.create(ctx.tx, trio.id, ctx.actor, invitee, ctx.now, expires)
    if not await seating.refused(ctx.tx, trio.id, invitee):  # it could never seat them
        await queries.ensure_member(ctx.tx, invitee, None, ts(ctx.now))
        who = await queries.known_as(ctx.tx, ctx.actor, invitee)
        seated = [await queries.known_as(ctx.tx, m, invitee) for m in members]
        await ctx.notify(invitee, (
            f"{who} invites you to take a seat in the twinome “{trio.name}” "
            f"({', '.join(seated)}). "
            f"Nobody is added without your consent: accept or decline before {show(expires)}."
        ), choices=(choice("Accept", f"trio accept {code}", "success"),
                    choice("Decline", f"trio decline {code}", "secondary")))
    ctx.reply(f"I asked {target} {'again ' if again else ''}whether they want to join "
              f"“{trio.name}”. The invitation expires {show(expires)}."
              + (" It replaces the earlier one." if again else ""))


async def _check_invitation_rate(ctx: Ctx, invitee: MemberId, typed: str) -> None:
    """Refuse a personal invitation past the daily limits, per inviter and per invitee."""
    s, since = ctx.settings, ts(ctx.now - ctx.settings.invitation_window)
    sent = int(await ctx.tx.value(
        "SELECT count(*) FROM invites WHERE created_by = ? AND invitee IS NOT NULL "
        "AND created_at > ?", (ctx.actor, since)))
    if sent >= s.invitations_sent:
        raise Forbidden(f"You have sent {sent} personal invitations today, the most I pass on "
                        f"in a day.", hint=f"Share an invite code instead ({ctx.prefix}trio "
                                            f"invite), or invite again tomorrow.")
    received = int(await ctx.tx.value(
        "SELECT count(*) FROM invites WHERE invitee = ? AND created_at > ?", (invitee, since)))
    if received >= s.invitations_received:
        raise Forbidden(f"{typed} has received several invitations today already; I pass on no "
                        f"more until tomorrow.",
                        hint=f"If they know you, share an invite code with them ({ctx.prefix}trio "
                             f"invite).")


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
        raise Forbidden("Too many codes that did not work. For safety, wait a little.",
                        hint=f"Try again in about {minutes} minutes.")
    invite = await invites.find(ctx.tx, inv.args["code"])
    problem = _unusable(ctx, invite)
    if invite is None or problem:
        await _failed_redemption(ctx, problem)
        return
    await seat(ctx, invite["trio_id"], invite["code"])


def _unusable(ctx: Ctx, invite: Any) -> str:
    """Why this invite cannot seat the actor now, with what to do ("" if it can)."""
    fresh = f"\nAsk a member of the trio for a fresh code ({ctx.prefix}trio invite)."
    if invite is None:
        return "That invite code does not work: check that it is typed in full." + fresh
    if invite["invitee"] is not None and invite["invitee"] != ctx.actor:
        return "That invite code was made for someone else." + fresh
    if invite["used_by"] == ctx.actor:
        return f"You already took your seat in “{invite['name']}” with that code."
    if invite["trio_state"] == "dissolved":
        return "That invite code belonged to a trio that no longer exists."
    if invite["trio_state"] == "active":
        return f"“{invite['name']}” is already complete: a trio never has more than three members."
    if invite["state"] == "used":
        return "That invite code was already used: each code seats one person." + fresh
    if invite["state"] != "open":
        return "That invite code was cancelled." + fresh
    if invite["expires_at"] <= ts(ctx.now):
        return f"That invite code expired on {show(dt(invite['expires_at']))}." + fresh
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
        raise NotFound("You have no pending invitation" + (" with that code." if code else "."),
                       hint="Invitations expire after a while; ask for a new one.")
    if len(rows) > 1:
        listing = "; ".join(f"“{r['name']}”: {r['code']}" for r in rows)
        raise Conflict(f"You have {len(rows)} invitations: {listing}.",
                       hint=f"Add the code: {ctx.prefix}{inv.command.name} <code>")
    return rows[0]


async def trio_accept(ctx: Ctx, inv: Invocation) -> None:
    """``trio accept [code]``."""
    invite = await _addressed(ctx, inv)
    await seat(ctx, invite["trio_id"], invite["code"])


async def trio_decline(ctx: Ctx, inv: Invocation) -> None:
    """``trio decline [code]``."""
    invite = await _addressed(ctx, inv)
    await ctx.tx.run("UPDATE invites SET state = 'declined' WHERE code = ?", (invite["code"],))
    ctx.reply(f"You declined the invitation to “{invite['name']}”. Nobody will insist.")
    if invite["created_by"]:
        who = await queries.known_as(ctx.tx, ctx.actor, invite["created_by"])
        await ctx.notify(invite["created_by"], f"{who} declined the invitation to “{invite['name']}”.",
                         sender=ctx.actor)


async def seat(ctx: Ctx, trio_id: int, code: str) -> None:
    """Give the actor a seat: checks, membership, then activation on the third seat.

    Every way into a trio goes through here, so the rules of :mod:`core.seating` hold on all.
    """
    trio = await queries.trio(ctx.tx, trio_id)
    members = await queries.members(ctx.tx, trio.id)
    if ctx.actor in members:
        raise Conflict(f"You are already in “{trio.name}”.")
    if trio.state != "forming" or len(members) >= SEATS:
        raise Conflict(f"“{trio.name}” is full: a trio never has more than three members.")
    if trio.platform != ctx.platform:
        raise Forbidden(f"“{trio.name}” lives on another platform ({trio.platform}): its rooms "
                        f"cannot hold you here.", hint="Join it from an account on that platform.")
    realm = ctx.settings.realm_of(ctx.actor)  # None: no realms here, or not known yet
    if trio.realm is not None and realm is not None and trio.realm != realm:
        raise Forbidden(f"“{trio.name}” lives on another server: its rooms cannot hold you here.",
                        hint="Join it from that server.")
    if await seating.refused(ctx.tx, trio.id, ctx.actor):
        raise Forbidden("This code cannot be used.",
                        hint=f"Ask for another way in, or start a trio: {ctx.prefix}trio new")
    await _check_cap(ctx, ctx.actor)
    labels = {m: await queries.known_as(ctx.tx, ctx.actor, m) for m in members}  # before seating
    await ctx.tx.run("UPDATE invites SET state = 'used', used_by = ? WHERE code = ?",
                     (ctx.actor, code))
    await ctx.tx.run(
        "INSERT INTO trio_members (trio_id, member_id, joined_at) VALUES (?, ?, ?)",
        (trio.id, ctx.actor, ts(ctx.now)),
    )
    members.append(ctx.actor)
    for m in members[:-1]:
        await ctx.notify(m, f"{labels[m]} joined your trio “{trio.name}” ({len(members)}/3).")
    if len(members) < SEATS:
        await seating.seats_changed(ctx, trio)
        ctx.reply(f"You joined “{trio.name}” ({len(members)}/3). The lines open when the "
                  f"third person joins.")
        return
    await ctx.tx.run("UPDATE trios SET state = 'active' WHERE id = ?", (trio.id,))
    await ctx.tx.run("UPDATE invites SET state = 'revoked' WHERE trio_id = ? AND state = 'open'",
                     (trio.id,))
    await lines.open_all(ctx, trio, members, ctx.actor)
    ctx.reply(f"You joined “{trio.name}”: it is complete. Your trio room and your two private "
              f"lines are open.")


async def form(ctx: Ctx, members: list[MemberId], name: str,
               realm: str | None = None) -> Trio | None:
    """Seat three people at once (matchmaking): the seating rules, then rooms and charter.

    Each is seated through :func:`core.seating.refused`, the rule every way in obeys. None,
    with nothing changed, when the rules no longer allow it (a block made since the
    proposal, a trio cap reached meanwhile).
    """
    s = ctx.settings
    try:
        async with ctx.tx.savepoint():
            trio_id = await ctx.tx.run(
                "INSERT INTO trios (name, state, created_at, patience_s, relance, "
                "proposal_ttl_s, platform, realm) VALUES (?, 'forming', ?, ?, ?, ?, ?, ?)",
                (name, ts(ctx.now), int(s.patience.total_seconds()), s.relance,
                 int(s.proposal_ttl.total_seconds()), ctx.platform, realm))
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
            await ctx.notify(m, f"Everyone accepted: your twinome “{trio.name}” is formed. "
                                f"Your trio room and your two private lines are open.")
    return trio


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
        raise NotFound(f"“{trio.name}” has no open invite with that code.",
                       hint=f"{ctx.prefix}trio info lists the open ones.")
    ctx.reply(f"The code {code} no longer works.")


async def trio_uninvite(ctx: Ctx, inv: Invocation) -> None:
    """``trio uninvite @user``: whoever sent a personal invitation withdraws it."""
    trio = await ctx.trio(inv)
    invitee = await ctx.member_arg(inv.args["user"])
    rows = await ctx.tx.all(
        "SELECT code, created_by FROM invites WHERE trio_id = ? AND invitee = ? AND "
        "state = 'open' AND expires_at > ?", (trio.id, invitee, ts(ctx.now)))
    typed = inv.args["user"]
    if not rows:
        raise NotFound(f"{typed} has no open invitation to “{trio.name}”.",
                       hint=f"{ctx.prefix}trio info lists the open ones.")
    mine = [r for r in rows if r["created_by"] == ctx.actor]
    if not mine:
        who = await queries.name(ctx.tx, rows[0]["created_by"]) if rows[0]["created_by"] else None
        raise Forbidden(f"Only {who or 'the person who sent it'} can withdraw the invitation "
                        f"of {typed}.")
    await ctx.tx.run("UPDATE invites SET state = 'revoked' WHERE code = ?", (mine[0]["code"],))
    if not await seating.refused(ctx.tx, trio.id, invitee):  # they were told of it: tell again
        who = await queries.known_as(ctx.tx, ctx.actor, invitee)
        await ctx.notify(invitee, f"{who} withdrew the invitation to “{trio.name}”.",
                         sender=ctx.actor)
    ctx.reply(f"You withdrew the invitation of {typed} to “{trio.name}”.")


async def trio_leave(ctx: Ctx, inv: Invocation) -> None:
    """``trio leave [confirm]``."""
    trio = await ctx.trio(inv)
    if inv.args.get("confirm") != "confirm":
        others = len(await queries.members(ctx.tx, trio.id)) - 1
        what = {0: "You are its only member, so it will be dissolved.",
                1: "The other member can welcome two new people."}.get(
            others, "Your private lines in it close and the two others can welcome a new third.")
        ctx.reply(f"Leave “{trio.name}”? {what}", private=True,
                  choices=(choice("Leave", f"trio leave #{trio.id} confirm", "danger"),))
        return
    await leave(ctx, trio, ctx.actor, "left the trio")
    ctx.reply(f"You left “{trio.name}”. Take care.", private=True)


async def leave(ctx: Ctx, trio: Trio, member: MemberId, why: str) -> None:
    """Take a member out of a trio; the others go back to forming (or it dissolves)."""
    who = await queries.name(ctx.tx, member)
    await ctx.tx.run("DELETE FROM trio_members WHERE trio_id = ? AND member_id = ?",
                     (trio.id, member))
    await ctx.tx.run("DELETE FROM setting_requests WHERE trio_id = ? AND member_id = ?",
                     (trio.id, member))
    await lines.member_leaves(ctx, trio, member, f"{who} {why}.")
    await features_hooks.member_left(ctx, trio, member)
    codes = await seating.seats_changed(ctx, trio, member)
    rest = await queries.members(ctx.tx, trio.id)
    if not rest:
        await ctx.tx.run("UPDATE trios SET state = 'dissolved' WHERE id = ?", (trio.id,))
        await ctx.tx.run("UPDATE invites SET state = 'revoked' WHERE trio_id = ? AND state = 'open'",
                         (trio.id,))
        for room in await queries.open_rooms(ctx.tx, trio.id):
            await lines.close(ctx, room, f"The trio “{trio.name}” is dissolved.")
        return
    await ctx.tx.run("UPDATE trios SET state = 'forming' WHERE id = ?", (trio.id,))
    seats = "a new third" if len(rest) == 2 else "two new people"
    dead = f" The invite codes {who} made no longer work." if codes else ""
    for m in rest:
        await ctx.notify(m, f"{who} {why} “{trio.name}”. The trio is forming again: welcome "
                            f"{seats} with {ctx.prefix}trio invite #{slug(trio.name)}.{dead}")


async def trio_list(ctx: Ctx, inv: Invocation) -> None:
    """``trio list``."""
    mine = await queries.trios_of(ctx.tx, ctx.actor)
    picks = tags(mine)
    out = []
    for t in mine:
        names = await queries.names(ctx.tx, await queries.members(ctx.tx, t.id))
        out.append(f"• {t.name} ({picks[t.id]}, {t.state}): {', '.join(names.values())}")
    out += [f"• invitation to “{r['name']}”: {ctx.prefix}trio accept {r['code']}"
            for r in await _invitations(ctx)]
    if not out:
        ctx.reply(f"You are in no trio yet. Start one with {ctx.prefix}trio new, or join with "
                  f"{ctx.prefix}trio join <code>.")
        return
    ctx.reply("Your trios:\n" + "\n".join(out))


async def trio_info(ctx: Ctx, inv: Invocation) -> None:
    """``trio info``."""
    trio = await ctx.trio(inv)
    names = await queries.names(ctx.tx, await queries.members(ctx.tx, trio.id))
    lines_ = []
    for room in await queries.open_rooms(ctx.tx, trio.id):
        if room.purpose == "trio":
            lines_.append("trio room")
        elif ctx.actor in room.pair:
            lines_.append("your line with " + " + ".join(names[m] for m in room.pair if m != ctx.actor))
    open_codes = await ctx.tx.all(
        "SELECT code, invitee FROM invites WHERE trio_id = ? AND state = 'open' AND expires_at > ? "
        "ORDER BY created_at", (trio.id, ts(ctx.now)))
    codes = [r["code"] + (f" (for {await queries.known_as(ctx.tx, r['invitee'], ctx.actor)})"
                          if r["invitee"]
                          else "") for r in open_codes]
    ctx.reply("\n".join([
        f"“{trio.name}” (#{slug(trio.name)}) — {trio.state}, {len(names)}/3",
        "Members: " + ", ".join(names.values()),
        "Lines: " + (", ".join(lines_) or "none yet (they open with the third member)"),
        f"Settings: patience {format_duration(timedelta(seconds=trio.patience_s))}, "
        f"relance {trio.relance}, proposal_expiry "
        f"{format_duration(timedelta(seconds=trio.proposal_ttl_s))}",
        "Open invite codes: " + (", ".join(codes) or "none"),
    ]))


async def trio_charter(ctx: Ctx, inv: Invocation) -> None:
    """``trio charter``."""
    ctx.reply(lines.CHARTER)


_SETTINGS = {
    "patience": ("patience_s", timedelta(hours=1), timedelta(days=30)),
    "proposal_expiry": ("proposal_ttl_s", timedelta(hours=1), timedelta(days=14)),
}


def _setting_value(ctx: Ctx, key: str, raw: str) -> str:
    if key == "relance":
        value = raw.casefold()
        if value not in ("gentle", "off"):
            raise ParseError("relance is gentle or off.",
                             hint=f"e.g. {ctx.prefix}trio settings relance off")
        return value
    _, least, most = _SETTINGS[key]
    return str(int(parse_duration(raw, least=least, most=most, what=key).total_seconds()))


def _shown(key: str, value: str | int) -> str:
    """A setting's value as a person reads it: ``2d``, ``gentle``."""
    return str(value) if key == "relance" else format_duration(timedelta(seconds=int(value)))


def _current(trio: Trio, key: str) -> str:
    """The trio's value of ``key``, in the stored form."""
    return {"patience": str(trio.patience_s), "relance": trio.relance,
            "proposal_expiry": str(trio.proposal_ttl_s)}[key]


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
    if raw is None:
        ctx.reply(f"{key} is {_shown(key, _current(trio, key))} in “{trio.name}”. To change it: "
                  f"{ctx.prefix}trio settings {tag} {key} <value>")
        return
    value = _setting_value(ctx, key, raw)
    shown = _shown(key, value)
    if value == _current(trio, key):
        raise Conflict(f"{key} is already {shown} in “{trio.name}”.")
    missing = await _not_yet_agreed(ctx, trio, key, value)
    if missing:
        names = await queries.names(ctx.tx, missing)
        who = await queries.name(ctx.tx, ctx.actor)
        for m in missing:
            await ctx.notify(m, f"{who} would like to set {key} to {shown} in “{trio.name}”. "
                                f"If you agree: {ctx.prefix}trio settings {tag} {key} {shown}",
                             sender=ctx.actor)
        verb = "asks" if len(missing) == 1 else "ask"
        ctx.reply(f"Noted. {key} becomes {shown} when {' and '.join(names.values())} "
                  f"{verb} for the same.")
        return
    column = _SETTINGS[key][0] if key in _SETTINGS else "relance"
    stored: Any = value if key == "relance" else int(value)
    await ctx.tx.run(f"UPDATE trios SET {column} = ? WHERE id = ?", (stored, trio.id))
    await ctx.tx.run("DELETE FROM setting_requests WHERE trio_id = ? AND key = ?", (trio.id, key))
    if key == "patience":
        await turns.patience_changed(ctx, trio.id)
    ctx.reply(f"Agreed by all: {key} is now {shown} in “{trio.name}”.")
    room = await queries.trio_room(ctx.tx, trio.id)
    if room is not None and ctx.room != room:
        ctx.post(room.id, f"Agreed by all: {key} is now {shown}.")


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
