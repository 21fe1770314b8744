"""Fixtures for tests against a real Synapse homeserver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bots.matrix.homeserver import Homeserver


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Homeserver]:
    """Run one Synapse for the whole test session, with the launcher `twinome demo` uses."""
    with Homeserver(tmp_path_factory.mktemp("synapse")) as server:
        yield server
