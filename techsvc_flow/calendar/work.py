"""Working time: which days are working days, business hours, and arithmetic on both.

A :class:`WorkCalendar` answers day arithmetic in constant time per call from a
cumulative-count index over the years it has compiled, and working-time arithmetic by
binary search over precomputed working intervals. The index is compiled lazily and
extended when a date outside it is asked for.

>>> import datetime as dt
>>> cal = WorkCalendar.china()
>>> cal.add_working_days(dt.date(2025, 9, 30), 7)   # National Day, then Sat 10-11 worked
datetime.date(2025, 10, 16)
>>> cal.working_days_between(dt.date(2025, 9, 30), dt.date(2025, 10, 16))
7
"""

from __future__ import annotations

import bisect
import datetime as dt
import functools
import itertools
import json
import re
import threading
import tomllib
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

import attrs

from .._time import EPOCH as _EPOCH
from .._time import US as _US
from .._time import to_us as _to_us
from .._time import zone as _zone
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
    BusinessHoursError,
    CalendarCoverageError,
    CalendarError,
    NaiveDatetimeError,
    ProvisionalWarning,
    ScheduleError,
    UnknownCountryError,
)

__all__ = ["BusinessHours", "Coverage", "Shift", "WorkCalendar"]

Coverage = Literal["raise", "provisional"]

_UTC = dt.UTC
_MIN_YEAR, _MAX_YEAR = 1900, 2300
_DAY_MINUTES = 24 * 60
_DAY_US = 86_400_000_000
_MIDNIGHT = dt.time(0)
_ONE_DAY = dt.timedelta(days=1)
_HHMM = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*$")


def _minutes(value: str | dt.time) -> int:
    if isinstance(value, dt.time):
        return value.hour * 60 + value.minute
    match = _HHMM.match(value) if isinstance(value, str) else None
    if match is None:
        raise BusinessHoursError(f"bad time {value!r}: expected 'HH:MM' such as '09:00'")
    hours, minutes = int(match[1]), int(match[2])
    if minutes > 59 or hours > 24 or (hours == 24 and minutes):
        raise BusinessHoursError(f"bad time {value!r}: hours 00-24, minutes 00-59")
    return hours * 60 + minutes


@attrs.frozen(order=True)
class Shift:
    """One span of business hours in a day, in minutes since local midnight.

    ``end`` may be 1440 (24:00). Build from text with ``Shift.parse("09:00-12:00")``.
    """

    start: int
    end: int

    @classmethod
    def parse(cls, text: str | tuple[str | dt.time, str | dt.time] | Shift) -> Shift:
        """Read ``"HH:MM-HH:MM"`` or a ``(start, end)`` pair of times or strings."""
        if isinstance(text, Shift):
            return text
        start: str | dt.time
        end: str | dt.time
        if isinstance(text, str):
            parts = text.split("-")
            if len(parts) != 2:
                raise BusinessHoursError(f"bad shift {text!r}: expected 'HH:MM-HH:MM'")
            start, end = parts
        else:
            start, end = text
        shift = cls(_minutes(start), _minutes(end))
        if shift.end <= shift.start:
            raise BusinessHoursError(f"shift {shift} ends before it starts")
        return shift

    def __str__(self) -> str:
        return (
            f"{self.start // 60:02d}:{self.start % 60:02d}-{self.end // 60:02d}:{self.end % 60:02d}"
        )


ShiftsLike = str | Iterable[str | tuple[str | dt.time, str | dt.time] | Shift]


def _shifts(value: ShiftsLike, where: str) -> tuple[Shift, ...]:
    items = value.split(",") if isinstance(value, str) else list(value)
    shifts = sorted(Shift.parse(item) for item in items if item != "")
    for before, after in itertools.pairwise(shifts):
        if after.start < before.end:
            raise BusinessHoursError(f"{where}: shifts {before} and {after} overlap")
    return tuple(shifts)


