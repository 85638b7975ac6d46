"""The day index and the interval search: a calendar's arithmetic, apart from its data.

A :class:`_DayIndex` compiles a working-day rule (see
:mod:`techsvc_flow.calendar._schedules`) into an immutable snapshot of the years asked
for, a :class:`_Index`: one flag a day and the cumulative count of working days, so
that adding or counting working days is a subtraction and an index. The working
intervals of those days (business hours, in UTC microseconds) are derived from the
snapshot on first use, a :class:`_Intervals`, and working time is found in them by
binary search over the cumulative working time. Snapshots are extended (geometrically)
when a date outside them is asked for, and replaced whole, so readers need no lock.

The index knows nothing of the horizon or of coverage: that policy is the facade's,
:class:`techsvc_flow.calendar.WorkCalendar`.
"""

from __future__ import annotations

import bisect
import datetime as dt
import itertools
import threading
from collections.abc import Mapping

from .._time import from_us, to_us
from ..errors import CalendarError
from ._schedules import MAX_YEAR, MIN_YEAR, Rule
from .hours import BusinessHours, Shift, _day_shifts, _wall

_DAY_US = 86_400_000_000
_HOUR_US = 3_600_000_000
_TEN_YEARS_US = 3660 * _DAY_US


class _Index:
    """An immutable snapshot of the compiled days (and, lazily, working intervals)."""

    __slots__ = (
        "cum",
        "dates",
        "days",
        "first_year",
        "flags",
        "intervals",
        "last_year",
        "lo",
        "work",
        "workdays",
    )

    def __init__(self, first_year: int, last_year: int, flags: bytes) -> None:
        self.first_year = first_year
        self.last_year = last_year
        self.lo = dt.date(first_year, 1, 1).toordinal()
        self.flags = flags
        # cum[i]: working days among the days with ordinal < lo + i
        self.cum = [0, *itertools.accumulate(flags)]
        self.work = [self.lo + i for i, flag in enumerate(flags) if flag]
        self.dates = [dt.date.fromordinal(o) for o in self.work]  # the answers, ready-made
        self.days = len(flags)  # the lengths, read on every call: attributes, not len()
        self.workdays = len(self.work)
        self.intervals: _Intervals | None = None


class _Intervals:
    """Working intervals in UTC microseconds, with cumulative working time."""

    __slots__ = ("cum", "cum_end", "ends", "hi_us", "lo_us", "local", "starts", "varies")

    def __init__(self, spans: list[tuple[int, int]], lo_us: int, hi_us: int) -> None:
        self.lo_us, self.hi_us = lo_us, hi_us
        # each span's start as a local datetime, filled in on first use unless the UTC
        # offset varies within the span (see _DayIndex.local)
        self.local: list[dt.datetime | None] = [None] * len(spans)
        self.varies = bytearray(len(spans))
        self.starts = [s for s, _ in spans]
        self.ends = [e for _, e in spans]
        self.cum = [0, *itertools.accumulate(e - s for s, e in spans)][:-1]
        self.cum_end = [c + e - s for c, (s, e) in zip(self.cum, spans, strict=True)]


