"""Commands in French: the table's French names, help and errors in the reader's language,
``language``, and a French greeting answered in French."""

from __future__ import annotations

import re

import pytest

from core import grammar
from core.effects import Reply
from core.errors import ParseError
from core.events import Typed
from core.i18n import render
from core.textrules import fold
from tests.conftest import form_trio
from tests.helpers import Harness, replies

_SAMPLE = {grammar.Kind.USER: "@bob", grammar.Kind.INT: "2", grammar.Kind.WORD: "1h",
           grammar.Kind.SKILL: "python", grammar.Kind.SKILL_REST: "python",
           grammar.Kind.REST: "un mot", grammar.Kind.NAME: "Les Trois"}


def _line(command: grammar.Command, lang: str, spell: str | None = None) -> str:
    """A well-formed line of ``command`` in ``lang``, its required arguments filled in."""
    words = [spell or command.name_in(lang)]
    for arg in command.args:
        if arg.required:
            words.append(grammar.choice_in(arg.choices[0], lang) if arg.choices
                         else _SAMPLE[arg.kind])
    return " ".join(words)


@pytest.mark.parametrize("command", grammar.COMMANDS, ids=lambda c: c.name)
def test_every_french_name_reads_as_its_english_one(command: grammar.Command) -> None:
    assert command.fr, f"{command.name} has no French name"
    english, french = grammar.parse(_line(command, "en")), grammar.parse(_line(command, "fr"))
    assert french.command is english.command is command
    assert french.args == english.args
    bare = grammar.parse(_line(command, "fr", fold(command.fr).upper()))  # no accents, no case
    assert bare.command is command and bare.args == english.args


def test_french_names_are_valid_discord_names_and_never_clash() -> None:
    valid = re.compile(r"^[-_\w]{1,32}$")
    for command in grammar.COMMANDS:
        for word in command.words_in("fr"):
            assert valid.match(word) and word == word.lower(), command.fr
        names = [a.name_in("fr") for a in command.args]
        assert len(set(names)) == len(names), command.name
        for name in names:
            assert valid.match(name) and name == name.lower(), (command.name, name)
    assert grammar.group_in("privacy", "fr") == "données"
    assert grammar.group_in("trio", "fr") == "trio"
    assert len({fold(c.fr) for c in grammar.COMMANDS}) == len(grammar.COMMANDS)


@pytest.mark.parametrize(("line", "name", "args"), [
    ("données oublier confirmer", "privacy forget", {"confirm": "confirm"}),
    ("donnees forget", "privacy forget", {"confirm": None}),
    ("privacy oublier", "privacy forget", {"confirm": None}),
    ("chercher fin", "unseek", {}),
    ("chercher", "seek", {}),
    ("sos fin", "sos end", {}),
    ("sos une semaine dure", "sos", {"note": "une semaine dure"}),
    ("proposer retirer 3", "propose withdraw", {"id": 3}),
    ("proposer un fil sur la lecture", "propose", {"text": "un fil sur la lecture"}),
    ("mentor proposer @carol python", "mentor offer", {"user": "@carol", "skill": "python"}),
    ("trio réglages expiration 2j", "trio settings", {"key": "proposal_expiry", "value": "2j"}),
    ("trio reglages", "trio settings", {"key": None, "value": None}),
    ("vote 1 oui", "vote", {"id": 1, "vote": "yes"}),
    ("vote #2 NON", "vote", {"id": 2, "vote": "no"}),
    ("match accepter 2", "match", {"answer": "accept", "id": 2}),
    ("match refuser", "match", {"answer": "decline", "id": None}),
    ("trio nouveau Les Trois confirmer", "trio new", {"name": "Les Trois", "confirm": "confirm"}),
    ("compétences retirer cuisine", "skills", {"action": "remove", "skill": "cuisine"}),
    ("Trio Désinviter @bob", "trio uninvite", {"user": "@bob"}),
    ("langue fr", "language", {"code": "fr"}),
    ("langues fr en", "languages", {"codes": "fr en"}),
])
def test_french_words_and_choices_in_any_mix(line: str, name: str, args: dict[str, object]) -> None:
    inv = grammar.parse(line)
    assert (inv.command.name, inv.args) == (name, args)


