"""Two real encrypted matrix-nio users talk through Synapse, which never sees the text."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import nio

from bots.matrix.homeserver import Homeserver
from tests.matrix.users import User, unique_name


async def login(synapse: Homeserver, store: Path, prefix: str) -> User:
    """Register a fresh user and log it in with its own store."""
    name = unique_name(prefix)
    user_id = synapse.register(name, "secret-" + name)
    return await User.login(synapse.url, user_id, "secret-" + name, store / name)


def database_contains(synapse: Homeserver, needle: str) -> bool:
    """Tell whether any event row of Synapse's database contains `needle`."""
    with sqlite3.connect(synapse.database_path) as db:
        rows = db.execute("SELECT json FROM event_json").fetchall()
        rows += db.execute("SELECT * FROM events").fetchall()
    return any(needle in str(row) for row in rows)


async def test_two_users_exchange_encrypted_messages(synapse: Homeserver, tmp_path: Path) -> None:
    async with (
        await login(synapse, tmp_path, "alice") as alice,
        await login(synapse, tmp_path, "bob") as bob,
    ):
        room_id = await alice.create_room([bob.user_id], name="pair")
        await alice.wait_for_member(room_id, bob.user_id)

        hello = "hello bob, the cabbage is blue"
        await alice.send_text(room_id, hello)
        got = await bob.wait_for_message(room_id, lambda e: e.body == hello)
        assert got.sender == alice.user_id
        assert got.decrypted

        reply = "hi alice, the turnip is green"
        await bob.send_text(room_id, reply, msgtype="m.notice")
        got_reply = await alice.wait_for_message(room_id)
        assert got_reply.body == reply
        assert got_reply.decrypted

        assert not alice.undecrypted and not bob.undecrypted
        assert database_contains(synapse, "m.megolm.v1.aes-sha2")
        assert not database_contains(synapse, "cabbage")
        assert not database_contains(synapse, "turnip")


async def test_direct_chat_is_encrypted_and_marked_direct(synapse: Homeserver, tmp_path: Path) -> None:
    async with (
        await login(synapse, tmp_path, "carol") as carol,
        await login(synapse, tmp_path, "dave") as dave,
    ):
        room_id = await carol.create_dm(dave.user_id)
        await carol.wait_for_member(room_id, dave.user_id)
        assert carol.client.rooms[room_id].encrypted
        direct = await carol.client.list_direct_rooms()
        assert isinstance(direct, nio.DirectRoomsResponse)
        assert direct.rooms == {dave.user_id: [room_id]}

        await carol.send_text(room_id, "a direct word")
        got = await dave.wait_for_message(room_id)
        assert got.body == "a direct word"
