"""What every bot's startup shares: the ``[bot]`` table of the configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots.adapter.startup import ConfigError, default_language, read_toml, storage
from core.storage.postgres import PASSWORD_ENV


def test_the_default_language_is_english_unless_the_file_says(tmp_path: Path) -> None:
    assert default_language({}) == "en"
    assert default_language({"bot": {}}) == "en"
    path = tmp_path / "twinome.toml"
    path.write_text('[bot]\ndefault_language = "fr"\n', encoding="utf-8")
    assert default_language(read_toml(path)) == "fr"


@pytest.mark.parametrize("toml", ['[bot]\ndefault_language = "de"\n',
                                  '[bot]\ndefault_language = 3\n', 'bot = "fr"\n'])
def test_a_wrong_default_language_is_one_clear_line_when_the_file_is_read(
        tmp_path: Path, toml: str) -> None:
    path = tmp_path / "twinome.toml"
    path.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        read_toml(path)
    said = str(caught.value)
    assert "[bot]" in said and "\n" not in said
    if '"de"' in toml:
        assert "default_language must be one of en, fr, not 'de'" in said


def test_storage_is_a_sqlite_file_or_a_postgresql_url(tmp_path: Path) -> None:
    assert storage({"storage": {"path": "data/t.db"}}, tmp_path) == tmp_path / "data/t.db"
    url = "postgresql://twinome@db.example.org:5432/twinome"
    assert storage({"storage": {"url": f" {url} "}}, tmp_path) == url


@pytest.mark.parametrize(("table", "said"), [
    ({}, "exactly one of path"),
    ({"path": "a.db", "url": "postgresql://h/db"}, "exactly one of path"),
    ({"url": "mysql://h/db"}, "must look like postgresql://"),
    ({"url": "postgresql://twinome:hunter2@h/db"}, "TWINOME_DATABASE_PASSWORD"),
    ({"path": " "}, "non-empty"),
])
def test_a_wrong_storage_table_says_what_to_fix(table: dict[str, str], said: str) -> None:
    with pytest.raises(ConfigError) as caught:
        storage({"storage": table})
    assert said in str(caught.value) and "hunter2" not in str(caught.value)


def test_the_database_password_comes_from_the_url_else_the_environment() -> None:
    from core.storage import postgres
    url = "postgresql://twinome@db.example.org/twinome"
    assert postgres._password(url, {PASSWORD_ENV: "sesame"}) == "sesame"
    assert postgres._password(url, {}) is None
    inline = "postgresql://twinome:own@db.example.org/twinome"
    assert postgres._password(inline, {PASSWORD_ENV: "sesame"}) == "own"
    assert postgres.shown(inline) == "postgresql://twinome:***@db.example.org/twinome"
