"""The Twinome Discord adapter end to end: the real discord.py client, the fake Discord,
the real core on a real SQLite file."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path
from typing import Any

import discord
from discord import app_commands

from bots.discord import commands
from bots.discord.commands import OPTION_TYPES
from core.effects import Choice, Post, to_json
from core.grammar import COMMANDS, Kind
from tests.discord.conftest import Bots
from tests.discord.fakediscord import FakeDiscord
from tests.discord.fakediscord.interactions import buttons_of
from tests.discord.fakediscord.state import User
from tests.discord.twinome import World, make_world

MESSAGE_CONTENT = 1 << 15


async def test_forming_a_trio_by_code_makes_private_channel_and_pair_threads(world: World) -> None:
    server = world.server
    channel = await world.form_trio()
    alice, bob, carol, dave = world.alice, world.bob, world.carol, world.dave
    assert [server.can_see(u, channel) for u in (alice, bob, carol, dave)] == [
        True, True, True, False]
    overwrites = server.overwrites(channel)
    assert overwrites[world.guild.id].deny & (1 << 10)
    for user in (alice, bob, carol, server.bot):
        assert overwrites[user.id].allow & (1 << 10)
    threads = server.threads_of(channel)
    assert len(threads) == 3
    for thread in threads:
        assert thread.type == 12 and thread.invitable is False
        assert len([m for m in server.thread_members(thread) if m != server.bot.id]) == 2
    ab = world.pair(alice, bob)
    assert [server.can_see(u, ab) for u in (alice, bob, carol, dave)] == [
        True, True, False, False]
    assert not server.identified_intents[0] & MESSAGE_CONTENT


def dm_texts(world: World, who: User) -> list[str]:
    return [m.content for m in world.server.messages_in(world.server.dm_channel_of(who))]


def relances(world: World, who: User) -> list[str]:
    return [t for t in dm_texts(world, who) if "has not answered yet" in t]


async def test_turns_relance_reminder_and_turn_command(world: World) -> None:
    server = world.server
    channel = await world.form_trio()
    ab = world.pair(world.alice, world.bob)
    await server.user_message(world.alice, ab, "first")
    await server.user_message(world.alice, ab, "second")
    await server.wait_until(lambda: len(relances(world, world.alice)) == 1)
    assert "bob" in relances(world, world.alice)[0]
    turn = await world.slash(world.alice, "turn", channel=channel)
    assert turn.ephemeral and "bob" in turn.content
    assert server.messages_in(channel) == [m for m in server.messages_in(channel)
                                           if m.author_id == server.bot.id]
    before = len(dm_texts(world, world.bob))
    world.clock.advance(timedelta(hours=73))
    world.bot.runtime.wake()
    await server.wait_until(lambda: len(dm_texts(world, world.bob)) == before + 1)
    assert "alice" in dm_texts(world, world.bob)[-1]
    await server.user_message(world.alice, ab, "third")
    await asyncio.sleep(0.1)
    assert len(relances(world, world.alice)) == 1  # one relance per streak


async def test_sos_by_modal_reaches_only_the_two_allies(world: World) -> None:
    server = world.server
    channel = await world.form_trio()
    opened = await world.slash(world.alice, "sos", channel=channel)
    assert opened.callback_type == 9 and opened.modal is not None
    done = await server.submit_modal(world.alice, opened.modal["custom_id"],
                                     {"twinome:sos-note": "rough week"})
    assert done.ephemeral and "alerted" in done.content
    allies = world.pair(world.bob, world.carol)
    await server.wait_until(lambda: any("rough week" in m.content
                                        for m in server.messages_in(allies)))
    assert not server.can_see(world.alice, allies)
    assert all("rough week" not in m.content for m in server.messages_in(channel))


async def test_bad_slash_input_gets_an_ephemeral_error(world: World) -> None:
    for name, options in [("timezone", {"zone": "Mars/Olympus"}),
                          ("vote", {"id": 7, "vote": "yes"}),
                          ("trio join", {"code": "NOPE"}),
                          ("mentor ask", {"user": world.dave, "skill": "bread"})]:
        result = await world.slash(world.alice, name, options)
        assert result.callback_type == 4 and result.ephemeral, name
        assert result.content, name
    general = world.server.channels_in(world.guild)[0]
    assert world.server.messages_in(general) == []


async def test_a_trio_named_everyone_pings_nobody(world: World) -> None:
    server = world.server
    await world.form_trio("@everyone")
    await world.settle()
    sent = [m for m in server.store.messages.values() if m.author_id == server.bot.id
            and m.content]
    assert any("everyone" in m.content for m in sent)
    posted = [r for r in server.requests if r.route in (
        "POST /channels/{channel_id}/messages", "POST /webhooks/{application_id}/{token}")
        or r.route.endswith("/callback")]
    assert posted
    for request in posted:
        data = request.body.get("data", request.body) if isinstance(request.body, dict) else {}
        if "content" in data:
            assert data.get("allowed_mentions") == {"parse": []}, data


async def test_gateway_drop_and_resume_lose_nothing_and_double_nothing(world: World) -> None:
    server = world.server
    await world.form_trio()
    ab = world.pair(world.alice, world.bob)
    server.hold_gateway()
    assert await server.drop_connection() == 1
    await server.user_message(world.alice, ab, "while away")
    server.release_gateway()
    await server.wait_until(lambda: server.gateway.resumes == 1)
    assert any("MESSAGE_CREATE" in replayed for replayed in server.gateway.replayed)
    await server.user_message(world.alice, ab, "again")
    await server.wait_until(lambda: len(relances(world, world.alice)) == 1)
    turn = await world.slash(world.bob, "turn")
    assert "alice" in turn.content
    await asyncio.sleep(0.1)
    assert len(relances(world, world.alice)) == 1
    async with world.db.read() as tx:
        seen = await tx.value("SELECT count(*) FROM processed_events WHERE event_id LIKE ?",
                              ("discord:%",))
    # every command and message once; /turn only reads: answered from a read, unrecorded
    assert seen == len({r.id for r in server.interactions.records.values()
                        if r.type in (2, 5)}) - 1 + 2
    assert len(server.identified_intents) == 1


async def test_a_button_pressed_after_a_restart_gives_its_command(world: World) -> None:
    server = world.server
    channel = await world.form_trio()
    proposed = await world.slash(world.alice, "propose", {"text": "a reading club"},
                                 channel=channel)
    assert not proposed.ephemeral or proposed.content
    room = await world.bot.bindings.core_room(str(channel.id))
    assert room is not None
    choices = (Choice("p1y", "Yes", "vote 1 yes", "success"),
               Choice("p1n", "No", "vote 1 no", "danger"))
    async with world.db.transaction() as tx:
        await tx.run("INSERT INTO outbox (platform, effect, created_at) VALUES (?, ?, 0)",
                     ("discord", to_json(Post(room, "Vote on proposal #1", choices))))
    world.bot.pump.wake()
    await server.wait_until(lambda: any(m.components for m in server.messages_in(channel)))
    message = next(m for m in server.messages_in(channel) if m.components)
    assert [b.custom_id for b in buttons_of(message)] == ["twinome:vote 1 yes",
                                                         "twinome:vote 1 no"]
    await world.restart()
    refused = await server.click(world.alice, message, "twinome:vote 1 yes")
    assert refused.ephemeral and refused.content
    voted = await server.click(world.bob, message, "twinome:vote 1 yes")
    assert voted.ephemeral and "#1" in voted.content


async def test_closed_dms_wait_for_the_next_interaction(world: World) -> None:
    server = world.server
    await world.form_trio()
    world.bob.dms_closed = True
    ab = world.pair(world.alice, world.bob)
    await server.user_message(world.bob, ab, "one")
    await server.user_message(world.bob, ab, "two")
    await server.wait_until(lambda: world.bot.answers.dms_closed(world.bob.id))
    result = await world.slash(world.bob, "trio list")
    followups = await result.wait_followups(1)
    assert "closed" in followups[0].content and followups[0].ephemeral
    assert "has not answered yet" in followups[0].content


async def test_a_command_is_answered_at_once_by_its_own_response_not_by_the_pump(
        world: World) -> None:
    await world.bot.pump.stop()  # no pass runs: an answer cannot have come through the pump
    listed = await world.slash(world.alice, "trio list")
    assert listed.callback_type == 4 and listed.ephemeral and listed.content
    assert not listed.followups, "no deferral, no followup: one REST call"
    made = await world.slash(world.alice, "trio new", {"name": "Les Trois"})
    assert made.callback_type == 4 and "Les Trois" in made.content
    for _ in range(500):  # marked done once Discord's answer reaches the bot
        if not await world.core.pending("discord"):
            break
        await asyncio.sleep(0.01)
    assert await world.core.pending("discord") == [], "both replies are marked done"


def test_the_tree_maps_every_kind_and_every_command() -> None:
    assert set(OPTION_TYPES) == set(Kind)

    async def run(*_: Any) -> None:
        return None

    async def complete(interaction: discord.Interaction, current: str) -> Any:
        return []

    built = commands.build(run, complete, complete)
    names = set()
    for item in built:
        if isinstance(item, app_commands.Group):
            names |= {commands.grammar_name(c) for c in item.commands}  # type: ignore[arg-type]
        else:
            names.add(commands.grammar_name(item))
    assert names == {c.name for c in COMMANDS}
    assert {"sos", "sos-end", "propose", "propose-withdraw"} <= {i.name for i in built}
    for item in built:
        for command in (item.commands if isinstance(item, app_commands.Group) else [item]):
            assert isinstance(command, app_commands.Command)
            assert len(command.description) <= 100
            for param in command.parameters:
                assert len(param.description) <= 100
    vote = next(c for i in built if isinstance(i, app_commands.Command) and i.name == "vote"
                for c in [i])
    kinds = {p.name: p.type for p in vote.parameters}
    assert kinds == {"id": discord.AppCommandOptionType.integer,
                     "vote": discord.AppCommandOptionType.string}
    assert [c.value for c in vote.parameters[1].choices] == ["yes", "no"]


async def test_a_slow_answer_is_deferred_and_still_private_when_it_should_be(
        server: FakeDiscord, bots: Bots, db_target: Path | str) -> None:
    world = await make_world(server, bots, db_target, defer_after=0)
    try:
        listed = await world.slash(world.alice, "trio list")
        assert listed.callback_type == 5 and listed.ephemeral and listed.content
        channel = await world.form_trio()
        info = await world.slash(world.alice, "trio info", channel=channel)
        assert info.callback_type == 5 and not info.ephemeral and "Les Trois" in info.content
        bad = await world.slash(world.alice, "session confirm", {"id": 9}, channel=channel)
        assert bad.followups and bad.followups[-1].ephemeral
        assert all(not m.flags & (1 << 7) for m in server.messages_in(channel))
    finally:
        await bots.stop_all()
        await world.db.close()


async def test_a_leaver_loses_the_channel_and_their_pair_threads(world: World) -> None:
    server = world.server
    channel = await world.form_trio()
    ab, bc = world.pair(world.alice, world.bob), world.pair(world.bob, world.carol)
    left = await world.slash(world.alice, "trio leave", {"confirm": "confirm"}, channel=channel)
    assert left.content
    await server.wait_until(lambda: not server.can_see(world.alice, channel)
                            and server.channel(ab.id).locked)
    assert world.alice.id not in server.overwrites(channel)
    assert world.alice.id not in server.thread_members(ab)
    assert server.channel(ab.id).archived
    assert not server.channel(bc.id).locked


def dm_buttons(world: World, who: User, wanted: str) -> Any:
    """The newest DM message to ``who`` whose text holds ``wanted`` and that has buttons."""
    found = [m for m in world.server.messages_in(world.server.dm_channel_of(who))
             if wanted in m.content and m.components]
    return found[-1] if found else None


async def test_a_direct_invite_arrives_with_accept_and_decline_buttons(world: World) -> None:
    server = world.server
    await world.slash(world.alice, "trio new", {"name": "Les Trois"})
    await world.slash(world.dave, "help")
    await world.slash(world.alice, "trio invite", {"user": world.dave})
    await server.wait_until(lambda: dm_buttons(world, world.dave, "invites you") is not None)
    message = dm_buttons(world, world.dave, "invites you")
    labels = [b.label for b in buttons_of(message)]
    assert labels == ["Accept", "Decline"]
    assert "!trio accept" not in message.content, "buttons, not commands to type"
    await world.restart()
    accepted = await server.click(world.dave, message, buttons_of(message)[0].custom_id)
    assert accepted.ephemeral and "joined" in accepted.content


async def test_a_privacy_export_arrives_as_a_private_file(world: World) -> None:
    result = await world.slash(world.alice, "privacy export")
    assert result.ephemeral and "JSON file" in result.content and "{" not in result.content
    [file] = await result.wait_followups(1)
    assert file.ephemeral and [a.filename for a in file.attachments] == [
        f"twinome-export-{world.clock.now():%Y-%m-%d}.json"]
    assert '"profile"' in file.attachments[0].data.decode()
