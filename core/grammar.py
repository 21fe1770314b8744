"""The one command table: the parser, the help texts and every adapter's command list.

A command line is ``<words> [#trio] <arguments>``. The words name the command (one or two
of them: ``turn``, ``trio new``). An optional ``#name`` (or ``#3``) right after them picks
one of the member's trios where the conversation does not already say which. Arguments
are read left to right by kind; the last text argument takes the rest of the line as
typed, so apostrophes and spacing survive, but leaves a last word that is a choice of the
argument after it (``trio new Les Trois confirm``).

A word may name a command and a group both (``sos``, ``sos end``): the two-word command
wins when its arguments fit, otherwise the line is the one-word command's. A free text
that starts with a word of taking back (``propose cancel``, ``sos stop``) is not acted on:
the person is asked whether they meant the command that undoes (:data:`CANCEL_WORDS`);
putting the text in quotes says it is meant as written.

Every command has an English name and a French one (``Command.fr``: ``trio nouveau``),
and so has every argument (``Arg.fr``) and choice word (:data:`CHOICE_FR`). The parser
understands both, accents optional and in any mix (``trio nouveau``, ``reglages``,
``vote 1 oui``); a command is always known by its English name inside the core (handlers,
typed slash commands, choices). The words the bot says about commands (usage lines, help,
"did you mean") are :class:`Said` texts: they name each command in the reader's language.
An adapter that lists commands per language (Discord's ``name_localizations``) reads
:meth:`Command.words_in`, :func:`group_in`, :meth:`Arg.name_in`, :func:`choice_in`, and
the texts (``summary``, ``Arg.help``) through ``core.i18n.render(text, lang)``.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from core.effects import Choice, choice
from core.errors import NotACommand, ParseError
from core.events import Typed
from core.i18n import SOURCE, Text, _, join, render
from core.textrules import (
    MAX_COMMAND,
    MAX_NOTE,
    clean_name,
    clean_skill,
    clean_text,
    fold,
    inert,
    readable,
    slug,
)


class Said(Text):
    """Words built afresh in each language (a command's name, a usage line, the help)."""

    say: Callable[[str], str]

    def __new__(cls, say: Callable[[str], str]) -> Said:
        self = super().__new__(cls, say(SOURCE))
        self.say = say
        return self

    def render(self, lang: str) -> str:
        return self.say(lang)


class Kind(Enum):
    """How one argument is read."""

    WORD = "word"  # one token
    USER = "user"  # one token naming a person: @alice, @alice:example.org
    INT = "int"  # a number, ``#`` allowed in front
    CHOICE = "choice"  # one token among ``choices``
    SKILL = "skill"  # one token (quote several words: "public speaking")
    REST = "text"  # the rest of the line, as typed
    NAME = "name"  # the rest of the line, a short one-line name
    SKILL_REST = "skill text"  # the rest of the line, as a skill


# The French word of each choice (what a French reader sees; the parser reads both).
CHOICE_FR: dict[str, str] = {
    "yes": "oui", "no": "non", "confirm": "confirmer", "accept": "accepter",
    "decline": "refuser", "remove": "retirer", "ready": "prêt", "patience": "patience",
    "relance": "relance", "proposal_expiry": "expiration", "language": "langue",
    "gentle": "douce", "off": "non",
}


def choice_in(value: str, lang: str) -> str:
    """A choice word (``yes``) as a reader of ``lang`` writes it (``oui``)."""
    return CHOICE_FR.get(value, value) if lang == "fr" else value


@dataclass(frozen=True)
class Arg:
    """One argument of a command; ``fr`` is its French name (``utilisateur``)."""

    name: str
    kind: Kind
    help: str
    required: bool = True
    choices: tuple[str, ...] = ()
    limit: int = MAX_NOTE
    guarded: bool = False  # a free text: starting with a cancel word asks what was meant
    fr: str = ""

    @property
    def takes_rest(self) -> bool:
        return self.kind in (Kind.REST, Kind.NAME, Kind.SKILL_REST)

    def name_in(self, lang: str) -> str:
        """The argument's name in ``lang`` (the English one where it has no other)."""
        return (self.fr or self.name) if lang == "fr" else self.name

    def usage(self, lang: str | None = None) -> str:
        """``<name>`` or ``[name]`` (in every language when ``lang`` is None)."""
        if lang is None:
            return Said(self.usage)
        label = (("|".join(choice_in(c, lang) for c in self.choices))
                 if self.kind is Kind.CHOICE else self.name_in(lang))
        if self.kind is Kind.USER:
            label = "@" + label
        return f"<{label}>" if self.required else f"[{label}]"


@dataclass(frozen=True)
class Command:
    """One command of the grammar, shared by every platform; ``fr`` is its French name."""

    name: str
    summary: str
    topic: str
    args: tuple[Arg, ...] = ()
    details: str = ""
    example: str = ""  # a translatable message: French readers see a French example
    needs_trio: bool = False
    private: bool = False
    undo: tuple[str, str] | tuple[()] = ()  # (command, button label) that takes back what this one does
    fr: str = ""
    # It only reads: it writes nothing, whatever its arguments and whoever gives it (so an
    # adapter whose platform never delivers a command twice may answer it from a read,
    # unrecorded: see Twinome.answer_reading). tests/test_reads_only.py proves it.
    reads_only: bool = False

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.name.split())

    def name_in(self, lang: str) -> str:
        """The command's name in ``lang`` (``trio nouveau``)."""
        return (self.fr or self.name) if lang == "fr" else self.name

    def words_in(self, lang: str) -> tuple[str, ...]:
        """The words of its name in ``lang``."""
        return tuple(self.name_in(lang).split())

    def said(self) -> str:
        """Its name, said in the reader's language."""
        return Said(self.name_in)

    def usage(self, prefix: str = "!", lang: str | None = None) -> str:
        """``!trio invite [@user]`` (in every language when ``lang`` is None)."""
        if lang is None:
            return Said(lambda lang: self.usage(prefix, lang))
        return " ".join([prefix + self.name_in(lang), *(a.usage(lang) for a in self.args)])


