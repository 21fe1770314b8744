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
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from core.effects import Choice, choice
from core.errors import NotACommand, ParseError
from core.events import Typed
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


@dataclass(frozen=True)
class Arg:
    """One argument of a command."""

    name: str
    kind: Kind
    help: str
    required: bool = True
    choices: tuple[str, ...] = ()
    limit: int = MAX_NOTE
    guarded: bool = False  # a free text: starting with a cancel word asks what was meant

    @property
    def takes_rest(self) -> bool:
        return self.kind in (Kind.REST, Kind.NAME, Kind.SKILL_REST)

    def usage(self) -> str:
        label = "|".join(self.choices) if self.kind is Kind.CHOICE else self.name
        if self.kind is Kind.USER:
            label = "@" + self.name
        return f"<{label}>" if self.required else f"[{label}]"


@dataclass(frozen=True)
class Command:
    """One command of the grammar, shared by every platform."""

    name: str
    summary: str
    topic: str
    args: tuple[Arg, ...] = ()
    details: str = ""
    example: str = ""
    needs_trio: bool = False
    private: bool = False
    undo: tuple[str, str] | tuple[()] = ()  # (command, button label) that takes back what this one does

    @property
    def words(self) -> tuple[str, ...]:
        return tuple(self.name.split())

    def usage(self, prefix: str = "!") -> str:
        return " ".join([prefix + self.name, *(a.usage() for a in self.args)])


def _a(name: str, kind: Kind, help: str, required: bool = True, **kw: Any) -> Arg:
    return Arg(name, kind, help, required, **kw)


USER = _a("user", Kind.USER, "the person, as @name")
SKILL = _a("skill", Kind.SKILL, 'the skill (quote several words: "public speaking")')
CONFIRM = _a("confirm", Kind.CHOICE, "type confirm to go ahead", False, choices=("confirm",))
CANCEL_WORDS = frozenset({
    "cancel", "undo", "stop", "withdraw", "retract", "revoke", "delete", "end", "nevermind",
    "oops", "annuler", "annule", "arrêter", "arrête", "arrete", "retirer", "retire",
    "supprimer",
})
"""Words that, at the start of a free text, mean taking something back rather than saying it."""

