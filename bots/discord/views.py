"""Buttons rendered from the effects' choices, and the SOS modal.

A choice is a command (``vote 3 yes``); its button's custom id is ``twinome:`` and that
command, so the button needs no state on the bot's side: :class:`ChoiceButton` is a
dynamic item matched by its template, and keeps working after a restart. Pressing it
gives the command as the presser; the core refuses people a choice is not for. A choice
whose command does not fit Discord's 100 characters is shown as text to type instead.
"""

from __future__ import annotations

import re
from typing import Any, Protocol, runtime_checkable

import discord

from bots.adapter.text import spoken
from core.effects import Choice
from core.grammar import BY_NAME
from core.i18n import SOURCE, _, render

PREFIX = "twinome:"
MAX_CUSTOM_ID = 100
MAX_LABEL = 80
MAX_BUTTONS = 25
STYLES = {"primary": discord.ButtonStyle.primary, "secondary": discord.ButtonStyle.secondary,
          "danger": discord.ButtonStyle.danger, "success": discord.ButtonStyle.success}


@runtime_checkable
class Handler(Protocol):
    """What the client does with a pressed button or a submitted SOS note."""

    async def run_choice(self, interaction: discord.Interaction, command: str) -> None:
        """Give ``command`` (grammar text) as the interaction's user."""
        ...

    async def run_sos(self, interaction: discord.Interaction, note: str | None,
                      trio: str | None) -> None:
        """Give ``sos`` with its note as the interaction's user."""
        ...


class ChoiceButton(discord.ui.DynamicItem[discord.ui.Button[discord.ui.View]],
                   template=re.compile(re.escape(PREFIX) + r"(?P<command>.+)", re.DOTALL)):
    """A button that gives one command when pressed (see the module docstring)."""

    def __init__(self, command: str, label: str = "…",
                 style: discord.ButtonStyle = discord.ButtonStyle.primary) -> None:
        super().__init__(discord.ui.Button(label=label[:MAX_LABEL], style=style,
                                           custom_id=PREFIX + command))
        self.command = command

    @classmethod
    async def from_custom_id(cls, interaction: discord.Interaction,
                             item: discord.ui.Item[Any], match: re.Match[str]) -> ChoiceButton:
        return cls(match["command"])

    async def callback(self, interaction: discord.Interaction) -> None:
        client = interaction.client
        if isinstance(client, Handler):
            await client.run_choice(interaction, self.command)


def fits(choice: Choice) -> bool:
    """Whether a choice can be a button (its custom id within Discord's limit)."""
    return len(PREFIX + choice.command) <= MAX_CUSTOM_ID and "\n" not in choice.command


def view_of(choices: tuple[Choice, ...]) -> discord.ui.View | None:
    """The buttons of the choices that fit, as a view discord.py will not keep in memory."""
    buttons = [c for c in choices if fits(c)][:MAX_BUTTONS]
    if not buttons:
        return None
    view = discord.ui.View(timeout=None)
    for choice in buttons:
        view.add_item(ChoiceButton(choice.command, choice.label or choice.command,
                                   STYLES.get(choice.style, discord.ButtonStyle.primary)))
    view.stop()  # sent, not stored: the dynamic item answers presses, even after a restart
    return view


def typed_choices(text: str, choices: tuple[Choice, ...], lang: str = SOURCE) -> str:
    """The text, with the choices that cannot be buttons written as commands to type (in
    the words of ``lang``, the language of the text)."""
    rest = [c for c in choices if not fits(c)] + [c for c in choices if fits(c)][MAX_BUTTONS:]
    if not rest:
        return text
    return text + "\n→ " + " · ".join(f"{c.label}: /{spoken(c.command, lang)}" for c in rest)


SOS = BY_NAME["sos"]
NOTE_LIMIT = next(a.limit for a in SOS.args if a.name == "note")


SOS_TITLE = _("SOS")
SOS_NOTE = _("A note for your two allies (optional)")


class SosModal(discord.ui.Modal):
    """The note an SOS may carry, typed in a modal (``/sos`` without a note opens it), its
    words in ``lang``."""

    def __init__(self, trio: str | None, lang: str = SOURCE) -> None:
        super().__init__(title=render(SOS_TITLE, lang))
        self.trio = trio
        self.note: discord.ui.TextInput[SosModal] = discord.ui.TextInput(
            label=render(SOS_NOTE, lang), style=discord.TextStyle.paragraph,
            required=False, max_length=NOTE_LIMIT, custom_id="twinome:sos-note")
        self.add_item(self.note)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        client = interaction.client
        if isinstance(client, Handler):
            await client.run_sos(interaction, self.note.value.strip() or None, self.trio)
