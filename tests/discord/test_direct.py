"""Commands outside the configured servers' trees: typed in a DM to the bot, and slash
commands synced globally when no server is configured."""

from __future__ import annotations

from pathlib import Path

from tests.discord.conftest import Bots
from tests.discord.fakediscord import FakeDiscord
from tests.discord.fakediscord.state import User
from tests.discord.twinome import CODE, World, make_world

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
