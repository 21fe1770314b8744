"""``twinome demo --keep``: the newcomer's one command, run as a newcomer would."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def read_until(process: subprocess.Popen[str], marker: str, within: float) -> str:
    """Everything the process printed up to the line holding ``marker``."""
    assert process.stdout is not None
    seen: list[str] = []
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        seen.append(line)
        if marker in line:
            return "".join(seen)
    raise AssertionError(f"no {marker!r} in the demo's output:\n{''.join(seen)}")


def synapses(folder: Path) -> list[int]:
    """The Synapse processes running on a configuration inside ``folder``."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            command = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"synapse.app.homeserver" in command and str(folder).encode() in b" ".join(command):
            found.append(int(proc.name))
    return found


def demo(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    """``twinome demo --keep`` as a newcomer starts it, its temporary folders in tmp_path."""
    temporary = tmp_path / "tmp"
    temporary.mkdir(exist_ok=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(temporary)}
    return subprocess.Popen([sys.executable, "-m", "bots", "demo", "--keep", *args],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)


def test_demo_plays_a_trio_life_then_keeps_the_homeserver_for_a_person(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    with demo(tmp_path, "--dir", str(folder)) as process:
        assert stopped_after_playing(process) == 0
    assert not synapses(folder) and (folder / "twinome.toml").exists(), "--dir is the user's"


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_mid_story_leaves_no_process_and_no_folder(
        tmp_path: Path, stop: signal.Signals) -> None:
    with demo(tmp_path) as process:
        try:
            read_until(process, "is running, its device cross-signed", within=120)
            [folder] = list((tmp_path / "tmp").iterdir())
            assert synapses(folder)
            process.send_signal(stop)
            assert process.wait(60) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert not synapses(tmp_path / "tmp") and not list((tmp_path / "tmp").iterdir())


def test_sigterm_while_kept_stops_everything(tmp_path: Path) -> None:
    with demo(tmp_path) as process:
        try:
            out = read_until(process, "stops the homeserver and the bot", within=180)
            assert "yourself later" not in out and "removes " in out
            process.send_signal(signal.SIGTERM)
            assert process.wait(60) == 0
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    assert not synapses(tmp_path / "tmp") and not list((tmp_path / "tmp").iterdir())


def stopped_after_playing(process: subprocess.Popen[str]) -> int:
    """Check the story and the kept homeserver, then stop the demo with Ctrl-C."""
    try:
        out = read_until(process, "stops the homeserver and the bot", within=180)
        assert "Bob (@bob:localhost) joined your trio" in out and "is complete" in out
        assert "Alice sees, in direct chat with the bot, from the bot: Bob has not answered yet" in out
        assert "Turns in “Les Trois”" in out and "it is in the ledger now" in out
        alerts = [line for line in out.splitlines() if "going through a hard time" in line]
        assert sorted(line.split(" sees")[0].strip() for line in alerts) == ["Bob", "Carol"]
        assert "prepared a support plan for you" in out
        assert "holds none of what was written" in out
        url = next(w for w in out.split() if w.startswith("http://127.0.0.1:"))
        login = next(line for line in out.splitlines() if "@alice:localhost" in line
                     and "password:" in line)
        password = login.split("password:")[1].strip()
        body = json.dumps({"type": "m.login.password", "password": password,
                           "identifier": {"type": "m.id.user", "user": "alice"}}).encode()
        request = urllib.request.Request(f"{url}/_matrix/client/v3/login", data=body,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert json.load(answer)["user_id"] == "@alice:localhost"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            code = process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    return code
