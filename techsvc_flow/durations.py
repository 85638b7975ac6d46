"""Typed durations and deadlines.

A duration says *how* a period is counted, not only how long it is: ``24h`` is
clock time, ``7wd`` is seven working days, ``4wh`` four working hours, ``10d`` ten
calendar days and ``1mo`` one calendar month. Each kind is its own type.

>>> Duration.parse("7wd")
WorkingDays(days=7)
>>> str(Duration.parse(" 24 h "))
'24h'
>>> Duration.parse("1.5wh")
WorkingHours(delta=datetime.timedelta(seconds=5400))
"""

from __future__ import annotations

import datetime as dt
import decimal
import re
from typing import ClassVar, Literal

import attrs

from .errors import DurationError

__all__ = [
    "MAX_DAYS",
    "CalendarDays",
    "CalendarMonths",
    "ClockTime",
    "Deadline",
    "Duration",
    "TimeLeft",
    "WorkingDays",
    "WorkingHours",
]

_PATTERN = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*(s|min|h|d|wd|wh|wmin|mo)\s*$")
_SECONDS = {"s": 1, "min": 60, "h": 3600, "wmin": 60, "wh": 3600}
_US = dt.timedelta(microseconds=1)

#: the supported range of every duration: at most this many days (100 years) either way,
#: in days, working days, hours (876,600h) or months (1,200mo) alike
MAX_DAYS = 36_525
_MAX = {"days": MAX_DAYS, "months": MAX_DAYS * 12 // 365, "delta": MAX_DAYS}


def _fmt_delta(delta: dt.timedelta, units: tuple[tuple[str, int], ...]) -> str:
    """The largest unit (of ``(unit, seconds)``) that divides ``delta``, else a decimal
    of the smallest one, written so that :meth:`Duration.parse` reads ``delta`` back."""
    micro = delta // _US
    for unit, seconds in units:
        if micro % (seconds * 1_000_000) == 0:
            return f"{micro // (seconds * 1_000_000)}{unit}"
    unit, seconds = units[-1]
    value = (decimal.Decimal(micro) / (seconds * 1_000_000)).normalize()
    return f"{value:f}{unit}"


class Duration:
    """Base of the typed durations; :meth:`parse` reads the short text form.

    Units: ``s``, ``min``, ``h`` (clock time); ``wmin``, ``wh`` (working time);
    ``d`` (calendar days); ``wd`` (working days); ``mo`` (calendar months).
    Day and month counts are whole numbers; time units may have decimals.
    """

    __slots__ = ()
    unit: ClassVar[str]

    @staticmethod
    def parse(text: str | Duration) -> Duration:
        """Read a duration such as ``"24h"``, ``"7wd"``, ``"4wh"``, ``"10d"`` or ``"1mo"``.

        Raises:
            DurationError: the text is not a number followed by a known unit.

        >>> Duration.parse("7 days")
        Traceback (most recent call last):
        ...
        techsvc_flow.errors.DurationError: bad duration '7 days': expected a number and \
one of the units s, min, h, wmin, wh, d, wd, mo (e.g. '24h', '7wd', '4wh', '10d', '1mo')
        """
        if isinstance(text, Duration):
            return text
        if not isinstance(text, str):
            raise DurationError(text, f"expected a string, not {type(text).__name__}")
        match = _PATTERN.match(text)
        if match is None:
            raise DurationError(
                text,
                "expected a number and one of the units s, min, h, wmin, wh, d, wd, mo "
                "(e.g. '24h', '7wd', '4wh', '10d', '1mo')",
            )
        number, unit = match.groups()
        if len(number.partition(".")[0]) > 20:  # too long for any range (or for int())
            raise DurationError(text[:40], f"out of the supported range (at most {MAX_DAYS} days)")
        if unit in _SECONDS:
            seconds = float(number) * _SECONDS[unit]
            if abs(seconds) > MAX_DAYS * 86_400:
                raise DurationError(text, f"out of the supported range (at most {MAX_DAYS} days)")
            delta = dt.timedelta(seconds=seconds)
            return WorkingHours(delta) if unit.startswith("w") else ClockTime(delta)
        if "." in number:
            raise DurationError(text, f"a count of {unit!r} must be a whole number")
        count = int(number)
        if unit == "wd":
            return WorkingDays(count)
        if unit == "d":
            return CalendarDays(count)
        return CalendarMonths(count)


def _check_nonnegative_delta(
    _: object, attribute: attrs.Attribute[dt.timedelta], value: dt.timedelta
) -> None:
    if not isinstance(value, dt.timedelta):
        raise DurationError(value, f"{attribute.name} must be a timedelta")
    if abs(value) > dt.timedelta(days=MAX_DAYS):
        raise DurationError(value, f"out of the supported range (at most {MAX_DAYS} days)")


def _check_int(_: object, attribute: attrs.Attribute[int], value: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise DurationError(value, f"{attribute.name} must be an int")
    limit = _MAX[attribute.name]
    if abs(value) > limit:
        raise DurationError(
            value, f"out of the supported range (at most {limit} {attribute.name}: 100 years)"
        )


@attrs.frozen
class ClockTime(Duration):
    """Exact elapsed time; holidays are irrelevant (``24h``, ``30min``)."""

    delta: dt.timedelta = attrs.field(validator=_check_nonnegative_delta)

    def __str__(self) -> str:
        return _fmt_delta(self.delta, (("h", 3600), ("min", 60), ("s", 1)))


@attrs.frozen
class WorkingHours(Duration):
    """Time counted only inside business hours on working days (``4wh``)."""

    delta: dt.timedelta = attrs.field(validator=_check_nonnegative_delta)

    def __str__(self) -> str:
        return _fmt_delta(self.delta, (("wh", 3600), ("wmin", 60)))


@attrs.frozen
class WorkingDays(Duration):
    """Whole working days; the start day is not counted (``7wd``)."""

    days: int = attrs.field(validator=_check_int)

    def __str__(self) -> str:
        return f"{self.days}wd"


@attrs.frozen
class CalendarDays(Duration):
    """Calendar days; the start day is not counted (``10d``)."""

    days: int = attrs.field(validator=_check_int)

    def __str__(self) -> str:
        return f"{self.days}d"


@attrs.frozen
class CalendarMonths(Duration):
    """Calendar months, to the corresponding day of the last month (``1mo``)."""

    months: int = attrs.field(validator=_check_int)

    def __str__(self) -> str:
        return f"{self.months}mo"


@attrs.frozen
class Deadline:
    """When a period that started at ``start`` ends.

    Attributes:
        start: the instant the period started (aware).
        duration: how the period is counted.
        due: the instant the period ends, in the calendar's zone.
        last_day: the last (local) day of the period.
        provisional: True when the result rests on a rule-based estimate past the
            horizon of officially published holiday schedules.
    """

    start: dt.datetime
    duration: Duration
    due: dt.datetime
    last_day: dt.date
    provisional: bool = False

    def remaining(self, now: dt.datetime) -> dt.timedelta:
        """Clock time left until :attr:`due` (negative once overdue)."""
        return self.due - now

    def is_overdue(self, now: dt.datetime) -> bool:
        """Whether ``now`` is past :attr:`due`."""
        return now > self.due


_UNITS = {
    "en": {"d": " d ", "wd": " wd ", "h": "h", "min": "min", "working": " working",
           "overdue": "overdue by "},
    "zh": {"d": "天", "wd": "个工作日", "h": "小时", "min": "分", "working": "（工作时间）",
           "overdue": "已超时 "},
}  # fmt: skip


@attrs.frozen
class TimeLeft:
    """An amount of time left before a limit, with a human form; negative once overdue.

    ``kind`` says how it is counted: ``"working"`` time (working-day and working-hour
    limits) or ``"clock"`` time. With ``workday`` (the working time of one working day)
    a working amount of a day or more reads in working days.

    Attributes:
        delta: the amount (negative: overdue by that much).
        kind: ``"working"`` or ``"clock"``.
        workday: the working time of one working day, for the working-day form.
        late: the limit has passed although no time of this kind was used past it (a
            working-time limit that ran out on Friday at 18:00 is late on Saturday).

    >>> str(TimeLeft(dt.timedelta(hours=53, minutes=30), "working"))
    '53h30 working'
    >>> str(TimeLeft(dt.timedelta(hours=24.5), "working", dt.timedelta(hours=7.5)))
    '3 wd 2h'
    >>> str(TimeLeft(dt.timedelta(hours=-1), "working"))
    'overdue by 1h working'
    >>> [str(TimeLeft(dt.timedelta(minutes=m), "clock")) for m in (45, 31 * 1440 + 480)]
    ['45min', '31 d 8h']
    >>> str(TimeLeft(dt.timedelta(0), "working", late=True))
    'overdue'
    >>> TimeLeft(dt.timedelta(hours=24.5), "working", dt.timedelta(hours=7.5)).text("zh")
    '3个工作日2小时'
    >>> TimeLeft(dt.timedelta(hours=-2, minutes=-30), "clock").text("zh")
    '已超时 2小时30分'
    """

    delta: dt.timedelta
    kind: Literal["working", "clock"]
    workday: dt.timedelta | None = None
    late: bool = False

    @property
    def overdue(self) -> bool:
        """The limit has passed."""
        return self.late or self.delta < dt.timedelta(0)

    def __str__(self) -> str:
        return self.text("en")

    def text(self, lang: str = "en") -> str:
        """The human form in English (``"en"``) or Chinese (``"zh"``)."""
        units = _UNITS["zh" if lang == "zh" else "en"]
        if self.late and self.delta >= dt.timedelta(0):
            return units["overdue"].split()[0]
        minutes = round(abs(self.delta).total_seconds() / 60)
        prefix = units["overdue"] if self.delta < dt.timedelta(0) else ""
        day = 24 * 60
        if self.kind == "working" and self.workday:
            day = round(self.workday.total_seconds() / 60)
        days, rest = divmod(minutes, day) if minutes >= day and (
            self.kind == "clock" or self.workday) else (0, minutes)  # fmt: skip
        hours, mins = divmod(rest, 60)
        if hours and mins:
            clock = f"{hours}{units['h']}{mins:02d}{units['min'] if lang == 'zh' else ''}"
        elif hours or not mins:
            clock = f"{hours}{units['h']}"
        else:
            clock = f"{mins}{units['min']}"
        if days:
            unit = units["wd" if self.kind == "working" else "d"]
            text = f"{days}{unit}{clock if rest else ''}".strip()
            return prefix + (text if lang == "zh" else " ".join(text.split()))
        suffix = units["working"] if self.kind == "working" else ""
        return f"{prefix}{clock}{suffix}"
