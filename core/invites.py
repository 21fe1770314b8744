"""Invite codes: at least 64 random bits, single use, expiring, revocable."""

from __future__ import annotations

import secrets
from datetime import datetime

from core.storage.db import Row, Tx
from core.timeutil import ts

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # 32 symbols: 5 bits each, no 0/O or 1/I
CODE_SYMBOLS = 16  # 80 random bits


def new_code() -> str:
    """A fresh code like ``K7GQ-2M4X-PA9D-RT3W``."""
    raw = "".join(secrets.choice(ALPHABET) for _ in range(CODE_SYMBOLS))
    return "-".join(raw[i : i + 4] for i in range(0, CODE_SYMBOLS, 4))


def normalise(text: str) -> str:
    """The stored form of a code as someone typed or pasted it (link tail included)."""
    tail = text.strip().rsplit("/", 1)[-1].rsplit("=", 1)[-1]
    raw = "".join(c for c in tail.upper() if c.isalnum())
    return "-".join(raw[i : i + 4] for i in range(0, len(raw), 4))


async def find(tx: Tx, code: str) -> Row | None:
    """The invite with this code, whatever its state (to say why it no longer works)."""
    return await tx.one(
        "SELECT i.*, t.name, t.state AS trio_state FROM invites i "
        "JOIN trios t ON t.id = i.trio_id WHERE i.code = ?",
        (normalise(code),),
    )


async def create(tx: Tx, trio_id: int, by: str, invitee: str | None, now: datetime,
                 expires: datetime) -> str:
    """Store a new invite and return its code."""
    code = new_code()
    await tx.run(
        "INSERT INTO invites (code, trio_id, created_by, invitee, created_at, expires_at, state) "
        "VALUES (?, ?, ?, ?, ?, ?, 'open')",
        (code, trio_id, by, invitee, ts(now), ts(expires)),
    )
    return code
