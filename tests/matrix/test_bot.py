"""The Matrix bot against a real Synapse, with real encrypted member clients."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nio

from bots.matrix.homeserver import Homeserver
from bots.matrix.rooms import COMMANDS_EVENT, MEGOLM
from core.clock import FakeClock
from tests.matrix.botkit import (
    Member,
    bot_config,
    is_notice,
    new_user,
    register_bot,
    running_bot,
    send_undecryptable,
)
from tests.matrix.trio import Trio as FormedTrio
from tests.matrix.trio import (
    code_in,
    form_by_code,
    joined,
    members,
    read,
    rooms_of,
    settled,
    state,
)


def synapse_holds(synapse: Homeserver, needle: str) -> bool:
    """Whether any row of Synapse's events tables contains ``needle``."""
    with sqlite3.connect(synapse.database_path) as db:
        rows = db.execute("SELECT json FROM event_json").fetchall()
        rows += db.execute("SELECT * FROM events").fetchall()
    return any(needle in str(row) for row in rows)


async def start(synapse: Homeserver, tmp_path: Path):  # type: ignore[no-untyped-def]
    local, password = register_bot(synapse)
    return running_bot(bot_config(synapse, tmp_path / "bot", local, password))


async def test_trio_by_code_gives_encrypted_rooms_members_cannot_change(
        synapse: Homeserver, tmp_path: Path) -> None:
    async with await start(synapse, tmp_path) as bot:
        trio = await form_by_code(synapse, tmp_path, bot)
        try:
            alice, bob, carol = trio.members
            everyone = {alice.id, bob.id, carol.id, bot.user_id}
            assert await joined(alice, trio.room) == everyone
            encryption = await state(alice, trio.room, "m.room.encryption")
            assert encryption["algorithm"] == MEGOLM
            history = await state(alice, trio.room, "m.room.history_visibility")
            assert history["history_visibility"] == "joined"
            assert (await state(alice, trio.room, "m.room.name"))["name"] == "Les Trois"
            assert "Les Trois" in (await state(alice, trio.room, "m.room.topic"))["topic"]
            levels = await state(alice, trio.room, "m.room.power_levels")
            assert all(levels.get("users", {}).get(m.id, 0) == 0 for m in trio.members)
            assert levels["users_default"] == 0 and levels["invite"] >= 50
            assert levels["kick"] >= 50 and levels["events"]["m.room.power_levels"] >= 50
            commands = await state(alice, trio.room, COMMANDS_EVENT, bot.user_id)
            syntaxes = {c["syntax"] for c in commands["commands"]}
            assert "trio join {code}" in syntaxes and commands["sigil"] == "!"

            refused = await bob.user.client.room_invite(trio.room, "@someone:localhost")
            assert isinstance(refused, nio.RoomInviteError)
            raised = await bob.user.client.room_put_state(
                trio.room, "m.room.power_levels", {**levels, "users": {bob.id: 100}})
            assert isinstance(raised, nio.RoomPutStateError)

            assert len(trio.pairs) == 3
            for pair, room_id in trio.pairs.items():
                assert await joined(alice if alice.id in pair else bob, room_id) == {
                    *pair, bot.user_id}
                assert (await state(alice if alice.id in pair else bob, room_id,
                                    "m.room.encryption"))["algorithm"] == MEGOLM

            line = trio.line(alice, bob)
            welcome = await bob.notice(lambda e: "private line" in e.body, room_id=line)
            assert carol.id not in welcome.body and welcome.decrypted
            secret = "the cabbage is blue at midnight"
            await alice.send(line, secret)
            got = await bob.user.wait_for_message(line, lambda e: e.body == secret)
            assert got.decrypted and got.sender == alice.id
            assert not synapse_holds(synapse, "cabbage")
            assert not any(line == r for r, _ in carol.user.messages)
        finally:
            await trio.close()


