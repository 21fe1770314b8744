"""Shared fixtures: a harness on a real SQLite file in a temporary directory."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.helpers import Harness, code_in, replies


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    harness = await Harness.open(tmp_path / "twinome.sqlite3")
    yield harness
    await harness.close()


async def form_trio(h: Harness, a: str = "alice", b: str = "bob", c: str = "carol") -> None:
    """Form an active trio of three by invite codes."""
    code = code_in(replies(await h.say(a, "trio new Les Trois"))[0])
    await h.say(b, f"trio join {code}")
    code2 = code_in(replies(await h.say(a, "trio invite"))[0])
    await h.say(c, f"trio join {code2}")