COMMANDS: tuple[Command, ...] = (
    Command("help", "Show the commands, or how one works.", "Getting started",
            (_a("command", Kind.REST, "a command name", False, limit=40),),
            example="help mentor ask"),
    Command("trio new", "Start a trio; you get an invite code to share.", "Trios",
            (_a("name", Kind.NAME, "the trio's name", False),
             _a("confirm", Kind.CHOICE, "confirm, to start another while one is forming", False,
                choices=("confirm",))),
            example="trio new Les Trois"),
    Command("trio rename", "Rename a trio that is still forming.", "Trios",
            (_a("name", Kind.NAME, "the new name"),), needs_trio=True,
            example="trio rename Les Copains"),
    Command("trio invite", "Make a new invite code, or invite one person who then accepts.",
            "Trios", (_a("user", Kind.USER, "the person to invite", False),), needs_trio=True,
            example="trio invite @carol"),
    Command("trio join", "Take a seat in a trio with an invite code.", "Trios",
            (_a("code", Kind.WORD, "the invite code"),), example="trio join K7GQ-2M4X-PA9D-RT3W"),
    Command("trio accept", "Accept an invitation addressed to you.", "Trios",
            (_a("code", Kind.WORD, "which invitation, if you have several", False),)),
    Command("trio decline", "Decline an invitation addressed to you.", "Trios",
            (_a("code", Kind.WORD, "which invitation, if you have several", False),)),
    Command("trio revoke", "Cancel an invite code that has not been used.", "Trios",
            (_a("code", Kind.WORD, "the invite code"),), needs_trio=True),
    Command("trio uninvite", "Withdraw a personal invitation you sent.", "Trios", (USER,),
            needs_trio=True, example="trio uninvite @carol"),
    Command("trio leave", "Leave a trio (asks you to confirm).", "Trios", (CONFIRM,),
            needs_trio=True),
    Command("trio list", "List your trios.", "Trios", private=True),
    Command("trio info", "A trio's members, lines and state.", "Trios", needs_trio=True),
    Command("trio charter", "The twinome principles.", "Trios"),
    Command("trio settings", "Show or change a trio setting.", "Trios",
            (_a("key", Kind.CHOICE, "the setting", False,
                choices=("patience", "relance", "proposal_expiry", "language")),
             _a("value", Kind.WORD, "the new value", False)),
            details="patience: how long a silence lasts before a kind reminder (e.g. 3d). "
                    "relance: gentle or off. proposal_expiry: how long a vote stays open "
                    "(e.g. 48h). A change that affects the others needs all three to ask "
                    "for the same value.",
            example="trio settings patience 2d", needs_trio=True),
    Command("turn", "Who owes whom a reply, since when, and who is away.", "Rhythm",
            needs_trio=True, private=True),
    Command("away", "Pause reminders for a while, with an optional note.", "Rhythm",
            (_a("when", Kind.REST, "3d, for a week, or until monday / 2026-12-01, then an "
                "optional note", False),),
            example="away for 3d moving house", private=True),
    Command("back", "End your away time.", "Rhythm", private=True),
    Command("quiet", "Set your quiet hours (notifications wait until they end), or off.",
            "Rhythm", (_a("hours", Kind.REST, "like 22:00-08:00 or 22h-8h, or off", limit=40),),
            example="quiet 22:00-08:00", private=True),
    Command("timezone", "Set your time zone.", "Rhythm",
            (_a("zone", Kind.REST, "an IANA zone like Europe/Paris, a city, or UTC+1",
                limit=60),),
            example="timezone Europe/Paris", private=True),
    Command("offer", "Add a skill you can mentor others on.", "Profile",
            (_a("skill", Kind.SKILL_REST, "the skill", limit=40),), example="offer cooking",
            private=True),
    Command("want", "Add a skill you would like to learn.", "Profile",
            (_a("skill", Kind.SKILL_REST, "the skill", limit=40),), example="want guitar",
            private=True),
    Command("skills", "Show your skills; `skills remove <skill>` drops one.", "Profile",
            (_a("action", Kind.CHOICE, "the word remove, to drop a skill", False,
                choices=("remove",)),
             _a("skill", Kind.SKILL_REST, "the skill to remove", False, limit=40)),
            private=True),
    Command("mentor ask", "Ask someone to mentor you: you recognise them on that skill.",
            "Mentoring", (USER, SKILL), needs_trio=True, example='mentor ask @bob "bread baking"'),
    Command("mentor offer", "Offer to mentor someone; it counts once they accept.",
            "Mentoring", (USER, SKILL), needs_trio=True, example="mentor offer @carol python"),
    Command("mentor accept", "Accept a mentoring offer, or a request to mentor, made to you.", "Mentoring",
            (_a("id", Kind.INT, "the number of the offer, if you have several", False),),
            needs_trio=True),
    Command("mentor end", "End a mentorship you are part of.", "Mentoring",
            (_a("id", Kind.INT, "the mentorship number (see ledger)", False),),
            needs_trio=True),
    Command("session log", "Log a mentoring session; the other person confirms it.",
            "Mentoring",
            (USER, SKILL, _a("duration", Kind.WORD, "how long, like 45m or 1h30"),
             _a("note", Kind.REST, "an optional note", False, guarded=True), CONFIRM),
            needs_trio=True, example="session log @bob python 1h30 closures",
            undo=("session withdraw", "Withdraw a session")),
    Command("session confirm", "Confirm a session someone logged with you.", "Mentoring",
            (_a("id", Kind.INT, "the session number"),), needs_trio=True),
    Command("session withdraw", "Withdraw a session you logged, before it is confirmed.",
            "Mentoring",
            (_a("id", Kind.INT, "the session number, if you logged several", False),),
            needs_trio=True, example="session withdraw 4"),
    Command("ledger", "Time given and received, and who mentors whom.", "Mentoring",
            needs_trio=True),
    Command("sos", "Tell your two allies you are going through a hard time.", "Support",
            (_a("note", Kind.REST, "an optional note for them", False, guarded=True),),
            needs_trio=True, private=True, undo=("sos end", "End my SOS")),
    Command("sos end", "End your SOS: your allies stop preparing the plan.", "Support",
            needs_trio=True, private=True),
    Command("plan", "Add to the support plan for your ally, or `plan ready` when done.",
            "Support", (_a("text", Kind.REST, "a step of the plan, or ready", guarded=True),),
            needs_trio=True, example="plan I will call you on Sunday"),
    Command("propose", "Propose a public action; your two allies validate it privately.",
            "Proposals", (_a("text", Kind.REST, "the action", guarded=True),), needs_trio=True,
            example="propose a thread about our reading club",
            undo=("propose withdraw", "Withdraw my proposal")),
    Command("propose withdraw", "Withdraw a proposal of yours that is still open.",
            "Proposals",
            (_a("id", Kind.INT, "the proposal number, if you have several open", False),),
            needs_trio=True, example="propose withdraw 3"),
    Command("vote", "Vote on a proposal, privately.", "Proposals",
            (_a("id", Kind.INT, "the proposal number"),
             _a("vote", Kind.CHOICE, "yes or no", choices=("yes", "no"))),
            private=True, example="vote 3 yes"),
    Command("languages", "Say which languages you can talk in (for matchmaking).", "Profile",
            (_a("codes", Kind.REST, "two-letter codes like fr en", limit=60),),
            example="languages fr en", private=True),
    Command("seek", "Look for companions to form a trio (matchmaking).", "Matchmaking",
            details="Uses your profile: what you offer and want, your languages and time "
                    "zone. I propose three people who complement each other; all three "
                    "accept, or nothing happens.", private=True, undo=("unseek", "Stop looking")),
    Command("unseek", "Stop looking for companions.", "Matchmaking", private=True),
    Command("match", "Accept or decline a proposed trio.", "Matchmaking",
            (_a("answer", Kind.CHOICE, "accept or decline", choices=("accept", "decline")),
             _a("id", Kind.INT, "the proposed trio's number, if you have several", False)),
            private=True, example="match accept 3"),
    Command("block", "Block someone: never matched, their invites never reach you.", "Safety",
            (USER,), private=True),
    Command("unblock", "Unblock someone.", "Safety", (USER,), private=True),
    Command("report", "Report someone to the moderators.", "Safety",
            (USER, _a("reason", Kind.REST, "what happened (quote a message only if you wish)",
                      guarded=True)),
            private=True),
    Command("stats", "Your trio's statistics (counts and times only).", "Trios",
            needs_trio=True),
    Command("privacy export", "Get all the data held about you, as JSON.", "Privacy",
            private=True),
    Command("privacy forget", "Delete your data and leave your trios (asks to confirm).",
            "Privacy", (CONFIRM,), private=True),
)

