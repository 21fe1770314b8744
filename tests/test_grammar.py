"""The command table, parser and help texts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import features, grammar
from core.errors import ParseError
from core.textrules import parse_duration


def test_every_command_has_a_handler() -> None:
    assert set(features.COMMANDS) == {c.name for c in grammar.COMMANDS}


def test_rest_text_keeps_apostrophes_and_spacing() -> None:
    inv = grammar.parse("session log @bob python 1h30 it's  great")
    assert inv.args == {"user": "@bob", "skill": "python", "duration": "1h30", "note": "it's  great"}


def test_quoted_skill_and_trio_selector() -> None:
    inv = grammar.parse('mentor ask #les-trois @bob "Public Speaking"')
    assert inv.trio == "les-trois"
    assert inv.args == {"user": "@bob", "skill": "public speaking"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("tiro new", "Did you mean !trio new?"),
        ("ledgr", "Did you mean !ledger?"),
        ("trio", "needs one more word"),
        ("vote 3 maybe", "not one of: yes, no"),
        ("vote three yes", "is not a number"),
        ("mentor ask @bob", "needs <skill>"),
        ("turn now please", "did not expect"),
        ("sos " + "x" * 600, "too long"),
        ("propose hello\x07world", "control character"),
        ("", "empty"),
    ],
)
def test_bad_input_gets_a_friendly_error(line: str, expected: str) -> None:
    with pytest.raises(ParseError) as err:
        grammar.parse(line)
    assert expected in err.value.message + " " + (err.value.hint or "")


def test_help_lists_every_command_and_explains_one() -> None:
    text = grammar.help_text()
    for c in grammar.COMMANDS:
        assert f"{c.usage()} —" in text  # with the syntax of each command
    heads = [line[:-1] for line in text.splitlines() if line.endswith(":")]
    assert heads[:6] == ["Start a trio", "Talk and keep your rhythm", "Mentoring", "Hard times",
                         "Privacy and safety", "Matchmaking"]
    assert "Other" not in heads, "every command is under what people want to do"
    mentoring = text.split("Mentoring:\n")[1].split("Hard times:")[0]
    assert "!offer <skill>" in mentoring and "!mentor ask <@user> <skill>" in mentoring
    one = grammar.help_text("session log")
    assert one.startswith("!session log <@user> <skill> <duration> [note]")
    with pytest.raises(ParseError, match="There is no command"):
        grammar.help_text("sesion")


@pytest.mark.parametrize(
    ("text", "minutes"), [("45m", 45), ("1h30", 90), ("2h", 120), ("1h 15m", 75), ("3d", 4320)]
)
def test_durations(text: str, minutes: int) -> None:
    got = parse_duration(text, least=timedelta(0), most=timedelta(days=10), what="duration")
    assert got == timedelta(minutes=minutes)


@pytest.mark.parametrize("text", ["", "abc", "5x", "-3m", "1h30x"])
def test_bad_durations(text: str) -> None:
    with pytest.raises(ParseError):
        parse_duration(text, least=timedelta(0), most=timedelta(days=10), what="duration")


def test_skill_length_is_bounded_by_the_parser() -> None:
    with pytest.raises(ParseError, match="too long"):
        grammar.parse("offer " + "k" * 41)
    assert grammar.parse("offer " + "K" * 40).args["skill"] == "k" * 40


@pytest.mark.parametrize("line", ["trio new \ud800", "propose a\udfffb", "vote \ud800 yes"])
def test_lone_surrogates_are_refused_before_anything_echoes_them(line: str) -> None:
    with pytest.raises(ParseError, match="cannot read"):
        grammar.parse(line)
