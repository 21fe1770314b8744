"""Several servers: a trio lives in the server it was formed in (its realm)."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest

import bots.discord.bot as bot_module
from bots.discord.bot import core_settings
from bots.discord.communities import Communities
from bots.discord.names import member_id
from bots.discord.seeking import FIELD_PREFIX
from core.effects import from_json
from core.events import CommandReceived
from tests.discord.conftest import Bots
from tests.discord.fakediscord import FakeDiscord
from tests.discord.fakediscord.state import Channel, Guild, User
from tests.discord.test_adapter import dm_buttons
from tests.discord.test_matchmaking import delivered
from tests.discord.twinome import CODE, World, make_world
from tests.helpers import until


def trio_channels(world: World, guild: Guild) -> list[Channel]:
    """The text channels under a category of ``guild``."""
    channels = world.server.channels_in(guild)
    categories = {c.id for c in channels if c.type == 4}
    return [c for c in channels if c.type == 0 and c.parent_id in categories]


async def test_a_trio_formed_in_the_second_server_gets_its_channel_there(
        server: FakeDiscord, bots: Bots, db_target: Path | str) -> None:
    world = await make_world(server, bots, db_target)
    try:
        away = await two_servers(world)
        made = await server.slash(world.alice, away, "trio new", {"name": "Ailleurs"})
        assert world.communities.realm_of(member_id(world.alice.id)) == str(away.id)
        code = CODE.search(made.content)
        assert code is not None, made.content
        refused = await world.slash(world.dave, "trio join", {"code": code.group(0)})
        assert "another server" in refused.content, "a code does not cross servers"
        for who in (world.bob, world.carol):
            joined = await server.slash(who, away, "trio join", {"code": code.group(0)})
            assert "error" not in joined.content.lower(), joined.content
            if who is world.bob:
                made = await server.slash(world.alice, away, "trio invite")
                code = CODE.search(made.content)
                assert code is not None, made.content
        await server.wait_until(lambda: len(trio_channels(world, away)) == 1 and len(
            server.threads_of(trio_channels(world, away)[0])) == 3)
        channel = trio_channels(world, away)[0]
        assert channel.name.lower().startswith("ailleurs")
        assert trio_channels(world, world.guild) == [], "nothing in the first server"
        people = (world.alice, world.bob, world.carol, world.dave)
        assert [server.can_see(u, channel) for u in people] == [True, True, True, False]
    finally:
        await bots.stop_all()
        await world.db.close()


async def test_only_a_submitted_command_notes_the_server_a_read_answers_without(
        server: FakeDiscord, bots: Bots, db_target: Path | str) -> None:
    world = await make_world(server, bots, db_target)
    try:
        away = await two_servers(world)
        alice = member_id(world.alice.id)
        await world.slash(world.alice, "trio new", {"name": "Ici"})
        assert world.communities.realm_of(alice) == str(world.guild.id)
        listed = await server.slash(world.alice, away, "trio list")  # answered from a read
        assert "Ici" in listed.content, listed.content
        assert world.communities.realm_of(alice) == str(world.guild.id), "a read notes nothing"
        made = await server.slash(world.alice, away, "trio new", {"name": "Ailleurs"})
        assert "error" not in made.content.lower(), made.content
        assert world.communities.realm_of(alice) == str(away.id), "noted before it is submitted"
    finally:
        await bots.stop_all()
        await world.db.close()


async def two_servers(world: World) -> Guild:
    """A second server with the same four people, and the bot restarted to serve both."""
    away = await world.server.add_guild("Away")
    for who in (world.alice, world.bob, world.carol, world.dave):
        await world.server.add_member(away, who)
    world.config = replace(world.config, guild_ids=(world.guild.id, away.id))
    await world.restart(scheduler=False)
    return away


async def seek_in(world: World, guild: Guild, who: User, offers: str, wants: str) -> None:
    """``who`` submits the /seek form in ``guild``."""
    opened = await world.server.slash(who, guild, "seek")
    assert opened.modal is not None
    done = await world.server.submit_modal(who, opened.modal["custom_id"], {
        FIELD_PREFIX + "offers": offers, FIELD_PREFIX + "wants": wants})
    assert "looking for companions" in done.content, done.content


async def test_seekers_of_two_servers_are_never_proposed_together(
        server: FakeDiscord, bots: Bots, db_target: Path | str) -> None:
    world = await make_world(server, bots, db_target, scheduler=False)
    try:
        away = await two_servers(world)
        await seek_in(world, world.guild, world.alice, "spanish", "drawing")
        await seek_in(world, world.guild, world.bob, "python", "spanish")
        await seek_in(world, away, world.carol, "drawing", "python")  # completes them, elsewhere
        await world.bot.runtime.fire_due()
        await delivered(world)
        assert not any(dm_buttons(world, who, "two companions")
                       for who in (world.alice, world.bob, world.carol))
        await seek_in(world, world.guild, world.dave, "drawing", "python")
        await world.bot.runtime.fire_due()
        await delivered(world)
        proposed = {who.name for who in (world.alice, world.bob, world.carol, world.dave)
                    if dm_buttons(world, who, "two companions")}
        assert proposed == {"alice", "bob", "dave"}
    finally:
        await bots.stop_all()
        await world.db.close()


def test_a_members_realm_is_the_server_of_their_latest_command() -> None:
    communities = Communities(limit=2)
    communities.note(object())  # type: ignore[arg-type]  # a button in a DM: nothing changes
    for n, realm in ((1, "10"), (2, "20"), (1, "30"), (3, None)):
        communities.remember(member_id(n), "Artists", realm)
    assert [communities.realm_of(member_id(n)) for n in (1, 2, 3)] == ["30", None, None]
    assert core_settings(communities=communities).realm_of(member_id(1)) == "30"


async def form_away(world: World) -> Guild:
    """A second server where alice, bob and carol form a trio (its channel and threads made)."""
    server = world.server
    away = await two_servers(world)
    made = await server.slash(world.alice, away, "trio new", {"name": "Ailleurs"})
    for who in (world.bob, world.carol):
        code = CODE.search(made.content)
        assert code is not None, made.content
        await server.slash(who, away, "trio join", {"code": code.group(0)})
        made = await server.slash(world.alice, away, "trio invite")
    await server.wait_until(lambda: len(trio_channels(world, away)) == 1 and len(
        server.threads_of(trio_channels(world, away)[0])) == 3)
    return away


async def sos_waiting(world: World, away: Guild) -> list[tuple[int, str]]:
    """bob raises an SOS in the trio's channel while nothing carries effects out; the
    effects bound to that server, (id, kind), now waiting."""
    room = await world.bot.bindings.core_room(str(trio_channels(world, away)[0].id))
    await world.core.handle([CommandReceived("test:sos", member_id(world.bob.id), room,
                                             "sos rough week", platform="discord")])
    return await bound_to(world, away)


async def bound_to(world: World, guild: Guild) -> list[tuple[int, str]]:
    """The waiting effects bound to a server, (id, kind)."""
    async with world.db.read() as tx:
        rows = await tx.all("SELECT id, effect FROM outbox WHERE realm = ? ORDER BY id",
                            (str(guild.id),))
    return [(r[0], from_json(r[1]).kind) for r in rows]


async def nothing_bound_to(world: World, guild: Guild) -> bool:
    """Whether no waiting effect is bound to a server."""
    return not await bound_to(world, guild)


def settled_lines(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The log lines of effects dropped because the bot left their server."""
    return [r.getMessage() for r in caplog.records if "no longer in its server" in r.getMessage()]


