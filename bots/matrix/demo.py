"""``twinome demo [--keep]``: a local homeserver, the bot, and three people living a trio.

Everything runs on this machine: Synapse (from the ``demo`` extra) on 127.0.0.1 with
SQLite, the bot with end-to-end encryption, and three encrypted matrix-nio clients
(Alice, Bob, Carol) whose every received message is printed. Passwords are generated
for this run. With ``--keep`` the homeserver and the bot stay up afterwards, and the
logins are printed so a person can connect any Matrix client.

Stopping: SIGINT (Ctrl-C) and SIGTERM both cancel the demo's one task, once (a second
signal cannot cut the clean-up short); its ``finally`` blocks stop the people, the bot
and Synapse, and remove the temporary folder (a folder given with ``--dir`` is the
user's and stays). Only SIGKILL can leave a Synapse behind.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import secrets
import shutil
import signal
import sqlite3
import sys
import tempfile
from collections.abc import AsyncIterator, Coroutine
from pathlib import Path
from typing import Any

from bots.matrix.bot import MatrixBot, core_settings
from bots.matrix.calls import MatrixCallError
from bots.matrix.config import MatrixConfig
from bots.matrix.homeserver import Homeserver, HomeserverError, synapse_installed
from bots.matrix.people import Person
from bots.matrix.story import play, show
from core.clock import SystemClock
from core.service import Twinome
from core.storage.db import Database

PEOPLE = ("alice", "bob", "carol")
BOT = "twinome"


def parser() -> argparse.ArgumentParser:
    """The command line of ``twinome demo``."""
    p = argparse.ArgumentParser(
        prog="twinome demo",
        description="Start a local Matrix homeserver, run the bot, and play a short trio "
                    "life with three encrypted clients, printing what each person sees.")
    p.add_argument("--keep", action="store_true",
                   help="leave the homeserver and the bot running afterwards and print logins "
                        "(until Ctrl-C)")
    p.add_argument("--dir", type=Path, help="where to keep the demo's files (default: a "
                                            "temporary folder, removed at the end)")
    return p


def main(argv: list[str]) -> int:
    """Entry point; returns the exit code."""
    args = parser().parse_args(argv)
    if not synapse_installed():
        print("twinome demo needs the homeserver of the demo extra: pip install -e '.[demo]'",
              file=sys.stderr)
        return 2
    logging.basicConfig(format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("nio").setLevel(logging.CRITICAL)
    try:
        return asyncio.run(stoppable(run(args.dir, args.keep)))
    except (KeyboardInterrupt, asyncio.CancelledError):
        return 0
    except (HomeserverError, MatrixCallError, TimeoutError, OSError) as err:
        print(f"twinome demo: {type(err).__name__}: {err}", file=sys.stderr)
        return 1


async def stoppable(work: Coroutine[Any, Any, int]) -> int:
    """Run ``work`` as this task, cancelled once by the first SIGINT or SIGTERM."""
    loop = asyncio.get_running_loop()
    task = asyncio.current_task()
    assert task is not None
    signalled: list[int] = []

    def stop(number: int) -> None:
        if not signalled:
            signalled.append(number)
            task.cancel()

    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, stop, number)
    try:
        return await work
    finally:
        for number in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(number)


async def run(folder: Path | None, keep: bool) -> int:
    """Set everything up, play the story, then tear down (or keep running until stopped)."""
    directory = folder or Path(tempfile.mkdtemp(prefix="twinome-demo-"))
    directory.mkdir(parents=True, exist_ok=True)
    server = Homeserver(directory / "homeserver")
    print(f"Starting a local Synapse homeserver on 127.0.0.1 (files in {directory}) …", flush=True)
    try:
        await asyncio.to_thread(server.start)
        passwords = {name: secrets.token_urlsafe(12) for name in (BOT, *PEOPLE)}
        for name, password in passwords.items():
            await asyncio.to_thread(server.register, name, password)
        config = MatrixConfig(database=directory / "twinome.db", homeserver=server.url,
                              user_id=server.user_id(BOT), store_dir=directory / "bot-store",
                              device_name="Twinome demo bot", password=passwords[BOT])
        write_config(directory / "twinome.toml", config)
        async with bot_running(config) as bot_task:
            print(f"The bot {config.user_id} is running, its device cross-signed.", flush=True)
            people = [await Person.login(name.capitalize(), server.url, server.user_id(name),
                                         passwords[name], directory / "people" / name,
                                         config.user_id, show) for name in PEOPLE]
            try:
                for person in people:
                    await person.rename()
                    await person.start()
                await play(*people)
            finally:
                for person in people:
                    await person.stop()
            report_privacy(server)
            print("\nThat was a twinome: three people, one trio room, three private lines, "
                  "and a bot that keeps the rhythm without reading a word.", flush=True)
            if keep:
                print_logins(server, config, passwords, directory, temporary=folder is None)
                await bot_task
    finally:
        await asyncio.to_thread(server.stop)
        if folder is None:  # a temporary folder: nothing in it works once Synapse is gone
            await asyncio.to_thread(shutil.rmtree, directory, ignore_errors=True)
    return 0


@contextlib.asynccontextmanager
async def bot_running(config: MatrixConfig) -> AsyncIterator[asyncio.Task[None]]:
    """The bot as a task of this process, stopped at the end of the block."""
    async with await Database.open(config.database) as db:
        bot = MatrixBot(config, Twinome(db, SystemClock(), core_settings(config)), max_wait=10)
        task = asyncio.create_task(bot.run())
        ready = asyncio.create_task(bot.ready.wait())
        await asyncio.wait({task, ready}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        if task.done():
            task.result()
        if not bot.ready.is_set():
            task.cancel()
            raise TimeoutError("the bot did not start within a minute")
        try:
            yield task
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def write_config(path: Path, config: MatrixConfig) -> None:
    """A configuration to run the same bot again with ``twinome matrix`` (no password in it)."""
    path.write_text(
        f'[storage]\npath = "{config.database}"\n\n[matrix]\n'
        f'homeserver = "{config.homeserver}"\nuser_id = "{config.user_id}"\n'
        f'device_name = "{config.device_name}"\nstore_dir = "{config.store_dir}"\n'
        f'command_prefix = "{config.prefix}"\n')


def report_privacy(server: Homeserver) -> None:
    """Show that the homeserver's own database holds no plaintext of the lines."""
    with contextlib.closing(sqlite3.connect(server.database_path)) as db:
        rows = db.execute("SELECT json FROM event_json").fetchall()
    leaked = [w for w in ("concert", "rehearsal", "bread baking", "rough week")
              if any(w in row[0] for row in rows)]
    print("\n== Privacy check", flush=True)
    if leaked:
        print(f"  Synapse's database holds some plaintext: {', '.join(leaked)}", flush=True)
    else:
        print(f"  Synapse's database ({len(rows)} events) holds none of what was written: "
              f"only ciphertext.", flush=True)


def print_logins(server: Homeserver, config: MatrixConfig, passwords: dict[str, str],
                 directory: Path, temporary: bool) -> None:
    """The address and logins, valid for as long as this demo runs (nothing said outlives it)."""
    print(f"\nThe homeserver and the bot keep running until you stop this demo.\n"
          f"  Homeserver URL: {server.url}   (server name: {server.server_name})\n"
          f"  Bot: {config.user_id}")
    for name in PEOPLE:
        print(f"  Login: {server.user_id(name):24} password: {passwords[name]}")
    after = f"removes {directory}" if temporary else f"keeps {directory}"
    print(f"Ctrl-C (or SIGTERM) stops the homeserver and the bot, and {after}.", flush=True)
