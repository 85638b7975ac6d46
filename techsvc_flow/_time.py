"""Instants as integers, and time zones by name: the few lines every room needs.

Shared by the calendar, quality and the SQL store, so each counts microseconds since
the epoch the same way and names an unknown zone with the same error.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .errors import CalendarError

__all__ = ["EPOCH", "US", "UTC", "from_us", "to_us", "zone"]

UTC = dt.UTC
#: the instant integer instants count from
EPOCH = dt.datetime(1970, 1, 1, tzinfo=UTC)
#: one microsecond, the unit of integer instants
US = dt.timedelta(microseconds=1)


def zone(tz: str | dt.tzinfo, /) -> dt.tzinfo:
    """The zone named ``tz`` (an IANA name), or ``tz`` itself when it is one already.

    Raises:
        CalendarError: no such zone.
    """
    if isinstance(tz, dt.tzinfo):
        return tz
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise CalendarError(f"unknown time zone {tz!r}") from exc


def to_us(instant: dt.datetime, /) -> int:
    """Microseconds from :data:`EPOCH` to the aware ``instant``."""
    return (instant - EPOCH) // US


def from_us(us: int, tz: dt.tzinfo = UTC, /) -> dt.datetime:
    """The instant ``us`` microseconds after :data:`EPOCH`, shown in ``tz``."""
    return (EPOCH + dt.timedelta(microseconds=us)).astimezone(tz)
