"""Notices on text platforms (console, Matrix): choices shown as the commands to type.

A choice's command is English (``trio accept K7QX``): the core understands commands in
every language, so that is what it stores. A reader of another language is shown the
command in their words (``trio accepter K7QX``): the command's own words and its answer
words (``yes``, ``confirm``) are said in the notice's language; names, codes and numbers
stay as they are.
"""

from __future__ import annotations

from core import grammar
from core.effects import Choice
from core.errors import ParseError


def with_choices(text: str, choices: tuple[Choice, ...], prefix: str, lang: str = "en") -> str:
    """``text`` followed by one line of its choices: each label and the command that picks it."""
    if not choices:
        return text
    options = " · ".join(f"{c.label}: {prefix}{spoken(c.command, lang)}" for c in choices)
    return f"{text}\n→ {options}"


def command_name(name: str, lang: str) -> str:
    """A command's name (``trio accept``) as a reader of ``lang`` types it."""
    command = grammar.BY_NAME.get(name)
    return command.name_in(lang) if command else name


def spoken(command: str, lang: str) -> str:
    """A command as a reader of ``lang`` types it: its words and answer words in ``lang``."""
    try:
        invocation = grammar.parse(command)
    except ParseError:
        return command
    name = invocation.command.name
    tokens = command.split(" ")
    head = len(invocation.command.words)
    chosen = {str(v).casefold() for a, v in invocation.args.items()
              if any(arg.name == a and arg.kind is grammar.Kind.CHOICE
                     for arg in invocation.command.args)}
    tail = [grammar.choice_in(t.casefold(), lang) if t.casefold() in chosen else t
            for t in tokens[head:]]
    return " ".join([command_name(name, lang), *tail])
