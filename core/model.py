"""Plain records read from storage, shared by the command handlers."""

from __future__ import annotations

from dataclasses import dataclass

from core.ids import MemberId, RoomId, TrioId
from core.storage.db import Row


@dataclass(frozen=True)
class Trio:
    """A trio and its settings."""

    id: TrioId
    name: str
    state: str
    patience_s: int
    relance: str
    proposal_ttl_s: int
    platform: str = "console"
    realm: str | None = None  # where on its platform it lives (a Discord server id)
    language: str | None = None  # its rooms' language (None: the bot's default)

    @classmethod
    def of(cls, row: Row) -> Trio:
        return cls(TrioId(row["id"]), row["name"], row["state"], row["patience_s"],
                   row["relance"], row["proposal_ttl_s"], row["platform"], row["realm"],
                   row["language"])


@dataclass(frozen=True)
class Room:
    """A trio room (``pair`` is empty) or a pair line."""

    id: RoomId
    trio_id: TrioId
    purpose: str
    pair: tuple[MemberId, ...]
    open: bool

    @classmethod
    def of(cls, row: Row) -> Room:
        pair = tuple(MemberId(m) for m in (row["member_a"], row["member_b"]) if m)
        return cls(RoomId(row["id"]), TrioId(row["trio_id"]), row["purpose"], pair,
                   row["state"] == "open")
