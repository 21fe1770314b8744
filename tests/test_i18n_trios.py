"""Trio life in French: replies in each member's language, rooms in the trio's."""

from __future__ import annotations

import re

from core import trios
from core.context import Ctx
from core.effects import CloseRoom, CreateRoom, Effect, Post, RemoveFromRoom
from core.ids import MemberId
from tests.conftest import form_trio
from tests.helpers import Harness, notices, replies

NB = "\u00a0"  # French quotes hold their words with non-breaking spaces


def q(name: str) -> str:
    """A name in French quotes."""
    return f"«{NB}{name}{NB}»"


def code_of(text: str) -> str:
    """The invite code in a reply, whatever its language."""
    found = re.search(r"[A-Z2-9]{4}(?:-[A-Z2-9]{4}){3}", text)
    assert found, text
    return found.group(0)


async def language_of(h: Harness, trio: str) -> str | None:
    async with h.core.db.read() as tx:
        value = await tx.value("SELECT language FROM trios WHERE name = ?", (trio,))
    return None if value is None else str(value)


def all_posts(effects: list[Effect]) -> list[str]:
    return [e.text for e in effects if isinstance(e, Post)]


async def french_trio(h: Harness) -> list[Effect]:
    """Amélie and Claire read French, Bob English; Amélie starts "Les Trois"."""
    await h.speaks("amelie", "fr")
    await h.speaks("claire", "fr")
    first = replies(await h.say("amelie", "trio new Les Trois"))[0]
    await h.say("bob", f"trio join {code_of(first)}")
    second = replies(await h.say("amelie", "trio invite"))[0]
    return await h.say("claire", f"trio join {code_of(second)}")


async def test_trio_new_answers_in_french_and_the_trio_takes_the_starters_language(
        h: Harness) -> None:
    await h.speaks("amelie", "fr")
    said = replies(await h.say("amelie", "trio new Les Trois"))[0]
    assert said.startswith(f"Votre trio {q('Les Trois')} (#les-trois) est en formation. "
                           "Partagez ceci avec deux personnes de confiance:")
    assert "Code d’invitation: " in said and "La personne tape !trio rejoindre " in said
    assert "Or invite" not in said and "UTC" in said
    assert await language_of(h, "Les Trois") == "fr"
    english = replies(await h.say("bob", "trio new Duo"))[0]
    assert english.startswith("Your trio “Duo” (#duo) is forming.")
    assert await language_of(h, "Duo") == "en"


async def test_unnamed_trio_gets_a_french_name(h: Harness) -> None:
    await h.speaks("amelie", "fr")
    said = replies(await h.say("amelie", "trio new"))[0]
    assert f"Votre trio {q('Trio de Amelie')}" in said
    assert "Donnez-lui le nom de votre choix avec !trio renommer <nom>" in said


async def test_invite_and_join_speak_each_readers_language(h: Harness) -> None:
    await h.speaks("amelie", "fr")
    first = replies(await h.say("amelie", "trio new Les Trois"))[0]
    joined = await h.say("bob", f"trio join {code_of(first)}")
    assert replies(joined) == ["You joined “Les Trois” (2/3). The lines open when the third "
                               "person joins."]
    assert notices(joined, "amelie") == [f"Bob (bob) a rejoint votre trio {q('Les Trois')} (2/3)."]
    offer = replies(await h.say("amelie", "trio invite"))[0]
    assert offer.startswith(f"Une nouvelle place à offrir dans {q('Les Trois')}.\nCode d’invitation")
    await h.speaks("claire", "fr")
    await h.say("claire", "help")  # known to the bot, so a personal invitation reaches her
    asked = await h.say("amelie", "trio invite @claire")
    assert replies(asked)[0].startswith(f"J’ai proposé à @claire de rejoindre {q('Les Trois')}.")
    invited = notices(asked, "claire")[0]
    assert "vous invite à prendre place dans le twinome" in invited
    assert "\n→ Accepter: !trio accept " in invited and " · Refuser: !trio decline " in invited
    wrong = replies(await h.say("claire", "trio join ABCD-EFGH-JKLM-NPQR"))[0]
    assert wrong.startswith("Ce code d’invitation ne marche pas: vérifiez qu’il est tapé en entier.")
    assert "Demandez un nouveau code à un membre du trio (!trio inviter)." in wrong


