"""Who may take a seat, and what happens to open invitations when the seats change.

Theory of operation. Every way into a trio (an invite code, a personal invitation, and
matchmaking when it comes) ends in :func:`core.trios.seat`, which asks :func:`refused`
first: nobody is seated beside someone they blocked or who blocked them, whichever way
the block goes and whoever made the code. The refusal says only that the code or the
invitation cannot be used, never who blocked whom. :data:`VISIBLE_INVITATION` is the same
rule in SQL, so an invitation that could not seat its invitee is never shown to them.

An invitation told its invitee who sits in the trio. When the seats change, every open
personal invitation of the trio is withdrawn (:func:`seats_changed`): accepting it would
seat the invitee with people they were never told about. A leaver's invite codes die
with their seat; codes made by members who stay keep working.
"""

from __future__ import annotations

from core import queries
from core.context import Ctx
from core.i18n import _
from core.ids import MemberId
from core.model import Trio
from core.storage.db import Tx
from core.textrules import slug
from core.timeutil import ts

_BLOCK_WITH_A_MEMBER = (
    "SELECT 1 FROM trio_members tm JOIN blocks b ON (b.blocker = tm.member_id AND b.blocked = {m})"
    " OR (b.blocker = {m} AND b.blocked = tm.member_id) WHERE tm.trio_id = {t}"
)
VISIBLE_INVITATION = (
    "NOT EXISTS (" + _BLOCK_WITH_A_MEMBER.format(m="i.invitee", t="i.trio_id") + ") AND NOT EXISTS "
    "(SELECT 1 FROM blocks b WHERE (b.blocker = i.invitee AND b.blocked = i.created_by)"
    " OR (b.blocker = i.created_by AND b.blocked = i.invitee))"
)
"""SQL condition on an invite ``i``: its invitee has no block with its maker or any member."""


def _mention(member: str) -> str:
    return member if member.startswith("@") else "@" + member


async def refused(tx: Tx, trio_id: int, member: MemberId) -> bool:
    """Whether ``member`` and anyone seated in the trio have a block between them."""
    sql = _BLOCK_WITH_A_MEMBER.format(m="?", t="?") + " LIMIT 1"
    return await tx.one(sql, (member, member, trio_id)) is not None


async def seats_changed(ctx: Ctx, trio: Trio, leaver: MemberId | None = None) -> int:
    """Withdraw the trio's open personal invitations, and the leaver's codes; how many codes died."""
    rows = await ctx.tx.all(
        "SELECT i.code, i.invitee, i.created_by FROM invites i WHERE i.trio_id = ? "
        "AND i.state = 'open' AND i.invitee IS NOT NULL AND i.expires_at > ? AND "
        + VISIBLE_INVITATION, (trio.id, ts(ctx.now)))
    await ctx.tx.run("UPDATE invites SET state = 'revoked' WHERE trio_id = ? AND state = 'open' "
                     "AND invitee IS NOT NULL", (trio.id,))
    codes = 0
    if leaver is not None:
        codes = await ctx.tx.changes(
            "UPDATE invites SET state = 'revoked' WHERE trio_id = ? AND state = 'open' "
            "AND created_by = ?", (trio.id, leaver))
    p = ctx.prefix
    for row in rows:
        invitee = MemberId(row["invitee"])
        await ctx.notify(invitee, _("The invitation to “{name}” is withdrawn: its members "
                                    "changed since it was made. Nothing to do on your side.",
                                    name=trio.name))
        maker = row["created_by"]
        if maker and maker != leaver and await queries.is_member(ctx.tx, trio.id, maker):
            who = await queries.known_as(ctx.tx, invitee, maker)
            await ctx.notify(maker, _(
                "Your invitation of {who} to “{name}” is withdrawn: the trio's members changed, "
                "and it named them as they were. To invite again: {p}trio invite #{tag} {mention}",
                who=who, name=trio.name, p=p, tag=slug(trio.name), mention=_mention(invitee)))
    return codes
