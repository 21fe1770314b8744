"""Communities and realms on Discord: a member's highest role, and the server they use.

The core asks ``Settings.community_of(member)`` and ``Settings.realm_of(member)`` inside
its transaction, so the answers must be at hand without a network call:
:class:`Communities` remembers the top role and the server of the members who used the
bot lately (bounded), noted from each interaction before its events are submitted (one
answered from a read submits nothing and is not noted: working out the top role was about
a sixth of the adapter's own time on such an interaction). A member's community is the
name of their highest role in the server they used the bot in,
leaving out @everyone and roles an integration manages (a bot's role, the Nitro booster
role), or None when they have no other role. Their realm is that server's id: a trio
lives in one server, and matchmaking proposes only people of the same server. An
interaction outside any server (a button in a DM) changes neither.
"""

from __future__ import annotations

from collections import OrderedDict

import discord

from bots.discord.names import member_id
from core.ids import MemberId

MAX_REMEMBERED = 10_000  # members whose top role and server are kept at most


def top_role(member: discord.Member) -> str | None:
    """The name of the member's highest role that says something of them, if any."""
    roles = [r for r in member.roles if not r.is_default() and not r.managed]
    return max(roles, key=lambda r: (r.position, r.id)).name if roles else None


class Communities:
    """Members' top roles and servers by member id, from their latest interaction (bounded)."""

    def __init__(self, limit: int = MAX_REMEMBERED) -> None:
        self.limit = limit
        self._seen: OrderedDict[MemberId, tuple[str | None, str | None]] = OrderedDict()

    def note(self, user: discord.abc.User) -> None:
        """Remember the top role and server of whoever interacted (nothing outside a server)."""
        if isinstance(user, discord.Member):
            self.remember(member_id(user.id), top_role(user), str(user.guild.id))

    def remember(self, member: MemberId, role: str | None, realm: str | None = None) -> None:
        """Remember a member's top role and server (the least recently seen are forgotten first)."""
        self._seen.pop(member, None)
        self._seen[member] = (role, realm)
        while len(self._seen) > self.limit:
            self._seen.popitem(last=False)

    def of(self, member: MemberId) -> str | None:
        """A ``Settings.community_of`` for Discord: the member's top role, if known."""
        seen = self._seen.get(member)
        return None if seen is None else seen[0]

    def realm_of(self, member: MemberId) -> str | None:
        """A ``Settings.realm_of`` for Discord: the id of the server the member last used."""
        seen = self._seen.get(member)
        return None if seen is None else seen[1]