def _a(name: str, kind: Kind, help: str, required: bool = True, **kw: Any) -> Arg:
    return Arg(name, kind, help, required, **kw)


USER = _a("user", Kind.USER, _("the person, as @name"), fr="utilisateur")
SKILL = _a("skill", Kind.SKILL, _('the skill (quote several words: "public speaking")'),
           fr="compétence")
CONFIRM = _a("confirm", Kind.CHOICE, _("type confirm to go ahead"), False, choices=("confirm",),
             fr="confirmer")
CANCEL_WORDS = frozenset({
    "cancel", "undo", "stop", "withdraw", "retract", "revoke", "delete", "end", "nevermind",
    "oops", "annuler", "annule", "arrêter", "arrête", "arrete", "retirer", "retire",
    "supprimer", "fin",
})
"""Words that, at the start of a free text, mean taking something back rather than saying it."""

COMMANDS: tuple[Command, ...] = (
    Command("help", _("Show the commands, or how one works."), _("Getting started"),
            (_a("command", Kind.REST, _("a command name"), False, limit=40, fr="commande"),),
            example=_("help mentor ask"), fr="aide", reads_only=True),
    Command("language", _("Choose the language I write to you in: fr or en."),
            _("Getting started"),
            (_a("code", Kind.WORD, _("fr (français) or en (English)"), False, fr="code"),),
            example=_("language fr"), private=True, fr="langue"),
    Command("trio new", _("Start a trio; you get an invite code to share."), _("Trios"),
            (_a("name", Kind.NAME, _("the trio's name"), False, fr="nom"),
             _a("confirm", Kind.CHOICE, _("confirm, to start another while one is forming"),
                False, choices=("confirm",), fr="confirmer")),
            example=_("trio new Les Trois"), fr="trio nouveau"),
    Command("trio rename", _("Rename a trio that is still forming."), _("Trios"),
            (_a("name", Kind.NAME, _("the new name"), fr="nom"),), needs_trio=True,
            example=_("trio rename Les Copains"), fr="trio renommer"),
    Command("trio invite", _("Make a new invite code, or invite one person who then accepts."),
            _("Trios"), (_a("user", Kind.USER, _("the person to invite"), False,
                            fr="utilisateur"),),
            needs_trio=True, example=_("trio invite @carol"), fr="trio inviter"),
    Command("trio join", _("Take a seat in a trio with an invite code."), _("Trios"),
            (_a("code", Kind.WORD, _("the invite code"), fr="code"),),
            example=_("trio join K7GQ-2M4X-PA9D-RT3W"), fr="trio rejoindre"),
    Command("trio accept", _("Accept an invitation addressed to you."), _("Trios"),
            (_a("code", Kind.WORD, _("which invitation, if you have several"), False,
                fr="code"),), fr="trio accepter"),
    Command("trio decline", _("Decline an invitation addressed to you."), _("Trios"),
            (_a("code", Kind.WORD, _("which invitation, if you have several"), False,
                fr="code"),), fr="trio refuser"),
    Command("trio revoke", _("Cancel an invite code that has not been used."), _("Trios"),
            (_a("code", Kind.WORD, _("the invite code"), fr="code"),), needs_trio=True,
            fr="trio révoquer"),
    Command("trio uninvite", _("Withdraw a personal invitation you sent."), _("Trios"), (USER,),
            needs_trio=True, example=_("trio uninvite @carol"), fr="trio désinviter"),
    Command("trio leave", _("Leave a trio (asks you to confirm)."), _("Trios"), (CONFIRM,),
            needs_trio=True, fr="trio quitter"),
    Command("trio list", _("List your trios."), _("Trios"), private=True, fr="trio liste",
            reads_only=True),
    Command("trio info", _("A trio's members, lines and state."), _("Trios"), needs_trio=True,
            fr="trio infos", reads_only=True),
    Command("trio charter", _("The twinome principles."), _("Trios"), fr="trio charte",
            reads_only=True),
    Command("trio settings", _("Show or change a trio setting."), _("Trios"),
            (_a("key", Kind.CHOICE, _("the setting"), False,
                choices=("patience", "relance", "proposal_expiry", "language"), fr="réglage"),
             _a("value", Kind.WORD, _("the new value"), False, fr="valeur")),
            details=_("patience: how long a silence lasts before a kind reminder (e.g. 3d). "
                      "relance: gentle or off. proposal_expiry: how long a vote stays open "
                      "(e.g. 48h). language: the language of the trio's rooms, fr or en. "
                      "A change that affects the others needs all three to ask for the "
                      "same value."),
            example=_("trio settings patience 2d"), needs_trio=True, fr="trio réglages"),
    Command("turn", _("Who owes whom a reply, since when, and who is away."), _("Rhythm"),
            needs_trio=True, private=True, fr="tour", reads_only=True),
    Command("away", _("Pause reminders for a while, with an optional note."), _("Rhythm"),
            (_a("when", Kind.REST, _("3d, for a week, or until monday / 2026-12-01, then an "
                                     "optional note"), False, fr="quand"),),
            example=_("away for 3d moving house"), private=True, fr="absent"),
    Command("back", _("End your away time."), _("Rhythm"), private=True, fr="retour"),
    Command("quiet", _("Set your quiet hours (notifications wait until they end), or off."),
            _("Rhythm"), (_a("hours", Kind.REST, _("like 22:00-08:00 or 22h-8h, or off"),
                             limit=40, fr="heures"),),
            example=_("quiet 22:00-08:00"), private=True, fr="calme"),
    Command("timezone", _("Set your time zone."), _("Rhythm"),
            (_a("zone", Kind.REST, _("an IANA zone like Europe/Paris, a city, or UTC+1"),
                limit=60, fr="fuseau"),),
            example=_("timezone Europe/Paris"), private=True, fr="fuseau"),
    Command("offer", _("Add a skill you can mentor others on."), _("Profile"),
            (_a("skill", Kind.SKILL_REST, _("the skill"), limit=40, fr="compétence"),),
            example=_("offer cooking"), private=True, fr="offre"),
    Command("want", _("Add a skill you would like to learn."), _("Profile"),
            (_a("skill", Kind.SKILL_REST, _("the skill"), limit=40, fr="compétence"),),
            example=_("want guitar"), private=True, fr="souhait"),
    Command("skills", _("Show your skills; `skills remove <skill>` drops one."), _("Profile"),
            (_a("action", Kind.CHOICE, _("the word remove, to drop a skill"), False,
                choices=("remove",), fr="action"),
             _a("skill", Kind.SKILL_REST, _("the skill to remove"), False, limit=40,
                fr="compétence")),
            private=True, fr="compétences"),
    Command("mentor ask", _("Ask someone to mentor you: you recognise them on that skill."),
            _("Mentoring"), (USER, SKILL), needs_trio=True,
            example=_('mentor ask @bob "bread baking"'), fr="mentor demander"),
    Command("mentor offer", _("Offer to mentor someone; it counts once they accept."),
            _("Mentoring"), (USER, SKILL), needs_trio=True,
            example=_("mentor offer @carol python"), fr="mentor proposer"),
    Command("mentor accept", _("Accept a mentoring offer, or a request to mentor, made to you."),
            _("Mentoring"),
            (_a("id", Kind.INT, _("the number of the offer, if you have several"), False,
                fr="numéro"),),
            needs_trio=True, fr="mentor accepter"),
    Command("mentor end", _("End a mentorship you are part of."), _("Mentoring"),
            (_a("id", Kind.INT, _("the mentorship number (see ledger)"), False, fr="numéro"),),
            needs_trio=True, fr="mentor finir"),
    Command("session log", _("Log a mentoring session; the other person confirms it."),
            _("Mentoring"),
            (USER, SKILL, _a("duration", Kind.WORD, _("how long, like 45m or 1h30"), fr="durée"),
             _a("note", Kind.REST, _("an optional note"), False, guarded=True, fr="note"),
             CONFIRM),
            needs_trio=True, example=_("session log @bob python 1h30 closures"),
            undo=("session withdraw", _("Withdraw a session")), fr="session noter"),
    Command("session confirm", _("Confirm a session someone logged with you."), _("Mentoring"),
            (_a("id", Kind.INT, _("the session number"), fr="numéro"),), needs_trio=True,
            fr="session confirmer"),
    Command("session withdraw", _("Withdraw a session you logged, before it is confirmed."),
            _("Mentoring"),
            (_a("id", Kind.INT, _("the session number, if you logged several"), False,
                fr="numéro"),),
            needs_trio=True, example=_("session withdraw 4"), fr="session retirer"),
    Command("ledger", _("Time given and received, and who mentors whom."), _("Mentoring"),
            needs_trio=True, fr="bilan", reads_only=True),
    Command("sos", _("Tell your two allies you are going through a hard time."), _("Support"),
            (_a("note", Kind.REST, _("an optional note for them"), False, guarded=True,
                fr="note"),),
            needs_trio=True, private=True, undo=("sos end", _("End my SOS")), fr="sos"),
    Command("sos end", _("End your SOS: your allies stop preparing the plan."), _("Support"),
            needs_trio=True, private=True, fr="sos fin"),
    Command("plan", _("Add to the support plan for your ally, or `plan ready` when done."),
            _("Support"), (_a("text", Kind.REST, _("a step of the plan, or ready"), guarded=True,
                              fr="texte"),),
            needs_trio=True, example=_("plan I will call you on Sunday"), fr="plan"),
    Command("propose", _("Propose a public action; your two allies validate it privately."),
            _("Proposals"), (_a("text", Kind.REST, _("the action"), guarded=True, fr="texte"),),
            needs_trio=True, example=_("propose a thread about our reading club"),
            undo=("propose withdraw", _("Withdraw my proposal")), fr="proposer"),
    Command("propose withdraw", _("Withdraw a proposal of yours that is still open."),
            _("Proposals"),
            (_a("id", Kind.INT, _("the proposal number, if you have several open"), False,
                fr="numéro"),),
            needs_trio=True, example=_("propose withdraw 3"), fr="proposer retirer"),
    Command("vote", _("Vote on a proposal, privately."), _("Proposals"),
            (_a("id", Kind.INT, _("the proposal number"), fr="numéro"),
             _a("vote", Kind.CHOICE, _("yes or no"), choices=("yes", "no"), fr="vote")),
            private=True, example=_("vote 3 yes"), fr="vote"),
    Command("languages", _("Say which languages you can talk in (for matchmaking)."),
            _("Profile"),
            (_a("codes", Kind.REST, _("two-letter codes like fr en"), limit=60, fr="codes"),),
            example=_("languages fr en"), private=True, fr="langues"),
    Command("seek", _("Look for companions to form a trio (matchmaking)."), _("Matchmaking"),
            details=_("Uses your profile: what you offer and want, your languages and time "
                      "zone. I propose three people who complement each other; all three "
                      "accept, or nothing happens."), private=True,
            undo=("unseek", _("Stop looking")), fr="chercher"),
    Command("unseek", _("Stop looking for companions."), _("Matchmaking"), private=True,
            fr="chercher fin"),
    Command("match", _("Accept or decline a proposed trio."), _("Matchmaking"),
            (_a("answer", Kind.CHOICE, _("accept or decline"), choices=("accept", "decline"),
                fr="réponse"),
             _a("id", Kind.INT, _("the proposed trio's number, if you have several"), False,
                fr="numéro")),
            private=True, example=_("match accept 3"), fr="match"),
    Command("block", _("Block someone: never matched, their invites never reach you."),
            _("Safety"), (USER,), private=True, fr="bloquer"),
    Command("unblock", _("Unblock someone."), _("Safety"), (USER,), private=True, fr="débloquer"),
    Command("report", _("Report someone to the moderators."), _("Safety"),
            (USER, _a("reason", Kind.REST, _("what happened (quote a message only if you wish)"),
                      guarded=True, fr="motif")),
            private=True, fr="signaler"),
    Command("stats", _("Your trio's statistics (counts and times only)."), _("Trios"),
            needs_trio=True, fr="statistiques", reads_only=True),
    Command("privacy export", _("Get all the data held about you, as JSON."), _("Privacy"),
            private=True, fr="données exporter", reads_only=True),
    Command("privacy forget", _("Delete your data and leave your trios (asks to confirm)."),
            _("Privacy"), (CONFIRM,), private=True, fr="données oublier"),
)

