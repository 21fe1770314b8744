"""Fixtures for tests against a real Synapse homeserver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.matrix.synapse import Synapse


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    """Run one Synapse for the whole test session."""
    with Synapse(tmp_path_factory.mktemp("synapse")) as server:
        yield server
