"""Settings of the core, with the defaults of the specification."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta

from core.ids import MemberId


def plain_user(text: str) -> MemberId | None:
    """Default reading of a mention: ``@alice``, ``@Alice`` or ``alice`` is the member ``alice``.

    Plain ids are lower case (the console's are), so a name typed back as the bot shows it,
    capitalised, still names the same person.
    """
    name = text.strip().lstrip("@").casefold()
    return MemberId(name) if name and not any(c.isspace() for c in name) else None


@dataclass(frozen=True)
class Settings:
    """What a community running the bot may tune; adapters add how users are named."""

    prefix: str = "!"
    default_language: str = "en"
    """The language of members and trios who have not chosen one (``core.i18n.LANGUAGES``)."""
    max_trios: int = 5
    invite_ttl: timedelta = timedelta(hours=72)
    patience: timedelta = timedelta(hours=72)
    relance: str = "gentle"
    proposal_ttl: timedelta = timedelta(hours=48)
    plan_reminder: timedelta = timedelta(hours=24)
    redeem_failures: int = 5
    redeem_window: timedelta = timedelta(minutes=15)
    invitations_sent: int = 10
    """Personal invitations one member may send per ``invitation_window``."""
    invitations_received: int = 3
    """Personal invitations one person may receive per ``invitation_window``, from anyone."""
    invitation_window: timedelta = timedelta(days=1)
    invite_link: str = "twinome://join/{code}"
    read_user: Callable[[str], MemberId | None] = field(default=plain_user)
    """Turns what a person typed after ``@`` into a member id (the adapter knows how)."""
    community_of: Callable[[MemberId], str | None] = field(default=lambda member: None)
    """The community a member comes from, where the platform tells (a Matrix homeserver)."""
    realm_of: Callable[[MemberId], str | None] = field(default=lambda member: None)
    """The realm a member acts from, where the platform has several (a Discord server id):
    a trio lives in one realm, and only people of that realm are matched or seated in it."""
    match_spread_h: float = 6.0
    """How many hours apart the time zones of a proposed trio may be."""
