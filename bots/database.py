"""``twinome migrate`` and ``twinome copy``: the operator's commands on a database.

``migrate`` brings a database to this code's schema on purpose, before a deploy (a bot
still migrates what it opens, so a newcomer never needs it); ``--check`` only says
whether it should run. ``copy`` moves a whole community into a new database, from a
SQLite file to a PostgreSQL server most often (see :mod:`core.storage.copy`).

Exit codes, for deploy scripts: 0 done (or nothing to do); 1 ``--check`` found migrations
pending; 2 a configuration, a database or a copy refused (the message says what to fix);
3 a database newer than this Twinome. A password never appears in what they print: it
comes from ``TWINOME_DATABASE_PASSWORD`` (or the URL, where it is masked). Their words
stay English, like the logs: they are for whoever runs the bot.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bots.adapter import startup
from core.errors import StorageError
from core.storage.copy import Copied, copy
from core.storage.db import SCHEMA_VERSION
from core.storage.schema import migrate, shown, version_of

PENDING, REFUSED, TOO_NEW = 1, 2, 3


def migrate_main(argv: list[str], out: TextIO | None = None) -> int:
    """``twinome migrate (--config FILE | --db FILE | --url URL) [--check]``."""
    out = sys.stdout if out is None else out
    parser = argparse.ArgumentParser(
        prog="twinome migrate",
        description="Apply the pending schema migrations of a Twinome database (a bot does it "
                    "too when it starts), or with --check only say whether there are any.")
    startup.database_options(parser)
    parser.add_argument("--check", action="store_true",
                        help="change nothing; exit 1 if migrations are pending")
    args = parser.parse_args(argv)
    try:
        target = startup.database(args)
        return asyncio.run(_check(target, out) if args.check else _migrate(target, out))
    except (startup.ConfigError, StorageError) as err:
        return startup.fail("migrate", str(err))


async def _check(target: Path | str, out: TextIO) -> int:
    version = await version_of(target)
    if version > SCHEMA_VERSION:
        return _too_new(target, version)
    if version == SCHEMA_VERSION:
        print(f"{shown(target)} is up to date (schema version {version}).", file=out)
        return 0
    print(f"{shown(target)} is at schema version {version}: migrations up to {SCHEMA_VERSION} "
          f"are pending (run twinome migrate without --check).", file=out)
    return PENDING


async def _migrate(target: Path | str, out: TextIO) -> int:
    version = await version_of(target)
    if version > SCHEMA_VERSION:
        return _too_new(target, version)
    done = await migrate(target)
    if done.before == done.after:
        print(f"{shown(target)} is up to date (schema version {done.after}).", file=out)
    else:
        print(f"{shown(target)} migrated from schema version {done.before} to {done.after}.",
              file=out)
    return 0


def _too_new(target: Path | str, version: int) -> int:
    return startup.fail("migrate", f"{shown(target)} has schema version {version}, newer than "
                                   f"this Twinome ({SCHEMA_VERSION}): upgrade Twinome; the "
                                   f"database was not changed.", TOO_NEW)


def copy_main(argv: list[str], out: TextIO | None = None) -> int:
    """``twinome copy --from SOURCE --to TARGET``."""
    out = sys.stdout if out is None else out
    parser = argparse.ArgumentParser(
        prog="twinome copy",
        description="Copy a whole Twinome community, every row of every table, into a new, "
                    "empty database of the same schema version (twinome migrate it first), "
                    "in one transaction; stop the bot first. Databases are SQLite files or "
                    "postgresql://user@host:port/db URLs (the password from "
                    "TWINOME_DATABASE_PASSWORD).")
    parser.add_argument("--from", dest="source", required=True, metavar="DB",
                        help="the database to copy (it is not changed)")
    parser.add_argument("--to", dest="target", required=True, metavar="DB",
                        help="the new, migrated, empty database")
    args = parser.parse_args(argv)
    source, target = startup.place(args.source), startup.place(args.target)
    print(f"Copying {shown(source)} to {shown(target)}:", file=out)

    def said(copied: Copied) -> None:
        print(f"  {copied.table}: {copied.target} rows", file=out)

    try:
        counts = asyncio.run(copy(source, target, said))
    except StorageError as err:
        return startup.fail("copy", str(err))
    rows = sum(c.target for c in counts)
    print(f"Copied {rows} rows in {len(counts)} tables; every table holds as many rows in "
          f"{shown(target)} as in {shown(source)}.", file=out)
    return 0
