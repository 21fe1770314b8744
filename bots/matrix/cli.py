"""``twinome matrix --config PATH``: run the bot on Matrix until stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
from pathlib import Path

from bots.matrix.bot import MatrixBot, core_settings
from bots.matrix.calls import MatrixCallError
from bots.matrix.config import ConfigError, MatrixConfig, load
from bots.matrix.session import LoginError
from core.clock import SystemClock
from core.errors import StorageError
from core.service import Twinome
from core.storage.db import Database


def parser() -> argparse.ArgumentParser:
    """The command line of ``twinome matrix``."""
    p = argparse.ArgumentParser(
        prog="twinome matrix",
        description="Run the Twinome bot on a Matrix homeserver, with end-to-end encryption. "
                    "The password comes from TWINOME_MATRIX_PASSWORD (or an access token from "
                    "TWINOME_MATRIX_ACCESS_TOKEN), never from the file.",
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
        print(f"twinome matrix: {err}", file=sys.stderr)
        return 2
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(args.log_level.upper())
    logging.getLogger("nio").setLevel(logging.ERROR)  # nio's debug output may quote events
    try:
        return asyncio.run(run(config))
    except (ConfigError, LoginError, StorageError) as err:
        print(f"twinome matrix: {err}", file=sys.stderr)
        return 2
    except MatrixCallError as err:
        print(f"twinome matrix: cannot reach {config.homeserver}: {err}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


async def run(config: MatrixConfig) -> int:
    """Open the database and run the bot until SIGINT or SIGTERM."""
    config.database.parent.mkdir(parents=True, exist_ok=True)
    async with await Database.open(config.database) as db:
        core = Twinome(db, SystemClock(), core_settings(config))
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, task.cancel)
        try:
            await MatrixBot(config, core).run()
        except asyncio.CancelledError:
            logging.getLogger("twinome.matrix").info("stopped")
            return 0
    return 0
