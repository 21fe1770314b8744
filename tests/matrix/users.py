"""Real matrix-nio user clients with encryption, syncing in the background, for tests."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import secrets
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any, Self
from urllib.parse import quote

import nio

Message = nio.RoomMessageText | nio.RoomMessageNotice
_ENCRYPTION = {
    "type": "m.room.encryption",
    "state_key": "",
    "content": {"algorithm": "m.megolm.v1.aes-sha2"},
}
_counter = itertools.count()


class UserError(RuntimeError):
    """A test user's request failed or what it waited for did not happen."""


def unique_name(prefix: str = "user") -> str:
    """Return a localpart no other test uses."""
    return f"{prefix}{next(_counter)}{secrets.token_hex(3)}"


def _untyped(client: nio.AsyncClient) -> Any:
    """Return `client` as `Any`, for nio methods whose annotations are missing or wrong."""
    return client


class User:
    """One logged-in, encrypted matrix-nio client that trusts every device on first use."""

    def __init__(self, client: nio.AsyncClient) -> None:
        self.client = client
        self.messages: list[tuple[str, Message]] = []
        self.undecrypted: list[tuple[str, nio.MegolmEvent]] = []
        self._returned: set[str] = set()
        self._changed = asyncio.Condition()
        self._sync_task: asyncio.Task[None] | None = None
        loose = _untyped(client)
        loose.add_event_callback(self._on_message, (nio.RoomMessageText, nio.RoomMessageNotice))
        loose.add_event_callback(self._on_undecrypted, nio.MegolmEvent)
        loose.add_event_callback(self._on_invite, nio.InviteMemberEvent)
        loose.add_response_callback(self._on_sync, nio.SyncResponse)

    @property
    def user_id(self) -> str:
        """Return this user's Matrix id."""
        user_id: str = self.client.user_id
        return user_id

    @staticmethod
    def _new_client(homeserver: str, user_id: str, store_dir: Path) -> nio.AsyncClient:
        store_dir.mkdir(parents=True, exist_ok=True)
        config = nio.AsyncClientConfig(encryption_enabled=True, store_sync_tokens=True)
        return nio.AsyncClient(homeserver, user_id, store_path=str(store_dir), config=config)

    @classmethod
    async def login(cls, homeserver: str, user_id: str, password: str, store_dir: Path) -> User:
        """Log in with a new device whose keys live in `store_dir`; do not sync yet."""
        client = cls._new_client(homeserver, user_id, store_dir)
        response = await client.login(password, device_name="test")
        if not isinstance(response, nio.LoginResponse):
            await _untyped(client).close()
            raise UserError(f"login of {user_id} failed: {response}")
        return await cls._ready(client)

    @classmethod
    async def restore(
        cls, homeserver: str, user_id: str, device_id: str, access_token: str, store_dir: Path
    ) -> User:
        """Resume an earlier login (same device, same `store_dir`), as after a restart."""
        client = cls._new_client(homeserver, user_id, store_dir)
        client.restore_login(user_id, device_id, access_token)
        return await cls._ready(client)

    @classmethod
    async def _ready(cls, client: nio.AsyncClient) -> User:
        if client.should_upload_keys:
            uploaded = await client.keys_upload()
            if not isinstance(uploaded, nio.KeysUploadResponse):
                await _untyped(client).close()
                raise UserError(f"key upload of {client.user_id} failed: {uploaded}")
        return cls(client)

    async def start(self) -> None:
        """Sync once, then keep syncing in a background task."""
        first = await self.client.sync(timeout=0, full_state=True)
        if not isinstance(first, nio.SyncResponse):
            raise UserError(f"first sync of {self.user_id} failed: {first}")
        self._sync_task = asyncio.create_task(self.client.sync_forever(timeout=3000))

    async def close(self) -> None:
        """Stop syncing and close the HTTP session."""
        if self._sync_task is not None:
            self._sync_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sync_task
            self._sync_task = None
        await _untyped(self.client).close()

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _on_message(self, room: nio.MatrixRoom, event: Message) -> None:
        if event.sender != self.user_id:
            self.messages.append((room.room_id, event))
            await self._notify()

    async def _on_undecrypted(self, room: nio.MatrixRoom, event: nio.MegolmEvent) -> None:
        self.undecrypted.append((room.room_id, event))

    async def _on_invite(self, room: nio.MatrixRoom, event: nio.InviteMemberEvent) -> None:
        if event.state_key == self.user_id and event.membership == "invite":
            await self.client.join(room.room_id)

    async def _on_sync(self, response: nio.SyncResponse) -> None:
        await self._notify()

    async def wait_until(self, condition: Callable[[], bool], within: float = 10.0) -> None:
        """Wait until `condition()` holds, checking after every sync and message."""
        try:
            async with asyncio.timeout(within), self._changed:
                await self._changed.wait_for(condition)
        except TimeoutError:
            task = self._sync_task
            if task is not None and task.done() and not task.cancelled() and task.exception():
                raise UserError(f"the sync loop of {self.user_id} died") from task.exception()
            raise

    async def wait_for_message(
        self,
        room_id: str,
        predicate: Callable[[Message], bool] = lambda _: True,
        within: float = 10.0,
    ) -> Message:
        """Return the first decrypted text or notice from someone else that matches.

        Each event is returned at most once, so repeated calls step through messages.
        """

        def find() -> Message | None:
            for room, event in self.messages:
                if room == room_id and event.event_id not in self._returned and predicate(event):
                    return event
            return None

        try:
            await self.wait_until(lambda: find() is not None, within)
        except TimeoutError:
            raise UserError(f"{self.user_id} saw no matching message in {room_id}") from None
        found = find()
        assert found is not None
        self._returned.add(found.event_id)
        return found

    async def wait_for_member(self, room_id: str, user_id: str, within: float = 10.0) -> None:
        """Wait until `user_id` has joined `room_id`, as this user's client sees it."""

        def joined() -> bool:
            room = self.client.rooms.get(room_id)
            return room is not None and user_id in room.users and user_id not in room.invited_users

        try:
            await self.wait_until(joined, within)
        except TimeoutError:
            raise UserError(f"{user_id} did not join {room_id}") from None

    async def trust_room(self, room_id: str) -> None:
        """Fetch the room's members and their devices, and trust all of them (TOFU)."""
        room = self.client.rooms.get(room_id)
        if room is None:
            raise UserError(f"{self.user_id} is not in {room_id}")
        if not room.members_synced:
            await self.client.joined_members(room_id)
        if self.client.should_query_keys:
            with contextlib.suppress(nio.LocalProtocolError):  # the sync loop got there first
                await self.client.keys_query()
        for user_id in room.users:
            for device in self.client.device_store.active_user_devices(user_id):
                if not device.verified:
                    self.client.verify_device(device)

    async def send_text(self, room_id: str, text: str, msgtype: str = "m.text") -> str:
        """Send `text`, encrypted if the room is, and return the event id."""
        await self.trust_room(room_id)
        content = {"msgtype": msgtype, "body": text}
        response = await self.client.room_send(room_id, "m.room.message", content)
        if not isinstance(response, nio.RoomSendResponse):
            raise UserError(f"{self.user_id} could not send to {room_id}: {response}")
        event_id: str = response.event_id
        return event_id

    async def create_room(self, invite: list[str], name: str | None = None) -> str:
        """Create an encrypted private room, invite `invite`, and return its id."""
        response = await self.client.room_create(
            name=name,
            invite=invite,
            preset=nio.RoomPreset.private_chat,
            initial_state=[_ENCRYPTION],
        )
        return self._room_id(response)

    async def create_dm(self, other_user_id: str) -> str:
        """Open an encrypted direct chat with `other_user_id` (`is_direct`, `m.direct`)."""
        response = await self.client.room_create(
            is_direct=True,
            invite=[other_user_id],
            preset=nio.RoomPreset.trusted_private_chat,
            initial_state=[_ENCRYPTION],
        )
        room_id = self._room_id(response)
        await self._add_direct(other_user_id, room_id)
        return room_id

    def _room_id(self, response: nio.RoomCreateResponse | nio.RoomCreateError) -> str:
        if not isinstance(response, nio.RoomCreateResponse):
            raise UserError(f"{self.user_id} could not create a room: {response}")
        room_id: str = response.room_id
        return room_id

    async def _add_direct(self, other_user_id: str, room_id: str) -> None:
        path = f"/_matrix/client/v3/user/{quote(self.user_id)}/account_data/m.direct"
        headers = {"Authorization": f"Bearer {self.client.access_token}"}
        async with await self.client.send("GET", path, headers=headers) as response:
            direct: dict[str, Any] = await response.json() if response.status == 200 else {}
        direct.setdefault(other_user_id, []).append(room_id)
        body = json.dumps(direct)
        async with await self.client.send("PUT", path, body, headers) as response:
            if response.status != 200:
                raise UserError(f"{self.user_id} could not set m.direct: {response.status}")
