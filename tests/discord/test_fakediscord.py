"""A bare discord.py bot against the fake Discord: login, commands, components, channels, gateway."""

from __future__ import annotations

import asyncio
import time

import aiohttp
import discord
import pytest

from tests.discord.barebot import BareBot
from tests.discord.conftest import Bots
from tests.discord.fakediscord import FakeDiscord

MESSAGE_CONTENT = 1 << 15


async def test_login_ready_and_command_sync(server: FakeDiscord, bots: Bots) -> None:
    guild = await server.add_guild("Home")
    bot = await bots.start(BareBot())
    assert bot.user is not None and bot.user.id == server.bot.id
    assert [g.id for g in bot.guilds] == [guild.id]
    routes = [r.route for r in server.requests]
    assert "GET /users/@me" in routes and "GET /oauth2/applications/@me" in routes
    assert len(server.identified_intents) == 1
    assert not server.identified_intents[0] & MESSAGE_CONTENT
    stored = {c.name: c.id for c in server.store.global_commands}
    assert {c.name: c.id for c in bot.synced} == stored
    assert set(stored) == {"ping", "slow", "panel", "sos", "export", "trio"}


async def test_a_bot_removed_from_a_guild_hears_of_it_and_loses_its_channels(
        server: FakeDiscord, bots: Bots) -> None:
    guild = await server.add_guild("Home")
    bot = await bots.start(BareBot())
    general = server.channels_in(guild)[0]
    removed = asyncio.create_task(bot.wait_for("guild_remove", timeout=5))
    await asyncio.sleep(0)
    await server.remove_bot(guild)
    assert (await removed).id == guild.id
    assert list(bot.guilds) == []
    with pytest.raises(discord.Forbidden):
        await bot.http.send_message(general.id, params=discord.http.handle_message_parameters(
            content="still here?"))
    assert not server.can_see(server.bot, general)


async def test_ping_is_answered_ephemerally(server: FakeDiscord, bots: Bots) -> None:
    guild = await server.add_guild("Home")
    alice = await server.add_user("alice")
    await server.add_member(guild, alice)
    await bots.start(BareBot())
    result = await server.slash(alice, guild, "ping")
    assert result.callback_type == 4
    assert result.ephemeral and result.content == "pong"
    general = server.channels_in(guild)[0]
    assert server.messages_in(general) == []
    assert [m.content for m in server.messages_in(general, include_ephemeral=True)] == ["pong"]


async def test_deferred_command_gets_its_followup(server: FakeDiscord, bots: Bots) -> None:
    guild = await server.add_guild("Home")
    alice = await server.add_user("alice")
    await server.add_member(guild, alice)
    await bots.start(BareBot())
    result = await server.slash(alice, guild, "slow")
    assert result.callback_type == 5
    assert [m.content for m in result.followups] == ["done thinking"]
    assert result.ephemeral and result.content == "done thinking"


async def test_group_subcommand_with_user_and_choice_options(server: FakeDiscord,
                                                             bots: Bots) -> None:
    guild = await server.add_guild("Home")
    alice, bob = await server.add_user("alice"), await server.add_user("bob")
    await server.add_member(guild, alice)
    await server.add_member(guild, bob)
    await bots.start(BareBot())
    result = await server.slash(alice, guild, "trio pair open", {"member": bob, "mood": "calm"})
    assert result.content == "pair with bob (calm, member=True)"
    options = result.record.payload["data"]["options"]
    assert options[0]["name"] == "pair" and options[0]["type"] == 2
    assert options[0]["options"][0]["name"] == "open"
    assert str(bob.id) in result.record.payload["data"]["resolved"]["members"]
    with pytest.raises(ValueError, match="not a choice"):
        await server.slash(alice, guild, "trio pair open", {"member": bob, "mood": "angry"})