BY_NAME: dict[str, Command] = {c.name: c for c in COMMANDS}


def _spellings(command: Command) -> set[str]:
    """The ways to type a command's words (folded): English, French, and a mix of both."""
    en, fr = command.words, command.words_in("fr")
    out = {" ".join(en), " ".join(fr)}
    if len(en) == len(fr) == 2:
        out |= {f"{en[0]} {fr[1]}", f"{fr[0]} {en[1]}"}
    return {fold(s) for s in out}


def _keys(commands: Iterable[Command]) -> dict[str, Command]:
    """Each folded spelling of a command's words, and the command (never two for one)."""
    keys: dict[str, Command] = {}
    for command in commands:
        for key in _spellings(command):
            if keys.setdefault(key, command) is not command:
                raise ValueError(f"“{key}” names {keys[key].name} and {command.name}")
    return keys


_KEYS = _keys(COMMANDS)
"""Every spelling the parser knows (folded: no case, no accents), and its command."""


def _grouped() -> dict[str, list[Command]]:
    """Each first word of a two-word name (folded, either language), and its commands."""
    groups: dict[str, list[Command]] = {}
    for command in COMMANDS:
        for lang in ("en", "fr"):
            words = command.words_in(lang)
            if len(words) == 2 and command not in groups.get(fold(words[0]), []):
                groups.setdefault(fold(words[0]), []).append(command)
    return groups


