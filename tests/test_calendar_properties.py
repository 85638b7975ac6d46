"""Properties of the calendar arithmetic, against a naive day-by-day and
minute-by-minute reference, drawn with the strategies the package ships."""

from __future__ import annotations

import bisect
import datetime as dt

import holidays
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from techsvc_flow import Duration, WorkCalendar
from techsvc_flow.durations import (
    CalendarDays,
    CalendarMonths,
    ClockTime,
    WorkingDays,
    WorkingHours,
)
from techsvc_flow.testing import strategies as tst

# Each example builds (and compiles) a fresh calendar: keep the counts modest.
PROPERTY = settings(max_examples=40, deadline=None)
MINUTE = dt.timedelta(minutes=1)
# starts are drawn well inside China's official range 2001..2026, so that results
# (up to 200 working days, or 50 working hours in sparse business hours) stay inside it
START, UNTIL = dt.date(2002, 1, 1), dt.date(2024, 6, 30)


def utc(instant: dt.datetime) -> dt.datetime:
    """Compare instants in UTC: Python compares same-zone datetimes by wall time."""
    return instant.astimezone(dt.UTC)


# --- the reference: one day, one minute at a time ----------------------------------------


def ref_add_days(cal: WorkCalendar, day: dt.date, n: int) -> dt.date:
    """The n-th working day after ``day``, walking one day at a time."""
    while n == 0 and not cal.is_working_day(day):
        day += dt.timedelta(days=1)
    step = dt.timedelta(days=1 if n > 0 else -1)
    for _ in range(abs(n)):
        day += step
        while not cal.is_working_day(day):
            day += step
    return day


def ref_days_between(cal: WorkCalendar, a: dt.date, b: dt.date) -> int:
    lo, hi = sorted((a, b))
    count = sum(cal.is_working_day(lo + dt.timedelta(days=i + 1)) for i in range((hi - lo).days))
    return count if a <= b else -count


def _minute(instant: dt.datetime) -> int:
    """Whole minutes since the epoch (instants are drawn on whole minutes)."""
    return int(instant.timestamp()) // 60


def _instant(minute: int, cal: WorkCalendar) -> dt.datetime:
    return dt.datetime.fromtimestamp(minute * 60, dt.UTC).astimezone(cal.tz)


def working_minutes(cal: WorkCalendar, first: dt.date, last: dt.date) -> list[int]:
    """Every working minute of the local days first..last, sorted.

    A working day works its shifts (the default ones on a weekend day made a working
    day), or the whole day when the calendar has no business hours. A shift runs from
    its start's instant to its end's instant, each read as a wall time of that day.
    """
    minutes: set[int] = set()
    day = first
    while day <= last:
        if cal.is_working_day(day):
            midnight = dt.datetime(day.year, day.month, day.day, tzinfo=cal.tz)
            if cal.business_hours is None:
                spans = [(0, 24 * 60)]
            else:
                makeup = cal.weekmask[day.weekday()] == "0"
                shifts = cal.business_hours.shifts_on(day, makeup=makeup)
                spans = [(s.start, s.end) for s in shifts]
            for start, end in spans:
                begin = _minute(midnight + dt.timedelta(minutes=start))
                minutes.update(range(begin, _minute(midnight + dt.timedelta(minutes=end))))
        day += dt.timedelta(days=1)
    return sorted(minutes)


def ref_add_time(cal: WorkCalendar, start: dt.datetime, amount: int) -> dt.datetime:
    """``amount`` working minutes from ``start``, counting minute by minute.

    Forwards, the result is the end of the last minute counted (so a period may end
    on a shift's end); with ``amount = 0``, the first working minute from ``start``.
    Backwards, the result is the start of the last minute counted.
    """
    t = _minute(start)
    local = start.astimezone(cal.tz).date()
    reach = 14
    while True:
        first = local - dt.timedelta(days=reach if amount < 0 else 2)
        last = local + dt.timedelta(days=reach if amount >= 0 else 2)
        work = working_minutes(cal, first, last)
        i = bisect.bisect_left(work, t)  # the first working minute from start on
        if amount == 0 and i < len(work):
            return _instant(work[i], cal)
        if amount > 0 and i + amount - 1 < len(work):
            return _instant(work[i + amount - 1] + 1, cal)
        if amount < 0 and i + amount >= 0:
            return _instant(work[i + amount], cal)
        reach *= 2


