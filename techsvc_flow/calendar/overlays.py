"""Organisation overlays: company closure days, extra working days, special hours.

An :class:`Overlay` stacks on a calendar's official schedule without replacing it
(:meth:`WorkCalendar.with_overlay <techsvc_flow.calendar.WorkCalendar.with_overlay>`):
a *closed* day is not a working day whatever the official schedule says, an *open* day
is one, and a date with its own *hours* works those shifts instead of the usual ones
(a half day on 除夕). Several overlays stack in the order they are added; on a date
that two of them set, the later one wins.

>>> import datetime as dt
>>> acme = Overlay.parse({
...     "name": "acme",
...     "closed": ["2025-12-24..2025-12-26"],
...     "open": ["2025-10-04"],
...     "hours": {"2025-01-27": "09:00-12:00"},
... })
>>> acme.closed[0], len(acme.closed), acme.open
(datetime.date(2025, 12, 24), 3, (datetime.date(2025, 10, 4),))
>>> Overlay.parse({"name": "acme", "closed": ["2025-12-32"]})
Traceback (most recent call last):
...
techsvc_flow.errors.ScheduleError: overlay 'acme': closed[0]: '2025-12-32' is not a date ...
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ..errors import BusinessHoursError, ScheduleError
from .hours import Shift, ShiftsLike, _shifts

__all__ = ["Overlay"]

_KEYS = ("name", "closed", "open", "hours")


@attrs.frozen
class Overlay:
    """Days and hours an organisation sets on top of the official schedule.

    Build one with :meth:`parse` (from data, with errors naming the key) or directly.

    Attributes:
        name: a label (a team, a region, a customer), part of the calendar's digest.
        closed: the days that are not working days (company closure days).
        open: the days that are working days (extra working days).
        hours: the shifts worked on some dates instead of the usual business hours;
            they apply when the date is a working day.
    """

    name: str
    closed: tuple[dt.date, ...] = ()
    open: tuple[dt.date, ...] = ()
    hours: Mapping[dt.date, tuple[Shift, ...]] = attrs.field(factory=dict)

    @classmethod
    def parse(cls, data: Mapping[str, Any]) -> Overlay:
        """An overlay from ``{"name", "closed", "open", "hours"}``, checked.

        ``closed`` and ``open`` list dates (``YYYY-MM-DD``, a :class:`datetime.date`, or
        a range ``"first..last"``); ``hours`` maps a date to its shifts
        (``"09:00-12:00"``). A date both closed and open is refused.

        Raises:
            ScheduleError: a key is unknown or a value is malformed; the message names
                the overlay and the key path, e.g. ``overlay 'acme': hours['2025-01-27']``.
        """
        if not isinstance(data, Mapping):
            raise ScheduleError(f"overlay: expected a mapping with {', '.join(_KEYS)}")
        name = data.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ScheduleError("overlay: 'name' must be a non-empty string")
        where = f"overlay {name!r}"
        if unknown := sorted(str(k) for k in set(data) - set(_KEYS)):
            raise ScheduleError(
                f"{where}: unknown key(s) {', '.join(map(repr, unknown))}; "
                f"expected {', '.join(map(repr, _KEYS))}"
            )
        closed = _dates(data.get("closed", []), f"{where}: closed")
        opened = _dates(data.get("open", []), f"{where}: open")
        raw_hours = data.get("hours", {})
        if not isinstance(raw_hours, Mapping):
            raise ScheduleError(f"{where}: hours: expected a mapping of date to shifts")
        hours: dict[dt.date, tuple[Shift, ...]] = {}
        for key, value in raw_hours.items():
            path = f"{where}: hours[{str(key)!r}]"
            day = _date(key, path)
            hours[day] = _day_hours(value, path)
        return cls(name, tuple(closed), tuple(opened), hours)

    def __attrs_post_init__(self) -> None:
        where = f"overlay {self.name!r}"
        if both := sorted(set(self.closed) & set(self.open)):
            raise ScheduleError(f"{where}: {both[0]} is both closed and open")
        for day, shifts in self.hours.items():
            if not isinstance(day, dt.date) or isinstance(day, dt.datetime):
                raise ScheduleError(f"{where}: hours key {day!r} is not a date")
            if not shifts or not all(isinstance(s, Shift) for s in shifts):
                raise ScheduleError(f"{where}: hours[{day.isoformat()!r}]: expected shifts")

    def days(self) -> dict[dt.date, bool]:
        """Each date this overlay sets, and whether it is a working day."""
        return {**dict.fromkeys(self.closed, False), **dict.fromkeys(self.open, True)}

    def to_data(self) -> dict[str, Any]:
        """The overlay as JSON-ready data that :meth:`parse` reads back.

        >>> Overlay.parse({"name": "a", "hours": {"2025-01-27": "09:00-12:00"}}).to_data()
        {'name': 'a', 'closed': [], 'open': [], 'hours': {'2025-01-27': '09:00-12:00'}}
        """
        return {
            "name": self.name,
            "closed": [d.isoformat() for d in self.closed],
            "open": [d.isoformat() for d in self.open],
            "hours": {d.isoformat(): ",".join(map(str, s)) for d, s in sorted(self.hours.items())},
        }


def _day_hours(value: ShiftsLike, path: str) -> tuple[Shift, ...]:
    try:
        shifts = _shifts(value, path)
    except BusinessHoursError as exc:
        message = str(exc)
        raise ScheduleError(message if message.startswith(path) else f"{path}: {message}") from exc
    if not shifts:
        raise ScheduleError(f"{path}: needs at least one shift (close the day instead)")
    return shifts


def _date(value: Any, path: str) -> dt.date:
    if isinstance(value, dt.datetime):
        raise ScheduleError(f"{path}: {value!r} is a datetime, expected a date")
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise ScheduleError(f"{path}: {value!r} is not a date (YYYY-MM-DD)")


def _dates(values: Any, path: str) -> list[dt.date]:
    """Dates and ``first..last`` ranges, expanded, each checked with its index."""
    if isinstance(values, str) or not isinstance(values, Iterable):
        raise ScheduleError(f"{path}: expected a list of dates")
    days: list[dt.date] = []
    for i, value in enumerate(values):
        if isinstance(value, str) and ".." in value:
            first_text, last_text = value.split("..", 1)
            first = _date(first_text, f"{path}[{i}]")
            last = _date(last_text, f"{path}[{i}]")
            if last < first:
                raise ScheduleError(f"{path}[{i}]: range {value!r} ends before it starts")
            days.extend(first + dt.timedelta(days=k) for k in range((last - first).days + 1))
        else:
            days.append(_date(value, f"{path}[{i}]"))
    return days