BY_NAME: dict[str, Command] = {c.name: c for c in COMMANDS}
_GROUPS = {c.words[0] for c in COMMANDS if len(c.words) == 2}


@dataclass(frozen=True)
class Invocation:
    """A parsed command: which one, its arguments by name, and the ``#trio`` it names."""

    command: Command
    args: dict[str, Any] = field(default_factory=dict)
    trio: str | None = None


# Other words for a choice, in the languages commands are understood in (``vote 1 oui``).
SAME: dict[str, tuple[str, ...]] = {
    "oui": ("yes", "accept"), "y": ("yes",), "yeah": ("yes",), "yep": ("yes",),
    "ok": ("yes", "accept"), "approve": ("yes",), "pour": ("yes",),
    "non": ("no", "decline"), "n": ("no",), "nope": ("no",), "contre": ("no",),
    "accepte": ("accept",), "accepter": ("accept",), "refuse": ("decline", "no"),
    "refuser": ("decline", "no"), "decline": ("no",), "confirme": ("confirm",),
    "confirmer": ("confirm",), "retirer": ("remove",), "supprimer": ("remove",),
}

_TOKEN = re.compile(r'(#?)(?:"([^"]*)"|“([^”]*)”)|(\S+)')


def _tokens(text: str) -> list[tuple[str, int]]:
    """Split into (token, start offset); double quotes group words (``#"Les Trois"`` too)."""
    out = []
    for m in _TOKEN.finditer(text):
        value = next(g for g in m.groups()[1:] if g is not None)
        out.append(((m.group(1) or "") + value, m.start()))
    return out


def suggest(word: str, options: list[str]) -> str | None:
    """The closest known spelling of ``word``, if any is close."""
    found = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    return found[0] if found else None


