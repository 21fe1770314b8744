"""The PostgreSQL backend of the storage port, over asyncpg (the ``postgres`` extra).

The features write SQLite-style parameters (``?``, or ``:name`` with a dict); each
statement text is translated once to PostgreSQL's ``$1, $2…`` and the translation kept.

Writes go through one connection, one transaction at a time in this process, as on
SQLite, at SERIALIZABLE: another process writing the same rows at the same moment makes
one of the two fail with a serialization failure, and :meth:`PgDatabase.atomic` (the one
place a write transaction is retried) runs it again from the start. Two processes busy
on the same trios could make one of them lose again and again: after a few conflicts in
a row a write runs *alone*. Every write transaction holds an advisory lock shared; one
that must run alone takes it whole before it begins (waiting for those in flight to end,
holding back the others' at their first statement), so nothing runs beside it to
conflict with. A failure that a savepoint caught inside the body still dooms the
transaction: it is retried all the same.
A lone line message, the busiest write, is sent as one statement instead (a plan, see
:meth:`PgDatabase.at_once`): an implicit transaction, at SERIALIZABLE too, whose writes
are data-modifying ``WITH`` queries and whose check (``twinome_expect``, migration 14)
fails it whole unless the line it worked on still reads as it was read.
Reads use a small pool of other connections and see what is committed (no lock is taken).
A read given as a body (:meth:`PgDatabase.read_inline`) whose connection drops is run
again on another, as a write is; a ``read()`` block cannot be, and fails.

A lost connection (the server restarted, the network dropped it) is opened again, with
backoff, for up to :attr:`PgDatabase.reconnect_for` seconds before anything fails: a
transaction begins on the new one, and one that was under way when its connection
dropped is run again from the start by :meth:`PgDatabase.atomic`, as after a conflict
(whether its COMMIT reached the server or not: the event batches record their ids first,
so a second run skips what the first committed).

Integer columns are ``BIGINT`` (times stay integer seconds or milliseconds); ``numeric``
results (``sum`` of a ``BIGINT``, ``avg``) come back as ``int`` or ``float``, as on SQLite.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import os
import random
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from core.errors import StorageError
from core.storage.db import (
    SCHEMA_VERSION,
    Body,
    Database,
    NotPlanned,
    Params,
    Plan,
    Row,
    Tx,
    migrations,
    newer_than_code,
)

log = logging.getLogger("twinome.storage")
T = TypeVar("T")

MIGRATIONS = migrations("postgres")
RETRIES = 10  # serialization failures in a row before a write gives up
ALONE_AFTER = 3  # serialization failures in a row before a write runs alone
RECONNECT_FOR = 60.0  # seconds a lost connection is tried again before a write fails
TOGETHER = 8  # rows at most that Tx.together sends as one statement (one plan per shape)
AT_ONCE = 16  # writes at most in a plan sent as one statement (more: not planned)
_ALONE = 0x74776F6E  # advisory lock: shared by every write transaction, whole by one alone
_BEGIN = f"BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT pg_advisory_xact_lock_shared({_ALONE})"
_BEGIN_COMMITTED = "BEGIN ISOLATION LEVEL READ COMMITTED"
PASSWORD_ENV = "TWINOME_DATABASE_PASSWORD"
_VERSION_TABLE = "twinome_schema"
_LOCK = 0x7477696E  # advisory lock id held while migrating ("twin")


@functools.lru_cache(maxsize=4096)
def _split(sql: str) -> tuple[tuple[str, ...], tuple[int, ...], tuple[str, ...] | None]:
    """The statement cut at its parameters: the text between them, which argument each
    one takes (0-based), and the names they stand for (None: ``?``).

    Quoted strings, quoted names and comments are left alone, and so is a ``::`` cast.
    """
    chunks: list[str] = []
    out: list[str] = []
    order: list[int] = []
    names: list[str] = []
    positional = 0
    i, n = 0, len(sql)
    while i < n:
        c = sql[i]
        if c in "'\"":
            end = sql.index(c, i + 1)
            while end + 1 < n and sql[end + 1] == c:  # '' inside a string
                end = sql.index(c, end + 2)
            out.append(sql[i:end + 1])
            i = end + 1
        elif c == "-" and sql.startswith("--", i):
            end = sql.find("\n", i)
            i = n if end < 0 else end
        elif c == "?":
            chunks.append("".join(out))
            out = []
            order.append(positional)
            positional += 1
            i += 1
        elif c == ":" and sql.startswith("::", i):
            out.append("::")
            i += 2
        elif c == ":" and (match := _NAME.match(sql, i + 1)):
            name = match.group()
            if name not in names:
                names.append(name)
            chunks.append("".join(out))
            out = []
            order.append(names.index(name))
            i = match.end()
        else:
            out.append(c)
            i += 1
    if positional and names:
        raise StorageError("a statement mixes ? and :name parameters")
    chunks.append("".join(out))
    return tuple(chunks), tuple(order), tuple(names) if names else None


@functools.lru_cache(maxsize=4096)
def translate(sql: str, first: int = 1) -> tuple[str, tuple[str, ...] | None]:
    """The statement with ``$n`` parameters numbered from ``first``, and the names they
    stand for (None: ``?``)."""
    chunks, order, names = _split(sql)
    parts = [chunks[0]]
    for k, arg in enumerate(order):
        parts += (f"${first + arg}", chunks[k + 1])
    return "".join(parts), names


_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _args(sql: str, params: Params, first: int = 1) -> tuple[str, list[Any]]:
    """The translated statement and its arguments in ``$n`` order."""
    text, names = translate(sql, first)
    if names is None:
        return text, list(params.values() if isinstance(params, Mapping) else params)
    if not isinstance(params, Mapping):
        raise StorageError("a statement with :name parameters needs a dict")
    return text, [params[name] for name in names]


def _literal(value: Any) -> str | None:
    """``value`` written as an SQL literal, for the kinds that have one plain spelling
    (whole numbers, text, NULL); None for any other (a float, a bool, bytes…).

    Text is quoted with its quotes doubled, which is the whole of the escaping with
    ``standard_conforming_strings`` on (set on the write connection): a backslash is an
    ordinary character. Text holding NUL, which PostgreSQL's text cannot, is refused."""
    if value is None:
        return "NULL"
    if type(value) is int:
        return str(value)
    if type(value) is str and "\x00" not in value:
        return "'" + value.replace("'", "''") + "'"
    return None


