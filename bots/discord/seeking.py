"""``/seek`` on Discord: a form with what matchmaking uses, prefilled from the profile.

Theory of operation. ``/seek`` opens :class:`SeekModal`, prefilled with the member's
profile as it stands (what they offer and want, their languages and time zone). On
submission, :func:`steps` turns what changed into the core's own profile commands, in
order: ``skills remove`` for a skill taken off a list, ``offer`` and ``want`` for each
skill added, ``languages`` and ``timezone`` when they differ; then ``seek``. A field left
empty keeps the profile; a filled skill list becomes the member's list. The client
submits them together, so they are applied in order in one transaction, and answers the
interaction once (see :mod:`bots.discord.answers`).
"""

from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import discord

from core.errors import UserError
from core.events import Typed
from core.i18n import SOURCE, _, render
from core.ids import MemberId
from core.mentoring import MAX_SKILLS
from core.storage.db import Database
from core.textrules import clean_skill

MODAL_TIMEOUT = 30 * 60.0  # seconds a form may stay open before the bot forgets it
FIELD_PREFIX = "twinome:seek-"  # then offers, wants, languages or timezone
SKILLS_LENGTH = 1000  # characters a skill list may take in the form
_SEPARATORS = re.compile(r"[,\n;]")


@dataclass(frozen=True)
class Profile:
    """What matchmaking uses of a member's profile (``None``: never set)."""

    offers: tuple[str, ...] = ()
    wants: tuple[str, ...] = ()
    languages: str | None = None
    timezone: str | None = None


@dataclass(frozen=True)
class SeekForm:
    """What the member typed in the form, field by field (empty: left as it was)."""

    offers: str = ""
    wants: str = ""
    languages: str = ""
    timezone: str = ""


async def read_profile(db: Database, member: MemberId) -> Profile:
    """The member's profile, read without waiting for writers."""
    async with db.read() as tx:
        rows = await tx.all("SELECT kind, skill FROM skills WHERE member_id = ? "
                            "ORDER BY skill", (member,))
        me = await tx.one("SELECT tz, languages FROM members WHERE id = ?", (member,))
    tz = me["tz"] if me is not None else None
    return Profile(tuple(r["skill"] for r in rows if r["kind"] == "offer"),
                   tuple(r["skill"] for r in rows if r["kind"] == "want"),
                   me["languages"] if me is not None else None,
                   None if tz in (None, "UTC") else tz)


def skill_list(text: str) -> list[str]:
    """The skills of a comma-separated list, as the core stores them, each once."""
    found: dict[str, None] = {}
    for raw in _SEPARATORS.split(text):
        skill = raw.strip().strip('"“”')
        if skill:
            with contextlib.suppress(UserError):  # the core says what is wrong with it
                skill = clean_skill(skill)
            found[skill] = None
    return list(found)[:MAX_SKILLS + 1]  # one too many still hears the limit


def language_codes(text: str) -> str:
    """Language codes as the core keeps them: lower case, spaces, each once."""
    return " ".join(dict.fromkeys(text.replace(",", " ").lower().split()))


def steps(form: SeekForm, profile: Profile) -> list[Typed]:
    """The commands that bring the profile to what the form says, then ``seek``."""
    offers = skill_list(form.offers) if form.offers.strip() else list(profile.offers)
    wants = skill_list(form.wants) if form.wants.strip() else list(profile.wants)
    dropped = [s for s in dict.fromkeys(profile.offers + profile.wants)
               if (s in profile.offers and s not in offers)
               or (s in profile.wants and s not in wants)]
    kept_offers = set(profile.offers) - set(dropped)  # ``skills remove`` empties both lists
    kept_wants = set(profile.wants) - set(dropped)
    done = [Typed("skills", {"action": "remove", "skill": s}) for s in dropped]
    done += [Typed("offer", {"skill": s}) for s in offers if s not in kept_offers]
    done += [Typed("want", {"skill": s}) for s in wants if s not in kept_wants]
    codes = language_codes(form.languages)
    if codes and codes != profile.languages:
        done.append(Typed("languages", {"codes": codes}))
    zone = form.timezone.strip()
    if zone and zone != profile.timezone:
        done.append(Typed("timezone", {"zone": zone}))
    return [*done, Typed("seek")]


@runtime_checkable
class SeekHandler(Protocol):
    """What the client does with a submitted seek form."""

    async def run_seek(self, interaction: discord.Interaction, form: SeekForm) -> None:
        """Apply the form's changes as the interaction's user, then ``seek``."""
        ...


def _field(name: str, words: tuple[str, str], value: str | None, length: int, lang: str,
           style: discord.TextStyle = discord.TextStyle.short) -> discord.ui.TextInput[SeekModal]:
    """One input of the form: its label and placeholder (``words``) said in ``lang``."""
    label, placeholder = words
    return discord.ui.TextInput(label=render(label, lang), default=value or None,
                                placeholder=render(placeholder, lang), required=False,
                                max_length=length, style=style, custom_id=FIELD_PREFIX + name)


TITLE = _("Look for companions")
OFFERS = (_("Skills you can mentor (comma-separated)"), _("cooking, python, spanish"))
WANTS = (_("Skills you want to learn (comma-separated)"), _("guitar, drawing"))
LANGUAGES = (_("Languages you can talk in"), _("two-letter codes, like fr en"))
TIMEZONE = (_("Your time zone"), _("an IANA zone, like Europe/Paris"))


class SeekModal(discord.ui.Modal):
    """The seek form (see the module docstring), its words in ``lang``; its id is random,
    one per opening."""

    def __init__(self, profile: Profile, lang: str = SOURCE) -> None:
        super().__init__(title=render(TITLE, lang), timeout=MODAL_TIMEOUT)
        paragraph = discord.TextStyle.paragraph
        self.offers = _field("offers", OFFERS, ", ".join(profile.offers), SKILLS_LENGTH, lang,
                             paragraph)
        self.wants = _field("wants", WANTS, ", ".join(profile.wants), SKILLS_LENGTH, lang,
                            paragraph)
        self.languages = _field("languages", LANGUAGES, profile.languages, 60, lang)
        self.timezone = _field("timezone", TIMEZONE, profile.timezone, 64, lang)
        for item in (self.offers, self.wants, self.languages, self.timezone):
            self.add_item(item)

    async def on_submit(self, interaction: discord.Interaction) -> None:
        client = interaction.client
        if isinstance(client, SeekHandler):
            await client.run_seek(interaction, SeekForm(
                self.offers.value, self.wants.value, self.languages.value, self.timezone.value))