def ref_time_between(cal: WorkCalendar, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
    lo, hi = sorted((a, b))
    work = working_minutes(
        cal,
        lo.astimezone(cal.tz).date() - dt.timedelta(days=1),
        hi.astimezone(cal.tz).date() + dt.timedelta(days=1),
    )
    count = bisect.bisect_left(work, _minute(hi)) - bisect.bisect_left(work, _minute(lo))
    return MINUTE * (count if a <= b else -count)


def working_runs(cal: WorkCalendar, first: dt.date, last: dt.date) -> list[tuple[dt.datetime, ...]]:
    """The working minutes of the days first..last joined into runs [start, end), in UTC."""
    runs: list[list[int]] = []
    for minute in working_minutes(cal, first, last):
        if runs and runs[-1][1] == minute:
            runs[-1][1] = minute + 1
        else:
            runs.append([minute, minute + 1])
    return [tuple(dt.datetime.fromtimestamp(m * 60, dt.UTC) for m in run) for run in runs]


def ref_time_between_exact(cal: WorkCalendar, a: dt.datetime, b: dt.datetime) -> dt.timedelta:
    """Working time from ``a`` to ``b`` for any instants: the overlap with each run."""
    lo, hi = sorted((utc(a), utc(b)))
    runs = working_runs(
        cal,
        lo.astimezone(cal.tz).date() - dt.timedelta(days=1),
        hi.astimezone(cal.tz).date() + dt.timedelta(days=1),
    )
    total = sum(
        (max(min(end, hi) - max(start, lo), dt.timedelta(0)) for start, end in runs),
        dt.timedelta(0),
    )
    return total if utc(a) <= utc(b) else -total


def ref_add_time_exact(cal: WorkCalendar, start: dt.datetime, delta: dt.timedelta) -> dt.datetime:
    """``delta`` of working time from any instant, run by run."""
    t, local, reach = utc(start), start.astimezone(cal.tz).date(), 14
    while True:
        runs = working_runs(
            cal,
            local - dt.timedelta(days=reach if delta < dt.timedelta(0) else 2),
            local + dt.timedelta(days=reach if delta >= dt.timedelta(0) else 2),
        )
        remaining = abs(delta)
        if delta >= dt.timedelta(0):
            for begin, end in runs:
                if end <= t:
                    continue
                begin = max(begin, t)
                if not delta:
                    return begin
                if remaining <= end - begin:
                    return begin + remaining
                remaining -= end - begin
        else:
            for begin, end in reversed(runs):
                if begin >= t:
                    continue
                end = min(end, t)
                if remaining <= end - begin:
                    return end - remaining
                remaining -= end - begin
        reach *= 2


# --- working days -------------------------------------------------------------------------


@PROPERTY
@given(data=st.data(), cal=tst.calendars(), n=st.integers(0, 80))
def test_add_working_days_matches_the_day_walk(
    data: st.DataObject, cal: WorkCalendar, n: int
) -> None:
    day = data.draw(tst.dates(cal, start=START, end=UNTIL))
    sign = data.draw(st.sampled_from([1, -1]))
    result = cal.add_working_days(day, sign * n)
    assert result == ref_add_days(cal, day, sign * n)
    assert cal.is_working_day(result)


@PROPERTY
@given(data=st.data(), cal=tst.calendars(), n=st.integers(1, 200))
def test_between_inverts_add(data: st.DataObject, cal: WorkCalendar, n: int) -> None:
    day = data.draw(tst.dates(cal, start=START, end=UNTIL))
    later = cal.add_working_days(day, n)
    assert cal.working_days_between(day, later) == n
    assert cal.working_days_between(later, day) == -n
    # counting back is counting from the working day ``day`` rolls forward to
    earlier = cal.add_working_days(day, -n)
    assert cal.working_days_between(earlier, cal.add_working_days(day, 0)) == n


@PROPERTY
@given(data=st.data(), cal=tst.calendars())
def test_between_matches_the_day_walk(data: st.DataObject, cal: WorkCalendar) -> None:
    a = data.draw(tst.dates(cal, start=START, end=UNTIL))
    b = data.draw(tst.dates(cal, start=a - dt.timedelta(days=90), end=a + dt.timedelta(days=90)))
    assert cal.working_days_between(a, b) == ref_days_between(cal, a, b)


@PROPERTY
@given(data=st.data(), cal=tst.calendars(), a=st.integers(1, 60), b=st.integers(1, 60))
def test_adding_twice_is_adding_the_sum(
    data: st.DataObject, cal: WorkCalendar, a: int, b: int
) -> None:
    day = data.draw(tst.dates(cal, start=START, end=UNTIL))
    assert cal.add_working_days(cal.add_working_days(day, a), b) == cal.add_working_days(day, a + b)
    assert cal.add_working_days(cal.add_working_days(day, -a), -b) == cal.add_working_days(
        day, -a - b
    )


@PROPERTY
@given(data=st.data(), cal=tst.calendars(), n=st.integers(-60, 60), gap=st.integers(0, 30))
def test_add_working_days_is_monotonic_in_the_start(
    data: st.DataObject, cal: WorkCalendar, n: int, gap: int
) -> None:
    day = data.draw(tst.dates(cal, start=START, end=UNTIL))
    later = day + dt.timedelta(days=gap)
    assert cal.add_working_days(day, n) <= cal.add_working_days(later, n)


# --- working time -------------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    cal=tst.calendars(),
    amount=st.integers(-600, 600),
)
def test_add_working_time_matches_the_minute_walk(
    data: st.DataObject, cal: WorkCalendar, amount: int
) -> None:
    start = data.draw(tst.instants(cal, start=START, end=UNTIL))
    result = cal.add_working_time(start, amount * MINUTE)
    assert utc(result) == utc(ref_add_time(cal, start, amount))
    assert result.tzinfo is cal.tz


