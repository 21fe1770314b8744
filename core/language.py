"""``language``: the language the bot writes to someone in.

A member's language is, in order: the one they chose (``language fr``), else the hint
of their platform (Discord's locale) or of how they greeted the bot (``bonjour``), else
the bot's default (``[bot] default_language``).
"""

from __future__ import annotations

import re

from core import grammar
from core.context import CommandHandler, Ctx, JobHandler
from core.errors import ParseError
from core.grammar import Invocation, Said
from core.i18n import LANGUAGES, _, join, language_code

NAMES = {"en": _("English"), "fr": _("French")}
"""Each language the bot speaks, named in the reader's language."""
OWN_NAMES = {"en": "English", "fr": "français"}
"""Each language named in itself, as a list of choices shows it."""


def _examples(prefix: str) -> str:
    """``!language en / !language fr`` with the command named in the reader's language."""
    command = grammar.BY_NAME["language"]
    return Said(lambda lang: " / ".join(f"{prefix}{command.name_in(lang)} {code}"
                                        for code in LANGUAGES))


def code_of(word: str) -> str | None:
    """The language a word names: ``fr``, ``Français``, ``fr-FR``, ``english``."""
    return language_code(word) or language_code(re.split(r"[-_]", word.strip(), maxsplit=1)[0])


async def language(ctx: Ctx, inv: Invocation) -> None:
    """``language [code]``: choose one, or see which one is used and why."""
    word = inv.args.get("code")
    if word is None:
        await _show(ctx)
        return
    code = code_of(word)
    if code is None:
        listed = join(", ", [f"{c} ({OWN_NAMES.get(c, c)})" for c in LANGUAGES])
        raise ParseError(_("I don't speak “{word}” yet. I speak: {languages}.", word=word,
                           languages=listed),
                         hint=_("For example: {examples}", examples=_examples(ctx.prefix)))
    await ctx.tx.run("UPDATE members SET language = ? WHERE id = ?", (code, ctx.actor))
    ctx.language = code  # the answer is already in the new language
    ctx.reply(_("From now on I write to you in {language}. Your trios' rooms keep their "
                "own language ({p}trio settings language).", language=NAMES[code],
                p=ctx.prefix))


async def _show(ctx: Ctx) -> None:
    """Which language is used for the actor, and how it was chosen."""
    row = await ctx.tx.one("SELECT language, locale FROM members WHERE id = ?", (ctx.actor,))
    chosen, hint = (row[0], row[1]) if row else (None, None)
    current = NAMES.get(ctx.language, ctx.language)
    if chosen:
        said = _("I write to you in {language}, as you chose.", language=current)
    elif hint and code_of(hint) == ctx.language:
        said = _("I write to you in {language}: you have not chosen a language, so I follow "
                 "the one of your app, or the one you greeted me in.", language=current)
    else:
        said = _("I write to you in {language}: you have not chosen a language, so I use "
                 "this bot's default.", language=current)
    ctx.reply(said + "\n" + _("To choose: {examples}", examples=_examples(ctx.prefix)))


COMMANDS: dict[str, CommandHandler] = {"language": language}
JOBS: dict[str, JobHandler] = {}