async def answered_in_dm(world: World, who: User, before: int) -> None:
    """Wait until the bot wrote to ``who`` in their DM (they had ``before`` messages there)."""
    channel = world.server.dm_channel_of(who)
    await world.server.wait_until(lambda: len(world.server.messages_in(channel)) > before)


def in_dm(world: World, who: User) -> int:
    """How many messages ``who`` has in their DM with the bot."""
    return len(world.server.messages_in(world.server.dm_channel_of(who)))


def refused(server: FakeDiscord, since: int) -> list[str]:
    """The requests about channels Discord refused since the ``since``th."""
    return [f"{r.route} {r.status}" for r in server.requests[since:]
            if r.status >= 400 and r.route.startswith(("POST /channels", "PATCH /channels",
                                                       "PUT /channels", "POST /guilds"))]


@contextlib.asynccontextmanager
async def left_behind(server: FakeDiscord, bots: Bots, db_target: Path | str
                      ) -> AsyncIterator[tuple[World, Guild]]:
    """A world whose trio lives in a second server (:func:`form_away`), with no scheduler;
    the bots stopped and the database closed at the end."""
    world = await make_world(server, bots, db_target, scheduler=False)
    try:
        yield world, await form_away(world)
    finally:
        await bots.stop_all()
        await world.db.close()


async def test_when_the_bot_is_removed_from_a_server_its_waiting_effects_are_settled(
        server: FakeDiscord, bots: Bots, db_target: Path | str,
        caplog: pytest.LogCaptureFixture) -> None:
    async with left_behind(server, bots, db_target) as (world, away):
        await world.bot.pump.stop()
        waiting = await sos_waiting(world, away)
        public = [(i, kind) for i, kind in waiting if kind != "reply"]
        assert public and len(public) < len(waiting), waiting  # posts, and bob's own answer
        since, before = len(server.requests), in_dm(world, world.bob)
        with caplog.at_level(logging.WARNING, "twinome.discord"):
            await server.remove_bot(away)
            await until(lambda: nothing_bound_to(world, away), "the effects settled", 5)
        assert settled_lines(caplog) == [
            f"effect {i} ({kind}) dropped: the bot is no longer in its server" for i, kind in public]
        await world.bot.pump.start()
        await answered_in_dm(world, world.bob, before)  # his own answer, privately, all the same
        await server.wait_until(lambda: all(told_left(world, who) == 1 for who in trio(world)))
        assert refused(server, since) == [], "nothing tried in a server the bot left"


