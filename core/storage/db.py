"""The storage port (:class:`Database`, :class:`Tx`) and its SQLite backend over aiosqlite.

The features see only :class:`Tx`, whatever the backend: one portable dialect (``?`` or
``:name`` parameters, ``ON CONFLICT``, ``RETURNING``), rows read by column name or index.
:meth:`Database.open` takes a file path (SQLite, the default) or a ``postgresql://`` URL
(:mod:`core.storage.postgres`, with asyncpg). Each backend ships its own numbered
migrations, the same numbers for the same schema; a database newer than the code is
refused on both.

SQLite: two connections: one for writes, whose transactions are serialised by a lock so any
number of tasks may ask for one (they wait their turn instead of failing with "cannot
start a transaction within a transaction"), and one for reads, which sees only committed
data (WAL gives it a snapshot) and never waits for a write transaction to end.

aiosqlite runs each call on the connection's own thread: one thread hop per statement.
A write transaction whose body awaits nothing but the database can instead run whole on
that thread (:meth:`Database.inline`): one hop for BEGIN, every statement and COMMIT. A
short one (one event's) runs with no hop at all, on the caller's own thread, on a third
connection (:meth:`SqliteDatabase.inline` with ``short``): the hop there and back costs
about as much as half of such a transaction, and the transaction's Python (most of it)
holds the interpreter's lock on either thread anyway.
"""

from __future__ import annotations

import abc
import asyncio
import contextlib
import functools
import logging
import sqlite3
from collections.abc import AsyncIterator, Callable, Coroutine, Iterable, Iterator, Sequence
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar, overload

import aiosqlite

from core.errors import StorageError

log = logging.getLogger("twinome.storage")

Params = Sequence[Any] | dict[str, Any]
T = TypeVar("T")
Body = Callable[["Tx"], Coroutine[Any, Any, T]]


class Row(Protocol):
    """A result row of either backend: ``row["column"]`` or ``row[0]``, iterable, dict-able."""

    @overload
    def __getitem__(self, key: int | str, /) -> Any: ...

    @overload
    def __getitem__(self, key: slice, /) -> tuple[Any, ...]: ...

    def __len__(self) -> int: ...

    def __iter__(self) -> Iterator[Any]: ...

    def keys(self) -> Iterable[str]: ...


def migrations(backend: str = "sqlite") -> list[tuple[int, str]]:
    """The numbered migration scripts of a backend (``sqlite``: the top folder), in order."""
    folder = resources.files("core.storage") / "migrations"
    if backend != "sqlite":
        folder = folder / backend
    found = []
    for entry in folder.iterdir():
        if entry.name.endswith(".sql"):
            found.append((int(entry.name.split("_", 1)[0]), entry.read_text("utf-8")))
    return sorted(found)


MIGRATIONS = migrations()
SCHEMA_VERSION = MIGRATIONS[-1][0]


def newer_than_code(where: str, current: int) -> StorageError:
    """The refusal of a database whose schema is newer than this code's."""
    return StorageError(
        f"The database {where} has schema version {current}, newer than this "
        f"Twinome ({SCHEMA_VERSION}). Upgrade Twinome or use another database.")


def among(name: str, values: Iterable[Any]) -> tuple[str, dict[str, Any]]:
    """A portable ``IN`` list of named parameters, ``(:name0, :name1…)``, with their values
    (``(NULL)``, which matches nothing, when there are none).

    The list is padded with its last value up to a round length (:func:`_round_up`): a
    statement is parsed and planned once per distinct text, and both backends keep the
    prepared ones, so a query run with 97 values, then 101, then 99 is prepared once, not
    three times (a repeated value changes neither ``IN`` nor ``NOT IN``).
    """
    listed = list(values)
    if not listed:
        return "(NULL)", {}
    listed += [listed[-1]] * (_round_up(len(listed)) - len(listed))
    keys = _keys(name, len(listed))
    return keys[0], dict(zip(keys[1], listed, strict=True))


@functools.lru_cache(maxsize=1024)
def _keys(name: str, count: int) -> tuple[str, tuple[str, ...]]:
    """The ``IN`` list text of ``count`` parameters named after ``name``, and their names."""
    names = tuple(f"{name}{i}" for i in range(count))
    return "(" + ", ".join(f":{key}" for key in names) + ")", names