async def test_direct_invite_is_asked_in_the_invitees_direct_chat(
        synapse: Homeserver, tmp_path: Path) -> None:
    async with await start(synapse, tmp_path) as bot:
        alice, bob = await members(synapse, tmp_path, bot, ("alice", "bob"))
        carol = Member(await new_user(synapse, tmp_path, "carol"), bot.user_id)  # no chat yet
        try:
            started = await alice.ask("trio new Trois Pommes")
            await bob.ask(f"trio join {code_in(started.body)}")
            local = carol.id.split(":")[0]  # "@carol…": the bot adds its own server
            asked = await alice.ask(f"trio invite {local}")
            assert "asked" in asked.body, asked.body
            invitation = await carol.notice(lambda e: "invites you" in e.body)
            carol.dm = next(r for r, e in carol.user.messages if e.event_id == invitation.event_id)
            opened = carol.user.client.rooms[carol.dm]
            assert opened.encrypted and opened.member_count == 2
            direct = await bot.bot.client.list_direct_rooms()
            assert direct.rooms[carol.id] == [carol.dm]  # the bot's m.direct names the chat
            assert "trio accept" in invitation.body
            accepted = await carol.ask("trio accept")
            assert "complete" in accepted.body, accepted.body
            trio = await settled(FormedTrio(alice, bob, carol, *await rooms_of(bot.config.database)))
            assert await joined(carol, trio.room) == {alice.id, bob.id, carol.id, bot.user_id}
            welcome = await carol.notice(lambda e: "is complete" in e.body, room_id=trio.room)
            assert welcome.decrypted
        finally:
            for m in (alice, bob, carol):
                await m.user.close()


async def test_relance_turn_and_an_sos_only_the_allies_see(
        synapse: Homeserver, tmp_path: Path) -> None:
    async with await start(synapse, tmp_path) as bot:
        trio = await form_by_code(synapse, tmp_path, bot)
        try:
            alice, bob, carol = trio.members
            line = trio.line(alice, bob)
            await alice.send(line, "first turnip of the day")
            await alice.send(line, "second turnip, before Bob answered")
            relance = await alice.notice(lambda e: "not answered yet" in e.body, room_id=alice.dm)
            assert bob.id[1:].split(":")[0] in relance.body  # Synapse's display name: localpart

            await bob.send(line, "a parsnip in reply")
            await alice.send(line, "!turn")  # private: the answer goes to the direct chat
            turn = await alice.notice(lambda e: "Turns in" in e.body, room_id=alice.dm)
            assert "you owe" in turn.body, turn.body

            await carol.send(trio.room, "!sos rough week of rutabagas")
            told = await carol.notice(lambda e: "alerted" in e.body, room_id=carol.dm)
            assert "support plan" in told.body
            allies = trio.line(alice, bob)
            for ally in (alice, bob):
                alert = await ally.notice(lambda e: "going through a hard time" in e.body, room_id=allies)
                assert "rutabagas" in alert.body and alert.decrypted
            await asyncio.sleep(1)
            assert not any("going through a hard time" in e.body for e in carol.notices())
            assert not any("going through a hard time" in e.body for e in alice.notices(trio.room))
            for word in ("turnip", "parsnip", "rutabagas"):
                assert not synapse_holds(synapse, word), word
        finally:
            await trio.close()


async def test_bad_input_gets_a_notice_with_the_error(synapse: Homeserver, tmp_path: Path) -> None:
    async with await start(synapse, tmp_path) as bot:
        (alice,) = await members(synapse, tmp_path, bot, ("alice",))
        try:
            typo = await alice.ask("trio jion ABCD")
            assert "Did you mean" in typo.body and is_notice(typo)
            wrong = await alice.ask("!trio join NOPE-NOPE-NOPE-NOPE")
            assert "does not work" in wrong.body
            empty = await alice.ask("trio")
            assert "needs one more word" in empty.body
            html = wrong.source["content"].get("formatted_body", "")
            assert "does not work" in html
        finally:
            await alice.user.close()


async def test_a_trio_named_room_pings_nobody(synapse: Homeserver, tmp_path: Path) -> None:
    async with await start(synapse, tmp_path) as bot:
        (alice,) = await members(synapse, tmp_path, bot, ("alice",))
        try:
            made = await alice.ask("trio new @room")
            assert made.decrypted and "room" in made.body
            assert made.source["content"]["m.mentions"] == {}, "clients notify nobody"
            assert "@room" not in made.body, "and the legacy body rule finds no @room either"
        finally:
            await alice.user.close()


async def test_the_running_bots_device_is_cross_signed(synapse: Homeserver, tmp_path: Path) -> None:
    async with await start(synapse, tmp_path) as bot:
        (alice,) = await members(synapse, tmp_path, bot, ("alice",))
        try:
            path = "/_matrix/client/v3/keys/query"
            headers = {"Authorization": f"Bearer {alice.user.client.access_token}"}
            body = json.dumps({"device_keys": {bot.user_id: []}})
            async with await alice.user.client.send("POST", path, body, headers) as response:
                answer = await response.json()
            ssk = answer["self_signing_keys"][bot.user_id]["keys"]
            ((ssk_id, _),) = ssk.items()
            device = answer["device_keys"][bot.user_id][bot.bot.client.device_id]
            assert ssk_id in device["signatures"][bot.user_id]
        finally:
            await alice.user.close()


