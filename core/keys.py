"""The one definition of the keys that adapters bind to platform references.

A trio room or pair line is ``room:<id>``; a member's direct chat with the bot is
``dm:<member id>``; the moderators' room is ``moderators``. Adapters bind each key to
what it is on their platform (a Matrix room id, a Discord channel id, a console name).
"""

from __future__ import annotations

from core.ids import MemberId, RoomId

MODERATORS = "moderators"
_ROOM = "room:"
_DM = "dm:"


def room_key(room: RoomId) -> str:
    """The key of a trio room or pair line."""
    return f"{_ROOM}{room}"


def dm_key(member: MemberId | str) -> str:
    """The key of a member's direct chat with the bot."""
    return f"{_DM}{member}"


def room_of(key: str) -> RoomId | None:
    """The trio room or pair line a key names, if it names one."""
    if not key.startswith(_ROOM):
        return None
    number = key.removeprefix(_ROOM)
    return RoomId(int(number)) if number.isdigit() else None


def dm_owner(key: str) -> MemberId | None:
    """The member whose direct chat a key names, if it names one."""
    return MemberId(key.removeprefix(_DM)) if key.startswith(_DM) else None
