"""``twinome matrix --config PATH``: run the bot on Matrix until stopped."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bots.adapter import startup
from bots.matrix.bot import MatrixBot, core_settings
from bots.matrix.calls import MatrixCallError
from bots.matrix.config import ConfigError, MatrixConfig, load
from bots.matrix.session import LoginError
from core.errors import StorageError
from core.i18n import _, render
from core.service import Twinome


def parser() -> argparse.ArgumentParser:
    """The command line of ``twinome matrix``."""
    return startup.parser(
        "twinome matrix",
        "Run the Twinome bot on a Matrix homeserver, with end-to-end encryption. The password "
        "comes from TWINOME_MATRIX_PASSWORD (or an access token from "
        "TWINOME_MATRIX_ACCESS_TOKEN), never from the file.")


def main(argv: list[str]) -> int:
    """Entry point; returns the process exit code (2 for configuration problems)."""
    args = parser().parse_args(argv)
    try:
        config = load(args.config)
    except ConfigError as err:
        print(f"twinome matrix: {err}", file=sys.stderr)
        return 2
    startup.configure_logging(args.log_level, {"nio": logging.ERROR})  # nio may quote events
    try:
        return asyncio.run(run(config))
    except LoginError as err:
        print("twinome matrix: " + render(err.text, config.language), file=sys.stderr)
        return 2
    except (ConfigError, StorageError) as err:
        print(f"twinome matrix: {err}", file=sys.stderr)
        return 2
    except MatrixCallError as err:
        said = _("cannot reach {homeserver}: {reason}", homeserver=config.homeserver, reason=err)
        print("twinome matrix: " + render(said, config.language), file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


async def run(config: MatrixConfig) -> int:
    """Open the database and run the bot until SIGINT or SIGTERM."""

    async def bot(core: Twinome) -> None:
        await MatrixBot(config, core).run()

    return await startup.serve(config.database, core_settings(config), bot, "matrix")
