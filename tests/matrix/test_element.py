"""Element's own crypto stack decrypts the bot's notices, because the bot's device is cross-signed.

Current Element refuses encrypted messages from devices that are not cross-signed. The check
runs matrix-js-sdk with Rust crypto in that mode (tests/matrix/element/check.mjs, under
Node) against the test Synapse; a plain matrix-nio device is the control that must be refused.
"""

from __future__ import annotations

import asyncio
import fcntl
import json
import secrets
import subprocess
from pathlib import Path
from typing import Any

import pytest

from bots.matrix.homeserver import Homeserver
from tests.matrix.botkit import bot_config, new_user, register_bot, running_bot
from tests.matrix.users import unique_name

ELEMENT = Path(__file__).parent / "element"
SDK = "matrix-js-sdk"


def installed(pinned: str) -> bool:
    """Whether node_modules holds the pinned matrix-js-sdk, complete enough to import."""
    manifest = ELEMENT / "node_modules" / SDK / "package.json"
    if not manifest.exists() or json.loads(manifest.read_text())["version"] != pinned:
        return False
    probe = subprocess.run(["node", "--input-type=module", "-e", f"await import({SDK!r})"],
                           cwd=ELEMENT, capture_output=True, timeout=60, check=False)
    return probe.returncode == 0


@pytest.fixture(scope="session")
def element_check() -> Path:
    """The check script, with the pinned matrix-js-sdk installed (``npm ci``) if missing."""
    manifest = ELEMENT / "package.json"
    pinned = json.loads(manifest.read_text())["dependencies"][SDK]
    with manifest.open() as lock:  # test sessions sharing this checkout install one at a time
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not installed(pinned):
            done = subprocess.run(["npm", "ci", "--prefix", str(ELEMENT), "--no-audit",
                                   "--no-fund"], capture_output=True, text=True, timeout=300,
                                  check=False)
            assert done.returncode == 0, f"npm ci failed:\n{done.stdout}\n{done.stderr}"
            assert installed(pinned), "npm ci left an incomplete matrix-js-sdk"
    return ELEMENT / "check.mjs"


def register(synapse: Homeserver, prefix: str) -> tuple[str, str]:
    """A fresh account; returns its user id and password."""
    password = "pw-" + secrets.token_urlsafe(8)
    return synapse.register(unique_name(prefix), password), password


async def start_check(script: Path, synapse: Homeserver, user: tuple[str, str], sender: str,
                      *how: str) -> asyncio.subprocess.Process:
    """Start the check as ``user``, waiting for a notice from ``sender``."""
    return await asyncio.create_subprocess_exec(
        "node", str(script), "--homeserver", synapse.url, "--user", user[0],
        "--password", user[1], "--sender", sender, "--timeout", "30", *how,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


async def lines_of(check: asyncio.subprocess.Process) -> list[dict[str, Any]]:
    """The JSON lines the check printed, once it ended."""
    out, err = await asyncio.wait_for(check.communicate(), timeout=45)
    lines = [json.loads(line) for line in out.decode().splitlines() if line.startswith("{")]
    assert check.returncode == 0, f"the check failed: {lines}\n{err.decode()[-2000:]}"
    return lines


def notice_in(lines: list[dict[str, Any]]) -> dict[str, Any]:
    """The one notice the check reported."""
    notices = [line for line in lines if line["event"] == "notice"]
    assert len(notices) == 1, lines
    return notices[0]


async def test_element_decrypts_the_bots_notice_and_sees_it_cross_signed(
        synapse: Homeserver, tmp_path: Path, element_check: Path) -> None:
    local, password = register_bot(synapse)
    member = register(synapse, "element")
    async with running_bot(bot_config(synapse, tmp_path / "bot", local, password)) as bot:
        check = await start_check(element_check, synapse, member, bot.user_id, "--send", "!help")
        notice = notice_in(await lines_of(check))
        assert "error" not in notice, json.dumps(notice)
        assert "trio" in notice["body"], json.dumps(notice)
        assert notice["device"] == bot.bot.client.device_id
        assert notice["signedByOwner"] is True, json.dumps(notice)
        # Signed by its owner, though nobody here verified the bot's user itself.
        assert notice["crossSigningVerified"] is False, json.dumps(notice)


async def test_element_refuses_a_device_that_is_not_cross_signed(
        synapse: Homeserver, tmp_path: Path, element_check: Path) -> None:
    member = register(synapse, "element")
    plain = await new_user(synapse, tmp_path, "plain")  # matrix-nio, never cross-signed
    try:
        room = await plain.create_room([member[0]])
        check = await start_check(element_check, synapse, member, plain.user_id, "--room", room)
        await plain.wait_for_member(room, member[0], within=30)
        await plain.send_text(room, "a notice Element must refuse", msgtype="m.notice")
        notice = notice_in(await lines_of(check))
    finally:
        await plain.close()
    assert "body" not in notice, json.dumps(notice)
    assert notice["error"] == "UNSIGNED_SENDER_DEVICE", json.dumps(notice)
    assert notice["signedByOwner"] is False, json.dumps(notice)
