"""``twinome copy``: a community lived on a SQLite file, moved to PostgreSQL (and to another
SQLite file), loses nothing: every member's export, every pending effect and every row
count are the same after the move, and the bot carries on on the copy exactly as it
would have on the original."""

from __future__ import annotations

import asyncio
import io
import json
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from bots import cli
from bots.database import copy_main, migrate_main
from core.clock import FakeClock
from core.effects import CreateRoom, Effect, Reply
from core.events import CommandReceived
from core.ids import MemberId
from core.privacy import export
from core.storage.copy import CopyError, copy
from core.storage.db import Database
from tests.conftest import form_trio
from tests.helpers import Harness
from tests.pgserver import PgServer, binaries

TARGETS = ["postgres", "sqlite"]


@pytest.fixture
def pg(request: pytest.FixtureRequest) -> PgServer:
    """The test run's PostgreSQL server: this test needs one, so its absence is a failure."""
    assert binaries() is not None, "PostgreSQL is not installed (apt-get install -y postgresql)"
    server: PgServer = request.getfixturevalue("pg_server")
    return server


@pytest.fixture
async def sqlite_target(tmp_path: Path) -> Path:
    """A new, migrated SQLite file."""
    path = tmp_path / "copy.sqlite3"
    await (await Database.open(path)).close()
    return path


@pytest.fixture(params=TARGETS)
def target(request: pytest.FixtureRequest, pg: PgServer) -> str | Path:
    """A new, migrated, empty database to copy into: PostgreSQL, or another SQLite file."""
    found: str | Path = request.getfixturevalue(
        "pg_url" if request.param == "postgres" else "sqlite_target")
    return found


async def _ok(h: Harness, who: str, text: str) -> None:
    errors = [e.text for e in await h.say(who, text) if isinstance(e, Reply) and e.error]
    assert not errors, (text, errors)


def _rooms(h: Harness) -> dict[tuple[str, ...], int]:
    return {e.members: e.room for e in h.log if isinstance(e, CreateRoom)}


async def _populate(h: Harness) -> None:
    """A small community lived through the real core: two trios with lines, mentoring with
    sessions, SOS with plans, proposals and votes, matchmaking, blocks and a report, a
    member who left and was forgotten, held notices and jobs; effects left undelivered."""
    await form_trio(h, "alice", "bob", "carol")
    await form_trio(h, "dave", "erin", "fay")
    rooms = _rooms(h)
    trio, pair = rooms[("alice", "bob", "carol")], rooms[("alice", "bob")]
    for who, room in (("alice", trio), ("bob", pair), ("alice", pair), ("carol", trio)):
        await h.write(who, room)
    await _ok(h, "bob", "offer cooking")
    await _ok(h, "alice", "want cooking")
    await _ok(h, "alice", "mentor ask @bob cooking")
    await h.say("bob", "mentor accept")
    await _ok(h, "bob", "session log @alice cooking 1h30 knife skills")
    await _ok(h, "alice", "session confirm 1")
    await _ok(h, "carol", "sos rough week")
    await _ok(h, "alice", "plan call her on sunday")
    await _ok(h, "bob", "propose a reading thread")
    await _ok(h, "alice", "vote 1 yes")
    await _ok(h, "alice", "trio settings patience 2d")
    for who, offer, want in (("gil", "guitar", "chess"), ("hal", "chess", "guitar"),
                             ("ivy", "drawing", "chess")):
        await _ok(h, who, f"offer {offer}")
        await _ok(h, who, f"want {want}")
        await _ok(h, who, "seek")
    await h.advance(timedelta(0))  # the lobby is matched: a proposed trio
    await _ok(h, "erin", "block @gil")
    await _ok(h, "erin", "report @gil spam invitations")
    await _ok(h, "jon", "trio new Solo")
    await _ok(h, "jon", "trio invite @ivy")
    await h.say("fay", "privacy forget")
    await h.say("fay", "privacy forget confirm")
    await h.advance(timedelta(hours=5))
    await h.core.bind("console", "dm:alice", "!dm-alice")


async def _exports(db: Database) -> dict[str, Any]:
    """Every member's export (and the forgotten one's), as ``privacy export`` builds it."""
    async with db.read() as tx:
        members = [r[0] for r in await tx.all("SELECT id FROM members ORDER BY id")]
        assert len(members) >= 8
        return {m: json.loads(json.dumps(await export(tx, MemberId(m)), default=str))
                for m in [*members, "fay"]}


async def _rows(db: Database) -> dict[str, int]:
    """Rows per table, for every table the community's data lives in."""
    sql = ("SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
           if db.backend == "sqlite" else
           "SELECT table_name FROM information_schema.tables WHERE table_schema = "
           "current_schema() AND table_name <> 'twinome_schema'")
    async with db.read() as tx:
        return {r[0]: int(await tx.value(f'SELECT count(*) FROM "{r[0]}"'))
                for r in await tx.all(sql)}


