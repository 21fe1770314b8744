"""A stand-in for an adapter whose optional dependency is not installed."""

import twinome_absent_dependency_for_tests  # type: ignore[import-not-found]  # noqa: F401


def main(argv: list[str]) -> int:
    return 0
