"""The registry: which function handles each command, job kind and line message."""

from __future__ import annotations

from collections.abc import Sequence

from core import (
    basics,
    language,
    ledger,
    matchmaking,
    mentoring,
    privacy,
    proposals,
    rhythm,
    safety,
    stats,
    support,
    trios,
    turns,
)
from core.context import CommandHandler, Ctx, JobHandler
from core.events import LineMessage

_MODULES = (basics, trios, turns, rhythm, mentoring, ledger, support, proposals, safety, privacy,
            stats, matchmaking, language)

COMMANDS: dict[str, CommandHandler] = {}
JOBS: dict[str, JobHandler] = {}
for _module in _MODULES:
    COMMANDS.update(_module.COMMANDS)
    JOBS.update(_module.JOBS)


async def on_line_messages(ctx: Ctx, events: Sequence[LineMessage],
                           fixed: turns.Fixed | None = None) -> None:
    """Several members wrote in lines (a batch, in order): turn tracking in bulk."""
    await turns.on_line_messages(ctx, events, fixed)