async def test_history_from_before_a_first_start_is_not_replayed(
        synapse: Homeserver, tmp_path: Path) -> None:
    local, password = register_bot(synapse)
    config = bot_config(synapse, tmp_path / "bot", local, password)
    async with running_bot(config) as bot:
        (alice,) = await members(synapse, tmp_path, bot, ("alice",))
    try:
        old = await alice.send(alice.dm, "!trio list")  # sent while no bot runs
        again = bot_config(synapse, tmp_path / "fresh", local, password)
        async with running_bot(again) as bot:  # a first start: nothing saved anywhere
            device = bot.bot.client.device_id
            await alice.user.wait_until(lambda: device in {
                d.id for d in alice.user.client.device_store.active_user_devices(bot.user_id)},
                within=20)  # the new device's keys reached alice: her next message is for it
            now = await alice.send(alice.dm, "!help")
            await alice.reply_to(now)
            await asyncio.sleep(1)
            assert not [e for e in alice.notices() if _replies(e, old)]
    finally:
        await alice.user.close()


def _replies(event: nio.Event, event_id: str) -> bool:
    relates = event.source.get("content", {}).get("m.relates_to", {})
    return bool(relates.get("m.in_reply_to", {}).get("event_id") == event_id)


async def test_a_leaver_is_removed_and_their_lines_are_closed(
        synapse: Homeserver, tmp_path: Path) -> None:
    async with await start(synapse, tmp_path) as bot:
        trio = await form_by_code(synapse, tmp_path, bot)
        try:
            alice, bob, carol = trio.members
            left = await carol.ask("trio leave confirm")
            assert "You left" in left.body, left.body
            for mate in (alice, bob):
                line = trio.line(mate, carol)
                closing = await mate.notice(lambda e: "left the trio" in e.body, room_id=line)
                assert closing.decrypted
                rooms = mate.user.client.rooms
                await mate.user.wait_until(
                    lambda r=line, seen=rooms: bot.user_id not in seen[r].users, within=20)
                assert bot.user_id not in await joined(mate, line)
            await alice.user.wait_until(
                lambda: carol.id not in alice.user.client.rooms[trio.room].users, within=20)
            assert await joined(alice, trio.room) == {alice.id, bob.id, bot.user_id}
            still = await alice.send(trio.line(alice, bob), "still here, just us two")
            assert (await bob.user.wait_for_message(trio.line(alice, bob),
                                                    lambda e: e.event_id == still)).decrypted

            (dave,) = await members(synapse, tmp_path, bot, ("dave",))
            try:  # a new third: invited into the existing trio room, new lines for them
                code = code_in((await alice.ask("trio invite")).body)
                assert "complete" in (await dave.ask(f"trio join {code}")).body
                await dave.user.wait_for_member(trio.room, dave.id, within=20)
                welcome = await dave.notice(lambda e: "is complete" in e.body,
                                            room_id=trio.room)
                assert welcome.decrypted  # sent once Dave had joined: he can read it
                assert await joined(alice, trio.room) == {alice.id, bob.id, dave.id,
                                                          bot.user_id}
                _, pairs = await rooms_of(bot.config.database)
                assert frozenset((alice.id, dave.id)) in pairs
            finally:
                await dave.user.close()
        finally:
            await trio.close()


async def test_due_jobs_fire_from_the_runtimes_scheduler(synapse: Homeserver, tmp_path: Path) -> None:
    local, password = register_bot(synapse)
    clock = FakeClock(datetime.now(UTC))
    async with running_bot(bot_config(synapse, tmp_path / "bot", local, password),
                           clock=clock) as bot:
        (alice,) = await members(synapse, tmp_path, bot, ("alice",))
        try:
            away = await alice.ask("away for 2h visiting my parents")
            assert "away" in away.body.lower(), away.body
            clock.advance(timedelta(hours=3))
            bot.bot.runtime.wake()  # a fake clock jumped; a real one is caught by the sleep
            over = await alice.notice(lambda e: "away time is over" in e.body,
                                      room_id=alice.dm, within=20)
            assert over.decrypted
        finally:
            await alice.user.close()


