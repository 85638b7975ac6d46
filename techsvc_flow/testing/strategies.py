"""Hypothesis strategies for working-time calendars, instants and durations.

These are the strategies techsvc_flow's own property tests use; they need the
``testing`` extra (``pip install "techsvc_flow[testing]"``). A typical use draws a
calendar, then instants inside its official range::

    import datetime as dt
    from hypothesis import given, strategies as st
    from techsvc_flow.testing import strategies as tst

    @given(data=st.data(), cal=tst.calendars(), n=st.integers(1, 30))
    def test_deadline_is_a_working_day(data, cal, n):
        start = data.draw(tst.instants(cal, end=dt.date(2026, 6, 30)))
        assert cal.is_working_day(cal.add_working_days(start, n))

Every strategy here shrinks towards simple values: China without business hours,
one shift, the first day of the range, whole hours.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Iterable, Mapping
from typing import Literal

from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument
from hypothesis.strategies import SearchStrategy

from .._time import EPOCH as _EPOCH
from .._time import US as _US
from ..calendar import BusinessHours, Coverage, Overlay, Shift, WorkCalendar
from ..definition import Goal, Level
from ..durations import (
    CalendarDays,
    CalendarMonths,
    ClockTime,
    Duration,
    WorkingDays,
    WorkingHours,
)

__all__ = [
    "COUNTRY_ZONES",
    "ZONES",
    "business_hours",
    "calendars",
    "dates",
    "duration_texts",
    "durations",
    "goals",
    "instants",
    "ladders",
    "overlays",
]

CalendarKind = Literal["china", "weekly", "country"]

#: Countries drawn by :func:`calendars`, with the zone each calendar is built in.
COUNTRY_ZONES: Mapping[str, str] = {
    "DE": "Europe/Berlin",
    "FR": "Europe/Paris",
    "GB": "Europe/London",
    "JP": "Asia/Tokyo",
    "US": "America/New_York",
}

#: Zones drawn for weekly calendars: no DST, European and American DST, and a
#: half-hour DST shift.
ZONES: tuple[str, ...] = (
    "UTC",
    "Asia/Shanghai",
    "Europe/Berlin",
    "America/New_York",
    "Australia/Lord_Howe",
)

_ALL_KINDS: tuple[type[Duration], ...] = (
    ClockTime,
    WorkingDays,
    WorkingHours,
    CalendarDays,
    CalendarMonths,
)
_DAY_MINUTES = 24 * 60
_UTC = dt.UTC
# the window used where a calendar has no official horizon
_WINDOW = (dt.date(2000, 1, 1), dt.date(2035, 12, 31))
_TEXT = re.compile(r"^(-?[\d.]+)([a-z]+)$")


# --- business hours ---------------------------------------------------------------------


@st.composite
def _shift_lists(
    draw: st.DrawFn, min_shifts: int, max_shifts: int, granularity: int
) -> tuple[Shift, ...]:
    slots = _DAY_MINUTES // granularity
    count = draw(st.integers(min_shifts, max_shifts))
    points = sorted(
        draw(st.lists(st.integers(0, slots), min_size=2 * count, max_size=2 * count, unique=True))
    )
    shifts: list[Shift] = []
    for start, end in zip(points[::2], points[1::2], strict=True):
        touching: bool = draw(st.booleans())
        if shifts and touching:
            start = shifts[-1].end // granularity  # a shift that starts as the last ends
        shifts.append(Shift(start * granularity, end * granularity))
    return tuple(shifts)


def business_hours(
    *, max_shifts: int = 3, granularity: int = 15, weekday_differences: bool = True
) -> SearchStrategy[BusinessHours]:
    """Valid business hours: one to ``max_shifts`` shifts that do not overlap.

    Shifts may touch (``09:00-12:00,12:00-18:00``) and may end at 24:00. With
    ``weekday_differences``, up to three weekdays get their own shifts, possibly none.

    Args:
        max_shifts: the most shifts in one day.
        granularity: shift boundaries are whole multiples of this many minutes
            (a divisor of 1440).
        weekday_differences: whether some weekdays may differ from the default.

    >>> from hypothesis.strategies import SearchStrategy
    >>> isinstance(business_hours(max_shifts=2), SearchStrategy)
    True
    """
    if max_shifts < 1:
        raise InvalidArgument(f"max_shifts={max_shifts!r}: expected at least 1")
    if granularity < 1 or _DAY_MINUTES % granularity:
        raise InvalidArgument(f"granularity={granularity!r}: expected a divisor of 1440")
    defaults = _shift_lists(1, max_shifts, granularity)
    if not weekday_differences:
        return defaults.map(BusinessHours)
    special = st.dictionaries(
        st.integers(0, 6), _shift_lists(0, max_shifts, granularity), max_size=3
    )
    return st.builds(lambda d, w: BusinessHours(d, weekdays=w), defaults, special)


# --- calendars ----------------------------------------------------------------------------


@functools.cache
@st.composite
def _overlays(
    draw: st.DrawFn, start: dt.date, end: dt.date, max_days: int, granularity: int
) -> Overlay:
    day = st.dates(start, end)
    chosen = draw(st.lists(day, max_size=max_days, unique=True))
    split = draw(st.integers(0, len(chosen)))
    hour_days = draw(st.lists(day, max_size=max(1, max_days // 2), unique=True))
    hours = {d: draw(_shift_lists(1, 2, granularity)) for d in hour_days}
    name = draw(st.sampled_from(["team", "region", "customer"]))
    return Overlay(name, tuple(chosen[:split]), tuple(chosen[split:]), hours)


def overlays(
    *,
    start: dt.date = dt.date(2024, 1, 1),
    end: dt.date = dt.date(2026, 12, 31),
    max_days: int = 8,
    granularity: int = 30,
) -> SearchStrategy[Overlay]:
    """Valid organisation overlays: closed and open days and special hours in a range.

    A day is never both closed and open; special hours are one or two shifts. Shrinks
    towards the empty overlay.

    Args:
        start: the first date an overlay may set.
        end: the last date an overlay may set.
        max_days: the most closed and open days together.
        granularity: shift boundaries are whole multiples of this many minutes.

    >>> isinstance(overlays(max_days=3), SearchStrategy)
    True
    """
    if end < start:
        raise InvalidArgument(f"end={end!r} is before start={start!r}")
    if max_days < 0:
        raise InvalidArgument(f"max_days={max_days!r}: expected at least 0")
    if granularity < 1 or _DAY_MINUTES % granularity:
        raise InvalidArgument(f"granularity={granularity!r}: expected a divisor of 1440")
    return _overlays(start, end, max_days, granularity)


def _china(coverage: Coverage) -> WorkCalendar:
    return WorkCalendar.china(coverage=coverage)


@functools.cache
def _country(code: str, tz: str) -> WorkCalendar:
    return WorkCalendar.country(code, tz=tz)


def _workable(hours: BusinessHours | None, weekmask: str) -> BusinessHours | None:
    """Drop weekday differences that would leave no business hours in the week."""
    if hours is None or any(
        flag == "1" and hours.weekdays.get(day, hours.default) for day, flag in enumerate(weekmask)
    ):
        return hours
    return BusinessHours(hours.default)


@st.composite
def _weekly(
    draw: st.DrawFn, hours: SearchStrategy[BusinessHours | None], zones: tuple[str, ...]
) -> WorkCalendar:
    mask = draw(st.lists(st.booleans(), min_size=7, max_size=7).filter(any))
    weekmask = "".join("1" if flag else "0" for flag in mask)
    days_off = draw(st.lists(st.dates(*_WINDOW), max_size=8))
    return WorkCalendar.weekly(
        weekmask,
        tz=draw(st.sampled_from(zones)),
        holidays=days_off,
        business_hours=_workable(draw(hours), weekmask),
    )


def calendars(
    *,
    kinds: Iterable[CalendarKind] = ("china", "weekly", "country"),
    hours: SearchStrategy[BusinessHours | None] | None = None,
    countries: Mapping[str, str] = COUNTRY_ZONES,
    zones: Iterable[str] = ZONES,
    coverage: Coverage = "raise",
) -> SearchStrategy[WorkCalendar]:
    """Working-time calendars: China, custom weekly patterns and other countries.

    Args:
        kinds: which kinds to draw: ``"china"`` (:meth:`WorkCalendar.china`),
            ``"weekly"`` (a random week pattern with a few extra days off, in one of
            ``zones``) and ``"country"`` (:meth:`WorkCalendar.country`).
        hours: business hours to give the calendars; by default none or
            :func:`business_hours`.
        countries: country codes of the ``holidays`` package, each with its zone.
        zones: the zones of weekly calendars.
        coverage: the calendars' policy past the horizon (China only has one).

    >>> from hypothesis.strategies import SearchStrategy
    >>> isinstance(calendars(kinds=["china"]), SearchStrategy)
    True
    """
    chosen = list(dict.fromkeys(kinds))
    if not chosen or set(chosen) - {"china", "weekly", "country"}:
        raise InvalidArgument(f"kinds={kinds!r}: choose from 'china', 'weekly', 'country'")
    if hours is None:
        hours = st.none() | business_hours()
    options: list[SearchStrategy[WorkCalendar]] = []
    for kind in chosen:
        if kind == "china":
            options.append(hours.map(_china(coverage).with_business_hours))
        elif kind == "weekly":
            options.append(_weekly(hours, tuple(zones)))
        else:
            if not countries:
                raise InvalidArgument("countries: expected at least one country code")
            options.append(
                st.builds(
                    lambda item, h: _country(*item).with_business_hours(h),
                    st.sampled_from(sorted(countries.items())),
                    hours,
                )
            )
    return st.one_of(options)


# --- instants and dates ---------------------------------------------------------------------


def _day_bounds(
    calendar: WorkCalendar, start: dt.date | None, end: dt.date | None
) -> tuple[dt.date, dt.date]:
    first = calendar.authoritative_from or _WINDOW[0]
    last = calendar.authoritative_until or _WINDOW[1]
    if start is not None:
        first = max(first, start)
    if end is not None:
        last = min(last, end)
    if last < first:
        raise InvalidArgument(
            f"no day from {start} to {end} inside {calendar!r}'s range {first}..{last}"
        )
    return first, last


def _as_date(value: dt.date | dt.datetime | None, calendar: WorkCalendar) -> dt.date | None:
    if isinstance(value, dt.datetime):
        if value.utcoffset() is None:
            raise InvalidArgument(f"{value!r} is naive: pass an aware datetime or a date")
        return value.astimezone(calendar.tz).date()
    return value


def _us(instant: dt.datetime) -> int:
    return (instant - _EPOCH) // _US


def _midnight_us(day: dt.date, calendar: WorkCalendar) -> int:
    return _us(dt.datetime(day.year, day.month, day.day, tzinfo=calendar.tz))


def dates(
    calendar: WorkCalendar,
    /,
    *,
    start: dt.date | dt.datetime | None = None,
    end: dt.date | dt.datetime | None = None,
) -> SearchStrategy[dt.date]:
    """Local dates from ``start`` to ``end`` (inclusive) inside the calendar's range.

    The range is the calendar's official one (:attr:`WorkCalendar.authoritative_from`
    .. :attr:`~WorkCalendar.authoritative_until`), or 2000..2035 for a calendar
    without a horizon, narrowed by ``start`` and ``end``.

    >>> import datetime as dt
    >>> from hypothesis.strategies import SearchStrategy
    >>> cal = WorkCalendar.china()
    >>> isinstance(dates(cal, start=dt.date(2025, 1, 1)), SearchStrategy)
    True
    """
    first, last = _day_bounds(calendar, _as_date(start, calendar), _as_date(end, calendar))
    return st.dates(first, last)


def instants(
    calendar: WorkCalendar,
    /,
    *,
    start: dt.date | dt.datetime | None = None,
    end: dt.date | dt.datetime | None = None,
    resolution: dt.timedelta = dt.timedelta(minutes=1),
) -> SearchStrategy[dt.datetime]:
    """Aware instants in the calendar's zone, inside its official range.

    About half the draws fall exactly on a midnight or on a start or end of a shift
    of the calendar's business hours, where working-time arithmetic has its edges.

    Args:
        calendar: the calendar; results are in ``calendar.tz``.
        start: the first instant (an aware datetime) or day (a date, from its local
            midnight); by default the start of the calendar's range.
        end: the last instant, or day (to its end); by default the end of the range.
        resolution: instants are whole multiples of it after local midnight (for
            zones whose offsets are whole minutes); ``timedelta(microseconds=1)``
            draws any instant.

    >>> import datetime as dt
    >>> from hypothesis.strategies import SearchStrategy
    >>> cal = WorkCalendar.china(business_hours="09:00-18:00")
    >>> isinstance(instants(cal, end=dt.date(2026, 6, 30)), SearchStrategy)
    True
    """
    step = resolution // _US
    if step < 1 or _DAY_MINUTES * 60_000_000 % step:
        raise InvalidArgument(f"resolution={resolution!r}: expected a positive divisor of one day")
    first, last = _day_bounds(calendar, _as_date(start, calendar), _as_date(end, calendar))
    base = _midnight_us(first, calendar)
    lo, hi = base, _midnight_us(last + dt.timedelta(days=1), calendar)  # hi exclusive
    if isinstance(start, dt.datetime):
        lo = max(lo, _us(start))
    if isinstance(end, dt.datetime):
        hi = min(hi, _us(end) + 1)
    k_first, k_last = -((base - lo) // step), (hi - 1 - base) // step
    if k_last < k_first:
        raise InvalidArgument(f"no instant from {start} to {end} at resolution {resolution}")

    def local(us: int) -> dt.datetime:
        return (_EPOCH + dt.timedelta(microseconds=us)).astimezone(calendar.tz)

    anywhere = st.integers(k_first, k_last).map(lambda k: local(base + k * step))
    minutes = {0}
    hours = calendar.business_hours
    if hours is not None:
        for shifts in (hours.default, *hours.weekdays.values()):
            minutes.update(m for s in shifts for m in (s.start, s.end))
    edges = sorted(m for m in minutes if (m * 60_000_000) % step == 0)

    def at_edge(day: dt.date, minute: int) -> int:
        wall = dt.datetime(day.year, day.month, day.day, tzinfo=calendar.tz)
        wall += dt.timedelta(minutes=minute)  # wall-clock arithmetic, 24:00 included
        return _us(wall)

    def inside(us: int) -> int:
        # an edge outside a narrow start..end becomes the first instant, never a reject
        return us if lo <= us < hi else base + k_first * step

    on_edge = st.builds(at_edge, st.dates(first, last), st.sampled_from(edges))
    return st.one_of(anywhere, on_edge.map(inside).map(local))


# --- durations ------------------------------------------------------------------------------


def _seconds(max_time: dt.timedelta) -> SearchStrategy[int]:
    top = int(max_time.total_seconds())
    return st.one_of(
        st.integers(0, top // 3600).map(lambda h: h * 3600),
        st.integers(0, top // 60).map(lambda m: m * 60),
        st.integers(0, top),
    )


def durations(
    kinds: Iterable[type[Duration]] = _ALL_KINDS,
    *,
    max_days: int = 60,
    max_months: int = 12,
    max_time: dt.timedelta = dt.timedelta(hours=100),
) -> SearchStrategy[Duration]:
    """Non-negative durations of the given kinds.

    Args:
        kinds: any of :class:`ClockTime`, :class:`WorkingDays`,
            :class:`WorkingHours`, :class:`CalendarDays`, :class:`CalendarMonths`.
        max_days: the most working or calendar days.
        max_months: the most calendar months.
        max_time: the longest clock or working time (whole seconds).

    >>> from hypothesis.strategies import SearchStrategy
    >>> isinstance(durations([WorkingDays, WorkingHours]), SearchStrategy)
    True
    """
    chosen = list(dict.fromkeys(kinds))
    if not chosen or any(kind not in _ALL_KINDS for kind in chosen):
        raise InvalidArgument(
            f"kinds={kinds!r}: choose from ClockTime, WorkingDays, WorkingHours, "
            "CalendarDays, CalendarMonths"
        )
    if min(max_days, max_months) < 0 or max_time < dt.timedelta(0):
        raise InvalidArgument("max_days, max_months and max_time must not be negative")
    by_kind: dict[type[Duration], SearchStrategy[Duration]] = {
        ClockTime: _seconds(max_time).map(lambda s: ClockTime(dt.timedelta(seconds=s))),
        WorkingHours: _seconds(max_time).map(lambda s: WorkingHours(dt.timedelta(seconds=s))),
        WorkingDays: st.integers(0, max_days).map(WorkingDays),
        CalendarDays: st.integers(0, max_days).map(CalendarDays),
        CalendarMonths: st.integers(0, max_months).map(CalendarMonths),
    }
    return st.one_of([by_kind[kind] for kind in chosen])


@st.composite
def _spaced(draw: st.DrawFn, duration: Duration) -> str:
    match = _TEXT.match(str(duration))
    if match is None:
        raise AssertionError(f"unexpected duration text {duration}")
    pad = st.sampled_from(["", " ", "  "])
    return f"{draw(pad)}{match[1]}{draw(pad)}{match[2]}{draw(pad)}"


def duration_texts(
    kinds: Iterable[type[Duration]] = _ALL_KINDS,
    *,
    max_days: int = 60,
    max_months: int = 12,
    max_time: dt.timedelta = dt.timedelta(hours=100),
) -> SearchStrategy[str]:
    """The text form of :func:`durations` (``"7wd"``, ``" 4 wh"``), as users type it.

    ``Duration.parse`` reads every one of them back to the duration it came from.

    >>> from hypothesis.strategies import SearchStrategy
    >>> isinstance(duration_texts([CalendarMonths]), SearchStrategy)
    True
    """
    return durations(kinds, max_days=max_days, max_months=max_months, max_time=max_time).flatmap(
        _spaced
    )


# --- SLA policies ------------------------------------------------------------------------


_LIMIT_KINDS = (ClockTime, WorkingHours, WorkingDays)


def goals(
    field: str, values: Iterable[object], *, max_size: int = 4
) -> SearchStrategy[tuple[Goal, ...]]:
    """Valid, non-empty goal lists for an SLA whose conditions read ``field`` (one of
    ``values``).

    Names are unique (never ``"default"``), each limit is clock time, working hours or
    working days; a condition is one value or a list of them.

    >>> from hypothesis.strategies import SearchStrategy
    >>> isinstance(goals("severity", ["low", "high"]), SearchStrategy)
    True
    """
    choices = list(values)
    if not choices:
        raise InvalidArgument("values must not be empty")
    condition = st.one_of(
        st.sampled_from(choices), st.lists(st.sampled_from(choices), min_size=1, max_size=3)
    )
    goal = st.tuples(durations(_LIMIT_KINDS, max_days=20), condition)
    return st.lists(goal, min_size=1, max_size=max_size).map(
        lambda drawn: tuple(
            Goal(f"g{i}", d, when={field: tuple(c) if isinstance(c, list) else c})
            for i, (d, c) in enumerate(drawn)
        )
    )


@st.composite
def _level(draw: st.DrawFn, index: int, triggers: tuple[str, ...]) -> Level:
    hours = dt.timedelta(hours=48)
    way = draw(st.sampled_from(["share", "before", "after"]))
    when: dict[str, object] = {}
    if way == "share":
        when["share"] = draw(st.sampled_from([0.25, 0.5, 0.75, 0.9, 1.0, 1.5, 2.0]))
    elif way == "before":
        when["before"] = draw(durations([ClockTime, WorkingHours], max_time=hours))
    else:
        when["after"] = draw(durations(_LIMIT_KINDS, max_days=3, max_time=hours))
    repeat = draw(st.integers(0, 3))
    every = None
    if repeat:
        seconds = draw(st.integers(60, int(hours.total_seconds())))
        kind = draw(st.sampled_from([ClockTime, WorkingHours]))
        every = kind(dt.timedelta(seconds=seconds))
    return Level(
        f"l{index}",
        notify=draw(st.lists(st.sampled_from(["handler", "lead", "director"]), max_size=2)),
        trigger=draw(st.sampled_from((None, *triggers))),
        every=every,
        repeat=repeat,
        **when,  # type: ignore[arg-type]
    )


@st.composite
def ladders(
    draw: st.DrawFn, *, max_size: int = 4, triggers: Iterable[str] = ()
) -> tuple[Level, ...]:
    """Valid escalation ladders: levels at a share of the limit or before or after the
    due instant, some repeating, some firing one of ``triggers``.

    >>> from hypothesis.strategies import SearchStrategy
    >>> isinstance(ladders(), SearchStrategy)
    True
    """
    names = tuple(triggers)
    size = draw(st.integers(0, max_size))
    return tuple(draw(_level(i, names)) for i in range(size))
