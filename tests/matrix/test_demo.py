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


def test_demo_plays_a_trio_life_then_keeps_the_homeserver_for_a_person(tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    with subprocess.Popen(
            [sys.executable, "-m", "bots", "demo", "--keep", "--dir", str(tmp_path / "demo")],
            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True) as process:
        assert stopped_after_playing(process) == 0


def stopped_after_playing(process: subprocess.Popen[str]) -> int:
    """Check the story and the kept homeserver, then stop the demo with Ctrl-C."""
    try:
        out = read_until(process, "Run the bot yourself later", within=180)
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
