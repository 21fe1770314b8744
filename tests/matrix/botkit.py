"""Running the Twinome Matrix bot against the test Synapse, and talking to it as members."""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from bots.matrix.bot import MatrixBot, core_settings
from bots.matrix.config import MatrixConfig
from bots.matrix.homeserver import Homeserver
from core.clock import Clock, SystemClock
from core.service import Twinome
from core.storage.db import Database
from tests.matrix.users import Message, User, unique_name


def bot_config(synapse: Homeserver, directory: Path, localpart: str, password: str,
               **extra: object) -> MatrixConfig:
    """A configuration for a bot account on the test Synapse, files under ``directory``."""
    values: dict[str, object] = {
        "database": directory / "twinome.db",
        "homeserver": synapse.url,
        "user_id": synapse.user_id(localpart),
        "store_dir": directory / "store",
        "password": password,
        **extra,
    }
    return MatrixConfig(**values)  # type: ignore[arg-type]


@dataclass
class RunningBot:
    """A bot running in this event loop, with its core and database."""

    bot: MatrixBot
    core: Twinome
    config: MatrixConfig
    task: asyncio.Task[None]

    @property
    def user_id(self) -> str:
        return self.config.user_id


def register_bot(synapse: Homeserver) -> tuple[str, str]:
    """Register a fresh bot account; returns its localpart and password."""
    localpart, password = unique_name("twinome"), secrets.token_urlsafe(12)
    synapse.register(localpart, password)
    return localpart, password


@contextlib.asynccontextmanager
async def running_bot(config: MatrixConfig, clock: Clock | None = None,
                      **options: object) -> AsyncIterator[RunningBot]:
    """Run the bot as a task until the block ends; fail fast if it dies while starting."""
    config.database.parent.mkdir(parents=True, exist_ok=True)
    async with await Database.open(config.database) as db:
        core = Twinome(db, clock or SystemClock(), core_settings(config))
        bot = MatrixBot(config, core, max_wait=5.0, **options)  # type: ignore[arg-type]
        task = asyncio.create_task(bot.run())
        ready = asyncio.create_task(bot.ready.wait())
        try:
            await asyncio.wait({task, ready}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
            if task.done():
                task.result()
            assert bot.ready.is_set(), "the bot did not start in time"
            yield RunningBot(bot, core, config, task)
        finally:
            ready.cancel()
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def new_user(synapse: Homeserver, store: Path, prefix: str) -> User:
    """Register a member and start their encrypted client."""
    name = unique_name(prefix)
    password = "pw-" + secrets.token_urlsafe(8)
    user_id = synapse.register(name, password)
    user = await User.login(synapse.url, user_id, password, store / name)
    await user.start()
    return user


class Member:
    """A test member: their client and their direct chat with the bot."""

    def __init__(self, user: User, bot_user_id: str) -> None:
        self.user = user
        self.bot = bot_user_id
        self.dm = ""

    @property
    def id(self) -> str:
        return self.user.user_id

    async def open_dm(self) -> str:
        """Open a direct chat with the bot and wait until it joined."""
        self.dm = await self.user.create_dm(self.bot)
        await self.user.wait_for_member(self.dm, self.bot, within=20)
        return self.dm

    async def send(self, room_id: str, text: str) -> str:
        """Send a text message; returns its event id."""
        return await self.user.send_text(room_id, text)

    async def ask(self, text: str, room_id: str | None = None, within: float = 20) -> Message:
        """Send a command and return the bot's reply to it."""
        where = room_id or self.dm
        event_id = await self.send(where, text)
        return await self.reply_to(event_id, within=within)

    async def reply_to(self, event_id: str, within: float = 20) -> Message:
        """The bot's notice replying to ``event_id`` (wherever it landed)."""
        return await self.notice(lambda e: replied_to(e) == event_id, within=within)

    async def notice(self, predicate: Callable[[Message], bool], room_id: str | None = None,
                     within: float = 20) -> Message:
        """The next bot notice matching ``predicate``, in ``room_id`` or any room."""
        def match(event: Message) -> bool:
            return event.sender == self.bot and is_notice(event) and predicate(event)

        if room_id is not None:
            return await self.user.wait_for_message(room_id, match, within=within)
        found: list[Message] = []

        def anywhere() -> bool:
            for _, event in self.user.messages:
                if event.event_id not in self.user._returned and match(event):
                    found.append(event)
                    return True
            return False

        await self.user.wait_until(anywhere, within)
        self.user._returned.add(found[0].event_id)
        return found[0]

    def notices(self, room_id: str | None = None) -> list[Message]:
        """Every notice from the bot seen so far (in one room, or anywhere)."""
        return [e for r, e in self.user.messages
                if e.sender == self.bot and is_notice(e) and (room_id is None or r == room_id)]


async def send_undecryptable(user: User, room_id: str) -> str:
    """Send an ``m.room.encrypted`` event nobody can decrypt (an unknown megolm session)."""
    client = user.client
    content = {"algorithm": "m.megolm.v1.aes-sha2", "ciphertext": "AwgAEhBsb3N0IGtleXM",
               "device_id": client.device_id, "session_id": "a-session-nobody-received",
               "sender_key": client.olm.account.identity_keys["curve25519"]}
    path = (f"/_matrix/client/v3/rooms/{quote(room_id)}/send/m.room.encrypted/"
            f"{secrets.token_hex(8)}")
    headers = {"Authorization": f"Bearer {client.access_token}",
               "Content-Type": "application/json"}
    async with await client.send("PUT", path, json.dumps(content), headers) as response:
        answer = await response.json()
    event_id: str = answer["event_id"]
    return event_id


def is_notice(event: Message) -> bool:
    """Whether an event is an ``m.notice``."""
    return bool(event.source.get("content", {}).get("msgtype") == "m.notice")


def replied_to(event: Message) -> str | None:
    """The event id an event replies to, if any."""
    relates = event.source.get("content", {}).get("m.relates_to", {})
    reply = relates.get("m.in_reply_to", {}) if isinstance(relates, dict) else {}
    value = reply.get("event_id") if isinstance(reply, dict) else None
    return value if isinstance(value, str) else None