async def test_undecryptable_events_still_count_and_a_dm_is_asked_again(
        synapse: Homeserver, tmp_path: Path) -> None:
    local, password = register_bot(synapse)
    async with running_bot(bot_config(synapse, tmp_path / "bot", local, password),
                           decrypt_grace=1.0) as bot:
        trio = await form_by_code(synapse, tmp_path, bot)
        try:
            alice, bob, _ = trio.members
            line = trio.line(alice, bob)

            def written() -> int:
                rows = read(bot.config.database, "SELECT s.messages FROM line_state s JOIN "
                            "platform_refs p ON p.key = 'room:' || s.room_id "
                            "WHERE p.ref = ? AND s.member_id = ?", (line, bob.id))
                return int(rows[0][0]) if rows else 0

            before = written()
            await send_undecryptable(bob.user, line)
            for _ in range(100):
                if written() == before + 1:
                    break
                await asyncio.sleep(0.1)
            assert written() == before + 1  # who wrote and when need no key

            unreadable = await send_undecryptable(alice.user, alice.dm)
            asked = await alice.reply_to(unreadable)
            assert "could not decrypt" in asked.body
        finally:
            await trio.close()


async def test_an_access_token_from_the_environment_keeps_its_device(
        synapse: Homeserver, tmp_path: Path) -> None:
    local, password = register_bot(synapse)
    login = nio.AsyncClient(synapse.url, synapse.user_id(local))
    logged = await login.login(password, device_name="made by hand")
    assert isinstance(logged, nio.LoginResponse)
    await login.close()
    config = bot_config(synapse, tmp_path / "bot", local, password, access_token=logged.access_token)
    config = dataclasses.replace(config, password=None)
    async with running_bot(config) as bot:
        assert bot.bot.client.device_id == logged.device_id
        (alice,) = await members(synapse, tmp_path, bot, ("alice",))
        try:
            assert "Twinome" in (await alice.ask("help")).body
        finally:
            await alice.user.close()


async def test_private_answers_never_go_to_a_direct_chat_others_are_in(
        synapse: Homeserver, tmp_path: Path) -> None:
    async with await start(synapse, tmp_path) as bot:
        (alice, bob) = await members(synapse, tmp_path, bot, ("alice", "bob"))
        try:
            created = await alice.user.client.room_create(
                is_direct=True, invite=[bot.user_id, bob.id],
                preset=nio.RoomPreset.trusted_private_chat,
                initial_state=[{"type": "m.room.encryption", "state_key": "",
                                "content": {"algorithm": MEGOLM}}])
            shared = created.room_id
            await alice.user.wait_for_member(shared, bot.user_id, within=20)
            await alice.user.wait_for_member(shared, bob.id, within=20)
            await alice.send(shared, "skills")  # a private command, typed where Bob reads
            answer = await alice.notice(lambda e: "skills" in e.body.lower())
            where = next(r for r, e in alice.user.messages if e.event_id == answer.event_id)
            assert where != shared and alice.user.client.rooms[where].member_count == 2
            await asyncio.sleep(1)
            assert not bob.notices(shared)
        finally:
            await alice.user.close()
            await bob.user.close()


async def test_three_seekers_accept_a_proposal_and_get_their_encrypted_rooms(
        synapse: Homeserver, tmp_path: Path) -> None:
    async with await start(synapse, tmp_path) as bot:
        ana, bo, cy = await members(synapse, tmp_path, bot, ("ana", "bo", "cy"))
        try:
            for member, offer, want in ((ana, "spanish", "drawing"), (bo, "python", "spanish"),
                                        (cy, "drawing", "python")):
                await member.ask(f"offer {offer}")
                await member.ask(f"want {want}")
                looking = await member.ask("seek")
                assert "looking for companions" in looking.body, looking.body
            for member in (ana, bo, cy):
                offer = await member.notice(lambda e: "I found two companions" in e.body,
                                            room_id=member.dm)
                assert "can mentor" in offer.body and "!match accept" in offer.body
                assert offer.decrypted
            await ana.ask("match accept")
            await bo.ask("match accept")
            formed = await cy.ask("match accept")
            assert "is formed" in formed.body, formed.body
            trio = await settled(FormedTrio(ana, bo, cy, *await rooms_of(bot.config.database)))
            assert await joined(ana, trio.room) == {ana.id, bo.id, cy.id, bot.user_id}
            assert (await state(ana, trio.room, "m.room.encryption"))["algorithm"] == MEGOLM
            assert len(trio.pairs) == 3
        finally:
            for member in (ana, bo, cy):
                await member.user.close()