_GROUPS = _grouped()


def group_in(word: str, lang: str) -> str:
    """A group's word (``privacy``) in ``lang`` (``données``), for Discord's command groups."""
    found = next((c for c in COMMANDS if len(c.words) == 2 and c.words[0] == word), None)
    return found.words_in(lang)[0] if found and len(found.words_in(lang)) == 2 else word


Twin = dict[str, str]
"""One word or name in each language: ``{"en": "turn", "fr": "tour"}``."""


def _twins() -> list[Twin]:
    """Every command's name and every group's word, in each language."""
    twins: list[Twin] = []
    for command in COMMANDS:
        twins.append({lang: command.name_in(lang) for lang in _LANGS})
        if all(len(command.words_in(lang)) == 2 for lang in _LANGS):
            twins.append({lang: command.words_in(lang)[0] for lang in _LANGS})
    return twins


_LANGS = ("en", "fr")
_NAMES = _twins()


@dataclass(frozen=True)
class Invocation:
    """A parsed command: which one, its arguments by name, and the ``#trio`` it names."""

    command: Command
    args: dict[str, Any] = field(default_factory=dict)
    trio: str | None = None


# Other words for a choice, in the languages commands are understood in (``vote 1 oui``).
SAME: dict[str, tuple[str, ...]] = {
    "oui": ("yes", "accept"), "y": ("yes",), "yeah": ("yes",), "yep": ("yes",),
    "ok": ("yes", "accept"), "approve": ("yes",), "pour": ("yes",), "d'accord": ("yes",),
    "non": ("no", "decline", "off"), "n": ("no",), "nope": ("no",), "contre": ("no",),
    "accepte": ("accept",), "accepter": ("accept",), "refuse": ("decline", "no"),
    "refuser": ("decline", "no"), "decline": ("no",), "confirme": ("confirm",),
    "confirmer": ("confirm",), "retirer": ("remove",), "supprimer": ("remove",),
    "pret": ("ready",), "prete": ("ready",), "expiration": ("proposal_expiry",),
    "langue": ("language",), "douce": ("gentle",), "doux": ("gentle",),
}
"""Keys are folded (no accents): ``prêt`` and ``pret`` both read ``ready``."""


def meaning(word: str, choices: Iterable[str]) -> str | None:
    """The choice among ``choices`` that ``word`` says, in either language (``oui``: yes)."""
    options = tuple(choices)
    value = fold(word.strip())
    if value in options:
        return value
    return next((c for c in SAME.get(value, ()) if c in options), None)


_TOKEN = re.compile(r'(#?)(?:"([^"]*)"|“([^”]*)”)|(\S+)')


def _tokens(text: str) -> list[tuple[str, int]]:
    """Split into (token, start offset); double quotes group words (``#"Les Trois"`` too)."""
    out = []
    for m in _TOKEN.finditer(text):
        value = next(g for g in m.groups()[1:] if g is not None)
        out.append(((m.group(1) or "") + value, m.start()))
    return out


