"""(being written)"""

from core.context import CommandHandler, JobHandler

COMMANDS: dict[str, CommandHandler] = {}
JOBS: dict[str, JobHandler] = {}
