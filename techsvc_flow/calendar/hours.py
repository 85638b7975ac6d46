"""Business hours: the shifts of a working day, and reading them from text.

>>> BusinessHours("09:00-12:00,13:30-18:00").shifts_on(dt.date(2025, 9, 30))
(Shift(start=540, end=720), Shift(start=810, end=1080))
"""

from __future__ import annotations

import datetime as dt
import itertools
import re
from collections.abc import Iterable, Mapping

import attrs

from ..errors import BusinessHoursError

__all__ = ["BusinessHours", "Shift", "ShiftsLike"]

_DAY_MINUTES = 24 * 60
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

#: the whole day, the one "shift" of a calendar without business hours
_WHOLE_DAY = (Shift(0, _DAY_MINUTES),)


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


def _day_shifts(hours: BusinessHours | None, day: dt.date, weekmask: str) -> tuple[Shift, ...]:
    """The shifts worked on the working day ``day`` (the whole day without hours).

    A day that ``weekmask`` (Monday first) marks as a rest day is a make-up working
    day and works the default shifts.
    """
    if hours is None:
        return _WHOLE_DAY
    return hours.shifts_on(day, makeup=weekmask[day.weekday()] == "0")


def _wall(midnight: dt.datetime, minutes: int, tz: dt.tzinfo) -> dt.datetime:
    """Local wall-clock ``minutes`` after ``midnight`` (24:00 is the next midnight)."""
    day = midnight.date() + dt.timedelta(days=minutes // _DAY_MINUTES)
    rest = minutes % _DAY_MINUTES
    return dt.datetime(day.year, day.month, day.day, rest // 60, rest % 60, tzinfo=tz)
