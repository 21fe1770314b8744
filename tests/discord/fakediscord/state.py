"""In-memory model of the fake Discord: users, guilds, roles, channels, threads, messages, commands.

Visibility follows Discord's permission algorithm, kept simple: the guild owner and members
with ADMINISTRATOR see everything; otherwise @everyone and role permissions are combined,
then the channel's @everyone overwrite, the role overwrites and the member overwrite are
applied in that order, and without VIEW_CHANNEL a member has no permission at all in the
channel. Threads inherit their parent's permissions; a private thread (type 12) is visible
only to its thread members and to members with MANAGE_THREADS in the parent. Category
overwrites are copied into a new channel only when it is created without its own.
"""

from __future__ import annotations

import datetime
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

DISCORD_EPOCH_MS = 1420070400000

ADD_REACTIONS = 1 << 6
ADMINISTRATOR = 1 << 3
MANAGE_CHANNELS = 1 << 4
VIEW_CHANNEL = 1 << 10
SEND_MESSAGES = 1 << 11
EMBED_LINKS = 1 << 14
ATTACH_FILES = 1 << 15
READ_MESSAGE_HISTORY = 1 << 16
MANAGE_ROLES = 1 << 28
USE_APPLICATION_COMMANDS = 1 << 31
MANAGE_THREADS = 1 << 34
CREATE_PUBLIC_THREADS = 1 << 35
CREATE_PRIVATE_THREADS = 1 << 36
SEND_MESSAGES_IN_THREADS = 1 << 38
ALL_PERMISSIONS = (1 << 51) - 1

EVERYONE_DEFAULT = (VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | EMBED_LINKS
                    | ATTACH_FILES | ADD_REACTIONS | USE_APPLICATION_COMMANDS
                    | CREATE_PUBLIC_THREADS | CREATE_PRIVATE_THREADS | SEND_MESSAGES_IN_THREADS)
BOT_DEFAULT = EVERYONE_DEFAULT | MANAGE_CHANNELS | MANAGE_ROLES | MANAGE_THREADS

GUILD_TEXT, DM, GUILD_CATEGORY = 0, 1, 4
PUBLIC_THREAD, PRIVATE_THREAD = 11, 12
THREAD_TYPES = (10, 11, 12)

EPHEMERAL = 1 << 6
LOADING = 1 << 7


def now_iso() -> str:
    """The current time as Discord writes timestamps."""
    return datetime.datetime.now(datetime.UTC).isoformat()


class Snowflakes:
    """Makes unique, time-ordered snowflake ids like Discord's."""

    def __init__(self) -> None:
        self._counter = itertools.count(1)

    def next(self) -> int:
        """A fresh id whose timestamp part is the current time."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        return (ms << 22) | (next(self._counter) & 0x3FFFFF)

    def next_on(self, shard: int, count: int) -> int:
        """A fresh id that shard ``shard`` of ``count`` holds (``(id >> 22) % count``): its
        timestamp part is moved back to the nearest fitting millisecond."""
        ms = int(time.time() * 1000) - DISCORD_EPOCH_MS
        ms -= (ms - shard) % count
        return (ms << 22) | (next(self._counter) & 0x3FFFFF)


@dataclass
class User:
    """A Discord user; `dms_closed` makes DMs to them fail with 50007."""

    id: int
    name: str
    bot: bool = False
    dms_closed: bool = False
    locale: str = "en-US"


@dataclass
class Role:
    """A guild role; the @everyone role has the guild's id."""

    id: int
    guild_id: int
    name: str
    permissions: int
    managed: bool = False
    position: int = 0


@dataclass
class Member:
    """A user's membership in a guild."""

    user_id: int
    guild_id: int
    roles: list[int]
    joined_at: str = field(default_factory=now_iso)


@dataclass
class Overwrite:
    """A channel permission overwrite for a role (type 0) or a member (type 1)."""

    id: int
    type: int
    allow: int = 0
    deny: int = 0


@dataclass
class Channel:
    """A guild channel, category, thread or DM channel."""

    id: int
    type: int
    name: str = ""
    guild_id: int | None = None
    parent_id: int | None = None
    position: int = 0
    topic: str | None = None
    overwrites: dict[int, Overwrite] = field(default_factory=dict)
    recipients: list[int] = field(default_factory=list)
    owner_id: int | None = None
    archived: bool = False
    locked: bool = False
    invitable: bool = True
    auto_archive_duration: int = 10080
    archive_timestamp: str = field(default_factory=now_iso)
    thread_members: dict[int, str] = field(default_factory=dict)
    last_message_id: int | None = None
    message_count: int = 0

    @property
    def is_thread(self) -> bool:
        """Whether this channel is a thread."""
        return self.type in THREAD_TYPES


@dataclass
class Attachment:
    """A file uploaded with a message; the bytes stay readable by tests."""

    id: int
    filename: str
    data: bytes
    content_type: str | None = None
    description: str | None = None


