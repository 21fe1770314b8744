"""Quiet hours in a member's own time zone.

Theory of operation. A window is two wall-clock times (minutes after local midnight)
and may cross midnight (22:00-08:00). Whether an instant is inside depends only on the
wall clock it shows in the member's zone. The window *ends* at the first instant after
``now`` whose wall clock is outside it. That instant is one of: the end time on some
local date (either occurrence when the clock repeats an hour in autumn), or, when the
end time does not exist that day (the spring gap), the moment the clock jumps over it.
:func:`quiet_until` lists those candidates around ``now`` and takes the earliest one
that is strictly later and really outside: the answer is never in the past, and the
member is never in quiet hours at it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import ParseError
from core.i18n import _


def zone(name: str) -> ZoneInfo:
    """The time zone called ``name``, or a friendly error."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ParseError(
            _("“{name}” is not a time zone I know.", name=name),
            hint=_("Use an IANA name like Europe/Paris, America/New_York or UTC."),
        ) from None


def inside(z: ZoneInfo, start: int, end: int, when: datetime) -> bool:
    """Whether the wall clock in ``z`` at ``when`` is within the window [start, end)."""
    local = when.astimezone(z)
    minute = local.hour * 60 + local.minute
    return start <= minute < end if start < end else (minute >= start or minute < end)


def _jump(z: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The first whole second in (before, after] whose UTC offset is ``after``'s (a DST jump)."""
    offset = after.astimezone(z).utcoffset()
    lo, hi = int(before.timestamp()), int(after.timestamp())
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(z).utcoffset() == offset:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def _ends_on(z: ZoneInfo, day: date, end: int) -> list[datetime]:
    """The instants (UTC) at which the wall clock in ``z`` shows ``end`` on ``day``."""
    wall = time(end // 60, end % 60)
    first, second = (datetime.combine(day, wall, tzinfo=z).replace(fold=f).astimezone(UTC)
                     for f in (0, 1))
    shown = first.astimezone(z)
    if (shown.date(), shown.hour, shown.minute) != (day, wall.hour, wall.minute):
        # The wall time does not exist that day: the window ends when the clock jumps over it.
        lo, hi = sorted((first, second))
        return [_jump(z, lo, hi)]
    return [first, second]


def quiet_until(tz: str, start: int | None, end: int | None, now: datetime) -> datetime | None:
    """When the quiet window around ``now`` ends, or None if ``now`` is not in it."""
    if start is None or end is None or start == end:
        return None
    z = zone(tz)
    if not inside(z, start, end, now):
        return None
    today = now.astimezone(z).date()
    candidates = [at for offset in range(-1, 3)
                  for at in _ends_on(z, today + timedelta(days=offset), end)
                  if at > now and not inside(z, start, end, at)]
    if not candidates:  # cannot happen with real zones; deliver rather than hold forever
        return None
    return min(candidates).astimezone(now.tzinfo)
