"""Hooks other features run when a member leaves a trio (mentorships end, votes close…)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from core.context import Ctx
from core.ids import MemberId
from core.model import Trio

LeaveHook = Callable[[Ctx, Trio, MemberId], Awaitable[None]]
_ON_LEAVE: list[LeaveHook] = []


def on_member_left(hook: LeaveHook) -> LeaveHook:
    """Register ``hook`` to run whenever a member leaves a trio (decorator)."""
    _ON_LEAVE.append(hook)
    return hook


async def member_left(ctx: Ctx, trio: Trio, member: MemberId) -> None:
    """Run every registered leave hook."""
    for hook in _ON_LEAVE:
        await hook(ctx, trio, member)
