"""The console adapter: several named people play against the real core, no chat server."""

from bots.console.adapter import Console, opened, play
from bots.console.output import HumanSink, JsonSink, Shown, Sink

__all__ = ["Console", "HumanSink", "JsonSink", "Shown", "Sink", "opened", "play"]
