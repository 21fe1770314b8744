"""How people are named on Discord: member ids ``discord:<snowflake>`` and typed mentions."""

from __future__ import annotations

import re

from core.ids import MemberId

PLATFORM = "discord"
_PREFIX = "discord:"
_MENTION = re.compile(r"<@!?([0-9]{1,20})>|@?(?:discord:)?([0-9]{5,20})")


def member_id(user_id: int) -> MemberId:
    """The core's member id of a Discord user."""
    return MemberId(f"{_PREFIX}{user_id}")


def user_id_of(member: str) -> int | None:
    """The Discord user id a core member id names, if it is a Discord member."""
    number = member.removeprefix(_PREFIX)
    if member.startswith(_PREFIX) and number.isdigit():
        return int(number)
    return None


def read_user(text: str) -> MemberId | None:
    """A ``Settings.read_user`` for Discord: ``<@123>``, ``@discord:123``, ``discord:123``."""
    found = _MENTION.fullmatch(text.strip())
    if found is None:
        return None
    return member_id(int(found.group(1) or found.group(2)))