def inlined(sql: str, params: Params) -> str | None:
    """The statement with its values written in as literals (see :func:`_literal`), for
    the simple query protocol; None if a value has no literal."""
    chunks, order, names = _split(sql)
    if names is None:
        args = list(params.values() if isinstance(params, Mapping) else params)
    elif isinstance(params, Mapping):
        args = [params[name] for name in names]
    else:
        raise StorageError("a statement with :name parameters needs a dict")
    parts = [chunks[0]]
    for k, arg in enumerate(order):
        literal = _literal(args[arg])
        if literal is None:
            return None
        parts += (literal, chunks[k + 1])
    return "".join(parts)


def _count(status: str) -> int:
    """The row count of a command status such as ``UPDATE 3`` or ``INSERT 0 1``."""
    last = status.rsplit(" ", 1)[-1]
    return int(last) if last.isdigit() else 0


_LOST = (OSError, asyncpg.ConnectionDoesNotExistError, asyncpg.PostgresConnectionError,
         asyncpg.CannotConnectNowError, asyncpg.AdminShutdownError, asyncpg.CrashShutdownError,
         # asyncpg lost track of the protocol (a session ended by the server in the middle
         # of an executemany): only a new connection is safe
         asyncpg.InternalClientError)
_DOOMING = (asyncpg.TransactionRollbackError, *_LOST)  # seen once, no COMMIT may follow


def lost(err: BaseException) -> bool:
    """Whether ``err`` says the connection is gone (or the server not ready yet), rather
    than that a statement failed. A pooled connection that dropped is taken back by the
    pool at once, so using it then says it was "released back to the pool"."""
    return isinstance(err, _LOST) or (
        isinstance(err, asyncpg.InterfaceError) and any(
            said in str(err) for said in ("connection is closed", "released back to the pool")))


def _discard(conn: asyncpg.Connection) -> None:
    """Close a reader connection that dropped, so the pool never hands it out again (one
    the pool took back already needs nothing more)."""
    with contextlib.suppress(asyncpg.InterfaceError):
        conn.terminate()


