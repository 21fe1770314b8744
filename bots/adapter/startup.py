"""What every bot's startup shares: the TOML file, the command line, logging, running.

Each adapter keeps its own settings (``[matrix]``, ``[discord]``) and secrets (from the
environment); reading the file, the ``[bot]`` table every bot shares (its
``default_language``), the ``--config``/``--log-level`` command line, quiet logging and
running until SIGINT or SIGTERM are the same for all, and so is the shape of a bot's
``main`` (:func:`main`): a configuration problem or a database that cannot be used is one
line on stderr and exit code 2, never a traceback. The operator's commands (``twinome
migrate``, ``copy``, ``reports``) name their database the same way (:func:`database`).
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import tomllib
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import urlsplit

from core.clock import SystemClock
from core.config import Settings
from core.errors import StorageError
from core.i18n import LANGUAGES
from core.service import Twinome
from core.storage.db import Database, is_url

C = TypeVar("C")
Explain = Callable[[C, Exception], "tuple[str, int] | None"]


class ConfigError(Exception):
    """The configuration is missing, unreadable or wrong; the message says what to fix."""


def read_toml(path: Path) -> Mapping[str, Any]:
    """The parsed configuration file, or a :class:`ConfigError` saying what is wrong."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"No configuration file at {path} (see config/twinome.example.toml).") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"Cannot read {path}: {err}.") from None
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path} is not valid TOML: {err}.") from None
    default_language(data)  # a wrong value is said at once, whichever bot reads the file
    return data


def table(data: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    """A ``[name]`` table of the configuration, which must be there."""
    found = data.get(name)
    if not isinstance(found, Mapping):
        raise ConfigError(f"The configuration needs a [{name}] table.")
    return found


def storage(data: Mapping[str, Any], base: Path = Path()) -> Path | str:
    """``[storage]``: ``path``, a SQLite file (relative to ``base``), or ``url``, a
    PostgreSQL server (``postgresql://user@host:port/db``; its password comes from the
    environment, ``TWINOME_DATABASE_PASSWORD``, never from the file)."""
    found = table(data, "storage")
    path, url = found.get("path"), found.get("url")
    if (path is None) == (url is None):
        raise ConfigError("[storage] needs exactly one of path (a SQLite database file) or "
                          "url (postgresql://user@host:port/database).")
    if url is not None:
        if not isinstance(url, str) or not is_url(url.strip()):
            raise ConfigError("[storage] url must look like postgresql://user@host:port/database.")
        if urlsplit(url.strip()).password is not None:
            raise ConfigError("Remove the password from [storage] url: it comes from "
                              "TWINOME_DATABASE_PASSWORD in the environment.")
        return url.strip()
    if not isinstance(path, str) or not path.strip():
        raise ConfigError("[storage] path must be a non-empty file name.")
    return base / path.strip()


def default_language(data: Mapping[str, Any]) -> str:
    """``[bot] default_language``: what the bot speaks to whoever has not chosen (``en``)."""
    bot = data.get("bot", {})
    if not isinstance(bot, Mapping):
        raise ConfigError("[bot] must be a table, like [bot] default_language = \"fr\".")
    value = bot.get("default_language", LANGUAGES[0])
    if value not in LANGUAGES:
        raise ConfigError(f"[bot] default_language must be one of {', '.join(LANGUAGES)}, "
                          f"not {value!r}.")
    return str(value)


def parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The command line every bot takes: ``--config PATH`` and ``--log-level``."""
    p = argparse.ArgumentParser(prog=prog, description=description)
    p.add_argument("--config", required=True, type=Path,
                   help="the TOML configuration (see config/twinome.example.toml)")
    p.add_argument("--log-level", default="info", choices=("debug", "info", "warning", "error"),
                   help="how much to log (never message bodies)")
    return p


def configure_logging(level: str, quiet: Mapping[str, int]) -> None:
    """Log at ``level``; the libraries in ``quiet`` only from their level (they may quote events)."""
    logging.basicConfig(format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(level.upper())
    for name, at in quiet.items():
        logging.getLogger(name).setLevel(at)


async def serve(database: Path | str, settings: Settings, bot: Callable[[Twinome], Awaitable[None]],
                name: str) -> int:
    """Open the database, then run ``bot`` on a core until SIGINT or SIGTERM; exit code 0."""
    if isinstance(database, Path):
        database.parent.mkdir(parents=True, exist_ok=True)
    async with await Database.open(database) as db:
        core = Twinome(db, SystemClock(), settings)
        task = asyncio.current_task()
        loop = asyncio.get_running_loop()
        if task is not None:
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, task.cancel)
        try:
            await bot(core)
        except asyncio.CancelledError:
            logging.getLogger(f"twinome.{name}").info("stopped")
    return 0


def main(name: str, argv: list[str], parser: argparse.ArgumentParser, load: Callable[[Path], C],
         run: Callable[[C], Coroutine[Any, Any, int]], quiet: Mapping[str, int],
         explain: Explain[C] | None = None) -> int:
    """A bot's entry point: parse, load the configuration, log, run; the exit code.

    A :class:`ConfigError` or :class:`StorageError` is one line on stderr and exit code 2;
    ``explain`` turns the adapter's own failures (a refused login…) into (line, exit code),
    or None for an error it does not know (a bug: it propagates). Ctrl-C exits with 0.
    """
    args = parser.parse_args(argv)
    try:
        config = load(args.config)
    except ConfigError as err:
        return fail(name, str(err))
    configure_logging(args.log_level, quiet)
    try:
        return asyncio.run(run(config))
    except KeyboardInterrupt:
        return 0
    except Exception as err:
        said = None if explain is None else explain(config, err)
        if said is None and isinstance(err, ConfigError | StorageError):
            said = (str(err), 2)
        if said is None:
            raise
        return fail(name, *said)


def fail(name: str, message: str, code: int = 2) -> int:
    """Say what went wrong on stderr, one line from ``twinome <name>``; return ``code``."""
    print(f"twinome {name}: {message}", file=sys.stderr)
    return code


def database_options(p: argparse.ArgumentParser, required: bool = True) -> None:
    """``--config FILE | --db FILE | --url URL``: the database an operator's command uses."""
    where = p.add_mutually_exclusive_group(required=required)
    where.add_argument("--config", type=Path,
                       help="a configuration file: its [storage] names the database")
    where.add_argument("--db", type=Path, help="a SQLite database file")
    where.add_argument("--url", help="a PostgreSQL database, postgresql://user@host:port/db "
                                     "(the password from TWINOME_DATABASE_PASSWORD)")


def database(args: argparse.Namespace) -> Path | str:
    """The database named by :func:`database_options` (a :class:`ConfigError` if wrong)."""
    if args.config is not None:
        return storage(read_toml(args.config), args.config.parent)
    if args.db is not None:
        path: Path = args.db
        return path
    url = str(args.url).strip()
    if not is_url(url):
        raise ConfigError("--url must look like postgresql://user@host:port/database.")
    return url


def place(text: str) -> Path | str:
    """A database named on the command line: a ``postgresql://`` URL, else a file."""
    return text.strip() if is_url(text.strip()) else Path(text)
