"""The README stays true: its command list is the command table, and CI runs its test command."""

from __future__ import annotations

from pathlib import Path

from core.grammar import COMMANDS

ROOT = Path(__file__).resolve().parent.parent


def test_readme_lists_every_command_with_its_usage() -> None:
    readme = (ROOT / "README.md").read_text("utf-8")
    for command in COMMANDS:
        assert f"`{command.usage('!').replace('|', chr(92) + '|')}`" in readme, command.name


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    line = next(x for x in ci.splitlines() if x.startswith("TEST_COMMAND="))
    command = line.split("=", 1)[1].strip('"')
    assert command in (ROOT / "README.md").read_text("utf-8")
