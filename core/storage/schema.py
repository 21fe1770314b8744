"""Schema versions read without changing anything, and migration on demand.

:meth:`Database.open` migrates whatever it opens (a newcomer's bot upgrades its own file,
as before). The operator's commands need more: to know where a database stands without
touching it (``twinome migrate --check`` before a deploy; ``twinome copy`` refuses a
source or target at another version than the code's), and to migrate one on purpose and
say from which version to which (``twinome migrate``). Versions are read the way each
backend keeps them: SQLite's ``user_version``, PostgreSQL's ``twinome_schema`` table.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from core.errors import StorageError
from core.storage.db import SCHEMA_VERSION, Database, is_url, newer_than_code


def shown(target: str | Path) -> str:
    """Where a database is, for messages: a file name, or a URL without its password."""
    if not is_url(target):
        return str(target)
    from core.storage.postgres import shown as without_password
    return without_password(str(target))


async def version_of(target: str | Path, env: Mapping[str, str] | None = None) -> int:
    """The schema version of the database at ``target`` (0: none yet), read only.

    A SQLite file that does not exist is version 0 (opening it would create it); a
    PostgreSQL server that cannot be reached, or has no such database, is an error.
    """
    if is_url(target):
        return await _pg_version(str(target), os.environ if env is None else env)
    return _sqlite_version(Path(target))


def exists(target: str | Path) -> bool:
    """Whether a SQLite file is there (a PostgreSQL URL is told apart by connecting)."""
    return is_url(target) or Path(target).exists()


def _sqlite_version(path: Path) -> int:
    """``user_version`` of a SQLite file, read only (one quick statement: no thread hop)."""
    if not path.exists():
        return 0
    try:
        conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as err:
        raise StorageError(f"Cannot read the database {path}: {err}") from None
    try:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])
    except sqlite3.Error as err:
        raise StorageError(f"Cannot read the database {path}: {err}") from None
    finally:
        conn.close()


async def _pg_version(url: str, env: Mapping[str, str]) -> int:
    import asyncpg

    from core.storage.postgres import _VERSION_TABLE, _password

    try:
        conn = await asyncpg.connect(url, password=_password(url, env))
    except (OSError, asyncpg.PostgresError) as err:
        raise StorageError(f"Cannot reach the database {shown(url)}: {err}") from None
    try:
        if await conn.fetchval("SELECT to_regclass($1)", _VERSION_TABLE) is None:
            return 0
        return int(await conn.fetchval(f"SELECT max(version) FROM {_VERSION_TABLE}") or 0)
    finally:
        await conn.close()


@dataclass(frozen=True)
class Migrated:
    """What :func:`migrate` did: the schema version before and after."""

    before: int
    after: int


async def migrate(target: str | Path) -> Migrated:
    """Apply the pending migrations of the database at ``target`` (creating a SQLite file
    that does not exist); a database newer than the code is refused, unchanged."""
    before = await version_of(target)
    if before > SCHEMA_VERSION:
        raise newer_than_code(shown(target), before)
    if isinstance(target, Path):
        target.parent.mkdir(parents=True, exist_ok=True)
    db = await Database.open(target)  # migrates, one transaction per script
    await db.close()
    return Migrated(before, await version_of(target))
