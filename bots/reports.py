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
import sqlite3
import sys
import time
from pathlib import Path
from typing import TextIO

from bots.adapter import startup
from core.queries import FORMER
from core.textrules import inert, quote
from core.timeutil import dt, show

_COLUMNS = ("SELECT r.id, r.reporter, r.reported, r.trio_id, t.name AS trio, r.reason, "
            "r.platform, r.created_at, r.delivered_at, a.display_name AS reporter_name, "
            "b.display_name AS reported_name FROM safety_reports r "
            "LEFT JOIN trios t ON t.id = r.trio_id LEFT JOIN members a ON a.id = r.reporter "
            "LEFT JOIN members b ON b.id = r.reported ")


class ReportsError(Exception):
    """The reports cannot be read (no such database, a bad configuration)."""


def database_of(config: Path) -> Path:
    """The database a configuration file names in ``[storage]`` (see :func:`startup.storage`)."""
    try:
        found = startup.storage(startup.read_toml(config), config.parent)
    except startup.ConfigError as err:
        raise ReportsError(f"cannot read the configuration {config}: {err}") from None
    if not isinstance(found, Path):
        raise ReportsError(f"{config} names a PostgreSQL database: this command reads a SQLite "
                           "file only (see the safety_reports table on the server)")
    return found


def _who(member: str, name: str | None) -> str:
    if member.startswith("former:"):
        return FORMER
    return inert(member) if not name or name == member else f"{inert(name)} ({inert(member)})"


def _line(row: sqlite3.Row) -> str:
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


def list_reports(db: Path, out: TextIO, days: int = 30, now: float | None = None) -> None:
    """Print the undelivered reports, then the delivered ones of the last ``days`` days."""
    if not db.exists():
        raise ReportsError(f"no database at {db}")
    since = int((time.time() if now is None else now) - days * 86400)
    try:
        conn = sqlite3.connect(f"{db.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as err:
        raise ReportsError(f"cannot open {db}: {err}") from None
    conn.row_factory = sqlite3.Row
    try:
        waiting = conn.execute(_COLUMNS + "WHERE r.delivered_at IS NULL ORDER BY r.id").fetchall()
        recent = conn.execute(_COLUMNS + "WHERE r.delivered_at IS NOT NULL AND r.created_at >= ? "
                              "ORDER BY r.id DESC LIMIT 500", (since,)).fetchall()
    except sqlite3.OperationalError as err:
        raise ReportsError(f"{db} has no reports table yet ({err}): start the bot once on it "
                           f"to upgrade it") from None
    finally:
        conn.close()
    print(f"Undelivered reports (they never reached a moderators' room): {len(waiting)}",
          file=out)
    for row in waiting:
        print(_line(row), file=out)
    print(f"\nDelivered reports of the last {days} days: {len(recent)}", file=out)
    for row in recent:
        print(_line(row), file=out)


def main(argv: list[str], out: TextIO | None = None, err: TextIO | None = None) -> int:
    """``twinome reports (--db PATH | --config PATH) [--days N]``."""
    out = sys.stdout if out is None else out
    err = sys.stderr if err is None else err
    parser = argparse.ArgumentParser(
        prog="twinome reports",
        description="List the safety reports stored in a Twinome database: those that never "
                    "reached a moderators' room first, then the recent ones. Read-only.")
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--db", type=Path, help="the database file")
    where.add_argument("--config", type=Path,
                       help="a configuration file: its [storage] path names the database")
    parser.add_argument("--days", type=int, default=30,
                        help="how far back delivered reports are listed (default 30)")
    args = parser.parse_args(argv)
    try:
        db = args.db if args.db is not None else database_of(args.config)
        list_reports(db, out, max(args.days, 0))
    except ReportsError as error:
        print(f"twinome reports: {error}", file=err)
        return 2
    return 0
