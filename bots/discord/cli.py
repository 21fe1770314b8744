"""``twinome discord --config PATH``: run the bot on Discord until stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

import discord

from bots.discord.bot import TwinomeClient, core_settings
from bots.discord.config import TOKEN_ENV, ConfigError, DiscordConfig, load
from core.clock import SystemClock
from core.errors import StorageError
from core.service import Twinome
from core.storage.db import Database


def parser() -> argparse.ArgumentParser:
    """The command line of ``twinome discord``."""
    p = argparse.ArgumentParser(
        prog="twinome discord",
        description=f"Run the Twinome bot on Discord. The bot token comes from {TOKEN_ENV}, "
                    "never from the file.",
    )
    p.add_argument("--config", required=True, type=Path,
                   help="the TOML configuration (see config/twinome.example.toml)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"),
                   help="how much to log (never message bodies)")
    return p


def main(argv: list[str]) -> int:
    """Entry point; returns the process exit code (2 for configuration problems)."""
    args = parser().parse_args(argv)
    try:
        config = load(args.config)
    except ConfigError as err:
        print(f"twinome discord: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(args.log_level.upper())
    logging.getLogger("discord").setLevel(logging.WARNING)
    try:
        return asyncio.run(run(config))
    except StorageError as err:
        print(f"twinome discord: {err}", file=sys.stderr)
        return 2
    except discord.LoginFailure:
        print(f"twinome discord: Discord refused the token in {TOKEN_ENV}.", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 0


async def run(config: DiscordConfig) -> int:
    """Open the database and run the bot until SIGINT or SIGTERM."""
    config.database.parent.mkdir(parents=True, exist_ok=True)
    async with await Database.open(config.database) as db:
        core = Twinome(db, SystemClock(), core_settings())
        client = TwinomeClient(core, config)
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, task.cancel)
        try:
            async with client:
                await client.start(config.token)
        except asyncio.CancelledError:
            logging.getLogger("twinome.discord").info("stopped")
            return 0
    return 0
