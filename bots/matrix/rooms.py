"""Room creation as the specification wants it: encrypted, private, the bot in charge.

Trio rooms and pair lines use the ``private_chat`` preset, ``m.room.encryption`` (megolm)
and ``history_visibility: joined`` in the initial state, and power levels where members
(level 0) cannot invite, kick, ban, redact or change any state, power levels included; the
bot is the room's creator (its own level is 100, or the creator's unlimited power in room
version 12, where the creator may not be listed). The MSC4332 command list is part of the
initial state too, so clients can offer the commands at once; it is said in the bot's
default language (``[bot] default_language``), command names included.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import nio

from bots.adapter.text import command_name
from bots.matrix.calls import MatrixCallError, checked
from core import grammar
from core.i18n import _, render

MEGOLM = "m.megolm.v1.aes-sha2"
COMMANDS_EVENT = "org.matrix.msc4332.commands"
STAFF = 50  # what inviting, kicking and changing state needs; members are at 0
ADMIN = 100

JsonDict = dict[str, Any]


def encryption_state() -> JsonDict:
    """The ``m.room.encryption`` state event for the initial state."""
    return {"type": "m.room.encryption", "state_key": "", "content": {"algorithm": MEGOLM}}


def power_levels() -> JsonDict:
    """The power levels of a trio room or pair line (without ``users``: the bot is creator)."""
    return {
        "users_default": 0,
        "events_default": 0,
        "state_default": STAFF,
        "invite": STAFF,
        "kick": STAFF,
        "ban": STAFF,
        "redact": STAFF,
        "events": {
            "m.room.name": STAFF,
            "m.room.topic": STAFF,
            "m.room.avatar": STAFF,
            "m.room.canonical_alias": STAFF,
            "m.room.pinned_events": STAFF,
            "m.room.power_levels": ADMIN,
            "m.room.history_visibility": ADMIN,
            "m.room.encryption": ADMIN,
            "m.room.server_acl": ADMIN,
            "m.room.tombstone": ADMIN,
            COMMANDS_EVENT: ADMIN,
        },
        "notifications": {"room": STAFF},
    }


def commands_content(prefix: str, lang: str = "en") -> JsonDict:
    """The MSC4332 command list in ``lang``, made from the one command table."""
    commands = []
    for command in grammar.COMMANDS:
        variables = {
            arg.name: {"m.text": [{"body": render(
                arg.help if arg.required else _("{what} (optional)", what=arg.help), lang)}]}
            for arg in command.args
        }
        name = command_name(command.name, lang)
        syntax = " ".join([name, *(f"{{{arg.name}}}" for arg in command.args)])
        commands.append({
            "syntax": syntax,
            "variables": variables,
            "description": {"m.text": [{"body": render(command.summary, lang)}]},
        })
    return {"sigil": prefix, "commands": commands}


def commands_state(bot_user_id: str, prefix: str, lang: str = "en") -> JsonDict:
    """The MSC4332 state event, keyed by the bot's own user id."""
    return {"type": COMMANDS_EVENT, "state_key": bot_user_id,
            "content": commands_content(prefix, lang)}


def line_initial_state(bot_user_id: str, prefix: str, lang: str = "en") -> list[JsonDict]:
    """The initial state of a trio room or pair line."""
    return [
        encryption_state(),
        {"type": "m.room.history_visibility", "state_key": "",
         "content": {"history_visibility": "joined"}},
        {"type": "m.room.guest_access", "state_key": "", "content": {"guest_access": "forbidden"}},
        commands_state(bot_user_id, prefix, lang),
    ]


async def create_line(client: nio.AsyncClient, name: str, topic: str, members: list[str],
                      prefix: str, lang: str = "en") -> str:
    """Create a trio room or pair line inviting exactly ``members``; returns its room id."""
    response = await checked(
        "creating a room",
        lambda: client.room_create(
            name=name,
            topic=topic,
            preset=nio.RoomPreset.private_chat,
            invite=members,
            initial_state=line_initial_state(client.user_id, prefix, lang),
            power_level_override=power_levels(),
        ),
        nio.RoomCreateResponse,
    )
    room_id: str = response.room_id
    return room_id


async def create_direct(client: nio.AsyncClient, user_id: str, prefix: str,
                        lang: str = "en") -> str:
    """Open an encrypted direct chat with ``user_id`` and record it in ``m.direct``."""
    response = await checked(
        "creating a direct chat",
        lambda: client.room_create(
            is_direct=True,
            preset=nio.RoomPreset.trusted_private_chat,
            invite=[user_id],
            initial_state=[encryption_state(), commands_state(client.user_id, prefix, lang)],
        ),
        nio.RoomCreateResponse,
    )
    room_id: str = response.room_id
    await add_direct(client, user_id, room_id)
    return room_id


async def add_direct(client: nio.AsyncClient, user_id: str, room_id: str) -> None:
    """Add ``room_id`` to the bot's ``m.direct`` account data for ``user_id``."""
    path = f"/_matrix/client/v3/user/{quote(client.user_id)}/account_data/m.direct"
    headers = {"Authorization": f"Bearer {client.access_token}"}
    direct = await _get_json(client, path, headers)
    rooms = [r for r in direct.get(user_id, []) if isinstance(r, str) and r != room_id]
    direct[user_id] = [*rooms, room_id]
    response = await client.send("PUT", path, json.dumps(direct),
                                 {**headers, "Content-Type": "application/json"})
    async with response:
        if response.status != 200:
            raise MatrixCallError("updating m.direct", f"HTTP {response.status}")


async def _get_json(client: nio.AsyncClient, path: str, headers: dict[str, str]) -> JsonDict:
    response = await client.send("GET", path, headers=headers)
    async with response:
        if response.status == 404:
            return {}
        if response.status != 200:
            raise MatrixCallError("reading m.direct", f"HTTP {response.status}")
        data = await response.json(content_type=None)
    return data if isinstance(data, dict) else {}