class PgTx(Tx):
    """One open transaction (or, for reads, one connection) on PostgreSQL.

    A write transaction's BEGIN is sent with its first statement (``begin``, until then):
    when that statement gives back no rows and its values all have a literal (see
    :func:`inlined`), both go as one simple query, one round trip for the two.
    """

    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, conn: asyncpg.Connection, begin: str | None = None) -> None:
        self._pg = conn
        self._savepoints = 0
        self._begin = begin  # not sent yet
        self.doomed: BaseException | None = None  # a conflict or a lost connection seen

    @property
    def begun(self) -> bool:
        """Whether a statement (and so the BEGIN) went to the server."""
        return self._begin is None

    async def version(self) -> Any:
        """None: other processes may commit at any time (no cache outlives a transaction)."""
        return None

    def versions(self, *aliases: str) -> str:
        """The rows' ``xmin``: the transaction that wrote each as it is now."""
        return "concat_ws('|', " + ", ".join(f"{a}.xmin" for a in aliases) + ")"

    async def _sent(self, call: Awaitable[T]) -> T:
        """What a statement sent gives back; a conflict or a lost connection it meets is
        remembered first (no COMMIT may follow it)."""
        try:
            return await call
        except _DOOMING as err:
            self.doomed = err
            raise

    async def _begun(self) -> None:
        """Send the BEGIN, if no statement has taken it along yet."""
        if self._begin is not None:
            begin, self._begin = self._begin, None
            await self._sent(self._pg.execute(begin))

    async def _fetch(self, sql: str, params: Params) -> Iterable[Row]:
        await self._begun()
        text, args = _args(sql, params)
        rows: list[Row] = await self._sent(self._pg.fetch(text, *args))
        return rows

    async def _exec(self, sql: str, params: Params = ()) -> _Status:
        if self._begin is not None and (text := inlined(sql, params)) is not None:
            begin, self._begin = self._begin, None  # with the BEGIN, one round trip
            return _Status(await self._sent(self._pg.execute(f"{begin}; {text}")))
        await self._begun()
        text, args = _args(sql, params)
        return _Status(await self._sent(self._pg.execute(text, *args)))

    async def _many(self, sql: str, rows: Iterable[Params]) -> None:
        batch = [_args(sql, params) for params in rows]
        if not batch:
            return
        await self._begun()
        if len(batch) == 1:  # executemany's pipeline costs more for one row
            await self._sent(self._pg.execute(batch[0][0], *batch[0][1]))
            return
        await self._sent(self._pg.executemany(batch[0][0], [args for _, args in batch]))

    async def together(self, *writes: tuple[str, Sequence[Params]]) -> None:
        """Up to :data:`TOGETHER` rows in all: one statement, each write a data-modifying
        ``WITH`` of it (all run on one snapshot, in no set order, as this method allows);
        more: one after the other."""
        parts = [(sql, params) for sql, rows in writes for params in rows]
        if not 1 < len(parts) <= TOGETHER:
            await super().together(*writes)
            return
        ctes, args = _with(parts)
        await self._begun()
        await self._sent(self._pg.execute(f"{ctes} SELECT 1", *args))


def _with(parts: Iterable[tuple[str, Params]], first: int = 1) -> tuple[str, list[Any]]:
    """``WITH w0 AS (…), w1 AS (…)…``: each statement a data-modifying ``WITH`` named by
    its place, its parameters numbered on from ``first``; and the arguments of all."""
    texts: list[str] = []
    args: list[Any] = []
    for k, (sql, params) in enumerate(parts):
        text, values = _args(sql, params, first + len(args))
        texts.append(f"w{k} AS ({text})")
        args += values
    return "WITH " + ", ".join(texts), args


