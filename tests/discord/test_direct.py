"""Direct messages: commands typed in a DM to the bot, slash commands synced globally when
no server is configured, and notices for a member whose DMs are closed (given on their
next interaction, kept a week at most, never polled for)."""

from __future__ import annotations

import asyncio
import logging
import re
from pathlib import Path

import pytest

from bots.adapter.pump import POLL
from tests.discord.conftest import Bots
from tests.discord.fakediscord import FakeDiscord
from tests.discord.fakediscord.state import User
from tests.discord.twinome import CODE, World, make_world
from tests.helpers import until

MESSAGE_CONTENT, DIRECT_MESSAGES = 1 << 15, 1 << 12


async def dm(world: World, who: User, text: str, answers: int = 1) -> list[str]:
    """``who`` writes ``text`` to the bot in a DM; the bot's messages there once it answered."""
    channel = world.server.dm_channel_of(who)
    before = len(world.server.messages_in(channel))
    await world.server.user_message(who, channel, text)
    wanted = before + 1 + answers
    await world.server.wait_until(lambda: len(world.server.messages_in(channel)) >= wanted)
    return [m.content for m in world.server.messages_in(channel)[before + 1:]]


async def test_commands_typed_in_a_dm_are_answered_there_without_the_content_intent(
        world: World) -> None:
    intents = world.server.identified_intents[-1]
    assert intents & DIRECT_MESSAGES and not intents & MESSAGE_CONTENT
    [made] = await dm(world, world.alice, "!trio new Les Trois")
    code = CODE.search(made)
    assert code is not None, made
    [joined] = await dm(world, world.bob, f"trio join {code.group(0)}")  # no prefix: fine too
    assert "Les Trois" in joined
    [listed] = await dm(world, world.bob, "/trio list")
    assert "Les Trois" in listed
    [chat] = await dm(world, world.carol, "hello there")
    assert chat and "unknown" not in chat.lower()
    [turn] = await dm(world, world.alice, "!turn")
    assert turn
    assert all(not m.ephemeral for m in world.server.messages_in(
        world.server.dm_channel_of(world.alice)))


async def test_without_server_ids_commands_are_synced_globally_and_work(
        server: FakeDiscord, bots: Bots, db_target: Path | str) -> None:
    world = await make_world(server, bots, db_target, globally=True)
    try:
        routes = {r.route for r in server.requests}
        assert "PUT /applications/{application_id}/commands" in routes
        assert "PUT /applications/{application_id}/guilds/{guild_id}/commands" not in routes
        channel = await world.form_trio()
        assert channel.guild_id == world.guild.id
        assert server.can_see(world.carol, channel) and not server.can_see(world.dave, channel)
    finally:
        await bots.stop_all()
        await world.db.close()


async def closed_dms_kept_a_notice(world: World) -> None:
    """bob's DMs are closed when the bot has a private note for him (a relance)."""
    server = world.server
    await world.form_trio()
    world.bob.dms_closed = True
    ab = world.pair(world.alice, world.bob)
    await server.user_message(world.bob, ab, "one")
    await server.user_message(world.bob, ab, "two")  # a relance note for bob, privately
    await server.wait_until(lambda: world.bot.pump.waiting > 0)


async def test_a_notice_for_closed_dms_waits_unpolled_for_the_next_interaction(
        world: World) -> None:
    await closed_dms_kept_a_notice(world)
    passes = -1
    while passes != world.bot.pump.passes:  # the passes woken by the two messages are over
        passes = world.bot.pump.passes
        await asyncio.sleep(0.3)
    await asyncio.sleep(POLL + 0.5)
    assert world.bot.pump.passes == passes, "the outbox was read again with nothing new"
    result = await world.slash(world.bob, "turn")
    [kept] = await result.wait_followups(1)
    assert kept.ephemeral and "closed" in kept.content and "has not answered yet" in kept.content
    await world.server.wait_until(lambda: not world.bot.pump.waiting)


async def dropped_after_a_week(world: World) -> int:
    """The notices waiting for closed DMs are a week and a day old: the bot drops them;
    how many it dropped."""
    async with world.db.transaction() as tx:
        dropped = await tx.value("SELECT count(*) FROM outbox WHERE waiting_since IS NOT NULL")
        await tx.run("UPDATE outbox SET waiting_since = waiting_since - ? "
                     "WHERE waiting_since IS NOT NULL", (8 * 86400 * 1000,))
    world.bot.pump.wake()
    await until(lambda: nothing_waits_for_dms(world), "the notices dropped", 5)
    return int(dropped)  # (not pump.waiting: a pass just begun shows 0 too)


async def nothing_waits_for_dms(world: World) -> bool:
    """Whether no notice waits in the outbox for closed DMs."""
    async with world.db.read() as tx:
        return not await tx.value("SELECT count(*) FROM outbox WHERE waiting_since IS NOT NULL")


async def test_a_notice_kept_a_week_for_closed_dms_is_dropped_and_the_member_told(
        world: World, caplog: pytest.LogCaptureFixture) -> None:
    await closed_dms_kept_a_notice(world)
    with caplog.at_level(logging.WARNING, "twinome.delivery"):
        await dropped_after_a_week(world)
    dropped = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert dropped and all(re.fullmatch(r"effect \d+ \(notify\) dropped: their DMs stayed "
                                        r"closed for 7 days", line) for line in dropped)
    result = await world.slash(world.bob, "trio list")
    assert result.message is not None and "Les Trois" in result.message.content
    [told] = await result.wait_followups(1)
    assert told.ephemeral and f"{len(dropped)} notice" in told.content
    assert "has not answered yet" not in told.content and "Open your direct messages" in told.content
    again = await world.slash(world.bob, "trio list")
    assert not again.followups, "told once"
