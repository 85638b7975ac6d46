"""Reading a State Council holiday notice (国务院办公厅关于某年部分节假日安排的通知).

:func:`parse_notice` reads the numbered items of a notice from its text: each
festival's days off (``X月X日至X日放假调休``, ``放假``, ``补休``) and its make-up working
days (``X月X日（星期日）上班``). Full-width and half-width punctuation, ``周X`` and
``星期X`` (and ``週X``) annotations, ranges across a month or the year boundary and a
holiday that is "不调休" are understood. The notice is checked against itself: a weekday
annotation that is wrong, or a ``共N天`` / ``放假N天`` that disagrees with the range, is
refused with a :class:`~techsvc_flow.errors.ScheduleError` naming the item.

A notice that *adjusts* an earlier one (国务院办公厅关于调整2019年劳动节假期安排的通知)
is marked ``amends``; its items take the festival's name from the title.

>>> notice = parse_notice('''国务院办公厅关于2025年部分节假日安排的通知
... 一、元旦：1月1日（周三）放假1天，不调休。
... 二、春节：1月28日（农历除夕、周二）至2月4日（农历正月初七、周二）放假调休，共8天。
... 1月26日（周日）、2月8日（周六）上班。''')
>>> notice.year, notice.amends, [item.name for item in notice.items]
(2025, False, ['元旦', '春节'])
>>> spring = notice.items[1]
>>> spring.off[0], len(spring.off), spring.on
(datetime.date(2025, 1, 28), 8, (datetime.date(2025, 1, 26), datetime.date(2025, 2, 8)))
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata

import attrs

from ..errors import ScheduleError

__all__ = ["Notice", "NoticeItem", "parse_notice"]

_NUMERALS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_WEEKDAY_NAMES = "一二三四五六日"

_TITLE = re.compile(r"关于(调整)?\s*(\d{4})\s*年\s*(\S*?)(?:假期|放假)?\s*安排")
_OPENING = re.compile(r"现将(调整)?\s*(\d{4})\s*年\s*(\S*?)(?:假期|放假)\s*安排")
_ITEM = re.compile(r"(?:^|(?<=[\n。]))[ \t\u3000]*([一二三四五六七八九十]{1,3})、", re.M)
# a date: [YYYY年][M月]D日, then an optional (annotation)
_DATE = re.compile(r"(?:(\d{4})\s*年\s*)?(?:(\d{1,2})\s*月\s*)?(\d{1,2})\s*日\s*(?:\(([^()]*)\))?")
_RANGE_JOIN = re.compile(r"^\s*(?:至|到|-|~|—|－)\s*$")
_COUNT = re.compile(r"(?:共|放假)\s*([0-9一二三四五六七八九十]+)\s*天")
_WEEKDAY = re.compile(r"(?:周|週|星期|礼拜)([一二三四五六日天])")


@attrs.frozen
class NoticeItem:
    """One numbered item of a notice: a festival's days off and make-up working days.

    Attributes:
        number: the item's numeral as written (``"二"``).
        name: the festival(s), e.g. ``"春节"`` or ``"国庆节、中秋节"``.
        off: the days off it sets, in order.
        on: the weekend days it makes working days, in order.
    """

    number: str
    name: str
    off: tuple[dt.date, ...]
    on: tuple[dt.date, ...]


@attrs.frozen
class Notice:
    """A parsed notice: its year, whether it adjusts an earlier one, and its items."""

    year: int
    amends: bool
    items: tuple[NoticeItem, ...]


def parse_notice(text: str, *, year: int | None = None) -> Notice:
    """Read a State Council holiday notice from its text.

    Args:
        text: the notice, from its title (or at least its numbered items) on.
        year: the year of the schedule, when the text does not name it in its title.

    Raises:
        ScheduleError: the text has no items with dates, names no year, or contradicts
            itself (a wrong weekday annotation, a day count that disagrees with the
            range); the message names the item.
    """
    if not isinstance(text, str):
        raise ScheduleError(f"notice: expected the text of a notice, not {type(text).__name__}")
    text = unicodedata.normalize("NFKC", text)
    title = _TITLE.search(text) or _OPENING.search(text)
    amends = bool(title and title[1])
    if year is None:
        if title is None:
            raise ScheduleError(
                "notice: no year found (expected a title such as 国务院办公厅关于2025年部分"
                "节假日安排的通知); pass year="
            )
        year = int(title[2])
    amended_name = title[3].strip() if title and amends else ""
    heads = list(_ITEM.finditer(text))
    items: list[NoticeItem] = []
    for i, head in enumerate(heads):
        body = text[head.end() : heads[i + 1].start() if i + 1 < len(heads) else len(text)]
        item = _item(head[1], body, year, amended_name)
        if item is not None:
            items.append(item)
    if not items:
        raise ScheduleError("notice: no numbered item (一、二、…) with dates found")
    return Notice(year, amends, tuple(items))


def _item(number: str, body: str, year: int, amended_name: str) -> NoticeItem | None:
    """One item, or None when it sets no day (an item of instructions)."""
    name, colon, rest = body.partition(":")
    if not colon or _DATE.search(name) or len(name) > 20:
        name, rest = amended_name, body
    name = name.strip()
    where = f"item {number}" + (f" ({name})" if name else "")
    off: list[dt.date] = []
    on: list[dt.date] = []
    month: int | None = None
    for sentence in re.split(r"[。;\n]", rest):
        counted = 0
        count: int | None = None
        for clause in re.split(r",", sentence):
            days, month = _days(clause, year, month, where)
            if match := _COUNT.search(clause):
                count = _number(match[1], where)
            if not days:
                continue
            if "上班" in clause:
                on.extend(days)
            elif "放假" in clause or "补休" in clause or "補休" in clause:
                off.extend(days)
                counted += len(days)
        if count is not None and counted and count != counted:
            raise ScheduleError(
                f"notice {where}: says {count} days but its dates give {counted}: "
                f"{sentence.strip()!r}"
            )
    if not off and not on:
        return None
    return NoticeItem(number, name, tuple(off), tuple(on))


def _days(
    clause: str, year: int, month: int | None, where: str
) -> tuple[list[dt.date], int | None]:
    """The days a clause names (ranges expanded), and the month to carry on with."""
    days: list[dt.date] = []
    annotated: list[tuple[dt.date, str | None]] = []  # checked once the years are known
    # the last date, whether its year was given, where it ends, its annotation
    previous: tuple[dt.date, bool, int, str | None] | None = None
    for match in _DATE.finditer(clause):
        given_year = match[1] is not None
        if match[2] is not None:
            month = int(match[2])
        if month is None:
            raise ScheduleError(f"notice {where}: {match[0]!r} has no month")
        try:
            day = dt.date(int(match[1] or year), month, int(match[3]))
        except ValueError as exc:
            raise ScheduleError(f"notice {where}: {match[0]!r} is not a date") from exc
        joined = previous is not None and _RANGE_JOIN.match(clause[previous[2] : match.start()])
        if previous is not None and joined:
            first = previous[0]
            if day < first and not given_year and not previous[1]:
                # 12月30日至1月1日 in a notice for the new year: the range starts in December
                first = first.replace(year=first.year - 1)
                days[-1] = first
                annotated[-1] = (first, previous[3])
            if day < first:
                raise ScheduleError(
                    f"notice {where}: the range {first}..{day} ends before it starts"
                )
            days.extend(first + dt.timedelta(days=k) for k in range(1, (day - first).days + 1))
        else:
            days.append(day)
        annotated.append((day, match[4]))
        previous = (day, given_year, match.end(), match[4])
    for day, annotation in annotated:
        _check_weekday(day, annotation, where)
    return days, month


def _check_weekday(day: dt.date, annotation: str | None, where: str) -> None:
    if not annotation:
        return
    for found in _WEEKDAY.finditer(annotation):
        if _WEEKDAYS[found[1]] != day.weekday():
            actual = _WEEKDAY_NAMES[day.weekday()]
            raise ScheduleError(
                f"notice {where}: {day.month}月{day.day}日 ({day}) is a 星期{actual}, "
                f"not {found[0]} as annotated"
            )


def _number(text: str, where: str) -> int:
    if text.isdigit():
        return int(text)
    if text == "十":
        return 10
    tens, _, units = text.partition("十")
    if "十" in text:
        return _NUMERALS.get(tens, 1) * 10 + _NUMERALS.get(units, 0)
    if text in _NUMERALS:
        return _NUMERALS[text]
    raise ScheduleError(f"notice {where}: {text!r} is not a number of days")
