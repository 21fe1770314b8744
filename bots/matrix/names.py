"""How people are named on Matrix: mentions as typed, pills and matrix.to links."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import unquote

from core.ids import MemberId

_LOCALPART = re.compile(r"[a-z0-9._=\-/+]+", re.IGNORECASE)
_SERVER = re.compile(r"[a-z0-9.\-]+(:\d{1,5})?|\[[0-9a-f:.]+\](:\d{1,5})?", re.IGNORECASE)
_LINK_PREFIXES = ("https://matrix.to/#/", "http://matrix.to/#/", "matrix:u/")


def user_reader(server: str) -> Callable[[str], MemberId | None]:
    """A ``Settings.read_user`` for a bot on ``server``: ``@bob`` means ``@bob:<server>``."""

    def read_user(text: str) -> MemberId | None:
        return read_mention(text, server)

    return read_user


def homeserver_of(member: MemberId) -> str | None:
    """A Matrix user's homeserver: the community matchmaking likes to mix."""
    _, sep, server = member.partition(":")
    return server if member.startswith("@") and sep else None


def read_mention(text: str, server: str) -> MemberId | None:
    """The Matrix user id a typed mention, pill or matrix.to link names, if it names one."""
    raw = text.strip().strip("<>")
    for prefix in _LINK_PREFIXES:
        if raw.lower().startswith(prefix):
            raw = unquote(raw[len(prefix):]).split("?", 1)[0]
            if prefix == "matrix:u/":
                raw = "@" + raw
            break
    raw = raw.rstrip(".,;!?")
    if not raw.startswith("@"):
        raw = "@" + raw
    local, sep, host = raw[1:].partition(":")
    if not sep:
        local, host = local.lower(), server
    if not _LOCALPART.fullmatch(local) or not _SERVER.fullmatch(host):
        return None
    return MemberId(f"@{local}:{host}")


def invite_link(bot_user_id: str) -> str:
    """The ``Settings.invite_link`` template: a matrix.to link to the bot, with the code."""
    return f"https://matrix.to/#/{bot_user_id}?code={{code}}"