async def test_autocomplete_returns_the_bots_choices(server: FakeDiscord, bots: Bots) -> None:
    guild = await server.add_guild("Home")
    alice = await server.add_user("alice")
    await server.add_member(guild, alice)
    await bots.start(BareBot())
    choices = await server.autocomplete(alice, guild, "trio join", "code", {"code": "alp"})
    assert [c["value"] for c in choices] == ["alpha-123", "alpine-456"]
    joined = await server.slash(alice, guild, "trio join", {"code": "alpha-123"})
    assert joined.content == "joined alpha-123"


async def test_persistent_button_works_after_a_restart(server: FakeDiscord, bots: Bots) -> None:
    guild = await server.add_guild("Home")
    alice = await server.add_user("alice")
    await server.add_member(guild, alice)
    first = await bots.start(BareBot())
    posted = await server.slash(alice, guild, "panel")
    assert posted.message is not None and not posted.ephemeral
    assert [(b.custom_id, b.label) for b in posted.buttons] == [("panel:yes", "Yes")]
    await bots.stop(first)
    second = await bots.start(BareBot())
    assert second is not first
    clicked = await server.click(alice, posted.message, "panel:yes")
    assert clicked.callback_type == 7
    assert server.messages_in(posted.message.channel_id)[-1].content == "Votes: 1"
    assert len(server.identified_intents) == 2


async def test_modal_submission_reaches_the_bot(server: FakeDiscord, bots: Bots) -> None:
    guild = await server.add_guild("Home")
    alice = await server.add_user("alice")
    await server.add_member(guild, alice)
    await bots.start(BareBot())
    opened = await server.slash(alice, guild, "sos")
    assert opened.callback_type == 9 and opened.modal is not None
    assert opened.modal["custom_id"]
    submitted = await server.submit_modal(alice, opened.modal["custom_id"], {"sos:note": "help"})
    assert submitted.ephemeral and submitted.content == "noted: help"


async def test_private_channel_and_private_thread_visibility(server: FakeDiscord,
                                                             bots: Bots) -> None:
    guild = await server.add_guild("Home")
    a, b, c, outsider = [await server.add_user(n) for n in ("a", "b", "c", "outsider")]
    for user in (a, b, c, outsider):
        await server.add_member(guild, user)
    bot = await bots.start(BareBot())
    dguild = bot.get_guild(guild.id)
    assert dguild is not None and dguild.me is not None
    hidden = discord.PermissionOverwrite(view_channel=False)
    shown = discord.PermissionOverwrite(view_channel=True)
    overwrites: dict[discord.Role | discord.Member | discord.Object, discord.PermissionOverwrite]
    overwrites = {dguild.default_role: hidden, dguild.me: shown}
    for user in (a, b, c):
        overwrites[discord.Object(user.id, type=discord.Member)] = shown
    category = await dguild.create_category("Trios")
    room = await dguild.create_text_channel("Les Trois", category=category, overwrites=overwrites)
    assert room.name == "les-trois" and room.category_id == category.id
    assert bot.get_channel(room.id) is not None
    assert [server.can_see(u, room.id) for u in (a, b, c, outsider)] == [True, True, True, False]
    assert server.can_see(server.bot, room.id)
    thread = await room.create_thread(name="a+b", type=discord.ChannelType.private_thread,
                                      invitable=False)
    await thread.add_user(discord.Object(a.id))
    await thread.add_user(discord.Object(b.id))
    assert sorted(server.thread_members(thread.id)) == sorted([server.bot.id, a.id, b.id])
    assert server.channel(thread.id).invitable is False
    assert [server.can_see(u, thread.id) for u in (a, b, c, outsider)] == [True, True, False, False]
    with pytest.raises(PermissionError):
        await server.user_message(outsider, server.channel(room.id), "let me in")
    await thread.edit(archived=True)
    assert server.channel(thread.id).archived
    await thread.send("still here")
    assert not server.channel(thread.id).archived
    assert [m.content for m in server.messages_in(thread.id)] == ["still here"]


