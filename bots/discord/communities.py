"""Communities on Discord: a member's highest role, as matchmaking mixes them.

The core asks ``Settings.community_of(member)`` inside its transaction, so the answer
must be at hand without a network call: :class:`Communities` remembers the top role of
the members who used the bot lately (bounded), noted from each interaction before its
event is submitted. A member's community is the name of their highest role in the server
they used the bot in, leaving out @everyone and roles an integration manages (a bot's
role, the Nitro booster role), or None when they have no other role.
"""

from __future__ import annotations

from collections import OrderedDict

import discord

from bots.discord.names import member_id
from core.ids import MemberId

MAX_REMEMBERED = 10_000  # members whose top role is kept at most


def top_role(member: discord.Member) -> str | None:
    """The name of the member's highest role that says something of them, if any."""
    roles = [r for r in member.roles if not r.is_default() and not r.managed]
    return max(roles, key=lambda r: (r.position, r.id)).name if roles else None


class Communities:
    """Members' top roles by member id, from their latest interaction (bounded)."""

    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        self.limit = limit
        self._roles: OrderedDict[MemberId, str | None] = OrderedDict()

    def note(self, user: discord.abc.User) -> None:
        """Remember the top role of whoever interacted (nothing for a user outside a server)."""
        if isinstance(user, discord.Member):
            self.remember(member_id(user.id), top_role(user))

    def remember(self, member: MemberId, role: str | None) -> None:
        """Remember a member's top role (the least recently seen are forgotten first)."""
        self._roles.pop(member, None)
        self._roles[member] = role
        while len(self._roles) > self.limit:
            self._roles.popitem(last=False)

    def of(self, member: MemberId) -> str | None:
        """A ``Settings.community_of`` for Discord: the member's top role, if known."""
        return self._roles.get(member)
