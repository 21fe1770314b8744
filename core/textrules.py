"""Checks and parsers for the small values people type: text, names, durations, dates."""

from __future__ import annotations

import re
import unicodedata
from datetime import time, timedelta
from functools import lru_cache

from core.errors import ParseError
from core.i18n import _

MAX_COMMAND = 2000
MAX_NOTE = 500
MAX_NAME = 60
MAX_SKILL = 40

_DURATION = re.compile(
    r"(\d+)\s*(months?|mois|mo|minutes?|mins?|hours?|heures?|hrs?|days?|jours?|j|weeks?|"
    r"semaines?|sem|w|d|h|mn|m)", re.IGNORECASE)
_UNIT_SECONDS = {"mo": 2592000, "w": 604800, "s": 604800, "d": 86400, "j": 86400,
                 "h": 3600, "m": 60}
# Number words people write before a unit ("a week", "two days", "une semaine").
_NUMBERS = {"a": 1, "an": 1, "one": 1, "un": 1, "une": 1, "two": 2, "deux": 2, "three": 3,
            "trois": 3, "four": 4, "quatre": 4, "five": 5, "cinq": 5, "six": 6, "seven": 7,
            "sept": 7, "eight": 8, "huit": 8, "nine": 9, "neuf": 9, "ten": 10, "dix": 10,
            "fifteen": 15, "quinze": 15}
_NUMBER_WORD = re.compile(r"(?<![a-z])(" + "|".join(sorted(_NUMBERS, key=len, reverse=True))
                          + r")\s+(?=[a-z])")


def clean_text(value: str, what: str, limit: int = MAX_NOTE) -> str:
    """Return ``value`` stripped, or raise if it is empty, too long or has control characters."""
    value = value.strip()
    if not value:
        raise ParseError(_("The {what} is empty.", what=what))
    if len(value) > limit:
        raise ParseError(
            _("The {what} is too long ({length} characters; at most {limit}).",
              what=what, length=len(value), limit=limit),
            hint=_("Shorten it a little."),
        )
    for ch in value:
        if ch in "\n\t":
            continue
        if unicodedata.category(ch) in ("Cc", "Cf", "Cs") and ch not in "\u200d":
            raise ParseError(
                _("The {what} contains an invisible control character.", what=what),
                hint=_("Retype it without special characters."),
            )
    return value


def readable(value: str) -> str:
    """``value`` without lone surrogates, which no UTF-8 file or screen can hold."""
    return value.encode("utf-8", "replace").decode("utf-8")


_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x85\u2028\u2029]")
_PINGS = re.compile(r"@(?=(?:room|everyone|here)\b)", re.IGNORECASE)
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\\\)?")
_ZWJ = "\u200d"  # joins emoji sequences; harmless inside a quoted text


def _visible(value: str, *, keep_zwj: bool) -> str:
    """``value`` without control, format (bidi, zero-width) or surrogate characters."""
    return "".join(ch for ch in _ANSI.sub("", readable(value))
                   if (keep_zwj and ch == _ZWJ)
                   or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))


def inert(value: str, limit: int = MAX_NOTE) -> str:
    """User text made safe to relay inside a bot message: the one place it is neutralised.

    One line (breaks become a visible ``⏎``, so no forged line can follow the bot's own),
    no control or format characters, no room-wide ping (``@room``, ``@everyone``, ``@here``
    get a full-width ``＠``), no curly quote that could close the bot's quotation early,
    and at most ``limit`` characters.
    """
    text = _BREAKS.sub(" ⏎ ", value).replace("\t", " ")
    text = _visible(text, keep_zwj=True)
    text = _PINGS.sub("＠", text).replace("“", '"').replace("”", '"')
    return text if len(text) <= limit else text[: limit - 1] + "…"


def quote(value: str, limit: int = MAX_NOTE) -> str:
    """User-written text as the bot relays it: inert, between quotation marks."""
    return f"“{inert(value, limit)}”"


@lru_cache(maxsize=4096)  # every command carries its author's name: the same few, again
def clean_display_name(value: str | None) -> str | None:
    """A platform display name fit to show: one line, visible characters, capped; None if empty."""
    if value is None:
        return None
    text = " ".join(inert(_BREAKS.sub(" ", value), limit=10 * MAX_NAME).split())
    text = _visible(text, keep_zwj=False)
    text = text if len(text) <= MAX_NAME else text[: MAX_NAME - 1] + "…"
    return text or None


def clean_name(value: str, what: str = _("name"), limit: int = MAX_NAME) -> str:
    """A short single-line name (trio names)."""
    value = clean_text(value, what, limit)
    if "\n" in value:
        raise ParseError(_("The {what} must fit on one line.", what=what))
    return " ".join(value.split())