def _unknown(words: list[str], prefix: str) -> ParseError:
    typed = " ".join(words[:2])
    if words[0] in _GROUPS:
        subs = [c.words[1] for c in COMMANDS if c.words[0] == words[0]]
        guess = suggest(words[1], subs) if len(words) > 1 else None
        if guess:
            return ParseError(f"I don't know the command “{typed}”.",
                              hint=f"Did you mean {prefix}{words[0]} {guess}?")
        return ParseError(
            f"“{prefix}{words[0]}” needs one more word: {', '.join(subs)}.",
            hint=f"Try {prefix}help {words[0]}.",
        )
    names = [c.name for c in COMMANDS] + sorted(_GROUPS)
    guess = None if chatter(words) else suggest(typed, names) or suggest(words[0], names)
    hint = f"Did you mean {prefix}{guess}? " if guess else ""
    kind = ParseError if guess else NotACommand
    return kind(f"I don't know the command “{typed}”.", hint=hint + f"Type {prefix}help.")


# First words of what people write to a bot before they know its commands.
_GREETINGS = frozenset({
    "hi", "hello", "hey", "hiya", "howdy", "yo", "hallo", "hola", "bonjour", "bonsoir",
    "salut", "coucou", "thanks", "thank", "merci", "cheers", "good", "ok", "okay", "please",
    "stp", "svp",
})
_QUESTIONS = frozenset({
    "how", "what", "why", "where", "who", "when", "which", "can", "could", "is", "are", "do",
    "does", "should", "i", "i'm", "im", "my", "we", "comment", "pourquoi", "quoi", "que",
    "qui", "quand", "ou", "est-ce", "je", "j'ai",
})


def chatter(words: list[str]) -> bool:
    """Whether a line whose first word is no command reads as free text, not a typo.

    Greetings and questions are free text; so is any line whose first word is not
    spelt like a command word (``trun`` is a typo of ``turn``; ``blah`` is not).
    """
    first = fold(words[0]).strip("!?.,:;'’")
    if first in _GREETINGS or first in _QUESTIONS or words[-1].endswith("?"):
        return True
    return suggest(first, sorted({c.words[0] for c in COMMANDS})) is None


# A word of free text, and the command it most likely asks about.
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
    "trio": "trio new",
}


def about(text: str) -> list[str]:
    """The commands a line of free text seems to ask about (at most two), in its order."""
    found = [_ABOUT[w] for w in re.findall(r"[a-z]+", fold(text)) if w in _ABOUT]
    return [c for c in dict.fromkeys(found) if c in BY_NAME][:2]


def knows(topic: str) -> bool:
    """Whether ``help <topic>`` names a command or a group, or a near spelling of one."""
    key = " ".join(topic.casefold().lstrip("!/").split())
    if key in BY_NAME or key in _GROUPS:
        return True
    return suggest(key, [c.name for c in COMMANDS] + sorted(_GROUPS)) is not None


CHAT = Command("chat", "Free text, a greeting or a question: answered with a pointer.",
               "Getting started", (Arg("text", Kind.REST, "what was said"),))


def read(text: str, prefix: str = "!") -> Invocation:
    """Like :func:`parse`, but free text becomes the :data:`CHAT` invocation, not an error."""
    try:
        return parse(text, prefix)
    except NotACommand:
        return Invocation(CHAT, {"text": text})


def command_of(text: str) -> Command | None:
    """The command a line starts with, if it names one (so even its errors stay private)."""
    words = [t.casefold() for t, _ in _tokens(text[:MAX_COMMAND])[:2]]
    if not words:
        return None
    return BY_NAME.get(" ".join(words)) or BY_NAME.get(words[0])


def parse(text: str, prefix: str = "!") -> Invocation:
    """Parse one command line (prefix already removed) into an :class:`Invocation`."""
    if len(text) > MAX_COMMAND:
        raise ParseError(f"That command is too long (at most {MAX_COMMAND} characters).")
    if readable(text) != text:
        raise ParseError("That command holds characters I cannot read.",
                         hint="Retype it without special characters.")
    tokens = _tokens(text)
    if not tokens:
        raise ParseError("That command is empty.", hint=f"Type {prefix}help.")
    words = [t.casefold() for t, _ in tokens[:2]]
    pair = BY_NAME.get(" ".join(words[:2])) if len(words) == 2 else None
    single = BY_NAME.get(words[0])
    if pair is not None:
        try:
            return _invocation(pair, text, tokens, prefix)
        except ParseError:
            if single is None:  # ``sos end of my rope`` is an SOS; ``trio new x y`` an error
                raise
    if single is None:
        raise _unknown(words, prefix)
    return _invocation(single, text, tokens, prefix)


