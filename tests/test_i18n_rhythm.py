"""Rhythm in French: time words read in both languages, and `turn`, away, back, quiet hours,
time zones, stats, the relance note and the kind reminder said in each reader's language."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest

from core import when
from core.errors import ParseError
from core.i18n import render
from core.rhythm import parse_away, parse_window
from core.textrules import parse_clock, parse_duration, read_seconds
from tests.helpers import Harness, notices, replies
from tests.test_turns import DAY, HOUR, lines_of

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)  # a Wednesday
NB = "\u00a0"  # a no-break space, as Babel and the catalog write them
NNB = "\u202f"  # a narrow one, as Babel writes "1 h"


def fr_quoted(text: str) -> str:
    """``text`` between French quotation marks, as the catalog writes them."""
    return f"«{NB}{text}{NB}»"


@pytest.mark.parametrize(("said", "seconds"), [
    ("3 jours", 3 * 86400), ("2 semaines", 14 * 86400), ("1 semaine", 7 * 86400),
    ("1h30", 5400), ("1 h 30", 5400), ("1 heure 30", 5400), ("48 h", 48 * 3600),
    ("45 min", 45 * 60), ("45 mn", 45 * 60), ("une semaine", 7 * 86400),
    ("deux jours", 2 * 86400), ("quinze jours", 15 * 86400), ("2 sem", 14 * 86400),
    ("1 semaine et 2 jours", 9 * 86400), ("3 j", 3 * 86400), ("une heure", 3600),
    # halves as people say them
    ("une heure et demie", 5400), ("deux jours et demi", 60 * 3600), ("1 h et demie", 5400),
    ("une demi-heure", 1800), ("une demi-journée", 12 * 3600), ("half an hour", 1800),
    ("an hour and a half", 5400), ("two weeks and a half", 17 * 86400 + 12 * 3600),
    # the English still reads
    ("3d", 3 * 86400), ("2 weeks", 14 * 86400), ("a week", 7 * 86400), ("90m", 5400),
    ("1h 30m", 5400), ("two days", 2 * 86400), ("1 hour 30", 5400), ("1w 2d", 9 * 86400),
])
def test_durations_read_in_both_languages(said: str, seconds: int) -> None:
    assert read_seconds(said) == seconds


@pytest.mark.parametrize("said", ["3 jours de vacances", "deux", "semaine", "3x", "demain",
                                  "et demie", "une demi", "and a half"])
def test_what_is_not_a_duration_is_not_read_as_one(said: str) -> None:
    assert read_seconds(said) is None


@pytest.mark.parametrize(("line", "ends", "note"), [
    ("pour 3 jours déménagement", NOW + timedelta(days=3), "déménagement"),
    ("3 jours", NOW + timedelta(days=3), None),
    ("pendant 2 semaines vacances au soleil", NOW + timedelta(days=14), "vacances au soleil"),
    ("une semaine", NOW + timedelta(days=7), None),
    ("48 h", NOW + timedelta(hours=48), None),
    ("pour 1h30 rendez-vous", NOW + timedelta(hours=1, minutes=30), "rendez-vous"),
    ("jusqu'à lundi", datetime(2026, 12, 7, tzinfo=UTC), None),
    ("jusqu’à lundi prochain, en famille", datetime(2026, 12, 7, tzinfo=UTC), "en famille"),
    ("jusqu’au 1 déc", datetime(2027, 12, 1, tzinfo=UTC), None),
    ("jusqu'au 1er janvier fêtes", datetime(2027, 1, 1, tzinfo=UTC), "fêtes"),
    ("jusqu'à demain", datetime(2026, 12, 3, tzinfo=UTC), None),
    ("jusqu'à après-demain", datetime(2026, 12, 4, tzinfo=UTC), None),
    ("jusqu'à la semaine prochaine, en congé", datetime(2026, 12, 7, tzinfo=UTC), "en congé"),
    ("pour une heure et demie chez le médecin", NOW + timedelta(minutes=90), "chez le médecin"),
    # the English still reads
    ("for 3d moving house", NOW + timedelta(days=3), "moving house"),
    ("until monday", datetime(2026, 12, 7, tzinfo=UTC), None),
    ("until tomorrow", datetime(2026, 12, 3, tzinfo=UTC), None),
    ("until next week", datetime(2026, 12, 7, tzinfo=UTC), None),
    ("for a day and a half", NOW + timedelta(hours=36), None),
    ("a week", NOW + timedelta(days=7), None),
])
def test_away_reads_the_time_then_the_note(line: str, ends: datetime, note: str | None) -> None:
    assert parse_away(line, "UTC", NOW) == (ends, note)


def test_a_week_alone_is_no_day() -> None:
    assert when.day(when.words("the week"), date(2026, 12, 2)) is None
    assert when.day(when.words("semaine"), date(2026, 12, 2)) is None
    # a Sunday's next week is the next day's
    assert when.day(when.words("next week"), date(2026, 12, 6)) == (date(2026, 12, 7), 2)


def test_today_is_a_day_that_has_already_begun() -> None:
    assert when.day(when.words("aujourd'hui"), date(2026, 12, 2)) == (date(2026, 12, 2), 1)
    assert when.day(when.words("aujourd’hui"), date(2026, 12, 2)) == (date(2026, 12, 2), 1)
    with pytest.raises(ParseError) as err:
        parse_away("jusqu'à aujourd'hui", "Europe/Paris", NOW)
    assert render(err.value.message, "fr") == "2 déc. 2026 a déjà commencé là où vous êtes (Europe/Paris)."


@pytest.mark.parametrize(("said", "window"), [
    ("22h-8h", (22 * 60, 8 * 60)), ("22 h - 8 h", (22 * 60, 8 * 60)),
    ("de 22h à 7h30", (22 * 60, 7 * 60 + 30)), ("22:00-08:00", (22 * 60, 8 * 60)),
    ("10pm to 7am", (22 * 60, 7 * 60)), ("de 22 h 30 à 7 h", (22 * 60 + 30, 7 * 60)),
    ("22 heures à 7 heures", (22 * 60, 7 * 60)), ("de minuit à 8h", (0, 8 * 60)),
    ("from 10 pm to 7 am", (22 * 60, 7 * 60)), ("22-8", (22 * 60, 8 * 60)),
])
def test_quiet_windows_read_in_both_languages(said: str, window: tuple[int, int]) -> None:
    assert parse_window(said) == window


@pytest.mark.parametrize(("said", "clock"), [
    ("22h", time(22)), ("22 h 30", time(22, 30)), ("8 heures", time(8)), ("minuit", time(0)),
    ("midi", time(12)), ("22:00", time(22)), ("10pm", time(22)), ("7.30", time(7, 30)),
])
def test_clock_times_read_in_both_languages(said: str, clock: time) -> None:
    assert parse_clock(said) == clock


def test_a_duration_out_of_range_is_said_in_french() -> None:
    with pytest.raises(ParseError) as err:
        parse_duration("400 jours", least=timedelta(hours=1), most=timedelta(days=365),
                       what="durée d’absence")
    assert render(err.value.message, "fr") == (
        f"400{NB}jours, c’est hors limites (durée d’absence: de 1{NNB}h à 365{NB}jours).")
    assert err.value.message == "A durée d’absence of 400d is out of range (1h to 365d)."


async def test_turn_in_french_and_in_english(h: Harness) -> None:
    rooms = await lines_of(h)
    await h.speaks("bob", "fr")
    await h.write("alice", rooms["alice+bob"])
    await h.advance(2 * HOUR)
    said = replies(await h.say("bob", "turn"))[0]
    assert said.startswith(f"Tours de parole dans {fr_quoted('Les Trois')}:")
    assert f"• Votre ligne avec Alice: vous devez une réponse à Alice (depuis 2{NNB}h)" in said
    english = replies(await h.say("alice", "turn"))[0]
    assert "• Your line with Bob: Bob owes you a reply (for 2h)" in english


async def test_away_then_back_in_french_while_an_english_mate_reads_english(h: Harness) -> None:
    await lines_of(h)
    await h.speaks("bob", "fr")
    await h.speaks("alice", "fr")
    out = await h.say("bob", "away pour 3 jours déménagement")
    reply = replies(out)[0]
    assert reply.startswith("Vous êtes en pause jusqu’au jeu. 8 janv. 2026, 09:00 (UTC): "
                            f"{fr_quoted('déménagement')}. Vos rappels sont suspendus")
    assert "!tour" in reply and "!retour" in reply
    assert notices(out, "alice") == [
        f"Bob est en pause jusqu’au jeu. 8 janv. 2026, 09:00 (UTC): {fr_quoted('déménagement')}. "
        "Ses rappels sont suspendus d’ici là; inutile d’attendre sa réponse."]
    assert notices(out, "carol") == [
        "Bob is away until Thu 08 Jan 2026, 09:00 (UTC): “déménagement”. Reminders to them "
        "pause meanwhile; no need to wait for a reply."]
    assert f"Bob est en pause jusqu’au jeu. 8 janv. 2026, 09:00 (UTC): {fr_quoted('déménagement')}" \
        in replies(await h.say("alice", "turn"))[0]
    back = await h.say("bob", "back")
    assert replies(back) == ["Bon retour! Les rappels reprennent. Personne n’attend de réponse "
                             "de votre part."]
    assert notices(back, "alice") == ["Bob est de retour."]
    assert notices(back, "carol") == ["Bob is back."]


async def test_an_away_ends_by_itself_in_french(h: Harness) -> None:
    rooms = await lines_of(h)
    await h.speaks("bob", "fr")
    await h.write("alice", rooms["alice+bob"])
    await h.say("bob", "away 2 jours")
    out = await h.advance(2 * DAY)
    assert notices(out, "bob") == [
        "Votre pause est terminée: bon retour! Les rappels reprennent. Quelqu’un attend votre "
        "réponse dans 1 ligne: !tour vous montre où."]


async def test_quiet_hours_and_time_zone_in_french(h: Harness) -> None:
    await h.speaks("bob", "fr")
    quiet = replies(await h.say("bob", "quiet 22h-8h"))[0]
    assert quiet == ("C’est fait: heures calmes de 22:00 à 08:00 (UTC). Vos notifications "
                     "attendront la fin de cette plage. Il est 09:00 chez vous.\n"
                     "Vous n’êtes pas à l’heure UTC? Indiquez votre fuseau horaire: "
                     "!fuseau Europe/Paris")
    zone = replies(await h.say("bob", "timezone Europe/Paris"))[0]
    assert zone == ("Votre fuseau horaire est désormais Europe/Paris; là-bas, nous sommes le "
                    "lun. 5 janv. 2026, 10:00 (Europe/Paris). Vos heures calmes: de 22:00 à "
                    "08:00 (Europe/Paris).")
    assert replies(await h.say("bob", "quiet non")) == [
        "Heures calmes retirées: les notifications vous parviennent à toute heure."]
    error = replies(await h.say("bob", "quiet tard"))[0]
    assert error == (f"{fr_quoted('tard')} n’est pas une plage d’heures calmes.\n"
                     "Écrivez par exemple 22h-8h ou 22:00-08:00, ou bien calme non pour les "
                     "retirer.")
    assert replies(await h.say("alice", "quiet tard"))[0] == (
        "“tard” is not a quiet window.\nWrite it like 22:00-08:00, or quiet off.")


async def test_an_unreadable_away_is_asked_about_in_french(h: Harness) -> None:
    await h.speaks("bob", "fr")
    said = replies(await h.say("bob", "away pour 3"))[0]
    assert said == (f"Combien de temps dure {fr_quoted('3')}? Je n’ai pas su le lire comme une "
                    "durée d’absence, et je préfère demander plutôt que deviner.\n"
                    "Vouliez-vous dire absent pour 3 jours, ou pour 3 h (heures)? Écrivez par "
                    "exemple absent 3 jours, absent pour 2 semaines ou absent jusqu’à lundi; une "
                    "note peut suivre.")


async def test_relance_and_kind_reminder_in_each_readers_language(h: Harness) -> None:
    rooms = await lines_of(h)
    await h.speaks("bob", "fr")  # carol keeps English
    await h.write("alice", rooms["alice+bob"])
    await h.write("alice", rooms["alice+carol"])
    first = await h.write("bob", rooms["bob+carol"])
    again = await h.write("bob", rooms["bob+carol"])
    assert notices(first, "bob") == []
    assert notices(again, "bob") == [
        f"Carol n’a pas encore répondu dans votre ligne privée du trio "
        f"{fr_quoted('Les Trois')}. Inutile de réécrire: les silences sont permis. Si cela dure "
        f"plus de 3{NB}jours, j’enverrai à Carol un petit rappel bienveillant, un seul: vous "
        "n’aurez jamais à relancer."]
    await h.write("carol", rooms["alice+carol"])
    english = await h.write("carol", rooms["alice+carol"])
    assert notices(english, "carol") == [
        "Alice has not answered yet in your private line in “Les Trois”. No need to write again: "
        "silences are allowed. If it lasts more than 3d, I will send Alice one kind reminder, so "
        "you never have to chase."]
    out = await h.advance(72 * HOUR)
    assert notices(out, "bob") == [
        f"Un petit mot: Alice vous a écrit dans votre ligne avec Alice (trio "
        f"{fr_quoted('Les Trois')}) il y a 3{NB}jours et se réjouit de vous lire. Aucune "
        "pression, répondez quand vous pourrez. Si la période est chargée, !absent pour 3 jours "
        "le lui fait savoir (ajoutez une note si vous voulez)."]
    carol = [n for n in notices(out, "carol") if n.startswith("A gentle word")]
    assert carol == [
        "A gentle word: Bob wrote to you in your line with Bob in “Les Trois” 3d ago and is "
        "looking forward to your reply. No pressure, answer when you can. If life is busy, "
        "!away for 3d lets them know (add a note if you like)."]


async def test_stats_in_french_keep_their_numbers(h: Harness) -> None:
    rooms = await lines_of(h)
    await h.speaks("bob", "fr")
    await h.write("alice", rooms["alice+bob"])
    await h.advance(timedelta(hours=1, minutes=30))
    await h.write("bob", rooms["alice+bob"])
    await h.write("bob", rooms["trio"])
    said = replies(await h.say("bob", "stats"))[0]
    for line in [f"Statistiques de {fr_quoted('Les Trois')} (seulement des nombres et des durées)",
                 "• salon du trio: 1 (Alice 0, vous 1, Carol 0)",
                 "• votre ligne avec Alice: 2 (Alice 1, vous 1)",
                 "• toutes vos lignes: 3",
                 "La ligne entre Alice et Carol reste la leur: même son nombre de messages "
                 "n’est pas montré.",
                 "Temps de réponse moyen:",
                 f"• vous: 1{NNB}h 30{NB}min (1 réponse)",
                 "• Alice: pas encore de réponse",
                 "Qui lance la conversation: Alice 1, vous 1, Carol 0",
                 "Mentorat: aucune session confirmée pour l’instant.",
                 f"Votre part: 50{NB}% dans vos lignes privées, 50{NB}% dans le salon du "
                 f"trio (repère: environ 80{NB}% en privé, 20{NB}% en commun)."]:
        assert line in said.split("\n"), (line, said)
    english = replies(await h.say("alice", "stats"))[0]
    assert "• Bob: 1h 30m (1 reply)" in english and "Average reply time:" in english


async def test_the_ledger_in_stats_in_french(h: Harness) -> None:
    await lines_of(h)
    await h.speaks("carol", "fr")
    await h.say("bob", "mentor ask @alice cooking")
    await h.say("alice", "mentor accept")
    await h.say("alice", "session log @bob cooking 1h30")
    await h.say("bob", "session confirm 1")
    said = replies(await h.say("carol", "stats"))[0].split("\n")
    assert "Mentorat (temps confirmé donné / reçu):" in said
    assert f"• Alice: donné 1{NNB}h 30{NB}min, rien reçu" in said
    assert f"• Bob: rien donné, reçu 1{NNB}h 30{NB}min" in said
    assert "• vous: rien donné, rien reçu" in said


async def test_the_french_command_words_reach_the_same_replies(h: Harness) -> None:
    await lines_of(h)
    await h.speaks("bob", "fr")
    away = replies(await h.say("bob", "absent pour 3 jours déménagement"))[0]
    assert away.startswith(f"Vous êtes en pause jusqu’au jeu. 8 janv. 2026, 09:00 (UTC): "
                           f"{fr_quoted('déménagement')}.")
    turn = replies(await h.say("bob", "tour"))[0]
    assert "Tout est à jour: personne ne doit de réponse à personne." in turn
    assert replies(await h.say("bob", "retour"))[0].startswith("Bon retour!")
    assert replies(await h.say("bob", "calme 22 h à 7 h 30"))[0].startswith(
        "C’est fait: heures calmes de 22:00 à 07:30 (UTC).")
    assert replies(await h.say("bob", "fuseau Europe/Paris"))[0].startswith(
        "Votre fuseau horaire est désormais Europe/Paris;")
    assert replies(await h.say("bob", "statistiques"))[0].startswith("Statistiques de ")