@PROPERTY
@given(data=st.data(), cal=tst.calendars(), amount=st.integers(1, 3000))
def test_add_working_time_lands_in_working_time_or_on_a_shift_end(
    data: st.DataObject, cal: WorkCalendar, amount: int
) -> None:
    start = data.draw(tst.instants(cal, start=START, end=UNTIL, resolution=dt.timedelta(seconds=1)))
    result = cal.add_working_time(start, amount * MINUTE)
    inside = cal.next_working_instant(result) == result
    tick = dt.timedelta(microseconds=1)
    on_an_end = cal.working_time_between(result - tick, result) == tick and not inside
    assert inside or on_an_end
    assert utc(result) > utc(start)


@PROPERTY
@given(data=st.data(), cal=tst.calendars(), amount=st.integers(1, 3000))
def test_working_time_between_inverts_add_working_time(
    data: st.DataObject, cal: WorkCalendar, amount: int
) -> None:
    start = data.draw(tst.instants(cal, start=START, end=UNTIL))
    delta = amount * MINUTE
    later = cal.add_working_time(start, delta)
    assert cal.working_time_between(start, later) == delta
    assert cal.working_time_between(later, start) == -delta
    earlier = cal.add_working_time(start, -delta)
    assert cal.working_time_between(earlier, start) == delta


@PROPERTY
@given(data=st.data(), cal=tst.calendars())
def test_working_time_between_matches_the_minute_walk(
    data: st.DataObject, cal: WorkCalendar
) -> None:
    a = data.draw(tst.instants(cal, start=START, end=UNTIL))
    b = data.draw(tst.instants(cal, start=a - dt.timedelta(days=10), end=a + dt.timedelta(days=10)))
    between = cal.working_time_between(a, b)
    assert between == ref_time_between(cal, a, b)
    if between > dt.timedelta(0):
        back = cal.add_working_time(a, between)
        assert utc(back) <= utc(b)
        assert cal.working_time_between(back, b) == dt.timedelta(0)


@PROPERTY
@given(data=st.data(), cal=tst.calendars())
def test_next_working_instant_matches_the_minute_walk(
    data: st.DataObject, cal: WorkCalendar
) -> None:
    start = data.draw(tst.instants(cal, start=START, end=UNTIL))
    result = cal.next_working_instant(start)
    assert utc(result) == utc(ref_add_time(cal, start, 0))
    assert utc(result) == utc(cal.add_working_time(start, dt.timedelta(0)))


_NEAR = st.integers(-120_000_000, 120_000_000).map(lambda us: dt.timedelta(microseconds=us))


