"""Shared fixtures: a harness on a real database, SQLite in a temporary directory or
PostgreSQL (``TWINOME_TEST_BACKEND=postgres``) in a throwaway server, a fresh database for
each test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from tests.helpers import Harness, code_in, replies
from tests.pgserver import PgServer, binaries

BACKEND = os.environ.get("TWINOME_TEST_BACKEND", "sqlite")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PgServer]:
    """A PostgreSQL server for the whole run (CI installs it; elsewhere, skipped if absent)."""
    found = binaries()
    if found is None:
        if os.environ.get("CI") or BACKEND == "postgres":
            pytest.fail("PostgreSQL is not installed (apt-get install -y postgresql)")
        pytest.skip("PostgreSQL is not installed (apt-get install -y postgresql)")
    server = PgServer(found)
    server.start()
    yield server
    server.stop()


@pytest.fixture
async def pg_url(pg_server: PgServer) -> AsyncIterator[str]:
    """A fresh, migrated PostgreSQL database, dropped after the test."""
    url = await pg_server.create()
    yield url
    await pg_server.drop(url)


@pytest.fixture
def db_target(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where the test's database lives: a SQLite file, or a PostgreSQL URL (by
    ``TWINOME_TEST_BACKEND``). A test that reads the SQLite file itself uses ``tmp_path``."""
    if BACKEND == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return tmp_path / "twinome.sqlite3"


@pytest.fixture
async def h(db_target: str | Path) -> AsyncIterator[Harness]:
    harness = await Harness.open(db_target)
    yield harness
    await harness.close()


@pytest.fixture
async def h_sqlite(tmp_path: Path) -> AsyncIterator[Harness]:
    """A harness on a SQLite file whatever the backend: for tests that read the file."""
    harness = await Harness.open(tmp_path / "twinome.sqlite3")
    yield harness
    await harness.close()


async def form_trio(h: Harness, a: str = "alice", b: str = "bob", c: str = "carol") -> None:
    """Form an active trio of three by invite codes."""
    code = code_in(replies(await h.say(a, "trio new Les Trois"))[0])
    await h.say(b, f"trio join {code}")
    code2 = code_in(replies(await h.say(a, "trio invite"))[0])
    await h.say(c, f"trio join {code2}")