def _round_up(count: int) -> int:
    """The length an ``IN`` list of ``count`` values is padded to: the next power of two up
    to 256, then the next multiple of 256 (at most 255 values more)."""
    if count > 256:
        return -(-count // 256) * 256
    return 1 << (count - 1).bit_length()


def contains(column: str, needle: str = "?") -> str:
    """Portable SQL for "text ``column`` holds the (non-empty) text ``needle``", exactly
    (SQLite's ``instr`` and PostgreSQL's ``strpos`` differ; ``LIKE`` ignores case on one)."""
    return f"replace({column}, {needle}, '') <> {column}"


def is_url(target: str | Path) -> bool:
    """Whether ``target`` names a PostgreSQL server rather than a SQLite file."""
    return isinstance(target, str) and target.startswith(("postgresql://", "postgres://"))


class Tx:
    """One open transaction; the handlers' only way to the database."""

    skip_locked = ""
    """Appended to a ``SELECT`` of rows the transaction means to take for itself (due jobs):
    on a backend shared by several processes, ``FOR UPDATE SKIP LOCKED``, so that rows
    another transaction took already are passed over instead of waited for; else nothing
    (one writer at a time takes them all)."""

    doomed: BaseException | None = None
    """The conflict with another process's transaction that this one met, if any: it can
    only roll back now, to run again (:meth:`Database.atomic`). A handler that catches
    errors to carry on raises it instead."""

    def __init__(self, conn: aiosqlite.Connection) -> None:
        self._conn = conn
        self._savepoints = 0

    def check(self) -> None:
        """Raise the conflict the transaction met, if any (from an ``except`` that would
        otherwise carry on: the whole transaction must run again, not just go on)."""
        if self.doomed is not None:
            raise self.doomed

    def versions(self, *aliases: str) -> str:
        """SQL for a text that changes whenever one of the rows named by ``aliases`` (in
        the query it goes in) is written anew, for a :class:`Plan` to state what it relies
        on; ``NULL`` where the backend runs no plans (see :attr:`Database.plans`)."""
        return "NULL"

    async def _fetch(self, sql: str, params: Params) -> Iterable[Row]:
        return await self._conn.execute_fetchall(sql, params)

    async def _exec(self, sql: str, params: Params = ()) -> Cursor:
        return await self._conn.execute(sql, params)  # one thread hop; the cursor needs no close

    async def _many(self, sql: str, rows: Iterable[Params]) -> None:
        await self._conn.executemany(sql, rows)

    async def one(self, sql: str, params: Params = ()) -> Row | None:
        """The first row of a query, or None."""
        return next(iter(await self._fetch(sql, params)), None)

    async def all(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query (use LIMIT: tables are never loaded whole)."""
        return list(await self._fetch(sql, params))

    async def value(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row, or None."""
        row = await self.one(sql, params)
        return None if row is None else row[0]

    async def version(self) -> Any:
        """A value that changes whenever another connection commits (None where the
        backend has none): SQLite's ``data_version``."""
        return await self.value("PRAGMA data_version")

    async def run(self, sql: str, params: Params = ()) -> None:
        """Execute a statement."""
        await self._exec(sql, params)

    async def insert(self, sql: str, params: Params = ()) -> int:
        """Execute an ``INSERT`` of one row into a table with an ``id``; returns that id."""
        return int(await self.value(sql + " RETURNING id", params))

    async def changes(self, sql: str, params: Params = ()) -> int:
        """Execute a statement; returns how many rows it changed."""
        return (await self._exec(sql, params)).rowcount

    async def many(self, sql: str, rows: Iterable[Params]) -> None:
        """Execute a statement once per parameter set."""
        await self._many(sql, rows)

    async def together(self, *writes: tuple[str, Sequence[Params]]) -> None:
        """Execute writes that do not depend on one another, each statement once per
        parameter set of its own, in no set order: none may change a row that another
        changes or reads (different tables, or different rows of one). PostgreSQL sends
        a few as one statement, one round trip; SQLite runs them one after the other."""
        for sql, rows in writes:
            if rows:
                await self._many(sql, rows)

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        """A nested transaction: rolled back alone if the block raises."""
        name = f"sp{self._savepoints + 1}"
        await self._exec(f"SAVEPOINT {name}")
        self._savepoints += 1
        try:
            yield
        except BaseException:
            await self._exec(f"ROLLBACK TO {name}")
            await self._exec(f"RELEASE {name}")
            raise
        else:
            await self._exec(f"RELEASE {name}")
        finally:
            self._savepoints -= 1


class NotPlanned(Exception):
    """A transaction could not run as a plan (see :meth:`Database.at_once`): it read what
    no plan can, or what it relied on had changed, or it met an error. Nothing of it was
    written: it is to run as an ordinary transaction."""


class Plan(Tx):
    """A write transaction written down instead of run, to be sent whole as one statement
    (:meth:`Database.at_once`).

    Its writes are kept, in order, to run together on one snapshot: none may depend on
    another (as with :meth:`Tx.together`). A statement whose count is asked
    (:meth:`changes`) is taken to change rows, and the plan fails when it runs if it
    does not. A read refuses (:class:`NotPlanned`), but for :meth:`peek`: a read now,
    outside the transaction, whose result the caller vouches for with :meth:`expect`.
    """

    def __init__(self) -> None:
        self._savepoints = 0
        self.writes: list[tuple[str, Params, bool]] = []  # statement, values, counted
        self.expected: list[tuple[str, Params]] = []  # queries that must give TRUE

    def _refuse(self) -> NotPlanned:
        self.doomed = NotPlanned("a plan cannot read")  # check() raises it again
        return self.doomed

    async def _fetch(self, sql: str, params: Params) -> Iterable[Row]:
        raise self._refuse()

    async def _exec(self, sql: str, params: Params = ()) -> Cursor:
        self.writes.append((sql, params, False))
        return _Assumed()

    async def _many(self, sql: str, rows: Iterable[Params]) -> None:
        self.writes.extend((sql, params, False) for params in rows)

    async def changes(self, sql: str, params: Params = ()) -> int:
        """1: the statement is taken to change rows (checked when the plan runs)."""
        self.writes.append((sql, params, True))
        return 1

    @asynccontextmanager
    async def savepoint(self) -> AsyncIterator[None]:
        await self._fetch("SAVEPOINT", ())  # refuses: a plan has no savepoints
        yield

    async def peek(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of a query, read now and outside the transaction: what the caller
        relies on of them, it states with :meth:`expect`."""
        raise self._refuse()

    def expect(self, sql: str, params: Params = ()) -> None:
        """State that the query (one value) gives TRUE when the plan runs: else it fails,
        writing nothing."""
        self.expected.append((sql, params))


class _Assumed:
    """What a planned statement tells back before it ran: one row changed, taken for
    granted (as :meth:`Plan.changes`)."""

    rowcount = 1


class Cursor(Protocol):
    """What a statement tells back: the rows it changed."""

    @property
    def rowcount(self) -> int: ...


class _InlineTx(Tx):
    """A transaction driven on the write connection's own thread: no call ever waits."""

    def __init__(self, raw: sqlite3.Connection | sqlite3.Cursor) -> None:
        self._raw = raw
        self._savepoints = 0

    async def _fetch(self, sql: str, params: Params) -> Iterable[Row]:
        return self._raw.execute(sql, params).fetchall()

    async def _exec(self, sql: str, params: Params = ()) -> Cursor:
        return self._raw.execute(sql, params)

    async def _many(self, sql: str, rows: Iterable[Params]) -> None:
        self._raw.executemany(sql, rows)


_PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA busy_timeout=5000",
    "PRAGMA secure_delete=ON",  # deleted rows (privacy forget) leave no bytes behind
    # The commit that takes the WAL past this many pages copies them back into the file,
    # with two fsyncs. Turn tracking rewrites the same hot pages (line_state) in every
    # batch: past SQLite's default of 1000, each checkpoint copies them once for four
    # times as many commits, for a WAL of up to 16 MB.
    "PRAGMA wal_autocheckpoint=4000",
    # Pages kept in memory per connection, at most (KiB when negative). SQLite's default,
    # 2 MB, holds a fraction of a busy database: the lines of a burst of messages were
    # read from the file again and again (a cold line read cost about twice as much).
    "PRAGMA cache_size=-32768",
)


async def _connect(path: str) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(path, isolation_level=None)
    conn.row_factory = sqlite3.Row
    try:
        for pragma in _PRAGMAS:
            await conn.execute(pragma)
    except BaseException:
        await conn.close()
        raise
    return conn


class Database(abc.ABC):
    """The storage port: write transactions one at a time, reads that never wait for them."""

    path: str  # where the data lives, for messages (a file, or a URL without its password)
    backend: str  # "sqlite" or "postgres", for the tests and the logs
    shared = False
    """Whether other processes may use the database at the same time (PostgreSQL): they
    then share the work by claims (:meth:`core.service.Twinome.claim`); one process alone
    on a SQLite file claims nothing."""
    writes: int | None = None
    """Write transactions so far, where this process is the only writer (a cache kept
    across transactions checks it); None where other processes may write too."""
    plans = False
    """Whether :meth:`at_once` can run a transaction as one statement (PostgreSQL)."""

    @staticmethod
    async def open(target: str | Path) -> Database:
        """Open and migrate the database at ``target``: a SQLite file path, or a
        ``postgresql://`` URL (see :func:`core.storage.postgres.PgDatabase.connect`)."""
        if is_url(target):
            from core.storage.postgres import PgDatabase  # asyncpg is an optional extra
            return await PgDatabase.connect(str(target))
        return await SqliteDatabase.connect(target)

    @abc.abstractmethod
    async def close(self) -> None:
        """Close every connection."""

    async def __aenter__(self) -> Database:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @abc.abstractmethod
    def transaction(self) -> contextlib.AbstractAsyncContextManager[Tx]:
        """One write transaction, committed if the block ends normally (one at a time)."""

    async def atomic(self, body: Body[T], *, serializable: bool = True) -> T:
        """Run ``body`` as one write transaction; on a backend where concurrent writers can
        conflict, run it again from the start until it commits (so ``body`` must change
        nothing outside its :class:`Tx` that a second run would not redo).

        ``serializable`` False: each statement of ``body`` is right on its own whatever
        other processes commit meanwhile (an upsert whose condition settles who holds a
        row, say): where the backend can, it runs at READ COMMITTED and so never conflicts
        with other processes' transactions (it sees what they committed, statement by
        statement)."""
        async with self.transaction() as tx:
            return await body(tx)

    async def at_once(self, body: Body[T]) -> T:
        """Run ``body`` on a :class:`Plan`, then send the plan as one statement: one round
        trip for a whole transaction, and one more for each :meth:`Plan.peek`. Raises
        :class:`NotPlanned`, having written nothing, when that cannot be (``body`` read,
        what it relied on changed, or anything failed; a backend without plans, always):
        ``body`` is then to run as an ordinary transaction (:meth:`atomic`), so it must
        change nothing outside its :class:`Tx` that a second run would not redo."""
        raise NotPlanned("this backend runs no plans")

    @abc.abstractmethod
    async def inline(self, body: Body[T], *, short: bool = False) -> T:
        """Run ``body`` as one write transaction, as fast as the backend can (see
        :meth:`SqliteDatabase.inline`; elsewhere, :meth:`atomic`); ``short``: it is one
        event's, a few statements."""

    @abc.abstractmethod
    async def write(self, sql: str, params: Params = (), *, keeps_caches: bool = False) -> int:
        """One statement, a transaction of its own; returns how many rows it changed
        (``keeps_caches``: it changes nothing a cache holds, see :attr:`writes`)."""

    @abc.abstractmethod
    def read(self) -> contextlib.AbstractAsyncContextManager[Tx]:
        """Reads of what is committed; never waits for a write."""

    async def read_inline(self, body: Body[T]) -> T:
        """Run ``body`` as one read-only transaction (one snapshot; a write in it fails), as
        fast as the backend can (see :meth:`SqliteDatabase.read_inline`); a backend whose
        connection can drop runs ``body`` again from the start on a new one (see
        :meth:`core.storage.postgres.PgDatabase.read_inline`), so it must only read."""
        async with self.read() as tx:
            return await body(tx)

    async def read_value(self, sql: str, params: Params = ()) -> Any:
        """The first column of the first row of one query (None if no row), read with
        :meth:`read_inline` (so again after a lost connection)."""
        async def body(tx: Tx) -> Any:
            return await tx.value(sql, params)

        return await self.read_inline(body)

    clock_sql = "SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)"
    """The database's own clock, in Unix milliseconds (see :meth:`clock_ms`)."""

    async def clock_ms(self) -> int:
        """The database's own clock now, in Unix milliseconds: the one clock every process
        sharing the database reads alike (leases are written in it), whatever their own
        clocks say."""
        return int(await self.read_value(self.clock_sql))

    async def read_all(self, sql: str, params: Params = ()) -> list[Row]:
        """Every row of one query, read with :meth:`read_inline` (so again after a lost
        connection)."""
        async def body(tx: Tx) -> list[Row]:
            return list(await tx.all(sql, params))

        return await self.read_inline(body)

    @abc.abstractmethod
    async def checkpoint(self, tries: int = 20) -> bool:
        """Make deleted data leave the disk where the backend keeps old copies of it (the
        SQLite WAL); returns False if it could not."""


class SqliteDatabase(Database):
    """Two aiosqlite connections (writes, reads) with WAL, foreign keys and a migrated schema."""

    writes: int  # one process writes a SQLite file (the console and bots claim it)

    backend = "sqlite"

    def __init__(self, conn: aiosqlite.Connection, reader: aiosqlite.Connection,
                 path: str) -> None:
        self._conn = conn
        self._reader = reader
        self._write_lock = asyncio.Lock()
        self._read_lock = asyncio.Lock()
        self._near: sqlite3.Connection | None = None  # read_inline's, on the caller's thread
        self._near_cursor: sqlite3.Cursor | None = None  # the one cursor it reads with
        self._near_writer: sqlite3.Connection | None = None  # short inline writes', likewise
        self._near_commits = 0  # commits on the near writer since its WAL was checkpointed
        self.near_checkpoint = NEAR_CHECKPOINT  # such commits between two checkpoints
        self._checkpointing: asyncio.Task[None] | None = None
        self.path = path
        # Write transactions begun on this connection (statements declared harmless to
        # caches aside): a cache of what is stored compares it to know nothing else wrote.
        self.writes = 0

    @classmethod
    async def connect(cls, path: str | Path) -> SqliteDatabase:
        """Open (creating if needed) and migrate the database at ``path`` (a file that
        cannot be opened or is no SQLite database: a :class:`StorageError`)."""
        try:
            return await cls._open(str(path))
        except sqlite3.Error as err:
            raise StorageError(f"Cannot open the database {path}: {err}") from err

    @classmethod
    async def _open(cls, path: str) -> SqliteDatabase:
        conn = await _connect(path)
        try:
            reader = await _connect(path)
        except BaseException:
            await conn.close()
            raise
        db = cls(conn, reader, path)
        try:
            await reader.execute("PRAGMA query_only=ON")  # reads only: a write there is a bug
            await db._migrate()
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        """Close every connection."""
        if self._checkpointing is not None:
            self._checkpointing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointing
        for near in (self._near, self._near_writer):
            if near is not None:
                near.close()
        try:
            await self._reader.close()
        finally:
            await self._conn.close()

    async def _migrate(self) -> None:
        async with self._conn.execute("PRAGMA user_version") as cur:
            row = await cur.fetchone()
        current = int(row[0]) if row else 0
        if current > SCHEMA_VERSION:
            raise newer_than_code(self.path, current)
        for number, script in MIGRATIONS:
            if number <= current:
                continue
            await self._conn.execute("BEGIN IMMEDIATE")
            try:
                for statement in _statements(script):
                    await self._conn.execute(statement)
                await self._conn.execute(f"PRAGMA user_version = {number}")
                await self._conn.execute("COMMIT")
            except BaseException:
                await self._conn.execute("ROLLBACK")
                raise

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One write transaction, committed if the block ends normally (one at a time).

        A task cancelled in the middle leaves no stray transaction behind: the rollback is
        queued after whatever statement it had begun.
        """
        async with self._write_lock:
            self.writes += 1
            try:
                await self._conn.execute("BEGIN IMMEDIATE")
                yield Tx(self._conn)
            except BaseException:
                await self._rollback()
                raise
            else:
                await self._conn.execute("COMMIT")

    async def write(self, sql: str, params: Params = (), *, keeps_caches: bool = False) -> int:
        """One statement, a transaction of its own (one thread hop where a block takes
        three); returns how many rows it changed. ``keeps_caches``: it changes nothing any
        cache holds (it deletes delivered outbox rows, say), so it leaves :attr:`writes`."""
        async with self._write_lock:
            self.writes += not keeps_caches
            cur = await self._conn.execute(sql, params)
            return cur.rowcount

    async def inline(self, body: Body[T], *, short: bool = False) -> T:
        """Run ``body`` as one write transaction, whole, on the write connection's thread.

        One thread hop for the whole transaction (BEGIN, every statement, COMMIT) instead
        of one per statement. ``body`` may await only its :class:`Tx`: there, every call
        completes at once, so the coroutine runs to its end without suspending (one that
        suspends is rolled back with a :class:`StorageError`). Committed if it returns,
        rolled back if it raises. A caller cancelled meanwhile does not stop it: the
        transaction still ends, committed or rolled back, before anything else runs on
        the connection.

        ``short`` (one event's transaction, a few statements): no hop at all; it runs on
        the caller's own thread, while the event loop waits, on a write connection of its
        own (see :meth:`_near_write`), unless that connection cannot begin at once.
        """
        run = getattr(self._conn, "_execute", None)  # aiosqlite's own queue to its thread
        if run is None:  # not this aiosqlite: the same transaction, one hop per statement
            async with self.transaction() as tx:
                return await body(tx)
        conn = self._conn
        async with self._write_lock:
            self.writes += 1
            if short:
                with contextlib.suppress(_NearBusy):
                    return self._near_write(body)
            result: T = await run(lambda: _drive(conn._conn, body))
            return result

    def _near_write(self, body: Body[T]) -> T:
        """Run ``body`` as one write transaction on this thread; :class:`_NearBusy` if the
        near writer could not begin (another thread's, or the file is locked: the caller
        takes the write connection's thread instead).

        Theory. The caller holds the write lock, so within this process nothing else
        writes; BEGIN IMMEDIATE waits no more than :data:`NEAR_BUSY` ms for another
        process's lock. Past BEGIN it is :func:`_drive`'s transaction: committed or rolled
        back whole, as on the thread. The near writer never checkpoints at a commit
        (a checkpoint copies the WAL back with two fsyncs: not on the event loop's
        thread): every :attr:`near_checkpoint` commits the write connection's thread
        checkpoints, about as often as its ``wal_autocheckpoint`` would.
        """
        try:
            near = self._near_writer or self._open_near_writer()
            near.execute("BEGIN IMMEDIATE")
        except (sqlite3.OperationalError, sqlite3.ProgrammingError) as err:
            log.debug("a short write fell back to the write connection: %s", err)
            raise _NearBusy from err
        result = _finish(near, body)
        self._near_commits += 1
        if self._near_commits >= self.near_checkpoint and (
                self._checkpointing is None or self._checkpointing.done()):
            self._near_commits = 0
            self._checkpointing = asyncio.get_running_loop().create_task(self._passive())
        return result

    def _open_near_writer(self) -> sqlite3.Connection:
        """The connection short writes use on this thread (no checkpoint at its commits)."""
        self._near_writer = _open_on_this_thread(self.path, *_PRAGMAS,
                                                 "PRAGMA wal_autocheckpoint=0")
        return self._near_writer

    async def _passive(self) -> None:
        """Checkpoint the WAL the near writer's commits grew, on the write connection's thread."""
        try:
            async with self._write_lock:
                await self._conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error as err:  # the next one tries again; the WAL only grows meanwhile
            log.warning("the WAL of %s could not be checkpointed: %s", self.path, err)

    async def _rollback(self) -> None:
        """Roll back whatever the write connection began, even a BEGIN cancelled in flight.

        A cancelled call still runs in aiosqlite's thread, in order: this ROLLBACK runs after
        it, and finds no transaction only if there was none to end.
        """
        with contextlib.suppress(sqlite3.OperationalError):
            await self._conn.execute("ROLLBACK")

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """Reads of what is committed (each statement sees a snapshot); never waits for a write."""
        async with self._read_lock:
            yield Tx(self._reader)

    async def read_inline(self, body: Body[T]) -> T:
        """Run ``body`` as one read transaction, whole, on the caller's own thread.

        No thread hop at all (a hop to aiosqlite's thread and back costs more than a
        short read, and far more on a busy machine): a connection of its own, opened on
        first use, read-only (``query_only``: a write in ``body`` raises), reads the
        snapshot while the event loop waits. So it is for short reads (``body`` may
        await only its :class:`Tx`). It waits at most :data:`NEAR_BUSY` ms for a lock
        (the WAL being reset); then, or where that connection cannot serve (another
        thread), the read connection runs ``body`` on its thread.
        """
        try:
            return _drive_read(self._near_cursor or self._open_near(), body)
        except (sqlite3.OperationalError, sqlite3.ProgrammingError) as err:
            log.debug("an inline read fell back to the read connection: %s", err)
        run = getattr(self._reader, "_execute", None)  # aiosqlite's own queue to its thread
        if run is None:  # not this aiosqlite: one hop per statement
            return await super().read_inline(body)
        reader = self._reader
        async with self._read_lock:
            result: T = await run(lambda: _drive_read(reader._conn, body))
            return result

    def _open_near(self) -> sqlite3.Cursor:
        """The connection :meth:`read_inline` reads with on this thread, as the one cursor
        all its statements run on (each fetches its rows whole before the next): a cursor
        made per statement (five a read, each with a weak reference the connection keeps
        until it sweeps them) cost the Discord benchmark's read-only command about 0.02 of
        its ratio to a bare bot."""
        self._near = _open_on_this_thread(self.path, "PRAGMA query_only=ON")
        self._near_cursor = self._near.cursor()
        return self._near_cursor

    async def checkpoint(self, tries: int = 20) -> bool:
        """Copy the WAL back into the database file and truncate it to zero bytes.

        Old page images (deleted rows included) leave the disk only this way. It cannot
        finish while another connection (another process) holds an older read snapshot:
        it tries ``tries`` times, 50 ms apart, and returns False if it never could.
        """
        for attempt in range(tries):
            async with self._read_lock, self._write_lock:
                rows = list(await self._conn.execute_fetchall("PRAGMA wal_checkpoint(TRUNCATE)"))
            if rows and not rows[0][0]:  # (busy, log frames, checkpointed frames)
                return True
            if attempt + 1 < tries:
                await asyncio.sleep(0.05)
        log.warning("the WAL of %s could not be checkpointed: another connection reads it",
                    self.path)
        return False


def _open_on_this_thread(path: str, *pragmas: str) -> sqlite3.Connection:
    """A plain sqlite3 connection for the caller's thread (rows by name, transactions begun
    by hand), waiting :data:`NEAR_BUSY` ms at most for a lock, with ``pragmas`` run after."""
    near = sqlite3.connect(path, isolation_level=None)
    try:
        near.row_factory = sqlite3.Row
        for pragma in (*pragmas, f"PRAGMA busy_timeout={NEAR_BUSY}"):
            near.execute(pragma)
    except BaseException:
        near.close()
        raise
    return near


class _NearBusy(Exception):
    """The near writer could not begin a transaction: nothing ran."""


def _drive(raw: sqlite3.Connection, body: Body[T]) -> T:
    """Run a transaction body to its end on this thread (see :meth:`Database.inline`)."""
    raw.execute("BEGIN IMMEDIATE")
    return _finish(raw, body)


def _finish(raw: sqlite3.Connection, body: Body[T]) -> T:
    """Run a transaction body in the transaction just begun, then commit (or roll back)."""
    try:
        result = _to_end(body(_InlineTx(raw)))
        raw.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.OperationalError):  # SQLite may have ended it
            raw.execute("ROLLBACK")
        raise
    return result


NEAR_BUSY = 20  # ms an inline read or short write on the loop's thread waits for a lock at most
NEAR_CHECKPOINT = 500  # short writes between two checkpoints (about 4,000 WAL pages)


def _drive_read(raw: sqlite3.Connection | sqlite3.Cursor, body: Body[T]) -> T:
    """Run a read body to its end on this thread, in one snapshot."""
    raw.execute("BEGIN")
    try:
        return _to_end(body(_InlineTx(raw)))
    finally:
        raw.execute("COMMIT")


def _to_end(coro: Coroutine[Any, Any, T]) -> T:
    """The value of a coroutine that never suspends."""
    try:
        coro.send(None)
    except StopIteration as stop:
        result: T = stop.value
        return result
    coro.close()
    raise StorageError("an inline transaction awaited something besides the database")


def _statements(script: str) -> list[str]:
    """Split a migration script into statements (no triggers, so ``;`` ends each)."""
    lines = [line.split("--", 1)[0] for line in script.splitlines()]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]
