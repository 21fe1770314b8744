"""Quiet hours in a member's own time zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import ParseError


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name``, or a friendly error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ParseError(
            f"“{name}” is not a time zone I know.",
            hint="Use an IANA name like Europe/Paris, America/New_York or UTC.",
        ) from None


def quiet_until(tz: str, start: int | None, end: int | None, now: datetime) -> datetime | None:
    """When the quiet window around ``now`` ends, or None if ``now`` is not in it.

    ``start`` and ``end`` are minutes after local midnight; a window may cross midnight
    (22:00-08:00). Daylight-saving gaps are resolved by ``zoneinfo``'s fold rules.
    """
    if start is None or end is None or start == end:
        return None
    local = now.astimezone(zone(tz))
    minute = local.hour * 60 + local.minute
    inside = start <= minute < end if start < end else (minute >= start or minute < end)
    if not inside:
        return None
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    ends = midnight + timedelta(minutes=end)
    if ends <= local:
        ends = (midnight + timedelta(days=1)).replace(hour=end // 60, minute=end % 60)
    return ends.astimezone(now.tzinfo)