def suggest(word: str, options: list[str], cutoff: float = 0.6) -> str | None:
    """The closest known spelling of ``word``, if any is close."""
    found = difflib.get_close_matches(word, options, n=1, cutoff=cutoff)
    return found[0] if found else None


def _guess(typed: str, among: Iterable[Twin] | None = None) -> str | None:
    """The command or group name (or word of ``among``) closest to ``typed``, accents and all.

    Written in the language it is closest to in; said in the reader's where both are as
    close (``tuor`` is as near ``turn`` as ``tour``).
    """
    index = {fold(w): twin for twin in (_NAMES if among is None else among)
             for w in twin.values()}
    found = suggest(fold(typed), sorted(index))
    if found is None:
        return None
    twin = index[found]
    score = {lang: difflib.SequenceMatcher(None, fold(typed), fold(w)).ratio()
             for lang, w in twin.items()}
    best = max(score.values())
    closest = [lang for lang in twin if score[lang] == best]
    if len(closest) == len(twin):
        return Said(lambda lang: twin.get(lang) or next(iter(twin.values())))
    return twin[closest[0]]


def _subwords(commands: list[Command]) -> str:
    """The second words of a group's commands, in the reader's language."""
    return Said(lambda lang: ", ".join(c.words_in(lang)[-1] for c in commands
                                       if len(c.words_in(lang)) == 2))


def _unknown(typed_words: list[str], prefix: str) -> ParseError:
    words = [fold(w) for w in typed_words]
    typed = " ".join(typed_words[:2])
    help_ = BY_NAME["help"].said()
    if words[0] in _GROUPS:
        group = _GROUPS[words[0]]
        seconds = [{lang: c.words_in(lang)[1] for lang in _LANGS
                    if len(c.words_in(lang)) == 2 and fold(c.words_in(lang)[0]) == words[0]}
                   for c in group]
        guess = _guess(words[1], [t for t in seconds if t]) if len(words) > 1 else None
        if guess:
            return ParseError(_("I don't know the command “{typed}”.", typed=typed),
                              hint=_("Did you mean {p}{command}?", p=prefix,
                                     command=join(" ", [typed_words[0], guess])))
        return ParseError(
            _("“{p}{group}” needs one more word: {words}.", p=prefix, group=typed_words[0],
              words=_subwords(group)),
            hint=_("Try {p}{help} {group}.", p=prefix, help=help_, group=typed_words[0]),
        )
    guess = None if chatter(typed_words) else _guess(typed) or _guess(words[0])
    hint: str = _("Type {p}{help}.", p=prefix, help=help_)
    if guess:
        hint = _("Did you mean {p}{command}?", p=prefix, command=guess) + " " + hint
    kind = ParseError if guess else NotACommand
    return kind(_("I don't know the command “{typed}”.", typed=typed), hint=hint)


# First words of what people write to a bot before they know its commands.
GREETINGS_FR = frozenset({
    "bonjour", "bonsoir", "salut", "coucou", "merci", "stp", "svp", "bjr", "slt", "cc",
    "allo",
})
"""French greetings (folded): someone who opens with one is answered in French."""
GREETINGS_EN = frozenset({
    "hi", "hello", "hey", "hiya", "howdy", "thanks", "thank", "cheers",
})
"""English greetings: someone who greeted in French before and now opens with one of
these is answered in English again."""
_GREETINGS = GREETINGS_FR | GREETINGS_EN | frozenset({
    "yo", "hallo", "hola", "good", "ok", "okay", "please",
})
_QUESTIONS = frozenset({
    "how", "what", "why", "where", "who", "when", "which", "can", "could", "is", "are", "do",
    "does", "should", "i", "i'm", "im", "my", "we", "comment", "pourquoi", "quoi", "que",
    "qui", "quand", "ou", "est-ce", "je", "j'ai", "quel", "quelle", "combien", "peux",
    "puis-je", "est-ce que", "c'est",
})
_FIRST_WORDS = sorted({fold(c.words_in(lang)[0]) for c in COMMANDS for lang in ("en", "fr")})


def chatter(words: list[str]) -> bool:
    """Whether a line whose first word is no command reads as free text, not a typo.

    Greetings and questions are free text; so is any line whose first word is not
    spelt like a command word in either language (``trun`` is a typo of ``turn``;
    ``blah`` is not, nor ``bla``, which only drops letters of ``bilan``): a typo keeps the
    word's length within a letter.
    """
    first = fold(words[0]).strip("!?.,:;'’")
    if first in _GREETINGS or first in _QUESTIONS or words[-1].endswith("?"):
        return True
    near = [w for w in _FIRST_WORDS if abs(len(w) - len(first)) <= 1]
    return suggest(first, near, 0.7) is None  # twice the words: a closer match


