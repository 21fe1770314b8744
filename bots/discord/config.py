"""The Discord adapter's configuration: a TOML file for settings, the environment for the token."""

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
    )


def _snowflake(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < 2 ** 64

