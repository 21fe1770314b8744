"""Discord shards across processes: two ``twinome discord`` processes, each running one
shard of two, on one PostgreSQL database and one fake Discord; each server's effects are
carried out by the process whose shard holds it, once; the configuration's checks."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import discord
import pytest

from bots.discord.config import TOKEN_ENV, ConfigError, from_dict
from core.config import Settings
from core.effects import Effect, Notify, from_json, to_json
from core.events import CommandReceived
from core.ids import MemberId, RoomId
from core.storage.db import Database
from tests.discord.conftest import Bots
from tests.discord.fakediscord import FakeDiscord, RecordedRequest
from tests.discord.fakediscord.gateway import shard_of
from tests.discord.fakediscord.state import Channel, Guild, Message, User
from tests.discord.twinome import CODE
from tests.helpers import Harness, code_in, replies

ROOT = Path(__file__).resolve().parents[2]
SHARDS = 2
READY = re.compile(r"ready as .* in (\d+) server")


# -- configuration ----------------------------------------------------------------------------

BASE = {"storage": {"url": "postgresql://twinome@db.example:5432/twinome"},
        "discord": {"guild_ids": [], "category_name": "Trios"}}


def config_with(storage: dict[str, str] | None = None, **discord: object) -> dict[str, object]:
    return {"storage": storage or BASE["storage"], "discord": {**BASE["discord"], **discord}}


def test_shards_are_read_from_the_discord_table() -> None:
    config = from_dict(config_with(shard_count=4, shard_ids=[3, 1]), {TOKEN_ENV: "t"})
    assert (config.shard_count, config.shard_ids) == (4, (1, 3))
    assert config.sharded and config.some_shards and not config.holds_direct
    every = from_dict(config_with(shard_count=2), {TOKEN_ENV: "t"})
    assert every.holds_direct and not every.some_shards, "all shards in one process"
    plain = from_dict(config_with(), {TOKEN_ENV: "t"})
    assert not plain.sharded and plain.holds_direct and not plain.some_shards
    assert [config.holds(n << 22) for n in range(4)] == [False, True, False, True]


@pytest.mark.parametrize(("change", "words"), [
    ({"shard_ids": [0]}, "needs shard_count"),
    ({"shard_count": 0}, "at least 1"),
    ({"shard_count": True}, "at least 1"),
    ({"shard_count": 2, "shard_ids": [2]}, "from 0 to 1"),
    ({"shard_count": 2, "shard_ids": [1, 1]}, "different"),
    ({"shard_count": 2, "shard_ids": []}, "non-empty list"),
    ({"shard_count": 2, "shard_ids": "0"}, "non-empty list"),
])
def test_wrong_shards_are_refused_clearly(change: dict[str, object], words: str) -> None:
    with pytest.raises(ConfigError, match=words):
        from_dict(config_with(**change), {TOKEN_ENV: "t"})


def test_some_shards_on_a_sqlite_file_are_refused(tmp_path: Path) -> None:
    sqlite = {"path": "t.db"}
    with pytest.raises(ConfigError, match="shared database"):
        from_dict(config_with(sqlite, shard_count=2, shard_ids=[0]), {TOKEN_ENV: "t"}, tmp_path)
    every = from_dict(config_with(sqlite, shard_count=2, shard_ids=[0, 1]), {TOKEN_ENV: "t"})
    assert every.shard_ids == (0, 1), "one process running every shard may use a file"


# -- the fake Discord's shards -----------------------------------------------------------------

class QuickShards(discord.AutoShardedClient):
    """Shards identifying one after the other at once (the fake limits no identify rate)."""

    async def before_identify_hook(self, shard_id: int | None, *, initial: bool = False) -> None:
        return None


async def test_the_fake_gives_each_shard_its_servers_and_shard_0_the_direct_messages(
        server: FakeDiscord, bots: Bots) -> None:
    server.shards = SHARDS
    guilds = [await server.add_guild(f"G{n}", shard=(n, SHARDS)) for n in range(SHARDS)]
    ann = await server.add_user("ann")
    await server.add_member(guilds[1], ann)
    intents = discord.Intents.none()
    intents.guilds = intents.guild_messages = intents.dm_messages = True
    client = await bots.start(QuickShards(intents=intents, guild_ready_timeout=0.05))
    assert client.shard_count == SHARDS, "from /gateway/bot"
    assert {g.id: g.shard_id for g in client.guilds} == {guilds[0].id: 0, guilds[1].id: 1}
    direct = await server.user_message(ann, server.dm_channel_of(ann), "hi")
    general = await server.user_message(ann, server.channels_in(guilds[1])[0], "hey")

    def got(message: Message) -> list[tuple[int, int]]:
        return [s.shard for s in server.gateway.sessions.values() for frame in s.buffer
                if frame["t"] == "MESSAGE_CREATE" and frame["d"]["id"] == str(message.id)]
    await server.wait_until(lambda: bool(got(direct) and got(general)))
    assert got(direct) == [(0, SHARDS)] and got(general) == [(1, SHARDS)]


# -- the outbox's realms ---------------------------------------------------------------------

REALMS = {"ana": "g1", "bo": "g1", "cy": "g1"}  # zed acts from no server


async def realms_written(h: Harness, who: str, text: str, room: int | None = None
                         ) -> list[tuple[Effect, str | None]]:
    """Each effect a command wrote, with its realm, in order (then carried out)."""
    event = CommandReceived(f"ev-{who}-{text}", MemberId(who),
                            None if room is None else RoomId(room), text, who)
    await h.core.handle([event])
    async with h.core.db.read() as tx:
        rows = await tx.all("SELECT effect, realm FROM outbox ORDER BY id")
    await h.core.done([d.id for d in await h.core.pending()])
    return [(from_json(r[0]), r[1]) for r in rows]


def kinds(written: list[tuple[Effect, str | None]]) -> dict[str, set[str | None]]:
    """The realms written for each kind of effect."""
    found: dict[str, set[str | None]] = {}
    for effect, realm in written:
        found.setdefault(effect.kind, set()).add(realm)
    return found


async def test_effects_carry_their_trios_realm_and_replies_their_authors(
        db_target: Path | str) -> None:
    h = await Harness.open(db_target, settings=Settings(realm_of=REALMS.get))
    try:
        [(made, realm)] = await realms_written(h, "ana", "trio new Nous")
        assert realm == "g1", "a reply outside a room: where its author acts from"
        await realms_written(h, "bo", f"trio join {code_in(replies([made])[0])}")
        [(made, _)] = await realms_written(h, "ana", "trio invite")
        joined = kinds(await realms_written(h, "cy", f"trio join {code_in(replies([made])[0])}"))
        assert joined["create_room"] == joined["post"] == {"g1"}, joined
        assert joined.get("notify", {None}) == {None}, "direct notices: no realm"
        assert kinds(await realms_written(h, "zed", "help")) == {"reply": {None}}
        async with h.core.db.read() as tx:
            room = await tx.value("SELECT min(id) FROM rooms")
        assert kinds(await realms_written(h, "zed", "turn", room)) == {"reply": {"g1"}}, \
            "in a trio's room: the trio's realm, whoever speaks"
    finally:
        await h.close()


async def test_pending_reads_only_the_realms_asked_for(db_target: Path | str) -> None:
    h = await Harness.open(db_target)
    try:
        async with h.core.db.transaction() as tx:
            for realm in ("1", "2", None, "1"):
                await tx.run("INSERT INTO outbox (platform, effect, created_at, realm) "
                             "VALUES ('discord', ?, 0, ?)", (to_json(Notify(MemberId("x"), "hi")),
                                                             realm))

        async def ids(realms: list[str | None] | None) -> list[int]:
            return [d.id for d in await h.core.pending("discord", realms=realms)]

        every = await ids(None)
        assert len(every) == 4
        assert await ids(["1"]) == [every[0], every[3]]
        assert await ids(["2", None]) == [every[1], every[2]]
        assert await ids([None]) == [every[2]]
        assert await ids([]) == []
    finally:
        await h.close()


# -- two processes ----------------------------------------------------------------------------

class Shard:
    """One ``twinome discord`` process running one shard."""

    def __init__(self, number: int, process: asyncio.subprocess.Process, log: Path) -> None:
        self.number = number
        self.process = process
        self.log = log

    @property
    def caller(self) -> str:
        return f"shard{self.number}"

    def ready(self) -> bool:
        """Whether the bot says it is ready (a process that ended fails the test)."""
        text = self.log.read_text()
        assert self.process.returncode is None, text
        return READY.search(text) is not None


async def start_shard(server: FakeDiscord, number: int, guilds: list[Guild], url: str,
                      folder: Path) -> Shard:
    config = folder / f"shard{number}.toml"
    config.write_text(f'[storage]\nurl = "{url}"\n\n[discord]\n'
                      f"guild_ids = [{', '.join(str(g.id) for g in guilds)}]\n"
                      f'category_name = "Trios"\nshard_count = {SHARDS}\nshard_ids = [{number}]\n')
    log = folder / f"shard{number}.log"
    env = {**os.environ, TOKEN_ENV: server.token_for(f"shard{number}")}
    with log.open("wb") as out:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "tests.discord.shardbot", server.base_url, "--config",
            str(config), cwd=ROOT, env=env, stdout=out, stderr=out)
    return Shard(number, process, log)


async def stop_shard(shard: Shard) -> None:
    if shard.process.returncode is None:
        shard.process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(shard.process.wait(), 10)
        except TimeoutError:
            shard.process.kill()
            await shard.process.wait()


@contextlib.asynccontextmanager
async def two_shards(server: FakeDiscord, guilds: list[Guild], url: str,
                     folder: Path) -> AsyncIterator[list[Shard]]:
    shards: list[Shard] = []
    try:
        for number in range(SHARDS):
            shards.append(await start_shard(server, number, guilds, url, folder))
        await server.wait_until(lambda: all(s.ready() for s in shards), within=30)
        yield shards
    finally:
        for shard in shards:
            await stop_shard(shard)


async def form_trio(server: FakeDiscord, guild: Guild, a: User, b: User, c: User) -> Channel:
    """``a`` starts a trio in ``guild``, ``b`` and ``c`` join by code; its channel."""
    made = await server.slash(a, guild, "trio new", {"name": f"Trio {guild.name}"}, within=10)
    for who in (b, c):
        code = CODE.search(made.content)
        assert code is not None, made.content
        joined = await server.slash(who, guild, "trio join", {"code": code.group(0)}, within=10)
        assert "error" not in joined.content.lower(), joined.content
        if who is b:
            made = await server.slash(a, guild, "trio invite", within=10)
    await server.wait_until(lambda: lines_made(server, guild), within=15)
    [channel] = trio_channels(server, guild)
    return channel


def trio_channels(server: FakeDiscord, guild: Guild) -> list[Channel]:
    channels = server.channels_in(guild)
    categories = {c.id for c in channels if c.type == 4}
    return [c for c in channels if c.type == 0 and c.parent_id in categories]


def lines_made(server: FakeDiscord, guild: Guild) -> bool:
    channels = trio_channels(server, guild)
    threads = server.threads_of(channels[0]) if len(channels) == 1 else []
    return len(threads) == 3 and all(
        len(set(server.thread_members(t)) - {server.bot.id}) == 2 for t in threads)


def pair(server: FakeDiscord, channel: Channel, a: User, b: User) -> Channel:
    for thread in server.threads_of(channel):
        if set(server.thread_members(thread)) - {server.bot.id} == {a.id, b.id}:
            return thread
    raise LookupError("no such pair thread")


def relances(server: FakeDiscord, who: User) -> list[str]:
    return [m.content for m in server.messages_in(server.dm_channel_of(who))
            if "has not answered yet" in m.content]


async def seen(server: FakeDiscord, shards: list[Shard], condition: Callable[[], bool],
               what: str) -> None:
    """Wait until ``condition`` holds; else fail saying what the bot sent and logged."""
    try:
        await server.wait_until(condition, within=20)
    except TimeoutError:
        sent = [(m.channel_id, m.content[:60]) for m in server.store.messages.values()
                if m.author_id == server.bot.id]
        logs = "\n".join(s.log.read_text() for s in shards)
        raise AssertionError(f"never saw {what}; the bot sent {sent}\n{logs}") from None


def asked(server: FakeDiscord, thread: Channel) -> list[str]:
    """The SOS alerts posted in a pair thread."""
    return [m.content for m in server.messages_in(thread)
            if "asked for your support" in m.content]


def guild_touched(server: FakeDiscord, request: RecordedRequest) -> int | None:
    """The server a bot-token request acted in (None: a direct message, or no server)."""
    found = re.search(r"/(guilds|channels)/(\d+)", request.path)
    if found is None:
        return None
    number = int(found.group(2))
    if found.group(1) == "guilds":
        return number
    channel = server.store.channels.get(number)
    return None if channel is None else channel.guild_id


async def outbox_rows(url: str) -> int:
    db = await Database.open(url)
    try:
        async with db.read() as tx:
            count = await tx.value("SELECT count(*) FROM outbox")
    finally:
        await db.close()
    return int(count)


async def drained(url: str, within: float = 15.0) -> None:
    """Wait until the outbox is empty: every effect carried out by some process."""
    for _ in range(int(within * 10)):
        if await outbox_rows(url) == 0:
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"{await outbox_rows(url)} effect(s) never carried out")


async def test_two_processes_each_carry_out_the_effects_of_their_shards_servers(
        server: FakeDiscord, pg_url: str, tmp_path: Path) -> None:
    server.shards = SHARDS
    guilds = [await server.add_guild(f"G{n}", shard=(n, SHARDS)) for n in range(SHARDS)]
    assert [shard_of(g.id, SHARDS) for g in guilds] == [0, 1]
    people = [[await server.add_user(f"{name}{n}") for name in ("ann", "ben", "cyd")]
              for n in range(SHARDS)]
    for guild, trio in zip(guilds, people, strict=True):
        for who in trio:
            await server.add_member(guild, who)
    async with two_shards(server, guilds, pg_url, tmp_path) as shards:
        sessions = {s.caller: s.shard for s in server.gateway.sessions.values()}
        assert sessions == {"shard0": (0, 2), "shard1": (1, 2)}
        for guild, (a, b, c) in zip(guilds, people, strict=True):
            channel = await form_trio(server, guild, a, b, c)
            ab = pair(server, channel, a, b)
            await server.user_message(a, ab, "first")
            await server.user_message(a, ab, "second")  # a streak: a relance note for a, by DM
            turn = await server.slash(a, guild, "turn", channel=channel, within=10)
            assert turn.ephemeral and b.name in turn.content
        for a, _, _ in people:
            await seen(server, shards, lambda who=a: len(relances(server, who)) == 1,
                       f"one relance for {a.name}")
        # A direct message comes in on shard 0's process; the allies' thread is shard 1's.
        ann, ben, cyd = people[1]
        allies = pair(server, trio_channels(server, guilds[1])[0], ann, ben)
        await server.user_message(cyd, server.dm_channel_of(cyd), "sos")
        await seen(server, shards, lambda: len(asked(server, allies)) == 1, "one SOS alert")
        await drained(pg_url)
        await asyncio.sleep(1.5)  # a process that would carry something twice has its chance
    shard_of_caller = {s.caller: s.number for s in shards}
    acted = [r for r in server.requests if r.caller in shard_of_caller
             and r.method in ("POST", "PUT", "PATCH", "DELETE")]
    by_guild = Counter((guild_touched(server, r), r.caller) for r in acted)
    assert by_guild[(guilds[0].id, "shard0")] and by_guild[(guilds[1].id, "shard1")], by_guild
    for request in acted:  # a direct message may come from either (leases share them out)
        guild_id = guild_touched(server, request)
        if guild_id is not None:
            expected = shard_of(guild_id, SHARDS)
            assert shard_of_caller[request.caller] == expected, (request.method, request.path)
    for guild in guilds:
        assert len(trio_channels(server, guild)) == 1 and lines_made(server, guild)
    sent = [m for m in server.store.messages.values() if m.author_id == server.bot.id and m.nonce]
    twice = [n for n, times in Counter(m.nonce for m in sent).items() if times > 1]
    assert sent and twice == [], "each effect carried out once"
    for a, _, _ in people:
        assert len(relances(server, a)) == 1
    assert len(asked(server, allies)) == 1
    for shard in shards:
        said = shard.log.read_text()
        assert shard.process.returncode == 0, said
        assert "Traceback" not in said and " ERROR " not in said, said