class BusinessHours:
    """The hours of work on a working day: one or more shifts, optionally per weekday.

    Args:
        shifts: the default shifts, e.g. ``"09:00-12:00,13:30-18:00"`` or a list of
            ``("09:00", "12:00")`` pairs.
        weekdays: shifts that differ on some weekdays (0 = Monday … 6 = Sunday); an
            empty value means no business hours on that weekday. A weekend day made a
            working day (调休) works the default shifts.

    >>> BusinessHours("09:00-12:00,13:30-18:00")
    BusinessHours('09:00-12:00,13:30-18:00')
    >>> BusinessHours("09:00-12:00,11:00-18:00")
    Traceback (most recent call last):
    ...
    techsvc_flow.errors.BusinessHoursError: business hours: shifts 09:00-12:00 and \
11:00-18:00 overlap
    """

    __slots__ = ("default", "weekdays")

    def __init__(
        self, shifts: ShiftsLike, /, *, weekdays: Mapping[int, ShiftsLike] | None = None
    ) -> None:
        self.default = _shifts(shifts, "business hours")
        if not self.default:
            raise BusinessHoursError("business hours need at least one shift")
        special: dict[int, tuple[Shift, ...]] = {}
        for day, value in (weekdays or {}).items():
            if not isinstance(day, int) or not 0 <= day <= 6:
                raise BusinessHoursError(f"weekday {day!r}: expected 0 (Monday) .. 6 (Sunday)")
            special[day] = _shifts(value, f"business hours on weekday {day}")
        self.weekdays: Mapping[int, tuple[Shift, ...]] = special

    def shifts_on(self, day: dt.date, *, makeup: bool = False) -> tuple[Shift, ...]:
        """The shifts of a working day (``makeup``: a weekend day made a working day)."""
        if makeup:
            return self.default
        return self.weekdays.get(day.weekday(), self.default)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, BusinessHours)
            and self.default == other.default
            and dict(self.weekdays) == dict(other.weekdays)
        )

    def __hash__(self) -> int:
        return hash((self.default, tuple(sorted(self.weekdays.items()))))

    def __repr__(self) -> str:
        text = ",".join(str(s) for s in self.default)
        if not self.weekdays:
            return f"BusinessHours({text!r})"
        days = {d: ",".join(str(s) for s in v) for d, v in sorted(self.weekdays.items())}
        return f"BusinessHours({text!r}, weekdays={days!r})"


@attrs.frozen
class _YearSchedule:
    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]


class _Index:
    """An immutable snapshot of the compiled days (and, lazily, working intervals)."""

    __slots__ = ("cum", "dates", "first_year", "flags", "intervals", "last_year", "lo", "work")

    def __init__(self, first_year: int, last_year: int, flags: bytes) -> None:
        self.first_year = first_year
        self.last_year = last_year
        self.lo = dt.date(first_year, 1, 1).toordinal()
        self.flags = flags
        # cum[i]: working days among the days with ordinal < lo + i
        self.cum = [0, *itertools.accumulate(flags)]
        self.work = [self.lo + i for i, flag in enumerate(flags) if flag]
        self.dates = [dt.date.fromordinal(o) for o in self.work]  # the answers, ready-made
        self.intervals: _Intervals | None = None


