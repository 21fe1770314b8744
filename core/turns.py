"""(being written)"""
from core.context import CommandHandler, Ctx, JobHandler
from core.events import LineMessage

COMMANDS: dict[str, CommandHandler] = {}
JOBS: dict[str, JobHandler] = {}


async def on_line_message(ctx: "Ctx", event: "LineMessage") -> None:
    """Placeholder until turn tracking lands."""
