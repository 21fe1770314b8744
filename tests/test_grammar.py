"""The command table, parser and help texts."""

from __future__ import annotations

from datetime import timedelta

import pytest

from core import features, grammar
from core.errors import ParseError
from core.events import Typed
from core.textrules import parse_duration


def test_every_command_has_a_handler() -> None:
    assert set(features.COMMANDS) == {c.name for c in grammar.COMMANDS} | {grammar.CHAT.name}


def test_rest_text_keeps_apostrophes_and_spacing() -> None:
    inv = grammar.parse("session log @bob python 1h30 it's  great")
    assert inv.args == {"user": "@bob", "skill": "python", "duration": "1h30", "note": "it's  great",
                        "confirm": None}


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


def test_a_word_that_is_a_command_and_a_group_reads_both() -> None:
    assert grammar.parse("sos end").command.name == "sos end"
    assert grammar.parse("sos rough week").args == {"note": "rough week"}
    assert grammar.parse("propose withdraw 3").args == {"id": 3}
    with pytest.raises(ParseError) as asked:  # not sos end with extra words: an SOS, asked
        grammar.parse("sos end of my rope")
    assert [c.command for c in asked.value.choices] == ["sos end", 'sos "end of my rope"']
    assert "sos end" in grammar.help_text("sos")


def test_a_rest_argument_leaves_a_last_choice_word() -> None:
    assert grammar.parse("trio new Les Copains confirm").args == {
        "name": "Les Copains", "confirm": "confirm"}
    assert grammar.parse("trio new confirm").args == {"name": None, "confirm": "confirm"}
    assert grammar.parse('trio new "Please confirm"').args == {
        "name": "Please confirm", "confirm": None}


@pytest.mark.parametrize("line", ["propose cancel", "propose Undo that", "sos stop.",
                                  "plan withdraw", "report @bob annuler",
                                  "session log @bob py 1h cancel"])
def test_a_free_text_starting_with_a_cancel_word_asks(line: str) -> None:
    with pytest.raises(ParseError) as asked:
        grammar.parse(line)
    assert "did nothing" in asked.value.message and asked.value.choices


def test_a_cancel_word_elsewhere_or_in_quotes_is_text() -> None:
    assert grammar.parse("propose we cancel the fees").args["text"] == "we cancel the fees"
    assert grammar.parse("propose “stop plastic”").args["text"] == "stop plastic"
    assert grammar.parse("propose end-of-year party").args["text"] == "end-of-year party"


def test_a_typed_free_text_is_guarded_too() -> None:
    with pytest.raises(ParseError) as asked:
        grammar.from_typed(Typed("sos", {"note": "cancel"}, "les-trois"))
    assert [c.command for c in asked.value.choices] == ["sos end #les-trois"]
    assert grammar.from_typed(Typed("sos", {"note": '"cancel"'})).args == {"note": "cancel"}
