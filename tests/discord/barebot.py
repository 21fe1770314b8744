"""A bare discord.py bot (Client + CommandTree) that exercises what Twinome's adapter will use."""

from __future__ import annotations

import asyncio
import io
from typing import Literal

import discord
from discord import app_commands

JOIN_CODES = ["alpha-123", "alpine-456", "bravo-789"]


class PanelView(discord.ui.View):
    """A persistent view: it survives restarts because of its fixed custom_id."""

    def __init__(self) -> None:
        super().__init__(timeout=None)
        self.votes = 0

    @discord.ui.button(label="Yes", style=discord.ButtonStyle.success, custom_id="panel:yes")
    async def yes(self, interaction: discord.Interaction, button: discord.ui.Button[PanelView]) -> None:
        """Count the vote by editing the message the button is on."""
        self.votes += 1
        await interaction.response.edit_message(content=f"Votes: {self.votes}")


class SosModal(discord.ui.Modal, title="SOS"):
    """A modal with one text input."""

    note: discord.ui.TextInput[SosModal] = discord.ui.TextInput(label="Note", custom_id="sos:note")

    async def on_submit(self, interaction: discord.Interaction) -> None:
        """Acknowledge the note privately."""
        await interaction.response.send_message(f"noted: {self.note.value}", ephemeral=True)


def build_tree(tree: app_commands.CommandTree[discord.Client]) -> None:
    """Register the test commands on a tree."""

    @tree.command(description="Answer pong, privately")
    async def ping(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("pong", ephemeral=True)

    @tree.command(description="Think first, then answer")
    async def slow(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True, thinking=True)
        await asyncio.sleep(0.05)
        await interaction.followup.send("done thinking")

    @tree.command(description="Post a voting panel")
    async def panel(interaction: discord.Interaction) -> None:
        await interaction.response.send_message("Votes: 0", view=PanelView())

    @tree.command(description="Open the SOS modal")
    async def sos(interaction: discord.Interaction) -> None:
        await interaction.response.send_modal(SosModal())

    @tree.command(description="Send a file privately")
    async def export(interaction: discord.Interaction) -> None:
        await interaction.response.defer(ephemeral=True)
        data = discord.File(io.BytesIO(b'{"ok": true}'), filename="export.json")
        await interaction.followup.send("your data", file=data, ephemeral=True)

    trio = app_commands.Group(name="trio", description="Trio commands")
    pair = app_commands.Group(name="pair", description="Pair lines", parent=trio)

    @pair.command(name="open", description="Open a pair line")
    @app_commands.describe(member="Who", mood="How")
    async def pair_open(interaction: discord.Interaction, member: discord.User,
                        mood: Literal["calm", "urgent"]) -> None:
        is_member = isinstance(member, discord.Member)
        await interaction.response.send_message(
            f"pair with {member.name} ({mood}, member={is_member})", ephemeral=True)

    @trio.command(name="join", description="Join a trio by code")
    async def join(interaction: discord.Interaction, code: str) -> None:
        await interaction.response.send_message(f"joined {code}", ephemeral=True)

    @join.autocomplete("code")
    async def join_codes(interaction: discord.Interaction,
                         current: str) -> list[app_commands.Choice[str]]:
        return [app_commands.Choice(name=c, value=c) for c in JOIN_CODES if c.startswith(current)]

    tree.add_command(trio)


class BareBot(discord.Client):
    """A bare bot: default intents (no Message Content), a command tree, a persistent view."""

    def __init__(self, intents: discord.Intents | None = None) -> None:
        super().__init__(intents=intents or discord.Intents.default(), guild_ready_timeout=0.05)
        self.tree: app_commands.CommandTree[discord.Client] = app_commands.CommandTree(self)
        build_tree(self.tree)
        self.seen: list[discord.Message] = []
        self.synced: list[app_commands.AppCommand] = []

    async def setup_hook(self) -> None:
        """Re-register the persistent view and sync the global commands."""
        self.add_view(PanelView())
        self.synced = await self.tree.sync()

    async def on_message(self, message: discord.Message) -> None:
        """Keep every message the gateway delivers."""
        self.seen.append(message)
