"""The Matrix carrier under the shared pump, against a fake homeserver client: order, holds,
failures, replays, mentions."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import nio
import pytest

from bots.adapter.bindings import Bindings
from bots.adapter.pump import MAX_FAILURES, Pump
from bots.matrix.carrier import MatrixCarrier
from bots.matrix.config import MatrixConfig
from bots.matrix.render import to_html
from core.clock import FakeClock
from core.effects import Attachment, CreateRoom, Effect, Notify, Post, Reply, to_json
from core.ids import MemberId, RoomId, TrioId
from core.service import Twinome
from core.storage.db import Database

BOT = "@bot:x"


class Answer:
    """A raw HTTP answer for ``client.send`` (account data)."""

    def __init__(self, status: int, body: Any) -> None:
        self.status = status
        self.body = body

    async def __aenter__(self) -> Answer:
        return self

    async def __aexit__(self, *exc: object) -> None:
        return None

    async def json(self, content_type: str | None = None) -> Any:
        return self.body


@dataclass
class FakeClient:
    """Records what the bot asked the homeserver, and can refuse on demand."""

    user_id: str = BOT
    access_token: str = "token"
    should_query_keys: bool = False
    rooms: dict[str, nio.MatrixRoom] = field(default_factory=dict)
    sent: list[tuple[str, dict[str, Any], str | None]] = field(default_factory=list)
    created: list[dict[str, Any]] = field(default_factory=list)
    uploads: list[tuple[bytes, str, str, bool]] = field(default_factory=list)
    account_data: dict[str, Any] = field(default_factory=dict)
    refuse: dict[str, int] = field(default_factory=dict)
    device_store: Any = field(default_factory=lambda: SimpleNamespace(
        active_user_devices=lambda user: []))

    def _refused(self, what: str, error: type) -> Any:
        if self.refuse.get(what, 0) > 0:
            self.refuse[what] -= 1
            return error("no", "M_FORBIDDEN")
        return None

    async def room_create(self, **options: Any) -> Any:
        refused = self._refused("create", nio.RoomCreateError)
        if refused:
            return refused
        self.created.append(options)
        return nio.RoomCreateResponse(f"!room{len(self.created)}:x")

    async def room_send(self, room_id: str, kind: str, content: dict[str, Any],
                        tx_id: str | None = None, ignore_unverified_devices: bool = False) -> Any:
        refused = self._refused("send", nio.RoomSendError)
        if refused:
            return refused
        self.sent.append((room_id, content, tx_id))
        return nio.RoomSendResponse(f"$sent{len(self.sent)}", room_id)

    async def send(self, method: str, path: str, data: str | None = None,
                   headers: dict[str, str] | None = None) -> Answer:
        if method == "PUT":
            self.account_data = json.loads(data or "{}")
            return Answer(200, {})
        return Answer(200, self.account_data)

    async def upload(self, data: Any, content_type: str, filename: str, encrypt: bool = False,
                     filesize: int | None = None) -> Any:
        self.uploads.append((data.read(), content_type, filename, encrypt))
        secret = {"key": {"k": "secret"}, "iv": "iv", "hashes": {"sha256": "h"}, "v": "v2"}
        return nio.UploadResponse(f"mxc://x/file{len(self.uploads)}"), (secret if encrypt else None)

    def verify_device(self, device: Any) -> None:
        return None

    def synced(self, room_id: str, joined: list[str], invited: list[str] = ()) -> Any:
        """Pretend a sync showed the room with these members; returns the sync response."""
        room = self.rooms.setdefault(room_id, nio.MatrixRoom(room_id, BOT, encrypted=True))
        for user in [BOT, *joined]:
            if user in room.invited_users:
                room.remove_member(user)
            room.add_member(user, None, None)
        for user in invited:
            room.add_member(user, None, None, invited=True)
        events = [nio.RoomMemberEvent({"event_id": "$m", "sender": u, "origin_server_ts": 0},
                                      u, u, "join", None, {}) for u in joined]
        info = SimpleNamespace(state=[], timeline=SimpleNamespace(events=events))
        return SimpleNamespace(rooms=SimpleNamespace(join={room_id: info}))


@dataclass
class Rig:
    core: Twinome
    client: FakeClient
    carrier: MatrixCarrier
    bindings: Bindings
    pump: Pump
    now_ms: list[int] = field(default_factory=lambda: [1_000_000])

    async def queue(self, *effects: Effect) -> None:
        async with self.core.db.transaction() as tx:
            await tx.many("INSERT INTO outbox (platform, effect, created_at) VALUES (?, ?, 0)",
                          [("matrix", to_json(e)) for e in effects])

    async def pending(self) -> list[str]:
        return [d.effect.kind for d in await self.core.pending("matrix")]

    async def deliver(self) -> None:
        """One pass of the pump, then time moves past any retry delay."""
        await self.pump.run_once()
        self.now_ms[0] += 600_000

    def fresh_pump(self) -> Pump:
        """The pump of a restarted bot: nothing in memory, the same database."""
        bindings = Bindings(self.core, "matrix")
        carrier = MatrixCarrier(self.client, bindings, self.carrier.config)  # type: ignore[arg-type]
        return Pump(self.core, carrier, bindings, wall_ms=lambda: self.now_ms[0])


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with await Database.open(tmp_path / "t.db") as db:
        core = Twinome(db, FakeClock())
        client = FakeClient()
        config = MatrixConfig(database=tmp_path / "t.db", homeserver="http://hs", user_id=BOT,
                              store_dir=tmp_path, password="pw")
        bindings = Bindings(core, "matrix")
        carrier = MatrixCarrier(client, bindings, config)  # type: ignore[arg-type]
        now = [1_000_000]
        pump = Pump(core, carrier, bindings, wall_ms=lambda: now[0])
        yield Rig(core, client, carrier, bindings, pump, now)


def texts(client: FakeClient) -> list[str]:
    return [content["body"] for _, content, _ in client.sent]


async def test_a_first_private_notice_opens_a_direct_chat_and_waits_for_it(rig: Rig) -> None:
    await rig.queue(Notify(MemberId("@alice:x"), "hello"), Notify(MemberId("@alice:x"), "again"))
    await rig.deliver()
    (created,) = rig.client.created
    assert created["is_direct"] and created["invite"] == ["@alice:x"]
    assert rig.client.account_data == {"@alice:x": ["!room1:x"]}
    assert rig.client.sent == [] and await rig.pending() == ["notify", "notify"]
    rig.carrier.observe(rig.client.synced("!room1:x", [], invited=["@alice:x"]))
    await rig.deliver()
    assert texts(rig.client) == ["hello", "again"] and await rig.pending() == []
    assert len(rig.client.created) == 1  # the same chat is used again


async def test_notices_to_a_new_room_wait_until_its_members_joined_and_keep_order(
        rig: Rig) -> None:
    members = (MemberId("@alice:x"), MemberId("@bob:x"))
    await rig.queue(CreateRoom(RoomId(1), TrioId(1), "pair", members, "A + B", "topic"),
                    Post(RoomId(1), "first"), Post(RoomId(1), "second"))
    await rig.deliver()
    assert rig.client.created[0]["invite"] == list(members) and rig.client.sent == []
    rig.carrier.observe(rig.client.synced("!room1:x", [], invited=list(members)))
    await rig.deliver()
    assert rig.client.sent == [] and await rig.pending() == ["post", "post"]
    rig.carrier.observe(rig.client.synced("!room1:x", list(members)))
    await rig.deliver()
    assert texts(rig.client) == ["first", "second"]


async def test_a_failed_creation_keeps_the_rooms_notices_and_is_dropped_after_retries(
        rig: Rig) -> None:
    await rig.queue(CreateRoom(RoomId(1), TrioId(1), "trio", (MemberId("@a:x"),), "T", "t"),
                    Post(RoomId(1), "welcome"))
    rig.client.refuse["create"] = 1
    await rig.deliver()
    assert await rig.pending() == ["create_room", "post"]  # the post was not dropped
    await rig.deliver()
    assert await rig.pending() == ["post"]
    rig.client.refuse["send"] = MAX_FAILURES
    rig.carrier.observe(rig.client.synced("!room1:x", ["@a:x"]))
    for _ in range(MAX_FAILURES):
        await rig.deliver()
    assert await rig.pending() == [] and rig.client.sent == []  # given up, with a warning


async def test_every_notice_pings_nobody_whatever_its_text_says(rig: Rig) -> None:
    await rig.bindings.bind("room:4", "!line:x")
    rig.client.synced("!line:x", ["@alice:x", "@bob:x"])
    await rig.queue(Post(RoomId(4), "Welcome to “@room” @everyone"),
                    Reply(MemberId("@alice:x"), RoomId(4), "$c", "@room again"))
    await rig.deliver()
    assert [content["m.mentions"] for _, content, _ in rig.client.sent] == [{}, {}]


async def test_replies_relate_to_the_command_and_private_ones_go_to_the_direct_chat(
        rig: Rig) -> None:
    await rig.bindings.bind("room:4", "!line:x")
    await rig.bindings.bind("dm:@alice:x", "!dm:x")
    rig.client.synced("!line:x", ["@alice:x", "@bob:x"])
    rig.client.synced("!dm:x", ["@alice:x"])
    alice = MemberId("@alice:x")
    await rig.queue(Reply(alice, RoomId(4), "$cmd1", "in the line", origin="!line:x"),
                    Reply(alice, RoomId(4), "$cmd2", "just for you", private=True,
                          origin="!line:x"),
                    Reply(alice, None, "$cmd3", "in the chat", origin="!dm:x"))
    await rig.deliver()
    sent = [(room, content.get("m.relates_to")) for room, content, _ in rig.client.sent]
    assert sent == [("!line:x", {"m.in_reply_to": {"event_id": "$cmd1"}}),
                    ("!dm:x", None),
                    ("!dm:x", {"m.in_reply_to": {"event_id": "$cmd3"}})]
    first = rig.client.sent[0][1]
    assert first["msgtype"] == "m.notice" and first["formatted_body"] == "in the line"


async def test_an_effect_replayed_after_a_kill_reuses_its_transaction_id(
        rig: Rig, tmp_path: Path) -> None:
    await rig.bindings.bind("room:4", "!line:x")
    rig.client.synced("!line:x", ["@alice:x"])
    await rig.queue(Post(RoomId(4), "only once"))
    done = rig.core.done

    async def killed(*args: Any) -> None:  # the process dies right after the send
        raise SystemExit

    rig.core.done = killed  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        await rig.deliver()
    rig.core.done = done  # type: ignore[method-assign]
    await rig.fresh_pump().run_once()
    first, second = rig.client.sent
    assert first[2] == second[2] and first[2] is not None  # the homeserver dedupes it
    assert await rig.pending() == []


def long_text() -> str:
    """About 100 KB of lines like a privacy export, with characters HTML and JSON escape."""
    lines = [f'  "note {i}": "caf\u00e9 & <tea> \U0001F375 https://example.org/{i}",'
             for i in range(1700)]
    return "{\n" + "\n".join(lines) + "\n}"


def rejoined(bodies: list[str], original: str) -> bool:
    """True when the bodies, in order, are the original cut only where a line break was."""
    at = 0
    for body in bodies:
        if not original.startswith(body, at):
            return False
        at += len(body)
        if at < len(original):
            if original[at] != "\n":
                return False
            at += 1
    return at == len(original)


async def test_a_long_reply_becomes_several_small_notices_in_order(rig: Rig) -> None:
    await rig.bindings.bind("dm:@alice:x", "!dm:x")
    rig.client.synced("!dm:x", ["@alice:x"])
    text = long_text()
    assert len(text.encode()) > 100_000
    await rig.queue(Reply(MemberId("@alice:x"), None, "$export", text, origin="!dm:x"),
                    Notify(MemberId("@alice:x"), "short"))
    await rig.deliver()
    *parts, short = rig.client.sent
    assert len(parts) >= 4 and short[1]["body"] == "short"
    for _, content, _ in parts:
        assert len(content["body"].encode()) <= 16_000
        assert len(json.dumps(content).encode()) < 65_536 // 2  # room for encryption
        assert content["formatted_body"] == to_html(content["body"])  # HTML made per part
    assert rejoined([content["body"] for _, content, _ in parts], text)
    relations = [content.get("m.relates_to") for _, content, _ in parts]
    assert relations == [{"m.in_reply_to": {"event_id": "$export"}}] + [None] * (len(parts) - 1)
    assert len({txn for _, _, txn in parts}) == len(parts)  # each part its own transaction


async def test_a_long_notice_resent_after_a_kill_reuses_every_parts_transaction_id(
        rig: Rig) -> None:
    await rig.bindings.bind("room:4", "!line:x")
    rig.client.synced("!line:x", ["@alice:x"])
    await rig.queue(Post(RoomId(4), long_text()))
    send = rig.client.room_send

    async def dies_on_the_third(*args: Any, **kwargs: Any) -> Any:
        if len(rig.client.sent) == 2:
            raise SystemExit  # killed between two parts
        return await send(*args, **kwargs)

    rig.client.room_send = dies_on_the_third  # type: ignore[method-assign]
    with pytest.raises(SystemExit):
        await rig.deliver()
    rig.client.room_send = send  # type: ignore[method-assign]
    await rig.fresh_pump().run_once()
    txns = [txn for _, _, txn in rig.client.sent]
    first, resent = txns[:2], txns[2:]
    assert resent[:2] == first and None not in txns  # the homeserver dedupes those two
    once = {txn: content["body"] for _, content, txn in rig.client.sent}  # as the server keeps
    assert len(once) == len(resent) and rejoined(list(once.values()), long_text())
    assert await rig.pending() == []


async def test_an_export_is_an_encrypted_file_in_the_direct_chat(rig: Rig) -> None:
    await rig.bindings.bind("dm:@alice:x", "!dm:x")
    rig.client.synced("!dm:x", ["@alice:x"])
    export = Attachment("twinome-export.json", '{"profile": {"name": "Alice"}}')
    await rig.queue(Reply(MemberId("@alice:x"), None, "$cmd", "Here is your data.", private=True,
                          attachment=export))
    await rig.deliver()
    assert rig.client.uploads == [(export.content.encode(), "application/json",
                                   "twinome-export.json", True)]
    (_, text, _), (_, file, txn) = rig.client.sent
    assert text["body"] == "Here is your data." and "profile" not in text["body"]
    assert file["msgtype"] == "m.file" and file["body"] == "twinome-export.json"
    assert file["file"]["url"] == "mxc://x/file1" and file["file"]["key"] == {"k": "secret"}
    assert "url" not in file and txn.endswith("-file")
