"""What every bot's startup shares: the ``[bot]`` table of the configuration."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots.adapter.startup import ConfigError, default_language, read_toml


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