async def test_dm_and_dm_to_a_user_with_closed_dms(server: FakeDiscord, bots: Bots) -> None:
    guild = await server.add_guild("Home")
    alice = await server.add_user("alice")
    closed = await server.add_user("closed", dms_closed=True)
    await server.add_member(guild, alice)
    await server.add_member(guild, closed)
    bot = await bots.start(BareBot())
    await (await bot.fetch_user(alice.id)).send("hello alice")
    assert [m.content for m in server.messages_in(server.dm_channel_of(alice))] == ["hello alice"]
    with pytest.raises(discord.Forbidden) as refused:
        await (await bot.fetch_user(closed.id)).send("hello?")
    assert refused.value.code == 50007
    assert server.messages_in(server.dm_channel_of(closed)) == []


async def test_user_message_arrives_without_content(server: FakeDiscord, bots: Bots) -> None:
    guild = await server.add_guild("Home")
    alice = await server.add_user("alice")
    await server.add_member(guild, alice)
    bot = await bots.start(BareBot())
    general = server.channels_in(guild)[0]
    sent = await server.user_message(alice, general, "a secret")
    await server.wait_until(lambda: any(m.id == sent.id for m in bot.seen))
    seen = next(m for m in bot.seen if m.id == sent.id)
    assert seen.author.id == alice.id and seen.channel.id == general.id
    assert seen.content == ""
    mention = await server.user_message(alice, general, f"<@{server.bot.id}> hi")
    await server.wait_until(lambda: any(m.id == mention.id for m in bot.seen))
    assert next(m for m in bot.seen if m.id == mention.id).content.endswith("hi")


async def test_resume_replays_an_event_from_the_gap_once(server: FakeDiscord, bots: Bots) -> None:
    guild = await server.add_guild("Home")
    alice = await server.add_user("alice")
    await server.add_member(guild, alice)
    bot = await bots.start(BareBot())
    server.hold_gateway()
    assert await server.drop_connection() == 1
    sent = await server.user_message(alice, server.channels_in(guild)[0], "while away")
    server.release_gateway()
    await server.wait_until(lambda: server.gateway.resumes == 1)
    await server.wait_until(lambda: any(m.id == sent.id for m in bot.seen))
    await asyncio.sleep(0.1)
    assert [m.id for m in bot.seen].count(sent.id) == 1
    assert server.gateway.resume_paths == ["/gateway/resume"]
    assert server.gateway.replayed == [["MESSAGE_CREATE"]]
    assert len(server.identified_intents) == 1
    assert (await server.slash(alice, guild, "ping")).content == "pong"


async def test_refused_resume_makes_the_client_identify_again(server: FakeDiscord,
                                                              bots: Bots) -> None:
    guild = await server.add_guild("Home")
    alice = await server.add_user("alice")
    await server.add_member(guild, alice)
    await bots.start(BareBot())
    server.fail_next_resume()
    await server.drop_connection()
    # discord.py waits 5 s before any IDENTIFY that is not its first (before_identify_hook).
    await server.wait_until(lambda: len(server.identified_intents) == 2, within=8.0)
    assert server.gateway.resumes == 0
    assert (await server.slash(alice, guild, "ping")).content == "pong"


async def test_client_waits_out_a_429(server: FakeDiscord, bots: Bots) -> None:
    guild = await server.add_guild("Home")
    bot = await bots.start(BareBot())
    channel = bot.get_channel(server.channels_in(guild)[0].id)
    assert isinstance(channel, discord.TextChannel)
    server.rate_limit_once("POST /channels/{channel_id}/messages", retry_after=0.3)
    started = time.monotonic()
    await channel.send("patient")
    assert time.monotonic() - started >= 0.3
    posts = [r.status for r in server.requests if r.route == "POST /channels/{channel_id}/messages"]
    assert posts == [429, 200]
    assert [m.content for m in server.messages_in(channel.id)] == ["patient"]


async def test_second_callback_is_refused(server: FakeDiscord, bots: Bots) -> None:
    guild = await server.add_guild("Home")
    alice = await server.add_user("alice")
    await server.add_member(guild, alice)
    await bots.start(BareBot())
    result = await server.slash(alice, guild, "ping")
    url = (f"{server.api_base}/interactions/{result.record.id}/{result.record.token}"
           "/callback?with_response=1")
    async with aiohttp.ClientSession() as session, \
            session.post(url, json={"type": 4, "data": {"content": "again"}}) as response:
        assert response.status == 400
        assert response.headers["Content-Type"] == "application/json"
        assert (await response.json())["code"] == 40060