async def test_a_french_trio_posts_in_french_while_english_replies_stay_english(
        h: Harness) -> None:
    out = await french_trio(h)
    assert replies(out) == [f"Vous avez rejoint {q('Les Trois')}: il est au complet. Votre salon "
                            "de trio et vos deux lignes privées sont ouverts."]
    assert notices(out, "bob") == ["Claire (claire) joined your trio “Les Trois” (3/3)."]
    said = all_posts(out)
    assert any(p.startswith("Bienvenue, Amelie, Bob, Claire: votre twinome") and
               "La charte du twinome\n1. Chacun de vous échange" in p for p in said)
    assert any(p.startswith("Voici votre ligne privée, Amelie et Bob. Claire ne la voit jamais.")
               and "!tour montre qui doit" in p for p in said)
    rooms = [e for e in out if isinstance(e, CreateRoom)]
    assert {e.topic.split(" ")[0] for e in rooms} == {"Le", "La"}
    assert any(e.name == "Les Trois: Amelie + Bob" for e in rooms)
    assert not any("Welcome" in p or "private line" in p for p in said)
    info = replies(await h.say("bob", "trio info"))[0]
    assert "Members: Amelie, Bob, Claire" in info
    assert "Settings: patience 3d, relance gentle, proposal_expiry 2d, language French" in info
    info = replies(await h.say("amelie", "trio info"))[0]
    assert info.startswith(f"{q('Les Trois')} (#les-trois) — actif, 3/3\nMembres: Amelie, Bob, Claire")
    assert f"Réglages: patience 3{NB}jours, relance douce, expiration 2{NB}jours, langue français" in info
    assert "Lignes: salon du trio, votre ligne avec Bob, votre ligne avec Claire" in info


async def test_trio_settings_language_needs_all_three(h: Harness) -> None:
    await form_trio(h, "bob", "amelie", "claire")  # started in English by Bob
    await h.speaks("amelie", "fr")
    await h.speaks("claire", "fr")
    assert await language_of(h, "Les Trois") == "en"
    asked = await h.say("bob", "trio settings language français")
    assert replies(asked) == ["Noted. language becomes French when Amelie and Claire ask for "
                              "the same."]
    assert notices(asked, "amelie") == [
        f"Bob aimerait régler langue sur français dans {q('Les Trois')}. Si vous êtes "
        "d’accord: !trio réglages #les-trois langue fr"]
    second = await h.say("amelie", "trio settings language fr")
    assert replies(second) == ["C’est noté. Le réglage langue passera à français quand Claire "
                               "le demandera aussi."]
    assert await language_of(h, "Les Trois") == "en"
    done = await h.say("claire", "trio settings language fr")
    assert replies(done) == [f"Tout le monde est d’accord: dans {q('Les Trois')}, le réglage "
                             "langue vaut désormais français."]
    assert all_posts(done) == ["Tout le monde est d’accord: le réglage langue vaut désormais "
                               "français."]
    assert await language_of(h, "Les Trois") == "fr"
    again = replies(await h.say("bob", "trio settings language fr"))[0]
    assert again == "language is already French in “Les Trois”."
    shown = replies(await h.say("bob", "trio settings language"))[0]
    assert shown.startswith("language is French in “Les Trois”. To change it: "
                            "!trio settings #les-trois language <value>")