async def test_a_server_left_while_the_bot_was_stopped_is_settled_at_startup(
        server: FakeDiscord, bots: Bots, db_target: Path | str,
        caplog: pytest.LogCaptureFixture) -> None:
    async with left_behind(server, bots, db_target) as (world, away):
        await bots.stop(world.bot)
        waiting = await sos_waiting(world, away)
        await server.remove_bot(away)  # no session: no GUILD_DELETE reaches the bot
        since, before = len(server.requests), in_dm(world, world.bob)
        with caplog.at_level(logging.WARNING, "twinome.discord"):
            await world.start(scheduler=False)
            await until(lambda: nothing_bound_to(world, away), "the effects settled", 5)
            await answered_in_dm(world, world.bob, before)
        assert len(settled_lines(caplog)) == sum(kind != "reply" for _, kind in waiting) > 0
        assert refused(server, since) == [], "nothing tried in a server the bot left"


def trio(world: World) -> list[User]:
    """The members of the trio :func:`form_away` forms."""
    return [world.alice, world.bob, world.carol]


def told_left(world: World, who: User) -> int:
    """How many times ``who`` heard by DM that the bot was removed from their trio's server."""
    return sum("I was removed from the server where your trio “Ailleurs” meets" in m.content
               for m in world.server.messages_in(world.server.dm_channel_of(who)))


async def test_a_trio_hears_once_that_the_bot_was_removed_while_stopped(
        server: FakeDiscord, bots: Bots, db_target: Path | str) -> None:
    async with left_behind(server, bots, db_target) as (world, away):
        await until(lambda: _outbox_empty(world), "the trio's effects carried out", 5)
        await bots.stop(world.bot)
        await server.remove_bot(away)  # no session: no GUILD_DELETE, and nothing waits there
        await world.start(scheduler=False)
        await server.wait_until(lambda: all(told_left(world, who) == 1 for who in trio(world)))
        await world.restart(scheduler=False)  # the same departure seen at startup again
        await until(lambda: _outbox_empty(world), "nothing left to carry out", 5)
        assert [told_left(world, who) for who in trio(world)] == [1, 1, 1]


@pytest.mark.parametrize("stopped", [False, True])
async def test_a_removal_after_the_bot_was_added_back_is_told_again(
        server: FakeDiscord, bots: Bots, db_target: Path | str, stopped: bool) -> None:
    async with left_behind(server, bots, db_target) as (world, away):
        await server.remove_bot(away)
        await server.wait_until(lambda: all(told_left(world, who) == 1 for who in trio(world)))
        if stopped:  # added back while stopped: no GUILD_CREATE, the start finds it
            await bots.stop(world.bot)
            await server.add_bot(away)
            await world.start(scheduler=False)
        else:
            await server.add_bot(away)
            await server.wait_until(lambda: world.bot.get_guild(away.id) is not None)
        await until(lambda: _no_left_mark(world), "the departure forgotten", 5)
        await server.remove_bot(away)
        await server.wait_until(lambda: all(told_left(world, who) == 2 for who in trio(world)))


async def _no_left_mark(world: World) -> bool:
    return not await world.core.db.read_all("SELECT key FROM meta WHERE key LIKE 'realm_left:%'")


async def _outbox_empty(world: World) -> bool:
    return not await world.core.pending()


async def test_effects_written_for_a_server_after_it_was_left_are_settled_soon(
        server: FakeDiscord, bots: Bots, db_target: Path | str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bot_module, "SETTLE_EVERY", 0.05)
    async with left_behind(server, bots, db_target) as (world, away):
        await server.remove_bot(away)
        await server.wait_until(lambda: all(told_left(world, who) == 1 for who in trio(world)))
        await world.bot.pump.stop()
        waiting = await sos_waiting(world, away)  # written for the server after it was left
        assert waiting
        since = len(server.requests)
        await until(lambda: nothing_bound_to(world, away), "the late effects settled", 5)
        await world.bot.pump.start()
        await until(lambda: _outbox_empty(world), "the rest carried out", 5)
        assert refused(server, since) == [], "nothing tried in a server the bot left"
        assert [told_left(world, who) for who in trio(world)] == [1, 1, 1]
