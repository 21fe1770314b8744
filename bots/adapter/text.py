"""Notices on text platforms (console, Matrix): choices shown as the commands to type."""

from __future__ import annotations

from core.effects import Choice


def with_choices(text: str, choices: tuple[Choice, ...], prefix: str) -> str:
    """``text`` followed by one line per choice: its label and the command that picks it."""
    if not choices:
        return text
    options = " · ".join(f"{c.label}: {prefix}{c.command}" for c in choices)
    return f"{text}\n→ {options}"