async def _state(db: Database) -> tuple[dict[str, Any], dict[str, int], str, list[Any]]:
    """What must survive a move: exports, row counts, the instance id, pending effects."""
    async with db.read() as tx:
        instance = str(await tx.value("SELECT value FROM meta WHERE key = 'instance'"))
        pending = [tuple(r) for r in await tx.all(
            "SELECT id, platform, effect, created_at FROM outbox ORDER BY id")]
    return await _exports(db), await _rows(db), instance, pending


async def _lived(path: Path) -> FakeClock:
    """A populated SQLite community at ``path``, with effects still in its outbox."""
    h = await Harness.open(path)
    await _populate(h)
    # Effects committed but not delivered when the bot stops: the copy must carry them.
    for n, (who, text) in enumerate((("carol", "ledger"), ("bob", "trio info"))):
        await h.core.handle([CommandReceived(f"late-{n}", MemberId(who), None, text, who)])
    clock = h.clock
    await h.close()
    return clock


async def _copy(source: Path | str, target: Path | str) -> tuple[int, str, str]:
    """``twinome copy`` as the operator runs it (it runs its own event loop)."""
    out, err = io.StringIO(), io.StringIO()

    def run() -> int:
        from contextlib import redirect_stderr
        with redirect_stderr(err):
            return copy_main(["--from", str(source), "--to", str(target)], out)

    code = await asyncio.to_thread(run)
    return code, out.getvalue(), err.getvalue()


async def test_a_copy_holds_every_member_export_every_row_and_every_pending_effect(
        tmp_path: Path, target: str | Path) -> None:
    source = tmp_path / "old.sqlite3"
    await _lived(source)
    async with await Database.open(source) as db:
        before = await _state(db)
    assert before[3], "the source has undelivered effects to carry over"
    code, out, err = await _copy(source, target)
    assert code == 0, err
    async with await Database.open(target) as db:
        after = await _state(db)
    differ = [(m, section) for m, doc in before[0].items() for section in doc
              if after[0][m].get(section) != doc[section]]
    assert not differ, [(m, s, before[0][m][s], after[0][m][s]) for m, s in differ][:3]
    assert after[0] == before[0], "every member's export is the same"
    assert after[1] == before[1] and sum(after[1].values()) > 100
    assert after[2] == before[2], "the instance id (half of each idempotency key) is kept"
    assert after[3] == before[3], "undelivered effects keep their ids and contents"
    for table, count in before[1].items():
        assert f"  {table}: {count} rows" in out
    async with await Database.open(source) as db:
        assert await _state(db) == before, "the source is not changed"


def _unnumbered(effects: list[Effect]) -> list[Effect]:
    """Effects without the test's own event ids (a counter shared by every harness)."""
    return [replace(e, in_reply_to=None) if isinstance(e, Reply) else e for e in effects]


async def test_the_bot_carries_on_on_the_copy_as_on_the_original(
        tmp_path: Path, target: str | Path) -> None:
    source = tmp_path / "old.sqlite3"
    clock = await _lived(source)
    assert (await _copy(source, target))[0] == 0
    said: list[list[Any]] = []
    for where in (source, target):
        h = await Harness.open(where, FakeClock(clock.now()))
        try:
            pending = await h.core.pending()
            await h.core.done([p.id for p in pending])
            new = [p.id for p in pending]
            await h.say("carol", "sos again")
            await h.say("gil", "offer painting")
            fired = await h.advance(timedelta(days=8))  # proposal and invite expiries, reminders
            again = await h.advance(timedelta(0))
            async with h.core.db.read() as tx:
                ids = [tuple(r) for r in await tx.all(
                    "SELECT 'sos', max(id) FROM sos UNION ALL SELECT 'jobs', count(*) FROM jobs")]
            outbox = await h.core.pending()
            assert not outbox and not again, "a due job fires once"
            said.append([new, _unnumbered(h.log), _unnumbered(fired), ids])
        finally:
            await h.close()
    assert said[0][2], "jobs came due on both"
    assert said[1] == said[0], "the copy makes the same new ids and fires the same jobs"


async def test_new_outbox_ids_never_repeat_a_delivered_one(tmp_path: Path, target: str | Path) -> None:
    source = tmp_path / "old.sqlite3"
    await _lived(source)
    async with await Database.open(source) as db:
        await db.write("DELETE FROM outbox")  # all delivered: only the counter remembers
        async with db.read() as tx:
            given = int(await tx.value("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'"))
    assert given > 0
    assert (await _copy(source, target))[0] == 0
    h = await Harness.open(target)
    try:
        await h.core.handle([CommandReceived("x", MemberId("alice"), None, "trio info", "A")])
        assert [p.id for p in await h.core.pending()] == [given + 1]
    finally:
        await h.close()


