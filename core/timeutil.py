"""Conversions between aware datetimes and the integer seconds the database stores."""

from datetime import UTC, datetime


def ts(when: datetime) -> int:
    """Unix seconds of an aware datetime."""
    return int(when.timestamp())


def dt(seconds: int) -> datetime:
    """The aware UTC datetime of Unix seconds."""
    return datetime.fromtimestamp(seconds, UTC)


def show(when: datetime) -> str:
    """A short readable UTC timestamp."""
    return when.strftime("%Y-%m-%d %H:%M UTC")
