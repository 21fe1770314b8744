"""Words for people, in their language: message catalogs and locale formatting.

Theory of operation. Feature code never builds a sentence with an f-string: it writes
``_("Your trio “{name}” is ready.", name=trio.name)`` (or ``_n(singular, plural, n, …)``
where a count changes the words). That returns a :class:`Message`: a ``str`` whose value
is the English sentence, so everything that takes text keeps working, and which also
remembers its message id and arguments, so :func:`render` can say it again in another
language. Pieces join with ``+`` and :func:`join` into a :class:`Concat`, still
renderable; any other string operation (an f-string, ``str.join``, ``.strip()``) gives
plain English, which is why the feature code does not use them on messages.

The core renders each effect's words in its reader's language just before the effect
goes to the outbox (``core.service``): a private answer or notice in the member's
language, a post in a trio room or pair line in the trio's. Arguments render too: a
message inside a message, a :class:`~datetime.timedelta` as a duration ("3d 4h",
"3 jours 4 h"), an aware :class:`~datetime.datetime` as a date and time in UTC, a
:class:`~datetime.date` as a day ("2026-12-02", "2 déc. 2026"), a :class:`Local` as a
time in someone's time zone; anything else as ``str()``.

A catalog is a standard gettext file, ``core/locale/<lang>/LC_MESSAGES/twinome.po``
(extracted with ``pybabel extract -k _n:1,2``), compiled in memory with Babel the first
time a language is used, with the plural rule of each catalog. English is the source
language and needs no catalog.
"""

from __future__ import annotations

import gettext
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import cache, lru_cache
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel import Locale
from babel.dates import format_date, format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.units import format_unit

LANGUAGES = ("en", "fr")
"""The languages the bot speaks, the source language first."""
SOURCE = LANGUAGES[0]
LOCALE_DIR = Path(__file__).with_name("locale")
DOMAIN = "twinome"

_NAMES = {
    "en": "en", "english": "en", "anglais": "en", "eng": "en",
    "fr": "fr", "french": "fr", "francais": "fr", "français": "fr", "fra": "fr",
}


class Text(str):
    """Words for a person: a ``str`` in English that :func:`render` can say in any language."""

    def render(self, lang: str) -> str:
        """These words in ``lang``."""
        raise NotImplementedError

    def __copy__(self) -> Text:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Text:
        return self

    def __add__(self, other: str) -> Concat:
        return Concat((self, other))

    def __radd__(self, other: str) -> Concat:
        return Concat((other, self))


class Message(Text):
    """One catalog message with its arguments."""

    msgid: str
    plural: str | None
    n: int | None
    args: dict[str, Any]

    def __new__(cls, msgid: str, plural: str | None = None, n: int | None = None,
                args: dict[str, Any] | None = None) -> Message:
        args = args or {}
        english = (plural if plural is not None and n != 1 else msgid).format_map(
            {k: _value(v, SOURCE) for k, v in args.items()})
        self = super().__new__(cls, english)
        self.msgid, self.plural, self.n, self.args = msgid, plural, n, args
        return self

    def render(self, lang: str) -> str:
        if lang == SOURCE:  # made in English at once, its pieces too (see __new__)
            return str.__str__(self)
        book = catalog(lang)
        if self.plural is None:
            template = book.gettext(self.msgid)
        else:
            template = book.ngettext(self.msgid, self.plural, self.n or 0)
        return template.format_map({k: _value(v, lang) for k, v in self.args.items()})


class Concat(Text):
    """Several pieces of text said one after the other."""

    parts: tuple[str, ...]

    def __new__(cls, parts: Iterable[str]) -> Concat:
        flat: list[str] = []
        for part in parts:
            flat.extend(part.parts if isinstance(part, Concat) else (part,))
        self = super().__new__(cls, "".join(flat))
        self.parts = tuple(flat)
        return self

    def render(self, lang: str) -> str:
        if lang == SOURCE:  # its English is the English of its parts, joined
            return str.__str__(self)
        return "".join(render(p, lang) for p in self.parts)


def _(msgid: str, **args: Any) -> Message:
    """A message to translate; ``{name}`` placeholders take ``args``."""
    return Message(msgid, None, None, args)


def _n(singular: str, plural: str, n: int, **args: Any) -> Message:
    """A message whose words depend on the count ``n`` (passed to the placeholders as ``n``)."""
    return Message(singular, plural, n, {"n": n, **args})


def join(sep: str, parts: Iterable[str]) -> Text:
    """``sep.join(parts)`` that stays renderable."""
    out: list[str] = []
    for i, part in enumerate(parts):
        if i:
            out.append(sep)
        out.append(part)
    return Concat(out)


def render(text: str, lang: str) -> str:
    """``text`` in ``lang`` (plain strings, such as names, are said as they are)."""
    return text.render(lang) if isinstance(text, Text) else str(text)


