"""``python -m tests.discord.shardbot BASE -- --config PATH``: ``twinome discord`` as it
ships, in a process of its own, pointed at a fake Discord at ``BASE`` (http://host:port)."""

from __future__ import annotations

import sys

import discord
import yarl

from bots.discord import cli


def main(argv: list[str]) -> int:
    """Point discord.py at the fake server, then run the real command line."""
    base, rest = argv[0], argv[1:]
    discord.http.Route.BASE = base + "/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(
        base.replace("http://", "ws://") + "/gateway")
    return cli.main(rest)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
