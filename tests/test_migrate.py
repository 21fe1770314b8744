"""``twinome migrate``: a database brought to the code's schema on purpose, or checked."""

from __future__ import annotations

import asyncio
import io
import sqlite3
from pathlib import Path

import pytest

from bots import cli
from bots.database import PENDING, TOO_NEW, migrate_main
from core.storage.db import MIGRATIONS, SCHEMA_VERSION, Database
from tests.pgserver import PgServer, binaries


def _migrate(*argv: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    out = io.StringIO()
    code = migrate_main(list(argv), out)
    return code, out.getvalue(), capsys.readouterr().err


def _version(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        return int(conn.execute("PRAGMA user_version").fetchone()[0])


def test_a_fresh_file_is_migrated_then_up_to_date(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "data" / "new.sqlite3"
    code, out, _ = _migrate("--db", str(db), capsys=capsys)
    assert code == 0 and out == f"{db} migrated from schema version 0 to {SCHEMA_VERSION}.\n"
    assert _version(db) == SCHEMA_VERSION
    code, out, _ = _migrate("--db", str(db), capsys=capsys)
    assert code == 0 and out == f"{db} is up to date (schema version {SCHEMA_VERSION}).\n"


def test_an_older_file_is_migrated_from_its_version(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as conn:  # version 1, as the first release left it
        conn.executescript(MIGRATIONS[0][1] + "PRAGMA user_version = 1;")
    config = tmp_path / "twinome.toml"
    config.write_text('[storage]\npath = "old.sqlite3"\n', encoding="utf-8")
    code, out, _ = _migrate("--config", str(config), "--check", capsys=capsys)
    assert code == PENDING and "schema version 1" in out and _version(db) == 1
    code, out, _ = _migrate("--config", str(config), capsys=capsys)
    assert code == 0 and f"from schema version 1 to {SCHEMA_VERSION}" in out
    assert _version(db) == SCHEMA_VERSION
    code, out, _ = _migrate("--config", str(config), "--check", capsys=capsys)
    assert code == 0 and "up to date" in out


def test_a_database_newer_than_the_code_is_refused_unchanged(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "future.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    before = db.read_bytes()
    for check in ([], ["--check"]):
        code, out, err = _migrate("--db", str(db), *check, capsys=capsys)
        assert code == TOO_NEW and out == ""
        assert f"schema version {SCHEMA_VERSION + 1}, newer than this Twinome" in err
        assert db.read_bytes() == before


def test_check_changes_nothing_and_says_pending(tmp_path: Path,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    db = tmp_path / "absent.sqlite3"
    code, out, _ = _migrate("--db", str(db), "--check", capsys=capsys)
    assert code == PENDING and "pending" in out and not db.exists()


def test_a_wrong_configuration_is_one_line_and_exit_2(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _migrate("--config", str(tmp_path / "none.toml"), capsys=capsys)
    assert code == 2 and err.startswith("twinome migrate: No configuration file")
    code, _, err = _migrate("--url", "mysql://x/y", capsys=capsys)
    assert code == 2 and "postgresql://" in err


def test_migrate_is_a_twinome_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["migrate", "--db", str(tmp_path / "t.sqlite3")]) == 0
    assert "migrated from schema version 0" in capsys.readouterr().out
    assert cli.main(["migrate", "--db", str(tmp_path / "t.sqlite3"), "--check"]) == 0


@pytest.fixture
def pg(request: pytest.FixtureRequest) -> PgServer:
    """The run's PostgreSQL server: this test needs one, so its absence is a failure."""
    assert binaries() is not None, "PostgreSQL is not installed (apt-get install -y postgresql)"
    server: PgServer = request.getfixturevalue("pg_server")
    return server


async def test_a_postgresql_database_is_migrated_and_checked(
        pg: PgServer, capsys: pytest.CaptureFixture[str]) -> None:
    pg_server = pg
    url = await pg_server.create(empty=True)
    try:
        run = asyncio.to_thread
        secret = url.replace("postgres@", "postgres:sesame@")
        out = io.StringIO()
        assert await run(migrate_main, ["--url", secret, "--check"], out) == PENDING
        assert await run(migrate_main, ["--url", secret], out) == 0
        assert await run(migrate_main, ["--url", url, "--check"], out) == 0
        said = out.getvalue()
        assert f"from schema version 0 to {SCHEMA_VERSION}" in said and "up to date" in said
        assert "sesame" not in said + capsys.readouterr().err and "postgres:***@" in said
        async with await Database.open(url) as db:
            await db.write("UPDATE twinome_schema SET version = version + 1")
        assert await run(migrate_main, ["--url", url], out) == TOO_NEW
        assert "newer than this Twinome" in capsys.readouterr().err
    finally:
        await pg_server.drop(url)


def test_the_readme_shows_the_operator_commands_as_they_parse() -> None:
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text("utf-8")
    for line in ("twinome migrate (--config FILE | --db FILE | --url URL) [--check]",
                 "twinome copy --from OLD --to NEW", "twinome migrate --config new.toml",
                 "twinome copy --from /var/lib/twinome/twinome.sqlite3 --to postgresql://"):
        assert line in readme
