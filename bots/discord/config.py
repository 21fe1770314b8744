"""The Discord adapter's configuration: a TOML file for settings, the environment for the token.

Shards. ``[discord] shard_count`` splits the bot's servers into that many gateway shards
(a server belongs to shard ``(server id >> 22) % shard_count``); ``shard_ids`` are the
ones this process runs, the others being run by other processes on the same database.
Those processes must share it, so ``shard_ids`` short of every shard needs ``[storage]
url`` (PostgreSQL): a SQLite file is for one process on one machine. ``shard_count``
alone runs every shard in this process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bots.adapter.startup import ConfigError as ConfigError
from bots.adapter.startup import default_language, read_toml, storage, table
from core.i18n import SOURCE

TOKEN_ENV = "TWINOME_DISCORD_TOKEN"


@dataclass(frozen=True)
class DiscordConfig:
    """Everything the bot needs to run on Discord (the token included, read from the environment)."""

    database: Path | str  # a SQLite file, or a PostgreSQL URL (see startup.storage)
    guild_ids: tuple[int, ...]  # where commands are synced; none: globally, every server
    token: str
    category_name: str | None = None
    category_id: int | None = None
    moderators_channel_id: int | None = None
    default_language: str = SOURCE  # [bot] default_language: for who has not chosen one
    shard_count: int | None = None  # none: one connection, no shards
    shard_ids: tuple[int, ...] | None = None  # the shards this process runs; none: all of them

    @property
    def sharded(self) -> bool:
        """Whether the bot runs as shards (``shard_count`` given)."""
        return self.shard_count is not None

    @property
    def some_shards(self) -> bool:
        """Whether other processes run some of the shards (``shard_ids`` short of all)."""
        return (self.shard_count is not None and self.shard_ids is not None
                and len(self.shard_ids) < self.shard_count)

    def holds(self, guild_id: int) -> bool:
        """Whether this process runs the shard of a server (every server without shards)."""
        if self.shard_count is None or self.shard_ids is None:
            return True
        return (guild_id >> 22) % self.shard_count in self.shard_ids

    @property
    def holds_direct(self) -> bool:
        """Whether this process runs shard 0, which Discord gives the direct messages (and
        which so carries the effects bound to no server)."""
        return self.shard_ids is None or 0 in self.shard_ids


def load(path: Path, env: Mapping[str, str] | None = None) -> DiscordConfig:
    """Read the TOML file at ``path`` and the token from ``env`` (the process environment)."""
    env = os.environ if env is None else env
    return from_dict(read_toml(path), env, base=path.parent)


def from_dict(data: Mapping[str, Any], env: Mapping[str, str], base: Path = Path()) -> DiscordConfig:
    """Build the configuration from parsed TOML; relative paths are read from ``base``."""
    database = storage(data, base)
    discord = table(data, "discord")
    if "token" in discord:
        raise ConfigError(f"Remove [discord] token from the file: the token comes from {TOKEN_ENV}.")
    guilds = discord.get("guild_ids", [])
    if not isinstance(guilds, list) or not all(_snowflake(g) for g in guilds):
        raise ConfigError("[discord] guild_ids must be a list of server ids, like "
                          "[123456789012345678], or empty (commands synced globally).")
    name, number = discord.get("category_name"), discord.get("category_id")
    if (name is None) == (number is None):
        raise ConfigError("[discord] needs exactly one of category_name or category_id "
                          "(where trio channels go).")
    if name is not None and (not isinstance(name, str) or not name.strip() or len(name) > 100):
        raise ConfigError("[discord] category_name must be a non-empty name of at most 100 characters.")
    if number is not None and not _snowflake(number):
        raise ConfigError("[discord] category_id must be a channel id (a number).")
    moderators = discord.get("moderators_channel_id")
    if moderators is not None and not _snowflake(moderators):
        raise ConfigError("[discord] moderators_channel_id must be a channel id (a number).")
    count, ids = _shards(discord, database)
    token = (env.get(TOKEN_ENV) or "").strip()
    if not token:
        raise ConfigError(f"Set {TOKEN_ENV} (the bot's token) in the environment.")
    return DiscordConfig(
        database=database,
        guild_ids=tuple(guilds),
        token=token,
        category_name=name.strip() if isinstance(name, str) else None,
        category_id=number,
        moderators_channel_id=moderators,
        default_language=default_language(data),
        shard_count=count,
        shard_ids=ids,
    )


def _shards(discord: Mapping[str, Any], database: Path | str) -> tuple[int | None, tuple[int, ...] | None]:
    """``shard_count`` and ``shard_ids``, checked (see the module docstring)."""
    count, ids = discord.get("shard_count"), discord.get("shard_ids")
    if count is None:
        if ids is not None:
            raise ConfigError("[discord] shard_ids needs shard_count (how many shards in all).")
        return None, None
    if not _number(count) or count < 1:
        raise ConfigError("[discord] shard_count must be a whole number of at least 1.")
    if ids is None:
        return count, None
    if not isinstance(ids, list) or not ids or not all(_number(i) for i in ids):
        raise ConfigError("[discord] shard_ids must be a non-empty list of shard numbers, like [0, 1].")
    if any(not 0 <= i < count for i in ids) or len(set(ids)) != len(ids):
        raise ConfigError(f"[discord] shard_ids must be different numbers from 0 to {count - 1} "
                          "(shard_count - 1).")
    if len(ids) < count and isinstance(database, Path):
        raise ConfigError("[discord] shard_ids runs only some shards, so other processes run the "
                          "rest: they need one shared database, [storage] url (PostgreSQL), not a "
                          "SQLite file.")
    return count, tuple(sorted(ids))


def _number(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _snowflake(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2 ** 64