@dataclass(frozen=True)
class Local:
    """A moment as someone sees it: a date and time in their time zone ``tz``."""

    when: datetime
    tz: str


def _value(value: Any, lang: str) -> str:
    """One argument of a message, said in ``lang``."""
    if isinstance(value, Text):
        return value.render(lang)
    if isinstance(value, timedelta):
        return duration(value, lang)
    if isinstance(value, Local):
        return local_time(value, lang)
    if isinstance(value, datetime):
        return moment(value, lang)
    if isinstance(value, date):
        return day(value, lang)
    return str(value)


# How each language writes a duration: (unit, seconds, Babel length) from the largest.
_Length = Literal["narrow", "short", "long"]
_UNITS: dict[str, tuple[tuple[str, int, _Length], ...]] = {
    "en": (("day", 86400, "narrow"), ("hour", 3600, "narrow"), ("minute", 60, "narrow")),
    "fr": (("day", 86400, "long"), ("hour", 3600, "short"), ("minute", 60, "short")),
}


def duration(delta: timedelta, lang: str) -> str:
    """A duration in at most its two largest units: ``3d 4h``, ``1 h 30 min``."""
    return _duration(int(delta.total_seconds()), lang)


@lru_cache(maxsize=4096)
def _duration(seconds: int, lang: str) -> str:
    """:func:`duration` of whole seconds (the same few, a trio's patience say, come back
    in every relance: Babel takes tens of microseconds to say one)."""
    if seconds < 60:
        return render(_("less than a minute"), lang)
    parts = []
    for unit, size, length in _UNITS.get(lang, _UNITS[SOURCE]):
        if seconds >= size:
            parts.append(format_unit(seconds // size, f"duration-{unit}", length=length,
                                     locale=babel_locale(lang)))
            seconds %= size
    return " ".join(parts[:2])


@lru_cache(maxsize=64)
def babel_locale(lang: str) -> Locale:
    """Babel's locale for ``lang``, made once (Babel parses a name anew at each call, and a
    date said takes it three times: a quarter of the time it takes to say it)."""
    return Locale.parse(lang)


_MOMENT = {"en": "yyyy-MM-dd HH:mm", "fr": "d MMM y 'à' HH:mm"}
_LOCAL = {"en": "EEE dd MMM y, HH:mm", "fr": "EEE d MMM y, HH:mm"}


def moment(when: datetime, lang: str) -> str:
    """A date and time in UTC, as the bot states deadlines."""
    return format_datetime(when.astimezone(UTC), _MOMENT.get(lang, _MOMENT[SOURCE]),
                           tzinfo=UTC, locale=babel_locale(lang)) + " UTC"


_DAY = {"en": "yyyy-MM-dd", "fr": "d MMM y"}


def day(when: date, lang: str) -> str:
    """A calendar day (no time, no zone), as the bot states a date someone typed."""
    return format_date(when, _DAY.get(lang, _DAY[SOURCE]), locale=babel_locale(lang))


def local_time(local: Local, lang: str) -> str:
    """A date and time in someone's time zone, the zone named after it."""
    try:
        tz = ZoneInfo(local.tz)
    except (ZoneInfoNotFoundError, ValueError):
        tz = ZoneInfo("UTC")
    return format_datetime(local.when, _LOCAL.get(lang, _LOCAL[SOURCE]),
                           tzinfo=tz, locale=babel_locale(lang)) + f" ({local.tz})"


def catalog_file(lang: str) -> Path:
    """Where the catalog of ``lang`` lives (one gettext domain, ``twinome``)."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@cache
def catalog(lang: str) -> gettext.NullTranslations:
    """The compiled catalog of ``lang`` (its ``.po`` file compiled in memory)."""
    path = catalog_file(lang)
    if lang == SOURCE or lang not in LANGUAGES or not path.exists():
        return gettext.NullTranslations()
    with path.open("rb") as fp:
        messages = read_po(fp, locale=lang)
    buf = io.BytesIO()
    write_mo(buf, messages)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def translated(msgid: str, lang: str) -> bool:
    """Whether the catalog of ``lang`` says ``msgid`` in that language (the source always does)."""
    said = getattr(catalog(lang), "_catalog", {})  # plural forms are keyed (msgid, index)
    return lang == SOURCE or msgid in said or (msgid, 0) in said


def language_code(word: str) -> str | None:
    """The language a word names (``fr``, ``français``, ``english``), if the bot speaks it."""
    return _NAMES.get(word.strip().casefold())


def pick(*candidates: str | None) -> str:
    """The first candidate the bot speaks (``fr-FR`` counts as ``fr``), else the source."""
    for candidate in candidates:
        if candidate:
            code = candidate.split("-")[0].split("_")[0].casefold()
            if code in LANGUAGES:
                return code
    return SOURCE
