"""Safety, privacy and matchmaking in French for a French speaker, in English for the others."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from core.config import Settings
from core.effects import Effect, Notify, Reply, ReportToModerators, to_json
from core.events import CommandReceived
from core.ids import MemberId
from tests.conftest import form_trio
from tests.helpers import Harness, code_in, notices, replies

PROFILES = {"ana": ("spanish", "drawing"), "bo": ("python", "spanish"),
            "cy": ("drawing", "python")}


def nb(text: str) -> str:
    """French as the catalogs write it: non-breaking spaces inside « »."""
    return text.replace("« ", "«\u00a0").replace(" »", "\u00a0»")


def _mine(effects: list[Effect], who: str) -> list[Reply]:
    return [e for e in effects if isinstance(e, Reply) and e.to == who]


def _said(effects: list[Effect], who: str) -> str:
    """The one reply to ``who`` among ``effects``."""
    mine = _mine(effects, who)
    assert len(mine) == 1, effects
    return mine[0].text


async def test_block_unblock_and_report_answer_in_french(h: Harness) -> None:
    await h.speaks("alice", "fr")
    await form_trio(h)  # alice, bob, carol in “Les Trois”
    said = _said(await h.say("alice", "block @bob"), "alice")
    assert said.startswith("Vous avez bloqué Bob. Vous ne serez jamais proposés ensemble"), said
    assert "Cette personne n’en est pas informée." in said
    assert nb("Vous êtes tous les deux dans « Les Trois »: un blocage ne retire personne") in said
    assert "!trio quitter #les-trois" in said and "!signaler @bob <ce qui s’est passé>" in said
    assert "You" not in said
    again = _said(await h.say("alice", "block @bob"), "alice")
    assert again == "Vous aviez déjà bloqué Bob. Rien n’a changé."
    said = _said(await h.say("alice", "unblock @bob"), "alice")
    assert said == "Vous avez débloqué Bob. Ses invitations peuvent de nouveau vous parvenir."
    out = await h.say("alice", "report @bob m’insulte sans cesse")
    said = _said(out, "alice")
    assert said.startswith("Merci. Votre signalement concernant Bob est enregistré"), said
    assert "Bob n’en saura rien." in said and "!bloquer @bob" in said
    # The moderators read it in the bot's default language (English here).
    report = next(e for e in out if isinstance(e, ReportToModerators))
    assert report.text.startswith("Safety report\nReported: Bob (bob)\n"), report.text
    # The English path is unchanged.
    said = _said(await h.say("carol", "block @bob"), "carol")
    assert said.startswith("You blocked Bob. You will never be matched together"), said


async def test_safety_errors_in_french(h: Harness) -> None:
    await h.speaks("alice", "fr")
    out = await h.say("alice", "block @alice")
    error = _mine(out, "alice")[0]
    assert error.error and "Vous ne pouvez pas vous bloquer vous-même." in error.text
    assert "Nommez l’autre personne:" in error.text
    out = await h.say("alice", "unblock @zed")
    error = _mine(out, "alice")[0]
    assert "Vous n’avez pas bloqué @zed." in error.text, error.text
    assert "Un blocage se lève avec le même @nom" in error.text
    for n in range(5):
        await h.say("alice", f"report @zed spam {n}")
    error = _mine(await h.say("alice", "report @zed spam again"), "alice")[0]
    assert "Vous avez envoyé 5 signalements en 24 heures" in error.text, error.text
    assert "utilisez !bloquer pour ne plus rien recevoir" in error.text


@pytest.fixture
async def fr(db_target: str | Path) -> AsyncIterator[Harness]:
    """A bot whose default language is French (its moderators read French)."""
    harness = await Harness.open(db_target,
                                 settings=Settings(default_language="fr"))
    yield harness
    await harness.close()


async def test_a_report_reaches_moderators_in_the_default_language_and_forget_rewrites_it(
        fr: Harness) -> None:
    await form_trio(fr)
    await fr.core.handle([CommandReceived("r1", MemberId("alice"), None,
                                          "report @bob a volé mon mot de passe", "Alice")])
    await fr.core.handle([CommandReceived("r2", MemberId("alice"), None,
                                          "privacy forget confirm", "Alice")])
    queued = [d.effect for d in await fr.core.pending()]
    report = next(e for e in queued if isinstance(e, ReportToModerators))
    lines = report.text.split("\n")
    assert lines[0] == "Signalement" and lines[1] == "Personne signalée: Bob (bob)"
    assert lines[2] == "Signalé par: un ancien membre", lines
    assert lines[3] == nb("Trios en commun: « Les Trois » (#les-trois, id 1, actif)")
    assert lines[4] == nb("Motif, tel que saisi par l’auteur du signalement: "
                          "« a volé mon mot de passe »")


async def test_privacy_export_replies_in_french_and_the_json_stays_as_it_is(h: Harness) -> None:
    await h.say("alice", "offer cooking")
    english = _mine(await h.say("alice", "privacy export"), "alice")[0]
    await h.speaks("alice", "fr")
    french = _mine(await h.say("alice", "privacy export"), "alice")[0]
    assert english.text.startswith("Here is all the data I hold about you")
    assert french.text.startswith("Voici toutes les données que je détiens sur vous, dans un "
                                  "fichier JSON (twinome-export-2026-01-05.json)."), french.text
    assert "Gardez-le en lieu sûr: il est personnel." in french.text
    assert english.attachment is not None and french.attachment is not None
    assert french.attachment.filename == english.attachment.filename
    en_doc, fr_doc = (json.loads(a.attachment.content) for a in (english, french))
    assert fr_doc["profile"].pop("language") == "fr"
    assert en_doc["profile"].pop("language") is None
    assert fr_doc == en_doc  # keys, the "about" sentence and every value: data, not words
    assert fr_doc["about"].startswith("All the data Twinome holds about you.")


async def test_privacy_forget_asks_and_confirms_in_french(h: Harness) -> None:
    await h.speaks("bob", "fr")
    await form_trio(h)
    await h.say("bob", "offer cuisine")
    ask = _mine(await h.say("bob", "privacy forget"), "bob")[0]
    assert ask.text.startswith("Vous oublier? Je supprimerais votre profil, vos compétences"), \
        ask.text
    assert nb("Vous quitterez « Les Trois »; les autres seront prévenus de votre départ.") in ask.text
    assert nb("sous la mention « un ancien membre »") in ask.text
    assert "C’est irréversible: faites d’abord !données exporter" in ask.text
    assert [(c.label, c.command) for c in ask.choices] == [
        ("Oubliez-moi", "privacy forget confirm")]
    done = _mine(await h.say("bob", "privacy forget confirm"), "bob")[0]
    assert done.text.startswith("C’est fait: j’ai tout oublié de vous. Supprimé, ou rendu "
                                "anonyme là où les autres en ont besoin: profil 1, "
                                "compétences 1, trios 1,"), done.text
    assert "lignes privées 2" in done.text and done.text.endswith("Prenez soin de vous.")
    # An English speaker is asked in English.
    ask = _mine(await h.say("carol", "privacy forget"), "carol")[0]
    assert ask.text.startswith("Forget you? I would delete your profile")
    assert [c.label for c in ask.choices] == ["Forget me"]


async def test_forget_rewrites_a_pending_french_copy_in_french(h: Harness) -> None:
    await h.speaks("alice", "fr")
    await h.say("bob", "help")
    pending = Notify(MemberId("alice"), "Bob a écrit dans votre ligne.", lang="fr")
    english = Notify(MemberId("carol"), "Bob wrote in your line.", lang="en")
    async with h.core.db.transaction() as tx:
        for effect in (pending, english):
            await tx.run("INSERT INTO outbox (platform, effect, created_at) VALUES (?, ?, 0)",
                         ("console", to_json(effect)))
    out = await h.say("bob", "privacy forget confirm")
    assert "un ancien membre a écrit dans votre ligne." in notices(out, "alice")
    assert "a former member wrote in your line." in notices(out, "carol")


async def test_seek_unseek_and_languages_in_french(h: Harness) -> None:
    await h.speaks("ana", "fr")
    said = _said(await h.say("ana", "languages fr, en"), "ana")
    assert said == ("Vos langues: fr en. Je ne vous proposerai que des personnes qui parlent "
                    "au moins l’une d’elles.")
    error = _mine(await h.say("ana", "languages 12"), "ana")[0]
    assert nb("« 12 » n’est pas un code de langue.") in error.text
    assert "Utilisez des codes de deux lettres: !langues fr en" in error.text
    said = _said(await h.say("ana", "seek"), "ana")
    assert said.startswith("Vous cherchez des compagnons. J’utilise vos offres (rien pour "
                           "l’instant), vos souhaits (rien pour l’instant), vos langues (fr en) "
                           "et votre fuseau horaire (UTC)."), said
    assert "Il manque: quelque chose que vous pouvez transmettre (!offre <compétence>); " in said
    assert "votre fuseau horaire (!fuseau Europe/Paris; à défaut, UTC)." in said
    assert said.endswith("Je vous proposerai un trio dès que j’aurai trouvé deux personnes "
                         "avec qui vous vous complétez.")
    error = _mine(await h.say("ana", "seek"), "ana")[0]
    assert "Vous cherchez déjà des compagnons (depuis le 5 janv. 2026 à 09:00 UTC)." in error.text
    assert "!chercher fin arrête la recherche." in error.text
    assert _said(await h.say("ana", "unseek"), "ana") == (
        "Vous ne cherchez plus de compagnons. Rien d’autre n’a changé.")
    error = _mine(await h.say("ana", "unseek"), "ana")[0]
    assert "Vous ne cherchiez pas de compagnons." in error.text
    # English still reads as before.
    said = _said(await h.say("bo", "seek"), "bo")
    assert said.startswith("You are looking for companions. I use: you offer nothing yet;")


async def _proposed(h: Harness) -> list[Effect]:
    """Ana and Cy speak French, Bo English; the three complement each other and seek."""
    await h.speaks("ana", "fr")
    await h.speaks("cy", "fr")
    for who, (offer, want) in PROFILES.items():
        await h.say(who, f"offer {offer}")
        await h.say(who, f"want {want}")
        await h.say(who, "seek")
    return await h.advance(timedelta(seconds=1))


def _proposal(effects: list[Effect], who: str) -> Notify:
    found = [e for e in effects if isinstance(e, Notify) and e.to == who]
    assert len(found) == 1, effects
    return found[0]


async def test_a_proposal_speaks_to_each_member_in_their_language(h: Harness) -> None:
    out = await _proposed(h)
    ana, bo = _proposal(out, "ana"), _proposal(out, "bo")
    assert ana.text.startswith("J’ai trouvé deux compagnons pour former un twinome: Bo (bo) et "
                               "Cy (cy) (trio proposé #1)."), ana.text
    assert "peut accompagner" in ana.text and " et " in ana.text and "can mentor" not in ana.text
    assert ana.text.endswith("Il se formera si vous acceptez tous les trois avant le "
                             "7 janv. 2026 à 09:00 UTC."), ana.text
    assert [(c.label, c.command) for c in ana.choices] == [
        ("Accepter", "match accept 1"), ("Refuser", "match decline 1")]
    assert bo.text.startswith("I found two companions for a twinome: Ana (ana) and Cy (cy) "
                              "(proposed trio #1).")
    assert "can mentor" in bo.text and "before 2026-01-07 09:00 UTC." in bo.text
    assert [(c.label, c.command) for c in bo.choices] == [
        ("Accept", "match accept 1"), ("Decline", "match decline 1")]

    said = _said(await h.say("ana", "match accept"), "ana")
    assert said == ("Vous avez accepté le trio proposé #1. Il se formera quand les deux autres "
                    "auront accepté aussi.")
    out = await h.say("bo", "match decline")
    assert _said(out, "bo").startswith("You declined proposed trio #1. Nobody learns who declined.")
    assert notices(out, "ana") == [
        "Le trio proposé #1 ne se formera pas: quelqu’un a refusé. Votre recherche continue; "
        "je vous proposerai d’autres compagnons."]
    assert notices(out, "cy")[0].startswith("Le trio proposé #1 ne se formera pas")


@pytest.mark.parametrize(("bo", "name"), [("fr", "Trio de Ana, Bo, Cy"),
                                         ("en", "Trio of Ana, Bo, Cy")])
async def test_a_matched_trio_is_named_in_the_language_its_rooms_speak(
        h: Harness, bo: str, name: str) -> None:
    await _proposed(h)  # Ana and Cy read French
    await h.speaks("bo", bo)
    await h.say("bo", "match accept")
    await h.say("ana", "match accept")
    said = _said(await h.say("cy", "match accept"), "cy")
    assert said == nb(f"Tout le monde a accepté: votre twinome « {name} » est formé. Votre "
                      "salon de trio et vos deux lignes privées sont ouverts.")
    async with h.core.db.read() as tx:
        row = await tx.one("SELECT name, language FROM trios")
    assert row is not None and row["name"] == name
    assert row["language"] == ("fr" if bo == "fr" else None)


async def test_an_expired_proposal_is_told_in_french(h: Harness) -> None:
    await _proposed(h)
    await h.say("cy", "match accept")
    out = await h.advance(timedelta(hours=48))
    assert notices(out, "ana")[0] == (
        "Le trio proposé #1 a expiré sans votre réponse, alors j’ai arrêté de chercher pour "
        "vous. !chercher pour reprendre la recherche.")
    assert notices(out, "cy")[0].startswith("Le trio proposé #1 a expiré: certains n’ont pas "
                                            "répondu à temps.")
    assert notices(out, "bo")[0].startswith("Proposed trio #1 expired without your answer")


async def test_a_report_resent_after_its_author_left_names_them_in_the_default_language(
        fr: Harness) -> None:
    await form_trio(fr)
    await fr.say("alice", "report @bob encore lui")  # no moderators' room: not delivered
    await fr.say("alice", "privacy forget confirm")
    assert await fr.core.resend_reports("console") == 1
    reports = [d.effect for d in await fr.core.pending() if isinstance(d.effect, ReportToModerators)]
    lines = reports[-1].text.split("\n")
    assert lines[0] == "Signalement" and lines[1] == "Personne signalée: Bob (bob)"
    assert lines[2].startswith("Signalé par: un ancien membre (former:"), lines
    assert lines[3] == "Trios en commun: aucun"
    assert lines[4] == nb("Motif, tel que saisi par l’auteur du signalement: « encore lui »")


async def test_forget_renames_a_trio_named_after_the_member_in_french(h: Harness) -> None:
    await h.speaks("bob", "fr")
    for typed in ("Trio de Bob 2", "Trio de Bobby confirm"):
        code = code_in(replies(await h.say("bob", f"trio new {typed}"))[0])
        await h.say("alice", f"trio join {code}")  # not alone: only the name can rename it
    await h.say("bob", "privacy forget confirm")
    async with h.core.db.read() as tx:
        names = [r[0] for r in await tx.all("SELECT name FROM trios ORDER BY id")]
    assert names == ["Trio 1", "Trio de Bobby"]