def clean_skill(value: str) -> str:
    """A skill, compared case-insensitively, so stored in lower case (and relayed inert)."""
    return inert(clean_name(value, _("skill"), MAX_SKILL)).lower()


def slug(name: str) -> str:
    """The form used to name a trio after ``#``: lower case, dashes for spaces."""
    return "-".join(name.casefold().split())


@lru_cache(maxsize=4096)  # names and command words, folded again and again
def fold(text: str) -> str:
    """``text`` compared as people type it: no case, no accents (``Deuxième`` is ``deuxieme``)."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


def read_seconds(text: str) -> int | None:
    """How many seconds ``90m``, ``1h30``, ``2 days``, ``a week`` say, or None if unreadable.

    French reads too: ``3 jours``, ``2 semaines``, ``1 h 30``, ``45 min``, ``une semaine``.
    Halves as people say them: ``une heure et demie``, ``two days and a half``,
    ``half an hour``, ``une demi-journée``.
    """
    folded = fold(text).strip()
    if (alone := _HALF_A.fullmatch(folded)) is not None:  # half an hour, une demi-journée
        return _unit_seconds(alone.group(1)) // 2
    half = _AND_A_HALF.search(folded)  # une heure et demie, two days and a half
    folded = folded[:half.start()] if half else folded
    raw = _NUMBER_WORD.sub(lambda m: f"{_NUMBERS[m.group(1)]} ", folded)
    compact = re.sub(r"\b(?:and|et)\b|\s|,", "", raw)
    if re.fullmatch(r"\d+(?:h|hours?|hrs?|heures?)\d+", compact):  # 1h30, 1 heure 30
        compact += "m"
    total = pos = last = 0
    for match in _DURATION.finditer(compact):
        if match.start() != pos:
            break
        last = _unit_seconds(match.group(2))
        total += int(match.group(1)) * last
        pos = match.end()
    if not compact or pos != len(compact):
        return None
    return total + last // 2 if half else total


_AND_A_HALF = re.compile(r",?\s*(?:and a half|et demie?)$")
_HALF_A = re.compile(r"(?:half an?|une? demie?)[\s-]*(hour|heure|day|jour|journee|week|semaine)")


def _unit_seconds(unit: str) -> int:
    """The seconds in one of a unit as :data:`_DURATION` reads it."""
    return _UNIT_SECONDS["mo" if unit.startswith("mo") else unit[0]]


_LONGEST = int(timedelta.max.total_seconds())  # beyond it, no timedelta can hold a duration


def parse_duration(text: str, *, least: timedelta, most: timedelta, what: str) -> timedelta:
    """Parse ``90m``, ``1h30``, ``2d``, ``1w 2d``, ``3 days``; bounded to [least, most]."""
    total = read_seconds(text)
    if total is None:
        raise ParseError(
            _("I could not read “{text}” as a {what}.", text=text, what=what),
            hint=_("Write it like 45m, 1h30, 3d or 2w."),
        )
    if not least.total_seconds() <= total <= most.total_seconds():
        # Compared as whole seconds: a huge number never reaches timedelta (OverflowError);
        # beyond what a timedelta holds, the days are said as a bare count.
        amount = timedelta(seconds=total) if total < _LONGEST else f"{total // 86400}d"
        raise ParseError(_("A {what} of {amount} is out of range ({least} to {most}).",
                           what=what, amount=amount, least=least, most=most))
    delta = timedelta(seconds=total)
    return delta


_CLOCK = re.compile(r"(\d{1,2})(?:\s*(?:[:.]|h|heures?)\s*(\d{2})?)?\s*(am|pm)?")
_NAMED_CLOCK = {"midnight": "0:00", "minuit": "0:00", "noon": "12:00", "midi": "12:00"}


def parse_clock(text: str) -> time:
    """Parse ``22:00``, ``7:30``, ``22h``, ``22h30``, ``22 h 30``, ``22``, ``10pm``, ``minuit``."""
    said = fold(text.strip())
    match = _CLOCK.fullmatch(_NAMED_CLOCK.get(said, said))
    hour = int(match.group(1)) if match else 99
    if match and match.group(3):  # 12am is midnight, 12pm is noon
        hour = hour % 12 + (12 if match.group(3) == "pm" else 0) if 1 <= hour <= 12 else 99
    minute = int(match.group(2) or 0) if match else 0
    if hour > 23 or minute > 59:
        raise ParseError(_("“{text}” is not a time of day.", text=text),
                         hint=_("Use the form 22:00."))
    return time(hour, minute)
