"""Homeserver trouble: rate limits, a homeserver that goes away and comes back, reports."""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest

from bots.matrix.config import MatrixConfig
from bots.matrix.homeserver import RATE_LIMITS, Homeserver
from tests.matrix.botkit import Member, running_bot
from tests.matrix.users import User, unique_name

STRICT = {**RATE_LIMITS, "rc_message": {"per_second": 1, "burst_count": 2}}


@pytest.fixture(scope="module")
def strict(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Homeserver]:
    """A homeserver of its own, with a tight message rate limit."""
    with Homeserver(tmp_path_factory.mktemp("strict"), rate_limits=STRICT) as server:
        yield server


def _post(server: Homeserver, path: str, body: dict[str, object], token: str = "") -> object:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(server.url + path, json.dumps(body).encode(), headers)
    with urllib.request.urlopen(request, timeout=10) as answer:
        return json.load(answer)


def unlimited(server: Homeserver, user_id: str) -> None:
    """Exempt one user from the rate limits (so only the bot is limited)."""
    localpart, password = unique_name("admin"), secrets.token_urlsafe(12)
    server.register(localpart, password, admin=True)
    login = _post(server, "/_matrix/client/v3/login", {
        "type": "m.login.password", "password": password,
        "identifier": {"type": "m.id.user", "user": localpart}})
    assert isinstance(login, dict)
    _post(server, f"/_synapse/admin/v1/users/{quote(user_id)}/override_ratelimit",
          {"messages_per_second": 0, "burst_count": 0}, login["access_token"])


def config_for(server: Homeserver, directory: Path, **extra: object) -> MatrixConfig:
    localpart, password = unique_name("twinome"), secrets.token_urlsafe(12)
    server.register(localpart, password)
    return MatrixConfig(database=directory / "twinome.db", homeserver=server.url,
                        user_id=server.user_id(localpart), store_dir=directory / "store",
                        password=password, **extra)  # type: ignore[arg-type]


async def member(server: Homeserver, store: Path, bot_user_id: str, name: str) -> Member:
    localpart, password = unique_name(name), secrets.token_urlsafe(12)
    server.register(localpart, password)
    user = await User.login(server.url, server.user_id(localpart), password, store / localpart)
    await user.start()
    found = Member(user, bot_user_id)
    await found.open_dm()
    return found


async def test_rate_limited_replies_are_retried_until_they_pass(
        strict: Homeserver, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="twinome.matrix")
    config = config_for(strict, tmp_path / "bot")
    async with running_bot(config):
        alice = await member(strict, tmp_path, config.user_id, "alice")
        unlimited(strict, alice.id)
        try:
            sent = [await alice.send(alice.dm, f"help {c}") for c in
                    ("turn", "ledger", "sos", "plan", "vote")]
            for event_id in sent:
                await alice.reply_to(event_id, within=60)
        finally:
            await alice.user.close()
    assert any("M_LIMIT_EXCEEDED" in r.getMessage() and "retrying" in r.getMessage()
               for r in caplog.records), "the homeserver never rate-limited the bot"


async def test_the_bot_rides_out_a_homeserver_restart(
        strict: Homeserver, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="twinome.matrix")
    config = config_for(strict, tmp_path / "bot")
    async with running_bot(config) as bot:
        alice = await member(strict, tmp_path, config.user_id, "alice")
        try:
            await alice.ask("trio list")
            await asyncio.to_thread(lambda: strict.stop(final=False))
            await asyncio.sleep(1.5)
            await asyncio.to_thread(strict.start)
            answered = await alice.ask("help turn", within=60)
            assert "turn" in answered.body
            assert not bot.task.done()
        finally:
            await alice.user.close()
    assert any("sync failed" in r.getMessage() for r in caplog.records)


async def test_reports_reach_the_moderators_room(strict: Homeserver, tmp_path: Path) -> None:
    localpart, password = unique_name("mod"), secrets.token_urlsafe(12)
    strict.register(localpart, password)
    moderator = await User.login(strict.url, strict.user_id(localpart), password,
                                 tmp_path / localpart)
    await moderator.start()
    try:
        mods_room = await moderator.create_room([], name="Moderators")
        config = config_for(strict, tmp_path / "bot", moderators_room=mods_room)
        await moderator.client.room_invite(mods_room, config.user_id)
        async with running_bot(config):
            await moderator.wait_for_member(mods_room, config.user_id, within=30)
            alice = await member(strict, tmp_path, config.user_id, "alice")
            bob = await member(strict, tmp_path, config.user_id, "bob")
            try:
                told = await alice.ask(f"report {bob.id} kept sending insults")
                assert "recorded" in told.body and "moderators will see it" in told.body, told.body
                await moderator.trust_room(mods_room)
                report = await moderator.wait_for_message(
                    mods_room, lambda e: "kept sending insults" in e.body, within=30)
                assert alice.id in report.body or "alice" in report.body
                assert report.decrypted
            finally:
                await alice.user.close()
                await bob.user.close()
    finally:
        await moderator.close()
