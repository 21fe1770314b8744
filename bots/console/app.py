"""``twinome console``: where the lines come from and where the output goes."""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import TextIO

from bots.console.adapter import opened
from bots.console.output import HumanSink, JsonSink, Sink, wants_colour
from core.errors import StorageError
from core.i18n import _, render

DEFAULT_DB = "twinome-console.sqlite3"
BANNER = _("Twinome console. Type lines like “alice: trio new Les Trois” or "
           "“alice@trio-1: hello”; :help for more, :quit or Ctrl-D to stop.")


@dataclass(frozen=True)
class Options:
    """What ``twinome console`` was asked to do."""

    db: Path | None = None
    script: Path | None = None
    jsonl: bool = False
    demo: bool = False
    start: datetime | None = None  # where a new database's clock starts (None: a fixed day)
    language: str = "en"  # the bot's default language, and the console's own


def demo_script() -> str:
    """The built-in demo script."""
    return resources.files("bots.console").joinpath("demo.txt").read_text("utf-8")


async def run(options: Options, stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout,
              stderr: TextIO = sys.stderr) -> int:
    """Run the console; returns the process exit status."""
    try:
        lines = _script_lines(options)
    except OSError as err:
        said = _("cannot read {path}: {reason}", path=options.script, reason=err.strerror)
        print("twinome console: " + render(said, options.language), file=stderr)
        return 2
    interactive = lines is None and stdin.isatty()
    reconfigure = getattr(stdin, "reconfigure", None)
    if lines is None and reconfigure is not None:  # bad bytes reach the console escaped
        reconfigure(errors="surrogateescape")
    sink = _sink(options.jsonl, stdout, echo=not interactive, lang=options.language)
    if interactive:
        line_editing()
    if interactive and not options.jsonl:
        print(render(BANNER, options.language), file=stdout, flush=True)
    with _terminal_kept(stdin if interactive else None):
        return await _run(options, lines, stdin, sink, stderr, interactive=interactive)


async def _run(options: Options, lines: list[str] | None, stdin: TextIO, sink: Sink,
               stderr: TextIO, *, interactive: bool) -> int:
    try:
        if options.demo:
            with tempfile.TemporaryDirectory(prefix="twinome-demo-") as folder:
                await _play(Path(folder) / "demo.sqlite3", _listed(lines or []), sink, options)
        else:
            source = _stdin_lines(stdin, interactive) if lines is None else _listed(lines)
            await _play(options.db or Path(DEFAULT_DB), source, sink, options)
    except (StorageError, OSError) as err:
        said = _("cannot use the database: {reason}", reason=err)
        print("twinome console: " + render(said, options.language), file=stderr)
        return 2
    return 0


def _script_lines(options: Options) -> list[str] | None:
    if options.demo:
        return demo_script().splitlines()
    if options.script is not None:
        # Undecodable bytes stay escaped: the console names such a line and skips it.
        return options.script.read_text("utf-8", errors="surrogateescape").splitlines()
    return None


def _sink(jsonl: bool, stdout: TextIO, *, echo: bool, lang: str) -> Sink:
    def write(text: str) -> None:
        print(text, file=stdout, flush=True)

    if jsonl:
        return JsonSink(write)
    return HumanSink(write, colour=wants_colour(stdout), echo=echo, lang=lang)


@contextlib.contextmanager
def _terminal_kept(stdin: TextIO | None) -> Iterator[None]:
    """Give the terminal back as it was, even if Ctrl-C stops a line being edited."""
    try:
        import termios

        saved = termios.tcgetattr(stdin) if stdin is not None else None
    except (ImportError, OSError, ValueError):
        saved = None
    try:
        yield
    finally:
        if saved is not None and stdin is not None:
            with contextlib.suppress(OSError, ValueError):
                termios.tcsetattr(stdin, termios.TCSADRAIN, saved)


def line_editing() -> bool:
    """Give ``input()`` line editing and a history kept for the session, where readline exists."""
    try:
        import readline
    except ImportError:  # Windows and some minimal builds: plain input still works
        return False
    readline.set_history_length(1000)
    return True


async def _play(path: Path, lines: AsyncIterator[str], sink: Sink, options: Options) -> None:
    async with opened(path, sink, start=options.start, language=options.language) as console:
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
                line = await _typed("> ")
            except EOFError:
                return
        else:
            line = await asyncio.to_thread(stdin.readline)
            if not line:
                return
        yield line


async def _typed(prompt: str) -> str:
    """One line typed at the prompt, read by a daemon thread: Ctrl-C never waits for Enter."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[str] = loop.create_future()

    def settle(line: str, error: BaseException | None) -> None:
        if answer.done():
            return
        if error is None:
            answer.set_result(line)
        else:
            answer.set_exception(error)

    def read() -> None:
        line, error = "", None
        try:
            line = input(prompt)
        except (EOFError, OSError) as err:
            error = err
        with contextlib.suppress(RuntimeError):  # the console stopped meanwhile
            loop.call_soon_threadsafe(settle, line, error)

    threading.Thread(target=read, name="console-input", daemon=True).start()
    return await answer