# A word of free text (folded), and the command it most likely asks about.
_ABOUT = {
    "start": "trio new", "create": "trio new", "new": "trio new", "form": "trio new",
    "join": "trio join", "code": "trio join", "invite": "trio invite", "invitation": "trio accept",
    "leave": "trio leave", "quit": "trio leave", "away": "away", "holiday": "away",
    "holidays": "away", "vacation": "away", "vacances": "away", "pause": "away",
    "quiet": "quiet", "night": "quiet", "timezone": "timezone", "zone": "timezone",
    "mentor": "mentor ask", "learn": "want", "teach": "offer", "skill": "offer",
    "skills": "skills", "session": "session log", "ledger": "ledger", "sos": "sos",
    "hard": "sos", "plan": "plan", "propose": "propose", "vote": "vote", "block": "block",
    "report": "report", "privacy": "privacy export", "data": "privacy export",
    "delete": "privacy forget", "turn": "turn", "reply": "turn", "stats": "stats",
    "trio": "trio new", "language": "language", "english": "language", "french": "language",
    # French
    "commencer": "trio new", "creer": "trio new", "nouveau": "trio new", "former": "trio new",
    "rejoindre": "trio join", "inviter": "trio invite", "quitter": "trio leave",
    "absent": "away", "absente": "away", "conge": "away", "conges": "away", "calme": "quiet",
    "nuit": "quiet", "fuseau": "timezone", "heure": "timezone", "apprendre": "want",
    "enseigner": "offer", "competence": "offer", "competences": "skills", "bilan": "ledger",
    "difficile": "sos", "dur": "sos", "aide-moi": "sos", "proposer": "propose",
    "voter": "vote", "bloquer": "block", "signaler": "report", "donnees": "privacy export",
    "effacer": "privacy forget", "oublier": "privacy forget", "tour": "turn",
    "repondre": "turn", "reponse": "turn", "statistiques": "stats", "langue": "language",
    "francais": "language", "anglais": "language",
}


def about(text: str) -> list[str]:
    """The commands a line of free text seems to ask about (at most two), in its order."""
    found = [_ABOUT[w] for w in re.findall(r"[a-z][a-z-]*", fold(text)) if w in _ABOUT]
    return [c for c in dict.fromkeys(found) if c in BY_NAME][:2]


def _key(topic: str) -> str:
    """A command or group name as typed after ``help``, folded."""
    return fold(" ".join(topic.lstrip("!/").split()))


def knows(topic: str) -> bool:
    """Whether ``help <topic>`` names a command or a group, or a near spelling of one."""
    key = _key(topic)
    return key in _KEYS or key in _GROUPS or _guess(key) is not None


CHAT = Command("chat", _("Free text, a greeting or a question: answered with a pointer."),
               _("Getting started"), (Arg("text", Kind.REST, _("what was said"), fr="texte"),))


def read(text: str, prefix: str = "!") -> Invocation:
    """Like :func:`parse`, but free text becomes the :data:`CHAT` invocation, not an error."""
    try:
        return parse(text, prefix)
    except NotACommand:
        return Invocation(CHAT, {"text": text})


def _named(tokens: list[tuple[str, int]]) -> list[tuple[Command, int]]:
    """The commands the first words may name, two words first: (command, words used)."""
    words = [fold(t) for t, _ in tokens[:2]]
    found = []
    if len(words) == 2 and " ".join(words) in _KEYS:
        found.append((_KEYS[" ".join(words)], 2))
    if words and words[0] in _KEYS:
        found.append((_KEYS[words[0]], 1))
    return found


def command_of(text: str) -> Command | None:
    """The command a line starts with, if it names one (so even its errors stay private)."""
    named = _named(_tokens(text[:MAX_COMMAND])[:2])
    return named[0][0] if named else None


def parse(text: str, prefix: str = "!") -> Invocation:
    """Parse one command line (prefix already removed) into an :class:`Invocation`."""
    if len(text) > MAX_COMMAND:
        raise ParseError(_("That command is too long (at most {n} characters).", n=MAX_COMMAND))
    if readable(text) != text:
        raise ParseError(_("That command holds characters I cannot read."),
                         hint=_("Retype it without special characters."))
    tokens = _tokens(text)
    if not tokens:
        raise ParseError(_("That command is empty."),
                         hint=_("Type {p}{help}.", p=prefix, help=BY_NAME["help"].said()))
    named = _named(tokens)
    if not named:
        raise _unknown([t.casefold() for t, _ in tokens[:2]], prefix)
    for i, (command, used) in enumerate(named):
        try:
            return _invocation(command, used, text, tokens, prefix)
        except ParseError:
            if i == len(named) - 1:  # ``sos end of my rope`` is an SOS; ``trio new x y`` an error
                raise
    raise AssertionError("unreachable")


def _invocation(command: Command, used: int, text: str, tokens: list[tuple[str, int]],
                prefix: str) -> Invocation:
    """Read the ``#trio`` and the arguments after the command's ``used`` words."""
    rest = tokens[used:]
    trio = None
    if rest and rest[0][0].startswith("#") and len(rest[0][0]) > 1 and not _numbered(command, rest):
        trio = rest[0][0][1:]
        rest = rest[1:]
    args = _read_args(command, text, rest, prefix, trio)
    return Invocation(command, args, trio)


def _usage_hint(command: Command, prefix: str) -> str:
    """``Usage: !vote <id> <yes|no>``, in the reader's language."""
    return _("Usage: {usage}", usage=command.usage(prefix))


