"""Mentoring, the ledger, SOS and proposals in French, and in a trio of mixed languages."""

from __future__ import annotations

from core.effects import Effect, Notify
from tests.conftest import form_trio
from tests.helpers import Harness, notices, posts, replies
from tests.test_proposals import trio_room
from tests.test_support import lines

TRIO = 1  # the first trio the harness forms


def q(text: str) -> str:
    """``text`` between French quotation marks, as the catalog writes them."""
    return f"«\u00a0{text}\u00a0»"


def labels(effects: list[Effect], to: str) -> list[str]:
    """The labels of the choices offered in private notices to ``to``."""
    return [c.label for e in effects if isinstance(e, Notify) and e.to == to for c in e.choices]


async def french_trio(h: Harness, *english: str) -> None:
    """Alice, Bob and Carol in a trio that speaks French; ``english`` members speak English."""
    await form_trio(h)
    for who in ("alice", "bob", "carol"):
        await h.speaks(who, "en" if who in english else "fr")
    async with h.core.db.transaction() as tx:
        await tx.run("UPDATE trios SET language = 'fr' WHERE id = ?", (TRIO,))


async def test_mentoring_sessions_and_ledger_in_french(h: Harness) -> None:
    await french_trio(h)
    out = await h.say("alice", "mentor ask @bob python")
    assert f"Vous reconnaissez Bob comme mentor sur {q('python')} (mentorat 1)" in replies(out)[0]
    asked = notices(out, "bob")
    assert len(asked) == 1 and "Alice vous demande d’être son mentor" in asked[0]
    assert "votre légitimité sur ce sujet est reconnue" in asked[0]
    assert labels(out, "bob") == ["Accepter", "Non merci"]

    out = await h.say("bob", "mentor accept")
    assert "Vous accompagnez Alice en mentor" in replies(out)[0]
    assert "!session noter #les-trois @alice python 1h" in replies(out)[0]
    assert "Bob a accepté d’être votre mentor" in notices(out, "alice")[0]

    out = await h.say("bob", "session log @alice python 1h30")
    assert replies(out)[0] == (
        f"Session 1 notée: 1 h 30 de {q('python')}, avec Bob pour mentor et Alice pour mentee. "
        "Elle entrera dans le bilan quand Alice l’aura confirmée.")
    assert f"Bob a noté la session 1 dans {q('Les Trois')}" in notices(out, "alice")[0]
    assert labels(out, "alice") == ["Confirmer"]

    out = await h.say("alice", "session confirm 1")
    assert "Vous avez confirmé la session 1" in replies(out)[0]
    assert "elle figure maintenant dans le bilan" in replies(out)[0]
    assert f"Alice a confirmé la session 1 (1 h 30 de {q('python')}" in notices(out, "bob")[0]

    ledger = replies(await h.say("carol", "ledger"))[0]
    assert ledger.startswith(f"Bilan de {q('Les Trois')} (sessions confirmées; le mentor donne")
    assert "• Bob: donné 1 h 30, rien reçu, solde +1 h 30" in ledger
    assert "• Alice: rien donné, reçu 1 h 30, solde -1 h 30" in ledger
    assert "• Carol: rien donné, rien reçu, solde à l’équilibre" in ledger
    assert f"• Bob → Alice sur {q('python')} (reconnu, 1 h 30 de sessions confirmées" in ledger
    assert "Bob a donné 1 h 30 et rien reçu: que pourriez-vous apporter à Bob?" in ledger
    assert "given" not in ledger and "mentorship" not in ledger

    wrong = replies(await h.say("alice", "session confirm 9"))[0]
    assert wrong == (f"Il n’y a pas de session 9 dans {q('Les Trois')}.\n"
                     "!bilan liste les sessions qui attendent leur confirmation.")