async def test_a_target_that_holds_a_community_is_refused(tmp_path: Path,
                                                          target: str | Path) -> None:
    source = tmp_path / "old.sqlite3"
    await _lived(source)
    async with await Database.open(target) as db:
        rows = await _rows(db)
    assert (await _copy(source, target))[0] == 0
    code, _, err = await _copy(source, target)
    assert code == 2 and "already holds rows" in err and "members" in err
    async with await Database.open(source) as db:
        expected = await _rows(db)
    async with await Database.open(target) as db:
        assert await _rows(db) == expected != rows, "the refused copy wrote nothing"


async def test_a_failed_copy_leaves_the_target_empty(tmp_path: Path, target: str | Path) -> None:
    source = tmp_path / "old.sqlite3"
    await _lived(source)
    async with await Database.open(source) as db, db.transaction() as tx:
        await tx.run("INSERT INTO processed_events (event_id, at) VALUES ('odd', 'not a time')")
    async with await Database.open(target) as db:
        empty = await _rows(db)
    if isinstance(target, Path):  # SQLite takes any value in any column: the copy succeeds
        assert (await _copy(source, target))[0] == 0
        return
    code, _, err = await _copy(source, target)
    assert code == 2 and "processed_events" in err and "nothing was kept" in err
    async with await Database.open(target) as db:
        assert await _rows(db) == empty


async def test_databases_at_another_schema_version_are_refused_until_migrated(
        tmp_path: Path, pg: PgServer) -> None:
    source = tmp_path / "old.sqlite3"
    await _lived(source)
    bare = await pg.create(empty=True)
    try:
        secret = bare.replace("postgres@", "postgres:sesame@")  # trust: any password goes
        code, out, err = await _copy(source, secret)
        assert code == 2 and "schema version 0" in err and "twinome migrate --url" in err
        assert "sesame" not in out + err and "postgres:***@" in out
        code = await asyncio.to_thread(migrate_main, ["--url", bare], io.StringIO())
        assert code == 0
        code, out, err = await _copy(source, secret)
        assert code == 0 and "sesame" not in out + err
    finally:
        await pg.drop(bare)
    older = tmp_path / "older.sqlite3"
    await _lived(older)
    async with await Database.open(older) as db:
        await db.write("PRAGMA user_version = 9")
    code, _, err = await _copy(older, tmp_path / "t.sqlite3")
    assert code == 2 and "source" in err and "schema version 9" in err
    assert "twinome migrate --db" in err


async def test_a_missing_source_is_refused_and_nothing_is_created(tmp_path: Path) -> None:
    code, _, err = await _copy(tmp_path / "absent.sqlite3", tmp_path / "t.sqlite3")
    assert code == 2 and "no database at" in err
    assert not (tmp_path / "absent.sqlite3").exists() and not (tmp_path / "t.sqlite3").exists()


def test_copy_is_a_twinome_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["copy", "--help"])
    assert done.value.code == 0 and "--from" in capsys.readouterr().out


async def test_copy_refuses_what_it_cannot_match(tmp_path: Path) -> None:
    one, two = tmp_path / "a.sqlite3", tmp_path / "b.sqlite3"
    await (await Database.open(one)).close()
    async with await Database.open(two) as db:
        await db.write("ALTER TABLE members ADD COLUMN extra TEXT")
    with pytest.raises(CopyError, match="different columns"):
        await copy(one, two)


async def test_the_same_database_twice_is_refused(tmp_path: Path) -> None:
    source = tmp_path / "old.sqlite3"
    await (await Database.open(source)).close()
    code, _, err = await _copy(source, tmp_path / "." / "old.sqlite3")
    assert code == 2 and "the same database" in err


async def test_a_source_a_bot_still_writes_to_is_refused_in_one_line(tmp_path: Path,
                                                                     sqlite_target: Path) -> None:
    source = tmp_path / "old.sqlite3"
    await _lived(source)
    async with await Database.open(source) as bot, bot.transaction():  # a write under way
        code, _, err = await _copy(source, sqlite_target)
    assert code == 2 and "locked" in err and "Traceback" not in err
    async with await Database.open(sqlite_target) as db:
        assert (await _rows(db))["members"] == 0


async def test_a_round_trip_in_small_pages_changes_nothing(tmp_path: Path, pg_url: str,
                                                          pg: PgServer) -> None:
    source, back = tmp_path / "old.sqlite3", tmp_path / "back.sqlite3"
    await _lived(source)
    async with await Database.open(source) as db:
        await db.write("DELETE FROM outbox WHERE id = (SELECT max(id) FROM outbox)")
        before = await _state(db)
        async with db.read() as tx:
            given = await tx.value("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'")
    await (await Database.open(back)).close()
    there = await copy(source, pg_url, page=2)  # SQLite to PostgreSQL, two rows at a time
    again = await copy(pg_url, back, page=3)  # and back, in key order
    assert [(c.table, c.target) for c in there] == [(c.table, c.target) for c in again]
    async with await Database.open(back) as db:
        after = await _state(db)
        async with db.read() as tx:
            assert await tx.value(
                "SELECT seq FROM sqlite_sequence WHERE name = 'outbox'") == given, (
                "the id of the effect delivered last is never given again")
    assert after == before and before[3], "exports, rows, instance, pending effects"