def from_typed(typed: Typed, prefix: str = "!") -> Invocation:
    """The invocation of a command whose arguments a platform already separated.

    Each argument goes through the same reading as typed text (numbers, choices, names,
    skills, cleaning), so a slash command cannot say what the text grammar would refuse.
    The command and its options come by their English names (Discord sends those).
    """
    command = BY_NAME.get(typed.name)
    if command is None:
        raise _unknown(typed.name.split() or [""], prefix)
    known = {a.name for a in command.args}
    extra = sorted(set(typed.args) - known)
    if extra:
        raise ParseError(_("{p}{command} has no option “{option}”.", p=prefix,
                           command=command.said(), option=extra[0]),
                         hint=_usage_hint(command, prefix))
    args: dict[str, Any] = {}
    trio = typed.trio.strip().lstrip("#") if typed.trio and typed.trio.strip("# ") else None
    for arg in command.args:
        value = typed.args.get(arg.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if arg.required:
                raise _missing(command, arg, prefix)
            args[arg.name] = None
            continue
        text = str(value)
        if len(text) > MAX_COMMAND or readable(text) != text:
            raise ParseError(_("The {argument} holds characters I cannot read, or is too long.",
                               argument=Said(arg.name_in)),
                             hint=_("Retype it without special characters."))
        if arg.takes_rest:
            _guard(command, arg, text, trio, prefix)
            args[arg.name] = _convert_rest(arg, text)
        else:
            args[arg.name] = _convert(command, arg, text.strip(), prefix)
    return Invocation(command, args, trio)


def _missing(command: Command, arg: Arg, prefix: str) -> ParseError:
    """A required argument is missing."""
    return ParseError(_("{p}{command} needs {usage}: {help}.", p=prefix, command=command.said(),
                        usage=arg.usage(), help=arg.help),
                      hint=_usage_hint(command, prefix))


def _numbered(command: Command, rest: list[tuple[str, int]]) -> bool:
    """Whether a leading ``#3`` is the command's own number (``vote #3 yes``), not a trio.

    The bot calls proposals ``#3``, so that is how people type them back: a ``#number``
    is the trio only when the arguments after it are still complete without it.
    """
    if not command.args or command.args[0].kind is not Kind.INT:
        return False
    if re.fullmatch(r"#[0-9]+", rest[0][0]) is None:
        return False
    return len(rest) - 1 < sum(a.required for a in command.args)


def _read_args(command: Command, text: str, rest: list[tuple[str, int]], prefix: str,
               trio: str | None = None) -> dict[str, Any]:
    args: dict[str, Any] = {}
    i = 0
    for n, arg in enumerate(command.args):
        if arg.name in args:  # a choice a rest argument left at the end
            continue
        if i >= len(rest):
            if arg.required:
                raise _missing(command, arg, prefix)
            args[arg.name] = None
            continue
        token, start = rest[i]
        if arg.takes_rest or (arg.kind is Kind.SKILL and arg is command.args[-1]):
            words, end, flag = rest[i:], len(text), _trailing_choice(command.args[n + 1:], rest[i:])
            if flag is not None:
                args[flag[0]] = flag[1]
                words, end = words[:-1], words[-1][1]
            i = len(rest)
            if not words:
                args[arg.name] = None  # only optional rest arguments come before a choice
                continue
            raw = text[start:end].rstrip()
            after = f" {rest[-1][0]}" if flag else ""
            _guard(command, arg, raw, trio, prefix, written=f'{text[:start]}"{raw.strip()}"{after}')
            args[arg.name] = _convert_rest(arg, raw)
            continue
        args[arg.name] = _convert(command, arg, token, prefix)
        i += 1
    if i < len(rest):
        extra = " ".join(t for t, _ in rest[i:])
        if command.undo and cancel_word(extra):
            raise _mistaken(command, extra, trio, prefix, quotable=False)
        hint = _('Usage: {usage} (quote several words: "like this")', usage=command.usage(prefix))
        if trio is not None and i == 0:
            hint = _('A trio\'s name after # is written with dashes: #{slug} (or in quotes: '
                     '#"{name}").', slug=slug(trio + " " + extra), name=f"{trio} {extra}")
        raise ParseError(_("I did not expect “{extra}” after {p}{command}.", extra=extra, p=prefix,
                           command=command.said()), hint=hint)
    return args


def _trailing_choice(following: tuple[Arg, ...], words: list[tuple[str, int]]
                     ) -> tuple[str, str] | None:
    """(name, value) of the choice argument a rest argument leaves as its last word, if any."""
    if not following or following[0].kind is not Kind.CHOICE or not words:
        return None
    value = meaning(words[-1][0], following[0].choices)
    return (following[0].name, value) if value is not None else None


def cancel_word(text: str) -> str | None:
    """The word of taking back (cancel, undo, stop…) that ``text`` starts with, if any."""
    first = text.strip().split(maxsplit=1)
    word = first[0].casefold().rstrip(".,;:!?") if first else ""
    return word if word in CANCEL_WORDS else None


def _quoted(raw: str) -> str | None:
    """The text inside quotes that wrap all of ``raw`` (said to be meant as written)."""
    bare = raw.strip()
    if len(bare) > 1 and bare[0] + bare[-1] in ('""', "“”"):
        return bare[1:-1]
    return None


def _guard(command: Command, arg: Arg, raw: str, trio: str | None, prefix: str,
           written: str | None = None) -> None:
    """Ask rather than act on a free text that starts with a cancel word (``propose cancel``).

    ``written`` is the command with the text in quotes, offered as the way to say it anyway.
    """
    if arg.guarded and _quoted(raw) is None and cancel_word(raw):
        raise _mistaken(command, raw, trio, prefix, written)


def _mistaken(command: Command, text: str, trio: str | None, prefix: str,
              written: str | None = None, *, quotable: bool = True) -> ParseError:
    """“Did you mean …?”: the command that takes back, and the words as written."""
    word = cancel_word(text)
    where = f" #{slug(trio)}" if trio else ""
    choices: list[Choice] = []
    said: str = _("“{word}” after {p}{command} sounds like taking something back, so I did "
                   "nothing.", word=word, p=prefix, command=command.said())
    if command.undo:
        undo, label = command.undo
        said += " " + _("Did you mean {p}{command}?", p=prefix, command=BY_NAME[undo].said())
        choices.append(choice(label, f"{undo}{where}"))
    if written is None:
        return ParseError(said, hint=_("If you meant those words, put them in quotes.")
                          if quotable else _usage_hint(command, prefix), choices=tuple(choices))
    choices.append(choice(_("Send it as written"), written, "secondary"))
    return ParseError(said, hint=_("If you meant those words, put them in quotes: {p}{written}",
                                   p=prefix, written=written),
                      choices=tuple(choices))


def _convert_rest(arg: Arg, raw: str) -> str:
    if arg.guarded:
        raw = _quoted(raw) or raw
    if arg.kind is Kind.NAME:
        return inert(clean_name(raw.strip().strip('"“”'), Said(arg.name_in)))
    if arg.kind in (Kind.SKILL_REST, Kind.SKILL):
        return clean_skill(raw.strip().strip('"“”'))
    return clean_text(raw, Said(arg.name_in), arg.limit)


def _convert(command: Command, arg: Arg, token: str, prefix: str) -> Any:
    if arg.kind is Kind.INT:
        digits = token.lstrip("#")
        if re.fullmatch(r"[0-9]{1,12}", digits) is None:  # not isdigit(): "¹" is a digit to it
            raise ParseError(_("“{token}” is not a number: {usage} is {help}.", token=token,
                               usage=arg.usage(), help=arg.help),
                             hint=_usage_hint(command, prefix))
        return int(digits)
    if arg.kind is Kind.CHOICE:
        value = meaning(token, arg.choices)
        if value is None:
            raise _bad_choice(command, arg, token, prefix)
        return value
    if arg.kind is Kind.USER:
        return clean_name(token, _("person"))
    if arg.kind is Kind.SKILL:
        return clean_skill(token)
    return clean_text(token, Said(arg.name_in), 200)


def _bad_choice(command: Command, arg: Arg, token: str, prefix: str) -> ParseError:
    """A word that is none of an argument's choices: the closest one, in either language."""
    guess = _guess(token.casefold(), [{lang: choice_in(c, lang) for lang in _LANGS}
                                      for c in arg.choices])
    hint = _usage_hint(command, prefix)
    if guess:
        hint = _("Did you mean {word}?", word=guess) + " " + hint
    listed = Said(lambda lang: ", ".join(choice_in(c, lang) for c in arg.choices))
    return ParseError(_("“{token}” is not one of: {choices}.", token=token, choices=listed),
                      hint=hint)


def help_text(topic: str | None = None, prefix: str = "!") -> str:
    """The whole command list, or the usage of one command, in the reader's language."""
    if not topic:
        return Said(lambda lang: _overview(prefix, lang))
    key = _key(topic)
    if key in _KEYS:
        command = _KEYS[key]
        return Said(lambda lang: _one(command, prefix, lang))
    if key in _GROUPS:
        group = _GROUPS[key]
        return Said(lambda lang: "\n".join(_line(c, prefix, lang) for c in group))
    guess = _guess(key)
    help_ = BY_NAME["help"].said()
    hint: str = _("Type {p}{help}.", p=prefix, help=help_)
    if guess:
        hint = _("Did you mean {p}{help} {topic}?", p=prefix, help=help_, topic=guess) + " " + hint
    raise ParseError(_("There is no command “{topic}”.", topic=topic), hint=hint)


def _line(command: Command, prefix: str, lang: str) -> str:
    """``!turn — Who owes whom…``."""
    return f"{command.usage(prefix, lang)} — {render(command.summary, lang)}"


def _one(c: Command, prefix: str, lang: str) -> str:
    """How one command works: usage, summary, details, arguments, example."""
    lines = [c.usage(prefix, lang), render(c.summary, lang)]
    if c.details:
        lines.append(render(c.details, lang))
    lines += [f"  {a.usage(lang)}: {render(a.help, lang)}" for a in c.args]
    if c.needs_trio:
        lines.append(render(_("In a direct chat, name the trio if you have several: "
                              "{p}{command} #trio-name …", p=prefix, command=c.name_in(lang)),
                            lang))
    if c.example:
        lines.append(render(_("Example: {p}{example}", p=prefix, example=c.example), lang))
    name = c.name_in(lang)  # ``sos`` shows ``sos end``, ``chercher`` shows ``chercher fin``
    lines += [_line(o, prefix, lang) for o in COMMANDS
              if len(o.words_in(lang)) == 2 and o.words_in(lang)[0] == name]
    return "\n".join(lines)


def _overview(prefix: str, lang: str) -> str:
    """Every command, under what people want to do."""
    lines = [render(_("Twinome: trios of three people who support each other. What would you "
                      "like to do?"), lang)]
    for goal, commands in goals().items():
        lines.append(render(goal, lang) + ":")
        lines += ["  " + _line(c, prefix, lang) for c in commands]
    help_, new = BY_NAME["help"].name_in(lang), BY_NAME["trio new"].name_in(lang)
    lines.append(render(_("Type {p}{help} <command> for details, e.g. {p}{help} {example}.",
                          p=prefix, help=help_, example=new), lang))
    return "\n".join(lines)


# What people want to do, and the commands' topics that serve it (help is grouped so).
GOALS: dict[str, tuple[str, ...]] = {
    _("Start a trio"): ("Getting started", "Trios"),
    _("Talk and keep your rhythm"): ("Rhythm", "Proposals"),
    _("Mentoring"): ("Profile", "Mentoring"),
    _("Hard times"): ("Support",),
    _("Privacy and safety"): ("Privacy", "Safety"),
    _("Matchmaking"): ("Matchmaking",),
}
_GOAL_OF = {"languages": "Matchmaking", "stats": "Talk and keep your rhythm"}


def goals() -> dict[str, list[Command]]:
    """The commands under each goal of :data:`GOALS`, in table order (new topics: Other)."""
    by_topic = {topic: goal for goal, topics in GOALS.items() for topic in topics}
    out: dict[str, list[Command]] = {goal: [] for goal in GOALS}
    for c in COMMANDS:
        out.setdefault(_GOAL_OF.get(c.name) or by_topic.get(c.topic, "Other"), []).append(c)
    return {goal: commands for goal, commands in out.items() if commands}
