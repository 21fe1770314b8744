"""Notices on text platforms (console, Matrix): choices shown as the commands to type.

A choice's command is English (``trio accept K7QX``): the core understands commands in
every language, so that is what it stores. A reader of another language is shown the
command in their words (``trio accepter K7QX``): the command's own words and its answer
words (``yes``, ``confirm``) are said in the notice's language; names, codes and numbers
stay as they are.
"""

from __future__ import annotations

from core import grammar
from core.effects import Choice
from core.errors import ParseError

# The words of each command and answer, in the languages other than English (the names
# the grammar understands as aliases).
COMMAND_WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "help": "aide", "trio new": "trio nouveau", "trio rename": "trio renommer",
        "trio invite": "trio inviter", "trio join": "trio rejoindre",
        "trio accept": "trio accepter", "trio decline": "trio refuser",
        "trio revoke": "trio révoquer", "trio uninvite": "trio désinviter",
        "trio leave": "trio quitter", "trio list": "trio liste", "trio info": "trio infos",
        "trio charter": "trio charte", "trio settings": "trio réglages", "turn": "tour",
        "away": "absent", "back": "retour", "quiet": "calme", "timezone": "fuseau",
        "offer": "offre", "want": "souhait", "skills": "compétences",
        "mentor ask": "mentor demander", "mentor offer": "mentor proposer",
        "mentor accept": "mentor accepter", "mentor end": "mentor finir",
        "session log": "session noter", "session confirm": "session confirmer",
        "session withdraw": "session retirer", "ledger": "bilan", "sos end": "sos fin",
        "propose": "proposer", "propose withdraw": "proposer retirer", "languages": "langues",
        "language": "langue", "seek": "chercher", "unseek": "chercher fin",
        "block": "bloquer", "unblock": "débloquer", "report": "signaler",
        "stats": "statistiques", "privacy export": "données exporter",
        "privacy forget": "données oublier",
    },
}
ANSWER_WORDS: dict[str, dict[str, str]] = {
    "fr": {"yes": "oui", "no": "non", "confirm": "confirmer", "accept": "accepter",
           "decline": "refuser", "remove": "retirer", "ready": "prêt"},
}


def with_choices(text: str, choices: tuple[Choice, ...], prefix: str, lang: str = "en") -> str:
    """``text`` followed by one line of its choices: each label and the command that picks it."""
    if not choices:
        return text
    options = " · ".join(f"{c.label}: {prefix}{spoken(c.command, lang)}" for c in choices)
    return f"{text}\n→ {options}"


def command_name(name: str, lang: str) -> str:
    """A command's name (``trio accept``) as a reader of ``lang`` types it."""
    return COMMAND_WORDS.get(lang, {}).get(name, name)


def spoken(command: str, lang: str) -> str:
    """A command as a reader of ``lang`` types it: its words and answer words in ``lang``."""
    answers = ANSWER_WORDS.get(lang)
    if answers is None:
        return command
    try:
        invocation = grammar.parse(command)
    except ParseError:
        return command
    name = invocation.command.name
    tokens = command.split(" ")
    head = len(invocation.command.words)
    chosen = {str(v).casefold() for a, v in invocation.args.items()
              if any(arg.name == a and arg.kind is grammar.Kind.CHOICE
                     for arg in invocation.command.args)}
    tail = [answers.get(t.casefold(), t) if t.casefold() in chosen else t
            for t in tokens[head:]]
    return " ".join([command_name(name, lang), *tail])