@settings(max_examples=60, deadline=None)
@given(data=st.data(), cal=tst.calendars(), delta_us=st.integers(-(10**11), 10**11))
def test_working_time_at_any_instant_matches_the_reference(
    data: st.DataObject, cal: WorkCalendar, delta_us: int
) -> None:
    # instants near shift edges, to the microsecond
    a = utc(data.draw(tst.instants(cal, start=START, end=UNTIL))) + data.draw(_NEAR)
    b = utc(
        data.draw(
            tst.instants(
                cal, start=a.date() - dt.timedelta(days=4), end=a.date() + dt.timedelta(days=4)
            )
        )
    )
    b += data.draw(_NEAR)
    assert cal.working_time_between(a, b) == ref_time_between_exact(cal, a, b)
    delta = dt.timedelta(microseconds=delta_us)
    result = cal.add_working_time(a, delta)
    assert utc(result) == ref_add_time_exact(cal, a, delta)
    assert utc(cal.next_working_instant(a)) == ref_add_time_exact(cal, a, dt.timedelta(0))


# --- deadlines ----------------------------------------------------------------------------


@settings(max_examples=80, deadline=None)
@given(
    data=st.data(),
    cal=tst.calendars(),
    duration=tst.durations(max_days=60, max_months=12, max_time=dt.timedelta(hours=20)),
)
def test_deadline_of_every_kind(data: st.DataObject, cal: WorkCalendar, duration: Duration) -> None:
    start = data.draw(tst.instants(cal, start=START, end=UNTIL))
    deadline = cal.deadline(start, duration)
    day = start.astimezone(cal.tz).date()
    assert utc(deadline.start) == utc(start)
    assert deadline.start.tzinfo is cal.tz and deadline.due.tzinfo is cal.tz
    assert not deadline.provisional
    if isinstance(duration, ClockTime):
        assert utc(deadline.due) - utc(start) == duration.delta
        return
    if isinstance(duration, WorkingHours):
        assert utc(deadline.due) == utc(cal.add_working_time(start, duration.delta))
        return
    if isinstance(duration, WorkingDays):
        assert deadline.last_day == ref_add_days(cal, day, duration.days)
    else:
        if isinstance(duration, CalendarDays):
            plain = day + dt.timedelta(days=duration.days)
        else:
            assert isinstance(duration, CalendarMonths)
            month = day.month - 1 + duration.months
            year, month = day.year + month // 12, month % 12 + 1
            for last_of_month in (31, 30, 29, 28):  # the month's end when there is no such day
                try:
                    plain = dt.date(year, month, min(day.day, last_of_month))
                    break
                except ValueError:
                    continue
        # Civil Code art. 203: a last day that is not a working day moves to the next
        assert deadline.last_day == ref_add_days(cal, plain, 0)
    assert cal.is_working_day(deadline.last_day)
    assert utc(deadline.due) == utc(cal.end_of_day(deadline.last_day))


@settings(max_examples=100, deadline=None)
@given(duration=tst.durations(), text=tst.duration_texts())
def test_duration_text_round_trips(duration: Duration, text: str) -> None:
    assert Duration.parse(str(duration)) == duration
    assert str(Duration.parse(text)) == text.replace(" ", "")


# --- the data -----------------------------------------------------------------------------


def test_china_agrees_with_the_holidays_package_on_every_published_day() -> None:
    cal = WorkCalendar.china()
    source = holidays.China(years=range(2001, 2027))
    day, last = dt.date(2001, 1, 1), dt.date(2026, 12, 31)
    disagree = []
    while day <= last:
        if cal.is_working_day(day) != source.is_working_day(day):
            disagree.append(day)
        day += dt.timedelta(days=1)
    assert disagree == []
    assert (cal.authoritative_from, cal.authoritative_until) == (dt.date(2001, 1, 1), last)


@pytest.mark.parametrize("year", [2002, 2008, 2020, 2026])
def test_the_reference_counts_whole_years(year: int) -> None:
    # the reference itself, on a year whose count is known from the holidays package
    cal = WorkCalendar.china()
    source = holidays.China(years=year)
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    expected = sum(
        source.is_working_day(first + dt.timedelta(days=i)) for i in range((last - first).days + 1)
    )
    before = first - dt.timedelta(days=1)
    assert ref_days_between(cal, before, last) == expected == cal.working_days_between(before, last)