class _DayIndex:
    """The compiled days and working intervals of one calendar, and the arithmetic.

    Args:
        working: date → working day? (the schedules already applied).
        tz: the calendar's zone: local days and business hours are read in it.
        hours: the business hours; ``None`` counts whole working days.
        weekmask: the weekly pattern (Monday first); a working day it marks as a rest
            day is a make-up day and works the default shifts.
        name: the calendar's label, for error messages.
        special: the shifts of some dates (an overlay's special hours), instead of the
            usual ones.

    ``index`` is the current snapshot (``None`` until something is compiled); it is
    replaced, never changed, except for its lazily filled intervals.
    """

    __slots__ = ("_lock", "hours", "index", "name", "special", "tz", "weekmask", "working")

    def __init__(
        self,
        working: Rule,
        tz: dt.tzinfo,
        hours: BusinessHours | None,
        weekmask: str,
        name: str,
        special: Mapping[dt.date, tuple[Shift, ...]] | None = None,
    ) -> None:
        self.working = working
        self.special = dict(special or {})
        self.tz = tz
        self.hours = hours
        self.weekmask = weekmask
        self.name = name
        self.index: _Index | None = None
        self._lock = threading.Lock()

    # --- days -----------------------------------------------------------------------

    def compiled(self, lo: int, hi: int) -> _Index:
        """An index covering ordinals lo..hi, extended (and kept) when needed."""
        index = self.index
        if index is not None and index.lo <= lo and hi < index.lo + len(index.flags):
            return index
        with self._lock:
            index = self.index
            first = dt.date.fromordinal(max(lo, 1)).year
            last = dt.date.fromordinal(min(hi, dt.date.max.toordinal())).year
            if index is not None:
                # grow geometrically so that a walk across years compiles few times
                span = index.last_year - index.first_year + 1
                if first < index.first_year:
                    first = min(first, index.first_year - span)
                if last > index.last_year:
                    last = max(last, index.last_year + span)
                first, last = min(first, index.first_year), max(last, index.last_year)
            else:
                first, last = first - 1, last + 2
            first, last = max(first, MIN_YEAR), min(last, MAX_YEAR)
            if dt.date.fromordinal(max(lo, 1)).year < MIN_YEAR or (
                dt.date.fromordinal(min(hi, dt.date.max.toordinal())).year > MAX_YEAR
            ):
                raise CalendarError(f"date out of the supported range {MIN_YEAR}..{MAX_YEAR}")
            start = dt.date(first, 1, 1).toordinal()
            end = dt.date(last, 12, 31).toordinal()
            old = self.index
            flags = bytearray(end - start + 1)
            for ordinal in range(start, end + 1):
                if old is not None and old.lo <= ordinal < old.lo + len(old.flags):
                    flags[ordinal - start] = old.flags[ordinal - old.lo]
                else:
                    flags[ordinal - start] = self.working(dt.date.fromordinal(ordinal))
            index = _Index(first, last, bytes(flags))
            self.index = index
            return index

    def add_days(self, ordinal: int, n: int) -> int:
        """The ordinal of the ``n``-th working day after ``ordinal`` (see add_working_days)."""
        guess = ordinal + n * 7 // 5 + (14 if n >= 0 else -14)
        index = self.compiled(min(ordinal, guess), max(ordinal, guess))
        while True:
            i = ordinal - index.lo
            if n > 0:
                k = index.cum[i + 1] + n - 1
            elif n == 0:
                k = index.cum[i]
            else:
                k = index.cum[i] + n
            if 0 <= k < len(index.work):
                return index.work[k]
            far = index.lo - 366 if k < 0 else index.lo + len(index.flags) + 366
            index = self.compiled(min(ordinal, far), max(ordinal, far))

    # --- working intervals ----------------------------------------------------------

    def _spans_of(self, index: _Index) -> _Intervals:
        intervals = index.intervals
        if intervals is None:
            spans: list[tuple[int, int]] = []
            tz, hours, weekmask, special = self.tz, self.hours, self.weekmask, self.special
            for ordinal in index.work:
                day = dt.date.fromordinal(ordinal)
                midnight = dt.datetime(day.year, day.month, day.day, tzinfo=tz)
                shifts = special.get(day) if special else None
                for shift in shifts or _day_shifts(hours, day, weekmask):
                    start = to_us(_wall(midnight, shift.start, tz))
                    end = to_us(_wall(midnight, shift.end, tz))
                    if end <= start:  # wholly inside a daylight-saving gap
                        continue
                    # a wall time in a daylight-saving gap maps past the gap, so spans
                    # that touch or overlap on that day are joined, never counted twice
                    if spans and spans[-1][1] >= start:
                        spans[-1] = (spans[-1][0], max(spans[-1][1], end))
                    else:
                        spans.append((start, end))
            first = dt.date(index.first_year, 1, 1)
            after = dt.date(index.last_year + 1, 1, 1)
            intervals = index.intervals = _Intervals(
                spans,
                to_us(dt.datetime(first.year, 1, 1, tzinfo=tz)),
                to_us(dt.datetime(after.year, 1, 1, tzinfo=tz)),
            )
        return intervals

    def intervals(self, lo_us: int, hi_us: int) -> _Intervals:
        """Working intervals that reach a week beyond ``lo_us``..``hi_us`` each way."""
        index = self.index
        if index is not None:
            iv = index.intervals
            if (
                iv is not None
                and iv.lo_us + 7 * _DAY_US <= lo_us
                and hi_us < iv.hi_us - 7 * _DAY_US
            ):
                return iv
        lo = from_us(lo_us, self.tz).date().toordinal() - 7
        hi = from_us(hi_us, self.tz).date().toordinal() + 7
        return self._spans_of(self.compiled(lo, hi))

    @staticmethod
    def _elapsed(iv: _Intervals, us: int) -> int:
        """Working microseconds before ``us`` since the first compiled interval."""
        i = bisect.bisect_right(iv.ends, us)
        if i < len(iv.starts) and iv.starts[i] < us:
            return iv.cum[i] + us - iv.starts[i]
        return iv.cum_end[i - 1] if i else 0

    def between(self, ua: int, ub: int) -> int:
        """Working microseconds from ``ua`` to ``ub`` (negative when ``ub`` is earlier)."""
        iv = self.intervals(min(ua, ub), max(ua, ub))
        return self._elapsed(iv, ub) - self._elapsed(iv, ua)

    def next_working(self, us: int) -> int | None:
        """``us`` if it is inside working time, else the next start of work.

        ``None`` when there is no working time within ten years.
        """
        reach = 40 * _DAY_US
        while True:
            iv = self.intervals(us, us + reach)
            i = bisect.bisect_right(iv.ends, us)
            if i < len(iv.starts):
                return us if iv.starts[i] <= us else iv.starts[i]
            if reach > _TEN_YEARS_US:
                return None
            reach *= 4

    def add_time_at(self, us: int, amount: int) -> tuple[int, _Intervals, int]:
        """The instant ``amount`` µs of working time from ``us``, its intervals and span."""
        index = self.index
        iv = None if index is None else index.intervals
        if amount > 0 and iv is not None and iv.lo_us + 7 * _DAY_US <= us:
            # the common case, in one call: compiled intervals that reach the answer
            starts = iv.starts
            i = bisect.bisect_right(iv.ends, us)
            if i < len(starts):
                start = starts[i]
                if start < us:
                    target = iv.cum[i] + us - start + amount
                else:
                    target = (iv.cum_end[i - 1] if i else 0) + amount
                j = bisect.bisect_left(iv.cum_end, target)
                if j < len(starts):
                    return starts[j] + target - iv.cum[j], iv, j
        reach = abs(amount) * 4 + 40 * _DAY_US
        while True:
            lo, hi = (us, us + reach) if amount > 0 else (us - reach, us)
            iv = self.intervals(lo, hi)
            target = self._elapsed(iv, us) + amount
            if amount > 0:
                j = bisect.bisect_left(iv.cum_end, target)
                if j < len(iv.starts):
                    return iv.starts[j] + target - iv.cum[j], iv, j
            else:
                j = bisect.bisect_right(iv.cum, target) - 1
                if target >= 0 and j >= 0:
                    return iv.starts[j] + target - iv.cum[j], iv, j
            if not iv.starts and reach > _TEN_YEARS_US:
                raise CalendarError(
                    f"{self.name} calendar has no working time within ten years: "
                    "check its business hours and weekmask"
                )
            reach *= 2

    # --- local time -----------------------------------------------------------------

    def local(self, us: int, iv: _Intervals, j: int) -> dt.datetime:
        """``us`` (inside or at the end of interval ``j``) as a local datetime.

        The start of the interval is converted once and remembered; an instant inside it
        is then start + timedelta, with no zone lookup, unless the UTC offset changes
        within the interval (a daylight-saving switch during business hours).
        """
        start = iv.local[j]
        if start is None:
            if iv.varies[j] or not self._fixed_offset(iv.starts[j], iv.ends[j]):
                iv.varies[j] = 1
                return from_us(us, self.tz)
            # a benign race: any thread stores the same value
            start = iv.local[j] = from_us(iv.starts[j], self.tz)
        return start + dt.timedelta(0, 0, us - iv.starts[j])

    def _fixed_offset(self, lo_us: int, hi_us: int) -> bool:
        """Whether the UTC offset is the same from ``lo_us`` to ``hi_us`` (≤ 2 days).

        Checked every hour: no time zone changes its offset twice within an hour.
        """
        if hi_us - lo_us > 2 * _DAY_US:
            return False
        tz = self.tz
        offset = from_us(lo_us, tz).utcoffset()
        return all(
            from_us(t, tz).utcoffset() == offset for t in (*range(lo_us, hi_us, _HOUR_US), hi_us)
        )
