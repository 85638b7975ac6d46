"""The working calendar users call: :class:`WorkCalendar`, a facade.

A calendar holds its data (the base rule and the loaded schedules, read by
:mod:`~techsvc_flow.calendar._schedules`), a time zone, business hours and the horizon
policy (past the official data: raise, or compute and mark provisional). The
arithmetic is handed to a day index (:mod:`~techsvc_flow.calendar._index`): days in
constant time per call from a cumulative count, working time by binary search over
working intervals, both compiled lazily and extended when a date outside them is asked
for.

>>> import datetime as dt
>>> cal = WorkCalendar.china()
>>> cal.add_working_days(dt.date(2025, 9, 30), 7)   # National Day, then Sat 10-11 worked
datetime.date(2025, 10, 16)
>>> cal.working_days_between(dt.date(2025, 9, 30), dt.date(2025, 10, 16))
7
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from .._time import EPOCH, US, from_us, to_us, zone
from ..durations import (
    CalendarDays,
    CalendarMonths,
    ClockTime,
    Deadline,
    Duration,
    WorkingDays,
    WorkingHours,
)
from ..errors import (
    CalendarCoverageError,
    CalendarError,
    FlowError,
    NaiveDatetimeError,
    ProvisionalWarning,
)
from . import _schedules
from ._index import _DayIndex
from ._schedules import MAX_YEAR, MIN_YEAR, _YearSchedule
from .hours import _DAY_MINUTES, BusinessHours, Shift, ShiftsLike, _day_shifts, _wall
from .notices import parse_notice
from .overlays import Overlay

__all__ = ["Coverage", "WorkCalendar"]

#: past the horizon: raise CalendarCoverageError, or compute and mark provisional
Coverage = Literal["raise", "provisional"]

_MIDNIGHT = dt.time(0)
_ONE_DAY = dt.timedelta(days=1)


class WorkCalendar:
    """Which days are working days, business hours, a time zone, and the arithmetic.

    Build one with :meth:`china`, :meth:`country` or :meth:`weekly`; a calendar is
    immutable (``with_...`` methods return a new one) and safe to share between threads.

    Args:
        is_working: the base rule, date → working day?
        tz: the calendar's time zone; wall-clock results are given in it.
        business_hours: the hours of work; ``None`` counts whole working days.
        authoritative: the first and last day covered by an official schedule, or
            ``None`` when the rule is authoritative for every date.
        coverage: past the horizon, ``"raise"`` :class:`CalendarCoverageError` (the
            default) or compute the rule-based estimate and mark it provisional.
        schedules: per-year schedules that replace the base rule for their year.
        weekmask: which weekdays are working days in a schedule loaded by
            :meth:`with_schedule` (Monday first).
        name: a label for ``repr``.
        overlays: organisation overlays stacked on the schedule, later ones winning
            (see :meth:`with_overlay`).
    """

    def __init__(
        self,
        is_working: Callable[[dt.date], bool],
        *,
        tz: str | dt.tzinfo = "UTC",
        business_hours: BusinessHours | str | None = None,
        authoritative: tuple[dt.date, dt.date] | None = None,
        coverage: Coverage = "raise",
        schedules: Mapping[int, _YearSchedule] | None = None,
        weekmask: str = "1111100",
        name: str = "custom",
        overlays: Iterable[Overlay] = (),
    ) -> None:
        if coverage not in ("raise", "provisional"):
            raise CalendarError(f"coverage must be 'raise' or 'provisional', not {coverage!r}")
        _schedules._check_weekmask(weekmask)
        self._is_working = is_working
        self.tz = zone(tz)
        if isinstance(business_hours, str):
            business_hours = BusinessHours(business_hours)
        self.business_hours = business_hours
        self.coverage: Coverage = coverage
        self.weekmask = weekmask
        self.name = name
        self._schedules = dict(schedules or {})
        self._base_authoritative = authoritative
        self.overlays: tuple[Overlay, ...] = tuple(overlays)
        overrides: dict[dt.date, bool] = {}
        special: dict[dt.date, tuple[Shift, ...]] = {}
        for overlay in self.overlays:
            if not isinstance(overlay, Overlay):
                raise CalendarError(f"overlays: expected Overlay, not {type(overlay).__name__}")
            overrides.update(overlay.days())
            special.update(overlay.hours)
        self._special = special
        self._digests: dict[tuple[int, int], str] = {}  # immutable: computed once per span
        working = _schedules._with_schedules(is_working, self._schedules, weekmask, overrides)
        self._days = _DayIndex(working, self.tz, business_hours, weekmask, name, special)
        self._auth = _schedules._horizon(authoritative, self._schedules)
        self._auth_us: tuple[int, int] | None = None
        if self._auth is not None:
            first, last = (dt.date.fromordinal(o) for o in self._auth)
            after = last + dt.timedelta(days=1)
            self._auth_us = (
                to_us(dt.datetime(first.year, first.month, first.day, tzinfo=self.tz)),
                to_us(dt.datetime(after.year, after.month, after.day, tzinfo=self.tz)),
            )

    # --- construction ---------------------------------------------------------------

    @classmethod
    def china(
        cls,
        *,
        business_hours: BusinessHours | str | None = None,
        coverage: Coverage = "raise",
        tz: str | dt.tzinfo = "Asia/Shanghai",
        authoritative_until: dt.date | None = None,
    ) -> WorkCalendar:
        """Mainland China: statutory holidays and 调休 make-up working days.

        The data comes from the ``holidays`` package; its official schedules (the
        State Council's notices) set :attr:`authoritative_until`. Pass an earlier
        ``authoritative_until`` to treat later data as an estimate (for instance to pin
        the horizon your organisation has checked, whatever the installed package has).
        """
        rule, authoritative = _schedules._china(authoritative_until)
        return cls(
            rule,
            tz=tz,
            business_hours=business_hours,
            authoritative=authoritative,
            coverage=coverage,
            name="China",
        )

    @classmethod
    def country(
        cls,
        country: str,
        subdiv: str | None = None,
        *,
        tz: str | dt.tzinfo,
        business_hours: BusinessHours | str | None = None,
        authoritative_until: dt.date | None = None,
        coverage: Coverage = "raise",
    ) -> WorkCalendar:
        """Any country (and subdivision) the ``holidays`` package knows.

        Without ``authoritative_until`` the package's rules are taken as authoritative
        for every year.
        """
        rule, authoritative = _schedules._country(country, subdiv, authoritative_until)
        return cls(
            rule,
            tz=tz,
            business_hours=business_hours,
            authoritative=authoritative,
            coverage=coverage,
            name=country + (f"-{subdiv}" if subdiv else ""),
        )

    @classmethod
    def weekly(
        cls,
        weekmask: str = "1111100",
        *,
        tz: str | dt.tzinfo = "UTC",
        holidays: Iterable[dt.date] = (),
        business_hours: BusinessHours | str | None = None,
    ) -> WorkCalendar:
        """A custom weekly pattern (Monday first, ``"1111100"`` = Monday–Friday).

        >>> import datetime as dt
        >>> six_days = WorkCalendar.weekly("1111110")
        >>> six_days.add_working_days(dt.date(2025, 1, 3), 1)   # Fri → Sat
        datetime.date(2025, 1, 4)
        """
        rule = _schedules._weekly(weekmask, holidays)
        return cls(rule, tz=tz, business_hours=business_hours, weekmask=weekmask, name="weekly")

    def _evolve(self, **changes: Any) -> WorkCalendar:
        args: dict[str, Any] = {
            "tz": self.tz,
            "business_hours": self.business_hours,
            "authoritative": self._base_authoritative,
            "coverage": self.coverage,
            "schedules": self._schedules,
            "weekmask": self.weekmask,
            "name": self.name,
            "overlays": self.overlays,
        }
        args.update(changes)
        return WorkCalendar(self._is_working, **args)

    def with_business_hours(self, business_hours: BusinessHours | str | None) -> WorkCalendar:
        """The same calendar with other business hours."""
        return self._evolve(business_hours=business_hours)

    def with_coverage(self, coverage: Coverage) -> WorkCalendar:
        """The same calendar with another policy for dates past the horizon."""
        return self._evolve(coverage=coverage)

    def with_schedule(
        self,
        year: int,
        *,
        holidays: Iterable[dt.date | str],
        workdays: Iterable[dt.date | str] = (),
    ) -> WorkCalendar:
        """The same calendar with a published schedule for ``year``.

        ``holidays`` lists every day off of the year that is not a weekend day
        (including 调休 rest days); ``workdays`` lists the weekend days made working
        days. The schedule replaces the built-in data for that year; when it follows
        on from the horizon, :attr:`authoritative_until` moves to its 31 December.
        """
        schedule = _schedules._year_schedule(year, holidays, workdays)
        schedules = {**self._schedules, year: schedule}
        return self._evolve(schedules=schedules)

    def with_schedule_file(self, path: str | Path) -> WorkCalendar:
        """The same calendar with the schedules of a JSON or TOML file.

        The file maps each year to its ``holidays`` and ``workdays``; a date may be
        a range ``"2027-02-06..2027-02-13"``. See ``docs/working-time.md``.
        """
        path = Path(path)
        data = _schedules._read_schedule_file(path)
        return self.with_schedules(data, source=str(path))

    def with_schedules(self, data: Mapping[str, Any], *, source: str = "schedule") -> WorkCalendar:
        """The same calendar with schedules given as ``{year: {holidays, workdays}}``."""
        schedules = _schedules._schedules_of(data, source)
        return self._evolve(schedules={**self._schedules, **schedules})

    def with_overlay(
        self,
        overlay: Overlay | Mapping[str, Any] | None = None,
        /,
        *,
        name: str | None = None,
        closed: Iterable[dt.date | str] = (),
        open: Iterable[dt.date | str] = (),
        hours: Mapping[dt.date, ShiftsLike] | Mapping[str, ShiftsLike] | None = None,
    ) -> WorkCalendar:
        """The same calendar with an organisation overlay stacked on its schedule.

        Pass an :class:`Overlay`, its data (``{"name", "closed", "open", "hours"}``),
        or the same as keywords. *closed* days are not working days, *open* days are,
        and a date in *hours* works those shifts instead of the usual ones when it is a
        working day. The official schedule underneath is kept: a later notice still
        applies to every day the overlay does not set. Overlays stack; on a date two of
        them set, the one added last wins. Arithmetic stays O(1) / O(log n) per call.

        >>> import datetime as dt
        >>> cal = WorkCalendar.china(business_hours="09:00-18:00")
        >>> team = cal.with_overlay(name="team", closed=["2025-12-24"],
        ...                         hours={"2025-01-27": "09:00-12:00"})
        >>> team.is_working_day(dt.date(2025, 12, 24)), cal.is_working_day(dt.date(2025, 12, 24))
        (False, True)
        >>> team.end_of_day(dt.date(2025, 1, 27)).time()    # 除夕 2025: a half day
        datetime.time(12, 0)

        Raises:
            ScheduleError: a malformed overlay, naming the key (``overlay 'team': closed[0]``).
        """
        if overlay is None:
            data: dict[str, Any] = {"name": name, "closed": list(closed), "open": list(open)}
            data["hours"] = dict(hours or {})
            overlay = Overlay.parse(data)
        elif name is not None or closed or open or hours:
            raise CalendarError("with_overlay: pass an overlay or keywords, not both")
        elif not isinstance(overlay, Overlay):
            overlay = Overlay.parse(overlay)
        return self._evolve(overlays=(*self.overlays, overlay))

    def with_notice(self, text: str, *, year: int | None = None) -> WorkCalendar:
        """The same calendar with the schedule of a State Council holiday notice.

        ``text`` is the notice (国务院办公厅关于某年部分节假日安排的通知) as published;
        see :func:`~techsvc_flow.calendar.notices.parse_notice` for what is read and
        checked. A notice for a year replaces that year's schedule, like
        :meth:`with_schedule`, and sets the days it names in the year before (the
        previous December's days of a New Year holiday). A notice that adjusts an
        earlier one (国务院办公厅关于调整2019年劳动节假期安排的通知) updates just the
        days of the festival it names: those the earlier notice gave that festival are
        reset, then the new ones are set; every other day is kept.

        Raises:
            ScheduleError: the notice is malformed or contradicts itself (naming the item).
        """
        notice = parse_notice(text, year=year)
        y = notice.year
        off: dict[dt.date, str] = {}
        on: dict[dt.date, str] = {}
        for item in notice.items:
            off.update(dict.fromkeys(item.off, item.name))
            on.update(dict.fromkeys(item.on, item.name))
        if not notice.amends:
            schedule = _schedules._year_schedule(y, off, on, {**off, **on})
            return self._evolve(schedules={**self._schedules, y: schedule})
        before = self._schedules.get(y) or self._materialised(y)
        names = {n for item in notice.items for n in item.name.split("、") if n}
        stale = {d for d, n in before.festivals.items() if names & set(n.split("、"))}
        holidays = (set(before.holidays) - stale - set(on)) | set(off)
        workdays = (set(before.workdays) - stale - set(off)) | set(on)
        festivals = {d: n for d, n in before.festivals.items() if d not in stale}
        festivals.update({**off, **on})
        schedule = _schedules._year_schedule(y, holidays, workdays, festivals)
        return self._evolve(schedules={**self._schedules, y: schedule})

    def _materialised(self, year: int) -> _YearSchedule:
        """``year`` as it is now, written out as a schedule (before amending it)."""
        first = dt.date(year, 1, 1).toordinal()
        index = self._days.compiled(first, dt.date(year, 12, 31).toordinal())
        holidays, workdays = set(), set()
        for ordinal in range(first, dt.date(year, 12, 31).toordinal() + 1):
            day = dt.date.fromordinal(ordinal)
            working = index.flags[ordinal - index.lo] == 1
            usual = self.weekmask[day.weekday()] == "1"
            if usual and not working:
                holidays.add(day)
            elif working and not usual:
                workdays.add(day)
        return _YearSchedule(frozenset(holidays), frozenset(workdays), {})

    def with_holiday_cn(self, source: str | Path | Mapping[str, Any]) -> WorkCalendar:
        """The same calendar with a year of the holiday-cn project's data.

        ``source`` is a file path or the parsed JSON
        (``{"year", "papers", "days": [{"name", "date", "isOffDay"}]}``), the format
        of https://github.com/NateScarlet/holiday-cn. It replaces that year's schedule
        like :meth:`with_notice`; days of the previous December are kept too.

        Raises:
            ScheduleError: the data is malformed (naming the key), or its ``days`` list is
                empty: holiday-cn publishes an empty list for a year whose notice is not
                out yet, which is not a year without holidays, so nothing is loaded.
        """
        where = "holiday-cn"
        if isinstance(source, str | Path):
            where = str(source)
            data = _schedules._read_schedule_file(Path(source))
        else:
            data = source
        year, schedule = _schedules._holiday_cn(data, where)
        return self._evolve(schedules={**self._schedules, year: schedule})

    def digest(self, first_year: int = 2000, last_year: int = 2060) -> str:
        """A SHA-256 hex digest of everything that decides this calendar's answers from
        ``first_year`` to ``last_year``: the zone, business hours, horizon, coverage policy
        and each day's working-day flag. Two calendars with the same digest give the same
        deadlines over those years; a newly loaded schedule changes it.

        >>> china = WorkCalendar.china()
        >>> china.digest() == WorkCalendar.china().digest()
        True
        >>> china.digest() == china.with_schedule(2026, holidays=["2026-03-02"]).digest()
        False
        """
        known = self._digests.get((first_year, last_year))
        if known is not None:
            return known
        if not MIN_YEAR <= first_year <= last_year <= MAX_YEAR:
            raise CalendarError(
                f"digest years {first_year}..{last_year}: expected {MIN_YEAR}..{MAX_YEAR}, "
                "first not after last"
            )
        lo, hi = dt.date(first_year, 1, 1).toordinal(), dt.date(last_year, 12, 31).toordinal()
        index = self._days.compiled(lo, hi)
        flags = index.flags[lo - index.lo : hi - index.lo + 1]
        special = sorted(  # an overlay's special hours (left out when none: digests kept)
            (d.isoformat(), ",".join(map(str, s)))
            for d, s in self._special.items()
            if first_year <= d.year <= last_year
        )
        head = json.dumps(
            [
                str(self.tz),
                repr(self.business_hours),
                self.coverage,
                self._auth,
                first_year,
                last_year,
            ]
            + ([special] if special else [])
        )
        digest = hashlib.sha256(head.encode() + b"\0" + flags).hexdigest()
        self._digests[(first_year, last_year)] = digest
        return digest

    def digest_between(self, a: dt.datetime, b: dt.datetime, /) -> str:
        """:meth:`digest` over the local years from ``a`` to ``b`` (clamped to the years
        the calendar counts): what decided a deadline from ``a`` due at ``b``. A case
        records it with each deadline it computes (the ``calendar`` key of its
        ``sla.*`` entries).

        >>> import datetime as dt
        >>> china, utc = WorkCalendar.china(), dt.timezone.utc
        >>> a, b = dt.datetime(2025, 9, 30, tzinfo=utc), dt.datetime(2025, 10, 17, tzinfo=utc)
        >>> china.digest_between(a, b) == china.digest(2025, 2025)
        True
        """
        years = sorted(min(max(self._instant_year(t), MIN_YEAR), MAX_YEAR) for t in (a, b))
        return self.digest(years[0], years[1])

    def _instant_year(self, instant: dt.datetime) -> int:
        try:
            return instant.astimezone(self.tz).year
        except OverflowError:
            return MAX_YEAR if instant.year > 2000 else MIN_YEAR

    # --- the horizon ----------------------------------------------------------------

    @property
    def authoritative_until(self) -> dt.date | None:
        """The last day covered by an officially published schedule (None: no limit)."""
        return None if self._auth is None else dt.date.fromordinal(self._auth[1])

    @property
    def authoritative_from(self) -> dt.date | None:
        """The first day covered by an officially published schedule (None: no limit)."""
        return None if self._auth is None else dt.date.fromordinal(self._auth[0])

    def _covered(self, lo: int, hi: int, *, warn: bool = True) -> bool:
        """Check ordinals lo..hi against the horizon; False means provisional."""
        auth = self._auth
        if auth is None or (auth[0] <= lo and hi <= auth[1]):
            return True
        year = dt.date.fromordinal(hi if hi > auth[1] else lo).year
        if self.coverage == "raise":
            raise CalendarCoverageError(year, self.authoritative_until)
        if warn:
            warnings.warn(
                f"{self.name} calendar: {year} has no official schedule; "
                "the result is a rule-based estimate (provisional)",
                ProvisionalWarning,
                stacklevel=3,
            )
        return False

    # --- days -----------------------------------------------------------------------

    def _day(self, value: dt.date | dt.datetime, what: str = "date") -> dt.date:
        if isinstance(value, dt.datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise NaiveDatetimeError(value, what)
            return value.astimezone(self.tz).date()
        if not isinstance(value, dt.date):
            raise CalendarError(f"{what} must be a date, not {type(value).__name__}")
        return value

    def is_working_day(self, day: dt.date | dt.datetime, /) -> bool:
        """Whether ``day`` (a date, or an aware instant's local date) is a working day.

        >>> import datetime as dt
        >>> cal = WorkCalendar.china()
        >>> cal.is_working_day(dt.date(2025, 10, 11))   # a Saturday made a working day
        True
        >>> cal.is_working_day(dt.date(2025, 10, 8))    # a Wednesday off (National Day)
        False
        """
        ordinal = self._day(day).toordinal()
        index = self._days.compiled(ordinal, ordinal)
        self._covered(ordinal, ordinal)
        return index.flags[ordinal - index.lo] == 1

    def add_working_days(self, day: dt.date | dt.datetime, n: int, /) -> dt.date:
        """The ``n``-th working day after ``day`` (the start day is not counted).

        ``n = 0`` rolls forward to a working day (``day`` itself if it is one);
        a negative ``n`` counts back.

        >>> import datetime as dt
        >>> cal = WorkCalendar.china()
        >>> cal.add_working_days(dt.date(2025, 10, 1), 0)
        datetime.date(2025, 10, 9)
        >>> cal.add_working_days(dt.date(2025, 10, 9), -1)
        datetime.date(2025, 9, 30)
        """
        if type(n) is not int and (not isinstance(n, int) or isinstance(n, bool)):
            raise CalendarError(f"n must be an int, not {type(n).__name__}")
        ordinal = (day if type(day) is dt.date else self._day(day)).toordinal()
        index, auth = self._days.index, self._auth
        if index is not None and n > 0:
            # the common case, without a call: a compiled index, inside the horizon
            i = ordinal - index.lo
            if 0 <= i < index.days:
                k = index.cum[i + 1] + n - 1
                if k < index.workdays and (
                    auth is None or (auth[0] <= ordinal and index.work[k] <= auth[1])
                ):
                    return index.dates[k]
        result = self._days.add_days(ordinal, n)
        self._covered(min(ordinal, result), max(ordinal, result))
        return dt.date.fromordinal(result)

    def working_days_between(self, a: dt.date | dt.datetime, b: dt.date | dt.datetime, /) -> int:
        """Working days in the half-open interval (a, b]; negative when b < a.

        >>> import datetime as dt
        >>> cal = WorkCalendar.china()
        >>> cal.working_days_between(dt.date(2025, 10, 16), dt.date(2025, 9, 30))
        -7
        """
        lo, hi = self._day(a).toordinal(), self._day(b, "b").toordinal()
        index = self._days.compiled(min(lo, hi), max(lo, hi))
        if lo != hi:  # only the days of (a, b] (or (b, a]) are counted
            self._covered(min(lo, hi) + 1, max(lo, hi))
        return index.cum[hi - index.lo + 1] - index.cum[lo - index.lo + 1]

    # --- working time ---------------------------------------------------------------

    def _instant(self, value: dt.datetime, what: str = "instant") -> int:
        if not isinstance(value, dt.datetime):
            raise CalendarError(f"{what} must be an aware datetime, not {type(value).__name__}")
        try:
            return (value - EPOCH) // US
        except TypeError:  # naive (or a tzinfo without an offset): aware - naive fails
            raise NaiveDatetimeError(value, what) from None

    def next_working_instant(self, instant: dt.datetime, /) -> dt.datetime:
        """``instant`` itself if it is inside working time, else the next start of work.

        A shift's end is not inside it: at 18:00 sharp the next shift is returned.
        """
        us = self._instant(instant)
        result = self._days.next_working(us)
        if result is None:
            raise CalendarError(
                f"{self.name} calendar has no working time within ten years of "
                f"{instant.isoformat()}: check its business hours and weekmask"
            )
        self._check_us(us, result)
        return from_us(result, self.tz)

    def add_working_time(self, instant: dt.datetime, delta: dt.timedelta, /) -> dt.datetime:
        """The instant after ``delta`` of working time from ``instant``.

        Counts only time inside business hours on working days (whole working days
        when the calendar has no business hours). A result that lands exactly on a
        shift's end stays there. ``delta = 0`` gives :meth:`next_working_instant`.
        """
        if not isinstance(delta, dt.timedelta):
            raise CalendarError(f"delta must be a timedelta, not {type(delta).__name__}")
        if not delta:
            return self.next_working_instant(instant)
        us = self._instant(instant)
        try:
            result, iv, j = self._days.add_time_at(us, delta // US)
        except OverflowError as exc:
            raise _out_of_range(f"{instant.isoformat()} + {delta}") from exc
        # the working time used is the half-open span between the two instants: a result
        # at 24:00 on the horizon's last day needs no data of the next year
        lo, hi = (us, result - 1) if us <= result else (result, us - 1)
        bounds = self._auth_us
        if bounds is not None and not (bounds[0] <= lo and hi < bounds[1]):
            self._check_us(lo, hi)
        return self._days.local(result, iv, j)

    def working_time_between(self, a: dt.datetime, b: dt.datetime, /) -> dt.timedelta:
        """Working time from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
        ua, ub = self._instant(a, "a"), self._instant(b, "b")
        lo, hi = min(ua, ub), max(ua, ub)
        elapsed = self._days.between(ua, ub)
        self._check_us(lo, max(lo, hi - 1))
        return dt.timedelta(microseconds=elapsed)

    def _check_us(self, lo_us: int, hi_us: int, *, warn: bool = True) -> bool:
        bounds = self._auth_us
        if bounds is None or (bounds[0] <= lo_us and hi_us < bounds[1]):
            return True
        return self._covered(
            from_us(lo_us, self.tz).date().toordinal(),
            from_us(hi_us, self.tz).date().toordinal(),
            warn=warn,
        )

    # --- deadlines ------------------------------------------------------------------

    def end_of_day(self, day: dt.date, /) -> dt.datetime:
        """When ``day`` ends: close of business where hours are set, else 24:00."""
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=self.tz)
        shifts = self._special.get(day) or _day_shifts(self.business_hours, day, self.weekmask)
        return _wall(midnight, shifts[-1].end if shifts else _DAY_MINUTES, self.tz)

    def deadline(self, start: dt.datetime, duration: Duration | str, /) -> Deadline:
        """When a period of ``duration`` that starts at ``start`` ends.

        - working days (``7wd``): the start day is not counted; the period ends at
          the end of the last working day (24:00, or close of business);
        - calendar days and months (``10d``, ``1mo``): likewise, and a last day that
          is not a working day moves to the next working day (Civil Code art. 203);
        - working hours (``4wh``): counted from the exact instant;
        - clock time (``24h``): exact elapsed time.

        >>> import datetime as dt
        >>> from zoneinfo import ZoneInfo
        >>> cal = WorkCalendar.china()
        >>> received = dt.datetime(2025, 9, 30, 17, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
        >>> d = cal.deadline(received, "7wd")
        >>> d.last_day, d.due.isoformat(), d.provisional
        (datetime.date(2025, 10, 16), '2025-10-17T00:00:00+08:00', False)

        Raises:
            CalendarError: the deadline falls outside the dates the calendar can count.
        """
        duration = _parse(duration)
        try:
            return self._deadline(start, duration)
        except (OverflowError, ValueError) as exc:
            if isinstance(exc, FlowError):
                raise
            raise _out_of_range(f"the end of {duration} from {start.isoformat()}") from exc

    def _deadline(self, start: dt.datetime, duration: Duration) -> Deadline:
        us = self._instant(start, "start")
        local = start.astimezone(self.tz)
        first = local.date().toordinal()
        if isinstance(duration, ClockTime):
            due = from_us(us + duration.delta // US, self.tz)
            return Deadline(local, duration, due, due.date(), False)
        if isinstance(duration, WorkingHours):
            amount = duration.delta // US
            due_us, iv, j = self._days.add_time_at(us, amount)
            due = self._days.local(due_us, iv, j)
            last_day = due.date()
            if amount > 0 and due.time() == _MIDNIGHT:
                # a period that ends at 24:00 ends on that day, not on the next one
                last_day -= _ONE_DAY
        else:
            if isinstance(duration, WorkingDays):
                last = self._days.add_days(first, duration.days)
            elif isinstance(duration, CalendarDays):
                last = self._days.add_days(first + duration.days, 0)
            elif isinstance(duration, CalendarMonths):
                from dateutil.relativedelta import relativedelta

                plain = local.date() + relativedelta(months=duration.months)
                last = self._days.add_days(plain.toordinal(), 0)
            else:
                raise CalendarError(f"unsupported duration {duration!r}")
            last_day = dt.date.fromordinal(last)
            due = self.end_of_day(last_day)
        last_ordinal = last_day.toordinal()
        if first <= last_ordinal:
            provisional = not self._covered(first, last_ordinal, warn=False)
        else:
            provisional = not self._covered(last_ordinal, first, warn=False)
        if provisional:
            warnings.warn(
                f"deadline {duration} from {local.isoformat()} lies past the official "
                f"horizon ({self.authoritative_until}): provisional",
                ProvisionalWarning,
                stacklevel=3,  # the caller of deadline()
            )
        return Deadline(local, duration, due, last_day, provisional)

    def __repr__(self) -> str:
        hours = f", business_hours={self.business_hours!r}" if self.business_hours else ""
        return (
            f"<WorkCalendar {self.name} tz={self.tz} authoritative_until="
            f"{self.authoritative_until}{hours} coverage={self.coverage!r}>"
        )


@functools.lru_cache(maxsize=256)
def _out_of_range(what: str) -> CalendarError:
    return CalendarError(
        f"{what} falls outside the supported range: working time is counted in the years "
        f"{MIN_YEAR}..{MAX_YEAR}, clock time up to the year 9999"
    )


@functools.lru_cache(maxsize=256)
def _parse_text(text: str) -> Duration:
    return Duration.parse(text)


def _parse(value: Duration | str) -> Duration:
    """Duration.parse, remembering the few texts an application uses (they are frozen)."""
    return _parse_text(value) if type(value) is str else Duration.parse(value)
