"""``twinome discord --config``: the file, the token from the environment, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots import cli
from bots.discord.config import TOKEN_ENV, ConfigError, from_dict, load
from bots.discord.names import read_user

GOOD = {"storage": {"path": "data/t.db"},
        "discord": {"guild_ids": [123456789012345678], "category_name": "Trios",
                    "moderators_channel_id": 223456789012345678}}


def test_a_good_file_and_the_token_from_the_environment(tmp_path: Path) -> None:
    config = from_dict(GOOD, {TOKEN_ENV: "secret"}, base=tmp_path)
    assert config.database == tmp_path / "data/t.db"
    assert config.guild_ids == (123456789012345678,)
    assert config.category_name == "Trios" and config.category_id is None
    assert config.moderators_channel_id == 223456789012345678 and config.token == "secret"


@pytest.mark.parametrize("guilds", [[], None])
def test_no_server_ids_mean_commands_synced_globally(guilds: list[int] | None) -> None:
    table = {k: v for k, v in {**GOOD["discord"], "guild_ids": guilds}.items() if v is not None}
    config = from_dict({**GOOD, "discord": table}, {TOKEN_ENV: "secret"})
    assert config.guild_ids == ()


@pytest.mark.parametrize(("change", "words"), [
    ({"guild_ids": ["x"]}, "guild_ids"),
    ({"guild_ids": 5}, "guild_ids"),
    ({"category_id": 5}, "exactly one"),
    ({"category_name": None}, "exactly one"),
    ({"moderators_channel_id": "chan"}, "moderators_channel_id"),
    ({"token": "oops"}, TOKEN_ENV),
])
def test_bad_values_say_what_to_fix(change: dict[str, object], words: str) -> None:
    table = {k: v for k, v in {**GOOD["discord"], **change}.items() if v is not None}
    with pytest.raises(ConfigError, match=words):
        from_dict({**GOOD, "discord": table}, {TOKEN_ENV: "secret"})


def test_no_token_is_one_clear_line(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    path = tmp_path / "t.toml"
    path.write_text('[storage]\npath = "t.db"\n[discord]\nguild_ids = [1]\n'
                    'category_name = "Trios"\n', "utf-8")
    assert cli.main(["discord", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and TOKEN_ENV in err[0]
    with pytest.raises(ConfigError, match="No configuration file"):
        load(tmp_path / "missing.toml", {})


def test_mentions_name_discord_members() -> None:
    assert read_user("<@123456789>") == "discord:123456789"
    assert read_user("@discord:123456789") == "discord:123456789"
    assert read_user("discord:123456789") == "discord:123456789"
    assert read_user("@alice") is None
