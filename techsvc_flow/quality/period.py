"""Periods (统计期): the span of time an indicator is counted over.

>>> Period.parse("2025-Q4", tz="Asia/Shanghai")
Period('2025-Q4', 2025-10-01T00:00:00+08:00 .. 2026-01-01T00:00:00+08:00)
>>> [m.label for m in Period.parse("2025-H2", tz="UTC").months()][:2]
['2025-07', '2025-08']
"""

from __future__ import annotations

import datetime as dt
import re

import attrs

from .._time import zone
from ..errors import FlowError

__all__ = ["Period", "PeriodError"]


class PeriodError(FlowError, ValueError):
    """A period text that cannot be read, or an empty or naive period."""


def _midnight(day: dt.date, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=tz)


def _month_start(year: int, month: int) -> dt.date:
    year, month = year + (month - 1) // 12, (month - 1) % 12 + 1
    return dt.date(year, month, 1)


_YEAR = re.compile(r"^(\d{4})$")
_QUARTER = re.compile(r"^(\d{4})-?[Qq]([1-4])$")
_HALF = re.compile(r"^(\d{4})-?[Hh]([12])$")
_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$")


@attrs.frozen
class Period:
    """A span of time ``[start, end)`` between two aware instants, with a label.

    Build one with :meth:`parse` (``"2025"``, ``"2025-H2"``, ``"2025-Q4"``, ``"2025-10"``,
    ``"2025-10-01..2025-12-31"``, days in the calendar's zone, both ends included) or
    :meth:`between` (two aware instants, the end excluded).
    """

    label: str
    start: dt.datetime
    end: dt.datetime

    def __attrs_post_init__(self) -> None:
        for name in ("start", "end"):
            value = getattr(self, name)
            if not isinstance(value, dt.datetime) or value.utcoffset() is None:
                raise PeriodError(f"period {name} must be an aware datetime, not {value!r}")
        if self.end <= self.start:
            raise PeriodError(f"period {self.label!r} is empty: it ends before it starts")

    @classmethod
    def parse(cls, text: str, *, tz: str | dt.tzinfo) -> Period:
        """The period ``text`` names, its days counted in the zone ``tz``.

        Raises:
            PeriodError: the text is none of the forms above.
        """
        tzinfo = zone(tz)
        text = text.strip()
        if m := _YEAR.match(text):
            year = int(m[1])
            first, after = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
            label = m[1]
        elif m := _QUARTER.match(text):
            year, quarter = int(m[1]), int(m[2])
            first = dt.date(year, 3 * quarter - 2, 1)
            after = _month_start(year, 3 * quarter + 1)
            label = f"{year}-Q{quarter}"
        elif m := _HALF.match(text):
            year, half = int(m[1]), int(m[2])
            first, after = dt.date(year, 6 * half - 5, 1), _month_start(year, 6 * half + 1)
            label = f"{year}-H{half}"
        elif (m := _MONTH.match(text)) and 1 <= int(m[2]) <= 12:
            year, month = int(m[1]), int(m[2])
            first, after = dt.date(year, month, 1), _month_start(year, month + 1)
            label = f"{year}-{month:02d}"
        elif m := _RANGE.match(text):
            try:
                first = dt.date.fromisoformat(m[1])
                last = dt.date.fromisoformat(m[2])
            except ValueError as exc:
                raise PeriodError(f"period {text!r}: {exc}") from exc
            after = last + dt.timedelta(days=1)
            label = f"{first.isoformat()}..{last.isoformat()}"
        else:
            raise PeriodError(
                f"period {text!r}: expected e.g. 2025, 2025-H2, 2025-Q4, 2025-10 "
                "or 2025-10-01..2025-12-31"
            )
        return cls(label, _midnight(first, tzinfo), _midnight(after, tzinfo))

    @classmethod
    def between(cls, start: dt.datetime, end: dt.datetime, *, label: str | None = None) -> Period:
        """The period from ``start`` (included) to ``end`` (excluded)."""
        if label is None:
            label = f"{start.isoformat()}..{end.isoformat()}"
        return cls(label, start, end)

    def __contains__(self, instant: object) -> bool:
        return isinstance(instant, dt.datetime) and self.start <= instant < self.end

    def months(self) -> list[Period]:
        """The calendar months the period spans (cut to the period), oldest first."""
        tz = self.start.tzinfo
        assert tz is not None
        out = []
        day = self.start.date().replace(day=1)
        while _midnight(day, tz) < self.end:
            after = _month_start(day.year, day.month + 1)
            start = max(self.start, _midnight(day, tz))
            end = min(self.end, _midnight(after, tz))
            out.append(Period(f"{day.year}-{day.month:02d}", start, end))
            day = after
        return out

    def to_dict(self) -> dict[str, str]:
        """The label and the two instants as ISO text."""
        return {"label": self.label, "start": self.start.isoformat(), "end": self.end.isoformat()}

    def __repr__(self) -> str:
        return f"Period({self.label!r}, {self.start.isoformat()} .. {self.end.isoformat()})"