def _invocation(command: Command, text: str, tokens: list[tuple[str, int]],
                prefix: str) -> Invocation:
    """Read the ``#trio`` and the arguments after the command's words."""
    rest = tokens[len(command.words):]
    trio = None
    if rest and rest[0][0].startswith("#") and len(rest[0][0]) > 1 and not _numbered(command, rest):
        trio = rest[0][0][1:]
        rest = rest[1:]
    args = _read_args(command, text, rest, prefix, trio)
    return Invocation(command, args, trio)


def from_typed(typed: Typed, prefix: str = "!") -> Invocation:
    """The invocation of a command whose arguments a platform already separated.

    Each argument goes through the same reading as typed text (numbers, choices, names,
    skills, cleaning), so a slash command cannot say what the text grammar would refuse.
    """
    command = BY_NAME.get(typed.name)
    if command is None:
        raise _unknown(typed.name.split() or [""], prefix)
    known = {a.name for a in command.args}
    extra = sorted(set(typed.args) - known)
    if extra:
        raise ParseError(f"{prefix}{command.name} has no option “{extra[0]}”.",
                         hint=f"Usage: {command.usage(prefix)}")
    args: dict[str, Any] = {}
    trio = typed.trio.strip().lstrip("#") if typed.trio and typed.trio.strip("# ") else None
    for arg in command.args:
        value = typed.args.get(arg.name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if arg.required:
                raise ParseError(f"{prefix}{command.name} needs {arg.usage()}: {arg.help}.",
                                 hint=f"Usage: {command.usage(prefix)}")
            args[arg.name] = None
            continue
        text = str(value)
        if len(text) > MAX_COMMAND or readable(text) != text:
            raise ParseError(f"The {arg.name} holds characters I cannot read, or is too long.",
                             hint="Retype it without special characters.")
        if arg.takes_rest:
            _guard(command, arg, text, trio, prefix)
            args[arg.name] = _convert_rest(arg, text)
        else:
            args[arg.name] = _convert(command, arg, text.strip(), prefix)
    return Invocation(command, args, trio)


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
                raise ParseError(
                    f"{prefix}{command.name} needs {arg.usage()}: {arg.help}.",
                    hint=f"Usage: {command.usage(prefix)}",
                )
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
            after = f" {flag[1]}" if flag else ""
            _guard(command, arg, raw, trio, prefix, written=f'{text[:start]}"{raw.strip()}"{after}')
            args[arg.name] = _convert_rest(arg, raw)
            continue
        args[arg.name] = _convert(command, arg, token, prefix)
        i += 1
    if i < len(rest):
        extra = " ".join(t for t, _ in rest[i:])
        if command.undo and cancel_word(extra):
            raise _mistaken(command, extra, trio, prefix, quotable=False)
        hint = f"Usage: {command.usage(prefix)} (quote several words: \"like this\")"
        if trio is not None and i == 0:
            hint = (f"A trio's name after # is written with dashes: #{slug(trio + ' ' + extra)} "
                    f"(or in quotes: #\"{trio} {extra}\").")
        raise ParseError(f"I did not expect “{extra}” after {prefix}{command.name}.", hint=hint)
    return args


def _trailing_choice(following: tuple[Arg, ...], words: list[tuple[str, int]]
                     ) -> tuple[str, str] | None:
    """(name, value) of the choice argument a rest argument leaves as its last word, if any."""
    if not following or following[0].kind is not Kind.CHOICE or not words:
        return None
    last = words[-1][0].casefold()
    return (following[0].name, last) if last in following[0].choices else None


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
    said = f"“{word}” after {prefix}{command.name} sounds like taking something back, so I did nothing."
    if command.undo:
        undo, label = command.undo
        said += f" Did you mean {prefix}{undo}?"
        choices.append(choice(label, f"{undo}{where}"))
    if written is None:
        return ParseError(said, hint="If you meant those words, put them in quotes."
                          if quotable else f"Usage: {command.usage(prefix)}", choices=tuple(choices))
    choices.append(choice("Send it as written", written, "secondary"))
    return ParseError(said, hint=f"If you meant those words, put them in quotes: {prefix}{written}",
                      choices=tuple(choices))


def _convert_rest(arg: Arg, raw: str) -> str:
    if arg.guarded:
        raw = _quoted(raw) or raw
    if arg.kind is Kind.NAME:
        return inert(clean_name(raw.strip().strip('"“”'), arg.name))
    if arg.kind in (Kind.SKILL_REST, Kind.SKILL):
        return clean_skill(raw.strip().strip('"“”'))
    return clean_text(raw, arg.name, arg.limit)


def _convert(command: Command, arg: Arg, token: str, prefix: str) -> Any:
    usage = f"Usage: {command.usage(prefix)}"
    if arg.kind is Kind.INT:
        digits = token.lstrip("#")
        if re.fullmatch(r"[0-9]{1,12}", digits) is None:  # not isdigit(): "¹" is a digit to it
            raise ParseError(f"“{token}” is not a number: {arg.usage()} is {arg.help}.",
                             hint=usage)
        return int(digits)
    if arg.kind is Kind.CHOICE:
        value = token.casefold()
        value = next((c for c in SAME.get(fold(value), ()) if c in arg.choices), value)
        if value not in arg.choices:
            guess = suggest(value, list(arg.choices))
            hint = f"Did you mean {guess}? " if guess else ""
            raise ParseError(
                f"“{token}” is not one of: {', '.join(arg.choices)}.", hint=hint + usage
            )
        return value
    if arg.kind is Kind.USER:
        return clean_name(token, "person")
    if arg.kind is Kind.SKILL:
        return clean_skill(token)
    return clean_text(token, arg.name, 200)


def help_text(topic: str | None = None, prefix: str = "!") -> str:
    """The whole command list, or the usage of one command."""
    if topic:
        key = " ".join(topic.casefold().lstrip("!/").split())
        if key in BY_NAME:
            c = BY_NAME[key]
            lines = [f"{c.usage(prefix)}", c.summary]
            if c.details:
                lines.append(c.details)
            lines += [f"  {a.usage()}: {a.help}" for a in c.args]
            if c.needs_trio:
                lines.append(f"In a direct chat, name the trio if you have several: "
                             f"{prefix}{c.name} #trio-name …")
            if c.example:
                lines.append(f"Example: {prefix}{c.example}")
            lines += [f"{o.usage(prefix)} — {o.summary}" for o in COMMANDS
                      if len(o.words) == 2 and o.words[0] == key]  # ``sos`` shows ``sos end``
            return "\n".join(lines)
        group = [c for c in COMMANDS if c.words[0] == key]
        if group:
            return "\n".join(f"{c.usage(prefix)} — {c.summary}" for c in group)
        guess = suggest(key, [c.name for c in COMMANDS] + sorted(_GROUPS))
        raise ParseError(
            f"There is no command “{topic}”.",
            hint=(f"Did you mean {prefix}help {guess}? " if guess else "") + f"Type {prefix}help.",
        )
    lines = ["Twinome: trios of three people who support each other. What would you like to do?"]
    for goal, commands in goals().items():
        lines.append(f"{goal}:")
        lines += [f"  {c.usage(prefix)} — {c.summary}" for c in commands]
    lines.append(f"Type {prefix}help <command> for details, e.g. {prefix}help trio new.")
    return "\n".join(lines)


# What people want to do, and the commands' topics that serve it (help is grouped so).
GOALS: dict[str, tuple[str, ...]] = {
    "Start a trio": ("Getting started", "Trios"),
    "Talk and keep your rhythm": ("Rhythm", "Proposals"),
    "Mentoring": ("Profile", "Mentoring"),
    "Hard times": ("Support",),
    "Privacy and safety": ("Privacy", "Safety"),
    "Matchmaking": ("Matchmaking",),
}
_GOAL_OF = {"languages": "Matchmaking", "stats": "Talk and keep your rhythm"}


def goals() -> dict[str, list[Command]]:
    """The commands under each goal of :data:`GOALS`, in table order (new topics: Other)."""
    by_topic = {topic: goal for goal, topics in GOALS.items() for topic in topics}
    out: dict[str, list[Command]] = {goal: [] for goal in GOALS}
    for c in COMMANDS:
        out.setdefault(_GOAL_OF.get(c.name) or by_topic.get(c.topic, "Other"), []).append(c)
    return {goal: commands for goal, commands in out.items() if commands}