class _Intervals:
    """Working intervals in UTC microseconds, with cumulative working time."""

    __slots__ = ("cum", "cum_end", "ends", "hi_us", "lo_us", "local", "starts", "varies")

    def __init__(self, spans: list[tuple[int, int]], lo_us: int, hi_us: int) -> None:
        self.lo_us, self.hi_us = lo_us, hi_us
        # each span's start as a local datetime, filled in on first use unless the UTC
        # offset varies within the span (see WorkCalendar._local)
        self.local: list[dt.datetime | None] = [None] * len(spans)
        self.varies = bytearray(len(spans))
        self.starts = [s for s, _ in spans]
        self.ends = [e for _, e in spans]
        self.cum = [0, *itertools.accumulate(e - s for s, e in spans)][:-1]
        self.cum_end = [c + e - s for c, (s, e) in zip(self.cum, spans, strict=True)]


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
    ) -> None:
        if coverage not in ("raise", "provisional"):
            raise CalendarError(f"coverage must be 'raise' or 'provisional', not {coverage!r}")
        if len(weekmask) != 7 or set(weekmask) - {"0", "1"}:
            raise CalendarError(
                f"weekmask {weekmask!r}: expected 7 characters of 0/1, Monday first"
            )
        self._is_working = is_working
        self.tz = _zone(tz)
        if isinstance(business_hours, str):
            business_hours = BusinessHours(business_hours)
        self.business_hours = business_hours
        self.coverage: Coverage = coverage
        self.weekmask = weekmask
        self.name = name
        self._schedules = dict(schedules or {})
        self._base_authoritative = authoritative
        self._lock = threading.Lock()
        self._index: _Index | None = None
        self._auth = self._horizon()
        self._auth_us: tuple[int, int] | None = None
        if self._auth is not None:
            first, last = (dt.date.fromordinal(o) for o in self._auth)
            after = last + dt.timedelta(days=1)
            self._auth_us = (
                _to_us(dt.datetime(first.year, first.month, first.day, tzinfo=self.tz)),
                _to_us(dt.datetime(after.year, after.month, after.day, tzinfo=self.tz)),
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
        import holidays

        source = holidays.country_holidays("CN", years=[])
        published = sorted(holidays.countries.china.ChinaStaticHolidays.special_public_holidays)
        last = dt.date(published[-1], 12, 31)
        if authoritative_until is not None:
            if authoritative_until > last:
                raise CalendarError(
                    f"authoritative_until {authoritative_until} is past the last official "
                    f"schedule the holidays package has ({last}): load the newer schedule "
                    "with with_schedule() instead"
                )
            last = authoritative_until
        authoritative = (dt.date(published[0], 1, 1), last)
        return cls(
            _holidays_rule(source),
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
        import holidays

        try:
            source = holidays.country_holidays(country, subdiv=subdiv, years=[])
        except NotImplementedError as exc:
            detail = f" ({exc})" if subdiv else ""
            raise UnknownCountryError(country, subdiv, detail) from exc
        authoritative = (
            (dt.date(_MIN_YEAR, 1, 1), authoritative_until) if authoritative_until else None
        )
        return cls(
            _holidays_rule(source),
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
        if len(weekmask) != 7 or set(weekmask) - {"0", "1"}:
            raise CalendarError(
                f"weekmask {weekmask!r}: expected 7 characters of 0/1, Monday first"
            )
        off = frozenset(holidays)
        mask = tuple(c == "1" for c in weekmask)

        def rule(day: dt.date) -> bool:
            return mask[day.weekday()] and day not in off

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
        if not isinstance(year, int) or not _MIN_YEAR <= year <= _MAX_YEAR:
            raise ScheduleError(f"year {year!r}: expected a year from {_MIN_YEAR} to {_MAX_YEAR}")
        off = frozenset(_schedule_day(d, year, "holidays") for d in holidays)
        on = frozenset(_schedule_day(d, year, "workdays") for d in workdays)
        if both := sorted(off & on):
            raise ScheduleError(f"{year}: {both[0]} is listed as a holiday and as a workday")
        schedules = {**self._schedules, year: _YearSchedule(off, on)}
        return self._evolve(schedules=schedules)

    def with_schedule_file(self, path: str | Path) -> WorkCalendar:
        """The same calendar with the schedules of a JSON or TOML file.

        The file maps each year to its ``holidays`` and ``workdays``; a date may be
        a range ``"2027-02-06..2027-02-13"``. See ``docs/working-time.md``.
        """
        path = Path(path)
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except (OSError, ValueError) as exc:
            raise ScheduleError(f"{path}: cannot read schedule: {exc}") from exc
        return self.with_schedules(data, source=str(path))

    def with_schedules(self, data: Mapping[str, Any], *, source: str = "schedule") -> WorkCalendar:
        """The same calendar with schedules given as ``{year: {holidays, workdays}}``."""
        if not isinstance(data, Mapping) or not data:
            raise ScheduleError(f"{source}: expected a table of years, e.g. {{'2027': {{...}}}}")
        calendar = self
        for key, entry in data.items():
            if not str(key).isdigit():
                raise ScheduleError(f"{source}: key {key!r} is not a year")
            if not isinstance(entry, Mapping):
                raise ScheduleError(
                    f"{source}: [{key}] must have 'holidays', optionally 'workdays' and 'source'"
                )
            if unknown := sorted(str(k) for k in set(entry) - {"holidays", "workdays", "source"}):
                raise ScheduleError(
                    f"{source}: [{key}] has unknown key(s) {', '.join(map(repr, unknown))}; "
                    "expected 'holidays', optionally 'workdays' and 'source'"
                )
            if "holidays" not in entry:
                raise ScheduleError(f"{source}: [{key}] lacks 'holidays'")
            year = int(key)
            holidays = _expand(entry["holidays"], f"{source}: [{key}].holidays")
            workdays = _expand(entry.get("workdays", []), f"{source}: [{key}].workdays")
            try:
                calendar = calendar.with_schedule(year, holidays=holidays, workdays=workdays)
            except ScheduleError as exc:
                raise ScheduleError(f"{source}: {exc}") from exc
        return calendar

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
        import hashlib

        if not _MIN_YEAR <= first_year <= last_year <= _MAX_YEAR:
            raise CalendarError(
                f"digest years {first_year}..{last_year}: expected {_MIN_YEAR}..{_MAX_YEAR}, "
                "first not after last"
            )
        lo, hi = dt.date(first_year, 1, 1).toordinal(), dt.date(last_year, 12, 31).toordinal()
        index = self._compiled(lo, hi)
        flags = index.flags[lo - index.lo : hi - index.lo + 1]
        head = json.dumps(
            [
                str(self.tz),
                repr(self.business_hours),
                self.coverage,
                self._auth,
                first_year,
                last_year,
            ]
        )
        return hashlib.sha256(head.encode() + b"\0" + flags).hexdigest()

    # --- the horizon ----------------------------------------------------------------

    def _horizon(self) -> tuple[int, int] | None:
        if self._base_authoritative is None:
            return None
        first, last = self._base_authoritative
        year = last.year
        while last == dt.date(year, 12, 31) and year + 1 in self._schedules:
            year += 1
            last = dt.date(year, 12, 31)
        year = first.year
        while first == dt.date(year, 1, 1) and year - 1 in self._schedules:
            year -= 1
            first = dt.date(year, 1, 1)
        return first.toordinal(), last.toordinal()

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

    # --- the index ------------------------------------------------------------------

    def _working(self, day: dt.date) -> bool:
        schedule = self._schedules.get(day.year)
        if schedule is None:
            return self._is_working(day)
        if day in schedule.workdays:
            return True
        return self.weekmask[day.weekday()] == "1" and day not in schedule.holidays

    def _compiled(self, lo: int, hi: int) -> _Index:
        """An index covering ordinals lo..hi, extended (and kept) when needed."""
        index = self._index
        if index is not None and index.lo <= lo and hi < index.lo + len(index.flags):
            return index
        with self._lock:
            index = self._index
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
            first, last = max(first, _MIN_YEAR), min(last, _MAX_YEAR)
            if dt.date.fromordinal(max(lo, 1)).year < _MIN_YEAR or (
                dt.date.fromordinal(min(hi, dt.date.max.toordinal())).year > _MAX_YEAR
            ):
                raise CalendarError(f"date out of the supported range {_MIN_YEAR}..{_MAX_YEAR}")
            start = dt.date(first, 1, 1).toordinal()
            end = dt.date(last, 12, 31).toordinal()
            old = self._index
            flags = bytearray(end - start + 1)
            for ordinal in range(start, end + 1):
                if old is not None and old.lo <= ordinal < old.lo + len(old.flags):
                    flags[ordinal - start] = old.flags[ordinal - old.lo]
                else:
                    flags[ordinal - start] = self._working(dt.date.fromordinal(ordinal))
            index = _Index(first, last, bytes(flags))
            self._index = index
            return index

    def _day(self, value: dt.date | dt.datetime, what: str = "date") -> dt.date:
        if isinstance(value, dt.datetime):
            if value.tzinfo is None or value.utcoffset() is None:
                raise NaiveDatetimeError(value, what)
            return value.astimezone(self.tz).date()
        if not isinstance(value, dt.date):
            raise CalendarError(f"{what} must be a date, not {type(value).__name__}")
        return value

    # --- days -----------------------------------------------------------------------

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
        index = self._compiled(ordinal, ordinal)
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
        index, auth = self._index, self._auth
        if index is not None and n > 0:
            # the common case, without a call: a compiled index, inside the horizon
            i = ordinal - index.lo
            if 0 <= i < len(index.flags):
                k = index.cum[i + 1] + n - 1
                if k < len(index.work) and (
                    auth is None or (auth[0] <= ordinal and index.work[k] <= auth[1])
                ):
                    return index.dates[k]
        result = self._add_days(ordinal, n)
        self._covered(min(ordinal, result), max(ordinal, result))
        return dt.date.fromordinal(result)

    def _add_days(self, ordinal: int, n: int) -> int:
        guess = ordinal + n * 7 // 5 + (14 if n >= 0 else -14)
        index = self._compiled(min(ordinal, guess), max(ordinal, guess))
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
            index = self._compiled(min(ordinal, far), max(ordinal, far))

    def working_days_between(self, a: dt.date | dt.datetime, b: dt.date | dt.datetime, /) -> int:
        """Working days in the half-open interval (a, b]; negative when b < a.

        >>> import datetime as dt
        >>> cal = WorkCalendar.china()
        >>> cal.working_days_between(dt.date(2025, 10, 16), dt.date(2025, 9, 30))
        -7
        """
        lo, hi = self._day(a).toordinal(), self._day(b, "b").toordinal()
        index = self._compiled(min(lo, hi), max(lo, hi))
        if lo != hi:  # only the days of (a, b] (or (b, a]) are counted
            self._covered(min(lo, hi) + 1, max(lo, hi))
        return index.cum[hi - index.lo + 1] - index.cum[lo - index.lo + 1]

    # --- working time ---------------------------------------------------------------

    def _instant(self, value: dt.datetime, what: str = "instant") -> int:
        if not isinstance(value, dt.datetime):
            raise CalendarError(f"{what} must be an aware datetime, not {type(value).__name__}")
        try:
            return (value - _EPOCH) // _US
        except TypeError:  # naive (or a tzinfo without an offset): aware - naive fails
            raise NaiveDatetimeError(value, what) from None

    def _from_us(self, us: int) -> dt.datetime:
        return (_EPOCH + dt.timedelta(0, 0, us)).astimezone(self.tz)

    def _spans_of(self, index: _Index) -> _Intervals:
        intervals = index.intervals
        if intervals is None:
            spans: list[tuple[int, int]] = []
            tz, hours = self.tz, self.business_hours
            for ordinal in index.work:
                day = dt.date.fromordinal(ordinal)
                midnight = dt.datetime(day.year, day.month, day.day, tzinfo=tz)
                if hours is None:
                    shifts: tuple[Shift, ...] = (Shift(0, _DAY_MINUTES),)
                else:
                    makeup = self.weekmask[day.weekday()] == "0"
                    shifts = hours.shifts_on(day, makeup=makeup)
                for shift in shifts:
                    start = _to_us(_wall(midnight, shift.start, tz))
                    end = _to_us(_wall(midnight, shift.end, tz))
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
                _to_us(dt.datetime(first.year, 1, 1, tzinfo=tz)),
                _to_us(dt.datetime(after.year, 1, 1, tzinfo=tz)),
            )
        return intervals

    def _intervals(self, lo_us: int, hi_us: int) -> tuple[_Index, _Intervals]:
        index = self._index
        if index is not None:
            iv = index.intervals
            if (
                iv is not None
                and iv.lo_us + 7 * _DAY_US <= lo_us
                and hi_us < iv.hi_us - 7 * _DAY_US
            ):
                return index, iv
        lo = self._from_us(lo_us).date().toordinal() - 7
        hi = self._from_us(hi_us).date().toordinal() + 7
        index = self._compiled(lo, hi)
        return index, self._spans_of(index)

    def _elapsed(self, iv: _Intervals, us: int) -> int:
        """Working microseconds before ``us`` since the first compiled interval."""
        i = bisect.bisect_right(iv.ends, us)
        if i < len(iv.starts) and iv.starts[i] < us:
            return iv.cum[i] + us - iv.starts[i]
        return iv.cum_end[i - 1] if i else 0

    def next_working_instant(self, instant: dt.datetime, /) -> dt.datetime:
        """``instant`` itself if it is inside working time, else the next start of work.

        A shift's end is not inside it: at 18:00 sharp the next shift is returned.
        """
        us = self._instant(instant)
        reach = 40 * _DAY_US
        while True:
            _, iv = self._intervals(us, us + reach)
            i = bisect.bisect_right(iv.ends, us)
            if i < len(iv.starts):
                break
            if reach > 3660 * _DAY_US:
                raise CalendarError(
                    f"{self.name} calendar has no working time within ten years of "
                    f"{instant.isoformat()}: check its business hours and weekmask"
                )
            reach *= 4
        result = us if iv.starts[i] <= us else iv.starts[i]
        self._check_us(us, result)
        return self._from_us(result)

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
        result, iv, j = self._add_time_at(us, delta // _US)
        # the working time used is the half-open span between the two instants: a result
        # at 24:00 on the horizon's last day needs no data of the next year
        lo, hi = (us, result - 1) if us <= result else (result, us - 1)
        bounds = self._auth_us
        if bounds is not None and not (bounds[0] <= lo and hi < bounds[1]):
            self._check_us(lo, hi)
        return self._local(result, iv, j)

    def _local(self, us: int, iv: _Intervals, j: int) -> dt.datetime:
        """``us`` (inside or at the end of interval ``j``) as a local datetime.

        The start of the interval is converted once and remembered; an instant inside it
        is then start + timedelta, with no zone lookup, unless the UTC offset changes
        within the interval (a daylight-saving switch during business hours).
        """
        start = iv.local[j]
        if start is None:
            if iv.varies[j] or not self._fixed_offset(iv.starts[j], iv.ends[j]):
                iv.varies[j] = 1
                return self._from_us(us)
            # a benign race: any thread stores the same value
            start = iv.local[j] = self._from_us(iv.starts[j])
        return start + dt.timedelta(0, 0, us - iv.starts[j])

    def _fixed_offset(self, lo_us: int, hi_us: int) -> bool:
        """Whether the UTC offset is the same from ``lo_us`` to ``hi_us`` (≤ 2 days).

        Checked every hour: no time zone changes its offset twice within an hour.
        """
        if hi_us - lo_us > 2 * _DAY_US:
            return False
        offset = self._from_us(lo_us).utcoffset()
        hour = 3_600_000_000
        return all(
            self._from_us(t).utcoffset() == offset for t in (*range(lo_us, hi_us, hour), hi_us)
        )

    def _add_time_at(self, us: int, amount: int) -> tuple[int, _Intervals, int]:
        """The instant ``amount`` µs of working time from ``us``, its intervals and span."""
        index = self._index
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
            _, iv = self._intervals(lo, hi)
            target = self._elapsed(iv, us) + amount
            if amount > 0:
                j = bisect.bisect_left(iv.cum_end, target)
                if j < len(iv.starts):
                    return iv.starts[j] + target - iv.cum[j], iv, j
            else:
                j = bisect.bisect_right(iv.cum, target) - 1
                if target >= 0 and j >= 0:
                    return iv.starts[j] + target - iv.cum[j], iv, j
            if not iv.starts and reach > 3660 * _DAY_US:
                raise CalendarError(
                    f"{self.name} calendar has no working time within ten years: "
                    "check its business hours and weekmask"
                )
            reach *= 2

    def working_time_between(self, a: dt.datetime, b: dt.datetime, /) -> dt.timedelta:
        """Working time from ``a`` to ``b`` (negative when ``b`` is before ``a``)."""
        ua, ub = self._instant(a, "a"), self._instant(b, "b")
        lo, hi = min(ua, ub), max(ua, ub)
        _, iv = self._intervals(lo, hi)
        self._check_us(lo, max(lo, hi - 1))
        return dt.timedelta(microseconds=self._elapsed(iv, ub) - self._elapsed(iv, ua))

    def _check_us(self, lo_us: int, hi_us: int, *, warn: bool = True) -> bool:
        bounds = self._auth_us
        if bounds is None or (bounds[0] <= lo_us and hi_us < bounds[1]):
            return True
        return self._covered(
            self._from_us(lo_us).date().toordinal(),
            self._from_us(hi_us).date().toordinal(),
            warn=warn,
        )

    # --- deadlines ------------------------------------------------------------------

    def end_of_day(self, day: dt.date, /) -> dt.datetime:
        """When ``day`` ends: close of business where hours are set, else 24:00."""
        midnight = dt.datetime(day.year, day.month, day.day, tzinfo=self.tz)
        if self.business_hours is not None:
            makeup = self.weekmask[day.weekday()] == "0"
            shifts = self.business_hours.shifts_on(day, makeup=makeup)
            if shifts:
                return _wall(midnight, shifts[-1].end, self.tz)
        return _wall(midnight, _DAY_MINUTES, self.tz)

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
        """
        duration = _parse(duration)
        us = self._instant(start, "start")
        local = start.astimezone(self.tz)
        first = local.date().toordinal()
        if isinstance(duration, ClockTime):
            due = self._from_us(us + duration.delta // _US)
            return Deadline(local, duration, due, due.date(), False)
        if isinstance(duration, WorkingHours):
            amount = duration.delta // _US
            due_us, iv, j = self._add_time_at(us, amount)
            due = self._local(due_us, iv, j)
            last_day = due.date()
            if amount > 0 and due.time() == _MIDNIGHT:
                # a period that ends at 24:00 ends on that day, not on the next one
                last_day -= _ONE_DAY
        else:
            if isinstance(duration, WorkingDays):
                last = self._add_days(first, duration.days)
            elif isinstance(duration, CalendarDays):
                last = self._add_days(first + duration.days, 0)
            elif isinstance(duration, CalendarMonths):
                from dateutil.relativedelta import relativedelta

                plain = local.date() + relativedelta(months=duration.months)
                last = self._add_days(plain.toordinal(), 0)
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
                stacklevel=2,
            )
        return Deadline(local, duration, due, last_day, provisional)

    def __repr__(self) -> str:
        hours = f", business_hours={self.business_hours!r}" if self.business_hours else ""
        return (
            f"<WorkCalendar {self.name} tz={self.tz} authoritative_until="
            f"{self.authoritative_until}{hours} coverage={self.coverage!r}>"
        )


@functools.lru_cache(maxsize=256)
def _parse_text(text: str) -> Duration:
    return Duration.parse(text)


def _parse(value: Duration | str) -> Duration:
    """Duration.parse, remembering the few texts an application uses (they are frozen)."""
    return _parse_text(value) if type(value) is str else Duration.parse(value)


def _wall(midnight: dt.datetime, minutes: int, tz: dt.tzinfo) -> dt.datetime:
    """Local wall-clock ``minutes`` after ``midnight`` (24:00 is the next midnight)."""
    day = midnight.date() + dt.timedelta(days=minutes // _DAY_MINUTES)
    rest = minutes % _DAY_MINUTES
    return dt.datetime(day.year, day.month, day.day, rest // 60, rest % 60, tzinfo=tz)


def _holidays_rule(source: Any) -> Callable[[dt.date], bool]:
    lock = threading.Lock()

    def rule(day: dt.date) -> bool:
        with lock:  # the holidays object populates years lazily and is not thread-safe
            return bool(source.is_working_day(day))

    return rule


def _schedule_day(value: dt.date | str, year: int, where: str) -> dt.date:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError as exc:
            raise ScheduleError(f"{year} {where}: {value!r} is not a date (YYYY-MM-DD)") from exc
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ScheduleError(f"{year} {where}: {value!r} is not a date")
    if value.year != year:
        raise ScheduleError(f"{year} {where}: {value} is not in {year}")
    return value


def _expand(values: Any, where: str) -> list[dt.date | str]:
    if not isinstance(values, list):
        raise ScheduleError(f"{where}: expected a list of dates")
    days: list[dt.date | str] = []
    for value in values:
        if isinstance(value, str) and ".." in value:
            first_text, last_text = value.split("..", 1)
            try:
                first, last = dt.date.fromisoformat(first_text), dt.date.fromisoformat(last_text)
            except ValueError as exc:
                raise ScheduleError(f"{where}: bad range {value!r}") from exc
            if last < first:
                raise ScheduleError(f"{where}: range {value!r} ends before it starts")
            days.extend(first + dt.timedelta(days=i) for i in range((last - first).days + 1))
        elif isinstance(value, dt.date | str):
            days.append(value)
        else:
            raise ScheduleError(f"{where}: {value!r} is not a date")
    return days
