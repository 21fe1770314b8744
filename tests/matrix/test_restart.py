"""Exactly once across a kill: the bot process is SIGKILLed while members keep going."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

from bots.matrix.config import PASSWORD_ENV
from bots.matrix.homeserver import Homeserver
from tests.matrix.botkit import Member, bot_config, register_bot, replied_to, running_bot
from tests.matrix.trio import Trio, form_by_code, members, read

ROOT = Path(__file__).resolve().parents[2]
DM_COMMANDS = ("trio info", "turn", "trio charter", "help turn", "ledger", "trio list")


def write_config(synapse: Homeserver, directory: Path, localpart: str) -> Path:
    """A TOML configuration for a bot process; the password stays in the environment."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "twinome.toml"
    path.write_text(
        "[storage]\npath = \"twinome.db\"\n\n[matrix]\n"
        f"homeserver = \"{synapse.url}\"\nuser_id = \"{synapse.user_id(localpart)}\"\n"
        "store_dir = \"store\"\ncommand_prefix = \"!\"\n"
    )
    return path


@contextlib.contextmanager
def bot_process(config: Path, password: str) -> Iterator[subprocess.Popen[bytes]]:
    """``python -m bots.matrix --config …`` as a child process, killed at the end."""
    env = {**os.environ, PASSWORD_ENV: password, "PYTHONPATH": str(ROOT)}
    with (config.parent / "bot.log").open("ab") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "bots.matrix", "--config", str(config)],
            cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()


def replies(member: Member, event_id: str) -> int:
    """How many bot notices reply to ``event_id``, in any room the member sees."""
    return sum(1 for e in member.notices() if replied_to(e) == event_id)


class Chatter:
    """Members writing in their line and sending commands, every few hundred milliseconds."""

    def __init__(self, trio: Trio) -> None:
        self.trio = trio
        self.commands: list[tuple[Member, str]] = []
        self.written: dict[str, int] = {}
        self._stop = asyncio.Event()

    async def run(self) -> None:
        alice, bob, _ = self.trio.members
        line = self.trio.line(alice, bob)
        step = 0
        while not self._stop.is_set():
            member = (alice, bob)[step % 2]
            await member.send(line, f"line message {step}")
            self.written[member.id] = self.written.get(member.id, 0) + 1
            command = DM_COMMANDS[step % len(DM_COMMANDS)]
            self.commands.append((member, await member.send(member.dm, command)))
            step += 1
            await asyncio.sleep(0.15)

    def stop(self) -> None:
        self._stop.set()


async def test_sigkill_while_members_write_answers_every_command_exactly_once(
        synapse: Homeserver, tmp_path: Path) -> None:
    localpart, password = register_bot(synapse)
    config = write_config(synapse, tmp_path / "bot", localpart)
    database = config.parent / "twinome.db"
    with bot_process(config, password) as first:
        trio = await form_by_code(synapse, tmp_path, (synapse.user_id(localpart), database))
        chatter = Chatter(trio)
        talking = asyncio.create_task(chatter.run())
        await asyncio.sleep(1.5)
        first.send_signal(signal.SIGKILL)
    try:
        await asyncio.sleep(2.0)  # killed: members go on writing and sending commands
        with bot_process(config, password):
            await asyncio.sleep(1.5)
            chatter.stop()
            await talking
            for member, event_id in chatter.commands:
                await member.reply_to(event_id, within=30)
            await asyncio.sleep(2.0)  # time for any duplicate to show up
        assert len(chatter.commands) > 10
        counts = [replies(member, event_id) for member, event_id in chatter.commands]
        assert counts == [1] * len(counts)
        alice, bob, _ = trio.members
        rows = read(database, "SELECT s.member_id, s.messages FROM line_state s JOIN rooms r "
                              "ON r.id = s.room_id WHERE r.member_a IS NOT NULL "
                              "AND s.member_id IN (?, ?) AND ? IN (r.member_a, r.member_b) "
                              "AND ? IN (r.member_a, r.member_b)",
                    (alice.id, bob.id, alice.id, bob.id))
        assert {r["member_id"]: r["messages"] for r in rows} == chatter.written
    finally:
        talking.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await talking
        await trio.close()


async def test_a_long_outage_is_caught_up_through_the_timeline_gap(
        synapse: Homeserver, tmp_path: Path) -> None:
    localpart, password = register_bot(synapse)
    config = bot_config(synapse, tmp_path / "bot", localpart, password)
    async with running_bot(config) as bot:
        (alice,) = await members(synapse, tmp_path, bot, ("alice",))
        await alice.ask("trio list")
    try:
        sent = [await alice.send(alice.dm, f"help {c}") for c in ("turn", "ledger", "sos",
                                                                  "plan", "vote", "seek", "away")]
        async with running_bot(config, timeline_limit=2):
            for event_id in sent:
                await alice.reply_to(event_id, within=30)
            await asyncio.sleep(1.0)
        assert [replies(alice, e) for e in sent] == [1] * len(sent)
    finally:
        await alice.user.close()


def test_a_bad_config_is_one_line_and_exit_code_2(tmp_path: Path) -> None:
    config = tmp_path / "twinome.toml"
    config.write_text("[storage]\npath = \"x.db\"\n[matrix]\nhomeserver = \"http://127.0.0.1:9\"\n"
                      "user_id = \"@bot:localhost\"\nstore_dir = \"store\"\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("TWINOME_MATRIX")}
    done = subprocess.run([sys.executable, "-m", "bots.matrix", "--config", str(config)],
                          cwd=ROOT, env={**env, "PYTHONPATH": str(ROOT)}, capture_output=True,
                          text=True, timeout=60, check=False)
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0 and "TWINOME_MATRIX_PASSWORD" in done.stderr


def test_a_wrong_password_is_one_line_and_exit_code_2(synapse: Homeserver, tmp_path: Path) -> None:
    localpart, _ = register_bot(synapse)
    config = write_config(synapse, tmp_path, localpart)
    env = {**os.environ, PASSWORD_ENV: "not-the-password", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-m", "bots.matrix", "--config", str(config)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
                          check=False)
    assert done.returncode == 2, done.stderr
    assert done.stderr.strip().count("\n") == 0 and PASSWORD_ENV in done.stderr
    assert "Traceback" not in done.stderr

