"""Reading the console's input lines: who types what where, and the ``:`` directives.

A line is one of::

    alice: trio new Les Trois        alice, in her direct chat with the bot
    alice@trio-1: !turn              a command in a room (``!`` or ``/`` in front)
    alice@trio-1/alice+bob: hello    an ordinary message in a room
    :advance 3d                      a directive to the console itself

Blank lines and lines starting with ``#`` are skipped before this module is asked.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from core.grammar import suggest
from core.i18n import Text, _, join

DIRECTIVES = {
    "advance": _("move the clock forward and fire what comes due, e.g. :advance 3d"),
    "now": _("show the console's clock"),
    "rooms": _("list the rooms and who is in them"),
    "help": _("this help"),
    "quit": _("stop (end of input does the same)"),
}

_USER = r"[^\s@:#!/][^\s@:]{0,39}"
_IN_ROOM = re.compile(rf"^(?P<user>{_USER})@(?P<room>\S+?):(?:\s+|$)(?P<text>.*)$", re.DOTALL)
_IN_DM = re.compile(rf"^(?P<user>{_USER}):\s*(?P<text>.*)$", re.DOTALL)


class InputError(Exception):
    """A console line that cannot be read; ``text`` says how to write it (in any language)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


@dataclass(frozen=True)
class Say:
    """``user`` types ``text`` in ``room`` (None: their direct chat with the bot)."""

    user: str
    room: str | None
    text: str


@dataclass(frozen=True)
class Directive:
    """A ``:name arg`` line addressed to the console."""

    name: str
    arg: str


Input = Say | Directive


def read(line: str) -> Input:
    """Read one non-blank, non-comment line."""
    line = line.strip()
    if line.startswith(":"):
        return _directive(line[1:])
    match = _IN_ROOM.match(line) or _IN_DM.match(line)
    if match is None:
        raise InputError(_(
            "I could not read that line. Write “user: text” for a direct chat with the bot, "
            "or “user@room: text” in a room (e.g. alice@trio-1: hello)."
        ))
    text = match["text"].strip()
    if not text:
        raise InputError(_("Nothing to say after the colon."))
    room = match.groupdict().get("room")
    return Say(match["user"].casefold(), room, text)


def _directive(body: str) -> Directive:
    name, _space, arg = body.strip().partition(" ")
    name = name.casefold()
    if name not in DIRECTIVES:
        guess = suggest(name, list(DIRECTIVES))
        if guess:
            raise InputError(_("Unknown console directive “:{name}”. Did you mean :{guess}? "
                               "Type :help.", name=name, guess=guess))
        raise InputError(_("Unknown console directive “:{name}”. Type :help.", name=name))
    return Directive(name, arg.strip())


def help_text() -> Text:
    """The console's own help."""
    lines: list[str] = [_("Console lines:")] + ["  " + line for line in (
        _("alice: <command>           alice in her direct chat with the bot (! is optional)"),
        _("alice@<room>: !<command>   a command in a room"),
        _("alice@<room>: <text>       an ordinary message (only who/where/when reaches the bot)"),
        _("$code                      stands for the last invite code the bot showed"),
        _("# comment                  ignored"),
    )]
    lines += [f"  :{name:<25} " + what for name, what in DIRECTIVES.items()]
    lines.append(_("Bot commands: type “alice: help”."))
    return join("\n", lines)