def test_typed_commands_keep_their_english_names() -> None:
    assert grammar.from_typed(Typed("trio new", {"name": "Les Trois"})).args["name"] == "Les Trois"
    assert grammar.from_typed(Typed("vote", {"id": 1, "vote": "oui"})).args["vote"] == "yes"
    with pytest.raises(ParseError):
        grammar.from_typed(Typed("trio nouveau"))


@pytest.mark.parametrize(("line", "english", "french"), [
    ("trio nouvau", "Did you mean !trio nouveau?", "Vouliez-vous dire !trio nouveau?"),
    ("tiro new", "Did you mean !trio new?", "Vouliez-vous dire !trio new?"),
    ("statistique", "Did you mean !statistiques?", "Vouliez-vous dire !statistiques?"),
    ("aied", "Did you mean !aide?", "Vouliez-vous dire !aide?"),
    ("donnees", "needs one more word: export, forget", "demande un mot de plus: exporter, oublier"),
    ("vote 1 peut-être", "not one of: yes, no", "n’est pas l’un de ces mots: oui, non"),
    ("mentor demander @bob", "!mentor ask needs <skill>", "Il manque <compétence> à !mentor demander"),
    ("vote 1 ouii", "Did you mean oui?", "Vouliez-vous dire oui?"),
    ("tuor", "Did you mean !turn?", "Vouliez-vous dire !tour?"),  # as near both: the reader's
    ("donnees exprter", "Did you mean !donnees exporter?", "Vouliez-vous dire !donnees exporter?"),
    ("privacy exprot", "Did you mean !privacy export?", "Vouliez-vous dire !privacy export?"),
])
def test_errors_and_did_you_mean_in_both_languages(line: str, english: str, french: str) -> None:
    with pytest.raises(ParseError) as err:
        grammar.parse(line)
    said = err.value.message + "\n" + (err.value.hint or "")
    assert english in render(said, "en")
    assert french in render(said, "fr")


def test_usage_lines_are_built_from_the_names_of_each_language() -> None:
    invite = grammar.BY_NAME["trio invite"]
    assert invite.usage() == "!trio invite [@user]"
    assert render(invite.usage(), "fr") == "!trio inviter [@utilisateur]"
    assert invite.usage("!", "fr") == "!trio inviter [@utilisateur]"
    vote = grammar.BY_NAME["vote"]
    assert render(vote.usage(), "fr") == "!vote <numéro> <oui|non>"


def test_help_in_french() -> None:
    text = render(grammar.help_text(), "fr")
    assert text.startswith("Twinome: des trios de trois personnes qui se soutiennent.")
    assert "Former un trio:" in text and "Start a trio" not in text
    assert "  !trio nouveau [nom] [confirmer] — Lancer un trio;" in text
    assert "!données oublier [confirmer]" in text
    assert text.endswith("Tapez !aide <commande> pour le détail, par exemple !aide trio nouveau.")
    for command in grammar.COMMANDS:
        assert f"{command.usage('!', 'fr')} —" in text
    one = render(grammar.help_text("trio nouveau"), "fr")
    assert one.startswith("!trio nouveau [nom] [confirmer]\nLancer un trio")
    assert "Exemple: !trio nouveau Les Trois" in one
    assert render(grammar.help_text("trio new"), "fr") == one  # asked in English, said in French
    assert "!sos fin — " in render(grammar.help_text("sos"), "fr")
    assert "!chercher fin — " in render(grammar.help_text("chercher"), "fr")
    with pytest.raises(ParseError) as err:
        grammar.help_text("reglagse trio")
    assert "Il n’y a pas de commande" in render(err.value.message, "fr")


async def test_help_and_help_tour_answer_a_french_reader_in_french(h: Harness) -> None:
    await h.speaks("amelie", "fr")
    [reply] = await h.say("amelie", "aide")
    assert "!trio nouveau [nom] [confirmer] — Lancer un trio" in reply.text
    assert "Échanger à votre rythme:" in reply.text
    [reply] = await h.say("amelie", "aide tour")
    assert reply.text.splitlines()[:2] == [
        "!tour", "Qui attend une réponse de qui, depuis quand, et qui est absent."]
    [reply] = await h.say("bob", "aide tour")  # French words, English reader
    assert reply.text.splitlines()[:2] == [
        "!turn", "Who owes whom a reply, since when, and who is away."]