class PgPlan(Plan):
    """A plan (see :meth:`PgDatabase.at_once`) whose peeks read on the write connection,
    each a statement of its own outside any transaction."""

    versions = PgTx.versions

    def __init__(self, conn: asyncpg.Connection) -> None:
        super().__init__()
        self._pg = conn

    async def peek(self, sql: str, params: Params = ()) -> list[Row]:
        text, args = _args(sql, params)
        try:
            rows: list[Row] = await self._pg.fetch(text, *args)
        except Exception as err:
            if lost(err):
                self._pg.terminate()  # the ordinary transaction that follows connects again
            self.doomed = NotPlanned(f"a plan's read failed: {err}")
            raise self.doomed from err
        return rows

    def statement(self) -> tuple[str, list[Any]] | None:
        """The plan as one statement and its arguments (None: too many writes): each write
        a data-modifying ``WITH``, then the advisory lock every write transaction takes
        shared, then ``twinome_expect`` of every expectation (a counted write's among them:
        it returned a row), which raises unless all are true, so that nothing is written."""
        if not 0 < len(self.writes) <= AT_ONCE:
            return None
        ctes, args = _with((sql + " RETURNING 1" if counted else sql, params)
                           for sql, params, counted in self.writes)
        checks = [f"EXISTS (SELECT FROM w{k})"
                  for k, (_, _, counted) in enumerate(self.writes) if counted]
        for sql, params in self.expected:
            text, values = _args(sql, params, len(args) + 1)
            checks.append(f"coalesce(({text}), FALSE)")
            args += values
        return (f"{ctes} SELECT pg_advisory_xact_lock_shared({_ALONE}), "
                f"twinome_expect({' AND '.join(checks) or 'TRUE'})"), args


class _Status:
    """A command status read as a cursor: how many rows it changed."""

    def __init__(self, status: str) -> None:
        self.rowcount = _count(status)


def _number(text: str) -> int | float:
    """A ``numeric`` as SQLite would give it: an int when whole."""
    return float(text) if any(c in text for c in ".eEN") else int(text)


