"""What the console shows: one record per effect, rendered as JSON lines or for a person."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, TextIO

from core.i18n import _, render

Write = Callable[[str], None]


@dataclass(frozen=True)
class Shown:
    """One thing that happened, as the people in ``room`` see it.

    ``kind`` is one of: message (someone wrote; never the text), notice, error,
    room_created, invited, removed, closed, report, clock, info, console_error.
    ``audience`` is who sees it; ``to`` is set where it is meant for one person.
    """

    kind: str
    room: str | None
    text: str | None
    to: str | None = None
    audience: tuple[str, ...] = ()
    sender: str | None = None
    members: tuple[str, ...] | None = None
    purpose: str | None = None
    encrypted: bool | None = None
    title: str | None = None

    def as_json(self) -> dict[str, Any]:
        """The JSON object of ``--jsonl``."""
        out: dict[str, Any] = {"kind": self.kind, "room": self.room, "to": self.to,
                               "text": self.text, "audience": list(self.audience)}
        if self.sender is not None:
            out["from"] = self.sender
        if self.members is not None:
            out.update(members=list(self.members), purpose=self.purpose,
                       encrypted=self.encrypted, title=self.title)
        return out


class Sink(Protocol):
    """Where the console's output goes."""

    def echo(self, line: str) -> None:
        """The input line, shown back to the person who typed it (never stored)."""

    def show(self, item: Shown) -> None:
        """One record."""


class JsonSink:
    """``--jsonl``: one JSON object per line; input lines are not echoed."""

    def __init__(self, write: Write) -> None:
        self._write = write

    def echo(self, line: str) -> None:
        """Input is not part of the JSON stream."""

    def show(self, item: Shown) -> None:
        self._write(json.dumps(item.as_json(), ensure_ascii=False))


_COLOURS = {
    "echo": "1", "notice": "36", "error": "31", "console_error": "31;1", "room_created": "32",
    "invited": "32", "removed": "33", "closed": "33", "report": "35", "clock": "34",
    "message": "2", "info": "0",
}
_MARKS = {"room_created": "✚", "invited": "✚", "removed": "−", "closed": "✖"}


class HumanSink:
    """Readable output for a person: who sees what, in which room."""

    def __init__(self, write: Write, *, colour: bool, echo: bool, lang: str = "en") -> None:
        self._write = write
        self._colour = colour
        self._echo = echo
        self._lang = lang

    def _paint(self, kind: str, text: str) -> str:
        if not self._colour:
            return text
        return f"\x1b[{_COLOURS.get(kind, '0')}m{text}\x1b[0m"

    def echo(self, line: str) -> None:
        if self._echo:
            self._write(self._paint("echo", f"» {line}"))

    def show(self, item: Shown) -> None:
        if item.kind == "message" and self._echo:
            return  # the echoed input line already says it
        self._write(self._paint(item.kind, render(_human(item), self._lang)))


def _human(item: Shown) -> str:
    where = f"[{item.room}] " if item.room else ""
    who = ", ".join(item.audience) if item.audience else _("nobody")
    text = _indent(item.text or "")
    if item.kind in ("notice", "report"):
        return where + _("bot → {who}: {text}", who=who, text=text)
    if item.kind == "error":
        return where + _("bot → {who}: ⚠ {text}", who=who, text=text)
    if item.kind == "message":
        return where + _("{sender} wrote (seen by {who}; the bot keeps only who and when)",
                         sender=item.sender, who=who)
    if item.kind == "room_created":
        lock = _("end-to-end encrypted") if item.encrypted else _("not encrypted")
        members = ", ".join(item.members or ())
        about = {"title": item.title, "members": members, "lock": lock}
        if item.purpose == "trio":
            said = _("trio room “{title}” for {members} ({lock})", **about)
        elif item.purpose == "pair":
            said = _("pair room “{title}” for {members} ({lock})", **about)
        else:
            said = _("dm room “{title}” for {members} ({lock})", **about)
        return where + _MARKS["room_created"] + " " + said
    if item.kind in _MARKS:
        return f"{where}{_MARKS[item.kind]} {text}"
    if item.kind == "clock":
        return f"⏱  {text}"
    if item.kind == "info":
        return f"{where}{text}"
    return f"! {text}"


def _indent(text: str) -> str:
    return text.replace("\n", "\n    ")


def wants_colour(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """ANSI colours only on a terminal, and never when NO_COLOR is set (no-color.org)."""
    env = os.environ if environ is None else environ
    return bool(stream.isatty()) and not env.get("NO_COLOR")
