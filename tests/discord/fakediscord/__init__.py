"""A small local Discord API and gateway for testing discord.py bots end to end."""

from tests.discord.fakediscord.interactions import Button, InteractionResult
from tests.discord.fakediscord.server import DM_CONTEXT, FakeDiscord, RecordedRequest, pointed_at

__all__ = ["DM_CONTEXT", "Button", "FakeDiscord", "InteractionResult", "RecordedRequest",
           "pointed_at"]
