"""The storage tests run each case on both backends."""

from __future__ import annotations

from pathlib import Path

import pytest

BACKENDS = ["sqlite", "postgres"]


@pytest.fixture(params=BACKENDS)
def target(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """A place for a database on each backend."""
    if request.param == "postgres":
        url: str = request.getfixturevalue("pg_url")
        return url
    return tmp_path / "t.sqlite3"
