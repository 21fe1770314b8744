"""Help, free text, and the housekeeping jobs: releasing held notices, pruning old records."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from core import grammar, queries
from core.context import CommandHandler, Ctx, JobHandler
from core.effects import choices_from
from core.grammar import Invocation, Said
from core.i18n import _, join
from core.textrules import fold
from core.timeutil import ts


async def help_(ctx: Ctx, inv: Invocation) -> None:
    """``help [command]``; ``help me please`` is free text, not a command name."""
    topic = inv.args.get("command")
    if topic and not grammar.knows(topic):
        await chat(ctx, Invocation(grammar.CHAT, {"text": f"help {topic}"}))
        return
    ctx.reply(grammar.help_text(topic, ctx.prefix))


_HELLOS = frozenset({"hi", "hello", "hey", "hiya", "yo", "bonjour", "bonsoir", "salut", "coucou"})


async def chat(ctx: Ctx, inv: Invocation) -> None:
    """Free text (a greeting, a question): a welcome for someone new, else a pointer to help."""
    text = inv.args["text"]
    p = ctx.prefix
    first = fold(text.split()[0]).strip("!?.,") if text.split() else ""
    if first in grammar.GREETINGS_FR:
        await _greeted_in(ctx, "fr")
    elif first in grammar.GREETINGS_EN:
        await _greeted_in(ctx, "en")
    hello = _("Hello!") + " " if first in _HELLOS else ""
    asked = grammar.about(text)
    maybe = _("Perhaps this helps: {commands}.", commands=join(", ", [
        _help_on(grammar.BY_NAME[c], p) for c in asked]))
    if not await queries.trios_of(ctx.tx, ctx.actor):
        welcome = _("I'm Twinome: I help people form trios, three who support each other with a "
                    "private line between each two, and keep their rhythm kind.\nTo start:\n"
                    "  {p}trio new <name> — start a trio and get a code to share\n"
                    "  {p}trio join <code> — join a trio with the code a friend gave you\n"
                    "  {p}help — everything else I can do", p=p)
        ctx.reply(hello + welcome + ("\n" + maybe if asked else ""), private=True)
        return
    pointer = _("I read that as a message to me, not a command.") + " "
    ctx.reply(hello + pointer + (maybe + " " if asked else "")
              + _("Type {p}help to see everything I can do.", p=p), private=True)


def _help_on(command: grammar.Command, prefix: str) -> str:
    """``!help trio new``, in the reader's language (``!aide trio nouveau``)."""
    help_ = grammar.BY_NAME["help"]
    return Said(lambda lang: f"{prefix}{help_.name_in(lang)} {command.name_in(lang)}")


async def _greeted_in(ctx: Ctx, lang: str) -> None:
    """Someone who has chosen no language greets in ``lang``: that is their hint from now
    (the latest greeting wins: a French "salut" then an English "hello" is English again).
    An English greeting leaves a member with no hint at all as they are (the default)."""
    row = await ctx.tx.one("SELECT language, locale FROM members WHERE id = ?", (ctx.actor,))
    if row is None or row["language"] or (lang == "en" and row["locale"] is None):
        return
    await ctx.tx.run("UPDATE members SET locale = ? WHERE id = ?", (lang, ctx.actor))
    ctx.language = lang


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
    "chat": chat,
}
JOBS: dict[str, JobHandler] = {"release_held": release_held, "prune": prune}
