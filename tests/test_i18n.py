"""Message catalogs: every message has its French, placeholders intact; locale formatting."""

from __future__ import annotations

import re
import string
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from core import i18n, telling
from core.effects import Reply
from core.i18n import Concat, Local, _, _n, join, render
from core.ids import MemberId
from tests.conftest import form_trio
from tests.helpers import Harness

ROOT = Path(__file__).resolve().parents[1]


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def extracted() -> dict[str, tuple[str, str | None, str]]:
    """Every message the code marks, by msgid: (msgid, plural, where)."""
    found: dict[str, tuple[str, str | None, str]] = {}
    for folder in ("core", "bots"):
        for filename, lineno, message, _comments, _ctx in extract_from_dir(
                ROOT / folder, keywords={"_": None, "_n": (1, 2)}):
            msgid, plural = (message, None) if isinstance(message, str) else message[:2]
            found.setdefault(msgid, (msgid, plural, f"{folder}/{filename}:{lineno}"))
    return found


def test_the_code_marks_its_messages() -> None:
    assert "less than a minute" in extracted()


@pytest.mark.parametrize("lang", [lang for lang in i18n.LANGUAGES if lang != i18n.SOURCE])
def test_every_message_has_a_translation_with_the_same_placeholders(lang: str) -> None:
    book = i18n.catalog(lang)
    missing, broken = [], []
    for msgid, plural, where in extracted().values():
        if not i18n.translated(msgid, lang):
            missing.append(f"{where}: {msgid!r}")
            continue
        said = [book.gettext(msgid)] if plural is None else [
            book.ngettext(msgid, plural, n) for n in (1, 2, 5)]
        wanted = _fields(msgid) | (_fields(plural) if plural else set())
        for text in said:
            if _fields(text) - wanted or (plural is None and _fields(text) != wanted):
                broken.append(f"{where}: {msgid!r} -> {text!r}")
    assert not missing, f"{len(missing)} messages have no {lang} translation:\n" + "\n".join(missing[:40])
    assert not broken, "placeholders differ:\n" + "\n".join(broken[:40])


def test_a_message_is_its_english_until_rendered() -> None:
    m = _("Hello {name}, {left} left.", name="Bob", left=timedelta(hours=1, minutes=30))
    assert m == "Hello Bob, 1h 30m left."
    assert render(m, "en") == "Hello Bob, 1h 30m left."


def test_pieces_joined_stay_renderable() -> None:
    said = join("; ", [_("yes"), "Bob"]) + "!"
    assert isinstance(said, Concat)
    assert said == "yes; Bob!"
    assert render(said, "en") == "yes; Bob!"


def test_plural_forms_follow_the_count() -> None:
    assert _n("{n} trio", "{n} trios", 1) == "1 trio"
    assert _n("{n} trio", "{n} trios", 3) == "3 trios"


def test_durations_and_moments_per_language() -> None:
    assert i18n.duration(timedelta(days=3, hours=4), "en") == "3d 4h"
    assert i18n.duration(timedelta(hours=1, minutes=30), "fr") == "1\u202fh 30\u00a0min"
    assert i18n.duration(timedelta(days=3), "fr") == "3\u00a0jours"
    when = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)
    assert i18n.moment(when, "en") == "2026-12-02 10:00 UTC"
    assert i18n.moment(when, "fr") == "2 déc. 2026 à 10:00 UTC"
    assert i18n.local_time(Local(when, "Europe/Paris"), "fr") == "mer. 2 déc. 2026, 11:00 (Europe/Paris)"


async def test_a_typed_day_in_an_error_is_said_in_the_readers_language(h: Harness) -> None:
    await h.speaks("amelie", "fr")
    [fr] = await h.say("amelie", "absent jusqu'au 2020-01-05")
    [en] = await h.say("bob", "away until 2020-01-05")
    assert "5 janv. 2020" in fr.text and "2020-01-05" not in fr.text
    assert "2020-01-05 has already begun" in en.text


def test_language_names_and_locales() -> None:
    assert i18n.language_code("Français") == "fr"
    assert i18n.language_code("klingon") is None
    assert i18n.pick(None, "fr-FR", "en") == "fr"
    assert i18n.pick("de", None, "en") == "en"


async def test_a_reply_is_rendered_in_its_readers_language(h: Harness) -> None:
    await h.speaks("amelie", "fr")
    effects = [Reply(MemberId("amelie"), None, "e1", _("less than a minute")),
               Reply(MemberId("bob"), None, "e2", _("less than a minute"))]
    async with h.core.db.transaction() as tx:
        said = await telling.in_their_language(tx, effects, "en")
    assert [type(e.text) for e in said] == [str, str]
    assert [e.text for e in said] == ["moins d’une minute", "less than a minute"]


async def test_an_answer_the_whole_room_reads_is_in_the_trios_language(h: Harness) -> None:
    await form_trio(h)
    await h.speaks("alice", "en", trio=1)
    await h.speaks("bob", "fr")
    room = await h.say("bob", "trio info", room=1)  # typed in the trio room: the room reads it
    alone = await h.say("bob", "trio info")  # in bob's direct chat: bob reads it
    assert [e.lang for e in room if isinstance(e, Reply)] == ["en"]
    assert [e.lang for e in alone if isinstance(e, Reply)] == ["fr"]


def test_the_french_keeps_one_typography() -> None:
    """« » with non-breaking spaces around names and texts, ’ for apostrophes, and no
    space before ? ! : ;
    (they wrap badly in chats); a console directive (``:help``) keeps its colon."""
    with i18n.catalog_file("fr").open("rb") as fp:
        said = [m.string for m in read_po(fp) if m.id]
    texts = [t for s in said for t in (s if isinstance(s, tuple) else (s,))]
    assert len(texts) > 700
    assert [t for t in texts if "“" in t or "”" in t] == []
    assert [t for t in texts if re.search(r"\w'\w", t)] == []  # l’apostrophe typographique
    assert [t for t in texts if re.search(r"\s[?!:;](\s|$)", t)] == []
    assert [t for t in texts if re.search("«(?!\u00a0)|(?<!\u00a0)»", t)] == []


def test_the_catalog_is_one_file() -> None:
    """One catalog per language, so one message cannot silently have two translations."""
    assert [p.name for p in (i18n.LOCALE_DIR / "fr" / "LC_MESSAGES").glob("*.po")] == ["twinome.po"]


async def test_an_arguments_name_in_an_error_is_said_in_the_readers_language(
        h: Harness) -> None:
    await h.speaks("amelie", "fr")
    [fr] = await h.say("amelie", "trio nouveau " + "x" * 300)
    [en] = await h.say("bob", "trio new " + "x" * 300)
    assert "«\u00a0nom\u00a0» est trop longue" in fr.text
    assert en.text.startswith("The name is too long")
