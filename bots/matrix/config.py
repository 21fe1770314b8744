"""The Matrix adapter's configuration: a TOML file for settings, the environment for secrets."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bots.adapter.startup import ConfigError as ConfigError
from bots.adapter.startup import default_language, read_toml, storage, table

PASSWORD_ENV = "TWINOME_MATRIX_PASSWORD"
TOKEN_ENV = "TWINOME_MATRIX_ACCESS_TOKEN"
TRUST_MODES = ("tofu", "ignore")



@dataclass(frozen=True)
class MatrixConfig:
    """Everything the bot needs to run on Matrix (secrets included, read from the environment)."""

    database: Path | str  # a SQLite file, or a PostgreSQL URL (see startup.storage)
    homeserver: str
    user_id: str
    store_dir: Path
    device_name: str = "Twinome bot"
    prefix: str = "!"
    trust: str = "tofu"
    moderators_room: str | None = None
    password: str | None = None
    access_token: str | None = None
    language: str = "en"  # [bot] default_language: also the language of the command list

    @property
    def server_name(self) -> str:
        """The bot's own server, the part of its user id after the colon."""
        return self.user_id.split(":", 1)[1]


def load(path: Path, env: Mapping[str, str] | None = None) -> MatrixConfig:
    """Read the TOML file at ``path`` and the secrets from ``env`` (the process environment)."""
    env = os.environ if env is None else env
    return from_dict(read_toml(path), env, base=path.parent)


def from_dict(data: Mapping[str, Any], env: Mapping[str, str], base: Path = Path()) -> MatrixConfig:
    """Build the configuration from parsed TOML; relative paths are read from ``base``."""
    database = storage(data, base)
    matrix = table(data, "matrix")
    user_id = _text(matrix, "matrix", "user_id")
    if not user_id.startswith("@") or ":" not in user_id:
        raise ConfigError(f"[matrix] user_id must look like @twinome:example.org, not {user_id!r}.")
    homeserver = _text(matrix, "matrix", "homeserver")
    if not homeserver.startswith(("http://", "https://")):
        raise ConfigError("[matrix] homeserver must be a URL like https://matrix.example.org.")
    trust = _text(matrix, "matrix", "trust", "tofu")
    if trust not in TRUST_MODES:
        raise ConfigError(f"[matrix] trust must be one of {', '.join(TRUST_MODES)}, not {trust!r}.")
    prefix = _text(matrix, "matrix", "command_prefix", "!")
    if len(prefix) != 1 or prefix.isalnum() or prefix.isspace():
        raise ConfigError("[matrix] command_prefix must be one punctuation character, like !.")
    for secret in ("password", "access_token"):
        if secret in matrix:
            raise ConfigError(f"Remove [matrix] {secret} from the file: secrets come from "
                              f"{PASSWORD_ENV} or {TOKEN_ENV}.")
    password, token = env.get(PASSWORD_ENV) or None, env.get(TOKEN_ENV) or None
    if password is None and token is None:
        raise ConfigError(f"Set {PASSWORD_ENV} (the bot account's password) or {TOKEN_ENV} "
                          f"(an access token) in the environment.")
    moderators = matrix.get("moderators_room") or None
    if moderators is not None and not (isinstance(moderators, str) and moderators[:1] in "!#"):
        raise ConfigError("[matrix] moderators_room must be a room id (!…) or alias (#…).")
    return MatrixConfig(
        database=database,
        homeserver=homeserver.rstrip("/"),
        user_id=user_id,
        store_dir=base / _text(matrix, "matrix", "store_dir"),
        device_name=_text(matrix, "matrix", "device_name", "Twinome bot"),
        prefix=prefix,
        trust=trust,
        moderators_room=moderators,
        password=password,
        access_token=token,
        language=default_language(data),
    )



def _text(table: Mapping[str, Any], section: str, key: str, default: str | None = None) -> str:
    value = table.get(key, default)
    if value is None:
        raise ConfigError(f"The configuration needs [{section}] {key}.")
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"[{section}] {key} must be a non-empty string.")
    return value.strip()
