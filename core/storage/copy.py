"""Copy a whole community from one database to another (``twinome copy``), row by row.

Theory of operation. Both databases must be at this code's schema version, so they hold
the same tables with the same columns (checked again, table by table, before a row
moves). The target must be empty: a copy into a database that already serves a community
would mix two of them, so it is refused rather than forced; a failed or unwanted copy is
undone by creating the target database anew. Then, in one transaction on each side (the
source's keeps a running bot from writing meanwhile and gives one consistent snapshot; the
target's makes the copy all or nothing):

1. tables are copied in dependency order (a table after those its foreign keys name), a
   page of rows at a time, every column by name; a SQLite table's rows in the order they
   were written (rowid), so that rows a query cannot tell apart (an ``ORDER BY`` with
   ties) keep their order, as far as the target's storage follows the order of writing;
2. ``meta`` is copied too, replacing the target's: its ``instance`` id is kept, because
   the idempotency key of every delivery is that id with the outbox row's id, and an
   effect queued before the move and retried after it must keep its key (a platform then
   recognises a delivery it already took, instead of showing it twice);
3. every id counter is moved past the highest id the source ever gave out, not just past
   the rows still there: delivered outbox rows are deleted, and an outbox id must never
   repeat (same key, different effect: the platform would drop the new one);
4. the row count of every table is read back from both sides and compared.

Counters are read and set the way each backend keeps them: SQLite's ``sqlite_sequence``
(AUTOINCREMENT tables; the others take the largest id plus one, which the copied rows
carry), PostgreSQL's identity sequences.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.errors import StorageError
from core.storage.db import SCHEMA_VERSION, Database, Tx
from core.storage.schema import exists, shown, version_of

PAGE = 1000  # rows read and written at a time


class CopyError(StorageError):
    """The copy was refused or failed; nothing was written to the target."""


@dataclass(frozen=True)
class Table:
    """A table as the copy needs it: its columns, and the ones that order its rows."""

    name: str
    columns: tuple[str, ...]
    order: str  # SQL that orders its rows (SQLite: as they were written; else by key)


@dataclass(frozen=True)
class Copied:
    """One table copied: its rows in the source and in the target afterwards."""

    table: str
    source: int
    target: int


async def copy(source: str | Path, target: str | Path,
               progress: Callable[[Copied], None] = lambda _: None,
               page: int = PAGE) -> list[Copied]:
    """Copy every row of ``source`` into the empty database ``target`` (see the module
    docstring), ``page`` rows at a time; returns the row counts, after checking they match."""
    if not exists(source):
        raise CopyError(f"There is no database at {source}.")
    if _same_place(source, target):
        raise CopyError("The source and the target are the same database.")
    await _same_version(source, target)
    try:
        return await _copy(source, target, progress, page)
    except _driver_errors() as err:  # a locked file (a bot still running), a lost server…
        raise CopyError(f"The copy failed (nothing was kept): {err}") from err


async def _copy(source: str | Path, target: str | Path,
                progress: Callable[[Copied], None], page: int) -> list[Copied]:
    async with await Database.open(source) as src, await Database.open(target) as dst, \
            src.transaction() as read, dst.transaction() as write:
        tables = await _matching_tables(read, src.backend, write, dst.backend)
        await _refuse_nonempty(write, tables)
        counts = []
        for table in tables:
            copied = await _copy_table(read, write, table, page)
            counts.append(copied)
            progress(copied)
        await _move_counters(read, src.backend, write, dst.backend)
        wrong = [c for c in counts if c.source != c.target]
        if wrong:
            raise CopyError("The row counts differ after the copy (nothing was kept): "
                            + ", ".join(f"{c.table} {c.source} → {c.target}" for c in wrong))
    return counts


def _same_place(source: str | Path, target: str | Path) -> bool:
    if isinstance(source, Path) and isinstance(target, Path):
        return source.resolve() == target.resolve()
    return source == target


def _driver_errors() -> tuple[type[Exception], ...]:
    """What the database drivers raise (asyncpg's only where it is installed)."""
    try:
        import asyncpg
    except ImportError:
        return (sqlite3.Error, OSError)
    return (sqlite3.Error, OSError, asyncpg.PostgresError, asyncpg.InterfaceError)


async def _same_version(source: str | Path, target: str | Path) -> None:
    """Refuse unless both databases are at this code's schema version."""
    for role, where in (("source", source), ("target", target)):
        version = await version_of(where)
        if version != SCHEMA_VERSION:
            flag = "--url" if isinstance(where, str) else "--db"
            raise CopyError(
                f"The {role} {shown(where)} is at schema version {version}, this Twinome at "
                f"{SCHEMA_VERSION}: both must be the same. "
                + (f"Run twinome migrate {flag} {shown(where)} first."
                   if version < SCHEMA_VERSION else "Upgrade Twinome first."))


async def _matching_tables(read: Tx, src: str, write: Tx, dst: str) -> list[Table]:
    """The source's tables (read in its own order) in the target's dependency order, once
    checked to match the target's."""
    theirs = {t.name: t for t in await _tables(read, src)}
    ours = {t.name: t for t in await _tables(write, dst)}
    if set(theirs) != set(ours):
        raise CopyError(f"The two databases hold different tables: {sorted(set(theirs) ^ set(ours))}")
    for name, table in ours.items():
        if set(table.columns) != set(theirs[name].columns):
            raise CopyError(f"The table {name} has different columns in the two databases.")
    return [theirs[name] for name in _dependency_order(list(ours), await _parents(write, dst))]


async def _refuse_nonempty(write: Tx, tables: list[Table]) -> None:
    """Refuse a target that holds rows (``meta``, which migrations fill, aside)."""
    full = [t.name for t in tables
            if t.name != "meta" and await write.value(f'SELECT count(*) FROM "{t.name}"')]
    if full:
        raise CopyError(f"The target already holds rows (in {', '.join(full)}): copy only into "
                        "a new, empty database (create it anew, then twinome migrate).")
    await write.run("DELETE FROM meta")  # the source's instance id replaces the new one


async def _copy_table(read: Tx, write: Tx, table: Table, page: int) -> Copied:
    """Every row of one table, a page at a time, in the source's order."""
    columns = ", ".join(f'"{c}"' for c in table.columns)
    insert = (f'INSERT INTO "{table.name}" ({columns}) '
              f"VALUES ({', '.join('?' for _ in table.columns)})")
    async for rows in _pages(read, table, columns, page):
        try:
            await write.many(insert, rows)
        except Exception as err:
            raise CopyError(f"Copying {table.name} failed (nothing was kept): {err}") from err
    source = int(await read.value(f'SELECT count(*) FROM "{table.name}"'))
    return Copied(table.name, source, int(await write.value(f'SELECT count(*) FROM "{table.name}"')))


async def _pages(read: Tx, table: Table, columns: str,
                 page: int) -> AsyncIterator[list[tuple[Any, ...]]]:
    """The source's rows, ``page`` at a time: after the last rowid seen on SQLite (each
    page found at once), else by ``OFFSET`` in key order."""
    if table.order == "rowid":
        select = (f'SELECT rowid, {columns} FROM "{table.name}" WHERE rowid > ? '
                  "ORDER BY rowid LIMIT ?")
        last = None
        while rows := await read.all(select, (-(2**63) if last is None else last, page)):
            last = rows[-1][0]
            yield [tuple(row)[1:] for row in rows]
        return
    select = f'SELECT {columns} FROM "{table.name}" ORDER BY {table.order} LIMIT ? OFFSET ?'
    done = 0
    while rows := await read.all(select, (page, done)):
        done += len(rows)
        yield [tuple(row) for row in rows]


def _dependency_order(names: list[str], parents: list[tuple[str, str]]) -> list[str]:
    """``names`` sorted so that each table comes after the tables it refers to."""
    needs = {name: {p for c, p in parents if c == name and p != name} for name in names}
    ordered: list[str] = []
    while needs:
        ready = sorted(name for name, wanted in needs.items() if not wanted - set(ordered))
        if not ready:
            raise CopyError(f"The foreign keys of {sorted(needs)} form a cycle.")
        ordered += ready
        for name in ready:
            del needs[name]
    return ordered


# What each backend's catalog says. SQLite's internal tables and PostgreSQL's version
# table are not the community's data: each side keeps its own.

async def _tables(tx: Tx, backend: str) -> list[Table]:
    if backend == "sqlite":
        names = [r[0] for r in await tx.all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
        return [Table(name, tuple(r[0] for r in await tx.all(
            "SELECT name FROM pragma_table_info(?) ORDER BY cid", (name,))), "rowid")
            for name in names]
    rows = await tx.all(
        "SELECT c.table_name, c.column_name, coalesce(k.position, 0) AS pk "
        "FROM information_schema.columns c JOIN information_schema.tables t "
        "ON t.table_schema = c.table_schema AND t.table_name = c.table_name "
        "LEFT JOIN (SELECT u.table_name, u.column_name, u.ordinal_position AS position "
        "  FROM information_schema.table_constraints tc "
        "  JOIN information_schema.key_column_usage u ON u.constraint_name = tc.constraint_name "
        "  AND u.table_schema = tc.table_schema "
        "  WHERE tc.constraint_type = 'PRIMARY KEY' AND tc.table_schema = current_schema()) k "
        "ON k.table_name = c.table_name AND k.column_name = c.column_name "
        "WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' "
        "AND c.table_name <> 'twinome_schema' ORDER BY c.table_name, c.ordinal_position")
    found: dict[str, list[tuple[str, int]]] = {}
    for row in rows:
        found.setdefault(row[0], []).append((row[1], int(row[2])))
    return [_table(name, columns) for name, columns in found.items()]


def _table(name: str, columns: list[tuple[str, int]]) -> Table:
    """A table from its (column, position in the primary key or 0) pairs."""
    key = tuple(c for c, at in sorted(columns, key=lambda c: c[1]) if at)
    names = tuple(c for c, _ in columns)
    return Table(name, names, ", ".join(f'"{c}"' for c in key or names))


async def _parents(tx: Tx, backend: str) -> list[tuple[str, str]]:
    """(table, table it refers to) for every foreign key."""
    if backend == "sqlite":
        sql = ("SELECT m.name, f.\"table\" FROM sqlite_master m "
               "JOIN pragma_foreign_key_list(m.name) f WHERE m.type = 'table'")
    else:
        sql = ("SELECT c.relname, p.relname FROM pg_constraint k "
               "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_class p ON p.oid = k.confrelid "
               "WHERE k.contype = 'f' AND c.relnamespace = "
               "(SELECT oid FROM pg_namespace WHERE nspname = current_schema())")
    return [(r[0], r[1]) for r in await tx.all(sql)]


async def _move_counters(read: Tx, src: str, write: Tx, dst: str) -> None:
    """Set every id counter of the target past the highest id the source gave out."""
    for table, column in await _counters(write, dst):
        highest = max(int(await read.value(f'SELECT coalesce(max("{column}"), 0) FROM "{table}"')),
                      await _given_out(read, src, table, column))
        if highest == 0:
            continue
        if dst == "sqlite":
            if not await write.changes("UPDATE sqlite_sequence SET seq = ? WHERE name = ?",
                                       (highest, table)):
                await write.run("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)",
                                (table, highest))
        else:
            await write.run("SELECT setval(pg_get_serial_sequence(?, ?), ?, true)",
                            (table, column, highest))


async def _counters(tx: Tx, backend: str) -> list[tuple[str, str]]:
    """(table, id column) of every table whose ids come from a counter that must move."""
    if backend == "sqlite":  # only AUTOINCREMENT keeps one apart from the rows
        return [(r[0], "id") for r in await tx.all(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND sql LIKE '%AUTOINCREMENT%'")]
    return [(r[0], r[1]) for r in await tx.all(
        "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = current_schema() "
        "AND (is_identity = 'YES' OR column_default LIKE 'nextval(%')")]


async def _given_out(tx: Tx, backend: str, table: str, column: str) -> int:
    """The highest id the source's counter for ``table`` ever gave out (0: none kept)."""
    if backend == "sqlite":
        if not await tx.value("SELECT 1 FROM sqlite_master WHERE name = 'sqlite_sequence'"):
            return 0
        return int(await tx.value("SELECT seq FROM sqlite_sequence WHERE name = ?", (table,)) or 0)
    value = await tx.value(
        "SELECT s.last_value FROM pg_sequences s "
        "WHERE quote_ident(s.schemaname) || '.' || quote_ident(s.sequencename) = "
        "pg_get_serial_sequence(?, ?)", (table, column))
    return int(value or 0)
