"""Reading when people say: ``2 days``, ``a week``, ``monday``, ``tomorrow``, ``1 dec``.

French reads as well: ``3 jours``, ``une semaine``, ``lundi prochain``, ``demain``,
``aujourd'hui``, ``1er déc``, ``la semaine prochaine`` (its Monday, as ``next week``).

Each reader takes the words of a line (as ``(word, end offset)`` pairs, see
:func:`words`) and returns what the longest readable prefix says and how many words it
used, or None: the caller decides what the words after it are (usually a note).
"""

from __future__ import annotations

import difflib
import re
from datetime import date, timedelta

from core.textrules import fold, read_seconds

Words = list[tuple[str, int]]  # each word and the offset just after it in the line

_WEEKDAYS = (("monday", "mon", "lundi"), ("tuesday", "tue", "tues", "mardi"),
             ("wednesday", "wed", "mercredi"), ("thursday", "thu", "thurs", "jeudi"),
             ("friday", "fri", "vendredi"), ("saturday", "sat", "samedi"),
             ("sunday", "sun", "dimanche"))
_MONTHS = (("january", "jan", "janvier", "janv"), ("february", "feb", "fevrier", "fevr"),
           ("march", "mar", "mars"), ("april", "apr", "avril", "avr"), ("may", "mai"),
           ("june", "jun", "juin"), ("july", "jul", "juillet", "juil"),
           ("august", "aug", "aout"), ("september", "sep", "sept", "septembre"),
           ("october", "oct", "octobre"), ("november", "nov", "novembre"),
           ("december", "dec", "decembre"))
_DAY = re.compile(r"(\d{1,2})(?:st|nd|rd|th|er)?")
_SKIP = {"next", "this", "the", "on", "le", "la", "ce", "cette", "prochain", "prochaine"}
_AFTER = {"prochain", "prochaine"}  # ``lundi prochain``: the word after the day, read with it
_NEXT = {"next", "prochain", "prochaine"}
_WEEK = {"week", "semaine"}
_TODAY = {"today", "aujourd'hui", "aujourd’hui", "auj"}
_TOMORROW = {"tomorrow", "demain"}
_AFTER_TOMORROW = {"apres-demain", "apres demain"}
_TRIM = ",;:.!?-–—"


def words(text: str) -> Words:
    """The words of ``text`` with where each ends, punctuation at their edges left out."""
    return [(m.group().strip(_TRIM), m.end()) for m in re.finditer(r"\S+", text)
            if m.group().strip(_TRIM)]


def duration(ws: Words) -> tuple[int, int] | None:
    """(seconds, words used) of the longest prefix of ``ws`` that reads as a duration."""
    for n in range(min(len(ws), 6), 0, -1):
        seconds = read_seconds(" ".join(w for w, _ in ws[:n]))
        if seconds is not None:
            return seconds, n
    return None


def _index(word: str, table: tuple[tuple[str, ...], ...]) -> int | None:
    key = fold(word)
    return next((i for i, names in enumerate(table) if key in names), None)


def day(ws: Words, today: date) -> tuple[date, int] | None:
    """(the date, words used) that the start of ``ws`` names, the next one after ``today``."""
    skipped = 0
    while skipped < len(ws) - 1 and fold(ws[skipped][0]) in _SKIP:
        skipped += 1
    rest = [w for w, _ in ws[skipped:skipped + 2]]
    if not rest:
        return None
    if fold(rest[0]) in _WEEK:  # next week, la semaine prochaine: its Monday
        after = len(rest) > 1 and fold(rest[1]) in _AFTER
        if after or any(fold(w) in _NEXT for w, _ in ws[:skipped]):
            return today + timedelta(days=7 - today.weekday()), skipped + 1 + after
        return None
    found = _one_word(rest[0], today)
    if found is not None:
        after = len(rest) > 1 and fold(rest[1]) in _AFTER
        return found, skipped + 1 + after
    found = _day_month(rest, today)
    return (found, skipped + 2) if found is not None else None


def _one_word(word: str, today: date) -> date | None:
    key = fold(word)
    if key in _TODAY:
        return today
    if key in _TOMORROW:
        return today + timedelta(days=1)
    if key in _AFTER_TOMORROW:
        return today + timedelta(days=2)
    weekday = _index(word, _WEEKDAYS)
    if weekday is not None:
        return today + timedelta(days=(weekday - today.weekday() - 1) % 7 + 1)
    try:
        return date.fromisoformat(word) if re.fullmatch(r"\d{4}-\d{2}-\d{2}", word) else None
    except ValueError:
        return None


def _day_month(pair: list[str], today: date) -> date | None:
    """``1 dec``, ``dec 1``, ``1er décembre``: the next such date after ``today``."""
    if len(pair) < 2:
        return None
    for number, name in (pair, pair[::-1]):
        match = _DAY.fullmatch(fold(number))
        month = _index(name, _MONTHS)
        if match is None or month is None:
            continue
        for year in (today.year, today.year + 1):
            try:
                found = date(year, month + 1, int(match.group(1)))
            except ValueError:
                return None
            if found > today:
                return found
    return None


def looks_like_duration(ws: Words) -> bool:
    """Whether the start of ``ws`` is plainly meant as a duration (``3``, ``2x``, ``two weks``)."""
    if not ws:
        return False
    first = fold(ws[0][0])
    if first[:1].isdigit():
        return True
    return len(ws) > 1 and read_seconds(first + " d") is not None and _unit_like(ws[1][0])


def _unit_like(word: str) -> bool:
    """Whether ``word`` is a misspelt unit of time (``weks``, ``dayz``)."""
    units = ["minutes", "hours", "days", "weeks", "months", "jours", "semaines", "heures",
             "journees"]
    return bool(difflib.get_close_matches(fold(word), units, n=1, cutoff=0.7))
