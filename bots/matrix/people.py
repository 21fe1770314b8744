"""Demo people: real encrypted matrix-nio clients that talk to the bot and show what they see."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nio

from bots.matrix import rooms
from bots.matrix.calls import checked
from bots.matrix.session import close

Show = Callable[["Seen"], None]


@dataclass(frozen=True)
class Seen:
    """A message a person received (decrypted), and where."""

    person: str
    room_id: str
    where: str
    sender: str
    body: str
    notice: bool
    reply_to: str | None
    event_id: str


class Person:
    """One person's logged-in, encrypted client, syncing in the background."""

    def __init__(self, name: str, client: nio.AsyncClient, bot: str, show: Show) -> None:
        self.name = name
        self.client = client
        self.bot = bot
        self.show = show
        self.dm = ""
        self.seen: list[Seen] = []
        self._taken: set[str] = set()
        self._changed = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None
        loose: Any = client
        loose.add_event_callback(self._on_message, (nio.RoomMessageText, nio.RoomMessageNotice))
        loose.add_event_callback(self._on_invite, nio.InviteMemberEvent)
        loose.add_response_callback(self._on_sync, nio.SyncResponse)

    @property
    def user_id(self) -> str:
        return str(self.client.user_id)

    @classmethod
    async def login(cls, name: str, homeserver: str, user_id: str, password: str, store: Path,
                    bot: str, show: Show) -> Person:
        """Log in with a fresh device whose keys live in ``store``."""
        await asyncio.to_thread(store.mkdir, parents=True, exist_ok=True)
        config = nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True)
        client = nio.AsyncClient(homeserver, user_id, store_path=str(store), config=config)
        try:
            await checked(f"logging in {name}", lambda: client.login(password, device_name=name),
                          nio.LoginResponse)
            if client.should_upload_keys:
                await checked("uploading keys", client.keys_upload, nio.KeysUploadResponse)
        except BaseException:
            await close(client)
            raise
        return cls(name, client, bot, show)

    async def rename(self) -> None:
        """Set the display name to the person's name (what the bot calls them)."""
        await checked(f"naming {self.name}", lambda: self.client.set_displayname(self.name),
                      nio.ProfileSetDisplayNameResponse)

    async def start(self) -> None:
        """Sync once, then keep syncing in the background."""
        await checked("first sync", lambda: self.client.sync(timeout=0, full_state=True),
                      nio.SyncResponse)
        untyped: Any = self.client
        self._task = asyncio.create_task(untyped.sync_forever(timeout=3000))

    async def stop(self) -> None:
        """Stop syncing and close the connection."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await close(self.client)

    def where(self, room_id: str) -> str:
        """A short human name for a room."""
        if room_id == self.dm:
            return "direct chat with the bot"
        room = self.client.rooms.get(room_id)
        return str(room.display_name) if room is not None else room_id

    async def _wake(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _on_message(self, room: nio.MatrixRoom, event: Any) -> None:
        if event.sender == self.user_id:
            return
        relates = event.source.get("content", {}).get("m.relates_to") or {}
        reply_to = (relates.get("m.in_reply_to") or {}).get("event_id")
        seen = Seen(self.name, room.room_id, self.where(room.room_id), event.sender, event.body,
                    isinstance(event, nio.RoomMessageNotice), reply_to, event.event_id)
        self.seen.append(seen)
        self.show(seen)
        await self._wake()

    async def _on_invite(self, room: nio.MatrixRoom, event: Any) -> None:
        if event.state_key == self.user_id and event.membership == "invite":
            await checked(f"{self.name} joining a room", lambda: self.client.join(room.room_id),
                          nio.JoinResponse)

    async def _on_sync(self, response: Any) -> None:
        await self._wake()

    async def until(self, condition: Callable[[], bool], within: float = 30.0) -> None:
        """Wait until ``condition()`` holds (checked after each sync and message)."""
        async with asyncio.timeout(within), self._changed:
            await self._changed.wait_for(condition)

    async def expect(self, predicate: Callable[[Seen], bool], within: float = 30.0) -> Seen:
        """The next message not yet taken that matches ``predicate``."""
        def find() -> Seen | None:
            return next((s for s in self.seen if s.event_id not in self._taken and predicate(s)),
                        None)

        await self.until(lambda: find() is not None, within)
        found = find()
        assert found is not None
        self._taken.add(found.event_id)
        return found

    async def open_dm(self) -> str:
        """Open an encrypted direct chat with the bot; returns once the bot has joined."""
        created = await checked("opening a direct chat", lambda: self.client.room_create(
            is_direct=True, preset=nio.RoomPreset.trusted_private_chat, invite=[self.bot],
            initial_state=[rooms.encryption_state()]), nio.RoomCreateResponse)
        self.dm = str(created.room_id)
        await rooms.add_direct(self.client, self.bot, self.dm)
        await self.until(lambda: self._joined(self.dm, self.bot))
        return self.dm

    def _joined(self, room_id: str, user_id: str) -> bool:
        room = self.client.rooms.get(room_id)
        return room is not None and user_id in room.users and user_id not in room.invited_users

    def room_named(self, name: str) -> str | None:
        """The id of a joined room whose name is ``name``."""
        return next((r for r, room in self.client.rooms.items() if room.name == name), None)

    async def say(self, text: str, room_id: str | None = None) -> str:
        """Send ``text`` (to the bot's direct chat by default); returns the event id."""
        target = room_id or self.dm
        room = self.client.rooms[target]
        if not room.members_synced:
            await self.client.joined_members(target)
        if self.client.should_query_keys:
            with contextlib.suppress(nio.LocalProtocolError):
                await self.client.keys_query()
        for user_id in room.users:  # trust on first use, like the bot
            for device in self.client.device_store.active_user_devices(user_id):
                if not device.verified:
                    self.client.verify_device(device)
        sent = await checked("sending", lambda: self.client.room_send(
            target, "m.room.message", {"msgtype": "m.text", "body": text}), nio.RoomSendResponse)
        return str(sent.event_id)

    async def ask(self, text: str, room_id: str | None = None) -> Seen:
        """Send a command and wait for the bot's reply to it (wherever it lands)."""
        event_id = await self.say(text, room_id)
        return await self.expect(lambda s: s.reply_to == event_id)

