"""Which days are working days: the official data and its loaders.

The base rule comes from the ``holidays`` package (its China data records the State
Council's notices: statutory holidays and 调休 make-up working days), or from a weekly
pattern. A schedule published later, given as dates or read from a JSON or TOML file
(``{year: {holidays, workdays, source}}``, ranges allowed), replaces the rule for its
year and, when it follows on from the official data, moves the horizon. The arithmetic
over the result is :mod:`techsvc_flow.calendar._index`'s.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import tomllib
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import attrs

from ..errors import CalendarError, ScheduleError, UnknownCountryError

MIN_YEAR, MAX_YEAR = 1900, 2300

Rule = Callable[[dt.date], bool]


@attrs.frozen
class _YearSchedule:
    """One year's official schedule; a notice may also set days of the year before
    or after (the previous December's days of a New Year holiday), which win over that
    year's own schedule. ``festivals`` names the festival of each day a notice set, so
    that a later notice amending one festival replaces just its days."""

    holidays: frozenset[dt.date]
    workdays: frozenset[dt.date]
    festivals: Mapping[dt.date, str] = attrs.field(factory=dict, eq=False)


def _holidays_rule(source: Any) -> Rule:
    lock = threading.Lock()

    def rule(day: dt.date) -> bool:
        with lock:  # the holidays object populates years lazily and is not thread-safe
            return bool(source.is_working_day(day))

    return rule


def _china(authoritative_until: dt.date | None) -> tuple[Rule, tuple[dt.date, dt.date]]:
    """Mainland China's rule and the span its official schedules cover."""
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
    return _holidays_rule(source), (dt.date(published[0], 1, 1), last)


def _country(
    country: str, subdiv: str | None, authoritative_until: dt.date | None
) -> tuple[Rule, tuple[dt.date, dt.date] | None]:
    """A country's rule from the ``holidays`` package, and its authoritative span."""
    import holidays

    try:
        source = holidays.country_holidays(country, subdiv=subdiv, years=[])
    except NotImplementedError as exc:
        detail = f" ({exc})" if subdiv else ""
        raise UnknownCountryError(country, subdiv, detail) from exc
    authoritative = (dt.date(MIN_YEAR, 1, 1), authoritative_until) if authoritative_until else None
    return _holidays_rule(source), authoritative


def _weekly(weekmask: str, holidays: Iterable[dt.date]) -> Rule:
    """The rule of a weekly pattern (Monday first) with some days off."""
    _check_weekmask(weekmask)
    off = frozenset(holidays)
    mask = tuple(c == "1" for c in weekmask)

    def rule(day: dt.date) -> bool:
        return mask[day.weekday()] and day not in off

    return rule


def _check_weekmask(weekmask: str) -> None:
    if len(weekmask) != 7 or set(weekmask) - {"0", "1"}:
        raise CalendarError(f"weekmask {weekmask!r}: expected 7 characters of 0/1, Monday first")


def _with_schedules(
    base: Rule,
    schedules: Mapping[int, _YearSchedule],
    weekmask: str,
    overrides: Mapping[dt.date, bool] | None = None,
) -> Rule:
    """``base``, except in the years that ``schedules`` replace (worked by ``weekmask``).

    A schedule's days of a neighbouring year win over that year's own schedule, and
    ``overrides`` (the organisation overlays, date → working day?) win over both.
    """
    spill: dict[dt.date, bool] = {}
    for year, schedule in sorted(schedules.items()):
        for day in schedule.holidays:
            if day.year != year:
                spill[day] = False
        for day in schedule.workdays:
            if day.year != year:
                spill[day] = True
    spill.update(overrides or {})
    if not schedules and not spill:
        return base

    def working(day: dt.date) -> bool:
        if day in spill:
            return spill[day]
        schedule = schedules.get(day.year)
        if schedule is None:
            return base(day)
        if day in schedule.workdays:
            return True
        return weekmask[day.weekday()] == "1" and day not in schedule.holidays

    return working


def _horizon(
    authoritative: tuple[dt.date, dt.date] | None, schedules: Mapping[int, _YearSchedule]
) -> tuple[int, int] | None:
    """The ordinals of the first and last day of official data, schedules included.

    A loaded schedule for the year after (or before) the authoritative span extends it.
    """
    if authoritative is None:
        return None
    first, last = authoritative
    year = last.year
    while last == dt.date(year, 12, 31) and year + 1 in schedules:
        year += 1
        last = dt.date(year, 12, 31)
    year = first.year
    while first == dt.date(year, 1, 1) and year - 1 in schedules:
        year -= 1
        first = dt.date(year, 1, 1)
    return first.toordinal(), last.toordinal()


def _year_schedule(
    year: int,
    holidays: Iterable[dt.date | str],
    workdays: Iterable[dt.date | str],
    festivals: Mapping[dt.date, str] | None = None,
) -> _YearSchedule:
    """The checked schedule of ``year``: its days off and its make-up working days.

    Days of the year before or after are accepted (a notice's cross-year days).
    """
    if not isinstance(year, int) or not MIN_YEAR <= year <= MAX_YEAR:
        raise ScheduleError(f"year {year!r}: expected a year from {MIN_YEAR} to {MAX_YEAR}")
    off = frozenset(_schedule_day(d, year, "holidays") for d in holidays)
    on = frozenset(_schedule_day(d, year, "workdays") for d in workdays)
    if both := sorted(off & on):
        raise ScheduleError(f"{year}: {both[0]} is listed as a holiday and as a workday")
    return _YearSchedule(off, on, dict(festivals or {}))


def _read_schedule_file(path: Path) -> Any:
    """The data of a JSON or TOML schedule file (by its suffix)."""
    try:
        text = path.read_text(encoding="utf-8")
        return tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (OSError, ValueError) as exc:
        raise ScheduleError(f"{path}: cannot read schedule: {exc}") from exc


def _schedules_of(data: Mapping[str, Any], source: str) -> dict[int, _YearSchedule]:
    """The checked schedules of ``{year: {holidays, workdays, source}}``, year by year."""
    if not isinstance(data, Mapping) or not data:
        raise ScheduleError(f"{source}: expected a table of years, e.g. {{'2027': {{...}}}}")
    schedules: dict[int, _YearSchedule] = {}
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
            schedules[year] = _year_schedule(year, holidays, workdays)
        except ScheduleError as exc:
            raise ScheduleError(f"{source}: {exc}") from exc
    return schedules


def _holiday_cn(data: Any, source: str) -> tuple[int, _YearSchedule]:
    """The year and schedule of a holiday-cn file (``{"year", "papers", "days"}``)."""
    if not isinstance(data, Mapping):
        raise ScheduleError(f"{source}: expected an object with 'year', 'papers' and 'days'")
    year = data.get("year")
    if isinstance(year, bool) or not isinstance(year, int):
        raise ScheduleError(f"{source}: 'year' must be a year such as 2025, not {year!r}")
    days = data.get("days")
    if not isinstance(days, list):
        raise ScheduleError(f"{source}: 'days' must be a list")
    if not days:
        raise ScheduleError(
            f"{source}: the {year} schedule is not published yet ('days' is empty); nothing loaded"
        )
    off: dict[dt.date, str] = {}
    on: dict[dt.date, str] = {}
    for i, entry in enumerate(days):
        where = f"{source}: days[{i}]"
        if not isinstance(entry, Mapping):
            raise ScheduleError(f"{where}: expected {{'name', 'date', 'isOffDay'}}")
        name, off_day = entry.get("name", ""), entry.get("isOffDay")
        if not isinstance(name, str):
            raise ScheduleError(f"{where}.name: expected a string, not {name!r}")
        if not isinstance(off_day, bool):
            raise ScheduleError(f"{where}.isOffDay: expected true or false, not {off_day!r}")
        day = _schedule_day(entry.get("date"), year, f"days[{i}].date")
        (off if off_day else on)[day] = name
    try:
        return year, _year_schedule(year, off, on, {**off, **on})
    except ScheduleError as exc:
        raise ScheduleError(f"{source}: {exc}") from exc


def _schedule_day(value: Any, year: int, where: str) -> dt.date:
    if isinstance(value, str):
        try:
            value = dt.date.fromisoformat(value)
        except ValueError as exc:
            raise ScheduleError(f"{year} {where}: {value!r} is not a date (YYYY-MM-DD)") from exc
    if isinstance(value, dt.datetime) or not isinstance(value, dt.date):
        raise ScheduleError(f"{year} {where}: {value!r} is not a date")
    if abs(value.year - year) > 1:
        raise ScheduleError(f"{year} {where}: {value} is not in {year} or a year next to it")
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
