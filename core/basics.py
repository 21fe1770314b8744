"""Help, and the housekeeping jobs: releasing held notices, pruning old records."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core import grammar
from core.context import CommandHandler, Ctx, JobHandler
from core.effects import choices_from
from core.grammar import Invocation
from core.timeutil import ts


async def help_(ctx: Ctx, inv: Invocation) -> None:
    """``help [command]``."""
    ctx.reply(grammar.help_text(inv.args.get("command"), ctx.prefix))


async def release_held(ctx: Ctx, payload: dict[str, Any]) -> None:
    """Quiet hours are over: deliver the notices held for this member, oldest first."""
    member = payload["member"]
    rows = await ctx.tx.all(
        "SELECT id, text, choices, sent_by FROM held_notices WHERE member_id = ? "
        "AND created_at <= ? ORDER BY id", (member, ts(ctx.now)),
    )
    for row in rows:  # the sender is checked again: a block made meanwhile stops the notice
        await ctx.notify(member, row["text"], sender=row["sent_by"],
                         choices=choices_from(row["choices"]))
    await ctx.tx.many("DELETE FROM held_notices WHERE id = ?", [(r["id"],) for r in rows])


async def prune(ctx: Ctx, payload: dict[str, Any]) -> None:
    """Drop bookkeeping that has served its purpose (old event ids, old failures)."""
    week_ago = ts(ctx.now) - 7 * 86400
    await ctx.tx.run("DELETE FROM processed_events WHERE at < ?", (week_ago,))
    await ctx.tx.run("DELETE FROM redeem_failures WHERE at < ?", (week_ago,))
    await ctx.schedule("prune", "prune", ctx.now + PRUNE_EVERY, {})


PRUNE_EVERY = timedelta(days=1)

COMMANDS: dict[str, CommandHandler] = {
    "help": help_,
}
JOBS: dict[str, JobHandler] = {"release_held": release_held, "prune": prune}
