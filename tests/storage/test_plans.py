"""The storage contract of plans (:meth:`Database.at_once`), on both backends: where the
backend runs them (PostgreSQL), a plan's writes land together, in one statement, or not
at all; where it does not (SQLite), every plan is refused and nothing is written."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from core.storage.db import Database, NotPlanned, Plan, Tx
from core.storage.postgres import AT_ONCE, PgDatabase


@pytest.fixture
async def db(target: str | Path) -> AsyncIterator[Database]:
    opened = await Database.open(target)
    yield opened
    await opened.close()


_PUT = "INSERT INTO meta (key, value) VALUES (?, ?)"


async def _meta(db: Database) -> dict[str, str]:
    return {r[0]: r[1] for r in await db.read_all("SELECT key, value FROM meta "
                                                 "WHERE key LIKE 'p%' ORDER BY key")}


async def test_a_plan_writes_all_in_one_statement(db: Database) -> None:
    await db.write(_PUT, ("p-seen", "0"))
    sent: list[str] = []
    if isinstance(db, PgDatabase):
        db._conn.add_query_logger(lambda q: sent.append(q.query))  # the write connection

    async def body(tx: Tx) -> str:
        assert isinstance(tx, Plan)
        rows = await tx.peek("SELECT value FROM meta WHERE key = ?", ("p-seen",))
        tx.expect("SELECT value = ? FROM meta WHERE key = ?", (rows[0][0], "p-seen"))
        assert await tx.changes("UPDATE meta SET value = '1' WHERE key = ?", ("p-seen",)) == 1
        await tx.run(_PUT, ("p1", "it's; COMMIT"))
        await tx.together((_PUT, [("p2", "b"), ("p3", "c")]))
        await tx.many(_PUT, [("p4", "d")])
        return "done"

    if not db.plans:
        with pytest.raises(NotPlanned):
            await db.at_once(body)
        assert await _meta(db) == {"p-seen": "0"}
        return
    assert await db.at_once(body) == "done"
    assert await _meta(db) == {"p-seen": "1", "p1": "it's; COMMIT", "p2": "b", "p3": "c",
                               "p4": "d"}
    assert len(sent) == 2 and sent[0].startswith("SELECT") and sent[1].startswith("WITH")
    assert "COMMIT" not in sent[1]  # values go as parameters, never in the text


async def _refused(db: Database, body_of: str) -> None:
    """A plan whose ``body_of`` fails it: refused, and nothing of it written."""
    async def body(tx: Tx) -> None:
        await tx.run(_PUT, ("p1", "a"))
        assert isinstance(tx, Plan)
        if body_of == "expectation":
            tx.expect("SELECT count(*) = 1 FROM meta WHERE key = ?", ("p-none",))
        elif body_of == "count":  # a counted write that changes nothing
            await tx.changes("UPDATE meta SET value = 'x' WHERE key = ?", ("p-none",))
        elif body_of == "read":
            await tx.value("SELECT count(*) FROM meta")
        elif body_of == "savepoint":
            async with tx.savepoint():
                pass
        elif body_of == "too many":
            await tx.many(_PUT, [(f"p{k + 2}", "b") for k in range(AT_ONCE)])
        elif body_of == "a failing write":
            await tx.run(_PUT, ("p1", "twice"))  # the key is written by this plan already

    with pytest.raises(NotPlanned):
        await db.at_once(body)
    assert await _meta(db) == {}


@pytest.mark.parametrize("body_of", ["expectation", "count", "read", "savepoint", "too many",
                                     "a failing write"])
async def test_a_plan_that_cannot_hold_writes_nothing(db: Database, body_of: str) -> None:
    await _refused(db, body_of)
    if db.plans:  # the write connection is ready for what comes next
        await db.write(_PUT, ("p9", "after"))
        assert await _meta(db) == {"p9": "after"}


async def test_a_planned_read_that_fails_refuses_the_plan(db: Database) -> None:
    async def body(tx: Tx) -> None:
        assert isinstance(tx, Plan)
        await tx.peek("SELECT no_such_column FROM meta")
        await tx.run(_PUT, ("p1", "a"))

    with pytest.raises(NotPlanned):
        await db.at_once(body)
    assert await _meta(db) == {}