async def test_sos_and_plan_in_french(h: Harness) -> None:
    await french_trio(h)
    allies = lines(h)["bob+carol"]
    out = await h.say("alice", "sos nuit difficile")
    assert "Bob et Carol sont prévenus" in replies(out)[0]
    alert = posts(out, allies)[0]
    assert "Alice traverse un coup dur et demande votre soutien. Son mot: “nuit difficile”." in alert
    assert "!plan <texte>" in alert and "!plan prêt" in alert
    assert "Alice ne voit jamais cette ligne." in alert

    out = await h.say("bob", "plan je vous appelle dimanche", room=allies)
    assert posts(out, allies)[0].startswith(
        "Étape 1 du plan pour Alice, proposée par Bob: “je vous appelle dimanche”.")
    out = await h.say("bob", "plan prêt", room=allies)
    assert "Bob pense que le plan pour Alice est prêt. Carol, si vous êtes d’accord" \
        in posts(out, allies)[0]
    out = await h.say("carol", "plan ready", room=allies)
    plan = notices(out, "alice")
    assert len(plan) == 1
    assert plan[0].startswith("Bob et Carol ont préparé un plan de soutien rien que pour vous")
    assert "1. Bob: “je vous appelle dimanche”" in plan[0]
    assert "Ils sont là pour vous" in plan[0]
    assert posts(out, allies) == ["Le plan pour Alice est prêt (1 étape); je l’ai envoyé à Alice "
                                  "en privé. Merci à vous deux."]


async def test_a_proposal_and_its_outcome_in_french(h: Harness) -> None:
    await french_trio(h)
    room = trio_room(h)
    out = await h.say("alice", "propose un fil sur notre club de lecture")
    assert replies(out)[0].startswith(
        "La proposition #1 est ouverte. Je demande à Bob et Carol de la valider en privé, sous "
        "2\u00a0jours")
    for voter in ("bob", "carol"):
        asked = notices(out, voter)[0]
        assert f"Alice fait une proposition dans {q('Les Trois')}" in asked
        assert "Répondez avant le " in asked and " UTC." in asked
        assert labels(out, voter) == ["Approuver", "Refuser"]
    first = await h.say("bob", "vote 1 yes")
    assert replies(first)[0].startswith("Votre vote sur la proposition #1 est compté, en privé.")
    assert posts(first, room) == []
    out = await h.say("carol", "vote 1 yes")
    assert posts(out, room) == ["Proposition #1 faite par Alice, “un fil sur notre club de "
                                "lecture”: elle est validée, vous pouvez vous lancer."]
    assert "le résultat est maintenant annoncé dans le salon du trio" in replies(out)[0]


async def test_a_mixed_trio_notices_in_each_language_posts_in_the_trios(h: Harness) -> None:
    await french_trio(h, "alice")  # Alice reads English; the trio speaks French
    room = trio_room(h)
    out = await h.say("bob", "mentor offer @alice cooking")
    assert "Vous avez proposé d’accompagner Alice en mentor" in replies(out)[0]
    assert notices(out, "alice")[0].startswith(
        "Bob offers to mentor you on “cooking” in “Les Trois” (mentorship 1).")
    assert labels(out, "alice") == ["Accept", "No, thanks"]

    out = await h.say("bob", "propose a picnic")
    assert "Bob proposes, in “Les Trois”" in notices(out, "alice")[0]
    assert labels(out, "alice") == ["Approve", "Decline"]
    assert "Bob fait une proposition" in notices(out, "carol")[0]
    assert "Your vote on proposal #1 is counted" in replies(await h.say("alice", "vote 1 yes"))[0]
    out = await h.say("carol", "vote 1 no")
    assert posts(out, room) == ["Proposition #1 faite par Bob, “a picnic”: elle n’est pas validée."]

    allies = lines(h)["bob+carol"]
    out = await h.say("alice", "sos")
    assert "Bob and Carol are alerted." in replies(out)[0]
    assert "Alice traverse un coup dur" in posts(out, allies)[0]
    await h.say("bob", "plan a call on Sunday", room=allies)
    await h.say("bob", "plan ready", room=allies)
    out = await h.say("carol", "plan prêt", room=allies)
    assert notices(out, "alice")[0].startswith(
        "Bob and Carol have prepared a support plan for you (“Les Trois”, #les-trois):")
    assert posts(out, allies)[0].startswith("Le plan pour Alice est prêt (1 étape)")
