"""``twinome console``: where the lines come from and where the output goes."""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TextIO

from bots.console.adapter import opened
from bots.console.output import HumanSink, JsonSink, Sink, wants_colour
from core.errors import StorageError

DEFAULT_DB = "twinome-console.sqlite3"
BANNER = ("Twinome console. Type lines like “alice: trio new Les Trois” or "
          "“alice@trio-1: hello”; :help for more, :quit or Ctrl-D to stop.")


@dataclass(frozen=True)
class Options:
    """What ``twinome console`` was asked to do."""

    db: Path | None = None
    script: Path | None = None
    jsonl: bool = False
    demo: bool = False


def demo_script() -> str:
    """The built-in demo script."""
    return resources.files("bots.console").joinpath("demo.txt").read_text("utf-8")


async def run(options: Options, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
              stderr: TextIO = sys.stderr) -> int:
    """Run the console; returns the process exit status."""
    try:
        lines = _script_lines(options)
    except OSError as err:
        print(f"twinome console: cannot read {options.script}: {err.strerror}", file=stderr)
        return 2
    interactive = lines is None and stdin.isatty()
    reconfigure = getattr(stdin, "reconfigure", None)
    if lines is None and reconfigure is not None:  # bad bytes reach the console escaped
        reconfigure(errors="surrogateescape")
    sink = _sink(options.jsonl, stdout, echo=not interactive)
    if interactive and not options.jsonl:
        print(BANNER, file=stdout, flush=True)
    try:
        if options.demo:
            with tempfile.TemporaryDirectory(prefix="twinome-demo-") as folder:
                await _play(Path(folder) / "demo.sqlite3", _listed(lines or []), sink)
        else:
            source = _stdin_lines(stdin, interactive) if lines is None else _listed(lines)
            await _play(options.db or Path(DEFAULT_DB), source, sink)
    except (StorageError, sqlite3.Error, OSError) as err:
        print(f"twinome console: cannot use the database: {err}", file=stderr)
        return 2
    return 0


def _script_lines(options: Options) -> list[str] | None:
    if options.demo:
        return demo_script().splitlines()
    if options.script is not None:
        # Undecodable bytes stay escaped: the console names such a line and skips it.
        return options.script.read_text("utf-8", errors="surrogateescape").splitlines()
    return None


def _sink(jsonl: bool, stdout: TextIO, *, echo: bool) -> Sink:
    def write(text: str) -> None:
        print(text, file=stdout, flush=True)

    if jsonl:
        return JsonSink(write)
    return HumanSink(write, colour=wants_colour(stdout), echo=echo)


async def _play(path: Path, lines: AsyncIterator[str], sink: Sink) -> None:
    async with opened(path, sink) as console:
        async for line in lines:
            if not await console.feed(line):
                return


async def _listed(lines: list[str]) -> AsyncIterator[str]:
    for line in lines:
        yield line


async def _stdin_lines(stdin: TextIO, interactive: bool) -> AsyncIterator[str]:
    """Lines typed by a person (with a prompt) or piped in."""
    while True:
        if interactive:
            try:
                line = await asyncio.to_thread(input, "> ")
            except EOFError:
                return
        else:
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                return
        yield line