async def _setup(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("numeric", encoder=str, decoder=_number, schema="pg_catalog",
                              format="text")


async def _writer(url: str, password: str | None) -> asyncpg.Connection:
    """A new write connection (SERIALIZABLE by default)."""
    conn = await asyncpg.connect(
        url, password=password,
        # standard_conforming_strings: see _literal (PostgreSQL's default, made sure of)
        server_settings={"default_transaction_isolation": "serializable",
                         "standard_conforming_strings": "on"})
    try:
        await _setup(conn)
    except BaseException:
        conn.terminate()
        raise
    return conn


def _password(url: str, env: Mapping[str, str]) -> str | None:
    """The password: the URL's own, else the environment's (None: the server needs none)."""
    return urlsplit(url).password or env.get(PASSWORD_ENV) or None


def shown(url: str) -> str:
    """The URL without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class PgDatabase(Database):
    """A write connection (SERIALIZABLE, one transaction at a time) and a pool of readers."""

    backend = "postgres"
    shared = True
    plans = True
    clock_sql = "SELECT CAST(floor(extract(epoch FROM clock_timestamp()) * 1000) AS BIGINT)"

    reconnect_for = RECONNECT_FOR  # seconds a lost connection is tried again

    def __init__(self, conn: asyncpg.Connection, readers: asyncpg.Pool, url: str,
                 password: str | None = None) -> None:
        self._conn = conn
        self._readers = readers
        self._write_lock = asyncio.Lock()
        self._url, self._password = url, password  # to connect again
        self.path = shown(url)

    @classmethod
    async def connect(cls, url: str, env: Mapping[str, str] | None = None) -> PgDatabase:
        """Connect to the server at ``url`` and migrate its database (the password: the
        URL's, else ``TWINOME_DATABASE_PASSWORD``)."""
        password = _password(url, os.environ if env is None else env)
        try:
            conn = await _writer(url, password)
        except (OSError, asyncpg.PostgresError) as err:
            raise StorageError(f"Cannot reach the database {shown(url)}: {err}") from None
        try:
            readers = await asyncpg.create_pool(url, password=password, min_size=1,
                                                max_size=4, init=_setup)
        except BaseException:
            await conn.close()
            raise
        db = cls(conn, readers, url, password)
        try:
            await db._migrate()
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        """Close the write connection and the readers."""
        try:
            await self._readers.close()
        finally:
            await self._conn.close()

    async def _migrate(self) -> None:
        async with self._conn.transaction():
            await self._conn.execute("SELECT pg_advisory_xact_lock($1)", _LOCK)
            await self._conn.execute(f"CREATE TABLE IF NOT EXISTS {_VERSION_TABLE} "
                                     "(version BIGINT NOT NULL)")
            current = await self._conn.fetchval(f"SELECT max(version) FROM {_VERSION_TABLE}")
            current = int(current or 0)
            if current > SCHEMA_VERSION:
                raise newer_than_code(self.path, current)
            for number, script in MIGRATIONS:
                if number > current:
                    await self._conn.execute(script)  # one script, many statements
            if current < SCHEMA_VERSION:
                await self._conn.execute(f"DELETE FROM {_VERSION_TABLE}")
                await self._conn.execute(f"INSERT INTO {_VERSION_TABLE} VALUES ($1)",
                                         SCHEMA_VERSION)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Tx]:
        """One write transaction at SERIALIZABLE, committed if the block ends normally."""
        async with self._transaction() as tx:
            yield tx

    @asynccontextmanager
    async def _transaction(self, begin: str = _BEGIN, *, alone: bool = False
                           ) -> AsyncIterator[Tx]:
        """A write transaction begun with ``begin``; ``alone``: once the other processes'
        write transactions in flight have ended, with theirs held back until it ends."""
        async with self._write_lock:
            await self._begin(alone)
            tx = PgTx(self._conn, begin)
            try:
                yield tx
                if tx.doomed is not None:  # a savepoint swallowed a conflict or a loss
                    raise tx.doomed
            except BaseException as err:
                await self._rollback(alone)
                if tx.doomed is not None and tx.doomed is not err and isinstance(err, Exception):
                    # The body turned a conflict or a loss into an error of its own (a fast
                    # path that gives up, say): what happened is retried (see atomic).
                    raise tx.doomed from err
                raise
            else:
                if tx.begun:  # else the body ran no statement: nothing to commit
                    try:
                        await self._conn.execute("COMMIT")
                    except BaseException:
                        await self._rollback(alone)
                        raise
                if alone:
                    await self._unlock()

    async def _rollback(self, alone: bool = False) -> None:
        # Whatever the status says: a statement cancelled in flight (BEGIN among them) ends
        # only after the status was read, and may leave a transaction open.
        if self._conn.is_closed():
            return  # nothing is left open on a lost connection (a session lock neither)
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            await self._conn.execute("ROLLBACK")
        if alone:
            await self._unlock()

    async def _unlock(self) -> None:
        """Let the other processes' writes run again (see :meth:`_transaction`)."""
        with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
            await self._conn.execute(f"SELECT pg_advisory_unlock({_ALONE})")

    async def _begin(self, alone: bool) -> None:
        """Make the write connection ready for a transaction: opened again first if it was
        lost, and, ``alone``, holding the advisory lock whole. The BEGIN itself goes with
        the transaction's first statement (see :class:`PgTx`).

        No transaction is begun ahead of time (with the previous COMMIT, say): a
        transaction left idle would hold its shared advisory lock, and a write that must
        run alone would wait for it until this process writes again."""

        conn = self._conn
        if not alone and not conn.is_closed() and not conn.is_in_transaction():
            return  # the usual case: ready as it is

        async def step() -> None:
            if self._conn.is_closed():
                self._conn = await _writer(self._url, self._password)
                log.warning("reconnected to the database %s", self.path)
            elif self._conn.is_in_transaction():  # begun by a task cancelled meanwhile
                await self._rollback()
            if not alone:
                return
            try:  # a session lock, taken before the snapshot is
                await self._conn.execute(f"SELECT pg_advisory_lock({_ALONE})")
            except BaseException:
                self._conn.terminate()  # lost, or cancelled midway: start afresh
                raise

        await self._reconnecting(step)

    async def _reconnecting(self, step: Callable[[], Awaitable[T]]) -> T:
        """``step`` (which connects), tried again with backoff while the server cannot be
        reached, for up to :attr:`reconnect_for` seconds (then a :class:`StorageError`)."""
        waited, pause = 0.0, 0.05
        while True:
            try:
                return await step()
            except Exception as err:
                if not lost(err):
                    raise
                if waited >= self.reconnect_for:
                    raise StorageError(f"Lost the database {self.path}: {err}") from err
                if not waited:
                    log.warning("lost the database %s (%s); connecting again", self.path, err)
                await asyncio.sleep(pause)
                waited, pause = waited + pause, min(pause * 2, 2.0)

    async def atomic(self, body: Body[T], *, serializable: bool = True) -> T:
        """Run ``body`` as one write transaction, again from the start after a conflict with
        another writer (a serialization failure or a deadlock), up to :data:`RETRIES` times
        (from the :data:`ALONE_AFTER` th, alone, so it cannot starve), and after its
        connection was lost, on a new one (see :meth:`_begin`). ``serializable`` False: at
        READ COMMITTED (see :meth:`Database.atomic`)."""
        attempt = drops = 0
        while True:
            try:
                async with self._transaction(
                        _BEGIN if serializable else _BEGIN_COMMITTED,
                        alone=serializable and attempt >= ALONE_AFTER) as tx:
                    return await body(tx)
            except asyncpg.TransactionRollbackError as err:
                attempt += 1
                if attempt == RETRIES:
                    raise StorageError(f"a write kept conflicting with others: {err}") from err
                log.debug("write conflict (%s), try %d", type(err).__name__, attempt + 1)
                await asyncio.sleep(random.uniform(0, 0.005 * 2 ** min(attempt - 1, 6)))
            except Exception as err:
                drops += 1
                if not lost(err) or drops > RETRIES:
                    raise
                log.warning("the connection dropped during a write (%s); running it again", err)
                self._conn.terminate()  # the next BEGIN connects again

    async def at_once(self, body: Body[T]) -> T:
        """``body`` on a plan, sent as one statement: a transaction of its own, implicit,
        at SERIALIZABLE (the write connection's default), committed when it ends. What the
        plan relied on is checked in it: another process's write in between makes the
        check fail, or the statement conflict; either way :class:`NotPlanned`, nothing
        written. So does a connection that is lost (closed here; the ordinary transaction
        that follows connects again) or in a state only that transaction mends."""
        async with self._write_lock:
            conn = self._conn
            if conn.is_closed() or conn.is_in_transaction():
                raise NotPlanned("the write connection needs mending")
            plan = PgPlan(conn)
            result = await body(plan)
            statement = plan.statement()
            if statement is None:
                raise NotPlanned("too many writes for one statement")
            try:
                await conn.execute(statement[0], *statement[1])
            except Exception as err:
                if lost(err):
                    conn.terminate()
                raise NotPlanned(f"a plan failed: {err}") from err
        return result

    async def inline(self, body: Body[T], *, short: bool = False) -> T:
        """On PostgreSQL an ordinary transaction: :meth:`atomic`."""
        return await self.atomic(body)

    async def write(self, sql: str, params: Params = (), *, keeps_caches: bool = False) -> int:
        """One statement, a transaction of its own (retried after a conflict)."""

        async def body(tx: Tx) -> int:
            return await tx.changes(sql, params)

        return await self.atomic(body)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[Tx]:
        """Reads of what is committed, on a connection of their own; never waits for a write.

        A pooled connection the server dropped is replaced when next taken, and while the
        server is unreachable a read waits for it as a write does (see :meth:`_reconnecting`);
        a read whose connection drops in the middle fails with a :class:`StorageError` (the
        block cannot be run again): a read that should survive it is a body given to
        :meth:`read_inline`, which runs it again on a new connection.
        """
        conn = await self._reconnecting(self._readers.acquire)
        try:
            yield PgTx(conn)
        except Exception as err:
            if lost(err):
                _discard(conn)
                raise StorageError(f"Lost the database {self.path}: {err}") from err
            raise
        finally:
            await self._readers.release(conn)

    async def read_inline(self, body: Body[T]) -> T:
        """One READ ONLY transaction on a reader connection (a write in it fails), run again
        from the start on another connection if its own drops midway (``body`` runs again,
        as :meth:`atomic`'s does, so it must give the same answer on a second run: a read
        does), while the server can be reached again within :attr:`reconnect_for` seconds."""
        drops = 0
        while True:
            conn = await self._reconnecting(self._readers.acquire)
            try:
                async with conn.transaction(readonly=True):
                    return await body(PgTx(conn))
            except Exception as err:
                if not lost(err):
                    raise
                _discard(conn)
                drops += 1
                if drops > RETRIES:
                    raise StorageError(f"Lost the database {self.path}: {err}") from err
                log.warning("the connection dropped during a read (%s); running it again", err)
            finally:
                await self._readers.release(conn)

    async def checkpoint(self, tries: int = 20) -> bool:
        """Nothing this process can force: PostgreSQL drops deleted rows from its files at
        its next vacuum (autovacuum) and recycles its WAL at its checkpoints."""
        return True
