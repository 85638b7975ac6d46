"""Clocks: where "now" comes from.

No part of techsvc_flow reads the system clock by itself; a :class:`Workflow` takes a
clock object, and tests pass a :class:`SteppedClock` to move time by hand.

>>> import datetime as dt
>>> clock = SteppedClock(dt.datetime(2025, 9, 30, 9, 0, tzinfo=dt.timezone.utc))
>>> clock.advance(hours=2).isoformat()
'2025-09-30T11:00:00+00:00'
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol

from .errors import NaiveDatetimeError

__all__ = ["Clock", "SteppedClock", "SystemClock"]


class Clock(Protocol):
    """Anything with a ``now()`` that returns an aware datetime."""

    def now(self) -> dt.datetime: ...


class SystemClock:
    """The real time, in UTC."""

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


class SteppedClock:
    """A clock that stands still until moved with :meth:`advance` or :meth:`set`."""

    def __init__(self, start: dt.datetime, /) -> None:
        self._now = _aware(start)

    def now(self) -> dt.datetime:
        return self._now

    def set(self, instant: dt.datetime, /) -> dt.datetime:
        """Move to ``instant`` (forwards or backwards) and return it."""
        self._now = _aware(instant)
        return self._now

    def advance(self, delta: dt.timedelta | None = None, /, **parts: float) -> dt.datetime:
        """Move forward by ``delta`` or by keyword parts (``hours=2``) and return now."""
        self._now = self._now + (delta or dt.timedelta()) + dt.timedelta(**parts)
        return self._now

    def __repr__(self) -> str:
        return f"SteppedClock({self._now.isoformat()})"


def _aware(instant: dt.datetime) -> dt.datetime:
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise NaiveDatetimeError(instant)
    return instant