async def test_file_followup_keeps_the_bytes(server: FakeDiscord, bots: Bots) -> None:
    guild = await server.add_guild("Home")
    alice = await server.add_user("alice")
    await server.add_member(guild, alice)
    await bots.start(BareBot())
    result = await server.slash(alice, guild, "export")
    assert result.ephemeral
    assert result.followups[0].files == {"export.json": b'{"ok": true}'}


async def test_slow_answer_counts_as_unanswered() -> None:
    fake = await FakeDiscord.start(interaction_window=0.05)
    guild = await fake.add_guild("Home")
    alice = await fake.add_user("alice")
    await fake.add_member(guild, alice)
    record = fake.interactions.new(2, alice.id, fake.channels_in(guild)[0].id,
                                   fake._base(alice, fake.channels_in(guild)[0]))
    await asyncio.sleep(0.1)
    url = f"{fake.api_base}/interactions/{record.id}/{record.token}/callback"
    async with aiohttp.ClientSession() as session, \
            session.post(url, json={"type": 4, "data": {"content": "late"}}) as response:
        assert response.status == 404
        assert (await response.json())["code"] == 10062
    assert fake.unanswered_interactions == [record]
    await fake.close()


async def test_members_intent_gets_chunks_and_member_events(server: FakeDiscord,
                                                            bots: Bots) -> None:
    guild = await server.add_guild("Home")
    alice = await server.add_user("alice")
    await server.add_member(guild, alice)
    intents = discord.Intents.default()
    intents.members = True
    started = time.monotonic()
    bot = await bots.start(BareBot(intents))
    assert time.monotonic() - started < 2.0
    dguild = bot.get_guild(guild.id)
    assert dguild is not None and dguild.get_member(alice.id) is not None
    bob = await server.add_user("bob")
    await server.add_member(guild, bob)
    await server.wait_until(lambda: dguild.get_member(bob.id) is not None)


@pytest.mark.parametrize(("command", "words"), [
    ({"name": "turn", "description": "d", "name_localizations": {"fr": "Tour"}}, "name.fr"),
    ({"name": "turn", "description": "d", "name_localizations": {"xx": "tour"}}, "locales"),
    ({"name": "turn", "description": "d", "description_localizations": {"fr": "x" * 101}},
     "description.fr"),
    ({"name": "vote", "description": "d", "options": [
        {"name": "id", "description": "d", "type": 4, "name_localizations": {"fr": "n"}},
        {"name": "no", "description": "d", "type": 3, "name_localizations": {"fr": "n"}}]},
     "twice in fr"),
    ({"name": "vote", "description": "d", "options": [
        {"name": "vote", "description": "d", "type": 3,
         "choices": [{"name": "yes", "value": "yes", "name_localizations": {"fr": ""}}]}]},
     "choices"),
])
async def test_sync_refuses_what_discord_refuses_in_localizations(
        server: FakeDiscord, bots: Bots, command: dict[str, object], words: str) -> None:
    await server.add_guild("Home")
    bot = await bots.start(BareBot())
    assert bot.application_id is not None
    with pytest.raises(discord.HTTPException) as refused:
        await bot.http.bulk_upsert_global_commands(bot.application_id, [command])
    assert refused.value.status == 400 and words in refused.value.text


async def test_sync_refuses_two_commands_of_one_localized_name(server: FakeDiscord,
                                                               bots: Bots) -> None:
    await server.add_guild("Home")
    bot = await bots.start(BareBot())
    assert bot.application_id is not None
    twins = [{"name": name, "description": "d", "name_localizations": {"fr": "tour"}}
             for name in ("turn", "round")]
    with pytest.raises(discord.HTTPException) as refused:
        await bot.http.bulk_upsert_global_commands(bot.application_id, twins)
    assert refused.value.status == 400 and "two commands in fr" in refused.value.text
