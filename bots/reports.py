"""``twinome reports``: the safety reports stored in a database, for its operators.

Every report is stored (``safety_reports``) before it goes to the moderators' room; one
that could not reach it (no room configured, or the platform refused it) stays
undelivered. This command lists the undelivered ones, then the recent ones, read-only:
it never changes the database, and works while the bot runs.

Its words stay English whatever the bot's default language: it is a tool for whoever runs
the bot, read in a shell beside the logs and ``--help`` (English too), not something a
member reads; the moderators' own copy of a report is in the bot's default language.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TextIO

from bots.adapter import startup
from core.errors import StorageError
from core.queries import FORMER
from core.safety import stored_reports
from core.storage.db import SCHEMA_VERSION, Database, Row
from core.storage.schema import exists, shown, version_of
from core.textrules import inert, quote
from core.timeutil import dt, show


class ReportsError(Exception):
    """The reports cannot be read (no such database, a bad configuration)."""


def _who(member: str, name: str | None) -> str:
    if member.startswith("former:"):
        return FORMER
    return inert(member) if not name or name == member else f"{inert(name)} ({inert(member)})"


def _line(row: Row) -> str:
    trio = "no shared trio" if row["trio_id"] is None else (
        f"trio “{inert(row['trio'] or '?')}” (id {row['trio_id']})")
    reason = "(erased: the reporter's data was forgotten)" if row["reason"] is None else quote(
        row["reason"])
    delivered = ("not delivered" if row["delivered_at"] is None
                 else f"delivered {show(dt(row['delivered_at']))}")
    return (f"#{row['id']} {show(dt(row['created_at']))} [{row['platform']}, {delivered}]\n"
            f"  reported: {_who(row['reported'], row['reported_name'])}\n"
            f"  by: {_who(row['reporter'], row['reporter_name'])}; {trio}\n"
            f"  reason, as typed by the reporter: {reason}")


async def list_reports(target: Path | str, out: TextIO, days: int = 30,
                       now: float | None = None) -> None:
    """Print the undelivered reports, then the delivered ones of the last ``days`` days.

    The database must be at this code's schema (checked without changing anything first:
    this command never migrates nor writes, and works while the bot runs)."""
    if not exists(target):
        raise ReportsError(f"no database at {target}")
    version = await version_of(target)
    if version != SCHEMA_VERSION:
        raise ReportsError(f"{shown(target)} is at schema version {version}, this Twinome reads "
                           f"version {SCHEMA_VERSION}: run twinome migrate (or start the bot "
                           "once) on it first")
    since = int((time.time() if now is None else now) - days * 86400)
    async with await Database.open(target) as db, db.read() as tx:
        waiting, recent = await stored_reports(tx, since)
    print(f"Undelivered reports (they never reached a moderators' room): {len(waiting)}",
          file=out)
    for row in waiting:
        print(_line(row), file=out)
    print(f"\nDelivered reports of the last {days} days: {len(recent)}", file=out)
    for row in recent:
        print(_line(row), file=out)


def main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``twinome reports (--config FILE | --db FILE | --url URL) [--days N]``."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    parser = argparse.ArgumentParser(
        prog="twinome reports",
        description="List the safety reports stored in a Twinome database (a SQLite file or "
                    "a PostgreSQL server): those that never reached a moderators' room "
                    "first, then the recent ones. Read-only.")
    startup.database_options(parser)
    parser.add_argument("--days", type=int, default=30,
                        help="how far back delivered reports are listed (default 30)")
    args = parser.parse_args(argv)
    try:
        asyncio.run(list_reports(startup.database(args), out, max(args.days, 0)))
    except (ReportsError, startup.ConfigError, StorageError) as error:
        print(f"twinome reports: {error}", file=err)
        return 2
    return 0