async def test_an_unknown_language_lists_the_ones_spoken(h: Harness) -> None:
    await form_trio(h, "bob", "amelie", "claire")
    await h.speaks("amelie", "fr")
    english = replies(await h.say("bob", "trio settings language klingon"))[0]
    assert english == ("I don't speak “klingon”. The languages I speak: en (English), "
                       "fr (French).\ne.g. !trio settings language fr")
    french = replies(await h.say("amelie", "trio settings language klingon"))[0]
    assert french == (f"Je ne parle pas {q('klingon')}. Les langues que je parle: en (anglais), "
                      "fr (français).\npar exemple !trio réglages langue fr")
    relance = replies(await h.say("amelie", "trio settings relance douce"))[0]
    assert relance.startswith(f"Dans {q('Les Trois')}, le réglage relance vaut déjà douce.")


async def test_leaving_in_french(h: Harness) -> None:
    await french_trio(h)
    asked = replies(await h.say("amelie", "trio leave"))[0]
    assert asked.startswith(f"Quitter {q('Les Trois')}? Vos lignes privées s’y ferment")
    out = await h.say("amelie", "trio leave confirm")
    assert replies(out) == [f"Vous avez quitté {q('Les Trois')}. Prenez soin de vous."]
    assert notices(out, "claire") == [
        f"Amelie a quitté le trio {q('Les Trois')}. Le trio se reforme: accueillez un nouveau "
        "troisième membre avec !trio inviter #les-trois."]
    assert notices(out, "bob") == [
        "Amelie left the trio “Les Trois”. The trio is forming again: welcome a new third "
        "with !trio invite #les-trois."]
    reasons = {e.reason for e in out if isinstance(e, RemoveFromRoom | CloseRoom)}
    assert reasons == {"Amelie a quitté le trio."}


async def test_a_dissolved_trio_closes_its_rooms_in_its_language(h: Harness) -> None:
    await french_trio(h)
    await h.say("bob", "trio leave confirm")
    await h.say("claire", "trio leave confirm")
    out = await h.say("amelie", "trio leave confirm")
    closed = [e.reason for e in out if isinstance(e, CloseRoom)]
    assert closed == [f"Le trio {q('Les Trois')} est dissous."]


async def test_which_trio_errors_in_french(h: Harness) -> None:
    await h.speaks("amelie", "fr")
    none = replies(await h.say("amelie", "trio info"))[0]
    assert none == ("Vous n’êtes encore dans aucun trio.\nLancez-en un avec !trio nouveau, ou "
                    "rejoignez-en un avec !trio rejoindre <code>.")
    await h.say("amelie", "trio new Un")
    await h.say("amelie", "trio new Deux confirm")
    which = replies(await h.say("amelie", "trio info"))[0]
    assert which == ("Vous êtes dans 2 trios: lequel?\nPrécisez-le: !trio info #un … "
                     "(les vôtres: #un, #deux).")
    unknown = replies(await h.say("amelie", "trio info #deus"))[0]
    assert unknown.startswith(f"Vous n’avez aucun trio nommé {q('deus')}.\n"
                              "Vouliez-vous dire #deux? Vos trios: #un, #deux.")
    english = replies(await h.say("bob", "trio info"))[0]
    assert english.startswith("You are not in a trio yet.")


async def test_a_matched_trio_speaks_the_language_its_three_share(h: Harness) -> None:
    for who, lang in (("amelie", "fr"), ("claire", "fr"), ("dominique", "fr"), ("bob", "en")):
        await h.speaks(who, lang)
    async with h.core.db.transaction() as tx:
        ctx = Ctx(tx, h.clock.now(), h.core.settings)
        ids = [MemberId(m) for m in ("amelie", "claire", "dominique")]
        french = await trios.form(ctx, ids, "Trois Voix")
        mixed = await trios.form(ctx, [MemberId(m) for m in ("amelie", "claire", "bob")], "Mêlés")
    assert french is not None and french.language == "fr"
    assert mixed is not None and mixed.language is None
    assert await language_of(h, "Trois Voix") == "fr"
    assert await language_of(h, "Mêlés") is None
