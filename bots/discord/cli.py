"""``twinome discord --config PATH``: run the bot on Discord until stopped."""

from __future__ import annotations

import argparse
import logging

import discord

from bots.adapter import startup
from bots.discord.bot import core_settings, make_client
from bots.discord.communities import Communities
from bots.discord.config import TOKEN_ENV, DiscordConfig, load
from core.config import Settings
from core.service import Twinome


def parser() -> argparse.ArgumentParser:
    """The command line of ``twinome discord``."""
    return startup.parser("twinome discord",
                          f"Run the Twinome bot on Discord. The bot token comes from {TOKEN_ENV}, "
                          "never from the file.")


def main(argv: list[str]) -> int:
    """Entry point; returns the process exit code (2 for configuration problems)."""
    return startup.main("discord", argv, parser(), load, run, {"discord": logging.WARNING},
                        _explain)


def _explain(config: DiscordConfig, err: Exception) -> tuple[str, int] | None:
    """Discord's own reasons not to run, as (line, exit code)."""
    if isinstance(err, discord.LoginFailure):
        return f"Discord refused the token in {TOKEN_ENV}.", 2
    return None


async def run(config: DiscordConfig) -> int:
    """Open the database and run the bot until SIGINT or SIGTERM."""

    communities = Communities()  # members' top roles: the client notes them, the core reads them

    async def bot(core: Twinome) -> None:
        async with make_client(core, config, communities=communities) as client:
            await client.start(config.token)

    settings = core_settings(Settings(default_language=config.default_language), communities)
    return await startup.serve(config.database, settings, bot, "discord")
