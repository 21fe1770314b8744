"""Choices on text platforms: the commands to type, in the words of the notice's language."""

from __future__ import annotations

import pytest

from bots.adapter.text import spoken, with_choices
from core import grammar
from core.effects import Notify, choice
from tests.helpers import Harness

ASKED = (choice("Accept", "trio accept K7QX-2MPD"), choice("Decline", "trio decline K7QX-2MPD"))


def test_an_english_notice_shows_the_commands_as_they_are() -> None:
    assert with_choices("Join?", ASKED, "!", "en") == (
        "Join?\n→ Accept: !trio accept K7QX-2MPD · Decline: !trio decline K7QX-2MPD")
    assert with_choices("Join?", ASKED, "!") == with_choices("Join?", ASKED, "!", "en")
    assert with_choices("Nothing to pick.", (), "!", "fr") == "Nothing to pick."


def test_a_french_notice_shows_the_commands_in_french() -> None:
    assert with_choices("Rejoindre ?", ASKED, "!", "fr") == (
        "Rejoindre ?\n→ Accept: !trio accepter K7QX-2MPD · Decline: !trio refuser K7QX-2MPD")


@pytest.mark.parametrize(("command", "french"), [
    ("vote 2 yes", "vote 2 oui"),
    ("vote #1 3 no", "vote #1 3 non"),
    ("trio leave #4 confirm", "trio quitter #4 confirmer"),
    ("privacy forget confirm", "données oublier confirmer"),
    ("match accept 7", "match accepter 7"),
    ("mentor end #2 5", "mentor finir #2 5"),
    ("session confirm #1 3", "session confirmer #1 3"),
    ("propose withdraw 2", "proposer retirer 2"),
    ("trio rename #1 Yes Confirm", "trio renommer #1 Yes Confirm"),  # a name stays a name
    ("sos I said no", "sos I said no"),  # a free text is never translated
    ("not a command", "not a command"),
])
def test_only_command_and_answer_words_are_translated(command: str, french: str) -> None:
    assert spoken(command, "fr") == french
    assert spoken(command, "en") == command


async def test_choices_follow_the_language_of_the_notice_they_come_with(h: Harness) -> None:
    await h.speaks("bob", "fr")
    await h.say("carol", "help")
    await h.say("alice", "trio new Duo")
    out = await h.say("alice", "trio invite @bob") + await h.say("alice", "trio invite @carol")
    said = {e.to: with_choices(e.text, e.choices, "!", e.lang)
            for e in out if isinstance(e, Notify) and e.choices}
    assert [e.lang for e in out if isinstance(e, Notify) and e.to == "bob"] == ["fr"]
    assert "→" in said["bob"] and "!trio accepter " in said["bob"] and "!trio refuser " in said["bob"]
    assert "!trio accept " in said["carol"].split("→")[1] and "accepter" not in said["carol"]


@pytest.mark.parametrize("command", ["vote 2 yes", "trio leave #4 confirm", "match accept 7",
                                     "privacy forget confirm", "trio accept K7QX-2MPD",
                                     "session confirm #1 3", "propose withdraw 2"])
def test_a_command_shown_in_french_is_understood_as_the_same_command(command: str) -> None:
    english, french = grammar.parse(command), grammar.parse(spoken(command, "fr"))
    assert (french.command.name, french.args, french.trio) == (
        english.command.name, english.args, english.trio)
