"""The Discord adapter across stops: a channel or thread made just before a stop is found
again, not made twice; notices that closed DMs refused survive a restart, and so does the
count of those that expired."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from tests.discord.fakediscord.state import now_iso
from tests.discord.test_direct import closed_dms_kept_a_notice, dropped_after_a_week
from tests.discord.twinome import CODE, World
from tests.helpers import until

TEXT_CHANNEL = 0


async def fill_trio(world: World) -> None:
    """alice starts a trio and bob and carol join it by code (the lines are then made)."""
    made = await world.slash(world.alice, "trio new", {"name": "Les Trois"})
    for who in (world.bob, world.carol):
        code = CODE.search(made.content)
        assert code is not None, made.content
        await world.slash(who, "trio join", {"code": code.group(0)})
        made = await world.slash(world.alice, "trio invite")


async def stopped_in_the_middle(world: World, route: str,
                                which: Callable[[Any], bool] = lambda payload: True,
                                while_down: Callable[[], None] = lambda: None) -> None:
    """Fill a trio; stop the bot once Discord carried out ``route`` but before the bot
    heard back (so before it could bind what was made); ``while_down``; start it again."""
    release = world.server.hold_after(route, which)
    await fill_trio(world)
    await asyncio.wait_for(world.server.held.wait(), 5)
    await world.bots.stop(world.bot)  # cancels the pump in the middle of the call
    release.set()
    await asyncio.sleep(0)
    while_down()
    world.bot = await world.bots.start(type(world.bot)(
        world.core, world.config, communities=world.communities, guild_ready_timeout=0.05))
    await world.server.wait_until(world.lines_made)


async def bound(world: World, channel_id: int) -> None:
    """Wait until the bot bound the Discord channel to its core room: the binding is
    stored with the carried effect's done mark, just after Discord made what it made."""
    async def known() -> bool:
        return await world.bot.bindings.core_room(str(channel_id)) is not None

    await until(known, f"channel {channel_id} bound to its core room", 5)


async def test_a_trio_channel_made_just_before_a_stop_is_found_not_made_again(
        world: World) -> None:
    await stopped_in_the_middle(world, "POST /guilds/{guild_id}/channels",
                                lambda payload: payload.get("type") == TEXT_CHANNEL)
    [channel] = world.trio_channels()
    assert world.server.can_see(world.carol, channel)
    await bound(world, channel.id)
    assert len(world.server.threads_of(channel)) == 3


async def test_a_pair_thread_made_just_before_a_stop_is_found_and_completed(
        world: World) -> None:
    await stopped_in_the_middle(world, "POST /channels/{channel_id}/threads")
    [channel] = world.trio_channels()
    threads = world.server.threads_of(channel)
    assert len(threads) == 3, [t.name for t in threads]
    assert len({t.name for t in threads}) == 3
    for thread in threads:
        await bound(world, thread.id)


async def test_a_pair_thread_made_before_a_stop_and_archived_since_is_found(
        world: World) -> None:
    def archive_the_orphan() -> None:  # Discord archives an idle thread (here: at once)
        [channel] = world.trio_channels()
        orphan = max(world.server.threads_of(channel), key=lambda t: t.id)
        orphan.archived, orphan.archive_timestamp = True, now_iso()
        made.append(orphan.id)

    made: list[int] = []
    await stopped_in_the_middle(world, "POST /channels/{channel_id}/threads",
                                while_down=archive_the_orphan)
    [channel] = world.trio_channels()
    threads = world.server.threads_of(channel)
    assert len(threads) == 3, [t.name for t in threads]
    assert made[0] in {t.id for t in threads} and not world.server.store.channels[made[0]].archived
    assert "GET /channels/{channel_id}/threads/archived/private" in {
        r.route for r in world.server.requests}
    for thread in threads:
        await bound(world, thread.id)


async def test_a_notice_refused_by_closed_dms_reaches_the_member_after_a_restart(
        world: World) -> None:
    server = world.server
    await closed_dms_kept_a_notice(world)
    await world.restart()
    await server.wait_until(lambda: world.bot.pump.waiting > 0)  # its DMs refused it again
    result = await world.slash(world.bob, "trio list")
    [kept] = await result.wait_followups(1)
    assert result.message is not None and "Les Trois" in result.message.content
    assert kept.ephemeral and "closed" in kept.content and "has not answered yet" in kept.content
    await server.wait_until(lambda: not world.bot.pump.waiting)
    again = await world.slash(world.bob, "trio list")
    assert not again.followups, "given once"


async def test_how_many_notices_expired_is_told_after_a_restart_then_forgotten(
        world: World) -> None:
    await closed_dms_kept_a_notice(world)
    dropped = await dropped_after_a_week(world)
    await world.restart()
    result = await world.slash(world.bob, "trio list")
    [told] = await result.wait_followups(1)
    assert told.ephemeral and f"{dropped} notice" in told.content
    assert "Open your direct messages" in told.content

    async def forgotten() -> bool:
        return not await world.core.dropped_notices("discord:")

    await until(forgotten, "the telling stored", 5)
    await world.restart()
    again = await world.slash(world.bob, "trio list")
    assert again.message is not None and not again.followups, "told once, restart or not"
