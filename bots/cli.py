"""The ``twinome`` command: one entry point for every adapter."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import logging
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from core.i18n import LANGUAGES

_EXTRAS = {"matrix": "matrix", "demo": "demo", "discord": "discord", "reports": "dev",
           "migrate": "postgres", "copy": "postgres"}
# Each subcommand's entry point, ``module`` (its ``main``) or ``module:function``.
_TARGETS = {"matrix": "bots.matrix.cli", "demo": "bots.matrix.demo",
            "discord": "bots.discord.cli", "reports": "bots.reports",
            "migrate": "bots.database:migrate_main", "copy": "bots.database:copy_main"}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="twinome",
        description="Twinome: a bot for trios of people who support each other online.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    sub = parser.add_subparsers(dest="command", metavar="<command>")
    console = sub.add_parser(
        "console", help="play several users against the real core, in a terminal",
        description="Play several named users against the real core and a database file. "
                    "Lines: “alice: <command>”, “alice@trio-1: <text>”, “:advance 3d”, “:now”.",
    )
    console.add_argument("--db", type=Path, help="database file (default: ./twinome-console.sqlite3)")
    source = console.add_mutually_exclusive_group()
    source.add_argument("--script", type=Path, metavar="FILE", help="read lines from FILE")
    source.add_argument("--demo", action="store_true",
                        help="play the built-in demo on a fresh temporary database")
    console.add_argument("--jsonl", action="store_true", help="one JSON object per effect per line")
    console.add_argument("--language", choices=LANGUAGES, default=LANGUAGES[0],
                         help="the bot's default language, and the console's own (default: en)")
    sub.add_parser("matrix", help="run the Matrix bot (options: twinome matrix --help)",
                   add_help=False)
    sub.add_parser("discord", help="run the Discord bot (options: twinome discord --help)",
                   add_help=False)
    sub.add_parser("demo", help="a local Matrix homeserver with the bot (twinome demo --help)",
                   add_help=False)
    sub.add_parser("reports", help="list stored safety reports, undelivered first "
                                   "(twinome reports --config FILE | --db FILE)", add_help=False)
    sub.add_parser("migrate", help="apply a database's pending schema migrations, or --check "
                                   "(twinome migrate --config FILE | --db FILE | --url URL)",
                   add_help=False)
    sub.add_parser("copy", help="copy a whole community into a new database "
                                "(twinome copy --from old.sqlite3 --to postgresql://…)",
                   add_help=False)
    return parser


def version() -> str:
    """The installed version of Twinome (``unknown`` when run from a bare checkout)."""
    try:
        return metadata.version("twinome")
    except metadata.PackageNotFoundError:
        return "unknown"


def this_minute() -> datetime:
    """The real time now, to the minute: where a new console database's clock starts."""
    return datetime.now(UTC).replace(second=0, microsecond=0)


def _logging() -> None:
    """Logs go to stderr; they never carry message text."""
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def _dispatch(command: str, argv: list[str]) -> int:
    """Run ``twinome matrix|discord|demo…`` from its module, imported only now."""
    target, _, function = _TARGETS[command].partition(":")
    try:
        module = importlib.import_module(target)
    except ImportError as err:
        missing = (err.name or "").split(".")[0]
        if err.name == target:
            print(f"twinome {command}: not available in this installation.", file=sys.stderr)
            return 1
        if missing in ("bots", "core"):
            raise  # our own code is broken: a bug, not a missing extra
        print(f"twinome {command} needs optional dependencies ({missing or err} is missing): "
              f"install with pip install -e '.[{_EXTRAS[command]}]'", file=sys.stderr)
        return 1
    entry: Callable[[list[str]], int] = getattr(module, function or "main")
    return entry(argv)


def main(argv: list[str] | None = None) -> int:
    """Parse the command line and run the chosen subcommand."""
    args_list = sys.argv[1:] if argv is None else argv
    _logging()
    if args_list and args_list[0] in _TARGETS:
        return _dispatch(args_list[0], args_list[1:])
    parser = _parser()
    args = parser.parse_args(args_list)
    if args.command is None:  # bare ``twinome``: what it can do, not a usage error
        parser.print_help()
        return 0
    from bots.console.app import Options, run

    options = Options(db=args.db, script=args.script, jsonl=args.jsonl, demo=args.demo,
                      start=this_minute(), language=args.language)
    try:
        return asyncio.run(run(options))
    except KeyboardInterrupt:
        return 130
