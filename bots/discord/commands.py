"""The application-command tree, generated from the core's one command table.

Two-word commands (``trio new``) become subcommands of a group (``/trio new``), one-word
ones top-level commands (``/turn``). Discord cannot hold a command and a group of one name,
so where a word is both (``sos``, ``sos end``) the two-word command is a top-level
``/sos-end``. Each argument :class:`core.grammar.Kind` maps to a
Discord option type (:data:`OPTION_TYPES`); descriptions are the grammar's help texts.
Commands that act on a trio get an optional ``trio`` option with autocomplete of the
member's trios. Every handler funnels into one ``run`` callable, so the tree holds no
behaviour of its own: the core reads the typed arguments like typed text.

Every name, description and fixed choice is a :class:`~discord.app_commands.locale_str`
whose message is the English (the base name Discord sends back, which the core reads)
and whose ``say`` extra says it in any language: the grammar's French names
(:meth:`Command.words_in`, :func:`group_in`, :meth:`Arg.name_in`, :func:`choice_in`) and
the catalogs' texts. :class:`Localizer`, discord.py's app-command translator, answers
for each Discord locale the bot speaks, so the synced tree carries ``name_localizations``
and ``description_localizations``; a French Discord shows ``/tour``, ``/trio nouveau``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Literal, Optional

import discord
from discord import app_commands

from core.grammar import COMMANDS, Arg, Command, Kind, choice_in, group_in
from core.i18n import SOURCE, _, pick
from core.i18n import render as said_in
from core.textrules import MAX_NAME, MAX_SKILL

Run = Callable[[discord.Interaction, Command, dict[str, Any], str | None], Awaitable[None]]
Complete = Callable[[discord.Interaction, str], Awaitable[list[app_commands.Choice[str]]]]

MAX_DESCRIPTION = 100  # Discord's limit for command and option descriptions
MAX_WORD = 200
MAX_INT = 999_999_999_999  # the grammar reads at most twelve digits

OPTION_TYPES: Mapping[Kind, Any] = {
    Kind.USER: discord.User,
    Kind.INT: app_commands.Range[int, 0, MAX_INT],
    Kind.CHOICE: str,  # with the argument's choices: a Literal, see annotation()
    Kind.WORD: app_commands.Range[str, 1, MAX_WORD],
    Kind.SKILL: app_commands.Range[str, 1, MAX_SKILL],
    Kind.REST: str,  # capped by the argument's limit, see annotation()
    Kind.NAME: app_commands.Range[str, 1, MAX_NAME],
    Kind.SKILL_REST: app_commands.Range[str, 1, MAX_SKILL],
}
"""The Discord option type of every kind of argument (a test checks none is missing)."""

GROUP_DESCRIPTIONS = {
    "trio": _("Your trios: start, invite, join, leave, look."),
    "mentor": _("Mentorships inside a trio."),
    "session": _("Mentoring sessions and the ledger."),
    "privacy": _("Your data: export it, or forget it."),
}
TRIO_HELP = _("which of your trios (where the channel does not say)")


def short(text: str, limit: int = MAX_DESCRIPTION) -> str:
    """A description Discord accepts (at most ``limit`` characters): without its asides in
    parentheses if that is enough, else cut at a word, with an ellipsis."""
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    bare = _ASIDE.sub("", text)
    if len(bare) <= limit:
        return bare
    cut = text[: limit - 1]
    if " " in cut[limit // 2:]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,;:(") + "…"


_ASIDE = re.compile(r" \([^()]*\)")


Say = Callable[[str], str]


def said(say: Say) -> app_commands.locale_str:
    """A name or text for the tree: English as its message, ``say(lang)`` in any language."""
    return app_commands.locale_str(say(SOURCE), say=say)


def described(text: str) -> app_commands.locale_str:
    """A description from a translatable text, within Discord's limit in every language."""
    return said(lambda lang: short(said_in(text, lang)))


class Localizer(app_commands.Translator):
    """discord.py's translator for the tree: each ``locale_str`` said in the languages the
    bot speaks (the English base is left as it is; other Discord locales get nothing)."""

    async def translate(self, string: app_commands.locale_str, locale: discord.Locale,
                        context: app_commands.TranslationContextTypes) -> str | None:
        lang = pick(locale.value)
        say = string.extras.get("say")
        if lang == SOURCE or say is None:
            return None
        text: str = say(lang)
        return text


def annotation(arg: Arg) -> Any:
    """The annotation discord.py turns into the option of one argument."""
    if arg.kind is Kind.CHOICE:
        kind: Any = Literal[arg.choices]
    elif arg.kind is Kind.REST:
        kind = app_commands.Range[str, 1, arg.limit]
    else:
        kind = OPTION_TYPES[arg.kind]
    return kind if arg.required else Optional[kind]  # noqa: UP045 (discord.py reads typing.Optional)


