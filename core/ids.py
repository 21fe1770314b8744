"""Typed identifiers shared by the core and its adapters."""

from typing import NewType

MemberId = NewType("MemberId", str)
"""A platform account, scoped by its adapter (``@alice:example.org``, ``discord:42``, ``alice``)."""

TrioId = NewType("TrioId", int)
RoomId = NewType("RoomId", int)
"""A trio room or pair line, as the core numbers it; adapters bind it to a platform room."""
