"""The forms people naturally type: durations, dates, clock times, zones, names, free text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core import grammar
from core.effects import Notify, Reply
from core.errors import NotACommand, ParseError
from core.rhythm import parse_away, parse_window, zone_name
from core.textrules import fold, parse_clock, read_seconds
from tests.helpers import Harness, code_in, replies

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # a Wednesday
DAY = timedelta(days=1)


@pytest.mark.parametrize(("text", "length", "note"), [
    ("2d", 2 * DAY, None),
    ("2 days", 2 * DAY, None),
    ("1w on holiday", 7 * DAY, "on holiday"),
    ("for a week, holidays", 7 * DAY, "holidays"),
    ("for 3d moving house", 3 * DAY, "moving house"),
    ("for two weeks", 14 * DAY, None),
    ("3 jours - déménagement", 3 * DAY, "déménagement"),
    ("1 week and 2 days back soon", 9 * DAY, "back soon"),
])
def test_away_reads_durations_with_or_without_for(text: str, length: timedelta,
                                                  note: str | None) -> None:
    assert parse_away(text, "UTC", NOW) == (NOW + length, note)


@pytest.mark.parametrize(("text", "end", "note"), [
    ("until monday", datetime(2026, 12, 7, tzinfo=UTC), None),
    ("till next friday, conference", datetime(2026, 12, 4, tzinfo=UTC), "conference"),
    ("until tomorrow", datetime(2026, 12, 3, tzinfo=UTC), None),
    ("until 10 dec trip", datetime(2026, 12, 10, tzinfo=UTC), "trip"),
    ("until 2026-12-20 skiing", datetime(2026, 12, 20, tzinfo=UTC), "skiing"),
    ("2026-12-20", datetime(2026, 12, 20, tzinfo=UTC), None),
])
def test_away_reads_dates(text: str, end: datetime, note: str | None) -> None:
    assert parse_away(text, "UTC", NOW) == (end, note)


def test_away_without_a_time_is_open_ended_with_the_text_as_note() -> None:
    assert parse_away("moving house", "UTC", NOW) == (None, "moving house")
    assert parse_away("a bit tired", "UTC", NOW) == (None, "a bit tired")


@pytest.mark.parametrize("text", ["3", "2x", "for a while", "two weks", "3dd off",
                                  "tomorrow", "until someday"])
def test_away_asks_when_a_leading_word_looks_like_a_time_but_is_not(text: str) -> None:
    with pytest.raises(ParseError) as err:
        parse_away(text, "UTC", NOW)
    assert err.value.message.endswith("?") or "“" in err.value.message


def test_away_asks_with_a_guess_for_a_bare_number() -> None:
    with pytest.raises(ParseError) as err:
        parse_away("3", "UTC", NOW)
    assert "away 3d" in (err.value.hint or "")


def test_durations_and_clock_times_in_the_forms_people_write() -> None:
    assert read_seconds("a week") == 7 * 86400
    assert read_seconds("une semaine") == 7 * 86400
    assert read_seconds("1h30") == 5400
    assert read_seconds("a bit") is None
    assert parse_window("22h-8h") == (22 * 60, 8 * 60)
    assert parse_window("22-8") == (22 * 60, 8 * 60)
    assert parse_window("22:00 - 08:00") == (22 * 60, 8 * 60)
    assert parse_window("10pm to 7am") == (22 * 60, 7 * 60)
    assert parse_clock("22h30").minute == 30
    with pytest.raises(ParseError):
        parse_clock("25h")


def test_time_zones_by_city_and_by_offset() -> None:
    assert zone_name("Paris") == "Europe/Paris"
    assert zone_name("new york") == "America/New_York"
    assert zone_name("UTC+1") == "Etc/GMT-1"  # the database reverses the sign
    assert zone_name("utc-5") == "Etc/GMT+5"
    with pytest.raises(ParseError) as err:
        zone_name("Pariss")
    assert "Europe/Paris" in (err.value.hint or "")
    with pytest.raises(ParseError) as half:
        zone_name("UTC+5:30")
    assert "city" in (half.value.hint or "")


def test_choices_in_other_words_and_multi_word_skills_last() -> None:
    assert grammar.parse("vote 1 oui").args == {"id": 1, "vote": "yes"}
    assert grammar.parse("vote #2 non").args == {"id": 2, "vote": "no"}
    assert grammar.parse("mentor ask @alice bread baking").args == {
        "user": "@alice", "skill": "bread baking"}
    assert grammar.parse('mentor offer @bob "public speaking"').args["skill"] == "public speaking"
    assert grammar.parse("session log @bob python 1h").args["skill"] == "python"


@pytest.mark.parametrize("text", ["hi", "hello", "Hello!", "how do I start a trio?",
                                  "thanks", "blah blah", "I want to learn guitar"])
def test_free_text_is_not_a_mistyped_command(text: str) -> None:
    with pytest.raises(NotACommand):
        grammar.parse(text)
    assert grammar.read(text).command is grammar.CHAT


@pytest.mark.parametrize(("text", "guess"), [("trun", "turn"), ("tiemzone Paris", "timezone")])
def test_a_near_miss_still_gets_did_you_mean(text: str, guess: str) -> None:
    with pytest.raises(ParseError) as err:
        grammar.read(text)
    assert not isinstance(err.value, NotACommand) and guess in (err.value.hint or "")


def test_fold_drops_case_and_accents() -> None:
    assert fold("Deuxième-TRIO") == "deuxieme-trio"


async def test_someone_new_is_welcomed_and_a_member_pointed_to_help(h: Harness) -> None:
    for text in ("hi", "Help me please", "how do I start a trio?"):
        [reply] = await h.say("zoe", text)
        assert isinstance(reply, Reply) and not reply.error
        assert "Twinome" in reply.text and "trio new" in reply.text and "trio join" in reply.text
    assert "help trio new" in (await h.say("zoe", "how do I start a trio?"))[0].text
    await h.say("alice", "trio new Les Trois")
    [reply] = await h.say("alice", "hello")
    assert not reply.error and "help" in reply.text and "Hello" in reply.text


async def _trio(h: Harness, name: str = "Deuxième Trio") -> None:
    code = code_in(replies(await h.say("alice", f"trio new {name}"))[0])
    await h.say("bob", f"trio join {code}")
    code = code_in(replies(await h.say("alice", "trio invite"))[0])
    await h.say("carol", f"trio join {code}")


async def test_trio_names_match_without_accents_and_near_misses_are_suggested(h: Harness) -> None:
    await _trio(h)
    await h.say("alice", "trio new Les Copains")
    [ok] = await h.say("alice", "trio info #deuxieme-trio")
    assert not ok.error and "Deuxième Trio" in ok.text
    [miss] = await h.say("alice", "trio info #les-copain")
    assert miss.error and "Did you mean #les-copains?" in miss.text


async def test_an_away_retried_does_not_tell_the_trio_mates_twice(h: Harness) -> None:
    await _trio(h)
    first = await h.say("alice", "away 2d")
    told = [e for e in first if isinstance(e, Notify)]
    assert sorted(e.to for e in told) == ["bob", "carol"]
    assert "“2d”" not in told[0].text and "until" in told[0].text
    again = await h.say("alice", "away 2 days, moving house")
    assert not [e for e in again if isinstance(e, Notify)]
    assert "were told" in replies(again)[0]
    asked = await h.say("bob", "away 3")
    assert [e.error for e in asked] == [True]
    assert not [e for e in asked if isinstance(e, Notify)]