def _callback(command: Command, run: Run) -> Callable[..., Awaitable[None]]:
    """A handler whose signature declares the command's options (discord.py reads it)."""

    async def handler(interaction: discord.Interaction, **values: Any) -> None:
        trio = values.pop("trio", None)
        await run(interaction, command, values, trio)

    params = [inspect.Parameter("interaction", inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                annotation=discord.Interaction)]
    descriptions: dict[str, app_commands.locale_str] = {}
    renames: dict[str, app_commands.locale_str] = {}
    choices: dict[str, list[app_commands.Choice[str]]] = {}
    for arg in command.args:
        params.append(inspect.Parameter(
            arg.name, inspect.Parameter.KEYWORD_ONLY, annotation=annotation(arg),
            default=inspect.Parameter.empty if arg.required else None))
        descriptions[arg.name] = described(arg.help)
        renames[arg.name] = said(arg.name_in)
        if arg.kind is Kind.CHOICE:
            choices[arg.name] = [app_commands.Choice(name=said(_choice_name(c)), value=c)
                                 for c in arg.choices]
    if command.needs_trio:
        params.append(inspect.Parameter("trio", inspect.Parameter.KEYWORD_ONLY,
                                        annotation=Optional[str], default=None))  # noqa: UP045
        descriptions["trio"] = described(TRIO_HELP)
        renames["trio"] = said(lambda lang: "trio")
    handler.__name__ = command.name.replace(" ", "_")
    handler.__qualname__ = handler.__name__
    setattr(handler, "__signature__", inspect.Signature(params))  # noqa: B010
    setattr(handler, "__discord_app_commands_param_description__", descriptions)  # noqa: B010
    setattr(handler, "__discord_app_commands_param_rename__", renames)  # noqa: B010
    setattr(handler, "__discord_app_commands_param_choices__", choices)  # noqa: B010
    return handler


def _choice_name(value: str) -> Say:
    return lambda lang: choice_in(value, lang)


def slash_name(command: Command, lang: str, *, in_group: bool) -> str:
    """A command's slash name in ``lang``: its last word in a group, else its words joined
    by dashes (``sos-end``, ``sos-fin``)."""
    words = command.words_in(lang)
    if in_group and len(words) == 2:
        return words[-1]
    return "-".join(words)


def slash_command(command: Command, run: Run, trios: Complete, skills: Complete,
                  parent: app_commands.Group | None = None) -> app_commands.Command[Any, ..., None]:
    """The slash command of one grammar command."""
    callback: Any = _callback(command, run)
    made: app_commands.Command[Any, ..., None] = app_commands.Command(
        name=said(lambda lang: slash_name(command, lang, in_group=parent is not None)),
        description=described(command.summary), callback=callback, parent=parent)
    trios_any: Any = trios
    skills_any: Any = skills
    if command.needs_trio:
        made.autocomplete("trio")(trios_any)
    for arg in command.args:
        if arg.kind in (Kind.SKILL, Kind.SKILL_REST):
            made.autocomplete(arg.name)(skills_any)
    return made


def build(run: Run, trios: Complete, skills: Complete
          ) -> list[app_commands.Command[Any, ..., None] | app_commands.Group]:
    """Every grammar command as a slash command or a group's subcommand."""
    groups: dict[str, app_commands.Group] = {}
    top: list[app_commands.Command[Any, ..., None] | app_commands.Group] = []
    alone = {c.name for c in COMMANDS if len(c.words) == 1}
    for command in COMMANDS:
        if len(command.words) == 1 or command.words[0] in alone:
            top.append(slash_command(command, run, trios, skills))
            continue
        word = command.words[0]
        if word not in groups:
            groups[word] = app_commands.Group(
                name=said(_group_name(word)),
                description=described(GROUP_DESCRIPTIONS.get(word) or _("{word} commands",
                                                                         word=word)))
            top.append(groups[word])
        groups[word].add_command(slash_command(command, run, trios, skills, groups[word]))
    return top


def _group_name(word: str) -> Say:
    return lambda lang: group_in(word, lang)


def grammar_name(command: app_commands.Command[Any, ..., Any]) -> str:
    """The grammar name of a slash command (``trio new`` for ``/trio new``, ``sos end`` for
    ``/sos-end``)."""
    return command.qualified_name.replace("-", " ")


def render(command: Command, args: Mapping[str, Any], trio: str | None) -> str:
    """The command as it would be typed (for the core's records; never logged)."""
    words = [command.name]
    if trio:
        words.append("#" + "-".join(trio.lstrip("#").split()))
    for arg in command.args:
        value = args.get(arg.name)
        if value is None:
            continue
        text = str(value)
        if arg.kind is Kind.USER:
            text = "@" + text
        elif not arg.takes_rest and any(c.isspace() for c in text):
            text = f'"{text}"'
        words.append(text)
    return " ".join(words)
