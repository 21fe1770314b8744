"""``twinome matrix --config PATH``: run the bot on Matrix until stopped."""

from __future__ import annotations

import argparse
import logging

from bots.adapter import startup
from bots.matrix.bot import MatrixBot, core_settings
from bots.matrix.calls import MatrixCallError
from bots.matrix.config import MatrixConfig, load
from bots.matrix.session import LoginError
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
    return startup.main("matrix", argv, parser(), load, run,
                        {"nio": logging.ERROR}, _explain)  # nio may quote events


def _explain(config: MatrixConfig, err: Exception) -> tuple[str, int] | None:
    """Matrix's own reasons not to run, as (line, exit code), in the bot's language."""
    if isinstance(err, LoginError):
        return render(err.text, config.language), 2
    if isinstance(err, MatrixCallError):
        said = _("cannot reach {homeserver}: {reason}", homeserver=config.homeserver, reason=err)
        return render(said, config.language), 1
    return None


async def run(config: MatrixConfig) -> int:
    """Open the database and run the bot until SIGINT or SIGTERM."""

    async def bot(core: Twinome) -> None:
        await MatrixBot(config, core).run()

    return await startup.serve(config.database, core_settings(config), bot, "matrix")