async def test_a_parse_error_reaches_a_french_reader_in_french(h: Harness) -> None:
    await h.speaks("amelie", "fr")
    [reply] = await h.say("amelie", "trio nouvau Les Trois")
    assert reply.error
    assert reply.text == ("Je ne connais pas la commande « trio nouvau ».\n"
                          "Vouliez-vous dire !trio nouveau?")


async def test_language_sets_it_and_answers_in_the_new_one(h: Harness) -> None:
    [reply] = await h.say("zoe", "langue fr")
    assert reply.text.startswith("Désormais, je vous écris en français.")
    assert "!trio réglages langue" in reply.text
    [reply] = await h.say("zoe", "help turn")
    assert reply.text.startswith("!tour\n")
    [reply] = await h.say("zoe", "language")
    assert reply.text == ("Je vous écris en français, comme vous l’avez choisi.\n"
                          "Pour choisir: !langue en / !langue fr")
    [reply] = await h.say("zoe", "langue English")
    assert reply.text.startswith("From now on I write to you in English.")
    [reply] = await h.say("zoe", "language klingon")
    assert reply.error and "I speak: en (English), fr (français)." in reply.text
    [reply] = await h.say("zoe", "language fr-FR")
    assert "français" in reply.text


async def test_language_alone_says_how_the_default_is_chosen(h: Harness) -> None:
    [reply] = await h.say("yan", "language")
    assert reply.text.startswith("I write to you in English: you have not chosen a language, "
                                 "so I use this bot's default.")
    assert reply.text.endswith("To choose: !language en / !language fr")


async def test_a_french_greeting_is_answered_in_french(h: Harness) -> None:
    [reply] = await h.say("zoe", "Bonjour !")
    assert isinstance(reply, Reply)
    assert reply.text.startswith("Bonjour! Je suis Twinome: j’aide des personnes à former des trios")
    assert "!trio nouveau <nom>" in reply.text
    async with h.core.db.read() as tx:
        row = await tx.one("SELECT language, locale FROM members WHERE id = 'zoe'")
    assert row is not None and (row[0], row[1]) == (None, "fr")  # a hint, not a choice
    [reply] = await h.say("zoe", "help")
    assert "Former un trio:" in reply.text
    [reply] = await h.say("zoe", "language")
    assert "je suis celle de votre application, ou celle dans laquelle vous m’avez salué" in reply.text
    [reply] = await h.say("zoe", "merci, comment rejoindre un trio ?")
    assert "Ceci pourrait vous aider: !aide trio rejoindre, !aide trio nouveau." in reply.text


async def test_an_english_greeting_after_a_french_one_is_answered_in_english(h: Harness) -> None:
    [reply] = await h.say("zoe", "salut")
    assert reply.text.startswith("Bonjour!")
    [reply] = await h.say("zoe", "hello")
    assert reply.text.startswith("Hello! I'm Twinome")
    [reply] = await h.say("zoe", "help")
    assert "Start a trio:" in reply.text
    async with h.core.db.read() as tx:
        row = await tx.one("SELECT language, locale FROM members WHERE id = 'zoe'")
    assert row is not None and (row[0], row[1]) == (None, "en")


async def test_a_french_greeting_does_not_override_a_chosen_language(h: Harness) -> None:
    await h.say("bob", "language en")
    [reply] = await h.say("bob", "salut")
    assert reply.text.startswith("Hello! I'm Twinome")
    [reply] = await h.say("carl", "hello")
    assert reply.text.startswith("Hello! I'm Twinome")


async def test_commands_in_french_act_like_english_ones(h: Harness) -> None:
    await h.speaks("alice", "fr")
    await form_trio(h)
    [reply] = await h.say("bob", "trio charte")
    assert reply.text.startswith("The twinome charter\n1. Each of you talks")
    out = await h.say("alice", "tour", room=1)  # a private command, even typed in French
    assert [e.private for e in out if isinstance(e, Reply)] == [True]
    assert replies(await h.say("bob", "absent 2j déménagement"))


@pytest.mark.parametrize("line", ["bla bla", "blah", "bof", "hmm ok"])
def test_chatter_that_only_shares_letters_with_a_command_is_free_text(line: str) -> None:
    assert grammar.chatter(line.split())


@pytest.mark.parametrize("line", ["trun", "tuor", "bilna", "aied"])
def test_a_typo_of_a_command_word_is_not_chatter(line: str) -> None:
    assert not grammar.chatter(line.split())