@dataclass
class Message:
    """A message in a channel, including interaction responses and ephemeral ones."""

    id: int
    channel_id: int
    author_id: int
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    components: list[dict[str, Any]] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    flags: int = 0
    type: int = 0
    nonce: str | int | None = None
    reference: dict[str, Any] | None = None
    mentions: list[int] = field(default_factory=list)
    allowed_mentions: dict[str, Any] | None = None
    timestamp: str = field(default_factory=now_iso)
    edited_timestamp: str | None = None
    application_id: int | None = None
    webhook_id: int | None = None
    interaction_metadata: dict[str, Any] | None = None
    deleted: bool = False

    @property
    def ephemeral(self) -> bool:
        """Whether only the interaction's user sees this message."""
        return bool(self.flags & EPHEMERAL)

    @property
    def files(self) -> dict[str, bytes]:
        """The attached files' bytes by file name."""
        return {a.filename: a.data for a in self.attachments}


@dataclass
class Command:
    """An application command stored at sync, with the id the server assigned."""

    id: int
    application_id: int
    guild_id: int | None
    data: dict[str, Any]

    @property
    def name(self) -> str:
        """The top-level command name."""
        return str(self.data["name"])

    @property
    def type(self) -> int:
        """The command type (1 chat input, 2 user, 3 message)."""
        return int(self.data.get("type", 1))


@dataclass
class Guild:
    """A guild with its roles and members; channels live in the store."""

    id: int
    name: str
    owner_id: int
    roles: dict[int, Role] = field(default_factory=dict)
    members: dict[int, Member] = field(default_factory=dict)


class Store:
    """Everything the fake Discord knows, and the permission rules over it."""

    def __init__(self) -> None:
        self.ids = Snowflakes()
        self.users: dict[int, User] = {}
        self.guilds: dict[int, Guild] = {}
        self.channels: dict[int, Channel] = {}
        self.messages: dict[int, Message] = {}
        self.global_commands: list[Command] = []
        self.guild_commands: dict[int, list[Command]] = {}

    def user(self, user_id: int) -> User | None:
        """The user with this id, if any."""
        return self.users.get(user_id)

    def channels_of(self, guild_id: int) -> list[Channel]:
        """The guild's channels and threads, in creation order."""
        return [c for c in self.channels.values() if c.guild_id == guild_id]

    def messages_of(self, channel_id: int) -> list[Message]:
        """The channel's messages that were not deleted, oldest first."""
        return [m for m in self.messages.values() if m.channel_id == channel_id and not m.deleted]

    def dm_between(self, a: int, b: int) -> Channel | None:
        """The DM channel between two users, if it exists."""
        for channel in self.channels.values():
            if channel.type == DM and sorted(channel.recipients) == sorted((a, b)):
                return channel
        return None

    def base_permissions(self, guild: Guild, user_id: int) -> int:
        """A member's guild-wide permissions from @everyone and their roles."""
        if user_id == guild.owner_id:
            return ALL_PERMISSIONS
        member = guild.members.get(user_id)
        if member is None:
            return 0
        perms = guild.roles[guild.id].permissions
        for role_id in member.roles:
            perms |= guild.roles[role_id].permissions
        return ALL_PERMISSIONS if perms & ADMINISTRATOR else perms

    def permissions(self, user_id: int, channel_id: int) -> int:
        """A user's permissions in a channel, overwrites and thread membership applied."""
        channel = self.channels.get(channel_id)
        if channel is None:
            return 0
        if channel.guild_id is None:
            allowed = VIEW_CHANNEL | SEND_MESSAGES | READ_MESSAGE_HISTORY | ATTACH_FILES
            return allowed if user_id in channel.recipients else 0
        if channel.is_thread:
            assert channel.parent_id is not None
            parent = self.permissions(user_id, channel.parent_id)
            if (channel.type == PRIVATE_THREAD and user_id not in channel.thread_members
                    and not parent & MANAGE_THREADS):
                return 0
            return parent
        guild = self.guilds[channel.guild_id]
        perms = self.base_permissions(guild, user_id)
        if perms == ALL_PERMISSIONS:
            return perms
        perms = self._apply_overwrites(guild, channel, user_id, perms)
        return perms if perms & VIEW_CHANNEL else 0

    def _apply_overwrites(self, guild: Guild, channel: Channel, user_id: int, perms: int) -> int:
        """Apply @everyone, role and member overwrites in Discord's order."""
        everyone = channel.overwrites.get(guild.id)
        if everyone is not None:
            perms = (perms & ~everyone.deny) | everyone.allow
        member = guild.members.get(user_id)
        roles = member.roles if member else []
        allow = deny = 0
        for role_id in roles:
            overwrite = channel.overwrites.get(role_id)
            if overwrite is not None and overwrite.type == 0:
                allow |= overwrite.allow
                deny |= overwrite.deny
        perms = (perms & ~deny) | allow
        own = channel.overwrites.get(user_id)
        if own is not None and own.type == 1:
            perms = (perms & ~own.deny) | own.allow
        return perms

    def can_see(self, user_id: int, channel_id: int) -> bool:
        """Whether the user can view the channel (see the module docstring for the rules)."""
        return bool(self.permissions(user_id, channel_id) & VIEW_CHANNEL)
